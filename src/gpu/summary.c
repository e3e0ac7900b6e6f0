/*
 * summary.c - what `cprof report --gpu` says about a recording's GPU
 * activity: kernels by name, copies by direction, launch sites by GPU time,
 * each device's busy and idle time, and findings (launch-bound idle gaps,
 * tiny kernels, pageable copies, synchronous copies in loops). Writers format
 * it; nothing here prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/gpu-report.h"

static uint64_t dur(const struct cprof_gpu_op *op) { return op->end - op->start; }

static bool is_work(const struct cprof_gpu_op *op)
{
	return op->kind == GPU_OP_KERNEL || op->kind == GPU_OP_MEMCPY || op->kind == GPU_OP_MEMSET;
}

static void add_kernel(struct gpu_summary *s, const struct cprof_gpu_op *op, uint32_t idx)
{
	struct gpu_kernel_row *r = NULL;
	for (size_t i = 0; i < s->kernels.n && !r; i++)
		if (s->kernels.v[i].name == op->name)
			r = &s->kernels.v[i];
	if (!r) {
		vec_push(&s->kernels, ((struct gpu_kernel_row){ .name = op->name, .min_ns = UINT64_MAX, .heaviest = idx }));
		r = &s->kernels.v[s->kernels.n - 1];
	}
	uint64_t t = dur(op);
	r->calls++;
	r->total_ns += t;
	if (t < r->min_ns)
		r->min_ns = t;
	if (t > r->max_ns) {
		r->max_ns = t;
		r->heaviest = idx;
	}
}

static void add_copy(struct gpu_summary *s, const struct cprof_gpu_op *op)
{
	struct gpu_copy_row *r = NULL;
	for (size_t i = 0; i < s->copies.n && !r; i++)
		if (s->copies.v[i].kind == op->copy_kind)
			r = &s->copies.v[i];
	if (!r) {
		vec_push(&s->copies, ((struct gpu_copy_row){ .kind = op->copy_kind }));
		r = &s->copies.v[s->copies.n - 1];
	}
	uint64_t n = gpu_op_count(op); /* a batched copy is many */
	r->calls += n;
	r->bytes += op->bytes;
	r->total_ns += dur(op);
	if (op->src_kind == GPU_MEM_PAGEABLE || op->dst_kind == GPU_MEM_PAGEABLE)
		r->pageable += n;
	if (!(op->flags & GOF_ASYNC))
		r->sync += n;
}

static void add_site(struct gpu_summary *s, const struct cprof_gpu_op *op)
{
	const struct cprof_data *d = s->d;
	uint32_t frame = GPU_NO_STACK;
	if (op->stack != GPU_NO_STACK && cprof_stack_len(d, op->stack) > 0)
		frame = cprof_stack_frames(d, op->stack)[0];
	struct gpu_site_row *r = NULL;
	for (size_t i = 0; i < s->sites.n && !r; i++)
		if (s->sites.v[i].frame == frame)
			r = &s->sites.v[i];
	if (!r) {
		vec_push(&s->sites, ((struct gpu_site_row){ .frame = frame, .stack = op->stack }));
		r = &s->sites.v[s->sites.n - 1];
	}
	r->gpu_ns += dur(op);
	r->kernels += op->kind == GPU_OP_KERNEL;
	r->copies += op->kind == GPU_OP_MEMCPY ? gpu_op_count(op) : 0;
	r->memsets += op->kind == GPU_OP_MEMSET;
	r->sync_copies += op->kind == GPU_OP_MEMCPY && !(op->flags & GOF_ASYNC) ? gpu_op_count(op) : 0;
}

static int cmp_kernel(const void *a, const void *b)
{
	const struct gpu_kernel_row *x = a, *y = b;
	return x->total_ns != y->total_ns ? (x->total_ns < y->total_ns ? 1 : -1) : (x->name > y->name) - (x->name < y->name);
}

static int cmp_copy(const void *a, const void *b)
{
	const struct gpu_copy_row *x = a, *y = b;
	return x->bytes != y->bytes ? (x->bytes < y->bytes ? 1 : -1) : x->kind - y->kind;
}

static int cmp_site(const void *a, const void *b)
{
	const struct gpu_site_row *x = a, *y = b;
	return x->gpu_ns != y->gpu_ns ? (x->gpu_ns < y->gpu_ns ? 1 : -1) : (x->frame > y->frame) - (x->frame < y->frame);
}

struct interval {
	uint32_t device;
	uint64_t start, end;
};

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return x->start != y->start ? (x->start < y->start ? -1 : 1) : (x->end > y->end) - (x->end < y->end);
}

/* Per device: busy time (the union over its streams) and the idle gaps
 * between busy periods. Devices work in parallel, so one device's work
 * does not make another one busy. */
static void busy_and_gaps(struct gpu_summary *s)
{
	const struct cprof_data *d = s->d;
	struct interval *iv = xcalloc(d->gpu_ops.n + 1, sizeof *iv);
	size_t n = 0;
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		/* A start of 0 is CUPTI's "not timed", never a time: it would
		 * stretch the span back to boot. */
		if (is_work(op) && op->start)
			iv[n++] = (struct interval){ op->device, op->start, op->end };
	}
	qsort(iv, n, sizeof *iv, cmp_interval);
	struct gpu_device_row *dev = NULL;
	uint64_t cur_s = 0, cur_e = 0;
	for (size_t i = 0; i < n; i++) {
		if (!dev || dev->device != iv[i].device) {
			if (dev)
				dev->busy_ns += cur_e - cur_s;
			vec_push(&s->devices, ((struct gpu_device_row){ .device = iv[i].device, .first_ns = iv[i].start }));
			dev = &s->devices.v[s->devices.n - 1];
			cur_s = iv[i].start;
			cur_e = iv[i].end;
		} else if (iv[i].start <= cur_e) {
			if (iv[i].end > cur_e)
				cur_e = iv[i].end;
		} else {
			dev->busy_ns += cur_e - cur_s;
			uint64_t gap = iv[i].start - cur_e;
			if (gap >= GPU_GAP_NS) {
				dev->gaps++;
				if (gap > dev->longest_gap_ns)
					dev->longest_gap_ns = gap;
			}
			cur_s = iv[i].start;
			cur_e = iv[i].end;
		}
		if (iv[i].end > dev->last_ns)
			dev->last_ns = iv[i].end;
	}
	if (dev)
		dev->busy_ns += cur_e - cur_s;
	for (size_t i = 0; i < s->devices.n; i++) {
		const struct gpu_device_row *r = &s->devices.v[i];
		s->span_ns += r->last_ns - r->first_ns;
		s->busy_ns += r->busy_ns;
		s->gaps += r->gaps;
		if (r->longest_gap_ns > s->longest_gap_ns)
			s->longest_gap_ns = r->longest_gap_ns;
	}
	free(iv);
}

static void add_finding(struct gpu_summary *s, enum gpu_finding_kind kind, uint32_t subject, uint64_t value,
			struct sbuf *text)
{
	vec_push(&s->findings, ((struct gpu_finding){ .kind = kind, .text = sbuf_detach(text), .subject = subject,
						      .value = value }));
}

static void findings(struct gpu_summary *s)
{
	const struct cprof_data *d = s->d;
	struct sbuf t = SBUF_INIT;
	for (size_t i = 0; i < s->devices.n; i++) {
		const struct gpu_device_row *r = &s->devices.v[i];
		uint64_t span = r->last_ns - r->first_ns, idle = span - r->busy_ns;
		if (!span || (double)idle < GPU_IDLE_SHARE * (double)span || r->gaps < GPU_IDLE_MIN_GAPS)
			continue;
		sbuf_adds(&t, "GPU");
		if (s->devices.n > 1)
			sbuf_addf(&t, " %u", r->device);
		sbuf_addf(&t, " idle %.1f%% of the time between its first and last work, in %llu gaps "
			      "(longest %.1f us): the GPU waits for the CPU to launch work; batch launches, "
			      "overlap with streams, or capture the sequence in a CUDA graph",
			  100.0 * (double)idle / (double)span, (unsigned long long)r->gaps, (double)r->longest_gap_ns / 1e3);
		add_finding(s, FINDING_IDLE_GAPS, r->device, idle, &t);
	}
	for (size_t i = 0; i < s->kernels.n; i++) {
		const struct gpu_kernel_row *k = &s->kernels.v[i];
		if (k->calls < GPU_TINY_KERNEL_CALLS || k->total_ns / k->calls >= GPU_TINY_KERNEL_NS)
			continue;
		sbuf_addf(&t, "kernel '%s': %llu launches averaging %.1f us; launch overhead (several us each) "
			      "dominates such short kernels; fuse them, give each more work, or use a CUDA graph",
			  cprof_str(d, k->name), (unsigned long long)k->calls, (double)k->total_ns / (double)k->calls / 1e3);
		add_finding(s, FINDING_TINY_KERNELS, k->name, k->calls, &t);
	}
	uint64_t pageable = 0, pbytes = 0;
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		if (op->kind == GPU_OP_MEMCPY && (op->src_kind == GPU_MEM_PAGEABLE || op->dst_kind == GPU_MEM_PAGEABLE)) {
			pageable++;
			pbytes += op->bytes;
		}
	}
	if (pageable) {
		sbuf_addf(&t, "%llu copies (%.1f MB) use pageable host memory: they are staged through a driver "
			      "buffer and cannot overlap with kernels; allocate with cudaMallocHost or pin with "
			      "cudaHostRegister",
			  (unsigned long long)pageable, (double)pbytes / 1e6);
		add_finding(s, FINDING_PAGEABLE, 0, pageable, &t);
	}
	for (size_t i = 0; i < s->sites.n; i++) {
		const struct gpu_site_row *r = &s->sites.v[i];
		if (r->sync_copies < GPU_SYNC_LOOP_CALLS)
			continue;
		struct sbuf site = SBUF_INIT;
		gpu_site_label(s, r, &site);
		sbuf_addf(&t, "%llu synchronous copies from %s: each one blocks the CPU until the GPU is done; "
			      "use cudaMemcpyAsync on a stream, or copy once outside the loop",
			  (unsigned long long)r->sync_copies, site.buf);
		sbuf_release(&site);
		add_finding(s, FINDING_SYNC_COPY_LOOP, r->frame, r->sync_copies, &t);
	}
	sbuf_release(&t);
}

int gpu_summary_build(struct gpu_summary *s, const struct cprof_data *d, struct cprof_err *err)
{
	memset(s, 0, sizeof *s);
	s->d = d;
	if (!d->gpu_ops.n)
		return err_set(err, ENODATA, "no GPU activity in this recording (record it with 'cprof record --gpu')");
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		switch (op->kind) {
		case GPU_OP_KERNEL:
			add_kernel(s, op, (uint32_t)i);
			s->kernel_ns += dur(op);
			break;
		case GPU_OP_MEMCPY:
			add_copy(s, op);
			s->copy_ns += dur(op);
			break;
		case GPU_OP_MEMSET: s->memset_ns += dur(op); break;
		case GPU_OP_SYNC: s->sync_ns += dur(op); break;
		}
		if (is_work(op))
			add_site(s, op);
	}
	if (s->kernels.n)
		qsort(s->kernels.v, s->kernels.n, sizeof *s->kernels.v, cmp_kernel);
	if (s->copies.n)
		qsort(s->copies.v, s->copies.n, sizeof *s->copies.v, cmp_copy);
	if (s->sites.n)
		qsort(s->sites.v, s->sites.n, sizeof *s->sites.v, cmp_site);
	busy_and_gaps(s);
	uint64_t v;
	for (int i = 0; i < _GL_MAX; i++) {
		const char *m = cprof_meta_get(d, gpu_loss_key((enum gpu_loss)i));
		if (m && parse_u64(m, &v) == 0)
			s->loss[i] = v;
	}
	s->dropped = s->loss[GL_DROPPED];
	const char *m = cprof_meta_get(d, "gpu_processes_ended");
	if (m && parse_u64(m, &v) == 0)
		s->processes_ended = v;
	if ((m = cprof_meta_get(d, "gpu_processes_signalled")) && parse_u64(m, &v) == 0)
		s->processes_signalled = v;
	if ((m = cprof_meta_get(d, "gpu_bad_records")) && parse_u64(m, &v) == 0)
		s->bad_records = v;
	findings(s);
	return 0;
}

void gpu_summary_release(struct gpu_summary *s)
{
	for (size_t i = 0; i < s->findings.n; i++)
		free(s->findings.v[i].text);
	vec_release(&s->findings);
	vec_release(&s->kernels);
	vec_release(&s->copies);
	vec_release(&s->sites);
	vec_release(&s->devices);
}

void gpu_site_label(const struct gpu_summary *s, const struct gpu_site_row *row, struct sbuf *out)
{
	if (row->frame == GPU_NO_STACK) {
		sbuf_adds(out, "[no launch stack]");
		return;
	}
	const struct cprof_frame *f = &s->d->frames.v[row->frame];
	sbuf_adds(out, cprof_str(s->d, f->func));
	const char *file = cprof_str(s->d, f->file);
	if (*file) {
		const char *b = strrchr(file, '/');
		sbuf_addf(out, " (%s:%u)", b ? b + 1 : file, f->line);
	}
}
