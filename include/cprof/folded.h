/*
 * folded.h - Brendan Gregg's folded stacks written out of a profile, and
 * read straight into a flame graph. Reading folded stacks into a struct
 * cprof_data, with every other source, is load.h's.
 */
#ifndef CPROF_FOLDED_H
#define CPROF_FOLDED_H

#include <stdio.h>
#include "cprof/flamegraph.h"
#include "cprof/load.h"
#include "cprof/profile.h"

/* Write the profile's stacks, root first, one line per distinct stack. */
void folded_write(FILE *out, const struct profile *p);
/* The same with each frame's source line: "func [file.c:42]" (report --lines). */
void folded_write_lines(FILE *out, const struct profile *p);

/*
 * The same for a flame graph: folded stacks are drawn into g as they are
 * parsed, without a struct cprof_data in between (reverse merges from the
 * leaves), and *ret_drawn is set; d is then left empty. The graph is the one
 * folded_parse, profile_build and fg_add_profile (or fg_add_samples, when g
 * is a flame chart) would give; counts that are all 0 leave it empty.
 * Other formats load into d as above, and *ret_drawn is false.
 */
int profile_source_load_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *path, bool strict,
			   folded_warn_fn warn, void *ctx, bool *ret_drawn, struct cprof_err *err) CPROF_WUR;
/* The same from memory (the fuzz target's), read as a file is: folded
 * stacks in pieces of piece bytes (0: the usual size), so that a test
 * reaches lines cut across pieces. */
int profile_source_parse_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *buf, size_t len,
			    size_t piece, const char *name, bool strict, folded_warn_fn warn, void *ctx, bool *ret_drawn,
			    struct cprof_err *err) CPROF_WUR;

#endif
