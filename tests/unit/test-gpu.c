/*
 * test-gpu.c - the GPU pipeline without a GPU: synthesized CUPTI activity
 * records (CUpti_ActivityKernel10, Memcpy6, Memset4, ActivityAPI,
 * Synchronization2) walked with the real libcupti's record iterator and
 * converted by the collector's own code, callback data for the launch
 * sites with real stacks of this program, the collector's stream written
 * and read back, imported (symbolized against this process's mappings) and
 * then summarized, reported, drawn and exported.
 *
 * The workload it describes (times in us from t0, all on stream 7):
 *   kernelA: 10 launches of 100 us from launch_site_a, back to back
 *   kernelB: 30 launches of 2 us from launch_site_b, 50 us apart (tiny,
 *            launch-bound)
 *   12 synchronous pageable HtoD copies of 1 MB, 500 us each, from
 *            launch_site_copy; 1 async pinned DtoH copy of 4 MB, 1000 us
 *   1 memset of 4096 bytes, 1 stream synchronization
 *
 * With an argument, writes that recording to the given path and exits, so
 * the command-line tests can run report/flamegraph on it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/gpu/convert.h"
#include "cprof/export.h"
#include "cprof/flamegraph.h"
#include "cprof/gpu-record.h"
#include "cprof/gpu-report.h"
#include "cprof/gpu-stream.h"
#include "cprof/outfile.h"
#include "cprof/record.h"
#include "harness.h"

#define T0 1000000000ULL
#define US 1000ULL

static const char *lib_path;

/* A CUPTI activity buffer being filled, as CUPTI would fill it. */
struct act_buf {
	uint8_t *p;
	size_t len, cap;
};

static void put_rec(struct act_buf *b, const void *rec, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, rec, n);
	b->len += n;
}

static uint32_t next_corr = 100;

static void api(struct act_buf *b, uint32_t corr, uint32_t cbid, uint64_t start, uint64_t end)
{
	CUpti_ActivityAPI a;
	memset(&a, 0, sizeof a);
	a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
	a.cbid = cbid;
	a.start = start;
	a.end = end;
	a.processId = (uint32_t)getpid();
	a.threadId = (uint32_t)getpid();
	a.correlationId = corr;
	put_rec(b, &a, sizeof a);
}

static void kernel(struct act_buf *b, const char *name, uint32_t corr, uint64_t start, uint64_t dur)
{
	CUpti_ActivityKernel10 k;
	memset(&k, 0, sizeof k);
	k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
	k.start = start;
	k.end = start + dur;
	k.deviceId = 0;
	k.contextId = 1;
	k.streamId = 7;
	k.gridX = 256;
	k.gridY = 2;
	k.gridZ = 1;
	k.blockX = 128;
	k.blockY = 1;
	k.blockZ = 1;
	k.registersPerThread = 32;
	k.staticSharedMemory = 1024;
	k.dynamicSharedMemory = 2048;
	k.correlationId = corr;
	k.name = name;
	put_rec(b, &k, sizeof k);
}

static void memcpy_rec(struct act_buf *b, uint8_t kind, uint8_t src, uint8_t dst, bool async, uint32_t corr,
		       uint64_t start, uint64_t dur, uint64_t bytes)
{
	CUpti_ActivityMemcpy6 m;
	memset(&m, 0, sizeof m);
	m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
	m.copyKind = kind;
	m.srcKind = src;
	m.dstKind = dst;
	m.flags = async ? CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC : 0;
	m.bytes = bytes;
	m.start = start;
	m.end = start + dur;
	m.streamId = 7;
	m.contextId = 1;
	m.correlationId = corr + 50000; /* the driver call's id differs; the runtime one finds the stack */
	m.runtimeCorrelationId = corr;
	put_rec(b, &m, sizeof m);
}

/* The callback the collector gets at an API entry, and the stack it takes:
 * exactly what inject.c's on_callback does. The import drops the
 * collector's frames by their library; this stand-in is in the test
 * binary, so it is named like a CUDA runtime function, which the import
 * drops too. */
static __attribute__((noinline)) void cudaTestApiEnter(struct gpu_writer *w, uint32_t corr)
{
	CUpti_CallbackData cb;
	memset(&cb, 0, sizeof cb);
	cb.callbackSite = CUPTI_API_ENTER;
	cb.correlationId = corr;
	cb.functionName = "cudaLaunchKernel";
	uint32_t got;
	ASSERT(gpu_callback_is_launch(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, &cb,
				      0, &got));
	ASSERT_EQ(got, corr);
	/* Nested driver call inside a runtime call: not a second launch site. */
	ASSERT(!gpu_callback_is_launch(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, &cb, 1, &got));
	void *ips[GS_MAX_IPS];
	uint64_t ips64[GS_MAX_IPS];
	int n = backtrace(ips, GS_MAX_IPS);
	for (int i = 0; i < n; i++)
		ips64[i] = (uint64_t)(uintptr_t)ips[i];
	gpu_writer_stack(w, corr, (uint32_t)getpid(), (uint32_t)getpid(), GPU_API_RUNTIME, ips64, (uint32_t)n);
}

static __attribute__((noinline)) void launch_site_a(struct gpu_writer *w, uint32_t corr)
{
	cudaTestApiEnter(w, corr);
	__asm__ volatile("" ::: "memory"); /* keep the call from becoming a tail call */
}

static __attribute__((noinline)) void launch_site_b(struct gpu_writer *w, uint32_t corr)
{
	cudaTestApiEnter(w, corr);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void launch_site_copy(struct gpu_writer *w, uint32_t corr)
{
	cudaTestApiEnter(w, corr);
	__asm__ volatile("" ::: "memory");
}

/* Build the activity buffer and the launch stacks, then run the buffer
 * through CUPTI's iterator and the collector's conversion into w. */
static void synthesize(struct gpu_writer *w)
{
	struct act_buf b = { 0 };
	uint64_t t = T0;
	for (int i = 0; i < 10; i++) {
		uint32_t c = next_corr++;
		launch_site_a(w, c);
		api(&b, c, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, t - 5 * US, t - 1 * US);
		kernel(&b, "_Z7kernelAPfi", c, t, 100 * US);
		t += 100 * US;
	}
	for (int i = 0; i < 30; i++) {
		uint32_t c = next_corr++;
		t += 50 * US;
		launch_site_b(w, c);
		api(&b, c, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, t - 5 * US, t - 1 * US);
		kernel(&b, "_Z7kernelBv", c, t, 2 * US);
		t += 2 * US;
	}
	for (int i = 0; i < 12; i++) {
		uint32_t c = next_corr++;
		launch_site_copy(w, c);
		api(&b, c, CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020, t, t + 500 * US);
		memcpy_rec(&b, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD, CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE,
			   CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, false, c, t, 500 * US, 1000000);
		t += 500 * US;
	}
	uint32_t c = next_corr++;
	memcpy_rec(&b, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
		   CUPTI_ACTIVITY_MEMORY_KIND_PINNED, true, c, t, 1000 * US, 4000000);
	t += 1000 * US;
	CUpti_ActivityMemset4 ms;
	memset(&ms, 0, sizeof ms);
	ms.kind = CUPTI_ACTIVITY_KIND_MEMSET;
	ms.value = 0;
	ms.bytes = 4096;
	ms.start = t;
	ms.end = t + 10 * US;
	ms.streamId = 7;
	ms.correlationId = next_corr++;
	put_rec(&b, &ms, sizeof ms);
	CUpti_ActivitySynchronization2 sy;
	memset(&sy, 0, sizeof sy);
	sy.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
	sy.type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE;
	sy.start = t;
	sy.end = t + 20 * US;
	sy.streamId = 7;
	sy.correlationId = next_corr++;
	put_rec(&b, &sy, sizeof sy);

	/* The loop of inject.c's buffer_completed. */
	CUpti_Activity *rec = NULL;
	CUptiResult st;
	struct cprof_gpu_op op;
	struct cprof_gpu_api a;
	const char *name;
	int n = 0;
	while ((st = cuptiActivityGetNextRecord(b.p, b.len, &rec)) == CUPTI_SUCCESS) {
		n++;
		switch (gpu_convert_activity(rec, &op, &a, &name)) {
		case GPU_CONV_OP:
			op.pid = (uint32_t)getpid();
			gpu_writer_op(w, &op, name);
			break;
		case GPU_CONV_API: gpu_writer_api(w, &a, name); break;
		case GPU_CONV_SKIP: break;
		}
	}
	ASSERT_EQ(st, CUPTI_ERROR_MAX_LIMIT_REACHED);
	ASSERT_EQ(n, 10 * 2 + 30 * 2 + 12 * 2 + 1 + 2);
	gpu_writer_counts(w, 3, 0, 0);
	gpu_writer_end(w, GS_END_EXIT, 0);
	free(b.p);
}

/* This process's executable mappings, as the recorder's MMAP2 records would give them. */
static void self_maps(struct raw_store *st)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	ASSERT(fp);
	char line[4096];
	while (fgets(line, sizeof line, fp)) {
		unsigned long long s, e, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &e, perms, &off, &pos) != 4 || perms[2] != 'x')
			continue;
		char *name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		if (*name != '/')
			continue;
		struct raw_mmap m = { .start = s, .len = e - s, .pgoff = off, .pid = (uint32_t)getpid(),
				      .tid = (uint32_t)getpid(), .path = xstrdup(name) };
		vec_push(&st->mmaps, m);
	}
	fclose(fp);
}

/* The whole pipeline into a recording, as cprof record --gpu would write it. */
static void build_recording(struct cprof_data *d, struct gpu_import_stats *ist)
{
	FILE *tmp = tmpfile();
	ASSERT(tmp);
	uint8_t hdr[GPU_STREAM_HDR];
	gpu_stream_header(hdr);
	ASSERT_EQ(write(fileno(tmp), hdr, sizeof hdr), (long)sizeof hdr);
	struct gpu_writer w;
	ASSERT_OK(gpu_writer_init(&w, fileno(tmp), 4096)); /* small: forces flushes mid-way */
	synthesize(&w);
	gpu_writer_release(&w);
	ASSERT_EQ(w.write_errors, 0);

	struct sbuf buf = SBUF_INIT;
	char chunk[65536];
	size_t n;
	rewind(tmp);
	while ((n = fread(chunk, 1, sizeof chunk, tmp)) > 0)
		sbuf_add(&buf, chunk, n);
	fclose(tmp);
	struct gpu_trace t;
	struct cprof_err err;
	gpu_trace_init(&t);
	ASSERT_OK(gpu_trace_parse(&t, (const uint8_t *)buf.buf, buf.len, "stream", &err));
	ASSERT_EQ(t.bad_records, 0);
	ASSERT_EQ(t.stacks.n, 10 + 30 + 12);
	ASSERT_EQ(t.dropped, 3);
	ASSERT_EQ(t.ends, 1);

	struct raw_store st = { 0 };
	self_maps(&st);
	cprof_data_init(d);
	cprof_meta_set(d, "command", "synthetic-cuda-app");
	cprof_meta_set(d, "gpu_dropped_records", "3");
	struct cprof_event ev = { .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "ns") };
	vec_push(&d->events, ev);
	/* One CPU sample so the file is a complete recording. */
	struct cprof_frame f = { .func = cprof_intern(d, "main"), .dso = cprof_intern(d, "/synthetic") };
	uint32_t fr = cprof_add_frame(d, &f);
	struct cprof_sample s = { .time = T0, .period = 1000000, .pid = (uint32_t)getpid(), .tid = (uint32_t)getpid(),
				  .stack = cprof_add_stack(d, &fr, 1, 0) };
	vec_push(&d->samples, s);
	gpu_import(d, &t, &st, ist);
	raw_store_release(&st);
	gpu_trace_release(&t);
	sbuf_release(&buf);
}

static const struct cprof_gpu_op *find_op(const struct cprof_data *d, uint32_t kind, const char *name)
{
	for (size_t i = 0; i < d->gpu_ops.n; i++)
		if (d->gpu_ops.v[i].kind == kind && (!name || strcmp(cprof_str(d, d->gpu_ops.v[i].name), name) == 0))
			return &d->gpu_ops.v[i];
	return NULL;
}

static const char *leaf_func(const struct cprof_data *d, uint32_t stack)
{
	ASSERT(stack != GPU_NO_STACK);
	ASSERT(cprof_stack_len(d, stack) > 0);
	return cprof_str(d, d->frames.v[cprof_stack_frames(d, stack)[0]].func);
}

TEST(convert_and_import)
{
	struct cprof_data d;
	struct gpu_import_stats ist;
	build_recording(&d, &ist);
	ASSERT_EQ(ist.kernels, 40);
	ASSERT_EQ(ist.copies, 13);
	ASSERT_EQ(ist.memsets, 1);
	ASSERT_EQ(ist.syncs, 1);
	ASSERT_EQ(ist.api_calls, 52);
	ASSERT_EQ(ist.with_stack, 52);   /* every kernel and the 12 sync copies */
	ASSERT_EQ(ist.without_stack, 2); /* the async copy and the memset had no callback */

	const struct cprof_gpu_op *a = find_op(&d, GPU_OP_KERNEL, "kernelA(float*, int)");
	ASSERT(a); /* demangled */
	ASSERT_EQ(a->end - a->start, 100 * US);
	ASSERT_EQ(a->grid[0], 256);
	ASSERT_EQ(a->grid[1], 2);
	ASSERT_EQ(a->block[0], 128);
	ASSERT_EQ(a->regs, 32);
	ASSERT_EQ(a->smem_static, 1024);
	ASSERT_EQ(a->smem_dynamic, 2048);
	ASSERT_EQ(a->stream, 7);
	ASSERT_EQ(a->tid, (uint32_t)getpid());
	/* The stack starts at the user code: the capturing frame is gone. */
	ASSERT_STREQ(leaf_func(&d, a->stack), "launch_site_a");
	ASSERT_STREQ(leaf_func(&d, find_op(&d, GPU_OP_KERNEL, "kernelB()")->stack), "launch_site_b");
	const struct cprof_gpu_op *c = find_op(&d, GPU_OP_MEMCPY, NULL);
	ASSERT(c);
	ASSERT_EQ(c->copy_kind, GPU_COPY_HTOD);
	ASSERT_EQ(c->bytes, 1000000);
	ASSERT_EQ(c->src_kind, GPU_MEM_PAGEABLE);
	ASSERT_EQ(c->flags & GOF_ASYNC, 0);
	ASSERT_STREQ(leaf_func(&d, c->stack), "launch_site_copy");
	/* API names lose CUPTI's version suffix. */
	ASSERT_STREQ(cprof_str(&d, d.gpu_api.v[0].name), "cudaLaunchKernel");
	for (size_t i = 1; i < d.gpu_ops.n; i++)
		ASSERT(d.gpu_ops.v[i - 1].start <= d.gpu_ops.v[i].start);

	/* Through the data file and back. */
	uint8_t *bytes;
	size_t len;
	struct cprof_err err;
	ASSERT_OK(cprof_data_serialize(&d, &bytes, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, bytes, len, "mem", &err));
	ASSERT_EQ(e.gpu_ops.n, d.gpu_ops.n);
	ASSERT_EQ(e.gpu_api.n, d.gpu_api.n);
	ASSERT(memcmp(e.gpu_ops.v, d.gpu_ops.v, d.gpu_ops.n * sizeof *d.gpu_ops.v) == 0);
	ASSERT_STREQ(leaf_func(&e, find_op(&e, GPU_OP_KERNEL, "kernelA(float*, int)")->stack), "launch_site_a");
	free(bytes);
	cprof_data_release(&e);
	cprof_data_release(&d);
}

TEST(summary)
{
	struct cprof_data d;
	struct gpu_import_stats ist;
	struct gpu_summary s;
	struct cprof_err err;
	build_recording(&d, &ist);
	ASSERT_OK(gpu_summary_build(&s, &d, &err));
	ASSERT_EQ(s.kernels.n, 2);
	ASSERT_STREQ(cprof_str(&d, s.kernels.v[0].name), "kernelA(float*, int)");
	ASSERT_EQ(s.kernels.v[0].calls, 10);
	ASSERT_EQ(s.kernels.v[0].total_ns, 1000 * US);
	ASSERT_EQ(s.kernels.v[1].calls, 30);
	ASSERT_EQ(s.kernels.v[1].total_ns, 60 * US);
	ASSERT_EQ(s.kernels.v[1].min_ns, 2 * US);
	ASSERT_EQ(s.copies.n, 2);
	ASSERT_EQ(s.copies.v[0].kind, GPU_COPY_HTOD); /* 12 MB before 4 MB */
	ASSERT_EQ(s.copies.v[0].bytes, 12000000);
	ASSERT_EQ(s.copies.v[0].pageable, 12);
	ASSERT_EQ(s.copies.v[0].sync, 12);
	ASSERT_EQ(s.copies.v[1].bytes, 4000000);
	ASSERT_EQ(s.kernel_ns, 1060 * US);
	ASSERT_EQ(s.copy_ns, 7000 * US);
	ASSERT_EQ(s.memset_ns, 10 * US);
	ASSERT_EQ(s.sync_ns, 20 * US);
	/* Busy: all work back to back except the 30 gaps of 50 us before kernelB launches. */
	ASSERT_EQ(s.busy_ns, (1060 + 7000 + 10) * US);
	ASSERT_EQ(s.last_ns - s.first_ns - s.busy_ns, 30 * 50 * US);
	ASSERT_EQ(s.gaps, 30);
	ASSERT_EQ(s.longest_gap_ns, 50 * US);
	ASSERT_EQ(s.dropped, 3);
	/* Launch sites by GPU time: the copies' (6 ms) first. */
	ASSERT_EQ(s.sites.n, 4);
	struct sbuf l = SBUF_INIT;
	gpu_site_label(&s, &s.sites.v[0], &l);
	ASSERT(strncmp(l.buf, "launch_site_copy (test-gpu.c:", 29) == 0);
	ASSERT_EQ(s.sites.v[0].gpu_ns, 6000 * US);
	ASSERT_EQ(s.sites.v[0].sync_copies, 12);
	/* Then the async copy and the memset, which had no launch callback (1.01 ms). */
	sbuf_reset(&l);
	gpu_site_label(&s, &s.sites.v[1], &l);
	ASSERT_STREQ(l.buf, "[no launch stack]");
	ASSERT_EQ(s.sites.v[1].gpu_ns, 1010 * US);
	ASSERT_EQ(s.sites.v[2].gpu_ns, 1000 * US);
	ASSERT_EQ(s.sites.v[3].gpu_ns, 60 * US);
	sbuf_release(&l);
	/* Findings: idle gaps are 1.5 ms of 9.57 ms (15.7%), kernelB is tiny,
	 * 12 pageable copies, 12 synchronous copies from one site. */
	bool seen[4] = { false };
	for (size_t i = 0; i < s.findings.n; i++)
		seen[s.findings.v[i].kind] = true;
	ASSERT_EQ(s.findings.n, 4);
	ASSERT(seen[FINDING_IDLE_GAPS] && seen[FINDING_TINY_KERNELS] && seen[FINDING_PAGEABLE] &&
	       seen[FINDING_SYNC_COPY_LOOP]);
	gpu_summary_release(&s);
	cprof_data_release(&d);
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	ASSERT(fp);
	fn(fp, arg);
	fclose(fp);
	return buf;
}

static const struct gpu_summary *cur_summary;
static void do_text(FILE *fp, const void *arg)
{
	struct gpu_report_opts o = { .input = "x.data" };
	(void)arg;
	gpu_report_text(fp, cur_summary, &o);
}
static void do_json(FILE *fp, const void *arg)
{
	struct gpu_report_opts o = { .input = "x.data" };
	(void)arg;
	gpu_report_json(fp, cur_summary, &o);
}
static void do_csv(FILE *fp, const void *arg)
{
	struct gpu_report_opts o = { .input = "x.data" };
	(void)arg;
	gpu_report_csv(fp, cur_summary, &o);
}
static void do_timeline(FILE *fp, const void *arg)
{
	if (timeline_write(fp, arg, NULL) < 0)
		fputs("timeline_write failed", fp);
}

TEST(outputs)
{
	struct cprof_data d;
	struct gpu_import_stats ist;
	struct gpu_summary s;
	struct cprof_err err;
	build_recording(&d, &ist);
	ASSERT_OK(gpu_summary_build(&s, &d, &err));
	cur_summary = &s;
	char *text = capture(do_text, NULL);
	ASSERT(strstr(text, "kernelA(float*, int)"));
	ASSERT(strstr(text, "(256,2,1)x(128,1,1) 32r"));
	ASSERT(strstr(text, "HtoD       12    12.00 MB     6.00 ms   2.00 GB/s        12    12"));
	ASSERT(strstr(text, "launch_site_copy"));
	ASSERT(strstr(text, "warning: 3 GPU activity records were dropped"));
	free(text);
	char *json = capture(do_json, NULL);
	ASSERT(strstr(json, "\"schema\":\"cprof-gpu-report/1\""));
	ASSERT(strstr(json, "\"name\":\"kernelB()\",\"calls\":30,\"total_ns\":60000,\"avg_ns\":2000"));
	ASSERT(strstr(json, "\"kind\":\"HtoD\",\"calls\":12,\"bytes\":12000000,\"total_ns\":6000000,\"bandwidth_gbps\":2.0000"));
	ASSERT(strstr(json, "\"kind\":\"tiny-kernels\""));
	free(json);
	char *csv = capture(do_csv, NULL);
	ASSERT(strstr(csv, "kernel,\"kernelA(float*, int)\",10,1000000,100000,100000,100000,"));
	ASSERT(strstr(csv, "memcpy,DtoH,1,1000000,1000000,,,"));
	free(csv);
	char *tl = capture(do_timeline, &d);
	ASSERT(strstr(tl, "\"traceEvents\":["));
	ASSERT(strstr(tl, "\"args\":{\"name\":\"GPU 0 stream 7\"}"));
	ASSERT(strstr(tl, "{\"name\":\"kernelA(float*, int)\",\"cat\":\"gpu-kernel\",\"ph\":\"X\""));
	/* Time 0 is the first event, the first launch call 5 us before its
	 * kernel; the kernel lasts 100 us. */
	ASSERT(strstr(tl, "\"ts\":5.000,\"dur\":100.000"));
	ASSERT(strstr(tl, "\"ph\":\"s\""));
	ASSERT(strstr(tl, "\"ph\":\"f\",\"bp\":\"e\""));
	free(tl);

	struct flamegraph g;
	fg_init(&g);
	gpu_flamegraph_add(&g, &d);
	ASSERT_EQ(g.nodes.v[0].total, s.kernel_ns + s.copy_ns + s.memset_ns);
	/* kernelA sits right under launch_site_a. */
	bool found = false;
	for (size_t i = 1; i < g.nodes.n; i++) {
		const struct fg_node *n = &g.nodes.v[i];
		const struct fg_name *nm = &g.names.v[n->name];
		if (nm->len == strlen("kernelA(float*, int)") &&
		    memcmp(g.names_buf.buf + nm->off, "kernelA(float*, int)", nm->len) == 0) {
			const struct fg_name *pn = &g.names.v[g.nodes.v[n->parent].name];
			ASSERT(pn->len == 13 && memcmp(g.names_buf.buf + pn->off, "launch_site_a", 13) == 0);
			ASSERT_EQ(n->total, 1000 * US);
			found = true;
		}
	}
	ASSERT(found);
	fg_release(&g);
	gpu_summary_release(&s);
	cprof_data_release(&d);
}

TEST(stream_damage)
{
	/* A process killed mid-write leaves a torn record: kept up to it, counted. */
	struct gpu_trace t;
	struct cprof_err err;
	uint8_t buf[GPU_STREAM_HDR + 8 + GO_SIZE + 8 + 4];
	gpu_stream_header(buf);
	struct cprof_gpu_op op = { .kind = GPU_OP_KERNEL, .start = 1, .end = 2 };
	put_le32(buf + GPU_STREAM_HDR, GS_OP);
	put_le32(buf + GPU_STREAM_HDR + 4, GO_SIZE);
	gpu_op_encode(buf + GPU_STREAM_HDR + 8, &op);
	put_le32(buf + GPU_STREAM_HDR + 8 + GO_SIZE, GS_OP);
	put_le32(buf + GPU_STREAM_HDR + 8 + GO_SIZE + 4, GO_SIZE); /* claims more than is there */
	gpu_trace_init(&t);
	ASSERT_OK(gpu_trace_parse(&t, buf, sizeof buf, "torn", &err));
	ASSERT_EQ(t.ops.n, 1);
	ASSERT_EQ(t.bad_records, 1);
	gpu_trace_release(&t);
	/* Not a stream at all. */
	gpu_trace_init(&t);
	ASSERT_EQ(gpu_trace_parse(&t, (const uint8_t *)"PERFILE2xxxxxxxxxx", 18, "junk", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "'junk': not a GPU activity stream"));
	gpu_trace_release(&t);
}

TEST(injection_without_gpu)
{
	/* The driver would call InitializeInjection; without one CUPTI refuses
	 * to enable activity, and the collector must say so and not crash. */
	if (!lib_path)
		SKIP("no collector path given");
	if (access("/dev/nvidiactl", F_OK) == 0)
		SKIP("a GPU driver is present: this checks the no-GPU path");
	char path[] = "/tmp/cprof-test-gpu.XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	uint8_t hdr[GPU_STREAM_HDR];
	gpu_stream_header(hdr);
	ASSERT_EQ(write(fd, hdr, sizeof hdr), (long)sizeof hdr);
	close(fd);
	setenv("CPROF_GPU_OUT", path, 1);
	void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	ASSERT(h);
	int (*init)(void) = (int (*)(void))dlsym(h, "InitializeInjection");
	ASSERT(init);
	ASSERT_EQ(init(), 1);
	ASSERT_EQ(init(), 1); /* idempotent */
	FILE *fp = fopen(path, "rb");
	ASSERT(fp);
	static uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	unlink(path);
	struct gpu_trace t;
	struct cprof_err err;
	gpu_trace_init(&t);
	ASSERT_OK(gpu_trace_parse(&t, buf, n, path, &err));
	ASSERT(strstr(t.notes.buf, "failed: "));
	ASSERT_EQ(t.ops.n, 0);
	gpu_trace_release(&t);
	/* Left loaded: its atexit handler runs at exit and must not crash either. */
}

static void write_recording(const char *out)
{
	struct cprof_data d;
	struct gpu_import_stats ist;
	struct cprof_err err;
	build_recording(&d, &ist);
	cprof_meta_set(&d, "gpu", "recorded");
	struct outfile of;
	if (outfile_open(&of, out, OUTFILE_PRIVATE, &err) < 0 || cprof_data_write(&d, &of, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	cprof_data_release(&d);
}

static const struct test_case cases[] = {
	T(convert_and_import), T(summary), T(outputs), T(stream_damage), T(injection_without_gpu),
};

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--write") == 0) {
		write_recording(argv[2]);
		return 0;
	}
	lib_path = argc > 1 ? argv[1] : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
	}
	printf("%zu cases passed\n", ARRAY_SIZE(cases));
	return 0;
}
