/*
 * timeline.c - off-CPU intervals on the Chrome trace of report --timeline
 * and export --format chrome (timeline.h): each wait a slice on its
 * thread's track, on the CPU samples' clock, named "blocked" or
 * "preempted", with the function it waited in when the stack is known.
 */
#include <stdint.h>

#include "cprof/output.h"
#include "cprof/u64map.h"
#include "cprof/timeline.h"
#include "offcpu-internal.h"

static uint64_t oc_first_ns(const struct cprof_data *d)
{
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < d->offcpu.n; i++)
		if (d->offcpu.v[i].start < first)
			first = d->offcpu.v[i].start;
	return first;
}

/* Threads that waited but never ran a sampled instruction have no name
 * from the CPU samples: they get one here. */
static void oc_names(struct timeline *t, const struct cprof_data *d)
{
	struct u64map seen = { 0 };
	for (size_t i = 0; i < d->threads.n; i++)
		u64map_put(&seen, d->threads.v[i].tid, 0);
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		if (u64map_get(&seen, w->tid) >= 0)
			continue;
		u64map_put(&seen, w->tid, 0);
		timeline_thread_name(t, w->pid, w->tid, "thread");
	}
	u64map_release(&seen);
}

static void oc_events(struct timeline *t, const struct cprof_data *d)
{
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		FILE *out = timeline_event(t);
		fprintf(out, "{\"name\":\"%s\",\"cat\":\"offcpu\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u",
			w->flags & OWF_PREEMPT ? "preempted" : "blocked", w->pid, w->tid);
		timeline_ts(t, "ts", w->start);
		timeline_dur(t, w->dur);
		if (w->stack != OFFCPU_NO_STACK && cprof_stack_len(d, w->stack)) {
			fputs(",\"args\":{\"in\":", out);
			json_string(out, cprof_str(d, d->frames.v[cprof_stack_frames(d, w->stack)[0]].func));
			fputc('}', out);
		}
		fputc('}', out);
	}
}

const struct timeline_track offcpu_timeline = {
	.first_ns = oc_first_ns,
	.names = oc_names,
	.events = oc_events,
};
