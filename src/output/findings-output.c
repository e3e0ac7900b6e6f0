/*
 * findings-output.c - the findings of a CPU profile (findings.h) at the
 * end of `cprof report`: a section of the text view, an array in JSON.
 */
#include <math.h>
#include <stdio.h>

#include "cprof/findings.h"
#include "cprof/output.h"
#include "cprof/report.h"

void findings_text(FILE *out, const struct findings *f, bool color)
{
	static const char *const sev_color[] = { "\033[1;31m", "\033[31m", "\033[33m", "", "\033[2m" };
	fprintf(out, "\n%sFindings%s\n", color ? "\033[1m" : "", color ? "\033[0m" : "");
	if (!f->v.n) {
		fprintf(out, "  nothing stands out\n");
		return;
	}
	for (size_t i = 0; i < f->v.n; i++) {
		const struct finding *x = &f->v.v[i];
		fprintf(out, "  %s[%s]%s %s (%s)\n", color ? sev_color[x->sev] : "", finding_sev_names[x->sev],
			color ? "\033[0m" : "", x->summary, x->rule);
		fprintf(out, "      evidence: %s\n", x->evidence);
		fprintf(out, "      next:     %s\n", x->next);
	}
}

void findings_json(FILE *out, const struct findings *f)
{
	fputc('[', out);
	for (size_t i = 0; i < f->v.n; i++) {
		const struct finding *x = &f->v.v[i];
		fprintf(out, "%s\n    {\"rule\": ", i ? "," : "");
		json_string(out, x->rule);
		fprintf(out, ", \"severity\": \"%s\", \"value\": ", finding_sev_names[x->sev]);
		if (isfinite(x->value))
			fprintf(out, "%.6g", x->value);
		else
			fputs("null", out);
		fprintf(out, ",\n     \"summary\": ");
		json_string(out, x->summary);
		fprintf(out, ",\n     \"evidence\": ");
		json_string(out, x->evidence);
		fprintf(out, ",\n     \"next\": ");
		json_string(out, x->next);
		fputc('}', out);
	}
	fprintf(out, "%s]", f->v.n ? "\n  " : "");
}
