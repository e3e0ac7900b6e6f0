/*
 * perf-import.h - a perf.data file as a cprof recording: the reader of
 * data/perfdata.c walks it, copied user stacks (perf record --call-graph
 * dwarf) are unwound with the unwinder `cprof record` uses, and the
 * finishing pass of record symbolizes the samples from the binaries on
 * this machine. So every view reads perf's recordings as it reads its own.
 */
#ifndef CPROF_PERF_IMPORT_H
#define CPROF_PERF_IMPORT_H

#include <stdio.h>
#include "cprof/base.h"

struct cprof_data;

/*
 * Read the perf.data in fp into d (initialised by the call; released on
 * error). magic holds the magic_len first bytes, already read from fp by
 * the caller's format sniffing. name is used in messages.
 */
int perf_import(struct cprof_data *d, FILE *fp, const uint8_t *magic, size_t magic_len, const char *name,
		struct cprof_err *err) CPROF_WUR;

#endif
