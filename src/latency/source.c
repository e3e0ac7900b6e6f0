/*
 * source.c - function latency as a data source of `cprof record`
 * (source.h): the option --latency FUNC[,FUNC...] and its
 * --slow-threshold and --latency-slowest, each function found in its file
 * (the workload's executable, or a library as the dynamic loader finds
 * it), a uprobe on its entry and a uretprobe on its return defined in
 * tracefs and opened as tracepoints on the workload (every CPU, inherited by
 * its threads and children, enabled at its exec; why not through the uprobe
 * PMU: files.c), or on the threads of -p/-t (the function found in that
 * process's files), or every task of each CPU for -a (enabled at once),
 * their rings drained while it runs, and what pair.c made of them stored
 * in the data file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <asm/perf_regs.h>

#include "cprof/data.h"
#include "cprof/latency.h"
#include "cprof/record.h"
#include "cprof/resolve.h"
#include "cprof/source.h"
#include "cprof/symbol.h"
#include "lat-internal.h"

#define FUNCS_MAX 64
#define SLOWEST_DEFAULT 5
#define SLOWEST_MAX 1000
#define THRESHOLD_DEFAULT 10000000ULL /* 10 ms */

struct lat_probe {
	char *spec;   /* as given: "SYMBOL" or "LIB:SYMBOL" */
	char *lib;    /* LIB, or NULL: the workload's executable */
	char *sym;
	char *path;   /* the file found */
	uint64_t offset;
};

struct lat_source {
	VEC(struct lat_probe) probes;
	unsigned slowest;
	uint64_t threshold;
	bool callchain;
	struct lat_trace tr;
	struct u64map ids;            /* event id -> func << 1 | return */
	struct tracer rings;
	bool opened, closed;
	const char *root;             /* tracefs, once probes are defined */
	size_t ndefined;              /* probes defined in uprobe_events: f * 2 + k */
	int self;                     /* -a: cprof's pid, whose calls are left out; else -1 */
	uint32_t *tp;                 /* their tracepoint ids, by f * 2 + k */
};

static void probes_release(struct lat_source *s)
{
	for (size_t i = 0; i < s->probes.n; i++) {
		free(s->probes.v[i].spec);
		free(s->probes.v[i].lib);
		free(s->probes.v[i].sym);
		free(s->probes.v[i].path);
	}
	vec_release(&s->probes);
}

static void lat_release(void *state);

static void *lat_configure(const char *arg, struct cprof_err *err)
{
	if (!arg || !*arg) {
		err_set(err, EINVAL, "--latency takes FUNC[,FUNC...]: SYMBOL or LIB:SYMBOL");
		return NULL;
	}
	struct lat_source *s = xcalloc(1, sizeof *s);
	s->slowest = SLOWEST_DEFAULT;
	s->threshold = THRESHOLD_DEFAULT;
	s->rings = (struct tracer)TRACER_INIT;
	s->self = -1;
	for (const char *p = arg; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *spec = xstrndup(p, n);
		char *colon = strrchr(spec, ':');
		struct lat_probe pr = { .spec = spec };
		if (colon) {
			pr.lib = xstrndup(spec, (size_t)(colon - spec));
			pr.sym = xstrdup(colon + 1);
		} else {
			pr.sym = xstrdup(spec);
		}
		vec_push(&s->probes, pr);
		if (!*pr.sym || (pr.lib && !*pr.lib)) {
			err_set(err, EINVAL, "--latency: '%s' is not SYMBOL or LIB:SYMBOL", spec);
			lat_release(s);
			return NULL;
		}
		if (s->probes.n > FUNCS_MAX) {
			err_set(err, EINVAL, "--latency: at most %d functions", FUNCS_MAX);
			lat_release(s);
			return NULL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return s;
}

static const char *const lat_more_opts[] = { "slow-threshold", "latency-slowest", NULL };

static int lat_more(void *state, size_t idx, const char *arg, struct cprof_err *err)
{
	struct lat_source *s = state;
	uint64_t v;
	if (idx == 0) {
		if (parse_duration_ns(arg, &v) < 0)
			return err_set(err, EINVAL, "--slow-threshold takes a duration (10ms, 500us, 2s), not '%s'", arg);
		s->threshold = v;
		return 0;
	}
	if (parse_u64(arg, &v) < 0 || v > SLOWEST_MAX)
		return err_set(err, EINVAL, "--latency-slowest takes N from 0 to %d calls kept per function, not '%s'",
			       SLOWEST_MAX, arg);
	s->slowest = (unsigned)v;
	return 0;
}

static int resolve_probes(struct lat_source *s, const struct source_target *t, struct cprof_err *err)
{
	char *const *argv = t->argv;
	for (size_t i = 0; i < s->probes.n; i++) {
		struct lat_probe *p = &s->probes.v[i];
		if (t->proc > 0) {
			char *found = lat_find_in_process(p->spec, p->lib, p->sym, t->proc, &p->offset, err);
			if (!found)
				return -err->code;
			p->path = realpath(found, NULL);
			if (!p->path)
				p->path = found;
			else
				free(found);
			continue;
		}
		if (t->tids[0] == -1 && !p->lib)
			return err_set(err, EINVAL, "--latency %s: with -a name the function's file too, as LIB:SYMBOL "
						    "('libc.so.6:malloc') or PATH:SYMBOL", p->spec);
		char *found = p->lib ? lat_find_library(p->lib) : argv && argv[0] ? lat_find_program(argv[0]) : NULL;
		if (!found)
			return p->lib ? err_set(err, ENOENT, "--latency %s: no library '%s' found (give its path)", p->spec,
						p->lib)
				      : err_set(err, ENOENT, "--latency %s: cannot find the program '%s'", p->spec,
						argv && argv[0] ? argv[0] : "");
		p->path = realpath(found, NULL);
		if (!p->path)
			p->path = found;
		else
			free(found);
		int r = elf_symbol_offset(p->path, p->sym, &p->offset, err);
		if (r < 0) {
			struct cprof_err e = *err;
			return err_set(err, -r, "--latency %s: %s", p->spec, e.msg);
		}
	}
	return 0;
}

/* Remove the probes this recording defined (their events closed first). */
static void remove_probes(struct lat_source *s)
{
	if (!s->root)
		return;
	for (size_t i = 0; i < s->ndefined; i++) {
		char line[96];
		snprintf(line, sizeof line, "-:cprof_%d/f%zu%s", (int)getpid(), i / 2, i % 2 ? "_ret" : "");
		struct cprof_err e;
		(void)lat_write_probe(s->root, line, &e);
	}
	s->ndefined = 0;
}

/* Define function f's entry (k 0) or return (k 1) probe; its tracepoint id. */
static int define_probe(struct lat_source *s, size_t f, int k, uint32_t *id, struct cprof_err *err)
{
	const struct lat_probe *p = &s->probes.v[f];
	if (strpbrk(p->path, " \t\n"))
		return err_set(err, EINVAL, "--latency %s: cannot probe '%s' (a blank in its path)", p->spec, p->path);
	struct sbuf line = SBUF_INIT;
	sbuf_addf(&line, "%c:cprof_%d/f%zu%s %s:%#" PRIx64, k ? 'r' : 'p', (int)getpid(), f, k ? "_ret" : "", p->path,
		  p->offset);
	int r = lat_write_probe(s->root, line.buf, err);
	sbuf_release(&line);
	if (r < 0)
		return r;
	s->ndefined = f * 2 + (size_t)k + 1;
	char path[160];
	snprintf(path, sizeof path, "%s/events/cprof_%d/f%zu%s/id", s->root, (int)getpid(), f, k ? "_ret" : "");
	FILE *fp = fopen(path, "r");
	unsigned v = 0;
	bool ok = fp && fscanf(fp, "%u", &v) == 1;
	if (fp)
		fclose(fp);
	if (!ok)
		return err_set(err, EIO, "cannot read the uprobe's id in '%s'", path);
	*id = v;
	return 0;
}

static int open_error(int e, const struct lat_probe *p, struct cprof_err *err)
{
	if (e == EACCES || e == EPERM)
		return err_set(err, e, "no permission to trace the uprobes (kernel.perf_event_paranoid is %d): run as "
				       "root, grant CAP_PERFMON, or 'sysctl kernel.perf_event_paranoid=-1'", perf_paranoid());
	if (e == EMFILE)
		return err_set(err, e, "too many open files for the uprobes; raise 'ulimit -n'");
	return err_set(err, e, "cannot place a uprobe on %s ('%s' at offset %#" PRIx64 "): %s", p->spec, p->path,
		       p->offset, strerror(e));
}

static int lat_attach(void *state, const struct source_target *t, int *poll_fd, struct cprof_err *err)
{
	struct lat_source *s = state;
	int r;
	*poll_fd = -1;
	if ((r = resolve_probes(s, t, err)) < 0)
		return r;
	if (!(s->root = lat_tracefs_root())) {
		struct stat st;
		if (stat("/sys/kernel/tracing", &st) < 0 && errno == EACCES)
			return err_set(err, EACCES, "cannot read tracefs (/sys/kernel/tracing is readable by root only): "
						    "run as root, or make tracefs readable to you");
		return err_set(err, ENOENT, "tracefs is not mounted, or has no uprobe_events (CONFIG_UPROBE_EVENTS), "
					    "and --latency needs it: mount -t tracefs nodev /sys/kernel/tracing (as root)");
	}
	(void)lat_remove_stale(s->root);
	uint32_t *ids = s->tp = xcalloc(s->probes.n * 2, sizeof *ids);
	for (size_t f = 0; f < s->probes.n && r >= 0; f++)
		for (int k = 0; k < 2 && r >= 0; k++)
			r = define_probe(s, f, k, &ids[f * 2 + (size_t)k], err);
	if (r < 0)
		return r;
	s->callchain = t->callchain;
	lat_trace_init(&s->tr, (uint32_t)s->probes.n, s->slowest, s->threshold);
	s->opened = true;
	/* Two records a call, a stack with each return: four times record's
	 * rings. The stack is walked at the return, not the entry: the walk
	 * comes after the return's timestamp instead of inside the call, and
	 * at the return address it starts in the caller, which a walk by frame
	 * pointers at the entry skips. */
	if ((r = tracer_start(&s->rings, t->mmap_pages ? t->mmap_pages * 4 : 512, t->now || t->deferred, err)) < 0)
		return r;
	s->self = t->tids[0] == -1 ? t->self : -1;
	for (int c = 0; c < t->ncpus; c++) {
		int lead = -1; /* every event of a CPU into one ring */
		for (size_t i = 0; i < t->ntids; i++) {
			bool gone = false;
			for (size_t f = 0; f < s->probes.n && !gone; f++)
				for (int k = 0; k < 2 && !gone; k++) {
					struct perf_event_attr a;
					memset(&a, 0, sizeof a);
					a.size = sizeof a;
					a.type = PERF_TYPE_TRACEPOINT;
					a.config = ids[f * 2 + (size_t)k];
					a.sample_period = 1;
					a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
							PERF_SAMPLE_REGS_USER |
							(k && t->callchain ? PERF_SAMPLE_CALLCHAIN : 0);
					a.sample_regs_user = 1ULL << PERF_REG_X86_SP;
					a.exclude_callchain_kernel = 1;
					if (k && t->callchain && t->max_stack)
						a.sample_max_stack = (uint16_t)t->max_stack;
					tracer_attr(&s->rings, &a);
					int fd = perf_open(&a, t->tids[i], t->cpus[c], -1);
					if (fd == -ESRCH && t->ntids > 1) {
						gone = true; /* that thread exited meanwhile */
						break;
					}
					if (fd < 0)
						return open_error(-fd, &s->probes.v[f], err);
					if ((r = tracer_add(&s->rings, fd, lead, err)) < 0)
						return r;
					if (lead < 0)
						lead = fd;
					uint64_t id;
					if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
						return err_set(err, errno, "cannot tell the uprobes apart: %s",
							       strerror(errno));
					u64map_put(&s->ids, id, (uint32_t)(f << 1 | (size_t)k));
				}
		}
	}
	/* Attached: a call under way now returns without its entry, counted
	 * as unpaired, never timed (pair.c). */
	if (!t->deferred && (r = tracer_enable(&s->rings, err)) < 0)
		return r;
	*poll_fd = s->rings.epfd;
	return 0;
}

/* -D: the delay has passed. */
static int lat_enable(void *state, struct cprof_err *err)
{
	struct lat_source *s = state;
	return tracer_enable(&s->rings, err);
}

static void lat_stop(void *state)
{
	struct lat_source *s = state;
	tracer_disable(&s->rings);
}

static void take_record(void *ctx, const void *rec, size_t len)
{
	struct lat_source *s = ctx;
	const struct perf_event_header *h = rec;
	struct rec_cur c = rec_cur_of(rec, len);
	if (h->type == PERF_RECORD_LOST) {
		rec_take(&c, 8); /* id */
		s->tr.lost += rec_take(&c, 8);
		return;
	}
	if (h->type != PERF_RECORD_SAMPLE)
		return;
	int64_t what = u64map_get(&s->ids, rec_take(&c, 8));
	struct lat_ev e = { 0 };
	e.pid = (uint32_t)rec_take(&c, 4);
	e.tid = (uint32_t)rec_take(&c, 4);
	e.time = rec_take(&c, 8);
	const uint64_t *ips = NULL;
	if (s->self >= 0 && e.pid == (uint32_t)s->self)
		return; /* -a: cprof's own calls */
	if (what < 0) {
		s->tr.malformed++;
		return;
	}
	e.func = (uint32_t)(what >> 1);
	e.ret = what & 1;
	if (e.ret && s->callchain) {
		uint64_t n = rec_take(&c, 8);
		if (n > (uint64_t)(c.end - c.p) / 8) {
			s->tr.malformed++;
			return;
		}
		ips = (const uint64_t *)(const void *)c.p; /* records are 8-byte aligned */
		e.nips = (uint32_t)n;
		c.p += n * 8;
	}
	uint64_t abi = rec_take(&c, 8);
	e.sp = abi ? rec_take(&c, 8) : 0;
	if (c.bad || !abi) {
		s->tr.malformed++;
		return;
	}
	lat_trace_add(&s->tr, &e, ips);
}

static void lat_drain(void *state, bool last)
{
	struct lat_source *s = state;
	if (s->closed || !s->rings.rings.n)
		return;
	uint64_t upto = tracer_pass(&s->rings, last, NULL, take_record, s);
	if (last) {
		lat_trace_end(&s->tr);
		tracer_close(&s->rings);
		remove_probes(s);
		s->closed = true;
	} else {
		lat_trace_take(&s->tr, upto);
	}
}

static void lat_stacks(void *state, struct resolver *res)
{
	struct lat_source *s = state;
	if (s->closed)
		lat_trace_stacks(&s->tr, res);
}

static int cmp_call(const void *a, const void *b)
{
	const struct lat_call *x = a, *y = b;
	return x->dur > y->dur ? -1 : x->dur < y->dur;
}

static int lat_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	struct lat_source *s = state;
	if (!s->closed)
		return 0;
	struct cprof_data *d = f->d;
	uint64_t calls = 0;
	for (uint32_t i = 0; i < s->tr.nfuncs; i++) {
		struct lat_func *fn = &s->tr.funcs[i];
		const struct lat_probe *p = &s->probes.v[i];
		struct cprof_lat_stat st = { .name = cprof_intern(d, p->spec), .path = cprof_intern(d, p->path),
					     .offset = p->offset, .calls = fn->calls, .returned = fn->returned,
					     .unreturned = fn->unreturned, .slow = fn->slow, .total_ns = fn->total,
					     .depth = fn->depth };
		if (lat_func_summary(fn, st.lat))
			lat_mark_approximated(d, "latency", i);
		vec_push(&d->lat_stats, st);
		lat_hist_put(d, LH_SRC_LATENCY, i, 0, 0, &fn->hist);
		calls += fn->calls;
		sort_n(fn->slowest.v, fn->slowest.n, sizeof *fn->slowest.v, cmp_call);
		for (size_t j = 0; j < fn->slowest.n; j++) {
			const struct lat_call *c = &fn->slowest.v[j];
			struct cprof_lat_slow w = { .func = i, .pid = c->pid, .tid = c->tid, .start = c->start,
						    .dur = c->dur, .stack = LAT_NO_STACK };
			if (c->handle != UINT32_MAX)
				w.stack = resolver_stack(f->res, c->handle, 0);
			vec_push(&d->lat_slow, w);
		}
	}
	lat_trace_store_stacks(&s->tr, f->res, d);
	cprof_meta_set(d, "latency", "1");
	cprof_meta_setf(d, "latency_threshold_ns", "%" PRIu64, s->threshold);
	cprof_meta_setf(d, "latency_slowest", "%u", s->slowest);
	cprof_meta_setf(d, "latency_lost", "%" PRIu64, s->tr.lost);
	cprof_meta_setf(d, "latency_unpaired_returns", "%" PRIu64, s->tr.unpaired);
	if (s->tr.malformed)
		cprof_meta_setf(d, "latency_malformed", "%" PRIu64, s->tr.malformed);
	if (s->tr.lost)
		notef(f->notes, "latency: the kernel dropped %" PRIu64 " probe records (rings full); the calls they "
				"belonged to are missing or unpaired; a larger -m helps", s->tr.lost);
	if (!calls)
		notef(f->notes, "latency: no probed function was called");
	return 0;
}

static void lat_release(void *state)
{
	struct lat_source *s = state;
	if (!s)
		return;
	tracer_close(&s->rings);
	remove_probes(s);
	free(s->tp);
	u64map_release(&s->ids);
	if (s->opened)
		lat_trace_release(&s->tr);
	probes_release(s);
	free(s);
}

const struct source_ops latency_source = {
	.name = "latency",
	.usage = "[--latency FUNC,... [--slow-threshold DUR]]",
	.help = "      --latency FUNC[,FUNC...]\n"
		"                         also time every call of these functions (uprobes):\n"
		"                         SYMBOL in the program, or LIB:SYMBOL in a library\n"
		"                         ('libc.so.6:malloc', or its path); calls, latency\n"
		"                         percentiles, calls that never returned, the slowest\n"
		"                         calls with their stacks (with -g); see 'cprof report\n"
		"                         --latency'; with -p/-t SYMBOL is looked up in the\n"
		"                         process's executable, then its libraries; with -a\n"
		"                         give LIB:SYMBOL or PATH:SYMBOL\n"
		"      --slow-threshold DUR  count the calls slower than DUR (10ms, 500us, 2s;\n"
		"                         default 10ms)\n"
		"      --latency-slowest N  keep the N slowest calls of each function (default 5)\n",
	.takes_arg = true,
	.arg_required = true,
	.configure = lat_configure,
	.more_opts = lat_more_opts,
	.more = lat_more,
	.attach = lat_attach,
	.enable = lat_enable,
	.stop = lat_stop,
	.drain = lat_drain,
	.stacks = lat_stacks,
	.finish = lat_finish,
	.release = lat_release,
	.view = &latency_view,
};
