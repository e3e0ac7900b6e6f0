/*
 * evmix - two functions, each heavy in a different event, for recording
 * several events at once. Usage: evmix ROUNDS [PAGES]
 * Each round runs cpu_burn(), a loop of 3 million steps that touches no
 * new memory, then fault_touch(), which maps PAGES (default 64) fresh
 * anonymous pages, writes one byte to each (one minor fault each:
 * transparent huge pages are turned off for the region) and unmaps them.
 * At the end it prints "faults N": the pages fault_touch() touched, which
 * is what a page-faults event with period 1 must attribute to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "work.h"

static volatile uint64_t sink;

__attribute__((noinline)) uint64_t cpu_burn(uint64_t x)
{
	for (uint64_t i = 0; i < 3000000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

__attribute__((noinline)) int fault_touch(size_t pages, size_t psz)
{
	char *p = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	(void)madvise(p, pages * psz, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		((volatile char *)p)[i * psz] = 1;
	return munmap(p, pages * psz);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: evmix ROUNDS [PAGES]\n");
		return 2;
	}
	long rounds = atol(argv[1]), pages = argc > 2 ? atol(argv[2]) : 64;
	long psz = sysconf(_SC_PAGESIZE);
	if (rounds <= 0 || pages <= 0 || psz <= 0)
		return 2;
	uint64_t x = 1;
	for (long r = 0; r < rounds; r++) {
		x = cpu_burn(x);
		if (fault_touch((size_t)pages, (size_t)psz) < 0) {
			perror("evmix: mmap");
			return 1;
		}
	}
	sink = x;
	printf("faults %ld\n", rounds * pages);
	return 0;
}
