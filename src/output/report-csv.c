/* report-csv.c - one row per function, header first; columns in cprof-report(1). */
#include <inttypes.h>
#include <stdlib.h>

#include "cprof/output.h"
#include "cprof/report.h"

void report_csv(FILE *out, const struct profile *p, const struct report_opts *o)
{
	const struct cprof_data *d = p->d;
	size_t n, shown = 0;
	uint32_t *order = report_sorted_funcs(p, o->sort, &n);
	fprintf(out, "self_percent,total_percent,self_samples,total_samples,self_weight,total_weight,function,dso,file,line\n");
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
		fprintf(out, ",%u\n", f->line);
		shown++;
	}
	free(order);
}
