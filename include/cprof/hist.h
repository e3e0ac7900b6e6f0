/*
 * hist.h - a mergeable log-linear histogram of durations in nanoseconds
 * (base/hist.c), for latency distributions too many to keep one by one.
 *
 * Buckets: every value below 128 has a bucket of its own (exact); above,
 * each power of two [2^m, 2^(m+1)) is cut into 128 equal buckets of width
 * 2^(m-7). A bucket stands for its highest value, so a value read back
 * (a percentile, a bucket edge) is at most 2^-7 = 0.78125 % above the
 * value it stands for, and never below it: relative error <= 1/128. The
 * exact minimum and maximum are kept beside the buckets, and percentiles
 * are clamped to them (p0 and p100 are exact). 7424 buckets cover all of
 * uint64_t.
 *
 * Percentiles use percentile.h's nearest-rank definition: the p-th of n
 * values is the one of rank ceil(p * n); from the histogram it is the
 * highest value of the bucket holding that rank.
 *
 * Two histograms of the same quantity merge by adding counts (hist_merge),
 * so a distribution per thread adds up to the one of all threads, and two
 * recordings compare bucket by bucket. The in-memory buckets are one dense
 * array, allocated at the first value; the data file keeps only the
 * non-empty buckets (hist_next_bucket walks them; data-format.h's
 * SECTION_LAT_HISTS has the bytes).
 *
 *	struct hist h = HIST_INIT;
 *	hist_add(&h, dur_ns, 1);
 *	uint64_t p99 = hist_percentile(&h, 990);
 *	uint64_t slow = hist_count_above(&h, 10000000);
 *	hist_release(&h);
 */
#ifndef CPROF_HIST_H
#define CPROF_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "cprof/base.h"

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)                  /* buckets per power of two */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB) /* 7424 */

struct hist {
	uint64_t *counts; /* HIST_BUCKETS, NULL while empty */
	uint64_t total;   /* values added (with their counts) */
	uint64_t min, max; /* exact; meaningful when total > 0 */
};
#define HIST_INIT { NULL, 0, 0, 0 }

void hist_release(struct hist *h);
/* Add count copies of v (count 0: nothing). Totals saturate at UINT64_MAX. */
void hist_add(struct hist *h, uint64_t v, uint64_t count);
/* Add all of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The bucket of v, and the lowest and highest value of bucket i. */
uint32_t hist_bucket(uint64_t v);
uint64_t hist_bucket_low(uint32_t i);
uint64_t hist_bucket_high(uint32_t i);

/* Values at or below v, and above it, up to the bucket of v: values in
 * the bucket holding v count as at or below it, so the split is exact when
 * v is a bucket's highest value (every v below 128 is) and otherwise off
 * only by values within 1/128 of v. count_at_or_below + count_above = total. */
uint64_t hist_count_at_or_below(const struct hist *h, uint64_t v);
uint64_t hist_count_above(const struct hist *h, uint64_t v);

/* The nearest-rank percentile, permille 1..1000 (0: the minimum); 0 when
 * empty. Within 1/128 above the exact nearest-rank value, never below it. */
uint64_t hist_percentile(const struct hist *h, unsigned permille);

/* Non-empty buckets, for encoding: the first at or after *i; returns 0
 * when none is left, else the count (and sets *i). */
uint64_t hist_next_bucket(const struct hist *h, uint32_t *i);
uint32_t hist_nonempty(const struct hist *h);

/*
 * How many durations per key (one syscall, one probed function) the
 * sources keep one by one for exact percentiles: HIST_EXACT_CAP (4 Mi,
 * 32 MiB of them), or CPROF_EXACT_CAP from the environment when it holds a
 * number >= 1 (for tests). Past it the key's percentiles come from its
 * histogram.
 */
#define HIST_EXACT_CAP (4u << 20)
uint64_t hist_exact_cap(void);

#endif
