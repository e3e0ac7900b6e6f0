/*
 * mem-report.h - `cprof report --mem`: the memory sections of a recording
 * as leaks, peak heap, allocation hot spots, temporaries, a size
 * histogram and findings; as text, JSON, CSV or folded stacks; and the
 * heap-over-time chart (SVG).
 */
#ifndef CPROF_MEM_REPORT_H
#define CPROF_MEM_REPORT_H

#include <stdio.h>
#include "cprof/data.h"
#include "cprof/report.h"

enum mem_weight { MEMW_BYTES, MEMW_COUNT };
extern const char *const mem_weight_names[]; /* "bytes", "count", NULL */

struct mem_report_opts {
	const char *input;
	enum report_format format;
	enum mem_weight weight;  /* folded output */
	size_t top;              /* rows per table; 0 = all */
};

/* One row per allocation stack and kind, merged over processes. In a
 * sampled recording (--mem=sample) the counts are rounded estimates, the
 * var_* their variances, and temp_* and peak_* are not measured (0). */
struct mem_row {
	uint32_t stack, kind;
	uint64_t allocs, bytes, temp_allocs, temp_bytes, leaked, leaked_bytes;
	uint64_t peak_count, peak_bytes, max_size, temp_max_size;
	uint64_t samples;
	double var_allocs, var_bytes, var_leaked, var_leaked_bytes;
};
struct mem_summary {
	VEC(struct mem_row) rows;
	uint64_t allocs, bytes, temp_allocs, leaked, leaked_bytes, events, unmatched_frees, lost;
	uint64_t peak_bytes, peak_time, mmap_peak;   /* the largest process peak */
	uint32_t peak_pid;
	uint64_t hist[MP_HIST_BUCKETS];
	bool sampled;                /* estimates: see sample_bytes and the var_* */
	uint64_t sample_bytes, samples;
	double var_allocs, var_bytes, var_leaked, var_leaked_bytes;
};
/* Half-width of the 95 % interval of an estimate of variance var. */
double mem_err95(double var);
void mem_summarize(const struct cprof_data *d, struct mem_summary *s);
void mem_summary_release(struct mem_summary *s);

void mem_report(FILE *out, const struct cprof_data *d, const struct mem_report_opts *o);
/* Heap in use over time, one line per process; fails if there is no data. */
int mem_plot_svg(FILE *out, const struct cprof_data *d, const char *title, struct cprof_err *err) CPROF_WUR;

/* Allocation flame graph: each allocation stack weighted by bytes or count,
 * the allocating function as the leaf ([mmap] above anonymous mappings). */
struct flamegraph;
void fg_add_mem(struct flamegraph *g, const struct cprof_data *d, enum mem_weight w, bool reverse);

#endif
