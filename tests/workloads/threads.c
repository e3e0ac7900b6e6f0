/*
 * threads - two named worker threads with work in the ratio 1:3 and a main
 * thread that only waits. Usage: threads [UNITS] (default 8)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "work.h"

#define UNIT 100000000ULL

struct job {
	const char *name;
	uint64_t iters, result;
};

__attribute__((noinline)) uint64_t light_work(uint64_t n) { return spin(n, 3); }
__attribute__((noinline)) uint64_t heavy_work(uint64_t n) { return spin(n, 5); }

static void *worker(void *arg)
{
	struct job *j = arg;
	pthread_setname_np(pthread_self(), j->name);
	j->result = j->name[0] == 'l' ? light_work(j->iters) : heavy_work(j->iters);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t units = argc > 1 ? strtoull(argv[1], NULL, 10) : 8;
	double t0 = wall_now();
	struct job jobs[2] = { { "light", units * UNIT / 4, 0 }, { "heavy", units * UNIT * 3 / 4, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
			return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	report_elapsed(t0);
	printf("%llu\n", (unsigned long long)((jobs[0].result ^ jobs[1].result) & 1));
	return 0;
}
