/*
 * findwork - one workload per finding of `cprof report`, and one that must
 * trigger none. Usage: findwork MODE [SECONDS]   (default 1 s of work)
 *   hot       one function does ~85 % of the work
 *   balanced  eight functions do ~12.5 % each (half the 25 % of a finding,
 *             many standard errors away even with few samples), no
 *             allocator, locks, syscalls, faults or recursion: no finding
 *   alloc     malloc/free of varying sizes dominates
 *   lock      two threads fight over one mutex around tiny sections
 *   yield     a thread that sched_yield()s in a loop
 *   syscall   1-byte write(2) calls to /dev/null
 *   fault     maps fresh pages, touches each once, unmaps them, again
 *   fault-phase  does that in the first fifth of the time, then computes
 *   recurse   work at the bottom of a 300-deep recursion
 * Time is checked between units of work, so each mode runs about SECONDS.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "work.h"

static double deadline;
static volatile uint64_t sink;

static int more(void)
{
	return wall_now() < deadline;
}

/* Each function has its own loop (not work.h's spin(), which would be
 * inlined into all of them and take their samples as one function). */
#define OWN_SPIN(n, x)                                                                   \
	do {                                                                             \
		for (uint64_t i_ = 0; i_ < (n); i_++) {                                  \
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;         \
			__asm__ volatile("" : "+r"(x));                                  \
		}                                                                        \
	} while (0)

__attribute__((noinline)) uint64_t hot_main(uint64_t x) { OWN_SPIN(850000, x); return x; }
__attribute__((noinline)) uint64_t hot_side(uint64_t x) { OWN_SPIN(150000, x); return x; }

__attribute__((noinline)) uint64_t part_a(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_b(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_c(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_d(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_e(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_f(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_g(uint64_t x) { OWN_SPIN(200000, x); return x; }
__attribute__((noinline)) uint64_t part_h(uint64_t x) { OWN_SPIN(200000, x); return x; }

__attribute__((noinline)) void alloc_churn(void)
{
	void *p[64];
	for (int i = 0; i < 64; i++) {
		p[i] = malloc((size_t)(16 + (i * 37) % 4000));
		if (!p[i])
			abort();
		memset(p[i], i, 8);
	}
	for (int i = 0; i < 64; i += 2)
		free(p[i]);
	for (int i = 1; i < 64; i += 2)
		free(p[i]);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared;

__attribute__((noinline)) void *lock_fight(void *arg)
{
	(void)arg;
	while (more())
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&mu);
			shared = spin(8, shared);
			pthread_mutex_unlock(&mu);
		}
	return NULL;
}

__attribute__((noinline)) void yield_loop(void)
{
	for (int i = 0; i < 1000; i++)
		sched_yield();
}

__attribute__((noinline)) void tiny_writes(int fd)
{
	for (int i = 0; i < 1000; i++)
		if (write(fd, "x", 1) != 1)
			abort();
}

__attribute__((noinline)) void touch_fresh(void)
{
	size_t len = 256 * 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	munmap(p, len);
}

__attribute__((noinline)) uint64_t descend(int depth, uint64_t x)
{
	if (depth == 0)
		return spin(20000, x);
	x = descend(depth - 1, x);
	__asm__ volatile("" : "+r"(x)); /* not a tail call: keep every frame */
	return x;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: findwork hot|balanced|alloc|lock|yield|syscall|fault|fault-phase|recurse [SECONDS]\n");
		return 2;
	}
	const char *m = argv[1];
	deadline = wall_now() + (argc > 2 ? atof(argv[2]) : 1.0);
	uint64_t x = 1;
	if (strcmp(m, "hot") == 0) {
		while (more())
			x = hot_side(hot_main(x));
	} else if (strcmp(m, "balanced") == 0) {
		while (more())
			x = part_h(part_g(part_f(part_e(part_d(part_c(part_b(part_a(x))))))));
	} else if (strcmp(m, "alloc") == 0) {
		while (more())
			for (int i = 0; i < 100; i++)
				alloc_churn();
	} else if (strcmp(m, "lock") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, lock_fight, NULL))
			return 1;
		lock_fight(NULL);
		pthread_join(t, NULL);
	} else if (strcmp(m, "yield") == 0) {
		while (more())
			yield_loop();
	} else if (strcmp(m, "syscall") == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd < 0)
			return 1;
		while (more())
			tiny_writes(fd);
		close(fd);
	} else if (strcmp(m, "fault") == 0) {
		while (more())
			touch_fresh();
	} else if (strcmp(m, "fault-phase") == 0) {
		double start = wall_now(), end = deadline;
		deadline = start + (end - start) / 5;
		while (more())
			touch_fresh();
		deadline = end;
		while (more())
			x = part_a(x);
	} else if (strcmp(m, "recurse") == 0) {
		while (more())
			x = descend(300, x);
	} else {
		fprintf(stderr, "findwork: unknown mode '%s'\n", m);
		return 2;
	}
	sink = x;
	return 0;
}
