/*
 * cmd-diff.c - `cprof diff BEFORE AFTER`: what changed between two profiles,
 * and whether the change is larger than sampling noise.
 *
 * Exit codes differ from the other commands so the command can gate CI:
 * 0 no significant regression (or no gate asked for), 1 a significant
 * regression beyond --fail-on-regression, 2 any error or usage mistake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/cmd.h"
#include "cprof/diff.h"
#include "cprof/folded.h"
#include "cprof/latdiff.h"
#include "cprof/match.h"
#include "cprof/output.h"
#include "cprof/rewrite.h"
#include "cprof/source.h"

static const char usage_line[] =
	"usage: cprof diff [BEFORE [AFTER]] [--metric self|total] [--sort delta|abs|name]\n"
	"                  [--top N] [--format text|json|csv] [--threshold PCT]\n"
	"                  [--fail-on-regression PCT] [--event NAME] [--alpha A]\n"
	"                  [--full-names] [--fold-go-runtime]\n"
	"                  [--ignore-binary] [--map-binary OLD=NEW] [--color WHEN]\n"
	"       cprof diff --latency [BEFORE [AFTER]] [--sort delta|abs|name] [--top N]\n"
	"                  [--format text|json|csv] [--fail-on-p99 PCT] [--alpha A]\n"
	"                  [--color WHEN]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Compare two profiles. BEFORE and AFTER are cprof data files, perf.data files\n"
	       "or folded stacks (one of them may be '-' for stdin); as with perf diff, they\n"
	       "default to cprof.data.old (the previous recording) and cprof.data. Functions\n"
	       "match by name and binary: the recorded program matches itself across renames\n"
	       "and rebuilds, libraries match by file name without version. Shares are\n"
	       "relative to each run's total, and each change is tested with a two-proportion\n"
	       "z-test, Holm-Bonferroni corrected.\n\n"
	       "  -m, --metric M            self (default) or total samples per function\n"
	       "  -s, --sort KEY            delta (default: largest growth first), abs, name\n"
	       "  -n, --top N               show at most N functions\n"
	       "                            (default 40 in text, all otherwise)\n"
	       "  -f, --format FMT          text (default), json or csv\n"
	       "  -t, --threshold PCT       hide rows that changed by under PCT points\n"
	       "      --fail-on-regression PCT\n"
	       "                            exit 1 if a significant change grew a function\n"
	       "                            by more than PCT percentage points\n"
	       "  -e, --event NAME          the event to compare (default: the first)\n"
	       "      --alpha A             family-wise significance level (default 0.01)\n"
	       "      --full-names          match Rust functions by their full names, hashes\n"
	       "                            included (so only within one build)\n"
	       "      --fold-go-runtime     hide Go runtime frames that only pass control and\n"
	       "                            fold the scheduler's callees into\n"
	       "                            runtime.schedule\n"
	       "      --ignore-binary       match functions by name alone\n"
	       "      --map-binary OLD=NEW  BEFORE's binary OLD is AFTER's NEW (file names;\n"
	       "                            may be given more than once)\n"
	       "      --color WHEN          auto (default: on a terminal, unless NO_COLOR),\n"
	       "                            always or never: growth red, shrinkage green\n"
	       "  -h, --help                show this help\n\n"
	       "With --latency, the latency distributions of two recordings made with\n"
	       "--syscalls, --latency or --offcpu are compared instead, each syscall,\n"
	       "probed function and kind of wait with its namesake: p50 and p99 before and\n"
	       "after, and whether the share of calls slower than BEFORE's p99 grew\n"
	       "(two-proportion z-test, Holm-Bonferroni corrected; untested under %d calls\n"
	       "a side).\n\n"
	       "      --latency             compare latency distributions\n"
	       "      --fail-on-p99 PCT     with --latency: exit 1 if a significantly grown\n"
	       "                            tail took a p99 up by more than PCT percent\n\n"
	       "Exit status: 0 ok, 1 significant regression (with --fail-on-regression or\n"
	       "--fail-on-p99), 2 error.\n",
	       LATDIFF_MIN_CALLS);
}

enum { OPT_FAIL = 256, OPT_ALPHA, OPT_LIST, OPT_IGNORE_BINARY, OPT_MAP_BINARY, OPT_COLOR };
enum { OPT_FULL_NAMES = 320, OPT_FOLD_GO, OPT_LATENCY, OPT_FAIL_P99 };

static const struct option long_opts[] = {
	{ "metric", required_argument, NULL, 'm' },
	{ "sort", required_argument, NULL, 's' },
	{ "top", required_argument, NULL, 'n' },
	{ "format", required_argument, NULL, 'f' },
	{ "threshold", required_argument, NULL, 't' },
	{ "fail-on-regression", required_argument, NULL, OPT_FAIL },
	{ "event", required_argument, NULL, 'e' },
	{ "alpha", required_argument, NULL, OPT_ALPHA },
	{ "full-names", no_argument, NULL, OPT_FULL_NAMES },
	{ "fold-go-runtime", no_argument, NULL, OPT_FOLD_GO },
	{ "ignore-binary", no_argument, NULL, OPT_IGNORE_BINARY },
	{ "map-binary", required_argument, NULL, OPT_MAP_BINARY },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "latency", no_argument, NULL, OPT_LATENCY },
	{ "fail-on-p99", required_argument, NULL, OPT_FAIL_P99 },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "m:s:n:f:t:e:h";

static const char *const format_names[] = { "text", "json", "csv", NULL };

static int fail(const struct cprof_err *e)
{
	cmd_fail("diff", e);
	return EXIT_USAGE;
}

struct side {
	const char *path, *label;
	struct cprof_data d;
	struct profile p;
	bool loaded, built;
	bool full_names, fold_go; /* rewrite.h, before building the profile */
};

static int load_side(struct side *s, const char *event, struct cprof_err *err)
{
	struct folded_warnings warnings = { "diff", 0 };
	s->label = strcmp(s->path, "-") == 0 ? "<stdin>" : s->path;
	int r = profile_source_load(&s->d, s->path, false, &(struct note_sink){ cmd_folded_warn, &warnings }, err);
	s->loaded = true; /* initialised even on failure */
	if (r < 0)
		return -1;
	cmd_folded_warn_finish(&warnings, s->label);
	if (s->full_names)
		(void)rewrite_full_names(&s->d);
	if (s->fold_go)
		(void)rewrite_fold_go_runtime(&s->d);
	struct profile_filter f = PROFILE_FILTER_INIT;
	if (event) {
		f.event = profile_find_event(&s->d, event);
		if (f.event < 0) {
			struct sbuf names = SBUF_INIT;
			for (size_t i = 0; i < s->d.events.n; i++)
				sbuf_addf(&names, "%s%s", i ? ", " : "", cprof_str(&s->d, s->d.events.v[i].name));
			err_set(err, ENOENT, "'%s': no event '%s' (recorded: %s)", s->label, event, names.buf);
			sbuf_release(&names);
			return -1;
		}
	}
	if (profile_build(&s->p, &s->d, &f, err) < 0)
		return -1;
	s->built = true;
	/* An empty side is an error, not a profile that never regresses. */
	if (profile_require_samples(&s->p, s->label, false, err) < 0)
		return -1;
	return 0;
}

static void release_side(struct side *s)
{
	if (s->built)
		profile_release(&s->p);
	if (s->loaded)
		cprof_data_release(&s->d);
}

/* --latency: every source's distributions in s's recording. */
static int load_dists(struct side *s, struct latdist_set *out, struct cprof_err *err)
{
	s->label = strcmp(s->path, "-") == 0 ? "<stdin>" : s->path;
	int r = profile_source_load(&s->d, s->path, false, NULL, err);
	s->loaded = true;
	if (r < 0)
		return -1;
	for (size_t i = 0; cprof_sources[i]; i++) {
		const struct source_view *v = cprof_sources[i]->view;
		if (v && v->dists)
			v->dists(&s->d, out);
	}
	if (!out->v.n)
		return err_set(err, ENOENT, "'%s': no latency distributions to compare (record with --syscalls, "
					    "--latency or --offcpu)", s->label);
	return 0;
}

static int diff_latency(struct side s[2], struct diff_output_opts *oo, int fmt, double alpha, bool gate,
			double gate_pct, enum color_mode color)
{
	struct latdist_set dist[2] = { LATDIST_SET_INIT, LATDIST_SET_INIT };
	struct cprof_err err;
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++)
		if (load_dists(&s[i], &dist[i], &err) < 0)
			rc = fail(&err);
	if (rc == 0) {
		struct latdiff ld;
		latdiff_build(&ld, &dist[0], &dist[1], alpha);
		oo->before = s[0].label;
		oo->after = s[1].label;
		oo->color = fmt == 0 && output_use_color(stdout, color);
		if (fmt == 1)
			latdiff_json(stdout, &ld, oo);
		else if (fmt == 2)
			latdiff_csv(stdout, &ld, oo);
		else
			latdiff_text(stdout, &ld, oo);
		if (gate && latdiff_has_regression(&ld, gate_pct))
			rc = 1;
		latdiff_release(&ld);
	}
	latdist_set_release(&dist[0]);
	latdist_set_release(&dist[1]);
	return rc;
}

static const char *event_name(const struct side *s)
{
	return cprof_str(&s->d, s->d.events.v[s->p.event].name);
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts dopt = DIFF_OPTS_INIT;
	struct diff_output_opts oo = { .sort = DIFF_SORT_DELTA };
	struct match_rule rule = MATCH_RULE_INIT;
	enum color_mode color = COLOR_AUTO;
	struct cprof_err err;
	const char *event = NULL;
	int fmt = 0, c, k;
	bool top_set = false, gate = false, full_names = false, fold_go = false, latency = false, gate99 = false;
	bool profile_only = false; /* an option --latency does not take */
	double gate_pct = 0, gate99_pct = 0;
	uint64_t v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if ((k = enum_from_string(diff_metric_names, optarg)) < 0)
				return cmd_usage_error("diff", usage_line, "unknown metric '%s'; expected one of: self, total", optarg);
			dopt.metric = (enum diff_metric)k;
			profile_only = true;
			break;
		case 's':
			if ((k = enum_from_string(diff_sort_names, optarg)) < 0)
				return cmd_usage_error("diff", usage_line, "unknown sort key '%s'; expected one of: delta, abs, name", optarg);
			oo.sort = (enum diff_sort)k;
			break;
		case 'n':
			if (parse_u64(optarg, &v) < 0)
				return cmd_usage_error("diff", usage_line, "--top needs a number, not '%s'", optarg);
			oo.top = v;
			top_set = true;
			break;
		case 'f':
			if ((fmt = enum_from_string(format_names, optarg)) < 0)
				return cmd_usage_error("diff", usage_line, "unknown format '%s'; expected one of: text, json, csv", optarg);
			break;
		case 't':
			if (parse_double(optarg, &oo.threshold) < 0 || oo.threshold < 0 || oo.threshold > 100)
				return cmd_usage_error("diff", usage_line, "--threshold needs a number from 0 to 100, not '%s'", optarg);
			profile_only = true;
			break;
		case OPT_FAIL:
			if (parse_double(optarg, &gate_pct) < 0 || gate_pct < 0 || gate_pct > 100)
				return cmd_usage_error("diff", usage_line, "--fail-on-regression needs a number from 0 to 100, not '%s'", optarg);
			gate = true;
			profile_only = true;
			break;
		case OPT_FAIL_P99:
			if (parse_double(optarg, &gate99_pct) < 0 || !(gate99_pct >= 0 && gate99_pct < 1e9))
				return cmd_usage_error("diff", usage_line, "--fail-on-p99 needs a percentage of 0 or more, not '%s'", optarg);
			gate99 = true;
			break;
		case OPT_LATENCY: latency = true; break;
		case 'e': event = optarg; profile_only = true; break;
		case OPT_ALPHA:
			if (parse_double(optarg, &dopt.alpha) < 0 || !(dopt.alpha > 0 && dopt.alpha < 1))
				return cmd_usage_error("diff", usage_line, "--alpha needs a number between 0 and 1, not '%s'", optarg);
			break;
		case OPT_FULL_NAMES: full_names = true; profile_only = true; break;
		case OPT_FOLD_GO: fold_go = true; profile_only = true; break;
		case OPT_IGNORE_BINARY: rule.ignore_binary = true; profile_only = true; break;
		case OPT_MAP_BINARY:
			if (match_rule_add_rename(&rule, optarg, &err) < 0) {
				match_rule_release(&rule);
				return cmd_usage_error("diff", usage_line, "%s", err.msg);
			}
			profile_only = true;
			break;
		case OPT_COLOR:
			if ((k = color_mode_from_string(optarg)) < 0) {
				match_rule_release(&rule);
				return cmd_usage_error("diff", usage_line, "--color takes auto, always or never, not '%s'", optarg);
			}
			color = (enum color_mode)k;
			break;
		case 'h': match_rule_release(&rule); help(); return 0;
		case OPT_LIST: match_rule_release(&rule); cmd_list_opts(long_opts, short_opts); return 0;
		default:
			match_rule_release(&rule);
			return cmd_bad_option("diff", usage_line, argc, argv);
		}
	}
	if (argc - optind > 2) {
		match_rule_release(&rule);
		return cmd_usage_error("diff", usage_line, "unexpected argument '%s'", argv[optind + 2]);
	}
	if (latency && profile_only) {
		match_rule_release(&rule);
		return cmd_usage_error("diff", usage_line, "--latency compares distributions: --metric, --threshold, "
							    "--fail-on-regression, --event and the matching options do not apply");
	}
	if (gate99 && !latency) {
		match_rule_release(&rule);
		return cmd_usage_error("diff", usage_line, "--fail-on-p99 needs --latency");
	}
	/* perf diff's defaults: the previous recording against the last one. */
	const char *paths[2] = { "cprof.data.old", "cprof.data" };
	for (int i = 0; i < argc - optind; i++)
		paths[i] = argv[optind + i];
	struct side s[2] = { { .path = paths[0], .full_names = full_names, .fold_go = fold_go },
			     { .path = paths[1], .full_names = full_names, .fold_go = fold_go } };
	if (strcmp(s[0].path, "-") == 0 && strcmp(s[1].path, "-") == 0) {
		match_rule_release(&rule);
		return cmd_usage_error("diff", usage_line, "only one of BEFORE and AFTER can be '-'");
	}
	dopt.match = &rule;
	if (fmt == 0 && !top_set)
		oo.top = 40;

	int rc = 0;
	if (latency) {
		rc = diff_latency(s, &oo, fmt, dopt.alpha, gate99, gate99_pct, color);
		release_side(&s[0]);
		release_side(&s[1]);
		match_rule_release(&rule);
		return rc;
	}
	for (int i = 0; i < 2 && rc == 0; i++)
		if (load_side(&s[i], event, &err) < 0)
			rc = fail(&err);
	struct diff df;
	if (rc == 0 && diff_build(&df, &s[0].p, &s[1].p, &dopt, &err) < 0)
		rc = fail(&err);
	if (rc == 0) {
		oo.before = s[0].label;
		oo.after = s[1].label;
		oo.event = event_name(&s[0]);
		oo.color = fmt == 0 && output_use_color(stdout, color);
		if (fmt == 1)
			diff_json(stdout, &df, &oo);
		else if (fmt == 2)
			diff_csv(stdout, &df, &oo);
		else
			diff_text(stdout, &df, &oo);
		if (gate && diff_has_regression(&df, gate_pct))
			rc = 1;
		diff_release(&df);
	}
	release_side(&s[0]);
	release_side(&s[1]);
	match_rule_release(&rule);
	return rc;
}
