/*
 * source.c - off-CPU time as a data source of `cprof record` (source.h):
 * the option --offcpu, the context-switches software event opened on the
 * workload with a period of 1 (every CPU, inherited by its threads and
 * children, enabled at its exec), its samples carrying the user stack a
 * thread leaves the CPU from (-g, frame pointers) and its switch records
 * (context_switch) telling when the thread ran again; track.c pairs them.
 * Works for ordinary users on their own programs (no tracepoints).
 *
 * With --call-graph dwarf the samples carry the user registers and a copy
 * of the user stack instead, and the rings the workload's mappings and
 * tasks: those records go to a worker thread of their own (the record
 * queue, record.h) that unwinds them into a raw store as CPU samples are
 * (unwind.h), while the switch records are paired here as before; at the
 * end each wait takes its thread's unwound sample.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cprof/data.h"
#include "cprof/offcpu.h"
#include "cprof/record.h"
#include "cprof/source.h"
#include "cprof/unwind.h"
#include "offcpu-internal.h"


/* How far the unwinding worker may fall behind: 2048 samples of 32 KiB. */
#define DWARF_QUEUE_LIMIT (64u << 20)
/* Exits held back in a pass: 8-byte words, records padded to them. */
struct held {
	uint64_t *v;
	size_t n, cap;
};

struct oc_source {
	struct oc_trace tr;
	struct tracer rings;
	bool closed;
	bool no_stacks; /* the kernel refused the switch samples: intervals only */
	bool dwarf;     /* --call-graph dwarf: samples unwound by the worker into st */
	int self;       /* -a: cprof's pid, whose switches are left out; else -1 */
	struct raw_store st;
	struct rec_queue *q;
	uint64_t dropped;   /* samples not handed to the worker: it was behind */
	struct held held_exits;
	VEC(uint32_t) early;  /* per ring: its mappings, names and forks handed over already */
	struct unwinder_stats ustats;
};

static void *oc_configure(const char *arg, struct cprof_err *err)
{
	(void)arg;
	(void)err;
	struct oc_source *s = xcalloc(1, sizeof *s);
	s->rings = (struct tracer)TRACER_INIT;
	s->self = -1;
	return s;
}

/* The worker's store: samples as the attr below lays them out, every one
 * kept (each is one wait's stack, never merged), unwound with its own
 * unwinder, which learns the mappings from the same rings. */
static int start_unwinding(struct oc_source *s, const struct source_target *t, uint64_t sample_type,
			   struct cprof_err *err)
{
	s->st.sample_type = sample_type;
	s->st.regs_mask = UNWIND_REGS_MASK;
	s->st.sample_budget = UINT64_MAX;
	s->st.max_stack = t->max_stack ? t->max_stack : RAW_MAX_STACK;
	s->st.unwinder = unwinder_new();
	for (size_t i = 0; t->known && i < t->known->mmaps.n; i++) { /* attached: mapped already */
		const struct raw_mmap *m = &t->known->mmaps.v[i];
		unwinder_add_map(s->st.unwinder, m->pid, m->path, m->start, m->len, m->pgoff, 0);
	}
	s->q = rec_queue_new(DWARF_QUEUE_LIMIT);
	rec_queue_set_worker_nice(s->q, -10);
	return rec_queue_start(s->q, &s->st, err);
}

/* One context-switches event of thread tid (-1: every task) on cpu. */
static int open_switches(const struct oc_source *s, const struct source_target *t, int tid, int cpu,
			 uint64_t dwarf_type)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | (t->callchain ? PERF_SAMPLE_CALLCHAIN : 0);
	a.exclude_callchain_kernel = 1;
	if (s->dwarf) {
		a.sample_type = dwarf_type;
		a.sample_regs_user = UNWIND_REGS_MASK;
		a.sample_stack_user = t->stack_size;
		/* What the unwinder must know of the workload's code. */
		a.mmap = a.mmap2 = a.comm = a.comm_exec = a.task = 1;
	}
	/* The switch happens in the kernel: with exclude_kernel the
	 * samples are dropped, and only the switch records come. */
	a.exclude_kernel = s->no_stacks;
	if (t->callchain && !s->dwarf && t->max_stack)
		a.sample_max_stack = (uint16_t)t->max_stack;
	a.context_switch = 1;
	tracer_attr(&s->rings, &a);
	return perf_open(&a, tid, cpu, -1);
}

static int oc_attach(void *state, const struct source_target *t, int *poll_fd, struct cprof_err *err)
{
	struct oc_source *s = state;
	int r;
	*poll_fd = -1;
	s->dwarf = t->dwarf;
	s->self = t->tids[0] == -1 ? t->self : -1;
	oc_trace_init(&s->tr, t->callchain && !s->dwarf);
	/* Three records a switch (sample, out, in): twice record's rings. */
	unsigned pages = t->mmap_pages ? t->mmap_pages * 2 : 256;
	/* DWARF: the layout raw_store_add reads (record.h), with the sampled
	 * user registers and stack; the kernel's sampled pc is dropped later. */
	uint64_t dwarf_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			      PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	if (s->dwarf && (r = start_unwinding(s, t, dwarf_type, err)) < 0)
		return r;
	if ((r = tracer_start(&s->rings, pages, t->now || t->deferred, err)) < 0)
		return r;
	for (int c = 0; c < t->ncpus; c++) {
		/* Every thread's event on a CPU into one ring: the first's. */
		int lead = -1;
		for (size_t i = 0; i < t->ntids; i++) {
			int fd = open_switches(s, t, t->tids[i], t->cpus[c], dwarf_type);
			if ((fd == -EACCES || fd == -EPERM) && !s->no_stacks && c == 0 && i == 0) {
				/* kernel.perf_event_paranoid 2 without CAP_PERFMON: the
				 * intervals still, without their stacks. */
				s->no_stacks = true;
				s->tr.callchain = false;
				if (s->dwarf) { /* no samples: nothing to unwind */
					rec_queue_finish(s->q, NULL);
					s->q = NULL;
					s->dwarf = false;
				}
				fd = open_switches(s, t, t->tids[i], t->cpus[c], dwarf_type);
			}
			if (fd == -ESRCH && t->ntids > 1)
				continue; /* that thread exited meanwhile */
			if (fd < 0)
				return perf_open_error(err, -fd, "the context-switches event", t->tids[i]);
			if ((r = tracer_add(&s->rings, fd, lead, err)) < 0)
				return r;
			if (lead < 0)
				lead = fd;
		}
	}
	/* Attached: a thread off its CPU now comes back without a switch-out
	 * seen, and that wait is not measured (track.c). */
	if (!t->deferred && (r = tracer_enable(&s->rings, err)) < 0)
		return r;
	*poll_fd = s->rings.epfd;
	return 0;
}

/* -D: the delay has passed. */
static int oc_enable(void *state, struct cprof_err *err)
{
	struct oc_source *s = state;
	return tracer_enable(&s->rings, err);
}

static void oc_stop(void *state)
{
	struct oc_source *s = state;
	tracer_disable(&s->rings);
}

/* Mappings and tasks are few, and every later unwind of the process needs
 * them: wait for room. */
static void push_wait(struct oc_source *s, const void *rec, size_t len)
{
	while (!rec_queue_push(s->q, s->rings.cur, rec, len))
		rec_queue_wait_space(s->q, 10);
}

static void hold(struct held *v, const void *rec, size_t len)
{
	size_t at = v->n, words = (len + 7) / 8;
	vec_reserve(v, at + words);
	v->v[at + words - 1] = 0;
	memcpy(v->v + at, rec, len);
	v->n += words;
}

static bool is_early(uint32_t type)
{
	return type == PERF_RECORD_MMAP || type == PERF_RECORD_MMAP2 || type == PERF_RECORD_COMM ||
	       type == PERF_RECORD_FORK;
}

/*
 * The rings are read one after the other, so a sample can be read before
 * the mapping it needs, made earlier on another CPU (ld.so mapping libc on
 * one CPU, the thread sleeping on the next), and the unwinder would find
 * no code there. So a pass first peeks at every ring and hands the worker
 * the mappings, names and forks there, then reads the rings, skipping
 * those, and hands over the samples; exits go last (the unwinder forgets
 * a process at its exit, and another CPU's ring may hold older samples of
 * it). Peeking reads headers; holding the samples back instead cost a
 * copy of every stack.
 */
static void peek_record(void *ctx, const void *rec, size_t len)
{
	struct oc_source *s = ctx;
	const struct perf_event_header *h = rec;
	if (is_early(h->type)) {
		push_wait(s, rec, len);
		s->early.v[s->rings.cur]++;
	}
}

/* -a: whether rec is of cprof's own process or of a CPU's idle task
 * (pid 0), neither of which waits for anything the user asked about. */
static bool not_ours(const struct oc_source *s, const void *rec, size_t len)
{
	const struct perf_event_header *h = rec;
	size_t at; /* where the pid is: the sample's fields, or the trailer */
	if (h->type == PERF_RECORD_SAMPLE)
		at = s->dwarf ? 24 : 8; /* after the identifier and ip, or first */
	else if (h->type == PERF_RECORD_SWITCH)
		at = 8;
	else if (h->type == PERF_RECORD_SWITCH_CPU_WIDE)
		at = 16; /* after the next or previous task's pid and tid */
	else
		return false;
	uint32_t pid;
	if (at + 4 > len)
		return false;
	memcpy(&pid, (const char *)rec + at, 4);
	return pid == 0 || pid == (uint32_t)s->self;
}

static void take_record(void *ctx, const void *rec, size_t len)
{
	struct oc_source *s = ctx;
	const struct perf_event_header *h = rec;
	if (s->self >= 0 && not_ours(s, rec, len))
		return;
	if (!s->dwarf || h->type == PERF_RECORD_SWITCH || h->type == PERF_RECORD_SWITCH_CPU_WIDE ||
	    h->type == PERF_RECORD_LOST || h->type == PERF_RECORD_LOST_SAMPLES) {
		oc_trace_record(&s->tr, rec, len);
	} else if (h->type == PERF_RECORD_SAMPLE) {
		/* A worker behind costs this wait its stack, not the draining. */
		if (!rec_queue_push(s->q, s->rings.cur, rec, len))
			s->dropped++;
	} else if (h->type == PERF_RECORD_EXIT) {
		hold(&s->held_exits, rec, len);
	} else if (is_early(h->type) && s->early.v[s->rings.cur]) {
		s->early.v[s->rings.cur]--; /* peeked at, handed over */
	} else {
		push_wait(s, rec, len); /* came after the peek */
	}
}

static void oc_drain(void *state, bool last)
{
	struct oc_source *s = state;
	size_t nrings = s->rings.rings.n;
	if (s->closed || !nrings)
		return;
	/* DWARF: every ring's mappings, names and forks go to the unwinding
	 * worker before any ring's samples (peek_record). */
	if (s->dwarf) {
		vec_reserve(&s->early, nrings);
		s->early.n = nrings;
		memset(s->early.v, 0, nrings * sizeof *s->early.v);
	}
	uint64_t upto = tracer_pass(&s->rings, last, s->dwarf ? peek_record : NULL, take_record, s);
	for (size_t at = 0; at < s->held_exits.n;) {
		const struct perf_event_header *h = (const void *)(s->held_exits.v + at);
		push_wait(s, h, h->size);
		at += (h->size + 7u) / 8;
	}
	s->held_exits.n = 0;
	if (s->q && !last)
		rec_queue_flush(s->q, 50000000);
	if (last) {
		oc_trace_end(&s->tr);
		if (s->q) {
			/* Every sample unwound, then matched to its wait. */
			rec_queue_finish(s->q, NULL);
			s->q = NULL;
			oc_trace_unwound(&s->tr, &s->st);
			unwinder_get_stats(s->st.unwinder, &s->ustats);
		}
		tracer_close(&s->rings);
		s->closed = true;
	} else {
		oc_trace_take(&s->tr, upto);
	}
}

static void oc_stacks(void *state, struct resolver *res)
{
	struct oc_source *s = state;
	if (s->closed)
		oc_trace_stacks(&s->tr, res);
}

static int oc_finish(void *state, const struct source_finish *f, struct cprof_err *err)
{
	(void)err;
	struct oc_source *s = state;
	if (!s->closed)
		return 0;
	oc_trace_store(&s->tr, f->res, f->d);
	cprof_meta_set(f->d, "offcpu", "1");
	cprof_meta_set(f->d, "offcpu_stacks",
		       s->dwarf ? "dwarf" : s->tr.callchain ? "fp" : s->no_stacks ? "refused" : "none");
	uint64_t lost = s->tr.lost + s->tr.lost_samples;
	cprof_meta_setf(f->d, "offcpu_lost", "%" PRIu64, lost);
	if (s->dwarf) {
		cprof_meta_setf(f->d, "offcpu_unwind_dropped", "%" PRIu64, s->dropped);
		cprof_meta_setf(f->d, "offcpu_unwind_missing", "%" PRIu64, s->tr.unwound_missing);
		cprof_meta_setf(f->d, "offcpu_unwind_truncated", "%" PRIu64, s->ustats.truncated);
		cprof_meta_setf(f->d, "offcpu_unwind_failed", "%" PRIu64, s->ustats.failed);
		if (s->dropped)
			notef(f->notes, "offcpu: %" PRIu64 " switch samples were not unwound (the unwinding fell "
					"behind); their waits have no stack; a smaller --call-graph dwarf,SIZE helps",
			      s->dropped);
	}
	cprof_meta_setf(f->d, "offcpu_unpaired", "%" PRIu64, s->tr.double_out);
	cprof_meta_setf(f->d, "offcpu_unfinished", "%" PRIu64, s->tr.unfinished);
	if (s->no_stacks)
		notef(f->notes, "offcpu: intervals recorded without their stacks: the context-switch samples "
				"need kernel.perf_event_paranoid <= 1 or CAP_PERFMON (the switch happens in the "
				"kernel; paranoid is %d)", perf_paranoid());
	if (s->tr.malformed)
		cprof_meta_setf(f->d, "offcpu_malformed", "%" PRIu64, s->tr.malformed);
	if (lost)
		notef(f->notes, "offcpu: the kernel dropped %" PRIu64 " context-switch records (rings full); "
				"some intervals are missing or have no stack; a larger -m helps",
		      lost);
	return 0;
}

static void oc_release(void *state)
{
	struct oc_source *s = state;
	if (!s)
		return;
	tracer_close(&s->rings);
	rec_queue_finish(s->q, NULL);
	unwinder_free(s->st.unwinder);
	s->st.unwinder = NULL;
	raw_store_release(&s->st);
	vec_release(&s->early);
	vec_release(&s->held_exits);
	oc_trace_release(&s->tr);
	free(s);
}

const struct source_ops offcpu_source = {
	.name = "offcpu",
	.usage = "[--offcpu]",
	.help = "      --offcpu           also record where the workload's threads (or those of\n"
		"                         -p/-t, or every process's but cprof's with -a) wait\n"
		"                         off a CPU and for how long (every context switch),\n"
		"                         with the stacks they blocked in (-g, or --call-graph\n"
		"                         dwarf: a stack copy of dwarf's SIZE at every switch);\n"
		"                         see 'cprof report --offcpu'\n",
	.configure = oc_configure,
	.attach = oc_attach,
	.enable = oc_enable,
	.stop = oc_stop,
	.drain = oc_drain,
	.stacks = oc_stacks,
	.finish = oc_finish,
	.release = oc_release,
	.view = &offcpu_view,
};
