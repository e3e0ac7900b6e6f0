/*
 * memtrace.h - the stream that libcprof-mem.so (preloaded into the workload
 * by `cprof record --mem`) writes, one file per process, and the analysis
 * that turns it into the memory sections of a recording.
 *
 * The stream is private to one recording: it is written and read on the
 * same machine by the same build, so it is native-endian and unversioned
 * beyond its magic. A file is a header, then records in any order: stacks
 * (return addresses, written once per unique stack) and fixed-size events.
 * Each thread appends whole buffers with O_APPEND, so records never
 * interleave; events of one thread are in time order, threads are not.
 */
#ifndef CPROF_MEMTRACE_H
#define CPROF_MEMTRACE_H

#include <stdint.h>
#include "cprof/base.h"

#define MEMTRACE_MAGIC "CPMEMTR1"
#define MEMTRACE_MAX_DEPTH 64
#define MEMTRACE_ENV_DIR "CPROF_MEM_DIR"

struct memtrace_header {
	char magic[8];
	uint32_t pid, ppid;
	uint64_t start_ns; /* CLOCK_MONOTONIC when tracking began in this process */
};

enum memtrace_kind {
	MT_STACK = 1,   /* struct memtrace_stack + n u64 return addresses */
	MT_ALLOC,       /* malloc family: ptr, size */
	MT_FREE,        /* free: ptr */
	MT_REALLOC,     /* the new block of a realloc: ptr, size */
	MT_REALLOC_FREE,/* the old block of a realloc: ptr (follows MT_REALLOC) */
	MT_MMAP,        /* anonymous mmap: ptr, size */
	MT_MUNMAP,      /* munmap: ptr, size */
	MT_LOST,        /* size = events the shim could not record */
};

/* Every record starts with a u32 holding its kind in the top 8 bits. */
#define MT_KIND(word) ((word) >> 24)
#define MT_LOW(word) ((word) & 0xffffffu)
#define MT_WORD(kind, low) (((uint32_t)(kind) << 24) | ((low) & 0xffffffu))
#define MEMTRACE_MAX_STACKS 0xffffffu

struct memtrace_stack {
	uint32_t kind_id; /* MT_WORD(MT_STACK, id) */
	uint32_t n;
	/* uint64_t ips[n]: return addresses, innermost first */
};

struct memtrace_event { /* 32 bytes */
	uint32_t kind_stack; /* MT_WORD(kind, id of an MT_STACK record; 0 = none) */
	uint32_t tid;
	uint64_t time;       /* CLOCK_MONOTONIC ns */
	uint64_t ptr, size;
};

/* ---- cprof's side (memload.c) ---- */
struct cprof_data;

struct mem_stack_ref {
	uint32_t off, n;     /* ips[off .. off + n) */
	uint64_t first_use;  /* time of the first event with it: its maps were valid then */
};

/* n events of thread tid at ptr (32 bytes each), in time order. Runs of
 * one thread are in file order, which is its time order. */
struct memtrace_run {
	const uint8_t *ptr;
	uint32_t tid, n;
};

/* One traced process image (a process, or a new image after exec). */
struct mem_proc_trace {
	struct memtrace_header h;
	VEC(uint64_t) ips;
	VEC(struct mem_stack_ref) stacks;   /* index = stack id; [0] is the empty stack */
	const uint8_t *map;                 /* the file, mapped; events are read in place */
	size_t map_len;
	VEC(struct memtrace_run) runs;      /* consecutive events of one thread */
	uint64_t nevents, first_time, last_time;
	uint64_t lost;                      /* MT_LOST totals */
	uint64_t malformed;                 /* bytes of a cut-off last record */
};

struct mem_traces {
	VEC(struct mem_proc_trace) procs;
};

/* Read every mem.PID.N file in dir. Unreadable or foreign files fail with
 * err naming the file; a last record cut short (the process was killed)
 * is counted in malformed, not an error. */
int memtrace_load_dir(const char *dir, struct mem_traces *t, struct cprof_err *err) CPROF_WUR;
void memtrace_release(struct mem_traces *t);

/* Sum t into d's memory sections. stack_map[i] is the cprof stack index
 * of t's stack id i (resolved by the finishing pass). */
void memtrace_analyze(const struct mem_proc_trace *t, const uint32_t *stack_map, struct cprof_data *d);

#endif
