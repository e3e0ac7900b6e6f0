/*
 * crowd - many busy threads, far more than CPUs, each doing the same work:
 * the recorder must keep up while it competes with all of them for a CPU.
 * Usage: crowd [THREADS] [UNITS]  (default 200 threads, UNITS of 10M
 * iterations per thread, default 2)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "work.h"

#define UNIT 10000000ULL

static uint64_t iters;

__attribute__((noinline)) uint64_t crowd_work(uint64_t n) { return spin(n, 7); }

static void *worker(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)crowd_work(iters);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	iters = (argc > 2 ? strtoull(argv[2], NULL, 10) : 2) * UNIT;
	if (n < 1 || n > 10000)
		return 2;
	double t0 = wall_now();
	pthread_t *t = calloc((size_t)n, sizeof *t);
	if (!t)
		return 1;
	int started = 0;
	for (; started < n; started++)
		if (pthread_create(&t[started], NULL, worker, NULL) != 0)
			break;
	uintptr_t x = 0;
	for (int i = 0; i < started; i++) {
		void *r;
		pthread_join(t[i], &r);
		x ^= (uintptr_t)r;
	}
	free(t);
	report_elapsed(t0);
	printf("%d %lu\n", started, (unsigned long)(x & 1));
	return started == n ? 0 : 1;
}
