/*
 * views.c - what `cprof report --mem` and `cprof flamegraph --mem` draw
 * (source.h's views): the memory report with its heap chart (--plot), and
 * the allocation flame graph, weighed by bytes or by count (--weight).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cprof/flamegraph.h"
#include "cprof/mem-record.h"
#include "cprof/mem-report.h"
#include "cprof/outfile.h"
#include "cprof/source.h"

enum { OPT_WEIGHT, OPT_PLOT };

static const struct view_opt mem_view_opts[] = {
	[OPT_WEIGHT] = { "weight", true, VIEW_REPORT | VIEW_FLAME, false },
	[OPT_PLOT] = { "plot", true, VIEW_REPORT, true },
	{ NULL, false, 0, false },
};

static enum mem_weight weight_of(const struct view_call *c)
{
	return c->arg[OPT_WEIGHT] && strcmp(c->arg[OPT_WEIGHT], "count") == 0 ? MEMW_COUNT : MEMW_BYTES;
}

static int mem_view_check(const struct view_call *c, struct cprof_err *err)
{
	const char *w = c->arg[OPT_WEIGHT];
	for (size_t i = 0; w && mem_weight_names[i]; i++)
		if (strcmp(mem_weight_names[i], w) == 0)
			return 0;
	return w ? err_set(err, EINVAL, "unknown weight '%s'; expected bytes or count", w) : 0;
}

/* No memory profile: why, in one line. */
static int no_mem_data(const struct view_call *c, struct cprof_err *err)
{
	const char *why = cprof_meta_get(c->d, "mem_not_traced_why");
	if (!cprof_meta_get(c->d, "mem"))
		return err_set(err, ENODATA, "'%s': no memory profile in this recording (record with --mem)", c->input);
	if (!why)
		return err_set(err, ENODATA, "'%s': recorded with --mem, but no process was traced", c->input);
	struct sbuf joined = SBUF_INIT; /* the reasons, one line */
	for (const char *p = why; *p; p++)
		if (*p == '\n')
			sbuf_adds(&joined, "; ");
		else
			sbuf_addc(&joined, *p);
	err_set(err, ENODATA, "'%s': recorded with --mem, but no process was traced: %s", c->input, joined.buf);
	sbuf_release(&joined);
	return -ENODATA;
}

static int mem_view_report(const struct view_call *c, struct cprof_err *err)
{
	if (!c->d->mem_procs.n)
		return no_mem_data(c, err);
	struct outfile *plot = c->out[OPT_PLOT];
	if (plot) {
		struct sbuf title = SBUF_INIT;
		const char *cmd = cprof_meta_get(c->d, "command");
		sbuf_addf(&title, "Heap in use: %s", cmd ? cmd : c->input);
		int r = mem_plot_svg(plot->fp, c->d, title.buf, err);
		sbuf_release(&title);
		if (r < 0 || (r = outfile_commit(plot, err)) < 0)
			return r;
	}
	/* Ten rows a table on a terminal: the report has several. */
	struct mem_report_opts mo = { .input = c->input, .format = (enum report_format)c->format,
				      .weight = weight_of(c),
				      .top = c->top_set || c->format != FORMAT_TEXT ? c->top : 10 };
	mem_report(stdout, c->d, &mo);
	return 0;
}

static int mem_view_flamegraph(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			       struct cprof_err *err)
{
	if (!c->d->mem_procs.n)
		return no_mem_data(c, err);
	enum mem_weight w = weight_of(c);
	if (!palette_set)
		o->palette = FG_MEM;
	if (!o->countname)
		o->countname = w == MEMW_COUNT ? "allocations" : "bytes";
	if (!o->title)
		o->title = "Allocation Flame Graph";
	fg_add_mem(g, c->d, w, c->reverse);
	return 0;
}

const struct source_view mem_view = {
	.report_usage = "       cprof report --mem [-i FILE] [--format text|json|csv|folded]\n"
			"                    [--weight bytes|count] [--top N] [--plot SVG]",
	.report_help = "      --mem              the memory profile of a 'record --mem' recording:\n"
		       "                         leaks, peak heap, hot spots, temporaries, sizes\n"
		       "      --weight W         --mem --format folded: weigh stacks by allocated\n"
		       "                         bytes (default) or by allocation count\n"
		       "      --plot SVG         --mem: also draw the heap over time into SVG\n",
	.flame_usage = "       cprof flamegraph --mem [--weight bytes|count] [-i FILE] [-o FILE] ...",
	.flame_help = "      --mem              allocation flame graph of a 'record --mem' recording\n"
		      "                         (mem palette); widths are bytes allocated\n"
		      "      --weight W         --mem: bytes (default) or count of allocations\n",
	.opts = mem_view_opts,
	.formats = 1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV | 1u << FORMAT_FOLDED,
	.flame_refuses = VIEW_NO_DIFF | VIEW_NO_CHART | VIEW_NO_PER_THREAD,
	.check = mem_view_check,
	.report = mem_view_report,
	.flamegraph = mem_view_flamegraph,
};
