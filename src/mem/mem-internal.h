/*
 * mem-internal.h - what the memory views share (summary.c).
 */
#ifndef CPROF_MEM_INTERNAL_H
#define CPROF_MEM_INTERNAL_H

#include "cprof/data.h"

/* Time zero of the recording: its start, else the first traced process's. */
uint64_t mem_origin(const struct cprof_data *d);

/* An estimate rounded to a count (0 below zero or beyond range). */
uint64_t mem_round_est(double v);

#endif
