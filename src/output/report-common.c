/* report-common.c - what the report writers share: enum names and sorting. */
#include <stdlib.h>

#include "cprof/report.h"

const char *const sort_key_names[] = { "self", "total", "line", NULL };
const char *const report_format_names[] = { "text", "json", "csv", "folded", NULL };

static int cmp_funcs(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ((const void **)ctx)[0];
	enum sort_key key = *(const enum sort_key *)((const void **)ctx)[1];
	const struct profile_func *x = &p->funcs.v[*(const uint32_t *)a], *y = &p->funcs.v[*(const uint32_t *)b];
	bool by_total = key == SORT_TOTAL;
	uint64_t kx = by_total ? x->total : x->self, ky = by_total ? y->total : y->self;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	uint64_t sx = by_total ? x->self : x->total, sy = by_total ? y->self : y->total;
	if (sx != sy)
		return sx < sy ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

uint32_t *report_sorted_funcs(const struct profile *p, enum sort_key key, size_t *ret_n)
{
	uint32_t *v = xmalloc((p->funcs.n ? p->funcs.n : 1) * sizeof *v);
	size_t n = 0;
	for (uint32_t i = 0; i < p->funcs.n; i++) {
		const struct profile_func *f = &p->funcs.v[i];
		if ((key == SORT_TOTAL ? f->total : f->self) || f->total)
			v[n++] = i;
	}
	const void *ctx[2] = { p, &key };
	qsort_r(v, n, sizeof *v, cmp_funcs, ctx);
	*ret_n = n;
	return v;
}
