/*
 * summary.c - a recording's memory sections summed per allocation stack and
 * kind (mem-report.h): what every memory view starts from.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/mem-report.h"
#include "mem-internal.h"

const char *const mem_weight_names[] = { "bytes", "count", NULL };

static int cmp_row_key(const void *a, const void *b)
{
	const struct mem_row *x = a, *y = b;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

double mem_err95(double var) { return 1.96 * sqrt(var > 0 ? var : 0); }

uint64_t mem_round_est(double v) { return v > 0 && v < 1.8e19 ? (uint64_t)llround(v) : 0; }

void mem_summarize(const struct cprof_data *d, struct mem_summary *s)
{
	memset(s, 0, sizeof *s);
	const char *sb = cprof_meta_get(d, "mem_sample_bytes");
	s->sampled = d->mem_est.n > 0 || (sb && *sb);
	if (sb)
		s->sample_bytes = strtoull(sb, NULL, 10);
	for (size_t i = 0; i < d->mem_est.n; i++) {
		const struct cprof_mem_est *e = &d->mem_est.v[i];
		struct mem_row r = { .stack = e->stack, .kind = e->kind, .allocs = mem_round_est(e->count),
				     .bytes = mem_round_est(e->bytes), .leaked = mem_round_est(e->live_count),
				     .leaked_bytes = mem_round_est(e->live_bytes), .max_size = e->max_size,
				     .samples = e->samples, .var_allocs = e->var_count, .var_bytes = e->var_bytes,
				     .var_leaked = e->live_var_count, .var_leaked_bytes = e->live_var_bytes };
		vec_push(&s->rows, r);
	}
	for (size_t i = 0; i < d->mem_sites.n; i++) {
		const struct cprof_mem_site *m = &d->mem_sites.v[i];
		struct mem_row r = { m->stack, m->kind, m->allocs, m->bytes, m->temp_allocs, m->temp_bytes,
				     m->leaked, m->leaked_bytes, m->peak_count, m->peak_bytes, m->max_size,
				     m->temp_max_size, 0, 0, 0, 0, 0 };
		vec_push(&s->rows, r);
	}
	/* Merge the same stack across processes (a forked child shares code). */
	if (s->rows.n)
		qsort(s->rows.v, s->rows.n, sizeof *s->rows.v, cmp_row_key);
	size_t w = 0;
	for (size_t i = 0; i < s->rows.n; i++) {
		struct mem_row *r = &s->rows.v[i];
		if (w && cmp_row_key(&s->rows.v[w - 1], r) == 0) {
			struct mem_row *t = &s->rows.v[w - 1];
			t->allocs += r->allocs;
			t->bytes += r->bytes;
			t->temp_allocs += r->temp_allocs;
			t->temp_bytes += r->temp_bytes;
			t->leaked += r->leaked;
			t->leaked_bytes += r->leaked_bytes;
			t->peak_count += r->peak_count;
			t->peak_bytes += r->peak_bytes;
			t->max_size = r->max_size > t->max_size ? r->max_size : t->max_size;
			t->temp_max_size = r->temp_max_size > t->temp_max_size ? r->temp_max_size : t->temp_max_size;
			t->samples += r->samples;
			t->var_allocs += r->var_allocs;
			t->var_bytes += r->var_bytes;
			t->var_leaked += r->var_leaked;
			t->var_leaked_bytes += r->var_leaked_bytes;
		} else {
			s->rows.v[w++] = *r;
		}
	}
	s->rows.n = w;
	for (size_t i = 0; i < s->rows.n; i++) {
		const struct mem_row *r = &s->rows.v[i];
		if (r->kind != MEMK_HEAP)
			continue;
		s->allocs += r->allocs;
		s->bytes += r->bytes;
		s->temp_allocs += r->temp_allocs;
		s->leaked += r->leaked;
		s->leaked_bytes += r->leaked_bytes;
		s->samples += r->samples;
		/* Each allocation is sampled independently of the others (a
		 * Poisson process over bytes), so the variances add up. */
		s->var_allocs += r->var_allocs;
		s->var_bytes += r->var_bytes;
		s->var_leaked += r->var_leaked;
		s->var_leaked_bytes += r->var_leaked_bytes;
	}
	for (size_t i = 0; i < d->mem_procs.n; i++) {
		const struct cprof_mem_proc *p = &d->mem_procs.v[i];
		s->events += p->events;
		s->unmatched_frees += p->unmatched_frees;
		s->lost += p->lost;
		if (p->peak_bytes >= s->peak_bytes) {
			s->peak_bytes = p->peak_bytes;
			s->peak_time = p->peak_time;
			s->peak_pid = p->pid;
		}
		if (p->mmap_peak > s->mmap_peak)
			s->mmap_peak = p->mmap_peak;
		for (int b = 0; b < MP_HIST_BUCKETS; b++)
			s->hist[b] += p->hist[b];
	}
}

void mem_summary_release(struct mem_summary *s) { vec_release(&s->rows); }

/* ---- helpers of the views (mem-internal.h) ---- */
uint64_t mem_origin(const struct cprof_data *d)
{
	const char *s = cprof_meta_get(d, "start_time_ns");
	uint64_t t = s ? strtoull(s, NULL, 10) : 0;
	for (size_t i = 0; !t && i < d->mem_procs.n; i++)
		if (!t || d->mem_procs.v[i].start_time < t)
			t = d->mem_procs.v[i].start_time;
	return t;
}
