/*
 * lines.c - samples per source line (profile.h): `cprof report --sort
 * line` and `--lines`. Built from the profile's distinct stacks, so its
 * filters apply, and inline-aware because inlined calls are frames of
 * their own with their own lines.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/profile.h"

static uint64_t key_hash(const struct cprof_frame *f)
{
	uint64_t h = ((uint64_t)f->file << 32 | f->line) * 0x9e3779b97f4a7c15ULL;
	return (h ^ ((uint64_t)f->func << 32 | f->dso)) * 0xbf58476d1ce4e5b9ULL;
}

static bool same_key(const struct profile_line *l, const struct cprof_frame *f)
{
	return l->file == f->file && l->line == f->line && l->func == f->func && l->dso == f->dso &&
	       (l->flags & FRF_KERNEL) == (f->flags & FRF_KERNEL);
}

static uint64_t line_hash_at(const void *ctx, uint32_t j)
{
	const struct profile_line *l = &((const struct profile_lines *)ctx)->v.v[j];
	struct cprof_frame kf = { .func = l->func, .dso = l->dso, .file = l->file, .line = l->line };
	return key_hash(&kf);
}

/* The row of frame f's line, added if new. */
static uint32_t line_of(struct profile_lines *pl, struct hashidx *ix, const struct cprof_frame *f)
{
	uint64_t h = key_hash(f);
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos))
		if (same_key(&pl->v.v[i], f))
			return i;
	hashidx_reserve(ix, line_hash_at, pl);
	vec_push(&pl->v, ((struct profile_line){ .file = f->file, .line = f->line, .func = f->func, .dso = f->dso,
						  .flags = f->flags }));
	hashidx_put(ix, h, (uint32_t)pl->v.n - 1);
	return (uint32_t)pl->v.n - 1;
}

void profile_lines_build(struct profile_lines *pl, const struct profile *p)
{
	const struct cprof_data *d = p->d;
	memset(pl, 0, sizeof *pl);
	size_t nf = d->frames.n ? d->frames.n : 1;
	uint32_t *row = xmalloc(nf * sizeof *row); /* frame -> line row, filled on first use */
	memset(row, 0xff, nf * sizeof *row);
	struct hashidx ix = { 0 };
	VEC(uint32_t) seen = { 0 }; /* per row: the stack that last counted it */
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *ps = &p->stacks.v[i];
		uint32_t n = cprof_stack_len(d, ps->stack);
		const uint32_t *fr = cprof_stack_frames(d, ps->stack);
		for (uint32_t k = 0; k < n; k++) {
			if (row[fr[k]] == UINT32_MAX)
				row[fr[k]] = line_of(pl, &ix, &d->frames.v[fr[k]]);
			uint32_t r = row[fr[k]];
			while (seen.n < pl->v.n)
				vec_push(&seen, UINT32_MAX);
			struct profile_line *l = &pl->v.v[r];
			if (k == 0) {
				l->self += ps->weight;
				l->self_samples += ps->samples;
			}
			/* Total: each line once per stack, as recursion does for functions. */
			if (seen.v[r] != (uint32_t)i) {
				seen.v[r] = (uint32_t)i;
				l->total += ps->weight;
				l->total_samples += ps->samples;
			}
		}
	}
	vec_release(&seen);
	hashidx_release(&ix);
	free(row);
}

void profile_lines_release(struct profile_lines *pl)
{
	vec_release(&pl->v);
}

static int cmp_lines(const void *a, const void *b, void *ctx)
{
	const struct profile_lines *pl = ((const void **)ctx)[0];
	bool total = *(const bool *)((const void **)ctx)[1];
	const struct profile_line *x = &pl->v.v[*(const uint32_t *)a], *y = &pl->v.v[*(const uint32_t *)b];
	uint64_t kx = total ? x->total : x->self, ky = total ? y->total : y->self;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	uint64_t sx = total ? x->self : x->total, sy = total ? y->self : y->total;
	if (sx != sy)
		return sx < sy ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

uint32_t *profile_lines_sorted(const struct profile_lines *pl, bool total, size_t *ret_n)
{
	uint32_t *v = xmalloc((pl->v.n ? pl->v.n : 1) * sizeof *v);
	size_t n = 0;
	for (uint32_t i = 0; i < pl->v.n; i++)
		if (pl->v.v[i].total)
			v[n++] = i;
	const void *ctx[2] = { pl, &total };
	if (n)
		qsort_r(v, n, sizeof *v, cmp_lines, ctx);
	*ret_n = n;
	return v;
}
