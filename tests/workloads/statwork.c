/*
 * statwork - a workload whose counts are known in advance, for cprof stat.
 * Usage: statwork PAGES SPIN_MILLIONS WRITES SLEEPS
 *        statwork PAGES wait
 *   touches PAGES fresh anonymous pages once each (one minor fault each:
 *   transparent huge pages are turned off for the region), spins
 *   SPIN_MILLIONS million iterations, makes WRITES 1-byte write(2) calls
 *   to /dev/null and SLEEPS 50 us sleeps (one voluntary context switch
 *   each).
 * With "wait" it touches PAGES fresh pages each time a line arrives on
 * standard input and answers with a line, until end of input: a process
 * to attach to (cprof stat -p) whose faults in the window are exactly the
 * touches.
 * With STATWORK_CPUTIME set in the environment it prints its own CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, in ns) on standard error as it leaves main:
 * a measure of the very run a counter watched, to check task-clock by.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "work.h"

static int touch(size_t pages)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, pages * (size_t)psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, pages * (size_t)psz, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		p[i * (size_t)psz] = 1;
	return munmap(p, pages * (size_t)psz);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[2], "wait") == 0) {
		char line[64];
		size_t pages = strtoull(argv[1], NULL, 10);
		setvbuf(stdout, NULL, _IOLBF, 0);
		while (fgets(line, sizeof line, stdin))
			if (touch(pages) < 0 || printf("done\n") < 0)
				return 1;
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: statwork PAGES SPIN_MILLIONS WRITES SLEEPS\n");
		return 2;
	}
	size_t pages = strtoull(argv[1], NULL, 10);
	uint64_t spins = strtoull(argv[2], NULL, 10) * 1000000ULL;
	long writes = atol(argv[3]), sleeps = atol(argv[4]);
	long psz = sysconf(_SC_PAGESIZE);
	if (pages) {
		char *p = mmap(NULL, pages * (size_t)psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		madvise(p, pages * (size_t)psz, MADV_NOHUGEPAGE);
		for (size_t i = 0; i < pages; i++)
			p[i * (size_t)psz] = 1;
	}
	uint64_t x = spin(spins, 1);
	if (writes) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd < 0)
			return 1;
		for (long i = 0; i < writes; i++)
			if (write(fd, "x", 1) != 1)
				return 1;
		close(fd);
	}
	for (long i = 0; i < sleeps; i++) {
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	if (getenv("STATWORK_CPUTIME")) {
		struct timespec ts;
		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
			return 1;
		fprintf(stderr, "cputime_ns %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	}
	return (int)(x & 0);
}
