/*
 * lat-data.h - function latency as cprof keeps it (record --latency): per
 * probed function its calls, what became of them and the latency summary;
 * the slowest calls with their stacks. The sections' bytes are
 * data/lat-sections.c's and data-format.h's.
 */
#ifndef CPROF_LAT_DATA_H
#define CPROF_LAT_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "cprof/percentile.h"

struct sbuf;
struct cprof_data;
struct cprof_err;

struct cprof_lat_stat {
	uint32_t name, path;  /* string offsets: as given, and the file probed */
	uint64_t offset;      /* the probe's file offset */
	uint64_t calls;       /* entered */
	uint64_t returned;    /* returned, paired with their entry */
	uint64_t unreturned;  /* entered, never returned (longjmp, thread exit, end of recording) */
	uint64_t slow;        /* returned calls over the threshold */
	uint64_t total_ns;    /* entry to return, summed over the returned calls */
	uint32_t depth;       /* deepest nesting in one thread */
	uint64_t lat[PCT_N];  /* of the returned calls; zero when none returned */
};

#define LAT_NO_STACK UINT32_MAX
struct cprof_lat_slow {
	uint32_t func, pid, tid, stack; /* func: index in lat_stats; stack: LAT_NO_STACK without -g */
	uint64_t start, dur;
};

static inline bool lat_section_type(uint32_t type) { return type >= 36 && type <= 39; }
bool lat_section_present(const struct cprof_data *d, uint32_t type);
void lat_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count);
/* After the strings and stacks are loaded (records refer to them). */
int lat_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err);

#endif
