/*
 * svg-color.h - the frame colours of svg.c, in svg-color.c.
 */
#ifndef CPROF_SVG_COLOR_H
#define CPROF_SVG_COLOR_H

#include "cprof/flamegraph.h"

struct rgb {
	int r, g, b;
};

/* A palette's colour for the three values in [0,1) a name gives. */
struct rgb fg_basic_color(enum fg_palette pal, const double v[3]);
/* A frame's colour: from its name by palette (hash: names with the same
 * beginning get similar colours), kernel, inlined and JIT frames apart
 * in the semantic palettes. */
struct rgb fg_frame_color(const struct flamegraph *g, const struct fg_name *nm, enum fg_palette pal, bool hash);
/* Differential: red where the self share grew, blue where it shrank. */
struct rgb fg_diff_color(double delta, double maxdelta, bool negate);
/* Whether white text reads better than black on c. */
bool fg_dark(struct rgb c);

#endif
