/*
 * views.c - what `cprof report --gpu` and `cprof flamegraph --gpu` draw
 * (source.h's views): the GPU report, and GPU time as leaves under the
 * CPU stacks that launched the work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cprof/flamegraph.h"
#include "cprof/gpu-record.h"
#include "cprof/gpu-report.h"
#include "cprof/report.h"
#include "cprof/source.h"

static int no_gpu_data(const struct view_call *c, struct cprof_err *err)
{
	const char *why = cprof_meta_get(c->d, "gpu");
	if (why && strcmp(why, "recorded") != 0)
		return err_set(err, ENODATA, "'%s': no GPU activity in this recording (%s)", c->input, why);
	if (why)
		return err_set(err, ENODATA, "'%s': no GPU kernels, copies or memsets in this recording", c->input);
	return err_set(err, ENODATA, "'%s': no GPU activity in this recording (record it with 'cprof record --gpu')",
		       c->input);
}

static int gpu_view_report(const struct view_call *c, struct cprof_err *err)
{
	struct gpu_summary s;
	if (gpu_summary_build(&s, c->d, err) < 0)
		return no_gpu_data(c, err);
	struct gpu_report_opts o = { .input = c->input, .top = c->top };
	switch (c->format) {
	case FORMAT_JSON: gpu_report_json(stdout, &s, &o); break;
	case FORMAT_CSV: gpu_report_csv(stdout, &s, &o); break;
	default: gpu_report_text(stdout, &s, &o); break;
	}
	gpu_summary_release(&s);
	return 0;
}

static int gpu_view_flamegraph(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			       struct cprof_err *err)
{
	(void)palette_set;
	if (!c->d->gpu_ops.n)
		return no_gpu_data(c, err);
	if (!o->title)
		o->title = "GPU Flame Graph";
	if (!o->countname)
		o->countname = "ns";
	gpu_flamegraph_add(g, c->d);
	return 0;
}

const struct source_view gpu_view = {
	.report_usage = "       cprof report --gpu [-i FILE] [--format text|json|csv] [--top N]\n"
			"                    [--timeline FILE]",
	.report_help = "      --gpu              GPU activity (cprof record --gpu): kernels, copies,\n"
		       "                         launch sites, busy/idle time and findings\n",
	.flame_usage = "       cprof flamegraph --gpu [-i FILE] [-o FILE] ...",
	.flame_help = "      --gpu              GPU time (cprof record --gpu): kernels and copies as\n"
		      "                         leaves under the CPU stacks that launched them\n",
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD | VIEW_NO_REVERSE,
	.report = gpu_view_report,
	.flamegraph = gpu_view_flamegraph,
	.timeline = &gpu_timeline,
};
