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
	MT_ALLOC,       /* malloc family: ptr, size (aux: alignment, 0 if none) */
	MT_FREE,        /* free: ptr */
	MT_REALLOC,     /* realloc: aux = old ptr, ptr = new, size */
	MT_MMAP,        /* anonymous mmap: ptr, size */
	MT_MUNMAP,      /* munmap: ptr, size */
	MT_LOST,        /* size = events the shim could not record */
};

struct memtrace_stack {
	uint8_t kind; /* MT_STACK */
	uint8_t pad[3];
	uint32_t id;
	uint32_t n;
	uint32_t pad2;
	/* uint64_t ips[n]: return addresses, innermost first */
};

struct memtrace_event {
	uint8_t kind;
	uint8_t pad[3];
	uint32_t tid;
	uint32_t stack; /* id of an MT_STACK record; 0 = none */
	uint32_t pad2;
	uint64_t time;  /* CLOCK_MONOTONIC ns */
	uint64_t ptr, size, aux;
};

/* ---- cprof's side (memload.c) ---- */
struct cprof_data;

struct mem_stack_ref {
	uint32_t off, n;     /* ips[off .. off + n) */
	uint64_t first_use;  /* time of the first event with it: its maps were valid then */
};

/* One traced process image (a process, or a new image after exec). */
struct mem_proc_trace {
	struct memtrace_header h;
	VEC(uint64_t) ips;
	VEC(struct mem_stack_ref) stacks;   /* index = stack id; [0] is the empty stack */
	VEC(struct memtrace_event) events;  /* sorted by time once loaded */
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
