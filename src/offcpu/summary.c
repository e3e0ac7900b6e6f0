/*
 * summary.c - what the views of src/offcpu/ draw from, built from a
 * recording's intervals off a CPU: blocked and preempted time apart, with
 * their exact percentiles (percentile.h); by stack; by function, each
 * counted once per stack it is on; by thread; and the blocked intervals,
 * longest first.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/u64map.h"
#include "offcpu-internal.h"

static const struct cprof_data *sort_d;
static const struct oc_summary *sort_s;

static int by_stack_ns(const void *a, const void *b)
{
	const struct oc_sum *x = &sort_s->by_stack[*(const size_t *)a], *y = &sort_s->by_stack[*(const size_t *)b];
	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

static int by_func_ns(const void *a, const void *b)
{
	const struct oc_func *x = a, *y = b;
	if (x->blocked.ns != y->blocked.ns)
		return x->blocked.ns > y->blocked.ns ? -1 : 1;
	return strcmp(cprof_str(sort_d, x->name), cprof_str(sort_d, y->name));
}

static int by_thread_ns(const void *a, const void *b)
{
	const struct oc_thr *x = a, *y = b;
	if (x->blocked.ns != y->blocked.ns)
		return x->blocked.ns > y->blocked.ns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int by_dur(const void *a, const void *b)
{
	const struct cprof_offcpu_wait *x = &sort_d->offcpu.v[*(const size_t *)a];
	const struct cprof_offcpu_wait *y = &sort_d->offcpu.v[*(const size_t *)b];
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static size_t stack_slot(const struct oc_summary *s, uint32_t stack)
{
	return stack == OFFCPU_NO_STACK ? s->nstacks - 1 : stack;
}

void oc_summary_build(struct oc_summary *s, const struct cprof_data *d, const struct latclasses *lc)
{
	memset(s, 0, sizeof *s);
	s->nstacks = d->stack_offset.n + 1;
	s->by_stack = xcalloc(s->nstacks, sizeof *s->by_stack);
	s->pre_by_stack = xcalloc(s->nstacks, sizeof *s->pre_by_stack);
	uint64_t *bd = xmalloc((d->offcpu.n + 1) * sizeof *bd), *pd = xmalloc((d->offcpu.n + 1) * sizeof *pd);
	size_t nb = 0, np = 0;
	struct u64map tidx = U64MAP_INIT;
	s->longest = xmalloc((d->offcpu.n + 1) * sizeof *s->longest);
	s->stack_class = xcalloc(s->nstacks, sizeof *s->stack_class);
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		bool pre = w->flags & OWF_PREEMPT;
		struct oc_sum *sum = pre ? &s->pre_by_stack[stack_slot(s, w->stack)] : &s->by_stack[stack_slot(s, w->stack)];
		sum->ns += w->dur;
		sum->n++;
		int64_t ti = u64map_get(&tidx, (uint64_t)w->pid << 32 | w->tid);
		if (ti < 0) {
			struct oc_thr t = { .pid = w->pid, .tid = w->tid };
			ti = (int64_t)s->threads.n;
			u64map_put(&tidx, (uint64_t)w->pid << 32 | w->tid, (uint32_t)ti);
			vec_push(&s->threads, t);
		}
		struct oc_thr *t = &s->threads.v[ti];
		int cls = latclass_of(lc, w->dur);
		if (pre)
			s->pclass[cls]++;
		else {
			s->bclass[cls]++;
			s->stack_class[stack_slot(s, w->stack)][cls]++;
		}
		if (pre) {
			s->preempted.ns += w->dur;
			s->preempted.n++;
			t->preempted.ns += w->dur;
			t->preempted.n++;
			pd[np++] = w->dur;
		} else {
			s->blocked.ns += w->dur;
			s->blocked.n++;
			t->blocked.ns += w->dur;
			t->blocked.n++;
			vec_push(&t->durs, w->dur);
			bd[nb++] = w->dur;
			s->longest[s->nlongest++] = i;
		}
	}
	pct_summarize(bd, nb, s->blat);
	pct_summarize(pd, np, s->plat);
	free(bd);
	free(pd);
	u64map_release(&tidx);
	for (size_t i = 0; i < s->threads.n; i++)
		pct_summarize(s->threads.v[i].durs.v, s->threads.v[i].durs.n, s->threads.v[i].lat);
	sort_d = d;
	sort_s = s;
	sort_n(s->threads.v, s->threads.n, sizeof *s->threads.v, by_thread_ns);
	sort_n(s->longest, s->nlongest, sizeof *s->longest, by_dur);
	s->stack_order = xmalloc(s->nstacks * sizeof *s->stack_order);
	for (size_t i = 0; i < s->nstacks; i++)
		if (s->by_stack[i].n)
			s->stack_order[s->nstack_order++] = i;
	sort_n(s->stack_order, s->nstack_order, sizeof *s->stack_order, by_stack_ns);
	/* Functions, inclusive: each function once per stack it is on. */
	struct u64map fidx = U64MAP_INIT;
	for (size_t o = 0; o < s->nstack_order; o++) {
		size_t st = s->stack_order[o];
		if (st == s->nstacks - 1)
			continue;
		const uint32_t *f = cprof_stack_frames(d, (uint32_t)st);
		for (uint32_t k = 0, n = cprof_stack_len(d, (uint32_t)st); k < n; k++) {
			uint32_t name = d->frames.v[f[k]].func;
			int64_t fi = u64map_get(&fidx, name);
			if (fi < 0) {
				struct oc_func fn = { .name = name, .last = UINT32_MAX };
				fi = (int64_t)s->funcs.n;
				u64map_put(&fidx, name, (uint32_t)fi);
				vec_push(&s->funcs, fn);
			}
			struct oc_func *fn = &s->funcs.v[fi];
			if (fn->last == st)
				continue;
			fn->last = (uint32_t)st;
			fn->blocked.ns += s->by_stack[st].ns;
			fn->blocked.n += s->by_stack[st].n;
		}
	}
	u64map_release(&fidx);
	sort_n(s->funcs.v, s->funcs.n, sizeof *s->funcs.v, by_func_ns);
}

void oc_summary_release(struct oc_summary *s)
{
	free(s->by_stack);
	free(s->pre_by_stack);
	free(s->stack_order);
	free(s->longest);
	free(s->stack_class);
	vec_release(&s->funcs);
	for (size_t i = 0; i < s->threads.n; i++)
		vec_release(&s->threads.v[i].durs);
	vec_release(&s->threads);
}

