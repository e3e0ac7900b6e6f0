/*
 * timeline.c - a recording as Chrome trace event JSON, the format Perfetto
 * and chrome://tracing open; `cprof report --timeline` and `cprof export
 * --format chrome` both write it (timeline.h). One process per recorded
 * pid and its CPU threads, samples as instant events named by their leaf
 * function, whose "sf" points at their whole stack in the "stackFrames"
 * table; the same samples are also listed in "samples", the trace format's
 * own sample table. The data sources' tracks (GPU streams, ...) come from
 * their rows, between the samples and the tables.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/export.h"
#include "cprof/output.h"
#include "cprof/profile.h"
#include "cprof/timeline.h"
#include "cprof/u64map.h"

struct timeline {
	FILE *out;
	uint64_t t0;
	bool first;
};

FILE *timeline_event(struct timeline *t)
{
	fputs(t->first ? "\n" : ",\n", t->out);
	t->first = false;
	return t->out;
}

void timeline_ts(struct timeline *t, const char *key, uint64_t ns)
{
	uint64_t rel = ns > t->t0 ? ns - t->t0 : 0;
	fprintf(t->out, ",\"%s\":%llu.%03llu", key, (unsigned long long)(rel / 1000), (unsigned long long)(rel % 1000));
}

void timeline_dur(struct timeline *t, uint64_t dur_ns)
{
	timeline_ts(t, "dur", t->t0 + dur_ns);
}

void timeline_thread_name(struct timeline *t, uint32_t pid, uint32_t tid, const char *name)
{
	fprintf(timeline_event(t), "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
		pid, tid);
	json_string(t->out, name);
	fputs("}}", t->out);
}

/*
 * stackFrames is a tree: a node is (parent node, frame), named by the frame,
 * so each stack is the id of its leaf node. Ids are node index + 1.
 */
struct sf_tree {
	VEC(uint32_t) frame, parent; /* per node */
	struct u64map idx;           /* parent << 32 | frame -> node */
};

static uint32_t sf_of_stack(struct sf_tree *t, const struct cprof_data *d, uint32_t stack)
{
	uint32_t n = cprof_stack_len(d, stack), node = 0;
	const uint32_t *fr = cprof_stack_frames(d, stack);
	for (uint32_t k = n; k-- > 0;) {
		uint64_t key = (uint64_t)node << 32 | fr[k];
		int64_t v = u64map_get(&t->idx, key);
		if (v < 0) {
			vec_push(&t->frame, fr[k]);
			vec_push(&t->parent, node);
			v = (int64_t)t->frame.n;
			u64map_put(&t->idx, key, (uint32_t)v);
		}
		node = (uint32_t)v;
	}
	return node; /* 0: an empty stack */
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int timeline_write(FILE *out, const struct cprof_data *d, const struct timeline_track *const *tracks,
		   struct cprof_err *err)
{
	const char *source = cprof_meta_get(d, "source");
	if (source && strcmp(source, "folded") == 0)
		return err_set(err, ENODATA, "folded stacks carry no time, and a timeline needs it: "
					     "use a cprof or perf recording");
	struct timeline t = { .out = out, .t0 = UINT64_MAX, .first = true };
	for (size_t i = 0; i < d->samples.n; i++)
		if (d->samples.v[i].time < t.t0)
			t.t0 = d->samples.v[i].time;
	bool tracked = false; /* a track has something to show */
	for (size_t k = 0; tracks && tracks[k]; k++) {
		uint64_t first = tracks[k]->first_ns(d);
		tracked |= first != UINT64_MAX;
		if (first < t.t0)
			t.t0 = first;
	}
	if (!d->samples.n && !tracked)
		return err_set(err, ENODATA, "nothing to put on a timeline: no samples and nothing from a data source");
	if (t.t0 == UINT64_MAX)
		t.t0 = 0;

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"cprof\",\"command\":", out);
	const char *cmd = cprof_meta_get(d, "command");
	json_string(out, cmd ? cmd : "");
	fputs("},\"traceEvents\":[", out);

	/* Names first: processes and CPU threads, then the tracks' threads. */
	for (size_t i = 0; i < d->threads.n; i++) {
		const struct cprof_thread *th = &d->threads.v[i];
		if (th->pid == th->tid) {
			fprintf(timeline_event(&t),
				"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
				th->pid, th->tid);
			json_string(out, cprof_str(d, th->comm));
			fputs("}}", out);
		}
		timeline_thread_name(&t, th->pid, th->tid, *cprof_str(d, th->comm) ? cprof_str(d, th->comm) : "thread");
	}
	for (size_t k = 0; tracks && tracks[k]; k++)
		if (tracks[k]->names)
			tracks[k]->names(&t, d);

	/* CPU samples: instants named by the leaf function, with their stacks. */
	struct sbuf sb = SBUF_INIT;
	struct sf_tree tree = { 0 };
	uint32_t *sf = xmalloc((d->samples.n ? d->samples.n : 1) * sizeof *sf);
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *x = &d->samples.v[i];
		sbuf_reset(&sb);
		if (cprof_stack_len(d, x->stack))
			profile_frame_label(d, &d->frames.v[cprof_stack_frames(d, x->stack)[0]], &sb);
		else
			sbuf_adds(&sb, "[unknown]");
		sf[i] = sf_of_stack(&tree, d, x->stack);
		fputs("{\"name\":", timeline_event(&t));
		json_string(out, sb.buf);
		fprintf(out, ",\"cat\":\"cpu\",\"ph\":\"i\",\"s\":\"t\",\"pid\":%u,\"tid\":%u", x->pid, x->tid);
		timeline_ts(&t, "ts", x->time);
		if (sf[i])
			fprintf(out, ",\"sf\":\"%u\"", sf[i]);
		fputs("}", out);
	}
	for (size_t k = 0; tracks && tracks[k]; k++)
		tracks[k]->events(&t, d);
	fputs("\n],\n\"stackFrames\":{", out);
	for (size_t i = 0; i < tree.frame.n; i++) {
		const struct cprof_frame *f = &d->frames.v[tree.frame.v[i]];
		sbuf_reset(&sb);
		profile_frame_label(d, f, &sb);
		fprintf(out, "%s\n\"%zu\":{\"name\":", i ? "," : "", i + 1);
		json_string(out, sb.buf);
		fputs(",\"category\":", out);
		json_string(out, *cprof_str(d, f->dso) ? base_name(cprof_str(d, f->dso)) : "[unknown]");
		if (tree.parent.v[i])
			fprintf(out, ",\"parent\":\"%u\"", tree.parent.v[i]);
		fputc('}', out);
	}
	fputs("\n},\n\"samples\":[", out);
	bool first = true;
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *x = &d->samples.v[i];
		if (!sf[i])
			continue;
		fprintf(out, "%s\n{\"tid\":%u,\"pid\":%u,\"name\":", first ? "" : ",", x->tid, x->pid);
		first = false;
		json_string(out, x->event < d->events.n ? cprof_str(d, d->events.v[x->event].name) : "sample");
		timeline_ts(&t, "ts", x->time);
		fprintf(out, ",\"sf\":\"%u\",\"weight\":%" PRIu64 "}", sf[i], x->period);
	}
	fputs("\n]}\n", out);
	sbuf_release(&sb);
	free(sf);
	vec_release(&tree.frame);
	vec_release(&tree.parent);
	u64map_release(&tree.idx);
	return 0;
}
