/*
 * latclass.h - latency classes (analyze/latclass.c): each duration is
 * fast, slow, very slow or critical by three increasing limits:
 *
 *	fast <= limit[0] < slow <= limit[1] < very slow <= limit[2] < critical
 *
 * The limits come from `report --classes T1,T2,T3`, else from a file
 * (`--classes-file FILE`, else $XDG_CONFIG_HOME/cprof/latency-classes or
 * ~/.config/cprof/latency-classes when it exists), else the defaults 1ms,
 * 10ms, 100ms. The file has one "NAME DURATION" line per limit: the
 * duration above which a call is of class NAME (slow, very-slow or
 * critical); '#' starts a comment; a class it leaves out keeps its
 * default. Durations as parse_duration_ns() takes them ("10ms", "500us").
 */
#ifndef CPROF_LATCLASS_H
#define CPROF_LATCLASS_H

#include <stdint.h>

#include "cprof/base.h"

struct hist;

enum { LC_FAST, LC_SLOW, LC_VERY_SLOW, LC_CRITICAL, LC_N };
extern const char *const latclass_names[LC_N]; /* "fast", "slow", "very slow", "critical" */
extern const char *const latclass_keys[LC_N];  /* "fast", "slow", "very_slow", "critical" (JSON, CSV) */

struct latclasses {
	uint64_t limit[LC_N - 1]; /* ns, increasing: the highest fast, slow and very slow duration */
	char from[512];           /* "default", "--classes" or the file read */
};

/* 1ms, 10ms, 100ms, from "default". */
void latclass_defaults(struct latclasses *c);
/* "1ms,10ms,100ms" into c; a bad list is a one-line error naming it. */
int latclass_parse_list(const char *s, struct latclasses *c, struct cprof_err *err);
/* The file's limits over c's; a bad line is "FILE:LINE: what". */
int latclass_read_file(const char *path, struct latclasses *c, struct cprof_err *err);
/* The limits a report uses: list (--classes, may be NULL) beats file
 * (--classes-file, may be NULL), which beats the default file, which
 * beats the defaults. */
int latclass_resolve(const char *list, const char *file, struct latclasses *c, struct cprof_err *err);

int latclass_of(const struct latclasses *c, uint64_t ns);
/* The values of h in each class, by hist_count_at_or_below (exact at
 * bucket edges, else within 1/128 of a limit). */
void latclass_count_hist(const struct latclasses *c, const struct hist *h, uint64_t out[LC_N]);

/*
 * Writing them (output/latclass-output.c), the same in every latency
 * report: n[LC_N] counts, NULL when the recording has no distribution.
 */
#include <stdio.h>
/* The table's title, "Latency classes WHAT (fast <= 1 ms < slow <= ... <
 * critical; FROM):", then its header row: the first column (width
 * col_width) named col, a cell per class. */
void latclass_text_title(FILE *out, const struct latclasses *c, const char *what, const char *col, int col_width);
/* One row's cells: "count share%" per class, width 16 ("-" without n). */
void latclass_text_row(FILE *out, const uint64_t *n);
/* ,"classes":{"fast":N,...,"fast_share":F,...} (null without n) */
void latclass_json(FILE *out, const uint64_t *n);
/* ,"class_limits_ns":[..],"class_limits_from":"..." */
void latclass_json_limits(FILE *out, const struct latclasses *c);
/* ,fast,slow,very_slow,critical,fast_share,... and a row's (empty without n) */
void latclass_csv_header(FILE *out);
void latclass_csv_row(FILE *out, const uint64_t *n);

#endif
