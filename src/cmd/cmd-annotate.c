/*
 * cmd-annotate.c - `cprof annotate`: the instructions of the hottest
 * functions (or the ones named), each with its share of the function's
 * samples, source lines interleaved, jumps, loops and calls marked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/annotate.h"
#include "cprof/cmd.h"
#include "cprof/folded.h"
#include "cprof/output.h"
#include "cprof/profile.h"

static const char usage_line[] =
	"usage: cprof annotate [-i FILE] [[-s] SYMBOL...] [--source|--no-source]\n"
	"                      [--asm-syntax intel|att] [--format text|json]\n"
	"                      [--percent-limit P] [--event NAME] [--color WHEN]\n"
	"       cprof annotate [-i FILE] --list-symbols";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Show the instructions of functions with their share of the function's\n"
	       "samples, source lines interleaved. With SYMBOLs, those functions; without,\n"
	       "every function with at least --percent-limit of the samples, hottest first.\n"
	       "The code of the hottest functions is saved by 'cprof record', so this works\n"
	       "after the binary was rebuilt or deleted; others are read from the binary\n"
	       "if it is the one recorded (its build-id is checked).\n\n"
	       "  -i, --input FILE       recording to read ('-' reads stdin; default: a pipe\n"
	       "                         or a file on stdin, else cprof.data)\n"
	       "  -s, --symbol SYMBOL    a function to show, as a SYMBOL argument (perf's\n"
	       "                         spelling); may be repeated\n"
	       "      --source           show the source text of each line (default)\n"
	       "      --no-source        show file:line markers only\n"
	       "  -M, --asm-syntax S     intel (default) or att\n"
	       "  -f, --format FMT       text (default) or json\n"
	       "      --percent-limit P  without SYMBOL: only functions with at least P\n"
	       "                         percent of the samples (default 1)\n"
	       "  -e, --event NAME       the event to count in a multi-event recording\n"
	       "      --color WHEN       auto (default: on a terminal, unless NO_COLOR),\n"
	       "                         always or never\n"
	       "      --list-symbols     print the functions with samples, hottest first\n"
	       "      --stdio, --stdio2  accepted for perf: the output is always text on\n"
	       "                         standard output (or JSON with --format json)\n"
	       "  -h, --help             show this help\n");
	if (!disasm_available())
		printf("\nThis cprof was built without libcapstone: annotate cannot disassemble\n"
		       "(install libcapstone-dev and rebuild).\n");
}

enum { OPT_SOURCE = 256, OPT_NO_SOURCE, OPT_PERCENT, OPT_COLOR, OPT_LIST_SYMBOLS, OPT_STDIO, OPT_LIST };

static const struct option long_opts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "symbol", required_argument, NULL, 's' },
	{ "source", no_argument, NULL, OPT_SOURCE },
	{ "no-source", no_argument, NULL, OPT_NO_SOURCE },
	{ "asm-syntax", required_argument, NULL, 'M' },
	{ "format", required_argument, NULL, 'f' },
	{ "percent-limit", required_argument, NULL, OPT_PERCENT },
	{ "event", required_argument, NULL, 'e' },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "list-symbols", no_argument, NULL, OPT_LIST_SYMBOLS },
	{ "stdio", no_argument, NULL, OPT_STDIO },
	{ "stdio2", no_argument, NULL, OPT_STDIO },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "i:s:M:f:e:h";

static const char *const format_names[] = { "text", "json", NULL };
enum { FMT_TEXT, FMT_JSON };

static void list_symbols(const struct ann_profile *ap)
{
	const struct cprof_data *d = ap->d;
	/* A name can exist in several binaries: print it once. */
	for (size_t i = 0; i < ap->funcs.n; i++) {
		const struct ann_func *f = &ap->funcs.v[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = ap->funcs.v[k].name == f->name;
		if (!seen && !(f->flags & (FRF_UNKNOWN | FRF_KERNEL)))
			printf("%s\n", cprof_str(d, f->name));
	}
}

struct run {
	const char *input;
	int format;
	enum disasm_syntax syntax;
	struct ann_print_opts print;
	struct annotator *an;
	struct sbuf errors; /* JSON: the messages, as a JSON array body */
	size_t shown, failed;
	VEC(const struct ann_binary *) warned;
};

/* One line on stderr for a function that cannot be shown; in JSON also in
 * the output's "errors". */
static void fail_one(struct run *r, const char *msg)
{
	fprintf(stderr, "cprof annotate: %s\n", msg);
	if (r->errors.len)
		sbuf_adds(&r->errors, ", ");
	json_string_sbuf(&r->errors, msg);
	r->failed++;
}

static void show(struct run *r, const struct ann_profile *ap, const struct ann_func *f)
{
	struct cprof_err err;
	struct ann_code code;
	const struct ann_binary *bin = annotator_binary(r->an, f);
	if (annotator_code(r->an, f, &code, &err) < 0) {
		fail_one(r, err.msg);
		return;
	}
	if (bin->state == ANN_BIN_CHANGED && code.from == ANN_FROM_DATA) {
		bool told = false;
		for (size_t i = 0; i < r->warned.n && !told; i++)
			told = r->warned.v[i] == bin;
		if (!told) {
			struct sbuf a = SBUF_INIT, b = SBUF_INIT;
			for (uint8_t i = 0; i < bin->recorded_size && i < 8; i++)
				sbuf_addf(&a, "%02x", bin->recorded[i]);
			for (uint8_t i = 0; i < bin->disk_size && i < 8; i++)
				sbuf_addf(&b, "%02x", bin->disk[i]);
			cmd_warn("annotate", "'%s' has changed since the recording (build-id %s recorded, %s now); "
					     "showing the code saved in '%s'", bin->path, a.buf, b.buf, r->input);
			sbuf_release(&a);
			sbuf_release(&b);
			vec_push(&r->warned, bin);
		}
	}
	struct ann_view v;
	if (ann_view_build(&v, ap, f, &code, r->syntax, &err) < 0) {
		struct sbuf m = SBUF_INIT;
		sbuf_addf(&m, "cannot disassemble '%s': %s", code.func, err.msg);
		fail_one(r, m.buf);
		sbuf_release(&m);
		ann_code_release(&code);
		return;
	}
	if (v.invalid_bytes)
		cmd_warn("annotate", "'%s': %u bytes from 0x%" PRIx64 " are not instructions capstone can decode, shown as .byte",
			 code.func, v.invalid_bytes, v.first_invalid);
	if (r->format == FMT_JSON) {
		fputs(r->shown ? ",\n" : "\n", stdout);
		ann_print_json(stdout, ap, &v, bin, &r->print);
	} else {
		if (r->shown)
			fputc('\n', stdout);
		ann_print_text(stdout, ap, &v, bin, &r->print);
	}
	r->shown++;
	ann_view_release(&v);
	ann_code_release(&code);
}

static int annotate_run(const char *input, const char *event, enum color_mode color, double limit, bool source,
			bool list, int format, enum disasm_syntax syntax, const char *const *named, size_t nnamed);

int cmd_annotate(int argc, char **argv)
{
	const char *input = NULL, *event = NULL;
	enum color_mode color = COLOR_AUTO;
	double limit = 1.0;
	bool source = true, list = false;
	int c, k, format = FMT_TEXT, nsym = 0;
	enum disasm_syntax syntax = DISASM_INTEL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 's': nsym++; break;
		case OPT_STDIO: break;
		case OPT_SOURCE: source = true; break;
		case OPT_NO_SOURCE: source = false; break;
		case 'M':
			if ((k = enum_from_string(disasm_syntax_names, optarg)) < 0)
				return cmd_usage_error("annotate", usage_line, "unknown assembly syntax '%s'; expected intel or att", optarg);
			syntax = (enum disasm_syntax)k;
			break;
		case 'f':
			if ((k = enum_from_string(format_names, optarg)) < 0)
				return cmd_usage_error("annotate", usage_line, "unknown format '%s'; expected text or json", optarg);
			format = k;
			break;
		case OPT_PERCENT:
			if (parse_double(optarg, &limit) < 0 || limit < 0 || limit > 100)
				return cmd_usage_error("annotate", usage_line, "--percent-limit needs a number from 0 to 100, not '%s'", optarg);
			break;
		case 'e': event = optarg; break;
		case OPT_COLOR:
			if ((k = color_mode_from_string(optarg)) < 0)
				return cmd_usage_error("annotate", usage_line, "--color takes auto, always or never, not '%s'", optarg);
			color = (enum color_mode)k;
			break;
		case OPT_LIST_SYMBOLS: list = true; break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			return cmd_bad_option("annotate", usage_line, argc, argv);
		}
	}

	/* The functions to show: -s SYMBOL (perf's spelling) and SYMBOL
	 * arguments alike. A second pass over the options picks out the -s
	 * ones, now that they are known to be valid. */
	size_t nnamed = 0;
	const char **named = xcalloc((size_t)nsym + (size_t)(argc - optind) + 1, sizeof *named);
	if (nsym) {
		optind = 1;
		while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
			if (c == 's')
				named[nnamed++] = optarg;
	}
	for (int i = optind; i < argc; i++)
		named[nnamed++] = argv[i];
	if (!input)
		input = cmd_default_input();
	int rc = annotate_run(input, event, color, limit, source, list, format, syntax, named, nnamed);
	free(named);
	return rc;
}

static int annotate_run(const char *input, const char *event, enum color_mode color, double limit, bool source,
			bool list, int format, enum disasm_syntax syntax, const char *const *named, size_t nnamed)
{
	struct cprof_data d;
	struct cprof_err err;
	const char *name = strcmp(input, "-") == 0 ? "<stdin>" : input;
	if (profile_source_load(&d, input, false, NULL, &err) < 0)
		return cmd_fail("annotate", &err);
	int ev = 0;
	if (event && (ev = profile_find_event(&d, event)) < 0) {
		fprintf(stderr, "cprof annotate: '%s': no event '%s' in the recording\n", name, event);
		cprof_data_release(&d);
		return 1;
	}
	struct ann_profile ap;
	if (ann_profile_build(&ap, &d, ev, &err) < 0) {
		fprintf(stderr, "cprof annotate: '%s': %s\n", name, err.msg);
		cprof_data_release(&d);
		return 1;
	}
	if (list) {
		list_symbols(&ap);
		ann_profile_release(&ap);
		cprof_data_release(&d);
		return 0;
	}

	struct run r = { .input = name, .format = format, .syntax = syntax, .errors = SBUF_INIT };
	r.print = (struct ann_print_opts){ .color = format == FMT_TEXT && output_use_color(stdout, color),
					   .source = source, .input = name, .sources = ann_sources_new() };
	r.an = annotator_new(&d);
	if (format == FMT_JSON) {
		printf("{\n  \"schema\": \"cprof-annotate/1\",\n  \"input\": ");
		json_string(stdout, name);
		printf(",\n  \"event\": ");
		json_string(stdout, cprof_str(&d, d.events.v[ev].name));
		printf(",\n  \"samples\": %" PRIu64 ",\n  \"functions\": [", ap.total_samples);
	}
	size_t skipped_small = 0, skipped_kernel = 0;
	if (nnamed) {
		for (size_t i = 0; i < nnamed; i++) {
			size_t found[64];
			size_t n = ann_profile_find(&ap, named[i], found, ARRAY_SIZE(found));
			if (!n) {
				struct sbuf m = SBUF_INIT;
				sbuf_addf(&m, "no function '%s' with samples in '%s' (see --list-symbols)", named[i], name);
				fail_one(&r, m.buf);
				sbuf_release(&m);
			}
			for (size_t k2 = 0; k2 < n; k2++)
				show(&r, &ap, &ap.funcs.v[found[k2]]);
		}
	} else {
		for (size_t i = 0; i < ap.funcs.n; i++) {
			const struct ann_func *f = &ap.funcs.v[i];
			if (100.0 * (double)f->weight < limit * (double)ap.total_weight) {
				skipped_small++;
				continue;
			}
			if (f->flags & (FRF_KERNEL | FRF_UNKNOWN | FRF_JIT)) {
				skipped_kernel++;
				continue;
			}
			show(&r, &ap, f);
		}
		if (!ap.total_samples)
			fprintf(stderr, "cprof annotate: '%s': no samples\n", name);
	}
	if (format == FMT_JSON) {
		printf("\n  ],\n  \"errors\": [%s]\n}\n", r.errors.buf);
	} else if (!nnamed && (skipped_small || skipped_kernel)) {
		printf("\n");
		if (skipped_small)
			printf("# %zu functions under %g%% of the samples not shown (--percent-limit 0 shows them)\n",
			       skipped_small, limit);
		if (skipped_kernel)
			printf("# %zu kernel or unknown functions not shown: the recording has no code for them\n",
			       skipped_kernel);
	}
	/* Named functions: every one must have been shown. Without names: at
	 * least one, unless there was nothing to show. */
	int rc = (nnamed ? r.failed > 0 : (r.failed > 0 && r.shown == 0)) ? 1 : 0;
	vec_release(&r.warned);
	sbuf_release(&r.errors);
	ann_sources_free(r.print.sources);
	annotator_free(r.an);
	ann_profile_release(&ap);
	cprof_data_release(&d);
	return rc;
}
