/*
 * stat-output.c - `cprof stat` results as text (perf stat's layout, then
 * the statistics of the runs and the comparison with a baseline), JSON
 * (schema cprof-stat/1, which is also the baseline file) and CSV.
 *
 * One file: the three formats print the same rows and must agree; side by
 * side they are checked together.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/bench.h"
#include "cprof/event.h"
#include "cprof/output.h"

const char *const stat_format_names[] = { "text", "json", "csv", NULL };
/* enum ev_status as words (the event library's own table is not linked here). */
static const char *const status_names[] = { "counted", "scaled", "not counted", "not supported" };

static bool is_time(const struct bench_metric *m)
{
	return strcmp(m->unit, "ns") == 0;
}

static bool has_values(const struct bench_metric *m)
{
	return m->values.n > 0 && m->status != EVS_NOT_SUPPORTED && m->status != EVS_NOT_COUNTED;
}

/* Mean of a metric by name, NAN if absent or not counted. */
static double mean_of(const struct bench_result *r, const char *name)
{
	const struct bench_metric *m = bench_metric_find(r, name);
	if (!m || !has_values(m))
		return NAN;
	struct stat_summary s;
	stat_summarize(m->values.v, m->values.n, &s);
	return s.mean;
}

static void fmt_value(struct sbuf *sb, const struct bench_metric *m, double v)
{
	if (is_time(m)) {
		char buf[FMT_BUF];
		sbuf_adds(sb, fmt_ns_mean(v, buf));
	} else if (fabs(v) >= 1e4 || v == floor(v)) {
		char buf[32];
		if (v < 0)
			sbuf_addc(sb, '-');
		sbuf_adds(sb, fmt_thousands((uint64_t)llround(fabs(v)), buf));
	} else {
		sbuf_addf(sb, "%.2f", v);
	}
}

/* perf stat's "# ..." column: a ratio or rate that makes a count readable. */
static bool derived(const struct bench_result *r, const struct bench_metric *m, double mean, double *val,
		    const char **what)
{
	static const struct {
		const char *name, *of, *what;
		bool percent;
	} ratios[] = {
		{ "instructions", "cycles", "insn per cycle", false },
		{ "branch-misses", "branches", "of all branches", true },
		{ "cache-misses", "cache-references", "of all cache refs", true },
		{ "L1-dcache-load-misses", "L1-dcache-loads", "of all L1-dcache accesses", true },
		{ "LLC-load-misses", "LLC-loads", "of all LL-cache accesses", true },
		{ "stalled-cycles-frontend", "cycles", "frontend cycles idle", true },
		{ "stalled-cycles-backend", "cycles", "backend cycles idle", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ratios); i++) {
		if (strcmp(m->name, ratios[i].name) != 0)
			continue;
		double of = mean_of(r, ratios[i].of);
		if (!(of > 0))
			return false;
		*val = mean / of * (ratios[i].percent ? 100 : 1);
		*what = ratios[i].what;
		return true;
	}
	if (strcmp(m->name, "task-clock") == 0 || strcmp(m->name, "cpu-clock") == 0) {
		double wall = mean_of(r, "wall");
		if (!(wall > 0))
			return false;
		*val = mean / wall;
		*what = "CPUs utilized";
		return true;
	}
	if (!is_time(m) && m->group >= 0) {
		double tc = mean_of(r, "task-clock");
		if (!(tc > 0))
			return false;
		*val = mean / (tc / 1e9);
		*what = "/sec";
		return true;
	}
	return false;
}

/* ---- text ---- */

static void counter_line(FILE *out, const struct bench_result *r, const struct bench_metric *m)
{
	if (!has_values(m)) {
		fprintf(out, "%18s      %s\n", m->status == EVS_NOT_SUPPORTED ? "<not supported>" : "<not counted>",
			m->name);
		return;
	}
	struct stat_summary s;
	stat_summarize(m->values.v, m->values.n, &s);
	struct sbuf v = SBUF_INIT;
	const char *unit = "";
	if (is_time(m)) {
		sbuf_addf(&v, "%.2f", s.mean / 1e6);
		unit = "msec";
	} else {
		/* perf stat prints counts as whole numbers, means included. */
		char buf[32];
		sbuf_adds(&v, fmt_thousands((uint64_t)llround(s.mean), buf));
	}
	struct sbuf line = SBUF_INIT;
	sbuf_addf(&line, "%18s %-4s %-26s", v.buf, unit, m->name);
	double d;
	const char *what;
	if (derived(r, m, s.mean, &d, &what)) {
		if (strcmp(what, "/sec") == 0) {
			const char *k = "";
			if (d >= 1e9)
				d /= 1e9, k = "G";
			else if (d >= 1e6)
				d /= 1e6, k = "M";
			else if (d >= 1e3)
				d /= 1e3, k = "K";
			sbuf_addf(&line, " # %8.3f %s/sec", d, k);
		} else {
			sbuf_addf(&line, " # %8.3f%s %s", d, strstr(what, "of all") || strstr(what, "idle") ? "%" : "",
				  what);
		}
	}
	if (s.n > 1 && s.mean != 0) {
		/* perf stat's "+-": the standard error of the mean, relative. */
		while (line.len < 80)
			sbuf_addc(&line, ' ');
		sbuf_addf(&line, " ( +- %5.2f%% )", 100 * s.sd / sqrt((double)s.n) / fabs(s.mean));
	}
	if (m->status == EVS_SCALED)
		sbuf_addf(&line, "  (%.2f%%)", m->running_pct);
	fprintf(out, "%s\n", line.buf);
	sbuf_release(&line);
	sbuf_release(&v);
}

void stat_interval_text(FILE *out, const struct bench_result *r, double t_sec, bool header)
{
	if (header)
		fprintf(out, "#%15s %18s %-4s %s\n", "time", "counts", "unit", "events");
	for (size_t i = 0; i < r->metrics.n; i++)
		if (r->metrics.v[i].group >= 0) {
			fprintf(out, "%16.9f ", t_sec);
			counter_line(out, r, &r->metrics.v[i]);
		}
}

void stat_interval_init(struct stat_interval *si, FILE *fp, const struct ev_list *evl)
{
	*si = (struct stat_interval){ .fp = fp, .nev = evl->v.n };
	for (size_t i = 0; i < evl->v.n; i++)
		(void)bench_metric_add(&si->r, evl->v.v[i].name, evl->v.v[i].unit, evl->v.v[i].group);
	(void)bench_metric_add(&si->r, "wall", "ns", -1);
}

void stat_interval_release(struct stat_interval *si)
{
	bench_result_release(&si->r);
}

static void fmt_rel(struct sbuf *sb, const struct stat_compare *c)
{
	sbuf_addf(sb, "%.1f %% [%.1f, %.1f], ", fabs(c->rel) * 100, (c->rel > 0 ? c->rel_lo : -c->rel_hi) * 100,
		  (c->rel > 0 ? c->rel_hi : -c->rel_lo) * 100);
	if (c->p < 0.001)
		sbuf_adds(sb, "p < 0.001");
	else
		sbuf_addf(sb, "p = %.3f", c->p);
}

/* "slower by 3.1 % [2.2, 4.0], p = 0.001" and the like. */
static void verdict_text(struct sbuf *sb, const struct bench_metric *m, const struct stat_compare *c)
{
	const char *test = c->test == STAT_WELCH ? "Welch" : "Mann-Whitney";
	switch (c->verdict) {
	case STAT_TOO_FEW:
		sbuf_adds(sb, "too few runs to compare (2 or more on each side)");
		return;
	case STAT_NO_CHANGE:
		sbuf_addf(sb, "no significant change (%+.1f %% [%+.1f, %+.1f], ", c->rel * 100, c->rel_lo * 100,
			  c->rel_hi * 100);
		if (c->p < 0.001)
			sbuf_adds(sb, "p < 0.001");
		else
			sbuf_addf(sb, "p = %.3f", c->p);
		sbuf_addf(sb, ", %s)", test);
		return;
	case STAT_INCREASE:
	case STAT_DECREASE:
		if (is_time(m)) {
			sbuf_adds(sb, c->verdict == STAT_INCREASE ? "slower by " : "faster by ");
			fmt_rel(sb, c);
		} else {
			sbuf_adds(sb, c->verdict == STAT_INCREASE ? "more by " : "fewer by ");
			fmt_rel(sb, c);
		}
		sbuf_addf(sb, " (%s)", test);
		return;
	}
}

bool stat_view_compare(const struct stat_view *v, const struct bench_metric *m, struct stat_compare *c)
{
	if (!v->base || !has_values(m))
		return false;
	const struct bench_metric *b = bench_metric_find(v->base, m->name);
	if (!b || !b->values.n)
		return false;
	stat_compare(b->values.v, b->values.n, m->values.v, m->values.n, &v->cmp, c);
	return true;
}

static bool in_gate(const struct stat_view *v, const char *name)
{
	for (size_t i = 0; v->gate && v->gate[i]; i++)
		if (strcmp(v->gate[i], name) == 0)
			return true;
	return false;
}

size_t stat_view_regressions(const struct stat_view *v, struct sbuf *names)
{
	size_t n = 0;
	if (v->fail_pct < 0)
		return 0;
	for (size_t i = 0; i < v->res->metrics.n; i++) {
		const struct bench_metric *m = &v->res->metrics.v[i];
		struct stat_compare c;
		if (!in_gate(v, m->name) || !stat_view_compare(v, m, &c))
			continue;
		if (c.verdict == STAT_INCREASE && c.rel * 100 > v->fail_pct) {
			sbuf_addf(names, "%s%s", n ? ", " : "", m->name);
			n++;
		}
	}
	return n;
}

static void stats_table(FILE *out, const struct stat_view *v)
{
	const struct bench_result *r = v->res;
	fprintf(out, "\n Statistics over %zu runs", r->runs);
	if (r->warmup)
		fprintf(out, " (after %zu warm-up run%s)", r->warmup, r->warmup == 1 ? "" : "s");
	fprintf(out, ":\n");
	fprintf(out, "  %-20s %-24s %-11s %-24s %-26s %s\n", "metric", "mean +- stddev", "median", "min ... max",
		"95 % CI of the mean", "outliers");
	for (size_t i = 0; i < r->metrics.n; i++) {
		const struct bench_metric *m = &r->metrics.v[i];
		if (!has_values(m))
			continue;
		struct stat_summary s;
		stat_summarize(m->values.v, m->values.n, &s);
		struct sbuf a = SBUF_INIT, b = SBUF_INIT, c = SBUF_INIT, d = SBUF_INIT;
		fmt_value(&a, m, s.mean);
		sbuf_adds(&a, " +- ");
		fmt_value(&a, m, s.sd);
		fmt_value(&b, m, s.median);
		fmt_value(&c, m, s.min);
		sbuf_adds(&c, " ... ");
		fmt_value(&c, m, s.max);
		sbuf_addc(&d, '[');
		fmt_value(&d, m, s.ci_lo);
		sbuf_adds(&d, ", ");
		fmt_value(&d, m, s.ci_hi);
		sbuf_addc(&d, ']');
		fprintf(out, "  %-20s %-24s %-11s %-24s %-26s ", m->name, a.buf, b.buf, c.buf, d.buf);
		if (s.mild || s.severe)
			fprintf(out, "%zu mild, %zu severe\n", s.mild, s.severe);
		else
			fprintf(out, "none\n");
		sbuf_release(&a);
		sbuf_release(&b);
		sbuf_release(&c);
		sbuf_release(&d);
	}
}

static void compare_table(FILE *out, const struct stat_view *v)
{
	const struct bench_result *b = v->base;
	fprintf(out, "\n Compared with baseline '%s' (%zu runs", v->base_name ? v->base_name : "", b->runs);
	if (b->created) {
		time_t t = (time_t)b->created;
		struct tm tm;
		char when[32];
		if (localtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm))
			fprintf(out, ", saved %s", when);
	}
	fprintf(out, "):\n");
	if (b->command && v->res->command && strcmp(b->command, v->res->command) != 0)
		fprintf(out, "  (the baseline ran '%s')\n", b->command);
	for (size_t i = 0; i < v->res->metrics.n; i++) {
		const struct bench_metric *m = &v->res->metrics.v[i];
		struct stat_compare c;
		if (!stat_view_compare(v, m, &c))
			continue;
		struct sbuf t = SBUF_INIT;
		verdict_text(&t, m, &c);
		fprintf(out, "  %-20s %s\n", m->name, t.buf);
		sbuf_release(&t);
	}
}

void stat_text(FILE *out, const struct stat_view *v)
{
	const struct bench_result *r = v->res;
	if (r->target)
		fprintf(out, "\n Performance counter stats for %s", r->target);
	else
		fprintf(out, "\n Performance counter stats for '%s'", r->command ? r->command : "");
	if (r->runs > 1)
		fprintf(out, " (%zu runs)", r->runs);
	fprintf(out, ":\n\n");
	for (size_t i = 0; i < r->metrics.n; i++)
		if (r->metrics.v[i].group >= 0)
			counter_line(out, r, &r->metrics.v[i]);
	const struct bench_metric *wall = bench_metric_find(r, "wall");
	if (wall && wall->values.n) {
		struct stat_summary s;
		stat_summarize(wall->values.v, wall->values.n, &s);
		fprintf(out, "\n %14.9f", s.mean / 1e9);
		if (s.n > 1)
			fprintf(out, " +- %.9f", s.sd / sqrt((double)s.n) / 1e9);
		fprintf(out, " seconds time elapsed");
		if (s.n > 1 && s.mean > 0)
			fprintf(out, "  ( +- %5.2f%% )", 100 * s.sd / sqrt((double)s.n) / s.mean);
		fputc('\n', out);
	}
	for (int k = 0; k < 2; k++) {
		const struct bench_metric *m = bench_metric_find(r, k ? "sys" : "user");
		if (!m || !m->values.n)
			continue;
		struct stat_summary s;
		stat_summarize(m->values.v, m->values.n, &s);
		fprintf(out, "%s %14.9f seconds %s\n", k ? "" : "\n", s.mean / 1e9, m->name);
	}
	if (r->runs > 1)
		stats_table(out, v);
	if (v->base)
		compare_table(out, v);
	if (v->fail_pct >= 0) {
		struct sbuf names = SBUF_INIT;
		size_t n = stat_view_regressions(v, &names);
		if (n)
			fprintf(out, "\n Regression: %s significantly worse by more than %g %%\n", names.buf, v->fail_pct);
		sbuf_release(&names);
	}
	fputc('\n', out);
}

/* ---- JSON ---- */

/* All 17 digits, unlike output.h's json_num: stat's measurements keep
 * their full precision, as they always have. */
static void json_exact(FILE *out, double x)
{
	if (isfinite(x))
		fprintf(out, "%.17g", x);
	else
		fputs("null", out);
}

void stat_json(FILE *out, const struct stat_view *v)
{
	const struct bench_result *r = v->res;
	fprintf(out, "{\n  \"schema\": \"cprof-stat/1\",\n  \"command\": ");
	json_string(out, r->command ? r->command : "");
	fprintf(out, ",\n  \"created\": %llu,\n  \"runs\": %zu,\n  \"warmup\": %zu,\n  \"exit_status\": %d,\n",
		(unsigned long long)r->created, r->runs, r->warmup, r->exit_status);
	fprintf(out, "  \"metrics\": [");
	for (size_t i = 0; i < r->metrics.n; i++) {
		const struct bench_metric *m = &r->metrics.v[i];
		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		json_string(out, m->name);
		fprintf(out, ", \"unit\": ");
		json_string(out, m->unit);
		fprintf(out, ", \"group\": %d, \"status\": \"%s\", \"running_percent\": ", m->group,
			status_names[m->status & 3]);
		json_exact(out, m->running_pct);
		fprintf(out, ",\n     \"values\": [");
		for (size_t k = 0; has_values(m) && k < m->values.n; k++) {
			fprintf(out, "%s", k ? ", " : "");
			json_exact(out, m->values.v[k]);
		}
		fputc(']', out);
		if (has_values(m)) {
			struct stat_summary s;
			stat_summarize(m->values.v, m->values.n, &s);
			fprintf(out, ",\n     \"mean\": ");
			json_exact(out, s.mean);
			fprintf(out, ", \"stddev\": ");
			json_exact(out, s.sd);
			fprintf(out, ", \"median\": ");
			json_exact(out, s.median);
			fprintf(out, ", \"min\": ");
			json_exact(out, s.min);
			fprintf(out, ", \"max\": ");
			json_exact(out, s.max);
			fprintf(out, ", \"ci95\": [");
			json_exact(out, s.ci_lo);
			fprintf(out, ", ");
			json_exact(out, s.ci_hi);
			fprintf(out, "], \"outliers\": {\"mild\": %zu, \"severe\": %zu}", s.mild, s.severe);
			double d;
			const char *what;
			if (derived(r, m, s.mean, &d, &what)) {
				fprintf(out, ",\n     \"ratio\": {\"value\": ");
				json_exact(out, d);
				fprintf(out, ", \"of\": ");
				json_string(out, what);
				fputc('}', out);
			}
		}
		struct stat_compare c;
		if (stat_view_compare(v, m, &c)) {
			fprintf(out, ",\n     \"baseline\": {\"test\": \"%s\", \"normal\": %s, \"p\": ", stat_test_names[c.test],
				c.normal ? "true" : "false");
			json_exact(out, c.p);
			fprintf(out, ", \"change\": ");
			json_exact(out, c.rel);
			fprintf(out, ", \"change_ci95\": [");
			json_exact(out, c.rel_lo);
			fprintf(out, ", ");
			json_exact(out, c.rel_hi);
			fprintf(out, "], \"verdict\": \"%s\"}", stat_verdict_names[c.verdict]);
		}
		fputc('}', out);
	}
	fprintf(out, "\n  ]");
	if (v->base) {
		fprintf(out, ",\n  \"baseline\": {\"name\": ");
		json_string(out, v->base_name ? v->base_name : "");
		fprintf(out, ", \"command\": ");
		json_string(out, v->base->command ? v->base->command : "");
		fprintf(out, ", \"created\": %llu, \"runs\": %zu, \"alpha\": ", (unsigned long long)v->base->created,
			v->base->runs);
		json_exact(out, v->cmp.alpha);
		fprintf(out, ", \"noise\": ");
		json_exact(out, v->cmp.noise);
		fputc('}', out);
	}
	if (v->fail_pct >= 0) {
		struct sbuf names = SBUF_INIT;
		size_t n = stat_view_regressions(v, &names);
		fprintf(out, ",\n  \"regression\": {\"limit_percent\": ");
		json_exact(out, v->fail_pct);
		fprintf(out, ", \"regressed\": %s, \"metrics\": [", n ? "true" : "false");
		/* names is "a, b": write it as JSON strings */
		char *save = NULL, *copy = xstrdup(names.buf);
		size_t k = 0;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			fprintf(out, "%s", k++ ? ", " : "");
			json_string(out, t);
		}
		free(copy);
		fprintf(out, "]}");
		sbuf_release(&names);
	}
	fprintf(out, "\n}\n");
}

/* ---- CSV ---- */

static void csv_num(FILE *out, double x)
{
	if (isfinite(x))
		fprintf(out, ",%.10g", x);
	else
		fputc(',', out);
}

void stat_csv(FILE *out, const struct stat_view *v)
{
	const struct bench_result *r = v->res;
	fprintf(out, "metric,unit,status,running_percent,runs,mean,stddev,median,min,max,ci95_low,ci95_high,"
		     "outliers_mild,outliers_severe");
	if (v->base)
		fprintf(out, ",change,change_ci95_low,change_ci95_high,p,test,verdict");
	fputc('\n', out);
	for (size_t i = 0; i < r->metrics.n; i++) {
		const struct bench_metric *m = &r->metrics.v[i];
		csv_field(out, m->name);
		fputc(',', out);
		csv_field(out, m->unit);
		fprintf(out, ",%s", status_names[m->status & 3]);
		csv_num(out, m->running_pct);
		if (has_values(m)) {
			struct stat_summary s;
			stat_summarize(m->values.v, m->values.n, &s);
			fprintf(out, ",%zu", s.n);
			csv_num(out, s.mean);
			csv_num(out, s.sd);
			csv_num(out, s.median);
			csv_num(out, s.min);
			csv_num(out, s.max);
			csv_num(out, s.ci_lo);
			csv_num(out, s.ci_hi);
			fprintf(out, ",%zu,%zu", s.mild, s.severe);
		} else {
			fprintf(out, ",0,,,,,,,,,");
		}
		if (v->base) {
			struct stat_compare c;
			if (stat_view_compare(v, m, &c)) {
				csv_num(out, c.rel);
				csv_num(out, c.rel_lo);
				csv_num(out, c.rel_hi);
				csv_num(out, c.p);
				fprintf(out, ",%s,%s", stat_test_names[c.test], stat_verdict_names[c.verdict]);
			} else {
				fprintf(out, ",,,,,,");
			}
		}
		fputc('\n', out);
	}
}
