/*
 * report-events.c - the per-event table of `cprof report` for a recording
 * of several events: one column per event (each function's self share of
 * that event) and IPC where cycles and instructions were both counted.
 * Rows are the functions heaviest in any event, so a function that is
 * cheap in time but takes every page fault is listed too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/evcols.h"
#include "cprof/report.h"

static double share(const struct evcols *c, size_t r, size_t e)
{
	return c->total[e] ? 100.0 * (double)c->self[r * c->nevents + e] / (double)c->total[e] : 0;
}

static double row_key(const struct evcols *c, size_t r)
{
	double m = 0;
	for (size_t e = 0; e < c->nevents; e++)
		if (share(c, r, e) > m)
			m = share(c, r, e);
	return m;
}

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct evcols *c = ctx;
	double x = row_key(c, *(const size_t *)a), y = row_key(c, *(const size_t *)b);
	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void report_events_text(FILE *out, const struct evcols *c, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	size_t *order = xmalloc((c->nrows ? c->nrows : 1) * sizeof *order);
	for (size_t r = 0; r < c->nrows; r++)
		order[r] = r;
	qsort_r(order, c->nrows, sizeof *order, cmp_rows, (void *)c);
	bool ipc = evcols_ipc(c, SIZE_MAX) >= 0;
	int *width = xmalloc((c->nevents ? c->nevents : 1) * sizeof *width);
	fprintf(out, "\n%sPer event%s: each function's self share of each event", o->color ? "\033[1m" : "",
		o->color ? "\033[0m" : "");
	if (ipc)
		fprintf(out, "; IPC: its instructions per cycle");
	fputs("\n", out);
	for (size_t e = 0; e < c->nevents; e++) {
		size_t w = strlen(cprof_str(d, d->events.v[e].name));
		width[e] = (int)(w < 8 ? 8 : w > 32 ? 32 : w);
		fprintf(out, "%*.*s ", width[e], width[e], cprof_str(d, d->events.v[e].name));
	}
	if (ipc)
		fprintf(out, "%6s ", "IPC");
	fprintf(out, " %s\n", "Function");
	size_t limit = o->top ? o->top : 40;
	for (size_t i = 0, shown = 0; i < c->nrows && shown < limit; i++) {
		size_t r = order[i];
		double key = row_key(c, r);
		if (key <= 0 || key < o->percent_limit)
			break;
		shown++;
		for (size_t e = 0; e < c->nevents; e++) {
			if (c->total[e])
				fprintf(out, "%*.2f%% ", width[e] - 1, share(c, r, e));
			else
				fprintf(out, "%*s ", width[e], "-");
		}
		if (ipc) {
			double v = evcols_ipc(c, r);
			if (v >= 0)
				fprintf(out, "%6.2f ", v);
			else
				fprintf(out, "%6s ", "-");
		}
		const struct profile_func *f = &p->funcs.v[c->rows[r]];
		fprintf(out, " %s%s\n", cprof_str(d, f->name), f->flags & FRF_KERNEL ? " [k]" : "");
	}
	if (ipc)
		fprintf(out, "IPC of the whole profile: %.2f\n", evcols_ipc(c, SIZE_MAX));
	free(width);
	free(order);
}
