/*
 * offcpu.h - off-CPU time as a data source (src/offcpu/): its row in
 * cprof_sources[] and its views (source.h).
 */
#ifndef CPROF_OFFCPU_H
#define CPROF_OFFCPU_H

#include <stdio.h>

#include "cprof/source.h"

struct cprof_data;

extern const struct source_ops offcpu_source;
extern const struct source_view offcpu_view;

/* The report of d's intervals off a CPU (offcpu-data.h) in format (enum
 * report_format: text, JSON, CSV or folded); top: rows of each text table
 * and longest waits kept, 0 for all. */
struct latclasses;
/* lc: the latency classes' limits (latclass.h), NULL: the defaults. */
void offcpu_report(FILE *out, const struct cprof_data *d, const char *input, int format, size_t top,
		   const struct latclasses *lc);

#endif
