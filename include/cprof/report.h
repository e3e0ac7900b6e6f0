/*
 * report.h - the views of `cprof report`, one writer per format. They read a
 * built struct profile and print; none of them filters or aggregates.
 */
#ifndef CPROF_REPORT_H
#define CPROF_REPORT_H

#include <stdio.h>
#include "cprof/profile.h"

/* SORT_LINE: source lines instead of functions, by self weight (report --sort line). */
enum sort_key { SORT_SELF, SORT_TOTAL, SORT_LINE, _SORT_MAX };
extern const char *const sort_key_names[]; /* NULL-terminated, indexed by enum sort_key */

enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV, FORMAT_FOLDED, _FORMAT_MAX };
extern const char *const report_format_names[];

struct report_opts {
	enum sort_key sort;
	size_t top;           /* 0 = all */
	bool children;        /* show the total column (perf's --children) */
	bool call_tree;       /* text: a call tree too (the caller builds it for report_text) */
	bool callee_tree;     /* the call tree from the leaves: who calls the hot ones (-g callee) */
	double tree_limit;    /* hide tree paths under this share (-g's number); 0 = the default */
	bool threads;
	bool stacks;          /* JSON: every stack, with a table of its frames */
	double percent_limit; /* hide rows below this share of the total */
	bool lines;           /* rows are source lines (text, CSV), or a "lines" array too (JSON) */
	bool hint;            /* text: end with how to annotate the top function */
	bool color;
	const char *input;    /* file name, for the header */
	const struct findings *findings; /* findings.h: printed at the end; NULL = none */
	bool quiet;           /* text: no header (report -q) */
	const struct evcols *events; /* evcols.h: every event side by side (JSON, CSV); NULL = one event */
	unsigned width;       /* text: the terminal's columns, rows are fitted to them; 0 = not a terminal */
	bool full_names;      /* text: names are never shortened to fit */
};

/* Function indexes of p, sorted by the chosen key (heaviest first); caller frees. */
uint32_t *report_sorted_funcs(const struct profile *p, enum sort_key key, size_t *ret_n);

/* Where a recording lost samples (meta lost_by_cpu and lost_times). */
struct report_lost_cpu {
	int cpu;
	uint64_t count;
};
struct report_lost_burst {
	double start_s, end_s; /* from the start of the recording */
	uint64_t count;
};
struct report_lost {
	VEC(struct report_lost_cpu) cpus;
	VEC(struct report_lost_burst) bursts; /* in time order */
};
/* Parse them; malformed entries are skipped. Release with report_lost_release(). */
void report_lost_get(const struct cprof_data *d, struct report_lost *ret);
void report_lost_release(struct report_lost *l);

/* tree: p's call tree, built by the caller (calltree_build, reversed with
 * o->callee_tree), printed after the rows; NULL: none. */
struct calltree;
void report_text(FILE *out, const struct profile *p, const struct calltree *tree, const struct report_opts *o);
/* report -s with perf's keys (group.h): text, CSV or JSON ("cprof-report-groups/1"). */
struct grouping;
void report_grouped(FILE *out, const struct grouping *g, const struct profile *p, enum report_format fmt,
		    const struct report_opts *o);
/* report --header-only, and the head of report -v: everything the data file
 * says about the recording, as "# " lines. */
void report_header_only(FILE *out, const struct cprof_data *d, const char *input);
void report_json(FILE *out, const struct profile *p, const struct report_opts *o);
void report_csv(FILE *out, const struct profile *p, const struct report_opts *o);

/* A recording of several events: each event's share per function, and IPC
 * where cycles and instructions were both counted (report-events.c). The
 * text table; the JSON fields "events", "ipc" and "event_functions"; the
 * CSV columns after a function row's own (its header part, then one row's
 * part for evcols row r, SIZE_MAX for a function not in c). report_json
 * and report_csv call the last three when o->events is set. */
struct evcols;
void report_events_text(FILE *out, const struct evcols *c, const struct profile *p, const struct report_opts *o);
void report_events_json(FILE *out, const struct evcols *c, const struct profile *p, const struct report_opts *o);
void report_events_csv_header(FILE *out, const struct evcols *c, const struct cprof_data *d);
void report_events_csv_row(FILE *out, const struct evcols *c, size_t r);

/* The findings section of the text and JSON views (findings-output.c). */
struct findings;
void findings_text(FILE *out, const struct findings *f, bool color);
void findings_json(FILE *out, const struct findings *f); /* a JSON array */

#endif
