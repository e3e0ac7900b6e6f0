/*
 * match.h - which function of one run is which function of another: the one
 * rule that `cprof diff` and `cprof flamegraph --diff` share.
 *
 * A function is its name and its binary. Binaries are compared by a key:
 *  - the main executable of each run (the program that was recorded) has
 *    the same key in both runs, whatever its file is called, so
 *    `./app-old` and `./app-new`, or two builds in different directories,
 *    match;
 *  - a shared library is its file name without its version ("libc.so.6"
 *    and "libc.so.7" are "libc.so"), so an upgrade matches too;
 *  - anything else is its file name ("[kernel.kallsyms]", "[vdso]").
 * --map-binary OLD=NEW says that the before run's OLD is the after run's
 * NEW; --ignore-binary matches by name alone.
 *
 * diff compares (name, key) pairs; a flame graph has no binary column, so
 * match_disambiguate() renames the frames of a name that lives in more than
 * one binary key to "name [binary]", and matching by name is then the same.
 */
#ifndef CPROF_MATCH_H
#define CPROF_MATCH_H

#include "cprof/data.h"

struct match_rename {
	char *from, *to; /* binary file names */
};

struct match_rule {
	bool ignore_binary;
	VEC(struct match_rename) renames;
};
#define MATCH_RULE_INIT { false, { NULL, 0, 0 } }

void match_rule_release(struct match_rule *m);
/* Add "OLD=NEW" (file names, not paths); -EINVAL if it is not of that form. */
int match_rule_add_rename(struct match_rule *m, const char *spec, struct cprof_err *err) CPROF_WUR;

/*
 * The main executable of a recording, as a dso path of its frames (borrowed
 * from d), or NULL if it cannot be told: the "exe" metadata record writes,
 * else the frames' binary named like the command's first word, else the
 * binary of the function main.
 */
const char *match_main_exe(const struct cprof_data *d);

/* The key of binary dso (a path, "" if unknown) on one side of the
 * comparison (before: 0, after: 1), whose main executable is main_exe. */
void match_binary_key(const struct match_rule *m, int side, const char *main_exe, const char *dso,
		      struct sbuf *out);

/* Whether binaries play no part: --ignore-binary, or one input knows no
 * binaries (folded stacks), so its functions can only match by name. */
bool match_names_only(const struct match_rule *m, const struct cprof_data *before, const struct cprof_data *after);

/*
 * For graphs that match frames by name: rename every frame whose function
 * name occurs with more than one binary key across both recordings to
 * "name [binary]" (the after run's file name of the main executable), so
 * that equal names are equal (name, key) pairs. Changes both recordings'
 * frames in place; returns the number of names that were split.
 */
size_t match_disambiguate(const struct match_rule *m, struct cprof_data *before, struct cprof_data *after);

#endif
