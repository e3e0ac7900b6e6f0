/* calltree.c - merge a profile's stacks into a caller/callee tree. */
#include <stdlib.h>
#include <string.h>

#include "cprof/calltree.h"

static uint64_t key_hash(uint32_t parent, uint32_t func)
{
	uint64_t k = ((uint64_t)parent << 32) | func;
	return hash_bytes(&k, sizeof k, HASH_SEED);
}

static uint64_t node_hash(const void *ctx, uint32_t node)
{
	const struct calltree_node *n = &((const struct calltree *)ctx)->nodes.v[node];
	return key_hash(n->parent, n->func);
}

/* The child of parent for func, added if it is not there yet. */
static uint32_t child_of(struct calltree *t, uint32_t parent, uint32_t func)
{
	uint64_t h = key_hash(parent, func);
	size_t pos;
	for (uint32_t i = hashidx_first(&t->idx, h, &pos); i != HASHIDX_NONE; i = hashidx_next(&t->idx, &pos)) {
		const struct calltree_node *n = &t->nodes.v[i];
		if (n->parent == parent && n->func == func)
			return i;
	}
	hashidx_reserve(&t->idx, node_hash, t);
	uint32_t depth = t->nodes.v[parent].depth + 1;
	struct calltree_node n = { .func = func, .parent = parent, .depth = depth,
				   .next_sibling = t->nodes.v[parent].first_child };
	uint32_t id = (uint32_t)t->nodes.n;
	vec_push(&t->nodes, n);
	t->nodes.v[parent].first_child = id;
	if (depth > t->max_depth)
		t->max_depth = depth;
	hashidx_put(&t->idx, h, id);
	return id;
}

void calltree_build(struct calltree *t, const struct profile *p, bool reverse)
{
	memset(t, 0, sizeof *t);
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
	hashidx_release(&t->idx);
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
