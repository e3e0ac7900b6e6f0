/*
 * offcpu.c - known waits off a CPU, for record --offcpu: the main thread
 * sleeps 5 ms 40 times in sleeper() (nanosleep), then waits 5 times in
 * lock_waiter() on a mutex that another thread, in holder(), holds for
 * 40 ms each time. It times each wait itself, around the call, and prints
 * the totals, so a test compares against what this run really waited
 * (a busy machine wakes sleepers late).
 *
 * By frame pointers the direct caller of a libc function is skipped (libc
 * makes no frame; the walk starts at its caller's saved frame), so each
 * wait goes through a small function of its own (nap, take_lock) and the
 * function to look for is one above it.
 *
 * "offcpu pingpong N": two threads pass a byte back and forth N times
 * through two pipes, two context switches a round trip at least (the
 * switch-heavy program of tests/bench/bench-offcpu.sh).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLEEPS 40
#define SLEEP_NS 5000000L
#define LOCKS 5
#define HOLD_NS 40000000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t held, taken;

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void nap(long ns)
{
	struct timespec ts = { 0, ns };
	while (nanosleep(&ts, &ts) != 0)
		;
	__asm__ volatile("");
}

__attribute__((noinline)) long long sleeper(void)
{
	long long total = 0;
	for (int i = 0; i < SLEEPS; i++) {
		long long t0 = now();
		nap(SLEEP_NS);
		total += now() - t0;
	}
	return total;
}

__attribute__((noinline)) void take_lock(void)
{
	if (pthread_mutex_lock(&lock) != 0)
		abort();
	__asm__ volatile("");
}

__attribute__((noinline)) long long lock_waiter(void)
{
	long long total = 0;
	for (int i = 0; i < LOCKS; i++) {
		while (sem_wait(&held) != 0)
			;
		long long t0 = now();
		take_lock();
		total += now() - t0;
		pthread_mutex_unlock(&lock);
		sem_post(&taken);
	}
	return total;
}

__attribute__((noinline)) void *holder(void *arg)
{
	(void)arg;
	for (int i = 0; i < LOCKS; i++) {
		pthread_mutex_lock(&lock);
		sem_post(&held);
		nap(HOLD_NS);
		pthread_mutex_unlock(&lock);
		while (sem_wait(&taken) != 0)
			;
	}
	return NULL;
}

static int ping[2], pong[2];
static long rounds;

__attribute__((noinline)) void *ponger(void *arg)
{
	(void)arg;
	char c;
	for (long i = 0; i < rounds; i++)
		if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
			abort();
	return NULL;
}

static int pingpong(long n)
{
	pthread_t th;
	char c = 'x';
	rounds = n;
	if (pipe(ping) || pipe(pong) || pthread_create(&th, NULL, ponger, NULL) != 0)
		return 1;
	for (long i = 0; i < n; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
	pthread_join(th, NULL);
	printf("round_trips %ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "pingpong") == 0)
		return pingpong(atol(argv[2]));
	pthread_t th;
	if (sem_init(&held, 0, 0) || sem_init(&taken, 0, 0))
		return 1;
	long long slept = sleeper();
	if (pthread_create(&th, NULL, holder, NULL) != 0)
		return 1;
	long long waited = lock_waiter();
	pthread_join(th, NULL);
	printf("sleep_total_ns %lld\nlock_wait_total_ns %lld\n", slept, waited);
	return 0;
}
