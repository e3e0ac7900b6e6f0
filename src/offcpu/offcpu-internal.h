/*
 * offcpu-internal.h - what the files of src/offcpu/ share: the pairing of
 * switch records into intervals off a CPU (track.c), which source.c feeds
 * from the rings, and the summary the views draw (summary.c), which reads
 * the data file only.
 */
#ifndef CPROF_OFFCPU_INTERNAL_H
#define CPROF_OFFCPU_INTERNAL_H

#include "cprof/latclass.h"
#include "cprof/percentile.h"
#include "cprof/record.h"
#include "cprof/u64map.h"

struct cprof_data;
struct resolver;

#define OC_NONE UINT32_MAX

enum oc_kind { OC_SAMPLE, OC_OUT, OC_IN };

/* One record of a ring, parsed. */
struct oc_ev {
	uint64_t time, seq;   /* seq: order of reading, to keep equal times stable */
	uint32_t pid, tid;
	uint32_t stack;       /* OC_SAMPLE: its interned stack, or OC_NONE */
	uint8_t kind;         /* enum oc_kind */
	bool preempt;         /* OC_OUT: still runnable */
};

/* A thread: off a CPU since out_time, or on one. */
struct oc_thread {
	uint32_t pid, tid;
	bool out, preempt;
	uint64_t out_time;
	uint32_t stack;       /* of the current interval */
	uint32_t pending;     /* the stack of the switch sample not yet matched to its switch-out */
};

/* A distinct user stack of one process (ips in the arena). */
struct oc_stack {
	uint32_t pid, n;
	size_t off;
	uint64_t time, hash;  /* time: first seen, the mappings it is resolved against */
	uint32_t handle;      /* the resolver's */
};

struct oc_wait {
	uint64_t start, dur;
	uint32_t pid, tid, stack, flags;
};

struct oc_trace {
	bool callchain;
	VEC(struct oc_ev) batch;         /* read, not yet taken in: waits for order */
	uint64_t seq;
	VEC(struct oc_thread) threads;
	struct u64map thread_idx;        /* tid -> threads */
	VEC(struct oc_stack) stacks;
	VEC(uint64_t) stack_ips;
	struct u64map stack_idx;         /* hash (probed) -> stacks */
	VEC(struct oc_wait) waits;
	uint64_t lost;                   /* records the kernel could not write (rings full) */
	uint64_t lost_samples;
	uint64_t malformed;
	uint64_t double_out;             /* a switch-out while out: the switch-in between was lost */
	uint64_t unfinished;             /* out when the recording ended (exited threads, mostly) */
	uint64_t unwound_missing;        /* --call-graph dwarf: waits no unwound sample matched */
};

void oc_trace_init(struct oc_trace *t, bool callchain);
/* Parse one ring record (sample_type TID | TIME [| CALLCHAIN], sample_id_all) into the batch. */
void oc_trace_record(struct oc_trace *t, const void *rec, size_t len);
/* Take in the batch's records older than horizon (all: UINT64_MAX), in time order. */
void oc_trace_take(struct oc_trace *t, uint64_t horizon);
/* The recording ended: threads still off a CPU are counted, not measured. */
void oc_trace_end(struct oc_trace *t);
/* How long before its switch-out a switch sample may be taken: the kernel
 * writes the two one after the other, microseconds apart at most. */
#define OC_SAMPLE_SLACK_NS 1000000ULL
/* --call-graph dwarf: the switch samples went to the unwinding worker, and
 * st holds them unwound (its samples, each a thread's user stack as it left
 * the CPU). After oc_trace_end, give each wait the stack of its thread's
 * last sample before it began, unless that came before the thread's
 * previous wait ended (a lost sample). */
void oc_trace_unwound(struct oc_trace *t, const struct raw_store *st);
void oc_trace_stacks(struct oc_trace *t, struct resolver *res);
/* The intervals into d, their stacks stored through res. */
void oc_trace_store(struct oc_trace *t, struct resolver *res, struct cprof_data *d);
void oc_trace_release(struct oc_trace *t);

/* summary.c: what report and flamegraph --offcpu draw. */
/* Sums over a set of intervals. */
struct oc_sum {
	uint64_t ns, n;
};

struct oc_func {
	uint32_t name;   /* string offset */
	uint32_t last;   /* the last stack counted, so a recursive one counts once */
	struct oc_sum blocked;
};

struct oc_thr {
	uint32_t pid, tid;
	struct oc_sum blocked, preempted;
	VEC(uint64_t) durs;
	uint64_t lat[PCT_N];
};

struct oc_summary {
	struct oc_sum blocked, preempted;
	uint64_t blat[PCT_N], plat[PCT_N];
	size_t nstacks;                 /* d's stacks, and one more for none */
	struct oc_sum *by_stack, *pre_by_stack;
	size_t *stack_order;            /* stacks with blocked time, most first */
	size_t nstack_order;
	VEC(struct oc_func) funcs;      /* most blocked first */
	VEC(struct oc_thr) threads;     /* most blocked first */
	size_t *longest;                /* blocked intervals, longest first */
	size_t nlongest;
	/* Latency classes (latclass.h) of the intervals, exact from every one:
	 * blocked and preempted, and the blocked ones by stack. */
	uint64_t bclass[LC_N], pclass[LC_N];
	uint64_t (*stack_class)[LC_N];
};

/* Build s from d's intervals; release it with oc_summary_release. */
void oc_summary_build(struct oc_summary *s, const struct cprof_data *d, const struct latclasses *lc);
void oc_summary_release(struct oc_summary *s);

/* timeline.c: the waits on the Chrome trace. */
struct timeline_track;
extern const struct timeline_track offcpu_timeline;

#endif
