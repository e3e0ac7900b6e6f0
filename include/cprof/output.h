/*
 * output.h - terminal concerns shared by the commands: colour decisions
 * (only on a tty, never with NO_COLOR) and quiet handling of closed pipes.
 */
#ifndef CPROF_OUTPUT_H
#define CPROF_OUTPUT_H

#include <stdio.h>
#include "cprof/base.h"
#include "cprof/fmt.h" /* fmt_thousands and the other formatters */

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* "auto", "always", "never" -> enum color_mode, or -1. */
int color_mode_from_string(const char *s);
/* Decide once per stream whether to emit ANSI colour. */
bool output_use_color(FILE *fp, enum color_mode mode);
/* SIGPIPE is ignored; a write to a closed pipe shows up as EPIPE here, and
 * the command then exits quietly. Returns 0, or -errno of a real failure. */
int output_finish(FILE *fp);

/* Write s as a JSON string literal (with quotes); bytes that are not
 * well-formed UTF-8 are written as U+FFFD. */
void json_string(FILE *fp, const char *s);
/* The same, appended to out. */
void json_string_sbuf(struct sbuf *out, const char *s);
/* Write v as a JSON number (10 significant digits), null when it is NaN
 * or infinite, which JSON cannot say. */
void json_num(FILE *fp, double v);
/* Write s as one CSV field (RFC 4180 quoting when needed). */
void csv_field(FILE *fp, const char *s);
/* The smallest round step (1, 2 or 5 times a power of ten) that is at
 * least raw (> 0): where an axis puts its ticks. */
double nice_step(double raw);

#endif
