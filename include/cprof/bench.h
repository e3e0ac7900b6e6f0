/*
 * bench.h - the statistics of repeated runs (`cprof stat -r N`): what one
 * benchmark measured (struct bench_result, also what a baseline file
 * holds), summaries of a sample (mean, spread, median, confidence interval,
 * outliers) and the comparison of two samples (Welch's t-test, or
 * Mann-Whitney's U where a sample does not look normal).
 *
 * The statistics (analyze/benchstat.c) are pure functions of arrays of
 * doubles; the baseline file (data/baseline.c) is the JSON that
 * `cprof stat --export-json` writes (schema cprof-stat/1).
 */
#ifndef CPROF_BENCH_H
#define CPROF_BENCH_H

#include <stdio.h>
#include "cprof/base.h"

/* ---- what was measured ---- */

struct bench_metric {
	char *name;             /* owned: "wall", "user", "sys" or an event name */
	char *unit;             /* owned: "ns" for times, "" for counts */
	VEC(double) values;     /* one per measured run */
	int status;             /* enum ev_status (event.h), the worst over the runs */
	double running_pct;     /* mean share of time on the PMU; 100 unless multiplexed */
	int group;              /* event group, -1 for wall/user/sys */
};

struct bench_result {
	char *command;          /* owned: the command line, for the header */
	char *target;           /* owned, NULL for a launched command: what was counted
				 * instead ("process id '42'", "system wide"), as perf's header says */
	uint64_t created;       /* unix time of the measurement */
	size_t runs, warmup;
	int exit_status;        /* of the last run */
	VEC(struct bench_metric) metrics;
};

/* Append a metric (name and unit copied) and return it. */
struct bench_metric *bench_metric_add(struct bench_result *r, const char *name, const char *unit, int group);
struct bench_metric *bench_metric_find(const struct bench_result *r, const char *name);
void bench_result_release(struct bench_result *r);

/* ---- summaries (analyze/benchstat.c) ---- */

struct stat_summary {
	size_t n;
	double mean, sd;                /* sd: sample standard deviation (n - 1) */
	double median, min, max, q1, q3; /* quartiles interpolated as numpy's default */
	double ci_lo, ci_hi;            /* 95 % confidence interval of the mean (Student t) */
	size_t mild, severe;            /* Tukey: outside 1.5 IQR (mild) or 3 IQR (severe) of the quartiles */
};
void stat_summarize(const double *x, size_t n, struct stat_summary *s);

/* ---- comparing a baseline with a new sample ---- */

enum stat_test { STAT_WELCH, STAT_MANN_WHITNEY };
extern const char *const stat_test_names[]; /* "welch", "mann-whitney" */

enum stat_verdict { STAT_TOO_FEW, STAT_NO_CHANGE, STAT_INCREASE, STAT_DECREASE };
extern const char *const stat_verdict_names[]; /* "too few runs", "no change", "increase", "decrease" */

struct stat_compare_opts {
	double alpha;           /* significance level, default 0.05 */
	double noise;           /* relative changes below this are no change, default 0.01 */
};
#define STAT_COMPARE_OPTS_INIT { 0.05, 0.01 }

struct stat_compare {
	enum stat_test test;
	enum stat_verdict verdict;
	bool normal;            /* both samples passed Shapiro-Wilk at 0.05 */
	double rel, rel_lo, rel_hi; /* relative change of the new sample and its 95 % CI (0.031 = +3.1 %) */
	double p;               /* two-sided */
	double stat, df;        /* Welch: t and its degrees of freedom; Mann-Whitney: U of the new sample, 0 */
};
/* Compare cur with base. Needs at least 2 values on each side, else STAT_TOO_FEW. */
void stat_compare(const double *base, size_t nb, const double *cur, size_t nc, const struct stat_compare_opts *o,
		  struct stat_compare *r);

/* The pieces, for tests and for whoever needs them. */
double stat_norm_quantile(double p);
/* Two-sided p-value of Student's t with df degrees of freedom. */
double stat_t_p(double t, double df);
/* The t with two-sided p-value p (p = 0.05 gives the 97.5 % quantile). */
double stat_t_quantile(double p, double df);
/* Welch's unequal-variance t-test of mean(y) - mean(x). */
void stat_welch(const double *x, size_t nx, const double *y, size_t ny, double *t, double *df, double *p);
/* Mann-Whitney U of y against x, normal approximation with tie and
 * continuity corrections; two-sided p. */
void stat_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u, double *p);
/* Shapiro-Wilk W and its p-value (Royston 1995), 3 <= n <= 5000; a
 * constant sample gives W = 1, p = 1. */
void stat_shapiro_wilk(const double *x, size_t n, double *w, double *p);

/* ---- the baseline file (data/baseline.c) ---- */

/* Where baseline NAME lives: $XDG_DATA_HOME/cprof/baselines/NAME.json
 * (default ~/.local/share/...); a NAME with a '/' or ending in ".json" is
 * a path and used as it is. Fails for names that are not [A-Za-z0-9._-]. */
int bench_baseline_path(const char *name, struct sbuf *out, struct cprof_err *err) CPROF_WUR;
/* Create the directories above path (mode 0755). */
int bench_baseline_mkdir(const char *path, struct cprof_err *err) CPROF_WUR;
/* Read a cprof-stat/1 JSON file: command, created, runs and each metric's
 * name, unit and values. */
int bench_read_json(struct bench_result *r, const char *path, struct cprof_err *err) CPROF_WUR;

/* ---- views (output/stat-output.c) ---- */

enum stat_format { STAT_TEXT, STAT_JSON, STAT_CSV, _STAT_FORMAT_MAX };
extern const char *const stat_format_names[]; /* "text", "json", "csv", NULL */

struct stat_view {
	const struct bench_result *res;
	const struct bench_result *base;  /* NULL without a baseline */
	const char *base_name;
	struct stat_compare_opts cmp;
	double fail_pct;                  /* --fail-on-regression, < 0 when not given */
	const char *const *gate;          /* metrics the gate looks at; NULL-terminated */
};

void stat_text(FILE *out, const struct stat_view *v);
/* stat -I: one interval of r (one run: its counts, and "wall" the
 * interval's length), each counter line after the time t_sec since the
 * start, as perf stat -I prints them; header: the column names first. */
void stat_interval_text(FILE *out, const struct bench_result *r, double t_sec, bool header);
/* stat -I as it runs: the context of counter_run's interval callback
 * (cmd-stat.c), which prints each interval to fp as it ends. */
struct ev_list;
struct stat_interval {
	FILE *fp;
	size_t nev;
	struct bench_result r; /* the events' metrics and "wall", one value each */
	size_t printed;
};
void stat_interval_init(struct stat_interval *si, FILE *fp, const struct ev_list *evl);
void stat_interval_release(struct stat_interval *si);
/* Also the baseline format: bench_read_json() reads it back. */
void stat_json(FILE *out, const struct stat_view *v);
void stat_csv(FILE *out, const struct stat_view *v);

/* Compare metric m of the view with its baseline; false if the baseline
 * has no such metric or no values. */
bool stat_view_compare(const struct stat_view *v, const struct bench_metric *m, struct stat_compare *c);
/* Metrics of the gate that are significantly worse by more than
 * fail_pct, as a comma list in *names; the count. */
size_t stat_view_regressions(const struct stat_view *v, struct sbuf *names);

#endif
