/*
 * svg-color.c - the colours of a flame graph's frames (svg-color.h): from
 * the name by palette, or by the change of a differential graph, and
 * whether a frame's label is better white.
 */
#include <math.h>
#include <string.h>

#include "svg-color.h"

/* Three values in [0,1) from the name: a plain FNV-1a hash by default, or
 * with hash_mode a weighted sum of the first characters so that names with
 * the same beginning get similar colours. */
static void name_values(const char *s, size_t len, bool hash_mode, double v[3])
{
	if (!hash_mode) {
		uint64_t h = hash_bytes(s, len, HASH_SEED);
		h ^= h >> 31;
		h *= 0x94d049bb133111ebULL;
		h ^= h >> 29;
		for (int i = 0; i < 3; i++)
			v[i] = (double)((h >> (i * 21)) & 0x1fffff) / (double)(1u << 21);
		return;
	}
	for (int k = 0; k < 3; k++) {
		double acc = 0, weight = 1, max = 0;
		for (size_t i = 0; i < len && i < 8; i++) {
			size_t j = k == 1 ? len - 1 - i : i; /* the second value looks at the end */
			unsigned c = (unsigned char)s[j] + (unsigned)k * 7;
			acc += weight * (double)(c % 10) / 10.0;
			max += weight;
			weight *= 0.7;
		}
		v[k] = max > 0 ? acc / (max + 0.001) : 0;
	}
}

struct rgb fg_basic_color(enum fg_palette pal, const double v[3])
{
	double v1 = v[0], v2 = v[1], v3 = v[2];
	switch (pal) {
	case FG_HOT: return (struct rgb){ (int)(205 + 50 * v3), (int)(230 * v1), (int)(55 * v2) };
	/* Light blues and greens: black text stays readable (contrast >= 6). */
	case FG_COLD: return (struct rgb){ (int)(90 + 70 * v2), (int)(150 + 80 * v1), (int)(225 + 30 * v3) };
	case FG_MEM: return (struct rgb){ 0, (int)(190 + 50 * v2), (int)(210 * v1) };
	case FG_IO: return (struct rgb){ (int)(80 + 60 * v1), (int)(80 + 60 * v1), (int)(190 + 55 * v2) };
	case FG_RED: return (struct rgb){ (int)(200 + 55 * v1), (int)(50 + 80 * v1), (int)(50 + 80 * v1) };
	case FG_GREEN: return (struct rgb){ (int)(50 + 60 * v1), (int)(200 + 55 * v1), (int)(50 + 60 * v1) };
	case FG_BLUE: return (struct rgb){ (int)(80 + 60 * v1), (int)(80 + 60 * v1), (int)(205 + 50 * v1) };
	case FG_YELLOW: return (struct rgb){ (int)(175 + 55 * v1), (int)(175 + 55 * v1), (int)(50 + 20 * v1) };
	case FG_PURPLE: return (struct rgb){ (int)(190 + 65 * v1), (int)(80 + 60 * v1), (int)(190 + 65 * v1) };
	case FG_AQUA: return (struct rgb){ (int)(50 + 60 * v1), (int)(165 + 55 * v1), (int)(165 + 55 * v1) };
	case FG_ORANGE: return (struct rgb){ (int)(190 + 65 * v1), (int)(90 + 65 * v1), 0 };
	case FG_RAINBOW: {
		/* Hue from the name, fixed saturation and lightness (HSL 0.65, 0.72:
		 * light enough for black text in every hue). */
		double h = v1 * 6, c = (1 - fabs(2 * 0.72 - 1)) * 0.65, x = c * (1 - fabs(fmod(h, 2) - 1));
		double m = 0.72 - c / 2, r = 0, gr = 0, b = 0;
		switch ((int)h) {
		case 0: r = c; gr = x; break;
		case 1: r = x; gr = c; break;
		case 2: gr = c; b = x; break;
		case 3: gr = x; b = c; break;
		case 4: r = x; b = c; break;
		default: r = c; b = x; break;
		}
		return (struct rgb){ (int)((r + m) * 255), (int)((gr + m) * 255), (int)((b + m) * 255) };
	}
	case FG_JAVA:
	case _FG_PALETTE_MAX: break;
	}
	return (struct rgb){ 200, 200, 200 };
}

struct rgb fg_frame_color(const struct flamegraph *g, const struct fg_name *nm, enum fg_palette pal, bool hash)
{
	const char *s = g->names_buf.buf + nm->off;
	size_t len = nm->shown;
	if (len == 1 && s[0] == '-')
		return (struct rgb){ 200, 200, 200 };
	if (len == 2 && s[0] == '-' && s[1] == '-')
		return (struct rgb){ 160, 160, 160 };
	double v[3];
	name_values(s, len, hash, v);
	enum fg_palette use = pal;
	if (pal == FG_HOT || pal == FG_JAVA) {
		/* Semantic choices: kernel orange, inlined aqua, JIT green. */
		if (nm->flags & FRF_KERNEL)
			use = FG_ORANGE;
		else if (nm->flags & FRF_INLINED)
			use = FG_AQUA;
		else if (nm->flags & FRF_JIT)
			use = FG_GREEN;
		else if (len == 9 && memcmp(s, "[unknown]", 9) == 0)
			return (struct rgb){ 190, 190, 190 };
		else if (pal == FG_JAVA) {
			if (strncmp(s, "java/", 5) == 0 || strncmp(s, "javax/", 6) == 0 || strncmp(s, "jdk/", 4) == 0 ||
			    strncmp(s, "org/", 4) == 0 || strncmp(s, "com/", 4) == 0 || strncmp(s, "net/", 4) == 0 ||
			    strncmp(s, "sun/", 4) == 0 || strncmp(s, "io/", 3) == 0 || (len > 0 && s[0] == 'L' && memchr(s, '/', len)))
				use = FG_GREEN;
			else if (memmem(s, len, "::", 2))
				use = FG_YELLOW;
			else
				use = FG_RED;
		}
	}
	return fg_basic_color(use, v);
}

/* Differential colour: red where the self share grew, blue where it shrank. */
struct rgb fg_diff_color(double delta, double maxdelta, bool negate)
{
	if (negate)
		delta = -delta;
	if (delta == 0 || maxdelta <= 0)
		return (struct rgb){ 255, 255, 255 };
	/* 100 at the largest change, not 0: black text stays readable. */
	int v = (int)(100 + 110 * (maxdelta - fabs(delta)) / maxdelta);
	if (delta > 0)
		return (struct rgb){ 255, v, v };
	return (struct rgb){ v, v, 255 };
}

/* Whether white text reads better than black on c (WCAG relative
 * luminance below the point where both contrasts are equal). */
bool fg_dark(struct rgb c)
{
	double ch[3] = { c.r / 255.0, c.g / 255.0, c.b / 255.0 };
	for (int i = 0; i < 3; i++)
		ch[i] = ch[i] <= 0.03928 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
	return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2] < 0.179;
}
