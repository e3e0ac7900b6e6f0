/*
 * diff-output.c - `cprof diff` as text, JSON ("cprof-diff/1") and CSV.
 */
#include <math.h>
#include <stdlib.h>

#include "cprof/diff.h"
#include "cprof/output.h"

/* "name [binary]", without doubling the brackets of "[kernel.kallsyms]". */
static void name_dso(FILE *out, const struct diff_row *r)
{
	fputs(r->name, out);
	if (r->dso[0])
		fprintf(out, r->dso[0] == '[' ? " %s" : " [%s]", r->dso);
}

/* A significant change in colour: what grew red, what shrank green. */
static const char *delta_color(const struct diff_row *r, const struct diff_output_opts *o)
{
	if (!o->color || !r->significant || r->delta == 0)
		return "";
	return r->delta > 0 ? "\033[31m" : "\033[32m";
}

static bool shown(const struct diff_row *r, const struct diff_output_opts *o)
{
	return fabs(r->delta) >= o->threshold;
}

static void text_group(FILE *out, const char *title, const struct diff_row *v, size_t n,
		       const struct diff_output_opts *o)
{
	fprintf(out, "\n# %s\n%10s %10s %10s  %s\n", title, "before%", "after%", "delta", "name");
	for (size_t i = 0; i < n; i++)
		if (shown(&v[i], o))
			fprintf(out, "%9.2f%% %9.2f%% %+8.2fpp  %s\n", 100 * v[i].share_before, 100 * v[i].share_after,
				v[i].delta, v[i].name[0] ? v[i].name : "[unknown]");
}

void diff_text(FILE *out, const struct diff *df, const struct diff_output_opts *o)
{
	bool time = diff_show_time(df);
	fprintf(out, "# before: %s (%llu sample%s)\n# after:  %s (%llu sample%s)\n", o->before,
		(unsigned long long)df->total_before, df->total_before == 1 ? "" : "s", o->after,
		(unsigned long long)df->total_after, df->total_after == 1 ? "" : "s");
	fprintf(out, "# event: %s, metric: %s, %zu functions tested, Holm-corrected alpha %g\n",
		o->event, diff_metric_names[df->metric], df->tested, df->alpha);
	if (time)
		fprintf(out, "# duration: %.3f s -> %.3f s\n", df->duration_before / 1e9, df->duration_after / 1e9);
	fprintf(out, "%10s %10s %9s %8s %9s  ", "before%", "after%", "delta", "rel", "p(adj)");
	if (time)
		fprintf(out, "%10s %10s  ", "before_ms", "after_ms");
	fprintf(out, "function\n");
	size_t n, k = 0;
	size_t *idx = diff_sorted(df, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct diff_row *r = &df->rows.v[idx[i]];
		if (!shown(r, o))
			continue;
		if (o->top && k++ >= o->top)
			break;
		char rel[16];
		if (isnan(r->rel))
			snprintf(rel, sizeof rel, "%8s", "new");
		else
			snprintf(rel, sizeof rel, "%+7.0f%%", 100 * r->rel);
		const char *c = delta_color(r, o);
		fprintf(out, "%9.2f%% %9.2f%% %s%+7.2fpp%s %s %9.2g%c ", 100 * r->share_before, 100 * r->share_after, c,
			r->delta, *c ? "\033[0m" : "", rel, r->p_adj, r->significant ? '*' : ' ');
		if (time)
			fprintf(out, "%10.1f %10.1f  ", r->share_before * df->duration_before / 1e6,
				r->share_after * df->duration_after / 1e6);
		name_dso(out, r);
		fputc('\n', out);
	}
	fprintf(out, "# * significant at alpha %g after Holm-Bonferroni correction\n", df->alpha);
	for (int st = DIFF_NEW; st <= DIFF_VANISHED; st++) {
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			const struct diff_row *r = &df->rows.v[idx[i]];
			if (r->status != (enum diff_status)st || !shown(r, o))
				continue;
			if (!any)
				fprintf(out, "\n# %s functions\n", st == DIFF_NEW ? "new" : "vanished");
			any = true;
			fprintf(out, "%9.2f%%  ", 100 * (st == DIFF_NEW ? r->share_after : r->share_before));
			name_dso(out, r);
			fputc('\n', out);
		}
	}
	free(idx);
	text_group(out, "by binary (self)", df->binaries.v, df->binaries.n, o);
	text_group(out, "by thread name", df->threads.v, df->threads.n, o);
}

static void json_row(FILE *out, const struct diff *df, const struct diff_row *r, bool func)
{
	fputs("{\"name\": ", out);
	json_string(out, r->name);
	if (func) {
		fputs(", \"binary\": ", out);
		json_string(out, r->dso);
	}
	fprintf(out, ", \"status\": \"%s\", \"samples_before\": %llu, \"samples_after\": %llu, \"share_before\": ",
		diff_status_names[r->status], (unsigned long long)r->before, (unsigned long long)r->after);
	json_num(out, r->share_before);
	fputs(", \"share_after\": ", out);
	json_num(out, r->share_after);
	fputs(", \"delta_pp\": ", out);
	json_num(out, r->delta);
	fputs(", \"relative\": ", out);
	json_num(out, r->rel);
	fputs(", \"z\": ", out);
	json_num(out, r->z);
	fputs(", \"p\": ", out);
	json_num(out, r->p);
	if (func) {
		fputs(", \"p_adjusted\": ", out);
		json_num(out, r->p_adj);
	}
	if (diff_show_time(df)) {
		fputs(", \"time_before_ns\": ", out);
		json_num(out, round(r->share_before * (double)df->duration_before));
		fputs(", \"time_after_ns\": ", out);
		json_num(out, round(r->share_after * (double)df->duration_after));
	}
	fprintf(out, ", \"significant\": %s}", r->significant ? "true" : "false");
}

static void json_group(FILE *out, const struct diff *df, const char *key, const struct diff_row *v, size_t n, const struct diff_output_opts *o)
{
	fprintf(out, ",\n  \"%s\": [", key);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!shown(&v[i], o))
			continue;
		fputs(first ? "\n    " : ",\n    ", out);
		first = false;
		json_row(out, df, &v[i], false);
	}
	fputs(first ? "]" : "\n  ]", out);
}

void diff_json(FILE *out, const struct diff *df, const struct diff_output_opts *o)
{
	fputs("{\n  \"schema\": \"cprof-diff/1\",\n  \"before\": {\"input\": ", out);
	json_string(out, o->before);
	fprintf(out, ", \"samples\": %llu, \"duration_ns\": ", (unsigned long long)df->total_before);
	if (df->duration_before)
		fprintf(out, "%llu", (unsigned long long)df->duration_before);
	else
		fputs("null", out);
	fputs("},\n  \"after\": {\"input\": ", out);
	json_string(out, o->after);
	fprintf(out, ", \"samples\": %llu, \"duration_ns\": ", (unsigned long long)df->total_after);
	if (df->duration_after)
		fprintf(out, "%llu", (unsigned long long)df->duration_after);
	else
		fputs("null", out);
	fputs("},\n  \"event\": ", out);
	json_string(out, o->event);
	fprintf(out, ",\n  \"metric\": \"%s\",\n  \"alpha\": ", diff_metric_names[df->metric]);
	json_num(out, df->alpha);
	fprintf(out, ",\n  \"correction\": \"holm\",\n  \"tested\": %zu,\n  \"functions\": [", df->tested);
	size_t n, k = 0;
	size_t *idx = diff_sorted(df, o->sort, &n);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		const struct diff_row *r = &df->rows.v[idx[i]];
		if (!shown(r, o))
			continue;
		if (o->top && k++ >= o->top)
			break;
		fputs(first ? "\n    " : ",\n    ", out);
		first = false;
		json_row(out, df, r, true);
	}
	fputs(first ? "]" : "\n  ]", out);
	free(idx);
	json_group(out, df, "binaries", df->binaries.v, df->binaries.n, o);
	json_group(out, df, "threads", df->threads.v, df->threads.n, o);
	fputs("\n}\n", out);
}

void diff_csv(FILE *out, const struct diff *df, const struct diff_output_opts *o)
{
	fputs("function,binary,status,samples_before,samples_after,share_before,share_after,delta_pp,relative,z,p,p_adjusted,significant\n",
	      out);
	size_t n, k = 0;
	size_t *idx = diff_sorted(df, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct diff_row *r = &df->rows.v[idx[i]];
		if (!shown(r, o))
			continue;
		if (o->top && k++ >= o->top)
			break;
		csv_field(out, r->name);
		fputc(',', out);
		csv_field(out, r->dso);
		fprintf(out, ",%s,%llu,%llu,%.8g,%.8g,%.6g,", diff_status_names[r->status], (unsigned long long)r->before,
			(unsigned long long)r->after, r->share_before, r->share_after, r->delta);
		if (!isnan(r->rel))
			fprintf(out, "%.6g", r->rel);
		fprintf(out, ",%.6g,%.6g,%.6g,%d\n", r->z, r->p, r->p_adj, r->significant ? 1 : 0);
	}
	free(idx);
}
