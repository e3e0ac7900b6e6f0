/*
 * nofp - built with -O2 -fomit-frame-pointer, as distributions build, to
 * test DWARF unwinding. Modes:
 *   nofp chain [UNITS]   main -> stage1 -> stage2 -> stage3 -> stage4 -> leaf_work
 *   nofp libc [UNITS]    qsort with a hot comparator, and a loop calling sin()
 *   nofp deep DEPTH [UNITS]  recursion DEPTH frames deep, work at the bottom
 *   nofp signal [UNITS]  a hot SIGPROF handler (on_prof) interrupting
 *                        main -> signal_loop -> interrupted_work
 *   nofp vdso [UNITS]    main -> clock_loop calling clock_gettime (in the vDSO)
 */
#include <math.h>
#include <signal.h>
#include <sys/time.h>
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

/* The handler does about twice the work of what it interrupts, so most
 * samples land in it, one signal frame above the interrupted code. */
static volatile uint64_t handled;
__attribute__((noinline)) static void on_prof(int sig)
{
	(void)sig;
	handled += spin(400000, handled);
}

__attribute__((noinline)) uint64_t interrupted_work(uint64_t n) { return spin(n, 7); }

__attribute__((noinline)) uint64_t signal_loop(uint64_t units)
{
	struct sigaction sa = { .sa_handler = on_prof };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	struct itimerval it = { .it_interval = { 0, 1000 }, .it_value = { 0, 1000 } };
	if (sigaction(SIGPROF, &sa, NULL) != 0 || setitimer(ITIMER_PROF, &it, NULL) != 0)
		return 0;
	uint64_t r = 0;
	for (uint64_t i = 0; i < units * 100; i++)
		r += interrupted_work(UNIT / 300);
	it = (struct itimerval){ 0 };
	(void)setitimer(ITIMER_PROF, &it, NULL);
	return r + handled;
}

__attribute__((noinline)) uint64_t clock_loop(uint64_t n)
{
	uint64_t r = 0;
	struct timespec ts;
	for (uint64_t i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r += (uint64_t)ts.tv_nsec;
	}
	return r;
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
	} else if (strcmp(mode, "signal") == 0) {
		r = signal_loop(argc > 2 ? strtoull(argv[2], NULL, 10) : 4);
	} else if (strcmp(mode, "vdso") == 0) {
		r = clock_loop((argc > 2 ? strtoull(argv[2], NULL, 10) : 4) * 10000000ULL);
	} else {
		fprintf(stderr, "usage: nofp chain|libc|deep|signal|vdso ...\n");
		return 2;
	}
	report_elapsed(t0);
	printf("%llu\n", (unsigned long long)(r & 1));
	return 0;
}
