/*
 * cmd-report.c - `cprof report`: read a recording (or folded stacks) and
 * print it as text, JSON, CSV or folded stacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/cmd.h"
#include "cprof/findings.h"
#include "cprof/folded.h"
#include "cprof/output.h"
#include "cprof/memreport.h"
#include "cprof/report.h"
#include "cprof/outfile.h"
#include "cprof/rewrite.h"

static const char usage_line[] =
	"usage: cprof report [-i FILE] [--format text|json|csv|folded]\n"
	"                    [--sort self|total|line] [--lines] [--top N] [--no-children]\n"
	"                    [--call-tree] [--threads] [--comm NAME] [--tid TID]\n"
	"                    [--pid PID] [--dso NAME]\n"
	"                    [--event NAME] [--percent-limit P] [--color WHEN]\n"
	"                    [--stacks] [--full-names] [--fold-go-runtime]\n"
	"                    [--no-findings] [--finding KEY=VALUE]\n"
	"                    [--findings-config FILE]\n"
	"       cprof report --mem [-i FILE] [--format text|json|csv|folded]\n"
	"                    [--weight bytes|count] [--top N] [--plot SVG]\n"
	"       cprof report --gpu [-i FILE] [--format text|json|csv] [--top N]\n"
	"                    [--timeline FILE]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Show a recorded profile. The input is a cprof data file or folded stacks\n"
	       "(file or '-' for stdin); the format is detected.\n\n"
	       "  -i, --input FILE       input file (default cprof.data; '-' reads stdin)\n"
	       "  -f, --format FMT       text (default), json, csv or folded\n"
	       "  -s, --sort KEY         order functions by self (default) or total; 'line':\n"
	       "                         source lines instead of functions, by self\n"
	       "  -l, --lines            rows are source lines (text, CSV), JSON adds a\n"
	       "                         \"lines\" array, folded frames carry their line\n"
	       "  -n, --top N            show at most N functions (default 40 in text,\n"
	       "                         all in the other formats)\n"
	       "      --no-children      hide the total (self + callees) column\n"
	       "  -G, --call-tree        also print the caller-to-callee tree of the hottest\n"
	       "                         paths\n"
	       "  -T, --threads          also print samples per process and thread\n"
	       "      --comm NAME        only samples of threads named NAME\n"
	       "      --tid TID          only samples of thread TID\n"
	       "      --pid PID          only samples of process PID\n"
	       "      --dso NAME         only samples whose stack passes through binary NAME\n"
	       "  -e, --event NAME       the event to show in a multi-event recording\n"
	       "      --percent-limit P  hide functions (and tree paths) under P percent\n"
	       "      --color WHEN       auto (default: on a terminal, unless NO_COLOR),\n"
	       "                         always or never\n"
	       "      --stacks           --format json: also every stack and its frames\n"
	       "      --full-names       keep Rust symbol hashes and crate disambiguators\n"
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
	       "                         $XDG_CONFIG_HOME/cprof/findings.conf if it exists)\n"
	       "      --mem              the memory profile of a 'record --mem' recording:\n"
	       "                         leaks, peak heap, hot spots, temporaries, sizes\n"
	       "      --weight W         --mem --format folded: weigh stacks by allocated\n"
	       "                         bytes (default) or by allocation count\n"
	       "      --plot SVG         --mem: also draw the heap over time into SVG\n"
	       "      --gpu              GPU activity (cprof record --gpu): kernels, copies,\n"
	       "                         launch sites, busy/idle time and findings\n"
	       "      --timeline FILE    write CPU samples, CUDA API calls and GPU work as a\n"
	       "                         Chrome trace (open in Perfetto) instead of a report\n"
	       "  -h, --help             show this help\n");
}

enum { OPT_NO_CHILDREN = 256, OPT_COMM, OPT_TID, OPT_PID, OPT_DSO, OPT_PERCENT, OPT_COLOR, OPT_MEM, OPT_WEIGHT,
       OPT_PLOT, OPT_LIST, OPT_GPU, OPT_TIMELINE, OPT_STACKS,
       OPT_NO_FINDINGS, OPT_FINDING, OPT_FINDINGS_CONFIG };
enum { OPT_FULL_NAMES = 320, OPT_FOLD_GO };

static const struct option long_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, 'f' },
	{ "sort", required_argument, NULL, 's' },
	{ "lines", no_argument, NULL, 'l' },
	{ "top", required_argument, NULL, 'n' },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "call-tree", no_argument, NULL, 'G' },
	{ "threads", no_argument, NULL, 'T' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "tid", required_argument, NULL, OPT_TID },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "dso", required_argument, NULL, OPT_DSO },
	{ "event", required_argument, NULL, 'e' },
	{ "percent-limit", required_argument, NULL, OPT_PERCENT },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "mem", no_argument, NULL, OPT_MEM },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "gpu", no_argument, NULL, OPT_GPU },
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
static const char short_opts[] = "i:f:s:ln:GTe:h";

/* report --mem: the memory sections, and optionally the heap chart
 * (plot: opened, or NULL; the caller aborts it if it is left open). */
static int report_mem(const struct cprof_data *d, const char *name, enum report_format fmt, enum mem_weight w,
		      size_t top, struct outfile *plot)
{
	struct cprof_err err;
	if (!d->mem_procs.n) {
		const char *why = cprof_meta_get(d, "mem_not_traced_why");
		if (cprof_meta_get(d, "mem") && why) { /* one line: the reasons joined */
			fprintf(stderr, "cprof report: '%s': recorded with --mem, but no process was traced: ", name);
			for (const char *c = why; *c; c++)
				fputs(*c == '\n' ? "; " : (char[]){ *c, 0 }, stderr);
			fputc('\n', stderr);
		} else if (cprof_meta_get(d, "mem")) {
			fprintf(stderr, "cprof report: '%s': recorded with --mem, but no process was traced\n", name);
		} else {
			fprintf(stderr, "cprof report: '%s': no memory profile in this recording (record with --mem)\n",
				name);
		}
		return 1;
	}
	if (plot) {
		struct sbuf title = SBUF_INIT;
		const char *cmd = cprof_meta_get(d, "command");
		sbuf_addf(&title, "Heap in use: %s", cmd ? cmd : name);
		int r = mem_plot_svg(plot->fp, d, title.buf, &err);
		sbuf_release(&title);
		if (r < 0 || outfile_commit(plot, &err) < 0)
			return cmd_fail("report", &err);
	}
	struct mem_report_opts mo = { .input = name, .format = fmt, .weight = w, .top = top };
	mem_report(stdout, d, &mo);
	return 0;
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
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0 && text.len < (1u << 20))
		sbuf_add(&text, buf, n);
	int rc = ferror(fp) ? err_set(err, EIO, "cannot read '%s'", path.buf) : 0;
	fclose(fp);
	if (rc == 0)
		rc = finding_rules_parse(r, text.buf, path.buf, err);
	sbuf_release(&text);
	sbuf_release(&path);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	const char *input = "cprof.data", *event = NULL, *timeline = NULL;
	bool gpu = false, full_names = false, fold_go = false;
	struct report_opts o = { .sort = SORT_SELF, .children = true };
	struct profile_filter f = PROFILE_FILTER_INIT;
	enum report_format fmt = FORMAT_TEXT;
	enum color_mode color = COLOR_AUTO;
	bool top_set = false, mem = false, weight_set = false;
	enum mem_weight weight = MEMW_BYTES;
	const char *plot = NULL, *findings_config = NULL;
	bool no_findings = false;
	VEC(const char *) finding_sets = { 0 };
	uint64_t v;
	int c, k;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'f':
			if ((k = enum_from_string(report_format_names, optarg)) < 0)
				return cmd_usage_error("report", usage_line, "unknown format '%s'; expected one of: text, json, csv, folded", optarg);
			fmt = (enum report_format)k;
			break;
		case 's':
			if ((k = enum_from_string(sort_key_names, optarg)) < 0)
				return cmd_usage_error("report", usage_line, "unknown sort key '%s'; expected one of: self, total, line", optarg);
			/* line: rows are lines, ordered by self. */
			if (k == SORT_LINE)
				o.lines = true;
			o.sort = k == SORT_LINE ? SORT_SELF : (enum sort_key)k;
			break;
		case 'l': o.lines = true; break;
		case 'n':
			if (parse_u64(optarg, &v) < 0)
				return cmd_usage_error("report", usage_line, "--top needs a number, not '%s'", optarg);
			o.top = v;
			top_set = true;
			break;
		case OPT_NO_CHILDREN: o.children = false; break;
		case 'G': o.call_tree = true; break;
		case 'T': o.threads = true; break;
		case OPT_COMM: f.comm = optarg; break;
		case OPT_TID:
		case OPT_PID:
			if (parse_u64(optarg, &v) < 0 || v > INT32_MAX)
				return cmd_usage_error("report", usage_line, "--%s needs a number, not '%s'",
						       c == OPT_TID ? "tid" : "pid", optarg);
			if (c == OPT_TID)
				f.tid = (int64_t)v;
			else
				f.pid = (int64_t)v;
			break;
		case OPT_DSO: f.dso = optarg; break;
		case 'e': event = optarg; break;
		case OPT_PERCENT:
			if (parse_double(optarg, &o.percent_limit) < 0 || o.percent_limit < 0 || o.percent_limit > 100)
				return cmd_usage_error("report", usage_line, "--percent-limit needs a number from 0 to 100, not '%s'", optarg);
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0)
				color = COLOR_AUTO;
			else if (strcmp(optarg, "always") == 0)
				color = COLOR_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				color = COLOR_NEVER;
			else
				return cmd_usage_error("report", usage_line, "--color takes auto, always or never, not '%s'", optarg);
			break;
		case OPT_MEM: mem = true; break;
		case OPT_WEIGHT:
			if ((k = enum_from_string(mem_weight_names, optarg)) < 0)
				return cmd_usage_error("report", usage_line, "unknown weight '%s'; expected bytes or count", optarg);
			weight = (enum mem_weight)k;
			weight_set = true;
			break;
		case OPT_PLOT: plot = optarg; break;
		case OPT_GPU: gpu = true; break;
		case OPT_TIMELINE: timeline = optarg; break;
		case OPT_STACKS: o.stacks = true; break;
		case OPT_FULL_NAMES: full_names = true; break;
		case OPT_FOLD_GO: fold_go = true; break;
		case OPT_NO_FINDINGS: no_findings = true; break;
		case OPT_FINDING: vec_push(&finding_sets, optarg); break;
		case OPT_FINDINGS_CONFIG: findings_config = optarg; break;
		case 'h': vec_release(&finding_sets); help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			vec_release(&finding_sets);
			return cmd_usage_error("report", usage_line, "unknown or incomplete option '%s'", argv[optind - 1]);
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
		return cmd_usage_error("report", usage_line, "unexpected argument '%s' (use -i FILE)", argv[optind]);
	if (o.lines && (mem || gpu || timeline))
		return cmd_usage_error("report", usage_line, "--lines and --sort line go with the CPU profile, not --mem or --gpu");
	if ((weight_set || plot) && !mem)
		return cmd_usage_error("report", usage_line, "--weight and --plot go with --mem");
	if (mem && (gpu || timeline))
		return cmd_usage_error("report", usage_line, "--mem and --gpu/--timeline are separate reports; pick one");
	if ((gpu || timeline) && fmt == FORMAT_FOLDED)
		return cmd_usage_error("report", usage_line, "--gpu and --timeline have no folded format");
	if (o.stacks && fmt != FORMAT_JSON)
		return cmd_usage_error("report", usage_line, "--stacks goes with --format json");
	if (fmt == FORMAT_TEXT && !top_set)
		o.top = mem ? 10 : 40;

	struct cprof_data d;
	struct cprof_err err;
	/* Files to write are opened before the input is read: a bad path fails
	 * at once, and a temporary file is removed on Ctrl-C from here on. */
	struct outfile plot_out = { 0 }, timeline_out = { 0 };
	if (plot && outfile_open(&plot_out, plot, 0, &err) < 0)
		return cmd_fail("report", &err);
	if (timeline && outfile_open(&timeline_out, timeline, 0, &err) < 0)
		return cmd_fail("report", &err);
	struct folded_warnings warnings = { "report", 0 };
	int r = profile_source_load(&d, input, false, cmd_folded_warn, &warnings, &err);
	if (r < 0) {
		outfile_abort(&plot_out);
		outfile_abort(&timeline_out);
		return cmd_fail("report", &err);
	}
	cmd_folded_warn_finish(&warnings, strcmp(input, "-") == 0 ? "<stdin>" : input);
	if (full_names)
		(void)rewrite_full_names(&d);
	if (fold_go)
		(void)rewrite_fold_go_runtime(&d);
	if (mem) {
		const char *name = strcmp(input, "-") == 0 ? "<stdin>" : input;
		r = report_mem(&d, name, fmt, weight, o.top, plot ? &plot_out : NULL);
		outfile_abort(&plot_out);
		cprof_data_release(&d);
		return r;
	}
	if (gpu || timeline) {
		r = cmd_report_gpu(&d, strcmp(input, "-") == 0 ? "<stdin>" : input, fmt, o.top, gpu,
				   timeline ? &timeline_out : NULL);
		outfile_abort(&timeline_out);
		cprof_data_release(&d);
		return r;
	}
	if (event) {
		f.event = profile_find_event(&d, event);
		if (f.event < 0) {
			struct sbuf names = SBUF_INIT;
			for (size_t i = 0; i < d.events.n; i++)
				sbuf_addf(&names, "%s%s", i ? ", " : "", cprof_str(&d, d.events.v[i].name));
			fprintf(stderr, "cprof report: '%s': no event '%s' (recorded: %s)\n", input, event, names.buf);
			sbuf_release(&names);
			cprof_data_release(&d);
			return 1;
		}
	}
	struct profile p;
	o.input = strcmp(input, "-") == 0 ? "<stdin>" : input;
	r = profile_build(&p, &d, &f, &err);
	if (r == 0 && (r = profile_require_samples(&p, o.input, f.comm || f.tid >= 0 || f.pid >= 0 || f.dso, &err)) < 0)
		profile_release(&p);
	if (r < 0) {
		cprof_data_release(&d);
		return cmd_fail("report", &err);
	}
	o.color = fmt == FORMAT_TEXT && output_use_color(stdout, color);
	o.hint = fmt == FORMAT_TEXT && strcmp(input, "-") != 0;
	struct findings findings = { 0 };
	if (!no_findings && (fmt == FORMAT_TEXT || fmt == FORMAT_JSON)) {
		findings_build(&findings, &p, &rules);
		o.findings = &findings;
	}
	switch (fmt) {
	case FORMAT_TEXT: report_text(stdout, &p, &o); break;
	case FORMAT_JSON: report_json(stdout, &p, &o); break;
	case FORMAT_CSV: report_csv(stdout, &p, &o); break;
	case FORMAT_FOLDED:
		if (o.lines)
			folded_write_lines(stdout, &p);
		else
			folded_write(stdout, &p);
		break;
	case _FORMAT_MAX: break;
	}
	findings_release(&findings);
	profile_release(&p);
	cprof_data_release(&d);
	return 0;
}
