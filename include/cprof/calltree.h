/*
 * calltree.h - a profile's stacks merged into a tree of functions, root
 * first (callers above callees) or, reversed, leaf first (who calls the hot
 * function). Node 0 is the synthetic root that spans everything.
 */
#ifndef CPROF_CALLTREE_H
#define CPROF_CALLTREE_H

#include "cprof/profile.h"

struct calltree_node {
	uint32_t func;         /* profile func index (unused for the root) */
	uint32_t parent;       /* node index; root's parent is itself */
	uint32_t first_child;  /* 0 = none (the root is never a child) */
	uint32_t next_sibling; /* 0 = none */
	uint32_t depth;
	uint64_t weight, samples;           /* inclusive */
	uint64_t self_weight, self_samples; /* stacks ending here */
};

struct calltree {
	VEC(struct calltree_node) nodes;
	struct hashidx idx;     /* (parent, func) -> node */
	uint32_t max_depth;
};

/* Build from p; reverse merges from the leaves. */
void calltree_build(struct calltree *t, const struct profile *p, bool reverse);
void calltree_release(struct calltree *t);
/* Children of node, heaviest first; caller frees. */
uint32_t *calltree_children_sorted(const struct calltree *t, uint32_t node, size_t *ret_n);

#endif
