/*
 * export.h - a recording in other tools' formats (cprof export):
 *
 *   pprof       profile.proto, gzipped: go tool pprof, Pyroscope, Parca
 *   speedscope  speedscope's JSON file format, one profile per thread
 *   chrome      Chrome trace event JSON (Perfetto, chrome://tracing): the
 *               timeline, also written by `cprof report --timeline`
 *
 * Each writer reads a built struct profile (which event, which samples)
 * and the recording under it; none filters or aggregates beyond what the
 * format needs. Writers return 0 or -errno with err filled; they never
 * print.
 */
#ifndef CPROF_EXPORT_H
#define CPROF_EXPORT_H

#include <stdio.h>
#include "cprof/profile.h"

/*
 * pprof: sample types "samples"/count and the event's weight (cpu/
 * nanoseconds for cpu-clock and task-clock, EVENT/count otherwise); for a
 * memory recording also alloc_objects, alloc_space, inuse_objects and
 * inuse_space (live at exit); with GPU activity also gpu/nanoseconds, each
 * kernel or copy a leaf under the CPU stack that launched it. Locations
 * carry inline chains as Location.line (innermost first), functions carry
 * names and source files, mappings the binaries' paths and build ids;
 * labels "thread" and "process" (numbers) and "thread_name" on CPU samples.
 * Addresses are the binaries' own (ELF virtual) addresses.
 */
int pprof_write(FILE *out, const struct profile *p, struct cprof_err *err) CPROF_WUR;

/* speedscope: one sampled profile per thread, samples in time order
 * weighted by the event's unit; one evented profile per GPU stream;
 * allocation profiles (bytes) for memory recordings. */
int speedscope_write(FILE *out, const struct profile *p, struct cprof_err *err) CPROF_WUR;

/* Chrome trace event JSON: timeline.h. */

#endif
