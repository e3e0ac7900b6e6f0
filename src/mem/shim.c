/*
 * shim.c - libcprof-mem.so, preloaded into the workload by `cprof record
 * --mem`. It interposes the malloc family and anonymous mmap/munmap and
 * keeps running sums per allocation stack in a memory region it hands to
 * cprof (layout and the reasoning behind it: include/cprof/memtrace.h).
 *
 * Cost is what matters here: a malloc-heavy program calls these tens of
 * millions of times a second. Per call the exact mode walks frame pointers
 * within the thread's own stack (no unwinder, no faults on frameless
 * code), finds the stack in a per-thread cache, inserts or removes the
 * block in the pointer-keyed map of its stretch of addresses (under that
 * map's own lock, which in practice only one thread takes), takes the
 * global event lock once to add to the heap total, and adds to its own
 * thread's entry for the stack. No clock is read per event, nothing is
 * written to a file.
 *
 * The sample mode (--mem=sample) does, per call, one subtraction from a
 * per-thread byte countdown; only when it crosses zero (on average once per
 * SAMPLE_BYTES allocated, a Poisson process over bytes) is the allocation
 * recorded, weighted by the inverse of its chance of being picked.
 *
 * Recursion: anything the shim itself calls that allocates (dlsym,
 * pthread_getattr_np) runs with the thread's busy flag set and goes
 * straight to the real allocator. dlsym may call calloc before the real
 * one is known; that is served from a static arena that free() ignores.
 *
 * One file: it is preloaded into the workload as a library of its own, and
 * its reentrancy rules hold only if all of it is seen at once.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/memtrace.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* The steps of an exact event, inlined into the interposed function: one
 * frame per call instead of five (calls, saved registers and the walk's
 * rounds over the shim's own frames were a fifth of what the shim added
 * to a malloc/free pair). */
#define HOT static inline __attribute__((always_inline))
#define CHECK_EVERY 65536 /* allocations per thread between checks that cprof is still there */

/* ---- the real functions ---- */
static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

/* Bootstrap arena for dlsym's own allocations. */
static char boot_arena[16384] __attribute__((aligned(16)));
static size_t boot_used;
static bool in_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof boot_arena;
}
static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof boot_arena)
		return NULL;
	void *p = boot_arena + boot_used;
	boot_used += n;
	return p;
}

static atomic_int resolving;
static void resolve_real(void)
{
	if (real_malloc)
		return;
	atomic_store(&resolving, 1);
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_munmap = dlsym(RTLD_NEXT, "munmap");
	atomic_store(&resolving, 0);
}

/* ---- locks ----
 * The critical sections are tens of nanoseconds, so a waiter spins a
 * little, then yields. If the holder was preempted (a busy machine) it may
 * not run again for a time slice: yielding in a loop would burn that CPU,
 * so after a few yields the waiter sleeps 20 us at a time. The release is a
 * plain store: waking sleepers would cost an atomic on every event. */
__attribute__((noinline)) static void spin_wait(uint32_t *l)
{
	unsigned spins = 0, yields = 0;
	do {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++spins <= 32) {
				__builtin_ia32_pause();
			} else if (++yields <= 4) {
				sched_yield();
			} else {
				struct timespec ts = { 0, 20000 };
				nanosleep(&ts, NULL);
			}
		}
	} while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE));
}
static inline void spin_lock(uint32_t *l)
{
	if (unlikely(__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)))
		spin_wait(l);
}
static inline void spin_unlock(uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *anon(size_t n)
{
	void *p = real_mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- per-process state ---- */
static atomic_int enabled;       /* 0: every call goes straight to the allocator */
static int sock = -1;            /* to cprof, inherited by the whole tree */
static uint64_t sock_ino;        /* its inode: the program may have closed it and reused the number */
static int mode;                 /* MT_MODE_* */
/* What malloc and free may do without a call of their own: MT_MODE_EXACT
 * (nothing: trace), MT_MODE_SAMPLE (count down, tail-call the allocator
 * while no sample is due), FAST_OFF (not tracing: tail-call). Set with
 * `enabled`. */
enum { FAST_OFF = 2 };
static int fast = FAST_OFF;

static void set_enabled(bool on)
{
	atomic_store(&enabled, on);
	__atomic_store_n(&fast, on ? mode : FAST_OFF, __ATOMIC_RELAXED);
}
static uint64_t sample_bytes;
static uint64_t seed;
static struct memtrace_header *H; /* the region */
static pid_t region_pid;
static uint32_t gen;             /* bumped in a forked child: thread states of the parent are stale */

/* Region allocation: a bump pointer; nothing is ever given back. */
static uint32_t region_alloc(size_t n)
{
	n = (n + 63) & ~(size_t)63;
	uint64_t off = __atomic_fetch_add(&H->used, n, __ATOMIC_RELAXED);
	if (off + n > H->size) {
		__atomic_fetch_sub(&H->used, n, __ATOMIC_RELAXED);
		return 0;
	}
	return (uint32_t)off;
}
static inline void *at(uint32_t off) { return (char *)H + off; }

static void lost(void) { __atomic_fetch_add(&H->lost, 1, __ATOMIC_RELAXED); }

/* ---- stacks: 64-bit hash -> id, open addressing, private ---- */
#define GLOBAL_BITS 21
struct gslot {
	uint64_t hash;
	uint32_t id;
};
static struct gslot *gtable;
static uint32_t stack_lock;

/* Id of the stack ips[0..n), storing it in the region if new; 0 if full. */
static uint32_t stack_id(uint64_t h, const uint64_t *ips, uint32_t n)
{
	size_t mask = ((size_t)1 << GLOBAL_BITS) - 1;
	uint32_t id = 0;
	spin_lock(&stack_lock);
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (gtable[i].hash == h) {
			id = gtable[i].id;
			break;
		}
		if (gtable[i].hash)
			continue;
		if (H->nstacks >= MEMTRACE_MAX_STACKS)
			break;
		uint32_t nid = H->nstacks;
		uint32_t *dir = &H->stack_dir[nid / MEMTRACE_STACK_CHUNK];
		if (!*dir && !(*dir = region_alloc(MEMTRACE_STACK_CHUNK * sizeof(uint32_t))))
			break;
		uint32_t off = region_alloc(sizeof(struct memtrace_stack) + n * sizeof *ips);
		if (!off)
			break;
		struct memtrace_stack *s = at(off);
		s->time = mono_ns();
		s->n = n;
		memcpy(s->ips, ips, n * sizeof *ips);
		((uint32_t *)at(*dir))[nid % MEMTRACE_STACK_CHUNK] = off;
		/* cprof reads nstacks last: the entry is complete before it counts. */
		__atomic_store_n(&H->nstacks, nid + 1, __ATOMIC_RELEASE);
		gtable[i] = (struct gslot){ h, nid };
		id = nid;
		break;
	}
	spin_unlock(&stack_lock);
	return id;
}

/* ---- live blocks: pointer -> (size, site) ----
 * One map per 64 MiB of address space, each under a lock of its own. An
 * allocator hands each thread (arena) its own stretches of addresses
 * (glibc's arena heaps are 64 MiB-aligned), so a thread's blocks are in
 * maps that only it touches: their lock and slots stay in its CPU's cache.
 * One map under the event lock, as before, made every call move that map's
 * cache lines between CPUs inside the lock, and the other threads waited
 * for it: 2 threads churning malloc/free ran 8x slower than bare, spinning
 * on the lock. A pointer always falls in the same map, so a block freed by
 * another thread is found where it was put, and a stale entry (a free never
 * seen) is still found and replaced. The order of events stays the event
 * lock's (ev_account), taken after the map's: the map only answers what a
 * block is, and a block's free is counted before the allocator can hand
 * its address out again. */
struct live_e {
	uint64_t ptr;    /* 0: empty */
	uint64_t size;
	uint32_t site;
	uint32_t owner;  /* exact mode: id of the thread state whose entry e is */
	union {
		struct memtrace_site *e; /* exact mode: so a free by the same thread needs no lookup */
		double w;        /* sample mode: 1/p, the weight of the sampled block */
	};
};
struct shard {
	uint32_t lock;
	uint32_t bits;
	size_t used;
	struct live_e *v;
	struct shard *next;      /* all shards, for a forked child to drop */
} __attribute__((aligned(64)));
#define SHARD_SHIFT 26
#define SHARD_DIR_BITS 21        /* 2^21 x 64 MiB: the 47-bit user address space */
static struct shard **shard_dir; /* reserved, touched where used */
static struct shard *shards;     /* under stack_lock */

static inline size_t live_slot(uint64_t p, uint32_t bits) { return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - bits)); }
static inline size_t shard_index(uint64_t p) { return (size_t)(p >> SHARD_SHIFT) & (((size_t)1 << SHARD_DIR_BITS) - 1); }

__attribute__((noinline)) static struct shard *shard_make(struct shard **slot)
{
	struct shard *s;
	spin_lock(&stack_lock);
	if (!(s = *slot) && (s = anon(sizeof *s))) {
		s->next = shards;
		shards = s;
		__atomic_store_n(slot, s, __ATOMIC_RELEASE);
	}
	spin_unlock(&stack_lock);
	return s;
}

/* The map of ptr's stretch, made on first use; NULL if there is no memory
 * (or create is false and there is none: then the block is not there).
 * Inline but for the making. */
static inline struct shard *shard_of(uint64_t ptr, bool create)
{
	struct shard **slot = &shard_dir[shard_index(ptr)];
	struct shard *s = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (likely(s) || !create)
		return s;
	return shard_make(slot);
}

/* While the process has one thread (glibc says so, and says it before a
 * second one starts) there is nothing to exclude, and the atomic
 * instruction alone is a third of the cost of an event. */
extern char __libc_single_threaded __attribute__((weak));
static inline bool one_thread(void) { return &__libc_single_threaded && __libc_single_threaded; }
static inline bool shard_lock(struct shard *s)
{
	if (one_thread())
		return false;
	spin_lock(&s->lock);
	return true;
}
static inline void shard_unlock(struct shard *s, bool locked)
{
	if (locked)
		spin_unlock(&s->lock);
}

static bool live_grow(struct shard *s)
{
	uint32_t bits = s->v ? s->bits + 1 : 6;
	struct live_e *v = anon(sizeof *v << bits);
	if (!v)
		return false;
	size_t mask = ((size_t)1 << bits) - 1;
	if (s->v) {
		for (size_t i = 0; i < (size_t)1 << s->bits; i++) {
			if (!s->v[i].ptr)
				continue;
			size_t j = live_slot(s->v[i].ptr, bits);
			while (v[j].ptr)
				j = (j + 1) & mask;
			v[j] = s->v[i];
		}
		real_munmap(s->v, sizeof *v << s->bits);
	}
	s->v = v;
	s->bits = bits;
	return true;
}

/* Remove the entry at i, shifting later members of its probe run back
 * (linear probing without tombstones keeps probes short under churn). */
HOT void live_delete(struct shard *s, size_t i)
{
	size_t mask = ((size_t)1 << s->bits) - 1;
	for (size_t j = (i + 1) & mask; s->v[j].ptr; j = (j + 1) & mask) {
		size_t home = live_slot(s->v[j].ptr, s->bits);
		/* Move j to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			s->v[i] = s->v[j];
			i = j;
		}
	}
	s->v[i].ptr = 0;
	s->used--;
}

/* Insert e; if its pointer was there (a free we never saw), that entry is
 * replaced and returned in *old. Returns -1 if there is no memory. */
HOT int live_put_in(struct shard *s, const struct live_e *e, struct live_e *old)
{
	bool locked = shard_lock(s);
	if ((!s->v || (s->used + 1) * 2 > (size_t)1 << s->bits) && !live_grow(s)) {
		shard_unlock(s, locked);
		return -1;
	}
	size_t mask = ((size_t)1 << s->bits) - 1;
	size_t i = live_slot(e->ptr, s->bits);
	while (s->v[i].ptr && s->v[i].ptr != e->ptr)
		i = (i + 1) & mask;
	int r = 0;
	if (s->v[i].ptr) {
		*old = s->v[i];
		r = 1;
	} else {
		s->used++;
	}
	s->v[i] = *e;
	shard_unlock(s, locked);
	return r;
}
static int live_put(const struct live_e *e, struct live_e *old)
{
	struct shard *s = shard_of(e->ptr, true);
	return s ? live_put_in(s, e, old) : -1;
}

/* Take the entry of ptr out; false if there is none, or if it is not of
 * want_kind (then it stays). */
HOT bool live_take(uint64_t ptr, struct live_e *out, int want_kind)
{
	struct shard *s = shard_of(ptr, false);
	if (!s)
		return false;
	bool locked = shard_lock(s), found = false;
	if (s->v) {
		size_t mask = ((size_t)1 << s->bits) - 1;
		for (size_t i = live_slot(ptr, s->bits); s->v[i].ptr; i = (i + 1) & mask) {
			if (s->v[i].ptr != ptr)
				continue;
			if ((int)(s->v[i].site & 1) == want_kind) {
				*out = s->v[i];
				live_delete(s, i);
				found = true;
			}
			break;
		}
	}
	shard_unlock(s, locked);
	return found;
}

/* A forked child starts with no blocks (after_fork_child). */
static void live_drop_all(void)
{
	for (struct shard *s = shards, *n; s; s = n) {
		n = s->next;
		if (s->v)
			real_munmap(s->v, sizeof(struct live_e) << s->bits);
		real_munmap(s, sizeof *s);
	}
	shards = NULL;
	if (shard_dir)
		madvise(shard_dir, sizeof *shard_dir << SHARD_DIR_BITS, MADV_DONTNEED);
}

/* ---- per-thread state (private) ---- */
#define CACHE_SIZE 1024
struct siteslot {
	uint32_t site; /* + 1; 0 is empty */
	struct memtrace_site *e;
};
struct tstate {
	uint32_t gen;
	uint32_t id;
	struct memtrace_thread *blk;
	uint32_t blk_off;
	uintptr_t stack_lo, stack_hi;
	uint64_t last;                  /* its most recent heap allocation, 0 after anything else */
	uint32_t until_check;
	struct memtrace_site_chunk *chunk;
	uint32_t chunk_off;
	struct siteslot *sv;            /* site -> its entry */
	uint32_t sbits, sn;
	uint64_t rng;
	struct tstate *next_free;
	struct tstate *all_next;        /* every state of this process image, newest first */
	uint32_t in_fast;               /* inside the unlocked step (fast_begin .. heap_fast) */
	int64_t allow;                  /* heap bytes it may add without the lock (under it) */
	uint64_t ch[CACHE_SIZE];        /* stack hash ^ kind -> entry */
	struct memtrace_site *ce[CACHE_SIZE];
	uint32_t cs[CACHE_SIZE];
};
/* One thread-local block: a shared object reaches each of its TLS
 * variables through a GOT entry, so one block costs one load per call. */
static TLS struct {
	int64_t countdown;          /* sample mode: bytes until the next sample */
	uint64_t seen_n;            /* sample mode: allocations not yet added to the thread's block */
	int64_t seen_from;          /* ... and the countdown when they started: their bytes are the difference */
	struct tstate *my;
	int busy;                   /* inside the shim: do not record */
	bool countdown_set;
} tl;
#define my tl.my
#define busy tl.busy
#define countdown tl.countdown
#define countdown_set tl.countdown_set
#define seen_n tl.seen_n
#define seen_from tl.seen_from
static struct tstate *free_states;  /* of exited threads, under stack_lock */
static struct tstate *all_states;   /* added to under stack_lock, read by heap_exact without it */
static void heap_fold_own(struct tstate *t);
static pthread_key_t exit_key;

static void flush_seen(struct tstate *t)
{
	t->blk->seen_allocs += seen_n;
	t->blk->seen_bytes += (uint64_t)(seen_from - countdown);
	seen_n = 0;
	seen_from = countdown;
}

static void thread_exit(void *arg)
{
	struct tstate *t = arg;
	busy++;
	if (t->gen == gen) {
		flush_seen(t);
		heap_fold_own(t);
	}
	spin_lock(&stack_lock);
	if (t->gen == gen) {
		t->next_free = free_states;
		free_states = t;
	}
	spin_unlock(&stack_lock);
	my = NULL;
	busy--;
}

static uint64_t rng_next(struct tstate *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

/* Bytes to the next sample point: exponential with mean sample_bytes. */
static int64_t draw(struct tstate *t)
{
	double u = ((double)(rng_next(t) >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
	double d = -log(u) * (double)sample_bytes;
	return d > 9e18 ? INT64_MAX : (int64_t)d + 1;
}

static struct tstate *thread_state_slow(void)
{
	struct tstate *t = NULL;
	spin_lock(&stack_lock);
	if (free_states) {
		t = free_states;
		free_states = t->next_free;
	}
	spin_unlock(&stack_lock);
	if (!t) {
		t = anon(sizeof *t);
		if (!t)
			return NULL;
		uint32_t off = region_alloc(sizeof(struct memtrace_thread));
		if (!off) {
			real_munmap(t, sizeof *t);
			return NULL;
		}
		static uint32_t next_id;
		t->gen = gen;
		t->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
		t->blk_off = off;
		t->blk = at(off);
		t->sbits = 8;
		t->sv = anon(sizeof *t->sv << t->sbits);
		if (!t->sv) {
			real_munmap(t, sizeof *t);
			return NULL;
		}
		spin_lock(&stack_lock);
		t->blk->next = H->threads;
		__atomic_store_n(&H->threads, off, __ATOMIC_RELEASE);
		t->all_next = all_states;
		__atomic_store_n(&all_states, t, __ATOMIC_RELEASE);
		spin_unlock(&stack_lock);
	}
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	t->blk->tid = tid;
	t->last = 0;
	t->until_check = mode == MT_MODE_EXACT ? CHECK_EVERY : 64;
	/* CPROF_MEM_SEED: the same draws in every run (threads numbered in
	 * the order they first allocate). */
	t->rng = seed ? seed ^ ((uint64_t)t->id * 0x9e3779b97f4a7c15ull)
		      : mono_ns() ^ ((uint64_t)tid * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(uintptr_t)t;
	if (!t->rng)
		t->rng = 1;
	t->stack_lo = t->stack_hi = 0;
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			t->stack_lo = (uintptr_t)addr;
			t->stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	(void)pthread_setspecific(exit_key, t);
	countdown_set = false;
	my = t;
	return t;
}

/* A state of the parent's is never found here in a forked child: the
 * only thread there is the one that forked, and after_fork_child clears
 * its my (gen is for the destructor of the parent's state, thread_exit). */
static inline struct tstate *thread_state(void)
{
	struct tstate *t = my;
	if (likely(t))
		return t;
	return thread_state_slow();
}

/* This thread's entry for site, created on first use; NULL if the region is full. */
static struct memtrace_site *site_entry(struct tstate *t, uint32_t site)
{
	size_t mask = ((size_t)1 << t->sbits) - 1;
	size_t i = (size_t)((site * 0x9e3779b97f4a7c15ull) >> (64 - t->sbits));
	for (; t->sv[i].site; i = (i + 1) & mask)
		if (t->sv[i].site == site + 1)
			return t->sv[i].e;
	if (!t->chunk || t->chunk->n == MEMTRACE_SITE_CHUNK) {
		uint32_t off = region_alloc(sizeof(struct memtrace_site_chunk));
		if (!off)
			return NULL;
		struct memtrace_site_chunk *c = at(off);
		c->next = t->blk->sites;
		__atomic_store_n(&t->blk->sites, off, __ATOMIC_RELEASE);
		t->chunk = c;
		t->chunk_off = off;
	}
	if ((t->sn + 1) * 2 > (1u << t->sbits)) {
		uint32_t bits = t->sbits + 1;
		struct siteslot *v = anon(sizeof *v << bits);
		if (!v)
			return NULL;
		size_t m2 = ((size_t)1 << bits) - 1;
		for (size_t k = 0; k < (size_t)1 << t->sbits; k++) {
			if (!t->sv[k].site)
				continue;
			size_t j = (size_t)(((t->sv[k].site - 1) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
			while (v[j].site)
				j = (j + 1) & m2;
			v[j] = t->sv[k];
		}
		real_munmap(t->sv, sizeof *v << t->sbits);
		t->sv = v;
		t->sbits = bits;
		mask = m2;
		for (i = (size_t)((site * 0x9e3779b97f4a7c15ull) >> (64 - bits)); t->sv[i].site; i = (i + 1) & mask)
			;
	}
	struct memtrace_site *e = &t->chunk->e[t->chunk->n];
	e->site = site;
	__atomic_store_n(&t->chunk->n, t->chunk->n + 1, __ATOMIC_RELEASE);
	t->sv[i] = (struct siteslot){ site + 1, e };
	t->sn++;
	return e;
}

/* The shim's own code, whose frames start every walk and are left out. */
static uintptr_t self_lo, self_hi;
static int find_self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < lo + ph->p_memsz) {
			self_lo = lo;
			self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* Walk frame pointers from our caller outwards. A frame pointer must lie
 * inside this thread's stack, above the previous one and aligned, so code
 * that uses rbp for something else ends the walk instead of faulting. */
__attribute__((noinline)) static uint32_t walk(const struct tstate *t, uint64_t *ips, uint64_t *hash)
{
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0), lo = t->stack_lo, span = t->stack_hi - lo - 16;
	uint32_t n = 0;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	if (t->stack_hi < lo + 16) { /* its stack is unknown: no walk */
		*hash = h;
		return 0;
	}
	/* One unsigned compare keeps fp in [lo, hi - 16]. */
#define FP_OK(fp) ((fp) - lo <= span && !((fp) & 7))
	/* The shim's own frames come first. The first is always its own and
	 * valid: walk's (it is never inlined, and the shim is built with
	 * frame pointers). Its caller's frame, that of the interposed
	 * function where exact_alloc is inlined, is the last of the shim's
	 * on an exact allocation. */
	fp = ((const uintptr_t *)fp)[0];
	while (FP_OK(fp)) {
		uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
		if (ret - self_lo >= self_hi - self_lo) /* not ours: the caller's first frame */
			break;
		if (next <= fp) {
			*hash = h;
			return 0;
		}
		fp = next;
	}
	while (n < MEMTRACE_MAX_DEPTH && FP_OK(fp)) {
		uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
		if (!ret)
			break;
		ips[n++] = ret;
		h ^= ret;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		if (next <= fp)
			break;
		fp = next;
	}
#undef FP_OK
	*hash = h ^ n;
	return n;
}
HOT struct memtrace_site *caller_site(struct tstate *t, uint32_t kind, uint32_t *site)
{
	uint64_t ips[MEMTRACE_MAX_DEPTH], h;
	uint32_t n = walk(t, ips, &h);
	if (!h)
		h = 1;
	uint64_t key = h ^ kind;
	size_t c = (key ^ (key >> 20)) & (CACHE_SIZE - 1);
	if (likely(t->ch[c] == key)) {
		*site = t->cs[c];
		return t->ce[c];
	}
	uint32_t id = n ? stack_id(h, ips, n) : 0;
	*site = id * 2 + kind;
	struct memtrace_site *e = site_entry(t, *site);
	if (e) {
		t->ch[c] = key;
		t->ce[c] = e;
		t->cs[c] = *site;
	}
	return e;
}

static unsigned hist_bucket(uint64_t size)
{
	unsigned b = size ? 64 - (unsigned)__builtin_clzll(size) : 0;
	return b < MEMTRACE_HIST ? b : MEMTRACE_HIST - 1;
}

/* cprof closes its end of the socket when it ends (or dies): stop then,
 * and let the socket go, so the process holds nothing of the recording but
 * the memory it already has. */
static bool sock_ok(int fd)
{
	struct stat sb;
	return fd >= 0 && fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_ino == sock_ino;
}

static void check_cprof(void)
{
	int fd = __atomic_load_n(&sock, __ATOMIC_RELAXED);
	struct pollfd p = { .fd = fd, .events = 0 };
	if (!sock_ok(fd)) { /* the program closed it: nothing of ours to close */
		set_enabled(false);
		__atomic_store_n(&sock, -1, __ATOMIC_RELAXED);
	} else if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
		set_enabled(false);
		fd = __atomic_exchange_n(&sock, -1, __ATOMIC_RELAXED);
		if (fd >= 0)
			close(fd);
	}
}

/* ---- the event lock: the order of events, the heap and its peak. Taken
 * once per event, for as short as can be: every thread's events pass
 * through its cache line. ---- */
static inline bool ev_lock(void)
{
	if (one_thread())
		return false;
	spin_lock(&H->ev.lock);
	return true;
}
static inline void ev_unlock(bool locked)
{
	if (locked)
		spin_unlock(&H->ev.lock);
}

static void curve_point(struct memtrace_events *e)
{
	struct memtrace_point *c = H->curve;
	c[e->curve_n++] = (struct memtrace_point){ mono_ns(), e->win_max };
	e->win_max = e->heap;
	if (e->curve_n == MEMTRACE_CURVE_CAP) {
		for (uint32_t i = 0; i < MEMTRACE_CURVE_CAP / 2; i++) {
			uint64_t b = c[2 * i].bytes > c[2 * i + 1].bytes ? c[2 * i].bytes : c[2 * i + 1].bytes;
			c[i] = (struct memtrace_point){ c[2 * i + 1].time, b };
		}
		e->curve_n = MEMTRACE_CURVE_CAP / 2;
		e->curve_mask = e->curve_mask * 2 + 1;
	}
}

/* Count nev events changing the heap and mmap totals (under the lock);
 * returns the epoch they happened in; *peak: they made a new peak. */
static inline uint64_t ev_account(int64_t dheap, int64_t dmmap, uint64_t nev, bool *peak)
{
	struct memtrace_events *e = &H->ev;
	uint64_t before = e->seq;
	e->seq += nev;
	e->heap += (uint64_t)dheap;
	if (e->heap > e->peak) {
		e->peak = e->heap;
		e->epoch++;
		e->peak_time = mono_ns();
		*peak = true;
	}
	if (dmmap) {
		e->mmap += (uint64_t)dmmap;
		if (e->mmap > e->mmap_peak)
			e->mmap_peak = e->mmap;
	}
	if (e->heap > e->win_max)
		e->win_max = e->heap;
	if (unlikely((before | e->curve_mask) != (e->seq | e->curve_mask)))
		curve_point(e);
	return e->epoch;
}

/*
 * ---- the heap below its peak ----
 * The event lock orders every event so that the peak is exact, but two
 * threads that allocate all the time then pass its cache line between
 * their CPUs on every call (4.5-8x on bench-mem's churn, against 3.6x for
 * the same calls in one thread). Most events cannot make a new peak,
 * though. While the gate is open, a thread counts its heap events itself
 * (pend_heap, pend_events in its block) within an allowance handed out
 * under the lock, such that the total plus every allowance stays at or
 * under the peak: no order of the uncounted events can then exceed it,
 * and each of them comes after the current epoch's peak (that epoch's
 * tag, not at the peak). Frees need no allowance.
 *
 * A thread past its allowance takes the lock, adds its pending sums to
 * the total and gets half of the room left. When an event does not fit
 * in the room, the lock's holder closes the gate: it waits until no
 * thread is inside the unlocked step (in_fast against gate.open: each
 * side stores its own, fences, then reads the other's), adds every
 * thread's pending sums, and from then on every event takes the lock, as
 * before, until one leaves the heap a sixteenth of the peak below it.
 * The heap curve's points, taken as events are added to the totals, are
 * the totals of the moment while the gate is open: what each thread had
 * added up to its last fold, at most FOLD_EVERY events ago.
 */
#define OPEN_PART 16
/* Events a thread counts alone before it adds them to the totals anyway,
 * so that the heap curve (ev_account) goes on while the gate is open. */
#define FOLD_EVERY 1024
static struct {
	uint32_t open;   /* written under the event lock; read on every event */
} gate __attribute__((aligned(64)));
static int64_t granted;  /* allowances handed out (under the event lock) */

/* Under the lock: t's pending sums into the totals; its allowance keeps
 * what they had not used (pending <= allowance, so the sums fit). */
static void fold_pending(struct tstate *t)
{
	struct memtrace_thread *b = t->blk;
	if (!b->pend_heap && !b->pend_events)
		return;
	bool peak = false;
	ev_account(b->pend_heap, 0, b->pend_events, &peak);
	t->allow -= b->pend_heap;
	granted -= b->pend_heap;
	b->pend_heap = 0;
	b->pend_events = 0;
}

/* Under the lock (or for a thread that is gone): the pending sums into
 * the totals, the allowance back. */
static void heap_fold(struct tstate *t)
{
	fold_pending(t);
	granted -= t->allow;
	t->allow = 0;
}

/* Under the lock: close the gate and wait out the unlocked steps under
 * way, then fold every thread: the total is exact again. */
static void heap_exact(void)
{
	if (!gate.open)
		return;
	__atomic_store_n(&gate.open, 0, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (struct tstate *t = __atomic_load_n(&all_states, __ATOMIC_ACQUIRE); t; t = t->all_next) {
		unsigned spins = 0;
		while (__atomic_load_n(&t->in_fast, __ATOMIC_ACQUIRE)) {
			if (++spins <= 64) {
				__builtin_ia32_pause();
			} else { /* preempted inside its step: let it run */
				struct timespec ts = { 0, 20000 };
				nanosleep(&ts, NULL);
			}
		}
		heap_fold(t);
	}
	granted = 0;
}

/*
 * The unlocked step begins (fast_begin) before the live map's lock and
 * ends in heap_fast. Its handshake needs a full fence between the store
 * of in_fast and the load of gate.open; the map's lock is taken with a
 * locked exchange, which on x86-64 (the only target of this file) orders
 * every earlier store before every later load, so the step needs no
 * atomic instruction of its own (one was 7% of a profile of churn). The
 * compiler barriers keep the store and the load on their sides of it.
 * Where the map takes no lock (one thread), the gate never opens. The
 * step takes no lock but the map's, whose holders wait for nothing: the
 * gate's closer waits for the step under the event lock.
 */
#if !defined(__x86_64__)
#error "fast_begin relies on x86-64's locked instructions being full fences"
#endif
static inline void fast_begin(struct tstate *t)
{
	__atomic_store_n(&t->in_fast, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void fast_end(struct tstate *t) { __atomic_store_n(&t->in_fast, 0, __ATOMIC_RELEASE); }

/* Ends the step: a heap event of d bytes counted by the thread alone, if
 * the gate is open and its allowance holds it; *tag: the epoch it is in.
 * Called after the live map's lock was taken and let go. */
static inline bool heap_fast(struct tstate *t, int64_t d, uint64_t *tag)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	bool ok = false;
	if (__atomic_load_n(&gate.open, __ATOMIC_ACQUIRE)) {
		struct memtrace_thread *b = t->blk;
		int64_t l = b->pend_heap + d;
		if (l <= t->allow && b->pend_events < FOLD_EVERY) {
			b->pend_heap = l;
			b->pend_events++;
			*tag = __atomic_load_n(&H->ev.epoch, __ATOMIC_RELAXED);
			ok = true;
		}
	}
	fast_end(t);
	return ok;
}

/* An exact-mode event under the lock: returns its epoch; *peak: it made
 * a new peak. With the gate open, the thread's pending sums go first. An
 * event that fits what is left of its allowance (the thread came for
 * FOLD_EVERY) uses it up: handing out half the room again at a moment of
 * the thread's own high heap left it less to grow into, 10x the events
 * under the lock on churn. One that does not fit gives the allowance back
 * and closes the gate if it does not fit the room left either; after it,
 * the thread gets half of the room, or the gate opens if there is enough. */
static uint64_t heap_locked(struct tstate *t, int64_t dheap, int64_t dmmap, uint32_t nev, bool *peak)
{
	struct memtrace_events *e = &H->ev;
	bool locked = ev_lock(), fits = false;
	if (gate.open) {
		fold_pending(t);
		fits = dheap <= t->allow;
		if (!fits) {
			granted -= t->allow;
			t->allow = 0;
			if ((int64_t)(e->peak - e->heap) - granted < dheap)
				heap_exact();
		}
	}
	uint64_t tag = ev_account(dheap, dmmap, nev, peak);
	e->locked += nev;
	if (fits) {
		t->allow -= dheap;
		granted -= dheap;
	} else if (locked) { /* (one thread: no lock to spare) */
		int64_t room = (int64_t)(e->peak - e->heap) - granted;
		if (!gate.open && room > 0 && (uint64_t)room >= e->peak / OPEN_PART)
			__atomic_store_n(&gate.open, 1, __ATOMIC_RELEASE);
		if (gate.open && room > 1) {
			t->allow = room / 2;
			granted += t->allow;
		}
	}
	ev_unlock(locked);
	return tag;
}

static void heap_fold_own(struct tstate *t)
{
	if (mode != MT_MODE_EXACT || !H)
		return;
	bool locked = ev_lock();
	heap_fold(t);
	ev_unlock(locked);
}

/* Entry of the freeing thread for a block's site. */
static inline struct memtrace_site *free_site(struct tstate *t, uint32_t site)
{
	struct memtrace_site *s = site_entry(t, site);
	if (!s)
		lost();
	return s;
}

static inline void every_so_often(struct tstate *t)
{
	if (unlikely(--t->until_check == 0)) {
		t->until_check = mode == MT_MODE_EXACT ? CHECK_EVERY : 64;
		check_cprof();
	}
}

/* ---- exact mode ---- */
/* An allocation (ptr != 0) and/or the block a realloc replaced (had_old). */
__attribute__((noinline)) static void exact_event(uint32_t kind, uint64_t ptr, uint64_t size, const struct live_e *old,
						  bool had_old)
{
	struct tstate *t = thread_state();
	if (!t) {
		lost();
		return;
	}
	every_so_often(t);
	struct memtrace_site *s = NULL;
	uint32_t site = 0;
	if (ptr && !(s = caller_site(t, kind, &site))) {
		lost();
		return;
	}
	int64_t dheap = 0, dmmap = 0;
	uint32_t nev = 0;
	struct live_e stale;
	int replaced = 0;
	bool peak = false;
	if (ptr) {
		struct live_e e = { .ptr = ptr, .size = size, .site = site, .owner = t->id, .e = s };
		if ((replaced = live_put(&e, &stale)) < 0) {
			lost();
			return;
		}
		nev++;
		*(kind == MT_HEAP ? &dheap : &dmmap) += (int64_t)size;
	}
	if (replaced) /* its free was never seen (freed where the shim could not look) */
		*(stale.site & 1 ? &dmmap : &dheap) -= (int64_t)stale.size;
	if (had_old) {
		nev++;
		dheap -= (int64_t)old->size;
	}
	uint64_t tag = heap_locked(t, dheap, dmmap, nev ? nev : 1, &peak);
	/* Every part of an event that made the peak is at the peak, not after. */
	struct memtrace_site *os;
	if (replaced && (os = stale.owner == t->id ? stale.e : free_site(t, stale.site)))
		memtrace_add_live(os, -1, -(int64_t)stale.size, tag, !peak);
	if (had_old && (os = old->owner == t->id ? old->e : free_site(t, old->site)))
		memtrace_add_live(os, -1, -(int64_t)old->size, tag, !peak);
	if (s) {
		memtrace_count_alloc(s, size, tag, peak);
		if (kind == MT_HEAP) /* (seen_* is the sum of the sites' here) */
			t->blk->hist[hist_bucket(size)]++;
	}
	t->last = s && kind == MT_HEAP ? ptr : 0;
}

/* A plain allocation: exact_event without a realloc's old block, the
 * common case kept short. */
HOT void exact_alloc(uint32_t kind, uint64_t ptr, uint64_t size)
{
	struct tstate *t = thread_state();
	if (unlikely(!t)) {
		lost();
		return;
	}
	every_so_often(t);
	uint32_t site;
	struct memtrace_site *s = caller_site(t, kind, &site);
	if (unlikely(!s)) {
		lost();
		return;
	}
	struct live_e e = { .ptr = ptr, .size = size, .site = site, .owner = t->id, .e = s }, stale = { 0 };
	/* The map first: making one takes stack_lock, which fork holds while
	 * it waits for the event lock, whose holder may be waiting for this
	 * thread's step to end. */
	struct shard *sh = shard_of(ptr, true);
	fast_begin(t);
	int replaced = sh ? live_put_in(sh, &e, &stale) : -1;
	int64_t dheap = kind == MT_HEAP ? (int64_t)size : 0, dmmap = (int64_t)size - dheap;
	bool peak = false, unlocked = false;
	uint64_t tag = 0;
	if (likely(!replaced && kind == MT_HEAP))
		unlocked = heap_fast(t, dheap, &tag);
	else
		fast_end(t);
	if (unlikely(replaced < 0)) {
		lost();
		return;
	}
	if (unlikely(replaced)) /* its free was never seen (freed where the shim could not look) */
		*(stale.site & 1 ? &dmmap : &dheap) -= (int64_t)stale.size;
	if (!unlocked)
		tag = heap_locked(t, dheap, dmmap, 1, &peak);
	struct memtrace_site *os;
	if (unlikely(replaced) && (os = stale.owner == t->id ? stale.e : free_site(t, stale.site)))
		memtrace_add_live(os, -1, -(int64_t)stale.size, tag, !peak);
	memtrace_count_alloc(s, size, tag, peak);
	if (kind == MT_HEAP)
		t->blk->hist[hist_bucket(size)]++;
	t->last = kind == MT_HEAP ? ptr : 0;
}

HOT void exact_free(uint64_t ptr, int kind)
{
	struct tstate *t = thread_state();
	if (!t) {
		lost();
		return;
	}
	struct live_e e;
	bool peak = false;
	uint64_t tag = 0;
	fast_begin(t);
	bool found = live_take(ptr, &e, kind);
	bool unlocked = false;
	if (found && kind == MT_HEAP)
		unlocked = heap_fast(t, -(int64_t)e.size, &tag);
	else
		fast_end(t);
	if (found && !unlocked)
		tag = heap_locked(t, kind == MT_HEAP ? -(int64_t)e.size : 0, kind == MT_MMAP ? -(int64_t)e.size : 0, 1,
				  &peak);
	if (!found) {
		if (kind != MT_MMAP)
			t->blk->unmatched_frees++;
		t->last = 0;
		return;
	}
	struct memtrace_site *s = e.owner == t->id ? e.e : free_site(t, e.site);
	if (s) {
		memtrace_add_live(s, -1, -(int64_t)e.size, tag, true);
		if (t->last == ptr && kind == MT_HEAP) {
			s->x.temp_allocs++;
			s->x.temp_bytes += e.size;
			if (e.size > s->x.temp_max_size)
				s->x.temp_max_size = e.size;
		}
	}
	t->last = 0;
}

/* ---- sample mode ---- */
/* Sampled blocks live now, and per hash of their pointer (saturating):
 * free reads them without the lock and looks no further when they say no.
 * A block reaches another thread's free only through the program's own
 * synchronisation, which also publishes these. */
static atomic_long sampled_live;
static uint8_t filter[1 << 16];
static inline size_t filter_slot(uint64_t p) { return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> 48); }
static inline bool maybe_sampled(uint64_t p)
{
	return atomic_load_explicit(&sampled_live, memory_order_relaxed) &&
	       __atomic_load_n(&filter[filter_slot(p)], __ATOMIC_RELAXED);
}
/* Not under a common lock (the maps have one each): a saturated count
 * stays saturated, one that is not changes by compare-and-swap. */
static void filter_add(uint64_t p, int d)
{
	uint8_t *f = &filter[filter_slot(p)];
	uint8_t v = __atomic_load_n(f, __ATOMIC_RELAXED);
	while (v < 255 && !__atomic_compare_exchange_n(f, &v, (uint8_t)(v + d), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	atomic_fetch_add_explicit(&sampled_live, d, memory_order_relaxed);
}

/* A sampled block comes (sign 1) or goes (-1): the live estimates. */
static void sample_live(struct memtrace_site *s, const struct live_e *e, int sign)
{
	double w = e->w, wb = (double)e->size * w, p = 1.0 / w;
	s->s.live_count += sign * w;
	s->s.live_bytes += sign * wb;
	s->s.live_var_count += sign * (1 - p) * w * w;
	s->s.live_var_bytes += sign * (1 - p) * wb * wb;
}

static inline int64_t est_bytes(const struct live_e *e) { return (int64_t)((double)e->size * e->w + 0.5); }

/* The allocation crossed a sample point (or is an mmap: those are rare and
 * all taken, with weight 1). */
__attribute__((noinline)) static void sample_event(uint32_t kind, uint64_t ptr, uint64_t size)
{
	struct tstate *t = thread_state();
	if (!t) {
		lost();
		return;
	}
	every_so_often(t);
	if (kind == MT_HEAP) {
		flush_seen(t);
		/* flush_seen counted this allocation already. */
		if (!countdown_set) { /* the thread's first allocation: start its countdown */
			countdown_set = true;
			int64_t d = draw(t);
			if (d > (int64_t)size) {
				seen_from = countdown = d - (int64_t)size;
				return;
			}
		}
		seen_from = countdown = draw(t);
	}
	uint32_t site;
	struct memtrace_site *s = caller_site(t, kind, &site);
	if (!s) {
		lost();
		return;
	}
	double p = kind == MT_HEAP ? -expm1(-(double)size / (double)sample_bytes) : 1.0;
	if (!(p > 1e-300))
		p = 1e-300;
	double w = 1.0 / p, wb = (double)size * w;
	struct live_e e = { .ptr = ptr, .size = size, .site = site, .w = w }, stale;
	bool peak = false;
	int r = live_put(&e, &stale);
	if (r == 0)
		filter_add(ptr, 1);
	if (r >= 0) {
		int64_t d = est_bytes(&e) - (r > 0 && !(stale.site & 1) ? est_bytes(&stale) : 0);
		bool locked = ev_lock();
		ev_account(kind == MT_HEAP ? d : 0, kind == MT_MMAP ? (int64_t)size : 0, 1, &peak);
		ev_unlock(locked);
	}
	if (r < 0) {
		lost();
		return;
	}
	struct memtrace_site *ss;
	if (r > 0 && (ss = free_site(t, stale.site)))
		sample_live(ss, &stale, -1);
	s->allocs++;
	s->bytes += size;
	if (size > s->max_size)
		s->max_size = size;
	s->s.count += w;
	s->s.bytes += wb;
	s->s.var_count += (1 - p) * w * w;
	s->s.var_bytes += (1 - p) * wb * wb;
	sample_live(s, &e, 1);
	if (kind == MT_HEAP)
		t->blk->whist[hist_bucket(size)] += w;
}

/* A sampled block leaves: taken out under the lock by the caller. */
static void sample_gone(const struct live_e *e)
{
	struct tstate *t = thread_state();
	struct memtrace_site *s;
	if (t && (s = free_site(t, e->site)))
		sample_live(s, e, -1);
	else if (!t)
		lost();
}

__attribute__((noinline)) static void sample_free(uint64_t ptr, int kind)
{
	struct live_e e;
	bool peak = false;
	bool found = live_take(ptr, &e, kind);
	if (found) {
		filter_add(ptr, -1);
		bool locked = ev_lock();
		ev_account(kind == MT_HEAP ? -est_bytes(&e) : 0, kind == MT_MMAP ? -(int64_t)e.size : 0, 1, &peak);
		ev_unlock(locked);
	}
	if (found)
		sample_gone(&e);
}

/* ---- dispatch from the interposed functions ---- */
static inline bool tracing(void) { return likely(atomic_load_explicit(&enabled, memory_order_relaxed)) && !busy; }

/* An allocation to trace, tracing() said so. */
HOT void trace_alloc(uint32_t kind, void *p, size_t size)
{
	busy++;
	if (mode == MT_MODE_EXACT)
		exact_alloc(kind, (uint64_t)p, size);
	else
		sample_event(kind, (uint64_t)p, size);
	busy--;
}

/* An allocation to trace; in sample mode, one whose bytes were counted
 * down already (charged) and crossed a sample point. */
HOT void on_alloc_charged(uint32_t kind, void *p, size_t size)
{
	if (tracing()) {
		trace_alloc(kind, p, size);
	} else if (mode == MT_MODE_SAMPLE && kind == MT_HEAP) { /* the shim's own, or not tracing: not the program's */
		seen_n--;
		countdown += (int64_t)size;
	}
}

HOT void on_alloc(uint32_t kind, void *p, size_t size)
{
	/* Sample mode: the whole cost of an allocation that is not sampled.
	 * The shim's own allocations (busy) are not the program's bytes. */
	if (mode == MT_MODE_SAMPLE && kind == MT_HEAP && !busy) {
		seen_n++;
		if (likely((countdown -= (int64_t)size) > 0))
			return;
		on_alloc_charged(kind, p, size);
	} else if (tracing()) {
		trace_alloc(kind, p, size);
	}
}

HOT void on_free(void *p, int kind)
{
	if (mode == MT_MODE_SAMPLE && likely(!maybe_sampled((uint64_t)p)))
		return;
	if (!tracing())
		return;
	busy++;
	if (mode == MT_MODE_EXACT)
		exact_free((uint64_t)p, kind);
	else
		sample_free((uint64_t)p, kind);
	busy--;
}

/* realloc: take the old block out before the real call (another thread
 * may get its address as soon as it is freed), put it back if it failed. */
static bool realloc_begin(void *old, struct live_e *e)
{
	if (!old || !tracing() || (mode == MT_MODE_SAMPLE && !maybe_sampled((uint64_t)old)))
		return false;
	bool found = live_take((uint64_t)old, e, MT_HEAP);
	if (found && mode == MT_MODE_SAMPLE)
		filter_add((uint64_t)old, -1);
	return found;
}

static void realloc_end(void *old, bool had, struct live_e *e, void *p, size_t size, bool failed)
{
	if (!tracing())
		return;
	busy++;
	if (failed) { /* the old block is still there */
		if (had) {
			struct live_e stale;
			if (live_put(e, &stale) == 0 && mode == MT_MODE_SAMPLE)
				filter_add(e->ptr, 1);
		}
	} else if (mode == MT_MODE_EXACT) {
		if (old && !had) {
			struct tstate *t = thread_state();
			if (t)
				t->blk->unmatched_frees++;
		}
		if (p || had)
			exact_event(MT_HEAP, (uint64_t)p, size, e, had);
	} else {
		if (had) {
			bool peak = false;
			bool locked = ev_lock();
			ev_account(-est_bytes(e), 0, 1, &peak);
			ev_unlock(locked);
			sample_gone(e);
		}
		busy--;
		if (p)
			on_alloc(MT_HEAP, p, size);
		return;
	}
	busy--;
}

/* ---- setup and teardown ---- */
static bool parse_env(void)
{
	const char *v = getenv(MEMTRACE_ENV);
	if (!v || !*v)
		return false;
	int fd, m;
	unsigned long long ino, bytes, sd;
	if (sscanf(v, "%d %llu %d %llu %llu", &fd, &ino, &m, &bytes, &sd) != 5)
		return false;
	/* The fd must still be cprof's socket: a process that closed it and
	 * reused the number, or one started after cprof ended, is not traced. */
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode) || sb.st_ino != ino)
		return false;
	if (m != MT_MODE_EXACT && m != MT_MODE_SAMPLE)
		return false;
	sock = fd;
	sock_ino = sb.st_ino;
	mode = m;
	sample_bytes = bytes ? bytes : 1;
	seed = sd;
	return true;
}

/* Make this process image's region and hand it to cprof. */
/* Tracing cannot go on in this process: stop, and let the socket go so
 * the process holds nothing of the recording. */
static void give_up(void)
{
	set_enabled(false);
	int fd = __atomic_exchange_n(&sock, -1, __ATOMIC_RELAXED);
	if (sock_ok(fd))
		close(fd);
}

static bool open_region(void)
{
	if (!sock_ok(sock))
		return false;
	int fd = memfd_create("cprof-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return false;
	/* Sealed against shrinking: cprof maps it, and a region cut short
	 * under its reads would be a SIGBUS in cprof. */
	if (ftruncate(fd, (off_t)MEMTRACE_REGION_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return false;
	}
	void *m = real_mmap(NULL, MEMTRACE_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return false;
	}
	H = m;
	memcpy(H->magic, MEMTRACE_MAGIC, 8);
	H->mode = (uint32_t)mode;
	H->pid = (uint32_t)getpid();
	H->ppid = (uint32_t)getppid();
	H->nstacks = 1;
	H->sample_bytes = mode == MT_MODE_SAMPLE ? sample_bytes : 0;
	H->start_ns = mono_ns();
	H->size = MEMTRACE_REGION_SIZE;
	H->used = (sizeof *H + 63) & ~(uint64_t)63;
	H->ev.curve_mask = mode == MT_MODE_EXACT ? 255 : 0;
	region_pid = getpid();
	struct memtrace_hello hello = { .pid = H->pid, .ppid = H->ppid, .start_ns = H->start_ns, .size = H->size };
	memcpy(hello.magic, MEMTRACE_MAGIC, 8);
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { &hello, sizeof hello };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != (ssize_t)sizeof hello) {
		real_munmap(H, MEMTRACE_REGION_SIZE);
		H = NULL;
		return false;
	}
	return true;
}

static bool fork_locked;
static void before_fork(void)
{
	busy++;
	spin_lock(&stack_lock);
	fork_locked = H && ev_lock();
}
static void after_fork_parent(void)
{
	ev_unlock(fork_locked);
	spin_unlock(&stack_lock);
	busy--;
}

/* The child of fork gets a region of its own and starts empty, as a new
 * process: the parent's blocks are the parent's (their frees here count as
 * frees of memory allocated before tracing began). The parent's region
 * (its lock still taken by before_fork) is never written here. */
static void after_fork_child(void)
{
	live_drop_all();
	memset(filter, 0, sizeof filter);
	atomic_store(&sampled_live, 0);
	if (gtable)
		madvise(gtable, sizeof(struct gslot) << GLOBAL_BITS, MADV_DONTNEED);
	free_states = NULL;
	all_states = NULL; /* (the parent's threads are not here, whatever step they were in) */
	gate.open = 0;
	granted = 0;
	gen++;
	my = NULL;
	countdown_set = false;
	seen_n = 0;
	seen_from = countdown = 0;
	spin_unlock(&stack_lock);
	struct memtrace_header *old = H;
	H = NULL;
	if (!atomic_load(&enabled) || !old)
		set_enabled(false);
	else if (!open_region())
		give_up();
	if (old)
		real_munmap(old, MEMTRACE_REGION_SIZE);
	busy--;
}

__attribute__((constructor)) static void shim_init(void)
{
	busy++;
	resolve_real();
	dl_iterate_phdr(find_self_cb, (void *)(uintptr_t)find_self_cb);
	if (parse_env()) {
		gtable = anon(sizeof(struct gslot) << GLOBAL_BITS);
		shard_dir = anon(sizeof *shard_dir << SHARD_DIR_BITS);
		if (gtable && shard_dir && pthread_key_create(&exit_key, thread_exit) == 0 &&
		    pthread_atfork(before_fork, after_fork_parent, after_fork_child) == 0 && open_region())
			set_enabled(true);
		else
			give_up();
	}
	busy--;
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!H || getpid() != region_pid)
		return;
	busy++;
	if (my && my->gen == gen)
		flush_seen(my);
	bool locked = ev_lock();
	heap_exact(); /* the totals exact at the end */
	curve_point(&H->ev);
	ev_unlock(locked);
	__atomic_store_n(&H->end_ns, mono_ns(), __ATOMIC_RELEASE);
	busy--;
}

/* ---- the interposed functions ---- */
/* malloc and free are the hot pair: what they do without a sample due (or
 * without tracing) ends in a tail call of the allocator, so they cost
 * little more than the call through the interposer; the rest is in the
 * *_slow functions. */
__attribute__((noinline)) static void *malloc_slow(size_t size, bool charged)
{
	if (unlikely(!real_malloc)) {
		if (atomic_load(&resolving))
			return boot_alloc(size);
		resolve_real();
	}
	void *p = real_malloc(size);
	if (likely(p)) {
		if (charged)
			on_alloc_charged(MT_HEAP, p, size);
		else
			on_alloc(MT_HEAP, p, size);
	}
	return p;
}

EXPORT void *malloc(size_t size)
{
	int f = __atomic_load_n(&fast, __ATOMIC_RELAXED);
	if (f == MT_MODE_SAMPLE && likely(!busy)) {
		seen_n++;
		if (likely((countdown -= (int64_t)size) > 0))
			return real_malloc(size);
		return malloc_slow(size, true);
	}
	if (f == FAST_OFF && likely(real_malloc != NULL))
		return real_malloc(size);
	return malloc_slow(size, false);
}

__attribute__((noinline)) static void free_slow(void *p)
{
	if (!p || in_boot(p))
		return;
	if (unlikely(!real_free))
		resolve_real();
	on_free(p, MT_HEAP);
	real_free(p);
}

EXPORT void free(void *p)
{
	int f = __atomic_load_n(&fast, __ATOMIC_RELAXED);
	if ((f == FAST_OFF || (f == MT_MODE_SAMPLE && !maybe_sampled((uint64_t)p))) && likely(real_free != NULL) &&
	    !in_boot(p))
		return real_free(p);
	free_slow(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (unlikely(!real_calloc)) {
		if (atomic_load(&resolving))
			return boot_alloc(n * size); /* the arena is zeroed: it is static and never reused */
		resolve_real();
	}
	void *p = real_calloc(n, size);
	if (p)
		on_alloc(MT_HEAP, p, n * size);
	return p;
}

EXPORT void *realloc(void *old, size_t size)
{
	if (unlikely(!real_realloc))
		resolve_real();
	if (in_boot(old)) {
		void *p = malloc(size);
		if (p)
			memcpy(p, old, size < sizeof boot_arena ? size : sizeof boot_arena);
		return p;
	}
	struct live_e e;
	bool had = realloc_begin(old, &e);
	void *p = real_realloc(old, size);
	realloc_end(old, had, &e, p, p ? size : 0, !p && (size || !old));
	return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!real_reallocarray))
		resolve_real();
	struct live_e e;
	bool had = realloc_begin(old, &e);
	void *p = real_reallocarray(old, n, size);
	realloc_end(old, had, &e, p, p ? total : 0, !p && (total || !old));
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (unlikely(!real_posix_memalign))
		resolve_real();
	int r = real_posix_memalign(out, align, size);
	if (r == 0)
		on_alloc(MT_HEAP, *out, size);
	return r;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (unlikely(!real_aligned_alloc))
		resolve_real();
	void *p = real_aligned_alloc(align, size);
	if (p)
		on_alloc(MT_HEAP, p, size);
	return p;
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (unlikely(!real_memalign))
		resolve_real();
	void *p = real_memalign(align, size);
	if (p)
		on_alloc(MT_HEAP, p, size);
	return p;
}

EXPORT void *valloc(size_t size)
{
	if (unlikely(!real_valloc))
		resolve_real();
	void *p = real_valloc(size);
	if (p)
		on_alloc(MT_HEAP, p, size);
	return p;
}

EXPORT void *pvalloc(size_t size)
{
	if (unlikely(!real_pvalloc))
		resolve_real();
	void *p = real_pvalloc(size);
	if (p)
		on_alloc(MT_HEAP, p, (size + 4095) & ~(size_t)4095);
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (unlikely(!real_mmap))
		resolve_real();
	void *p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_ANONYMOUS))
		on_alloc(MT_MMAP, p, len);
	return p;
}

EXPORT int munmap(void *addr, size_t len)
{
	if (unlikely(!real_munmap))
		resolve_real();
	/* Taken out first, like free: the range may be mapped again at once. */
	on_free(addr, MT_MMAP);
	return real_munmap(addr, len);
}
