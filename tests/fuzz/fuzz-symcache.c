/*
 * fuzz-symcache.c - fuzzing the reader of symbol cache files (symcache.c):
 * anything may be in a file under ~/.cache. Each input is parsed as it is,
 * and again with its checksum made right, so mutations reach the checks
 * behind it. What parses must be usable: every entry found by its own key,
 * every frame's strings inside the string table, every kept function
 * found by its own addresses with its rows, inlines, targets and bytes in
 * bounds, libdwfl's address-to-unit runs in order, and written again by
 * the writer it must parse to the same entries, functions and runs. fuzz_mutate() mutates valid files of its own
 * making (the corpus holds some too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/symbol/symbol-internal.h"
#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "fuzz: %s\n", #x); abort(); } } while (0)

static void check_string(const struct symcache_view *v, const char *s)
{
	CHECK(s >= v->strings && s < v->strings + v->strings_len);
	CHECK(memchr(s, 0, (size_t)(v->strings + v->strings_len - s)) != NULL);
}

static void use(const uint8_t *buf, size_t len)
{
	struct symcache_view v;
	if (symcache_parse(&v, buf, len, false) != 0)
		return;
	struct symcache_writer w = { 0 };
	for (uint32_t i = 0; i < v.nentries; i++) {
		uint32_t first, n, f2, n2;
		uint64_t key = symcache_entry(&v, i, &first, &n);
		CHECK(n >= 1 && first + (uint64_t)n <= v.nframes);
		CHECK(symcache_find(&v, key, &f2, &n2) && f2 == first && n2 == n);
		struct symcache_rec recs[256];
		CHECK(n <= 256);
		for (uint32_t k = 0; k < n; k++) {
			symcache_frame(&v, first + k, &recs[k]);
			check_string(&v, recs[k].func);
			check_string(&v, recs[k].file);
			if (recs[k].full)
				check_string(&v, recs[k].full);
			CHECK(!(recs[k].flags & ~(SYMF_INLINED | SYMF_UNKNOWN)));
		}
		CHECK(symcache_writer_add(&w, key, recs, n) == 0);
		if (key != UINT64_MAX)
			(void)symcache_find(&v, key + 1, &f2, &n2);
	}
	/* Kept functions: found by their first and last byte, everything in
	 * bounds, and taken again by the writer. */
	for (uint32_t i = 0; i < v.ncode; i++) {
		struct sym_code c;
		symcache_code(&v, i, &c);
		uint32_t at;
		CHECK(c.len > 0 && c.from_cache && (c.has_targets || !c.targets.n));
		CHECK(symcache_find_code(&v, c.start, &at) && at == i);
		CHECK(symcache_find_code(&v, c.start + c.len - 1, &at) && at >= i);
		check_string(&v, c.func);
		check_string(&v, c.comp_dir);
		for (size_t k = 0; k < c.lines.n; k++) {
			CHECK(c.lines.v[k].off < c.len);
			check_string(&v, c.lines.v[k].file);
		}
		for (size_t k = 0; k < c.inlines.n; k++) {
			CHECK(c.inlines.v[k].lo < c.inlines.v[k].hi && c.inlines.v[k].hi <= c.len);
			check_string(&v, c.inlines.v[k].func);
			check_string(&v, c.inlines.v[k].file);
		}
		for (size_t k = 0; k < c.targets.n; k++)
			check_string(&v, c.targets.v[k].name);
		volatile uint8_t sum = 0; /* every byte readable */
		for (uint32_t k = 0; k < c.len; k++)
			sum ^= c.bytes[k];
		(void)sum;
		/* Addresses inside it answered by an entry at or before them. */
		for (uint32_t k = 0; k < c.len && k < 64; k++) {
			uint32_t f, fn;
			if (symcache_find_within(&v, c.start + k, &f, &fn))
				CHECK(fn >= 1 && f + (uint64_t)fn <= v.nframes);
		}
		CHECK(symcache_writer_add_code(&w, &c) == 0);
		sym_code_release(&c);
	}
	/* The address-to-unit runs: by start, and taken again by the writer. */
	struct func_cu_run *runs = symcache_runs(&v);
	for (uint32_t i = 1; i < v.nruns; i++)
		CHECK(runs[i].start >= runs[i - 1].start);
	symcache_writer_set_runs(&w, runs, v.nruns, v.runs_end);
	CHECK(w.nruns == v.nruns);
	/* Written again, it reads back the same. */
	struct sbuf out = SBUF_INIT;
	CHECK(symcache_writer_finish(&w, v.key, v.key_len, &out) == 0);
	struct symcache_view again;
	CHECK(symcache_parse(&again, (const uint8_t *)out.buf, out.len, false) == 0);
	CHECK(again.nentries == v.nentries && again.key_len == v.key_len && memcmp(again.key, v.key, v.key_len) == 0);
	CHECK(again.ncode == v.ncode && again.nlines == v.nlines && again.ninlines == v.ninlines &&
	      again.ntargets == v.ntargets && again.bytes_len == v.bytes_len &&
	      memcmp(again.bytes, v.bytes, v.bytes_len) == 0);
	CHECK(again.nruns == v.nruns && (!v.nruns || again.runs_end == v.runs_end));
	struct func_cu_run *runs2 = symcache_runs(&again);
	CHECK(!v.nruns || memcmp(runs, runs2, v.nruns * sizeof *runs) == 0);
	free(runs2);
	free(runs);
	for (uint32_t i = 0; i < v.ncode; i++) {
		struct sym_code a, b;
		symcache_code(&v, i, &a);
		symcache_code(&again, i, &b);
		CHECK(a.addrs_cached == b.addrs_cached && a.has_targets == b.has_targets && a.start == b.start);
		sym_code_release(&a);
		sym_code_release(&b);
	}
	for (uint32_t i = 0; i < v.nentries; i++) {
		uint32_t f1, n1, f2, n2;
		CHECK(symcache_entry(&v, i, &f1, &n1) == symcache_entry(&again, i, &f2, &n2) && n1 == n2);
		for (uint32_t k = 0; k < n1; k++) {
			struct symcache_rec a, b;
			symcache_frame(&v, f1 + k, &a);
			symcache_frame(&again, f2 + k, &b);
			CHECK(strcmp(a.func, b.func) == 0 && strcmp(a.file, b.file) == 0 && a.line == b.line &&
			      a.flags == b.flags && !a.full == !b.full && (!a.full || strcmp(a.full, b.full) == 0));
		}
	}
	sbuf_release(&out);
	symcache_writer_release(&w);
}

/* The checksum is the file's last 8 bytes. */
static void fix_checksum(uint8_t *buf, size_t len)
{
	if (len >= 8)
		put_le64(buf + len - 8, sym_checksum(HASH_SEED, buf, len - 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	use(data, size);
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_checksum(copy, size);
	use(copy, size);
	free(copy);
	return 0;
}

/* A valid file: n entries of a few frames with shared strings. */
static void seed(struct sbuf *out, uint32_t n, uint32_t salt)
{
	static const char *const names[] = { "main", "spin", "std::vector<int>::push_back", "", "[unknown]",
					     "/usr/src/work.h", "core::fmt::write::h0123456789abcdef" };
	struct symcache_writer w = { 0 };
	for (uint32_t i = 0; i < n; i++) {
		struct symcache_rec r[3];
		uint32_t k = 1 + (i + salt) % 3;
		for (uint32_t j = 0; j < k; j++)
			r[j] = (struct symcache_rec){ names[(i + j) % 7], j == 1 ? names[6] : NULL, names[(i * 3 + j) % 7],
						      i * 10 + j, j + 1 < k ? SYMF_INLINED : (i % 5 == 0 ? SYMF_UNKNOWN : 0) };
		if (symcache_writer_add(&w, (uint64_t)i * 0x31 + salt, r, k) != 0)
			abort();
	}
	/* Kept functions: one per 8 entries, with rows, inlines and targets,
	 * among the entries (answering for the addresses between them). */
	for (uint32_t i = 0; i < (n + 7) / 8; i++) {
		static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xe8, 0, 0, 0, 0, 0x5d, 0xc3 };
		struct sym_code c = { .func = names[i % 7], .start = 0x40 + (uint64_t)i * 0x40 + salt, .len = sizeof code,
				      .machine = 62, .build_id_size = 20, .comp_dir = names[(i + 3) % 7],
				      .addrs_cached = i % 2 == 0, .has_targets = i % 3 != 1 };
		memset(c.build_id, (int)(i + salt), sizeof c.build_id);
		c.bytes = xmalloc(sizeof code);
		memcpy(c.bytes, code, sizeof code);
		for (uint32_t k = 0; k < 1 + i % 3; k++)
			vec_push(&c.lines, ((struct sym_code_line){ k * 4, names[(i + k) % 7], 10 + k }));
		for (uint32_t k = 0; k < i % 3; k++)
			vec_push(&c.inlines, ((struct sym_code_inline){ 4, 8 + k, names[k], names[6], 20 + k, 1 + k }));
		for (uint32_t k = 0; k < i % 4; k++)
			vec_push(&c.targets, ((struct sym_code_target){ 0x9000 + k * 16, names[(k + 2) % 7] }));
		if (symcache_writer_add_code(&w, &c) != 0)
			abort();
		sym_code_release(&c);
	}
	/* Address-to-unit runs, some starting together (libdw's sort allows it). */
	struct func_cu_run runs[16];
	for (uint32_t i = 0; i < n % 16; i++)
		runs[i] = (struct func_cu_run){ 0x1000 + (uint64_t)(i / 2) * 0x80 + salt, (uint64_t)i * 0x2c + 11 };
	symcache_writer_set_runs(&w, runs, n % 16, 0x1000 + (uint64_t)(n % 16) * 0x40 + salt);
	static const char key[] = "cprof test; libdw 0.188; \x14 build id and files";
	if (symcache_writer_finish(&w, key, sizeof key, out) != 0)
		abort();
	symcache_writer_release(&w);
}

void fuzz_mutate(int rounds, const struct fuzz_input *inputs, size_t n)
{
	(void)inputs;
	(void)n;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct sbuf seeds[3] = { SBUF_INIT, SBUF_INIT, SBUF_INIT };
	seed(&seeds[0], 0, 0);
	seed(&seeds[1], 3, 1);
	seed(&seeds[2], 40, 7);
	for (int r = 0; r < rounds; r++) {
		const struct sbuf *s = &seeds[r % 3];
		size_t len = s->len;
		uint8_t *buf = malloc(len + 64);
		if (!buf)
			abort();
		memcpy(buf, s->buf, len);
		int edits = 1 + r % 4;
		for (int e = 0; e < edits && len > 0; e++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x >> 16) % len;
			switch ((x >> 8) % 5) {
			case 0: buf[at] ^= (uint8_t)(1u << (x % 8)); break;         /* a bit */
			case 1: buf[at] = (uint8_t)x; break;                        /* a byte */
			case 2: if (at + 4 <= len) put_le32(buf + at, (uint32_t)(x >> 32)); break; /* a count or offset */
			case 3: len = at; break;                                    /* cut */
			default: if (len + 8 <= s->len + 64) { memset(buf + len, (int)x, 8); len += 8; } /* grown */
			}
		}
		if (r % 2 == 0)
			fix_checksum(buf, len);
		/* An exact-size copy, so ASan sees a read past the end. */
		uint8_t *exact = malloc(len ? len : 1);
		if (!exact)
			abort();
		memcpy(exact, buf, len);
		use(exact, len);
		free(exact);
		free(buf);
	}
	for (int i = 0; i < 3; i++)
		sbuf_release(&seeds[i]);
}
