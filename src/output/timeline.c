/*
 * timeline.c - a recording as Chrome trace event JSON, the format Perfetto
 * and chrome://tracing open; `cprof report --timeline` and `cprof export
 * --format chrome` both write it. One process per recorded pid, its CPU
 * threads (samples as instant events named by their leaf function, whose
 * "sf" points at their whole stack in the "stackFrames" table; CUDA API
 * calls as slices) and one track per GPU device stream (kernels, copies,
 * memsets, synchronizations as slices), with flow arrows from each
 * launching API call to the GPU work it caused. The same samples are also
 * listed in "samples", the trace format's own sample table.
 *
 * Slices on one track must nest, so GPU work sits on synthetic thread ids
 * (GPU_TID_BASE + device * 65536 + stream) and samples, which have no
 * duration that could overlap, are instants.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/export.h"
#include "cprof/gpu-report.h"
#include "cprof/output.h"
#include "cprof/profile.h"
#include "cprof/u64map.h"

#define GPU_TID_BASE 1000000000u

struct tl {
	FILE *out;
	uint64_t t0;
	bool first;
};

static void sep(struct tl *t)
{
	fputs(t->first ? "\n" : ",\n", t->out);
	t->first = false;
}

static void ts(struct tl *t, const char *key, uint64_t ns)
{
	uint64_t rel = ns > t->t0 ? ns - t->t0 : 0;
	fprintf(t->out, ",\"%s\":%llu.%03llu", key, (unsigned long long)(rel / 1000), (unsigned long long)(rel % 1000));
}

static uint32_t gpu_tid(const struct cprof_gpu_op *op)
{
	return GPU_TID_BASE + (op->device & 0x3fff) * 65536u + (op->stream & 0xffff);
}

static void thread_name(struct tl *t, uint32_t pid, uint32_t tid, const char *name)
{
	sep(t);
	fprintf(t->out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":", pid, tid);
	json_string(t->out, name);
	fputs("}}", t->out);
}

static const char *op_label(const struct cprof_data *d, const struct cprof_gpu_op *op, char *buf, size_t n)
{
	const char *ck = gpu_copy_kind_name(op->copy_kind);
	switch (op->kind) {
	case GPU_OP_KERNEL: return cprof_str(d, op->name);
	case GPU_OP_MEMCPY: snprintf(buf, n, "memcpy %s", ck ? ck : "?"); return buf;
	case GPU_OP_MEMSET: return "memset";
	default: return "synchronize";
	}
}

static uint32_t op_pid(const struct cprof_data *d, const struct cprof_gpu_op *op)
{
	if (op->pid)
		return op->pid;
	return d->threads.n ? d->threads.v[0].pid : 0;
}

struct api_ref {
	uint64_t key;   /* pid << 32 | correlation id */
	uint32_t domain, idx;
};

static int cmp_api_ref(const void *a, const void *b)
{
	const struct api_ref *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (int)x->domain - (int)y->domain; /* runtime (1) before driver (2) */
}

/* The API call that caused op: the runtime call with its correlation id, else the driver call. */
static const struct cprof_gpu_api *launching_call(const struct cprof_data *d, const struct api_ref *refs,
						  const struct cprof_gpu_op *op)
{
	size_t lo = 0, hi = d->gpu_api.n;
	uint64_t key = (uint64_t)op->pid << 32 | op->corr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (refs[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->gpu_api.n && refs[lo].key == key ? &d->gpu_api.v[refs[lo].idx] : NULL;
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

int timeline_write(FILE *out, const struct cprof_data *d, struct cprof_err *err)
{
	const char *source = cprof_meta_get(d, "source");
	if (source && strcmp(source, "folded") == 0)
		return err_set(err, ENODATA, "folded stacks carry no time, and a timeline needs it: "
					     "use a cprof or perf recording");
	if (!d->samples.n && !d->gpu_ops.n && !d->gpu_api.n)
		return err_set(err, ENODATA, "nothing to put on a timeline: no samples and no GPU activity");
	struct api_ref *by_corr = xcalloc(d->gpu_api.n + 1, sizeof *by_corr);
	for (size_t i = 0; i < d->gpu_api.n; i++) {
		const struct cprof_gpu_api *a = &d->gpu_api.v[i];
		by_corr[i] = (struct api_ref){ (uint64_t)a->pid << 32 | a->corr, a->domain, (uint32_t)i };
	}
	qsort(by_corr, d->gpu_api.n, sizeof *by_corr, cmp_api_ref);
	struct tl t = { .out = out, .t0 = UINT64_MAX, .first = true };
	for (size_t i = 0; i < d->samples.n; i++)
		if (d->samples.v[i].time < t.t0)
			t.t0 = d->samples.v[i].time;
	for (size_t i = 0; i < d->gpu_ops.n; i++)
		if (d->gpu_ops.v[i].start < t.t0)
			t.t0 = d->gpu_ops.v[i].start;
	for (size_t i = 0; i < d->gpu_api.n; i++)
		if (d->gpu_api.v[i].start < t.t0)
			t.t0 = d->gpu_api.v[i].start;
	if (t.t0 == UINT64_MAX)
		t.t0 = 0;

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"cprof\",\"command\":", out);
	const char *cmd = cprof_meta_get(d, "command");
	json_string(out, cmd ? cmd : "");
	fputs("},\"traceEvents\":[", out);

	/* Names first: processes and CPU threads, then GPU streams. */
	for (size_t i = 0; i < d->threads.n; i++) {
		const struct cprof_thread *th = &d->threads.v[i];
		if (th->pid == th->tid) {
			sep(&t);
			fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
				th->pid, th->tid);
			json_string(out, cprof_str(d, th->comm));
			fputs("}}", out);
		}
		thread_name(&t, th->pid, th->tid, *cprof_str(d, th->comm) ? cprof_str(d, th->comm) : "thread");
	}
	struct sbuf sb = SBUF_INIT;
	VEC(uint32_t) named = { 0 };
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		uint32_t tid = gpu_tid(op);
		bool seen = false;
		for (size_t k = 0; k < named.n && !seen; k++)
			seen = named.v[k] == tid;
		if (seen)
			continue;
		vec_push(&named, tid);
		sbuf_reset(&sb);
		if (op->device == GPU_DEVICE_UNKNOWN)
			sbuf_addf(&sb, "GPU ? stream %u", op->stream);
		else
			sbuf_addf(&sb, "GPU %u stream %u", op->device, op->stream);
		thread_name(&t, op_pid(d, op), tid, sb.buf);
	}
	vec_release(&named);

	/* CPU samples: instants named by the leaf function, with their stacks. */
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
		sep(&t);
		fputs("{\"name\":", out);
		json_string(out, sb.buf);
		fprintf(out, ",\"cat\":\"cpu\",\"ph\":\"i\",\"s\":\"t\",\"pid\":%u,\"tid\":%u", x->pid, x->tid);
		ts(&t, "ts", x->time);
		if (sf[i])
			fprintf(out, ",\"sf\":\"%u\"", sf[i]);
		fputs("}", out);
	}
	/* API calls: slices on their threads; launches start a flow. */
	for (size_t i = 0; i < d->gpu_api.n; i++) {
		const struct cprof_gpu_api *a = &d->gpu_api.v[i];
		sep(&t);
		fputs("{\"name\":", out);
		json_string(out, cprof_str(d, a->name));
		fprintf(out, ",\"cat\":\"cuda-%s\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u",
			a->domain == GPU_API_RUNTIME ? "runtime" : "driver", a->pid, a->tid);
		ts(&t, "ts", a->start);
		ts(&t, "dur", t.t0 + (a->end - a->start));
		fprintf(out, ",\"args\":{\"correlation\":%u,\"result\":%u}}", a->corr, a->result);
	}
	/* GPU work on stream tracks, with a flow from the API call that caused it. */
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		char buf[64];
		uint32_t pid = op_pid(d, op);
		sep(&t);
		fputs("{\"name\":", out);
		json_string(out, op_label(d, op, buf, sizeof buf));
		fprintf(out, ",\"cat\":\"gpu-%s\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u", gpu_op_kind_name(op->kind), pid,
			gpu_tid(op));
		ts(&t, "ts", op->start);
		ts(&t, "dur", t.t0 + (op->end - op->start));
		fprintf(out, ",\"args\":{\"correlation\":%u", op->corr);
		if (op->kind == GPU_OP_KERNEL)
			fprintf(out, ",\"grid\":\"%u,%u,%u\",\"block\":\"%u,%u,%u\",\"registers\":%u", op->grid[0],
				op->grid[1], op->grid[2], op->block[0], op->block[1], op->block[2], op->regs);
		if (op->kind == GPU_OP_MEMCPY || op->kind == GPU_OP_MEMSET)
			fprintf(out, ",\"bytes\":%llu", (unsigned long long)op->bytes);
		if (gpu_op_count(op) > 1)
			fprintf(out, ",\"copies\":%llu", (unsigned long long)gpu_op_count(op));
		fputs("}}", out);
		if (op->kind == GPU_OP_SYNC || !op->tid)
			continue;
		const struct cprof_gpu_api *from = launching_call(d, by_corr, op);
		if (!from)
			continue;
		sep(&t);
		fprintf(out, "{\"name\":\"launch\",\"cat\":\"flow\",\"ph\":\"s\",\"id\":%zu,\"pid\":%u,\"tid\":%u", i,
			from->pid, from->tid);
		ts(&t, "ts", from->start);
		fputs("}", out);
		sep(&t);
		fprintf(out, "{\"name\":\"launch\",\"cat\":\"flow\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%zu,\"pid\":%u,\"tid\":%u",
			i, pid, gpu_tid(op));
		ts(&t, "ts", op->start);
		fputs("}", out);
	}
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
		ts(&t, "ts", x->time);
		fprintf(out, ",\"sf\":\"%u\",\"weight\":%" PRIu64 "}", sf[i], x->period);
	}
	fputs("\n]}\n", out);
	sbuf_release(&sb);
	free(by_corr);
	free(sf);
	vec_release(&tree.frame);
	vec_release(&tree.parent);
	u64map_release(&tree.idx);
	return 0;
}
