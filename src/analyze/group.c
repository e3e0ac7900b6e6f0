/*
 * group.c - samples grouped by perf's sort keys (see group.h).
 *
 * Samples are first summed per (thread, stack), which is what every key
 * depends on, so the frames of a stack are walked once per thread that
 * ran it rather than once per sample.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/group.h"

const char *const group_key_names[] = { "comm", "pid", "tid", "dso", "sym", "cpu", NULL };

int group_keys_parse(const char *s, enum group_key keys[_GK_MAX], struct cprof_err *err)
{
	size_t n = 0;
	for (const char *p = s;;) {
		size_t len = strcspn(p, ",");
		int k = -1;
		for (int i = 0; group_key_names[i]; i++)
			if (strlen(group_key_names[i]) == len && strncmp(group_key_names[i], p, len) == 0)
				k = i;
		if (k < 0)
			return err_set(err, EINVAL, "unknown sort key '%.*s'", (int)len, p);
		for (size_t i = 0; i < n; i++)
			if (keys[i] == (enum group_key)k)
				return err_set(err, EINVAL, "sort key '%s' given twice", group_key_names[k]);
		keys[n++] = (enum group_key)k;
		if (!p[len])
			break;
		p += len + 1;
	}
	return (int)n;
}

/* Rows, indexed by all five fields. */
struct row_table {
	VEC(struct group_row) rows;
	struct hashidx ix;
};

static uint64_t row_hash(const struct group_row *r)
{
	uint32_t k[6] = { r->comm, r->dso, r->pid, r->tid, r->func, r->cpu };
	return hash_bytes(k, sizeof k, HASH_SEED);
}

static bool row_same(const struct group_row *a, const struct group_row *b)
{
	return a->comm == b->comm && a->dso == b->dso && a->pid == b->pid && a->tid == b->tid && a->func == b->func &&
	       a->cpu == b->cpu;
}

static uint64_t row_hash_at(const void *ctx, uint32_t i)
{
	return row_hash(&((const struct row_table *)ctx)->rows.v[i]);
}

static struct group_row *row_get(struct row_table *t, const struct group_row *key)
{
	uint64_t h = row_hash(key);
	size_t pos;
	for (uint32_t i = hashidx_first(&t->ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(&t->ix, &pos))
		if (row_same(&t->rows.v[i], key))
			return &t->rows.v[i];
	hashidx_reserve(&t->ix, row_hash_at, t);
	vec_push(&t->rows, *key);
	hashidx_put(&t->ix, h, (uint32_t)t->rows.n - 1);
	return &t->rows.v[t->rows.n - 1];
}

struct thread_stack {
	uint32_t pid, tid, comm, stack, cpu;
	uint64_t weight, samples;
};

static int cmp_thread_stack(const void *a, const void *b)
{
	const struct thread_stack *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	bool by_total = *(const bool *)ctx;
	const struct group_row *x = a, *y = b;
	uint64_t kx = by_total ? x->total : x->self, ky = by_total ? y->total : y->self;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	uint64_t sx = by_total ? x->self : x->total, sy = by_total ? y->self : y->total;
	if (sx != sy)
		return sx < sy ? 1 : -1;
	return 0;
}

void group_build(struct grouping *g, const struct profile *p, const enum group_key *keys, size_t nkeys,
		 bool by_total)
{
	const struct cprof_data *d = p->d;
	memset(g, 0, sizeof *g);
	bool on[_GK_MAX] = { false };
	for (size_t i = 0; i < nkeys && i < _GK_MAX; i++) {
		g->keys[g->nkeys++] = keys[i];
		on[keys[i]] = true;
	}

	/* Which samples p counts: its event, its stacks, its threads (the
	 * filters are per event, per stack and per thread). */
	size_t nst = d->stack_offset.n;
	uint8_t *stack_ok = xcalloc(nst ? nst : 1, 1);
	for (size_t i = 0; i < p->stacks.n; i++)
		stack_ok[p->stacks.v[i].stack] = 1;
	VEC(struct thread_stack) ts = { 0 };
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != p->event || !stack_ok[s->stack])
			continue;
		/* Only grouped by CPU does the CPU split a (thread, stack). */
		uint32_t cpu = !on[GK_CPU] ? 0 : i < d->sample_cpus.n ? d->sample_cpus.v[i] : GROUP_NO_CPU;
		vec_push(&ts, ((struct thread_stack){ s->pid, s->tid, 0, s->stack, cpu, s->period,
						      profile_sample_count(d, s) }));
	}
	if (ts.n) /* qsort of NULL is undefined even for none */
		qsort(ts.v, ts.n, sizeof *ts.v, cmp_thread_stack);
	size_t m = 0;
	for (size_t i = 0; i < ts.n; i++) {
		if (m && ts.v[m - 1].pid == ts.v[i].pid && ts.v[m - 1].tid == ts.v[i].tid &&
		    ts.v[m - 1].stack == ts.v[i].stack && ts.v[m - 1].cpu == ts.v[i].cpu) {
			ts.v[m - 1].weight += ts.v[i].weight;
			ts.v[m - 1].samples += ts.v[i].samples;
		} else {
			ts.v[m++] = ts.v[i];
		}
	}
	ts.n = m;

	struct row_table t = { 0 };
	VEC(uint32_t) seen = { 0 };
	const struct profile_thread *th = NULL;
	for (size_t i = 0; i < ts.n; i++) {
		const struct thread_stack *x = &ts.v[i];
		if (!th || th->pid != x->pid || th->tid != x->tid) {
			th = NULL;
			for (size_t k = 0; k < p->threads.n && !th; k++)
				if (p->threads.v[k].pid == x->pid && p->threads.v[k].tid == x->tid)
					th = &p->threads.v[k];
			if (!th)
				continue; /* not one of p's threads */
		}
		struct group_row base = { .comm = on[GK_COMM] ? th->comm : 0, .pid = on[GK_PID] ? x->pid : 0,
					  .tid = on[GK_TID] ? x->tid : 0, .cpu = x->cpu, .func = UINT32_MAX };
		uint32_t n = cprof_stack_len(d, x->stack);
		const uint32_t *fr = cprof_stack_frames(d, x->stack);
		if (!on[GK_DSO] && !on[GK_SYM]) {
			struct group_row *r = row_get(&t, &base);
			r->self += x->weight;
			r->self_samples += x->samples;
			r->total += x->weight;
			r->total_samples += x->samples;
			continue;
		}
		/* Self: the innermost frame; total: each distinct key on the stack once. */
		seen.n = 0;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t fn = p->frame_func[fr[k]];
			struct group_row key = base;
			if (on[GK_DSO])
				key.dso = p->funcs.v[fn].dso;
			if (on[GK_SYM])
				key.func = fn;
			size_t before = t.rows.n;
			struct group_row *r = row_get(&t, &key);
			uint32_t ri = (uint32_t)(r - t.rows.v);
			bool dup = false;
			if (t.rows.n == before)
				for (size_t j = 0; j < seen.n && !dup; j++)
					dup = seen.v[j] == ri;
			if (k == 0) {
				r->self += x->weight;
				r->self_samples += x->samples;
			}
			if (!dup) {
				r->total += x->weight;
				r->total_samples += x->samples;
				vec_push(&seen, ri);
			}
		}
		if (n == 0) {
			struct group_row *r = row_get(&t, &base);
			r->self += x->weight;
			r->self_samples += x->samples;
			r->total += x->weight;
			r->total_samples += x->samples;
		}
	}
	g->rows.v = t.rows.v;
	g->rows.n = t.rows.n;
	g->rows.cap = t.rows.cap;
	if (g->rows.n)
		qsort_r(g->rows.v, g->rows.n, sizeof *g->rows.v, cmp_rows, &by_total);
	hashidx_release(&t.ix);
	vec_release(&seen);
	vec_release(&ts);
	free(stack_ok);
}

void group_release(struct grouping *g)
{
	vec_release(&g->rows);
	memset(g, 0, sizeof *g);
}
