/*
 * shim.c - libcprof-mem.so, preloaded into the workload by `cprof record
 * --mem`. It interposes the malloc family and anonymous mmap/munmap, and
 * appends one compact event per call, with the caller's stack, to a file
 * per process in $CPROF_MEM_DIR (format: include/cprof/memtrace.h).
 *
 * Cost is what matters here: a malloc-heavy program calls these millions
 * of times a second. So stacks are walked by frame pointers within the
 * thread's own stack bounds (no unwinder, no faults on frameless code),
 * each thread buffers its events and deduplicates stacks in a small cache,
 * and only stacks never seen before take the global lock.
 *
 * Recursion: anything the shim itself calls that allocates (dlsym,
 * pthread_getattr_np, stdio) runs with the thread's busy flag set and goes
 * straight to the real allocator. dlsym may call calloc before the real
 * one is known; that is served from a static arena that free() ignores.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/memtrace.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

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

/* ---- per-process state ---- */
static int out_fd = -1;          /* -1: not tracking (no dir, or setup failed) */
static pid_t out_pid;
static atomic_uint next_stack_id = 1;
static atomic_ullong lost_events;
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

/* Global stack table: 64-bit hash -> id, open addressing, in mmap'd memory
 * so the shim never allocates through the allocator it watches. */
#define GLOBAL_BITS 20
struct gslot { uint64_t hash; uint32_t id; };
static struct gslot *global_table;
static size_t global_used;

/* ---- per-thread state ---- */
#define BUF_SIZE (64 * 1024)
#define CACHE_SIZE 1024
struct tbuf {
	atomic_flag lock;
	bool dead;
	uint32_t tid;
	size_t used;
	uint64_t last_flush;
	uintptr_t stack_lo, stack_hi;
	uint64_t cache_hash[CACHE_SIZE];
	uint32_t cache_id[CACHE_SIZE];
	struct tbuf *next;
	char buf[BUF_SIZE];
};
static struct tbuf *all_bufs;      /* under global_lock */
static TLS struct tbuf *my_buf;
static TLS int busy;               /* inside the shim: do not record */
static pthread_key_t exit_key;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(out_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			atomic_fetch_add(&lost_events, 1);
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void lock_buf(struct tbuf *b)
{
	while (atomic_flag_test_and_set_explicit(&b->lock, memory_order_acquire))
		;
}
static void unlock_buf(struct tbuf *b) { atomic_flag_clear_explicit(&b->lock, memory_order_release); }

static void flush_locked(struct tbuf *b)
{
	if (b->used && out_fd >= 0)
		write_all(b->buf, b->used);
	b->used = 0;
}

static void thread_exit(void *arg)
{
	struct tbuf *b = arg;
	busy++;
	lock_buf(b);
	flush_locked(b);
	b->dead = true; /* unmapped only at exit: the list still points here */
	unlock_buf(b);
	my_buf = NULL;
	busy--;
}

static struct tbuf *thread_buf(void)
{
	if (my_buf)
		return my_buf;
	void *m = real_mmap(NULL, sizeof(struct tbuf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct tbuf *b = m;
	atomic_flag_clear(&b->lock);
	b->tid = (uint32_t)syscall(SYS_gettid);
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			b->stack_lo = (uintptr_t)addr;
			b->stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_lock(&global_lock);
	b->next = all_bufs;
	all_bufs = b;
	pthread_mutex_unlock(&global_lock);
	(void)pthread_setspecific(exit_key, b);
	my_buf = b;
	return b;
}

static void append(struct tbuf *b, const void *rec, size_t n)
{
	if (b->used + n > BUF_SIZE)
		flush_locked(b);
	memcpy(b->buf + b->used, rec, n);
	b->used += n;
}

/* Id of the stack of return addresses ips[0..n), writing it out if new. */
static uint32_t stack_id(struct tbuf *b, const uint64_t *ips, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (!h)
		h = 1;
	size_t c = h & (CACHE_SIZE - 1);
	if (b->cache_hash[c] == h)
		return b->cache_id[c];
	uint32_t id = 0;
	bool fresh = false;
	pthread_mutex_lock(&global_lock);
	size_t mask = ((size_t)1 << GLOBAL_BITS) - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (global_table[i].hash == h) {
			id = global_table[i].id;
			break;
		}
		if (!global_table[i].hash) {
			if (global_used * 4 >= (mask + 1) * 3 || atomic_load(&next_stack_id) >= MEMTRACE_MAX_STACKS)
				break; /* full: the event goes without a stack */
			id = atomic_fetch_add(&next_stack_id, 1);
			global_table[i] = (struct gslot){ h, id };
			global_used++;
			fresh = true;
			break;
		}
	}
	pthread_mutex_unlock(&global_lock);
	if (fresh) {
		struct memtrace_stack s = { .kind_id = MT_WORD(MT_STACK, id), .n = n };
		if (b->used + sizeof s + n * 8 > BUF_SIZE)
			flush_locked(b);
		append(b, &s, sizeof s);
		append(b, ips, n * sizeof *ips);
	}
	b->cache_hash[c] = h;
	b->cache_id[c] = id;
	return id;
}

/* Walk frame pointers from our caller outwards. A frame pointer must lie
 * inside this thread's stack, above the previous one and aligned, so code
 * that uses rbp for something else ends the walk instead of faulting. */
__attribute__((noinline)) static uint32_t walk(const struct tbuf *b, uint64_t *ips)
{
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	uint32_t n = 0, skip = 2; /* walk -> record -> the interposed function */
	while (n < MEMTRACE_MAX_DEPTH && fp >= b->stack_lo && fp + 16 <= b->stack_hi && !(fp & 7)) {
		uintptr_t next = ((const uintptr_t *)fp)[0];
		uintptr_t ret = ((const uintptr_t *)fp)[1];
		if (!ret)
			break;
		if (skip)
			skip--;
		else
			ips[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

__attribute__((noinline)) static void record(uint8_t kind, const void *ptr, size_t size, const void *old)
{
	if (out_fd < 0 || busy)
		return;
	busy++;
	struct tbuf *b = thread_buf();
	if (!b) {
		atomic_fetch_add(&lost_events, 1);
		busy--;
		return;
	}
	struct memtrace_event e = { .tid = b->tid, .time = mono_ns(), .ptr = (uintptr_t)ptr, .size = size };
	uint64_t ips[MEMTRACE_MAX_DEPTH];
	uint32_t n = 0;
	if (kind != MT_FREE && kind != MT_MUNMAP)
		n = walk(b, ips);
	lock_buf(b);
	uint32_t id = n ? stack_id(b, ips, n) : 0;
	if (old) { /* realloc: the old block goes, then the new one comes */
		struct memtrace_event f = { .kind_stack = MT_WORD(MT_REALLOC_FREE, 0), .tid = b->tid, .time = e.time,
					    .ptr = (uintptr_t)old };
		append(b, &f, sizeof f);
	}
	if (ptr || !old) {
		e.kind_stack = MT_WORD(kind, id);
		append(b, &e, sizeof e);
	}
	/* Flush at least every 50 ms, so a workload killed by a signal (no
	 * destructors run) loses at most that much. */
	if (e.time - b->last_flush > 50000000) {
		flush_locked(b);
		b->last_flush = e.time;
	}
	unlock_buf(b);
	busy--;
}

/* ---- setup and teardown ---- */
static void open_output(void)
{
	const char *dir = getenv(MEMTRACE_ENV_DIR);
	out_fd = -1;
	if (!dir || !*dir)
		return;
	char path[4096];
	pid_t pid = getpid();
	/* exec keeps the pid: number the files so a new image gets its own. */
	for (int seq = 0; seq < 1000 && out_fd < 0; seq++) {
		snprintf(path, sizeof path, "%s/mem.%d.%d", dir, (int)pid, seq);
		out_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (out_fd < 0 && errno != EEXIST)
			return;
	}
	if (out_fd < 0)
		return;
	out_pid = pid;
	struct memtrace_header h = { .pid = (uint32_t)pid, .ppid = (uint32_t)getppid(), .start_ns = mono_ns() };
	memcpy(h.magic, MEMTRACE_MAGIC, sizeof h.magic);
	write_all((const char *)&h, sizeof h);
}

static void flush_all(void)
{
	pthread_mutex_lock(&global_lock);
	for (struct tbuf *b = all_bufs; b; b = b->next) {
		lock_buf(b);
		flush_locked(b);
		unlock_buf(b);
	}
	pthread_mutex_unlock(&global_lock);
	unsigned long long lost = atomic_exchange(&lost_events, 0);
	if (lost && out_fd >= 0) {
		struct memtrace_event e = { .kind_stack = MT_WORD(MT_LOST, 0), .time = mono_ns(), .size = lost };
		write_all((const char *)&e, sizeof e);
	}
}

/* The child of fork starts its own file; the parent's buffered events were
 * copied into it and belong to the parent, so they are dropped here. */
static void after_fork_child(void)
{
	for (struct tbuf *b = all_bufs; b; b = b->next) {
		b->used = 0;
		atomic_flag_clear(&b->lock);
	}
	pthread_mutex_init(&global_lock, NULL);
	if (out_fd >= 0)
		close(out_fd);
	memset(global_table, 0, sizeof(struct gslot) << GLOBAL_BITS);
	global_used = 0;
	atomic_store(&next_stack_id, 1);
	for (struct tbuf *b = all_bufs; b; b = b->next) {
		memset(b->cache_hash, 0, sizeof b->cache_hash);
		b->tid = (uint32_t)syscall(SYS_gettid); /* only this thread survives */
	}
	open_output();
}
static void before_fork(void)
{
	busy++;
	flush_all();
	pthread_mutex_lock(&global_lock);
}
static void after_fork_parent(void)
{
	pthread_mutex_unlock(&global_lock);
	busy--;
}
static void after_fork_child_locked(void)
{
	busy--;
	after_fork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
	busy++;
	resolve_real();
	global_table = real_mmap(NULL, sizeof(struct gslot) << GLOBAL_BITS, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (global_table != MAP_FAILED && pthread_key_create(&exit_key, thread_exit) == 0 &&
	    pthread_atfork(before_fork, after_fork_parent, after_fork_child_locked) == 0)
		open_output();
	busy--;
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (out_fd < 0 || getpid() != out_pid)
		return;
	busy++;
	flush_all();
	close(out_fd);
	out_fd = -1;
}

/* ---- the interposed functions ---- */
EXPORT void *malloc(size_t size)
{
	if (!real_malloc) {
		if (atomic_load(&resolving))
			return boot_alloc(size);
		resolve_real();
	}
	void *p = real_malloc(size);
	if (p)
		record(MT_ALLOC, p, size, NULL);
	return p;
}

EXPORT void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!real_free)
		resolve_real();
	record(MT_FREE, p, 0, NULL);
	real_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (atomic_load(&resolving)) {
			void *p = boot_alloc(n * size);
			return p; /* the arena is zeroed: it is static and never reused */
		}
		resolve_real();
	}
	void *p = real_calloc(n, size);
	if (p)
		record(MT_ALLOC, p, n * size, NULL);
	return p;
}

EXPORT void *realloc(void *old, size_t size)
{
	if (!real_realloc)
		resolve_real();
	if (in_boot(old)) {
		void *p = malloc(size);
		if (p)
			memcpy(p, old, size < sizeof boot_arena ? size : sizeof boot_arena);
		return p;
	}
	void *p = real_realloc(old, size);
	if (p || !size)
		record(old ? MT_REALLOC : MT_ALLOC, p, p ? size : 0, old);
	return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!real_reallocarray)
		resolve_real();
	void *p = real_reallocarray(old, n, size);
	if (p || !total)
		record(old ? MT_REALLOC : MT_ALLOC, p, p ? total : 0, old);
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!real_posix_memalign)
		resolve_real();
	int r = real_posix_memalign(out, align, size);
	if (r == 0)
		record(MT_ALLOC, *out, size, NULL);
	return r;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!real_aligned_alloc)
		resolve_real();
	void *p = real_aligned_alloc(align, size);
	if (p)
		record(MT_ALLOC, p, size, NULL);
	return p;
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (!real_memalign)
		resolve_real();
	void *p = real_memalign(align, size);
	if (p)
		record(MT_ALLOC, p, size, NULL);
	return p;
}

EXPORT void *valloc(size_t size)
{
	if (!real_valloc)
		resolve_real();
	void *p = real_valloc(size);
	if (p)
		record(MT_ALLOC, p, size, NULL);
	return p;
}

EXPORT void *pvalloc(size_t size)
{
	if (!real_pvalloc)
		resolve_real();
	void *p = real_pvalloc(size);
	if (p)
		record(MT_ALLOC, p, (size + 4095) & ~(size_t)4095, NULL);
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!real_mmap)
		resolve_real();
	void *p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && !busy)
		record(MT_MMAP, p, len, NULL);
	return p;
}

EXPORT int munmap(void *addr, size_t len)
{
	if (!real_munmap)
		resolve_real();
	int r = real_munmap(addr, len);
	if (r == 0 && !busy)
		record(MT_MUNMAP, addr, len, NULL);
	return r;
}
