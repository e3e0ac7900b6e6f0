/*
 * diff.h - compare two profiles: functions matched by name and binary
 * (match.h: the main executable matches across renames), shares normalised to each run's sample total, and a
 * two-proportion z-test per function with Holm-Bonferroni correction.
 *
 * The matching and normalisation are independent of any output, so other
 * views (a differential flame graph) can reuse them. A diff copies the
 * strings it needs; it does not borrow the profiles after diff_build().
 */
#ifndef CPROF_DIFF_H
#define CPROF_DIFF_H

#include "cprof/profile.h"

enum diff_metric { DIFF_SELF, DIFF_TOTAL, _DIFF_METRIC_MAX };
enum diff_sort { DIFF_SORT_DELTA, DIFF_SORT_ABS, DIFF_SORT_NAME, _DIFF_SORT_MAX };
enum diff_status { DIFF_BOTH, DIFF_NEW, DIFF_VANISHED };

extern const char *const diff_metric_names[]; /* "self", "total", NULL */
extern const char *const diff_sort_names[];   /* "delta", "abs", "name", NULL */
extern const char *const diff_status_names[]; /* "both", "new", "vanished" */

/* One function (or roll-up group). Shares are fractions of the run's total
 * samples; delta is in percentage points, rel is delta / share_before
 * (NAN when the function is new). */
struct diff_row {
	char *name, *dso;         /* dso is the binary's file name (the after run's where
	                           * both have one), "" if unknown or for thread rows */
	uint64_t before, after;   /* samples in the chosen metric */
	double share_before, share_after, delta, rel;
	double z, p, p_adj;       /* p_adj: Holm-adjusted; 1 when not tested */
	bool tested, significant;
	enum diff_status status;
};

struct match_rule;
struct diff_opts {
	enum diff_metric metric;
	double alpha;             /* family-wise error rate, default 0.01 */
	const struct match_rule *match; /* NULL: the default rule of match.h */
};
#define DIFF_OPTS_INIT { DIFF_SELF, 0.01, NULL }

struct diff {
	enum diff_metric metric;
	double alpha;
	uint64_t total_before, total_after;    /* samples */
	uint64_t duration_before, duration_after; /* ns, 0 if unknown */
	size_t tested;                         /* functions in the correction family */
	VEC(struct diff_row) rows;             /* functions, in no particular order */
	VEC(struct diff_row) binaries;         /* self samples per binary (matched as functions are) */
	VEC(struct diff_row) threads;          /* samples per thread name */
};

/* Fails with -EINVAL when the profiles measure differently named events. */
int diff_build(struct diff *df, const struct profile *before, const struct profile *after,
	       const struct diff_opts *o, struct cprof_err *err) CPROF_WUR;
void diff_release(struct diff *df);

/* Row indexes in display order; caller frees. */
size_t *diff_sorted(const struct diff *df, enum diff_sort key, size_t *n);
/* True if a significant function grew by more than pct points. */
bool diff_has_regression(const struct diff *df, double pct);
/* Two-sided p-value of a two-proportion z-test (x1 of n1 vs x2 of n2);
 * *z gets the statistic (positive when the second share is larger). */
double diff_two_prop_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z);
/* Holm step-down adjustment of p[0..n) in place (monotone, capped at 1). */
void diff_holm(double *p, size_t n);
/* Whether the diff shows absolute times (both durations known and different). */
bool diff_show_time(const struct diff *df);

/* Writers (src/output/diff-output.c). Rows with |delta| < threshold
 * points are hidden; top 0 = all. */
#include <stdio.h>
struct diff_output_opts {
	const char *before, *after, *event; /* labels */
	enum diff_sort sort;
	size_t top;
	double threshold;
	bool color;                         /* text: growth red, shrinkage green */
};
void diff_text(FILE *out, const struct diff *df, const struct diff_output_opts *o);
void diff_json(FILE *out, const struct diff *df, const struct diff_output_opts *o);
void diff_csv(FILE *out, const struct diff *df, const struct diff_output_opts *o);

#endif
