/*
 * cmd.h - the subcommands and the helpers they share.
 *
 * Adding a command: one src/cmd/cmd-NAME.c exporting cmd_NAME(), one row in
 * the commands[] table of src/main.c, one man page man/cprof-NAME.1.scd, and
 * tests; the contract test then checks --help, --list-opts, the man page
 * and the completions for it without further edits.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage error; record returns
 * the workload's status.
 */
#ifndef CPROF_CMD_H
#define CPROF_CMD_H

#include <getopt.h>
#include "cprof/base.h"
#include "cprof/outfile.h"
#include "cprof/source.h"

#define EXIT_USAGE 2

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* Print "cprof CMD: MESSAGE" for e and return 1. */
int cmd_fail(const char *cmd, const struct cprof_err *e);
/* Print "cprof CMD: MESSAGE" and the usage line to stderr, return 2. */
int cmd_usage_error(const char *cmd, const char *usage, const char *fmt, ...) CPROF_PRINTF(3, 4);
/* The usage error for the option getopt_long (opterr = 0) has just refused:
 * unknown, or missing its value. Names the option itself, also a short one
 * inside a cluster (-Zq), where argv[optind - 1] is still the word before. */
int cmd_bad_option(const char *cmd, const char *usage, int argc, char **argv);
/* The input without -i: what stdin brings if it is a pipe with data on it
 * (cprof record -o - | cprof report, as perf report reads a pipe) or a
 * non-empty file (< stacks.folded), else "cprof.data". "-" means stdin. */
const char *cmd_default_input(void);
/* Print a warning "cprof CMD: warning: MESSAGE". */
void cmd_warn(const char *cmd, const char *fmt, ...) CPROF_PRINTF(2, 3);
/* Print every option of a getopt table, one per line (for completions). */
void cmd_list_opts(const struct option *opts, const char *shortopts);
/* Warnings about malformed folded lines: the first few one by one, then a
 * total from cmd_folded_warn_finish(). profile_source_load's sink (base.h)
 * is { cmd_folded_warn, &warnings }. */
struct folded_warnings {
	const char *cmd;
	size_t count;
};
void cmd_folded_warn(void *ctx, const char *line);
/* The same for every malformed line (report -v); no total is needed. */
void cmd_folded_warn_all(void *ctx, const char *line);
void cmd_folded_warn_finish(const struct folded_warnings *w, const char *name);

/*
 * The data sources' views on report and flamegraph (source.h; views.c).
 * A command appends views_long_opts() to its options, views_usage() and
 * views_help() to its usage and help, offers every option code it does not
 * know to views_take(), runs views_check() with its other checks and
 * views_open() before it reads the input; then, when views_chosen_name()
 * is not NULL, views_report() or views_flamegraph() draws it.
 */
#define OPT_VIEW 1024   /* option codes from here on are the views' */
#define VIEWS_MAX 8     /* sources a command can show */
struct flamegraph;
struct fg_opts;
struct cprof_data;
struct views {
	unsigned cmd;                  /* VIEW_REPORT or VIEW_FLAME */
	int chosen;                    /* index in cprof_sources[], or -1 */
	bool on[VIEWS_MAX];            /* --NAME given */
	struct view_call call[VIEWS_MAX];
	struct outfile files[VIEW_OPTS_MAX]; /* the chosen view's outputs */
};
#define VIEWS_INIT(c) { .cmd = (c), .chosen = -1 }
struct option *views_long_opts(const struct option *fixed, unsigned cmd); /* allocated, for the run */
/* own, then the views' usage lines: allocated, for the run. */
const char *views_usage(const char *own, unsigned cmd);
void views_help(unsigned cmd);
bool views_take(struct views *vs, int code, const char *arg);
/* Which view, and is it given what it needs: a usage error in err. format:
 * report's enum report_format, -1 for flamegraph. */
int views_check(struct views *vs, int format, struct cprof_err *err) CPROF_WUR;
const char *views_chosen_name(const struct views *vs);
unsigned views_refused(const struct views *vs); /* the chosen flame view's VIEW_NO_* */
int views_open(struct views *vs, struct cprof_err *err) CPROF_WUR;
void views_close(struct views *vs); /* aborts the outputs left uncommitted */
int views_report(struct views *vs, const struct cprof_data *d, const char *input, size_t top, bool top_set);
int views_flamegraph(struct views *vs, struct flamegraph *g, struct fg_opts *o, bool palette_set,
		     const struct cprof_data *d, const char *input, bool reverse);

/* The data sources' tracks for timeline_write(), NULL-terminated. */
const struct timeline_track *const *views_timeline_tracks(void);

/* Parse "a,b,c" against a NULL-terminated name table; -1 if unknown. */
int enum_from_string(const char *const *names, const char *s);
/* "a|b|c" for messages and help. */
void enum_join(const char *const *names, const char *sep, struct sbuf *out);

#endif
