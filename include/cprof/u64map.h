/*
 * u64map.h - a hash map from 64-bit keys to 32-bit values, for writers
 * that number things as they first meet them (pprof ids, speedscope frame
 * indexes). Keys are compared exactly; a caller with wider keys hashes
 * them and resolves collisions itself (see u64map_a salted retry).
 */
#ifndef CPROF_U64MAP_H
#define CPROF_U64MAP_H

#include "cprof/base.h"

struct u64map {
	uint64_t *keys;
	uint32_t *vals;  /* value + 1; 0 marks an empty slot */
	size_t cap, n;
};
#define U64MAP_INIT { NULL, NULL, 0, 0 }

/* The value of key, or -1 if absent. */
int64_t u64map_get(const struct u64map *m, uint64_t key);
/* Set key to val (val < UINT32_MAX). */
void u64map_put(struct u64map *m, uint64_t key, uint32_t val);
/* Take key out: its value, or -1 if it was not there. The table keeps
 * its size. */
int64_t u64map_del(struct u64map *m, uint64_t key);
void u64map_release(struct u64map *m);

#endif
