/*
 * flamegraph.h - a tree of frames (flametree.h) laid out as a flame graph
 * (or icicle graph) and written as a self-contained, interactive SVG,
 * optionally wrapped in an HTML page.
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
#include "cprof/flametree.h"

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

/* Write the graph. Fails (nothing written) when there are no samples. */
int fg_write(FILE *out, const struct flamegraph *g, const struct fg_opts *o, struct cprof_err *err) CPROF_WUR;

#endif
