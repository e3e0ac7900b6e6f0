/*
 * test-hist.c - the log-linear histogram (hist.h): percentiles against the
 * exact nearest-rank ones of the same values (percentile.h) on adversarial
 * distributions, the relative error bound at every bucket edge, counts at
 * or below and above a value, and merging against adding everything to one.
 */
#include "cprof/hist.h"
#include "cprof/latclass.h"
#include "cprof/percentile.h"
#include "harness.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Every percentile from the histogram is the exact one or above it by at
 * most 1/128 of it, and min and max are exact. */
static void check(const uint64_t *v, size_t n)
{
	struct hist h = HIST_INIT;
	uint64_t *s = malloc(n * sizeof *s);
	ASSERT(s);
	memcpy(s, v, n * sizeof *s);
	for (size_t i = 0; i < n; i++)
		hist_add(&h, v[i], 1);
	uint64_t exact[PCT_N];
	pct_summarize(s, n, exact); /* sorts s */
	ASSERT_EQ(h.total, n);
	ASSERT_EQ(hist_percentile(&h, 0), s[0]);
	ASSERT_EQ(hist_percentile(&h, 1000), s[n - 1]);
	for (unsigned pm = 1; pm <= 1000; pm += pm < 990 ? 7 : 1) {
		uint64_t e = pct_of_sorted(s, n, pm), a = hist_percentile(&h, pm);
		if (a < e || (long double)(a - e) > (long double)e / 128)
			FAIL_("n %zu p%u: %" PRIu64 " vs exact %" PRIu64, n, pm, a, e);
	}
	/* Counts at or below a value: exact at the values themselves when
	 * they are bucket edges, and always within the bucket of the value. */
	for (size_t k = 0; k < 50; k++) {
		uint64_t x = s[rnd() % n];
		uint64_t below = 0, in_bucket = 0;
		for (size_t i = 0; i < n; i++) {
			below += s[i] <= x;
			in_bucket += s[i] > x && hist_bucket(s[i]) == hist_bucket(x);
		}
		uint64_t got = hist_count_at_or_below(&h, x);
		ASSERT(got >= below && got <= below + in_bucket);
		ASSERT_EQ(got + hist_count_above(&h, x), n);
		uint64_t edge = hist_bucket_high(hist_bucket(x)), le = 0;
		for (size_t i = 0; i < n; i++)
			le += s[i] <= edge;
		ASSERT_EQ(hist_count_at_or_below(&h, edge), le);
	}
	hist_release(&h);
	free(s);
}

TEST(constant)
{
	uint64_t v[1000];
	for (size_t i = 0; i < 1000; i++)
		v[i] = 5000000;
	check(v, 1000);
}

TEST(single_and_zero)
{
	uint64_t one = 123456789, zero = 0, big = UINT64_MAX, v[3] = { 0, UINT64_MAX, 1 };
	check(&one, 1);
	check(&zero, 1);
	check(&big, 1);
	check(v, 3);
	struct hist h = HIST_INIT;
	ASSERT_EQ(hist_percentile(&h, 500), 0);
	ASSERT_EQ(hist_count_above(&h, 0), 0);
	ASSERT_EQ(hist_nonempty(&h), 0);
	hist_add(&h, 7, 0); /* nothing */
	ASSERT_EQ(h.total, 0);
	ASSERT(h.counts == NULL);
}

TEST(bimodal)
{
	size_t n = 100000;
	uint64_t *v = malloc(n * sizeof *v);
	ASSERT(v);
	for (size_t i = 0; i < n; i++)
		v[i] = i % 100 < 97 ? 800 + rnd() % 400 : 50000000 + rnd() % 1000000;
	check(v, n);
	free(v);
}

TEST(heavy_tail)
{
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof *v);
	ASSERT(v);
	for (size_t i = 0; i < n; i++) {
		unsigned z = (unsigned)__builtin_ctzll(rnd() | (1ULL << 40)); /* geometric exponent */
		v[i] = (1000 + rnd() % 1000) << (z > 30 ? 30 : z);
	}
	check(v, n);
	free(v);
}

TEST(large_values)
{
	size_t n = 5000;
	uint64_t *v = malloc(n * sizeof *v);
	ASSERT(v);
	for (size_t i = 0; i < n; i++)
		v[i] = UINT64_MAX - rnd() % (1ULL << 60);
	check(v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = rnd() >> (rnd() % 64);
	check(v, n);
	free(v);
}

/* Every bucket: its edges map back to it, it starts one past the last,
 * and its width is at most 1/128 of its lowest value. */
TEST(bucket_edges)
{
	ASSERT_EQ(HIST_BUCKETS, 7424);
	ASSERT_EQ(hist_bucket_low(0), 0);
	ASSERT_EQ(hist_bucket_high(HIST_BUCKETS - 1), (long long)UINT64_MAX);
	ASSERT_EQ(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
		ASSERT(lo <= hi);
		ASSERT_EQ(hist_bucket(lo), i);
		ASSERT_EQ(hist_bucket(hi), i);
		if (i > 0)
			ASSERT(lo == hist_bucket_high(i - 1) + 1);
		if (lo > 0 && (long double)(hi - lo) > (long double)lo / 128)
			FAIL_("bucket %u [%" PRIu64 ", %" PRIu64 "] wider than 1/128", i, lo, hi);
		if (lo == 0)
			ASSERT_EQ(hi, 0);
		/* a value at the bottom of a bucket reads back as its top */
		if (lo > 0) {
			struct hist h = HIST_INIT;
			hist_add(&h, lo, 1);
			hist_add(&h, hi, 1);
			ASSERT(hist_percentile(&h, 500) == hi);
			hist_release(&h);
		}
	}
}

TEST(merge_is_add_all)
{
	struct hist a = HIST_INIT, b = HIST_INIT, all = HIST_INIT, empty = HIST_INIT;
	for (int i = 0; i < 50000; i++) {
		uint64_t x = rnd() >> (rnd() % 60), c = 1 + rnd() % 3;
		hist_add(i % 3 ? &a : &b, x, c);
		hist_add(&all, x, c);
	}
	hist_merge(&a, &empty);
	hist_merge(&empty, &b); /* into an empty one */
	hist_merge(&a, &empty);
	ASSERT_EQ(a.total, all.total);
	ASSERT_EQ(a.min, all.min);
	ASSERT_EQ(a.max, all.max);
	ASSERT(memcmp(a.counts, all.counts, HIST_BUCKETS * sizeof *a.counts) == 0);
	for (unsigned pm = 0; pm <= 1000; pm++)
		ASSERT_EQ(hist_percentile(&a, pm), hist_percentile(&all, pm));
	uint32_t i = 0, n = 0;
	uint64_t sum = 0, c;
	while ((c = hist_next_bucket(&all, &i))) {
		sum += c;
		n++;
		i++;
	}
	ASSERT_EQ(sum, all.total);
	ASSERT_EQ(n, hist_nonempty(&all));
	hist_release(&a);
	hist_release(&b);
	hist_release(&all);
	hist_release(&empty);
}

/* Latency classes from a histogram: exact when the limits are bucket
 * edges, each off by at most the values in the limit's bucket otherwise;
 * the lists and limits refused. */
TEST(classes)
{
	struct hist h = HIST_INIT;
	uint64_t v[3000];
	for (size_t i = 0; i < 3000; i++) {
		v[i] = rnd() % 200000000;
		hist_add(&h, v[i], 1);
	}
	struct latclasses lc;
	latclass_defaults(&lc);
	ASSERT_STREQ(lc.from, "default");
	ASSERT_EQ(lc.limit[0], 1000000);
	for (int round = 0; round < 2; round++) {
		if (round == 1) /* edges: exact */
			for (int k = 0; k < LC_N - 1; k++)
				lc.limit[k] = hist_bucket_high(hist_bucket(lc.limit[k]));
		uint64_t got[LC_N], exact[LC_N] = { 0 }, slack[LC_N - 1] = { 0 };
		latclass_count_hist(&lc, &h, got);
		for (size_t i = 0; i < 3000; i++) {
			exact[latclass_of(&lc, v[i])]++;
			for (int k = 0; k < LC_N - 1; k++)
				slack[k] += v[i] > lc.limit[k] && hist_bucket(v[i]) == hist_bucket(lc.limit[k]);
		}
		uint64_t sum = 0, below = 0, exact_below = 0;
		for (int k = 0; k < LC_N; k++) {
			sum += got[k];
			if (k == LC_N - 1)
				break;
			below += got[k];
			exact_below += exact[k];
			ASSERT(below >= exact_below && below <= exact_below + slack[k]);
			if (round == 1)
				ASSERT_EQ(got[k], exact[k]);
		}
		ASSERT_EQ(sum, 3000);
	}
	ASSERT_EQ(latclass_of(&lc, 0), LC_FAST);
	ASSERT_EQ(latclass_of(&lc, UINT64_MAX), LC_CRITICAL);
	struct cprof_err err;
	ASSERT_OK(latclass_parse_list("1ms,2.5ms,1s", &lc, &err));
	ASSERT_EQ(lc.limit[1], 2500000);
	ASSERT_EQ(lc.limit[2], 1000000000);
	ASSERT_STREQ(lc.from, "--classes");
	ASSERT_EQ(latclass_of(&lc, 1000000), LC_FAST);
	ASSERT_EQ(latclass_of(&lc, 1000001), LC_SLOW);
	ASSERT_EQ(latclass_of(&lc, 1000000001), LC_CRITICAL);
	static const char *const bad[] = { "", "1ms", "1ms,2ms", "2ms,1ms,3ms", "1ms,1ms,2ms", "1ms,2ms,3ms,4ms",
					   "1ms,,2ms", "1ms,2xs,3ms", "-1ms,2ms,3ms" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT(latclass_parse_list(bad[i], &lc, &err) < 0);
		ASSERT(strstr(err.msg, "--classes takes three increasing durations"));
	}
	ASSERT_EQ(lc.limit[1], 2500000); /* untouched by the refused ones */
	hist_release(&h);
}

RUN_TESTS(T(constant), T(single_and_zero), T(bimodal), T(heavy_tail), T(large_values), T(bucket_edges),
	  T(merge_is_add_all), T(classes))
