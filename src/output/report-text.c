/*
 * report-text.c - the human view: a header saying what was recorded and
 * what it cost, the top functions, and optionally the call tree and threads.
 *
 * One file: the parts of the text report share its column fitting.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/calltree.h"
#include "cprof/output.h"
#include "cprof/report.h"

#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_YEL "\033[33m"
#define C_DIM "\033[2m"
#define C_OFF "\033[0m"

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static const char *pct_color(double p, bool color)
{
	if (!color)
		return "";
	return p >= 10.0 ? C_RED : p >= 2.0 ? C_YEL : "";
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Per CPU, then the biggest bursts in time order. */
static void lost_where(FILE *out, const struct cprof_data *d)
{
	struct report_lost l;
	char b[32];
	report_lost_get(d, &l);
	if (l.cpus.n) {
		fprintf(out, "#          by CPU:");
		for (size_t i = 0; i < l.cpus.n; i++)
			fprintf(out, "%s %d: %s", i ? "," : "", l.cpus.v[i].cpu, fmt_thousands(l.cpus.v[i].count, b));
		fputc('\n', out);
	}
	if (l.bursts.n) {
		enum { SHOWN = 6 };
		uint64_t cut = 0;
		if (l.bursts.n > SHOWN) {
			/* the SHOWN-th largest count */
			uint64_t top[SHOWN] = { 0 };
			for (size_t i = 0; i < l.bursts.n; i++) {
				uint64_t c = l.bursts.v[i].count;
				for (int k = 0; k < SHOWN; k++)
					if (c > top[k]) {
						uint64_t t = top[k];
						top[k] = c;
						c = t;
					}
			}
			cut = top[SHOWN - 1];
		}
		fprintf(out, "#          when:  ");
		size_t shown = 0;
		for (size_t i = 0; i < l.bursts.n && shown < SHOWN; i++) {
			const struct report_lost_burst *e = &l.bursts.v[i];
			if (e->count < cut)
				continue;
			if (e->end_s - e->start_s < 0.0005)
				fprintf(out, "%s at %.3f s: %s", shown ? "," : "", e->start_s, fmt_thousands(e->count, b));
			else
				fprintf(out, "%s %.3f-%.3f s: %s", shown ? "," : "", e->start_s, e->end_s,
					fmt_thousands(e->count, b));
			shown++;
		}
		if (shown < l.bursts.n)
			fprintf(out, " (and %zu smaller bursts)", l.bursts.n - shown);
		fputc('\n', out);
	}
	report_lost_release(&l);
}

static unsigned meta_uint(const struct cprof_data *d, const char *key, unsigned dflt)
{
	uint64_t v;
	const char *s = cprof_meta_get(d, key);
	return s && parse_u64(s, &v) == 0 && v <= UINT32_MAX ? (unsigned)v : dflt;
}

/* "12.3%", or "<0.1%" for a share too small to show but not none. */
static const char *share(char buf[16], uint64_t v, uint64_t total)
{
	double x = pct(v, total);
	if (v && x < 0.05)
		snprintf(buf, 16, "<0.1%%");
	else
		snprintf(buf, 16, "%.1f%%", x);
	return buf;
}

/* The share of truncated stacks, and for each limit that cut them what it
 * was and how to get past it. */
static void truncation(FILE *out, const struct profile *p)
{
	const struct cprof_data *d = p->d;
	const char *cg = cprof_meta_get(d, "call_graph");
	bool dwarf = cg && strncmp(cg, "dwarf", 5) == 0;
	unsigned size = dwarf && cg[5] == ',' ? (unsigned)strtoul(cg + 6, NULL, 10) : 0;
	unsigned kmax = meta_uint(d, "kernel_max_stack", 0), fmax = meta_uint(d, "max_stack", 0);
	uint64_t n = p->total_samples;
	char b[16], c[32];
	fprintf(out, "# truncated stacks: %s of samples (%s)\n", share(b, p->truncated_samples, n),
		fmt_thousands(p->truncated_samples, c));
	if (p->cut_copy) {
		if (size >= 65528)
			fprintf(out, "#   %s deeper than the %u-byte stack copy, the most the kernel copies: "
				     "for deeper stacks record with -g, on code built with -fno-omit-frame-pointer\n",
				share(b, p->cut_copy, n), size);
		else if (size)
			fprintf(out, "#   %s deeper than the %u-byte stack copy: record with a larger copy, "
				     "up to --call-graph dwarf,65528\n", share(b, p->cut_copy, n), size);
		else
			fprintf(out, "#   %s deeper than the stack copy: record with --call-graph dwarf,65528\n",
				share(b, p->cut_copy, n));
	}
	if (p->cut_frames) {
		if (dwarf || !kmax)
			fprintf(out, "#   %s cut at --max-stack %u frames: record with a larger --max-stack\n",
				share(b, p->cut_frames, n), fmax);
		else
			fprintf(out, "#   %s cut at --max-stack %u frames: record with a larger --max-stack "
				     "(up to kernel.perf_event_max_stack, %u)\n", share(b, p->cut_frames, n), fmax, kmax);
	}
	if (p->cut_kernel) {
		unsigned want = kmax < 1024 ? 1024 : kmax * 2;
		fprintf(out, "#   %s cut at kernel.perf_event_max_stack (%u frames), the deepest %s the "
			     "kernel walks: raise it with 'sysctl kernel.perf_event_max_stack=%u' and record again\n",
			share(b, p->cut_kernel, n), kmax, dwarf ? "kernel stack" : "frame-pointer stack", want);
	}
	/* Recordings from before the causes were stored say only "truncated". */
	uint64_t known = p->cut_copy + p->cut_frames + p->cut_kernel;
	if (known < p->truncated_samples)
		fprintf(out, "#   %s %s\n", share(b, p->truncated_samples - known, n),
			dwarf ? "deeper than the stack copy; record with a larger --call-graph dwarf,SIZE"
			      : "cut at kernel.perf_event_max_stack frames; raise it with sysctl");
}

static void header(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	const char *cmd = cprof_meta_get(d, "command");
	const char *dur = cprof_meta_get(d, "duration_ns");
	const char *lost = cprof_meta_get(d, "lost_samples");
	const char *rcpu = cprof_meta_get(d, "recorder_cpu_ns");
	const char *wcpu = cprof_meta_get(d, "workload_cpu_ns");
	const struct cprof_event *ev = &d->events.v[p->event];
	char b1[32], b2[32];

	fprintf(out, "%s# cprof report%s: %s\n", o->color ? C_BOLD : "", o->color ? C_OFF : "", o->input);
	if (cmd)
		fprintf(out, "# command:  %s\n", cmd);
	fprintf(out, "# event:    %s", cprof_str(d, ev->name));
	if (ev->flags & EVF_FREQ)
		fprintf(out, " (%" PRIu64 " Hz)", ev->period);
	else if (ev->period && strcmp(cprof_str(d, ev->unit), "samples") != 0)
		fprintf(out, " (every %" PRIu64 " %s)", ev->period, cprof_str(d, ev->unit));
	fprintf(out, ", %s sample%s", fmt_thousands(p->total_samples, b1), p->total_samples == 1 ? "" : "s");
	uint64_t lostn = 0;
	if (lost && parse_u64(lost, &lostn) == 0)
		fprintf(out, ", %s lost", fmt_thousands(lostn, b2));
	fputc('\n', out);
	if (dur) {
		uint64_t ns = 0;
		if (parse_u64(dur, &ns) == 0)
			fprintf(out, "# duration: %.3f s\n", (double)ns / 1e9);
	}
	uint64_t r = 0, w = 0;
	if (rcpu && wcpu && parse_u64(rcpu, &r) == 0 && parse_u64(wcpu, &w) == 0 && w) {
		fprintf(out, "# overhead: cprof used %.1f ms of CPU, %.2f%% of the workload's %.3f s\n", (double)r / 1e6,
			100.0 * (double)r / (double)w, (double)w / 1e9);
		/* The kernel takes each sample in the workload's own time: that
		 * cost is in the workload's figure, and nothing tells it apart. */
		fprintf(out, "#           not counted: the kernel's work taking the samples, charged to the workload\n");
		if ((ev->flags & EVF_FREQ) && ev->period > 10000)
			fprintf(out, "# warning: at %" PRIu64 " Hz that work can be most of the workload's time; "
				     "-F 999 to 4999 measures it better\n", ev->period);
	}
	if (lostn) {
		fprintf(out, "# warning: %s samples were lost (ring buffer full); shares may be skewed\n",
			fmt_thousands(lostn, b2));
		lost_where(out, d);
	}
	const char *merge = cprof_meta_get(d, "sample_merge_ns");
	uint64_t merge_ns = 0, budget = 0;
	if (merge && parse_u64(merge, &merge_ns) == 0 && merge_ns) {
		const char *b = cprof_meta_get(d, "sample_budget");
		if (!b || parse_u64(b, &budget) < 0)
			budget = 0;
		fprintf(out, "# merged:   samples of one thread and stack within %.3g s share a record, to bound memory "
			     "(more than %s samples); counts and weights are exact\n",
			(double)merge_ns / 1e9, fmt_thousands(budget, b1));
	}
	if (p->truncated_samples)
		truncation(out, p);
	fputc('\n', out);
}

/* ---- fitting rows to the terminal ---- */

/* Columns a UTF-8 string takes (one per character). */
static size_t cols(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Byte offset of the first character past n columns of s. */
static size_t col_offset(const char *s, size_t len, size_t n)
{
	size_t i = 0;
	for (size_t c = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && c++ == n)
			break;
	}
	return i;
}

/* s in at most max columns: cut in the middle with an ellipsis, so both
 * the beginning and the end (a line number, a signature) stay. */
static void put_mid(struct sbuf *out, const char *s, size_t max)
{
	size_t len = strlen(s), n = cols(s, len);
	if (n <= max || max < 2) {
		sbuf_adds(out, s);
		return;
	}
	size_t head = (max - 1 + 1) / 2, tail = max - 1 - head;
	sbuf_add(out, s, col_offset(s, len, head));
	sbuf_adds(out, "\u2026");
	sbuf_adds(out, s + col_offset(s, len, n - tail));
}

/* A C++ name without its return type ("unsigned long ns::f<T>(int)" ->
 * "ns::f<T>(int)"): the text before the last space outside brackets that
 * comes before the argument list. */
static const char *skip_return_type(const char *s)
{
	if (strstr(s, "operator"))
		return s;
	int depth = 0;
	const char *cut = NULL;
	for (const char *c = s; *c; c++) {
		if (*c == '<' || *c == '[')
			depth++;
		else if ((*c == '>' || *c == ']') && depth > 0)
			depth--;
		else if (*c == '(' && depth == 0)
			return cut && cut < c ? cut : s;
		else if (*c == ' ' && depth == 0)
			cut = c + 1;
	}
	return s; /* no argument list: not a C++ function */
}

/* Template arguments folded: "f<std::pair<int, long> >(x)" -> "f<…>(x)". */
static void fold_templates(struct sbuf *out, const char *s)
{
	if (strstr(s, "operator")) {
		sbuf_adds(out, s);
		return;
	}
	int depth = 0;
	for (const char *c = s; *c; c++) {
		if (*c == '<') {
			if (depth++ == 0)
				sbuf_adds(out, "<\u2026");
		} else if (*c == '>' && depth > 0) {
			if (--depth == 0)
				sbuf_addc(out, '>');
		} else if (depth == 0) {
			sbuf_addc(out, *c);
		}
	}
	if (depth) { /* unbalanced: not a template after all */
		sbuf_reset(out);
		sbuf_adds(out, s);
	}
}

/* The argument list folded: "ns::f(int, long) const" -> "ns::f(…) const". */
static void fold_args(struct sbuf *out, const char *s)
{
	const char *open = strchr(s, '('), *close = strrchr(s, ')');
	if (!open || !close || close < open + 2 || strstr(s, "operator")) {
		sbuf_adds(out, s);
		return;
	}
	sbuf_add(out, s, (size_t)(open - s) + 1);
	sbuf_adds(out, "\u2026");
	sbuf_adds(out, close);
}

/* The name in at most max columns: as it is if it fits, else without the
 * return type, then with template arguments folded, then the arguments,
 * then cut in the middle. */
static void fit_name(struct sbuf *out, const char *name, size_t max)
{
	if (!max || cols(name, strlen(name)) <= max) {
		sbuf_adds(out, name);
		return;
	}
	const char *s = skip_return_type(name);
	struct sbuf folded = SBUF_INIT;
	if (cols(s, strlen(s)) > max)
		fold_templates(&folded, s);
	else
		sbuf_adds(&folded, s);
	if (cols(folded.buf, folded.len) > max) {
		struct sbuf args = SBUF_INIT;
		fold_args(&args, folded.buf);
		sbuf_release(&folded);
		folded = args;
	}
	put_mid(out, folded.buf, max);
	sbuf_release(&folded);
}

/* Write s and pad it to w columns (nothing after the last column). */
static void put_col(FILE *out, const char *s, size_t w, bool last)
{
	fputs(s, out);
	if (last)
		return;
	for (size_t n = cols(s, strlen(s)); n < w; n++)
		fputc(' ', out);
}

/* Widths of a table whose last column is a function name: the middle
 * columns as wide as their widest cell (on a terminal at most cap each,
 * cut in the middle), the name in what is left of the terminal. */
struct fit {
	size_t w[2];     /* the two middle columns */
	size_t name_max; /* 0 = whole */
};

static void fit_columns(struct fit *f, const struct report_opts *o, size_t lead, char *const *cells,
			const char *const *names, size_t nrows, const char *h0, const char *h1)
{
	size_t name_w = strlen("Function");
	f->w[0] = strlen(h0);
	f->w[1] = strlen(h1);
	for (size_t i = 0; i < nrows; i++) {
		for (int k = 0; k < 2; k++) {
			size_t n = cols(cells[2 * i + k], strlen(cells[2 * i + k]));
			if (n > f->w[k])
				f->w[k] = n;
		}
		const char *shown = o->full_names ? names[i] : skip_return_type(names[i]);
		size_t n = cols(shown, strlen(shown));
		if (n > name_w)
			name_w = n;
	}
	f->name_max = 0;
	if (!o->width)
		return;
	/* The middle columns give way to the name (up to 40 columns of it),
	 * down to their floor. */
	static const size_t cap[2] = { 28, 24 }, floor_w[2] = { 14, 10 };
	if (name_w > 40)
		name_w = 40;
	for (int k = 0; k < 2; k++)
		if (f->w[k] > cap[k])
			f->w[k] = cap[k];
	for (int k = 0; k < 2; k++) {
		size_t used = lead + f->w[0] + 2 + f->w[1] + 2 + 1;
		size_t room = o->width > used ? o->width - used : 0;
		if (room >= name_w || f->w[k] <= floor_w[k])
			continue;
		size_t need = name_w - room, give = f->w[k] - floor_w[k];
		f->w[k] -= need < give ? need : give;
	}
	size_t used = lead + f->w[0] + 2 + f->w[1] + 2 + 1;
	if (!o->full_names)
		f->name_max = o->width > used + 24 ? o->width - used : 24;
}

static void put_cells(FILE *out, const struct fit *f, const struct report_opts *o, char *const *cell, const char *name)
{
	struct sbuf b = SBUF_INIT;
	for (int k = 0; k < 2; k++) {
		sbuf_reset(&b);
		const char *colon = k == 0 ? strrchr(cell[k], ':') : NULL;
		size_t tail = colon ? cols(colon, strlen(colon)) : 0;
		if (o->width && colon && tail + 4 <= f->w[k]) {
			/* A source line: the file name gives way, the line stays. */
			char *file = xstrndup(cell[k], (size_t)(colon - cell[k]));
			put_mid(&b, file, f->w[k] - tail);
			sbuf_adds(&b, colon);
			free(file);
		} else {
			put_mid(&b, cell[k], o->width ? f->w[k] : (size_t)-1);
		}
		put_col(out, b.buf, f->w[k], false);
		fputs("  ", out);
	}
	sbuf_reset(&b);
	fit_name(&b, name, f->name_max);
	fputs(b.buf, out);
	fputc('\n', out);
	sbuf_release(&b);
}

/* One row of the function and line tables: its weights and samples. */
struct row_nums {
	uint64_t self, total, self_samples;
};

/* The function or line table: the heading (col0 names the first text
 * column), then per row its percentages of total, its samples, the two
 * cells cells[2i], cells[2i+1] and the name names[i]. Frees cells and
 * names. */
static void put_table(FILE *out, const struct report_opts *o, uint64_t total, const struct row_nums *nums, size_t n,
		      char **cells, char **names, const char *col0)
{
	struct fit fit;
	fit_columns(&fit, o, o->children ? 27 : 19, cells, (const char *const *)names, n, col0, "Binary");
	fputs(o->color ? C_BOLD : "", out);
	if (o->children)
		fprintf(out, "%7s %7s %9s  ", "Self", "Total", "Samples");
	else
		fprintf(out, "%7s %9s  ", "Self", "Samples");
	put_col(out, col0, fit.w[0], false);
	fputs("  ", out);
	put_col(out, "Binary", fit.w[1], false);
	fprintf(out, "  Function%s\n", o->color ? C_OFF : "");
	for (size_t i = 0; i < n; i++) {
		double ps = pct(nums[i].self, total), pt = pct(nums[i].total, total);
		const char *c = pct_color(ps, o->color);
		if (o->children)
			fprintf(out, "%s%6.2f%%%s %6.2f%% %9" PRIu64 "  ", c, ps, *c ? C_OFF : "", pt, nums[i].self_samples);
		else
			fprintf(out, "%s%6.2f%%%s %9" PRIu64 "  ", c, ps, *c ? C_OFF : "", nums[i].self_samples);
		put_cells(out, &fit, o, cells + 2 * i, names[i]);
	}
	if (n == 0)
		fprintf(out, "  (no samples)\n");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < 2 * n; i++)
		free(cells[i]);
	free(cells);
}

/* Rows of functions: shares, samples, hottest line, binary, and the name
 * last, so a long name never pushes the other columns. */
static void functions(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	size_t n;
	uint32_t *order = report_sorted_funcs(p, o->sort, &n);
	VEC(uint32_t) rows = { 0 };
	for (size_t i = 0; i < n; i++) {
		const struct profile_func *f = &p->funcs.v[order[i]];
		double ps = pct(f->self, p->total_weight), pt = pct(f->total, p->total_weight);
		double key = o->sort == SORT_SELF ? ps : pt;
		if (o->sort == SORT_SELF && !o->children && f->self == 0)
			continue;
		if (key < o->percent_limit)
			break;
		if (o->top && rows.n >= o->top)
			break;
		vec_push(&rows, order[i]);
	}
	char **cells = xcalloc(2 * rows.n + 1, sizeof *cells);
	struct row_nums *nums = xcalloc(rows.n + 1, sizeof *nums);
	for (size_t i = 0; i < rows.n; i++) {
		const struct profile_func *f = &p->funcs.v[rows.v[i]];
		nums[i] = (struct row_nums){ f->self, f->total, f->self_samples };
		struct sbuf src = SBUF_INIT;
		const char *file = cprof_str(d, f->file);
		uint64_t of = f->line_by_total ? f->total : f->self;
		if (*file && f->line)
			sbuf_addf(&src, "%s:%u %.0f%%", base_name(file), f->line, pct(f->line_weight, of));
		else
			sbuf_adds(&src, base_name(file));
		cells[2 * i] = sbuf_detach(&src);
		cells[2 * i + 1] = xstrdup(base_name(cprof_str(d, f->dso)));
	}
	char **names = xcalloc(rows.n + 1, sizeof *names);
	for (size_t i = 0; i < rows.n; i++) {
		const struct profile_func *f = &p->funcs.v[rows.v[i]];
		struct sbuf name = SBUF_INIT;
		sbuf_adds(&name, cprof_str(d, f->name));
		if (f->flags & FRF_KERNEL)
			sbuf_adds(&name, " [k]");
		names[i] = sbuf_detach(&name);
	}
	put_table(out, o, p->total_weight, nums, rows.n, cells, names, "Hottest line");
	free(nums);
	vec_release(&rows);
	free(order);
}

/* report --sort line / --lines: samples per source line. */
static void lines(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	struct profile_lines pl;
	size_t n;
	profile_lines_build(&pl, p);
	uint32_t *order = profile_lines_sorted(&pl, o->sort == SORT_TOTAL, &n);
	VEC(uint32_t) rows = { 0 };
	for (size_t i = 0; i < n; i++) {
		const struct profile_line *l = &pl.v.v[order[i]];
		double ps = pct(l->self, p->total_weight), pt = pct(l->total, p->total_weight);
		if (o->sort != SORT_TOTAL && !o->children && l->self == 0)
			continue;
		if ((o->sort == SORT_TOTAL ? pt : ps) < o->percent_limit || (o->top && rows.n >= o->top))
			break;
		vec_push(&rows, order[i]);
	}
	char **cells = xcalloc(2 * rows.n + 1, sizeof *cells);
	struct row_nums *nums = xcalloc(rows.n + 1, sizeof *nums);
	for (size_t i = 0; i < rows.n; i++) {
		const struct profile_line *l = &pl.v.v[rows.v[i]];
		nums[i] = (struct row_nums){ l->self, l->total, l->self_samples };
		struct sbuf src = SBUF_INIT;
		const char *file = cprof_str(d, l->file);
		if (*file)
			sbuf_addf(&src, "%s:%u", base_name(file), l->line);
		else
			sbuf_adds(&src, "(no line)");
		cells[2 * i] = sbuf_detach(&src);
		cells[2 * i + 1] = xstrdup(base_name(cprof_str(d, l->dso)));
	}
	char **names = xcalloc(rows.n + 1, sizeof *names);
	for (size_t i = 0; i < rows.n; i++) {
		const struct profile_line *l = &pl.v.v[rows.v[i]];
		struct sbuf name = SBUF_INIT;
		sbuf_adds(&name, cprof_str(d, l->func));
		if (l->flags & FRF_KERNEL)
			sbuf_adds(&name, " [k]");
		else if (l->flags & FRF_INLINED)
			sbuf_adds(&name, " (inlined)");
		names[i] = sbuf_detach(&name);
	}
	put_table(out, o, p->total_weight, nums, rows.n, cells, names, "Line");
	free(nums);
	vec_release(&rows);
	free(order);
	profile_lines_release(&pl);
}

/* Shell-quote s if it needs it (C++ names have spaces, parentheses...). */
static void shell_word(FILE *out, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/+-=@") == strlen(s)) {
		fputs(s, out);
		return;
	}
	fputc('\'', out);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	fputc('\'', out);
}

/* The top function, if annotate can show it (it has code in a binary). */
static void hint(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	const char *src = cprof_meta_get(d, "source");
	if (src && strcmp(src, "folded") == 0)
		return; /* no addresses: nothing to annotate */
	size_t n;
	uint32_t *order = report_sorted_funcs(p, SORT_SELF, &n);
	for (size_t i = 0; i < n && i < 1; i++) {
		const struct profile_func *f = &p->funcs.v[order[i]];
		if (!f->self || (f->flags & (FRF_KERNEL | FRF_UNKNOWN | FRF_JIT)))
			break;
		fprintf(out, "\n%shint:%s cprof annotate", o->color ? C_DIM : "", o->color ? C_OFF : "");
		if (o->input && strcmp(o->input, "cprof.data") != 0) {
			fputs(" -i ", out);
			shell_word(out, o->input);
		}
		fputc(' ', out);
		shell_word(out, cprof_str(d, f->name));
		fputs("   # the top function, instruction by instruction\n", out);
	}
	free(order);
}

static void tree_node(FILE *out, const struct profile *p, const struct calltree *t, uint32_t node,
		      struct sbuf *prefix, double limit, bool callee)
{
	size_t n;
	uint32_t *kids = calltree_children_sorted(t, node, &n);
	size_t keep = 0;
	for (size_t i = 0; i < n; i++)
		if (pct(t->nodes.v[kids[i]].weight, p->total_weight) >= limit)
			keep++;
	for (size_t i = 0; i < keep; i++) {
		const struct calltree_node *c = &t->nodes.v[kids[i]];
		const struct profile_func *f = &p->funcs.v[c->func];
		bool last = i + 1 == keep;
		/* From the leaves, a node's self would be where its path begins
		 * (the outermost caller): only the path's share means something. */
		if (callee)
			fprintf(out, "%6.2f%%  %s%s%s%s\n", pct(c->weight, p->total_weight), prefix->buf,
				last ? "`- " : "|- ", cprof_str(p->d, f->name), (f->flags & FRF_KERNEL) ? " [k]" : "");
		else
			fprintf(out, "%6.2f%% %6.2f%%  %s%s%s%s\n", pct(c->weight, p->total_weight),
				pct(c->self_weight, p->total_weight), prefix->buf, last ? "`- " : "|- ",
				cprof_str(p->d, f->name), (f->flags & FRF_KERNEL) ? " [k]" : "");
		size_t save = prefix->len;
		sbuf_adds(prefix, last ? "   " : "|  ");
		tree_node(out, p, t, kids[i], prefix, limit, callee);
		prefix->len = save;
		prefix->buf[save] = 0;
	}
	free(kids);
}

static void call_tree(FILE *out, const struct profile *p, const struct calltree *t, const struct report_opts *o)
{
	struct sbuf prefix = SBUF_INIT;
	double limit = o->tree_limit > 0 ? o->tree_limit : o->percent_limit > 0 ? o->percent_limit : 0.5;
	fprintf(out, "\n%sCall tree%s (%s; paths under %.2f%% hidden)\n", o->color ? C_BOLD : "",
		o->color ? C_OFF : "",
		o->callee_tree ? "each function above its callers; share of the samples through the path"
			       : "callers above callees; total%, self%",
		limit);
	sbuf_grow(&prefix, 64);
	tree_node(out, p, t, 0, &prefix, limit, o->callee_tree);
	sbuf_release(&prefix);
}

static void threads(FILE *out, const struct profile *p, const struct report_opts *o)
{
	fprintf(out, "\n%s%7s %9s %8s %8s  %s%s\n", o->color ? C_BOLD : "", "Share", "Samples", "PID", "TID", "Thread",
		o->color ? C_OFF : "");
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		double s = pct(t->weight, p->total_weight);
		if (s < o->percent_limit)
			continue;
		fprintf(out, "%6.2f%% %9" PRIu64 " %8u %8u  %s\n", s, t->samples, t->pid, t->tid,
			*cprof_str(p->d, t->comm) ? cprof_str(p->d, t->comm) : "[unknown]");
	}
}

void report_text(FILE *out, const struct profile *p, const struct calltree *tree, const struct report_opts *o)
{
	if (!o->quiet)
		header(out, p, o);
	if (o->lines)
		lines(out, p, o);
	else
		functions(out, p, o);
	if (tree)
		call_tree(out, p, tree, o);
	if (o->threads)
		threads(out, p, o);
	if (o->findings)
		findings_text(out, o->findings, o->color);
	if (o->hint)
		hint(out, p, o);
}
