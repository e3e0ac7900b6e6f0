/*
 * capture.h - the finishing pass's part for `cprof annotate`: while the
 * recording's binaries are still open, save the machine code, line rows,
 * inline ranges and call-target names of its hottest functions into the
 * data (SECTION_CODE), so annotate works after a rebuild, a deletion or on
 * another machine.
 */
#ifndef CPROF_CAPTURE_H
#define CPROF_CAPTURE_H

#include "cprof/base.h"

struct cprof_data;
struct symbolizer;

/* Which functions are saved: the ones with the most samples (leaf address
 * in their code, inlined callees included), at most max_funcs, each with at
 * least min_share percent and min_samples of the samples, until
 * max_total_bytes of code are saved. A function up to whole_bytes is saved
 * whole; a bigger one (an interpreter's main loop) only in parts: window
 * instructions on each side of every sampled instruction. */
struct capture_opts {
	size_t max_funcs;
	double min_share;
	uint64_t min_samples;
	uint32_t whole_bytes;
	uint32_t window;
	uint64_t max_total_bytes;
};
#define CAPTURE_OPTS_INIT { 16, 1.0, 10, 8u << 10, 8, 1u << 20 }

struct capture_stats {
	uint32_t saved;   /* functions whose code is now in the data */
	uint32_t partial; /* of which only the parts around their samples */
	uint32_t failed;  /* hot functions whose code could not be read (binary gone, too big...) */
	uint64_t bytes;   /* code bytes saved */
};

/*
 * Needs d's samples, stacks, frames and maps. syms are the symbolizers that
 * resolved the samples: a binary one of them has open is read from there.
 * Never fails the recording: a function whose code cannot be read is
 * counted in st->failed and skipped.
 */
void capture_hot_code(struct cprof_data *d, struct symbolizer *const *syms, size_t nsyms,
		      const struct capture_opts *o, struct capture_stats *st);

#endif
