/*
 * svg.c - flame graph layout and SVG/HTML writing (see flamegraph.h).
 *
 * One pass builds a trie keyed by (parent, name); layout walks it depth
 * first with children sorted by name, skips subtrees narrower than the
 * minimum width, and writes each frame as it is placed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/flamegraph.h"
#include "cprof/output.h"

const char *const fg_palette_names[] = {
	"hot", "cold", "mem", "io", "rainbow", "java",
	"red", "green", "blue", "yellow", "purple", "aqua", "orange", NULL,
};

#define XPAD 10.0
#define FONT_SIZE 12.0
#define FONT_WIDTH 0.59
#define FRAME_PAD 1.0

/* ---- tree building ---- */

/*
 * Two open-addressing indexes: label -> name id (over names_buf), and
 * (parent, name) -> child node, whose slots hold their keys so that a probe
 * reads only the index, never the nodes. Both hash for speed alone: no
 * output depends on the hash values or on the order of ids, since layout
 * sorts children by name.
 */
static uint64_t name_hash(const char *s, size_t len) { return hash_mem(s, len); }

static size_t child_slot_of(uint32_t parent, uint32_t name, size_t cap)
{
	uint64_t h = (uint64_t)parent << 32 | name; /* murmur3's finalizer: every bit of both counts */
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return (size_t)(h ^ (h >> 33)) & (cap - 1);
}

static void names_rehash(struct flamegraph *g)
{
	struct hashidx *ix = &g->name_idx;
	size_t cap = ix->cap * 2;
	uint32_t *slot = xcalloc(cap, sizeof *slot);
	for (size_t i = 0; i < ix->cap; i++) {
		uint32_t v = ix->slot[i];
		if (!v)
			continue;
		const struct fg_name *nm = &g->names.v[v - 1];
		size_t s = name_hash(g->names_buf.buf + nm->off, nm->len) & (cap - 1);
		while (slot[s])
			s = (s + 1) & (cap - 1);
		slot[s] = v;
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
}

static void children_rehash(struct flamegraph *g)
{
	size_t cap = g->child_cap * 2;
	struct fg_child *slot = xcalloc(cap, sizeof *slot);
	for (size_t i = 0; i < g->child_cap; i++) {
		const struct fg_child *c = &g->child_slot[i];
		if (!c->node)
			continue;
		size_t s = child_slot_of(c->parent, c->name, cap);
		while (slot[s].node)
			s = (s + 1) & (cap - 1);
		slot[s] = *c;
	}
	free(g->child_slot);
	g->child_slot = slot;
	g->child_cap = cap;
}

void fg_init(struct flamegraph *g)
{
	memset(g, 0, sizeof *g);
	g->names_buf = (struct sbuf)SBUF_INIT;
	g->name_idx.cap = 1024;
	g->name_idx.slot = xcalloc(g->name_idx.cap, sizeof *g->name_idx.slot);
	g->child_cap = 1024;
	g->child_slot = xcalloc(g->child_cap, sizeof *g->child_slot);
	uint32_t root = fg_intern(g, "all", 3);
	vec_push(&g->nodes, ((struct fg_node){ .name = root }));
}

void fg_release(struct flamegraph *g)
{
	vec_release(&g->nodes);
	vec_release(&g->names);
	vec_release(&g->last);
	sbuf_release(&g->names_buf);
	free(g->name_idx.slot);
	free(g->child_slot);
	memset(g, 0, sizeof *g);
}

uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len)
{
	struct hashidx *ix = &g->name_idx;
	uint64_t h = name_hash(label, len);
	size_t s;
	for (s = h & (ix->cap - 1); ix->slot[s]; s = (s + 1) & (ix->cap - 1)) {
		const struct fg_name *nm = &g->names.v[ix->slot[s] - 1];
		if (nm->len == len && memcmp(g->names_buf.buf + nm->off, label, len) == 0)
			return ix->slot[s] - 1;
	}
	struct fg_name nm = { .off = (uint32_t)g->names_buf.len, .len = (uint32_t)len, .shown = (uint32_t)len };
	if (len >= 4 && label[len - 4] == '_' && label[len - 3] == '[' && label[len - 1] == ']' &&
	    strchr("kijw", label[len - 2])) {
		nm.shown = (uint32_t)len - 4;
		nm.flags = label[len - 2] == 'k' ? FRF_KERNEL : label[len - 2] == 'i' ? FRF_INLINED :
			   label[len - 2] == 'j' ? FRF_JIT : 0;
	}
	sbuf_add(&g->names_buf, label, len);
	sbuf_addc(&g->names_buf, 0);
	uint32_t id = (uint32_t)g->names.n;
	vec_push(&g->names, nm);
	ix->slot[s] = id + 1;
	if (++ix->count * 2 > ix->cap)
		names_rehash(g);
	return id;
}

/* The child of parent called name (0: none), and the slot it has or would have. */
static uint32_t find_child(const struct flamegraph *g, uint32_t parent, uint32_t name, size_t *ret_slot)
{
	size_t s = child_slot_of(parent, name, g->child_cap);
	for (; g->child_slot[s].node; s = (s + 1) & (g->child_cap - 1)) {
		const struct fg_child *c = &g->child_slot[s];
		if (c->parent == parent && c->name == name)
			break;
	}
	if (ret_slot)
		*ret_slot = s;
	return g->child_slot[s].node;
}

void fg_init_chart(struct flamegraph *g)
{
	fg_init(g);
	g->chart = true;
}

/* Flame chart: continue the newest child only if the previous stack ended
 * in it (it reaches up to now), else start a new frame. */
static uint32_t chart_child(struct flamegraph *g, uint32_t parent, uint32_t name)
{
	struct fg_node *p = &g->nodes.v[parent];
	uint64_t now = g->nodes.v[0].total;
	uint32_t c = p->first_child;
	if (c && g->nodes.v[c].name == name && g->nodes.v[c].start + g->nodes.v[c].total == now)
		return c;
	struct fg_node nd = { .name = name, .depth = p->depth + 1, .next_sibling = p->first_child, .start = now };
	c = (uint32_t)g->nodes.n;
	p->first_child = c;
	vec_push(&g->nodes, nd);
	return c;
}

static uint32_t get_child(struct flamegraph *g, uint32_t parent, uint32_t name)
{
	size_t s;
	if (g->chart)
		return chart_child(g, parent, name);
	uint32_t c = find_child(g, parent, name, &s);
	if (c)
		return c;
	struct fg_node *p = &g->nodes.v[parent];
	struct fg_node nd = { .name = name, .depth = p->depth + 1, .next_sibling = p->first_child };
	c = (uint32_t)g->nodes.n;
	p->first_child = c;
	vec_push(&g->nodes, nd);
	g->child_slot[s] = (struct fg_child){ parent, name, c };
	if (++g->child_count * 2 > g->child_cap)
		children_rehash(g);
	return c;
}

/*
 * Stacks often share their first frames with the stack before them (folded
 * input is usually sorted, and a program's stacks share their roots): the
 * nodes of the previous stack are kept, and the frames it shares are not
 * looked up again.
 */
void fg_add_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count)
{
	uint32_t cur = 0;
	size_t i = 0;
	if (!g->chart) {
		for (; i < n && i < g->last.n && g->last.v[i].name == names[i]; i++) {
			cur = g->last.v[i].node;
			g->nodes.v[cur].total += count;
		}
		vec_reserve(&g->last, n);
	}
	for (; i < n; i++) {
		cur = get_child(g, cur, names[i]);
		g->nodes.v[cur].total += count;
		if (!g->chart)
			g->last.v[i] = (struct fg_step){ names[i], cur };
	}
	if (!g->chart)
		g->last.n = n;
	g->nodes.v[0].total += count; /* after: chart_child compares with the old total */
	g->nodes.v[cur].self += count;
}

void fg_add_before_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count)
{
	uint32_t cur = 0;
	g->diff = true;
	g->before_total += count;
	for (size_t i = 0; i < n; i++) {
		cur = find_child(g, cur, names[i], NULL);
		if (!cur)
			return;
	}
	g->nodes.v[cur].before_self += count;
}

/* The tooltip of a function's frames names its hottest line (profile.h). */
static void set_hot_line(struct flamegraph *g, uint32_t name, const struct profile *p, const struct profile_func *f)
{
	const char *file = cprof_str(p->d, f->file);
	if (g->names.v[name].hot_len || !*file || !f->line)
		return;
	const char *base = strrchr(file, '/');
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "%s:%u", base ? base + 1 : file, f->line);
	g->names.v[name].hot_off = (uint32_t)g->names_buf.len;
	g->names.v[name].hot_len = (uint32_t)sb.len;
	sbuf_add(&g->names_buf, sb.buf, sb.len);
	sbuf_addc(&g->names_buf, 0);
	sbuf_release(&sb);
}

void fg_add_profile(struct flamegraph *g, const struct profile *p, const char *root, bool reverse, bool before)
{
	const struct cprof_data *d = p->d;
	/* Frame index -> name id, filled on first use. */
	uint32_t *cache = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *cache);
	memset(cache, 0xff, (d->frames.n ? d->frames.n : 1) * sizeof *cache);
	struct sbuf label = SBUF_INIT;
	VEC(uint32_t) path = { 0 };
	uint32_t root_id = root ? fg_intern(g, root, strlen(root)) : 0;
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *ps = &p->stacks.v[i];
		if (!ps->samples)
			continue;
		uint32_t n = cprof_stack_len(d, ps->stack);
		const uint32_t *fr = cprof_stack_frames(d, ps->stack);
		path.n = 0;
		if (root)
			vec_push(&path, root_id);
		for (uint32_t k = 0; k < n; k++) {
			uint32_t fi = fr[reverse ? k : n - 1 - k];
			if (cache[fi] == UINT32_MAX) {
				sbuf_reset(&label);
				profile_frame_label(d, &d->frames.v[fi], &label);
				cache[fi] = fg_intern(g, label.buf, label.len);
				if (!before)
					set_hot_line(g, cache[fi], p, &p->funcs.v[p->frame_func[fi]]);
			}
			vec_push(&path, cache[fi]);
		}
		if (before)
			fg_add_before_stack(g, path.v, path.n, ps->samples);
		else
			fg_add_stack(g, path.v, path.n, ps->samples);
	}
	vec_release(&path);
	sbuf_release(&label);
	free(cache);
}

int fg_add_profile_threads(struct flamegraph *g, const struct profile *p, const struct profile_filter *f,
			   bool reverse, bool before, struct cprof_err *err)
{
	struct sbuf root = SBUF_INIT;
	int r = 0;
	for (size_t i = 0; i < p->threads.n && r >= 0; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		struct profile_filter tf = *f;
		struct profile tp;
		tf.event = p->event;
		tf.tid = t->tid;
		tf.pid = t->pid;
		if ((r = profile_build(&tp, p->d, &tf, err)) < 0)
			break;
		const char *comm = cprof_str(p->d, t->comm);
		sbuf_reset(&root);
		sbuf_addf(&root, "%s-%u", *comm ? comm : "[unknown]", t->tid);
		fg_add_profile(g, &tp, root.buf, reverse, before);
		profile_release(&tp);
	}
	sbuf_release(&root);
	return r;
}

struct chart_sample {
	uint32_t thread, index;
	uint64_t time;
};

static int cmp_chart_sample(const void *a, const void *b)
{
	const struct chart_sample *x = a, *y = b;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void fg_add_samples(struct flamegraph *g, const struct profile *p, bool reverse, bool per_thread)
{
	const struct cprof_data *d = p->d;
	/* A sample passed p's filter exactly when its event is p's, its stack
	 * is one of p's stacks and its thread one of p's threads: the filters
	 * are per thread, per stack and per event. */
	uint8_t *stack_ok = xcalloc(d->stack_offset.n ? d->stack_offset.n : 1, 1);
	for (size_t i = 0; i < p->stacks.n; i++)
		stack_ok[p->stacks.v[i].stack] = 1;
	VEC(struct chart_sample) order = { 0 };
	size_t last = 0;
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != p->event || !stack_ok[s->stack])
			continue;
		size_t t = last;
		if (t >= p->threads.n || p->threads.v[t].tid != s->tid || p->threads.v[t].pid != s->pid)
			for (t = 0; t < p->threads.n; t++)
				if (p->threads.v[t].tid == s->tid && p->threads.v[t].pid == s->pid)
					break;
		if (t == p->threads.n)
			continue;
		last = t;
		vec_push(&order, ((struct chart_sample){ per_thread ? (uint32_t)t : 0, (uint32_t)i, s->time }));
	}
	qsort(order.v, order.n, sizeof *order.v, cmp_chart_sample);

	uint32_t *cache = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *cache);
	memset(cache, 0xff, (d->frames.n ? d->frames.n : 1) * sizeof *cache);
	struct sbuf label = SBUF_INIT;
	VEC(uint32_t) path = { 0 };
	for (size_t i = 0; i < order.n; i++) {
		const struct cprof_sample *s = &d->samples.v[order.v[i].index];
		uint32_t n = cprof_stack_len(d, s->stack);
		const uint32_t *fr = cprof_stack_frames(d, s->stack);
		path.n = 0;
		if (per_thread) {
			const struct profile_thread *t = &p->threads.v[order.v[i].thread];
			const char *comm = cprof_str(d, t->comm);
			sbuf_reset(&label);
			sbuf_addf(&label, "%s-%u", *comm ? comm : "[unknown]", t->tid);
			vec_push(&path, fg_intern(g, label.buf, label.len));
		}
		for (uint32_t k = 0; k < n; k++) {
			uint32_t fi = fr[reverse ? k : n - 1 - k];
			if (cache[fi] == UINT32_MAX) {
				sbuf_reset(&label);
				profile_frame_label(d, &d->frames.v[fi], &label);
				cache[fi] = fg_intern(g, label.buf, label.len);
				set_hot_line(g, cache[fi], p, &p->funcs.v[p->frame_func[fi]]);
			}
			vec_push(&path, cache[fi]);
		}
		uint64_t count = profile_sample_count(d, s);
		if (count)
			fg_add_stack(g, path.v, path.n, count);
	}
	vec_release(&path);
	vec_release(&order);
	sbuf_release(&label);
	free(cache);
	free(stack_ok);
}

/* ---- colours ---- */

struct rgb {
	int r, g, b;
};

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

static struct rgb basic_color(enum fg_palette pal, const double v[3])
{
	double v1 = v[0], v2 = v[1], v3 = v[2];
	switch (pal) {
	case FG_HOT: return (struct rgb){ (int)(205 + 50 * v3), (int)(230 * v1), (int)(55 * v2) };
	case FG_COLD: return (struct rgb){ (int)(55 * v2), (int)(230 * v1), (int)(205 + 50 * v3) };
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
		/* Hue from the name, fixed saturation and lightness (HSL 0.65, 0.6). */
		double h = v1 * 6, c = (1 - fabs(2 * 0.6 - 1)) * 0.65, x = c * (1 - fabs(fmod(h, 2) - 1));
		double m = 0.6 - c / 2, r = 0, gr = 0, b = 0;
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

static struct rgb frame_color(const struct flamegraph *g, const struct fg_name *nm, enum fg_palette pal, bool hash)
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
	return basic_color(use, v);
}

/* Differential colour: red where the self share grew, blue where it shrank. */
static struct rgb diff_color(double delta, double maxdelta, bool negate)
{
	if (negate)
		delta = -delta;
	if (delta == 0 || maxdelta <= 0)
		return (struct rgb){ 255, 255, 255 };
	int v = (int)(210 * (maxdelta - fabs(delta)) / maxdelta);
	if (delta > 0)
		return (struct rgb){ 255, v, v };
	return (struct rgb){ v, v, 255 };
}

/* ---- writing ---- */

/* Write s[0..len) escaped for XML text and attributes; control bytes and
 * invalid UTF-8 become '?', so the document always parses. At most
 * max_chars characters (0 = all); returns the characters written. */
static size_t xml_text(FILE *out, const char *s, size_t len, size_t max_chars)
{
	size_t chars = 0;
	for (size_t i = 0; i < len && (!max_chars || chars < max_chars); chars++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			switch (c) {
			case '&': fputs("&amp;", out); break;
			case '<': fputs("&lt;", out); break;
			case '>': fputs("&gt;", out); break;
			case '"': fputs("&quot;", out); break;
			default: putc(c < 0x20 && c != '\t' ? '?' : c, out); break;
			}
			i++;
			continue;
		}
		size_t n = utf8_seq_len(s + i, len - i);
		if (n) {
			fwrite(s + i, 1, n, out);
			i += n;
		} else {
			putc('?', out);
			i++;
		}
	}
	return chars;
}

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
		xml_text(out, s, len, 0);
		return;
	}
	xml_text(out, s, len, (size_t)fit - 2);
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
 * did in data-matched, data-zoom-width and data-error (handy for tests). */
static const char script[] =
	"var svg = null, frames = [], details, unzoombtn, searchbtn, icbtn, matchedtxt;\n"
	"var W, XPAD, FS, FW, INV, FULL, ignorecase = false, searching = null, zoomed = null;\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function fit(name, w) {\n"
	"  var n = Math.floor((w - 3) / (FS * FW));\n"
	"  if (n < 3) return '';\n"
	"  var chars = Array.from(name);\n"
	"  if (chars.length <= n) return name;\n"
	"  return chars.slice(0, n - 2).join('') + '..';\n"
	"}\n"
	"function setpos(f, x, w) {\n"
	"  f.r.setAttribute('x', x.toFixed(3));\n"
	"  f.r.setAttribute('width', w.toFixed(3));\n"
	"  if (f.t) { f.t.setAttribute('x', (x + 3).toFixed(3)); f.t.textContent = fit(f.name, w); }\n"
	"}\n"
	"function updateurl() {\n"
	"  try {\n"
	"    var p = new URLSearchParams();\n"
	"    if (zoomed) { p.set('x', zoomed.x.toFixed(3)); p.set('y', zoomed.y.toFixed(3)); }\n"
	"    if (searching !== null) p.set('s', searching);\n"
	"    if (ignorecase) p.set('ic', '1');\n"
	"    var q = p.toString();\n"
	"    history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);\n"
	"  } catch (e) { /* file:// pages may refuse; the state still works */ }\n"
	"}\n"
	"function unzoom(keepurl) {\n"
	"  zoomed = null;\n"
	"  unzoombtn.classList.add('hide');\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var f = frames[i];\n"
	"    f.g.classList.remove('hide'); f.g.classList.remove('parent');\n"
	"    setpos(f, f.x, f.w);\n"
	"  }\n"
	"  svg.setAttribute('data-zoom-width', '');\n"
	"  if (!keepurl) updateurl();\n"
	"}\n"
	"function zoom(z) {\n"
	"  unzoom(true);\n"
	"  if (z === frames[0]) { updateurl(); return; }\n"
	"  var xmin = z.x, xmax = z.x + z.w, scale = FULL / z.w, eps = 0.002;\n"
	"  zoomed = z;\n"
	"  unzoombtn.classList.remove('hide');\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var f = frames[i], above = INV ? f.y < z.y : f.y > z.y;\n"
	"    if (above) {\n"
	"      if (f.x <= xmin + eps && f.x + f.w >= xmax - eps) { f.g.classList.add('parent'); setpos(f, XPAD, FULL); }\n"
	"      else f.g.classList.add('hide');\n"
	"    } else if (f.x >= xmin - eps && f.x + f.w <= xmax + eps) {\n"
	"      setpos(f, XPAD + (f.x - xmin) * scale, f.w * scale);\n"
	"    } else f.g.classList.add('hide');\n"
	"  }\n"
	"  svg.setAttribute('data-zoom-width', parseFloat(z.r.getAttribute('width')).toFixed(3));\n"
	"  updateurl();\n"
	"}\n"
	"function resetsearch() {\n"
	"  searching = null;\n"
	"  for (var i = 0; i < frames.length; i++) frames[i].r.setAttribute('fill', frames[i].fill);\n"
	"  matchedtxt.classList.add('hide');\n"
	"  searchbtn.textContent = 'Search';\n"
	"  svg.setAttribute('data-matched', '');\n"
	"  updateurl();\n"
	"}\n"
	"function search(term) {\n"
	"  var re;\n"
	"  try { re = new RegExp(term, ignorecase ? 'i' : ''); }\n"
	"  catch (e) { svg.setAttribute('data-error', 'bad regex: ' + e.message); return; }\n"
	"  searching = term;\n"
	"  var hits = [];\n"
	"  for (var i = 1; i < frames.length; i++) {\n"
	"    var f = frames[i];\n"
	"    if (re.test(f.name)) { f.r.setAttribute('fill', 'rgb(230,0,230)'); hits.push(f); }\n"
	"    else f.r.setAttribute('fill', f.fill);\n"
	"  }\n"
	"  /* Count each matched stretch once: outermost frames, by x. */\n"
	"  hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });\n"
	"  var sum = 0, end = -1e300;\n"
	"  for (var j = 0; j < hits.length; j++)\n"
	"    if (hits[j].x >= end - 0.002) { sum += hits[j].w; end = hits[j].x + hits[j].w; }\n"
	"  var pct = (100 * sum / frames[0].w).toFixed(2);\n"
	"  matchedtxt.textContent = 'Matched: ' + pct + '%';\n"
	"  matchedtxt.classList.remove('hide');\n"
	"  searchbtn.textContent = 'Reset Search';\n"
	"  svg.setAttribute('data-matched', pct);\n"
	"  updateurl();\n"
	"}\n"
	"function asksearch() {\n"
	"  var term = prompt('Search for (regular expression):', searching === null ? '' : searching);\n"
	"  if (term !== null && term !== '') search(term);\n"
	"}\n"
	"function togglecase() {\n"
	"  ignorecase = !ignorecase;\n"
	"  icbtn.classList.toggle('on', ignorecase);\n"
	"  if (searching !== null) search(searching); else updateurl();\n"
	"}\n"
	"function byname(name) {\n"
	"  var best = null;\n"
	"  for (var i = 0; i < frames.length; i++)\n"
	"    if (frames[i].name === name && (!best || frames[i].w > best.w)) best = frames[i];\n"
	"  return best;\n"
	"}\n"
	"function at(x, y) {\n"
	"  for (var i = 0; i < frames.length; i++)\n"
	"    if (Math.abs(frames[i].x - x) < 0.01 && Math.abs(frames[i].y - y) < 0.01) return frames[i];\n"
	"  return null;\n"
	"}\n"
	"function init() {\n"
	"  if (svg) return;\n"
	"  svg = $('flamegraph');\n"
	"  try {\n"
	"    W = +svg.getAttribute('data-width'); XPAD = +svg.getAttribute('data-xpad');\n"
	"    FS = +svg.getAttribute('data-fontsize'); FW = +svg.getAttribute('data-fontwidth');\n"
	"    INV = svg.getAttribute('data-inverted') === '1'; FULL = W - 2 * XPAD;\n"
	"    details = $('details'); unzoombtn = $('unzoom'); searchbtn = $('search');\n"
	"    icbtn = $('ignorecase'); matchedtxt = $('matched');\n"
	"    var gs = $('frames').childNodes;\n"
	"    for (var i = 0; i < gs.length; i++) {\n"
	"      var g = gs[i];\n"
	"      if (g.nodeType !== 1) continue;\n"
	"      var r = g.getElementsByTagName('rect')[0], t = g.getElementsByTagName('text')[0];\n"
	"      var title = g.getElementsByTagName('title')[0].textContent;\n"
	"      var f = { g: g, r: r, t: t, title: title, name: title.substring(0, title.lastIndexOf(' (')),\n"
	"                x: parseFloat(r.getAttribute('x')), w: parseFloat(r.getAttribute('width')),\n"
	"                y: parseFloat(r.getAttribute('y')), fill: r.getAttribute('fill') };\n"
	"      frames.push(f);\n"
	"      (function (f) {\n"
	"        g.addEventListener('click', function () { zoom(f); });\n"
	"        g.addEventListener('mouseover', function () { details.textContent = 'Function: ' + f.title; });\n"
	"        g.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"      })(f);\n"
	"    }\n"
	"    unzoombtn.addEventListener('click', function () { unzoom(false); });\n"
	"    searchbtn.addEventListener('click', function () { if (searching !== null) resetsearch(); else asksearch(); });\n"
	"    icbtn.addEventListener('click', togglecase);\n"
	"    window.addEventListener('keydown', function (e) {\n"
	"      if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F' || e.keyCode === 114)) { e.preventDefault(); asksearch(); }\n"
	"      else if ((e.ctrlKey || e.metaKey) && (e.key === 'i' || e.key === 'I')) { e.preventDefault(); togglecase(); }\n"
	"    });\n"
	"    var p = new URLSearchParams(location.search);\n"
	"    if (p.get('ic') === '1') { ignorecase = true; icbtn.classList.add('on'); }\n"
	"    var z = null;\n"
	"    if (p.has('x') && p.has('y')) z = at(parseFloat(p.get('x')), parseFloat(p.get('y')));\n"
	"    else if (p.has('f')) z = byname(p.get('f'));\n"
	"    if ((p.has('x') || p.has('f')) && !z) svg.setAttribute('data-error', 'no such frame to zoom to');\n"
	"    if (z) zoom(z);\n"
	"    if (p.has('s')) search(p.get('s'));\n"
	"    svg.setAttribute('data-ready', '1');\n"
	"  } catch (e) {\n"
	"    svg.setAttribute('data-error', String(e));\n"
	"  }\n"
	"}\n"
	"window.addEventListener('load', init);\n";

struct layout {
	const struct flamegraph *g;
	const struct fg_opts *o;
	FILE *out;
	double wpt;             /* px per sample */
	double height, top;     /* image height; y where frames start (icicle) */
	double maxdelta;
	uint32_t *rank;         /* name id -> alphabetical rank */
	uint32_t max_depth;
};

/* Node ids by the alphabetical rank of their names. */
static int cmp_by_rank(const void *a, const void *b, void *ctx)
{
	const struct layout *L = ctx;
	uint32_t x = L->rank[L->g->nodes.v[*(const uint32_t *)a].name];
	uint32_t y = L->rank[L->g->nodes.v[*(const uint32_t *)b].name];
	return x < y ? -1 : x > y;
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

/* Deepest visible level, so the image is as tall as what is drawn. */
static uint32_t visible_depth(const struct flamegraph *g, double wpt, double min_width)
{
	uint32_t max = 0;
	for (size_t i = 0; i < g->nodes.n; i++) {
		const struct fg_node *n = &g->nodes.v[i];
		if (n->depth > max && (double)n->total * wpt >= min_width)
			max = n->depth;
	}
	return max;
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
	char num[32];
	uint64_t total = g->nodes.v[0].total;
	fputs("<g><title>", out);
	xml_text(out, name, nm->shown, 0);
	fprintf(out, " (%s %s, %.2f%%", fmt_thousands(n->total, num), L->o->countname ? L->o->countname : "samples",
		100.0 * (double)n->total / (double)total);
	struct rgb c;
	if (g->diff) {
		double delta = self_delta(g, n);
		fprintf(out, "; %+.2f%%", 100 * delta);
		c = diff_color(delta, L->maxdelta, L->o->negate);
	} else {
		c = frame_color(g, nm, L->o->palette, L->o->hash);
	}
	if (nm->hot_len) {
		fputs("; hottest line ", out);
		xml_text(out, g->names_buf.buf + nm->hot_off, nm->hot_len, 0);
	}
	fprintf(out, ")</title><rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/>",
		x1, y1, x2 - x1, y2 - y1, c.r, c.g, c.b);
	fprintf(out, "<text x=\"%.3f\" y=\"%.1f\">", x1 + 3, 3 + (y1 + y2) / 2);
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
	VEC(uint32_t) kids = { 0 };
	vec_push(&stack, ((struct item){ 0, 0 }));
	while (stack.n) {
		struct item it = stack.v[--stack.n];
		const struct fg_node *n = &g->nodes.v[it.node];
		double x1 = XPAD + (double)it.start * L->wpt, x2 = XPAD + (double)(it.start + n->total) * L->wpt;
		write_frame(L, it.node, x1, x2);
		/* All children in name order take their space, so pruning a
		 * narrow frame does not shift its siblings. */
		kids.n = 0;
		for (uint32_t c = n->first_child; c; c = g->nodes.v[c].next_sibling)
			vec_push(&kids, c);
		if (!kids.n)
			continue;
		if (g->chart) {
			/* Frames know where they start; the order is time. */
			for (size_t k = 0; k < kids.n; k++) {
				const struct fg_node *c = &g->nodes.v[kids.v[k]];
				if ((double)c->total * L->wpt >= L->o->min_width)
					vec_push(&stack, ((struct item){ kids.v[k], c->start }));
			}
			continue;
		}
		qsort_r(kids.v, kids.n, sizeof *kids.v, cmp_by_rank, L);
		uint64_t end = it.start + n->total; /* self time stays on the left */
		for (size_t k = kids.n; k-- > 0;) {
			const struct fg_node *c = &g->nodes.v[kids.v[k]];
			end -= c->total;
			if ((double)c->total * L->wpt >= L->o->min_width)
				vec_push(&stack, ((struct item){ kids.v[k], end }));
		}
	}
	vec_release(&stack);
	vec_release(&kids);
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
	L.max_depth = visible_depth(g, L.wpt, o->min_width);
	double ypad1 = 3 * FONT_SIZE, ypad2 = 2 * FONT_SIZE + 10, ypad3 = o->subtitle ? 2 * FONT_SIZE : 0;
	L.top = ypad1 + ypad3;
	L.height = (L.max_depth + 1) * o->frame_height + ypad1 + ypad2 + ypad3;

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

	const char *title = o->title ? o->title : g->diff ? "Differential Flame Graph" : g->chart ? "Flame Chart" : o->inverted ? "Icicle Graph" : "Flame Graph";
	double W = o->width, H = L.height;
	if (o->html) {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
		xml_text(out, title, strlen(title), 0);
		fputs("</title>\n<style>body{margin:0;padding:8px;background:#fff}</style>\n</head>\n<body>\n", out);
	} else {
		fputs("<?xml version=\"1.0\" standalone=\"no\"?>\n", out);
	}
	fprintf(out, "<svg version=\"1.1\" id=\"flamegraph\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		     "xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
		     "data-width=\"%g\" data-xpad=\"%g\" data-fontsize=\"%g\" data-fontwidth=\"%g\" data-inverted=\"%d\" "
		     "data-matched=\"\" data-zoom-width=\"\" data-error=\"\">\n",
		W, H, W, H, W, XPAD, FONT_SIZE, FONT_WIDTH, o->inverted ? 1 : 0);
	fprintf(out, "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		     "<stop stop-color=\"%s\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/></linearGradient></defs>\n",
		g->diff ? "#eeeeee" : bg_colors[o->palette][0], g->diff ? "#eeeeee" : bg_colors[o->palette][1]);
	fputs("<style type=\"text/css\">\n"
	      "text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }\n"
	      "#title { text-anchor: middle; font-size: 17px; }\n"
	      "#subtitle { text-anchor: middle; fill: rgb(160,160,160); }\n"
	      "#search, #ignorecase, #unzoom { opacity: 0.1; cursor: pointer; }\n"
	      "#search:hover, #ignorecase:hover, #unzoom:hover, #ignorecase.on { opacity: 1; }\n"
	      "#frames > *:hover { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
	      ".hide { display: none; }\n"
	      ".parent { opacity: 0.5; }\n"
	      "</style>\n", out);
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", script);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"url(#background)\"/>\n", W, H);
	fprintf(out, "<text id=\"title\" x=\"%.1f\" y=\"%.0f\">", W / 2, FONT_SIZE * 2);
	xml_text(out, title, strlen(title), 0);
	fputs("</text>\n", out);
	if (o->subtitle) {
		fprintf(out, "<text id=\"subtitle\" x=\"%.1f\" y=\"%.0f\">", W / 2, FONT_SIZE * 4);
		xml_text(out, o->subtitle, strlen(o->subtitle), 0);
		fputs("</text>\n", out);
	}
	fprintf(out, "<text id=\"details\" x=\"%.0f\" y=\"%.0f\"> </text>\n", XPAD, H - ypad2 / 2);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%.0f\" y=\"%.0f\">Reset Zoom</text>\n", XPAD, FONT_SIZE * 2);
	fprintf(out, "<text id=\"search\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">Search</text>\n", W - XPAD - 30, FONT_SIZE * 2);
	fprintf(out, "<text id=\"ignorecase\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">ic</text>\n", W - XPAD, FONT_SIZE * 2);
	fprintf(out, "<text id=\"matched\" class=\"hide\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\"> </text>\n", W - XPAD, H - ypad2 / 2);
	fputs("<g id=\"frames\">\n", out);
	layout_write(&L);
	fputs("</g>\n</svg>\n", out);
	if (o->html)
		fputs("</body>\n</html>\n", out);
	free(L.rank);
	return 0;
}
