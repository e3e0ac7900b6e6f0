/*
 * pool - a program as the README shows one: a main thread that reads its
 * input and three threads named worker-0, worker-1 and worker-2 (names as
 * thread pools give them) with work in the ratio 1:2:3.
 * Usage: pool [--input FILE] [UNITS]   (UNITS of 100M iterations, default 3)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "work.h"

#define UNIT 100000000ULL

struct job {
	char name[16];
	uint64_t iters, result;
};

__attribute__((noinline)) uint64_t crunch(uint64_t n, uint64_t x) { return spin(n, x); }

static void *worker(void *arg)
{
	struct job *j = arg;
	pthread_setname_np(pthread_self(), j->name);
	j->result = crunch(j->iters, j->iters);
	return NULL;
}

/* The input is read, not used: the README runs 'myprog --input big.txt'. */
static size_t read_input(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	size_t n = 0;
	while (fgetc(fp) != EOF)
		n++;
	fclose(fp);
	return n;
}

int main(int argc, char **argv)
{
	uint64_t units = 3;
	size_t input = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
			input = read_input(argv[++i]);
		else
			units = strtoull(argv[i], NULL, 10);
	}
	struct job jobs[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		snprintf(jobs[i].name, sizeof jobs[i].name, "worker-%d", i);
		jobs[i].iters = units * UNIT * (uint64_t)(i + 1) / 6;
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
			return 1;
	}
	uint64_t x = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		x ^= jobs[i].result;
	}
	printf("%zu bytes of input, %llu\n", input, (unsigned long long)(x & 1));
	return 0;
}
