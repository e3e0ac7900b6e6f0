/*
 * report-keys.c - report -s with perf's sort keys (group.h): one row per
 * combination of the keys, as text (perf's column titles), CSV or JSON.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/group.h"
#include "cprof/output.h"
#include "cprof/report.h"

static const char *const titles[] = { "Command", "Pid", "Tid", "Shared Object", "Symbol", "CPU" };

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A row's value of key k, as text. */
static const char *key_text(const struct profile *p, const struct group_row *r, enum group_key k, char *buf,
			    size_t len)
{
	const struct cprof_data *d = p->d;
	const char *s;
	switch (k) {
	case GK_COMM:
		s = cprof_str(d, r->comm);
		return *s ? s : "[unknown]";
	case GK_PID: snprintf(buf, len, "%u", r->pid); return buf;
	case GK_TID: snprintf(buf, len, "%u", r->tid); return buf;
	case GK_CPU:
		if (r->cpu == GROUP_NO_CPU)
			return "[unknown]";
		snprintf(buf, len, "%u", r->cpu);
		return buf;
	case GK_DSO:
		s = base_name(cprof_str(d, r->dso));
		return *s ? s : "[unknown]";
	case GK_SYM:
		if (r->func == UINT32_MAX)
			return "[unknown]";
		s = cprof_str(d, p->funcs.v[r->func].name);
		return *s ? s : "[unknown]";
	case _GK_MAX: break;
	}
	return "";
}

/* Rows shown: the sort key's share at least percent_limit, at most top. */
static size_t rows_shown(const struct grouping *g, const struct profile *p, const struct report_opts *o)
{
	size_t n = 0;
	for (; n < g->rows.n; n++) {
		const struct group_row *r = &g->rows.v[n];
		if (pct(o->sort == SORT_TOTAL ? r->total : r->self, p->total_weight) < o->percent_limit)
			break;
		if (o->top && n >= o->top)
			break;
	}
	return n;
}

static void text(FILE *out, const struct grouping *g, const struct profile *p, const struct report_opts *o)
{
	char buf[32];
	size_t width[_GK_MAX];
	size_t n = rows_shown(g, p, o);
	for (size_t k = 0; k < g->nkeys; k++) {
		width[k] = strlen(titles[g->keys[k]]);
		for (size_t i = 0; i < n; i++) {
			size_t w = strlen(key_text(p, &g->rows.v[i], g->keys[k], buf, sizeof buf));
			if (w > width[k])
				width[k] = w < 40 ? w : 40;
		}
	}
	fprintf(out, "%s%7s ", o->color ? "\033[1m" : "", "Self");
	if (o->children)
		fprintf(out, "%7s ", "Total");
	fprintf(out, "%9s", "Samples");
	for (size_t k = 0; k < g->nkeys; k++)
		fprintf(out, "  %-*s", k + 1 < g->nkeys ? (int)width[k] : 0, titles[g->keys[k]]);
	fprintf(out, "%s\n", o->color ? "\033[0m" : "");
	for (size_t i = 0; i < n; i++) {
		const struct group_row *r = &g->rows.v[i];
		fprintf(out, "%6.2f%% ", pct(r->self, p->total_weight));
		if (o->children)
			fprintf(out, "%6.2f%% ", pct(r->total, p->total_weight));
		fprintf(out, "%9" PRIu64, r->self_samples);
		for (size_t k = 0; k < g->nkeys; k++)
			fprintf(out, "  %-*s", k + 1 < g->nkeys ? (int)width[k] : 0,
				key_text(p, r, g->keys[k], buf, sizeof buf));
		fputc('\n', out);
	}
	if (n == 0)
		fprintf(out, "  (no samples)\n");
}

static void csv(FILE *out, const struct grouping *g, const struct profile *p, const struct report_opts *o)
{
	char buf[32];
	size_t n = rows_shown(g, p, o);
	fprintf(out, "self_percent,total_percent,self_samples,total_samples,self_weight,total_weight");
	for (size_t k = 0; k < g->nkeys; k++)
		fprintf(out, ",%s", group_key_names[g->keys[k]]);
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct group_row *r = &g->rows.v[i];
		fprintf(out, "%.4f,%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, pct(r->self, p->total_weight),
			pct(r->total, p->total_weight), r->self_samples, r->total_samples, r->self, r->total);
		for (size_t k = 0; k < g->nkeys; k++) {
			fputc(',', out);
			csv_field(out, key_text(p, r, g->keys[k], buf, sizeof buf));
		}
		fputc('\n', out);
	}
}

static void json(FILE *out, const struct grouping *g, const struct profile *p, const struct report_opts *o)
{
	char buf[32];
	size_t n = rows_shown(g, p, o);
	fprintf(out, "{\n  \"schema\": \"cprof-report-groups/1\",\n  \"input\": ");
	json_string(out, o->input ? o->input : "");
	fprintf(out, ",\n  \"event\": ");
	json_string(out, cprof_str(p->d, p->d->events.v[p->event].name));
	fprintf(out, ",\n  \"total_samples\": %" PRIu64 ",\n  \"total_weight\": %" PRIu64 ",\n  \"keys\": [",
		p->total_samples, p->total_weight);
	for (size_t k = 0; k < g->nkeys; k++)
		fprintf(out, "%s\"%s\"", k ? ", " : "", group_key_names[g->keys[k]]);
	fprintf(out, "],\n  \"rows\": [");
	for (size_t i = 0; i < n; i++) {
		const struct group_row *r = &g->rows.v[i];
		fprintf(out, "%s\n    {", i ? "," : "");
		for (size_t k = 0; k < g->nkeys; k++) {
			enum group_key key = g->keys[k];
			fprintf(out, "\"%s\": ", group_key_names[key]);
			if (key == GK_PID || key == GK_TID)
				fprintf(out, "%u", key == GK_PID ? r->pid : r->tid);
			else if (key == GK_CPU && r->cpu != GROUP_NO_CPU)
				fprintf(out, "%u", r->cpu);
			else if (key == GK_CPU)
				fputs("null", out);
			else
				json_string(out, key_text(p, r, key, buf, sizeof buf));
			fputs(", ", out);
		}
		fprintf(out, "\"self_samples\": %" PRIu64 ", \"total_samples\": %" PRIu64 ", \"self_weight\": %" PRIu64
			     ", \"total_weight\": %" PRIu64 ", \"self_percent\": %.4f, \"total_percent\": %.4f}",
			r->self_samples, r->total_samples, r->self, r->total, pct(r->self, p->total_weight),
			pct(r->total, p->total_weight));
	}
	fprintf(out, "\n  ]\n}\n");
}

void report_grouped(FILE *out, const struct grouping *g, const struct profile *p, enum report_format fmt,
		    const struct report_opts *o)
{
	switch (fmt) {
	case FORMAT_CSV: csv(out, g, p, o); break;
	case FORMAT_JSON: json(out, g, p, o); break;
	default: text(out, g, p, o); break;
	}
}
