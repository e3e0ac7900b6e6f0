/*
 * svg.c - flame graph layout and SVG/HTML writing (see flamegraph.h).
 *
 * The tree comes built (analyze/flametree.c); layout walks it depth first
 * with children sorted by name, skips subtrees narrower than the minimum
 * width, and writes each frame as it is placed.
 *
 * One file: layout and writing are one walk of the tree. (The frames'
 * colours are apart, in svg-color.c.)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/flamegraph.h"
#include "cprof/output.h"
#include "svg-color.h"

const char *const fg_palette_names[] = {
	"hot", "cold", "mem", "io", "rainbow", "java",
	"red", "green", "blue", "yellow", "purple", "aqua", "orange", NULL,
};

#define XPAD 10.0
#define FONT_SIZE 12.0
#define FONT_WIDTH 0.59
#define FRAME_PAD 1.0

/* ---- writing ---- */

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* The label that fits a box w px wide: the name, cut with ".." when too
 * long, or nothing below three characters (the JS uses the same rule). */
static void write_label(FILE *out, const char *s, size_t len, double w)
{
	int fit = (int)((w - 3) / (FONT_SIZE * FONT_WIDTH));
	if (fit < 3)
		return;
	size_t chars = utf8_chars(s, len);
	if (chars <= (size_t)fit) {
		xml_escape(out, s, len, 0);
		return;
	}
	xml_escape(out, s, len, (size_t)fit - 2);
	fputs("..", out);
}

static const char *const bg_colors[][2] = {
	[FG_HOT] = { "#eeeeee", "#eeeeb0" },    [FG_COLD] = { "#eeeeee", "#e0e0ff" },
	[FG_MEM] = { "#eef2ee", "#e0ffe0" },    [FG_IO] = { "#eeeeee", "#e0e0ff" },
	[FG_RAINBOW] = { "#f8f8f8", "#e8e8e8" }, [FG_JAVA] = { "#eeeeee", "#eeeeb0" },
	[FG_RED] = { "#f8f8f8", "#e8e8e8" },    [FG_GREEN] = { "#f8f8f8", "#e8e8e8" },
	[FG_BLUE] = { "#f8f8f8", "#e8e8e8" },   [FG_YELLOW] = { "#f8f8f8", "#e8e8e8" },
	[FG_PURPLE] = { "#f8f8f8", "#e8e8e8" }, [FG_AQUA] = { "#f8f8f8", "#e8e8e8" },
	[FG_ORANGE] = { "#f8f8f8", "#e8e8e8" },
};

/* The page's script: zoom, search, tooltips, URL state. It reads its
 * geometry from data-* attributes of the <svg> element and reports what it
 * did in data-matched, data-zoom-width and data-error (handy for tests).
 * Its source is flamegraph.js, compiled in by scripts/embed.py. */
extern const char fg_script[];

struct layout {
	const struct flamegraph *g;
	const struct fg_opts *o;
	FILE *out;
	double wpt;             /* px per sample */
	double height, top;     /* image height; y where frames start (icicle) */
	double maxdelta;
	uint32_t *rank;         /* name id -> alphabetical rank */
	uint32_t max_depth;     /* deepest drawn frame's */
	uint32_t kinds;         /* drawn_kinds' */
	uint32_t *kid_at, *kid; /* a tree's children by parent (scan_nodes) */
};

/* Children as (rank of the name << 32 | node id): by name, as numbers. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void sort_keys(uint64_t *v, size_t n)
{
	if (n > 16) {
		qsort(v, n, sizeof *v, cmp_u64);
		return;
	}
	for (size_t i = 1; i < n; i++) { /* most frames have a few children */
		uint64_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Name ids by their labels. */
static int cmp_names(const void *a, const void *b, void *ctx)
{
	const struct flamegraph *g = ctx;
	const struct fg_name *x = &g->names.v[*(const uint32_t *)a], *y = &g->names.v[*(const uint32_t *)b];
	return strcmp(g->names_buf.buf + x->off, g->names_buf.buf + y->off);
}

static double self_delta(const struct flamegraph *g, const struct fg_node *n)
{
	/* Both sides as fractions of their own totals; exact zero when equal. */
	uint64_t a_tot = g->nodes.v[0].total, b_tot = g->before_total;
	if (!a_tot || !b_tot)
		return b_tot ? -(double)n->before_self / (double)b_tot : (a_tot ? (double)n->self / (double)a_tot : 0);
	/* Each product needs 128 bits unsigned; their difference may not fit signed. */
	unsigned __int128 p = (unsigned __int128)n->self * b_tot, q = (unsigned __int128)n->before_self * a_tot;
	double num = p >= q ? (double)(p - q) : -(double)(q - p);
	return num / ((double)a_tot * (double)b_tot);
}

/* What is drawn, in one pass along the nodes (each pass over a big graph's
 * nodes reads tens of MB): the deepest drawn level, so the image is as
 * tall as what is drawn; which kinds of frame with a colour of their own
 * are drawn (FRF_* bits, and FRF_UNKNOWN for "[unknown]"; not for a
 * differential graph, whose colours say something else); and for a tree
 * (not a chart), every node's children side by side: the walk then reads
 * a drawn frame's children from one array, their nodes fetched together,
 * instead of following sibling links one cache miss after another. */
static void scan_nodes(struct layout *L)
{
	const struct flamegraph *g = L->g;
	size_t nn = g->nodes.n;
	bool tree = !g->chart && !g->lanes && nn > 1, kinds = !g->diff;
	double min_width = L->o->min_width;
	if (tree) {
		L->kid_at = xcalloc(nn + 1, sizeof *L->kid_at);
		L->kid = xmalloc(nn * sizeof *L->kid);
	}
	for (size_t i = 1; i < nn; i++) {
		const struct fg_node *n = &g->nodes.v[i];
		if (tree)
			L->kid_at[n->parent]++;
		if ((double)n->total * L->wpt < min_width)
			continue;
		if (n->depth > L->max_depth)
			L->max_depth = n->depth;
		if (kinds) {
			const struct fg_name *nm = &g->names.v[n->name];
			L->kinds |= nm->flags & (FRF_KERNEL | FRF_INLINED | FRF_JIT);
			if (nm->shown == 9 && memcmp(g->names_buf.buf + nm->off, "[unknown]", 9) == 0)
				L->kinds |= FRF_UNKNOWN;
		}
	}
	if (!tree)
		return;
	for (size_t i = 1; i <= nn; i++) /* kid_at[p]: where p's children end */
		L->kid_at[i] += L->kid_at[i - 1];
	for (size_t i = 1; i < nn; i++) /* older ones further back: kid_at[p] moves to their start */
		L->kid[--L->kid_at[g->nodes.v[i].parent]] = (uint32_t)i;
}

/* Appenders for write_frame's buffer: its longest piece is six numbers
 * (fmt_fixed's, at most FMT_FIXED_BUF - 1 characters each, three ints) and
 * under 200 bytes of tags. */
static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *put_int(char *p, int v)
{
	char d[16];
	int n = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	if (v < 0)
		*p++ = '-';
	do
		d[n++] = (char)('0' + u % 10);
	while (u /= 10);
	while (n)
		*p++ = d[--n];
	return p;
}

static void write_frame(struct layout *L, uint32_t id, double x1, double x2)
{
	const struct flamegraph *g = L->g;
	const struct fg_node *n = &g->nodes.v[id];
	const struct fg_name *nm = &g->names.v[n->name];
	const char *name = g->names_buf.buf + nm->off;
	FILE *out = L->out;
	double fh = L->o->frame_height, y1, y2;
	if (L->o->inverted) {
		y1 = L->top + n->depth * fh;
		y2 = L->top + (n->depth + 1) * fh - FRAME_PAD;
	} else {
		y1 = L->height - (2 * FONT_SIZE + 10) - (n->depth + 1) * fh + FRAME_PAD;
		y2 = L->height - (2 * FONT_SIZE + 10) - n->depth * fh;
	}
	char num[32], buf[7 * FMT_FIXED_BUF], *p = buf;
	uint64_t total = g->nodes.v[0].total;
	fputs("<g><title>", out);
	xml_escape(out, name, nm->shown, 0);
	if (g->lanes) {
		char at[32], len[32];
		fprintf(out, " (at %s for %s", fmt_seconds_short((double)n->start * g->tick_s, at),
			fmt_seconds_short((double)n->total * g->tick_s, len));
	} else {
		p = put_str(p, " (");
		p = put_str(p, fmt_thousands(n->total, num));
		*p++ = ' ';
		fwrite(buf, 1, (size_t)(p - buf), out);
		fputs(L->o->countname ? L->o->countname : n->total == 1 ? "sample" : "samples", out);
		p = put_str(buf, ", ");
		p += fmt_fixed(p, 100.0 * (double)n->total / (double)total, 2);
		*p++ = '%';
		fwrite(buf, 1, (size_t)(p - buf), out);
	}
	struct rgb c;
	if (g->diff) {
		/* Self shares of each side, and their difference in points. */
		double delta = self_delta(g, n), after = total ? (double)n->self / (double)total : 0;
		double before = g->before_total ? (double)n->before_self / (double)g->before_total : 0;
		fprintf(out, "; self %.2f%% before, %.2f%% after: %+.2f pp", 100 * before, 100 * after, 100 * delta);
		c = fg_diff_color(delta, L->maxdelta, L->o->negate);
	} else {
		c = fg_frame_color(g, nm, L->o->palette, L->o->hash);
	}
	if (nm->hot_len) {
		fputs("; hottest line ", out);
		xml_escape(out, g->names_buf.buf + nm->hot_off, nm->hot_len, 0);
	}
	/* The rest is numbers: formatted here (fmt_fixed prints what "%.3f"
	 * and "%.1f" would) and written at once. */
	p = put_str(buf, ")</title><rect x=\"");
	p += fmt_fixed(p, x1, 3);
	p = put_str(p, "\" y=\"");
	p += fmt_fixed(p, y1, 1);
	p = put_str(p, "\" width=\"");
	p += fmt_fixed(p, x2 - x1, 3);
	p = put_str(p, "\" height=\"");
	p += fmt_fixed(p, y2 - y1, 1);
	p = put_str(p, "\" fill=\"rgb(");
	p = put_int(p, c.r);
	*p++ = ',';
	p = put_int(p, c.g);
	*p++ = ',';
	p = put_int(p, c.b);
	p = put_str(p, ")\" rx=\"2\" ry=\"2\"/><text x=\"");
	p += fmt_fixed(p, x1 + 3, 3);
	p = put_str(p, "\" y=\"");
	p += fmt_fixed(p, 3 + (y1 + y2) / 2, 1);
	*p++ = '"';
	if (fg_dark(c))
		p = put_str(p, " class=\"light\"");
	*p++ = '>';
	fwrite(buf, 1, (size_t)(p - buf), out);
	write_label(out, name, nm->shown, x2 - x1);
	fputs("</text></g>\n", out);
}

/* Depth-first, children in name order, parents before children (the
 * script takes the first frame as the root). */
static void layout_write(struct layout *L)
{
	const struct flamegraph *g = L->g;
	struct item {
		uint32_t node;
		uint64_t start;
	};
	VEC(struct item) stack = { 0 };
	VEC(uint64_t) kids = { 0 }; /* a tree's: rank << 32 | node; a chart's: node */
	const uint32_t *kid_at = L->kid_at, *kid = L->kid;
	vec_push(&stack, ((struct item){ 0, 0 }));
	while (stack.n) {
		struct item it = stack.v[--stack.n];
		const struct fg_node *n = &g->nodes.v[it.node];
		double x1 = XPAD + (double)it.start * L->wpt, x2 = XPAD + (double)(it.start + n->total) * L->wpt;
		write_frame(L, it.node, x1, x2);
		/* All children in name order take their space, so pruning a
		 * narrow frame does not shift its siblings. */
		kids.n = 0;
		if (kid) {
			vec_reserve(&kids, kid_at[it.node + 1] - kid_at[it.node]);
			for (uint32_t k = kid_at[it.node]; k < kid_at[it.node + 1]; k++)
				kids.v[kids.n++] = (uint64_t)L->rank[g->nodes.v[kid[k]].name] << 32 | kid[k];
		} else {
			for (uint32_t c = n->first_child; c; c = g->nodes.v[c].next_sibling)
				vec_push(&kids, c);
		}
		if (!kids.n)
			continue;
		if (g->chart) {
			/* Frames know where they start; the order is time. */
			for (size_t k = 0; k < kids.n; k++) {
				const struct fg_node *c = &g->nodes.v[kids.v[k]];
				if ((double)c->total * L->wpt >= L->o->min_width)
					vec_push(&stack, ((struct item){ (uint32_t)kids.v[k], c->start }));
			}
			continue;
		}
		sort_keys(kids.v, kids.n); /* siblings' names differ: no ties */
		uint64_t end = it.start + n->total; /* self time stays on the left */
		for (size_t k = kids.n; k-- > 0;) {
			uint32_t id = (uint32_t)kids.v[k];
			const struct fg_node *c = &g->nodes.v[id];
			end -= c->total;
			if ((double)c->total * L->wpt >= L->o->min_width)
				vec_push(&stack, ((struct item){ id, end }));
		}
	}
	vec_release(&stack);
	vec_release(&kids);
}

/* ---- legend and time axis ---- */

enum { LEGEND_H = 20, AXIS_H = 20 };

/* Text in the legend row at *x, at most max characters (cut in the
 * middle); moves *x past it. */
static void legend_text(FILE *out, double *x, double y, const char *s, size_t max, const char *id)
{
	size_t len = strlen(s), chars = utf8_chars(s, len);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\"%s%s%s>", *x, y, id ? " id=\"" : "", id ? id : "", id ? "\"" : "");
	if (max && chars > max) {
		/* Byte offsets of the first and last max/2 characters. */
		size_t head = 0, keep = 0;
		while (head < len && keep < (max - 1) / 2)
			keep += ((unsigned char)s[head++] & 0xc0) != 0x80 ? 1 : 0;
		while (head < len && ((unsigned char)s[head] & 0xc0) == 0x80)
			head++;
		size_t tail = len;
		for (keep = 0; tail > head && keep < max - 1 - (max - 1) / 2;)
			keep += ((unsigned char)s[--tail] & 0xc0) != 0x80 ? 1 : 0;
		xml_escape(out, s, head, 0);
		fputs("\u2026", out);
		xml_escape(out, s + tail, len - tail, 0);
		chars = max;
	} else {
		xml_escape(out, s, len, 0);
	}
	fputs("</text>\n", out);
	*x += (double)chars * FONT_SIZE * FONT_WIDTH + 16;
}

static void legend_swatch(FILE *out, double *x, double y, struct rgb c, const char *label)
{
	fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" rx=\"2\" ry=\"2\" fill=\"rgb(%d,%d,%d)\" "
		     "stroke=\"rgb(120,120,120)\" stroke-width=\"0.5\"/>\n", *x, y - 10, c.r, c.g, c.b);
	*x += 16;
	legend_text(out, x, y, label, 0, NULL);
}

/* One row under the title saying what the colours and the layout mean:
 * the differential scale and what was compared, the kinds of frame the
 * semantic palettes colour apart, and what a reversed graph shows. */
static void write_legend(FILE *out, const struct flamegraph *g, const struct fg_opts *o, uint32_t kinds, double y)
{
	double x = XPAD;
	static const double mid[3] = { 0.5, 0.5, 0.5 };
	fputs("<g id=\"legend\">\n", out);
	if (g->diff) {
		struct rgb grew = { 255, 100, 100 }, shrank = { 100, 100, 255 };
		legend_swatch(out, &x, y, o->negate ? shrank : grew, "self share grew");
		legend_swatch(out, &x, y, o->negate ? grew : shrank, "shrank");
		legend_swatch(out, &x, y, (struct rgb){ 255, 255, 255 }, "same (after \u2212 before, in points)");
		x += 8;
		struct sbuf sb = SBUF_INIT;
		sbuf_addf(&sb, "before: %s", o->before_label ? o->before_label : "the first profile");
		legend_text(out, &x, y, sb.buf, 48, "before");
		sbuf_reset(&sb);
		sbuf_addf(&sb, "after: %s (widths)", o->after_label ? o->after_label : "the second profile");
		legend_text(out, &x, y, sb.buf, 56, "after");
		sbuf_release(&sb);
	} else if (kinds && (o->palette == FG_HOT || o->palette == FG_JAVA)) {
		legend_swatch(out, &x, y, fg_basic_color(o->palette == FG_JAVA ? FG_RED : FG_HOT, mid), "native code");
		if (kinds & FRF_INLINED)
			legend_swatch(out, &x, y, fg_basic_color(FG_AQUA, mid), "inlined: compiled into its caller");
		if (kinds & FRF_KERNEL)
			legend_swatch(out, &x, y, fg_basic_color(FG_ORANGE, mid), "kernel");
		if (kinds & FRF_JIT)
			legend_swatch(out, &x, y, fg_basic_color(FG_GREEN, mid), "JIT-compiled");
		if (kinds & FRF_UNKNOWN)
			legend_swatch(out, &x, y, (struct rgb){ 190, 190, 190 }, "[unknown]: no symbol");
	}
	if (o->reverse)
		legend_text(out, &x, y, o->inverted ? "reversed: where samples landed at the top, their callers below"
						    : "reversed: where samples landed at the bottom, their callers above", 0, NULL);
	fputs("</g>\n", out);
}

/* Lanes: time ticks (labels at y, lines down to y2) behind the frames;
 * the script draws them again for the part zoomed into. */
static void write_axis(FILE *out, const struct flamegraph *g, double full, double y, double y2)
{
	double span = (double)g->nodes.v[0].total * g->tick_s;
	double step = nice_step(span / (full / 100 >= 1 ? (int)(full / 100) : 1));
	double unit = span >= 1 ? 1 : span >= 1e-3 ? 1e-3 : 1e-6;
	const char *name = unit == 1 ? "s" : unit == 1e-3 ? "ms" : "\u00b5s";
	int dec = step / unit >= 1 ? 0 : (int)ceil(-log10(step / unit) - 1e-9);
	fprintf(out, "<g id=\"axis\" data-y=\"%.0f\" data-y2=\"%.0f\">\n", y, y2);
	for (int k = 0; k * step <= span * (1 + 1e-9); k++) {
		double x = XPAD + k * step / span * full;
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/><text x=\"%.1f\" y=\"%.0f\" "
			     "text-anchor=\"%s\">%.*f %s</text>\n", x, x, y + 4, y2, x, y,
			x < XPAD + 20 ? "start" : x > XPAD + full - 20 ? "end" : "middle", dec, k * step / unit, name);
	}
	fputs("</g>\n", out);
}

int fg_write(FILE *out, const struct flamegraph *g, const struct fg_opts *o, struct cprof_err *err)
{
	uint64_t total = g->nodes.v[0].total;
	if (!total)
		return err_set(err, ENODATA, "no samples to draw");
	if (o->width < 2 * XPAD + 1)
		return err_set(err, EINVAL, "width %g is too small", o->width);

	struct layout L = { .g = g, .o = o, .out = out };
	L.wpt = (o->width - 2 * XPAD) / (double)total;
	scan_nodes(&L);
	double ypad1 = 3 * FONT_SIZE, ypad2 = 2 * FONT_SIZE + 10, ypad3 = o->subtitle ? 2 * FONT_SIZE : 0;
	/* Rows under the title: the legend, the time axis of lanes. */
	uint32_t kinds = L.kinds;
	bool legend = g->diff || o->reverse || (kinds && (o->palette == FG_HOT || o->palette == FG_JAVA));
	double legend_h = legend ? LEGEND_H : 0, axis_h = g->lanes ? AXIS_H : 0;
	L.top = ypad1 + ypad3 + legend_h + axis_h;
	L.height = (L.max_depth + 1) * o->frame_height + ypad1 + ypad2 + ypad3 + legend_h + axis_h;

	/* Alphabetical order of names, as a rank per name id. */
	uint32_t *order = xmalloc(g->names.n * sizeof *order);
	for (uint32_t i = 0; i < g->names.n; i++)
		order[i] = i;
	qsort_r(order, g->names.n, sizeof *order, cmp_names, (void *)g);
	L.rank = xmalloc(g->names.n * sizeof *L.rank);
	for (uint32_t i = 0; i < g->names.n; i++)
		L.rank[order[i]] = i;
	free(order);

	if (g->diff)
		for (size_t i = 0; i < g->nodes.n; i++) {
			double d = fabs(self_delta(g, &g->nodes.v[i]));
			if (d > L.maxdelta)
				L.maxdelta = d;
		}

	const char *title = o->title           ? o->title
			    : g->diff          ? (o->inverted ? "Differential Icicle Graph" : "Differential Flame Graph")
			    : g->chart         ? "Flame Chart"
			    : o->reverse       ? (o->inverted ? "Reverse Icicle Graph" : "Reverse Flame Graph")
			    : o->inverted      ? "Icicle Graph"
					       : "Flame Graph";
	double W = o->width, H = L.height;
	if (o->html) {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
		xml_escape(out, title, strlen(title), 0);
		fputs("</title>\n<style>body{margin:0;padding:8px;background:#fff}</style>\n</head>\n<body>\n", out);
	} else {
		fputs("<?xml version=\"1.0\" standalone=\"no\"?>\n", out);
	}
	fprintf(out, "<svg version=\"1.1\" id=\"flamegraph\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		     "xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
		     "data-width=\"%g\" data-xpad=\"%g\" data-fontsize=\"%g\" data-fontwidth=\"%g\" data-inverted=\"%d\" "
		     "data-matched=\"\" data-zoom-width=\"\" data-error=\"\"",
		W, H, W, H, W, XPAD, FONT_SIZE, FONT_WIDTH, o->inverted ? 1 : 0);
	if (g->lanes)
		fprintf(out, " data-span=\"%.9g\"", (double)total * g->tick_s);
	fputs(">\n", out);
	fprintf(out, "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		     "<stop stop-color=\"%s\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/></linearGradient></defs>\n",
		g->diff ? "#eeeeee" : bg_colors[o->palette][0], g->diff ? "#eeeeee" : bg_colors[o->palette][1]);
	fputs("<style type=\"text/css\">\n"
	      "text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }\n"
	      "#title { text-anchor: middle; font-size: 17px; }\n"
	      "#subtitle { text-anchor: middle; fill: rgb(160,160,160); }\n"
	      "#search, #unzoom { fill: rgb(40,40,40); cursor: pointer; }\n"
	      "#ignorecase { fill: rgb(100,100,100); cursor: pointer; }\n"
	      "#ignorecase.on { fill: rgb(150,0,150); font-weight: bold; }\n"
	      "#search:hover, #ignorecase:hover, #unzoom:hover { fill: rgb(0,0,0); text-decoration: underline; }\n"
	      "#matched.error { fill: rgb(190,0,0); font-weight: bold; }\n"
	      "#frames > *:hover { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
	      "#frames > *:hover > text { stroke: none; }\n"
	      "#frames text.light { fill: rgb(255,255,255); }\n"
	      "#frames text.hit { fill: rgb(0,0,0); }\n"
	      "#axis line { stroke: rgb(150,150,150); stroke-width: 0.5; stroke-dasharray: 2,3; }\n"
	      "#axis text { fill: rgb(80,80,80); }\n"
	      ".hide { display: none; }\n"
	      ".parent { opacity: 0.5; }\n"
	      "</style>\n", out);
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", fg_script);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"url(#background)\"/>\n", W, H);
	fprintf(out, "<text id=\"title\" x=\"%.1f\" y=\"%.0f\">", W / 2, FONT_SIZE * 2);
	xml_escape(out, title, strlen(title), 0);
	fputs("</text>\n", out);
	if (o->subtitle) {
		fprintf(out, "<text id=\"subtitle\" x=\"%.1f\" y=\"%.0f\">", W / 2, FONT_SIZE * 4);
		xml_escape(out, o->subtitle, strlen(o->subtitle), 0);
		fputs("</text>\n", out);
	}
	fprintf(out, "<text id=\"details\" x=\"%.0f\" y=\"%.0f\"> </text>\n", XPAD, H - ypad2 / 2);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%.0f\" y=\"%.0f\">Reset Zoom</text>\n", XPAD, FONT_SIZE * 2);
	fprintf(out, "<text id=\"search\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">Search</text>\n", W - XPAD - 30, FONT_SIZE * 2);
	fprintf(out, "<text id=\"ignorecase\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\"><title>case-insensitive search "
		     "(Ctrl-I): off</title>ic</text>\n", W - XPAD, FONT_SIZE * 2);
	fprintf(out, "<text id=\"matched\" class=\"hide\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\"> </text>\n", W - XPAD, H - ypad2 / 2);
	if (legend)
		write_legend(out, g, o, kinds, ypad1 + ypad3 + 12);
	if (g->lanes)
		write_axis(out, g, W - 2 * XPAD, ypad1 + ypad3 + legend_h + 12, H - ypad2);
	fputs("<g id=\"frames\">\n", out);
	layout_write(&L);
	fputs("</g>\n</svg>\n", out);
	if (o->html)
		fputs("</body>\n</html>\n", out);
	free(L.rank);
	free(L.kid_at);
	free(L.kid);
	return 0;
}
