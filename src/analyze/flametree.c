/*
 * flametree.c - the flame graph's tree (see flametree.h): a trie keyed by
 * (parent, name) over interned frame labels, built one stack at a time.
 * The label interner and both hash indexes are here, in this one file.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/flametree.h"

/*
 * Two struct hashidx indexes: label -> name id (over names), and
 * (parent, name) -> child node (over children, which hold the keys so that
 * a probe never reads the nodes). Both hash for speed alone: no
 * output depends on the hash values or on the order of ids, since layout
 * sorts children by name.
 */
static uint64_t name_hash(const char *s, size_t len) { return hash_mem(s, len); }

static uint64_t child_hash(uint32_t parent, uint32_t name)
{
	uint64_t h = (uint64_t)parent << 32 | name; /* murmur3's finalizer: every bit of both counts */
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* A name's hash again, for the name index as it grows. */
static uint64_t name_hash_at(const void *ctx, uint32_t id)
{
	const struct flamegraph *g = ctx;
	const struct fg_name *nm = &g->names.v[id];
	return name_hash(g->names_buf.buf + nm->off, nm->len);
}

static uint64_t child_hash_at(const void *ctx, uint32_t item)
{
	const struct fg_child *c = &((const struct flamegraph *)ctx)->children.v[item];
	return child_hash(c->parent, c->name);
}

void fg_init(struct flamegraph *g)
{
	memset(g, 0, sizeof *g);
	g->names_buf = (struct sbuf)SBUF_INIT;
	uint32_t root = fg_intern(g, "all", 3);
	vec_push(&g->nodes, ((struct fg_node){ .name = root }));
}

void fg_release(struct flamegraph *g)
{
	vec_release(&g->nodes);
	vec_release(&g->names);
	vec_release(&g->last);
	sbuf_release(&g->names_buf);
	hashidx_release(&g->name_idx);
	vec_release(&g->children);
	hashidx_release(&g->child_idx);
	memset(g, 0, sizeof *g);
}

uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len)
{
	struct hashidx *ix = &g->name_idx;
	uint64_t h = name_hash(label, len);
	size_t pos;
	for (uint32_t id = hashidx_first(ix, h, &pos); id != HASHIDX_NONE; id = hashidx_next(ix, &pos)) {
		const struct fg_name *nm = &g->names.v[id];
		if (nm->len == len && memcmp(g->names_buf.buf + nm->off, label, len) == 0)
			return id;
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
	hashidx_reserve(ix, name_hash_at, g);
	uint32_t id = (uint32_t)g->names.n;
	vec_push(&g->names, nm);
	hashidx_put(ix, h, id);
	return id;
}

/* The child of parent called name (0: none). */
static uint32_t find_child(const struct flamegraph *g, uint32_t parent, uint32_t name)
{
	size_t pos;
	const struct hashidx *ix = &g->child_idx;
	for (uint32_t it = hashidx_first(ix, child_hash(parent, name), &pos); it != HASHIDX_NONE;
	     it = hashidx_next(ix, &pos)) {
		const struct fg_child *c = &g->children.v[it];
		if (c->parent == parent && c->name == name)
			return c->node;
	}
	return 0;
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
	if (g->chart)
		return chart_child(g, parent, name);
	uint32_t c = find_child(g, parent, name);
	if (c)
		return c;
	struct fg_node *p = &g->nodes.v[parent];
	struct fg_node nd = { .name = name, .depth = p->depth + 1, .next_sibling = p->first_child };
	c = (uint32_t)g->nodes.n;
	p->first_child = c;
	vec_push(&g->nodes, nd);
	hashidx_reserve(&g->child_idx, child_hash_at, g);
	vec_push(&g->children, ((struct fg_child){ parent, name, c }));
	hashidx_put(&g->child_idx, child_hash(parent, name), (uint32_t)g->children.n - 1);
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
		cur = find_child(g, cur, names[i]);
		if (!cur)
			return;
	}
	g->nodes.v[cur].before_self += count;
}
