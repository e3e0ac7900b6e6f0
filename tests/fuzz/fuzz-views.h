/*
 * fuzz-views.h - what the fuzz targets do with an input that loaded: every
 * view of it, as report, flamegraph and diff would draw it. A file that
 * loads must be safe everywhere, and every JSON view must be JSON: the
 * writers' output goes through a strict RFC 8259 checker (UTF-8 included,
 * no NaN or Infinity), and a violation aborts, so the fuzzer reports it.
 */
#ifndef CPROF_FUZZ_VIEWS_H
#define CPROF_FUZZ_VIEWS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/annotate.h"
#include "cprof/calltree.h"
#include "cprof/diff.h"
#include "cprof/evcols.h"
#include "cprof/export.h"
#include "cprof/flamegraph.h"
#include "cprof/folded.h"
#include "cprof/gpu-report.h"
#include "cprof/group.h"
#include "cprof/mem-report.h"
#include "cprof/profile.h"
#include "cprof/report.h"
#include "cprof/syscalls.h"
#include "cprof/latency.h"
#include "cprof/offcpu.h"
#include "cprof/hist.h"
#include "cprof/latdiff.h"
#include "cprof/source.h"
#include "cprof/stacktime.h"
#include "cprof/latclass.h"
#include "cprof/timeline.h"

struct json_in {
	const char *p, *end;
	int depth;
};

static void json_ws(struct json_in *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_lit(struct json_in *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return false;
	j->p += n;
	return true;
}

static bool json_digits(struct json_in *j)
{
	const char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool json_number(struct json_in *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digits(j))
			return false;
	}
	return true;
}

static bool json_string_ok(struct json_in *j)
{
	if (j->p >= j->end || *j->p++ != '"')
		return false;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++j->p >= j->end)
				return false;
			char e = *j->p++;
			if (e == 'u') {
				for (int k = 0; k < 4; k++, j->p++)
					if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
						return false;
			} else if (!strchr("\"\\/bfnrt", e) || !e) {
				return false;
			}
			continue;
		}
		size_t n = utf8_seq_len(j->p, (size_t)(j->end - j->p));
		if (!n)
			return false;
		j->p += n;
	}
	return false;
}

static bool json_value(struct json_in *j)
{
	json_ws(j);
	if (j->p >= j->end || ++j->depth > 200)
		return false;
	bool ok;
	char c = *j->p;
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->p++;
		json_ws(j);
		ok = true;
		if (j->p < j->end && *j->p == close) {
			j->p++;
		} else {
			for (;;) {
				if (c == '{') {
					json_ws(j);
					if (!json_string_ok(j))
						return false;
					json_ws(j);
					if (j->p >= j->end || *j->p++ != ':')
						return false;
				}
				if (!json_value(j))
					return false;
				json_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == close) {
					j->p++;
					break;
				}
				return false;
			}
		}
	} else if (c == '"') {
		ok = json_string_ok(j);
	} else if (c == 't' || c == 'f' || c == 'n') {
		ok = json_lit(j, "true") || json_lit(j, "false") || json_lit(j, "null");
	} else {
		ok = json_number(j);
	}
	j->depth--;
	return ok;
}

/* Abort unless buf[0..len) is exactly one JSON value. */
static void json_check(const char *what, const char *buf, size_t len)
{
	struct json_in j = { buf, buf + len, 0 };
	if (!json_value(&j) || (json_ws(&j), j.p != j.end)) {
		fprintf(stderr, "fuzz: %s wrote invalid JSON near byte %zu:\n%.*s\n", what, (size_t)(j.p - buf),
			(int)(len < 2000 ? len : 2000), buf);
		abort();
	}
}

/* Run write, an int expression writing to jf (< 0: refused, nothing to
 * check), into memory and check the result is JSON. */
#define JSON_VIEW(what, write) do { \
		char *buf_ = NULL; \
		size_t len_ = 0; \
		FILE *jf = open_memstream(&buf_, &len_); \
		if (!jf) \
			abort(); \
		int ok_ = (write) >= 0; \
		fclose(jf); \
		if (ok_) \
			json_check(what, buf_, len_); \
		free(buf_); \
	} while (0)

static FILE *devnull(void)
{
	static FILE *fp;
	if (!fp && !(fp = fopen("/dev/null", "w")))
		abort();
	return fp;
}

static void cpu_views(const struct cprof_data *d)
{
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	if (profile_build(&p, d, &f, &err) < 0)
		return;
	if (profile_require_samples(&p, "fuzz", false, &err) < 0) {
		profile_release(&p); /* the views refuse an empty profile */
		return;
	}
	FILE *out = devnull();
	struct report_opts o = { .sort = SORT_SELF, .children = true, .call_tree = true, .threads = true,
				 .percent_limit = 0.5, .input = "fuzz" };
	struct calltree tree;
	calltree_build(&tree, &p, false);
	report_text(out, &p, &tree, &o);
	calltree_release(&tree);
	report_csv(out, &p, &o);
	folded_write(out, &p);
	JSON_VIEW("report_json", (report_json(jf, &p, &o), 0));
	o.sort = SORT_TOTAL;
	o.top = 3;
	JSON_VIEW("report_json --top 3", (report_json(jf, &p, &o), 0));
	struct calltree t;
	calltree_build(&t, &p, true);
	calltree_release(&t);
	JSON_VIEW("speedscope_write", speedscope_write(jf, &p, &err));
	(void)!pprof_write(out, &p, &err);

	struct flamegraph g;
	struct fg_opts fo = FG_OPTS_INIT;
	fg_init(&g);
	fg_add_profile(&g, &p, NULL, false, false);
	fg_add_profile(&g, &p, NULL, true, true); /* a differential graph against itself, reversed */
	if (fg_write(out, &g, &fo, &err) == 0) {
		fo.html = fo.inverted = true;
		(void)!fg_write(out, &g, &fo, &err);
	}
	fg_release(&g);
	fg_init(&g);
	if (fg_add_profile_threads(&g, &p, &f, false, false, &err) == 0)
		(void)!fg_write(out, &g, &fo, &err);
	fg_release(&g);
	fg_init_chart(&g);
	fg_add_samples(&g, &p, false, true);
	(void)!fg_write(out, &g, &fo, &err);
	fg_release(&g);

	struct diff df;
	struct diff_opts dopt = DIFF_OPTS_INIT;
	if (diff_build(&df, &p, &p, &dopt, &err) == 0) {
		struct diff_output_opts doo = { .before = "a", .after = "b", .event = "e" };
		diff_text(out, &df, &doo);
		diff_csv(out, &df, &doo);
		JSON_VIEW("diff_json", (diff_json(jf, &df, &doo), 0));
		(void)diff_has_regression(&df, 1);
		diff_release(&df);
	}
	profile_release(&p);
}

static void mem_views(const struct cprof_data *d)
{
	if (!d->mem_procs.n)
		return;
	struct cprof_err err;
	FILE *out = devnull();
	for (int fmt = FORMAT_TEXT; fmt < _FORMAT_MAX; fmt++) {
		struct mem_report_opts mo = { .input = "fuzz", .format = (enum report_format)fmt, .top = 5,
					      .weight = fmt == FORMAT_FOLDED ? MEMW_COUNT : MEMW_BYTES };
		if (fmt == FORMAT_JSON)
			JSON_VIEW("mem_report json", (mem_report(jf, d, &mo), 0));
		else
			mem_report(out, d, &mo);
	}
	(void)!mem_plot_svg(out, d, "fuzz", &err);
	struct flamegraph g;
	struct fg_opts fo = FG_OPTS_INIT;
	fg_init(&g);
	fg_add_mem(&g, d, MEMW_BYTES, false);
	(void)!fg_write(out, &g, &fo, &err);
	fg_release(&g);
}

static void gpu_views(const struct cprof_data *d)
{
	struct cprof_err err;
	struct gpu_summary gs;
	if (gpu_summary_build(&gs, d, &err) < 0)
		return;
	FILE *out = devnull();
	struct gpu_report_opts go = { .input = "fuzz" };
	gpu_report_text(out, &gs, &go);
	gpu_report_csv(out, &gs, &go);
	JSON_VIEW("gpu_report_json", (gpu_report_json(jf, &gs, &go), 0));
	static const struct timeline_track *const tracks[] = { &gpu_timeline, NULL };
	JSON_VIEW("timeline_write", timeline_write(jf, d, tracks, &err));
	gpu_summary_release(&gs);
	struct flamegraph g;
	struct fg_opts fo = FG_OPTS_INIT;
	fg_init(&g);
	gpu_flamegraph_add(&g, d);
	(void)!fg_write(out, &g, &fo, &err);
	fg_release(&g);
}

/* Saved code: every function annotate can show must disassemble and print safely. */
static void annotate_views(const struct cprof_data *d)
{
	struct cprof_err err;
	struct ann_profile ap;
	if (ann_profile_build(&ap, d, 0, &err) < 0)
		return;
	struct annotator *an = annotator_new(d);
	FILE *out = devnull();
	for (size_t i = 0; i < ap.funcs.n; i++) {
		struct ann_code code;
		struct ann_view v;
		const struct ann_binary *bin = annotator_binary(an, &ap.funcs.v[i]);
		if (annotator_code(an, &ap.funcs.v[i], &code, &err) < 0)
			continue;
		if (ann_view_build(&v, &ap, &ap.funcs.v[i], &code, DISASM_ATT, &err) == 0) {
			struct ann_print_opts po = { .source = true, .sources = ann_sources_new() };
			ann_print_text(out, &ap, &v, bin, &po);
			JSON_VIEW("ann_print_json", (ann_print_json(jf, &ap, &v, bin, &po), 0));
			ann_sources_free(po.sources);
			ann_view_release(&v);
		}
		ann_code_release(&code);
	}
	annotator_free(an);
	ann_profile_release(&ap);
}

/* Every view of a loaded input. */
/* Several events side by side, and samples per CPU. */
static inline void events_views(const struct cprof_data *d)
{
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	for (size_t e = 0; e < d->events.n && e < 4; e++) {
		f.event = (int)e;
		if (profile_build(&p, d, &f, &err) < 0)
			continue;
		FILE *out = devnull();
		struct report_opts o = { .sort = SORT_SELF, .input = "fuzz" };
		struct evcols c;
		uint32_t *rows = xmalloc((p.funcs.n ? p.funcs.n : 1) * sizeof *rows);
		for (size_t i = 0; i < p.funcs.n; i++)
			rows[i] = (uint32_t)i;
		if (evcols_build(&c, &p, &f, rows, p.funcs.n, &err) == 0) {
			report_events_text(out, &c, &p, &o);
			evcols_release(&c);
		}
		free(rows);
		enum group_key keys[] = { GK_CPU, GK_COMM, GK_SYM };
		struct grouping g;
		group_build(&g, &p, keys, 3, false);
		report_grouped(out, &g, &p, FORMAT_TEXT, &o);
		JSON_VIEW("report_grouped -s cpu,comm,sym", (report_grouped(jf, &g, &p, FORMAT_JSON, &o), 0));
		group_release(&g);
		profile_release(&p);
	}
}

/* Latency classes at limits that cut through the histograms' buckets
 * (not bucket edges), beside the defaults. */
static const struct latclasses *fuzz_classes(void)
{
	static struct latclasses lc = { { 1001, 100003, 10000019 }, "fuzz" };
	return &lc;
}

/* Every latency distribution of all threads read back (a file may hold
 * one thread's alone, which lat_hist_get does not read): percentiles in
 * order and within its minimum and maximum, classes adding up to its
 * count. */
static void hist_views(const struct cprof_data *d)
{
	for (size_t i = 0; i < d->lat_hists.n; i++) {
		const struct cprof_lat_hist *r = &d->lat_hists.v[i];
		struct hist h = HIST_INIT;
		if (r->pid || r->tid)
			continue;
		if (!lat_hist_get(d, r->source, r->key, &h))
			abort();
		uint64_t prev = 0, n[LC_N], sum = 0;
		for (unsigned pm = 0; pm <= 1000; pm += 50) {
			uint64_t v = hist_percentile(&h, pm);
			if (h.total && (v < prev || v < h.min || v > h.max))
				abort();
			prev = v;
		}
		latclass_count_hist(fuzz_classes(), &h, n);
		for (int k = 0; k < LC_N; k++)
			sum += n[k];
		if (sum != h.total)
			abort();
		hist_release(&h);
	}
}

static const char *fuzz_key_name(const struct cprof_data *d, uint32_t key, void *ctx)
{
	(void)d;
	(void)ctx;
	return key & 1 ? "odd" : "even";
}

/* The time by stack of both sources: their rows' stacks must be safe to
 * walk, in folded text and in a flame graph. */
static void stacktime_views(const struct cprof_data *d)
{
	for (uint32_t src = LH_SRC_SYSCALLS; src <= LH_SRC_LATENCY; src++) {
		stacktime_folded(devnull(), d, src, fuzz_key_name, NULL);
		struct flamegraph g;
		struct fg_opts fo = FG_OPTS_INIT;
		struct cprof_err err;
		fg_init(&g);
		stacktime_flame(&g, d, src, fuzz_key_name, NULL);
		(void)!fg_write(devnull(), &g, &fo, &err);
		fg_release(&g);
	}
}

static void sys_views(const struct cprof_data *d)
{
	if (!d->sys_stats.n && !d->sys_errs.n && !d->sys_slow.n)
		return;
	sys_report(devnull(), d, "fuzz", FORMAT_TEXT, 0, NULL);
	sys_report(devnull(), d, "fuzz", FORMAT_CSV, 0, fuzz_classes());
	sys_report(devnull(), d, "fuzz", FORMAT_FOLDED, 0, NULL);
	JSON_VIEW("sys_report json", (sys_report(jf, d, "fuzz", FORMAT_JSON, 0, fuzz_classes()), 0));
}

static void lat_views(const struct cprof_data *d)
{
	if (!d->lat_stats.n && !d->lat_slow.n)
		return;
	lat_report(devnull(), d, "fuzz", FORMAT_TEXT, fuzz_classes());
	lat_report(devnull(), d, "fuzz", FORMAT_CSV, NULL);
	lat_report(devnull(), d, "fuzz", FORMAT_FOLDED, NULL);
	JSON_VIEW("lat_report json", (lat_report(jf, d, "fuzz", FORMAT_JSON, fuzz_classes()), 0));
}

static void offcpu_views(const struct cprof_data *d)
{
	if (!d->offcpu.n)
		return;
	for (int f = FORMAT_TEXT; f < _FORMAT_MAX; f++)
		if (f != FORMAT_JSON)
			offcpu_report(devnull(), d, "fuzz", f, 0, f == FORMAT_CSV ? fuzz_classes() : NULL);
	JSON_VIEW("offcpu_report json", (offcpu_report(jf, d, "fuzz", FORMAT_JSON, 3, fuzz_classes()), 0));
}

/* cprof diff --latency of the input against itself: every distribution
 * its sources hand over, compared, in every format. */
static void latdiff_views(const struct cprof_data *d)
{
	const struct source_view *views[] = { &syscalls_view, &latency_view, &offcpu_view };
	struct latdist_set set = LATDIST_SET_INIT;
	for (size_t i = 0; i < sizeof views / sizeof *views; i++)
		views[i]->dists(d, &set);
	if (!set.v.n)
		return;
	struct latdiff ld;
	latdiff_build(&ld, &set, &set, 0.01);
	struct diff_output_opts o = { .before = "fuzz", .after = "fuzz", .sort = DIFF_SORT_DELTA };
	for (size_t i = 0; i < ld.rows.n; i++)
		if (ld.rows.v[i].significant) /* a distribution against itself */
			abort();
	latdiff_text(devnull(), &ld, &o);
	latdiff_csv(devnull(), &ld, &o);
	JSON_VIEW("latdiff json", (latdiff_json(jf, &ld, &o), 0));
	latdiff_release(&ld);
	latdist_set_release(&set);
}

static void fuzz_views(const struct cprof_data *d)
{
	latdiff_views(d);
	stacktime_views(d);
	sys_views(d);
	offcpu_views(d);
	lat_views(d);
	hist_views(d);
	cpu_views(d);
	mem_views(d);
	gpu_views(d);
	annotate_views(d);
}

#endif
