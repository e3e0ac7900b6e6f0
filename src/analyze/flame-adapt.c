/*
 * flame-adapt.c - what goes into a flame graph's tree (flametree.h): a
 * profile's stacks (per thread, or in time order for a flame chart), and
 * folded stacks as load.c reads them, without a struct cprof_data between.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/flametree.h"

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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Lanes: the newest child goes on if it reached up to about now (one
 * missed interval is jitter, not a pause), else a new frame starts. */
static uint32_t lane_child(struct flamegraph *g, uint32_t parent, uint32_t name, uint64_t tick)
{
	uint32_t c = g->nodes.v[parent].first_child;
	if (c && g->nodes.v[c].name == name && g->nodes.v[c].start + g->nodes.v[c].total + 1 >= tick)
		return c;
	struct fg_node nd = { .name = name, .depth = g->nodes.v[parent].depth + 1,
			      .next_sibling = c, .start = tick };
	c = fg_push_node(g, nd);
	g->nodes.v[parent].first_child = c;
	return c;
}

static void lane_extend(struct fg_node *n, uint64_t tick)
{
	if (tick + 1 - n->start > n->total)
		n->total = tick + 1 - n->start;
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
	if (order.n) /* qsort of NULL is undefined even for none */
		qsort(order.v, order.n, sizeof *order.v, cmp_chart_sample);

	/* Lanes: the time unit is the median interval between a thread's
	 * samples, so a busy thread's frames are contiguous. */
	uint64_t t0 = UINT64_MAX, unit = 1000000;
	if (per_thread && order.n) {
		VEC(uint64_t) gaps = { 0 };
		for (size_t i = 0; i < order.n; i++) {
			if (order.v[i].time < t0)
				t0 = order.v[i].time;
			if (i && order.v[i].thread == order.v[i - 1].thread && order.v[i].time > order.v[i - 1].time)
				vec_push(&gaps, order.v[i].time - order.v[i - 1].time);
		}
		if (gaps.n) {
			qsort(gaps.v, gaps.n, sizeof *gaps.v, cmp_u64);
			unit = gaps.v[gaps.n / 2];
		}
		vec_release(&gaps);
		g->lanes = true;
		g->tick_s = (double)unit / 1e9;
	}

	uint32_t *cache = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *cache);
	memset(cache, 0xff, (d->frames.n ? d->frames.n : 1) * sizeof *cache);
	struct sbuf label = SBUF_INIT;
	VEC(uint32_t) path = { 0 };
	uint32_t lane = 0, lane_thread = 0, lane_base = 1, lane_depth = 0;
	uint64_t end = 0;
	for (size_t i = 0; i < order.n; i++) {
		const struct cprof_sample *s = &d->samples.v[order.v[i].index];
		uint32_t n = cprof_stack_len(d, s->stack);
		const uint32_t *fr = cprof_stack_frames(d, s->stack);
		path.n = 0;
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
		if (!count)
			continue;
		if (!per_thread) {
			fg_add_stack(g, path.v, path.n, count);
			continue;
		}
		uint64_t tick = (s->time - t0 + unit / 2) / unit;
		if (!lane || order.v[i].thread != lane_thread) {
			/* A new lane above the deepest frame of the one before. */
			const struct profile_thread *t = &p->threads.v[order.v[i].thread];
			const char *comm = cprof_str(d, t->comm);
			sbuf_reset(&label);
			sbuf_addf(&label, "%s-%u", *comm ? comm : "[unknown]", t->tid);
			if (lane)
				lane_base = lane_depth + 1;
			struct fg_node nd = { .name = fg_intern(g, label.buf, label.len), .depth = lane_base,
					      .next_sibling = g->nodes.v[0].first_child, .start = tick };
			lane = fg_push_node(g, nd);
			g->nodes.v[0].first_child = lane;
			lane_depth = lane_base;
			lane_thread = order.v[i].thread;
		}
		uint32_t cur = lane;
		lane_extend(&g->nodes.v[cur], tick);
		for (size_t k = 0; k < path.n; k++) {
			cur = lane_child(g, cur, path.v[k], tick);
			lane_extend(&g->nodes.v[cur], tick);
		}
		g->nodes.v[cur].self += count;
		if (g->nodes.v[cur].depth > lane_depth)
			lane_depth = g->nodes.v[cur].depth;
		if (tick + 1 > end)
			end = tick + 1;
	}
	if (per_thread)
		g->nodes.v[0].total = end;
	vec_release(&path);
	vec_release(&order);
	sbuf_release(&label);
	free(cache);
	free(stack_ok);
}

/*
 * Folded frames straight into a flame graph: what folded_parse, then
 * profile_build and fg_add_profile would draw, without the struct
 * cprof_data and the profile in between. A frame's label is its text with
 * "_[j]" or "_[w]" dropped, as the data path drops them (load.c), and
 * a stack keeps its leaf-most STACK_COUNT_MASK frames, as a data file's
 * does.
 */
struct fg_sink {
	struct flamegraph *g;
	bool reverse;
	uint64_t expect; /* the input's size, when known: told to g at the first line */
	VEC(struct folded_tok) path; /* this line's frames, root first, when not the scanner's as they are */
};

/* Whether a folded frame ends in "_[j]" or "_[w]": one load and two
 * compares, a branch that is seldom taken ("_[k]" and "_[i]" frames,
 * common, are as they are). */
static bool jw_suffix(const struct folded_tok *f)
{
	if (f->len < 4)
		return false;
	uint32_t w, j, x;
	memcpy(&w, f->s + f->len - 4, 4);
	memcpy(&j, "_[j]", 4);
	memcpy(&x, "_[w]", 4);
	return w == j || w == x;
}

static void fg_line(void *sink, const struct folded_tok *t, size_t n, uint64_t count, size_t lineno)
{
	struct fg_sink *k = sink;
	(void)lineno;
	if (k->expect) {
		fg_expect_folded(k->g, k->expect);
		k->expect = 0;
	}
	if (!count)
		return;
	size_t first = n > STACK_COUNT_MASK ? n - STACK_COUNT_MASK : 0;
	if (!k->reverse && !first) {
		size_t i = 0;
		while (i < n && !jw_suffix(&t[i]))
			i++;
		if (i == n) { /* the usual line: its frames as the scanner split them */
			fg_add_labels(k->g, t, n, count);
			return;
		}
	}
	vec_reserve(&k->path, n - first);
	k->path.n = 0;
	for (size_t i = first; i < n; i++) {
		const struct folded_tok *f = &t[k->reverse ? n - 1 - (i - first) : i];
		size_t len = f->len;
		uint32_t hash = f->hash;
		if (jw_suffix(f)) {
			len -= 4;
			hash = hash_words(f->s, len); /* the scanner's was of the whole frame */
		}
		k->path.v[k->path.n++] = (struct folded_tok){ f->s, len, hash };
	}
	fg_add_labels(k->g, k->path.v, k->path.n, count);
}

int profile_source_load_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *path, bool strict,
			   const struct note_sink *warn, bool *ret_drawn, struct cprof_err *err)
{
	struct fg_sink k = { .g = g, .reverse = reverse };
	/* Only a hint, and only for folded text (the first line says so): a
	 * regular file's size, stdin's too when it is one. */
	struct stat st;
	if ((strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(path, &st)) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0)
		k.expect = (uint64_t)st.st_size;
	int r = profile_source_load_lines(d, path, strict, warn, fg_line, &k, ret_drawn, err);
	fg_flush(g);
	vec_release(&k.path);
	return r;
}

int profile_source_parse_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *buf, size_t len,
			    size_t piece, const char *name, bool strict, const struct note_sink *warn, bool *ret_drawn,
			    struct cprof_err *err)
{
	struct fg_sink k = { .g = g, .reverse = reverse };
	int r = profile_source_parse_lines(d, buf, len, piece, name, strict, warn, fg_line, &k, ret_drawn, err);
	fg_flush(g);
	vec_release(&k.path);
	return r;
}
