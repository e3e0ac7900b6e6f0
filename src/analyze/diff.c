/*
 * diff.c - match functions of two profiles and test each change.
 *
 * Statistics: each sample is a Bernoulli draw of "is the CPU in f", so the
 * samples of f in a run are binomial with the run's sample total. Comparing
 * two runs is then the textbook two-proportion z-test on (x1/n1, x2/n2).
 * Consecutive samples are not quite independent (a function tends to run
 * for longer than one sampling period), so the effective sample size is
 * smaller than the count and the test is slightly optimistic.
 *
 * Many functions are tested at once, so the p-values are corrected with
 * Holm-Bonferroni, which bounds the chance of even one false alarm (the
 * family-wise error rate) and is uniformly stronger than plain Bonferroni.
 * Benjamini-Hochberg would find more changes, but it bounds only the
 * expected fraction of false ones; a CI gate that fails builds wants the
 * stricter guarantee.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/diff.h"
#include "cprof/match.h"

const char *const diff_metric_names[] = { "self", "total", NULL };
const char *const diff_sort_names[] = { "delta", "abs", "name", NULL };
const char *const diff_status_names[] = { "both", "new", "vanished" };

double diff_two_prop_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z)
{
	*z = 0;
	if (n1 == 0 || n2 == 0)
		return 1;
	double p1 = (double)x1 / (double)n1, p2 = (double)x2 / (double)n2;
	double pool = (double)(x1 + x2) / (double)(n1 + n2);
	double se = sqrt(pool * (1 - pool) * (1.0 / (double)n1 + 1.0 / (double)n2));
	if (!(se > 0))
		return 1;
	*z = (p2 - p1) / se;
	return erfc(fabs(*z) / sqrt(2.0));
}

static int cmp_pidx(const void *a, const void *b, void *ctx)
{
	const double *p = ctx;
	double x = p[*(const size_t *)a], y = p[*(const size_t *)b];
	return x < y ? -1 : x > y;
}

void diff_holm(double *p, size_t n)
{
	if (n == 0)
		return;
	size_t *idx = xmalloc(n * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, cmp_pidx, p);
	double run = 0;
	for (size_t k = 0; k < n; k++) {
		double adj = p[idx[k]] * (double)(n - k);
		if (adj > 1)
			adj = 1;
		if (adj < run)
			adj = run; /* step-down: adjusted p-values never decrease */
		run = adj;
		p[idx[k]] = adj;
	}
	free(idx);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* One function (or binary, or thread name) of one run. key decides what
 * matches (match.h); shown is what a row calls the binary. */
struct entry {
	const char *name, *key, *shown;
	uint64_t count;
	int side; /* 0 before, 1 after */
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c == 0)
		c = strcmp(x->key, y->key);
	return c ? c : x->side - y->side;
}

static void fill_row(struct diff_row *r, const char *name, const char *dso, uint64_t a, uint64_t b,
		     uint64_t na, uint64_t nb)
{
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->dso = xstrdup(dso);
	r->before = a;
	r->after = b;
	r->share_before = na ? (double)a / (double)na : 0;
	r->share_after = nb ? (double)b / (double)nb : 0;
	r->delta = 100.0 * (r->share_after - r->share_before);
	r->rel = r->share_before > 0 ? (r->share_after - r->share_before) / r->share_before : NAN;
	r->status = a == 0 ? DIFF_NEW : b == 0 ? DIFF_VANISHED : DIFF_BOTH;
	r->p = r->p_adj = 1;
}

/* Merge sorted entries with equal (name, key) into rows; a row shows the
 * after run's binary name where there is one. */
static void merge(struct entry *e, size_t n, uint64_t na, uint64_t nb, void *rowsv)
{
	VEC(struct diff_row) *rows = rowsv;
	qsort(e, n, sizeof *e, cmp_entry);
	for (size_t i = 0; i < n;) {
		uint64_t c[2] = { 0, 0 };
		const char *shown = e[i].shown;
		size_t j = i;
		while (j < n && strcmp(e[j].name, e[i].name) == 0 && strcmp(e[j].key, e[i].key) == 0) {
			c[e[j].side] += e[j].count;
			if (e[j].side == 1 && e[j].count)
				shown = e[j].shown;
			j++;
		}
		if (c[0] || c[1]) {
			struct diff_row r;
			fill_row(&r, e[i].name, shown, c[0], c[1], na, nb);
			vec_push(rows, r);
		}
		i = j;
	}
}

/* The binary keys of a profile's functions, one string each in *keys
 * (offsets into buf, which must not move while the entries are in use). */
static void func_keys(const struct profile *p, int side, const struct match_rule *m, bool names_only,
		      struct sbuf *buf, size_t *offs)
{
	const char *main_exe = match_main_exe(p->d);
	struct sbuf key = SBUF_INIT;
	for (size_t i = 0; i < p->funcs.n; i++) {
		if (names_only)
			sbuf_reset(&key);
		else
			match_binary_key(m, side, main_exe, cprof_str(p->d, p->funcs.v[i].dso), &key);
		offs[i] = buf->len;
		sbuf_add(buf, key.buf, key.len + 1);
	}
	sbuf_release(&key);
}

static uint64_t duration(const struct profile *p)
{
	const char *s = cprof_meta_get(p->d, "duration_ns");
	uint64_t v;
	if (!s || parse_u64(s, &v) < 0)
		return 0;
	return v;
}

int diff_build(struct diff *df, const struct profile *before, const struct profile *after,
	       const struct diff_opts *o, struct cprof_err *err)
{
	const struct profile *pp[2] = { before, after };
	memset(df, 0, sizeof *df);
	df->metric = o->metric;
	df->alpha = o->alpha;
	if (!(o->alpha > 0 && o->alpha < 1))
		return err_set(err, EINVAL, "alpha must be between 0 and 1");
	const char *ea = cprof_str(before->d, before->d->events.v[before->event].name);
	const char *eb = cprof_str(after->d, after->d->events.v[after->event].name);
	if (strcmp(ea, eb) != 0)
		return err_set(err, EINVAL, "the inputs measure different events: '%s' before, '%s' after (use --event)",
			       ea, eb);
	df->total_before = before->total_samples;
	df->total_after = after->total_samples;
	df->duration_before = duration(before);
	df->duration_after = duration(after);

	/* Functions, matched by name and binary key (match.h). */
	static const struct match_rule default_rule = MATCH_RULE_INIT;
	const struct match_rule *m = o->match ? o->match : &default_rule;
	bool names_only = match_names_only(m, before->d, after->d);
	struct sbuf keybuf = SBUF_INIT;
	size_t *offs[2];
	for (int s = 0; s < 2; s++) {
		offs[s] = xmalloc((pp[s]->funcs.n + 1) * sizeof *offs[s]);
		func_keys(pp[s], s, m, names_only, &keybuf, offs[s]);
	}
	VEC(struct entry) e = { 0 };
	for (int s = 0; s < 2; s++) {
		const struct profile *p = pp[s];
		for (size_t i = 0; i < p->funcs.n; i++) {
			const struct profile_func *f = &p->funcs.v[i];
			uint64_t c = o->metric == DIFF_SELF ? f->self_samples : f->total_samples;
			vec_push(&e, ((struct entry){ cprof_str(p->d, f->name), keybuf.buf + offs[s][i],
						      base_name(cprof_str(p->d, f->dso)), c, s }));
		}
	}
	merge(e.v, e.n, df->total_before, df->total_after, &df->rows);

	/* Binaries: self samples, which add up to the run's total. A binary is
	 * its key, named as the after run names it. */
	e.n = 0;
	for (int s = 0; s < 2; s++) {
		const struct profile *p = pp[s];
		for (size_t i = 0; i < p->funcs.n; i++) {
			const struct profile_func *f = &p->funcs.v[i];
			const char *key = keybuf.buf + offs[s][i];
			const char *shown = base_name(cprof_str(p->d, f->dso));
			vec_push(&e, ((struct entry){ *key ? key : shown, "", shown, f->self_samples, s }));
		}
	}
	merge(e.v, e.n, df->total_before, df->total_after, &df->binaries);
	/* Roll-up rows are named by their binary, not by the key. */
	for (size_t i = 0; i < df->binaries.n; i++) {
		struct diff_row *r = &df->binaries.v[i];
		free(r->name);
		r->name = r->dso;
		r->dso = xstrdup("");
	}

	/* Threads, by name; the main executable's threads are named after it
	 * (the kernel keeps 15 bytes of a name), so they match as it does. */
	e.n = 0;
	for (int s = 0; s < 2; s++) {
		const struct profile *p = pp[s];
		const char *main_exe = names_only ? NULL : match_main_exe(p->d);
		char main_comm[16] = "";
		if (main_exe)
			snprintf(main_comm, sizeof main_comm, "%s", base_name(main_exe));
		for (size_t i = 0; i < p->threads.n; i++) {
			const struct profile_thread *t = &p->threads.v[i];
			const char *comm = cprof_str(p->d, t->comm);
			bool is_main = *main_comm && strcmp(comm, main_comm) == 0;
			vec_push(&e, ((struct entry){ is_main ? "[main executable]" : comm, "", comm, t->samples, s }));
		}
	}
	merge(e.v, e.n, df->total_before, df->total_after, &df->threads);
	for (size_t i = 0; i < df->threads.n; i++) {
		struct diff_row *r = &df->threads.v[i];
		free(r->name);
		r->name = r->dso;
		r->dso = xstrdup("");
	}
	vec_release(&e);
	free(offs[0]);
	free(offs[1]);
	sbuf_release(&keybuf);

	/* Test every function seen in either run, then correct as one family. */
	double *pv = xmalloc((df->rows.n + 1) * sizeof *pv);
	for (size_t i = 0; i < df->rows.n; i++) {
		struct diff_row *r = &df->rows.v[i];
		r->p = diff_two_prop_p(r->before, df->total_before, r->after, df->total_after, &r->z);
		r->tested = true;
		pv[i] = r->p;
	}
	df->tested = df->rows.n;
	diff_holm(pv, df->rows.n);
	for (size_t i = 0; i < df->rows.n; i++) {
		df->rows.v[i].p_adj = pv[i];
		df->rows.v[i].significant = pv[i] < o->alpha;
	}
	free(pv);
	/* Roll-ups are tested individually, for orientation only. */
	for (int g = 0; g < 2; g++) {
		struct diff_row *v = g ? df->threads.v : df->binaries.v;
		size_t n = g ? df->threads.n : df->binaries.n;
		for (size_t i = 0; i < n; i++) {
			v[i].p = v[i].p_adj = diff_two_prop_p(v[i].before, df->total_before, v[i].after, df->total_after, &v[i].z);
			v[i].significant = v[i].p < o->alpha;
		}
	}
	return 0;
}

static void rows_release(struct diff_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].dso);
	}
}

void diff_release(struct diff *df)
{
	rows_release(df->rows.v, df->rows.n);
	rows_release(df->binaries.v, df->binaries.n);
	rows_release(df->threads.v, df->threads.n);
	vec_release(&df->rows);
	vec_release(&df->binaries);
	vec_release(&df->threads);
}

static int cmp_name(const struct diff_row *x, const struct diff_row *y)
{
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->dso, y->dso);
}

struct sort_ctx {
	const struct diff *df;
	enum diff_sort key;
};

static int cmp_sorted(const void *a, const void *b, void *ctxv)
{
	const struct sort_ctx *ctx = ctxv;
	const struct diff_row *x = &ctx->df->rows.v[*(const size_t *)a], *y = &ctx->df->rows.v[*(const size_t *)b];
	double kx, ky;
	switch (ctx->key) {
	case DIFF_SORT_DELTA: kx = -x->delta; ky = -y->delta; break;
	case DIFF_SORT_ABS: kx = -fabs(x->delta); ky = -fabs(y->delta); break;
	default: return cmp_name(x, y);
	}
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return cmp_name(x, y);
}

size_t *diff_sorted(const struct diff *df, enum diff_sort key, size_t *n)
{
	struct sort_ctx ctx = { df, key };
	size_t *idx = xmalloc((df->rows.n + 1) * sizeof *idx);
	for (size_t i = 0; i < df->rows.n; i++)
		idx[i] = i;
	qsort_r(idx, df->rows.n, sizeof *idx, cmp_sorted, &ctx);
	*n = df->rows.n;
	return idx;
}

bool diff_has_regression(const struct diff *df, double pct)
{
	for (size_t i = 0; i < df->rows.n; i++)
		if (df->rows.v[i].significant && df->rows.v[i].delta > pct)
			return true;
	return false;
}

bool diff_show_time(const struct diff *df)
{
	return df->duration_before && df->duration_after && df->duration_before != df->duration_after;
}
