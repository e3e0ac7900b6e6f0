/*
 * profile.h - a recording aggregated for reading: samples filtered (thread,
 * process name, binary, event), grouped by stack, and frames grouped into
 * functions (name + binary), with self and total weights.
 *
 * report, diff and flamegraph all read recordings through this, so every
 * view counts the same way. A profile borrows its struct cprof_data, which
 * must outlive it.
 */
#ifndef CPROF_PROFILE_H
#define CPROF_PROFILE_H

#include "cprof/data.h"

struct profile_filter {
	const char *comm;  /* thread or process name, NULL = all */
	int64_t tid;       /* -1 = all */
	int64_t pid;       /* -1 = all */
	const char *dso;   /* keep samples whose stack touches this binary (basename match), NULL = all */
	int event;         /* event index, -1 = the first event */
};
#define PROFILE_FILTER_INIT { NULL, -1, -1, NULL, -1 }

/* A function: all frames with the same name in the same binary. */
struct profile_func {
	uint32_t name, dso;       /* string offsets into the data */
	uint32_t file, line;      /* source location of the first frame seen */
	uint32_t flags;           /* FRF_* of the first frame seen */
	uint64_t self, total;     /* weight where it is the leaf / anywhere on the stack */
	uint64_t self_samples, total_samples;
};

/* One distinct stack after filtering, with what landed on it. */
struct profile_stack {
	uint32_t stack;           /* index into data stacks */
	uint64_t weight, samples;
};

/* Samples per thread, after filtering. */
struct profile_thread {
	uint32_t pid, tid, comm;  /* comm: string offset, "" if unknown */
	uint64_t weight, samples;
};

struct profile {
	const struct cprof_data *d;
	int event;                /* the event that was kept */
	uint64_t total_weight, total_samples, truncated_samples;
	uint64_t first_time, last_time;
	VEC(struct profile_func) funcs;
	uint32_t *frame_func;     /* frame index -> func index */
	VEC(struct profile_stack) stacks;
	VEC(struct profile_thread) threads; /* heaviest first */
	struct hashidx func_idx;
};

int profile_build(struct profile *p, const struct cprof_data *d, const struct profile_filter *f,
		  struct cprof_err *err) CPROF_WUR;
void profile_release(struct profile *p);

/* Samples a sample stands for: 1 for a real sample, its count for folded input. */
uint64_t profile_sample_count(const struct cprof_data *d, const struct cprof_sample *s);
/* Event index by name, or -1. */
int profile_find_event(const struct cprof_data *d, const char *name);
/* Display name of a frame's function, with "_[k]"/"_[i]" suffixes as folded stacks use them. */
void profile_frame_label(const struct cprof_data *d, const struct cprof_frame *f, struct sbuf *out);

#endif
