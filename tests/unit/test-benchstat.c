/*
 * test-benchstat.c - the statistics of `cprof stat` against reference
 * values (computed with SciPy 1.10: numpy.percentile, scipy.stats.t,
 * ttest_ind(equal_var=False), mannwhitneyu(method='asymptotic'), shapiro),
 * and the verdicts a comparison gives.
 */
#include <math.h>

#include "harness.h"
#include "cprof/bench.h"

static const double X[] = { 10.2, 9.8, 10.5, 10.1, 9.9, 10.3, 10.0, 10.4, 9.7, 10.6 };
static const double Y[] = { 11.1, 10.9, 11.4, 11.0, 10.8, 11.3, 11.2, 10.7, 11.5, 11.05 };

TEST(summary)
{
	struct stat_summary s;
	stat_summarize(X, 10, &s);
	ASSERT_EQ(s.n, 10);
	ASSERT_NEAR(s.mean, 10.15, 1e-12);
	ASSERT_NEAR(s.sd, 0.302765035409749, 1e-12);
	ASSERT_NEAR(s.median, 10.15, 1e-12);
	ASSERT_NEAR(s.q1, 9.925, 1e-12);
	ASSERT_NEAR(s.q3, 10.375, 1e-12);
	ASSERT_NEAR(s.min, 9.7, 0);
	ASSERT_NEAR(s.max, 10.6, 0);
	ASSERT_NEAR(s.ci_lo, 9.93341494103866, 1e-9);
	ASSERT_NEAR(s.ci_hi, 10.3665850589613, 1e-9);
	ASSERT_EQ(s.mild, 0);
	ASSERT_EQ(s.severe, 0);
}

TEST(summary_edges)
{
	struct stat_summary s;
	double one = 5;
	stat_summarize(&one, 1, &s);
	ASSERT_NEAR(s.mean, 5, 0);
	ASSERT_NEAR(s.sd, 0, 0);
	ASSERT_NEAR(s.ci_lo, 5, 0);
	ASSERT_NEAR(s.ci_hi, 5, 0);
	stat_summarize(NULL, 0, &s);
	ASSERT_EQ(s.n, 0);
}

TEST(outliers)
{
	const double v[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 30 };
	struct stat_summary s;
	stat_summarize(v, 12, &s);
	ASSERT_NEAR(s.q1, 3.75, 1e-12);
	ASSERT_NEAR(s.q3, 9.25, 1e-12);
	/* IQR 5.5: mild above 17.5, severe above 25.75 */
	ASSERT_EQ(s.mild, 0);
	ASSERT_EQ(s.severe, 1);
	/* q1 = 3, q3 = 8.25, IQR 5.25: 20 is above 16.125 but below 24 */
	const double w[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 3 };
	stat_summarize(w, 12, &s);
	ASSERT_EQ(s.mild, 1);
	ASSERT_EQ(s.severe, 0);
}

TEST(distributions)
{
	ASSERT_NEAR(stat_t_quantile(0.05, 9), 2.26215716274099, 1e-9);
	ASSERT_NEAR(stat_t_quantile(0.05, 3.5), 2.94008863798278, 1e-9);
	ASSERT_NEAR(stat_norm_quantile(0.975), 1.95996398454005, 1e-12);
	ASSERT_NEAR(stat_norm_quantile(1e-6), -4.7534243088229, 1e-10);
	ASSERT_NEAR(stat_t_p(2.5, 7.3), 0.0396502346656004, 1e-12);
	ASSERT_NEAR(stat_t_p(0, 5), 1, 1e-12);
	ASSERT_NEAR(stat_t_p(INFINITY, 5), 0, 0);
}

TEST(welch)
{
	double t, df, p;
	stat_welch(X, 10, Y, 10, &t, &df, &p);
	ASSERT_NEAR(t, 7.50417645144345, 1e-9);
	ASSERT_NEAR(df, 17.5719877356644, 1e-9);
	ASSERT_NEAR(p, 7.0067662068986e-07, 1e-12);
	/* constant samples */
	const double a[] = { 3, 3, 3 }, b[] = { 4, 4, 4 };
	stat_welch(a, 3, a, 3, &t, &df, &p);
	ASSERT_NEAR(p, 1, 0);
	stat_welch(a, 3, b, 3, &t, &df, &p);
	ASSERT_NEAR(p, 0, 0);
	ASSERT(t > 0);
}

TEST(mann_whitney)
{
	const double m1[] = { 1, 2, 2, 3, 4, 5, 5, 5, 9, 12 };
	const double m2[] = { 3, 4, 6, 6, 7, 8, 9, 10, 14, 20, 25 };
	double u, p;
	stat_mann_whitney(m1, 10, m2, 11, &u, &p);
	ASSERT_NEAR(u, 87.5, 1e-12);
	ASSERT_NEAR(p, 0.0238221408666838, 1e-12);
}

TEST(shapiro_wilk)
{
	/* SciPy's swilk works in single precision: compare to 1e-5. */
	double w, p;
	stat_shapiro_wilk(X, 10, &w, &p);
	ASSERT_NEAR(w, 0.970164716243744, 1e-5);
	ASSERT_NEAR(p, 0.892368376255035, 1e-4);
	const double skew[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100 };
	stat_shapiro_wilk(skew, 12, &w, &p);
	ASSERT_NEAR(w, 0.520496129989624, 1e-5);
	ASSERT_NEAR(p, 2.51214296440594e-05, 1e-6);
	const double four[] = { 1.0, 2.0, 4.0, 7.5 };
	stat_shapiro_wilk(four, 4, &w, &p);
	ASSERT_NEAR(w, 0.93322342634201, 1e-5);
	ASSERT_NEAR(p, 0.613471627235413, 1e-4);
	const double three[] = { 1.0, 2.0, 4.0 };
	stat_shapiro_wilk(three, 3, &w, &p);
	ASSERT_NEAR(w, 0.964285731315613, 1e-5);
	ASSERT_NEAR(p, 0.636885643005371, 1e-4);
	const double six[] = { 3.1, 2.9, 3.3, 3.0, 3.2, 2.8 };
	stat_shapiro_wilk(six, 6, &w, &p);
	ASSERT_NEAR(w, 0.981889486312866, 1e-5);
	ASSERT_NEAR(p, 0.960555136203766, 1e-4);
}

TEST(compare_verdicts)
{
	struct stat_compare_opts o = STAT_COMPARE_OPTS_INIT;
	struct stat_compare c;
	/* Y is about 10 % above X, both normal: Welch says increase. */
	stat_compare(X, 10, Y, 10, &o, &c);
	ASSERT_EQ(c.test, STAT_WELCH);
	ASSERT(c.normal);
	ASSERT_EQ(c.verdict, STAT_INCREASE);
	ASSERT_NEAR(c.p, 7.0067662068986e-07, 1e-12);
	ASSERT_NEAR(c.rel, (11.095 - 10.15) / 10.15, 1e-12);
	ASSERT(c.rel_lo < c.rel && c.rel < c.rel_hi);
	/* and the other way round */
	stat_compare(Y, 10, X, 10, &o, &c);
	ASSERT_EQ(c.verdict, STAT_DECREASE);
	/* the same sample: no change */
	stat_compare(X, 10, X, 10, &o, &c);
	ASSERT_EQ(c.verdict, STAT_NO_CHANGE);
	ASSERT_NEAR(c.p, 1, 1e-12);
	/* a significant change below the noise threshold is no change */
	double b[10], z[10];
	for (int i = 0; i < 10; i++) {
		b[i] = 1000 + X[i];
		z[i] = b[i] + 5; /* +0.5 %, t = 37 */
	}
	stat_compare(b, 10, z, 10, &o, &c);
	ASSERT(c.p < 1e-9);
	ASSERT_EQ(c.verdict, STAT_NO_CHANGE);
	o.noise = 0.001;
	stat_compare(b, 10, z, 10, &o, &c);
	ASSERT_EQ(c.verdict, STAT_INCREASE);
	/* a skewed sample goes to Mann-Whitney */
	const double skew[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100 };
	double more[12];
	for (int i = 0; i < 12; i++)
		more[i] = skew[i] * 1.5;
	o.noise = 0.01;
	stat_compare(skew, 12, more, 12, &o, &c);
	ASSERT_EQ(c.test, STAT_MANN_WHITNEY);
	ASSERT(!c.normal);
	/* too few */
	stat_compare(X, 1, Y, 10, &o, &c);
	ASSERT_EQ(c.verdict, STAT_TOO_FEW);
}

RUN_TESTS(T(summary), T(summary_edges), T(outliers), T(distributions), T(welch), T(mann_whitney), T(shapiro_wilk),
	  T(compare_verdicts))
