/*
 * report.c - `cprof report --mem` (mem-report.h): leaks, peak heap,
 * allocation hot spots, temporaries, a size histogram and findings, as
 * text, JSON, CSV or folded stacks.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/mem-report.h"
#include "cprof/output.h"
#include "cprof/fmt.h"
#include "mem-internal.h"

/* Findings thresholds: churn is many short-lived blocks from one place;
 * a large temporary is a big block freed before anything else happened. */
#define CHURN_MIN_TEMPS 1000
#define LARGE_TEMP_BYTES (1024 * 1024)

static double rel_s(const struct cprof_data *d, uint64_t t)
{
	uint64_t o = mem_origin(d);
	return t > o ? (double)(t - o) / 1e9 : 0;
}

/* "leaf (file:line) <- caller <- caller" for the first frames of a stack. */
static void stack_path(const struct cprof_data *d, uint32_t stack, size_t max, struct sbuf *out)
{
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	if (!n) {
		sbuf_addf(out, "[no stack]");
		return;
	}
	for (uint32_t i = 0; i < n && i < max; i++) {
		const struct cprof_frame *f = &d->frames.v[fr[i]];
		sbuf_addf(out, "%s%s", i ? " <- " : "", cprof_str(d, f->func));
		if (i == 0 && f->line)
			sbuf_addf(out, " (%s:%u)", cprof_str(d, f->file), f->line);
	}
	if (n > max)
		sbuf_addf(out, " <- ...");
}

typedef uint64_t (*row_key)(const struct mem_row *r);
static uint64_t key_leaked(const struct mem_row *r) { return r->leaked_bytes; }
static uint64_t key_peak(const struct mem_row *r) { return r->peak_bytes; }
static uint64_t key_count(const struct mem_row *r) { return r->allocs; }
static uint64_t key_bytes(const struct mem_row *r) { return r->bytes; }
static uint64_t key_temp(const struct mem_row *r) { return r->temp_allocs; }

static row_key sort_key;
static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = sort_key(*(const struct mem_row *const *)a), y = sort_key(*(const struct mem_row *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Rows with a non-zero key, biggest first; caller frees. */
static const struct mem_row **sorted(const struct mem_summary *s, row_key key, size_t *n)
{
	const struct mem_row **v = xcalloc(s->rows.n + 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < s->rows.n; i++)
		if (key(&s->rows.v[i]))
			v[(*n)++] = &s->rows.v[i];
	sort_key = key;
	qsort(v, *n, sizeof *v, cmp_desc);
	return v;
}

/* Processes --mem could not trace, as record found them: "#" lines. */
static void text_not_traced(FILE *out, const struct cprof_data *d)
{
	const char *n = cprof_meta_get(d, "mem_not_traced"), *why = cprof_meta_get(d, "mem_not_traced_why");
	if (!n || !why)
		return;
	fprintf(out, "# not traced:  %s process%s, so the figures leave %s out:\n", n, strcmp(n, "1") ? "es" : "",
		strcmp(n, "1") ? "them" : "it");
	for (const char *p = why; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(out, "#   %.*s\n", len, p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void json_not_traced(FILE *out, const struct cprof_data *d)
{
	const char *why = cprof_meta_get(d, "mem_not_traced_why");
	fprintf(out, "  \"not_traced\": [");
	for (const char *p = why; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		fprintf(out, "%s", p == why ? "" : ", ");
		json_string(out, line);
		free(line);
		if (!nl)
			break;
		p = nl + 1;
	}
	fprintf(out, "],\n");
}

/* ---- text ---- */
static void text_table(FILE *out, const struct cprof_data *d, const struct mem_summary *s, const char *title,
		       row_key key, const char *h1, const char *h2, const struct mem_report_opts *o, int which)
{
	size_t n;
	const struct mem_row **v = sorted(s, key, &n);
	fprintf(out, "\n== %s\n", title);
	if (!n)
		fprintf(out, "   (none)\n");
	else
		fprintf(out, "%10s %12s  %s\n", h1, h2, "Allocated at");
	for (size_t i = 0; i < n && (!o->top || i < o->top); i++) {
		const struct mem_row *r = v[i];
		char a[32], b[32];
		uint64_t c1 = which == 0 ? r->leaked : which == 1 ? r->peak_count : which == 4 ? r->temp_allocs : r->allocs;
		uint64_t c2 = which == 0 ? r->leaked_bytes : which == 1 ? r->peak_bytes : which == 4 ? r->temp_bytes : r->bytes;
		struct sbuf p = SBUF_INIT;
		stack_path(d, r->stack, 4, &p);
		fprintf(out, "%10s %12s  %s%s\n", fmt_thousands(c1, a), fmt_size(c2, b),
			r->kind == MEMK_MMAP ? "[mmap] " : "", p.buf);
		sbuf_release(&p);
	}
	if (o->top && n > o->top)
		fprintf(out, "   ... %zu more (--top)\n", n - o->top);
	free(v);
}

static void findings(FILE *out, const struct cprof_data *d, const struct mem_summary *s)
{
	size_t n, found = 0;
	char a[32], b[32];
	fprintf(out, "\n== Findings\n");
	const struct mem_row **v = sorted(s, key_leaked, &n);
	for (size_t i = 0; i < n && i < 5; i++, found++) {
		struct sbuf p = SBUF_INIT;
		stack_path(d, v[i]->stack, 2, &p);
		fprintf(out, " - leak: %s block%s, %s never freed, allocated at %s\n", fmt_thousands(v[i]->leaked, a),
			v[i]->leaked == 1 ? "" : "s", fmt_size(v[i]->leaked_bytes, b), p.buf);
		sbuf_release(&p);
	}
	free(v);
	v = sorted(s, key_temp, &n);
	for (size_t i = 0; i < n; i++) {
		const struct mem_row *r = v[i];
		if (r->temp_allocs < CHURN_MIN_TEMPS || r->temp_allocs * 2 < r->allocs)
			continue;
		struct sbuf p = SBUF_INIT;
		stack_path(d, r->stack, 2, &p);
		fprintf(out, " - churn: %s of %s allocations at %s are freed before the thread allocates again; "
			     "reuse a buffer or use the stack\n",
			fmt_thousands(r->temp_allocs, a), fmt_thousands(r->allocs, b), p.buf);
		sbuf_release(&p);
		found++;
	}
	for (size_t i = 0; i < s->rows.n; i++) {
		const struct mem_row *r = &s->rows.v[i];
		if (r->temp_max_size < LARGE_TEMP_BYTES)
			continue;
		struct sbuf p = SBUF_INIT;
		stack_path(d, r->stack, 2, &p);
		fprintf(out, " - large temporary: up to %s allocated and freed right away at %s\n",
			fmt_size(r->temp_max_size, a), p.buf);
		sbuf_release(&p);
		found++;
	}
	free(v);
	if (s->lost)
		fprintf(out, " - %s events could not be recorded: the numbers above undercount\n",
			fmt_thousands(s->lost, a)), found++;
	if (!found)
		fprintf(out, "   nothing stands out\n");
}

static void report_text_mem(FILE *out, const struct cprof_data *d, const struct mem_summary *s,
			    const struct mem_report_opts *o)
{
	char a[32], b[32], c[32];
	const char *cmd = cprof_meta_get(d, "command");
	fprintf(out, "# cprof report --mem: %s\n", o->input);
	if (cmd)
		fprintf(out, "# command:     %s\n", cmd);
	fprintf(out, "# processes:   %zu traced, %s events", d->mem_procs.n, fmt_thousands(s->events, a));
	fprintf(out, ", %s lost\n", fmt_thousands(s->lost, a));
	fprintf(out, "# heap:        %s allocations, %s in all, %s temporary\n", fmt_thousands(s->allocs, a),
		fmt_size(s->bytes, b), fmt_thousands(s->temp_allocs, c));
	fprintf(out, "# peak heap:   %s at %.3f s (pid %u)\n", fmt_size(s->peak_bytes, a), rel_s(d, s->peak_time),
		s->peak_pid);
	fprintf(out, "# leaked:      %s in %s block%s\n", fmt_size(s->leaked_bytes, a), fmt_thousands(s->leaked, b),
		s->leaked == 1 ? "" : "s");
	if (s->mmap_peak)
		fprintf(out, "# mmap (anonymous, outside malloc): peak %s\n", fmt_size(s->mmap_peak, a));
	if (s->unmatched_frees)
		fprintf(out, "# ignored:     %s frees of memory allocated before tracing began\n",
			fmt_thousands(s->unmatched_frees, a));
	text_not_traced(out, d);

	text_table(out, d, s, "Leaks at exit, by allocation stack", key_leaked, "Blocks", "Bytes", o, 0);
	char title[96];
	snprintf(title, sizeof title, "Live at the heap peak (%s at %.3f s)", fmt_size(s->peak_bytes, a),
		 rel_s(d, s->peak_time));
	text_table(out, d, s, title, key_peak, "Blocks", "Bytes", o, 1);
	text_table(out, d, s, "Allocation hot spots by count", key_count, "Allocs", "Bytes", o, 2);
	text_table(out, d, s, "Allocation hot spots by bytes", key_bytes, "Allocs", "Bytes", o, 3);
	text_table(out, d, s, "Temporary allocations (freed before the thread allocated again)", key_temp, "Temps",
		   "Bytes", o, 4);
	fprintf(out, "\n== Allocation sizes\n%22s %12s\n", "Size", "Allocs");
	for (int i = 0; i < MP_HIST_BUCKETS; i++) {
		if (!s->hist[i])
			continue;
		if (i == 0)
			fprintf(out, "%22s %12s\n", "0", fmt_thousands(s->hist[i], a));
		else {
			char lo[32], hi[32], range[72];
			fmt_size((uint64_t)1 << (i - 1), lo);
			fmt_size(((uint64_t)1 << i) - 1, hi);
			snprintf(range, sizeof range, "%s - %s", lo, hi);
			fprintf(out, "%22s %12s\n", range, fmt_thousands(s->hist[i], a));
		}
	}
	findings(out, d, s);
}

/* ---- text, sampled recording ---- */
static void text_table_est(FILE *out, const struct cprof_data *d, const struct mem_summary *s, const char *title,
			   row_key key, bool live, const struct mem_report_opts *o)
{
	size_t n;
	const struct mem_row **v = sorted(s, key, &n);
	fprintf(out, "\n== %s\n", title);
	if (!n)
		fprintf(out, "   (none)\n");
	else
		fprintf(out, "%10s %10s %12s %12s %8s  %s\n", live ? "Blocks" : "Allocs", "± 95 %", "Bytes", "± 95 %",
			"Samples", "Allocated at");
	for (size_t i = 0; i < n && (!o->top || i < o->top); i++) {
		const struct mem_row *r = v[i];
		char a[32], ae[32], b[32], be[32], sm[32];
		uint64_t c = live ? r->leaked : r->allocs, by = live ? r->leaked_bytes : r->bytes;
		double vc = live ? r->var_leaked : r->var_allocs, vb = live ? r->var_leaked_bytes : r->var_bytes;
		struct sbuf p = SBUF_INIT;
		stack_path(d, r->stack, 4, &p);
		fprintf(out, "%10s %10s %12s %12s %8s  %s%s\n", fmt_thousands(c, a),
			fmt_thousands(mem_round_est(mem_err95(vc)), ae), fmt_size(by, b), fmt_size(mem_round_est(mem_err95(vb)), be),
			fmt_thousands(r->samples, sm), r->kind == MEMK_MMAP ? "[mmap] " : "", p.buf);
		sbuf_release(&p);
	}
	if (o->top && n > o->top)
		fprintf(out, "   ... %zu more (--top)\n", n - o->top);
	free(v);
}

static void report_text_sampled(FILE *out, const struct cprof_data *d, const struct mem_summary *s,
				const struct mem_report_opts *o)
{
	char a[32], b[32], c[32], e[32];
	const char *cmd = cprof_meta_get(d, "command"), *seen_n = cprof_meta_get(d, "mem_seen_allocs"),
		   *seen_b = cprof_meta_get(d, "mem_seen_bytes");
	fprintf(out, "# cprof report --mem: %s\n", o->input);
	if (cmd)
		fprintf(out, "# command:     %s\n", cmd);
	fprintf(out, "# sampled:     one allocation per %s allocated on average (Poisson over bytes),\n"
		     "#              each weighted by 1/(its chance of being sampled): the figures\n"
		     "#              below are unbiased estimates, +- the half-width of their 95 %%\n"
		     "#              interval (1.96 standard errors). Leaks and the peak are not\n"
		     "#              exact in this mode: record with --mem for those.\n",
		fmt_size(s->sample_bytes, a));
	fprintf(out, "# processes:   %zu traced, %s allocations sampled, %s lost\n", d->mem_procs.n,
		fmt_thousands(s->samples, a), fmt_thousands(s->lost, b));
	if (seen_n && seen_b)
		fprintf(out, "# heap:        %s allocations, %s in all (counted, not estimated)\n",
			fmt_thousands(strtoull(seen_n, NULL, 10), a), fmt_size(strtoull(seen_b, NULL, 10), b));
	fprintf(out, "# estimated:   %s +- %s allocations, %s +- %s\n", fmt_thousands(s->allocs, a),
		fmt_thousands(mem_round_est(mem_err95(s->var_allocs)), e), fmt_size(s->bytes, b),
		fmt_size(mem_round_est(mem_err95(s->var_bytes)), c));
	fprintf(out, "# live at exit: %s +- %s in %s +- %s blocks (estimated)\n", fmt_size(s->leaked_bytes, a),
		fmt_size(mem_round_est(mem_err95(s->var_leaked_bytes)), b), fmt_thousands(s->leaked, c),
		fmt_thousands(mem_round_est(mem_err95(s->var_leaked)), e));
	if (s->mmap_peak)
		fprintf(out, "# mmap (anonymous, outside malloc): peak %s (every mapping is taken)\n",
			fmt_size(s->mmap_peak, a));
	text_not_traced(out, d);
	text_table_est(out, d, s, "Allocation hot spots by bytes (estimated)", key_bytes, false, o);
	text_table_est(out, d, s, "Allocation hot spots by count (estimated)", key_count, false, o);
	text_table_est(out, d, s, "Live at exit, by allocation stack (estimated; not exact leaks)", key_leaked, true, o);
	fprintf(out, "\n== Allocation sizes (estimated)\n%22s %12s\n", "Size", "Allocs");
	for (int i = 0; i < MP_HIST_BUCKETS; i++) {
		if (!s->hist[i])
			continue;
		char lo[32], hi[32], range[72];
		if (i == 0)
			snprintf(range, sizeof range, "0");
		else
			snprintf(range, sizeof range, "%s - %s", fmt_size((uint64_t)1 << (i - 1), lo),
				 fmt_size(((uint64_t)1 << i) - 1, hi));
		fprintf(out, "%22s %12s\n", range, fmt_thousands(s->hist[i], a));
	}
	fprintf(out, "\n== Findings\n");
	if (s->lost)
		fprintf(out, " - %s events could not be recorded: the numbers above undercount\n",
			fmt_thousands(s->lost, a));
	fprintf(out, " - sampled recording: temporaries, exact leaks and the peak heap are not measured\n");
}

/* ---- JSON, CSV, folded ---- */
static void json_frames(FILE *out, const struct cprof_data *d, uint32_t stack)
{
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	fputc('[', out);
	for (uint32_t i = 0; i < n; i++) {
		const struct cprof_frame *f = &d->frames.v[fr[i]];
		fprintf(out, "%s{\"function\": ", i ? ", " : "");
		json_string(out, cprof_str(d, f->func));
		fprintf(out, ", \"binary\": ");
		json_string(out, cprof_str(d, f->dso));
		fprintf(out, ", \"file\": ");
		json_string(out, cprof_str(d, f->file));
		fprintf(out, ", \"line\": %u}", f->line);
	}
	fputc(']', out);
}

static void report_json_mem(FILE *out, const struct cprof_data *d, const struct mem_summary *s,
			    const struct mem_report_opts *o)
{
	fprintf(out, "{\n  \"schema\": \"cprof-mem/1\",\n  \"input\": ");
	json_string(out, o->input);
	fprintf(out, ",\n  \"mode\": \"%s\"", s->sampled ? "sample" : "exact");
	if (s->sampled) {
		const char *sn = cprof_meta_get(d, "mem_seen_allocs"), *sb = cprof_meta_get(d, "mem_seen_bytes");
		fprintf(out, ",\n  \"sample\": {\"mean_bytes\": %" PRIu64 ", \"samples\": %" PRIu64
			     ", \"allocations_seen\": %" PRIu64 ", \"bytes_seen\": %" PRIu64
			     ", \"allocations_error95\": %.1f, \"bytes_error95\": %.1f"
			     ", \"leaked_blocks_error95\": %.1f, \"leaked_bytes_error95\": %.1f}",
			s->sample_bytes, s->samples, (uint64_t)(sn ? strtoull(sn, NULL, 10) : 0),
			(uint64_t)(sb ? strtoull(sb, NULL, 10) : 0),
			mem_err95(s->var_allocs), mem_err95(s->var_bytes), mem_err95(s->var_leaked),
			mem_err95(s->var_leaked_bytes));
	}
	fprintf(out, ",\n  \"summary\": {\"allocations\": %" PRIu64 ", \"bytes\": %" PRIu64
		     ", \"temporary\": %" PRIu64 ", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
		     ", \"peak_bytes\": %" PRIu64 ", \"peak_time_s\": %.6f, \"peak_pid\": %u, \"mmap_peak_bytes\": %" PRIu64
		     ", \"events\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"unmatched_frees\": %" PRIu64 "},\n",
		s->allocs, s->bytes, s->temp_allocs, s->leaked, s->leaked_bytes, s->peak_bytes, rel_s(d, s->peak_time),
		s->peak_pid, s->mmap_peak, s->events, s->lost, s->unmatched_frees);
	json_not_traced(out, d);
	fprintf(out, "  \"processes\": [");
	for (size_t i = 0; i < d->mem_procs.n; i++) {
		const struct cprof_mem_proc *p = &d->mem_procs.v[i];
		fprintf(out, "%s\n    {\"pid\": %u, \"ppid\": %u, \"events\": %" PRIu64 ", \"peak_bytes\": %" PRIu64
			     ", \"peak_time_s\": %.6f, \"peak_time_ns\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
			     ", \"mmap_peak_bytes\": %" PRIu64 ", \"unmatched_frees\": %" PRIu64 ", \"lost\": %" PRIu64 "}",
			i ? "," : "", p->pid, p->ppid, p->events, p->peak_bytes, rel_s(d, p->peak_time), p->peak_time,
			p->end_bytes,
			p->mmap_peak, p->unmatched_frees, p->lost);
	}
	fprintf(out, "\n  ],\n  \"size_histogram\": [");
	bool first = true;
	for (int i = 0; i < MP_HIST_BUCKETS; i++) {
		if (!s->hist[i])
			continue;
		fprintf(out, "%s{\"min\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count\": %" PRIu64 "}", first ? "" : ", ",
			i ? (uint64_t)1 << (i - 1) : 0, i ? ((uint64_t)1 << i) - 1 : 0, s->hist[i]);
		first = false;
	}
	fprintf(out, "],\n  \"sites\": [");
	size_t n;
	const struct mem_row **v = sorted(s, key_bytes, &n);
	for (size_t i = 0; i < n && (!o->top || i < o->top); i++) {
		const struct mem_row *r = v[i];
		fprintf(out, "%s\n    {\"kind\": \"%s\", \"allocations\": %" PRIu64 ", \"bytes\": %" PRIu64
			     ", \"temporary\": %" PRIu64 ", \"temporary_bytes\": %" PRIu64 ", \"leaked_blocks\": %" PRIu64
			     ", \"leaked_bytes\": %" PRIu64 ", \"peak_blocks\": %" PRIu64 ", \"peak_bytes\": %" PRIu64
			     ", \"max_size\": %" PRIu64 ", %s",
			i ? "," : "", r->kind == MEMK_MMAP ? "mmap" : "heap", r->allocs, r->bytes, r->temp_allocs,
			r->temp_bytes, r->leaked, r->leaked_bytes, r->peak_count, r->peak_bytes, r->max_size,
			s->sampled ? "" : "\"stack\": ");
		if (s->sampled)
			fprintf(out, "\"samples\": %" PRIu64 ", \"allocations_error95\": %.1f, \"bytes_error95\": %.1f"
				     ", \"leaked_blocks_error95\": %.1f, \"leaked_bytes_error95\": %.1f, \"stack\": ",
				r->samples, mem_err95(r->var_allocs), mem_err95(r->var_bytes), mem_err95(r->var_leaked),
				mem_err95(r->var_leaked_bytes));
		json_frames(out, d, r->stack);
		fputc('}', out);
	}
	free(v);
	fprintf(out, "\n  ],\n  \"heap_curve\": [");
	for (size_t i = 0; i < d->mem_curve.n; i++)
		fprintf(out, "%s[%u, %.6f, %" PRIu64 "]", i ? ", " : "", d->mem_curve.v[i].pid,
			rel_s(d, d->mem_curve.v[i].time), d->mem_curve.v[i].bytes);
	fprintf(out, "]\n}\n");
}

static void report_csv_mem(FILE *out, const struct cprof_data *d, const struct mem_summary *s,
			   const struct mem_report_opts *o)
{
	fprintf(out, "kind,allocations,bytes,temporary,temporary_bytes,leaked_blocks,leaked_bytes,peak_blocks,"
		     "peak_bytes,max_size,function,file,line,binary,stack%s\n",
		s->sampled ? ",samples,allocations_error95,bytes_error95,leaked_blocks_error95,leaked_bytes_error95" : "");
	size_t n;
	const struct mem_row **v = sorted(s, key_bytes, &n);
	for (size_t i = 0; i < n && (!o->top || i < o->top); i++) {
		const struct mem_row *r = v[i];
		fprintf(out, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			     ",%" PRIu64 ",%" PRIu64 ",",
			r->kind == MEMK_MMAP ? "mmap" : "heap", r->allocs, r->bytes, r->temp_allocs, r->temp_bytes,
			r->leaked, r->leaked_bytes, r->peak_count, r->peak_bytes, r->max_size);
		uint32_t nf = cprof_stack_len(d, r->stack);
		const struct cprof_frame *f = nf ? &d->frames.v[cprof_stack_frames(d, r->stack)[0]] : NULL;
		csv_field(out, f ? cprof_str(d, f->func) : "");
		fputc(',', out);
		csv_field(out, f ? cprof_str(d, f->file) : "");
		fprintf(out, ",%u,", f ? f->line : 0);
		csv_field(out, f ? cprof_str(d, f->dso) : "");
		fputc(',', out);
		struct sbuf p = SBUF_INIT;
		stack_path(d, r->stack, 64, &p);
		csv_field(out, p.buf);
		if (s->sampled)
			fprintf(out, ",%" PRIu64 ",%.1f,%.1f,%.1f,%.1f", r->samples, mem_err95(r->var_allocs),
				mem_err95(r->var_bytes), mem_err95(r->var_leaked), mem_err95(r->var_leaked_bytes));
		fputc('\n', out);
		sbuf_release(&p);
	}
	free(v);
}

/* Folded: root first, the allocating function as the leaf. */
static void report_folded_mem(FILE *out, const struct cprof_data *d, const struct mem_summary *s,
			      const struct mem_report_opts *o)
{
	for (size_t i = 0; i < s->rows.n; i++) {
		const struct mem_row *r = &s->rows.v[i];
		uint64_t w = o->weight == MEMW_COUNT ? r->allocs : r->bytes;
		if (!w)
			continue;
		uint32_t n = cprof_stack_len(d, r->stack);
		const uint32_t *fr = cprof_stack_frames(d, r->stack);
		if (!n)
			fputs("[no stack]", out);
		for (uint32_t k = n; k-- > 0;) {
			const char *fn = cprof_str(d, d->frames.v[fr[k]].func);
			for (const char *c = fn; *c; c++)
				fputc(*c == ';' || *c == '\n' ? ':' : *c, out);
			if (k)
				fputc(';', out);
		}
		if (r->kind == MEMK_MMAP)
			fputs(";[mmap]", out);
		fprintf(out, " %" PRIu64 "\n", w);
	}
}

void mem_report(FILE *out, const struct cprof_data *d, const struct mem_report_opts *o)
{
	struct mem_summary s;
	mem_summarize(d, &s);
	switch (o->format) {
	case FORMAT_TEXT: (s.sampled ? report_text_sampled : report_text_mem)(out, d, &s, o); break;
	case FORMAT_JSON: report_json_mem(out, d, &s, o); break;
	case FORMAT_CSV: report_csv_mem(out, d, &s, o); break;
	case FORMAT_FOLDED: report_folded_mem(out, d, &s, o); break;
	case _FORMAT_MAX: break;
	}
	mem_summary_release(&s);
}
