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

/*
 * A latency distribution of SECTION_LAT_HISTS, its buckets kept sparse in
 * cprof_data.lat_hist_buckets[first .. first + nbuckets). lat_hist_get()
 * makes the hist.h histogram the views count and merge with.
 */
struct cprof_lat_hist {
	uint32_t source, key, pid, tid; /* LH_SRC_*, its key; 0, 0: all processes and threads */
	uint64_t count, min, max;
	uint32_t first, nbuckets;
};
struct cprof_hist_bucket {
	uint32_t index;
	uint64_t count;
};
struct hist;
/* Keep h as the distribution of (source, key, pid, tid). */
void lat_hist_put(struct cprof_data *d, uint32_t source, uint32_t key, uint32_t pid, uint32_t tid,
		  const struct hist *h);
/* The distribution of (source, key) over all processes and threads into
 * *out (released first); false, and *out empty, when the file has none. */
bool lat_hist_get(const struct cprof_data *d, uint32_t source, uint32_t key, struct hist *out);
/* Which keys of a source got histogram percentiles instead of exact ones
 * (more durations than the exact cap): meta "lat_approx" lists
 * "syscalls:NR" and "latency:INDEX", comma-separated. */
bool lat_approximated(const struct cprof_data *d, const char *source, uint32_t key);
/* Add source:key to that list. */
void lat_mark_approximated(struct cprof_data *d, const char *source, uint32_t key);

/* The time in one source's calls by stack (SECTION_LAT_STACKS): tid 0,
 * over the threads of one (key, pid, stack); else one thread's calls of
 * the key, stack LAT_NO_STACK. oncpu: measured when has_oncpu. */
struct cprof_lat_stack {
	uint32_t source, key, pid, tid, stack;
	bool has_oncpu;
	uint64_t calls, total_ns, oncpu_ns;
};

/* 36..39: the functions; 40: the distributions; 41: time by stack (42, 43
 * are skipped as unknown). */
static inline bool lat_section_type(uint32_t type) { return type >= 36 && type <= 41; }
bool lat_section_present(const struct cprof_data *d, uint32_t type);
void lat_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count);
/* After the strings and stacks are loaded (records refer to them). */
int lat_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err);

#endif
