/*
 * latency.h - function latency as a data source (src/latency/): its row in
 * cprof_sources[] and its report view (source.h).
 */
#ifndef CPROF_LATENCY_H
#define CPROF_LATENCY_H

#include <stdio.h>

#include "cprof/source.h"

struct cprof_data;

extern const struct source_ops latency_source;
extern const struct source_view latency_view;

/* The report of d's function latencies (lat-data.h) in format (enum
 * report_format: text, JSON or CSV). */
struct latclasses;
/* lc: the latency classes' limits (latclass.h), NULL: the defaults. */
void lat_report(FILE *out, const struct cprof_data *d, const char *input, int format, const struct latclasses *lc);

#endif
