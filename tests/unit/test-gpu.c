/*
 * test-gpu.c - the GPU pipeline without a GPU: synthesized CUPTI activity
 * records (CUpti_ActivityKernel10, Memcpy6, MemcpyPtoP4, Memset4,
 * ActivityAPI, Synchronization2) walked with the real libcupti's record
 * iterator and converted by the collector's own code, callback data for
 * the launch sites with real stacks of this program, the collector's
 * stream written by the collector itself in a forked child and read back,
 * imported (symbolized against the child's mappings, which are this
 * process's) and then summarized, reported, drawn and exported. The
 * collector's process machinery (flush thread, signals, fork, exit) runs
 * in forked children with a fake CUPTI flush.
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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/gpu/activity.h"
#include "../../src/gpu/collector.h"
#include "../../src/gpu/convert.h"
#include "cprof/export.h"
#include "cprof/flamegraph.h"
#include "cprof/gpu-record.h"
#include "cprof/gpu-report.h"
#include "cprof/gpu-stream.h"
#include "cprof/outfile.h"
#include "cprof/record.h"
#include "cprof/timeline.h"
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
static __attribute__((noinline)) void cudaTestApiEnter(uint32_t corr)
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
	gpu_collector_launch(corr, GPU_API_RUNTIME, ips64, (uint32_t)n);
}

static __attribute__((noinline)) void launch_site_a(uint32_t corr)
{
	cudaTestApiEnter(corr);
	__asm__ volatile("" ::: "memory"); /* keep the call from becoming a tail call */
}

static __attribute__((noinline)) void launch_site_b(uint32_t corr)
{
	cudaTestApiEnter(corr);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void launch_site_copy(uint32_t corr)
{
	cudaTestApiEnter(corr);
	__asm__ volatile("" ::: "memory");
}

/* Build the activity buffer and the launch stacks, then run the buffer
 * through CUPTI's iterator and the collector's conversion into the
 * collector's stream, as buffer_completed does. In a forked child. */
static void synthesize(void)
{
	struct act_buf b = { 0 };
	uint64_t t = T0;
	for (int i = 0; i < 10; i++) {
		uint32_t c = next_corr++;
		launch_site_a(c);
		api(&b, c, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, t - 5 * US, t - 1 * US);
		kernel(&b, "_Z7kernelAPfi", c, t, 100 * US);
		t += 100 * US;
	}
	for (int i = 0; i < 30; i++) {
		uint32_t c = next_corr++;
		t += 50 * US;
		launch_site_b(c);
		api(&b, c, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, t - 5 * US, t - 1 * US);
		kernel(&b, "_Z7kernelBv", c, t, 2 * US);
		t += 2 * US;
	}
	for (int i = 0; i < 12; i++) {
		uint32_t c = next_corr++;
		launch_site_copy(c);
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

	gpu_activity_buffer(b.p, b.len, cuptiActivityGetNextRecord);
	gpu_collector_count(GL_DROPPED, 3);
	gpu_collector_finish(GS_END_EXIT, 0);
	free(b.p);
}

/* ---- streams and children ---- */

/* A new stream file with its header, as cprof record makes it. */
static char *new_stream(void)
{
	char *path = xstrdup("/tmp/cprof-test-gpu.XXXXXX");
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	uint8_t hdr[GPU_STREAM_HDR];
	gpu_stream_header(hdr);
	ASSERT_EQ(write(fd, hdr, sizeof hdr), (long)sizeof hdr);
	close(fd);
	return path;
}

static void read_file(const char *path, struct sbuf *out)
{
	FILE *fp = fopen(path, "rb");
	ASSERT(fp);
	char chunk[65536];
	size_t n;
	sbuf_reset(out);
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		sbuf_add(out, chunk, n);
	fclose(fp);
}

static void parse_stream(const char *path, struct gpu_trace *t)
{
	struct sbuf buf = SBUF_INIT;
	struct cprof_err err;
	read_file(path, &buf);
	gpu_trace_init(t);
	ASSERT_OK(gpu_trace_parse(t, (const uint8_t *)buf.buf, buf.len, path, &err));
	sbuf_release(&buf);
}

/* Records of type in a stream file (-1 if it does not parse as records). */
static long count_records(const char *path, uint32_t type)
{
	struct sbuf buf = SBUF_INIT;
	read_file(path, &buf);
	long n = 0;
	size_t off = GPU_STREAM_HDR;
	while (off + 8 <= buf.len) {
		const uint8_t *p = (const uint8_t *)buf.buf + off;
		n += get_le32(p) == type;
		off += 8 + get_le32(p + 4);
	}
	if (off != buf.len)
		n = -1;
	sbuf_release(&buf);
	return n;
}

/* Wait for a child at most secs; a child still running then is killed
 * and the test fails: whatever it does must not hang. */
static int wait_child(pid_t c, int secs)
{
	int status;
	for (int i = 0; i < secs * 100; i++) {
		pid_t r = waitpid(c, &status, WNOHANG);
		ASSERT(r >= 0);
		if (r == c)
			return status;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	kill(c, SIGKILL);
	waitpid(c, &status, 0);
	FAIL_("child %d still running after %d s: it hangs", (int)c, secs);
}

/* Until at least n records of type are in the stream, at most secs. */
static bool wait_records(const char *path, uint32_t type, long n, int secs)
{
	for (int i = 0; i < secs * 100; i++) {
		if (count_records(path, type) >= n)
			return true;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* This process's executable mappings, as the recorder's MMAP2 records would give them. */
static void self_maps(struct raw_store *st, uint32_t pid)
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
		struct raw_mmap m = { .start = s, .len = e - s, .pgoff = off, .pid = pid, .tid = pid,
				      .path = xstrdup(name) };
		vec_push(&st->mmaps, m);
	}
	fclose(fp);
}

/* The whole pipeline into a recording, as cprof record --gpu would write
 * it: the collector writes the stream in a child, this process imports it. */
static void build_recording(struct cprof_data *d, struct gpu_import_stats *ist)
{
	char *path = new_stream();
	pid_t c = fork();
	ASSERT(c >= 0);
	if (c == 0) {
		if (gpu_collector_open(path) < 0)
			_exit(2);
		synthesize();
		_exit(0);
	}
	int status = wait_child(c, 60);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Names and stacks once each: 3 launch sites from one thread, 2 kernel
	 * and 2 API names, and a launch record per launch. */
	ASSERT_EQ(count_records(path, GS_STACK), 3);
	ASSERT_EQ(count_records(path, GS_NAME), 4);
	ASSERT_EQ(count_records(path, GS_LAUNCH), 10 + 30 + 12);
	struct gpu_trace t;
	parse_stream(path, &t);
	unlink(path);
	free(path);
	ASSERT_EQ(t.bad_records, 0);
	ASSERT_EQ(t.stacks.n, 10 + 30 + 12);
	ASSERT_EQ(t.loss[GL_DROPPED], 3);
	ASSERT_EQ(t.ends, 1);

	struct raw_store st = { 0 };
	self_maps(&st, (uint32_t)c);
	cprof_data_init(d);
	cprof_meta_set(d, "command", "synthetic-cuda-app");
	struct cprof_event ev = { .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "ns") };
	vec_push(&d->events, ev);
	/* One CPU sample so the file is a complete recording. */
	struct cprof_frame f = { .func = cprof_intern(d, "main"), .dso = cprof_intern(d, "/synthetic") };
	uint32_t fr = cprof_add_frame(d, &f);
	struct cprof_sample smp = { .time = T0, .period = 1000000, .pid = (uint32_t)c, .tid = (uint32_t)c,
				    .stack = cprof_add_stack(d, &fr, 1, 0) };
	vec_push(&d->samples, smp);
	gpu_import(d, &t, &st, ist);
	gpu_import_meta(d, ist);
	ASSERT_EQ(ist->processes_ended, 1);
	raw_store_release(&st);
	gpu_trace_release(&t);
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
	ASSERT(a->tid != 0 && a->tid == a->pid); /* the child's main thread launched it */
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
	ASSERT_EQ(s.devices.n, 1);
	ASSERT_EQ(s.busy_ns, (1060 + 7000 + 10) * US);
	ASSERT_EQ(s.span_ns - s.busy_ns, 30 * 50 * US);
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
	static const struct timeline_track *const tracks[] = { &gpu_timeline, NULL };
	if (timeline_write(fp, arg, tracks, NULL) < 0)
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
	ASSERT(strstr(text, "# GPU busy 8.07 ms of 9.57 ms (84.3%), idle 1.50 ms in 30 gaps"));
	free(text);
	char *json = capture(do_json, NULL);
	ASSERT(strstr(json, "\"schema\":\"cprof-gpu-report/1\""));
	ASSERT(strstr(json, "\"name\":\"kernelB()\",\"calls\":30,\"total_ns\":60000,\"avg_ns\":2000"));
	ASSERT(strstr(json, "\"kind\":\"HtoD\",\"calls\":12,\"bytes\":12000000,\"total_ns\":6000000,\"bandwidth_gbps\":2.0000"));
	ASSERT(strstr(json, "\"kind\":\"tiny-kernels\""));
	ASSERT(strstr(json, "\"devices\":[{\"device\":0,\"span_ns\":9570000,\"busy_ns\":8070000,"));
	ASSERT(strstr(json, "\"loss\":{\"dropped_records\":3,\"incomplete_buffers\":0,"));
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
			uint32_t parent = 0;
			for (uint32_t j = 0; j < g.nodes.n && !parent; j++)
				for (uint32_t c = g.nodes.v[j].first_child; c; c = g.nodes.v[c].next_sibling)
					if (c == i)
						parent = j;
			const struct fg_name *pn = &g.names.v[g.nodes.v[parent].name];
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

/* ---- the collector's conversion: what it keeps, drops and counts ---- */

struct sink {
	VEC(struct cprof_gpu_op) ops;
	VEC(struct cprof_gpu_api) api;
	int mismatches;
	size_t mismatch_got;
};

static void sink_op(void *ctx, struct cprof_gpu_op *op, const char *name)
{
	struct sink *k = ctx;
	(void)name;
	vec_push(&k->ops, *op);
}

static void sink_api(void *ctx, struct cprof_gpu_api *a)
{
	struct sink *k = ctx;
	vec_push(&k->api, *a);
}

static void sink_mismatch(void *ctx, CUpti_ActivityKind kind, size_t got, size_t want)
{
	struct sink *k = ctx;
	(void)kind;
	(void)want;
	k->mismatches++;
	k->mismatch_got = got;
}

static struct gpu_walk sink_walk(struct sink *k)
{
	memset(k, 0, sizeof *k);
	return (struct gpu_walk){ .next = cuptiActivityGetNextRecord, .emit_op = sink_op, .emit_api = sink_api,
				  .layout_mismatch = sink_mismatch, .ctx = k };
}

static void sink_release(struct sink *k)
{
	vec_release(&k->ops);
	vec_release(&k->api);
}

TEST(walk_filters_and_counts)
{
	struct act_buf b = { 0 };
	kernel(&b, "_Z2okv", 1, T0, 10 * US);
	kernel(&b, "_Z6untimedv", 2, 0, 0); /* CUPTI could not time it: start = end = 0 */
	kernel(&b, "_Z8backwardv", 3, T0 + 50 * US, 0);
	((CUpti_ActivityKernel10 *)(b.p + b.len - sizeof(CUpti_ActivityKernel10)))->end = T0; /* ends before it starts */
	kernel(&b, "_Z7no_endv", 4, T0, 0);
	((CUpti_ActivityKernel10 *)(b.p + b.len - sizeof(CUpti_ActivityKernel10)))->end = 0; /* unfinished */
	api(&b, 5, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, T0, T0 + US);
	CUpti_ActivityMemcpyPtoP4 pp;
	memset(&pp, 0, sizeof pp);
	pp.kind = CUPTI_ACTIVITY_KIND_MEMCPY2;
	pp.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_PTOP;
	pp.srcKind = pp.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	pp.flags = CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC;
	pp.bytes = 1 << 20;
	pp.start = T0;
	pp.end = T0 + 20 * US;
	pp.deviceId = 1;
	pp.srcDeviceId = 1;
	pp.dstDeviceId = 0;
	pp.correlationId = 6;
	put_rec(&b, &pp, sizeof pp);
	memcpy_rec(&b, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD, CUPTI_ACTIVITY_MEMORY_KIND_PINNED,
		   CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, true, 7, T0, 5 * US, 4096);
	((CUpti_ActivityMemcpy6 *)(b.p + b.len - sizeof(CUpti_ActivityMemcpy6)))->copyCount = 8; /* a batch */
	CUpti_ActivitySynchronization2 sy;
	memset(&sy, 0, sizeof sy);
	sy.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
	sy.start = T0;
	sy.end = T0 + US;
	sy.contextId = 3;
	put_rec(&b, &sy, sizeof sy);

	struct sink k;
	struct gpu_walk w = sink_walk(&k);
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(k.ops.n, 4); /* ok, the peer copy, the batched copy, the sync */
	ASSERT_EQ(k.api.n, 1);
	ASSERT_EQ(k.api.v[0].domain, GPU_API_RUNTIME);
	ASSERT_EQ(w.loss[GL_UNTIMED], 1);
	ASSERT_EQ(w.loss[GL_UNFINISHED], 2);
	ASSERT_EQ(w.loss[GL_CUT_BUFFERS], 0);
	ASSERT_EQ(k.ops.v[0].corr, 1);
	const struct cprof_gpu_op *p2p = &k.ops.v[1];
	ASSERT_EQ(p2p->kind, GPU_OP_MEMCPY);
	ASSERT_EQ(p2p->copy_kind, GPU_COPY_PTOP);
	ASSERT_EQ(p2p->device, 1);
	ASSERT_EQ(p2p->corr, 6);
	ASSERT_EQ(p2p->bytes, 1 << 20);
	ASSERT(p2p->flags & GOF_ASYNC);
	ASSERT_EQ(gpu_op_count(&k.ops.v[2]), 8);
	ASSERT_EQ(k.ops.v[3].kind, GPU_OP_SYNC);
	ASSERT_EQ(k.ops.v[3].device, GPU_DEVICE_UNKNOWN); /* the record names no device */
	ASSERT_EQ(k.ops.v[3].context, 3);
	sink_release(&k);

	/* The same buffer in the flush at exit: unfinished means still running. */
	w = sink_walk(&k);
	w.at_exit = true;
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(w.loss[GL_UNFINISHED_AT_EXIT], 3);
	ASSERT_EQ(w.loss[GL_UNTIMED] + w.loss[GL_UNFINISHED], 0);
	sink_release(&k);

	/* An unfinished record stops CUPTI's iterator: what follows is lost,
	 * the buffer is counted, what came before is kept. */
	b.len = 0;
	kernel(&b, "_Z2okv", 1, T0, 10 * US);
	CUpti_ActivityAPI torn;
	memset(&torn, 0, sizeof torn);
	torn.kind = CUPTI_ACTIVITY_KIND_INVALID;
	put_rec(&b, &torn, sizeof torn);
	kernel(&b, "_Z2okv", 2, T0 + 20 * US, 10 * US);
	w = sink_walk(&k);
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(k.ops.n, 1);
	ASSERT_EQ(w.loss[GL_CUT_BUFFERS], 1);
	sink_release(&k);
	w = sink_walk(&k);
	w.at_exit = true;
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(w.loss[GL_CUT_AT_EXIT], 1);
	ASSERT_EQ(w.loss[GL_CUT_BUFFERS], 0);
	sink_release(&k);
	free(b.p);
}

/* A newer libcupti as the iterator would show it: kernel records 8 bytes
 * longer than Kernel10, everything else as in 13.0. */
static CUptiResult newer_next(uint8_t *buf, size_t valid, CUpti_Activity **rec)
{
	size_t off = 0;
	if (*rec) {
		size_t sz = gpu_record_size((*rec)->kind);
		if ((*rec)->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL)
			sz += 8;
		off = (size_t)((uint8_t *)*rec - buf) + sz;
	}
	if (off >= valid)
		return CUPTI_ERROR_MAX_LIMIT_REACHED;
	*rec = (CUpti_Activity *)(buf + off);
	return CUPTI_SUCCESS;
}

TEST(walk_record_layouts)
{
	struct act_buf b = { 0 };
	uint8_t pad[8] = { 0 };
	for (int i = 0; i < 3; i++) {
		api(&b, 10 + i, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, T0, T0 + US);
		kernel(&b, "_Z2okv", 10 + i, T0 + 2 * US, US);
		put_rec(&b, pad, sizeof pad); /* the newer struct's extra field */
	}
	struct gpu_layouts layouts;
	memset(&layouts, 0, sizeof layouts);
	struct sink k;
	struct gpu_walk w = sink_walk(&k);
	w.next = newer_next;
	w.layouts = &layouts;
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(k.api.n, 3);
	ASSERT_EQ(k.ops.n, 0);
	ASSERT_EQ(w.loss[GL_UNKNOWN_LAYOUT], 3);
	ASSERT_EQ(k.mismatches, 1); /* said once per kind */
	ASSERT_EQ(k.mismatch_got, sizeof(CUpti_ActivityKernel10) + 8);
	sink_release(&k);
	/* A second buffer of the process: already known, not said again. */
	w = sink_walk(&k);
	w.next = newer_next;
	w.layouts = &layouts;
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(w.loss[GL_UNKNOWN_LAYOUT], 3);
	ASSERT_EQ(k.mismatches, 0);
	sink_release(&k);
	/* The headers' own libcupti: sizes match and everything is kept. */
	b.len = 0;
	for (int i = 0; i < 3; i++) {
		api(&b, 10 + i, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, T0, T0 + US);
		kernel(&b, "_Z2okv", 10 + i, T0 + 2 * US, US);
	}
	memset(&layouts, 0, sizeof layouts);
	w = sink_walk(&k);
	w.layouts = &layouts;
	gpu_walk_buffer(&w, b.p, b.len);
	ASSERT_EQ(k.ops.n, 3);
	ASSERT_EQ(k.api.n, 3);
	ASSERT_EQ(w.loss[GL_UNKNOWN_LAYOUT], 0);
	sink_release(&k);
	free(b.p);
}

/* ---- which API calls get a stack ---- */

static CUptiResult newer_names(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const char **name)
{
	/* libcupti's names, plus two launch functions past the headers' ids. */
	CUpti_CallbackId size = domain == CUPTI_CB_DOMAIN_RUNTIME_API ? CUPTI_RUNTIME_TRACE_CBID_SIZE
								     : CUPTI_DRIVER_TRACE_CBID_SIZE;
	if (cbid == size || cbid == size + 1) {
		*name = domain == CUPTI_CB_DOMAIN_RUNTIME_API ? "cudaLaunchKernel_v99999" : "cuLaunchKernelEx_v2";
		return CUPTI_SUCCESS;
	}
	return cuptiGetCallbackName(domain, cbid, name);
}

struct enabled {
	VEC(uint64_t) ids; /* domain << 32 | cbid */
};

static CUptiResult fake_enable(void *ctx, CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	struct enabled *e = ctx;
	/* One function refuses: the others must still be enabled. */
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API && cbid == CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020)
		return CUPTI_ERROR_INVALID_PARAMETER;
	vec_push(&e->ids, (uint64_t)domain << 32 | cbid);
	return CUPTI_SUCCESS;
}

static bool was_enabled(const struct enabled *e, CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	for (size_t i = 0; i < e->ids.n; i++)
		if (e->ids.v[i] == ((uint64_t)domain << 32 | cbid))
			return true;
	return false;
}

TEST(capture_sites)
{
	const CUpti_CallbackDomain RT = CUPTI_CB_DOMAIN_RUNTIME_API, DRV = CUPTI_CB_DOMAIN_DRIVER_API;
	ASSERT(gpu_is_capture_name(RT, "cudaLaunchKernel_v7000"));
	ASSERT(gpu_is_capture_name(RT, "__cudaLaunchKernel_v13000"));
	ASSERT(gpu_is_capture_name(RT, "cudaMemcpyAsync_ptsz_v7000"));
	ASSERT(gpu_is_capture_name(RT, "cudaGraphLaunch_v10000"));
	ASSERT(gpu_is_capture_name(DRV, "cuLaunchKernel"));
	ASSERT(gpu_is_capture_name(DRV, "cuMemsetD8Async_ptsz"));
	/* Host functions run on the CPU: no stack, no backtrace(). */
	ASSERT(!gpu_is_capture_name(RT, "cudaLaunchHostFunc_v10000"));
	ASSERT(!gpu_is_capture_name(RT, "cudaLaunchHostFunc_ptsz_v10000"));
	ASSERT(!gpu_is_capture_name(DRV, "cuLaunchHostFunc"));
	ASSERT(!gpu_is_capture_name(DRV, "cuLaunchHostFunc_ptsz"));
	ASSERT(!gpu_is_capture_name(RT, "cudaMalloc_v3020"));
	ASSERT(!gpu_is_capture_name(CUPTI_CB_DOMAIN_RESOURCE, "cudaLaunchKernel"));

	struct enabled e = { 0 };
	struct gpu_enable_result res;
	gpu_enable_capture_sites(newer_names, fake_enable, &e, &res);
	ASSERT_EQ(res.failed, 1);
	ASSERT_EQ(res.first_error, CUPTI_ERROR_INVALID_PARAMETER);
	ASSERT_STREQ(res.first_failed, "cudaMemcpy_v3020");
	ASSERT_EQ(res.enabled, e.ids.n);
	/* Past the failure, in both domains, and past the headers' ids. */
	ASSERT(was_enabled(&e, RT, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000));
	ASSERT(was_enabled(&e, RT, CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000));
	ASSERT(was_enabled(&e, DRV, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel));
	ASSERT(was_enabled(&e, RT, CUPTI_RUNTIME_TRACE_CBID_SIZE));
	ASSERT(was_enabled(&e, RT, CUPTI_RUNTIME_TRACE_CBID_SIZE + 1));
	ASSERT(was_enabled(&e, DRV, CUPTI_DRIVER_TRACE_CBID_SIZE + 1));
	ASSERT(!was_enabled(&e, DRV, CUPTI_DRIVER_TRACE_CBID_cuLaunchHostFunc));
	ASSERT(!was_enabled(&e, DRV, CUPTI_DRIVER_TRACE_CBID_cuLaunchHostFunc_ptsz));
	ASSERT(!was_enabled(&e, RT, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchHostFunc_v10000));
	vec_release(&e.ids);

	char msg[512];
	gpu_subscribe_note(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED, "x", "CUPTI for nsys", msg, sizeof msg);
	ASSERT_STREQ(msg, "another CUPTI tool is attached to this process (CUPTI for nsys); cprof leaves the GPU to it "
			  "and records only the CPU profile");
	gpu_subscribe_note(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED, "x", "", msg, sizeof msg);
	ASSERT(strstr(msg, "another CUPTI tool is attached to this process (it did not say which: Nsight Systems"));
	ASSERT(!strchr(msg, '\n'));
	gpu_subscribe_note(CUPTI_ERROR_UNKNOWN, "CUPTI_ERROR_UNKNOWN", "", msg, sizeof msg);
	ASSERT_STREQ(msg, "cuptiSubscribe failed: CUPTI_ERROR_UNKNOWN (999); GPU activity is not recorded");
}

/* ---- streams: ids per process ---- */

static void put_raw(struct sbuf *b, uint32_t type, const void *payload, size_t n)
{
	uint8_t h[8];
	put_le32(h, type);
	put_le32(h + 4, (uint32_t)n);
	sbuf_add(b, h, 8);
	sbuf_add(b, payload, n);
}

static void put_name(struct sbuf *b, uint32_t pid, uint32_t id, const char *name)
{
	uint8_t p[64];
	put_le32(p, pid);
	put_le32(p + 4, id);
	memcpy(p + 8, name, strlen(name));
	put_raw(b, GS_NAME, p, 8 + strlen(name));
}

static void put_op(struct sbuf *b, uint32_t pid, uint32_t name, uint32_t corr)
{
	uint8_t p[GO_SIZE];
	struct cprof_gpu_op op = { .kind = GPU_OP_KERNEL, .start = T0, .end = T0 + 1, .pid = pid, .name = name,
				   .corr = corr };
	gpu_op_encode(p, &op);
	put_raw(b, GS_OP, p, GO_SIZE);
}

TEST(stream_ids)
{
	struct sbuf b = SBUF_INIT;
	uint8_t hdr[GPU_STREAM_HDR], p[64];
	gpu_stream_header(hdr);
	sbuf_add(&b, hdr, sizeof hdr);
	/* Two processes use id 1 for different names. */
	put_name(&b, 100, 1, "_Z1av");
	put_name(&b, 200, 1, "_Z1bv");
	put_op(&b, 200, 1, 7);
	put_op(&b, 100, 1, 7);
	/* A stack of pid 100 and two launches from it. */
	put_le32(p, 100);
	put_le32(p + 4, 1);
	put_le32(p + 8, 2);
	put_le32(p + 12, 0);
	put_le64(p + 16, 0x1111);
	put_le64(p + 24, 0x2222);
	put_raw(&b, GS_STACK, p, 32);
	for (uint32_t corr = 7; corr <= 8; corr++) {
		uint32_t v[6] = { corr, 100, 101, GPU_API_RUNTIME, 1, 0 };
		for (int i = 0; i < 6; i++)
			put_le32(p + 4 * i, v[i]);
		put_raw(&b, GS_LAUNCH, p, GS_LAUNCH_SIZE);
	}
	/* pid 100 is reused by a new process, which redefines id 1. */
	put_name(&b, 100, 1, "_Z1cv");
	put_op(&b, 100, 1, 9);
	/* A use of an id never defined, and a launch from an unknown stack. */
	put_op(&b, 300, 5, 1);
	uint32_t v[6] = { 10, 300, 301, GPU_API_RUNTIME, 9, 0 };
	for (int i = 0; i < 6; i++)
		put_le32(p + 4 * i, v[i]);
	put_raw(&b, GS_LAUNCH, p, GS_LAUNCH_SIZE);
	/* Counts from a newer collector with one cause more, twice (increments). */
	uint8_t c[8 * (_GL_MAX + 1)] = { 0 };
	put_le64(c + 8 * GL_UNTIMED, 4);
	put_le64(c + 8 * _GL_MAX, 99);
	put_raw(&b, GS_COUNTS, c, sizeof c);
	put_raw(&b, GS_COUNTS, c, sizeof c);
	put_raw(&b, 99, "future", 6); /* a record type from a newer collector */

	struct gpu_trace t;
	struct cprof_err err;
	gpu_trace_init(&t);
	ASSERT_OK(gpu_trace_parse(&t, (const uint8_t *)b.buf, b.len, "ids", &err));
	ASSERT_EQ(t.ops.n, 4);
	ASSERT_STREQ(gpu_trace_str(&t, t.ops.v[0].name), "_Z1bv");
	ASSERT_STREQ(gpu_trace_str(&t, t.ops.v[1].name), "_Z1av");
	ASSERT_STREQ(gpu_trace_str(&t, t.ops.v[2].name), "_Z1cv");
	ASSERT_STREQ(gpu_trace_str(&t, t.ops.v[3].name), "");
	ASSERT_EQ(t.stacks.n, 2);
	ASSERT_EQ(t.stacks.v[0].ip_off, t.stacks.v[1].ip_off); /* one copy of the ips */
	ASSERT_EQ(t.stacks.v[1].corr, 8);
	ASSERT_EQ(t.stacks.v[1].tid, 101);
	ASSERT_EQ(t.stacks.v[1].nips, 2);
	ASSERT_EQ(t.ips.v[t.stacks.v[1].ip_off + 1], 0x2222);
	ASSERT_EQ(t.bad_records, 2); /* the undefined name and the undefined stack */
	ASSERT_EQ(t.loss[GL_UNTIMED], 8);
	gpu_trace_release(&t);
	sbuf_release(&b);
}

/* ---- import and summary across devices ---- */

static struct cprof_gpu_op work(uint32_t kind, uint32_t dev, uint32_t ctx, uint64_t start, uint64_t dur)
{
	return (struct cprof_gpu_op){ .kind = kind, .device = dev, .context = ctx, .pid = 42, .start = start,
				      .end = start + dur, .stack = GPU_NO_STACK, .copy_kind = GPU_COPY_HTOD };
}

TEST(devices)
{
	struct gpu_trace t;
	gpu_trace_init(&t);
	/* GPU 0 busy back to back for 1 ms; GPU 1 busy 10 x 10 us with
	 * 90 us gaps, at the same time; a batched copy of 8 on GPU 0. */
	vec_push(&t.ops, work(GPU_OP_KERNEL, 0, 1, T0, 1000 * US));
	for (int i = 0; i < 10; i++)
		vec_push(&t.ops, work(GPU_OP_KERNEL, 1, 2, T0 + (uint64_t)i * 100 * US, 10 * US));
	struct cprof_gpu_op batch = work(GPU_OP_MEMCPY, 0, 1, T0 + 1000 * US, 10 * US);
	batch.value = 8;
	batch.bytes = 8 * 4096;
	vec_push(&t.ops, batch);
	/* Synchronizations name only their context. */
	vec_push(&t.ops, work(GPU_OP_SYNC, GPU_DEVICE_UNKNOWN, 2, T0, US));
	vec_push(&t.ops, work(GPU_OP_SYNC, GPU_DEVICE_UNKNOWN, 1, T0, US));
	vec_push(&t.ops, work(GPU_OP_SYNC, GPU_DEVICE_UNKNOWN, 9, T0, US));
	struct cprof_data d;
	struct gpu_import_stats ist;
	cprof_data_init(&d);
	gpu_import(&d, &t, NULL, &ist);
	gpu_trace_release(&t);
	uint32_t devs[3] = { 9, 9, 9 };
	int n = 0;
	for (size_t i = 0; i < d.gpu_ops.n; i++)
		if (d.gpu_ops.v[i].kind == GPU_OP_SYNC)
			devs[n++] = d.gpu_ops.v[i].device;
	ASSERT_EQ(n, 3);
	ASSERT_EQ(ist.syncs_without_device, 1);
	/* Sorted by start, stable order among equal starts is not promised:
	 * compare as a set. */
	int seen0 = 0, seen1 = 0, unknown = 0;
	for (int i = 0; i < 3; i++) {
		seen0 += devs[i] == 0;
		seen1 += devs[i] == 1;
		unknown += devs[i] == GPU_DEVICE_UNKNOWN;
	}
	ASSERT(seen0 == 1 && seen1 == 1 && unknown == 1);

	struct gpu_summary s;
	struct cprof_err err;
	ASSERT_OK(gpu_summary_build(&s, &d, &err));
	ASSERT_EQ(s.devices.n, 2);
	ASSERT_EQ(s.devices.v[0].device, 0);
	ASSERT_EQ(s.devices.v[0].busy_ns, 1010 * US);
	ASSERT_EQ(s.devices.v[0].last_ns - s.devices.v[0].first_ns, 1010 * US);
	ASSERT_EQ(s.devices.v[0].gaps, 0);
	ASSERT_EQ(s.devices.v[1].busy_ns, 100 * US);
	ASSERT_EQ(s.devices.v[1].last_ns - s.devices.v[1].first_ns, 910 * US);
	ASSERT_EQ(s.devices.v[1].gaps, 9);
	ASSERT_EQ(s.busy_ns, 1110 * US);
	ASSERT_EQ(s.span_ns, 1920 * US);
	/* GPU 1 is launch-bound; GPU 0 is not, though all work together
	 * would look busy. */
	ASSERT_EQ(s.findings.n, 1);
	ASSERT_EQ(s.findings.v[0].kind, FINDING_IDLE_GAPS);
	ASSERT_EQ(s.findings.v[0].subject, 1);
	ASSERT(strncmp(s.findings.v[0].text, "GPU 1 idle 89.0% of the time", 28) == 0);
	ASSERT_EQ(s.copies.n, 1);
	ASSERT_EQ(s.copies.v[0].calls, 8);
	ASSERT_EQ(s.copies.v[0].sync, 8);
	gpu_summary_release(&s);

	/* A kernel that CUPTI could not time, in an older recording: the span
	 * must not reach back to boot. */
	struct cprof_gpu_op z = work(GPU_OP_KERNEL, 0, 1, 0, 0);
	vec_push(&d.gpu_ops, z);
	ASSERT_OK(gpu_summary_build(&s, &d, &err));
	ASSERT_EQ(s.devices.v[0].first_ns, T0);
	ASSERT_EQ(s.findings.n, 1);
	gpu_summary_release(&s);
	cprof_data_release(&d);
}

/* ---- the collector in a process: flush thread, signals, fork, exit ---- */

static void fake_flush_quiet(bool forced)
{
	(void)forced;
	gpu_collector_count(GL_DROPPED, 1); /* something to see in the stream */
}

static __attribute__((noinline)) void launch_from_here(uint32_t corr)
{
	void *ips[GS_MAX_IPS];
	uint64_t ips64[GS_MAX_IPS];
	int n = backtrace(ips, GS_MAX_IPS);
	for (int i = 0; i < n; i++)
		ips64[i] = (uint64_t)(uintptr_t)ips[i];
	gpu_collector_launch(corr, GPU_API_RUNTIME, ips64, (uint32_t)n);
	__asm__ volatile("" ::: "memory");
}

TEST(collector_period)
{
	/* Without a flush every period, a process killed by SIGKILL would
	 * leave nothing: its stacks sit in their buffer until exit. */
	char *path = new_stream();
	pid_t c = fork();
	ASSERT(c >= 0);
	if (c == 0) {
		static const struct gpu_collector_hooks h = { .flush = fake_flush_quiet };
		if (gpu_collector_open(path) < 0 || gpu_collector_start(&h, 20, false) < 0)
			_exit(2);
		for (uint32_t i = 1; i <= 1000; i++)
			launch_from_here(i);
		for (;;)
			pause();
	}
	bool seen = wait_records(path, GS_LAUNCH, 1000, 60) && wait_records(path, GS_COUNTS, 1, 60);
	kill(c, SIGKILL);
	int status = wait_child(c, 60);
	ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT(seen);
	struct gpu_trace t;
	parse_stream(path, &t);
	ASSERT_EQ(t.stacks.n, 1000);
	ASSERT_EQ(t.ends, 0);
	ASSERT(t.loss[GL_DROPPED] >= 1);
	ASSERT_EQ(t.bad_records, 0);
	/* One stack for 1000 launches from one place: each launch after the
	 * first is its 32-byte record, not its stack. */
	ASSERT_EQ(count_records(path, GS_STACK), 1);
	struct stat sb;
	ASSERT(stat(path, &sb) == 0);
	ASSERT((size_t)sb.st_size < GPU_STREAM_HDR + 1000 * gpu_writer_record_size(GS_LAUNCH_SIZE) +
					    gpu_writer_record_size(GS_STACK_FIXED + 8 * GS_MAX_IPS) + 4096);
	gpu_trace_release(&t);
	unlink(path);
	free(path);
}

static atomic_int forced_calls;

static void fake_flush_notes(bool forced)
{
	gpu_collector_note(forced ? "flush forced" : "flush complete");
	if (forced)
		atomic_fetch_add(&forced_calls, 1);
}

/* Launches as fast as possible, from one (made up) stack: often inside
 * the collector's locks. No backtrace(), which takes the loader's lock. */
static void *hammer(void *arg)
{
	static const uint64_t ips[4] = { 0x401000, 0x402000, 0x403000, 0x404000 };
	(void)arg;
	for (uint32_t i = 1;; i++)
		gpu_collector_launch(i, GPU_API_RUNTIME, ips, 4);
	return NULL;
}

TEST(collector_signal)
{
	/* SIGTERM lands in a thread that is launching all the time (and so
	 * often inside the collector's locks): the stream must be finished,
	 * complete buffers before forced ones, and the process must die of
	 * SIGTERM as it would have without cprof. */
	for (int round = 0; round < 5; round++) {
		char *path = new_stream();
		pid_t c = fork();
		ASSERT(c >= 0);
		if (c == 0) {
			static const struct gpu_collector_hooks h = { .flush = fake_flush_notes };
			pthread_t th;
			if (gpu_collector_open(path) < 0 || gpu_collector_start(&h, 1000, true) < 0 ||
			    pthread_create(&th, NULL, hammer, NULL) != 0)
				_exit(2);
			struct timespec ts = { 0, 1000000 * (round + 1) };
			nanosleep(&ts, NULL);
			pthread_kill(th, SIGTERM);
			for (;;)
				pause();
		}
		int status = wait_child(c, 60);
		ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
		struct gpu_trace t;
		parse_stream(path, &t);
		ASSERT_EQ(t.signal_ends, 1);
		ASSERT_EQ(t.ends, 0);
		ASSERT_EQ(t.last_signal, SIGTERM);
		ASSERT_EQ(t.bad_records, 0);
		ASSERT(strstr(t.notes.buf, "flush complete\nflush forced\n"));
		gpu_trace_release(&t);
		unlink(path);
		free(path);
	}
}

static void fake_flush_hangs(bool forced)
{
	gpu_collector_note(forced ? "flush forced" : "flush complete");
	while (forced)
		pause(); /* a flush that never returns */
}

TEST(collector_second_signal)
{
	/* The flush after Ctrl-C hangs: a second Ctrl-C must still kill. */
	char *path = new_stream();
	int ready[2];
	ASSERT(pipe(ready) == 0);
	pid_t c = fork();
	ASSERT(c >= 0);
	if (c == 0) {
		static const struct gpu_collector_hooks h = { .flush = fake_flush_hangs };
		if (gpu_collector_open(path) < 0 || gpu_collector_start(&h, 60000, true) < 0 ||
		    write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	char r;
	ASSERT_EQ(read(ready[0], &r, 1), 1);
	close(ready[0]);
	kill(c, SIGINT);
	ASSERT(wait_records(path, GS_NOTE, 2, 60)); /* "flush complete", then "flush forced", which hangs */
	ASSERT_EQ(waitpid(c, NULL, WNOHANG), 0);      /* the first SIGINT waits for the flush */
	kill(c, SIGINT);
	int status = wait_child(c, 30);
	ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
	unlink(path);
	free(path);
}

static void fake_flush_slow(bool forced)
{
	/* Holds the flush lock most of the time, so forks land inside it. */
	struct timespec ts = { 0, 1000000 };
	(void)forced;
	nanosleep(&ts, NULL);
}

/* The middle process of collector_fork; exit codes say what went wrong. */
static void fork_parent(const char *path)
{
	static const struct gpu_collector_hooks h = { .flush = fake_flush_slow };
	static const uint64_t ips[2] = { 0x501000, 0x502000 };
	pthread_t th;
	if (gpu_collector_open(path) < 0 || gpu_collector_start(&h, 1, true) < 0 ||
	    pthread_create(&th, NULL, hammer, NULL) != 0)
		_exit(2);
	for (int i = 0; i < 20; i++) {
		pid_t g = fork();
		if (g < 0)
			_exit(3);
		if (g == 0) {
			struct sigaction sa;
			if (sigaction(SIGINT, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
				_exit(10); /* cprof's handler left in the child */
			if (gpu_collector_active())
				_exit(11);
			gpu_collector_launch(0, GPU_API_RUNTIME, ips, 2);
#ifdef __SANITIZE_ADDRESS__
			/* LeakSanitizer's check at exit hangs in a child forked from a
			 * threaded process: call what the exit handler calls. */
			gpu_collector_finish(GS_END_EXIT, 0);
			_exit(0);
#else
			exit(0); /* atexit: finish, which must do nothing here */
#endif
		}
		int status = 0;
		int k;
		for (k = 0; k < 3000 && waitpid(g, &status, WNOHANG) == 0; k++) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
		if (k == 3000) {
			kill(g, SIGKILL);
			_exit(4); /* the child hangs: a lock held at the fork */
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
	}
	exit(0);
}

/* A global, not a local: the leak check at the middle process's exit
 * runs while its threads still launch, and may not see its stack. */
static char *volatile fork_stream; /* volatile: written only, and must stay */

TEST(collector_fork)
{
	/* A forked child inherits the collector: locks perhaps held by the
	 * flush thread, the launching thread's unwritten stacks, the exit and
	 * signal handlers. It must not hang, write those stacks again or an
	 * END of its own, or keep cprof's signal handlers. */
	char *path = fork_stream = new_stream();
	pid_t c = fork();
	ASSERT(c >= 0);
	if (c == 0)
		fork_parent(path);
	int status = wait_child(c, 120);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	struct gpu_trace t;
	parse_stream(path, &t);
	ASSERT_EQ(t.ends, 1);
	ASSERT_EQ(t.signal_ends, 0);
	ASSERT_EQ(t.bad_records, 0);
	ASSERT(t.stacks.n > 0);
	/* Every launch once: the hammer's correlation ids count up. */
	for (size_t i = 0; i < t.stacks.n; i++) {
		ASSERT_EQ(t.stacks.v[i].corr, i + 1);
	}
	gpu_trace_release(&t);
	unlink(path);
	free(path);
	fork_stream = NULL;
}

TEST(injection_without_gpu)
{
	/* The driver would call InitializeInjection; without one CUPTI refuses
	 * to enable activity, and the collector must say so and not crash. */
	if (!lib_path)
		SKIP("no collector path given");
	if (access("/dev/nvidiactl", F_OK) == 0)
		SKIP("a GPU driver is present: this checks the no-GPU path");
	char *path = new_stream();
	setenv("CPROF_GPU_OUT", path, 1);
	void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	ASSERT(h);
	int (*init)(void) = (int (*)(void))dlsym(h, "InitializeInjection");
	ASSERT(init);
	ASSERT_EQ(init(), 1);
	ASSERT_EQ(init(), 1); /* idempotent */
	struct gpu_trace t;
	parse_stream(path, &t);
	unlink(path);
	free(path);
	/* Subscribing comes first, and is what fails without a driver. */
	ASSERT(strncmp(t.notes.buf, "cuptiSubscribe failed: ", 23) == 0);
	ASSERT_EQ(t.ops.n, 0);
	ASSERT_EQ(t.ends, 0); /* END comes at exit */
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
	T(convert_and_import), T(summary), T(outputs), T(stream_damage), T(walk_filters_and_counts),
	T(walk_record_layouts), T(capture_sites), T(stream_ids), T(devices), T(collector_period),
	T(collector_signal), T(collector_second_signal), T(collector_fork),
	/* Last: it loads the collector library into this process for good. */
	T(injection_without_gpu),
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
