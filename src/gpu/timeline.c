/*
 * timeline.c - the GPU's tracks on the Chrome trace (timeline.h): CUDA API
 * calls as slices on the CPU threads that made them, one track per GPU
 * device stream (kernels, copies, memsets, synchronizations as slices),
 * and flow arrows from each launching API call to the GPU work it caused.
 *
 * Slices on one track must nest, so GPU work sits on synthetic thread ids
 * (GPU_TID_BASE + device * 65536 + stream).
 */
#include <stdlib.h>

#include "cprof/gpu-record.h"
#include "cprof/gpu-report.h"
#include "cprof/output.h"
#include "cprof/timeline.h"

#define GPU_TID_BASE 1000000000u

static uint32_t gpu_tid(const struct cprof_gpu_op *op)
{
	return GPU_TID_BASE + (op->device & 0x3fff) * 65536u + (op->stream & 0xffff);
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

static uint64_t gpu_first_ns(const struct cprof_data *d)
{
	uint64_t t0 = UINT64_MAX;
	for (size_t i = 0; i < d->gpu_ops.n; i++)
		if (d->gpu_ops.v[i].start < t0)
			t0 = d->gpu_ops.v[i].start;
	for (size_t i = 0; i < d->gpu_api.n; i++)
		if (d->gpu_api.v[i].start < t0)
			t0 = d->gpu_api.v[i].start;
	return t0;
}

/* One name per device stream, in the order of their first work. */
static void gpu_names(struct timeline *t, const struct cprof_data *d)
{
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
		timeline_thread_name(t, op_pid(d, op), tid, sb.buf);
	}
	vec_release(&named);
	sbuf_release(&sb);
}

static void gpu_events(struct timeline *t, const struct cprof_data *d)
{
	struct api_ref *by_corr = xcalloc(d->gpu_api.n + 1, sizeof *by_corr);
	for (size_t i = 0; i < d->gpu_api.n; i++) {
		const struct cprof_gpu_api *a = &d->gpu_api.v[i];
		by_corr[i] = (struct api_ref){ (uint64_t)a->pid << 32 | a->corr, a->domain, (uint32_t)i };
	}
	qsort(by_corr, d->gpu_api.n, sizeof *by_corr, cmp_api_ref);
	/* API calls: slices on their threads; launches start a flow. */
	for (size_t i = 0; i < d->gpu_api.n; i++) {
		const struct cprof_gpu_api *a = &d->gpu_api.v[i];
		FILE *out = timeline_event(t);
		fputs("{\"name\":", out);
		json_string(out, cprof_str(d, a->name));
		fprintf(out, ",\"cat\":\"cuda-%s\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u",
			a->domain == GPU_API_RUNTIME ? "runtime" : "driver", a->pid, a->tid);
		timeline_ts(t, "ts", a->start);
		timeline_dur(t, a->end - a->start);
		fprintf(out, ",\"args\":{\"correlation\":%u,\"result\":%u}}", a->corr, a->result);
	}
	/* GPU work on stream tracks, with a flow from the API call that caused it. */
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		char buf[64];
		uint32_t pid = op_pid(d, op);
		FILE *out = timeline_event(t);
		fputs("{\"name\":", out);
		json_string(out, op_label(d, op, buf, sizeof buf));
		fprintf(out, ",\"cat\":\"gpu-%s\",\"ph\":\"X\",\"pid\":%u,\"tid\":%u", gpu_op_kind_name(op->kind), pid,
			gpu_tid(op));
		timeline_ts(t, "ts", op->start);
		timeline_dur(t, op->end - op->start);
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
		fprintf(timeline_event(t), "{\"name\":\"launch\",\"cat\":\"flow\",\"ph\":\"s\",\"id\":%zu,\"pid\":%u,\"tid\":%u",
			i, from->pid, from->tid);
		timeline_ts(t, "ts", from->start);
		fputs("}", out);
		fprintf(timeline_event(t),
			"{\"name\":\"launch\",\"cat\":\"flow\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%zu,\"pid\":%u,\"tid\":%u", i,
			pid, gpu_tid(op));
		timeline_ts(t, "ts", op->start);
		fputs("}", out);
	}
	free(by_corr);
}

const struct timeline_track gpu_timeline = {
	.first_ns = gpu_first_ns,
	.names = gpu_names,
	.events = gpu_events,
};
