/*
 * cmd-export.c - `cprof export`: a recording (cprof.data, perf.data or
 * folded stacks) written in another tool's format: pprof, speedscope, a
 * Chrome trace, or the folded, JSON and CSV views of `cprof report`.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cprof/cmd.h"
#include "cprof/export.h"
#include "cprof/timeline.h"
#include "cprof/folded.h"
#include "cprof/report.h"
#include "cprof/outfile.h"
#include "cprof/rewrite.h"

enum export_format { EXPORT_PPROF, EXPORT_SPEEDSCOPE, EXPORT_CHROME, EXPORT_FOLDED, EXPORT_JSON, EXPORT_CSV };
static const char *const export_format_names[] = { "pprof", "speedscope", "chrome", "folded", "json", "csv", NULL };

static const char usage_line[] =
	"usage: cprof export [-i FILE] -f pprof|speedscope|chrome|folded|json|csv\n"
	"                    [-o FILE] [--event NAME]\n"
	"                    [--full-names] [--fold-go-runtime]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Write a recording in another tool's format. The input is a cprof data file,\n"
	       "a perf.data or folded stacks (file or '-' for stdin); it is detected.\n\n"
	       "  -i, --input FILE    input file ('-' reads stdin; default: a pipe or a file\n"
	       "                      on stdin, else cprof.data)\n"
	       "  -f, --format FMT    pprof       profile.proto, gzipped: go tool pprof,\n"
	       "                                  Pyroscope, Parca\n"
	       "                      speedscope  speedscope JSON, one profile per thread\n"
	       "                      chrome      Chrome trace JSON (Perfetto): samples\n"
	       "                                  with stacks, GPU activity\n"
	       "                      folded      folded stacks (flamegraph.pl)\n"
	       "                      json        the JSON report, with every stack\n"
	       "                      csv         the CSV report, every function\n"
	       "  -o, --output FILE   write FILE (default and '-': standard output); a\n"
	       "                      file appears complete or not at all\n"
	       "  -e, --event NAME    the event to export from a multi-event recording\n"
	       "      --full-names    keep Rust symbol hashes and crate disambiguators\n"
	       "      --fold-go-runtime\n"
	       "                      hide Go runtime frames that only pass control and\n"
	       "                      fold the scheduler's callees into runtime.schedule\n"
	       "  -h, --help          show this help\n");
}

enum { OPT_LIST = 256 };
enum { OPT_FULL_NAMES = 320, OPT_FOLD_GO };

static const struct option long_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "event", required_argument, NULL, 'e' },
	{ "full-names", no_argument, NULL, OPT_FULL_NAMES },
	{ "fold-go-runtime", no_argument, NULL, OPT_FOLD_GO },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "i:f:o:e:h";

static int write_format(FILE *out, enum export_format fmt, const struct profile *p, const char *input,
			struct cprof_err *err)
{
	struct report_opts o = { .sort = SORT_SELF, .children = true, .input = input, .stacks = true };
	switch (fmt) {
	case EXPORT_PPROF: return pprof_write(out, p, err);
	case EXPORT_SPEEDSCOPE: return speedscope_write(out, p, err);
	case EXPORT_CHROME: return timeline_write(out, p->d, views_timeline_tracks(), err);
	case EXPORT_FOLDED: folded_write(out, p); return 0;
	case EXPORT_JSON: report_json(out, p, &o); return 0;
	case EXPORT_CSV: report_csv(out, p, &o); return 0;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	const char *input = NULL, *output = "-", *event = NULL;
	int fmt = -1, c;
	bool full_names = false, fold_go = false;


	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'f':
			if ((fmt = enum_from_string(export_format_names, optarg)) < 0)
				return cmd_usage_error("export", usage_line, "unknown format '%s'; expected one of: "
					"pprof, speedscope, chrome, folded, json, csv", optarg);
			break;
		case 'o': output = optarg; break;
		case 'e': event = optarg; break;
		case OPT_FULL_NAMES: full_names = true; break;
		case OPT_FOLD_GO: fold_go = true; break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			return cmd_bad_option("export", usage_line, argc, argv);
		}
	}
	if (optind < argc)
		return cmd_usage_error("export", usage_line, "unexpected argument '%s' (use -i FILE)", argv[optind]);
	if (fmt < 0)
		return cmd_usage_error("export", usage_line, "which format? give --format "
			"pprof, speedscope, chrome, folded, json or csv");
	/* The output first: a path that cannot be written fails before a big
	 * input is read, and a temporary file goes away on Ctrl-C. */
	struct cprof_err err;
	struct outfile out;
	if (outfile_open(&out, output, 0, &err) < 0)
		return cmd_fail("export", &err);
	if (fmt == EXPORT_PPROF && isatty(fileno(out.fp))) {
		fprintf(stderr, "cprof export: not writing gzipped pprof data to a terminal; use -o FILE\n");
		outfile_abort(&out);
		return 1;
	}

	if (!input)
		input = cmd_default_input();
	const char *name = strcmp(input, "-") == 0 ? "<stdin>" : input;
	struct cprof_data d;
	struct folded_warnings warnings = { "export", 0 };
	if (profile_source_load(&d, input, false, &(struct note_sink){ cmd_folded_warn, &warnings }, &err) < 0) {
		outfile_abort(&out);
		return cmd_fail("export", &err);
	}
	cmd_folded_warn_finish(&warnings, name);
	if (full_names)
		(void)rewrite_full_names(&d);
	if (fold_go)
		(void)rewrite_fold_go_runtime(&d);

	int rc = 1;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	if (event && (f.event = profile_find_event(&d, event)) < 0) {
		fprintf(stderr, "cprof export: '%s': no event '%s'\n", name, event);
		outfile_abort(&out);
		cprof_data_release(&d);
		return 1;
	}
	if (profile_build(&p, &d, &f, &err) < 0) {
		outfile_abort(&out);
		cprof_data_release(&d);
		return cmd_fail("export", &err);
	}
	/* The report's own formats follow its rule for empty input (cprof(1)). */
	if ((fmt == EXPORT_FOLDED || fmt == EXPORT_JSON || fmt == EXPORT_CSV) &&
	    profile_require_samples(&p, name, false, &err) < 0) {
		rc = cmd_fail("export", &err);
		goto out;
	}
	if (write_format(out.fp, (enum export_format)fmt, &p, name, &err) < 0) {
		fprintf(stderr, "cprof export: '%s': %s\n", name, err.msg);
		goto out;
	}
	if (outfile_commit(&out, &err) < 0) {
		rc = cmd_fail("export", &err);
		goto out;
	}
	rc = 0;
out:
	outfile_abort(&out);
	profile_release(&p);
	cprof_data_release(&d);
	return rc;
}
