/*
 * track.c - intervals off a CPU from the context-switch records: each
 * thread's switch sample (its user stack, taken as it leaves the CPU),
 * its switch-out (PERF_RECORD_SWITCH with SWITCH_OUT; SWITCH_OUT_PREEMPT
 * when it was still runnable) and its next switch-in, which may come on
 * another CPU's ring. The rings' records are parsed into a batch and taken
 * in time order; an interval is the switch-in's time less the
 * switch-out's, attributed to the stack sampled at the switch-out.
 *
 * The kernel writes the sample just before the switch-out record on the
 * same CPU, so in time order a thread's sample is followed by its
 * switch-out. A record lost in between (ring full) shows as a switch-out
 * with no sample (no stack) or two switch-outs in a row (counted).
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/resolve.h"
#include "offcpu-internal.h"

void oc_trace_init(struct oc_trace *t, bool callchain)
{
	memset(t, 0, sizeof *t);
	t->callchain = callchain;
}

static uint64_t hash_stack(uint32_t pid, const uint64_t *ips, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ pid;
	for (size_t i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 1099511628211ULL;
		h ^= h >> 29;
	}
	return h;
}

/* The index of the stack (pid, ips), added if new. The ips are copied to
 * the arena's end first and kept there only if the stack is new. */
static uint32_t intern_stack(struct oc_trace *t, uint32_t pid, uint64_t time, const uint8_t *raw, size_t n)
{
	vec_reserve(&t->stack_ips, t->stack_ips.n + n + 1);
	uint64_t *ips = t->stack_ips.v + t->stack_ips.n;
	if (n)
		memcpy(ips, raw, n * 8);
	uint64_t h = hash_stack(pid, ips, n);
	/* A colliding hash is probed past (key + 1, ...) until a match or a hole. */
	for (uint64_t k = h;; k++) {
		int64_t i = u64map_get(&t->stack_idx, k);
		if (i < 0) {
			struct oc_stack s = { .pid = pid, .n = (uint32_t)n, .off = t->stack_ips.n, .time = time,
					      .hash = h, .handle = OC_NONE };
			t->stack_ips.n += n;
			u64map_put(&t->stack_idx, k, (uint32_t)t->stacks.n);
			vec_push(&t->stacks, s);
			return (uint32_t)t->stacks.n - 1;
		}
		const struct oc_stack *s = &t->stacks.v[i];
		if (s->hash == h && s->pid == pid && s->n == n && (!n || memcmp(t->stack_ips.v + s->off, ips, n * 8) == 0))
			return (uint32_t)i;
	}
}

void oc_trace_record(struct oc_trace *t, const void *rec, size_t len)
{
	const struct perf_event_header *h = rec;
	struct rec_cur c = rec_cur_of(rec, len);
	struct oc_ev e = { .seq = t->seq++, .stack = OC_NONE };
	switch (h->type) {
	case PERF_RECORD_LOST:
		rec_take(&c, 8); /* id */
		t->lost += rec_take(&c, 8);
		return;
	case PERF_RECORD_LOST_SAMPLES:
		t->lost_samples += rec_take(&c, 8);
		return;
	case PERF_RECORD_SAMPLE:
		e.kind = OC_SAMPLE;
		e.pid = (uint32_t)rec_take(&c, 4);
		e.tid = (uint32_t)rec_take(&c, 4);
		e.time = rec_take(&c, 8);
		if (t->callchain) {
			uint64_t n = rec_take(&c, 8);
			if (c.bad || n > (uint64_t)(c.end - c.p) / 8) {
				t->malformed++;
				return;
			}
			e.stack = intern_stack(t, e.pid, e.time, c.p, n);
		}
		break;
	case PERF_RECORD_SWITCH_CPU_WIDE: /* -a: the other task's pid and tid first */
		rec_take(&c, 8);
		/* fall through */
	case PERF_RECORD_SWITCH:
		/* No body: the sample_id trailer, {pid, tid} and time. */
		e.kind = h->misc & PERF_RECORD_MISC_SWITCH_OUT ? OC_OUT : OC_IN;
		e.preempt = (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
		e.pid = (uint32_t)rec_take(&c, 4);
		e.tid = (uint32_t)rec_take(&c, 4);
		e.time = rec_take(&c, 8);
		break;
	default:
		return;
	}
	if (c.bad) {
		t->malformed++;
		return;
	}
	vec_push(&t->batch, e);
}

static int cmp_ev(const void *a, const void *b)
{
	const struct oc_ev *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct oc_thread *thread_of(struct oc_trace *t, uint32_t pid, uint32_t tid)
{
	int64_t i = u64map_get(&t->thread_idx, tid);
	if (i >= 0)
		return &t->threads.v[i];
	struct oc_thread th = { .pid = pid, .tid = tid, .stack = OC_NONE, .pending = OC_NONE };
	u64map_put(&t->thread_idx, tid, (uint32_t)t->threads.n);
	vec_push(&t->threads, th);
	return &t->threads.v[t->threads.n - 1];
}

static void take_one(struct oc_trace *t, const struct oc_ev *e)
{
	struct oc_thread *th = thread_of(t, e->pid, e->tid);
	th->pid = e->pid; /* after an exec by another thread, the tid may be the leader's */
	switch (e->kind) {
	case OC_SAMPLE:
		th->pending = e->stack;
		break;
	case OC_OUT:
		if (th->out)
			t->double_out++;
		th->out = true;
		th->preempt = e->preempt;
		th->out_time = e->time;
		th->stack = th->pending;
		th->pending = OC_NONE;
		break;
	case OC_IN:
		/* A switch-in with no switch-out before it: the thread's first
		 * run (a new thread, the exec) - nothing to measure. */
		if (!th->out)
			break;
		th->out = false;
		struct oc_wait w = { .start = th->out_time, .dur = e->time >= th->out_time ? e->time - th->out_time : 0,
				     .pid = th->pid, .tid = th->tid, .stack = th->stack,
				     .flags = th->preempt ? OWF_PREEMPT : 0 };
		vec_push(&t->waits, w);
		break;
	}
}

void oc_trace_take(struct oc_trace *t, uint64_t horizon)
{
	if (!t->batch.n)
		return;
	qsort(t->batch.v, t->batch.n, sizeof *t->batch.v, cmp_ev);
	size_t i = 0;
	for (; i < t->batch.n && t->batch.v[i].time < horizon; i++)
		take_one(t, &t->batch.v[i]);
	memmove(t->batch.v, t->batch.v + i, (t->batch.n - i) * sizeof *t->batch.v);
	t->batch.n -= i;
}

void oc_trace_end(struct oc_trace *t)
{
	oc_trace_take(t, UINT64_MAX);
	for (size_t i = 0; i < t->threads.n; i++)
		if (t->threads.v[i].out) {
			t->threads.v[i].out = false;
			t->unfinished++;
		}
}

/* The user part of an unwound sample: from its first user context marker
 * on (the kernel's sampled pc before it is not a frame of the thread's),
 * the form -g's callchains have. */
static bool user_part(const struct raw_store *st, const struct raw_sample *x, const uint64_t **ips, size_t *n)
{
	const uint64_t *v = st->ips.v + x->ip_off;
	for (size_t k = 0; k < x->nips; k++)
		if (v[k] == (uint64_t)PERF_CONTEXT_USER) {
			*ips = v + k;
			*n = x->nips - k;
			return *n > 1;
		}
	return false;
}

/* A sample unwound (its thread, time and interned stack), or a wait (its
 * thread, start and index in waits). */
struct oc_unwound {
	uint64_t time;
	uint32_t tid, stack;
};

static int cmp_unwound(const void *a, const void *b)
{
	const struct oc_unwound *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->time < y->time ? -1 : x->time > y->time;
}

void oc_trace_unwound(struct oc_trace *t, const struct raw_store *st)
{
	VEC(struct oc_unwound) u = { 0 };
	for (size_t i = 0; i < st->samples.n; i++) {
		const struct raw_sample *x = &st->samples.v[i];
		const uint64_t *ips;
		size_t n;
		if (!user_part(st, x, &ips, &n))
			continue;
		struct oc_unwound e = { x->time, x->tid, intern_stack(t, x->pid, x->time, (const uint8_t *)ips, n) };
		vec_push(&u, e);
	}
	if (u.n > 1)
		qsort(u.v, u.n, sizeof *u.v, cmp_unwound);
	/* The waits in the same order, as (start, tid, index): their order in
	 * t stays (switch-in order). */
	struct oc_unwound *order = xmalloc((t->waits.n + 1) * sizeof *order);
	for (size_t i = 0; i < t->waits.n; i++)
		order[i] = (struct oc_unwound){ t->waits.v[i].start, t->waits.v[i].tid, (uint32_t)i };
	if (t->waits.n > 1)
		qsort(order, t->waits.n, sizeof *order, cmp_unwound);
	/* Both by thread, then time: each wait takes its thread's last sample
	 * at or before its start, if that came after the thread's previous
	 * wait ended (a sample lost leaves its wait without a stack rather
	 * than with the one before). */
	size_t j = 0;
	uint32_t prev_tid = 0;
	uint64_t prev_end = 0;
	for (size_t k = 0; k < t->waits.n; k++) {
		struct oc_wait *w = &t->waits.v[order[k].stack];
		if (k == 0 || w->tid != prev_tid)
			prev_end = 0;
		while (j < u.n && (u.v[j].tid < w->tid || (u.v[j].tid == w->tid && u.v[j].time <= w->start)))
			j++;
		const struct oc_unwound *c = j ? &u.v[j - 1] : NULL;
		if (c && c->tid == w->tid && c->time <= w->start && c->time >= prev_end &&
		    w->start - c->time <= OC_SAMPLE_SLACK_NS)
			w->stack = c->stack;
		else
			t->unwound_missing++;
		prev_tid = w->tid;
		prev_end = w->start + w->dur;
	}
	free(order);
	vec_release(&u);
}

void oc_trace_stacks(struct oc_trace *t, struct resolver *res)
{
	for (size_t i = 0; i < t->stacks.n; i++) {
		struct oc_stack *s = &t->stacks.v[i];
		s->handle = s->n ? resolver_add(res, s->pid, s->time, t->stack_ips.v + s->off, s->n, RESOLVE_CALLCHAIN)
				 : OC_NONE;
	}
}

void oc_trace_store(struct oc_trace *t, struct resolver *res, struct cprof_data *d)
{
	uint32_t *ids = xmalloc((t->stacks.n + 1) * sizeof *ids);
	for (size_t i = 0; i < t->stacks.n; i++)
		ids[i] = OC_NONE;
	vec_reserve(&d->offcpu, d->offcpu.n + t->waits.n);
	for (size_t i = 0; i < t->waits.n; i++) {
		const struct oc_wait *w = &t->waits.v[i];
		uint32_t stack = OFFCPU_NO_STACK;
		if (w->stack != OC_NONE && t->stacks.v[w->stack].handle != OC_NONE) {
			if (ids[w->stack] == OC_NONE)
				ids[w->stack] = resolver_stack(res, t->stacks.v[w->stack].handle, 0);
			stack = ids[w->stack];
		}
		struct cprof_offcpu_wait o = { .start = w->start, .dur = w->dur, .pid = w->pid, .tid = w->tid,
					       .stack = stack, .flags = w->flags };
		d->offcpu.v[d->offcpu.n++] = o;
	}
	free(ids);
}

void oc_trace_release(struct oc_trace *t)
{
	vec_release(&t->batch);
	vec_release(&t->threads);
	u64map_release(&t->thread_idx);
	vec_release(&t->stacks);
	vec_release(&t->stack_ips);
	u64map_release(&t->stack_idx);
	vec_release(&t->waits);
}
