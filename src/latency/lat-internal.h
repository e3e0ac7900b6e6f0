/*
 * lat-internal.h - what the files of src/latency/ share: the probes'
 * records, parsed (source.c opens and drains the uprobes), and the pairing
 * of entries with returns per thread (pair.c), which the unit test drives
 * with records of its own.
 */
#ifndef CPROF_LAT_INTERNAL_H
#define CPROF_LAT_INTERNAL_H

#include "cprof/base.h"
#include "cprof/hist.h"
#include "cprof/percentile.h"
#include "cprof/record.h"
#include "cprof/u64map.h"

struct cprof_data;
struct resolver;

/* One probe hit: a function's entry, or its return. sp: the stack pointer
 * there; at the entry it points at the return address, so the return of
 * the same call sees sp + 8 (the address popped). */
struct lat_ev {
	uint64_t time, seq;   /* seq: order of reading, to keep equal times stable */
	uint64_t sp;
	uint32_t pid, tid, func;
	bool ret;
	uint32_t nips;        /* a return with -g: ips[ip_off ..] of the batch */
	size_t ip_off;
};

/* A call in progress in one thread. */
struct lat_frame {
	uint64_t sp, start;
	uint32_t func;
};

struct lat_thread {
	uint32_t pid, tid;
	VEC(struct lat_frame) stack; /* innermost last */
};

/* One of the slowest calls of a function, with the stack it returned to. */
struct lat_call {
	uint32_t pid, tid, handle;
	uint64_t start, dur;
	VEC(uint64_t) ips;
};

struct lat_func {
	uint64_t calls, returned, unreturned, slow, total;
	uint32_t depth;
	VEC(uint64_t) durs;          /* every duration, up to cap */
	struct hist hist;            /* every duration */
	bool approx;                 /* more than cap: percentiles from hist */
	VEC(struct lat_call) slowest;
	uint64_t floor; /* the fastest of slowest, once full */
};

struct lat_trace {
	uint32_t nfuncs;
	struct lat_func *funcs;
	unsigned keep;              /* slowest calls kept per function */
	uint64_t cap;               /* durations kept exactly per function (hist_exact_cap) */
	uint64_t threshold;         /* ns: a returned call above it is slow */
	VEC(struct lat_ev) batch;   /* read, not yet taken in: waits for order */
	VEC(uint64_t) batch_ips;
	uint64_t seq;
	VEC(struct lat_thread) threads;
	struct u64map thread_idx;   /* tid -> threads */
	struct stacksum sums;       /* time per (function, process, stack) */
	uint64_t unpaired;          /* returns without their entry (lost records) */
	uint64_t lost, malformed;
};

/* files.c: new paths, or NULL when not found */
char *lat_find_library(const char *lib); /* a name with a '/' is a path */
char *lat_find_program(const char *name);
/* Attached (-p/-t): LIB as process pid has it mapped (its name, or a
 * longer version of it: libc.so for libc.so.6), else as the loader would
 * find it; SYM (LIB NULL) in its executable, else the first file it maps
 * that defines it. A new path with *off, or NULL and a one-line err that
 * names spec. */
char *lat_find_in_process(const char *spec, const char *lib, const char *sym, int pid, uint64_t *off,
			  struct cprof_err *err);
const char *lat_tracefs_root(void);      /* NULL: no tracefs with uprobe_events */
/* Append line to tracefs's uprobe_events: 0, or -errno and a one-line err. */
int lat_write_probe(const char *root, const char *line, struct cprof_err *err);
/* Remove the probes of cprof processes that are gone: how many. */
size_t lat_remove_stale(const char *root);

/* pair.c */
void lat_trace_init(struct lat_trace *t, uint32_t nfuncs, unsigned keep, uint64_t threshold);
/* Add e (and its stack, e->nips addresses at ips) to the batch. */
void lat_trace_add(struct lat_trace *t, const struct lat_ev *e, const uint64_t *ips);
/* f's percentiles into out: exact, or from its histogram (returns true)
 * when it had more durations than the cap. */
bool lat_func_summary(struct lat_func *f, uint64_t out[PCT_N]);
/* Take in the batch's records older than horizon (all: UINT64_MAX), in time order. */
void lat_trace_take(struct lat_trace *t, uint64_t horizon);
/* The recording ended: the calls still open never returned. */
void lat_trace_end(struct lat_trace *t);
void lat_trace_stacks(struct lat_trace *t, struct resolver *res);
/* The time by stack into d (after resolver_run). */
void lat_trace_store_stacks(const struct lat_trace *t, struct resolver *res, struct cprof_data *d);
void lat_trace_release(struct lat_trace *t);

#endif
