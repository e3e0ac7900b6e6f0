/*
 * divchain - a loop whose time goes to a chain of dependent divisions,
 * next to cheap independent adds: annotate must put most of divchain()'s
 * samples on the division (or, by skid, the instruction after it).
 * Usage: divchain [N] (iterations in millions, default 60)
 */
#include <stdio.h>
#include <stdlib.h>
#include "work.h"

__attribute__((noinline)) uint64_t divchain(uint64_t n, uint64_t x)
{
	uint64_t a = 0, b = 0, c = 0;
	for (uint64_t i = 1; i <= n; i++) {
		a += i;
		b += a ^ i;
		c += b + 3;
		/* Each division waits for the one before: tens of cycles each. */
		x = (x + c) / (i | 3) + 0x9e3779b97f4a7c15ULL;
	}
	return x ^ a ^ b ^ c;
}

int main(int argc, char **argv)
{
	uint64_t n = (argc > 1 ? strtoull(argv[1], NULL, 10) : 60) * 1000000ULL;
	double t0 = wall_now();
	uint64_t x = divchain(n, 12345);
	report_elapsed(t0);
	printf("%llu\n", (unsigned long long)(x & 1));
	return 0;
}
