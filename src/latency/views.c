/*
 * views.c - what `cprof report --latency` draws (source.h's views): per
 * probed function the calls, the ones that never returned, the ones over
 * the threshold, the time and latency percentiles; the slowest calls with
 * the stacks they returned to. Text, JSON (one object), CSV (one row per
 * function) or folded stacks of the time in the calls, which the flame
 * graph draws.
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
#include "cprof/latency.h"
#include "cprof/output.h"
#include "cprof/report.h"
#include "cprof/stacktime.h"
#include "cprof/flamegraph.h"

/* A probed function as the last frame of a stack: as it was given. */
static const char *func_name(const struct cprof_data *d, uint32_t i, void *ctx)
{
	(void)ctx;
	return cprof_str(d, d->lat_stats.v[i].name);
}

static uint64_t threshold(const struct cprof_data *d)
{
	return cprof_meta_u64(d, "latency_threshold_ns", 0);
}

/* Function i's returned calls by latency class, from its distribution;
 * false when the recording kept none (an older file). */
static bool classes_of(const struct cprof_data *d, const struct latclasses *lc, uint32_t i, uint64_t n[LC_N])
{
	struct hist h = HIST_INIT;
	bool ok = lat_hist_get(d, LH_SRC_LATENCY, i, &h);
	if (ok)
		latclass_count_hist(lc, &h, n);
	hist_release(&h);
	return ok;
}

static void text_classes(FILE *out, const struct cprof_data *d, const struct latclasses *lc)
{
	if (!d->lat_hists.n) {
		fprintf(out, "\nLatency classes: this recording keeps no latency distributions (made by an older cprof)\n");
		return;
	}
	latclass_text_title(out, lc, "of the returned calls", "function", 24);
	bool approx = false;
	for (uint32_t i = 0; i < d->lat_stats.n; i++) {
		uint64_t n[LC_N];
		bool a = lat_approximated(d, "latency", i);
		approx |= a;
		fprintf(out, "%-23s%s", cprof_str(d, d->lat_stats.v[i].name), a ? "*" : " ");
		latclass_text_row(out, classes_of(d, lc, i, n) ? n : NULL);
		fprintf(out, "\n");
	}
	if (approx)
		fprintf(out, "* more calls than were kept one by one: percentiles from the histogram, at most\n"
			     "  1/128 (0.78 %%) above the exact ones\n");
}

/* Function i's returned calls drawn as funclatency draws them: a row per
 * power of two of nanoseconds, from the fastest call's to the slowest's,
 * with its count and a bar. Counts are exact: 2^k - 1 is the highest
 * value of a bucket (hist.h). */
static void text_histogram(FILE *out, const struct cprof_data *d, uint32_t i)
{
	struct hist h = HIST_INIT;
	if (!lat_hist_get(d, LH_SRC_LATENCY, i, &h) || !h.total) {
		hist_release(&h);
		return;
	}
	int lo = 0, hi = 0;
	while (lo < 63 && (2ULL << lo) <= h.min)
		lo++;
	while (hi < 63 && (2ULL << hi) <= h.max)
		hi++;
	uint64_t n[64] = { 0 }, most = 0;
	for (int k = lo; k <= hi; k++) {
		uint64_t top = k == 63 ? UINT64_MAX : (2ULL << k) - 1;
		n[k] = hist_count_at_or_below(&h, top) - (k ? hist_count_at_or_below(&h, (1ULL << k) - 1) : 0);
		if (n[k] > most)
			most = n[k];
	}
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF];
	fprintf(out, "\n%s: calls by latency\n", cprof_str(d, d->lat_stats.v[i].name));
	for (int k = lo; k <= hi; k++) {
		int bar = most ? (int)((n[k] * 40 + most - 1) / most) : 0;
		fprintf(out, "  %10s .. %-10s %10s |%-40.*s|\n", fmt_ns(k ? 1ULL << k : 0, a),
			fmt_ns(k == 63 ? UINT64_MAX : 2ULL << k, b), fmt_thousands(n[k], c), bar,
			"****************************************");
	}
	hist_release(&h);
}

static void text_report(FILE *out, const struct cprof_data *d, const char *input, const struct latclasses *lc)
{
	char b[PCT_N + 5][FMT_BUF];
	fprintf(out, "Function latency: %s\n", cprof_meta_or(d, "command", input));
	fprintf(out, "Lost records: %" PRIu64 "; returns without their entry: %" PRIu64 "\n\n",
		cprof_meta_u64(d, "latency_lost", 0), cprof_meta_u64(d, "latency_unpaired_returns", 0));
	fprintf(out, "%-24s %10s %10s %10s %6s %11s", "function", "calls", "unreturned", "slow", "depth", "total");
	for (int k = 1; k < PCT_N; k++)
		fprintf(out, " %10s", pct_names[k]);
	fprintf(out, "\n");
	for (size_t i = 0; i < d->lat_stats.n; i++) {
		const struct cprof_lat_stat *s = &d->lat_stats.v[i];
		fprintf(out, "%-24s %10s %10s %10s %6u %11s", cprof_str(d, s->name), fmt_thousands(s->calls, b[0]),
			fmt_thousands(s->unreturned, b[1]), fmt_thousands(s->slow, b[2]), s->depth,
			fmt_ns(s->total_ns, b[3]));
		for (int k = 1; k < PCT_N; k++)
			fprintf(out, " %10s", s->returned ? fmt_ns(s->lat[k], b[4 + k]) : "-");
		fprintf(out, "\n");
	}
	fprintf(out, "\nslow: calls over %s; unreturned: calls that never returned (a longjmp past\n"
		     "them, their thread's exit, the end of the recording), in no percentile\n",
		fmt_ns(threshold(d), b[0]));
	text_classes(out, d, lc);
	for (uint32_t i = 0; i < d->lat_stats.n; i++)
		text_histogram(out, d, i);
	if (d->lat_slow.n)
		fprintf(out, "\nSlowest calls (%" PRIu64 " per function kept), with the code they returned to:\n",
			cprof_meta_u64(d, "latency_slowest", d->lat_slow.n));
	for (size_t i = 0; i < d->lat_slow.n; i++) {
		const struct cprof_lat_slow *w = &d->lat_slow.v[i];
		fprintf(out, "  %-24s %10s  tid %u\n", cprof_str(d, d->lat_stats.v[w->func].name), fmt_ns(w->dur, b[0]),
			w->tid);
		if (w->stack == LAT_NO_STACK)
			continue;
		uint32_t n = cprof_stack_len(d, w->stack);
		const uint32_t *f = cprof_stack_frames(d, w->stack);
		for (uint32_t j = 0; j < n; j++)
			fprintf(out, "      %s\n", cprof_str(d, d->frames.v[f[j]].func));
	}
}

static void json_report(FILE *out, const struct cprof_data *d, const struct latclasses *lc)
{
	fprintf(out, "{\"command\":");
	json_string(out, cprof_meta_or(d, "command", ""));
	fprintf(out, ",\"lost\":%" PRIu64 ",\"unpaired_returns\":%" PRIu64 ",\"threshold_ns\":%" PRIu64
		     ",\"functions\":[",
		cprof_meta_u64(d, "latency_lost", 0), cprof_meta_u64(d, "latency_unpaired_returns", 0), threshold(d));
	for (size_t i = 0; i < d->lat_stats.n; i++) {
		const struct cprof_lat_stat *s = &d->lat_stats.v[i];
		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_string(out, cprof_str(d, s->name));
		fprintf(out, ",\"path\":");
		json_string(out, cprof_str(d, s->path));
		fprintf(out, ",\"offset\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"returned\":%" PRIu64 ",\"unreturned\":%" PRIu64
			     ",\"slow\":%" PRIu64 ",\"depth\":%u,\"total_ns\":%" PRIu64,
			s->offset, s->calls, s->returned, s->unreturned, s->slow, s->depth, s->total_ns);
		for (int k = 0; k < PCT_N; k++)
			fprintf(out, ",\"%s_ns\":%" PRIu64, k == PCT_P999 ? "p999" : pct_names[k], s->lat[k]);
		uint64_t cn[LC_N];
		latclass_json(out, classes_of(d, lc, (uint32_t)i, cn) ? cn : NULL);
		fprintf(out, ",\"percentiles\":\"%s\"", lat_approximated(d, "latency", (uint32_t)i) ? "histogram" : "exact");
		fprintf(out, ",\"slowest\":[");
		bool first = true;
		for (size_t j = 0; j < d->lat_slow.n; j++) {
			const struct cprof_lat_slow *w = &d->lat_slow.v[j];
			if (w->func != i)
				continue;
			fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"start_ns\":%" PRIu64 ",\"dur_ns\":%" PRIu64 ",\"stack\":[",
				first ? "" : ",", w->pid, w->tid, w->start, w->dur);
			first = false;
			uint32_t n = w->stack != LAT_NO_STACK ? cprof_stack_len(d, w->stack) : 0;
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
	fprintf(out, "}\n");
}

static void csv_report(FILE *out, const struct cprof_data *d, const struct latclasses *lc)
{
	fprintf(out, "function,path,calls,returned,unreturned,slow,depth,total_ns");
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, ",%s_ns", k == PCT_P999 ? "p999" : pct_names[k]);
	latclass_csv_header(out);
	fprintf(out, "\n");
	for (size_t i = 0; i < d->lat_stats.n; i++) {
		const struct cprof_lat_stat *s = &d->lat_stats.v[i];
		csv_field(out, cprof_str(d, s->name));
		fputc(',', out);
		csv_field(out, cprof_str(d, s->path));
		fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%" PRIu64, s->calls, s->returned,
			s->unreturned, s->slow, s->depth, s->total_ns);
		for (int k = 0; k < PCT_N; k++)
			fprintf(out, ",%" PRIu64, s->lat[k]);
		uint64_t cn[LC_N];
		latclass_csv_row(out, classes_of(d, lc, (uint32_t)i, cn) ? cn : NULL);
		fprintf(out, "\n");
	}
}

void lat_report(FILE *out, const struct cprof_data *d, const char *input, int format, const struct latclasses *lc)
{
	struct latclasses dflt;
	if (!lc) {
		latclass_defaults(&dflt);
		lc = &dflt;
	}
	if (format == FORMAT_JSON) {
		json_report(out, d, lc);
	} else if (format == FORMAT_CSV) {
		csv_report(out, d, lc);
	} else if (format == FORMAT_FOLDED) {
		stacktime_folded(out, d, LH_SRC_LATENCY, func_name, NULL);
	} else {
		text_report(out, d, input, lc);
	}
}

static int no_data(const struct view_call *c, struct cprof_err *err)
{
	return err_set(err, ENODATA, "'%s': no function latency in this recording (record with --latency)", c->input);
}

/* Time by stack is kept since it was added; a function that never
 * returned has none, so only returned calls tell an older file. */
static bool has_stacktime(const struct cprof_data *d)
{
	for (size_t i = 0; i < d->lat_stacks.n; i++)
		if (d->lat_stacks.v[i].source == LH_SRC_LATENCY)
			return true;
	for (size_t i = 0; i < d->lat_stats.n; i++)
		if (d->lat_stats.v[i].returned)
			return false;
	return true;
}

static int no_stacks(const struct view_call *c, struct cprof_err *err)
{
	return err_set(err, ENODATA, "'%s': this latency recording keeps no time by stack (recorded by an older "
				     "cprof); record it again", c->input);
}

static int lat_view_report(const struct view_call *c, struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "latency"))
		return no_data(c, err);
	if (c->format == FORMAT_FOLDED && !has_stacktime(c->d))
		return no_stacks(c, err);
	struct latclasses lc;
	int r = latclass_resolve(c->arg[0], c->arg[1], &lc, err);
	if (r < 0)
		return r;
	lat_report(stdout, c->d, c->input, c->format, &lc);
	return 0; /* a write error is main's to report (output_finish), a closed pipe is not one */
}

static int lat_view_flamegraph(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			       struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "latency"))
		return no_data(c, err);
	if (!has_stacktime(c->d))
		return no_stacks(c, err);
	if (!o->title)
		o->title = "Function Latency Flame Graph";
	if (!o->countname)
		o->countname = "ns in calls";
	if (!palette_set)
		o->palette = FG_AQUA;
	stacktime_flame(g, c->d, LH_SRC_LATENCY, func_name, NULL);
	return 0;
}

static int lat_view_check(const struct view_call *c, struct cprof_err *err)
{
	struct latclasses lc;
	return c->arg[0] ? latclass_parse_list(c->arg[0], &lc, err) : 0;
}

/* Each probed function's distribution, for cprof diff --latency. */
static void lat_view_dists(const struct cprof_data *d, struct latdist_set *out)
{
	struct hist h = HIST_INIT;
	for (uint32_t i = 0; i < d->lat_stats.n; i++)
		if (lat_hist_get(d, LH_SRC_LATENCY, i, &h))
			hist_merge(latdist_get(out, "latency", cprof_str(d, d->lat_stats.v[i].name)), &h);
	hist_release(&h);
}

static const struct view_opt lat_opts[] = {
	{ "classes", true, VIEW_REPORT, false },
	{ "classes-file", true, VIEW_REPORT, false },
	{ NULL, false, 0, false },
};

const struct source_view latency_view = {
	.report_usage = "       cprof report --latency [-i FILE] [--format text|json|csv|folded]\n"
			"                    [--classes T1,T2,T3 | --classes-file FILE]",
	.report_help = "      --latency          the functions of a 'record --latency' recording: calls,\n"
		       "                         latency percentiles, calls over the threshold and\n"
		       "                         calls that never returned, the slowest calls with\n"
		       "                         their stacks; folded: the stacks the calls returned\n"
		       "                         to (-g), the function last, weighted by microseconds\n"
		       "                         in the calls\n"
		       "      --classes T1,T2,T3 with --syscalls, --offcpu or --latency: count the\n"
		       "                         calls (waits) in latency classes, fast <= T1 < slow\n"
		       "                         <= T2 < very slow <= T3 < critical (default\n"
		       "                         1ms,10ms,100ms); beats --classes-file\n"
		       "      --classes-file FILE  the limits from FILE, 'slow 1ms', 'very-slow 10ms',\n"
		       "                         'critical 100ms' lines, # comments (default\n"
		       "                         $XDG_CONFIG_HOME/cprof/latency-classes or\n"
		       "                         ~/.config/cprof/latency-classes if it exists)\n",
	.opts = lat_opts,
	.check = lat_view_check,
	.flame_usage = "       cprof flamegraph --latency [-i FILE] [-o FILE] ...",
	.flame_help = "      --latency          time in probed functions ('record --latency', stacks\n"
		      "                         with -g) by the stacks that called them, the function\n"
		      "                         as the last frame, in ns, in aquas by default\n",
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV | 1u << FORMAT_FOLDED,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD | VIEW_NO_REVERSE,
	.report = lat_view_report,
	.flamegraph = lat_view_flamegraph,
	.dists = lat_view_dists,
};
