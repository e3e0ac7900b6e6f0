/*
 * cmd-flamegraph.c - `cprof flamegraph`: draw a recording or folded stacks
 * as an interactive flame graph (SVG, or SVG inside an HTML page), plain
 * or differential.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/cmd.h"
#include "cprof/flamegraph.h"
#include "cprof/memreport.h"
#include "cprof/folded.h"
#include "cprof/output.h"
#include "cprof/outfile.h"
#include "cprof/rewrite.h"

static const char usage_line[] =
	"usage: cprof flamegraph [-i FILE] [-o FILE] [--html] [--title TEXT]\n"
	"                        [--subtitle TEXT] [--width PX] [--frame-height PX]\n"
	"                        [--min-width PX] [--colors PALETTE] [--hash]\n"
	"                        [--inverted] [--reverse] [--countname NAME]\n"
	"                        [--event NAME] [--tid TID] [--pid PID] [--comm NAME]\n"
	"                        [--per-thread] [--strict] [--gpu]\n"
	"                        [--full-names] [--fold-go-runtime]\n"
	"                        [--flamechart | --diff BEFORE AFTER [--negate]]\n"
	"       cprof flamegraph --mem [--weight bytes|count] [-i FILE] [-o FILE] ...";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Draw a profile as an interactive flame graph: click a frame to zoom, Ctrl-F or\n"
	       "Search to highlight frames matching a regular expression. The input is a cprof\n"
	       "data file or folded stacks (file or '-' for stdin); the format is detected.\n\n"
	       "  -i, --input FILE       input (default: stdin when it is not a terminal,\n"
	       "                         else cprof.data)\n"
	       "  -o, --output FILE      write to FILE (default: standard output)\n"
	       "      --html             write an HTML page around the SVG\n"
	       "      --title TEXT       title (default \"Flame Graph\")\n"
	       "      --subtitle TEXT    second line under the title\n"
	       "      --width PX         image width (default 1200)\n"
	       "      --frame-height PX  height of one frame (default 16)\n"
	       "      --min-width PX     drop frames narrower than PX pixels (default 0.1)\n"
	       "  -c, --colors PALETTE   hot (default), cold, mem, io, rainbow, java, red,\n"
	       "                         green, blue, yellow, purple, aqua, orange\n"
	       "      --hash             colours by name, similar names get similar colours\n"
	       "      --inverted         icicle graph: the root at the top\n"
	       "      --reverse          merge stacks from the leaves (who calls the hot ones)\n"
	       "      --countname NAME   what counts are called in tooltips (default samples)\n"
	       "  -e, --event NAME       the event to draw in a multi-event recording\n"
	       "      --tid TID          only samples of thread TID\n"
	       "      --pid PID          only samples of process PID\n"
	       "      --comm NAME        only samples of threads named NAME\n"
	       "      --per-thread       one root frame per thread (NAME-TID)\n"
	       "      --strict           fail on a malformed folded line instead of skipping it\n"
	       "      --diff BEFORE AFTER\n"
	       "                         differential graph: widths from AFTER, red where a\n"
	       "                         frame's self share grew, blue where it shrank\n"
	       "      --negate           differential: swap red and blue\n"
	       "      --flamechart       a flame chart: samples in time order, not merged\n"
	       "      --mem              allocation flame graph of a 'record --mem' recording\n"
	       "                         (mem palette); widths are bytes allocated\n"
	       "      --weight W         --mem: bytes (default) or count of allocations\n"
	       "      --gpu              GPU time (cprof record --gpu): kernels and copies as\n"
	       "                         leaves under the CPU stacks that launched them\n"
	       "      --full-names       keep Rust symbol hashes and crate disambiguators\n"
	       "      --fold-go-runtime  hide Go runtime frames that only pass control and\n"
	       "                         fold the scheduler's callees into runtime.schedule\n"
	       "  -h, --help             show this help\n");
}

enum {
	OPT_HTML = 256, OPT_TITLE, OPT_SUBTITLE, OPT_WIDTH, OPT_FRAME_HEIGHT, OPT_MIN_WIDTH, OPT_HASH,
	OPT_INVERTED, OPT_REVERSE, OPT_COUNTNAME, OPT_TID, OPT_PID, OPT_COMM, OPT_PER_THREAD, OPT_STRICT,
	OPT_DIFF, OPT_NEGATE, OPT_FLAMECHART, OPT_MEM, OPT_WEIGHT, OPT_LIST, OPT_GPU
};
enum { OPT_FULL_NAMES = 320, OPT_FOLD_GO };

static const struct option long_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "html", no_argument, NULL, OPT_HTML },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ "subtitle", required_argument, NULL, OPT_SUBTITLE },
	{ "width", required_argument, NULL, OPT_WIDTH },
	{ "frame-height", required_argument, NULL, OPT_FRAME_HEIGHT },
	{ "min-width", required_argument, NULL, OPT_MIN_WIDTH },
	{ "colors", required_argument, NULL, 'c' },
	{ "hash", no_argument, NULL, OPT_HASH },
	{ "inverted", no_argument, NULL, OPT_INVERTED },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "countname", required_argument, NULL, OPT_COUNTNAME },
	{ "event", required_argument, NULL, 'e' },
	{ "tid", required_argument, NULL, OPT_TID },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "diff", required_argument, NULL, OPT_DIFF },
	{ "negate", no_argument, NULL, OPT_NEGATE },
	{ "flamechart", no_argument, NULL, OPT_FLAMECHART },
	{ "mem", no_argument, NULL, OPT_MEM },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "gpu", no_argument, NULL, OPT_GPU },
	{ "full-names", no_argument, NULL, OPT_FULL_NAMES },
	{ "fold-go-runtime", no_argument, NULL, OPT_FOLD_GO },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "i:o:c:e:h";

struct source {
	const char *path;
	struct cprof_data d;
	struct profile p;
	bool loaded, built;
	bool full_names, fold_go; /* rewrite.h, before building the profile */
};

static const char *shown_name(const char *path) { return strcmp(path, "-") == 0 ? "<stdin>" : path; }

/* need_samples: the graph is drawn from the CPU samples (not --mem, --gpu). */
static int load_source(struct source *s, bool strict, const char *event, struct profile_filter f, bool need_samples)
{
	struct cprof_err err;
	struct folded_warnings warnings = { "flamegraph", 0 };
	if (profile_source_load(&s->d, s->path, strict, cmd_folded_warn, &warnings, &err) < 0)
		return cmd_fail("flamegraph", &err);
	s->loaded = true;
	cmd_folded_warn_finish(&warnings, shown_name(s->path));
	if (s->full_names)
		(void)rewrite_full_names(&s->d);
	if (s->fold_go)
		(void)rewrite_fold_go_runtime(&s->d);
	if (event) {
		f.event = profile_find_event(&s->d, event);
		if (f.event < 0) {
			struct sbuf names = SBUF_INIT;
			for (size_t i = 0; i < s->d.events.n; i++)
				sbuf_addf(&names, "%s%s", i ? ", " : "", cprof_str(&s->d, s->d.events.v[i].name));
			fprintf(stderr, "cprof flamegraph: '%s': no event '%s' (recorded: %s)\n", shown_name(s->path),
				event, names.buf);
			sbuf_release(&names);
			return 1;
		}
	}
	if (profile_build(&s->p, &s->d, &f, &err) < 0) {
		fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(s->path), err.msg);
		return 1;
	}
	s->built = true;
	if (need_samples && profile_require_samples(&s->p, shown_name(s->path), f.comm || f.tid >= 0 || f.pid >= 0,
						    &err) < 0)
		return cmd_fail("flamegraph", &err);
	return 0;
}

static void release_source(struct source *s)
{
	if (s->built)
		profile_release(&s->p);
	if (s->loaded)
		cprof_data_release(&s->d);
}

/* Add a source's stacks, one root frame per thread with per_thread. */
static int add_source(struct flamegraph *g, struct source *s, const struct profile_filter *f, bool reverse,
		      bool per_thread, bool before)
{
	struct cprof_err err;
	if (!per_thread) {
		fg_add_profile(g, &s->p, NULL, reverse, before);
		return 0;
	}
	if (fg_add_profile_threads(g, &s->p, f, reverse, before, &err) < 0) {
		fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(s->path), err.msg);
		return 1;
	}
	return 0;
}

static int parse_px(const char *opt, const char *arg, double min, double *ret)
{
	if (parse_double(arg, ret) < 0 || *ret < min || *ret > 1e6)
		return cmd_usage_error("flamegraph", usage_line, "--%s needs a number of pixels (at least %g), not '%s'",
				       opt, min, arg);
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	const char *input = NULL, *output = NULL, *event = NULL, *before_path = NULL;
	struct fg_opts o = FG_OPTS_INIT;
	struct profile_filter f = PROFILE_FILTER_INIT;
	bool strict = false, reverse = false, per_thread = false, chart = false, mem = false, palette_set = false;
	enum mem_weight weight = MEMW_BYTES;
	const char *weight_arg = NULL;
	bool gpu = false, full_names = false, fold_go = false;
	uint64_t v;
	int c, k, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case OPT_HTML: o.html = true; break;
		case OPT_TITLE: o.title = optarg; break;
		case OPT_SUBTITLE: o.subtitle = optarg; break;
		case OPT_WIDTH:
			if ((r = parse_px("width", optarg, 100, &o.width)))
				return r;
			break;
		case OPT_FRAME_HEIGHT:
			if ((r = parse_px("frame-height", optarg, 2, &o.frame_height)))
				return r;
			break;
		case OPT_MIN_WIDTH:
			if ((r = parse_px("min-width", optarg, 0, &o.min_width)))
				return r;
			break;
		case 'c':
			if ((k = enum_from_string(fg_palette_names, optarg)) < 0) {
				struct sbuf pal = SBUF_INIT;
				enum_join(fg_palette_names, ", ", &pal);
				r = cmd_usage_error("flamegraph", usage_line, "unknown palette '%s'; expected one of: %s", optarg, pal.buf);
				sbuf_release(&pal);
				return r;
			}
			o.palette = (enum fg_palette)k;
			palette_set = true;
			break;
		case OPT_HASH: o.hash = true; break;
		case OPT_INVERTED: o.inverted = true; break;
		case OPT_REVERSE: reverse = true; break;
		case OPT_COUNTNAME: o.countname = optarg; break;
		case 'e': event = optarg; break;
		case OPT_TID:
		case OPT_PID:
			if (parse_u64(optarg, &v) < 0 || v > INT32_MAX)
				return cmd_usage_error("flamegraph", usage_line, "--%s needs a number, not '%s'",
						       c == OPT_TID ? "tid" : "pid", optarg);
			if (c == OPT_TID)
				f.tid = (int64_t)v;
			else
				f.pid = (int64_t)v;
			break;
		case OPT_COMM: f.comm = optarg; break;
		case OPT_PER_THREAD: per_thread = true; break;
		case OPT_STRICT: strict = true; break;
		case OPT_DIFF:
			if (optind >= argc)
				return cmd_usage_error("flamegraph", usage_line, "--diff needs two files: BEFORE AFTER");
			before_path = optarg;
			input = argv[optind++];
			break;
		case OPT_NEGATE: o.negate = true; break;
		case OPT_FLAMECHART: chart = true; break;
		case OPT_MEM: mem = true; break;
		case OPT_WEIGHT:
			if ((k = enum_from_string(mem_weight_names, optarg)) < 0)
				return cmd_usage_error("flamegraph", usage_line, "unknown weight '%s'; expected bytes or count", optarg);
			weight = (enum mem_weight)k;
			weight_arg = optarg;
			break;
		case OPT_GPU: gpu = true; break;
		case OPT_FULL_NAMES: full_names = true; break;
		case OPT_FOLD_GO: fold_go = true; break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			return cmd_usage_error("flamegraph", usage_line, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("flamegraph", usage_line, "unexpected argument '%s' (use -i FILE)", argv[optind]);
	if (o.negate && !before_path)
		return cmd_usage_error("flamegraph", usage_line, "--negate only applies to --diff");
	if (chart && before_path)
		return cmd_usage_error("flamegraph", usage_line, "--flamechart and --diff cannot be combined");
	if (weight_arg && !mem)
		return cmd_usage_error("flamegraph", usage_line, "--weight goes with --mem");
	if (mem && (chart || before_path || per_thread))
		return cmd_usage_error("flamegraph", usage_line, "--mem cannot be combined with --flamechart, --diff or --per-thread");
	if (gpu && mem)
		return cmd_usage_error("flamegraph", usage_line, "--gpu and --mem draw different graphs; pick one");
	if (gpu && (before_path || chart || per_thread || reverse))
		return cmd_usage_error("flamegraph", usage_line,
				       "--gpu cannot be combined with --diff, --flamechart, --per-thread or --reverse");
	if (gpu) {
		o.title = o.title ? o.title : "GPU Flame Graph";
		o.countname = o.countname ? o.countname : "ns";
	}
	if (!input)
		input = isatty(STDIN_FILENO) ? "cprof.data" : "-";
	if (mem) {
		if (!palette_set)
			o.palette = FG_MEM;
		if (!o.countname)
			o.countname = weight == MEMW_COUNT ? "allocations" : "bytes";
		if (!o.title)
			o.title = "Allocation Flame Graph";
	}
	if (before_path && strcmp(before_path, "-") == 0 && strcmp(input, "-") == 0)
		return cmd_usage_error("flamegraph", usage_line, "--diff cannot read both inputs from stdin");

	/* The output first: a path that cannot be written fails before a big
	 * input is read, and the temporary file is removed on Ctrl-C from here on. */
	struct cprof_err err;
	struct outfile out;
	if (outfile_open(&out, output ? output : "-", 0, &err) < 0)
		return cmd_fail("flamegraph", &err);

	struct source after = { .path = input, .full_names = full_names, .fold_go = fold_go };
	struct source before = { .path = before_path, .full_names = full_names, .fold_go = fold_go };
	struct flamegraph g;
	if (chart)
		fg_init_chart(&g);
	else
		fg_init(&g);
	r = load_source(&after, strict, event, f, !mem && !gpu);
	if (!r && mem) {
		if (!after.d.mem_procs.n) {
			fprintf(stderr, "cprof flamegraph: '%s': no memory profile in this recording (record with --mem)\n",
				shown_name(input));
			r = 1;
		} else {
			fg_add_mem(&g, &after.d, weight, reverse);
		}
	} else if (!r && gpu)
		r = cmd_flamegraph_gpu(&g, &after.d, shown_name(input));
	else if (!r && chart)
		fg_add_samples(&g, &after.p, reverse, per_thread);
	else if (!r)
		r = add_source(&g, &after, &f, reverse, per_thread, false);
	if (!r && before_path) {
		r = load_source(&before, strict, event, f, true);
		if (!r)
			r = add_source(&g, &before, &f, reverse, per_thread, true);
	}
	if (!r && g.nodes.v[0].total == 0) {
		fprintf(stderr, "cprof flamegraph: '%s': no samples to draw%s\n", shown_name(input),
			f.comm || f.tid >= 0 || f.pid >= 0 ? " (after filtering)" : "");
		r = 1;
	}

	if (!r) {
		static char buf[1 << 16];
		setvbuf(out.fp, buf, _IOFBF, sizeof buf);
		if (fg_write(out.fp, &g, &o, &err) < 0) {
			fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(input), err.msg);
			r = 1;
		} else if (outfile_commit(&out, &err) < 0) {
			r = cmd_fail("flamegraph", &err);
		}
	}
	outfile_abort(&out);
	fg_release(&g);
	release_source(&after);
	release_source(&before);
	return r;
}
