/*
 * syscalls.h - syscalls as a data source (src/syscalls/): its row in
 * cprof_sources[] and its report view (source.h).
 */
#ifndef CPROF_SYSCALLS_H
#define CPROF_SYSCALLS_H

#include "cprof/source.h"

extern const struct source_ops syscalls_source;
extern const struct source_view syscalls_view;

#endif
