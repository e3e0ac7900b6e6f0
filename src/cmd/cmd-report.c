/*
 * cmd-report.c - `cprof report`: read a recording (or folded stacks) and
 * print it as text, JSON, CSV or folded stacks.
 *
 * One file, as every command is: its options, their checks and its help text
 * are most of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cprof/calltree.h"
#include "cprof/cmd.h"
#include "cprof/evcols.h"
#include "cprof/findings.h"
#include "cprof/folded.h"
#include "cprof/group.h"
#include "cprof/output.h"
#include "cprof/timeline.h"
#include "cprof/report.h"
#include "cprof/outfile.h"
#include "cprof/rewrite.h"

/* The usage lines: the command's, then the data sources' views (cmd.h). */
static const char *usage_line;
static const char usage_own[] =
	"usage: cprof report [-i FILE] [--format text|json|csv|folded]\n"
	"                    [--sort self|total|line | -s KEY,...] [--lines] [--top N]\n"
	"                    [--children | --no-children] [-G | -g caller|callee]\n"
	"                    [--threads] [--comm NAMES] [--tid TIDS] [--pid PIDS]\n"
	"                    [--dso NAME] [--symbols NAMES] [--symbol-filter TEXT]\n"
	"                    [--max-stack N] [--event NAME] [--percent-limit P]\n"
	"                    [--color WHEN] [--stacks] [-q] [-v] [--header-only]\n"
	"                    [--full-names] [--fold-go-runtime]\n"
	"                    [--no-findings] [--finding KEY=VALUE]\n"
	"                    [--findings-config FILE] [--timeline FILE]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Show a recorded profile. The input is a cprof data file, a perf.data or folded\n"
	       "stacks (file or '-' for stdin); the format is detected.\n\n"
	       "  -i, --input FILE       input file ('-' reads stdin; default: a pipe or a\n"
	       "                         file on stdin, as perf report, else cprof.data)\n"
	       "  -f, --format FMT       text (default), json, csv or folded\n"
	       "  -s, --sort KEY         order functions by self (default) or total; 'line':\n"
	       "                         source lines instead of functions, by self. perf's\n"
	       "                         keys, comma-separated: comm, pid, tid, dso, sym,\n"
	       "                         cpu: one row per combination (-s dso: time per\n"
	       "                         binary, -s comm,pid per process, -s cpu per CPU)\n"
	       "  -l, --lines            rows are source lines (text, CSV), JSON adds a\n"
	       "                         \"lines\" array, folded frames carry their line\n"
	       "      --top N            show at most N rows (default 40 in text, all in the\n"
	       "                         other formats)\n"
	       "  -n, --show-nr-samples  accepted for perf: the Samples column is always shown\n"
	       "                         (before perf's spelling, -n was --top)\n"
	       "      --children         sort by the total (self + callees) column, as perf\n"
	       "                         does with --children; cprof's default sorts by self\n"
	       "                         and shows both\n"
	       "      --no-children      hide the total column (and sort by self)\n"
	       "  -G, --call-tree        also print the call tree, callers above callees\n"
	       "                         (perf's -G, --inverted)\n"
	       "  -g, --call-graph SPEC  also print the call tree: 'caller' (as -G) or\n"
	       "                         'callee' (default: each hot function, then who\n"
	       "                         called it), a number (hide paths under that\n"
	       "                         percent), 'none'; perf's 'graph,0.5,caller' works\n"
	       "  -T, --threads          also print samples per process and thread\n"
	       "  -c, --comm NAMES       only threads of these names, comma-separated; a\n"
	       "                         name matches names it begins (worker: worker-0),\n"
	       "                         globs work (worker-[12]); unknown names are listed\n"
	       "                         (perf's --comms is the same)\n"
	       "      --tid TIDS         only these threads (comma-separated ids)\n"
	       "      --pid PIDS         only these processes (comma-separated ids)\n"
	       "      --dso NAME         only samples whose stack passes through binary NAME\n"
	       "  -S, --symbols NAMES    list only these functions (comma-separated); shares\n"
	       "                         stay of the whole profile\n"
	       "      --symbol-filter TEXT\n"
	       "                         list only functions whose name contains TEXT\n"
	       "      --max-stack N      use only the N innermost frames of each stack\n"
	       "  -e, --event NAME       the event to show in a multi-event recording (a name\n"
	       "                         without its /terms/ or :modifiers will do); the\n"
	       "                         report ends with every event side by side (text,\n"
	       "                         JSON, CSV), and IPC where cycles and instructions\n"
	       "                         were counted\n"
	       "      --percent-limit P  hide functions (and tree paths) under P percent\n"
	       "      --color WHEN       auto (default: on a terminal, unless NO_COLOR),\n"
	       "                         always or never\n"
	       "      --stdio            accepted for perf: the report is always text on\n"
	       "                         standard output\n"
	       "  -q, --quiet            no header, hint or warnings: the table alone\n"
	       "  -v, --verbose          everything the data file says about the recording\n"
	       "                         above the report, and every malformed folded line\n"
	       "      --header-only      only that, no report\n"
	       "      --stacks           --format json: also every stack and its frames\n"
	       "      --full-names       keep Rust symbol hashes and crate disambiguators,\n"
	       "                         and C++ names whole on a terminal\n"
	       "                         (dropped by default)\n"
	       "      --fold-go-runtime  hide Go runtime frames that only pass control\n"
	       "                         (runtime.goexit, mcall, systemstack, ...) and fold\n"
	       "                         the scheduler's callees into runtime.schedule\n"
	       "      --no-findings      do not end the text and JSON views with findings\n"
	       "                         (hot functions, allocator, locks, system calls,\n"
	       "                         page faults, recursion, IPC, profile quality)\n"
	       "      --finding KEY=VALUE  set a finding's threshold (repeatable), e.g.\n"
	       "                         hot-function.high=60; cprof-report(1) lists them\n"
	       "      --findings-config FILE  thresholds, one KEY = VALUE a line (default\n"
	       "                         $XDG_CONFIG_HOME/cprof/findings.conf if it exists)\n");
	views_help(VIEW_REPORT);
	printf("      --timeline FILE    write CPU samples, CUDA API calls and GPU work as a\n"
	       "                         Chrome trace (open in Perfetto) instead of a report\n"
	       "  -h, --help             show this help\n");
}

enum { OPT_NO_CHILDREN = 256, OPT_TID, OPT_PID, OPT_DSO, OPT_PERCENT, OPT_COLOR,
       OPT_LIST, OPT_TIMELINE, OPT_STACKS, OPT_TOP, OPT_CHILDREN, OPT_STDIO, OPT_HEADER_ONLY,
       OPT_MAX_STACK, OPT_SYMBOL_FILTER,
       OPT_NO_FINDINGS, OPT_FINDING, OPT_FINDINGS_CONFIG };
enum { OPT_FULL_NAMES = 320, OPT_FOLD_GO };

static const struct option long_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, 'f' },
	{ "sort", required_argument, NULL, 's' },
	{ "lines", no_argument, NULL, 'l' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "show-nr-samples", no_argument, NULL, 'n' },
	{ "children", no_argument, NULL, OPT_CHILDREN },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "call-tree", no_argument, NULL, 'G' },
	{ "inverted", no_argument, NULL, 'G' },
	{ "call-graph", optional_argument, NULL, 'g' },
	{ "threads", no_argument, NULL, 'T' },
	{ "comm", required_argument, NULL, 'c' },
	{ "comms", required_argument, NULL, 'c' },
	{ "tid", required_argument, NULL, OPT_TID },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "dso", required_argument, NULL, OPT_DSO },
	{ "symbols", required_argument, NULL, 'S' },
	{ "symbol-filter", required_argument, NULL, OPT_SYMBOL_FILTER },
	{ "max-stack", required_argument, NULL, OPT_MAX_STACK },
	{ "event", required_argument, NULL, 'e' },
	{ "percent-limit", required_argument, NULL, OPT_PERCENT },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "stdio", no_argument, NULL, OPT_STDIO },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "header-only", no_argument, NULL, OPT_HEADER_ONLY },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "stacks", no_argument, NULL, OPT_STACKS },
	{ "full-names", no_argument, NULL, OPT_FULL_NAMES },
	{ "fold-go-runtime", no_argument, NULL, OPT_FOLD_GO },
	{ "no-findings", no_argument, NULL, OPT_NO_FINDINGS },
	{ "finding", required_argument, NULL, OPT_FINDING },
	{ "findings-config", required_argument, NULL, OPT_FINDINGS_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "i:f:s:lnGg::Tc:S:e:qvh";

/*
 * perf's -g takes its value in the next word ("-g caller"), which getopt
 * leaves as a positional: a word that parses as a call-graph spec is taken.
 * SPEC: comma-separated graph|flat|fractal|folded|none, caller|callee,
 * function, and a number, the smallest share of a path shown.
 */
static int parse_call_graph(const char *spec, struct report_opts *o)
{
	struct report_opts t = *o;
	t.call_tree = true;
	t.callee_tree = true; /* perf's default order */
	for (const char *p = spec;;) {
		size_t n = strcspn(p, ",");
		char word[32];
		double v;
		if (n == 0 || n >= sizeof word)
			return -EINVAL;
		memcpy(word, p, n);
		word[n] = 0;
		if (strcmp(word, "caller") == 0)
			t.callee_tree = false;
		else if (strcmp(word, "callee") == 0)
			t.callee_tree = true;
		else if (strcmp(word, "none") == 0)
			t.call_tree = false;
		else if (strcmp(word, "graph") == 0 || strcmp(word, "fractal") == 0 || strcmp(word, "flat") == 0 ||
			 strcmp(word, "folded") == 0 || strcmp(word, "function") == 0)
			; /* the tree is cprof's one way to print a call graph */
		else if (parse_double(word, &v) == 0 && v >= 0 && v <= 100)
			t.tree_limit = v;
		else
			return -EINVAL;
		if (!p[n])
			break;
		p += n + 1;
	}
	*o = t;
	return 0;
}

static bool looks_like_call_graph(const char *word)
{
	struct report_opts t = { 0 };
	return word[0] != '-' && parse_call_graph(word, &t) == 0;
}

/* The findings config: FILE if given (it must exist), else the user's
 * default file if there is one. */
static int load_findings_config(struct finding_rules *r, const char *file, struct cprof_err *err)
{
	struct sbuf path = SBUF_INIT;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (file)
		sbuf_adds(&path, file);
	else if (xdg && *xdg == '/')
		sbuf_addf(&path, "%s/cprof/findings.conf", xdg);
	else if (home && *home)
		sbuf_addf(&path, "%s/.config/cprof/findings.conf", home);
	else
		return 0;
	FILE *fp = fopen(path.buf, "r");
	if (!fp) {
		int e = errno;
		int rc = file || e != ENOENT ? err_set(err, e, "cannot read '%s': %s", path.buf, strerror(e)) : 0;
		sbuf_release(&path);
		return rc;
	}
	struct sbuf text = SBUF_INIT;
	int rc = stream_read(fp, path.buf, &text, 1u << 20, err);
	fclose(fp);
	if (rc == 0)
		rc = finding_rules_parse(r, text.buf, path.buf, err);
	sbuf_release(&text);
	sbuf_release(&path);
	return rc;
}

/* What cmd_report() parsed, beyond the report's and the filter's options. */
struct report_args {
	const char *input, *event, *timeline, *symbols, *symbol_filter;
	struct views *views;  /* report --NAME: a data source's view */
	bool top_set, verbose, header_only;
	bool full_names, fold_go; /* rewrite.h, before building the profile */
	bool no_findings;
	const struct finding_rules *rules; /* findings.h thresholds */
	enum report_format fmt;
	enum color_mode color;
	uint32_t max_stack;
	const enum group_key *keys;
	int nkeys;
};

/* Every event of a recording of several events, for the functions of p
 * (report-events.c prints them). */
static int events_build(struct evcols *c, const struct profile *p, const struct profile_filter *f)
{
	struct cprof_err err;
	uint32_t *rows = xmalloc((p->funcs.n ? p->funcs.n : 1) * sizeof *rows);
	for (size_t i = 0; i < p->funcs.n; i++)
		rows[i] = (uint32_t)i;
	int r = evcols_build(c, p, f, rows, p->funcs.n, &err);
	free(rows);
	return r < 0 ? cmd_fail("report", &err) : 0;
}

/* --timeline FILE: a Chrome trace of the samples and GPU work, the one
 * export --format chrome writes. */
static int write_timeline(const struct cprof_data *d, struct outfile *out, const char *input)
{
	struct cprof_err err;
	int r = 1;
	if (timeline_write(out->fp, d, views_timeline_tracks(), &err) < 0)
		fprintf(stderr, "cprof report: '%s': %s\n", input, err.msg);
	else if (outfile_commit(out, &err) < 0)
		fprintf(stderr, "cprof report: %s\n", err.msg);
	else
		r = 0;
	outfile_abort(out);
	return r;
}

static int report_run(const struct report_args *a, struct report_opts *o, struct profile_filter *f)
{
	struct cprof_data d;
	struct cprof_err err;
	/* Files to write are opened before the input is read (or waited for,
	 * on a pipe): a bad path fails at once, and a temporary file is
	 * removed on Ctrl-C from here on. */
	struct outfile timeline_out = { 0 };
	if (views_open(a->views, &err) < 0)
		return cmd_fail("report", &err);
	if (a->timeline && outfile_open(&timeline_out, a->timeline, 0, &err) < 0) {
		views_close(a->views);
		return cmd_fail("report", &err);
	}
	const char *input = a->input ? a->input : cmd_default_input();
	const char *name = strcmp(input, "-") == 0 ? "<stdin>" : input;
	struct folded_warnings warnings = { "report", 0 };
	const struct note_sink warn = { a->verbose ? cmd_folded_warn_all : cmd_folded_warn, &warnings };
	int r = profile_source_load(&d, input, false, o->quiet ? NULL : &warn, &err);
	if (r < 0) {
		views_close(a->views);
		outfile_abort(&timeline_out);
		return cmd_fail("report", &err);
	}
	if (!o->quiet)
		cmd_folded_warn_finish(&warnings, name);
	if (a->full_names)
		(void)rewrite_full_names(&d);
	if (a->fold_go)
		(void)rewrite_fold_go_runtime(&d);
	if (a->header_only || (a->verbose && a->fmt == FORMAT_TEXT)) {
		report_header_only(stdout, &d, name);
		if (a->header_only) {
			views_close(a->views);
			outfile_abort(&timeline_out);
			cprof_data_release(&d);
			return 0;
		}
	}
	bool view = views_chosen_name(a->views) != NULL;
	if (a->timeline) {
		r = write_timeline(&d, &timeline_out, name);
		if (r || !view) {
			views_close(a->views);
			cprof_data_release(&d);
			return r;
		}
	}
	if (view) {
		r = views_report(a->views, &d, name, o->top, a->top_set);
		cprof_data_release(&d);
		return r;
	}
	if (a->event) {
		f->event = profile_find_event(&d, a->event);
		if (f->event < 0) {
			struct sbuf names = SBUF_INIT;
			for (size_t i = 0; i < d.events.n; i++)
				sbuf_addf(&names, "%s%s", i ? ", " : "", cprof_str(&d, d.events.v[i].name));
			fprintf(stderr, "cprof report: '%s': no event '%s' (recorded: %s)\n", name, a->event, names.buf);
			sbuf_release(&names);
			cprof_data_release(&d);
			return 1;
		}
	}
	if (profile_filter_check(&d, f, &err) < 0) {
		fprintf(stderr, "cprof report: '%s': %s\n", name, err.msg);
		cprof_data_release(&d);
		return 1;
	}
	if (a->max_stack)
		profile_cap_stacks(&d, a->max_stack);
	struct profile p;
	r = profile_build(&p, &d, f, &err);
	if (r == 0 && (r = profile_require_samples(&p, name, f->comm || f->tids.n || f->pids.n || f->tid >= 0 ||
							       f->pid >= 0 || f->dso, &err)) < 0)
		profile_release(&p);
	if (r < 0) {
		cprof_data_release(&d);
		return cmd_fail("report", &err);
	}
	profile_hide_funcs(&p, a->symbols, a->symbol_filter);
	o->input = name;
	o->color = a->fmt == FORMAT_TEXT && output_use_color(stdout, a->color);
	/* On a terminal, rows fit its width; piped, they are written whole. */
	struct winsize ws;
	if (a->fmt == FORMAT_TEXT && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		o->width = ws.ws_col;
	o->full_names = a->full_names;
	o->hint = a->fmt == FORMAT_TEXT && strcmp(input, "-") != 0 && !o->quiet;
	struct findings findings = { 0 };
	if (!a->no_findings && a->nkeys == 0 && (a->fmt == FORMAT_TEXT || a->fmt == FORMAT_JSON)) {
		findings_build(&findings, &p, a->rules);
		o->findings = &findings;
	}
	if (a->nkeys > 0) {
		struct grouping g;
		group_build(&g, &p, a->keys, (size_t)a->nkeys, o->sort == SORT_TOTAL);
		report_grouped(stdout, &g, &p, a->fmt, o);
		group_release(&g);
	} else {
		/* Several events: all of them side by side, after the one shown. */
		struct evcols ev;
		if (d.events.n > 1 && !o->lines && a->fmt != FORMAT_FOLDED) {
			if ((r = events_build(&ev, &p, f)) != 0) {
				findings_release(&findings);
				profile_release(&p);
				cprof_data_release(&d);
				return r;
			}
			o->events = &ev;
		}
		switch (a->fmt) {
		case FORMAT_TEXT: {
			struct calltree tree;
			if (o->call_tree)
				calltree_build(&tree, &p, o->callee_tree);
			report_text(stdout, &p, o->call_tree ? &tree : NULL, o);
			if (o->call_tree)
				calltree_release(&tree);
			if (o->events)
				report_events_text(stdout, o->events, &p, o);
			break;
		}
		case FORMAT_JSON: report_json(stdout, &p, o); break;
		case FORMAT_CSV: report_csv(stdout, &p, o); break;
		case FORMAT_FOLDED:
			if (o->lines)
				folded_write_lines(stdout, &p);
			else
				folded_write(stdout, &p);
			break;
		case _FORMAT_MAX: break;
		}
		if (o->events)
			evcols_release(&ev);
		o->events = NULL;
	}
	findings_release(&findings);
	profile_release(&p);
	cprof_data_release(&d);
	return 0;
}

/* The usage error for a stray argument, with the fix for the likely cause. */
static int unexpected(char **argv, int i)
{
	uint64_t v;
	if (i > 0 && strcmp(argv[i - 1], "-n") == 0 && parse_u64(argv[i], &v) == 0)
		return cmd_usage_error("report", usage_line, "unexpected argument '%s': -n is perf's --show-nr-samples "
				       "now; for the first N functions use --top N", argv[i]);
	return cmd_usage_error("report", usage_line, "unexpected argument '%s' (use -i FILE)", argv[i]);
}

int cmd_report(int argc, char **argv)
{
	const char *input = NULL, *event = NULL, *timeline = NULL;
	bool full_names = false, fold_go = false;
	struct report_opts o = { .sort = SORT_SELF, .children = true };
	struct profile_filter f = PROFILE_FILTER_INIT;
	enum report_format fmt = FORMAT_TEXT;
	enum color_mode color = COLOR_AUTO;
	bool top_set = false, sort_set = false, children_set = false;
	bool verbose = false, header_only = false;
	struct views views = VIEWS_INIT(VIEW_REPORT);
	const char *findings_config = NULL;
	bool no_findings = false;
	VEC(const char *) finding_sets = { 0 };
	enum group_key keys[_GK_MAX];
	int nkeys = 0;
	const char *symbols = NULL, *symbol_filter = NULL;
	uint32_t max_stack = 0;
	uint64_t v;
	int c, k, rc;
	struct cprof_err err;

	static struct option *opts;
	if (!opts) {
		usage_line = views_usage(usage_own, VIEW_REPORT);
		opts = views_long_opts(long_opts, VIEW_REPORT);
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
		if (views_take(&views, c, optarg))
			continue;
		switch (c) {
		case 'i': input = optarg; break;
		case 'f':
			if ((k = enum_from_string(report_format_names, optarg)) < 0)
				return cmd_usage_error("report", usage_line, "unknown format '%s'; expected one of: text, json, csv, folded", optarg);
			fmt = (enum report_format)k;
			break;
		case 's':
			sort_set = true;
			nkeys = 0;
			if ((k = enum_from_string(sort_key_names, optarg)) >= 0) {
				/* line: rows are lines, ordered by self. */
				if (k == SORT_LINE)
					o.lines = true;
				o.sort = k == SORT_LINE ? SORT_SELF : (enum sort_key)k;
				break;
			}
			if ((nkeys = group_keys_parse(optarg, keys, &err)) < 0)
				return cmd_usage_error("report", usage_line, "%s; expected self, total, line, or perf's "
						       "comm, pid, tid, dso, sym (comma-separated)", err.msg);
			if (nkeys == 1 && keys[0] == GK_SYM)
				nkeys = 0; /* one row per function: the function table */
			break;
		case 'l': o.lines = true; break;
		case OPT_TOP:
			if (parse_u64(optarg, &v) < 0)
				return cmd_usage_error("report", usage_line, "--top needs a number, not '%s'", optarg);
			o.top = v;
			top_set = true;
			break;
		case 'n': break; /* perf's --show-nr-samples: always shown */
		case OPT_CHILDREN: o.children = true; children_set = true; break;
		case OPT_NO_CHILDREN: o.children = false; children_set = true; break;
		case 'G': o.call_tree = true; o.callee_tree = false; break;
		case 'g': {
			const char *spec = optarg;
			if (!spec && optind < argc && looks_like_call_graph(argv[optind]))
				spec = argv[optind++];
			if (parse_call_graph(spec ? spec : "callee", &o) < 0)
				return cmd_usage_error("report", usage_line, "-g takes caller, callee, none, a percentage or "
						       "perf's graph,0.5,caller, not '%s'", spec);
			break;
		}
		case 'T': o.threads = true; break;
		case 'c': f.comm = optarg; break;
		case OPT_TID:
		case OPT_PID: {
			struct profile_ids *ids = c == OPT_TID ? &f.tids : &f.pids;
			free((void *)ids->v);
			if (profile_ids_parse(optarg, ids) < 0)
				return cmd_usage_error("report", usage_line, "--%s needs numbers (comma-separated), not '%s'",
						       c == OPT_TID ? "tid" : "pid", optarg);
			break;
		}
		case OPT_DSO: f.dso = optarg; break;
		case 'S': symbols = optarg; break;
		case OPT_SYMBOL_FILTER: symbol_filter = optarg; break;
		case OPT_MAX_STACK:
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 65535)
				return cmd_usage_error("report", usage_line, "--max-stack needs a number of frames from 1 to 65535, not '%s'", optarg);
			max_stack = (uint32_t)v;
			break;
		case 'e': event = optarg; break;
		case OPT_PERCENT:
			if (parse_double(optarg, &o.percent_limit) < 0 || o.percent_limit < 0 || o.percent_limit > 100)
				return cmd_usage_error("report", usage_line, "--percent-limit needs a number from 0 to 100, not '%s'", optarg);
			break;
		case OPT_COLOR:
			if ((k = color_mode_from_string(optarg)) < 0)
				return cmd_usage_error("report", usage_line, "--color takes auto, always or never, not '%s'", optarg);
			color = (enum color_mode)k;
			break;
		case OPT_STDIO: break; /* perf's; cprof has no other interface */
		case 'q': o.quiet = true; break;
		case 'v': verbose = true; break;
		case OPT_HEADER_ONLY: header_only = true; break;
		case OPT_TIMELINE: timeline = optarg; break;
		case OPT_STACKS: o.stacks = true; break;
		case OPT_FULL_NAMES: full_names = true; break;
		case OPT_FOLD_GO: fold_go = true; break;
		case OPT_NO_FINDINGS: no_findings = true; break;
		case OPT_FINDING: vec_push(&finding_sets, optarg); break;
		case OPT_FINDINGS_CONFIG: findings_config = optarg; break;
		case 'h': vec_release(&finding_sets); help(); return 0;
		case OPT_LIST: cmd_list_opts(opts, short_opts); return 0;
		default:
			vec_release(&finding_sets);
			return cmd_bad_option("report", usage_line, argc, argv);
		}
	}
	/* Thresholds: the config file, then --finding on top. Checked before
	 * anything is read, so a typo fails at once. */
	struct finding_rules rules = FINDING_RULES_INIT;
	{
		struct cprof_err ferr;
		if (!no_findings && load_findings_config(&rules, findings_config, &ferr) < 0) {
			vec_release(&finding_sets);
			return cmd_fail("report", &ferr);
		}
		for (size_t i = 0; i < finding_sets.n; i++)
			if (finding_rules_set(&rules, finding_sets.v[i], &ferr) < 0) {
				vec_release(&finding_sets);
				return cmd_usage_error("report", usage_line, "--finding: %s", ferr.msg);
			}
		vec_release(&finding_sets);
	}
	if (optind < argc)
		return unexpected(argv, optind);
	if (children_set && !o.children && sort_set && o.sort == SORT_TOTAL)
		return cmd_usage_error("report", usage_line, "--sort total orders by the total column, which "
				       "--no-children hides; drop one of them");
	if (children_set && o.children && !sort_set)
		o.sort = SORT_TOTAL; /* perf's --children sorts by it */
	if (nkeys > 0 && (o.lines || fmt == FORMAT_FOLDED || o.call_tree || o.stacks))
		return cmd_usage_error("report", usage_line, "-s %s groups rows by perf's keys; it goes with "
				       "--format text, json or csv, without --lines, a call tree or --stacks",
				       group_key_names[keys[0]]);
	if (views_check(&views, fmt, &err) < 0)
		return cmd_usage_error("report", usage_line, "%s", err.msg);
	const char *view = views_chosen_name(&views);
	if (o.lines && (view || timeline))
		return cmd_usage_error("report", usage_line, "--lines and --sort line go with the CPU profile, not --%s",
				       view ? view : "timeline");
	if (timeline && !view && fmt == FORMAT_FOLDED)
		return cmd_usage_error("report", usage_line, "--timeline has no folded format");
	if (o.stacks && fmt != FORMAT_JSON)
		return cmd_usage_error("report", usage_line, "--stacks goes with --format json");
	if (fmt == FORMAT_TEXT && !top_set)
		o.top = 40;

	struct report_args a = { input, event, timeline, symbols, symbol_filter, &views, top_set, verbose, header_only,
				 full_names, fold_go, no_findings, &rules, fmt, color, max_stack, keys, nkeys };
	rc = report_run(&a, &o, &f);
	free((void *)f.tids.v);
	free((void *)f.pids.v);
	return rc;
}
