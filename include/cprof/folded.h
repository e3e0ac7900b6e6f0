/*
 * folded.h - Brendan Gregg's folded stacks written out of a profile.
 * Reading them, with every other source, is load.h's; reading them
 * straight into a flame graph is flametree.h's.
 */
#ifndef CPROF_FOLDED_H
#define CPROF_FOLDED_H

#include <stdio.h>
#include "cprof/load.h"
#include "cprof/profile.h"

/* Write the profile's stacks, root first, one line per distinct stack. */
void folded_write(FILE *out, const struct profile *p);
/* The same with each frame's source line: "func [file.c:42]" (report --lines). */
void folded_write_lines(FILE *out, const struct profile *p);

#endif
