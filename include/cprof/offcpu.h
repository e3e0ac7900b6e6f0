/*
 * offcpu.h - off-CPU time as a data source (src/offcpu/): its row in
 * cprof_sources[] and its views (source.h).
 */
#ifndef CPROF_OFFCPU_H
#define CPROF_OFFCPU_H

#include "cprof/source.h"

extern const struct source_ops offcpu_source;
extern const struct source_view offcpu_view;

#endif
