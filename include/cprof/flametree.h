/*
 * flametree.h - stacks merged into a tree of frames by name path: what a
 * flame graph draws (flamegraph.h lays it out and writes it).
 *
 * Stacks come from a profile (merged, per thread, or in time order for a
 * flame chart), from folded stacks as they are read, or from a data
 * source's own adapter (memory, GPU) through fg_intern and fg_add_stack.
 */
#ifndef CPROF_FLAMETREE_H
#define CPROF_FLAMETREE_H

#include "cprof/load.h"
#include "cprof/profile.h"

struct fg_node {
	uint32_t name;         /* index into names */
	uint32_t first_child, next_sibling; /* 0 = none */
	uint32_t depth;
	uint32_t parent;       /* the root's is 0 */
	uint64_t total;        /* inclusive count ("after" side) */
	uint64_t self;         /* count of stacks ending here */
	/* One or the other: a flame chart has no "before" side (nor a
	 * child_idx, through which alone before_self is counted). Sharing the
	 * word keeps a node at 48 bytes, the bulk of a big graph's memory. */
	union {
		uint64_t before_self; /* differential: self count in "before" */
		uint64_t start;       /* flame chart: where it begins, in samples */
	};
};

struct fg_name {
	uint32_t off;          /* into names_buf: the full label, with "_[k]"/"_[i]" */
	uint32_t len;          /* length of the full label */
	uint32_t shown;        /* length displayed (the suffix stripped) */
	uint32_t flags;        /* FRF_KERNEL / FRF_INLINED from the suffix */
	uint32_t hot_off;      /* into names_buf: the function's hottest line ("file.c:42"), shown in its tooltip */
	uint32_t hot_len;      /* 0: none known */
};

/* A frame of the stack being added: its name, its node and the hash of
 * its path of names from the root (what child_idx knows it by). */
struct fg_step {
	uint32_t name, node, path;
};

/* A stack on its way into the tree (see fg_add_labels): its frames, the
 * count, and how many of its first frames are the previous stack's. */
struct fg_queued {
	VEC(struct fg_step) st;
	size_t shared;
	uint64_t count;
};
#define FG_QUEUE 4 /* a power of two, more than the stages of fg_add_labels */

struct flamegraph {
	VEC(struct fg_node) nodes; /* node 0 is the root, "all"; grown by fg_push_node only */
	VEC(struct fg_name) names;
	struct sbuf names_buf;
	struct hashtab name_idx;   /* label -> name */
	struct hashtab child_idx;  /* path of names -> node (not in a flame chart) */
	/* The stacks added last, stack k in queue[k % FG_QUEUE]: queued (names
	 * and path hashes set) up to queued, looked up in the index (candidate
	 * nodes set) up to looked, in the tree up to added. */
	struct fg_queued queue[FG_QUEUE];
	size_t queued, looked, added;
	VEC(uint32_t) ids;         /* fg_add_labels' names for a flame chart */
	uint64_t before_total;
	bool diff;                 /* fg_add_before_* was called */
	bool chart;                /* flame chart: stacks kept in the order added */
	bool lanes;                /* flame chart of threads: one lane each, x is time */
	double tick_s;             /* lanes: seconds per unit of x (start, total) */
};

void fg_init(struct flamegraph *g);
/* A flame chart instead: stacks are not sorted, and a frame is merged only
 * with the same frame of the stack just before it, so x is time. */
void fg_init_chart(struct flamegraph *g);
void fg_release(struct flamegraph *g);

/* Folded input of about bytes bytes is coming: size the index of frames
 * for it once, rather than doubling it (and rehashing) as it fills. */
void fg_expect_folded(struct flamegraph *g, uint64_t bytes);
/* Add a node as it is (its parent's links are the caller's); its id. */
uint32_t fg_push_node(struct flamegraph *g, struct fg_node nd);
/* Name id of a label ("func", "func_[k]", "func_[i]"). */
uint32_t fg_intern(struct flamegraph *g, const char *label, size_t len);
/* Add count samples on a stack of name ids, root first. */
void fg_add_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count);
/* The same on a stack of labels, which need not be interned first (as the
 * folded scanner gives them, load.h: text and its hash_words, or 0 for
 * one to compute), so that a folded line's frames come straight: the
 * frames shared with the stack added last are compared by text alone, the
 * rest interned (each label is stored once) and found by path. The last
 * two stacks may still be on their way into the tree: fg_flush before
 * reading it (the other fg_add_* functions flush first). */
void fg_add_labels(struct flamegraph *g, const struct folded_tok *labels, size_t n, uint64_t count);
/* Put the stacks fg_add_labels still holds into the tree. */
void fg_flush(struct flamegraph *g);
/* Differential: count "before" samples on a stack; stacks absent from the
 * drawn tree are counted in the total only (they cannot be seen). */
void fg_add_before_stack(struct flamegraph *g, const uint32_t *names, size_t n, uint64_t count);
/* Add every stack of a profile (sample counts); root (may be NULL) is put
 * above each stack; reverse merges from the leaves. */
void fg_add_profile(struct flamegraph *g, const struct profile *p, const char *root, bool reverse, bool before);
/* The same with a root frame "NAME-TID" per thread: each of p's threads is
 * aggregated again with f narrowed to it. */
int fg_add_profile_threads(struct flamegraph *g, const struct profile *p, const struct profile_filter *f,
			   bool reverse, bool before, struct cprof_err *err) CPROF_WUR;

/* Flame chart input: p's samples in time order. With per_thread, one lane
 * per thread under a "NAME-TID" root each, all on one time axis: x counts
 * sampling intervals since the first sample, and a frame runs on while
 * its thread's samples keep finding it. Not with "before". */
void fg_add_samples(struct flamegraph *g, const struct profile *p, bool reverse, bool per_thread);

/*
 * profile_source_load (load.h) for a flame graph: folded stacks are drawn
 * into g as they are parsed, without a struct cprof_data in between
 * (reverse merges from the leaves), and *ret_drawn is set; d is then left
 * empty. The graph is the one folded_parse, profile_build and
 * fg_add_profile (or fg_add_samples, when g is a flame chart) would give;
 * counts that are all 0 leave it empty. Other formats load into d, and
 * *ret_drawn is false.
 */
int profile_source_load_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *path, bool strict,
			   const struct note_sink *warn, bool *ret_drawn, struct cprof_err *err) CPROF_WUR;
/* The same from memory (the fuzz target's), read as a file is: folded
 * stacks in pieces of piece bytes (0: the usual size), so that a test
 * reaches lines cut across pieces. */
int profile_source_parse_fg(struct cprof_data *d, struct flamegraph *g, bool reverse, const char *buf, size_t len,
			    size_t piece, const char *name, bool strict, const struct note_sink *warn, bool *ret_drawn,
			    struct cprof_err *err) CPROF_WUR;

#endif
