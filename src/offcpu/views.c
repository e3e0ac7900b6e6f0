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
#include "cprof/latdiff.h"
#include "cprof/offcpu.h"
#include "cprof/output.h"
#include "cprof/percentile.h"
#include "cprof/profile.h"
#include "cprof/report.h"
#include "offcpu-internal.h"

#define NO_STACK_LABEL "[no stack]"

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
			size_t top, const struct latclasses *lc)
{
	char b[6][FMT_BUF];
	struct sbuf line = SBUF_INIT;
	fprintf(out, "Off-CPU: %s\n", cprof_meta_or(d, "command", input));
	const char *stacks = cprof_meta_or(d, "offcpu_stacks", "none");
	fprintf(out, "Stacks: %s\nLost records: %" PRIu64 "; switch-ins lost (intervals dropped): %" PRIu64
		     "; threads off a CPU\nat the end (not measured): %" PRIu64 "\n\n",
		strcmp(stacks, "fp") == 0 ? "frame pointers"
		: strcmp(stacks, "dwarf") == 0 ? "DWARF (unwound stack copies)"
		: strcmp(stacks, "refused") == 0 ? "none (not allowed: kernel.perf_event_paranoid)" : "none (record with -g)",
		cprof_meta_u64(d, "offcpu_lost", 0), cprof_meta_u64(d, "offcpu_unpaired", 0),
		cprof_meta_u64(d, "offcpu_unfinished", 0));
	fprintf(out, "%-10s %11s %10s", "", "total", "intervals");
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, " %9s", pct_names[k]);
	fprintf(out, "\n");
	text_pcts(out, "blocked", &s->blocked, s->blat);
	text_pcts(out, "preempted", &s->preempted, s->plat);
	fprintf(out, "(blocked: waiting for a sleep, lock or I/O; preempted: runnable, waiting for a CPU)\n");
	latclass_text_title(out, lc, "of the intervals", "", 10);
	fprintf(out, "%-10s", "blocked");
	latclass_text_row(out, s->bclass);
	fprintf(out, "\n%-10s", "preempted");
	latclass_text_row(out, s->pclass);
	fprintf(out, "\n");

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

/* cls: its latency classes, or NULL for none. */
static void json_pcts(FILE *out, const struct oc_sum *sum, const uint64_t *lat, const uint64_t *cls)
{
	fprintf(out, "{\"total_ns\":%" PRIu64 ",\"intervals\":%" PRIu64, sum->ns, sum->n);
	for (int k = 0; k < PCT_N; k++)
		fprintf(out, ",\"%s_ns\":%" PRIu64, k == PCT_P999 ? "p999" : pct_names[k], lat[k]);
	if (cls)
		latclass_json(out, cls);
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

static void json_report(FILE *out, const struct cprof_data *d, const struct oc_summary *s, size_t top,
			const struct latclasses *lc)
{
	fprintf(out, "{\"command\":");
	json_string(out, cprof_meta_or(d, "command", ""));
	fprintf(out, ",\"stack_mode\":");
	json_string(out, cprof_meta_or(d, "offcpu_stacks", "none"));
	fprintf(out, ",\"lost\":%" PRIu64 ",\"unpaired\":%" PRIu64 ",\"unfinished\":%" PRIu64 ",\"blocked\":",
		cprof_meta_u64(d, "offcpu_lost", 0), cprof_meta_u64(d, "offcpu_unpaired", 0),
		cprof_meta_u64(d, "offcpu_unfinished", 0));
	json_pcts(out, &s->blocked, s->blat, s->bclass);
	fprintf(out, ",\"preempted\":");
	json_pcts(out, &s->preempted, s->plat, s->pclass);
	latclass_json_limits(out, lc);
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
		fprintf(out, "%s{\"blocked_ns\":%" PRIu64 ",\"intervals\":%" PRIu64, i ? "," : "", s->by_stack[st].ns,
			s->by_stack[st].n);
		latclass_json(out, s->stack_class[st]);
		fprintf(out, ",\"frames\":");
		json_frames(out, d, st == s->nstacks - 1 ? OFFCPU_NO_STACK : (uint32_t)st);
		fprintf(out, "}");
	}
	fprintf(out, "],\"threads\":[");
	for (size_t i = 0; i < s->threads.n; i++) {
		const struct oc_thr *t = &s->threads.v[i];
		fprintf(out, "%s{\"pid\":%u,\"tid\":%u,\"comm\":", i ? "," : "", t->pid, t->tid);
		json_string(out, comm_of(d, t->tid));
		fprintf(out, ",\"blocked\":");
		json_pcts(out, &t->blocked, t->lat, NULL);
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
	/* The classes of the blocked intervals before the stack, the one field
	 * that may need quoting. */
	fprintf(out, "blocked_ns,blocked_intervals,preempted_ns,preempted_intervals");
	latclass_csv_header(out);
	fprintf(out, ",stack\n");
	for (size_t st = 0; st < s->nstacks; st++) {
		if (!s->by_stack[st].n && !s->pre_by_stack[st].n)
			continue;
		folded_stack(d, s, st, &line);
		fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, s->by_stack[st].ns, s->by_stack[st].n,
			s->pre_by_stack[st].ns, s->pre_by_stack[st].n);
		latclass_csv_row(out, s->stack_class[st]);
		fputc(',', out);
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

void offcpu_report(FILE *out, const struct cprof_data *d, const char *input, int format, size_t top,
		   const struct latclasses *lc)
{
	struct latclasses dflt;
	if (!lc) {
		latclass_defaults(&dflt);
		lc = &dflt;
	}
	struct oc_summary s;
	oc_summary_build(&s, d, lc);
	switch (format) {
	case FORMAT_JSON: json_report(out, d, &s, top, lc); break;
	case FORMAT_CSV: csv_report(out, d, &s); break;
	case FORMAT_FOLDED: folded_report(out, d, &s); break;
	default: text_report(out, d, &s, input, top, lc); break;
	}
	oc_summary_release(&s);
}

static int oc_view_report(const struct view_call *c, struct cprof_err *err)
{
	if (!cprof_meta_get(c->d, "offcpu"))
		return no_data(c, err);
	struct latclasses lc;
	int r = latclass_resolve(c->arg[1], c->arg[2], &lc, err);
	if (r < 0)
		return r;
	/* Ten rows a table unless --top says otherwise. */
	offcpu_report(stdout, c->d, c->input, c->format, c->top_set ? c->top : 10, &lc);
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

/* Blocked and preempted time, and the blocked time by the function each
 * wait was in (its stack's leaf), the one a change is most likely to show
 * in. */
static void oc_view_dists(const struct cprof_data *d, struct latdist_set *out)
{
	struct sbuf name = SBUF_INIT;
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		bool pre = w->flags & OWF_PREEMPT;
		hist_add(latdist_get(out, "offcpu", pre ? "preempted" : "blocked"), w->dur, 1);
		if (pre || w->stack == OFFCPU_NO_STACK || !cprof_stack_len(d, w->stack))
			continue;
		sbuf_reset(&name);
		sbuf_addf(&name, "blocked in %s", cprof_str(d, d->frames.v[cprof_stack_frames(d, w->stack)[0]].func));
		hist_add(latdist_get(out, "offcpu", name.buf), w->dur, 1);
	}
	sbuf_release(&name);
}

static const struct view_opt oc_opts[] = {
	{ "wall", false, VIEW_FLAME, false },
	{ "classes", true, VIEW_REPORT, false },
	{ "classes-file", true, VIEW_REPORT, false },
	{ NULL, false, 0, false },
};

static int oc_view_check(const struct view_call *c, struct cprof_err *err)
{
	struct latclasses lc;
	return c->arg[1] ? latclass_parse_list(c->arg[1], &lc, err) : 0;
}

const struct source_view offcpu_view = {
	.report_usage = "       cprof report --offcpu [-i FILE] [--format text|json|csv|folded] [--top N]\n"
			"                    [--classes T1,T2,T3 | --classes-file FILE]",
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
	.check = oc_view_check,
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV | 1u << FORMAT_FOLDED,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD | VIEW_NO_REVERSE,
	.report = oc_view_report,
	.flamegraph = oc_view_flamegraph,
	.timeline = &offcpu_timeline,
	.dists = oc_view_dists,
};
