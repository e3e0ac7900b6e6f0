/*
 * benchstat.c - statistics of repeated runs: summaries and comparisons.
 *
 * Choices, and why:
 * - The confidence interval of the mean is Student's t, not a bootstrap:
 *   it is exact for normal samples, deterministic (tests can check it to
 *   the last digit) and at n = 10 a bootstrap is itself too noisy.
 * - Two samples are compared with Welch's t-test (no equal-variance
 *   assumption) when both pass Shapiro-Wilk at 0.05, else with Mann-
 *   Whitney's U, which needs no normality: run times are often skewed by
 *   a few slow runs, and one such run would dominate a t-test.
 * - The change is reported relative to the baseline: Welch's CI is the CI
 *   of the difference of means divided by the baseline mean (its own
 *   uncertainty is ignored, as hyperfine and Criterion do); Mann-Whitney's
 *   is the Hodges-Lehmann shift and its distribution-free CI over the
 *   baseline median.
 * - A significant change smaller than the noise threshold (1 %) is still
 *   "no change", as in Criterion: with many runs every nanosecond becomes
 *   significant, and nobody wants a CI gate to fail on that.
 * Numerical pieces (incomplete beta, normal quantile, Shapiro-Wilk) follow
 * the published algorithms cited at each.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/bench.h"

const char *const stat_test_names[] = { "welch", "mann-whitney", NULL };
const char *const stat_verdict_names[] = { "too few runs", "no change", "increase", "decrease", NULL };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double *sorted_copy(const double *x, size_t n)
{
	double *s = xmalloc((n ? n : 1) * sizeof *s);
	memcpy(s, x, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_double);
	return s;
}

/* Quantile of sorted s, linear interpolation between closest ranks
 * (Hyndman-Fan type 7, numpy's and R's default). */
static double quantile(const double *s, size_t n, double q)
{
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

void stat_summarize(const double *x, size_t n, struct stat_summary *st)
{
	memset(st, 0, sizeof *st);
	st->n = n;
	if (n == 0)
		return;
	double *s = sorted_copy(x, n);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	st->mean = sum / (double)n;
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (s[i] - st->mean) * (s[i] - st->mean);
	st->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
	st->min = s[0];
	st->max = s[n - 1];
	st->median = quantile(s, n, 0.5);
	st->q1 = quantile(s, n, 0.25);
	st->q3 = quantile(s, n, 0.75);
	double half = n > 1 ? stat_t_quantile(0.05, (double)(n - 1)) * st->sd / sqrt((double)n) : 0;
	st->ci_lo = st->mean - half;
	st->ci_hi = st->mean + half;
	double iqr = st->q3 - st->q1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < st->q1 - 3 * iqr || s[i] > st->q3 + 3 * iqr)
			st->severe++;
		else if (s[i] < st->q1 - 1.5 * iqr || s[i] > st->q3 + 1.5 * iqr)
			st->mild++;
	}
	free(s);
}

/* ---- distributions ---- */

/* Continued fraction of the incomplete beta (Numerical Recipes, betacf,
 * with the modified Lentz method). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 300; m++) {
		int m2 = 2 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double inc_beta(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	double bt = exp(lbt);
	if (x < (a + 1) / (a + b + 2))
		return bt * beta_cf(a, b, x) / a;
	return 1 - bt * beta_cf(b, a, 1 - x) / b;
}

double stat_t_p(double t, double df)
{
	if (isnan(t))
		return 1;
	if (isinf(t))
		return 0;
	return inc_beta(df / 2, 0.5, df / (df + t * t));
}

double stat_t_quantile(double p, double df)
{
	/* stat_t_p falls monotonically in |t|: bisect. */
	double lo = 0, hi = 1;
	while (stat_t_p(hi, df) > p && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
		double mid = (lo + hi) / 2;
		if (stat_t_p(mid, df) > p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

static double norm_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

/* Acklam's rational approximation, polished by one Halley step against
 * erfc: accurate to about 1e-15. */
double stat_norm_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
				    1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
				    6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
				    -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
				    3.754408661907416e+00 };
	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	double q, x;
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= 1 - 0.02425) {
		q = p - 0.5;
		double r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	} else {
		q = sqrt(-2 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	double e = norm_cdf(x) - p;
	double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/* ---- tests ---- */

static void mean_var(const double *x, size_t n, double *m, double *v)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	*m = s / (double)n;
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - *m) * (x[i] - *m);
	*v = n > 1 ? ss / (double)(n - 1) : 0;
}

void stat_welch(const double *x, size_t nx, const double *y, size_t ny, double *t, double *df, double *p)
{
	double mx, vx, my, vy;
	mean_var(x, nx, &mx, &vx);
	mean_var(y, ny, &my, &vy);
	double ax = vx / (double)nx, ay = vy / (double)ny, se2 = ax + ay;
	if (!(se2 > 0)) {
		/* Both samples constant: equal means are no change, unequal
		 * ones a certain one. */
		*t = my == mx ? 0 : (my > mx ? INFINITY : -INFINITY);
		*df = (double)(nx + ny - 2);
		*p = my == mx ? 1 : 0;
		return;
	}
	*t = (my - mx) / sqrt(se2);
	*df = se2 * se2 / (ax * ax / (double)(nx - 1) + ay * ay / (double)(ny - 1));
	*p = stat_t_p(*t, *df);
}

struct ranked {
	double v;
	int side;
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

void stat_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u, double *p)
{
	size_t n = nx + ny;
	struct ranked *r = xmalloc(n * sizeof *r);
	for (size_t i = 0; i < nx; i++)
		r[i] = (struct ranked){ x[i], 0 };
	for (size_t i = 0; i < ny; i++)
		r[nx + i] = (struct ranked){ y[i], 1 };
	qsort(r, n, sizeof *r, cmp_ranked);
	double rank_y = 0, ties = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && r[j].v == r[i].v)
			j++;
		double avg = (double)(i + 1 + j) / 2; /* ranks i+1 .. j */
		for (size_t k = i; k < j; k++)
			if (r[k].side)
				rank_y += avg;
		double tcount = (double)(j - i);
		ties += tcount * tcount * tcount - tcount;
		i = j;
	}
	free(r);
	double n1 = (double)nx, n2 = (double)ny;
	*u = rank_y - n2 * (n2 + 1) / 2;
	double mu = n1 * n2 / 2;
	double sigma = sqrt(n1 * n2 / 12 * ((double)n + 1 - ties / ((double)n * ((double)n - 1))));
	if (!(sigma > 0)) {
		*p = 1;
		return;
	}
	double z = (fabs(*u - mu) - 0.5) / sigma;
	if (z < 0)
		z = 0;
	*p = 2 * (1 - norm_cdf(z));
	if (*p > 1)
		*p = 1;
}

static double poly(const double *c, int n, double x)
{
	double r = 0;
	for (int i = n - 1; i >= 0; i--)
		r = r * x + c[i];
	return r;
}

/* Royston, "Remark AS R94" (1995): approximations of the Shapiro-Wilk
 * coefficients and of W's null distribution, for 3 <= n <= 5000. */
void stat_shapiro_wilk(const double *x, size_t n, double *w, double *p)
{
	static const double c1[] = { 0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056 };
	static const double c2[] = { 0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633 };
	static const double c3[] = { 0.5440, -0.39978, 0.025054, -6.714e-4 };
	static const double c4[] = { 1.3822, -0.77857, 0.062767, -0.0020322 };
	static const double c5[] = { -1.5861, -0.31082, -0.083751, 0.0038915 };
	static const double c6[] = { -0.4803, -0.082676, 0.0030302 };
	static const double g[] = { -2.273, 0.459 };
	*w = 1;
	*p = 1;
	if (n < 3)
		return;
	double *s = sorted_copy(x, n);
	if (s[n - 1] - s[0] < 1e-300 || s[n - 1] == s[0]) {
		free(s);
		return;
	}
	double *a = xcalloc(n, sizeof *a);
	double an = (double)n;
	if (n == 3) {
		a[0] = -sqrt(0.5);
		a[2] = sqrt(0.5);
	} else {
		double *m = xmalloc(n * sizeof *m), summ2 = 0;
		for (size_t i = 0; i < n; i++) {
			m[i] = stat_norm_quantile(((double)(i + 1) - 0.375) / (an + 0.25));
			summ2 += m[i] * m[i];
		}
		double rsn = 1 / sqrt(an);
		double an1 = m[n - 1] / sqrt(summ2) + poly(c1, 6, rsn);
		double fac;
		size_t from;
		if (n > 5) {
			double an2 = m[n - 2] / sqrt(summ2) + poly(c2, 6, rsn);
			fac = sqrt((summ2 - 2 * m[n - 1] * m[n - 1] - 2 * m[n - 2] * m[n - 2]) /
				   (1 - 2 * an1 * an1 - 2 * an2 * an2));
			a[n - 2] = an2;
			a[1] = -an2;
			from = 2;
		} else {
			fac = sqrt((summ2 - 2 * m[n - 1] * m[n - 1]) / (1 - 2 * an1 * an1));
			from = 1;
		}
		a[n - 1] = an1;
		a[0] = -an1;
		for (size_t i = from; i < n - from; i++)
			a[i] = m[i] / fac;
		free(m);
	}
	double mean = 0;
	for (size_t i = 0; i < n; i++)
		mean += s[i];
	mean /= an;
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num += a[i] * s[i];
		den += (s[i] - mean) * (s[i] - mean);
	}
	free(a);
	free(s);
	*w = num * num / den;
	if (*w > 1)
		*w = 1;
	if (n == 3) {
		double pw = 6 / M_PI * (asin(sqrt(*w)) - asin(sqrt(0.75)));
		*p = pw < 0 ? 0 : pw;
		return;
	}
	double y = log(1 - *w), mu, sigma;
	if (n <= 11) {
		double gamma = poly(g, 2, an);
		if (y >= gamma) {
			*p = 1e-99;
			return;
		}
		y = -log(gamma - y);
		mu = poly(c3, 4, an);
		sigma = exp(poly(c4, 4, an));
	} else {
		double ln = log(an);
		mu = poly(c5, 4, ln);
		sigma = exp(poly(c6, 3, ln));
	}
	*p = 1 - norm_cdf((y - mu) / sigma);
}

/* Hodges-Lehmann shift of y against x and its 95 % CI from the ordered
 * pairwise differences (the normal approximation of the rank-sum quantile,
 * as R's wilcox.test does for large samples). */
static void hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny, double *est, double *lo,
			   double *hi)
{
	size_t nd = nx * ny;
	double *d = xmalloc(nd * sizeof *d);
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			d[i * ny + j] = y[j] - x[i];
	qsort(d, nd, sizeof *d, cmp_double);
	*est = quantile(d, nd, 0.5);
	double z = stat_norm_quantile(0.975);
	double k = floor((double)nd / 2 - z * sqrt((double)nx * (double)ny * (double)(nx + ny + 1) / 12));
	size_t kk = k < 1 ? 1 : (size_t)k;
	if (kk > nd)
		kk = nd;
	*lo = d[kk - 1];
	*hi = d[nd - kk];
	free(d);
}

void stat_compare(const double *base, size_t nb, const double *cur, size_t nc, const struct stat_compare_opts *o,
		  struct stat_compare *r)
{
	memset(r, 0, sizeof *r);
	r->p = 1;
	if (nb < 2 || nc < 2) {
		r->verdict = STAT_TOO_FEW;
		return;
	}
	double wb, pb, wc, pc;
	stat_shapiro_wilk(base, nb, &wb, &pb);
	stat_shapiro_wilk(cur, nc, &wc, &pc);
	r->normal = pb >= 0.05 && pc >= 0.05;
	if (r->normal) {
		double mb, vb, mc, vc;
		mean_var(base, nb, &mb, &vb);
		mean_var(cur, nc, &mc, &vc);
		r->test = STAT_WELCH;
		stat_welch(base, nb, cur, nc, &r->stat, &r->df, &r->p);
		double se = sqrt(vb / (double)nb + vc / (double)nc);
		double half = se > 0 ? stat_t_quantile(0.05, r->df) * se : 0;
		double diff = mc - mb;
		if (mb != 0) {
			r->rel = diff / fabs(mb);
			r->rel_lo = (diff - half) / fabs(mb);
			r->rel_hi = (diff + half) / fabs(mb);
		}
	} else {
		r->test = STAT_MANN_WHITNEY;
		stat_mann_whitney(base, nb, cur, nc, &r->stat, &r->p);
		double *s = sorted_copy(base, nb);
		double med = quantile(s, nb, 0.5);
		free(s);
		double est, lo, hi;
		hodges_lehmann(base, nb, cur, nc, &est, &lo, &hi);
		if (med != 0) {
			r->rel = est / fabs(med);
			r->rel_lo = lo / fabs(med);
			r->rel_hi = hi / fabs(med);
		}
	}
	if (!(r->p < o->alpha) || fabs(r->rel) < o->noise)
		r->verdict = STAT_NO_CHANGE;
	else
		r->verdict = r->rel > 0 ? STAT_INCREASE : STAT_DECREASE;
}
