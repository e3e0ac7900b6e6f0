/*
 * gpu-report.h - reading the GPU activity of a recording (src/gpu/): the
 * summary that `cprof report --gpu` prints (summary.c), its text/JSON/CSV
 * writers (report.c) and the GPU-time flame graph (flame.c); the views
 * (views.c) reach them through the source's row (source.h).
 *
 * A summary borrows its struct cprof_data, which must outlive it.
 */
#ifndef CPROF_GPU_REPORT_H
#define CPROF_GPU_REPORT_H

#include <stdio.h>

#include "cprof/data.h"

struct flamegraph;

/* Kernels grouped by name. */
struct gpu_kernel_row {
	uint32_t name;              /* string offset */
	uint64_t calls, total_ns, min_ns, max_ns;
	uint32_t heaviest;          /* index into gpu_ops of its longest launch */
};

/* Copies grouped by direction (CUPTI memcpy kind). */
struct gpu_copy_row {
	uint8_t kind;
	uint64_t calls, bytes, total_ns;
	uint64_t pageable, sync;    /* copies from/to pageable memory; synchronous copies */
};

/* Launch sites: the innermost user frame of the launching stack. */
struct gpu_site_row {
	uint32_t frame;             /* frame index, or GPU_NO_STACK for "no stack" */
	uint32_t stack;             /* one stack through it (the heaviest), or GPU_NO_STACK */
	uint64_t gpu_ns, kernels, copies, memsets;
	uint64_t sync_copies;       /* synchronous copies launched here */
};

/* One device's time: the span from its first to its last work, the union
 * of its work over all its streams, and the idle gaps between. */
struct gpu_device_row {
	uint32_t device;
	uint64_t first_ns, last_ns, busy_ns;
	uint64_t gaps, longest_gap_ns;       /* idle gaps of at least GPU_GAP_NS */
};

enum gpu_finding_kind { FINDING_IDLE_GAPS, FINDING_TINY_KERNELS, FINDING_PAGEABLE, FINDING_SYNC_COPY_LOOP };

struct gpu_finding {
	enum gpu_finding_kind kind;
	char *text;                 /* owned: one sentence with numbers and the fix */
	uint32_t subject;           /* device / kernel name string / site frame, kind-dependent */
	uint64_t value;
};

struct gpu_summary {
	const struct cprof_data *d;
	VEC(struct gpu_kernel_row) kernels;  /* heaviest total first */
	VEC(struct gpu_copy_row) copies;     /* most bytes first */
	VEC(struct gpu_site_row) sites;      /* most GPU time first */
	VEC(struct gpu_finding) findings;
	VEC(struct gpu_device_row) devices;  /* by device id */
	uint64_t kernel_ns, copy_ns, memset_ns, sync_ns;
	/* Summed over devices (device time): for one GPU, its own. */
	uint64_t span_ns, busy_ns, gaps, longest_gap_ns;
	uint64_t dropped;                    /* from meta: gpu_dropped_records */
	uint64_t loss[_GL_MAX];              /* from meta: what the collector could not record */
	uint64_t processes_ended, processes_signalled; /* from meta */
	uint64_t bad_records;                /* from meta: malformed records in the collector's stream */
};

/* An idle gap shorter than this is launch latency, not idleness worth counting. */
#define GPU_GAP_NS 10000ULL

/* Thresholds of the findings, shown in cprof-report(1). */
#define GPU_TINY_KERNEL_NS 10000ULL   /* average under 10 us ... */
#define GPU_TINY_KERNEL_CALLS 20      /* ... over at least this many launches */
#define GPU_IDLE_SHARE 0.10           /* idle at least 10% of the span ... */
#define GPU_IDLE_MIN_GAPS 3           /* ... in at least this many gaps */
#define GPU_SYNC_LOOP_CALLS 10        /* synchronous copies from one site */

/* Build the summary; fails (-ENODATA) when d holds no GPU activity. */
int gpu_summary_build(struct gpu_summary *s, const struct cprof_data *d, struct cprof_err *err) CPROF_WUR;
void gpu_summary_release(struct gpu_summary *s);

/* "func (file:line)" of a site into out. */
void gpu_site_label(const struct gpu_summary *s, const struct gpu_site_row *row, struct sbuf *out);

struct gpu_report_opts {
	const char *input;  /* shown in the header */
	size_t top;         /* rows per table, 0 = all */
};
void gpu_report_text(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o);
void gpu_report_json(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o);
void gpu_report_csv(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o);

/* The GPU's tracks on the Chrome trace (timeline.h; timeline.c). */
extern const struct timeline_track gpu_timeline;

/* Add GPU time to a flame graph: each kernel (copy, memset) as a leaf under
 * its launching CPU stack, weighted by its duration in ns. */
void gpu_flamegraph_add(struct flamegraph *g, const struct cprof_data *d);


#endif
