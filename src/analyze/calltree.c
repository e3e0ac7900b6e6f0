/* calltree.c - merge a profile's stacks into a caller/callee tree. */
#include <stdlib.h>
#include <string.h>

#include "cprof/calltree.h"

static uint64_t key_hash(uint32_t parent, uint32_t func)
{
	uint64_t k = ((uint64_t)parent << 32) | func;
	return hash_bytes(&k, sizeof k, HASH_SEED);
}

static void idx_insert(struct calltree *t, uint32_t node)
{
	const struct calltree_node *n = &t->nodes.v[node];
	size_t s = key_hash(n->parent, n->func) & (t->idx.cap - 1);
	while (t->idx.slot[s])
		s = (s + 1) & (t->idx.cap - 1);
	t->idx.slot[s] = node + 1;
}

static uint32_t child_of(struct calltree *t, uint32_t parent, uint32_t func)
{
	size_t s = key_hash(parent, func) & (t->idx.cap - 1);
	for (; t->idx.slot[s]; s = (s + 1) & (t->idx.cap - 1)) {
		const struct calltree_node *n = &t->nodes.v[t->idx.slot[s] - 1];
		if (n->parent == parent && n->func == func)
			return t->idx.slot[s] - 1;
	}
	if ((t->nodes.n + 1) * 2 > t->idx.cap) {
		free(t->idx.slot);
		t->idx.cap *= 2;
		t->idx.slot = xcalloc(t->idx.cap, sizeof *t->idx.slot);
		for (uint32_t i = 1; i < t->nodes.n; i++)
			idx_insert(t, i);
	}
	uint32_t depth = t->nodes.v[parent].depth + 1;
	struct calltree_node n = { .func = func, .parent = parent, .depth = depth,
				   .next_sibling = t->nodes.v[parent].first_child };
	uint32_t id = (uint32_t)t->nodes.n;
	vec_push(&t->nodes, n);
	t->nodes.v[parent].first_child = id;
	if (depth > t->max_depth)
		t->max_depth = depth;
	idx_insert(t, id);
	return id;
}

void calltree_build(struct calltree *t, const struct profile *p, bool reverse)
{
	memset(t, 0, sizeof *t);
	t->idx.cap = 1024;
	t->idx.slot = xcalloc(t->idx.cap, sizeof *t->idx.slot);
	vec_push(&t->nodes, ((struct calltree_node){ .func = UINT32_MAX }));
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *ps = &p->stacks.v[i];
		uint32_t n = cprof_stack_len(p->d, ps->stack);
		const uint32_t *fr = cprof_stack_frames(p->d, ps->stack);
		uint32_t node = 0;
		t->nodes.v[0].weight += ps->weight;
		t->nodes.v[0].samples += ps->samples;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t frame = reverse ? fr[k] : fr[n - 1 - k];
			node = child_of(t, node, p->frame_func[frame]);
			t->nodes.v[node].weight += ps->weight;
			t->nodes.v[node].samples += ps->samples;
		}
		t->nodes.v[node].self_weight += ps->weight;
		t->nodes.v[node].self_samples += ps->samples;
	}
}

void calltree_release(struct calltree *t)
{
	vec_release(&t->nodes);
	free(t->idx.slot);
	memset(t, 0, sizeof *t);
}

static int cmp_child(const void *a, const void *b, void *ctx)
{
	const struct calltree *t = ctx;
	const struct calltree_node *x = &t->nodes.v[*(const uint32_t *)a];
	const struct calltree_node *y = &t->nodes.v[*(const uint32_t *)b];
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->func < y->func ? -1 : x->func > y->func;
}

uint32_t *calltree_children_sorted(const struct calltree *t, uint32_t node, size_t *ret_n)
{
	size_t n = 0;
	for (uint32_t c = t->nodes.v[node].first_child; c; c = t->nodes.v[c].next_sibling)
		n++;
	uint32_t *v = xmalloc((n ? n : 1) * sizeof *v);
	n = 0;
	for (uint32_t c = t->nodes.v[node].first_child; c; c = t->nodes.v[c].next_sibling)
		v[n++] = c;
	qsort_r(v, n, sizeof *v, cmp_child, (void *)t);
	*ret_n = n;
	return v;
}
