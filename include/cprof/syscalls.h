/*
 * syscalls.h - syscalls as a data source (src/syscalls/): its row in
 * cprof_sources[] and its report view (source.h).
 */
#ifndef CPROF_SYSCALLS_H
#define CPROF_SYSCALLS_H

#include <stdio.h>

#include "cprof/source.h"

struct cprof_data;

extern const struct source_ops syscalls_source;
extern const struct source_view syscalls_view;

/* The report of d's syscalls (sys-data.h) in format (enum report_format:
 * text, JSON or CSV); top: rows of the text table, 0 for all. */
struct latclasses;
/* lc: the latency classes' limits (latclass.h), NULL: the defaults. */
void sys_report(FILE *out, const struct cprof_data *d, const char *input, int format, size_t top,
		const struct latclasses *lc);

#endif
