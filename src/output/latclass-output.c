/*
 * latclass-output.c - latency classes (latclass.h) as every latency report
 * writes them: text cells, JSON members and CSV columns.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cprof/fmt.h"
#include "cprof/latclass.h"
#include "cprof/output.h"

static double share(const uint64_t *n, int k)
{
	uint64_t t = 0;
	for (int i = 0; i < LC_N; i++)
		t += n[i];
	return t ? (double)n[k] / (double)t : 0;
}

void latclass_text_title(FILE *out, const struct latclasses *c, const char *what, const char *col, int col_width)
{
	char b[LC_N][FMT_BUF];
	fprintf(out, "\nLatency classes%s%s (fast <= %s < slow <= %s < very slow <= %s < critical; %s):\n%-*s",
		*what ? " " : "", what, fmt_ns(c->limit[0], b[0]), fmt_ns(c->limit[1], b[1]), fmt_ns(c->limit[2], b[2]),
		c->from, col_width, col);
	for (int k = 0; k < LC_N; k++)
		fprintf(out, " %16s", latclass_names[k]);
	fputc('\n', out);
}

void latclass_text_row(FILE *out, const uint64_t *n)
{
	char b[FMT_BUF], cell[64];
	for (int k = 0; k < LC_N; k++) {
		if (n)
			snprintf(cell, sizeof cell, "%s %5.1f%%", fmt_thousands(n[k], b), 100 * share(n, k));
		else
			snprintf(cell, sizeof cell, "-");
		fprintf(out, " %16s", cell);
	}
}

void latclass_json(FILE *out, const uint64_t *n)
{
	if (!n) {
		fprintf(out, ",\"classes\":null");
		return;
	}
	fprintf(out, ",\"classes\":{");
	for (int k = 0; k < LC_N; k++)
		fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "", latclass_keys[k], n[k]);
	for (int k = 0; k < LC_N; k++)
		fprintf(out, ",\"%s_share\":%.6f", latclass_keys[k], share(n, k));
	fprintf(out, "}");
}

void latclass_json_limits(FILE *out, const struct latclasses *c)
{
	fprintf(out, ",\"class_limits_ns\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],\"class_limits_from\":", c->limit[0],
		c->limit[1], c->limit[2]);
	json_string(out, c->from);
}

void latclass_csv_header(FILE *out)
{
	for (int k = 0; k < LC_N; k++)
		fprintf(out, ",%s", latclass_keys[k]);
	for (int k = 0; k < LC_N; k++)
		fprintf(out, ",%s_share", latclass_keys[k]);
}

void latclass_csv_row(FILE *out, const uint64_t *n)
{
	for (int k = 0; k < LC_N; k++)
		if (n)
			fprintf(out, ",%" PRIu64, n[k]);
		else
			fprintf(out, ",");
	for (int k = 0; k < LC_N; k++)
		if (n)
			fprintf(out, ",%.6f", share(n, k));
		else
			fprintf(out, ",");
}
