/*
 * nofp - built with -O2 -fomit-frame-pointer, as distributions build, to
 * test DWARF unwinding. Modes:
 *   nofp chain [UNITS]   main -> stage1 -> stage2 -> stage3 -> stage4 -> leaf_work
 *   nofp libc [UNITS]    qsort with a hot comparator, and a loop calling sin()
 *   nofp deep DEPTH [UNITS]  recursion DEPTH frames deep, work at the bottom
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "work.h"

#define UNIT 100000000ULL

__attribute__((noinline)) uint64_t leaf_work(uint64_t n) { return spin(n, 13); }
__attribute__((noinline)) uint64_t stage4(uint64_t n) { return leaf_work(n) + 1; }
__attribute__((noinline)) uint64_t stage3(uint64_t n) { return stage4(n) + 1; }
__attribute__((noinline)) uint64_t stage2(uint64_t n) { return stage3(n) + 1; }
__attribute__((noinline)) uint64_t stage1(uint64_t n) { return stage2(n) + 1; }

static volatile uint64_t compares;
__attribute__((noinline)) int cmp_hot(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	x = spin(40, x);  /* a comparator that costs something */
	y = spin(40, y);
	compares++;
	return (x > y) - (x < y);
}

__attribute__((noinline)) double sine_loop(uint64_t n)
{
	double s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += sin((double)i * 1e-3);
	return s;
}

__attribute__((noinline)) uint64_t sort_data(size_t n, int rounds)
{
	uint64_t *v = malloc(n * sizeof *v), x = 1;
	if (!v)
		return 0;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			v[i] = x = x * 6364136223846793005ULL + 1;
		qsort(v, n, sizeof *v, cmp_hot);
	}
	uint64_t out = v[n / 2];
	free(v);
	return out;
}

__attribute__((noinline)) uint64_t recurse(int depth, uint64_t n)
{
	if (depth <= 1)
		return leaf_work(n);
	uint64_t r = recurse(depth - 1, n);
	__asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
	return r + 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "chain";
	uint64_t r = 0;
	double t0 = wall_now();
	if (strcmp(mode, "chain") == 0) {
		uint64_t units = argc > 2 ? strtoull(argv[2], NULL, 10) : 10;
		r = stage1(units * UNIT);
	} else if (strcmp(mode, "libc") == 0) {
		uint64_t units = argc > 2 ? strtoull(argv[2], NULL, 10) : 4;
		r = sort_data(200000, (int)units);
		r += (uint64_t)sine_loop(units * 10000000ULL);
	} else if (strcmp(mode, "deep") == 0) {
		int depth = argc > 2 ? atoi(argv[2]) : 300;
		uint64_t units = argc > 3 ? strtoull(argv[3], NULL, 10) : 8;
		r = recurse(depth, units * UNIT);
	} else {
		fprintf(stderr, "usage: nofp chain|libc|deep ...\n");
		return 2;
	}
	report_elapsed(t0);
	printf("%llu\n", (unsigned long long)(r & 1));
	return 0;
}
