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

/* A list of thread or process ids (report --tid 1,2); n == 0 = all. */
struct profile_ids {
	const uint32_t *v;
	size_t n;
};

struct profile_filter {
	/* Thread names, comma-separated; each is a glob (worker-*) or a name,
	 * which also matches the names it begins (worker: worker-0, worker-1;
	 * the kernel keeps only 15 bytes of a name). NULL = all. */
	const char *comm;
	int64_t tid;       /* -1 = all */
	int64_t pid;       /* -1 = all */
	const char *dso;   /* keep samples whose stack touches this binary (basename match), NULL = all */
	int event;         /* event index, -1 = the first event */
	struct profile_ids tids, pids; /* --tid/--pid lists, with tid and pid */
};
#define PROFILE_FILTER_INIT { NULL, -1, -1, NULL, -1, { NULL, 0 }, { NULL, 0 } }

/* Whether a thread name passes f's comm list. */
bool profile_comm_matches(const char *comm, const char *list);
/* Whether f's thread filters (comm, tid, pid and their lists) leave any
 * thread of d; if not, -ENOENT and a message listing the threads d has,
 * so a misspelt name is one look away. */
int profile_filter_check(const struct cprof_data *d, const struct profile_filter *f, struct cprof_err *err) CPROF_WUR;
/* Parse "1,2,3" into ids (caller frees ret->v); -EINVAL on anything else. */
int profile_ids_parse(const char *s, struct profile_ids *ret) CPROF_WUR;

/* A function: all frames with the same name in the same binary. */
struct profile_func {
	uint32_t name, dso;       /* string offsets into the data */
	uint32_t file, line;      /* its hottest source line (see line_weight); "" / 0 if none known */
	uint32_t flags;           /* FRF_* of the first frame seen */
	uint64_t self, total;     /* weight where it is the leaf / anywhere on the stack */
	uint64_t self_samples, total_samples;
	/* The hottest line is the one with the most self weight; for a
	 * function without self weight, the one its total weight passes
	 * through most (the call site). line_weight is that line's weight. */
	uint64_t line_weight;
	bool line_by_total;
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
	/* Of the truncated samples, those cut by each limit (STACKF_CUT_*):
	 * the stack copy, the frame limit, the kernel's limit; the rest (files
	 * from before the causes were recorded) by none known. */
	uint64_t cut_copy, cut_frames, cut_kernel;
	uint64_t first_time, last_time;
	VEC(struct profile_func) funcs;
	uint32_t *frame_func;     /* frame index -> func index */
	VEC(struct profile_stack) stacks;
	VEC(struct profile_thread) threads; /* heaviest first */
	struct hashidx func_idx;
	/* Functions left out of the function tables (report --symbols,
	 * --symbol-filter); NULL = none. Their weight stays in every total. */
	uint8_t *func_hidden;
};

int profile_build(struct profile *p, const struct cprof_data *d, const struct profile_filter *f,
		  struct cprof_err *err) CPROF_WUR;
void profile_release(struct profile *p);
/* The views' one rule for empty input: a profile with no weight (no samples
 * of its event, or none left after filtering) is an error, so that a script
 * or a CI gate never takes an empty report for a measured one. Returns 0 or
 * -ENODATA with a message naming the input (name) and, where it knows, why. */
int profile_require_samples(const struct profile *p, const char *name, bool filtered, struct cprof_err *err) CPROF_WUR;

/*
 * Samples per source line, inline-aware: a line is (file, line, function,
 * binary) of a frame, so code inlined from a header is the inlined
 * function's line, wherever it was inlined. Self goes to the leaf frame's
 * line, total to every distinct line on the stack once. Frames without a
 * line count as one line "" / 0 per function.
 */
struct profile_line {
	uint32_t file, line, func, dso; /* strings, except line */
	uint32_t flags;                 /* FRF_* of the frame (inlined, kernel) */
	uint64_t self, total, self_samples, total_samples;
};
struct profile_lines {
	VEC(struct profile_line) v;
};
void profile_lines_build(struct profile_lines *pl, const struct profile *p);
void profile_lines_release(struct profile_lines *pl);
/* Line indexes sorted by self (total = false) or total weight, heaviest first; caller frees. */
uint32_t *profile_lines_sorted(const struct profile_lines *pl, bool total, size_t *ret_n);

/* Hide the functions whose name is not in the comma-separated list symbols
 * (NULL: no such condition) or does not contain substring (NULL: none). */
void profile_hide_funcs(struct profile *p, const char *symbols, const char *substring);

/* Cut every stack of d to its max innermost frames (report --max-stack):
 * what a recording with that limit would hold. In place. */
void profile_cap_stacks(struct cprof_data *d, uint32_t max);

/* Samples a sample stands for: 1 for a real sample, or more where a long
 * recording merged samples (cprof_data.sample_counts), its count for folded
 * input. s must point into d->samples. */
uint64_t profile_sample_count(const struct cprof_data *d, const struct cprof_sample *s);
/* Event index by name, or -1: the exact name, else the one event (only)
 * whose name is NAME with terms or modifiers (page-faults for
 * page-faults/period=1/). */
int profile_find_event(const struct cprof_data *d, const char *name);
/* Display name of a frame's function, with "_[k]"/"_[i]" suffixes as folded stacks use them. */
void profile_frame_label(const struct cprof_data *d, const struct cprof_frame *f, struct sbuf *out);

#endif
