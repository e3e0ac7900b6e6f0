/*
 * report-header.c - what a data file says about its recording (report
 * --header-only, perf report's --header-only; and the head of report -v):
 * every metadata entry, the events and the sizes of its tables.
 */
#include <inttypes.h>
#include <string.h>

#include "cprof/output.h"
#include "cprof/report.h"

void report_header_only(FILE *out, const struct cprof_data *d, const char *input)
{
	char b1[32], b2[32];
	fprintf(out, "# ========\n# data: %s\n", input);
	for (size_t i = 0; i < d->meta.n; i++)
		fprintf(out, "# %s: %s\n", cprof_str(d, d->meta.v[i].key), cprof_str(d, d->meta.v[i].value));
	for (size_t i = 0; i < d->events.n; i++) {
		const struct cprof_event *e = &d->events.v[i];
		uint64_t n = 0;
		for (size_t k = 0; k < d->samples.n; k++)
			n += d->samples.v[k].event == i;
		fprintf(out, "# event %zu: %s", i, cprof_str(d, e->name));
		if (e->flags & EVF_FREQ)
			fprintf(out, " (%" PRIu64 " Hz)", e->period);
		else if (e->period)
			fprintf(out, " (every %" PRIu64 " %s)", e->period, cprof_str(d, e->unit));
		if (e->flags & EVF_READ) {
			/* counted, and read with its group leader's samples:
			 * samples of their own once loaded (data.h), values of
			 * the leader's samples before */
			uint64_t reads = n;
			for (size_t k = 0; k < d->sample_values.n; k++)
				reads += d->sample_values.v[k].event == i;
			fprintf(out, ", read with %s leader sample%s\n", fmt_thousands(reads, b1), reads == 1 ? "" : "s");
			continue;
		}
		fprintf(out, ", %s record%s\n", fmt_thousands(n, b1), n == 1 ? "" : "s");
	}
	size_t procs = 0;
	for (size_t i = 0; i < d->threads.n; i++) {
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = d->threads.v[j].pid != d->threads.v[i].pid;
		procs += first;
	}
	fprintf(out, "# threads: %s in %zu process%s\n", fmt_thousands(d->threads.n, b1), procs,
		procs == 1 ? "" : "es");
	fprintf(out, "# distinct stacks: %s, frames: %s, mappings: %zu\n", fmt_thousands(d->stack_offset.n, b1),
		fmt_thousands(d->frames.n, b2), d->maps.n);
	if (d->mem_procs.n)
		fprintf(out, "# memory profile: %zu allocation sites\n", d->mem_sites.n);
	if (d->gpu_ops.n || d->gpu_api.n)
		fprintf(out, "# GPU activity: %zu operations, %zu API calls\n", d->gpu_ops.n, d->gpu_api.n);
	if (d->code.n)
		fprintf(out, "# saved code: %zu function%s\n", d->code.n, d->code.n == 1 ? "" : "s");
	fprintf(out, "# ========\n");
}
