/* u64map.c - open addressing with linear probing; see u64map.h. */
#include <stdlib.h>

#include "cprof/u64map.h"

static size_t home_of(const struct u64map *m, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (m->cap - 1);
}

static size_t slot_of(const struct u64map *m, uint64_t key)
{
	size_t i = home_of(m, key);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

int64_t u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	size_t i = slot_of(m, key);
	return m->vals[i] ? (int64_t)m->vals[i] - 1 : -1;
}

void u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct u64map g = { .cap = m->cap ? m->cap * 2 : 256, .n = m->n };
		g.keys = xcalloc(g.cap, sizeof *g.keys);
		g.vals = xcalloc(g.cap, sizeof *g.vals);
		for (size_t i = 0; i < m->cap; i++)
			if (m->vals[i]) {
				size_t s = slot_of(&g, m->keys[i]);
				g.keys[s] = m->keys[i];
				g.vals[s] = m->vals[i];
			}
		u64map_release(m);
		*m = g;
	}
	size_t i = slot_of(m, key);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val + 1;
}

/* Without tombstones: the entries after the hole that would no longer be
 * found across it move back into it (backward-shift deletion), so a map
 * that sees as many deletions as insertions stays as short to probe as a
 * fresh one. */
int64_t u64map_del(struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	size_t hole = slot_of(m, key), mask = m->cap - 1;
	if (!m->vals[hole])
		return -1;
	int64_t val = (int64_t)m->vals[hole] - 1;
	for (size_t j = (hole + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
		/* The entry at j stays if its home lies cyclically in (hole, j]. */
		size_t home = home_of(m, m->keys[j]);
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		m->keys[hole] = m->keys[j];
		m->vals[hole] = m->vals[j];
		hole = j;
	}
	m->vals[hole] = 0;
	m->n--;
	return val;
}

void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}
