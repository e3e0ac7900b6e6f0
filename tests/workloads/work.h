/* work.h - a unit of CPU work whose cost is proportional to n, so tests can
 * predict each function's share from the work it is given, not from time. */
#ifndef WORKLOAD_WORK_H
#define WORKLOAD_WORK_H
#include <stdint.h>

static inline uint64_t spin(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x)); /* keep the loop; no vectorizing it away */
	}
	return x;
}

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Benchmarks measure the workload's own slowdown, not the recorder's start
 * and finish: with WORKLOAD_TIMING set, print the run's wall time. */
static inline double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static inline void report_elapsed(double start)
{
	if (getenv("WORKLOAD_TIMING"))
		fprintf(stderr, "elapsed %.6f\n", wall_now() - start);
}
#endif
