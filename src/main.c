/*
 * main.c - the cprof entry point: global flags and the table of commands.
 * Each command lives in src/cmd/cmd-NAME.c (see cmd.h for the checklist).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cprof/cmd.h"
#include "cprof/folded.h"
#include "cprof/output.h"
#include "cprof/perf-import.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "Run a command and record its profile" },
	{ "report", cmd_report, "Show a recorded profile: top functions, call tree, threads" },
	{ "flamegraph", cmd_flamegraph, "Draw an interactive flame graph (SVG or HTML)" },
	{ "diff", cmd_diff, "Compare two profiles: what changed, and is it significant" },
	{ "annotate", cmd_annotate, "Show hot functions instruction by instruction, with source" },
	{ "export", cmd_export, "Write a profile for pprof, speedscope, Perfetto and others" },
	{ "stat", cmd_stat, "Count events over repeated runs; compare with a baseline" },
	{ "list", cmd_list, "List the events cprof knows and which ones this machine has" },
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: cprof [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\n'cprof help COMMAND' or 'cprof COMMAND --help' describes a command.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int cmd_fail(const char *cmd, const struct cprof_err *e)
{
	fprintf(stderr, "cprof %s: %s\n", cmd, e->msg);
	return 1;
}

int cmd_usage_error(const char *cmd, const char *usage_line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "cprof %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\n", usage_line);
	return EXIT_USAGE;
}

int cmd_bad_option(const char *cmd, const char *usage_line, int argc, char **argv)
{
	/* getopt has not moved past a word whose refused short option has
	 * more after it (-Zq): that word is argv[optind]. */
	char opt[3] = { '-', (char)optopt, 0 };
	bool shortopt = optopt > 0 && optopt < 128 && optopt != '-';
	const char *w = optind < argc ? argv[optind] : NULL, *prev = argv[optind - 1];
	size_t pl = strlen(prev);
	if (shortopt && w && w[0] == '-' && w[1] && w[1] != '-' && strchr(w + 1, optopt))
		return cmd_usage_error(cmd, usage_line, "unknown or incomplete option '%s' (in '%s')", opt, w);
	/* A short one last in its word (-qZ, or -i without its value). */
	if (shortopt && prev[0] == '-' && prev[1] != '-' && pl > 2 && prev[pl - 1] == optopt)
		return cmd_usage_error(cmd, usage_line, "unknown or incomplete option '%s' (in '%s')", opt, prev);
	return cmd_usage_error(cmd, usage_line, "unknown or incomplete option '%s'", prev);
}

/*
 * CI jobs, cron and ssh give a command /dev/null, a terminal or an idle
 * pipe that soon closes: none of them is input. A pipe is waited on for
 * its first bytes, or for its end if it closes empty.
 */
const char *cmd_default_input(void)
{
	struct stat st;
	if (isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &st) < 0)
		return "cprof.data";
	if (S_ISREG(st.st_mode))
		return st.st_size > 0 ? "-" : "cprof.data";
	if (!S_ISFIFO(st.st_mode))
		return "cprof.data";
	int ch = getc(stdin);
	if (ch == EOF) {
		clearerr(stdin);
		return "cprof.data";
	}
	ungetc(ch, stdin);
	return "-";
}

void cmd_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "cprof %s: warning: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cmd_list_opts(const struct option *opts, const char *shortopts)
{
	for (const char *p = shortopts; *p; p++)
		if (*p != ':' && *p != '+')
			printf("-%c\n", *p);
	for (const struct option *o = opts; o->name; o++)
		if (strcmp(o->name, "list-opts") != 0)
			printf("--%s\n", o->name);
}

#define FOLDED_WARNINGS_SHOWN 5

void cmd_folded_warn(void *ctx, const char *line)
{
	struct folded_warnings *w = ctx;
	if (w->count++ < FOLDED_WARNINGS_SHOWN)
		fprintf(stderr, "cprof %s: warning: %s\n", w->cmd, line);
}

void cmd_folded_warn_all(void *ctx, const char *line)
{
	struct folded_warnings *w = ctx;
	w->count = 0; /* never the total line */
	fprintf(stderr, "cprof %s: warning: %s\n", w->cmd, line);
}

void cmd_folded_warn_finish(const struct folded_warnings *w, const char *name)
{
	if (w->count > FOLDED_WARNINGS_SHOWN)
		fprintf(stderr, "cprof %s: warning: '%s': %zu malformed lines skipped in all\n", w->cmd, name,
			w->count);
}

int enum_from_string(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

void enum_join(const char *const *names, const char *sep, struct sbuf *out)
{
	for (int i = 0; names[i]; i++) {
		if (i)
			sbuf_adds(out, sep);
		sbuf_adds(out, names[i]);
	}
}

/*
 * 'cprof --describe-opts CMD': each option of CMD with the name of its
 * argument and the first line of its description in CMD --help,
 * "OPTION<TAB>ARG<TAB>TEXT" (ARG empty for a flag), for the zsh and fish
 * completions: descriptions, and which options take a value (bash shows no
 * descriptions, and asks only for the latter). The help text is the one
 * source, so a completion's words cannot say other than --help says.
 */
static int describe_opts(const struct command *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem) {
		fprintf(stderr, "cprof: cannot describe the options: %s\n", strerror(errno));
		return 1;
	}
	FILE *saved = stdout;
	char *hargv[] = { (char *)c->name, "--help", NULL };
	stdout = mem;
	int rc = c->fn(2, hargv);
	fflush(stdout);
	stdout = saved;
	fclose(mem);
	for (char *line = buf, *next; rc == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *p = line + strspn(line, " ");
		if (p == line || *p != '-')
			continue;
		/* The names end where two spaces begin the description; a long
		 * option's description may start on the next line. */
		char *gap = strstr(p, "  ");
		const char *desc = "";
		if (gap) {
			*gap = 0;
			desc = gap + strspn(gap + 1, " ") + 1;
		} else if (next && next[0] == ' ') {
			const char *q = next + strspn(next, " ");
			if (*q != '-') {
				size_t n = strcspn(q, "\n");
				desc = q;
				next[q - next + n] = 0;
				next = next + (q - next) + n + 1;
			}
		}
		/* The argument's name, as the last option of the line shows it:
		 * "-i, --input FILE" -> FILE; none for a flag. */
		const char *arg = strrchr(p, ' ');
		arg = arg && arg[1] != '-' ? arg + 1 : "";
		for (char *tok = p; tok && *tok == '-';) {
			size_t n = strspn(tok, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
			if (n > 1)
				printf("%.*s\t%s\t%s\n", (int)n, tok, arg, desc);
			tok = strstr(tok, ", -");
			if (tok)
				tok += 2;
		}
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	/* A closed pipe (cprof report | head) must end output quietly: writes
	 * then fail with EPIPE, which output_finish() treats as success. */
	signal(SIGPIPE, SIG_IGN);
	profile_source_set_perf_reader(perf_import);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("cprof %s\n", CPROF_VERSION);
		return 0;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "--list-cmds") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			printf("%s\n", commands[i].name);
		return 0;
	}
	if (strcmp(name, "--describe-opts") == 0) {
		const struct command *c = argc > 2 ? find_command(argv[2]) : NULL;
		if (!c) {
			fprintf(stderr, "cprof: --describe-opts needs a command\n");
			return EXIT_USAGE;
		}
		return describe_opts(c);
	}
	if (strcmp(name, "help") == 0) {
		/* 'cprof help', 'cprof help --help', 'cprof help help': the command list. */
		if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0 ||
		    strcmp(argv[2], "help") == 0) {
			usage(stdout);
			return 0;
		}
		const struct command *c = find_command(argv[2]);
		if (!c) {
			fprintf(stderr, "cprof: '%s' is not a cprof command. See 'cprof --help'.\n", argv[2]);
			return EXIT_USAGE;
		}
		char *hargv[] = { (char *)c->name, "--help", NULL };
		return c->fn(2, hargv);
	}
	if (name[0] == '-') {
		fprintf(stderr, "cprof: unknown option '%s'\n", name);
		usage(stderr);
		return EXIT_USAGE;
	}
	const struct command *c = find_command(name);
	if (!c) {
		fprintf(stderr, "cprof: '%s' is not a cprof command. See 'cprof --help'.\n", name);
		return EXIT_USAGE;
	}
	int rc = c->fn(argc - 1, argv + 1);
	if (output_finish(stdout) < 0 && rc == 0) {
		fprintf(stderr, "cprof %s: cannot write output: %s\n", name, strerror(errno));
		rc = 1;
	}
	return rc;
}
