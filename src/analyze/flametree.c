/*
 * flametree.c - the flame graph's tree (see flametree.h): a trie keyed by
 * (parent, name) over interned frame labels, built one stack at a time.
 * The label interner and both hash indexes are here, in this one file.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/flametree.h"

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

/* A name's hash again, for the name index as it grows. */
static uint64_t name_hash_at(const void *ctx, uint32_t id)
{
	const struct flamegraph *g = ctx;
	const struct fg_name *nm = &g->names.v[id];
	return name_hash(g->names_buf.buf + nm->off, nm->len);
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
	hashidx_release(&g->name_idx);
	free(g->child_slot);
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
