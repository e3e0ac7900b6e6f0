/* test-hashidx.c - the hash indexes, the string interner and the byte search of base. */
#include <errno.h>

#include "cprof/base.h"
#include "harness.h"

/* Items: 64-bit keys in a vector, hashed by a function the test controls,
 * so collisions and long chains can be forced. */
struct items {
	VEC(uint64_t) keys;
	struct hashidx ix;
	uint64_t mask; /* hash = key & mask: a small mask makes many collide */
};

static uint64_t key_hash(const struct items *t, uint64_t key) { return (key * 0x9e3779b97f4a7c15ULL) & t->mask; }
static uint64_t item_hash(const void *ctx, uint32_t i)
{
	const struct items *t = ctx;
	return key_hash(t, t->keys.v[i]);
}

static uint32_t find(const struct items *t, uint64_t key)
{
	size_t pos;
	for (uint32_t it = hashidx_first(&t->ix, key_hash(t, key), &pos); it != HASHIDX_NONE;
	     it = hashidx_next(&t->ix, &pos))
		if (t->keys.v[it] == key)
			return it;
	return HASHIDX_NONE;
}

static uint32_t add(struct items *t, uint64_t key)
{
	uint32_t it = find(t, key);
	if (it != HASHIDX_NONE)
		return it;
	hashidx_reserve(&t->ix, item_hash, t);
	vec_push(&t->keys, key);
	hashidx_put(&t->ix, key_hash(t, key), (uint32_t)t->keys.n - 1);
	return (uint32_t)t->keys.n - 1;
}

TEST(empty_index_finds_nothing)
{
	struct items t = { .mask = ~0ULL };
	ASSERT_EQ(find(&t, 0), HASHIDX_NONE);
	ASSERT_EQ(find(&t, 42), HASHIDX_NONE);
	ASSERT_EQ(t.ix.cap, 0);
	hashidx_release(&t.ix); /* releasing an empty index is fine */
}

TEST(insert_find_grow)
{
	/* mask: all distinct hashes; 8 distinct hash values (chains of
	 * thousands across wrap-around); one hash for all. */
	static const struct { uint64_t mask; uint32_t n; } cases[] = {
		{ ~0ULL, 100000 }, { 7, 3000 }, { 0, 600 }, { ~0ULL, 1 }, { ~0ULL, 511 }, { ~0ULL, 512 },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct items t = { .mask = cases[c].mask };
		for (uint32_t i = 0; i < cases[c].n; i++)
			ASSERT_EQ(add(&t, (uint64_t)i * 7919 + 1), i);
		ASSERT_EQ(t.keys.n, cases[c].n);
		ASSERT_EQ(t.ix.count, cases[c].n);
		/* at most half full, a power of two */
		ASSERT(t.ix.count * 2 <= t.ix.cap);
		ASSERT_EQ(t.ix.cap & (t.ix.cap - 1), 0);
		/* adding again finds, does not add */
		for (uint32_t i = 0; i < cases[c].n; i++)
			ASSERT_EQ(add(&t, (uint64_t)i * 7919 + 1), i);
		ASSERT_EQ(t.keys.n, cases[c].n);
		/* absent keys are absent */
		for (uint32_t i = 0; i < 200; i++)
			ASSERT_EQ(find(&t, (uint64_t)i * 7919 + 2), HASHIDX_NONE);
		hashidx_release(&t.ix);
		ASSERT_EQ(t.ix.cap, 0);
		ASSERT_EQ(find(&t, 1), HASHIDX_NONE);
		vec_release(&t.keys);
	}
}

TEST(build_indexes_a_bulk_table)
{
	struct items t = { .mask = 15 };
	for (uint64_t i = 0; i < 5000; i++)
		vec_push(&t.keys, i * 3);
	ASSERT_EQ(find(&t, 3), HASHIDX_NONE); /* not indexed yet */
	hashidx_build(&t.ix, (uint32_t)t.keys.n, item_hash, &t);
	ASSERT_EQ(t.ix.count, 5000);
	for (uint64_t i = 0; i < 5000; i++)
		ASSERT_EQ(find(&t, i * 3), i);
	ASSERT_EQ(find(&t, 4), HASHIDX_NONE);
	ASSERT_EQ(add(&t, 15001), 5000); /* and it grows on from there */
	hashidx_build(&t.ix, 0, item_hash, &t); /* rebuilt empty */
	ASSERT_EQ(find(&t, 3), HASHIDX_NONE);
	hashidx_release(&t.ix);
	vec_release(&t.keys);
}

TEST(interner)
{
	struct sbuf blob = SBUF_INIT;
	struct hashidx idx = HASHIDX_INIT;
	static const struct { const char *s; uint32_t off; } cases[] = {
		{ "main", 0 }, { "libc.so.6", 5 }, { "main", 0 }, { "", 15 }, { "", 15 },
		{ "mai", 16 }, { "libc.so.6", 5 }, { "\xc3\xa9t\xc3\xa9", 20 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(str_intern(&blob, &idx, cases[i].s), cases[i].off);
		ASSERT_STREQ(blob.buf + cases[i].off, cases[i].s);
		ASSERT_EQ(str_find(&blob, &idx, cases[i].s), cases[i].off);
	}
	ASSERT_EQ(blob.len, 26);
	ASSERT_EQ(str_find(&blob, &idx, "ma"), HASHIDX_NONE);
	/* many strings: offsets stay right across growth */
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof name, "f%d", i);
		uint32_t off = str_intern(&blob, &idx, name);
		ASSERT_STREQ(blob.buf + off, name);
	}
	size_t len = blob.len;
	for (int i = 0; i < 20000; i += 7) {
		snprintf(name, sizeof name, "f%d", i);
		ASSERT_STREQ(blob.buf + str_intern(&blob, &idx, name), name);
	}
	ASSERT_EQ(blob.len, len); /* nothing added the second time */
	hashidx_release(&idx);
	sbuf_release(&blob);
}

TEST(index_a_table_read_in_bulk)
{
	/* As a file gives it: "" at 0, then strings, some twice. */
	static const char table[] = "\0a\0bb\0a\0\0ccc\0bb";
	struct sbuf blob = SBUF_INIT;
	sbuf_add(&blob, table, sizeof table); /* with the last NUL */
	struct hashidx idx = HASHIDX_INIT;
	str_index(&blob, &idx, 1);
	ASSERT_EQ(idx.count, 3);	     /* a, bb, ccc: copies and "" left out */
	ASSERT_EQ(str_find(&blob, &idx, "a"), 1); /* the first copy */
	ASSERT_EQ(str_find(&blob, &idx, "bb"), 3);
	ASSERT_EQ(str_find(&blob, &idx, "ccc"), 9);
	ASSERT_EQ(str_find(&blob, &idx, ""), HASHIDX_NONE);
	ASSERT_EQ(str_intern(&blob, &idx, "bb"), 3);
	ASSERT_EQ(str_intern(&blob, &idx, "dd"), sizeof table);
	hashidx_release(&idx);
	sbuf_release(&blob);
}

/* Items that share a hash are all found; growing keeps
 * every item under its own hash, and a hash never put finds nothing. */
TEST(hashtab_with_hashes_in_slots)
{
	struct hashtab t = HASHTAB_INIT;
	size_t pos = 0;
	ASSERT_EQ(hashtab_first(&t, 7, &pos), HASHIDX_NONE);
	const uint32_t n = 50000; /* grows from 1024 slots to 131072 */
	for (uint32_t i = 0; i < n; i++)
		hashtab_put(&t, i / 2 * 2654435761u, i); /* pairs of items share a hash */
	ASSERT_EQ(t.count, n);
	ASSERT(t.cap * 3 >= (size_t)n * 4); /* at most 3/4 full */
	for (uint32_t i = 0; i < n; i += 2) {
		uint32_t h = i / 2 * 2654435761u;
		uint32_t a = hashtab_first(&t, h, &pos), b = hashtab_next(&t, h, &pos);
		ASSERT_EQ(a < b ? a : b, i); /* in either order: growing may turn a chain round */
		ASSERT_EQ(a < b ? b : a, i + 1);
		ASSERT_EQ(hashtab_next(&t, h, &pos), HASHIDX_NONE);
	}
	ASSERT_EQ(hashtab_first(&t, n * 2654435761u, &pos), HASHIDX_NONE);
	hashtab_release(&t);
	ASSERT_EQ(t.cap, 0);
	ASSERT_EQ(hashtab_first(&t, 0, &pos), HASHIDX_NONE);
}

/* Reserved room is used without growing; reserving in a filled table
 * moves its items, which are all found again. */
TEST(hashtab_reserve)
{
	struct hashtab t = HASHTAB_INIT;
	size_t pos = 0;
	hashtab_reserve(&t, 30000);
	size_t cap = t.cap;
	ASSERT(cap * 3 >= 30001 * 4);
	for (uint32_t i = 0; i < 30000; i++)
		hashtab_put(&t, i * 2654435761u, i);
	ASSERT_EQ(t.cap, cap);
	hashtab_reserve(&t, 100); /* less than there is: nothing changes */
	ASSERT_EQ(t.cap, cap);
	hashtab_reserve(&t, 200000);
	ASSERT(t.cap > cap);
	ASSERT_EQ(t.count, 30000);
	for (uint32_t i = 0; i < 30000; i++)
		ASSERT_EQ(hashtab_first(&t, i * 2654435761u, &pos), i);
	hashtab_release(&t);
}

/* find_byte and find_byte_hash agree with memchr wherever the span starts
 * and ends, for bytes of every kind (high bit set, NUL, neighbours of the
 * one sought), and find_byte_hash's hash is hash_words of what it passed. */
TEST(find_byte)
{
	static const char wanted[] = { ';', 0, (char)0x80, (char)0xff, 'a' };
	char buf[64];
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (size_t w = 0; w < sizeof wanted; w++) {
		char c = wanted[w];
		for (int round = 0; round < 50; round++) {
			for (size_t i = 0; i < sizeof buf; i++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				unsigned r = (unsigned)(x >> 59); /* one in 32 is c, the rest near it or anything */
				buf[i] = r == 0 ? c : r < 8 ? (char)(c ^ (1 << (r - 1))) : (char)(x >> 33);
			}
			for (size_t a = 0; a < 20; a++)
				for (size_t b = a; b <= sizeof buf; b++) {
					const char *m = memchr(buf + a, c, b - a), *want = m ? m : buf + b;
					ASSERT(find_byte(buf + a, buf + b, c) == want);
					/* the same search, hashing what it passes as hash_words does */
					uint32_t h = 0;
					ASSERT(find_byte_hash(buf + a, buf + b, c, &h) == want);
					ASSERT_EQ(h, hash_words(buf + a, (size_t)(want - (buf + a))));
				}
		}
	}
}

/* A big array starts zeroed and keeps its contents as it grows past the
 * size where huge pages may back it. */
TEST(big_arrays_grow_in_place_or_move_whole)
{
	size_t len = 100000;
	uint32_t *a = big_alloc(len * sizeof *a);
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ(a[i], 0);
		a[i] = (uint32_t)i * 3;
	}
	a = big_realloc(a, len * sizeof *a, 8 * len * sizeof *a);
	for (size_t i = 0; i < len; i++)
		ASSERT_EQ(a[i], i * 3);
	ASSERT_EQ(a[8 * len - 1], 0);
	big_free(a, 8 * len * sizeof *a);
}

RUN_TESTS(T(empty_index_finds_nothing), T(insert_find_grow), T(build_indexes_a_bulk_table), T(interner),
	  T(index_a_table_read_in_bulk), T(hashtab_with_hashes_in_slots), T(hashtab_reserve), T(find_byte),
	  T(big_arrays_grow_in_place_or_move_whole))
