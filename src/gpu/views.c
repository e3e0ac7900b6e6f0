/*
 * views.c - the GPU parts of `cprof report` (--gpu, --timeline) and
 * `cprof flamegraph` (--gpu). The commands parse their options and call
 * these once the recording is loaded; messages go out here, as in a
 * command file (the views are the commands' side of the source).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cprof/export.h"
#include "cprof/flamegraph.h"
#include "cprof/gpu-report.h"
#include "cprof/output.h"
#include "cprof/report.h"
#include "cprof/outfile.h"

static int no_gpu_data(const char *cmd, const struct cprof_data *d, const char *input)
{
	const char *why = cprof_meta_get(d, "gpu");
	if (why && strcmp(why, "recorded") != 0)
		fprintf(stderr, "cprof %s: '%s': no GPU activity in this recording (%s)\n", cmd, input, why);
	else if (why)
		fprintf(stderr, "cprof %s: '%s': no GPU kernels, copies or memsets in this recording\n", cmd, input);
	else
		fprintf(stderr, "cprof %s: '%s': no GPU activity in this recording (record it with 'cprof record "
				"--gpu')\n", cmd, input);
	return 1;
}

static int write_timeline(const struct cprof_data *d, struct outfile *out, const char *input)
{
	struct cprof_err err;
	if (timeline_write(out->fp, d, &err) < 0) {
		fprintf(stderr, "cprof report: '%s': %s\n", input, err.msg);
		return 1; /* the caller aborts the output file */
	}
	if (outfile_commit(out, &err) < 0) {
		fprintf(stderr, "cprof report: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int gpu_view_report(const struct cprof_data *d, const char *input, int format, size_t top, bool gpu,
		   struct outfile *timeline)
{
	if (timeline) {
		if (!d->samples.n && !d->gpu_ops.n && !d->gpu_api.n) {
			fprintf(stderr, "cprof report: '%s': nothing to put on a timeline\n", input);
			return 1;
		}
		int r = write_timeline(d, timeline, input);
		if (r || !gpu)
			return r;
	}
	struct gpu_summary s;
	struct cprof_err err;
	if (gpu_summary_build(&s, d, &err) < 0)
		return no_gpu_data("report", d, input);
	struct gpu_report_opts o = { .input = input, .top = top };
	switch (format) {
	case FORMAT_JSON: gpu_report_json(stdout, &s, &o); break;
	case FORMAT_CSV: gpu_report_csv(stdout, &s, &o); break;
	default: gpu_report_text(stdout, &s, &o); break;
	}
	gpu_summary_release(&s);
	return 0;
}

int gpu_view_flamegraph(struct flamegraph *g, const struct cprof_data *d, const char *input)
{
	if (!d->gpu_ops.n)
		return no_gpu_data("flamegraph", d, input);
	gpu_flamegraph_add(g, d);
	return 0;
}
