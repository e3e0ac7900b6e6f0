/*
 * stacktime.h - the time in a source's calls by the stack they were made
 * from (SECTION_LAT_STACKS: syscalls, probed functions), for the views:
 * summed over processes into (stack, key) rows, drawn as a flame graph or
 * written as folded stacks with the call (a syscall's or function's name)
 * as the last frame; and the part of the time spent on a CPU.
 */
#ifndef CPROF_STACKTIME_H
#define CPROF_STACKTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cprof/base.h"
#include "cprof/u64map.h"

struct cprof_data;
struct flamegraph;

struct stacktime_row {
	uint32_t stack, key;  /* stack: LAT_NO_STACK when recorded without -g */
	uint64_t ns, calls;
};
struct stacktime {
	VEC(struct stacktime_row) rows; /* by stack, then key; each pair once */
};

/* The name of key, the call's frame: valid until the next call. */
typedef const char *stacktime_name_fn(const struct cprof_data *d, uint32_t key, void *ctx);

/* source's (LH_SRC_*) rows of d; none in a file made before they were
 * kept. Release with stacktime_release. */
void stacktime_build(struct stacktime *st, const struct cprof_data *d, uint32_t source);
void stacktime_release(struct stacktime *st);
/* Each of source's rows (stacktime_build): its stack, root first, then
 * the call's name, weighted in ns. */
void stacktime_flame(struct flamegraph *g, const struct cprof_data *d, uint32_t source, stacktime_name_fn *name,
		     void *ctx);
/* The same as folded stacks, weighted in microseconds (rounded; rows
 * under half a microsecond left out), in the rows' order. */
void stacktime_folded(FILE *out, const struct cprof_data *d, uint32_t source, stacktime_name_fn *name, void *ctx);

/* The time of each key's calls per thread (tid; 0: all threads) and the
 * part of it on a CPU, summed once so that a report's rows each find theirs
 * in one lookup. */
struct stacktime_sum {
	uint64_t total, oncpu;
	bool measured;                  /* every row of it had its time on a CPU */
};
struct stacktime_oncpu {
	struct u64map at;               /* key << 32 | tid -> index in v */
	VEC(struct stacktime_sum) v;
};
void stacktime_oncpu_build(struct stacktime_oncpu *o, const struct cprof_data *d, uint32_t source);
/* false when the recording did not measure key's time on a CPU in tid (or
 * has no call of it that returned). */
bool stacktime_oncpu_get(const struct stacktime_oncpu *o, uint32_t key, uint32_t tid, uint64_t *total,
			 uint64_t *oncpu);
void stacktime_oncpu_release(struct stacktime_oncpu *o);

#define STACKTIME_NO_STACK_LABEL "[no stack]"

#endif
