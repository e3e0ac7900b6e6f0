/*
 * timeline.h - the Chrome trace event JSON writer (output/timeline.c) of
 * `cprof report --timeline` and `cprof export --format chrome`, and the
 * tracks the data sources add to it. The writer owns the frame: the
 * processes and CPU threads named, the CPU samples with their stacks, the
 * "stackFrames" and "samples" tables. A source's track (its row's view,
 * source.h) names its own threads, then writes its own events, in the
 * order of the table; each event is one JSON object the track writes
 * after timeline_event().
 */
#ifndef CPROF_TIMELINE_H
#define CPROF_TIMELINE_H

#include <stdio.h>
#include "cprof/data.h"

struct timeline;

struct timeline_track {
	/* Its earliest time, or UINT64_MAX when it has nothing: the trace's
	 * times count from the earliest event of all. */
	uint64_t (*first_ns)(const struct cprof_data *d);
	/* Names of the threads it shows that the CPU samples do not (may be NULL). */
	void (*names)(struct timeline *t, const struct cprof_data *d);
	void (*events)(struct timeline *t, const struct cprof_data *d);
};

/* Start one more event: the separator is written; the caller writes one
 * JSON object to the stream returned. */
FILE *timeline_event(struct timeline *t);
/* ,"KEY":TIME with TIME in us from the trace's start (ns: an absolute time). */
void timeline_ts(struct timeline *t, const char *key, uint64_t ns);
/* ,"dur":DUR in us. */
void timeline_dur(struct timeline *t, uint64_t dur_ns);
/* A thread_name metadata event. */
void timeline_thread_name(struct timeline *t, uint32_t pid, uint32_t tid, const char *name);

/* Write d with the tracks given (NULL-terminated, may be NULL). Refuses
 * (-ENODATA) input without time (folded stacks), and input with nothing
 * to show. */
int timeline_write(FILE *out, const struct cprof_data *d, const struct timeline_track *const *tracks,
		   struct cprof_err *err) CPROF_WUR;

#endif
