/*
 * flametree.c - the flame graph's tree (see flametree.h): a trie keyed by
 * path of names over interned frame labels, built one stack at a time.
 * The label interner and both hash indexes are here, in this one file.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/flametree.h"

/*
 * Every frame of the tree (a flame chart's aside) is in child_idx under
 * the hash of its path of names from the root. That hash is known along a
 * whole stack before any node is looked up, so the slots, and then the
 * nodes, of all its frames are asked for at once: their cache misses
 * overlap instead of each waiting on the frame above. A slot keeps the
 * hash, and the node it names is checked against its parent and name.
 * Labels are interned once each in name_idx, whose slots keep the label's
 * hash. Both hash for speed alone: no output depends on the hash values or
 * on the order of ids, since layout sorts children by name.
 */
/* Labels are hashed by hash_words (base.h), which the folded scanner
 * computes as it splits a line: a folded frame's bytes are read once. */
static uint32_t label_hash(const char *s, size_t len) { return hash_words(s, len); }

/* memcmp(a, b, n) == 0, a word at a time (the last overlapping): labels
 * are short and compared on every line, where a call costs more. */
static bool same_text(const char *a, const char *b, size_t n)
{
	if (n < 8)
		return memcmp(a, b, n) == 0;
	uint64_t x, y;
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* The path hash of a child called name of a frame whose path hash is parent
 * (the root's is 0). */
static uint32_t path_hash(uint32_t parent, uint32_t name)
{
	uint64_t h = (uint64_t)parent << 32 | name; /* murmur3's finalizer: every bit of both counts */
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ (h >> 33));
}

/* The nodes are the graph's bulk (tens of MB for a big profile): they
 * grow by remapping, neither copied nor faulted in twice. */
uint32_t fg_push_node(struct flamegraph *g, struct fg_node nd)
{
	if (g->nodes.n == g->nodes.cap) {
		size_t cap = g->nodes.cap ? g->nodes.cap * 2 : 1024; /* (ids run out past 200 GB of nodes) */
		g->nodes.v = big_realloc(g->nodes.v, g->nodes.cap * sizeof *g->nodes.v, cap * sizeof *g->nodes.v);
		g->nodes.cap = cap;
	}
	g->nodes.v[g->nodes.n] = nd;
	return (uint32_t)g->nodes.n++;
}

void fg_init(struct flamegraph *g)
{
	memset(g, 0, sizeof *g);
	g->names_buf = (struct sbuf)SBUF_INIT;
	uint32_t root = fg_intern(g, "all", 3);
	fg_push_node(g, (struct fg_node){ .name = root });
}

void fg_release(struct flamegraph *g)
{
	big_free(g->nodes.v, g->nodes.cap * sizeof *g->nodes.v);
	vec_release(&g->names);
	for (size_t i = 0; i < FG_QUEUE; i++)
		vec_release(&g->queue[i].st);
	vec_release(&g->ids);
	sbuf_release(&g->names_buf);
	hashtab_release(&g->name_idx);
	hashtab_release(&g->child_idx);
	memset(g, 0, sizeof *g);
}

static bool name_is(const struct flamegraph *g, uint32_t id, const char *label, size_t len)
{
	const struct fg_name *nm = &g->names.v[id];
	return nm->len == len && same_text(g->names_buf.buf + nm->off, label, len);
}

static uint32_t intern_hashed(struct flamegraph *g, const char *label, size_t len, uint32_t h)
{
	size_t pos;
	for (uint32_t id = hashtab_first(&g->name_idx, h, &pos); id != HASHIDX_NONE;
	     id = hashtab_next(&g->name_idx, h, &pos))
		if (name_is(g, id, label, len))
			return id;
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
	hashtab_put(&g->name_idx, h, id);
	return id;
}

uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len)
{
	return intern_hashed(g, label, len, label_hash(label, len));
}

/* The child of parent called name, whose path hash is path (0: none). */
static uint32_t find_child(const struct flamegraph *g, uint32_t parent, uint32_t path, uint32_t name)
{
	size_t pos;
	for (uint32_t c = hashtab_first(&g->child_idx, path, &pos); c != HASHIDX_NONE;
	     c = hashtab_next(&g->child_idx, path, &pos))
		if (g->nodes.v[c].parent == parent && g->nodes.v[c].name == name)
			return c;
	return 0;
}

/* A new child of parent called name (not there yet), path hash path. */
static uint32_t new_child(struct flamegraph *g, uint32_t parent, uint32_t name, uint32_t path)
{
	struct fg_node nd = { .name = name, .parent = parent, .depth = g->nodes.v[parent].depth + 1,
			      .next_sibling = g->nodes.v[parent].first_child };
	uint32_t c = fg_push_node(g, nd);
	g->nodes.v[parent].first_child = c;
	hashtab_put(&g->child_idx, path, c);
	return c;
}

/*
 * A guess of the frames new to the tree: one per 128 bytes of input. Real
 * folded files repeat their first frames on every line, and most lines
 * share most of their stack with others, so this is more than usual; the
 * bench's input, random walks of some 15 frames with little in common,
 * has one per 96 bytes, which the index's 3/4 still holds. A guess too
 * small costs the doublings it would have saved, one too large a table
 * of at most a sixth of the input's size (8-byte slots, 3/4 full at most,
 * a power of two).
 */
void fg_expect_folded(struct flamegraph *g, uint64_t bytes)
{
	if (!g->chart && bytes / 128 < UINT32_MAX)
		hashtab_reserve(&g->child_idx, (size_t)(bytes / 128));
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
	struct fg_node nd = { .name = name, .parent = parent, .depth = p->depth + 1, .next_sibling = p->first_child,
			      .start = now };
	c = fg_push_node(g, nd);
	g->nodes.v[parent].first_child = c;
	return c;
}

/*
 * A stack goes into the tree in three stages, each asking for what the
 * next one reads, so that their cache misses overlap instead of each
 * waiting on the one before: queue_paths hashes the paths of its frames
 * and asks for their slots in child_idx; look_slots reads the node each
 * slot names first and asks for it; add_queued walks down from the last
 * frame shared with the stack before, checks each node and makes the
 * missing ones (below a new frame, every frame is new). fg_add_labels
 * runs each stage on a different stack, the oldest first: what a stage
 * asks for arrives while the other stacks are worked on.
 */
static struct fg_queued *queued_at(struct flamegraph *g, size_t k) { return &g->queue[k % FG_QUEUE]; }

/* The stack being queued, for n frames: its first shared frames are the
 * previous stack's (the caller counts them and sets the other names). */
static struct fg_queued *queue_start(struct flamegraph *g, size_t n, uint64_t count)
{
	struct fg_queued *q = queued_at(g, g->queued);
	vec_reserve(&q->st, n);
	q->st.n = n;
	q->count = count;
	q->shared = 0;
	return q;
}

static const struct fg_queued *queue_prev(struct flamegraph *g)
{
	return g->queued ? queued_at(g, g->queued - 1) : NULL;
}

/* The names past the shared frames set: the shared frames' names and
 * paths from the previous stack (the next stack compares with them),
 * the other paths' hashes, and a request for each one's slot. */
static void queue_paths(struct flamegraph *g, struct fg_queued *q)
{
	struct fg_step *st = q->st.v;
	const struct fg_step *pst = q->shared ? queue_prev(g)->st.v : NULL;
	for (size_t k = 0; k < q->shared; k++) {
		st[k].name = pst[k].name;
		st[k].path = pst[k].path;
	}
	uint32_t path = q->shared ? st[q->shared - 1].path : 0;
	for (size_t k = q->shared; k < q->st.n; k++) {
		path = path_hash(path, st[k].name);
		st[k].path = path;
		hashtab_prefetch(&g->child_idx, path);
	}
	g->queued++;
}

/* The node each frame's first slot names (0: none), asked for. A node
 * added since (by an older stack still queued) is found by add_queued. */
static void look_slots(struct flamegraph *g)
{
	struct fg_queued *q = queued_at(g, g->looked++);
	struct fg_step *st = q->st.v;
	size_t k = q->shared;
	for (; k < q->st.n; k++) {
		size_t pos;
		uint32_t c = hashtab_first(&g->child_idx, st[k].path, &pos);
		if (c == HASHIDX_NONE)
			break; /* no frame has this path, nor (so far) one below it */
		st[k].node = c;
		__builtin_prefetch(&g->nodes.v[c]);
	}
	for (; k < q->st.n; k++)
		st[k].node = 0;
}

/* The oldest stack not in the tree yet into it: its shared frames are
 * the previous stack's nodes, the others checked or made. */
static void add_queued(struct flamegraph *g)
{
	const struct fg_queued *prev = g->added ? queued_at(g, g->added - 1) : NULL;
	struct fg_queued *q = queued_at(g, g->added++);
	struct fg_step *st = q->st.v;
	uint64_t count = q->count;
	uint32_t cur = 0;
	for (size_t k = 0; k < q->shared; k++) {
		cur = st[k].node = prev->st.v[k].node;
		g->nodes.v[cur].total += count;
	}
	bool fresh = false;
	for (size_t k = q->shared; k < q->st.n; k++) {
		uint32_t c = 0;
		if (!fresh) {
			c = st[k].node;
			if (!c || g->nodes.v[c].parent != cur || g->nodes.v[c].name != st[k].name)
				c = find_child(g, cur, st[k].path, st[k].name);
		}
		if (!c) {
			c = new_child(g, cur, st[k].name, st[k].path);
			fresh = true;
		}
		g->nodes.v[c].total += count;
		st[k].node = c;
		cur = c;
	}
	g->nodes.v[0].total += count;
	g->nodes.v[cur].self += count;
}

void fg_flush(struct flamegraph *g)
{
	while (g->added < g->queued) {
		if (g->looked == g->added)
			look_slots(g);
		add_queued(g);
	}
}

/*
 * Stacks often share their first frames with the stack before them (folded
 * input is usually sorted, and a program's stacks share their roots): the
 * nodes of the previous stack are kept, and the frames it shares are not
 * looked up again.
 */
void fg_add_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count)
{
	if (g->chart) {
		uint32_t cur = 0;
		for (size_t i = 0; i < n; i++) {
			cur = chart_child(g, cur, names[i]);
			g->nodes.v[cur].total += count;
		}
		g->nodes.v[0].total += count; /* after: chart_child compares with the old total */
		g->nodes.v[cur].self += count;
		return;
	}
	fg_flush(g);
	const struct fg_queued *prev = queue_prev(g);
	struct fg_queued *q = queue_start(g, n, count);
	size_t i = 0;
	while (prev && i < n && i < prev->st.n && prev->st.v[i].name == names[i])
		i++;
	q->shared = i;
	for (size_t k = i; k < n; k++)
		q->st.v[k].name = names[k];
	queue_paths(g, q);
	look_slots(g);
	add_queued(g);
}

void fg_add_labels(struct flamegraph *g, const struct folded_tok *labels, size_t n, uint64_t count)
{
	if (g->chart) {
		vec_reserve(&g->ids, n);
		for (size_t i = 0; i < n; i++)
			g->ids.v[i] = fg_intern(g, labels[i].s, labels[i].len);
		fg_add_stack(g, g->ids.v, n, count);
		return;
	}
	/* The stack before the last into the tree, the last's slots read:
	 * both were asked for on earlier calls. (The oldest first: queue
	 * reuses its place, and add_queued reads the one before it.) */
	if (g->looked > g->added)
		add_queued(g);
	if (g->queued > g->looked)
		look_slots(g);
	const struct fg_queued *prev = queue_prev(g);
	struct fg_queued *q = queue_start(g, n, count);
	size_t i = 0;
	while (prev && i < n && i < prev->st.n && name_is(g, prev->st.v[i].name, labels[i].s, labels[i].len))
		i++;
	q->shared = i;
	/*
	 * The rest are looked up in stages too: each stage asks for what the
	 * next one reads (the label's slot, the name its slot gives, that
	 * name's text), so that the cache misses of the whole stack overlap.
	 * A label not found at its first slot is interned the usual way. path
	 * holds the label's hash meanwhile.
	 */
	struct fg_step *st = q->st.v;
	for (size_t k = i; k < n; k++) {
		st[k].path = labels[k].hash ? labels[k].hash : label_hash(labels[k].s, labels[k].len);
		hashtab_prefetch(&g->name_idx, st[k].path);
	}
	for (size_t k = i; k < n; k++) {
		size_t pos;
		st[k].name = hashtab_first(&g->name_idx, st[k].path, &pos);
		if (st[k].name != HASHIDX_NONE)
			__builtin_prefetch(&g->names.v[st[k].name]);
	}
	for (size_t k = i; k < n; k++)
		if (st[k].name != HASHIDX_NONE)
			__builtin_prefetch(g->names_buf.buf + g->names.v[st[k].name].off);
	for (size_t k = i; k < n; k++)
		if (st[k].name == HASHIDX_NONE || !name_is(g, st[k].name, labels[k].s, labels[k].len))
			st[k].name = intern_hashed(g, labels[k].s, labels[k].len, st[k].path);
	queue_paths(g, q);
}

void fg_add_before_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count)
{
	uint32_t cur = 0, path = 0;
	fg_flush(g);
	g->diff = true;
	g->before_total += count;
	for (size_t i = 0; i < n; i++) {
		path = path_hash(path, names[i]);
		cur = find_child(g, cur, path, names[i]);
		if (!cur)
			return;
	}
	g->nodes.v[cur].before_self += count;
}
