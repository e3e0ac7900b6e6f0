/*
 * flametree.c - the flame graph's tree (see flametree.h): a trie keyed by
 * (parent, name) over interned frame labels, built one stack at a time.
 * The label interner and both hash indexes are here, in this one file.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/flametree.h"

/*
 * A child is found from its parent: a parent with few children (most of
 * them, in every profile) by walking its list, comparing in the nodes
 * alone; a wide one (the root of a reversed graph, a dispatcher) through
 * child_idx, which holds the children of wide parents only. Labels are
 * interned in name_idx when a frame is first made. Both hash for speed
 * alone: no output depends on the hash values or on the order of ids,
 * since layout sorts children by name.
 */
#define FG_SCAN_KIDS 8 /* a parent with more children indexes them */

static uint32_t label_hash(const char *s, size_t len) { return (uint32_t)hash_mem(s, len); }

static uint64_t child_hash(uint32_t parent, uint32_t name_hash)
{
	uint64_t h = (uint64_t)parent << 32 | name_hash; /* murmur3's finalizer: every bit of both counts */
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t name_hash_at(const void *ctx, uint32_t id)
{
	return ((const struct flamegraph *)ctx)->names.v[id].hash;
}

static uint64_t child_hash_at(const void *ctx, uint32_t node)
{
	const struct fg_node *nd = &((const struct flamegraph *)ctx)->nodes.v[node];
	return child_hash(nd->parent, nd->hash);
}

void fg_init(struct flamegraph *g)
{
	memset(g, 0, sizeof *g);
	g->names_buf = (struct sbuf)SBUF_INIT;
	uint32_t root = fg_intern(g, "all", 3);
	vec_push(&g->nodes, ((struct fg_node){ .name = root, .hash = g->names.v[root].hash }));
}

void fg_release(struct flamegraph *g)
{
	vec_release(&g->nodes);
	vec_release(&g->names);
	vec_release(&g->last);
	vec_release(&g->ids);
	sbuf_release(&g->names_buf);
	hashidx_release(&g->name_idx);
	hashidx_release(&g->child_idx);
	memset(g, 0, sizeof *g);
}

static bool name_is(const struct flamegraph *g, uint32_t id, const char *label, size_t len)
{
	const struct fg_name *nm = &g->names.v[id];
	return nm->len == len && memcmp(g->names_buf.buf + nm->off, label, len) == 0;
}

static uint32_t intern_hashed(struct flamegraph *g, const char *label, size_t len, uint32_t h)
{
	struct hashidx *ix = &g->name_idx;
	size_t pos;
	for (uint32_t id = hashidx_first(ix, h, &pos); id != HASHIDX_NONE; id = hashidx_next(ix, &pos))
		if (g->names.v[id].hash == h && name_is(g, id, label, len))
			return id;
	struct fg_name nm = { .off = (uint32_t)g->names_buf.len, .len = (uint32_t)len, .shown = (uint32_t)len,
			      .hash = h };
	if (len >= 4 && label[len - 4] == '_' && label[len - 3] == '[' && label[len - 1] == ']' &&
	    strchr("kijw", label[len - 2])) {
		nm.shown = (uint32_t)len - 4;
		nm.flags = label[len - 2] == 'k' ? FRF_KERNEL : label[len - 2] == 'i' ? FRF_INLINED :
			   label[len - 2] == 'j' ? FRF_JIT : 0;
	}
	sbuf_add(&g->names_buf, label, len);
	sbuf_addc(&g->names_buf, 0);
	/* Every name is in the index, so it grows by putting names back in
	 * the order they were made: a walk along names, not across it. */
	if ((ix->count + 1) * 2 > ix->cap)
		hashidx_build(ix, (uint32_t)g->names.n, name_hash_at, g);
	uint32_t id = (uint32_t)g->names.n;
	vec_push(&g->names, nm);
	hashidx_put(ix, h, id);
	return id;
}

uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len)
{
	return intern_hashed(g, label, len, label_hash(label, len));
}

/* The child of parent called name (0: none). */
static uint32_t find_child(const struct flamegraph *g, uint32_t parent, uint32_t name)
{
	const struct fg_node *nodes = g->nodes.v;
	if (nodes[parent].nkids <= FG_SCAN_KIDS) {
		for (uint32_t c = nodes[parent].first_child; c; c = nodes[c].next_sibling)
			if (nodes[c].name == name)
				return c;
		return 0;
	}
	size_t pos;
	const struct hashidx *ix = &g->child_idx;
	for (uint32_t c = hashidx_first(ix, child_hash(parent, g->names.v[name].hash), &pos); c != HASHIDX_NONE;
	     c = hashidx_next(ix, &pos))
		if (nodes[c].parent == parent && nodes[c].name == name)
			return c;
	return 0;
}

/* The same by label, whose hash is h. */
static uint32_t find_child_label(const struct flamegraph *g, uint32_t parent, const char *label, size_t len,
				 uint32_t h)
{
	const struct fg_node *nodes = g->nodes.v;
	if (nodes[parent].nkids <= FG_SCAN_KIDS) {
		for (uint32_t c = nodes[parent].first_child; c; c = nodes[c].next_sibling)
			if (nodes[c].hash == h && name_is(g, nodes[c].name, label, len))
				return c;
		return 0;
	}
	size_t pos;
	const struct hashidx *ix = &g->child_idx;
	for (uint32_t c = hashidx_first(ix, child_hash(parent, h), &pos); c != HASHIDX_NONE; c = hashidx_next(ix, &pos))
		if (nodes[c].parent == parent && nodes[c].hash == h && name_is(g, nodes[c].name, label, len))
			return c;
	return 0;
}

static void index_child(struct flamegraph *g, uint32_t c)
{
	hashidx_reserve(&g->child_idx, child_hash_at, g);
	hashidx_put(&g->child_idx, child_hash_at(g, c), c);
}

/* A new child of parent called name (not there yet). */
static uint32_t new_child(struct flamegraph *g, uint32_t parent, uint32_t name)
{
	struct fg_node nd = { .name = name, .parent = parent, .hash = g->names.v[name].hash,
			      .depth = g->nodes.v[parent].depth + 1, .next_sibling = g->nodes.v[parent].first_child };
	uint32_t c = (uint32_t)g->nodes.n;
	vec_push(&g->nodes, nd);
	struct fg_node *p = &g->nodes.v[parent];
	p->first_child = c;
	if (++p->nkids == FG_SCAN_KIDS + 1) {
		for (uint32_t k = c; k; k = g->nodes.v[k].next_sibling)
			index_child(g, k);
	} else if (p->nkids > FG_SCAN_KIDS) {
		index_child(g, c);
	}
	return c;
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
	struct fg_node nd = { .name = name, .parent = parent, .hash = g->names.v[name].hash, .depth = p->depth + 1,
			      .next_sibling = p->first_child, .start = now };
	c = (uint32_t)g->nodes.n;
	p->first_child = c;
	vec_push(&g->nodes, nd);
	return c;
}

static uint32_t get_child(struct flamegraph *g, uint32_t parent, uint32_t name)
{
	if (g->chart)
		return chart_child(g, parent, name);
	uint32_t c = find_child(g, parent, name);
	return c ? c : new_child(g, parent, name);
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

void fg_add_labels(struct flamegraph *g, const struct fg_label *labels, size_t n, uint64_t count)
{
	if (g->chart) {
		vec_reserve(&g->ids, n);
		for (size_t i = 0; i < n; i++)
			g->ids.v[i] = fg_intern(g, labels[i].s, labels[i].len);
		fg_add_stack(g, g->ids.v, n, count);
		return;
	}
	uint32_t cur = 0;
	size_t i = 0;
	for (; i < n && i < g->last.n && name_is(g, g->last.v[i].name, labels[i].s, labels[i].len); i++) {
		cur = g->last.v[i].node;
		g->nodes.v[cur].total += count;
	}
	vec_reserve(&g->last, n);
	for (; i < n; i++) {
		const char *s = labels[i].s;
		size_t len = labels[i].len;
		uint32_t h = label_hash(s, len);
		uint32_t c = find_child_label(g, cur, s, len, h);
		if (!c)
			c = new_child(g, cur, intern_hashed(g, s, len, h));
		g->nodes.v[c].total += count;
		g->last.v[i] = (struct fg_step){ g->nodes.v[c].name, c };
		cur = c;
	}
	g->last.n = n;
	g->nodes.v[0].total += count;
	g->nodes.v[cur].self += count;
}

void fg_add_before_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count)
{
	uint32_t cur = 0;
	g->diff = true;
	g->before_total += count;
	for (size_t i = 0; i < n; i++) {
		cur = find_child(g, cur, names[i]);
		if (!cur)
			return;
	}
	g->nodes.v[cur].before_self += count;
}
