/*
 * graphs.c - the memory profile drawn (mem-report.h): the heap over time
 * (report --mem --plot) and the allocation flame graph (flamegraph --mem).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/flamegraph.h"
#include "cprof/mem-report.h"
#include "cprof/output.h"
#include "cprof/fmt.h"
#include "mem-internal.h"

/* ---- heap over time ---- */
int mem_plot_svg(FILE *out, const struct cprof_data *d, const char *title, struct cprof_err *err)
{
	if (!d->mem_curve.n)
		return err_set(err, ENODATA, "no heap samples to plot");
	const double W = 1000, H = 400, L = 90, R = 40, T = 40, B = 50;
	uint64_t o = mem_origin(d), tmax = 1, ymax = 1;
	for (size_t i = 0; i < d->mem_curve.n; i++) {
		const struct cprof_mem_point *c = &d->mem_curve.v[i];
		if (c->time > o && c->time - o > tmax)
			tmax = c->time - o;
		if (c->bytes > ymax)
			ymax = c->bytes;
	}
	for (size_t i = 0; i < d->mem_procs.n; i++)
		if (d->mem_procs.v[i].end_time > o && d->mem_procs.v[i].end_time - o > tmax)
			tmax = d->mem_procs.v[i].end_time - o;
	/* Ticks on round values of the unit shown; the axes end at the
	 * first tick past the data. */
	static const char *const yunits[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int yu = 0;
	while (yu < 4 && (double)ymax >= 1024.0 * (double)(1ull << (10 * yu)))
		yu++;
	double yscale = (double)(1ull << (10 * yu)), ystep = nice_step((double)ymax / yscale / 5);
	int yticks = (int)ceil((double)ymax / yscale / ystep - 1e-9);
	double ytop = yticks * ystep * yscale;
	double tsec = (double)tmax / 1e9, xscale = tsec >= 2 ? 1 : tsec >= 0.002 ? 1e-3 : 1e-6;
	const char *xunit = xscale == 1 ? "s" : xscale == 1e-3 ? "ms" : "\u00b5s";
	double xstep = nice_step(tsec / xscale / 8);
	int xticks = (int)ceil(tsec / xscale / xstep - 1e-9);
	double tend = xticks * xstep * xscale * 1e9; /* ns */
	if (yticks < 1)
		yticks = 1, ytop = ystep * yscale;
	if (xticks < 1)
		xticks = 1, tend = xstep * xscale * 1e9;
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		     "<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		     "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"Verdana, sans-serif\" font-size=\"12\">\n"
		     "<rect width=\"100%%\" height=\"100%%\" fill=\"#fffdf8\"/>\n<text x=\"%.0f\" y=\"24\" "
		     "font-size=\"16\" text-anchor=\"middle\">",
		W, H, W, H, W / 2);
	xml_escape(out, title, strlen(title), 0);
	fprintf(out, "</text>\n");
	double pw = W - L - R, ph = H - T - B;
	fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", L,
		T, pw, ph);
	int ydec = ystep >= 1 ? 0 : (int)ceil(-log10(ystep) - 1e-9), xdec = xstep >= 1 ? 0 : (int)ceil(-log10(xstep) - 1e-9);
	fputs("<g id=\"yticks\">\n", out);
	for (int k = 0; k <= yticks; k++) {
		double y = T + ph - ph * k / yticks;
		fprintf(out, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e0d8\"/>", L, L + pw, y, y);
		fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.*f %s</text>\n", L - 6, y + 4, ydec,
			k * ystep, yunits[yu]);
	}
	fputs("</g>\n<g id=\"xticks\">\n", out);
	for (int k = 0; k <= xticks; k++)
		fprintf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.*f %s</text>\n", L + pw * k / xticks,
			T + ph + 18, xdec, k * xstep, xunit);
	fputs("</g>\n", out);
	char a[32];
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">time since the recording started; heap in use "
		     "(malloc family)</text>\n", L + pw / 2, H - 10);
	static const char *colors[] = { "#d9480f", "#1971c2", "#2f9e44", "#9c36b5", "#e8590c", "#0c8599" };
	for (size_t pi = 0; pi < d->mem_procs.n; pi++) {
		uint32_t pid = d->mem_procs.v[pi].pid;
		fprintf(out, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" points=\"", colors[pi % 6]);
		double last_y = T + ph;
		fprintf(out, "%.1f,%.1f", L, last_y);
		for (size_t i = 0; i < d->mem_curve.n; i++) {
			const struct cprof_mem_point *c = &d->mem_curve.v[i];
			if (c->pid != pid)
				continue;
			double x = L + pw * (double)(c->time > o ? c->time - o : 0) / tend;
			double y = T + ph - ph * (double)c->bytes / ytop;
			fprintf(out, " %.1f,%.1f %.1f,%.1f", x, last_y, x, y); /* steps */
			last_y = y;
		}
		fprintf(out, "\"><title>pid %u: peak %s</title></polyline>\n", pid,
			fmt_size(d->mem_procs.v[pi].peak_bytes, a));
	}
	fprintf(out, "</svg>\n");
	return 0;
}

void fg_add_mem(struct flamegraph *g, const struct cprof_data *d, enum mem_weight w, bool reverse)
{
	struct mem_summary s;
	mem_summarize(d, &s);
	VEC(uint32_t) names = { 0 };
	for (size_t i = 0; i < s.rows.n; i++) {
		const struct mem_row *r = &s.rows.v[i];
		uint64_t weight = w == MEMW_COUNT ? r->allocs : r->bytes;
		if (!weight)
			continue;
		uint32_t n = cprof_stack_len(d, r->stack);
		const uint32_t *fr = cprof_stack_frames(d, r->stack);
		names.n = 0;
		for (uint32_t k = 0; k < n; k++) { /* leaf first */
			const struct cprof_frame *f = &d->frames.v[fr[k]];
			const char *fn = cprof_str(d, f->func);
			struct sbuf label = SBUF_INIT;
			sbuf_addf(&label, "%s%s", fn, (f->flags & FRF_INLINED) ? "_[i]" : "");
			vec_push(&names, fg_intern(g, label.buf, label.len));
			sbuf_release(&label);
		}
		if (r->kind == MEMK_MMAP) {
			uint32_t m = fg_intern(g, "[mmap]", 6);
			vec_push(&names, m);
			memmove(names.v + 1, names.v, (names.n - 1) * sizeof *names.v);
			names.v[0] = m;
		}
		if (!names.n)
			vec_push(&names, fg_intern(g, "[no stack]", 10));
		if (!reverse) /* root first */
			for (size_t a = 0, b = names.n - 1; a < b; a++, b--) {
				uint32_t t = names.v[a];
				names.v[a] = names.v[b];
				names.v[b] = t;
			}
		fg_add_stack(g, names.v, names.n, weight);
	}
	vec_release(&names);
	mem_summary_release(&s);
}
