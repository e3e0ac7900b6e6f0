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
/* Print a warning "cprof CMD: warning: MESSAGE". */
void cmd_warn(const char *cmd, const char *fmt, ...) CPROF_PRINTF(2, 3);
/* Print every option of a getopt table, one per line (for completions). */
void cmd_list_opts(const struct option *opts, const char *shortopts);
/* Warnings about malformed folded lines: the first few one by one, then a
 * total from cmd_folded_warn_finish(). Pass &ctx as profile_source_load's ctx. */
struct folded_warnings {
	const char *cmd;
	size_t count;
};
void cmd_folded_warn(void *ctx, const char *name, size_t lineno, const char *why);
/* The same for every malformed line (report -v); no total is needed. */
void cmd_folded_warn_all(void *ctx, const char *name, size_t lineno, const char *why);
void cmd_folded_warn_finish(const struct folded_warnings *w, const char *name);

/* Parse "a,b,c" against a NULL-terminated name table; -1 if unknown. */
int enum_from_string(const char *const *names, const char *s);
/* "a|b|c" for messages and help. */
void enum_join(const char *const *names, const char *sep, struct sbuf *out);

#endif
