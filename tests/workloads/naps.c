/*
 * naps - N calls of nap(), each sleeping USEC microseconds (clock_nanosleep),
 * for comparing two recordings' latency: `naps 150 1000` against
 * `naps 150 15000` moves every call's latency by a known factor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noipa)) void nap(long usec)
{
	struct timespec ts = { usec / 1000000, usec % 1000000 * 1000 };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: naps N USEC\n");
		return 2;
	}
	long n = atol(argv[1]), usec = atol(argv[2]);
	for (long i = 0; i < n; i++)
		nap(usec);
	return 0;
}
