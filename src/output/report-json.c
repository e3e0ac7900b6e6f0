/*
 * report-json.c - machine-readable report, schema "cprof-report/1" as
 * documented in cprof-report(1). Fields are only ever added, never renamed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/output.h"
#include "cprof/report.h"

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static void meta_u64(FILE *out, const struct cprof_data *d, const char *key, const char *json_key)
{
	uint64_t v = 0;
	const char *s = cprof_meta_get(d, key);
	if (s && parse_u64(s, &v) == 0)
		fprintf(out, ",\n  \"%s\": %" PRIu64, json_key, v);
	else
		fprintf(out, ",\n  \"%s\": null", json_key);
}

/* "lines": samples per source line (--lines, --sort line). */
static void json_lines(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	struct profile_lines pl;
	size_t n, shown = 0;
	profile_lines_build(&pl, p);
	uint32_t *order = profile_lines_sorted(&pl, o->sort == SORT_TOTAL, &n);
	fprintf(out, ",\n  \"lines\": [");
	for (size_t i = 0; i < n; i++) {
		const struct profile_line *l = &pl.v.v[order[i]];
		double key = pct(o->sort == SORT_TOTAL ? l->total : l->self, p->total_weight);
		if (key < o->percent_limit || (o->top && shown >= o->top))
			break;
		fprintf(out, "%s\n    {\"file\": ", shown ? "," : "");
		json_string(out, cprof_str(d, l->file));
		fprintf(out, ", \"line\": %u, \"function\": ", l->line);
		json_string(out, cprof_str(d, l->func));
		fprintf(out, ", \"dso\": ");
		json_string(out, cprof_str(d, l->dso));
		fprintf(out, ", \"inlined\": %s, \"kernel\": %s, \"self_samples\": %" PRIu64 ", \"total_samples\": %" PRIu64
			     ", \"self_weight\": %" PRIu64 ", \"total_weight\": %" PRIu64
			     ", \"self_percent\": %.4f, \"total_percent\": %.4f}",
			(l->flags & FRF_INLINED) ? "true" : "false", (l->flags & FRF_KERNEL) ? "true" : "false",
			l->self_samples, l->total_samples, l->self, l->total, pct(l->self, p->total_weight),
			pct(l->total, p->total_weight));
		shown++;
	}
	fprintf(out, "\n  ]");
	free(order);
	profile_lines_release(&pl);
}

/* "frames": each frame used once; "stacks": frame indexes, leaf first. */
static void json_stacks(FILE *out, const struct profile *p)
{
	const struct cprof_data *d = p->d;
	uint32_t *index = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *index);
	memset(index, 0xff, (d->frames.n ? d->frames.n : 1) * sizeof *index);
	uint32_t used = 0;
	fprintf(out, ",\n  \"frames\": [");
	for (size_t i = 0; i < p->stacks.n; i++) {
		uint32_t n = cprof_stack_len(d, p->stacks.v[i].stack);
		const uint32_t *fr = cprof_stack_frames(d, p->stacks.v[i].stack);
		for (uint32_t k = 0; k < n; k++) {
			if (index[fr[k]] != UINT32_MAX)
				continue;
			const struct cprof_frame *f = &d->frames.v[fr[k]];
			index[fr[k]] = used;
			fprintf(out, "%s\n    {\"name\": ", used++ ? "," : "");
			json_string(out, cprof_str(d, f->func));
			fprintf(out, ", \"dso\": ");
			json_string(out, cprof_str(d, f->dso));
			fprintf(out, ", \"file\": ");
			json_string(out, cprof_str(d, f->file));
			fprintf(out, ", \"line\": %u, \"address\": %" PRIu64 ", \"kernel\": %s, \"inlined\": %s}", f->line,
				f->addr, (f->flags & FRF_KERNEL) ? "true" : "false", (f->flags & FRF_INLINED) ? "true" : "false");
		}
	}
	fprintf(out, "\n  ],\n  \"stacks\": [");
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *ps = &p->stacks.v[i];
		uint32_t n = cprof_stack_len(d, ps->stack);
		const uint32_t *fr = cprof_stack_frames(d, ps->stack);
		fprintf(out, "%s\n    {\"samples\": %" PRIu64 ", \"weight\": %" PRIu64 ", \"truncated\": %s, \"frames\": [",
			i ? "," : "", ps->samples, ps->weight,
			(cprof_stack_flags(d, ps->stack) & STACKF_TRUNCATED) ? "true" : "false");
		for (uint32_t k = 0; k < n; k++)
			fprintf(out, "%s%u", k ? ", " : "", index[fr[k]]);
		fputs("]}", out);
	}
	fprintf(out, "\n  ]");
	free(index);
}

void report_json(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	const struct cprof_event *ev = &d->events.v[p->event];
	const char *cmd = cprof_meta_get(d, "command");
	fprintf(out, "{\n  \"schema\": \"cprof-report/1\",\n  \"input\": ");
	json_string(out, o->input);
	fprintf(out, ",\n  \"command\": ");
	if (cmd)
		json_string(out, cmd);
	else
		fputs("null", out);
	fprintf(out, ",\n  \"event\": {\"name\": ");
	json_string(out, cprof_str(d, ev->name));
	fprintf(out, ", \"unit\": ");
	json_string(out, cprof_str(d, ev->unit));
	fprintf(out, ", \"frequency\": %s, \"period\": %" PRIu64 "}", (ev->flags & EVF_FREQ) ? "true" : "false",
		ev->period);
	meta_u64(out, d, "duration_ns", "duration_ns");
	meta_u64(out, d, "lost_samples", "lost_samples");
	struct report_lost l;
	report_lost_get(d, &l);
	fprintf(out, ",\n  \"lost_by_cpu\": [");
	for (size_t i = 0; i < l.cpus.n; i++)
		fprintf(out, "%s{\"cpu\": %d, \"lost\": %" PRIu64 "}", i ? ", " : "", l.cpus.v[i].cpu, l.cpus.v[i].count);
	fprintf(out, "],\n  \"lost_bursts\": [");
	for (size_t i = 0; i < l.bursts.n; i++)
		fprintf(out, "%s{\"start_s\": %.6f, \"end_s\": %.6f, \"lost\": %" PRIu64 "}", i ? ", " : "",
			l.bursts.v[i].start_s, l.bursts.v[i].end_s, l.bursts.v[i].count);
	fputc(']', out);
	report_lost_release(&l);
	/* How the recorder kept up: its draining thread's scheduling, the
	 * fullest ring, and the queue to the unwinding worker. */
	const char *prio = cprof_meta_get(d, "drain_priority");
	fprintf(out, ",\n  \"recorder\": {\"drain_priority\": ");
	if (prio)
		json_string(out, prio);
	else
		fputs("null", out);
	static const char *const keys[] = { "ring_bytes", "ring_peak_bytes", "queue_limit_bytes", "queue_peak_bytes",
					    "queue_full" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		uint64_t v;
		const char *sv = cprof_meta_get(d, keys[i]);
		if (sv && parse_u64(sv, &v) == 0)
			fprintf(out, ", \"%s\": %" PRIu64, keys[i], v);
		else
			fprintf(out, ", \"%s\": null", keys[i]);
	}
	fputc('}', out);
	meta_u64(out, d, "sample_merge_ns", "sample_merge_ns");
	meta_u64(out, d, "recorder_cpu_ns", "recorder_cpu_ns");
	meta_u64(out, d, "workload_cpu_ns", "workload_cpu_ns");
	meta_u64(out, d, "finish_cpu_ns", "finish_cpu_ns");
	meta_u64(out, d, "finish_wall_ns", "finish_wall_ns");
	meta_u64(out, d, "unwind_samples", "unwound_samples");
	meta_u64(out, d, "unwind_fast", "unwound_fast_samples");
	meta_u64(out, d, "unwind_failed", "unwind_failed_samples");
	meta_u64(out, d, "unwind_verify_mismatches", "unwind_verify_mismatches");
	fprintf(out, ",\n  \"samples\": %" PRIu64 ",\n  \"total_weight\": %" PRIu64 ",\n  \"truncated_samples\": %" PRIu64,
		p->total_samples, p->total_weight, p->truncated_samples);
	fprintf(out, ",\n  \"truncated_by\": {\"stack_copy\": %" PRIu64 ", \"max_stack\": %" PRIu64
		     ", \"kernel_max_stack\": %" PRIu64 "}",
		p->cut_copy, p->cut_frames, p->cut_kernel);
	meta_u64(out, d, "max_stack", "max_stack");
	meta_u64(out, d, "kernel_max_stack", "kernel_max_stack");
	fprintf(out, ",\n  \"functions\": [");
	size_t n, shown = 0;
	uint32_t *order = report_sorted_funcs(p, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct profile_func *f = &p->funcs.v[order[i]];
		double key = pct(o->sort == SORT_SELF ? f->self : f->total, p->total_weight);
		if (key < o->percent_limit || (o->top && shown >= o->top))
			break;
		fprintf(out, "%s\n    {\"name\": ", shown ? "," : "");
		json_string(out, cprof_str(d, f->name));
		fprintf(out, ", \"dso\": ");
		json_string(out, cprof_str(d, f->dso));
		fprintf(out, ", \"file\": ");
		json_string(out, cprof_str(d, f->file));
		fprintf(out, ", \"line\": %u, \"kernel\": %s, \"self_samples\": %" PRIu64 ", \"total_samples\": %" PRIu64
			     ", \"self_weight\": %" PRIu64 ", \"total_weight\": %" PRIu64
			     ", \"self_percent\": %.4f, \"total_percent\": %.4f",
			f->line, (f->flags & FRF_KERNEL) ? "true" : "false", f->self_samples, f->total_samples, f->self,
			f->total, pct(f->self, p->total_weight), pct(f->total, p->total_weight));
		fprintf(out, ", \"line_weight\": %" PRIu64 ", \"line_by_total\": %s}", f->line_weight,
			f->line_by_total ? "true" : "false");
		shown++;
	}
	free(order);
	fprintf(out, "\n  ]");
	if (o->events)
		report_events_json(out, o->events, p, o);
	if (o->lines)
		json_lines(out, p, o);
	fprintf(out, ",\n  \"threads\": [");
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		fprintf(out, "%s\n    {\"pid\": %u, \"tid\": %u, \"comm\": ", i ? "," : "", t->pid, t->tid);
		json_string(out, cprof_str(d, t->comm));
		fprintf(out, ", \"samples\": %" PRIu64 ", \"weight\": %" PRIu64 ", \"percent\": %.4f}", t->samples,
			t->weight, pct(t->weight, p->total_weight));
	}
	fprintf(out, "\n  ]");
	if (o->stacks)
		json_stacks(out, p);
	if (o->findings) {
		fprintf(out, ",\n  \"findings\": ");
		findings_json(out, o->findings);
	}
	fprintf(out, "\n}\n");
}
