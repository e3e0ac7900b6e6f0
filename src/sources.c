/*
 * sources.c - cprof_sources[]: every optional data source of `cprof
 * record`, one row each (source.h). Adding one: a folder with its
 * source.c and the rest of its code, a line here, a library in
 * src/meson.build, its tests.
 */
#include "cprof/gpu-record.h"
#include "cprof/latency.h"
#include "cprof/mem-record.h"
#include "cprof/offcpu.h"
#include "cprof/source.h"
#include "cprof/syscalls.h"

const struct source_ops *const cprof_sources[] = {
	&mem_source,
	&gpu_source,
	&syscalls_source,
	&offcpu_source,
	&latency_source,
	NULL,
};
