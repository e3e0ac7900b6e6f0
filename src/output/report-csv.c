/* report-csv.c - one row per function, header first; columns in cprof-report(1). */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "cprof/evcols.h"
#include "cprof/output.h"
#include "cprof/report.h"

/* --lines: one row per source line. */
static void csv_lines(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	struct profile_lines pl;
	size_t n, shown = 0;
	profile_lines_build(&pl, p);
	uint32_t *order = profile_lines_sorted(&pl, o->sort == SORT_TOTAL, &n);
	double tw = p->total_weight ? (double)p->total_weight : 1.0;
	fprintf(out, "self_percent,total_percent,self_samples,total_samples,self_weight,total_weight,file,line,function,dso,inlined\n");
	for (size_t i = 0; i < n; i++) {
		const struct profile_line *l = &pl.v.v[order[i]];
		double ps = 100.0 * (double)l->self / tw, pt = 100.0 * (double)l->total / tw;
		if ((o->sort == SORT_TOTAL ? pt : ps) < o->percent_limit || (o->top && shown >= o->top))
			break;
		fprintf(out, "%.4f,%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", ps, pt, l->self_samples,
			l->total_samples, l->self, l->total);
		csv_field(out, cprof_str(d, l->file));
		fprintf(out, ",%u,", l->line);
		csv_field(out, cprof_str(d, l->func));
		fputc(',', out);
		csv_field(out, cprof_str(d, l->dso));
		fprintf(out, ",%d\n", (l->flags & FRF_INLINED) ? 1 : 0);
		shown++;
	}
	free(order);
	profile_lines_release(&pl);
}

void report_csv(FILE *out, const struct profile *p, const struct report_opts *o)
{
	if (o->lines) {
		csv_lines(out, p, o);
		return;
	}
	const struct cprof_data *d = p->d;
	size_t n, shown = 0;
	uint32_t *order = report_sorted_funcs(p, o->sort, &n);
	const struct evcols *c = o->events;
	size_t *row_of = NULL; /* function index -> row of c */
	if (c) {
		row_of = xmalloc((p->funcs.n ? p->funcs.n : 1) * sizeof *row_of);
		for (size_t i = 0; i < p->funcs.n; i++)
			row_of[i] = SIZE_MAX;
		for (size_t r = 0; r < c->nrows; r++)
			if (c->rows[r] < p->funcs.n)
				row_of[c->rows[r]] = r;
	}
	fprintf(out, "self_percent,total_percent,self_samples,total_samples,self_weight,total_weight,function,dso,file,line");
	if (c)
		report_events_csv_header(out, c, d);
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct profile_func *f = &p->funcs.v[order[i]];
		double tw = p->total_weight ? (double)p->total_weight : 1.0;
		double ps = 100.0 * (double)f->self / tw, pt = 100.0 * (double)f->total / tw;
		if ((o->sort == SORT_SELF ? ps : pt) < o->percent_limit || (o->top && shown >= o->top))
			break;
		fprintf(out, "%.4f,%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", ps, pt, f->self_samples,
			f->total_samples, f->self, f->total);
		csv_field(out, cprof_str(d, f->name));
		fputc(',', out);
		csv_field(out, cprof_str(d, f->dso));
		fputc(',', out);
		csv_field(out, cprof_str(d, f->file));
		fprintf(out, ",%u", f->line);
		if (c)
			report_events_csv_row(out, c, row_of[order[i]]);
		fputc('\n', out);
		shown++;
	}
	free(row_of);
	free(order);
}
