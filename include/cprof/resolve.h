/*
 * resolve.h - the one stack resolver of the finishing pass (record/resolve.c).
 * Samples, memory traces and GPU launch stacks all go through it: each
 * address is matched to the mapping under it at the stack's time (or its
 * process's parent's, before the first exec), every distinct address is
 * symbolized once on two cores, inlined calls are expanded, and frames and
 * stacks are interned into the data file.
 *
 * Phases, in order: resolver_new; resolver_add (and resolver_add_samples)
 * for every stack; resolver_run once; then resolver_stack / resolver_frames
 * (and resolver_emit_samples); resolver_finish (or resolver_free to drop it).
 */
#ifndef CPROF_RESOLVE_H
#define CPROF_RESOLVE_H

#include "cprof/record.h"

struct cprof_data;
struct resolver;

/* How to read a stack's addresses (resolver_add). */
#define RESOLVE_CALLCHAIN 1 /* perf context markers among them (PERF_SAMPLE_CALLCHAIN) */
#define RESOLVE_KERNEL 2    /* they start in the kernel */
#define RESOLVE_RETURNS 4   /* all are return addresses, the first too (a tracer's) */

/* The mappings and processes of s, for stacks interned into d. Both must
 * outlive the resolver. NULL (err set) if the symbolizer cannot start. */
struct resolver *resolver_new(struct cprof_data *d, const struct raw_store *s, struct cprof_err *err);
/* Hand over one stack of pid at time (leaf first; the ips stay the
 * caller's until the resolver is done). Returns its handle. */
uint32_t resolver_add(struct resolver *r, uint32_t pid, uint64_t time, const uint64_t *ips, uint32_t n,
		      unsigned how);
/* Every distinct stack of the store's samples. */
void resolver_add_samples(struct resolver *r);
/* Symbolize every address handed over. */
void resolver_run(struct resolver *r);
/* The frames of stack h, leaf first: valid until the next call. */
const uint32_t *resolver_frames(struct resolver *r, uint32_t h, size_t *n);
/* Stack h stored in d with flags (STACKF_*); the same id for the same flags. */
uint32_t resolver_stack(struct resolver *r, uint32_t h, uint32_t flags);
/* The store's samples, in time order, into d. */
void resolver_emit_samples(struct resolver *r);
/* Threads, mappings, the hot functions' code and the symbol statistics
 * into d; frees r. */
void resolver_finish(struct resolver *r, struct resolve_stats *st);
void resolver_free(struct resolver *r);

#endif
