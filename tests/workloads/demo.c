/*
 * demo - the workload scripts/try records: a small program with a call
 * tree several levels deep, run by two threads, so the report has
 * something to say about functions, callers and threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "work.h"

__attribute__((noinline)) static uint64_t parse_input(uint64_t n) { return spin(n, 11); }

__attribute__((noinline)) static double transform(uint64_t n)
{
	double s = 0;
	for (uint64_t i = 1; i <= n; i++)
		s += sqrt((double)i) / (double)i;
	return s;
}

__attribute__((noinline)) static uint64_t checksum(const unsigned char *buf, size_t len, int rounds)
{
	uint64_t h = 1469598103934665603ULL;
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < len; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	return h;
}

__attribute__((noinline)) static uint64_t compress_block(int rounds)
{
	static unsigned char buf[4096];
	memset(buf, 'x', sizeof buf);
	return checksum(buf, sizeof buf, rounds);
}

__attribute__((noinline)) static uint64_t pipeline(int scale)
{
	uint64_t x = parse_input((uint64_t)scale * 2000000ULL);
	x += (uint64_t)transform((uint64_t)scale * 3000000ULL);
	x ^= compress_block(scale * 600);
	return x;
}

static void *worker(void *arg)
{
	int scale = *(int *)arg;
	pthread_setname_np(pthread_self(), "demo-worker");
	uint64_t *r = malloc(sizeof *r);
	if (r)
		*r = pipeline(scale);
	return r;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 10;
	pthread_t t;
	if (pthread_create(&t, NULL, worker, &scale) != 0)
		return 1;
	uint64_t x = pipeline(scale / 2 > 0 ? scale / 2 : 1);
	void *r;
	pthread_join(t, &r);
	if (r)
		x ^= *(uint64_t *)r;
	free(r);
	printf("demo done (%llu)\n", (unsigned long long)(x & 0xff));
	return 0;
}
