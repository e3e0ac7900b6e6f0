/*
 * timeline.c - syscalls on the Chrome trace of report --timeline and
 * export --format chrome (timeline.h): the slowest calls of each syscall
 * that the recording kept (record --syscalls=slowest:N), each a slice on
 * its thread's track, on the CPU samples' clock. The other calls are in
 * the recording as counts and percentiles only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/output.h"
#include "cprof/timeline.h"
#include "sys-internal.h"

static uint64_t sys_first_ns(const struct cprof_data *d)
{
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < d->sys_slow.n; i++)
		if (d->sys_slow.v[i].start < first)
			first = d->sys_slow.v[i].start;
	return first;
}

static void sys_events(struct timeline *t, const struct cprof_data *d)
{
	for (size_t i = 0; i < d->sys_slow.n; i++) {
		const struct cprof_sys_slow *s = &d->sys_slow.v[i];
		const char *name = "syscall";
		for (size_t k = 0; k < d->sys_stats.n; k++)
			if (d->sys_stats.v[k].nr == s->nr) {
				name = cprof_str(d, d->sys_stats.v[k].name);
				break;
			}
		FILE *out = timeline_event(t);
		fputs("{\"name\":", out);
		json_string(out, name);
		fprintf(out, ",\"cat\":\"syscall\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u", s->pid, s->tid);
		timeline_ts(t, "ts", s->start);
		timeline_dur(t, s->dur);
		fprintf(out, ",\"args\":{\"ret\":%" PRId64, s->ret);
		if (s->ret < 0 && s->ret >= -4095) {
			const char *e = strerrorname_np((int)-s->ret);
			if (e)
				fprintf(out, ",\"errno\":\"%s\"", e);
		}
		if (s->stack != SYS_NO_STACK && cprof_stack_len(d, s->stack)) {
			fputs(",\"from\":", out);
			json_string(out, cprof_str(d, d->frames.v[cprof_stack_frames(d, s->stack)[0]].func));
		}
		fputs("}}", out);
	}
}

const struct timeline_track syscalls_timeline = {
	.first_ns = sys_first_ns,
	.events = sys_events,
};
