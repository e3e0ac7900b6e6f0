/*
 * views.c - what `cprof report --offcpu` and `cprof flamegraph --offcpu`
 * draw (source.h's views) from a recording's intervals off a CPU:
 * blocked time (waiting: sleeps, locks, I/O) apart from preempted time
 * (runnable, waiting for a CPU); the percentiles of both; blocked time by
 * function, by stack and by thread; the longest waits with their stacks.
 * Text, JSON (one object), CSV (one row per stack) or folded stacks
 * weighted by blocked microseconds; the flame graph weighs by blocked ns,
 * or with --wall draws wall-clock time: the CPU samples (cpu-clock or
 * task-clock, in ns) and the time off a CPU under the stacks that waited,
 * told apart by a last frame, [blocked] or [preempted].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/flamegraph.h"
#include "cprof/fmt.h"
#include "cprof/offcpu.h"
#include "cprof/output.h"
#include "cprof/percentile.h"
#include "cprof/profile.h"
#include "cprof/report.h"
#include "cprof/u64map.h"

#define NO_STACK_LABEL "[no stack]"

/* Sums over a set of intervals. */
struct oc_sum {
	uint64_t ns, n;
};

struct oc_func {
	uint32_t name;   /* string offset */
	uint32_t last;   /* the last stack counted, so a recursive one counts once */
	struct oc_sum blocked;
};

struct oc_thr {
	uint32_t pid, tid;
	struct oc_sum blocked, preempted;
	VEC(uint64_t) durs;
	uint64_t lat[PCT_N];
};

struct oc_summary {
	struct oc_sum blocked, preempted;
	uint64_t blat[PCT_N], plat[PCT_N];
	size_t nstacks;                 /* d's stacks, and one more for none */
	struct oc_sum *by_stack, *pre_by_stack;
	size_t *stack_order;            /* stacks with blocked time, most first */
	size_t nstack_order;
	VEC(struct oc_func) funcs;      /* most blocked first */
	VEC(struct oc_thr) threads;     /* most blocked first */
	size_t *longest;                /* blocked intervals, longest first */
	size_t nlongest;
};

static const struct cprof_data *sort_d;
static const struct oc_summary *sort_s;

static int by_stack_ns(const void *a, const void *b)
{
	const struct oc_sum *x = &sort_s->by_stack[*(const size_t *)a], *y = &sort_s->by_stack[*(const size_t *)b];
	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
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

static void summarize(struct oc_summary *s, const struct cprof_data *d)
{
	memset(s, 0, sizeof *s);
	s->nstacks = d->stack_offset.n + 1;
	s->by_stack = xcalloc(s->nstacks, sizeof *s->by_stack);
	s->pre_by_stack = xcalloc(s->nstacks, sizeof *s->pre_by_stack);
	uint64_t *bd = xmalloc((d->offcpu.n + 1) * sizeof *bd), *pd = xmalloc((d->offcpu.n + 1) * sizeof *pd);
	size_t nb = 0, np = 0;
	struct u64map tidx = U64MAP_INIT;
	s->longest = xmalloc((d->offcpu.n + 1) * sizeof *s->longest);
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
	qsort(s->threads.v, s->threads.n, sizeof *s->threads.v, by_thread_ns);
	qsort(s->longest, s->nlongest, sizeof *s->longest, by_dur);
	s->stack_order = xmalloc(s->nstacks * sizeof *s->stack_order);
	for (size_t i = 0; i < s->nstacks; i++)
		if (s->by_stack[i].n)
			s->stack_order[s->nstack_order++] = i;
	qsort(s->stack_order, s->nstack_order, sizeof *s->stack_order, by_stack_ns);
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
	qsort(s->funcs.v, s->funcs.n, sizeof *s->funcs.v, by_func_ns);
}

static void summary_release(struct oc_summary *s)
{
	free(s->by_stack);
	free(s->pre_by_stack);
	free(s->stack_order);
	free(s->longest);
	vec_release(&s->funcs);
	for (size_t i = 0; i < s->threads.n; i++)
		vec_release(&s->threads.v[i].durs);
	vec_release(&s->threads);
}

static const char *meta_or(const struct cprof_data *d, const char *key, const char *dflt)
{
	const char *v = cprof_meta_get(d, key);
	return v ? v : dflt;
}

static const char *comm_of(const struct cprof_data *d, uint32_t tid)
{
	for (size_t i = 0; i < d->threads.n; i++)
		if (d->threads.v[i].tid == tid)
			return cprof_str(d, d->threads.v[i].comm);
	return "";
}

/* Stack st root first, frames joined by ';' (folded stacks' form). */
static void folded_stack(const struct cprof_data *d, const struct oc_summary *s, size_t st, struct sbuf *out)
{
	sbuf_reset(out);
	if (st == s->nstacks - 1) {
		sbuf_adds(out, NO_STACK_LABEL);
		return;
	}
	const uint32_t *f = cprof_stack_frames(d, (uint32_t)st);
	for (uint32_t k = cprof_stack_len(d, (uint32_t)st); k-- > 0;) {
		profile_frame_label(d, &d->frames.v[f[k]], out);
		if (k)
			sbuf_adds(out, ";");
	}
}

static void text_pcts(FILE *out, const char *what, const struct oc_sum *sum, const uint64_t *lat)
{
	char b[PCT_N + 2][FMT_BUF];
	fprintf(out, "%-10s %11s %10s", what, fmt_ns(sum->ns, b[0]), fmt_thousands(sum->n, b[1]));
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, " %9s", sum->n ? fmt_ns(lat[k], b[2 + k]) : "-");
	fprintf(out, "\n");
}

static void text_report(FILE *out, const struct cprof_data *d, const struct oc_summary *s, const char *input,
			size_t top)
{
	char b[6][FMT_BUF];
	struct sbuf line = SBUF_INIT;
	fprintf(out, "Off-CPU: %s\n", meta_or(d, "command", input));
	const char *stacks = meta_or(d, "offcpu_stacks", "none");
	fprintf(out, "Stacks: %s\nLost records: %s; switch-ins lost (intervals dropped): %s; threads off a CPU\n"
		     "at the end (not measured): %s\n\n",
		strcmp(stacks, "fp") == 0 ? "frame pointers"
		: strcmp(stacks, "refused") == 0 ? "none (not allowed: kernel.perf_event_paranoid)" : "none (record with -g)",
		meta_or(d, "offcpu_lost", "0"), meta_or(d, "offcpu_unpaired", "0"), meta_or(d, "offcpu_unfinished", "0"));
	fprintf(out, "%-10s %11s %10s", "", "total", "intervals");
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, " %9s", pct_names[k]);
	fprintf(out, "\n");
	text_pcts(out, "blocked", &s->blocked, s->blat);
	text_pcts(out, "preempted", &s->preempted, s->plat);
	fprintf(out, "(blocked: waiting for a sleep, lock or I/O; preempted: runnable, waiting for a CPU)\n");

	size_t n = top && top < s->funcs.n ? top : s->funcs.n;
	if (n)
		fprintf(out, "\nBlocked time by function (each function once per stack it is on):\n  %11s %7s %10s  %s\n",
			"blocked", "share", "intervals", "function");
	for (size_t i = 0; i < n; i++) {
		const struct oc_func *f = &s->funcs.v[i];
		fprintf(out, "  %11s %6.1f%% %10s  %s\n", fmt_ns(f->blocked.ns, b[0]),
			s->blocked.ns ? 100.0 * (double)f->blocked.ns / (double)s->blocked.ns : 0.0,
			fmt_thousands(f->blocked.n, b[1]), cprof_str(d, f->name));
	}
	if (n < s->funcs.n)
		fprintf(out, "  (%zu more functions; --top %zu shows them all)\n", s->funcs.n - n, s->funcs.n);

	n = top && top < s->nstack_order ? top : s->nstack_order;
	if (n)
		fprintf(out, "\nBlocked time by stack (root first):\n");
	for (size_t i = 0; i < n; i++) {
		size_t st = s->stack_order[i];
		folded_stack(d, s, st, &line);
		fprintf(out, "  %11s %10s  %s\n", fmt_ns(s->by_stack[st].ns, b[0]), fmt_thousands(s->by_stack[st].n, b[1]),
			line.buf);
	}
	if (n < s->nstack_order)
		fprintf(out, "  (%zu more stacks; --top %zu shows them all)\n", s->nstack_order - n, s->nstack_order);

	n = top && top < s->threads.n ? top : s->threads.n;
	fprintf(out, "\nPer thread:\n  %-8s %-8s %-16s %11s %10s %9s %9s %9s %11s\n", "pid", "tid", "comm", "blocked",
		"intervals", "p50", "p99", "max", "preempted");
	for (size_t i = 0; i < n; i++) {
		const struct oc_thr *t = &s->threads.v[i];
		bool any = t->blocked.n > 0;
		fprintf(out, "  %-8u %-8u %-16s %11s %10s %9s %9s %9s %11s\n", t->pid, t->tid,
			*comm_of(d, t->tid) ? comm_of(d, t->tid) : "-",
			fmt_ns(t->blocked.ns, b[0]), fmt_thousands(t->blocked.n, b[1]),
			any ? fmt_ns(t->lat[PCT_P50], b[2]) : "-", any ? fmt_ns(t->lat[PCT_P99], b[3]) : "-",
			any ? fmt_ns(t->lat[PCT_MAX], b[4]) : "-", fmt_ns(t->preempted.ns, b[5]));
	}
	if (n < s->threads.n)
		fprintf(out, "  (%zu more threads; --top %zu shows them all)\n", s->threads.n - n, s->threads.n);

	n = top && top < s->nlongest ? top : s->nlongest;
	if (n)
		fprintf(out, "\nLongest waits:\n");
	for (size_t i = 0; i < n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[s->longest[i]];
		fprintf(out, "  %11s  tid %-8u at %s\n", fmt_ns(w->dur, b[0]), w->tid, fmt_thousands(w->start, b[1]));
		if (w->stack == OFFCPU_NO_STACK) {
			fprintf(out, "      %s\n", NO_STACK_LABEL);
			continue;
		}
		const uint32_t *f = cprof_stack_frames(d, w->stack);
		for (uint32_t k = 0, m = cprof_stack_len(d, w->stack); k < m; k++)
			fprintf(out, "      %s\n", cprof_str(d, d->frames.v[f[k]].func));
	}
	sbuf_release(&line);
}

static void json_pcts(FILE *out, const struct oc_sum *sum, const uint64_t *lat)
{
	fprintf(out, "{\"total_ns\":%" PRIu64 ",\"intervals\":%" PRIu64, sum->ns, sum->n);
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, ",\"%s_ns\":%" PRIu64, k == PCT_P999 ? "p999" : pct_names[k], lat[k]);
	fprintf(out, "}");
}

static void json_frames(FILE *out, const struct cprof_data *d, uint32_t stack)
{
	fprintf(out, "[");
	if (stack != OFFCPU_NO_STACK) {
		const uint32_t *f = cprof_stack_frames(d, stack);
		for (uint32_t k = 0, m = cprof_stack_len(d, stack); k < m; k++) {
			fprintf(out, "%s", k ? "," : "");
			json_string(out, cprof_str(d, d->frames.v[f[k]].func));
		}
	}
	fprintf(out, "]");
}

static void json_report(FILE *out, const struct cprof_data *d, const struct oc_summary *s, size_t top)
{
	fprintf(out, "{\"command\":");
	json_string(out, meta_or(d, "command", ""));
	fprintf(out, ",\"stack_mode\":");
	json_string(out, meta_or(d, "offcpu_stacks", "none"));
	fprintf(out, ",\"lost\":%s,\"unpaired\":%s,\"unfinished\":%s,\"blocked\":", meta_or(d, "offcpu_lost", "0"),
		meta_or(d, "offcpu_unpaired", "0"), meta_or(d, "offcpu_unfinished", "0"));
	json_pcts(out, &s->blocked, s->blat);
	fprintf(out, ",\"preempted\":");
	json_pcts(out, &s->preempted, s->plat);
	fprintf(out, ",\"functions\":[");
	for (size_t i = 0; i < s->funcs.n; i++) {
		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_string(out, cprof_str(d, s->funcs.v[i].name));
		fprintf(out, ",\"blocked_ns\":%" PRIu64 ",\"intervals\":%" PRIu64 "}", s->funcs.v[i].blocked.ns,
			s->funcs.v[i].blocked.n);
	}
	fprintf(out, "],\"stacks\":[");
	for (size_t i = 0; i < s->nstack_order; i++) {
		size_t st = s->stack_order[i];
		fprintf(out, "%s{\"blocked_ns\":%" PRIu64 ",\"intervals\":%" PRIu64 ",\"frames\":", i ? "," : "",
			s->by_stack[st].ns, s->by_stack[st].n);
		json_frames(out, d, st == s->nstacks - 1 ? OFFCPU_NO_STACK : (uint32_t)st);
		fprintf(out, "}");
	}
	fprintf(out, "],\"threads\":[");
	for (size_t i = 0; i < s->threads.n; i++) {
		const struct oc_thr *t = &s->threads.v[i];
		fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"comm\":", i ? "," : "", t->pid, t->tid);
		json_string(out, comm_of(d, t->tid));
		fprintf(out, ",\"blocked\":");
		json_pcts(out, &t->blocked, t->lat);
		fprintf(out, ",\"preempted_ns\":%" PRIu64 ",\"preempted_intervals\":%" PRIu64 "}", t->preempted.ns,
			t->preempted.n);
	}
	fprintf(out, "],\"longest\":[");
	size_t n = top && top < s->nlongest ? top : s->nlongest;
	for (size_t i = 0; i < n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[s->longest[i]];
		fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"start_ns\":%" PRIu64 ",\"dur_ns\":%" PRIu64 ",\"stack\":",
			i ? "," : "", w->pid, w->tid, w->start, w->dur);
		json_frames(out, d, w->stack);
		fprintf(out, "}");
	}
	fprintf(out, "]}\n");
}

static void csv_report(FILE *out, const struct cprof_data *d, const struct oc_summary *s)
{
	struct sbuf line = SBUF_INIT;
	fprintf(out, "blocked_ns,blocked_intervals,preempted_ns,preempted_intervals,stack\n");
	for (size_t st = 0; st < s->nstacks; st++) {
		if (!s->by_stack[st].n && !s->pre_by_stack[st].n)
			continue;
		folded_stack(d, s, st, &line);
		fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", s->by_stack[st].ns, s->by_stack[st].n,
			s->pre_by_stack[st].ns, s->pre_by_stack[st].n);
		csv_field(out, line.buf);
		fprintf(out, "\n");
	}
	sbuf_release(&line);
}

/* Folded stacks, each weighted by its blocked time in microseconds
 * (rounded; stacks under half a microsecond left out). */
static void folded_report(FILE *out, const struct cprof_data *d, const struct oc_summary *s)
{
	struct sbuf line = SBUF_INIT;
	for (size_t i = 0; i < s->nstack_order; i++) {
		size_t st = s->stack_order[i];
		uint64_t us = (s->by_stack[st].ns + 500) / 1000;
		if (!us)
			continue;
		folded_stack(d, s, st, &line);
		fprintf(out, "%s %" PRIu64 "\n", line.buf, us);
	}
	sbuf_release(&line);
}

static int no_data(const struct view_call *c, struct cprof_err *err)
{
	return err_set(err, ENODATA, "'%s': no off-CPU intervals in this recording (record with --offcpu)", c->input);
}

void offcpu_report(FILE *out, const struct cprof_data *d, const char *input, int format, size_t top)
{
	struct oc_summary s;
	summarize(&s, d);
	switch (format) {
	case FORMAT_JSON: json_report(out, d, &s, top); break;
	case FORMAT_CSV: csv_report(out, d, &s); break;
	case FORMAT_FOLDED: folded_report(out, d, &s); break;
	default: text_report(out, d, &s, input, top); break;
	}
	summary_release(&s);
}

static int oc_view_report(const struct view_call *c, struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "offcpu"))
		return no_data(c, err);
	/* Ten rows a table unless --top says otherwise. */
	offcpu_report(stdout, c->d, c->input, c->format, c->top_set ? c->top : 10);
	return 0; /* a write error is main's to report (output_finish), a closed pipe is not one */
}

/* The frames of stack (root first) into names, then last if not NULL. */
static void add_stack(struct flamegraph *g, const struct cprof_data *d, uint32_t stack, const char *last,
		      uint64_t weight, struct sbuf *label, void *names_vec)
{
	VEC(uint32_t) *names = names_vec;
	names->n = 0;
	if (stack == OFFCPU_NO_STACK) {
		vec_push(names, fg_intern(g, NO_STACK_LABEL, strlen(NO_STACK_LABEL)));
	} else {
		const uint32_t *f = cprof_stack_frames(d, stack);
		for (uint32_t k = cprof_stack_len(d, stack); k-- > 0;) {
			sbuf_reset(label);
			profile_frame_label(d, &d->frames.v[f[k]], label);
			vec_push(names, fg_intern(g, label->buf, label->len));
		}
	}
	if (last)
		vec_push(names, fg_intern(g, last, strlen(last)));
	fg_add_stack(g, names->v, names->n, weight);
}

static int oc_view_flamegraph(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			      struct cprof_err *err)
{
	const struct cprof_data *d = c->d;
	bool wall = c->arg[0] != NULL;
	if (!cprof_meta_get(d, "offcpu"))
		return no_data(c, err);
	/* Wall-clock time needs CPU samples that are time: the first event's. */
	const char *unit = d->events.n ? cprof_str(d, d->events.v[0].unit) : "";
	if (wall && strcmp(unit, "ns") != 0)
		return err_set(err, EINVAL, "'%s': --wall needs CPU samples in ns (record with -e cpu-clock or "
					    "task-clock), not '%s'", c->input,
			       d->events.n ? cprof_str(d, d->events.v[0].name) : "none");
	if (!o->title)
		o->title = wall ? "Wall-Clock Flame Graph" : "Off-CPU Flame Graph";
	if (!o->countname)
		o->countname = wall ? "ns" : "ns blocked";
	if (!palette_set && !wall)
		o->palette = FG_BLUE;
	VEC(uint32_t) names = { 0 };
	struct sbuf label = SBUF_INIT;
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		bool pre = w->flags & OWF_PREEMPT;
		if ((pre && !wall) || !w->dur)
			continue;
		add_stack(g, d, w->stack, wall ? (pre ? "[preempted]" : "[blocked]") : NULL, w->dur, &label, &names);
	}
	for (size_t i = 0; wall && i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event == 0 && s->period)
			add_stack(g, d, s->stack, NULL, s->period, &label, &names);
	}
	sbuf_release(&label);
	vec_release(&names);
	return 0;
}

static const struct view_opt oc_opts[] = {
	{ "wall", false, VIEW_FLAME, false },
	{ NULL, false, 0, false },
};

const struct source_view offcpu_view = {
	.report_usage = "       cprof report --offcpu [-i FILE] [--format text|json|csv|folded] [--top N]",
	.report_help = "      --offcpu           where threads waited off a CPU ('record --offcpu'):\n"
		       "                         blocked time apart from preempted time, percentiles\n"
		       "                         of the waits, by function, stack and thread, the\n"
		       "                         longest waits with their stacks; folded: weighted by\n"
		       "                         blocked microseconds\n",
	.flame_usage = "       cprof flamegraph --offcpu [--wall] [-i FILE] [-o FILE] ...",
	.flame_help = "      --offcpu           blocked time off a CPU ('record --offcpu') by the\n"
		      "                         stacks that waited, in ns, in blues by default\n"
		      "      --wall             with --offcpu: wall-clock time, the CPU samples and\n"
		      "                         the time off a CPU under a last frame [blocked] or\n"
		      "                         [preempted]\n",
	.opts = oc_opts,
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV | 1u << FORMAT_FOLDED,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD | VIEW_NO_REVERSE,
	.report = oc_view_report,
	.flamegraph = oc_view_flamegraph,
};
