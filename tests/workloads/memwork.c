/*
 * memwork - allocations with known counts and sizes, for `record --mem`.
 * Usage: memwork leak | peak | mix | churn THREADS ITERS | rounds THREADS ROUNDS |
 *        forks THREADS FORKS
 *   leak   LEAK_BLOCKS blocks of LEAK_SIZE bytes from leak_blocks(), never
 *          freed, among 100000 malloc/free pairs in churn_pairs()
 *   peak   a 64 MiB block (big_block) held while some work runs, then freed;
 *          prints the CLOCK_MONOTONIC ns of its allocation and free on stderr
 *   mix    realloc chain, calloc, posix_memalign, aligned_alloc, memalign,
 *          valloc; blocks allocated by one thread and freed by another; a
 *          forked child that leaks CHILD_BLOCKS blocks from child_leak()
 *   churn  THREADS threads doing ITERS small malloc/free each (benchmark)
 *   rounds THREADS threads churning as above for ROUNDS rounds of
 *          ROUND_CHURN steps; at the end of each round every thread holds
 *          a block from round_block() at a barrier, so that all of them are
 *          live at once: 64 KiB to 320 KiB each, ROUND_PEAK in the middle
 *          round (the peak is THREADS x ROUND_PEAK plus churn blocks)
 *   forks  THREADS threads churning, every 1024th block 1 to 4 MiB, while
 *          the main thread forks FORKS children one after the other, each
 *          of which allocates one FORK_BLOCK-byte block and exits
 *   known  a known mix for sampled recordings: SMALL_N blocks of SMALL_SIZE
 *          (small_blocks), PAGE_N of PAGE_SIZE (page_blocks), BIG_N of
 *          BIG_SIZE (big_blocks), each freed at once, and KEEP_N of KEEP_SIZE
 *          (kept_blocks) still live at exit
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEAK_BLOCKS 137
#define LEAK_SIZE 48
#define CHILD_BLOCKS 7
#define CHILD_SIZE 1000
#define HANDOFF 500
#define SMALL_N 200000
#define SMALL_SIZE 64
#define PAGE_N 20000
#define PAGE_SIZE 4096
#define BIG_N 500
#define BIG_SIZE (1 << 20)
#define KEEP_N 10000
#define KEEP_SIZE 256

/* The compiler may not drop a malloc/free pair whose block escapes here. */
__attribute__((noinline)) void touch(void *p, size_t n)
{
	if (p && n)
		memset(p, 1, n < 64 ? n : 64);
	__asm__ volatile("" : : "r"(p) : "memory");
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) void leak_blocks(void)
{
	for (int i = 0; i < LEAK_BLOCKS; i++)
		touch(malloc(LEAK_SIZE), LEAK_SIZE); /* the pointer is dropped: leaked */
}

__attribute__((noinline)) void churn_pairs(int n)
{
	for (int i = 0; i < n; i++) {
		void *p = malloc(16 + (size_t)(i % 200));
		touch(p, 16);
		free(p);
	}
}

__attribute__((noinline)) void *big_block(void)
{
	void *p = malloc(64u << 20);
	touch(p, 64u << 20);
	return p;
}

__attribute__((noinline)) void realloc_chain(void)
{
	char *p = NULL;
	for (size_t n = 1; n <= 20; n++) {
		p = realloc(p, n * 100);
		touch(p, n * 100);
	}
	free(p);
}

__attribute__((noinline)) void aligned_family(void)
{
	void *a = calloc(10, 30);
	void *b = NULL;
	if (posix_memalign(&b, 64, 1000) != 0)
		b = NULL;
	void *c = aligned_alloc(128, 1024);
	void *d = memalign(256, 512);
	void *e = valloc(100);
	touch(a, 300), touch(b, 1000), touch(c, 1024), touch(d, 512), touch(e, 100);
	free(a), free(b), free(c), free(d), free(e);
}

static void *handoff[HANDOFF];
__attribute__((noinline)) void *producer(void *arg)
{
	for (int i = 0; i < HANDOFF; i++)
		touch(handoff[i] = malloc(64), 64);
	return arg;
}
__attribute__((noinline)) void *consumer(void *arg)
{
	for (int i = 0; i < HANDOFF; i++)
		free(handoff[i]);
	return arg;
}

__attribute__((noinline)) void child_leak(void)
{
	for (int i = 0; i < CHILD_BLOCKS; i++)
		touch(malloc(CHILD_SIZE), CHILD_SIZE);
}

__attribute__((noinline)) void small_blocks(void)
{
	for (int i = 0; i < SMALL_N; i++) {
		void *p = malloc(SMALL_SIZE);
		touch(p, SMALL_SIZE);
		free(p);
	}
}

__attribute__((noinline)) void page_blocks(void)
{
	for (int i = 0; i < PAGE_N; i++) {
		void *p = malloc(PAGE_SIZE);
		touch(p, PAGE_SIZE);
		free(p);
	}
}

__attribute__((noinline)) void big_blocks(void)
{
	for (int i = 0; i < BIG_N; i++) {
		void *p = malloc(BIG_SIZE);
		touch(p, BIG_SIZE);
		free(p);
	}
}

__attribute__((noinline)) void kept_blocks(void)
{
	for (int i = 0; i < KEEP_N; i++)
		touch(malloc(KEEP_SIZE), KEEP_SIZE); /* still live at exit */
}

static long iters;
static void *churn_thread(void *arg)
{
	void *keep[16] = { 0 };
	for (long i = 0; i < iters; i++) {
		size_t k = (size_t)i & 15;
		free(keep[k]);
		keep[k] = malloc(8 + (size_t)(i & 255));
		touch(keep[k], 8);
	}
	for (int k = 0; k < 16; k++)
		free(keep[k]);
	return arg;
}

#define ROUND_CHURN 3000
#define ROUND_PEAK (1 << 20)
static int rounds;
static pthread_barrier_t round_bar;
static size_t round_size(int r) { return r == rounds / 2 ? ROUND_PEAK : ((size_t)64 << 10) * (size_t)(1 + r % 5); }

__attribute__((noinline)) void *round_block(size_t n)
{
	void *p = malloc(n);
	touch(p, n);
	return p;
}

static void *rounds_thread(void *arg)
{
	void *keep[16] = { 0 };
	long i = 0;
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < ROUND_CHURN; k++, i++) {
			free(keep[i & 15]);
			keep[i & 15] = malloc(8 + (size_t)(i & 255));
			touch(keep[i & 15], 8);
		}
		void *p = round_block(round_size(r));
		pthread_barrier_wait(&round_bar); /* every thread's block is live here */
		free(p);
	}
	for (int k = 0; k < 16; k++)
		free(keep[k]);
	return arg;
}

#define FORK_BLOCK 777
static int forks_done;
static void *forks_thread(void *arg)
{
	void *keep[16] = { 0 };
	for (long i = 0; !__atomic_load_n(&forks_done, __ATOMIC_RELAXED); i++) {
		free(keep[i & 15]);
		keep[i & 15] = malloc((i & 1023) == 0 ? ((size_t)1 << 20) * (size_t)(1 + (i >> 10) % 4) : 8 + (size_t)(i & 255));
		touch(keep[i & 15], 8);
	}
	for (int k = 0; k < 16; k++)
		free(keep[k]);
	return arg;
}

/* nt threads running fn (1 to 64), joined: 0, 1 when one would not start,
 * 2 for a bad count. */
static int run_threads(int nt, void *(*fn)(void *), int (*meanwhile)(void))
{
	pthread_t t[64];
	if (nt < 1 || nt > 64)
		return 2;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&t[i], NULL, fn, NULL))
			return 1;
	int r = meanwhile ? meanwhile() : 0;
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	return r;
}

static int nforks;
/* The main thread's part in forks mode: the children, one by one. */
static int fork_children(void)
{
	int r = 0;
	for (int f = 0; f < nforks && !r; f++) {
		pid_t pid = fork();
		if (pid == 0) {
			touch(malloc(FORK_BLOCK), FORK_BLOCK);
			_exit(0);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			r = 1;
	}
	__atomic_store_n(&forks_done, 1, __ATOMIC_RELAXED);
	return r;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "leak";
	if (strcmp(mode, "leak") == 0) {
		churn_pairs(50000);
		leak_blocks();
		churn_pairs(50000);
	} else if (strcmp(mode, "peak") == 0) {
		churn_pairs(20000);
		uint64_t t0 = mono_ns();
		void *p = big_block();
		uint64_t t1 = mono_ns();
		churn_pairs(200000);
		uint64_t t2 = mono_ns();
		free(p);
		fprintf(stderr, "alloc %llu %llu free %llu\n", (unsigned long long)t0, (unsigned long long)t1,
			(unsigned long long)t2);
	} else if (strcmp(mode, "mix") == 0) {
		realloc_chain();
		aligned_family();
		pthread_t a, b;
		if (pthread_create(&a, NULL, producer, NULL) || pthread_join(a, NULL))
			return 1;
		if (pthread_create(&b, NULL, consumer, NULL) || pthread_join(b, NULL))
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			child_leak();
			exit(0);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
	} else if (strcmp(mode, "known") == 0) {
		small_blocks();
		page_blocks();
		big_blocks();
		kept_blocks();
	} else if (strcmp(mode, "churn") == 0 && argc > 3) {
		iters = atol(argv[3]);
		return run_threads(atoi(argv[2]), churn_thread, NULL);
	} else if (strcmp(mode, "rounds") == 0 && argc > 3) {
		int nt = atoi(argv[2]);
		rounds = atoi(argv[3]);
		if (nt < 1 || rounds < 1 || pthread_barrier_init(&round_bar, NULL, (unsigned)nt))
			return 2;
		return run_threads(nt, rounds_thread, NULL);
	} else if (strcmp(mode, "forks") == 0 && argc > 3) {
		if ((nforks = atoi(argv[3])) < 0)
			return 2;
		return run_threads(atoi(argv[2]), forks_thread, fork_children);
	} else {
		fprintf(stderr, "usage: memwork leak | peak | mix | known | churn THREADS ITERS | rounds THREADS ROUNDS |\n"
				"       forks THREADS FORKS\n");
		return 2;
	}
	return 0;
}
