/*
 * latdiff.h - compare the latency distributions of two recordings (cprof
 * diff --latency): each data source that keeps durations (syscalls,
 * function latency, off-CPU waits) hands its distributions as histograms
 * (hist.h), named by the source and what was timed; the two recordings'
 * are matched by those names.
 *
 * The test asks whether the slow tail moved: the share of calls slower
 * than the lower of the two p99s is compared between the recordings (with
 * no change both stay near 1 %; a grown tail puts many more of AFTER's
 * calls above BEFORE's p99, a shrunk one many more of BEFORE's above
 * AFTER's), by a two-proportion z-test, or Fisher's exact test when the
 * tails are small; the rows tested are one Holm-Bonferroni family. A tail
 * test, not a test of the means: a p99 can double while the mean barely
 * moves, and a mean can move on a few outliers a p99 ignores.
 */
#ifndef CPROF_LATDIFF_H
#define CPROF_LATDIFF_H

#include <stdbool.h>
#include <stdio.h>

#include "cprof/base.h"
#include "cprof/diff.h"
#include "cprof/hist.h"

/* One distribution: the source's name ("syscalls") and what it timed
 * ("read"). Owns its strings and histogram. */
struct latdist {
	char *source, *name;
	struct hist h;
};
struct latdist_set {
	VEC(struct latdist) v;
};
#define LATDIST_SET_INIT { { NULL, 0, 0 } }

/* The histogram named (source, name), made empty if new: add to it. */
struct hist *latdist_get(struct latdist_set *s, const char *source, const char *name);
void latdist_set_release(struct latdist_set *s);

/* Fewer calls than this on either side and a row is not tested: a p99
 * of fewer calls is one of its few slowest. */
#define LATDIFF_MIN_CALLS 100
/* Tails of fewer calls together are tested exactly (Fisher). */
#define LATDIFF_FISHER_BELOW 1000

struct latdiff_row {
	char *source, *name;
	uint64_t calls[2];           /* before, after */
	uint64_t p50[2], p90[2], p99[2], max[2];
	double p99_change;           /* after / before - 1; NAN unless both have calls */
	uint64_t tail_at;            /* the lower p99 */
	uint64_t tail[2];            /* calls slower than tail_at, on each side */
	double z, p, p_adj;          /* z > 0: AFTER's tail is the larger; p_adj Holm-adjusted, 1 untested */
	bool tested, significant;
	enum diff_status status;
};

struct latdiff {
	double alpha;
	size_t tested;
	VEC(struct latdiff_row) rows;
};

void latdiff_build(struct latdiff *ld, const struct latdist_set *before, const struct latdist_set *after,
		   double alpha);
void latdiff_release(struct latdiff *ld);
/* Row indexes in display order (diff.h's keys: delta is the p99 change,
 * largest growth first; abs its size); caller frees. */
size_t *latdiff_sorted(const struct latdiff *ld, enum diff_sort key, size_t *n);
/* True if a row's tail grew significantly and its p99 by more than pct
 * percent. */
bool latdiff_has_regression(const struct latdiff *ld, double pct);

/* Fisher's exact test of x1 of n1 against x2 of n2, two-sided: the chance,
 * with the margins fixed, of a table no likelier than the one seen. */
double latdiff_fisher_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2);

/* Writers (src/output/latdiff-output.c); o's threshold and event are not used. */
void latdiff_text(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o);
void latdiff_json(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o);
void latdiff_csv(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o);

#endif
