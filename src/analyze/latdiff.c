/*
 * latdiff.c - two recordings' latency distributions side by side, and
 * whether each one's slow tail grew (see latdiff.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/latdiff.h"

struct hist *latdist_get(struct latdist_set *s, const char *source, const char *name)
{
	/* A few hundred distributions at most (one per syscall or probed
	 * function): a walk is fast enough. */
	for (size_t i = 0; i < s->v.n; i++)
		if (strcmp(s->v.v[i].source, source) == 0 && strcmp(s->v.v[i].name, name) == 0)
			return &s->v.v[i].h;
	vec_push(&s->v, ((struct latdist){ xstrdup(source), xstrdup(name), HIST_INIT }));
	return &s->v.v[s->v.n - 1].h;
}

void latdist_set_release(struct latdist_set *s)
{
	for (size_t i = 0; i < s->v.n; i++) {
		free(s->v.v[i].source);
		free(s->v.v[i].name);
		hist_release(&s->v.v[i].h);
	}
	vec_release(&s->v);
}

static double lchoose(double n, double k)
{
	return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/* For small tails, where the z-test's normal approximation overstates
 * significance; a walk over every possible table, so only for those. */
double latdiff_fisher_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2)
{
	uint64_t tails = x1 + x2, rest = n1 + n2 - tails;
	uint64_t lo = n2 > rest ? n2 - rest : 0, hi = tails < n2 ? tails : n2;
	double N = (double)(n1 + n2), K = (double)tails, m = (double)n2;
	double base = lchoose(N, m), seen = lchoose(K, (double)x2) + lchoose(N - K, m - (double)x2) - base, p = 0;
	for (uint64_t k = lo; k <= hi; k++) {
		double l = lchoose(K, (double)k) + lchoose(N - K, m - (double)k) - base;
		if (l <= seen + 1e-7)
			p += exp(l);
	}
	return p < 1 ? p : 1;
}

static const struct latdist *find(const struct latdist_set *s, const struct latdist *like)
{
	for (size_t i = 0; i < s->v.n; i++)
		if (strcmp(s->v.v[i].source, like->source) == 0 && strcmp(s->v.v[i].name, like->name) == 0)
			return &s->v.v[i];
	return NULL;
}

static void summarize(struct latdiff_row *r, int side, const struct hist *h)
{
	r->calls[side] = h->total;
	r->p50[side] = hist_percentile(h, 500);
	r->p90[side] = hist_percentile(h, 900);
	r->p99[side] = hist_percentile(h, 990);
	r->max[side] = h->total ? h->max : 0;
}

static void add_row(struct latdiff *ld, const struct latdist *b, const struct latdist *a)
{
	const struct latdist *any = b ? b : a;
	struct latdiff_row r = { .source = xstrdup(any->source), .name = xstrdup(any->name), .p99_change = NAN,
				 .p = 1, .p_adj = 1, .status = b && a ? DIFF_BOTH : b ? DIFF_VANISHED : DIFF_NEW };
	if (b)
		summarize(&r, 0, &b->h);
	if (a)
		summarize(&r, 1, &a->h);
	if (r.calls[0] && r.calls[1]) {
		r.p99_change = r.p99[0] ? (double)r.p99[1] / (double)r.p99[0] - 1 : r.p99[1] ? INFINITY : 0;
		/* A p99 is a bucket's highest value, so both counts above it
		 * are exact (hist.h). */
		r.tail_at = r.p99[0] < r.p99[1] ? r.p99[0] : r.p99[1];
		r.tail[0] = hist_count_above(&b->h, r.tail_at);
		r.tail[1] = hist_count_above(&a->h, r.tail_at);
	}
	vec_push(&ld->rows, r);
}

void latdiff_build(struct latdiff *ld, const struct latdist_set *before, const struct latdist_set *after,
		   double alpha)
{
	memset(ld, 0, sizeof *ld);
	ld->alpha = alpha;
	for (size_t i = 0; i < before->v.n; i++)
		if (before->v.v[i].h.total) {
			const struct latdist *a = find(after, &before->v.v[i]);
			add_row(ld, &before->v.v[i], a && a->h.total ? a : NULL);
		}
	for (size_t i = 0; i < after->v.n; i++) {
		const struct latdist *b = find(before, &after->v.v[i]);
		if (after->v.v[i].h.total && (!b || !b->h.total))
			add_row(ld, NULL, &after->v.v[i]);
	}
	double *pv = xcalloc(ld->rows.n ? ld->rows.n : 1, sizeof *pv);
	size_t *at = xcalloc(ld->rows.n ? ld->rows.n : 1, sizeof *at);
	for (size_t i = 0; i < ld->rows.n; i++) {
		struct latdiff_row *r = &ld->rows.v[i];
		if (r->status != DIFF_BOTH || r->calls[0] < LATDIFF_MIN_CALLS || r->calls[1] < LATDIFF_MIN_CALLS)
			continue;
		r->p = diff_two_prop_p(r->tail[0], r->calls[0], r->tail[1], r->calls[1], &r->z);
		if (r->tail[0] + r->tail[1] < LATDIFF_FISHER_BELOW)
			r->p = latdiff_fisher_p(r->tail[0], r->calls[0], r->tail[1], r->calls[1]);
		r->tested = true;
		at[ld->tested] = i;
		pv[ld->tested++] = r->p;
	}
	diff_holm(pv, ld->tested);
	for (size_t k = 0; k < ld->tested; k++) {
		struct latdiff_row *r = &ld->rows.v[at[k]];
		r->p_adj = pv[k];
		r->significant = pv[k] < alpha;
	}
	free(pv);
	free(at);
}

void latdiff_release(struct latdiff *ld)
{
	for (size_t i = 0; i < ld->rows.n; i++) {
		free(ld->rows.v[i].source);
		free(ld->rows.v[i].name);
	}
	vec_release(&ld->rows);
}

/* The change a row sorts by: new rows first, vanished ones last. */
static double change_key(const struct latdiff_row *r)
{
	if (r->status == DIFF_NEW)
		return INFINITY;
	if (r->status == DIFF_VANISHED)
		return -INFINITY;
	return r->p99_change;
}

static int cmp_name(const struct latdiff_row *x, const struct latdiff_row *y)
{
	int c = strcmp(x->source, y->source);
	return c ? c : strcmp(x->name, y->name);
}

static const struct latdiff *sort_ld;
static enum diff_sort sort_key;

static int cmp_rows(const void *a, const void *b)
{
	const struct latdiff_row *x = &sort_ld->rows.v[*(const size_t *)a], *y = &sort_ld->rows.v[*(const size_t *)b];
	if (sort_key != DIFF_SORT_NAME) {
		double kx = change_key(x), ky = change_key(y);
		if (sort_key == DIFF_SORT_ABS) {
			kx = fabs(kx);
			ky = fabs(ky);
		}
		if (kx != ky)
			return kx > ky ? -1 : 1;
	}
	return cmp_name(x, y);
}

size_t *latdiff_sorted(const struct latdiff *ld, enum diff_sort key, size_t *n)
{
	size_t *idx = xcalloc(ld->rows.n ? ld->rows.n : 1, sizeof *idx);
	for (size_t i = 0; i < ld->rows.n; i++)
		idx[i] = i;
	sort_ld = ld;
	sort_key = key;
	sort_n(idx, ld->rows.n, sizeof *idx, cmp_rows);
	*n = ld->rows.n;
	return idx;
}

bool latdiff_has_regression(const struct latdiff *ld, double pct)
{
	for (size_t i = 0; i < ld->rows.n; i++) {
		const struct latdiff_row *r = &ld->rows.v[i];
		if (r->significant && r->z > 0 && r->p99_change * 100 > pct)
			return true;
	}
	return false;
}
