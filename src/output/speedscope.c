/*
 * speedscope.c - a profile in speedscope's file format
 * (https://www.speedscope.app/file-format-schema.json): frames shared by
 * every profile, one sampled profile per thread with its samples in time
 * order, root first, weighted in the event's unit; GPU streams as evented
 * profiles (each kernel or copy opened and closed, never overlapping on
 * its stream); waits off a CPU as evented profiles per thread (each wait's
 * stack opened and closed around a last frame [blocked] or [preempted]);
 * allocation profiles in bytes for memory recordings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cprof/export.h"
#include "cprof/gpu-data.h"
#include "cprof/output.h"
#include "cprof/u64map.h"

struct ssframe {
	uint32_t name, file, line; /* string offsets (name: a label index when label); line unused (0) */
	bool label;
};

struct ss {
	const struct cprof_data *d;
	FILE *out;
	VEC(struct ssframe) frames;
	struct u64map idx;       /* salted hash of a frame -> index */
	uint32_t *of_frame;      /* data frame -> speedscope frame, UINT32_MAX until needed */
	VEC(char *) labels;      /* names of made-up frames, owned */
	bool first;
};

static uint32_t frame_index(struct ss *s, const struct ssframe *f)
{
	uint64_t h = hash_bytes(&f->name, 4, hash_bytes(&f->file, 4, hash_bytes(&f->line, 4, HASH_SEED)));
	h ^= f->label;
	for (uint64_t salt = 0;; salt++) {
		uint64_t key = h + salt * 0x9e3779b97f4a7c15ULL;
		int64_t v = u64map_get(&s->idx, key);
		if (v < 0) {
			vec_push(&s->frames, *f);
			u64map_put(&s->idx, key, (uint32_t)s->frames.n - 1);
			return (uint32_t)s->frames.n - 1;
		}
		const struct ssframe *g = &s->frames.v[v];
		if (g->name == f->name && g->file == f->file && g->line == f->line && g->label == f->label)
			return (uint32_t)v;
	}
}

static uint32_t of_data_frame(struct ss *s, uint32_t fi)
{
	if (s->of_frame[fi] == UINT32_MAX) {
		const struct cprof_frame *f = &s->d->frames.v[fi];
		/* One frame per function: speedscope sums by frame, so the lines
		 * of one function must not split it. */
		struct ssframe sf = { .name = f->func, .file = *cprof_str(s->d, f->file) ? f->file : f->dso };
		s->of_frame[fi] = frame_index(s, &sf);
	}
	return s->of_frame[fi];
}

static uint32_t of_label(struct ss *s, const char *name)
{
	for (size_t i = 0; i < s->labels.n; i++)
		if (strcmp(s->labels.v[i], name) == 0) {
			struct ssframe sf = { .name = (uint32_t)i, .label = true };
			return frame_index(s, &sf);
		}
	vec_push(&s->labels, xstrdup(name));
	struct ssframe sf = { .name = (uint32_t)s->labels.n - 1, .label = true };
	return frame_index(s, &sf);
}

/* "[3,7,9]": a stack root first. */
static void write_stack(struct ss *s, uint32_t stack)
{
	const struct cprof_data *d = s->d;
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	fputc('[', s->out);
	if (n == 0)
		fprintf(s->out, "%u", of_label(s, "[unknown]"));
	for (uint32_t k = n; k-- > 0;)
		fprintf(s->out, "%u%s", of_data_frame(s, fr[k]), k ? "," : "");
	fputc(']', s->out);
}

static void profile_head(struct ss *s, const char *type, const char *name, const char *unit, uint64_t start,
			 uint64_t end)
{
	fputs(s->first ? "\n  {" : ",\n  {", s->out);
	s->first = false;
	fprintf(s->out, "\"type\":\"%s\",\"name\":", type);
	json_string(s->out, name);
	fprintf(s->out, ",\"unit\":\"%s\",\"startValue\":%" PRIu64 ",\"endValue\":%" PRIu64, unit, start, end);
}

static void thread_profiles(struct ss *s, const struct profile *p, const char *unit)
{
	const struct cprof_data *d = s->d;
	struct u64map tix = U64MAP_INIT;
	for (size_t t = 0; t < p->threads.n; t++)
		u64map_put(&tix, (uint64_t)p->threads.v[t].pid << 32 | p->threads.v[t].tid, (uint32_t)t);
	/* Samples of each thread, in time order. */
	VEC(uint32_t) *per = xcalloc(p->threads.n ? p->threads.n : 1, sizeof *per);
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *x = &d->samples.v[i];
		if (x->event != p->event)
			continue;
		int64_t t = u64map_get(&tix, (uint64_t)x->pid << 32 | x->tid);
		if (t >= 0)
			vec_push(&per[t], (uint32_t)i);
	}
	struct sbuf name = SBUF_INIT;
	for (size_t t = 0; t < p->threads.n; t++) {
		const struct profile_thread *th = &p->threads.v[t];
		uint64_t total = 0;
		for (size_t k = 0; k < per[t].n; k++)
			total += d->samples.v[per[t].v[k]].period;
		if (!per[t].n || !total)
			continue;
		sbuf_reset(&name);
		const char *comm = cprof_str(d, th->comm);
		if (th->tid)
			sbuf_addf(&name, "%s (pid %u, tid %u)", *comm ? comm : "thread", th->pid, th->tid);
		else
			sbuf_adds(&name, *comm ? comm : "all samples");
		profile_head(s, "sampled", name.buf, unit, 0, total);
		fputs(",\"samples\":[", s->out);
		for (size_t k = 0; k < per[t].n; k++) {
			if (k)
				fputc(',', s->out);
			write_stack(s, d->samples.v[per[t].v[k]].stack);
		}
		fputs("],\"weights\":[", s->out);
		for (size_t k = 0; k < per[t].n; k++)
			fprintf(s->out, "%s%" PRIu64, k ? "," : "", d->samples.v[per[t].v[k]].period);
		fputs("]}", s->out);
	}
	sbuf_release(&name);
	for (size_t t = 0; t < p->threads.n; t++)
		vec_release(&per[t]);
	free(per);
	u64map_release(&tix);
}

/* One allocation profile: every allocating stack weighted by one column. */
static void mem_profile(struct ss *s, const char *name, bool leaked)
{
	const struct cprof_data *d = s->d;
	uint64_t total = 0;
	for (size_t i = 0; i < d->mem_sites.n; i++)
		total += leaked ? d->mem_sites.v[i].leaked_bytes : d->mem_sites.v[i].bytes;
	if (!total)
		return;
	profile_head(s, "sampled", name, "bytes", 0, total);
	fputs(",\"samples\":[", s->out);
	bool any = false;
	for (size_t i = 0; i < d->mem_sites.n; i++) {
		const struct cprof_mem_site *m = &d->mem_sites.v[i];
		if (!(leaked ? m->leaked_bytes : m->bytes) || m->stack >= d->stack_offset.n)
			continue;
		if (any)
			fputc(',', s->out);
		write_stack(s, m->stack);
		any = true;
	}
	fputs("],\"weights\":[", s->out);
	any = false;
	for (size_t i = 0; i < d->mem_sites.n; i++) {
		const struct cprof_mem_site *m = &d->mem_sites.v[i];
		uint64_t w = leaked ? m->leaked_bytes : m->bytes;
		if (!w || m->stack >= d->stack_offset.n)
			continue;
		fprintf(s->out, "%s%" PRIu64, any ? "," : "", w);
		any = true;
	}
	fputs("]}", s->out);
}

static int cmp_op_start(const void *a, const void *b, void *ctx)
{
	const struct cprof_data *d = ctx;
	const struct cprof_gpu_op *x = &d->gpu_ops.v[*(const uint32_t *)a], *y = &d->gpu_ops.v[*(const uint32_t *)b];
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* GPU streams: evented profiles. Work on one stream runs in order; where
 * clocks make two touch, the later one opens when the earlier closes, so
 * the events nest as the format requires. */
static void gpu_profiles(struct ss *s)
{
	const struct cprof_data *d = s->d;
	VEC(uint64_t) streams = { 0 };
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		uint64_t key = (uint64_t)op->device << 32 | op->stream;
		bool seen = false;
		for (size_t k = 0; k < streams.n && !seen; k++)
			seen = streams.v[k] == key;
		if (!seen)
			vec_push(&streams, key);
	}
	VEC(uint32_t) ops = { 0 };
	struct sbuf name = SBUF_INIT, label = SBUF_INIT;
	for (size_t k = 0; k < streams.n; k++) {
		ops.n = 0;
		for (size_t i = 0; i < d->gpu_ops.n; i++) {
			const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
			if (((uint64_t)op->device << 32 | op->stream) == streams.v[k] && op->end > op->start)
				vec_push(&ops, (uint32_t)i);
		}
		if (!ops.n)
			continue;
		qsort_r(ops.v, ops.n, sizeof *ops.v, cmp_op_start, (void *)d);
		uint64_t first = d->gpu_ops.v[ops.v[0]].start, last = first;
		for (size_t i = 0; i < ops.n; i++)
			if (d->gpu_ops.v[ops.v[i]].end > last)
				last = d->gpu_ops.v[ops.v[i]].end;
		sbuf_reset(&name);
		sbuf_addf(&name, "GPU %u stream %u", (unsigned)(streams.v[k] >> 32), (unsigned)streams.v[k]);
		profile_head(s, "evented", name.buf, "nanoseconds", 0, last - first);
		fputs(",\"events\":[", s->out);
		uint64_t busy_until = first;
		bool any = false;
		for (size_t i = 0; i < ops.n; i++) {
			const struct cprof_gpu_op *op = &d->gpu_ops.v[ops.v[i]];
			uint64_t a = op->start < busy_until ? busy_until : op->start;
			if (op->end <= a)
				continue;
			sbuf_reset(&label);
			const char *ck = gpu_copy_kind_name(op->copy_kind);
			switch (op->kind) {
			case GPU_OP_KERNEL: sbuf_adds(&label, cprof_str(d, op->name)); break;
			case GPU_OP_MEMCPY: sbuf_addf(&label, "[memcpy %s]", ck ? ck : "?"); break;
			case GPU_OP_MEMSET: sbuf_adds(&label, "[memset]"); break;
			default: sbuf_adds(&label, "[synchronize]"); break;
			}
			uint32_t f = of_label(s, label.buf);
			fprintf(s->out, "%s{\"type\":\"O\",\"frame\":%u,\"at\":%" PRIu64 "},{\"type\":\"C\",\"frame\":%u,\"at\":%" PRIu64 "}",
				any ? "," : "", f, a - first, f, op->end - first);
			busy_until = op->end;
			any = true;
		}
		fputs("]}", s->out);
	}
	sbuf_release(&name);
	sbuf_release(&label);
	vec_release(&ops);
	vec_release(&streams);
}

static int cmp_wait(const void *a, const void *b, void *ctx)
{
	const struct cprof_offcpu_wait *x = &((const struct cprof_data *)ctx)->offcpu.v[*(const uint32_t *)a];
	const struct cprof_offcpu_wait *y = &((const struct cprof_data *)ctx)->offcpu.v[*(const uint32_t *)b];
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* One wait's frames: "O" root first, then "C" leaf first, at and until. */
static void write_wait(struct ss *s, const struct cprof_offcpu_wait *w, uint64_t at, uint64_t until, bool *any)
{
	const struct cprof_data *d = s->d;
	uint32_t n = w->stack != OFFCPU_NO_STACK ? cprof_stack_len(d, w->stack) : 0;
	const uint32_t *fr = n ? cprof_stack_frames(d, w->stack) : NULL;
	uint32_t last = of_label(s, w->flags & OWF_PREEMPT ? "[preempted]" : "[blocked]");
	for (uint32_t k = n; k-- > 0;) {
		fprintf(s->out, "%s{\"type\":\"O\",\"frame\":%u,\"at\":%" PRIu64 "}", *any ? "," : "",
			of_data_frame(s, fr[k]), at);
		*any = true;
	}
	fprintf(s->out, "%s{\"type\":\"O\",\"frame\":%u,\"at\":%" PRIu64 "},{\"type\":\"C\",\"frame\":%u,\"at\":%" PRIu64 "}",
		*any ? "," : "", last, at, last, until);
	*any = true;
	for (uint32_t k = 0; k < n; k++)
		fprintf(s->out, ",{\"type\":\"C\",\"frame\":%u,\"at\":%" PRIu64 "}", of_data_frame(s, fr[k]), until);
}

/* Waits off a CPU: an evented profile per thread, in ns from its first wait. */
static void offcpu_profiles(struct ss *s)
{
	const struct cprof_data *d = s->d;
	uint32_t *order = xmalloc(d->offcpu.n * sizeof *order);
	for (size_t i = 0; i < d->offcpu.n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, d->offcpu.n, sizeof *order, cmp_wait, (void *)d);
	struct sbuf name = SBUF_INIT;
	for (size_t i = 0; i < d->offcpu.n;) {
		size_t j = i;
		uint32_t tid = d->offcpu.v[order[i]].tid;
		uint64_t first = d->offcpu.v[order[i]].start, end = first;
		for (; j < d->offcpu.n && d->offcpu.v[order[j]].tid == tid; j++)
			if (d->offcpu.v[order[j]].start + d->offcpu.v[order[j]].dur > end)
				end = d->offcpu.v[order[j]].start + d->offcpu.v[order[j]].dur;
		sbuf_reset(&name);
		sbuf_addf(&name, "off-CPU %u", tid);
		for (size_t t = 0; t < d->threads.n; t++)
			if (d->threads.v[t].tid == tid && *cprof_str(d, d->threads.v[t].comm)) {
				sbuf_reset(&name);
				sbuf_addf(&name, "off-CPU %s-%u", cprof_str(d, d->threads.v[t].comm), tid);
				break;
			}
		profile_head(s, "evented", name.buf, "nanoseconds", 0, end - first);
		fputs(",\"events\":[", s->out);
		bool any = false;
		uint64_t busy_until = first; /* a thread waits once at a time; clocks may touch */
		for (size_t k = i; k < j; k++) {
			const struct cprof_offcpu_wait *w = &d->offcpu.v[order[k]];
			uint64_t a = w->start < busy_until ? busy_until : w->start, e = w->start + w->dur;
			if (e <= a)
				continue;
			write_wait(s, w, a - first, e - first, &any);
			busy_until = e;
		}
		fputs("]}", s->out);
		i = j;
	}
	sbuf_release(&name);
	free(order);
}

int speedscope_write(FILE *out, const struct profile *p, struct cprof_err *err)
{
	const struct cprof_data *d = p->d;
	struct ss s = { .d = d, .out = out, .first = true };
	s.of_frame = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *s.of_frame);
	memset(s.of_frame, 0xff, (d->frames.n ? d->frames.n : 1) * sizeof *s.of_frame);
	const struct cprof_event *ev = &d->events.v[p->event];
	const char *unit = strcmp(cprof_str(d, ev->unit), "ns") == 0 ? "nanoseconds" : "none";
	const char *cmd = cprof_meta_get(d, "command");
	const char *input = cprof_meta_get(d, "input");

	/* Profiles first, into the file; the frames they name follow. */
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n\"exporter\":\"cprof " CPROF_VERSION
	      "\",\n\"name\":", out);
	struct sbuf title = SBUF_INIT;
	sbuf_addf(&title, "cprof: %s", cmd && *cmd ? cmd : input ? input : "profile");
	json_string(out, title.buf);
	sbuf_release(&title);
	fputs(",\n\"activeProfileIndex\":0,\n\"profiles\":[", out);
	thread_profiles(&s, p, unit);
	if (d->mem_sites.n) {
		mem_profile(&s, "allocated bytes", false);
		mem_profile(&s, "bytes in use at exit", true);
	}
	if (d->gpu_ops.n)
		gpu_profiles(&s);
	if (d->offcpu.n)
		offcpu_profiles(&s);
	int r = 0;
	if (s.first)
		r = err_set(err, ENODATA, "nothing to export: no samples of event '%s'", cprof_str(d, ev->name));
	fputs("\n],\n\"shared\":{\"frames\":[", out);
	for (size_t i = 0; i < s.frames.n; i++) {
		const struct ssframe *f = &s.frames.v[i];
		fputs(i ? ",\n {\"name\":" : "\n {\"name\":", out);
		if (f->label) {
			json_string(out, s.labels.v[f->name]);
		} else {
			json_string(out, cprof_str(d, f->name));
			if (*cprof_str(d, f->file)) {
				fputs(",\"file\":", out);
				json_string(out, cprof_str(d, f->file));
			}
			if (f->line)
				fprintf(out, ",\"line\":%u", f->line);
		}
		fputc('}', out);
	}
	fputs("\n]}}\n", out);
	for (size_t i = 0; i < s.labels.n; i++)
		free(s.labels.v[i]);
	vec_release(&s.labels);
	vec_release(&s.frames);
	u64map_release(&s.idx);
	free(s.of_frame);
	return r;
}
