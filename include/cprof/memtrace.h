/*
 * memtrace.h - what libcprof-mem.so (preloaded into the workload by `cprof
 * record --mem`) shares with cprof: one memory region per traced process
 * image, in which the shim keeps its running sums, and the message that
 * hands that region to cprof.
 *
 * Why a region of sums and not a stream of events: a malloc-heavy program
 * makes tens of millions of calls a second. Streaming 32 bytes per call to
 * files and replaying them afterwards cost more than everything else
 * together (see the commit that introduced this design for the profile).
 * So the shim aggregates where the calls happen: per thread, per allocation
 * stack, counts and bytes; a live-block map keyed by pointer, private to
 * the workload, tells a free its block's size and stack. Nothing grows with
 * time, only with the number of distinct stacks, threads and live blocks.
 *
 * The region is a memfd: cprof receives it over a socket inherited by the
 * whole process tree (SCM_RIGHTS), so it outlives the process (a process
 * killed by a signal keeps its sums up to its death), needs no directory
 * the workload can write to (a workload that drops privileges is still
 * traced), and uses no disk. When cprof's end of the socket closes, the
 * shim stops tracing.
 *
 * Exact peak: a heap event that could make a new peak takes one short
 * global lock in which the heap total, the peak and a peak epoch are
 * updated; that lock order is the order of events. Events that cannot
 * make one are counted by their thread alone (its pending sums below),
 * within an allowance that the lock hands out: while the heap total plus
 * every thread's allowance stays at or under the peak, no order of them
 * can exceed it. A thread past its allowance takes the lock; when the
 * room left is too small to hand out, the lock's holder waits for every
 * thread to leave its unlocked step, adds all pending sums to the total
 * and orders every event under the lock again, until the heap is well
 * below the peak (shim.c, "the heap below its peak"). What was live at
 * the peak is kept without a replay:
 * each per-thread site entry holds its live count and bytes and, tagged
 * with the epoch it was last touched in, the net change since that epoch's
 * peak (d_count, d_bytes). At the end, for the final epoch E,
 *   live at the peak = sum over threads (live - (tag == E ? d : 0)).
 *
 * The region is written by the workload and read by cprof on the same
 * machine with the same build: native-endian, versioned by its magic.
 * cprof checks every offset against the region's size before using it,
 * and maps only a memfd sealed against shrinking (F_SEAL_SHRINK), so a
 * workload cannot pull the pages from under its reads.
 */
#ifndef CPROF_MEMTRACE_H
#define CPROF_MEMTRACE_H

#include <stdbool.h>
#include <stdint.h>

#define MEMTRACE_MAGIC "CPMEMRG3"
#define MEMTRACE_ENV "CPROF_MEM"      /* "FD INODE MODE SAMPLE_BYTES SEED" */
#define MEMTRACE_MAX_DEPTH 64
#define MEMTRACE_MAX_STACKS (1u << 20) /* distinct allocation stacks per process */
#define MEMTRACE_STACK_CHUNK 4096      /* stack ids per chunk of the stack index */
#define MEMTRACE_REGION_SIZE (1ull << 30) /* address space; memory is used as touched */
#define MEMTRACE_CURVE_CAP 2048
#define MEMTRACE_SITE_CHUNK 64         /* entries per chunk of a thread's site table */
#define MEMTRACE_HIST 48               /* == MP_HIST_BUCKETS */

enum memtrace_mode { MT_MODE_EXACT = 0, MT_MODE_SAMPLE = 1 };
enum memtrace_kind { MT_HEAP = 0, MT_MMAP = 1 }; /* == MEMK_* */

/* Sent once per traced process image over the inherited socket, with the
 * region's memfd attached (SCM_RIGHTS). */
struct memtrace_hello {
	char magic[8];
	uint32_t pid, ppid;
	uint64_t start_ns;
	uint64_t size;                /* of the region */
};

struct memtrace_point {
	uint64_t time, bytes;         /* highest heap over a run of events, and when the run ended */
};

/* Updated under lock by the traced threads, in this order per event. */
struct memtrace_events {
	uint32_t lock;
	uint32_t curve_n;
	uint64_t seq;                 /* events */
	uint64_t heap, peak, epoch, peak_time;
	uint64_t mmap, mmap_peak;
	uint64_t win_max, curve_mask;
	uint64_t locked;              /* exact mode: events ordered one by one under the lock */
} __attribute__((aligned(64)));

struct memtrace_header {
	char magic[8];
	uint32_t mode;                /* MT_MODE_* */
	uint32_t pid, ppid;
	uint32_t nstacks;             /* stack ids 1 .. nstacks-1 are valid; 0 is the empty stack */
	uint64_t sample_bytes;        /* sample mode: mean bytes between samples */
	uint64_t start_ns, end_ns;    /* CLOCK_MONOTONIC; end_ns 0 until exit handlers ran */
	uint64_t size;                /* of the region */
	uint64_t used;                /* bump allocator: bytes handed out */
	uint64_t lost;                /* events not recorded: the region was full */
	uint32_t threads;             /* offset of the first thread block, 0 = none */
	uint32_t stack_dir[MEMTRACE_MAX_STACKS / MEMTRACE_STACK_CHUNK]; /* offsets of u32[CHUNK] */
	struct memtrace_events ev;
	struct memtrace_point curve[MEMTRACE_CURVE_CAP];
};

struct memtrace_stack {
	uint64_t time;                /* when first seen: the mappings were valid then */
	uint32_t n, pad;
	uint64_t ips[];               /* return addresses, innermost first */
};

struct memtrace_thread {
	uint32_t next;                /* offset of the next thread block, 0 at the end */
	uint32_t tid;
	uint32_t sites;               /* offset of its newest chunk of site entries */
	uint32_t pad;
	uint64_t unmatched_frees;     /* frees of blocks it never saw allocated */
	uint64_t seen_allocs, seen_bytes; /* sample mode: every allocation it made (exact mode: 0, the sites have them) */
	uint64_t hist[MEMTRACE_HIST]; /* exact mode: allocations by size bucket */
	double whist[MEMTRACE_HIST];  /* sample mode: estimated allocations by size bucket */
	/* Exact mode: heap bytes and events this thread counted without the
	 * event lock, not yet in the totals (cprof adds what a process left
	 * pending when it died). */
	int64_t pend_heap;
	uint64_t pend_events;
};

/* One thread's sums for one allocation site (stack id * 2 + kind). */
struct memtrace_site {
	uint32_t site;
	uint32_t pad;
	uint64_t allocs, bytes, max_size;  /* sample mode: of the sampled allocations */
	union {
		struct {
			uint64_t temp_allocs, temp_bytes, temp_max_size;
			int64_t live_count, live_bytes;  /* this thread's allocations minus its frees */
			uint64_t tag;                    /* epoch of d_* */
			int64_t d_count, d_bytes;        /* net change since that epoch's peak */
		} x;
		struct {  /* estimates: each sample weighs 1/p, p = 1 - exp(-size/R) */
			double count, bytes, var_count, var_bytes;
			double live_count, live_bytes, live_var_count, live_var_bytes;
		} s;
	};
};

/* The shim's bookkeeping of a site's live blocks (under the event lock
 * for the epoch tag): count blocks of bytes (negative: freed) made live
 * in epoch tag; in_d: after that epoch's peak (the event did not make
 * it), so they are undone to find what was live at the peak (the rule at
 * the top). Here so that whoever writes regions keeps the same rule. */
static inline void memtrace_add_live(struct memtrace_site *s, int64_t count, int64_t bytes, uint64_t tag, bool in_d)
{
	s->x.live_count += count;
	s->x.live_bytes += bytes;
	if (s->x.tag != tag) {
		s->x.tag = tag;
		s->x.d_count = s->x.d_bytes = 0;
	}
	if (in_d) {
		s->x.d_count += count;
		s->x.d_bytes += bytes;
	}
}

/* An allocation of size bytes at site s in epoch tag; peak: it made the peak. */
static inline void memtrace_count_alloc(struct memtrace_site *s, uint64_t size, uint64_t tag, bool peak)
{
	s->allocs++;
	s->bytes += size;
	if (size > s->max_size)
		s->max_size = size;
	memtrace_add_live(s, 1, (int64_t)size, tag, !peak);
}

struct memtrace_site_chunk {
	uint32_t next;                /* offset of the previous (older) chunk, 0 at the end */
	uint32_t n;                   /* entries in use */
	uint64_t pad;
	struct memtrace_site e[MEMTRACE_SITE_CHUNK];
};

/* ---- cprof's side (memload.c) ---- */
#include "cprof/base.h"
struct cprof_data;

/* A region received from a traced process, mapped read-only. */
struct mem_region {
	const uint8_t *map;
	size_t len;
	uint32_t pid, ppid;
	uint64_t start_ns;
	uint32_t nstacks;             /* validated copy of the header's */
};

/* Stacks of a region (validated): ips of id i are ips[off[i] .. off[i] + n[i]). */
struct mem_stacks {
	VEC(uint64_t) ips;
	VEC(uint32_t) off, n;
	VEC(uint64_t) time;
};

/* 0 if map[0..len) holds a region of this build's format (magic and
 * version, a whole header, no shorter than the header says); else -EINVAL
 * and err says what is wrong with the region called name. */
int memtrace_check(const void *map, size_t len, const char *name, struct cprof_err *err) CPROF_WUR;

/* The header's count of stacks if a region can hold that many; else 1
 * (only the empty stack) and one more *bad. For r->nstacks. */
uint32_t memtrace_nstacks(const struct mem_region *r, uint64_t *bad);

/* Copy the stacks out of r; a damaged index ends the table early and is
 * reported through *bad (bytes or entries skipped). */
void memtrace_stacks(const struct mem_region *r, struct mem_stacks *s, uint64_t *bad);
void mem_stacks_release(struct mem_stacks *s);

struct memtrace_totals {
	uint64_t damaged;             /* records that did not hold together: skipped */
	uint64_t seen_allocs, seen_bytes; /* every heap allocation, also in sample mode */
	uint64_t locked_events;       /* exact mode: events ordered one by one (memtrace_events.locked) */
};

/* Sum r into d's memory sections and add to *tot. stack_map[i] is the
 * cprof stack index of r's stack id i (resolved by the finishing pass). */
void memtrace_analyze(const struct mem_region *r, const uint32_t *stack_map, uint32_t nstack_map,
		      struct cprof_data *d, struct memtrace_totals *tot);

#endif
