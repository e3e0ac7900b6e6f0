/*
 * flamegraph.h - stacks merged into a tree of frames by name path, laid out
 * as a flame graph (or icicle graph) and written as a self-contained,
 * interactive SVG, optionally wrapped in an HTML page.
 *
 * Layout and colours follow flamegraph.pl so the pictures look familiar:
 * children in alphabetical order, widths proportional to samples, frames
 * narrower than min_width pixels dropped. A differential graph takes its
 * widths from the "after" stacks and colours each frame by the change of
 * its self share between "before" and "after".
 */
#ifndef CPROF_FLAMEGRAPH_H
#define CPROF_FLAMEGRAPH_H

#include <stdio.h>
#include "cprof/profile.h"

enum fg_palette {
	FG_HOT, FG_COLD, FG_MEM, FG_IO, FG_RAINBOW, FG_JAVA,
	FG_RED, FG_GREEN, FG_BLUE, FG_YELLOW, FG_PURPLE, FG_AQUA, FG_ORANGE,
	_FG_PALETTE_MAX
};
/* NULL-terminated, in enum order. */
extern const char *const fg_palette_names[];

struct fg_opts {
	const char *title;     /* NULL = "Flame Graph" / "Icicle Graph" / "Differential Flame Graph" */
	const char *subtitle;  /* NULL = none */
	const char *countname; /* NULL = "samples" */
	double width;          /* image width in px */
	double frame_height;   /* px */
	double min_width;      /* px; narrower frames are dropped */
	enum fg_palette palette;
	bool hash;             /* colours weighted by the name's first characters */
	bool inverted;         /* icicle: root at the top */
	bool negate;           /* differential: swap red and blue */
	bool html;             /* wrap the SVG in an HTML page */
	bool reverse;          /* stacks were merged from the leaves (titles it) */
	const char *before_label, *after_label; /* differential: what was compared (legend) */
};
#define FG_OPTS_INIT { NULL, NULL, NULL, 1200, 16, 0.1, FG_HOT, false, false, false, false, false, NULL, NULL }

struct fg_node {
	uint32_t name;         /* index into names */
	uint32_t first_child, next_sibling; /* 0 = none */
	uint32_t depth;
	uint64_t total;        /* inclusive count ("after" side) */
	uint64_t self;         /* count of stacks ending here */
	uint64_t before_self;  /* differential: self count in "before" */
	uint64_t start;        /* flame chart: where it begins, in samples */
};

struct fg_name {
	uint32_t off;          /* into names_buf: the full label, with "_[k]"/"_[i]" */
	uint32_t len;          /* length of the full label */
	uint32_t shown;        /* length displayed (the suffix stripped) */
	uint32_t flags;        /* FRF_KERNEL / FRF_INLINED from the suffix */
	uint32_t hot_off;      /* into names_buf: the function's hottest line ("file.c:42"), shown in its tooltip */
	uint32_t hot_len;      /* 0: none known */
};

/* A slot of the child index; node 0 (the root, never a child) marks it empty. */
struct fg_child {
	uint32_t parent, name, node;
};

struct fg_step {
	uint32_t name, node;
};

struct flamegraph {
	VEC(struct fg_node) nodes; /* node 0 is the root, "all" */
	VEC(struct fg_name) names;
	struct sbuf names_buf;
	struct hashidx name_idx;   /* label -> name */
	struct fg_child *child_slot; /* (parent, name) -> node, open addressing */
	size_t child_cap, child_count;
	VEC(struct fg_step) last;  /* the stack added last: its names and nodes */
	uint64_t before_total;
	bool diff;                 /* fg_add_before_* was called */
	bool chart;                /* flame chart: stacks kept in the order added */
	bool lanes;                /* flame chart of threads: one lane each, x is time */
	double tick_s;             /* lanes: seconds per unit of x (start, total) */
};

void fg_init(struct flamegraph *g);
/* A flame chart instead: stacks are not sorted, and a frame is merged only
 * with the same frame of the stack just before it, so x is time. */
void fg_init_chart(struct flamegraph *g);
void fg_release(struct flamegraph *g);

/* Name id of a label ("func", "func_[k]", "func_[i]"). */
uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len);
/* Add count samples on a stack of name ids, root first. */
void fg_add_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count);
/* Differential: count "before" samples on a stack; stacks absent from the
 * drawn tree are counted in the total only (they cannot be seen). */
void fg_add_before_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count);
/* Add every stack of a profile (sample counts); root (may be NULL) is put
 * above each stack; reverse merges from the leaves. */
void fg_add_profile(struct flamegraph *g, const struct profile *p, const char *root, bool reverse, bool before);
/* The same with a root frame "NAME-TID" per thread: each of p's threads is
 * aggregated again with f narrowed to it. */
int fg_add_profile_threads(struct flamegraph *g, const struct profile *p, const struct profile_filter *f,
			   bool reverse, bool before, struct cprof_err *err) CPROF_WUR;

/* Flame chart input: p's samples in time order. With per_thread, one lane
 * per thread under a "NAME-TID" root each, all on one time axis: x counts
 * sampling intervals since the first sample, and a frame runs on while
 * its thread's samples keep finding it. Not with "before". */
void fg_add_samples(struct flamegraph *g, const struct profile *p, bool reverse, bool per_thread);

/* Write the graph. Fails (nothing written) when there are no samples. */
int fg_write(FILE *out, const struct flamegraph *g, const struct fg_opts *o, struct cprof_err *err) CPROF_WUR;

#endif
