/*
 * report-events.c - the per-event table of `cprof report` for a recording
 * of several events: one column per event (each function's self share of
 * that event) and IPC where cycles and instructions were both counted.
 * Rows are the functions heaviest in any event, so a function that is
 * cheap in time but takes every page fault is listed too. The JSON view
 * has the same table ("events", "ipc", "event_functions"); the CSV view
 * adds each event's columns to its function rows.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/evcols.h"
#include "cprof/output.h"
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

/* The rows shown, heaviest in any event first: those with a share in some
 * event, at least --percent-limit, at most limit (0: all). Caller frees. */
static size_t *shown_rows(const struct evcols *c, const struct report_opts *o, size_t limit, size_t *ret_n)
{
	size_t *order = xmalloc((c->nrows ? c->nrows : 1) * sizeof *order);
	for (size_t r = 0; r < c->nrows; r++)
		order[r] = r;
	qsort_r(order, c->nrows, sizeof *order, cmp_rows, (void *)c);
	size_t n = 0;
	while (n < c->nrows && (!limit || n < limit)) {
		double key = row_key(c, order[n]);
		if (key <= 0 || key < o->percent_limit)
			break;
		n++;
	}
	*ret_n = n;
	return order;
}

void report_events_text(FILE *out, const struct evcols *c, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	size_t n;
	size_t *order = shown_rows(c, o, o->top ? o->top : 40, &n);
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
	for (size_t i = 0; i < n; i++) {
		size_t r = order[i];
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

static void json_ipc(FILE *out, double v)
{
	if (v >= 0)
		fprintf(out, "%.4f", v);
	else
		fputs("null", out);
}

void report_events_json(FILE *out, const struct evcols *c, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	fprintf(out, ",\n  \"events\": [");
	for (size_t e = 0; e < c->nevents; e++) {
		const struct cprof_event *ev = &d->events.v[e];
		fprintf(out, "%s\n    {\"name\": ", e ? "," : "");
		json_string(out, cprof_str(d, ev->name));
		fprintf(out, ", \"unit\": ");
		json_string(out, cprof_str(d, ev->unit));
		fprintf(out, ", \"read\": %s, \"total_weight\": %" PRIu64 "}", (ev->flags & EVF_READ) ? "true" : "false",
			c->total[e]);
	}
	fprintf(out, "\n  ],\n  \"ipc\": ");
	json_ipc(out, evcols_ipc(c, SIZE_MAX));
	size_t n;
	size_t *order = shown_rows(c, o, o->top, &n);
	fprintf(out, ",\n  \"event_functions\": [");
	for (size_t i = 0; i < n; i++) {
		size_t r = order[i];
		const struct profile_func *f = &p->funcs.v[c->rows[r]];
		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		json_string(out, cprof_str(d, f->name));
		fprintf(out, ", \"dso\": ");
		json_string(out, cprof_str(d, f->dso));
		fprintf(out, ", \"kernel\": %s, \"self_weight\": [", (f->flags & FRF_KERNEL) ? "true" : "false");
		for (size_t e = 0; e < c->nevents; e++)
			fprintf(out, "%s%" PRIu64, e ? ", " : "", c->self[r * c->nevents + e]);
		fprintf(out, "], \"self_percent\": [");
		for (size_t e = 0; e < c->nevents; e++)
			fprintf(out, "%s%.4f", e ? ", " : "", share(c, r, e));
		fprintf(out, "], \"ipc\": ");
		json_ipc(out, evcols_ipc(c, r));
		fputc('}', out);
	}
	fprintf(out, "\n  ]");
	free(order);
}

void report_events_csv_header(FILE *out, const struct evcols *c, const struct cprof_data *d)
{
	struct sbuf name = SBUF_INIT;
	for (size_t e = 0; e < c->nevents; e++) {
		static const char *const cols[] = { "self_weight", "self_percent" };
		for (size_t k = 0; k < 2; k++) {
			sbuf_reset(&name);
			sbuf_addf(&name, "%s[%s]", cols[k], cprof_str(d, d->events.v[e].name));
			fputc(',', out);
			csv_field(out, name.buf);
		}
	}
	if (c->cycles >= 0 && c->instructions >= 0)
		fputs(",ipc", out);
	sbuf_release(&name);
}

void report_events_csv_row(FILE *out, const struct evcols *c, size_t r)
{
	for (size_t e = 0; e < c->nevents; e++) {
		if (r < c->nrows)
			fprintf(out, ",%" PRIu64 ",%.4f", c->self[r * c->nevents + e], share(c, r, e));
		else
			fputs(",0,0.0000", out);
	}
	if (c->cycles >= 0 && c->instructions >= 0) {
		double v = r < c->nrows ? evcols_ipc(c, r) : -1;
		if (v >= 0)
			fprintf(out, ",%.4f", v);
		else
			fputc(',', out);
	}
}
