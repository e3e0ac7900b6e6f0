/*
 * base.h - the few primitives every cprof module uses: the error channel,
 * checked allocation, a growable string (sbuf) and a growable array (VEC).
 *
 * Error convention: fallible functions return >= 0 on success and -errno on
 * failure, and describe the failure in a caller-provided struct cprof_err.
 * Modules never print; the command layer prints one line per error.
 */
#ifndef CPROF_BASE_H
#define CPROF_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CPROF_WUR __attribute__((warn_unused_result))
#define CPROF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One error, filled by the module that found it. msg is a full sentence
 * fragment without the "cprof CMD: " prefix and without a trailing period. */
struct cprof_err {
	int code; /* positive errno value */
	char msg[1024];
};

/* Fill *e (if non-NULL) and return -code, so callers can "return err_set(...)".
 * Control characters in the message become '?', so it stays one line. */
int err_set(struct cprof_err *e, int code, const char *fmt, ...) CPROF_PRINTF(3, 4);

/*
 * The one warning channel: what a module tells the user and goes on with
 * (a skipped input line, a process it could not trace, a GPU it did not
 * find). The caller owns the sink and decides how a line is shown: a
 * command prints "cprof CMD: LINE", record --repeat each line once, a test
 * collects them. notef() formats one line, made one line as err_set()'s
 * messages are; a NULL sink, or one without fn, drops it.
 */
struct note_sink {
	void (*fn)(void *ctx, const char *line);
	void *ctx;
};
void notef(const struct note_sink *s, const char *fmt, ...) CPROF_PRINTF(2, 3);

/* Allocation that cannot fail: on out-of-memory it prints and aborts, as
 * there is no sensible recovery for a profiler running out of memory. */
void *xmalloc(size_t n);
/* qsort of n items, nothing for fewer than two: qsort(NULL, 0, ...) is
 * undefined (its base is declared nonnull), and an empty VEC's v is NULL. */
void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/*
 * Large arrays straight from the kernel: zeroed, grown in place or moved
 * by remapping (never copied, so never touched twice), and backed by huge
 * pages where the kernel allows it (2 MB a fault, not 4 KB). For arrays
 * that grow to megabytes; len is what was asked for, and big_free and
 * big_realloc take the same len back. Out of memory is fatal, as xmalloc.
 */
void *big_alloc(size_t len);
void *big_realloc(void *p, size_t old_len, size_t new_len);
void big_free(void *p, size_t len);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/*
 * struct sbuf: growable NUL-terminated string.
 * Invariants: buf is never NULL and always NUL-terminated; initialise with
 * SBUF_INIT; sbuf_detach() is the only way to take ownership of buf.
 */
struct sbuf {
	char *buf;
	size_t len, cap;
};
extern char sbuf_empty_[];
#define SBUF_INIT { sbuf_empty_, 0, 0 }

void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t n);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) CPROF_PRINTF(2, 3);
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) CPROF_PRINTF(2, 0);
void sbuf_reset(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb); /* caller frees */

/* VEC(T): growable array. Elements live in .v[0 .. n). Free with vec_release. */
#define VEC(T) struct { T *v; size_t n, cap; }
void vec_grow_(void **v, size_t *cap, size_t need, size_t elem);
/* (The check inline: a push is often in a hot loop, and rarely grows.) */
#define vec_reserve(vec, need) \
	((size_t)(need) <= (vec)->cap ? (void)0 : vec_grow_((void **)&(vec)->v, &(vec)->cap, (need), sizeof *(vec)->v))
#define vec_push(vec, x) (vec_reserve((vec), (vec)->n + 1), (vec)->v[(vec)->n++] = (x))
#define vec_release(vec) (free((vec)->v), (vec)->v = NULL, (vec)->n = (vec)->cap = 0)

/*
 * struct hashidx: an open-addressing index over items stored elsewhere,
 * usually a VEC, named by their index (uint32_t). The index keeps only
 * the item numbers (slot = item + 1, 0 is empty; linear probing, a power
 * of two slots, at most half full); each user hashes and compares its own
 * items, so one index serves strings, frames, stacks and addresses alike.
 * A zeroed struct (or HASHIDX_INIT) is an empty index.
 *
 * Looking up, then adding what was not found:
 *
 *	size_t pos;
 *	for (uint32_t it = hashidx_first(ix, h, &pos); it != HASHIDX_NONE; it = hashidx_next(ix, &pos))
 *		if (same(&items.v[it], key))
 *			return it;
 *	hashidx_reserve(ix, item_hash, ctx);  (may rehash: call before adding)
 *	vec_push(&items, key);
 *	hashidx_put(ix, h, (uint32_t)items.n - 1);
 *
 * Items are never removed. hash(ctx, item) must give the hash the item
 * was put with; it is called only while the index grows.
 */
struct hashidx {
	uint32_t *slot;
	size_t cap, count; /* slots; items in the index */
};
#define HASHIDX_INIT { NULL, 0, 0 }
#define HASHIDX_NONE UINT32_MAX
typedef uint64_t hashidx_hash_fn(const void *ctx, uint32_t item);

/* The first item on h's probe chain, or HASHIDX_NONE; *pos is the cursor. */
static inline uint32_t hashidx_first(const struct hashidx *ix, uint64_t h, size_t *pos)
{
	if (!ix->cap)
		return HASHIDX_NONE;
	*pos = (size_t)h & (ix->cap - 1);
	return ix->slot[*pos] - 1; /* an empty slot (0) gives HASHIDX_NONE */
}
/* The next item on the chain, or HASHIDX_NONE at its end. */
static inline uint32_t hashidx_next(const struct hashidx *ix, size_t *pos)
{
	*pos = (*pos + 1) & (ix->cap - 1);
	return ix->slot[*pos] - 1;
}
void hashidx_grow_(struct hashidx *ix, size_t items, hashidx_hash_fn *hash, const void *ctx);
/* Make room for one more item: when that would fill more than half the
 * slots, double them (1024 at first) and put the items back. */
static inline void hashidx_reserve(struct hashidx *ix, hashidx_hash_fn *hash, const void *ctx)
{
	if ((ix->count + 1) * 2 > ix->cap)
		hashidx_grow_(ix, ix->count + 1, hash, ctx);
}
/* Add item with hash h; room was made with hashidx_reserve and the caller
 * knows it is not there yet (an item added twice is found twice). */
static inline void hashidx_put(struct hashidx *ix, uint64_t h, uint32_t item)
{
	size_t pos = (size_t)h & (ix->cap - 1);
	while (ix->slot[pos])
		pos = (pos + 1) & (ix->cap - 1);
	ix->slot[pos] = item + 1;
	ix->count++;
}
/* Empty the index and size it for items without growing (hashidx_reserve
 * then never rehashes, so hash may change meaning between items). */
void hashidx_presize(struct hashidx *ix, size_t items);
/* Index items 0 .. n-1 afresh, e.g. a table that was read from a file. */
void hashidx_build(struct hashidx *ix, uint32_t n, hashidx_hash_fn *hash, const void *ctx);
/* Free the slots; the index is empty again. */
void hashidx_release(struct hashidx *ix);

/*
 * struct hashtab: the same open addressing, with each item's 32-bit hash
 * kept in its slot beside it (slot = hash << 32 | (item + 1), 0 is empty).
 * A probe passes over other items without reading them, which matters when
 * the items are many and scattered (a flame graph's frames): one cache
 * line of slots instead of one per item tried. Growing needs no callback,
 * since the hashes are in the slots. The hash is all the key the index
 * knows: callers compare their own items on a match, as with hashidx.
 *
 *	size_t pos;
 *	for (uint32_t it = hashtab_first(t, h, &pos); it != HASHIDX_NONE; it = hashtab_next(t, h, &pos))
 *		if (same(&items.v[it], key))
 *			return it;
 *	vec_push(&items, key);
 *	hashtab_put(t, h, (uint32_t)items.n - 1);
 */
struct hashtab {
	uint64_t *slot;
	size_t cap, count; /* slots (a power of two, at most 3/4 full); items */
};
#define HASHTAB_INIT { NULL, 0, 0 }

/* From *pos on, the first item put with hash h, or HASHIDX_NONE. */
static inline uint32_t hashtab_scan_(const struct hashtab *t, uint32_t h, size_t *pos)
{
	for (size_t mask = t->cap - 1;; *pos = (*pos + 1) & mask) {
		uint64_t s = t->slot[*pos];
		if (!s)
			return HASHIDX_NONE;
		if ((uint32_t)(s >> 32) == h)
			return (uint32_t)s - 1;
	}
}
/* The first item put with hash h, or HASHIDX_NONE; *pos is the cursor. */
static inline uint32_t hashtab_first(const struct hashtab *t, uint32_t h, size_t *pos)
{
	if (!t->cap)
		return HASHIDX_NONE;
	*pos = h & (t->cap - 1);
	return hashtab_scan_(t, h, pos);
}
/* The next item put with hash h, or HASHIDX_NONE. */
static inline uint32_t hashtab_next(const struct hashtab *t, uint32_t h, size_t *pos)
{
	*pos = (*pos + 1) & (t->cap - 1);
	return hashtab_scan_(t, h, pos);
}
/* Ask for h's first slot to be brought into the cache, ahead of a lookup. */
static inline void hashtab_prefetch(const struct hashtab *t, uint32_t h)
{
	if (t->cap)
		__builtin_prefetch(&t->slot[h & (t->cap - 1)]);
}
void hashtab_grow_(struct hashtab *t);
/* Add item (not UINT32_MAX) with hash h; the caller knows it is not there
 * yet. Doubles the slots (1024 at first) when they would be 3/4 full:
 * fuller than hashidx, since a probe compares the hashes in the slots,
 * most of a chain in one cache line, and never reads an item to do so. */
static inline void hashtab_put(struct hashtab *t, uint32_t h, uint32_t item)
{
	if ((t->count + 1) * 4 > t->cap * 3)
		hashtab_grow_(t);
	size_t mask = t->cap - 1, pos = h & mask;
	while (t->slot[pos])
		pos = (pos + 1) & mask;
	t->slot[pos] = (uint64_t)h << 32 | (item + 1);
	t->count++;
}
/* Free the slots; the index is empty again. */
/* Room for items in all without growing (an index about to be filled
 * whose size is known or guessed: no rehashing, no tables left behind). */
void hashtab_reserve(struct hashtab *t, size_t items);
void hashtab_release(struct hashtab *t);

/*
 * The string interner: each distinct string is stored once in a string
 * table, blob, where strings lie back to back with their NULs, and is
 * named by its offset there (what the data file and the symbol cache
 * write). idx indexes the offsets. The caller owns both and frees them
 * with sbuf_release and hashidx_release. Offsets stay valid as the table
 * grows; pointers into blob do not (a caller that hands out pointers keeps
 * its strings elsewhere and uses a hashidx directly).
 */
/* The offset of s in blob, adding it at the end if it is not there. */
uint32_t str_intern(struct sbuf *blob, struct hashidx *idx, const char *s);
/* The offset of s, or HASHIDX_NONE if it is not in the table. */
uint32_t str_find(const struct sbuf *blob, const struct hashidx *idx, const char *s);
/* Index the strings of blob from offset from on (a table filled in bulk):
 * the first copy of each non-empty string; later copies and "" are left
 * out, so copies neither share one long probe chain nor size the index. */
void str_index(const struct sbuf *blob, struct hashidx *idx, size_t from);

/*
 * The whole-file reader. Both append to *sb (which stays NUL-terminated)
 * and return 0 or -errno; on failure *err gets one line naming the file:
 * "cannot open 'NAME': REASON", "cannot read 'NAME': REASON", or, past
 * max bytes (0: no limit), "'NAME': larger than MAX bytes" with EFBIG.
 * Regular files are read in one go, sized from their length; pipes and
 * /proc files (which say they are empty) in growing steps.
 */
int file_read(const char *path, struct sbuf *sb, size_t max, struct cprof_err *err) CPROF_WUR;
/* The rest of an open stream; name is what the error says. */
int stream_read(FILE *fp, const char *name, struct sbuf *sb, size_t max, struct cprof_err *err) CPROF_WUR;
/* Read exactly n bytes of fd at off (pread, again after EINTR and short
 * reads): 0, -ENODATA when the file ends first, or -errno. */
int pread_full(int fd, void *buf, size_t n, uint64_t off) CPROF_WUR;

/* Little-endian load/store, so the data file never depends on the host. */
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t get_le64(const uint8_t *p) { return get_le32(p) | ((uint64_t)get_le32(p + 4) << 32); }

/* 64-bit FNV-1a, used for interning and stable colours. */
static inline uint64_t hash_bytes(const void *data, size_t n, uint64_t h)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define HASH_SEED 0xcbf29ce484222325ULL

/*
 * The first c in [p, end), or end: memchr for short spans (a folded
 * frame's ';' some 20 bytes on, where a call costs more than the search).
 * Eight bytes at a time: xor with c in every byte, then the exact test for
 * zero bytes, whose adds carry nothing from one byte to the next, so no
 * byte is flagged falsely on either byte order.
 */
static inline const char *find_byte(const char *p, const char *end, char c)
{
	const uint64_t lows = 0x7f7f7f7f7f7f7f7fULL, cs = 0x0101010101010101ULL * (unsigned char)c;
	for (; end - p >= 8; p += 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		w ^= cs;
		uint64_t z = ~(((w & lows) + lows) | w | lows); /* 0x80 in each zero byte */
		if (z) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(z) >> 3);
#else
			return p + (__builtin_clzll(z) >> 3);
#endif
		}
	}
	while (p < end && *p != c)
		p++;
	return p;
}

/*
 * hash_words: a 32-bit hash of a short text by 8-byte words, the last one
 * zero-padded, for in-memory indexes of labels (nothing written or drawn
 * may depend on it). find_byte_hash computes the same on its way through
 * the text, so that a folded frame is read once.
 */
#define HASH_WORDS_SEED 0x9e3779b97f4a7c15ULL
static inline uint64_t hash_words_step_(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}
static inline uint32_t hash_words_end_(uint64_t h, size_t len)
{
	h = (h ^ len) * 0x94d049bb133111ebULL;
	return (uint32_t)(h ^ (h >> 29));
}
static inline uint32_t hash_words(const char *s, size_t len)
{
	uint64_t h = HASH_WORDS_SEED, w;
	size_t i = 0;
	for (; len - i >= 8; i += 8) {
		__builtin_memcpy(&w, s + i, 8);
		h = hash_words_step_(h, w);
	}
	if (i < len) {
		w = 0;
		__builtin_memcpy(&w, s + i, len - i); /* the first bytes in memory, either byte order */
		h = hash_words_step_(h, w);
	}
	return hash_words_end_(h, len);
}

/* find_byte, and *hash = hash_words of [p, the byte found or end). */
static inline const char *find_byte_hash(const char *p, const char *end, char c, uint32_t *hash)
{
	const uint64_t lows = 0x7f7f7f7f7f7f7f7fULL, cs = 0x0101010101010101ULL * (unsigned char)c;
	const char *s = p;
	uint64_t h = HASH_WORDS_SEED;
	for (; end - p >= 8; p += 8) {
		uint64_t w, x;
		__builtin_memcpy(&w, p, 8);
		x = w ^ cs;
		uint64_t z = ~(((x & lows) + lows) | x | lows); /* as in find_byte */
		if (z) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			unsigned k = (unsigned)__builtin_ctzll(z) >> 3;
			uint64_t keep = (1ULL << (8 * k)) - 1; /* the k bytes before c */
#else
			unsigned k = (unsigned)__builtin_clzll(z) >> 3;
			uint64_t keep = k ? ~0ULL << (64 - 8 * k) : 0;
#endif
			if (k)
				h = hash_words_step_(h, w & keep);
			*hash = hash_words_end_(h, (size_t)(p + k - s));
			return p + k;
		}
		h = hash_words_step_(h, w);
	}
	const char *q = p;
	while (q < end && *q != c)
		q++;
	if (q > p) {
		uint64_t w = 0;
		__builtin_memcpy(&w, p, (size_t)(q - p));
		h = hash_words_step_(h, w);
	}
	*hash = hash_words_end_(h, (size_t)(q - s));
	return q;
}

/* A hash for in-memory indexes over long keys (labels, folded frames):
 * eight bytes a step instead of one. Nothing that is written or drawn may
 * depend on its value; colours and files use hash_bytes. */
static inline uint64_t hash_mem(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	for (; n >= 8; p += 8, n -= 8) {
		__builtin_memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

/* The length (1 to 4) of the well-formed UTF-8 sequence at s, of at most
 * len bytes, or 0 if none starts there: a stray continuation byte, an
 * overlong form, a surrogate, past U+10FFFF, or cut short. */
size_t utf8_seq_len(const char *s, size_t len);

/* Parse helpers shared by the commands; they return -EINVAL on junk. */
int parse_u64(const char *s, uint64_t *ret) CPROF_WUR;
int parse_double(const char *s, double *ret) CPROF_WUR;
/* A duration: "10ms", "500us", "2s", "1500ns", a bare number of ns; -ERANGE
 * past 2^64 ns. */
int parse_duration_ns(const char *s, uint64_t *ret) CPROF_WUR;

/* Monotonic time in ns (CLOCK_MONOTONIC, the clock the samples use). */
uint64_t now_ns(void);

/* ---- helper libraries (helperlib.c) ---- */
/* The multiarch folder of an installed tree (lib/<multiarch>/cprof). */
#ifndef CPROF_MULTIARCH
#define CPROF_MULTIARCH "x86_64-linux-gnu"
#endif
/* The real path (caller frees) of the helper library name: $env if that is
 * set (NULL if it is not readable), else the first readable of: beside the
 * cprof binary, in its subdir (the build tree's place; may be NULL), in
 * ../lib/cprof, ../lib/CPROF_MULTIARCH/cprof and ../lib64/cprof from it,
 * and in installed_dir (may be NULL). NULL if none is. */
char *helper_lib_find(const char *name, const char *env, const char *subdir, const char *installed_dir);

#endif
