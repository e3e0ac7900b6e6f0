/*
 * views.c - what `cprof report --syscalls` draws (source.h's views): per
 * syscall the calls, errors, time and latency percentiles; errors by
 * errno; the I/O per open file descriptor; per thread; the slowest calls
 * with their stacks. Text, JSON (one object), CSV (one row per syscall
 * and thread, "all" first; the I/O is in the other two) or folded stacks
 * of the time in the calls, which the flame graph draws.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/fmt.h"
#include "cprof/hist.h"
#include "cprof/latclass.h"
#include "cprof/latdiff.h"
#include "cprof/output.h"
#include "cprof/report.h"
#include "cprof/stacktime.h"
#include "cprof/flamegraph.h"
#include "cprof/syscalls.h"
#include "sys-internal.h"

static const char *name_of(const struct cprof_data *d, uint32_t nr)
{
	for (size_t i = 0; i < d->sys_stats.n; i++)
		if (d->sys_stats.v[i].nr == nr)
			return cprof_str(d, d->sys_stats.v[i].name);
	return "?";
}

/* A syscall as the last frame of a stack: the kernel's ("_[k]"), as
 * folded stacks mark kernel frames, apart from the libc wrapper of the
 * same name that made it. */
static const char *sys_name(const struct cprof_data *d, uint32_t nr, void *ctx)
{
	struct sbuf *buf = ctx;
	sbuf_reset(buf);
	sbuf_addf(buf, "%s_[k]", name_of(d, nr));
	return buf->buf;
}

/* The part of s's time on a CPU: false when not measured (an older
 * recording); 0 when no call returned. */
struct sys_selves {
	bool measured;               /* the recording has the syscalls_self meta */
	struct stacktime_oncpu oncpu;
};

static bool self_of(const struct sys_selves *sv, const struct cprof_sys_stat *s, uint64_t *self)
{
	uint64_t total;
	if (!sv->measured)
		return false;
	if (!stacktime_oncpu_get(&sv->oncpu, s->nr, s->tid, &total, self))
		*self = 0;
	return true;
}

static const char *fmt_self(const struct sys_selves *sv, const struct cprof_sys_stat *s, char *buf)
{
	uint64_t self;
	return self_of(sv, s, &self) ? fmt_ns(self, buf) : "-";
}

/* The all-threads rows, most total time first (then by number). */
static const struct cprof_data *sort_d;
static int by_total(const void *a, const void *b)
{
	const struct cprof_sys_stat *x = &sort_d->sys_stats.v[*(const size_t *)a];
	const struct cprof_sys_stat *y = &sort_d->sys_stats.v[*(const size_t *)b];
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static void text_slowest(FILE *out, const struct cprof_data *d, uint32_t nr)
{
	char b[2][FMT_BUF];
	for (size_t i = 0; i < d->sys_slow.n; i++) {
		const struct cprof_sys_slow *s = &d->sys_slow.v[i];
		if (s->nr != nr)
			continue;
		if (s->ret < 0 && s->ret >= -4095)
			fprintf(out, "  %-18s %10s  tid %-8u = -1 %s\n", name_of(d, s->nr), fmt_ns(s->dur, b[0]), s->tid,
				fmt_errno((uint32_t)-s->ret, b[1]));
		else
			fprintf(out, "  %-18s %10s  tid %-8u = %" PRId64 "\n", name_of(d, s->nr), fmt_ns(s->dur, b[0]),
				s->tid, s->ret);
		if (s->stack == SYS_NO_STACK)
			continue;
		uint32_t n = cprof_stack_len(d, s->stack);
		const uint32_t *f = cprof_stack_frames(d, s->stack);
		for (uint32_t j = 0; j < n; j++)
			fprintf(out, "      %s\n", cprof_str(d, d->frames.v[f[j]].func));
	}
}

/* Bytes a second while in the calls that moved them ("-" without time). */
static const char *fmt_rate(uint64_t bytes, uint64_t ns, char *buf)
{
	if (!ns || !bytes)
		return "-";
	double r = (double)bytes * 1e9 / (double)ns;
	char b[FMT_BUF];
	snprintf(buf, FMT_BUF, "%s/s", fmt_size(r > 1.8e19 ? UINT64_MAX : (uint64_t)r, b));
	return buf;
}

/* The descriptors that moved the most bytes (then took the most time). */
static int by_io(const void *a, const void *b)
{
	const struct cprof_sys_io *x = &sort_d->sys_io.v[*(const size_t *)a];
	const struct cprof_sys_io *y = &sort_d->sys_io.v[*(const size_t *)b];
	uint64_t bx = x->read_bytes + x->write_bytes, by = y->read_bytes + y->write_bytes;
	if (bx != by)
		return bx > by ? -1 : 1;
	uint64_t tx = x->read_ns + x->write_ns + x->sync_ns, ty = y->read_ns + y->write_ns + y->sync_ns;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static void text_io(FILE *out, const struct cprof_data *d, size_t top)
{
	if (!d->sys_io.n)
		return;
	char b[8][FMT_BUF];
	size_t *order = xmalloc(d->sys_io.n * sizeof *order);
	for (size_t i = 0; i < d->sys_io.n; i++)
		order[i] = i;
	sort_d = d;
	qsort(order, d->sys_io.n, sizeof *order, by_io);
	size_t shown = top && top < d->sys_io.n ? top : d->sys_io.n;
	fprintf(out, "\nI/O by file descriptor (bytes the calls returned; rate while in them):\n"
		     "  %-8s %4s %10s %10s %10s %11s %12s  %s\n",
		"pid", "fd", "read", "written", "calls", "time", "rate", "file");
	for (size_t o = 0; o < shown; o++) {
		const struct cprof_sys_io *x = &d->sys_io.v[order[o]];
		uint64_t bytes = x->read_bytes + x->write_bytes, ns = x->read_ns + x->write_ns;
		const char *path = cprof_str(d, x->path);
		fprintf(out, "  %-8u %4d %10s %10s %10s %11s %12s  %s\n", x->pid, x->fd, fmt_size(x->read_bytes, b[0]),
			fmt_size(x->write_bytes, b[1]),
			fmt_thousands(x->read_calls + x->write_calls + x->sync_calls, b[2]),
			fmt_ns(ns + x->sync_ns, b[3]), fmt_rate(bytes, ns, b[4]), *path ? path : "(closed before it was seen)");
	}
	if (shown < d->sys_io.n)
		fprintf(out, "  (%zu more descriptors; --top %zu shows them all)\n", d->sys_io.n - shown, d->sys_io.n);
	free(order);
}

/* Syscall nr's calls by latency class, from its distribution over all
 * threads; false when the recording kept none (an older file). */
static bool classes_of(const struct cprof_data *d, const struct latclasses *lc, uint32_t nr, uint64_t n[LC_N])
{
	struct hist h = HIST_INIT;
	bool ok = lat_hist_get(d, LH_SRC_SYSCALLS, nr, &h);
	if (ok)
		latclass_count_hist(lc, &h, n);
	hist_release(&h);
	return ok;
}

static void text_classes(FILE *out, const struct cprof_data *d, const struct latclasses *lc, const size_t *order,
			 size_t shown)
{
	if (!d->lat_hists.n) {
		fprintf(out, "\nLatency classes: this recording keeps no latency distributions (made by an older cprof)\n");
		return;
	}
	latclass_text_title(out, lc, "", "syscall", 18);
	bool approx = false;
	for (size_t o = 0; o < shown; o++) {
		const struct cprof_sys_stat *s = &d->sys_stats.v[order[o]];
		uint64_t n[LC_N];
		bool a = lat_approximated(d, "syscalls", s->nr);
		approx |= a;
		fprintf(out, "%-17s%s", cprof_str(d, s->name), a ? "*" : " ");
		latclass_text_row(out, classes_of(d, lc, s->nr, n) ? n : NULL);
		fprintf(out, "\n");
	}
	if (approx)
		fprintf(out, "* more calls than were kept one by one: percentiles from the histogram, at most\n"
			     "  1/128 (0.78 %%) above the exact ones\n");
}

static void text_report(FILE *out, const struct cprof_data *d, const struct sys_selves *sv, const char *input, size_t top,
			const struct latclasses *lc)
{
	char b[PCT_N + 4][FMT_BUF];
	size_t *order = xmalloc((d->sys_stats.n + 1) * sizeof *order), n = 0;
	for (size_t i = 0; i < d->sys_stats.n; i++)
		if (!d->sys_stats.v[i].tid)
			order[n++] = i;
	sort_d = d;
	qsort(order, n, sizeof *order, by_total);
	size_t shown = top && top < n ? top : n;
	fprintf(out, "Syscalls: %s\n", cprof_meta_or(d, "command", input));
	fprintf(out,
		"Lost records: %" PRIu64 "; returns without their entry: %" PRIu64 " (the workload's exec, each fork's\n"
		"child returning from clone, calls already running when -p or -a attached or -D ended, and\n"
		"any whose entry was lost)\n\n",
		cprof_meta_u64(d, "syscalls_lost", 0), cprof_meta_u64(d, "syscalls_unpaired_returns", 0));
	fprintf(out, "%-18s %10s %8s %11s %11s", "syscall", "calls", "errors", "total", "self");
	for (int k = 1; k < PCT_N; k++)
		fprintf(out, " %10s", pct_names[k]);
	fprintf(out, "\n");
	for (size_t o = 0; o < shown; o++) {
		const struct cprof_sys_stat *s = &d->sys_stats.v[order[o]];
		fprintf(out, "%-18s %10s %8s %11s %11s", cprof_str(d, s->name), fmt_thousands(s->calls, b[0]),
			fmt_thousands(s->errors, b[1]), fmt_ns(s->total_ns, b[2]), fmt_self(sv, s, b[3]));
		for (int k = 1; k < PCT_N; k++)
			fprintf(out, " %10s", s->calls > s->unfinished ? fmt_ns(s->lat[k], b[4 + k]) : "-");
		fprintf(out, "\n");
	}
	if (shown < n)
		fprintf(out, "(%zu more syscalls with less time; --top %zu shows them all)\n", n - shown, n);
	text_classes(out, d, lc, order, shown);
	bool any = false;
	for (size_t o = 0; o < shown; o++)
		for (size_t i = 0; i < d->sys_errs.n; i++) {
			const struct cprof_sys_err *e = &d->sys_errs.v[i];
			if (e->tid || e->nr != d->sys_stats.v[order[o]].nr)
				continue;
			if (!any)
				fprintf(out, "\nErrors:\n");
			any = true;
			fprintf(out, "  %-18s %-14s %10s\n", name_of(d, e->nr), fmt_errno(e->err, b[0]),
				fmt_thousands(e->count, b[1]));
		}
	text_io(out, d, top);
	fprintf(out, "\nPer thread:\n  %-8s %-8s %-18s %10s %8s %11s %11s %10s %10s\n", "pid", "tid", "syscall", "calls",
		"errors", "total", "self", "p50", "max");
	for (size_t o = 0; o < shown; o++)
		for (size_t i = 0; i < d->sys_stats.n; i++) {
			const struct cprof_sys_stat *s = &d->sys_stats.v[i];
			if (!s->tid || s->nr != d->sys_stats.v[order[o]].nr)
				continue;
			bool lat = s->calls > s->unfinished;
			fprintf(out, "  %-8u %-8u %-18s %10s %8s %11s %11s %10s %10s\n", s->pid, s->tid,
				cprof_str(d, s->name), fmt_thousands(s->calls, b[0]), fmt_thousands(s->errors, b[1]),
				fmt_ns(s->total_ns, b[2]), fmt_self(sv, s, b[5]), lat ? fmt_ns(s->lat[PCT_P50], b[3]) : "-",
				lat ? fmt_ns(s->lat[PCT_MAX], b[4]) : "-");
		}
	if (d->sys_slow.n)
		fprintf(out, "\nSlowest calls (%" PRIu64 " per syscall kept):\n",
			cprof_meta_u64(d, "syscalls_slowest", d->sys_slow.n));
	for (size_t o = 0; o < shown; o++)
		text_slowest(out, d, d->sys_stats.v[order[o]].nr);
	free(order);
}

static void json_stat(FILE *out, const struct sys_selves *sv, const struct cprof_sys_stat *s)
{
	fprintf(out, "\"nr\":%u,\"calls\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"unfinished\":%" PRIu64
	       ",\"total_ns\":%" PRIu64, s->nr, s->calls, s->errors, s->unfinished, s->total_ns);
	uint64_t self;
	if (self_of(sv, s, &self))
		fprintf(out, ",\"self_ns\":%" PRIu64, self);
	else
		fprintf(out, ",\"self_ns\":null");
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, ",\"%s_ns\":%" PRIu64, k == PCT_P999 ? "p999" : pct_names[k], s->lat[k]);
}

static void json_report(FILE *out, const struct cprof_data *d, const struct sys_selves *sv, const struct latclasses *lc)
{
	char b[FMT_BUF];
	fprintf(out, "{\"command\":");
	json_string(out, cprof_meta_or(d, "command", ""));
	fprintf(out, ",\"lost\":%" PRIu64 ",\"unpaired_returns\":%" PRIu64 ",\"syscalls\":[",
		cprof_meta_u64(d, "syscalls_lost", 0), cprof_meta_u64(d, "syscalls_unpaired_returns", 0));
	bool first = true;
	for (size_t i = 0; i < d->sys_stats.n; i++) {
		const struct cprof_sys_stat *s = &d->sys_stats.v[i];
		if (s->tid)
			continue;
		fprintf(out, "%s{\"name\":", first ? "" : ",");
		first = false;
		json_string(out, cprof_str(d, s->name));
		fprintf(out, ",");
		json_stat(out, sv, s);
		uint64_t cn[LC_N];
		latclass_json(out, classes_of(d, lc, s->nr, cn) ? cn : NULL);
		fprintf(out, ",\"percentiles\":\"%s\"", lat_approximated(d, "syscalls", s->nr) ? "histogram" : "exact");
		fprintf(out, ",\"errors_by_errno\":{");
		bool f2 = true;
		for (size_t j = 0; j < d->sys_errs.n; j++)
			if (!d->sys_errs.v[j].tid && d->sys_errs.v[j].nr == s->nr) {
				fprintf(out, "%s\"%s\":%" PRIu64, f2 ? "" : ",", fmt_errno(d->sys_errs.v[j].err, b),
				       d->sys_errs.v[j].count);
				f2 = false;
			}
		fprintf(out, "},\"threads\":[");
		f2 = true;
		for (size_t j = 0; j < d->sys_stats.n; j++) {
			const struct cprof_sys_stat *t = &d->sys_stats.v[j];
			if (!t->tid || t->nr != s->nr)
				continue;
			fprintf(out, "%s{\"pid\":%u,\"tid\":%u,", f2 ? "" : ",", t->pid, t->tid);
			json_stat(out, sv, t);
			fprintf(out, "}");
			f2 = false;
		}
		fprintf(out, "],\"slowest\":[");
		f2 = true;
		for (size_t j = 0; j < d->sys_slow.n; j++) {
			const struct cprof_sys_slow *w = &d->sys_slow.v[j];
			if (w->nr != s->nr)
				continue;
			fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"start_ns\":%" PRIu64 ",\"dur_ns\":%" PRIu64 ",\"ret\":%" PRId64
			       ",\"stack\":[", f2 ? "" : ",", w->pid, w->tid, w->start, w->dur, w->ret);
			f2 = false;
			uint32_t n = w->stack != SYS_NO_STACK ? cprof_stack_len(d, w->stack) : 0;
			const uint32_t *f = n ? cprof_stack_frames(d, w->stack) : NULL;
			for (uint32_t k = 0; k < n; k++) {
				fprintf(out, "%s", k ? "," : "");
				json_string(out, cprof_str(d, d->frames.v[f[k]].func));
			}
			fprintf(out, "]}");
		}
		fprintf(out, "]}");
	}
	fprintf(out, "]");
	latclass_json_limits(out, lc);
	fprintf(out, ",\"io\":[");
	for (size_t i = 0; i < d->sys_io.n; i++) {
		const struct cprof_sys_io *x = &d->sys_io.v[i];
		fprintf(out, "%s{\"pid\":%u,\"fd\":%d,\"path\":", i ? "," : "", x->pid, x->fd);
		json_string(out, cprof_str(d, x->path));
		fprintf(out, ",\"read_calls\":%" PRIu64 ",\"read_bytes\":%" PRIu64 ",\"read_ns\":%" PRIu64
			     ",\"write_calls\":%" PRIu64 ",\"write_bytes\":%" PRIu64 ",\"write_ns\":%" PRIu64
			     ",\"sync_calls\":%" PRIu64 ",\"sync_ns\":%" PRIu64 "}",
			x->read_calls, x->read_bytes, x->read_ns, x->write_calls, x->write_bytes, x->write_ns,
			x->sync_calls, x->sync_ns);
	}
	fprintf(out, "]}\n");
}

static void csv_report(FILE *out, const struct cprof_data *d, const struct sys_selves *sv, const struct latclasses *lc)
{
	fprintf(out, "syscall,nr,pid,tid,calls,errors,unfinished,total_ns,self_ns");
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, ",%s_ns", k == PCT_P999 ? "p999" : pct_names[k]);
	latclass_csv_header(out);
	fprintf(out, "\n");
	for (size_t i = 0; i < d->sys_stats.n; i++) {
		const struct cprof_sys_stat *s = &d->sys_stats.v[i];
		if (s->tid)
			fprintf(out, "%s,%u,%u,%u", cprof_str(d, s->name), s->nr, s->pid, s->tid);
		else
			fprintf(out, "%s,%u,all,all", cprof_str(d, s->name), s->nr);
		fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, s->calls, s->errors, s->unfinished, s->total_ns);
		uint64_t self;
		if (self_of(sv, s, &self))
			fprintf(out, ",%" PRIu64, self);
		else
			fprintf(out, ",");
		for (int k = 0; k < PCT_N; k++)
			fprintf(out, ",%" PRIu64, s->lat[k]);
		uint64_t cn[LC_N]; /* all threads only: per thread, no distribution is kept */
		latclass_csv_row(out, !s->tid && classes_of(d, lc, s->nr, cn) ? cn : NULL);
		fprintf(out, "\n");
	}
}

void sys_report(FILE *out, const struct cprof_data *d, const char *input, int format, size_t top,
		const struct latclasses *lc)
{
	struct latclasses dflt;
	if (!lc) {
		latclass_defaults(&dflt);
		lc = &dflt;
	}
	struct sys_selves sv = { .measured = cprof_meta_get(d, "syscalls_self") != NULL };
	stacktime_oncpu_build(&sv.oncpu, d, LH_SRC_SYSCALLS);
	if (format == FORMAT_JSON) {
		json_report(out, d, &sv, lc);
	} else if (format == FORMAT_CSV) {
		csv_report(out, d, &sv, lc);
	} else if (format == FORMAT_FOLDED) {
		struct sbuf name = SBUF_INIT;
		stacktime_folded(out, d, LH_SRC_SYSCALLS, sys_name, &name);
		sbuf_release(&name);
	} else {
		text_report(out, d, &sv, input, top, lc);
	}
	stacktime_oncpu_release(&sv.oncpu);
}

static int no_data(const struct view_call *c, struct cprof_err *err)
{
	return err_set(err, ENODATA, "'%s': no syscall trace in this recording (record with --syscalls)", c->input);
}

/* A recording made before the time by stack was kept. */
static int no_stacks(const struct view_call *c, struct cprof_err *err)
{
	return err_set(err, ENODATA, "'%s': this syscall trace keeps no time by stack (recorded by an older cprof); "
				     "record it again", c->input);
}

static bool has_stacktime(const struct cprof_data *d)
{
	for (size_t i = 0; i < d->lat_stacks.n; i++)
		if (d->lat_stacks.v[i].source == LH_SRC_SYSCALLS)
			return true;
	return !d->sys_stats.n; /* no call at all: an empty graph, not an old file */
}

static int sys_view_report(const struct view_call *c, struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "syscalls"))
		return no_data(c, err);
	if (c->format == FORMAT_FOLDED && !has_stacktime(c->d))
		return no_stacks(c, err);
	struct latclasses lc;
	int r = latclass_resolve(c->arg[0], c->arg[1], &lc, err);
	if (r < 0)
		return r;
	/* Ten syscalls on a terminal unless --top says otherwise. */
	sys_report(stdout, c->d, c->input, c->format, c->top_set || c->format != FORMAT_TEXT ? c->top : 10, &lc);
	return 0; /* a write error is main's to report (output_finish), a closed pipe is not one */
}

static int sys_view_flamegraph(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			       struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "syscalls"))
		return no_data(c, err);
	if (!has_stacktime(c->d))
		return no_stacks(c, err);
	if (!o->title)
		o->title = "Syscall Time Flame Graph";
	if (!o->countname)
		o->countname = "ns in syscalls";
	(void)palette_set; /* hot: the syscalls are kernel frames, in orange */
	struct sbuf name = SBUF_INIT;
	stacktime_flame(g, c->d, LH_SRC_SYSCALLS, sys_name, &name);
	sbuf_release(&name);
	return 0;
}

static int sys_view_check(const struct view_call *c, struct cprof_err *err)
{
	struct latclasses lc;
	return c->arg[0] ? latclass_parse_list(c->arg[0], &lc, err) : 0;
}

/* Each syscall's distribution over all threads, for cprof diff --latency. */
static void sys_view_dists(const struct cprof_data *d, struct latdist_set *out)
{
	struct hist h = HIST_INIT;
	for (size_t i = 0; i < d->sys_stats.n; i++) {
		const struct cprof_sys_stat *s = &d->sys_stats.v[i];
		if (s->tid == 0 && lat_hist_get(d, LH_SRC_SYSCALLS, s->nr, &h))
			hist_merge(latdist_get(out, "syscalls", cprof_str(d, s->name)), &h);
	}
	hist_release(&h);
}

static const struct view_opt sys_opts[] = {
	{ "classes", true, VIEW_REPORT, false },
	{ "classes-file", true, VIEW_REPORT, false },
	{ NULL, false, 0, false },
};

const struct source_view syscalls_view = {
	.report_usage = "       cprof report --syscalls [-i FILE] [--format text|json|csv|folded]\n"
			"                    [--top N] [--classes T1,T2,T3 | --classes-file FILE]",
	.report_help = "      --syscalls         the syscalls of a 'record --syscalls' recording: calls,\n"
		       "                         errors by errno, total and self (on a CPU) time,\n"
		       "                         latency percentiles, bytes and rate per file\n"
		       "                         descriptor, per thread, and the slowest calls with\n"
		       "                         their stacks; folded: the stacks the calls were made\n"
		       "                         from (-g), the syscall last, weighted by microseconds\n"
		       "                         in the calls\n",
	.flame_usage = "       cprof flamegraph --syscalls [-i FILE] [-o FILE] ...",
	.flame_help = "      --syscalls         time in syscalls ('record --syscalls', stacks with -g)\n"
		      "                         by the stacks that made them, the syscall as the last\n"
		      "                         frame (a kernel frame: orange), in ns\n",
	.opts = sys_opts,
	.check = sys_view_check,
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV | 1u << FORMAT_FOLDED,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD | VIEW_NO_REVERSE,
	.report = sys_view_report,
	.flamegraph = sys_view_flamegraph,
	.timeline = &syscalls_timeline,
	.dists = sys_view_dists,
};
