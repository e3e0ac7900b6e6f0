/*
 * latency - functions with known calls for `record --latency`: sleeper()
 * sleeps SLEEP_MS each of N_SLEEP calls (the program times each call
 * itself and prints the median, "sleep_p50_ns N"); recurse(DEPTH) calls
 * itself down to depth DEPTH, N_RECURSE times; jumper() longjmps out of
 * itself N_JUMP times (it never returns); a thread calls exiter(), which
 * ends the thread inside it; getppid() from libc is called N_LIBC times;
 * tiny() is called argv[1] times (default 0), and with argv[2] = "timed"
 * each of those calls is timed by hand (clock_gettime around it) and the
 * mean printed as "tiny_timed_ns N": the benchmark's anchor.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_MS 5
#define N_SLEEP 20
#define DEPTH 10
#define N_RECURSE 5
#define N_JUMP 7
#define N_LIBC 1000

static jmp_buf env;
static volatile unsigned long sink;

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

__attribute__((noipa)) void sleeper(void)
{
	struct timespec ts = { 0, SLEEP_MS * 1000000L };
	nanosleep(&ts, NULL);
}

__attribute__((noipa)) int recurse(int d)
{
	int r = d > 1 ? recurse(d - 1) : 0;
	sink += (unsigned long)d;
	return r + 1;
}

__attribute__((noipa)) void jumper(int i)
{
	sink += (unsigned long)i;
	longjmp(env, 1);
}

__attribute__((noipa)) void exiter(void)
{
	sink++;
	pthread_exit(NULL);
}

__attribute__((noipa)) unsigned long tiny(unsigned long x)
{
	sink += x;
	return x * 3;
}

static void *thread_main(void *arg)
{
	(void)arg;
	exiter();
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint64_t took[N_SLEEP];
	for (int i = 0; i < N_SLEEP; i++) {
		uint64_t t0 = now();
		sleeper();
		took[i] = now() - t0;
	}
	qsort(took, N_SLEEP, sizeof *took, cmp);
	for (int i = 0; i < N_RECURSE; i++)
		sink += (unsigned long)recurse(DEPTH);
	for (volatile int i = 0; i < N_JUMP; i++)
		if (!setjmp(env))
			jumper(i);
	pthread_t th;
	if (pthread_create(&th, NULL, thread_main, NULL) != 0 || pthread_join(th, NULL) != 0) {
		perror("pthread");
		return 1;
	}
	for (int i = 0; i < N_LIBC; i++)
		sink += (unsigned long)getppid();
	long n = argc > 1 ? atol(argv[1]) : 0;
	bool timed = argc > 2 && strcmp(argv[2], "timed") == 0;
	uint64_t sum = 0, t0 = now();
	for (long i = 0; i < n; i++) {
		if (timed) {
			uint64_t a = now();
			sink += tiny((unsigned long)i);
			sum += now() - a;
		} else {
			sink += tiny((unsigned long)i);
		}
	}
	uint64_t all = now() - t0;
	printf("sleep_p50_ns %llu\n", (unsigned long long)took[(N_SLEEP + 1) / 2 - 1]);
	if (n) {
		printf("tiny_loop_ns %llu\n", (unsigned long long)(all / (uint64_t)n));
		if (timed)
			printf("tiny_timed_ns %llu\n", (unsigned long long)(sum / (uint64_t)n));
	}
	return 0;
}
