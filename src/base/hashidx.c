/* hashidx.c - the open-addressing indexes and the string interner; see base.h. */
#include <stdlib.h>
#include <string.h>

#include "cprof/base.h"

static void put_all(struct hashidx *ix, const uint32_t *old, size_t old_cap, hashidx_hash_fn *hash, const void *ctx)
{
	ix->count = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			hashidx_put(ix, hash(ctx, old[i] - 1), old[i] - 1);
}

void hashidx_grow_(struct hashidx *ix, size_t items, hashidx_hash_fn *hash, const void *ctx)
{
	size_t cap = ix->cap ? ix->cap * 2 : 1024;
	while (cap < items * 2)
		cap *= 2;
	uint32_t *old = ix->slot;
	size_t old_cap = ix->cap;
	ix->slot = xcalloc(cap, sizeof *ix->slot);
	ix->cap = cap;
	put_all(ix, old, old_cap, hash, ctx);
	free(old);
}

void hashidx_presize(struct hashidx *ix, size_t items)
{
	size_t cap = 1024;
	while (cap < (items + 1) * 2)
		cap *= 2;
	free(ix->slot);
	ix->slot = xcalloc(cap, sizeof *ix->slot);
	ix->cap = cap;
	ix->count = 0;
}

void hashidx_build(struct hashidx *ix, uint32_t n, hashidx_hash_fn *hash, const void *ctx)
{
	hashidx_presize(ix, n);
	for (uint32_t i = 0; i < n; i++)
		hashidx_put(ix, hash(ctx, i), i);
}

void hashidx_release(struct hashidx *ix)
{
	free(ix->slot);
	*ix = (struct hashidx)HASHIDX_INIT;
}

/* Move the items into cap slots (a power of two, more than there are). */
static void hashtab_resize(struct hashtab *t, size_t cap)
{
	uint64_t *old = t->slot;
	t->slot = big_alloc(cap * sizeof *t->slot);
	for (size_t i = 0; i < t->cap; i++) {
		if (!old[i])
			continue;
		size_t pos = (size_t)(old[i] >> 32) & (cap - 1);
		while (t->slot[pos])
			pos = (pos + 1) & (cap - 1);
		t->slot[pos] = old[i];
	}
	big_free(old, t->cap * sizeof *old);
	t->cap = cap;
}

void hashtab_grow_(struct hashtab *t)
{
	hashtab_resize(t, t->cap ? t->cap * 2 : 1024);
}

void hashtab_reserve(struct hashtab *t, size_t items)
{
	size_t cap = t->cap ? t->cap : 1024;
	while (cap / 4 * 3 < items + 1) /* hashtab_put's rule: at most 3/4 full */
		cap *= 2;
	if (cap > t->cap)
		hashtab_resize(t, cap);
}

void hashtab_release(struct hashtab *t)
{
	big_free(t->slot, t->cap * sizeof *t->slot);
	*t = (struct hashtab)HASHTAB_INIT;
}

/* ---- the string interner ---- */

static uint64_t str_hash(const char *s, size_t len) { return hash_bytes(s, len, HASH_SEED); }

static uint64_t str_hash_at(const void *ctx, uint32_t off)
{
	const char *s = ((const struct sbuf *)ctx)->buf + off;
	return str_hash(s, strlen(s));
}

static uint32_t find(const struct sbuf *blob, const struct hashidx *idx, const char *s, uint64_t h)
{
	size_t pos;
	for (uint32_t off = hashidx_first(idx, h, &pos); off != HASHIDX_NONE; off = hashidx_next(idx, &pos))
		if (strcmp(blob->buf + off, s) == 0)
			return off;
	return HASHIDX_NONE;
}

uint32_t str_find(const struct sbuf *blob, const struct hashidx *idx, const char *s)
{
	return find(blob, idx, s, str_hash(s, strlen(s)));
}

uint32_t str_intern(struct sbuf *blob, struct hashidx *idx, const char *s)
{
	size_t len = strlen(s);
	uint64_t h = str_hash(s, len);
	uint32_t off = find(blob, idx, s, h);
	if (off != HASHIDX_NONE)
		return off;
	hashidx_reserve(idx, str_hash_at, blob);
	off = (uint32_t)blob->len;
	sbuf_add(blob, s, len + 1); /* the NUL is part of the table */
	hashidx_put(idx, h, off);
	return off;
}

void str_index(const struct sbuf *blob, struct hashidx *idx, size_t from)
{
	for (size_t off = from; off < blob->len;) {
		const char *s = blob->buf + off;
		size_t len = strlen(s);
		uint64_t h = str_hash(s, len);
		if (len && find(blob, idx, s, h) == HASHIDX_NONE) {
			hashidx_reserve(idx, str_hash_at, blob);
			hashidx_put(idx, h, (uint32_t)off);
		}
		off += len + 1;
	}
}
