/*
 * gpu-session.c - `cprof record --gpu` around the normal recording: before
 * the workload starts, point it at libcprof-cupti.so and a private stream
 * file; after it ends, read the stream, symbolize each launch stack against
 * the workload's mappings (the same MMAP2 records the samples use) and store
 * GPU records that name their launching stack. Everything the collector
 * could not do is counted and said, never dropped silently.
 *
 * One file: the collector's stream, from creating it to importing it, is one
 * lifetime.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "cprof/data.h"
#include "cprof/gpu-record.h"
#include "cprof/record.h"
#include "cprof/resolve.h"
#include "cprof/symbol.h"

#define LIB_NAME "libcprof-cupti.so"

int gpu_session_prepare(struct gpu_session *g, struct cprof_err *err)
{
	memset(g, 0, sizeof *g);
	/* CPROF_CUPTI_LIB, else beside the binary, in the build tree's gpu/, installed. */
	g->lib_path = helper_lib_find(LIB_NAME, "CPROF_CUPTI_LIB", "gpu", CPROF_LIB_DIR);
	if (!g->lib_path)
		return err_set(err, ENOENT, "--gpu: cprof was built without CUPTI support (%s not found beside the "
					    "cprof binary or in %s; set CPROF_CUPTI_LIB to use another)",
			       LIB_NAME, CPROF_LIB_DIR);
	g->driver_found = access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia/version", F_OK) == 0;
	const char *tmp = getenv("TMPDIR");
	struct sbuf path = SBUF_INIT;
	sbuf_addf(&path, "%s/cprof-gpu.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path.buf);
	if (fd < 0) {
		int e = errno;
		int r = err_set(err, e, "--gpu: cannot create '%s': %s", path.buf, strerror(e));
		sbuf_release(&path);
		return r;
	}
	g->stream_path = sbuf_detach(&path);
	uint8_t hdr[GPU_STREAM_HDR];
	gpu_stream_header(hdr);
	bool ok = write(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr;
	int e = errno;
	if (close(fd) < 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok)
		return err_set(err, e ? e : EIO, "--gpu: cannot write '%s': %s", g->stream_path, strerror(e ? e : EIO));
	/* CUDA loads one injection library: another tool's is replaced, and
	 * the user is told at the end. */
	const char *prev = getenv("CUDA_INJECTION64_PATH");
	if (prev && *prev && strcmp(prev, g->lib_path) != 0)
		g->replaced = xstrdup(prev);
	if (setenv("CUDA_INJECTION64_PATH", g->lib_path, 1) < 0 || setenv("CPROF_GPU_OUT", g->stream_path, 1) < 0)
		return err_set(err, errno, "--gpu: setenv: %s", strerror(errno));
	return 0;
}

void gpu_session_release(struct gpu_session *g)
{
	if (g->collected)
		gpu_trace_release(&g->trace);
	if (g->buf)
		munmap((void *)g->buf, g->len);
	free(g->handles);
	if (g->stream_path)
		(void)unlink(g->stream_path);
	free(g->stream_path);
	free(g->lib_path);
	free(g->replaced);
	memset(g, 0, sizeof *g);
}

/* ---- import ---- */

#define MAX_INLINE 64

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Frames between the API entry and user code: the collector, CUPTI, the
 * CUDA libraries, and the CUDA runtime linked statically into the program
 * (nvcc's default), recognised by name. */
static bool is_cuda_frame(const struct cprof_data *d, const struct cprof_frame *f)
{
	const char *dso = base_name(cprof_str(d, f->dso)), *fn = cprof_str(d, f->func);
	/* Sanitizer runtimes intercept backtrace() itself in sanitized builds. */
	static const char *const libs[] = { "libcprof-cupti", "libcupti.", "libcudart.", "libcuda.", "libasan.",
					    "libubsan.", "libtsan.", NULL };
	static const char *const funcs[] = { "cuda", "__cuda", "cudart::", "__device_stub__", "cuLaunch",
					     "cuMemcpy", "cuMemset", "cuGraphLaunch", NULL };
	for (const char *const *p = libs; *p; p++)
		if (strncmp(dso, *p, strlen(*p)) == 0)
			return true;
	for (const char *const *p = funcs; *p; p++)
		if (strncmp(fn, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* One launch stack: its handle in the resolver, and its frames once
 * symbolized, CUDA frames removed (leaf first). */
struct launch {
	uint32_t pid, corr, tid;
	size_t off, n; /* into the frames vector */
};

/* Where a launch stack's user code starts: the frames before it are the
 * collector, CUPTI and CUDA (or what none of them could name). */
static size_t user_frames(const struct cprof_data *d, const uint32_t *f, size_t n)
{
	size_t k = 0;
	while (k < n && (is_cuda_frame(d, &d->frames.v[f[k]]) || (d->frames.v[f[k]].flags & FRF_UNKNOWN)))
		k++;
	return k;
}

struct key_index {
	uint64_t key; /* pid << 32 | corr */
	uint32_t idx;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key_index *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

static const struct key_index *find_key(const struct key_index *v, size_t n, uint32_t pid, uint32_t corr)
{
	struct key_index k = { ((uint64_t)pid << 32) | corr, 0 };
	return n ? bsearch(&k, v, n, sizeof *v, cmp_key) : NULL;
}

static int cmp_op_start(const void *a, const void *b)
{
	const struct cprof_gpu_op *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_api_start(const void *a, const void *b)
{
	const struct cprof_gpu_api *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* "cudaLaunchKernel_v7000" -> "cudaLaunchKernel": the suffix is CUPTI's versioning. */
static uint32_t intern_api_name(struct cprof_data *d, const char *name)
{
	const char *v = strstr(name, "_v");
	size_t n = strlen(name);
	if (v && v[2] >= '0' && v[2] <= '9' && strspn(v + 2, "0123456789") == strlen(v + 2))
		n = (size_t)(v - name);
	char *s = xstrndup(name, n);
	uint32_t off = cprof_intern(d, s);
	free(s);
	return off;
}

/* CUPTI's synchronization records name a context but no device: give
 * them the device the context's other work ran on. */
static void sync_devices(struct cprof_data *d, struct gpu_import_stats *ret)
{
	struct key_index *ctx = xcalloc(d->gpu_ops.n + 1, sizeof *ctx);
	size_t n = 0;
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		if (op->kind != GPU_OP_SYNC && op->device != GPU_DEVICE_UNKNOWN)
			ctx[n++] = (struct key_index){ ((uint64_t)op->pid << 32) | op->context, op->device };
	}
	qsort(ctx, n, sizeof *ctx, cmp_key);
	for (size_t i = 0; i < d->gpu_ops.n; i++) {
		struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		if (op->kind != GPU_OP_SYNC || op->device != GPU_DEVICE_UNKNOWN)
			continue;
		const struct key_index *k = find_key(ctx, n, op->pid, op->context);
		if (k)
			op->device = k->idx;
		else
			ret->syncs_without_device++;
	}
	free(ctx);
}

void gpu_import_stacks(const struct gpu_trace *t, struct resolver *r, uint32_t *handles)
{
	/* backtrace() gives return addresses except for its caller. Launch
	 * stacks carry no CPU time: the newest mapping at each address. */
	for (size_t i = 0; i < t->stacks.n; i++) {
		const struct gpu_launch_stack *ls = &t->stacks.v[i];
		handles[i] = resolver_add(r, ls->pid, UINT64_MAX, ls->nips ? t->ips.v + ls->ip_off : NULL, ls->nips, 0);
	}
}

void gpu_import_resolved(struct cprof_data *d, const struct gpu_trace *t, struct resolver *r, const uint32_t *handles,
			 struct gpu_import_stats *ret)
{
	VEC(uint32_t) frames = { 0 };
	VEC(struct launch) launches = { 0 };
	struct key_index *lk = xcalloc(t->stacks.n + 1, sizeof *lk), *ak = xcalloc(t->api.n + 1, sizeof *ak);
	memset(ret, 0, sizeof *ret);

	for (size_t i = 0; i < t->stacks.n; i++) {
		const struct gpu_launch_stack *ls = &t->stacks.v[i];
		struct launch l = { .pid = ls->pid, .corr = ls->corr, .tid = ls->tid, .off = frames.n };
		if (r && handles) {
			size_t n;
			const uint32_t *f = resolver_frames(r, handles[i], &n);
			for (size_t k = user_frames(d, f, n); k < n; k++)
				vec_push(&frames, f[k]);
		}
		l.n = frames.n - l.off;
		vec_push(&launches, l);
		lk[i] = (struct key_index){ ((uint64_t)ls->pid << 32) | ls->corr, (uint32_t)i };
	}
	qsort(lk, t->stacks.n, sizeof *lk, cmp_key);
	for (size_t i = 0; i < t->api.n; i++)
		ak[i] = (struct key_index){ ((uint64_t)t->api.v[i].pid << 32) | t->api.v[i].corr, (uint32_t)i };
	qsort(ak, t->api.n, sizeof *ak, cmp_key);

	VEC(uint32_t) path = { 0 };
	for (size_t i = 0; i < t->ops.n; i++) {
		struct cprof_gpu_op op = t->ops.v[i];
		const char *raw = gpu_trace_str(t, op.name);
		char *dem = op.kind == GPU_OP_KERNEL ? demangle(raw) : NULL;
		const char *name = dem ? dem : raw;
		op.name = cprof_intern(d, name);
		op.stack = GPU_NO_STACK;
		const struct key_index *k = find_key(lk, t->stacks.n, op.pid, op.corr);
		if (k) {
			const struct launch *l = &launches.v[k->idx];
			path.n = 0;
			for (size_t f = 0; f < l->n; f++)
				vec_push(&path, frames.v[l->off + f]);
			/* nvcc's host stub carries the kernel's own name: the launch site is its caller. */
			size_t skip = 0;
			while (op.kind == GPU_OP_KERNEL && skip < path.n &&
			       strcmp(cprof_str(d, d->frames.v[path.v[skip]].func), name) == 0)
				skip++;
			op.stack = cprof_add_stack(d, path.v + skip, (uint32_t)(path.n - skip), 0);
			op.tid = l->tid;
		} else if ((k = find_key(ak, t->api.n, op.pid, op.corr))) {
			op.tid = t->api.v[k->idx].tid;
		}
		free(dem);
		if (op.kind != GPU_OP_SYNC) {
			if (op.stack != GPU_NO_STACK)
				ret->with_stack++;
			else
				ret->without_stack++;
		}
		ret->kernels += op.kind == GPU_OP_KERNEL;
		ret->copies += op.kind == GPU_OP_MEMCPY;
		ret->memsets += op.kind == GPU_OP_MEMSET;
		ret->syncs += op.kind == GPU_OP_SYNC;
		vec_push(&d->gpu_ops, op);
	}
	for (size_t i = 0; i < t->api.n; i++) {
		struct cprof_gpu_api a = t->api.v[i];
		a.name = intern_api_name(d, gpu_trace_str(t, a.name));
		vec_push(&d->gpu_api, a);
	}
	sync_devices(d, ret);
	if (d->gpu_ops.n)
		qsort(d->gpu_ops.v, d->gpu_ops.n, sizeof *d->gpu_ops.v, cmp_op_start);
	if (d->gpu_api.n)
		qsort(d->gpu_api.v, d->gpu_api.n, sizeof *d->gpu_api.v, cmp_api_start);
	ret->api_calls = d->gpu_api.n;
	memcpy(ret->loss, t->loss, sizeof ret->loss);
	ret->bad_records = t->bad_records;
	ret->processes_ended = t->ends;
	ret->processes_signalled = t->signal_ends;

	vec_release(&path);
	vec_release(&frames);
	vec_release(&launches);
	free(lk);
	free(ak);
}

void gpu_import(struct cprof_data *d, const struct gpu_trace *t, const struct raw_store *st,
		struct gpu_import_stats *ret)
{
	static const struct raw_store none;
	struct cprof_err err;
	struct resolver *r = resolver_new(d, st ? st : &none, &err);
	uint32_t *handles = xcalloc(t->stacks.n + 1, sizeof *handles);
	if (r) {
		gpu_import_stacks(t, r, handles);
		resolver_run(r);
	}
	gpu_import_resolved(d, t, r, handles, ret);
	resolver_free(r);
	free(handles);
}

void gpu_import_meta(struct cprof_data *d, const struct gpu_import_stats *ret)
{
	for (int i = 0; i < _GL_MAX; i++)
		cprof_meta_setf(d, gpu_loss_key((enum gpu_loss)i), "%" PRIu64, ret->loss[i]);
	cprof_meta_setf(d, "gpu_bad_records", "%" PRIu64, ret->bad_records);
	cprof_meta_setf(d, "gpu_without_stack", "%" PRIu64, ret->without_stack);
	cprof_meta_setf(d, "gpu_processes_ended", "%u", ret->processes_ended);
	cprof_meta_setf(d, "gpu_processes_signalled", "%u", ret->processes_signalled);
}

/* The stream, mapped: it may be large and is only read once. */
static int map_stream(const char *path, const uint8_t **p, size_t *len, struct cprof_err *err)
{
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return err_set(err, errno, "cannot open '%s': %s", path, strerror(errno));
	struct stat sb;
	int r = 0;
	*p = NULL;
	*len = 0;
	if (fstat(f, &sb) < 0) {
		r = err_set(err, errno, "cannot read '%s': %s", path, strerror(errno));
	} else if (sb.st_size > 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, f, 0);
		if (m == MAP_FAILED) {
			r = err_set(err, errno, "cannot read '%s': %s", path, strerror(errno));
		} else {
			*p = m;
			*len = (size_t)sb.st_size;
		}
	}
	close(f);
	return r;
}

/*
 * Whether the collector can be loaded at all (its libcupti found through
 * its RUNPATH, ...): when no process wrote to the stream, this tells "the
 * driver could not load it" from "the workload never used CUDA". Tried in
 * a child, so cprof itself never has CUDA libraries loaded.
 */
static bool collector_loads(const char *lib, struct sbuf *why)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return true; /* cannot tell */
	pid_t c = fork();
	if (c < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return true;
	}
	if (c == 0) {
		close(pfd[0]);
		if (dlopen(lib, RTLD_LAZY | RTLD_LOCAL))
			_exit(0);
		const char *e = dlerror();
		if (e && write(pfd[1], e, strlen(e)) < 0)
			_exit(2);
		_exit(1);
	}
	close(pfd[1]);
	char buf[512];
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sbuf_add(why, buf, (size_t)n);
	close(pfd[0]);
	int status = 0;
	while (waitpid(c, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int gpu_session_collect(struct gpu_session *g, struct cprof_err *err)
{
	gpu_trace_init(&g->trace);
	g->collected = true;
	int r = map_stream(g->stream_path, &g->buf, &g->len, err);
	if (r < 0)
		return r;
	if ((r = gpu_trace_parse(&g->trace, g->buf, g->len, g->stream_path, err)) < 0)
		return r;
	g->handles = xcalloc(g->trace.stacks.n + 1, sizeof *g->handles);
	return 0;
}

void gpu_session_stacks(struct gpu_session *g, struct resolver *r)
{
	gpu_import_stacks(&g->trace, r, g->handles);
}

int gpu_session_finish(struct gpu_session *g, struct cprof_data *d, struct resolver *res,
		       struct gpu_import_stats *ret, const struct note_sink *notes)
{
	const struct gpu_trace t = g->trace;
	size_t len = g->len;
	memset(ret, 0, sizeof *ret);
	if (g->replaced)
		notef(notes, "warning: CUDA_INJECTION64_PATH was '%s'; --gpu replaced it with cprof's collector, so "
				 "that library was not loaded", g->replaced);
	gpu_import_resolved(d, &t, res, g->handles, ret);
	ret->stream_empty = len <= GPU_STREAM_HDR;
	for (const char *p = t.notes.buf; t.notes.len && *p;) { /* the collector's, one a line */
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		if (n)
			notef(notes, "%.*s", n, p);
		p += n + (nl != NULL);
	}

	struct sbuf why = SBUF_INIT;
	if (ret->stream_empty && !collector_loads(g->lib_path, &why)) {
		cprof_meta_set(d, "gpu", "collector failed");
		notef(notes, "no GPU activity recorded: the collector cannot be loaded (%s); the CPU profile is "
				 "recorded", why.len ? why.buf : g->lib_path);
	} else if (ret->stream_empty) {
		/* The driver never loaded the collector: no CUDA init happened. */
		cprof_meta_set(d, "gpu", "no CUDA activity");
		notef(notes, "no GPU activity recorded: the workload never initialised CUDA%s; the CPU profile "
				 "is recorded",
			  g->driver_found ? "" : " (no NVIDIA driver here: /dev/nvidiactl is missing)");
	} else if (!d->gpu_ops.n && !d->gpu_api.n) {
		cprof_meta_set(d, "gpu", "collector failed");
		notef(notes, "no GPU activity recorded%s; the CPU profile is recorded",
			  t.notes.len ? " (see above)" : "");
	} else {
		cprof_meta_set(d, "gpu", "recorded");
	}
	sbuf_release(&why);
	if (t.notes.len) {
		struct sbuf one = SBUF_INIT;
		sbuf_add(&one, t.notes.buf, t.notes.len - 1);
		for (size_t i = 0; i < one.len; i++)
			if (one.buf[i] == '\n')
				one.buf[i] = ';';
		cprof_meta_set(d, "gpu_notes", one.buf);
		sbuf_release(&one);
	}
	gpu_import_meta(d, ret);
	for (int i = 0; i < _GL_MAX; i++)
		if (ret->loss[i])
			notef(notes, "warning: %" PRIu64 " %s", ret->loss[i], gpu_loss_text((enum gpu_loss)i));
	if (ret->bad_records)
		notef(notes, "warning: the GPU activity stream ended in %" PRIu64 " malformed records "
				 "(a process died while writing?)", ret->bad_records);
	if (!ret->stream_empty && !ret->processes_ended && !ret->processes_signalled)
		notef(notes, "warning: the workload ended without finishing its GPU records (SIGKILL, _exit or a "
				 "crash?); GPU work still running then, and up to its last 200 ms of GPU activity and "
				 "launch stacks, may be missing");
	if (ret->processes_signalled)
		cprof_meta_setf(d, "gpu_ended_by_signal", "%u", t.last_signal);
	return 0;
}

int record_gpu_finish(struct gpu_session *g, struct cprof_data *d, struct resolver *res, bool quiet,
		      const struct note_sink *notes)
{
	struct gpu_import_stats gs;
	int r = gpu_session_finish(g, d, res, &gs, notes);
	if (r < 0)
		return r;
	if (!quiet && (gs.kernels || gs.copies || gs.memsets || gs.api_calls))
		notef(notes, "GPU: %" PRIu64 " kernels, %" PRIu64 " copies, %" PRIu64 " memsets, %" PRIu64
			     " API calls; %" PRIu64 " of %" PRIu64 " tied to a launching CPU stack",
		      gs.kernels, gs.copies, gs.memsets, gs.api_calls, gs.with_stack, gs.with_stack + gs.without_stack);
	return 0;
}

