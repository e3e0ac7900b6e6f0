/*
 * views.c - the data sources' views (source.h) on the commands that draw
 * them: report --NAME and flamegraph --NAME. A command adds the options,
 * usage and help its rows give, hands each option it does not know here,
 * and calls the chosen view once its input is loaded. Nothing in the
 * commands names a source.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cprof/cmd.h"
#include "cprof/outfile.h"
#include "cprof/report.h"
#include "cprof/source.h"

/* Option codes: OPT_VIEW + the source's index * VIEW_STRIDE, + 1 + j for its
 * view option j. */
#define VIEW_STRIDE (VIEW_OPTS_MAX + 1)

static const struct source_view *view_of(size_t i, unsigned cmd)
{
	const struct source_view *v = cprof_sources[i]->view;
	if (!v || (cmd == VIEW_REPORT ? !v->report : !v->flamegraph))
		return NULL;
	return v;
}

static const struct view_opt *opt_of(const struct source_view *v, size_t j)
{
	return v->opts && v->opts[j].name ? &v->opts[j] : NULL;
}

struct option *views_long_opts(const struct option *fixed, unsigned cmd)
{
	size_t nfixed = 0, n = 0;
	while (fixed[nfixed].name)
		nfixed++;
	for (size_t i = 0; cprof_sources[i]; i++)
		n += VIEW_STRIDE;
	struct option *v = xcalloc(nfixed + n + 1, sizeof *v);
	memcpy(v, fixed, nfixed * sizeof *v);
	n = nfixed;
	for (size_t i = 0; cprof_sources[i]; i++) {
		const struct source_view *sv = view_of(i, cmd);
		if (!sv)
			continue;
		v[n++] = (struct option){ cprof_sources[i]->name, no_argument, NULL, OPT_VIEW + (int)(i * VIEW_STRIDE) };
		for (size_t j = 0; opt_of(sv, j); j++) {
			const struct view_opt *o = opt_of(sv, j);
			bool dup = false; /* two sources' --weight: one option, both take it */
			for (size_t k = 0; k < n; k++)
				dup |= strcmp(v[k].name, o->name) == 0;
			if (!dup && (o->in & cmd))
				v[n++] = (struct option){ o->name, o->has_arg ? required_argument : no_argument, NULL,
							  OPT_VIEW + (int)(i * VIEW_STRIDE + 1 + j) };
		}
	}
	return v;
}

const char *views_usage(const char *own, unsigned cmd)
{
	struct sbuf usage = SBUF_INIT;
	sbuf_adds(&usage, own);
	for (size_t i = 0; cprof_sources[i]; i++) {
		const struct source_view *v = view_of(i, cmd);
		if (v)
			sbuf_addf(&usage, "\n%s", cmd == VIEW_REPORT ? v->report_usage : v->flame_usage);
	}
	return sbuf_detach(&usage);
}

void views_help(unsigned cmd)
{
	for (size_t i = 0; cprof_sources[i]; i++) {
		const struct source_view *v = view_of(i, cmd);
		if (v)
			fputs(cmd == VIEW_REPORT ? v->report_help : v->flame_help, stdout);
	}
}

bool views_take(struct views *vs, int code, const char *arg)
{
	if (code < OPT_VIEW || code >= OPT_VIEW + VIEW_STRIDE * VIEWS_MAX)
		return false;
	size_t i = (size_t)(code - OPT_VIEW) / VIEW_STRIDE, j = (size_t)(code - OPT_VIEW) % VIEW_STRIDE;
	if (j == 0) {
		vs->on[i] = true;
		return true;
	}
	/* Every source whose view takes an option of this name gets the value. */
	const char *name = cprof_sources[i]->view->opts[j - 1].name;
	for (size_t k = 0; cprof_sources[k]; k++) {
		const struct source_view *v = view_of(k, vs->cmd);
		for (size_t m = 0; v && opt_of(v, m); m++)
			if ((v->opts[m].in & vs->cmd) && strcmp(v->opts[m].name, name) == 0)
				vs->call[k].arg[m] = arg ? arg : "";
	}
	return true;
}

/* "--a", "--a or --b", "--a, --b or --c": the sources whose view takes name. */
static void owners(const struct views *vs, const char *name, struct sbuf *out)
{
	size_t n = 0, total = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; cprof_sources[k]; k++) {
			const struct source_view *v = view_of(k, vs->cmd);
			bool has = false;
			for (size_t m = 0; v && opt_of(v, m); m++)
				has |= (v->opts[m].in & vs->cmd) && strcmp(v->opts[m].name, name) == 0;
			if (!has)
				continue;
			if (pass == 0) {
				total++;
				continue;
			}
			sbuf_addf(out, "%s--%s", n == 0 ? "" : n + 1 == total ? " or " : ", ", cprof_sources[k]->name);
			n++;
		}
}

int views_check(struct views *vs, int format, struct cprof_err *err)
{
	const char *what = vs->cmd == VIEW_REPORT ? "are separate reports" : "draw different graphs";
	vs->chosen = -1;
	for (size_t i = 0; cprof_sources[i]; i++) {
		if (!vs->on[i])
			continue;
		if (vs->chosen >= 0)
			return err_set(err, EINVAL, "--%s and --%s %s; pick one", cprof_sources[vs->chosen]->name,
				       cprof_sources[i]->name, what);
		vs->chosen = (int)i;
	}
	/* An option of a view not chosen: say which views take it. */
	for (size_t i = 0; cprof_sources[i]; i++) {
		const struct source_view *v = view_of(i, vs->cmd);
		for (size_t j = 0; v && opt_of(v, j); j++) {
			if (!vs->call[i].arg[j] || (vs->chosen >= 0 && vs->on[i]))
				continue;
			bool taken = false; /* the chosen view has an option of this name */
			const struct source_view *c = vs->chosen >= 0 ? view_of((size_t)vs->chosen, vs->cmd) : NULL;
			for (size_t m = 0; c && opt_of(c, m); m++)
				taken |= strcmp(c->opts[m].name, v->opts[j].name) == 0 && (c->opts[m].in & vs->cmd);
			if (taken)
				continue;
			struct sbuf who = SBUF_INIT;
			owners(vs, v->opts[j].name, &who);
			err_set(err, EINVAL, "--%s goes with %s", v->opts[j].name, who.buf);
			sbuf_release(&who);
			return -EINVAL;
		}
	}
	if (vs->chosen < 0)
		return 0;
	const struct source_view *v = view_of((size_t)vs->chosen, vs->cmd);
	const char *name = cprof_sources[vs->chosen]->name;
	if (vs->cmd == VIEW_REPORT && format >= 0 && !(v->formats & (1u << format)))
		return err_set(err, EINVAL, "--%s has no %s format", name, report_format_names[format]);
	struct view_call *c = &vs->call[vs->chosen];
	c->format = format;
	return v->check ? v->check(c, err) : 0;
}

const struct timeline_track *const *views_timeline_tracks(void)
{
	static const struct timeline_track *v[VIEWS_MAX + 1];
	size_t n = 0;
	for (size_t i = 0; cprof_sources[i] && n < VIEWS_MAX; i++)
		if (cprof_sources[i]->view && cprof_sources[i]->view->timeline)
			v[n++] = cprof_sources[i]->view->timeline;
	v[n] = NULL;
	return v;
}

const char *views_chosen_name(const struct views *vs)
{
	return vs->chosen >= 0 ? cprof_sources[vs->chosen]->name : NULL;
}

unsigned views_refused(const struct views *vs)
{
	return vs->chosen >= 0 ? view_of((size_t)vs->chosen, vs->cmd)->flame_refuses : 0;
}

int views_open(struct views *vs, struct cprof_err *err)
{
	if (vs->chosen < 0)
		return 0;
	const struct source_view *v = view_of((size_t)vs->chosen, vs->cmd);
	struct view_call *c = &vs->call[vs->chosen];
	for (size_t j = 0; opt_of(v, j); j++) {
		if (!v->opts[j].outfile || !c->arg[j])
			continue;
		if (outfile_open(&vs->files[j], c->arg[j], 0, err) < 0) {
			views_close(vs);
			return -1;
		}
		c->out[j] = &vs->files[j];
	}
	return 0;
}

void views_close(struct views *vs)
{
	for (size_t j = 0; j < VIEW_OPTS_MAX; j++)
		outfile_abort(&vs->files[j]);
}

int views_report(struct views *vs, const struct cprof_data *d, const char *input, size_t top, bool top_set)
{
	struct view_call *c = &vs->call[vs->chosen];
	c->d = d;
	c->input = input;
	c->top = top;
	c->top_set = top_set;
	struct cprof_err err;
	int r = view_of((size_t)vs->chosen, VIEW_REPORT)->report(c, &err);
	views_close(vs);
	return r < 0 ? cmd_fail("report", &err) : 0;
}

int views_flamegraph(struct views *vs, struct flamegraph *g, struct fg_opts *o, bool palette_set,
		     const struct cprof_data *d, const char *input, bool reverse)
{
	struct view_call *c = &vs->call[vs->chosen];
	c->d = d;
	c->input = input;
	c->reverse = reverse;
	struct cprof_err err;
	if (view_of((size_t)vs->chosen, VIEW_FLAME)->flamegraph(g, o, palette_set, c, &err) < 0)
		return cmd_fail("flamegraph", &err);
	return 0;
}
