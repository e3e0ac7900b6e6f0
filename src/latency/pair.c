/*
 * pair.c - function calls from the probes' records: taken in time order (a
 * thread can enter on one CPU and return on another, so the rings' records
 * meet out of order), each thread's entries on a stack, each return paired
 * with the entry it belongs to, told by the stack pointer: the return of a
 * call sees the stack pointer of its entry plus the return address popped.
 *
 * A call that never returns (a longjmp past it, a thread that exits inside
 * it) leaves its entry on the stack, and the stack pointer says so: an
 * entry, or a return, with the stack pointer above an open call's means
 * that call's frame is gone. Such calls are counted, never paired with a
 * later return. Recursion nests on the stack like any other call; a tail
 * call into another probed function enters at its caller's stack pointer
 * and both return there, innermost first.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/resolve.h"
#include "lat-internal.h"

void lat_trace_init(struct lat_trace *t, uint32_t nfuncs, unsigned keep, uint64_t threshold)
{
	memset(t, 0, sizeof *t);
	t->nfuncs = nfuncs;
	t->funcs = xcalloc(nfuncs ? nfuncs : 1, sizeof *t->funcs);
	t->keep = keep;
	t->threshold = threshold;
	t->cap = hist_exact_cap();
}

void lat_trace_add(struct lat_trace *t, const struct lat_ev *e, const uint64_t *ips)
{
	struct lat_ev x = *e;
	if (x.func >= t->nfuncs) {
		t->malformed++;
		return;
	}
	x.seq = t->seq++;
	x.ip_off = t->batch_ips.n;
	if (x.nips) {
		vec_reserve(&t->batch_ips, t->batch_ips.n + x.nips);
		memcpy(t->batch_ips.v + t->batch_ips.n, ips, x.nips * sizeof *ips);
		t->batch_ips.n += x.nips;
	}
	vec_push(&t->batch, x);
}

static int cmp_ev(const void *a, const void *b)
{
	const struct lat_ev *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct lat_thread *thread_of(struct lat_trace *t, uint32_t pid, uint32_t tid)
{
	int64_t i = u64map_get(&t->thread_idx, tid);
	if (i >= 0)
		return &t->threads.v[i];
	struct lat_thread th = { .pid = pid, .tid = tid };
	u64map_put(&t->thread_idx, tid, (uint32_t)t->threads.n);
	vec_push(&t->threads, th);
	return &t->threads.v[t->threads.n - 1];
}

/* Keep the call if it is among the slowest of its function. */
static void consider_slow(struct lat_trace *t, struct lat_func *f, const struct lat_thread *th, uint64_t start,
			  uint64_t dur, const struct lat_ev *e)
{
	if (!t->keep || (f->slowest.n == t->keep && dur <= f->floor))
		return;
	struct lat_call c = { .pid = th->pid, .tid = th->tid, .start = start, .dur = dur, .handle = UINT32_MAX };
	if (e->nips) {
		vec_reserve(&c.ips, e->nips);
		memcpy(c.ips.v, t->batch_ips.v + e->ip_off, e->nips * sizeof *c.ips.v);
		c.ips.n = e->nips;
	}
	if (f->slowest.n < t->keep) {
		vec_push(&f->slowest, c);
	} else { /* replace the fastest */
		size_t at = 0;
		for (size_t i = 1; i < f->slowest.n; i++)
			if (f->slowest.v[i].dur < f->slowest.v[at].dur)
				at = i;
		vec_release(&f->slowest.v[at].ips);
		f->slowest.v[at] = c;
	}
	if (f->slowest.n == t->keep) {
		f->floor = f->slowest.v[0].dur;
		for (size_t i = 1; i < f->slowest.n; i++)
			if (f->slowest.v[i].dur < f->floor)
				f->floor = f->slowest.v[i].dur;
	}
}

static void drop_top(struct lat_trace *t, struct lat_thread *th)
{
	t->funcs[th->stack.v[--th->stack.n].func].unreturned++;
}

static void take_one(struct lat_trace *t, const struct lat_ev *e)
{
	struct lat_thread *th = thread_of(t, e->pid, e->tid);
	th->pid = e->pid;
	struct lat_func *f = &t->funcs[e->func];
	if (!e->ret) {
		/* A live caller's frame lies above the new one (higher sp), or at
		 * the same sp for a tail call into another function; the same
		 * function at the same sp is the old call gone (a loop calling a
		 * function that longjmps out of it). */
		while (th->stack.n) {
			const struct lat_frame *top = &th->stack.v[th->stack.n - 1];
			if (top->sp > e->sp || (top->sp == e->sp && top->func != e->func))
				break;
			drop_top(t, th);
		}
		uint32_t depth = 1;
		for (size_t i = 0; i < th->stack.n; i++)
			depth += th->stack.v[i].func == e->func;
		if (depth > f->depth)
			f->depth = depth;
		f->calls++;
		struct lat_frame fr = { .sp = e->sp, .start = e->time, .func = e->func };
		vec_push(&th->stack, fr);
		return;
	}
	uint64_t sp = e->sp - 8; /* the entry's */
	while (th->stack.n && th->stack.v[th->stack.n - 1].sp < sp)
		drop_top(t, th);
	if (!th->stack.n || th->stack.v[th->stack.n - 1].sp != sp || th->stack.v[th->stack.n - 1].func != e->func) {
		t->unpaired++;
		return;
	}
	const struct lat_frame *fr = &th->stack.v[--th->stack.n];
	uint64_t dur = e->time >= fr->start ? e->time - fr->start : 0;
	f->returned++;
	f->total += dur;
	if (dur > t->threshold)
		f->slow++;
	hist_add(&f->hist, dur, 1);
	if (f->durs.n < t->cap)
		vec_push(&f->durs, dur);
	else if (!f->approx) {
		f->approx = true; /* from now on the histogram alone */
		vec_release(&f->durs);
	}
	stacksum_add(&t->sums, e->func, th->pid, e->time, e->nips ? t->batch_ips.v + e->ip_off : NULL, e->nips, dur, 0);
	consider_slow(t, f, th, fr->start, dur, e);
}

bool lat_func_summary(struct lat_func *f, uint64_t out[PCT_N])
{
	if (f->approx)
		pct_summarize_hist(&f->hist, out);
	else
		pct_summarize(f->durs.v, f->durs.n, out);
	return f->approx;
}

void lat_trace_take(struct lat_trace *t, uint64_t horizon)
{
	if (!t->batch.n)
		return;
	qsort(t->batch.v, t->batch.n, sizeof *t->batch.v, cmp_ev);
	size_t i = 0;
	for (; i < t->batch.n && t->batch.v[i].time < horizon; i++)
		take_one(t, &t->batch.v[i]);
	/* The rest waits for the next pass, its stacks moved to the front. */
	size_t keep = 0, nips = 0;
	for (; i < t->batch.n; i++) {
		struct lat_ev e = t->batch.v[i];
		if (e.nips)
			memmove(t->batch_ips.v + nips, t->batch_ips.v + e.ip_off, e.nips * sizeof *t->batch_ips.v);
		e.ip_off = nips;
		nips += e.nips;
		t->batch.v[keep++] = e;
	}
	t->batch.n = keep;
	t->batch_ips.n = nips;
}

void lat_trace_end(struct lat_trace *t)
{
	lat_trace_take(t, UINT64_MAX);
	for (size_t i = 0; i < t->threads.n; i++)
		while (t->threads.v[i].stack.n)
			drop_top(t, &t->threads.v[i]);
}

void lat_trace_stacks(struct lat_trace *t, struct resolver *res)
{
	stacksum_stacks(&t->sums, res);
	for (uint32_t i = 0; i < t->nfuncs; i++)
		for (size_t j = 0; j < t->funcs[i].slowest.n; j++) {
			struct lat_call *c = &t->funcs[i].slowest.v[j];
			/* Taken at the return: the mappings then. */
			c->handle = c->ips.n ? resolver_add(res, c->pid, c->start + c->dur, c->ips.v, (uint32_t)c->ips.n,
							    RESOLVE_CALLCHAIN)
					     : UINT32_MAX;
		}
}

void lat_trace_store_stacks(const struct lat_trace *t, struct resolver *res, struct cprof_data *d)
{
	stacksum_store(&t->sums, res, d, LH_SRC_LATENCY, false);
}

void lat_trace_release(struct lat_trace *t)
{
	stacksum_release(&t->sums);
	vec_release(&t->batch);
	vec_release(&t->batch_ips);
	for (size_t i = 0; i < t->threads.n; i++)
		vec_release(&t->threads.v[i].stack);
	vec_release(&t->threads);
	u64map_release(&t->thread_idx);
	for (uint32_t i = 0; i < t->nfuncs; i++) {
		vec_release(&t->funcs[i].durs);
		hist_release(&t->funcs[i].hist);
		for (size_t j = 0; j < t->funcs[i].slowest.n; j++)
			vec_release(&t->funcs[i].slowest.v[j].ips);
		vec_release(&t->funcs[i].slowest);
	}
	free(t->funcs);
	t->funcs = NULL;
}
