/*
 * test-percentile.c - exact nearest-rank percentiles (percentile.h) against
 * a reference computed here the slow way (qsort, then the rank by its
 * definition in floating point), on adversarial distributions: constant,
 * bimodal, heavy-tailed, sorted and reversed, tiny counts, and values that
 * differ only in their top bits (the radix sort's skipped digits).
 */
#include <math.h>

#include "cprof/percentile.h"
#include "harness.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The definition: the smallest value with at least p of the values at or
 * below it, i.e. rank ceil(p * n), at least 1. */
static uint64_t reference(const uint64_t *sorted, size_t n, unsigned permille)
{
	if (permille == 0)
		return sorted[0];
	size_t rank = (size_t)ceil((double)n * permille / 1000.0);
	for (size_t r = rank > 1 ? rank - 1 : 1; r <= n; r++) /* floating point may be one off: count */
		if ((double)r * 1000.0 >= (double)n * permille) {
			rank = r;
			break;
		}
	return sorted[(rank ? rank : 1) - 1];
}

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void check_against_reference(const uint64_t *v, size_t n)
{
	uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), out[PCT_N];
	ASSERT(a && b);
	memcpy(a, v, n * sizeof *a);
	memcpy(b, v, n * sizeof *b);
	qsort(b, n, sizeof *b, cmp_u64);
	pct_summarize(a, n, out);
	for (size_t i = 0; i < n; i++) /* sorted in place, the same values */
		ASSERT_EQ(a[i], b[i]);
	for (int k = 0; k < PCT_N; k++)
		if (out[k] != reference(b, n, pct_permille[k]))
			FAIL_("n %zu, %s: %" PRIu64 " != %" PRIu64, n, pct_names[k], out[k],
			      reference(b, n, pct_permille[k]));
	ASSERT_EQ(out[PCT_MIN], b[0]);
	ASSERT_EQ(out[PCT_MAX], b[n - 1]);
	free(a);
	free(b);
}

TEST(definition_on_small_counts)
{
	uint64_t one[] = { 42 }, out[PCT_N];
	pct_summarize(one, 1, out);
	for (int k = 0; k < PCT_N; k++)
		ASSERT_EQ(out[k], 42);
	/* 1..10: p50 is the 5th, p90 the 9th, p95 and above the 10th. */
	uint64_t ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	pct_summarize(ten, 10, out);
	ASSERT_EQ(out[PCT_MIN], 1);
	ASSERT_EQ(out[PCT_P50], 5);
	ASSERT_EQ(out[PCT_P90], 9);
	ASSERT_EQ(out[PCT_P95], 10);
	ASSERT_EQ(out[PCT_P999], 10);
	/* 1..1000: p99.9 is the 999th, not the maximum. */
	uint64_t *k = malloc(1000 * sizeof *k);
	for (int i = 0; i < 1000; i++)
		k[i] = (uint64_t)(1000 - i);
	pct_summarize(k, 1000, out);
	ASSERT_EQ(out[PCT_P50], 500);
	ASSERT_EQ(out[PCT_P99], 990);
	ASSERT_EQ(out[PCT_P999], 999);
	ASSERT_EQ(out[PCT_MAX], 1000);
	free(k);
	pct_summarize(NULL, 0, out);
	ASSERT_EQ(out[PCT_MAX], 0);
}

TEST(adversarial_distributions)
{
	size_t sizes[] = { 2, 3, 63, 64, 65, 999, 1000, 1001, 100000 };
	for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
		size_t n = sizes[si];
		uint64_t *v = malloc(n * sizeof *v);
		ASSERT(v);
		for (int kind = 0; kind < 7; kind++) {
			for (size_t i = 0; i < n; i++) {
				switch (kind) {
				case 0: v[i] = 5000000; break;                                 /* constant */
				case 1: v[i] = rnd() % 10 == 0 ? 5000000 + rnd() % 1000 : 300 + rnd() % 50; break; /* bimodal */
				case 2: v[i] = (uint64_t)(1000.0 / pow((double)(rnd() % 1000000 + 1) / 1e6, 1.5)); break; /* Pareto tail */
				case 3: v[i] = i; break;                                       /* sorted */
				case 4: v[i] = n - i; break;                                   /* reversed */
				case 5: v[i] = (rnd() % 4) << 60 | 7; break;                   /* top bits only */
				default: v[i] = rnd(); break;                                  /* all 64 bits */
				}
			}
			check_against_reference(v, n);
		}
		free(v);
	}
}

RUN_TESTS(T(definition_on_small_counts), T(adversarial_distributions))
