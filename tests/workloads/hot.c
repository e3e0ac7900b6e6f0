/*
 * hot - three leaf functions given work in the ratio 1:2:3 under one caller.
 * Usage: hot [UNITS] [forever|slow-b]   (UNITS of 100M iterations each, default 12)
 * With "forever" it loops until killed (for attach and Ctrl-C tests); with
 * "slow-b" hot_b does twice its work, 1:4:3 (a regression for diff tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "work.h"

#define UNIT 100000000ULL

__attribute__((noinline)) uint64_t hot_a(uint64_t n, uint64_t x) { return spin(n, x); }
static uint64_t b_factor = 2;

__attribute__((noinline)) uint64_t hot_b(uint64_t n, uint64_t x) { return spin(b_factor * n, x); }
__attribute__((noinline)) uint64_t hot_c(uint64_t n, uint64_t x) { return spin(3 * n, x); }

__attribute__((noinline)) uint64_t driver(uint64_t units)
{
	uint64_t x = 1;
	/* Interleave the three so every part of the run has the same mix. */
	for (uint64_t u = 0; u < units * 10; u++) {
		x = hot_a(UNIT / 60, x);
		x = hot_b(UNIT / 60, x);
		x = hot_c(UNIT / 60, x);
	}
	return x;
}

/* One function under several local names, as libc's are (fstatat,
 * fstatat64, __GI___fstatat64): the symbolizer must name it as perf does.
 * Never called. */
__attribute__((noinline, used)) static uint64_t __GI___aliased_fn(uint64_t x) { return x * 3 + 1; }
static __typeof(__GI___aliased_fn) aliased __attribute__((alias("__GI___aliased_fn"), used));
static __typeof(__GI___aliased_fn) aliased_fn __attribute__((alias("__GI___aliased_fn"), used));

int main(int argc, char **argv)
{
	uint64_t units = argc > 1 ? strtoull(argv[1], NULL, 10) : 12;
	int forever = argc > 2 && strcmp(argv[2], "forever") == 0;
	if (argc > 2 && strcmp(argv[2], "slow-b") == 0)
		b_factor = 4;
	uint64_t x = 0;
	double t0 = wall_now();
	do
		x ^= driver(units);
	while (forever);
	report_elapsed(t0);
	printf("%llu\n", (unsigned long long)(x & 1));
	return 0;
}
