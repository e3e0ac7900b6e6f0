/* report-common.c - what the report writers share: enum names, sorting, and
 * where samples were lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (p->func_hidden && p->func_hidden[i])
			continue;
		if ((key == SORT_TOTAL ? f->total : f->self) || f->total)
			v[n++] = i;
	}
	const void *ctx[2] = { p, &key };
	qsort_r(v, n, sizeof *v, cmp_funcs, ctx);
	*ret_n = n;
	return v;
}

void report_lost_get(const struct cprof_data *d, struct report_lost *ret)
{
	memset(ret, 0, sizeof *ret);
	const char *cpus = cprof_meta_get(d, "lost_by_cpu");
	const char *times = cprof_meta_get(d, "lost_times");
	const char *start = cprof_meta_get(d, "start_time_ns");
	uint64_t t0 = 0;
	if (!start || parse_u64(start, &t0) < 0)
		t0 = 0;
	for (const char *p = cpus; p && *p;) {
		int cpu;
		unsigned long long n;
		int used = 0;
		if (sscanf(p, "%d:%llu%n", &cpu, &n, &used) == 2 && used > 0)
			vec_push(&ret->cpus, ((struct report_lost_cpu){ cpu, n }));
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	for (const char *p = times; p && *p;) {
		unsigned long long a, b, n;
		if (sscanf(p, "%llu-%llu:%llu", &a, &b, &n) == 3 && a <= b) {
			double s = a > t0 ? (double)(a - t0) / 1e9 : 0, e = b > t0 ? (double)(b - t0) / 1e9 : 0;
			vec_push(&ret->bursts, ((struct report_lost_burst){ s, e, n }));
		}
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
}

void report_lost_release(struct report_lost *l)
{
	vec_release(&l->cpus);
	vec_release(&l->bursts);
}
