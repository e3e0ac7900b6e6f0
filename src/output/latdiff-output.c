/*
 * latdiff-output.c - `cprof diff --latency` as text, JSON
 * ("cprof-latency-diff/1") and CSV.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "cprof/fmt.h"
#include "cprof/latdiff.h"
#include "cprof/output.h"

static const char *change_text(const struct latdiff_row *r, char *buf, size_t size)
{
	if (r->status != DIFF_BOTH)
		snprintf(buf, size, "%s", diff_status_names[r->status]);
	else if (isinf(r->p99_change))
		snprintf(buf, size, "from 0");
	else
		snprintf(buf, size, "%+.0f%%", 100 * r->p99_change);
	return buf;
}

static const char *color_of(const struct latdiff_row *r, const struct diff_output_opts *o)
{
	if (!o->color || !r->significant || r->z == 0)
		return "";
	return r->z > 0 ? "\033[31m" : "\033[32m";
}

void latdiff_text(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o)
{
	fprintf(out, "# before: %s\n# after:  %s\n", o->before, o->after);
	fprintf(out, "# latency distributions, %zu tested: does the share of calls slower than the lower\n"
		     "# p99 differ? (two-proportion z-test, Fisher's exact for small tails, Holm-corrected\n"
		     "# alpha %g; percentiles within 1/128 above the exact value)\n",
		ld->tested, ld->alpha);
	fprintf(out, "%10s %10s %9s %11s %10s %10s %9s %9s  %s\n", "p99 before", "p99 after", "change", "p(adj)",
		"p50 before", "p50 after", "calls bef", "calls aft", "what");
	size_t n, k = 0;
	size_t *idx = latdiff_sorted(ld, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct latdiff_row *r = &ld->rows.v[idx[i]];
		if (o->top && k++ >= o->top)
			break;
		char b[6][FMT_BUF], ch[24], p[24];
		if (r->tested)
			snprintf(p, sizeof p, "%.2g%c", r->p_adj, r->significant ? '*' : ' ');
		else
			snprintf(p, sizeof p, "%s", r->status == DIFF_BOTH ? "too few " : "");
		const char *c = color_of(r, o);
		fprintf(out, "%10s %10s %s%9s%s %11s %10s %10s %9" PRIu64 " %9" PRIu64 "  %s %s\n",
			r->calls[0] ? fmt_ns(r->p99[0], b[0]) : "-", r->calls[1] ? fmt_ns(r->p99[1], b[1]) : "-", c,
			change_text(r, ch, sizeof ch), *c ? "\033[0m" : "", p,
			r->calls[0] ? fmt_ns(r->p50[0], b[2]) : "-", r->calls[1] ? fmt_ns(r->p50[1], b[3]) : "-",
			r->calls[0], r->calls[1], r->source, r->name);
	}
	free(idx);
	fprintf(out, "# * the tail changed significantly; \"too few\": under %d calls a side, not tested\n",
		LATDIFF_MIN_CALLS);
}

void latdiff_json(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o)
{
	fputs("{\"schema\": \"cprof-latency-diff/1\", \"before\": ", out);
	json_string(out, o->before);
	fputs(", \"after\": ", out);
	json_string(out, o->after);
	fprintf(out, ", \"alpha\": %g, \"tested\": %zu, \"rows\": [", ld->alpha, ld->tested);
	size_t n, k = 0;
	size_t *idx = latdiff_sorted(ld, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct latdiff_row *r = &ld->rows.v[idx[i]];
		if (o->top && k >= o->top)
			break;
		fputs(k++ ? ",\n  {\"source\": " : "\n  {\"source\": ", out);
		json_string(out, r->source);
		fputs(", \"name\": ", out);
		json_string(out, r->name);
		fprintf(out, ", \"status\": \"%s\"", diff_status_names[r->status]);
		static const char *const side[2] = { "before", "after" };
		for (int s = 0; s < 2; s++)
			fprintf(out,
				", \"calls_%s\": %" PRIu64 ", \"p50_%s_ns\": %" PRIu64 ", \"p90_%s_ns\": %" PRIu64
				", \"p99_%s_ns\": %" PRIu64 ", \"max_%s_ns\": %" PRIu64,
				side[s], r->calls[s], side[s], r->p50[s], side[s], r->p90[s], side[s], r->p99[s], side[s],
				r->max[s]);
		fputs(", \"p99_change\": ", out);
		json_num(out, r->p99_change);
		fprintf(out, ", \"tail_at_ns\": %" PRIu64 ", \"tail_before\": %" PRIu64 ", \"tail_after\": %" PRIu64 ", \"tested\": %s", r->tail_at, r->tail[0],
			r->tail[1], r->tested ? "true" : "false");
		fputs(", \"z\": ", out);
		json_num(out, r->z);
		fputs(", \"p\": ", out);
		json_num(out, r->p);
		fputs(", \"p_adjusted\": ", out);
		json_num(out, r->p_adj);
		fprintf(out, ", \"significant\": %s}", r->significant ? "true" : "false");
	}
	free(idx);
	fputs(n ? "\n]}\n" : "]}\n", out);
}

void latdiff_csv(FILE *out, const struct latdiff *ld, const struct diff_output_opts *o)
{
	fputs("source,name,status,calls_before,calls_after,p50_before_ns,p50_after_ns,p90_before_ns,p90_after_ns,"
	      "p99_before_ns,p99_after_ns,max_before_ns,max_after_ns,p99_change,tail_at_ns,tail_before,tail_after,tested,"
	      "z,p,"
	      "p_adjusted,significant\n",
	      out);
	size_t n, k = 0;
	size_t *idx = latdiff_sorted(ld, o->sort, &n);
	for (size_t i = 0; i < n; i++) {
		const struct latdiff_row *r = &ld->rows.v[idx[i]];
		if (o->top && k++ >= o->top)
			break;
		csv_field(out, r->source);
		fputc(',', out);
		csv_field(out, r->name);
		fprintf(out, ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			     ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
			diff_status_names[r->status], r->calls[0], r->calls[1], r->p50[0], r->p50[1], r->p90[0], r->p90[1],
			r->p99[0], r->p99[1], r->max[0], r->max[1]);
		if (!isnan(r->p99_change) && !isinf(r->p99_change))
			fprintf(out, "%.6g", r->p99_change);
		fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d,%.6g,%.6g,%.6g,%d\n", r->tail_at, r->tail[0], r->tail[1],
			r->tested, r->z,
			r->p, r->p_adj, r->significant);
	}
	free(idx);
}
