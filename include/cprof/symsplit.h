/*
 * symsplit.h - the finishing pass on both cores: the unique addresses of a
 * recording are split between two symbolizers, each resolving its share on
 * its own thread (with its own libdw sessions, so nothing is shared), and the
 * stacks are then built from their caches.
 *
 * Usage: sym_split_add() every user address (and sym_split_want_kernel()
 * if kernel frames exist), sym_split_run(), then ask sym_split_owner() which
 * symbolizer holds each address.
 */
#ifndef CPROF_SYMSPLIT_H
#define CPROF_SYMSPLIT_H

#include "cprof/record.h"
#include "cprof/symbol.h"

struct sym_split;

struct sym_split *sym_split_new(void);
void sym_split_free(struct sym_split *sp);
/* One user address in mapping m (which must outlive sp). */
void sym_split_add(struct sym_split *sp, const struct raw_mmap *m, uint64_t ip, bool is_return);
/* Kernel frames will be asked for: load kallsyms on the second thread. */
void sym_split_want_kernel(struct sym_split *sp);
/* Resolve everything added, sym[0] on this thread and sym[1] on another
 * (both threads busy only when there is enough work). */
void sym_split_run(struct sym_split *sp, struct symbolizer *sym[2]);
/* 0 or 1: which symbolizer resolved (m, ip) in sym_split_run. */
int sym_split_owner(struct sym_split *sp, const struct raw_mmap *m, uint64_t ip);
/* The struct sym_map describing mapping m. */
struct sym_map sym_map_of(const struct raw_mmap *m);

#endif
