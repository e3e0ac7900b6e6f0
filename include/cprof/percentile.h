/*
 * percentile.h - exact latency percentiles (analyze/percentile.c): from all
 * the observations, sorted, by the nearest-rank definition: the p-th
 * percentile of n values is the value of rank ceil(p * n) in ascending
 * order, so it is always one of the observations, and p100 is the maximum.
 */
#ifndef CPROF_PERCENTILE_H
#define CPROF_PERCENTILE_H

#include <stddef.h>
#include <stdint.h>

/* The summary every latency report shows, in this order. */
enum { PCT_MIN, PCT_P50, PCT_P90, PCT_P95, PCT_P99, PCT_P999, PCT_MAX, PCT_N };
extern const char *const pct_names[PCT_N];    /* "min", "p50", ... "max" */
extern const unsigned pct_permille[PCT_N];   /* 0 (min), 500, ... 999, 1000 (max) */

/* Sort v[0..n) and fill out[PCT_N]; all zero when n is 0. */
void pct_summarize(uint64_t *v, size_t n, uint64_t out[PCT_N]);
/* The nearest-rank percentile of sorted v[0..n), permille from 1 to 1000
 * (0: the minimum). n > 0. */
uint64_t pct_of_sorted(const uint64_t *v, size_t n, unsigned permille);
/* The same summary from a histogram (hist.h): each within 1/128 above the
 * exact one, min and max exact. */
struct hist;
void pct_summarize_hist(const struct hist *h, uint64_t out[PCT_N]);

#endif
