/*
 * test-latdiff.c - comparing latency distributions (latdiff.h): Fisher's
 * exact test against a value computed by hand, and the tail test on
 * histograms whose change is known: none, a doubling, a shrinking, too
 * few calls, a distribution on one side only.
 */
#include <math.h>

#include "cprof/latdiff.h"
#include "harness.h"

/* n values spread evenly over [lo, hi]. */
static void spread(struct latdist_set *s, const char *name, uint64_t n, uint64_t lo, uint64_t hi)
{
	struct hist *h = latdist_get(s, "test", name);
	for (uint64_t i = 0; i < n; i++)
		hist_add(h, lo + (hi - lo) * i / (n > 1 ? n - 1 : 1), 1);
}

static const struct latdiff_row *row(const struct latdiff *ld, const char *name)
{
	for (size_t i = 0; i < ld->rows.n; i++)
		if (strcmp(ld->rows.v[i].name, name) == 0)
			return &ld->rows.v[i];
	FAIL_("no row %s", name);
}

TEST(fisher_exact)
{
	/* 1 of 10 against 11 of 14, the textbook 2x2 table (24 people, 12
	 * of them in the first column): two-sided p = 0.0027594. */
	ASSERT_NEAR(latdiff_fisher_p(1, 10, 11, 14), 0.0027594, 1e-6);
	ASSERT_NEAR(latdiff_fisher_p(11, 14, 1, 10), 0.0027594, 1e-6); /* symmetric */
	ASSERT_NEAR(latdiff_fisher_p(2, 150, 2, 150), 1.0, 1e-9);      /* the same table */
	ASSERT_NEAR(latdiff_fisher_p(0, 100, 0, 100), 1.0, 1e-9);
	ASSERT(latdiff_fisher_p(2, 150, 150, 150) < 1e-50);
}

TEST(unchanged_shifted_and_shrunk)
{
	struct latdist_set b = LATDIST_SET_INIT, a = LATDIST_SET_INIT;
	spread(&b, "same", 5000, 1000, 2000000);
	spread(&a, "same", 5000, 1000, 2000000);
	spread(&b, "slower", 5000, 1000, 1000000);
	spread(&a, "slower", 5000, 2000, 2000000); /* every call twice as long */
	spread(&b, "faster", 5000, 1000, 1000000);
	spread(&a, "faster", 5000, 500, 500000);
	spread(&b, "few", 50, 1000, 1000000);
	spread(&a, "few", 50, 100000, 100000000);
	spread(&b, "gone", 500, 1000, 2000);
	spread(&a, "new", 500, 1000, 2000);
	struct latdiff ld;
	latdiff_build(&ld, &b, &a, 0.01);
	ASSERT_EQ(ld.rows.n, 6);
	ASSERT_EQ(ld.tested, 3);

	const struct latdiff_row *r = row(&ld, "same");
	ASSERT(r->tested && !r->significant);
	ASSERT_EQ(r->tail[0], r->tail[1]);
	ASSERT_NEAR(r->p99_change, 0, 1e-12);
	ASSERT_NEAR(r->p_adj, 1, 1e-9);

	r = row(&ld, "slower");
	ASSERT(r->tested && r->significant && r->z > 0);
	ASSERT_NEAR(r->p99_change, 1, 2.0 / 128);
	/* Doubled, the calls above half the old p99 (half of them) are
	 * above the old p99: about 50 % against 1 %. */
	ASSERT_EQ(r->tail_at, r->p99[0]);
	ASSERT(r->tail[0] <= 50 && r->tail[1] >= 2400);

	r = row(&ld, "faster");
	ASSERT(r->tested && r->significant && r->z < 0);
	ASSERT_NEAR(r->p99_change, -0.5, 2.0 / 128);
	ASSERT_EQ(r->tail_at, r->p99[1]);

	r = row(&ld, "few");
	ASSERT(!r->tested && !r->significant && r->p_adj == 1);
	ASSERT_EQ(row(&ld, "gone")->status, DIFF_VANISHED);
	ASSERT_EQ(row(&ld, "new")->status, DIFF_NEW);
	ASSERT(isnan(row(&ld, "new")->p99_change));

	/* The gate: a significant growth of about 100 %. */
	ASSERT(latdiff_has_regression(&ld, 50));
	ASSERT(!latdiff_has_regression(&ld, 110));

	/* Largest growth first: new, then by the p99's change, gone last. */
	size_t n, *idx = latdiff_sorted(&ld, DIFF_SORT_DELTA, &n);
	ASSERT_EQ(n, 6);
	ASSERT_STREQ(ld.rows.v[idx[0]].name, "new");
	ASSERT_STREQ(ld.rows.v[idx[1]].name, "few");   /* p99 x100 */
	ASSERT_STREQ(ld.rows.v[idx[2]].name, "slower");
	ASSERT_STREQ(ld.rows.v[idx[5]].name, "gone");
	free(idx);
	latdiff_release(&ld);
	latdist_set_release(&b);
	latdist_set_release(&a);
}

TEST(one_side_empty_histogram)
{
	/* A name made but never filled on one side is no distribution there. */
	struct latdist_set b = LATDIST_SET_INIT, a = LATDIST_SET_INIT;
	spread(&b, "x", 200, 1, 1000);
	(void)latdist_get(&a, "test", "x");
	struct latdiff ld;
	latdiff_build(&ld, &b, &a, 0.01);
	ASSERT_EQ(ld.rows.n, 1);
	ASSERT_EQ(ld.rows.v[0].status, DIFF_VANISHED);
	ASSERT_EQ(ld.tested, 0);
	latdiff_release(&ld);
	latdist_set_release(&b);
	latdist_set_release(&a);
}

RUN_TESTS(T(fisher_exact), T(unchanged_shifted_and_shrunk), T(one_side_empty_histogram))
