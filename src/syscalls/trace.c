/*
 * trace.c - syscalls from the raw_syscalls tracepoints' records: parsed
 * into a batch, taken in time order (a thread can enter a call on one CPU
 * and return on another, so the rings' records meet out of order), each
 * return paired with its thread's entry; per thread and syscall the calls,
 * errors by errno, every duration (the percentiles are exact up to a
 * cap: dist.c) and the part of it on a CPU (from the switch records); per
 * syscall the slowest calls with the stacks they were made from (taken at
 * the return, with -g), and the time summed by stack (stacksum.c); the
 * I/O per file descriptor is io.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/resolve.h"
#include "sys-internal.h"

void sys_trace_init(struct sys_trace *t, unsigned slowest, bool callchain)
{
	memset(t, 0, sizeof *t);
	t->slowest = slowest;
	t->callchain = callchain;
	t->cap = hist_exact_cap();
	sys_io_init(t);
}

void sys_trace_record(struct sys_trace *t, const void *rec, size_t len, uint32_t enter_id, uint32_t exit_id)
{
	const struct perf_event_header *h = rec;
	struct rec_cur c = rec_cur_of(rec, len);
	if (h->type == PERF_RECORD_LOST) {
		rec_take(&c, 8); /* id */
		t->lost += rec_take(&c, 8);
		return;
	}
	if (h->type == PERF_RECORD_SWITCH) {
		/* sample_id_all: pid, tid, time and the identifier end it */
		if (len < sizeof *h + 24) {
			t->malformed++;
			return;
		}
		const uint8_t *id = (const uint8_t *)rec + len - 24;
		struct sys_ev e = { .seq = t->seq++, .sw = h->misc & PERF_RECORD_MISC_SWITCH_OUT ? SW_OUT : SW_IN };
		memcpy(&e.pid, id, 4);
		memcpy(&e.tid, id + 4, 4);
		memcpy(&e.time, id + 8, 8);
		vec_push(&t->batch, e);
		return;
	}
	if (h->type != PERF_RECORD_SAMPLE)
		return;
	struct sys_ev e = { .seq = t->seq++ };
	/* Only the returns carry a callchain (the user stack is the one the
	 * call was made from, and the walk comes after the return's
	 * timestamp, outside the duration): the event tells the layout. */
	bool is_exit = u64map_get(&t->exit_ids, rec_take(&c, 8)) >= 0;
	e.pid = (uint32_t)rec_take(&c, 4);
	e.tid = (uint32_t)rec_take(&c, 4);
	e.time = rec_take(&c, 8);
	if (t->callchain && is_exit) {
		uint64_t n = rec_take(&c, 8);
		if (n > (uint64_t)(c.end - c.p) / 8) {
			t->malformed++;
			return;
		}
		e.ip_off = t->batch_ips.n;
		e.nips = (uint32_t)n;
		vec_reserve(&t->batch_ips, t->batch_ips.n + n);
		memcpy(t->batch_ips.v + t->batch_ips.n, c.p, n * 8);
		t->batch_ips.n += n;
		c.p += n * 8;
	}
	uint32_t size = (uint32_t)rec_take(&c, 4);
	if (c.bad || size < 24 || size > (size_t)(c.end - c.p)) {
		t->malformed++;
		return;
	}
	uint16_t type;
	int64_t id, val;
	memcpy(&type, c.p, 2);
	memcpy(&id, c.p + 8, 8);
	memcpy(&val, c.p + 16, 8);
	/* id -1 at a return: rt_sigreturn's (it restores the registers of the
	 * interrupted code, and with them an orig_ax of -1; the value is that
	 * code's rax). A thread makes one call at a time: it is the return of
	 * the one open, timed, its value no error. */
	bool unnumbered = is_exit && id == -1;
	if (type != (is_exit ? exit_id : enter_id) || (!unnumbered && (id < 0 || id >= SYS_NR_OPEN))) {
		t->malformed++;
		return;
	}
	e.nr = unnumbered ? SYS_NR_OPEN : (uint32_t)id;
	e.exit = is_exit;
	e.val = val;
	vec_push(&t->batch, e);
}

static int cmp_ev(const void *a, const void *b)
{
	const struct sys_ev *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct sys_thread *thread_of(struct sys_trace *t, uint32_t pid, uint32_t tid)
{
	int64_t i = u64map_get(&t->thread_idx, tid);
	if (i >= 0)
		return &t->threads.v[i];
	struct sys_thread th = { .pid = pid, .tid = tid };
	u64map_put(&t->thread_idx, tid, (uint32_t)t->threads.n);
	vec_push(&t->threads, th);
	return &t->threads.v[t->threads.n - 1];
}

static struct sys_cell *cell_of(struct sys_trace *t, uint32_t pid, uint32_t tid, uint32_t nr)
{
	uint64_t key = (uint64_t)tid << 32 | nr;
	int64_t i = u64map_get(&t->cell_idx, key);
	if (i >= 0)
		return &t->cells.v[i];
	struct sys_cell c = { .pid = pid, .tid = tid, .nr = nr };
	u64map_put(&t->cell_idx, key, (uint32_t)t->cells.n);
	vec_push(&t->cells, c);
	return &t->cells.v[t->cells.n - 1];
}

/* n more errors err of syscall nr in thread tid (0: the sum over threads). */
static void count_error(struct sys_trace *t, uint32_t pid, uint32_t tid, uint32_t nr, uint32_t err, uint64_t n)
{
	uint64_t key = (uint64_t)tid << 32 | (uint64_t)nr << 12 | err;
	int64_t i = u64map_get(&t->err_idx, key);
	if (i >= 0) {
		t->errs.v[i].count += n;
		return;
	}
	struct cprof_sys_err e = { .pid = pid, .tid = tid, .nr = nr, .err = err, .count = n };
	u64map_put(&t->err_idx, key, (uint32_t)t->errs.n);
	vec_push(&t->errs, e);
}

/* Keep the call if it is among the slowest of its syscall. */
static void consider_slow(struct sys_trace *t, struct sys_thread *th, uint64_t dur, const struct sys_ev *e)
{
	int64_t ret = e->val;
	if (!t->slowest)
		return;
	struct slowset *set = NULL;
	/* Few syscalls are used by one program: a short list, searched. */
	for (size_t i = 0; i < t->nsets; i++)
		if (t->sets[i].nr == th->nr)
			set = &t->sets[i];
	if (!set) {
		t->sets = xrealloc(t->sets, (t->nsets + 1) * sizeof *t->sets);
		set = &t->sets[t->nsets++];
		memset(set, 0, sizeof *set);
		set->nr = th->nr;
	}
	if (set->v.n == t->slowest && dur <= set->floor)
		return;
	struct sys_slow s = { .pid = th->pid, .tid = th->tid, .nr = th->nr, .start = th->start, .dur = dur, .ret = ret };
	size_t at = set->v.n;
	if (set->v.n == t->slowest) { /* replace the fastest */
		at = 0;
		for (size_t i = 1; i < set->v.n; i++)
			if (set->v.v[i].dur < set->v.v[at].dur)
				at = i;
		vec_release(&set->v.v[at].ips);
	} else {
		vec_push(&set->v, s);
	}
	set->v.v[at] = s;
	if (e->nips) {
		vec_reserve(&set->v.v[at].ips, e->nips);
		memcpy(set->v.v[at].ips.v, t->batch_ips.v + e->ip_off, e->nips * 8);
		set->v.v[at].ips.n = e->nips;
	}
	if (set->v.n == t->slowest) {
		set->floor = set->v.v[0].dur;
		for (size_t i = 1; i < set->v.n; i++)
			if (set->v.v[i].dur < set->floor)
				set->floor = set->v.v[i].dur;
	}
}

/* The thread runs at time: a time off a CPU ends (its switch-in was lost,
 * or is the record being taken). */
static void back_on_cpu(struct sys_thread *th, uint64_t time)
{
	if (th->off_since && time > th->off_since)
		th->off_total += time - th->off_since;
	th->off_since = 0;
}

static void take_one(struct sys_trace *t, const struct sys_ev *e)
{
	struct sys_thread *th = thread_of(t, e->pid, e->tid);
	if (e->sw == SW_OUT) {
		if (!th->off_since)
			th->off_since = e->time;
		return;
	}
	back_on_cpu(th, e->time);
	if (e->sw == SW_IN)
		return;
	if (!e->exit) {
		if (th->in_call) /* its return was lost */
			cell_of(t, th->pid, th->tid, th->nr)->unfinished++;
		th->pid = e->pid; /* after an exec by another thread, the tid may be the leader's */
		th->in_call = true;
		th->nr = e->nr;
		th->start = e->time;
		th->arg0 = e->val;
		th->off_at_entry = th->off_total;
		cell_of(t, e->pid, e->tid, e->nr)->calls++;
		return;
	}
	if (!th->in_call || (th->nr != e->nr && e->nr != SYS_NR_OPEN)) {
		t->unpaired_returns++;
		return;
	}
	uint32_t nr = th->nr;
	th->in_call = false;
	uint64_t dur = e->time >= th->start ? e->time - th->start : 0;
	uint64_t off = th->off_total - th->off_at_entry;
	uint64_t oncpu = off < dur ? dur - off : 0;
	struct sys_cell *c = cell_of(t, th->pid, th->tid, nr);
	c->total += dur;
	c->oncpu += oncpu;
	stacksum_add(&t->sums, nr, th->pid, e->time, e->nips ? t->batch_ips.v + e->ip_off : NULL, e->nips, dur,
		     oncpu);
	sys_dist_add(t, c, dur);
	if (e->nr == SYS_NR_OPEN)
		return; /* its value is no result (above), and it did no I/O */
	if (e->val < 0 && e->val >= -4095) {
		c->errors++;
		count_error(t, th->pid, th->tid, nr, (uint32_t)-e->val, 1);
	}
	sys_io_count(t, th, dur, e->val);
	consider_slow(t, th, dur, e);
}

void sys_trace_take(struct sys_trace *t, uint64_t horizon)
{
	if (!t->batch.n)
		return;
	sort_n(t->batch.v, t->batch.n, sizeof *t->batch.v, cmp_ev);
	size_t i = 0;
	for (; i < t->batch.n && t->batch.v[i].time < horizon; i++)
		take_one(t, &t->batch.v[i]);
	/* The rest waits for the next pass, its stacks in a new arena. */
	size_t keep = 0;
	VEC(uint64_t) ips = { 0 };
	for (; i < t->batch.n; i++) {
		struct sys_ev e = t->batch.v[i];
		vec_reserve(&ips, ips.n + e.nips);
		if (e.nips)
			memcpy(ips.v + ips.n, t->batch_ips.v + e.ip_off, e.nips * 8);
		e.ip_off = ips.n;
		ips.n += e.nips;
		t->batch.v[keep++] = e;
	}
	t->batch.n = keep;
	vec_release(&t->batch_ips);
	t->batch_ips.v = ips.v;
	t->batch_ips.n = ips.n;
	t->batch_ips.cap = ips.cap;
}

void sys_trace_stacks(struct sys_trace *t, struct resolver *res)
{
	stacksum_stacks(&t->sums, res);
	for (size_t i = 0; i < t->nsets; i++)
		for (size_t j = 0; j < t->sets[i].v.n; j++) {
			struct sys_slow *s = &t->sets[i].v.v[j];
			/* Taken at the return: the mappings then (an exec changes them). */
			s->handle = s->ips.n ? resolver_add(res, s->pid, s->start + s->dur, s->ips.v, (uint32_t)s->ips.n,
							    RESOLVE_CALLCHAIN)
					     : UINT32_MAX;
		}
}

static const char *name_of(uint32_t nr, char *buf, size_t len)
{
	if (nr < sys_names_n && sys_names[nr])
		return sys_names[nr];
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct sys_cell *x = a, *y = b;
	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_err(const void *a, const void *b)
{
	const struct cprof_sys_err *x = a, *y = b;
	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->err < y->err ? -1 : x->err > y->err;
}

static int cmp_slow(const void *a, const void *b)
{
	const struct sys_slow *x = a, *y = b;
	return x->dur > y->dur ? -1 : x->dur < y->dur;
}

static struct cprof_sys_stat stat_of(const struct sys_cell *c, struct cprof_data *d)
{
	char buf[32];
	return (struct cprof_sys_stat){ .pid = c->pid, .tid = c->tid, .nr = c->nr,
					.name = cprof_intern(d, name_of(c->nr, buf, sizeof buf)), .calls = c->calls,
					.errors = c->errors, .unfinished = c->unfinished, .total_ns = c->total };
}

void sys_trace_store(struct sys_trace *t, struct resolver *res, struct cprof_data *d)
{
	/* Calls still in progress when the recording ended. */
	for (size_t i = 0; i < t->threads.n; i++)
		if (t->threads.v[i].in_call)
			cell_of(t, t->threads.v[i].pid, t->threads.v[i].tid, t->threads.v[i].nr)->unfinished++;
	sort_n(t->cells.v, t->cells.n, sizeof *t->cells.v, cmp_cell);
	for (size_t i = 0; i < t->cells.n;) {
		/* One syscall: all threads' row, then each thread's. */
		size_t j = i, ndur = 0;
		struct sys_cell all = { .nr = t->cells.v[i].nr };
		for (; j < t->cells.n && t->cells.v[j].nr == all.nr; j++) {
			all.calls += t->cells.v[j].calls;
			all.errors += t->cells.v[j].errors;
			all.unfinished += t->cells.v[j].unfinished;
			all.total += t->cells.v[j].total;
			ndur += t->cells.v[j].durs.n;
		}
		uint64_t *v = xmalloc((ndur ? ndur : 1) * sizeof *v);
		size_t n = 0;
		for (size_t k = i; k < j; k++) {
			if (t->cells.v[k].durs.n)
				memcpy(v + n, t->cells.v[k].durs.v, t->cells.v[k].durs.n * sizeof *v);
			n += t->cells.v[k].durs.n;
		}
		struct cprof_sys_stat s = stat_of(&all, d);
		struct sys_dist *ds = sys_dist_of(t, all.nr);
		if (ds->approx) {
			pct_summarize_hist(&ds->h, s.lat);
			lat_mark_approximated(d, "syscalls", all.nr);
		} else {
			pct_summarize(v, n, s.lat);
		}
		vec_push(&d->sys_stats, s);
		lat_hist_put(d, LH_SRC_SYSCALLS, all.nr, 0, 0, &ds->h);
		free(v);
		for (size_t k = i; k < j; k++) {
			struct sys_cell *c = &t->cells.v[k];
			if (c->calls > c->unfinished) /* its time on a CPU: the report's self time */
				vec_push(&d->lat_stacks, ((struct cprof_lat_stack){
					.source = LH_SRC_SYSCALLS, .key = c->nr, .pid = c->pid, .tid = c->tid,
					.stack = LAT_NO_STACK, .has_oncpu = true, .calls = c->calls - c->unfinished,
					.total_ns = c->total, .oncpu_ns = c->oncpu < c->total ? c->oncpu : c->total }));
			s = stat_of(c, d);
			if (c->hist)
				pct_summarize_hist(c->hist, s.lat);
			else
				pct_summarize(c->durs.v, c->durs.n, s.lat);
			vec_push(&d->sys_stats, s);
		}
		i = j;
	}
	stacksum_store(&t->sums, res, d, LH_SRC_SYSCALLS, true);
	/* Errors: per thread as counted, and summed over threads (tid 0). */
	size_t nth = t->errs.n;
	for (size_t i = 0; i < nth; i++) {
		struct cprof_sys_err e = t->errs.v[i]; /* a copy: count_error may grow errs */
		count_error(t, 0, 0, e.nr, e.err, e.count);
	}
	sort_n(t->errs.v, t->errs.n, sizeof *t->errs.v, cmp_err);
	for (size_t i = 0; i < t->errs.n; i++)
		vec_push(&d->sys_errs, t->errs.v[i]);
	sys_io_store(t, d);
	for (size_t i = 0; i < t->nsets; i++) {
		struct slowset *set = &t->sets[i];
		sort_n(set->v.v, set->v.n, sizeof *set->v.v, cmp_slow);
		for (size_t j = 0; j < set->v.n; j++) {
			const struct sys_slow *s = &set->v.v[j];
			struct cprof_sys_slow o = { .pid = s->pid, .tid = s->tid, .nr = s->nr, .start = s->start,
						    .dur = s->dur, .ret = s->ret, .stack = SYS_NO_STACK };
			if (s->handle != UINT32_MAX)
				o.stack = resolver_stack(res, s->handle, 0);
			vec_push(&d->sys_slow, o);
		}
	}
}

void sys_trace_release(struct sys_trace *t)
{
	vec_release(&t->batch);
	vec_release(&t->batch_ips);
	stacksum_release(&t->sums);
	vec_release(&t->threads);
	u64map_release(&t->thread_idx);
	for (size_t i = 0; i < t->cells.n; i++) {
		vec_release(&t->cells.v[i].durs);
		if (t->cells.v[i].hist)
			hist_release(t->cells.v[i].hist);
		free(t->cells.v[i].hist);
	}
	for (size_t i = 0; i < t->dists.n; i++)
		hist_release(&t->dists.v[i].h);
	vec_release(&t->dists);
	u64map_release(&t->dist_idx);
	vec_release(&t->cells);
	u64map_release(&t->cell_idx);
	vec_release(&t->errs);
	u64map_release(&t->err_idx);
	sys_io_release(t);
	u64map_release(&t->exit_ids);
	for (size_t i = 0; i < t->nsets; i++) {
		for (size_t j = 0; j < t->sets[i].v.n; j++)
			vec_release(&t->sets[i].v.v[j].ips);
		vec_release(&t->sets[i].v);
	}
	free(t->sets);
}
