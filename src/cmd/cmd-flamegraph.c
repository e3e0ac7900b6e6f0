/*
 * cmd-flamegraph.c - `cprof flamegraph`: draw a recording or folded stacks
 * as an interactive flame graph (SVG, or SVG inside an HTML page), plain
 * or differential.
 *
 * One file, as every command is: its options, their checks and its help text
 * are most of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cprof/cmd.h"
#include "cprof/flamegraph.h"
#include "cprof/folded.h"
#include "cprof/match.h"
#include "cprof/output.h"
#include "cprof/outfile.h"
#include "cprof/rewrite.h"

/* The usage lines: the command's, then the data sources' views (cmd.h). */
static const char *usage_line;
static const char usage_own[] =
	"usage: cprof flamegraph [-i FILE] [-o FILE] [--html] [--title TEXT]\n"
	"                        [--subtitle TEXT] [--width PX] [--frame-height PX]\n"
	"                        [--min-width PX] [--colors PALETTE] [--hash]\n"
	"                        [--inverted] [--reverse] [--countname NAME]\n"
	"                        [--event NAME] [--tid TIDS] [--pid PIDS] [--comm NAMES]\n"
	"                        [--per-thread] [--strict]\n"
	"                        [--full-names] [--fold-go-runtime]\n"
	"                        [--flamechart | --diff BEFORE [AFTER] [--negate]\n"
	"                        [--ignore-binary] [--map-binary OLD=NEW]]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Draw a profile as an interactive flame graph: click a frame to zoom, Ctrl-F or\n"
	       "Search to highlight frames matching a regular expression. The input is a cprof\n"
	       "data file, a perf.data or folded stacks (file or '-' for stdin); the format is\n"
	       "detected.\n\n"
	       "  -i, --input FILE       input (default: what a pipe or a file on stdin brings,\n"
	       "                         else cprof.data; an empty pipe, a terminal or\n"
	       "                         /dev/null is not input)\n"
	       "  -o, --output FILE      write to FILE (default: standard output; on a\n"
	       "                         terminal, flamegraph.svg or flamegraph.html)\n"
	       "      --html             write an HTML page around the SVG\n"
	       "      --title TEXT       title (default \"Flame Graph\", \"Icicle Graph\"...)\n"
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
	       "      --tid TIDS         only samples of these threads (comma-separated)\n"
	       "      --pid PIDS         only samples of these processes (comma-separated)\n"
	       "      --comm NAMES       only threads of these names (comma-separated; a name\n"
	       "                         matches names it begins, globs work)\n"
	       "      --per-thread       one root frame per thread (NAME-TID)\n"
	       "      --strict           fail on a malformed folded line instead of skipping it\n"
	       "      --diff BEFORE      differential graph against BEFORE: widths from AFTER\n"
	       "                         (the argument after the options, else as -i), red\n"
	       "                         where a frame's self share grew, blue where it\n"
	       "                         shrank; functions match as in 'cprof diff'\n"
	       "      --negate           differential: swap red and blue\n"
	       "      --ignore-binary    differential: match functions by name alone\n"
	       "      --map-binary OLD=NEW\n"
	       "                         differential: BEFORE's binary OLD is AFTER's NEW\n"
	       "      --flamechart       a flame chart: samples in time order, not merged;\n"
	       "                         threads of a recording in lanes on a time axis\n");
	views_help(VIEW_FLAME);
	printf("      --full-names       keep Rust symbol hashes and crate disambiguators\n"
	       "      --fold-go-runtime  hide Go runtime frames that only pass control and\n"
	       "                         fold the scheduler's callees into runtime.schedule\n"
	       "  -h, --help             show this help\n");
}

enum {
	OPT_HTML = 256, OPT_TITLE, OPT_SUBTITLE, OPT_WIDTH, OPT_FRAME_HEIGHT, OPT_MIN_WIDTH, OPT_HASH,
	OPT_INVERTED, OPT_REVERSE, OPT_COUNTNAME, OPT_TID, OPT_PID, OPT_COMM, OPT_PER_THREAD, OPT_STRICT,
	OPT_DIFF, OPT_NEGATE, OPT_FLAMECHART, OPT_LIST, OPT_IGNORE_BINARY,
	OPT_MAP_BINARY
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
	{ "full-names", no_argument, NULL, OPT_FULL_NAMES },
	{ "fold-go-runtime", no_argument, NULL, OPT_FOLD_GO },
	{ "ignore-binary", no_argument, NULL, OPT_IGNORE_BINARY },
	{ "map-binary", required_argument, NULL, OPT_MAP_BINARY },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "i:o:c:e:h";

struct source {
	const char *path;
	struct cprof_data d;
	struct profile p;
	bool loaded, built, drawn;
	bool full_names, fold_go; /* rewrite.h, before building the profile */
};

/* What cmd_flamegraph() parsed. */
struct fg_args {
	const char *input, *output, *event, *before_path;
	struct fg_opts o;
	struct profile_filter f;
	struct match_rule rule;
	struct views views;  /* flamegraph --NAME: a data source's view */
	bool strict, reverse, per_thread, chart, palette_set;
	bool full_names, fold_go;
};

static int draw(struct fg_args *a);

static const char *shown_name(const char *path) { return strcmp(path, "-") == 0 ? "<stdin>" : path; }

/*
 * With g, folded stacks are drawn into g as they are read, and s->drawn is
 * set: the same graph as building the profile first, in a fraction of the
 * time and memory. A cprof.data or perf.data loads into s->d as usual.
 */
static int load_source(struct source *s, bool strict, struct flamegraph *g, bool reverse)
{
	struct cprof_err err;
	struct folded_warnings warnings = { "flamegraph", 0 };
	const struct note_sink warn = { cmd_folded_warn, &warnings };
	int r = g ? profile_source_load_fg(&s->d, g, reverse, s->path, strict, &warn, &s->drawn,
					    &err)
		  : profile_source_load(&s->d, s->path, strict, &warn, &err);
	if (r < 0)
		return cmd_fail("flamegraph", &err);
	s->loaded = true;
	cmd_folded_warn_finish(&warnings, shown_name(s->path));
	if (s->drawn && g->nodes.v[0].total == 0) {
		/* What profile_require_samples says of such folded input. */
		err_set(&err, ENODATA, "'%s': no samples (every count is 0)", shown_name(s->path));
		return cmd_fail("flamegraph", &err);
	}
	if (s->full_names)
		(void)rewrite_full_names(&s->d);
	if (s->fold_go)
		(void)rewrite_fold_go_runtime(&s->d);
	return 0;
}

/* need_samples: the graph is drawn from the CPU samples (not a view's). */
static int build_source(struct source *s, const char *event, struct profile_filter f, bool need_samples)
{
	struct cprof_err err;
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
	if (profile_filter_check(&s->d, &f, &err) < 0) {
		fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(s->path), err.msg);
		return 1;
	}
	if (profile_build(&s->p, &s->d, &f, &err) < 0) {
		fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(s->path), err.msg);
		return 1;
	}
	s->built = true;
	if (need_samples && profile_require_samples(&s->p, shown_name(s->path), f.comm || f.tids.n || f.pids.n ||
								  f.tid >= 0 || f.pid >= 0, &err) < 0)
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
	struct fg_args a = { .o = FG_OPTS_INIT, .f = PROFILE_FILTER_INIT, .rule = MATCH_RULE_INIT,
			     .views = VIEWS_INIT(VIEW_FLAME) };
	struct cprof_err err;
	int c, k, r;

	static struct option *opts;
	if (!opts) {
		usage_line = views_usage(usage_own, VIEW_FLAME);
		opts = views_long_opts(long_opts, VIEW_FLAME);
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
		if (views_take(&a.views, c, optarg))
			continue;
		switch (c) {
		case 'i': a.input = optarg; break;
		case 'o': a.output = optarg; break;
		case OPT_HTML: a.o.html = true; break;
		case OPT_TITLE: a.o.title = optarg; break;
		case OPT_SUBTITLE: a.o.subtitle = optarg; break;
		case OPT_WIDTH:
			if ((r = parse_px("width", optarg, 100, &a.o.width)))
				goto out_args;
			break;
		case OPT_FRAME_HEIGHT:
			if ((r = parse_px("frame-height", optarg, 2, &a.o.frame_height)))
				goto out_args;
			break;
		case OPT_MIN_WIDTH:
			if ((r = parse_px("min-width", optarg, 0, &a.o.min_width)))
				goto out_args;
			break;
		case 'c':
			if ((k = enum_from_string(fg_palette_names, optarg)) < 0) {
				struct sbuf pal = SBUF_INIT;
				enum_join(fg_palette_names, ", ", &pal);
				r = cmd_usage_error("flamegraph", usage_line, "unknown palette '%s'; expected one of: %s", optarg, pal.buf);
				sbuf_release(&pal);
				goto out_args;
			}
			a.o.palette = (enum fg_palette)k;
			a.palette_set = true;
			break;
		case OPT_HASH: a.o.hash = true; break;
		case OPT_INVERTED: a.o.inverted = true; break;
		case OPT_REVERSE: a.reverse = true; break;
		case OPT_COUNTNAME: a.o.countname = optarg; break;
		case 'e': a.event = optarg; break;
		case OPT_TID:
		case OPT_PID: {
			struct profile_ids *ids = c == OPT_TID ? &a.f.tids : &a.f.pids;
			free((void *)ids->v);
			if (profile_ids_parse(optarg, ids) < 0) {
				r = cmd_usage_error("flamegraph", usage_line, "--%s needs numbers (comma-separated), not '%s'",
						    c == OPT_TID ? "tid" : "pid", optarg);
				goto out_args;
			}
			break;
		}
		case OPT_COMM: a.f.comm = optarg; break;
		case OPT_PER_THREAD: a.per_thread = true; break;
		case OPT_STRICT: a.strict = true; break;
		case OPT_DIFF: a.before_path = optarg; break;
		case OPT_IGNORE_BINARY: a.rule.ignore_binary = true; break;
		case OPT_MAP_BINARY:
			if (match_rule_add_rename(&a.rule, optarg, &err) < 0) {
				r = cmd_usage_error("flamegraph", usage_line, "%s", err.msg);
				goto out_args;
			}
			break;
		case OPT_NEGATE: a.o.negate = true; break;
		case OPT_FLAMECHART: a.chart = true; break;
		case OPT_FULL_NAMES: a.full_names = true; break;
		case OPT_FOLD_GO: a.fold_go = true; break;
		case 'h': help(); r = 0; goto out_args;
		case OPT_LIST: cmd_list_opts(opts, short_opts); r = 0; goto out_args;
		default:
			r = cmd_bad_option("flamegraph", usage_line, argc, argv);
			goto out_args;
		}
	}
	/* --diff BEFORE AFTER: AFTER is the one argument left once getopt has
	 * taken the options, wherever they were (--diff a.data -o x.svg b.data). */
	r = 0;
	if (a.before_path && optind < argc && !a.input)
		a.input = argv[optind++];
	if (optind < argc)
		r = cmd_usage_error("flamegraph", usage_line, "unexpected argument '%s' (use -i FILE)", argv[optind]);
	else if ((a.rule.ignore_binary || a.rule.renames.n) && !a.before_path)
		r = cmd_usage_error("flamegraph", usage_line, "--ignore-binary and --map-binary go with --diff");
	if (r)
		goto out_args;
	r = draw(&a);
out_args:
	free((void *)a.f.tids.v);
	free((void *)a.f.pids.v);
	match_rule_release(&a.rule);
	return r;
}

/* Draw what the after (or only) source holds, as the options ask. */
static int add_after(struct flamegraph *g, struct fg_args *a, struct source *after)
{
	if (views_chosen_name(&a->views))
		return views_flamegraph(&a->views, g, &a->o, a->palette_set, &after->d, shown_name(a->input),
					a->reverse);
	if (a->chart) {
		/* Threads run at the same time: one lane each on a time axis,
		 * unless the input has no times (folded stacks). */
		const char *src = cprof_meta_get(&after->d, "source");
		bool timed = !src || strcmp(src, "folded") != 0;
		fg_add_samples(g, &after->p, a->reverse, timed && (a->per_thread || after->p.threads.n > 1));
		return 0;
	}
	return add_source(g, after, &a->f, a->reverse, a->per_thread, false);
}

/* The options the chosen view cannot draw with: "--gpu cannot be combined
 * with --diff, --flamechart or --reverse". */
static int refused(const struct fg_args *a)
{
	static const struct {
		unsigned bit;
		const char *name;
	} opts[] = { { VIEW_NO_DIFF, "--diff" }, { VIEW_NO_CHART, "--flamechart" },
		     { VIEW_NO_PER_THREAD, "--per-thread" }, { VIEW_NO_REVERSE, "--reverse" } };
	unsigned no = views_refused(&a->views);
	bool given[] = { a->before_path != NULL, a->chart, a->per_thread, a->reverse };
	bool any = false;
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		any |= (no & opts[i].bit) && given[i];
	if (!any)
		return 0;
	struct sbuf list = SBUF_INIT;
	size_t n = 0, total = 0;
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		total += (no & opts[i].bit) != 0;
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (no & opts[i].bit) {
			sbuf_addf(&list, "%s%s", n == 0 ? "" : n + 1 == total ? " or " : ", ", opts[i].name);
			n++;
		}
	int r = cmd_usage_error("flamegraph", usage_line, "--%s cannot be combined with %s",
				views_chosen_name(&a->views), list.buf);
	sbuf_release(&list);
	return r;
}

static int draw(struct fg_args *a)
{
	int r;
	if (a->o.negate && !a->before_path)
		return cmd_usage_error("flamegraph", usage_line, "--negate only applies to --diff");
	if (a->chart && a->before_path)
		return cmd_usage_error("flamegraph", usage_line, "--flamechart and --diff cannot be combined");
	struct cprof_err err;
	if (views_check(&a->views, -1, &err) < 0)
		return cmd_usage_error("flamegraph", usage_line, "%s", err.msg);
	const char *view = views_chosen_name(&a->views);
	if (view && (r = refused(a)))
		return r;
	if (!a->input)
		a->input = cmd_default_input();
	if (a->before_path && strcmp(a->before_path, "-") == 0 && strcmp(a->input, "-") == 0)
		return cmd_usage_error("flamegraph", usage_line, "--diff cannot read both inputs from stdin");

	/* SVG on a terminal is unreadable noise: as perf's flamegraph script
	 * does, write a file of the usual name instead, and say so. */
	bool named = false;
	if (!a->output && isatty(STDOUT_FILENO)) {
		a->output = a->o.html ? "flamegraph.html" : "flamegraph.svg";
		named = true;
	}
	/* The output first: a path that cannot be written fails before a big
	 * input is read, and the temporary file is removed on Ctrl-C from here on. */
	struct outfile out;
	if (outfile_open(&out, a->output ? a->output : "-", 0, &err) < 0)
		return cmd_fail("flamegraph", &err);
	if (views_open(&a->views, &err) < 0) {
		outfile_abort(&out);
		return cmd_fail("flamegraph", &err);
	}

	struct source after = { .path = a->input, .full_names = a->full_names, .fold_go = a->fold_go };
	struct source before = { .path = a->before_path, .full_names = a->full_names, .fold_go = a->fold_go };
	struct flamegraph g;
	if (a->chart)
		fg_init_chart(&g);
	else
		fg_init(&g);
	/* Folded input goes straight into the graph unless something needs the
	 * profile: filters, threads, another event, renaming, a second input. */
	bool direct = !view && !a->before_path && !a->per_thread && !a->event && !a->f.comm &&
		      !a->f.tids.n && !a->f.pids.n && !a->full_names && !a->fold_go;
	r = load_source(&after, a->strict, direct ? &g : NULL, a->reverse);
	if (!r && a->before_path)
		r = load_source(&before, a->strict, NULL, false);
	if (!r && a->before_path)
		(void)match_disambiguate(&a->rule, &before.d, &after.d);
	if (!r && !after.drawn)
		r = build_source(&after, a->event, a->f, !view);
	if (!r && !after.drawn)
		r = add_after(&g, a, &after);
	if (!r && a->before_path) {
		r = build_source(&before, a->event, a->f, true);
		if (!r)
			r = add_source(&g, &before, &a->f, a->reverse, a->per_thread, true);
	}
	if (!r && g.nodes.v[0].total == 0) {
		fprintf(stderr, "cprof flamegraph: '%s': no samples to draw%s\n", shown_name(a->input),
			a->f.comm || a->f.tids.n || a->f.pids.n ? " (after filtering)" : "");
		r = 1;
	}

	a->o.reverse = a->reverse;
	if (a->before_path) {
		a->o.before_label = shown_name(a->before_path);
		a->o.after_label = shown_name(a->input);
	}
	if (!r) {
		static char buf[1 << 16];
		setvbuf(out.fp, buf, _IOFBF, sizeof buf);
		if (fg_write(out.fp, &g, &a->o, &err) < 0) {
			fprintf(stderr, "cprof flamegraph: '%s': %s\n", shown_name(a->input), err.msg);
			r = 1;
		} else if (outfile_commit(&out, &err) < 0) {
			r = cmd_fail("flamegraph", &err);
		} else if (named) {
			fprintf(stderr, "cprof flamegraph: wrote '%s' (-o FILE names it, -o - writes to the terminal)\n",
				a->output);
		}
	}
	outfile_abort(&out);
	views_close(&a->views);
	fg_release(&g);
	release_source(&after);
	release_source(&before);
	return r;
}
