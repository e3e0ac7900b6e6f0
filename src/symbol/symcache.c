/*
 * symcache.c - what the finishing pass learned about a binary, kept on
 * disk so the next recording of the same program does not learn it again.
 *
 * Symbolizing a few dozen addresses of libc costs ~40 ms, nearly all of it
 * libdw inflating the zlib-compressed sections of libc's separate debug
 * file, which it does whole when it opens the file. A short recording pays
 * that every time, for the same answers. So each binary gets a cache file
 * of the addresses resolved in it (the frames of each: function, full
 * name, source file and line, inline chain), valid for exactly one
 * identity: this cprof build and libdw version, the binary's build id and
 * file (device, inode, size, mtime), and the debug file this machine would
 * read for it (its path and the same four), or none. Installing a debug
 * package, rebuilding the program or upgrading cprof changes the identity
 * and the file is rebuilt; an address the file does not hold is resolved
 * through libdw as before and added to it.
 *
 * The file is read whole and checked before any of it is used: magic,
 * sizes that add up, a checksum over all of it, every entry, frame and
 * string in bounds, entries sorted. A file that fails any check is ignored
 * and written anew; it is never partly trusted. Writes go through
 * tmpfile.c (a temporary file renamed into place), so readers never see a
 * half-written file. Also here: the cache folder, shared with kallsyms.c.
 *
 * One file: the cache file's writer and its checking reader must agree byte
 * for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include "cprof/tmpfile.h"
#include "symbol-internal.h"

/* File layout, little-endian:
 *   head: magic[8], key_len, nentries, nframes, strings_len, ncode,
 *         nlines, ninlines, ntargets, bytes_len, nruns (u32 each)
 *   key[key_len]
 *   entries[nentries]: address key (u64), first frame, frame count (u32)
 *   frames[nframes]: func, full, file (string offsets; full may be
 *         SYMCACHE_NONE), line, flags (u32 each)
 *   code[ncode]: kept functions, by increasing start: start (u64), len,
 *         func, comp_dir (u32), machine (u16), build_id_size (u8), flags
 *         (u8: CODE_*), build_id[20], then the first and count (u32 each) of its
 *         bytes, line rows, inline ranges and targets. Each function's
 *         share of those four arrays follows the one before it's, and
 *         together they use them whole, so each is read once.
 *   lines[nlines]: offset, file, line (u32 each); offsets increasing
 *   inlines[ninlines]: lo, hi, func, file, line, depth (u32 each);
 *         by lo, then depth
 *   targets[ntargets]: address (u64), name (u32); by address
 *   runs[nruns]: start, unit (u64 each): libdwfl's address-to-unit table
 *         (funcindex.c), by start; then, if nruns > 0, its end (u64)
 *   strings[strings_len]: NUL-terminated strings, the last byte NUL
 *   bytes[bytes_len]: the kept functions' code
 *   checksum (u64) of everything before it */
#define MAGIC "CPROFSC3"
#define HEAD_SIZE 48
#define ENTRY_SIZE 16
#define FRAME_SIZE 20
#define CODE_SIZE 72
#define LINE_SIZE 12
#define INLINE_SIZE 24
#define TARGET_SIZE 12
#define RUN_SIZE 16
/* A kept function's flags: entries answer for every one of its addresses
 * (symcache_find_within()); the targets it calls were not listed. */
#define CODE_ALL 1u
#define CODE_NO_TARGETS 2u
/* Kept functions are whole ones up to capture's size for those. */
#define MAX_CODE_LEN (1u << 20)
#define MAX_KEY 4096
#define MAX_FILE ((size_t)64 << 20)
/* Cache files are touched for pruning (by last use) when their mtime is a
 * day old: a touch moves the ctime, which their stamps hold. */
#define TOUCH_AFTER_S (24 * 60 * 60)
/* The frames of one address: an inline chain and the function itself. */
#define MAX_ENTRY_FRAMES 256
#define ALLOWED_FLAGS (SYMF_INLINED | SYMF_UNKNOWN)

static inline uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Four independent lanes of a word-at-a-time FNV-like step: byte-wise
 * FNV-1a over the 5 MB kallsyms cache cost 10 ms, one lane 3 ms. Each step
 * is a bijection of the lane's state, so one changed word always changes
 * the result. lanes_* take the 32-byte blocks, which pieces of a file may
 * bring one after another; sum_end the rest (fewer than 32 bytes). */
struct sum {
	uint64_t h, l[4];
	bool any; /* a block was taken */
};

static void sum_init(struct sum *s, uint64_t h)
{
	*s = (struct sum){ h, { h, h ^ 0x9e3779b97f4a7c15ULL, h ^ 0xc2b2ae3d27d4eb4fULL, h ^ 0x165667b19e3779f9ULL },
			   false };
}

static void sum_blocks(struct sum *s, const uint8_t *p, size_t n)
{
	for (; n >= 32; p += 32, n -= 32) {
		uint64_t w[4];
		memcpy(w, p, 32);
		for (int i = 0; i < 4; i++)
			s->l[i] = mix(s->l[i], w[i]);
		s->any = true;
	}
}

static uint64_t sum_end(const struct sum *s, const uint8_t *p, size_t n)
{
	uint64_t h = s->h;
	if (s->any)
		h = mix(mix(mix(mix(h, s->l[0]), s->l[1]), s->l[2]), s->l[3]);
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = mix(h, w);
	}
	return hash_bytes(p, n, h);
}

/* The checksum of pieces taken one after another, as sym_checksum() of
 * their concatenation: the bytes of a block cut between two pieces wait in
 * carry. sym_checksum(), the file read in pieces and the file written from
 * its sections all go through it. */
struct sum_stream {
	struct sum s;
	uint8_t carry[32];
	size_t nc;
};

static void stream_init(struct sum_stream *st, uint64_t h)
{
	sum_init(&st->s, h);
	st->nc = 0;
}

static void stream_add(struct sum_stream *st, const void *data, size_t n)
{
	const uint8_t *p = data;
	if (st->nc) {
		size_t take = 32 - st->nc < n ? 32 - st->nc : n;
		memcpy(st->carry + st->nc, p, take);
		st->nc += take;
		p += take;
		n -= take;
		if (st->nc < 32)
			return;
		sum_blocks(&st->s, st->carry, 32);
		st->nc = 0;
	}
	size_t blocks = n / 32 * 32;
	sum_blocks(&st->s, p, blocks);
	memcpy(st->carry, p + blocks, n - blocks);
	st->nc = n - blocks;
}

static uint64_t stream_end(const struct sum_stream *st)
{
	return sum_end(&st->s, st->carry, st->nc);
}

uint64_t sym_checksum(uint64_t h, const void *data, size_t n)
{
	struct sum_stream st;
	stream_init(&st, h);
	stream_add(&st, data, n);
	return stream_end(&st);
}

int sym_checksum_fd(int fd, uint64_t off, uint64_t n, uint64_t h, uint64_t *ret)
{
	enum { PIECE = 1 << 20 };
	uint8_t *buf = xmalloc(PIECE);
	struct sum_stream st;
	stream_init(&st, h);
	int r = 0;
	while (n && r == 0) {
		size_t len = n < PIECE ? (size_t)n : PIECE;
		if ((r = pread_full(fd, buf, len, off)) == 0) {
			stream_add(&st, buf, len);
			off += len;
			n -= len;
		}
	}
	if (!r)
		*ret = stream_end(&st);
	free(buf);
	return r;
}

/* base's file_read, in the shape the symbol code wants: a buffer to free,
 * or NULL with errno set. */
char *sym_slurp(const char *path, size_t *len)
{
	struct sbuf sb = SBUF_INIT;
	int r = file_read(path, &sb, 0, NULL);
	if (r < 0) {
		sbuf_release(&sb);
		errno = -r;
		return NULL;
	}
	*len = sb.len;
	return sbuf_detach(&sb);
}

/* Bring the mtime of the file on fd, described by *st, up to now if it is
 * a day old (the cache folder is pruned by last use; a touch moves the
 * ctime its stamp holds, so not more often); *st then says so. False if
 * its stat cannot be read again. */
static bool touch_daily(int fd, struct stat *st)
{
	struct timespec now;
	return !(clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec - st->st_mtim.tv_sec >= TOUCH_AFTER_S &&
		 futimens(fd, NULL) == 0 && fstat(fd, st) != 0);
}

void *sym_map_file(const char *path, size_t *len, bool touch, bool *vouched, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat sb;
	if (!st)
		st = &sb;
	void *m = MAP_FAILED;
	int e = EINVAL; /* not a regular file, empty, or too big */
	bool v = false;
	if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_size > 0 && (uint64_t)st->st_size <= MAX_FILE) {
		if (touch && !touch_daily(fd, st)) /* first: it moves the ctime the stamp holds */
			goto out;
		v = vouched && sym_stamp_holds(path, st);
		m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE | (v ? 0 : MAP_POPULATE), fd, 0);
		e = errno;
	}
out:
	close(fd); /* the mapping keeps the file */
	if (m == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	*len = (size_t)st->st_size;
	if (vouched)
		*vouched = v;
	return m;
}

char *sym_cache_path(const char *name)
{
	const char *dir = getenv("CPROF_CACHE_DIR");
	if (dir && !*dir)
		return NULL; /* set but empty: no cache */
	struct sbuf sb = SBUF_INIT;
	if (dir) {
		sbuf_adds(&sb, dir);
	} else {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		if (xdg && *xdg == '/')
			sbuf_addf(&sb, "%s/cprof", xdg);
		else if (home && *home == '/')
			sbuf_addf(&sb, "%s/.cache/cprof", home);
		else
			return NULL;
	}
	sbuf_addf(&sb, "/%s", name);
	return sbuf_detach(&sb);
}

/* Create the folders above path, each 0700 (~/.cache may not exist yet). */
static int make_parents(const char *path)
{
	char *dir = xstrdup(path);
	int r = 0;
	for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	free(dir);
	return r;
}

/* The two finishing threads write cache files at the same time (kallsyms
 * in one, a decompressed debug file in the other), and tmpfile.c is not
 * made for that: it sets the umask to read it, and keeps its list of
 * pending files unlocked. So cache files are written one at a time. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static int cache_write(const char *path, const struct iovec *iov, int n, bool sync)
{
	struct tmpfile t;
	struct cprof_err err;
	int r = -1;
	(void)make_parents(path); /* if that failed, so does the open */
	pthread_mutex_lock(&write_lock);
	/* Mode 0600: cached paths and kernel addresses are their owner's. */
	if (tmpfile_open_mode(&t, path, 0600, &err) == 0) {
		bool ok = true;
		for (int i = 0; i < n && ok; i++)
			ok = fwrite(iov[i].iov_base, 1, iov[i].iov_len, t.fp) == iov[i].iov_len;
		if (ok && (!sync || (fflush(t.fp) == 0 && fsync(fileno(t.fp)) == 0)) &&
		    tmpfile_commit_cache(&t, &err) == 0)
			r = 0;
		else
			tmpfile_abort(&t);
	}
	pthread_mutex_unlock(&write_lock);
	return r;
}

int sym_cache_write(const char *path, const void *data, size_t len)
{
	struct iovec iov = { (void *)data, len };
	return cache_write(path, &iov, 1, false);
}

int sym_cache_write_synced(const char *path, const void *data, size_t len)
{
	struct iovec iov = { (void *)data, len };
	return cache_write(path, &iov, 1, true);
}

int sym_cache_write_pieces(const char *path, const struct iovec *iov, int n)
{
	return cache_write(path, iov, n, true);
}

/* ---- reading ---- */

/* The kept functions of v: each in bounds, in order, and each of their
 * arrays taken up in turn to the end (so every row is checked once). */
static bool parse_code(const struct symcache_view *v)
{
	uint64_t at_bytes = 0, at_line = 0, at_inline = 0, at_target = 0;
	uint32_t slen = v->strings_len;
	for (uint32_t i = 0; i < v->ncode; i++) {
		const uint8_t *c = v->code + (size_t)i * CODE_SIZE;
		uint64_t start = get_le64(c);
		uint32_t len = get_le32(c + 8);
		if (i && start <= get_le64(c - CODE_SIZE))
			return false;
		if (len == 0 || len > MAX_CODE_LEN || start > UINT64_MAX - len || get_le32(c + 12) >= slen ||
		    get_le32(c + 16) >= slen || c[22] > 20 || (c[23] & ~(CODE_ALL | CODE_NO_TARGETS)))
			return false;
		if (get_le32(c + 44) != at_bytes || get_le32(c + 48) != at_line || get_le32(c + 56) != at_inline ||
		    get_le32(c + 64) != at_target)
			return false;
		uint64_t nlines = get_le32(c + 52), ninl = get_le32(c + 60), ntg = get_le32(c + 68);
		if ((c[23] & CODE_NO_TARGETS) && ntg)
			return false;
		if (at_bytes + len > v->bytes_len || at_line + nlines > v->nlines || at_inline + ninl > v->ninlines ||
		    at_target + ntg > v->ntargets)
			return false;
		for (uint64_t k = at_line; k < at_line + nlines; k++) {
			const uint8_t *l = v->lines + k * LINE_SIZE;
			if (get_le32(l) >= len || get_le32(l + 4) >= slen || (k > at_line && get_le32(l) <= get_le32(l - LINE_SIZE)))
				return false;
		}
		for (uint64_t k = at_inline; k < at_inline + ninl; k++) {
			const uint8_t *n = v->inlines + k * INLINE_SIZE;
			uint32_t lo = get_le32(n), hi = get_le32(n + 4), depth = get_le32(n + 20);
			if (lo >= hi || hi > len || get_le32(n + 8) >= slen || get_le32(n + 12) >= slen || depth == 0)
				return false;
			if (k > at_inline) {
				uint32_t plo = get_le32(n - INLINE_SIZE), pdepth = get_le32(n - INLINE_SIZE + 20);
				if (lo < plo || (lo == plo && depth < pdepth))
					return false;
			}
		}
		for (uint64_t k = at_target; k < at_target + ntg; k++) {
			const uint8_t *t = v->targets + k * TARGET_SIZE;
			if (get_le32(t + 8) >= slen || (k > at_target && get_le64(t) < get_le64(t - TARGET_SIZE)))
				return false;
		}
		at_bytes += len;
		at_line += nlines;
		at_inline += ninl;
		at_target += ntg;
	}
	return at_bytes == v->bytes_len && at_line == v->nlines && at_inline == v->ninlines &&
	       at_target == v->ntargets;
}

/* The next n records of size bytes at *p (sizes already checked): where
 * they start, and *p past them. */
static const uint8_t *take(const uint8_t **p, uint64_t n, size_t size, uint32_t *count)
{
	const uint8_t *at = *p;
	*count = (uint32_t)n;
	*p += n * size;
	return at;
}

int symcache_parse(struct symcache_view *v, const uint8_t *buf, size_t len, bool vouched)
{
	memset(v, 0, sizeof *v);
	if (len < HEAD_SIZE + 8 || len > MAX_FILE || memcmp(buf, MAGIC, 8) != 0)
		return -EINVAL;
	uint64_t key_len = get_le32(buf + 8), nentries = get_le32(buf + 12), nframes = get_le32(buf + 16),
		 strings_len = get_le32(buf + 20), ncode = get_le32(buf + 24), nlines = get_le32(buf + 28),
		 ninlines = get_le32(buf + 32), ntargets = get_le32(buf + 36), bytes_len = get_le32(buf + 40),
		 nruns = get_le32(buf + 44);
	if (key_len > MAX_KEY || strings_len == 0)
		return -EINVAL;
	/* All counts are below 2^32: these sums cannot overflow. */
	uint64_t want = HEAD_SIZE + key_len + nentries * ENTRY_SIZE + nframes * FRAME_SIZE + ncode * CODE_SIZE +
			nlines * LINE_SIZE + ninlines * INLINE_SIZE + ntargets * TARGET_SIZE + nruns * RUN_SIZE +
			(nruns ? 8 : 0) + strings_len + bytes_len + 8;
	if (want != len)
		return -EINVAL;
	if (!vouched && get_le64(buf + len - 8) != sym_checksum(HASH_SEED, buf, len - 8))
		return -EINVAL;
	const uint8_t *p = buf + HEAD_SIZE;
	v->key = take(&p, key_len, 1, &v->key_len);
	v->entries = take(&p, nentries, ENTRY_SIZE, &v->nentries);
	v->frames = take(&p, nframes, FRAME_SIZE, &v->nframes);
	v->code = take(&p, ncode, CODE_SIZE, &v->ncode);
	v->lines = take(&p, nlines, LINE_SIZE, &v->nlines);
	v->inlines = take(&p, ninlines, INLINE_SIZE, &v->ninlines);
	v->targets = take(&p, ntargets, TARGET_SIZE, &v->ntargets);
	v->runs = take(&p, nruns, RUN_SIZE, &v->nruns);
	if (nruns)
		v->runs_end = get_le64(take(&p, 1, 8, &(uint32_t){ 0 }));
	v->strings = (const char *)take(&p, strings_len, 1, &v->strings_len);
	v->bytes = take(&p, bytes_len, 1, &v->bytes_len);
	if (v->strings[strings_len - 1] != 0)
		return -EINVAL;
	if (vouched)
		return 0;
	/* Every entry: sorted by key, frames in bounds; every frame: strings
	 * in bounds (the last byte is NUL, so each string ends inside). */
	for (uint32_t i = 0; i < v->nentries; i++) {
		const uint8_t *e = v->entries + (size_t)i * ENTRY_SIZE;
		uint64_t first = get_le32(e + 8), n = get_le32(e + 12);
		if (n == 0 || n > MAX_ENTRY_FRAMES || first + n > nframes)
			return -EINVAL;
		if (i && get_le64(e) <= get_le64(e - ENTRY_SIZE))
			return -EINVAL;
	}
	for (uint32_t i = 0; i < v->nframes; i++) {
		const uint8_t *f = v->frames + (size_t)i * FRAME_SIZE;
		uint32_t full = get_le32(f + 4);
		if (get_le32(f) >= strings_len || get_le32(f + 8) >= strings_len ||
		    (full != SYMCACHE_NONE && full >= strings_len) || (get_le32(f + 16) & ~ALLOWED_FLAGS))
			return -EINVAL;
	}
	/* libdw's sort keeps no order among equal starts, so equal ones are
	 * allowed; each run's unit is checked when it is used (dwarf_offdie). */
	for (uint32_t i = 1; i < v->nruns; i++)
		if (get_le64(v->runs + (size_t)i * RUN_SIZE) < get_le64(v->runs + (size_t)(i - 1) * RUN_SIZE))
			return -EINVAL;
	return parse_code(v) ? 0 : -EINVAL;
}

struct func_cu_run *symcache_runs(const struct symcache_view *v)
{
	struct func_cu_run *r = xcalloc(v->nruns ? v->nruns : 1, sizeof *r);
	for (uint32_t i = 0; i < v->nruns; i++)
		r[i] = (struct func_cu_run){ get_le64(v->runs + (size_t)i * RUN_SIZE),
					     get_le64(v->runs + (size_t)i * RUN_SIZE + 8) };
	return r;
}

void symcache_writer_set_runs(struct symcache_writer *w, const struct func_cu_run *runs, size_t n, uint64_t end)
{
	sbuf_reset(&w->runs);
	w->nruns = 0;
	if (n > MAX_FILE / RUN_SIZE)
		return;
	for (size_t i = 1; i < n; i++)
		if (runs[i].start < runs[i - 1].start)
			return;
	for (size_t i = 0; i < n; i++) {
		uint8_t b[RUN_SIZE];
		put_le64(b, runs[i].start);
		put_le64(b + 8, runs[i].cu_off);
		sbuf_add(&w->runs, b, sizeof b);
	}
	w->nruns = (uint32_t)n;
	w->runs_end = end;
}

bool symcache_find(const struct symcache_view *v, uint64_t key, uint32_t *first, uint32_t *n)
{
	uint32_t lo = 0, hi = v->nentries;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const uint8_t *e = v->entries + (size_t)mid * ENTRY_SIZE;
		uint64_t k = get_le64(e);
		if (k == key) {
			*first = get_le32(e + 8);
			*n = get_le32(e + 12);
			return true;
		}
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

uint64_t symcache_entry(const struct symcache_view *v, uint32_t i, uint32_t *first, uint32_t *n)
{
	const uint8_t *e = v->entries + (size_t)i * ENTRY_SIZE;
	*first = get_le32(e + 8);
	*n = get_le32(e + 12);
	return get_le64(e);
}

void symcache_frame(const struct symcache_view *v, uint32_t i, struct symcache_rec *r)
{
	const uint8_t *f = v->frames + (size_t)i * FRAME_SIZE;
	uint32_t full = get_le32(f + 4);
	r->func = v->strings + get_le32(f);
	r->full = full == SYMCACHE_NONE ? NULL : v->strings + full;
	r->file = v->strings + get_le32(f + 8);
	r->line = get_le32(f + 12);
	r->flags = get_le32(f + 16);
}

uint32_t sym_records_upto(const uint8_t *recs, uint32_t n, size_t size, uint64_t key)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (get_le64(recs + (size_t)mid * size) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool symcache_find_code(const struct symcache_view *v, uint64_t vaddr, uint32_t *i)
{
	/* The last function starting at or before vaddr. */
	uint32_t lo = sym_records_upto(v->code, v->ncode, CODE_SIZE, vaddr);
	if (!lo)
		return false;
	const uint8_t *c = v->code + (size_t)(lo - 1) * CODE_SIZE;
	if (vaddr - get_le64(c) >= get_le32(c + 8))
		return false;
	*i = lo - 1;
	return true;
}

bool symcache_find_within(const struct symcache_view *v, uint64_t addr, uint32_t *first, uint32_t *n)
{
	uint32_t ci;
	if (addr > UINT64_MAX >> 1 || !symcache_find_code(v, addr, &ci))
		return false;
	const uint8_t *c = v->code + (size_t)ci * CODE_SIZE;
	if (!(c[23] & CODE_ALL))
		return false;
	/* The last entry of a sampled address at or before addr: return
	 * addresses' entries (odd keys) are passed over, and there are few. */
	uint64_t lo = get_le64(c) << 1;
	for (uint32_t i = sym_records_upto(v->entries, v->nentries, ENTRY_SIZE, addr << 1); i-- > 0;) {
		const uint8_t *e = v->entries + (size_t)i * ENTRY_SIZE;
		uint64_t k = get_le64(e);
		if (k < lo)
			return false;
		if (!(k & 1)) {
			*first = get_le32(e + 8);
			*n = get_le32(e + 12);
			return true;
		}
	}
	return false;
}

void symcache_code(const struct symcache_view *v, uint32_t i, struct sym_code *r)
{
	const uint8_t *c = v->code + (size_t)i * CODE_SIZE;
	memset(r, 0, sizeof *r);
	r->start = get_le64(c);
	r->len = get_le32(c + 8);
	r->func = v->strings + get_le32(c + 12);
	r->comp_dir = v->strings + get_le32(c + 16);
	r->machine = get_le16(c + 20);
	r->build_id_size = c[22];
	r->addrs_cached = c[23] & CODE_ALL;
	memcpy(r->build_id, c + 24, 20);
	r->bytes = xmalloc(r->len);
	memcpy(r->bytes, v->bytes + get_le32(c + 44), r->len);
	for (uint32_t k = get_le32(c + 48), end = k + get_le32(c + 52); k < end; k++) {
		const uint8_t *l = v->lines + (size_t)k * LINE_SIZE;
		vec_push(&r->lines, ((struct sym_code_line){ get_le32(l), v->strings + get_le32(l + 4), get_le32(l + 8) }));
	}
	for (uint32_t k = get_le32(c + 56), end = k + get_le32(c + 60); k < end; k++) {
		const uint8_t *n = v->inlines + (size_t)k * INLINE_SIZE;
		vec_push(&r->inlines, ((struct sym_code_inline){ get_le32(n), get_le32(n + 4), v->strings + get_le32(n + 8),
								  v->strings + get_le32(n + 12), get_le32(n + 16),
								  get_le32(n + 20) }));
	}
	for (uint32_t k = get_le32(c + 64), end = k + get_le32(c + 68); k < end; k++) {
		const uint8_t *t = v->targets + (size_t)k * TARGET_SIZE;
		vec_push(&r->targets, ((struct sym_code_target){ get_le64(t), v->strings + get_le32(t + 8) }));
	}
	r->has_targets = !(c[23] & CODE_NO_TARGETS);
	r->from_cache = true;
}

/* ---- writing ---- */

/* The offset of str in the writer's string table, added on first use. */
static uint32_t add_string(struct symcache_writer *w, const char *str)
{
	return str_intern(&w->strings, &w->str_idx, str);
}

int symcache_writer_add(struct symcache_writer *w, uint64_t key, const struct symcache_rec *frames, uint32_t n)
{
	if (n == 0 || n > MAX_ENTRY_FRAMES || (w->nentries && key <= w->last_key) || w->nentries == UINT32_MAX)
		return -EINVAL;
	uint8_t e[ENTRY_SIZE];
	put_le64(e, key);
	put_le32(e + 8, w->nframes);
	put_le32(e + 12, n);
	sbuf_add(&w->entries, e, sizeof e);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t f[FRAME_SIZE];
		put_le32(f, add_string(w, frames[i].func ? frames[i].func : "[unknown]"));
		put_le32(f + 4, frames[i].full ? add_string(w, frames[i].full) : SYMCACHE_NONE);
		put_le32(f + 8, add_string(w, frames[i].file ? frames[i].file : ""));
		put_le32(f + 12, frames[i].line);
		put_le32(f + 16, frames[i].flags & ALLOWED_FLAGS);
		sbuf_add(&w->frames, f, sizeof f);
	}
	w->nframes += n;
	w->nentries++;
	w->last_key = key;
	return 0;
}

int symcache_writer_add_code(struct symcache_writer *w, const struct sym_code *c)
{
	if (c->len == 0 || c->len > MAX_CODE_LEN || c->start > UINT64_MAX - c->len ||
	    (w->ncode && c->start <= w->last_code) || c->build_id_size > 20 || w->ncode == UINT32_MAX ||
	    w->bytes.len + c->len > MAX_FILE)
		return -EINVAL;
	for (size_t k = 0; k < c->lines.n; k++)
		if (c->lines.v[k].off >= c->len || (k && c->lines.v[k].off <= c->lines.v[k - 1].off))
			return -EINVAL;
	for (size_t k = 0; k < c->inlines.n; k++) {
		const struct sym_code_inline *n = &c->inlines.v[k], *p = k ? n - 1 : NULL;
		if (n->lo >= n->hi || n->hi > c->len || !n->depth || (p && (n->lo < p->lo || (n->lo == p->lo && n->depth < p->depth))))
			return -EINVAL;
	}
	uint32_t ntargets = c->has_targets ? (uint32_t)c->targets.n : 0;
	for (size_t k = 1; k < ntargets; k++)
		if (c->targets.v[k].addr < c->targets.v[k - 1].addr)
			return -EINVAL;
	uint8_t r[CODE_SIZE] = { 0 };
	put_le64(r, c->start);
	put_le32(r + 8, c->len);
	put_le32(r + 12, add_string(w, c->func ? c->func : "[unknown]"));
	put_le32(r + 16, add_string(w, c->comp_dir ? c->comp_dir : ""));
	put_le16(r + 20, c->machine);
	r[22] = c->build_id_size;
	r[23] = (c->addrs_cached ? CODE_ALL : 0) | (c->has_targets ? 0 : CODE_NO_TARGETS);
	memcpy(r + 24, c->build_id, 20);
	put_le32(r + 44, (uint32_t)w->bytes.len);
	put_le32(r + 48, w->nlines);
	put_le32(r + 52, (uint32_t)c->lines.n);
	put_le32(r + 56, w->ninlines);
	put_le32(r + 60, (uint32_t)c->inlines.n);
	put_le32(r + 64, w->ntargets);
	put_le32(r + 68, ntargets);
	sbuf_add(&w->code, r, sizeof r);
	sbuf_add(&w->bytes, c->bytes, c->len);
	for (size_t k = 0; k < c->lines.n; k++) {
		uint8_t l[LINE_SIZE];
		put_le32(l, c->lines.v[k].off);
		put_le32(l + 4, add_string(w, c->lines.v[k].file ? c->lines.v[k].file : ""));
		put_le32(l + 8, c->lines.v[k].line);
		sbuf_add(&w->lines, l, sizeof l);
	}
	for (size_t k = 0; k < c->inlines.n; k++) {
		const struct sym_code_inline *n = &c->inlines.v[k];
		uint8_t b[INLINE_SIZE];
		put_le32(b, n->lo);
		put_le32(b + 4, n->hi);
		put_le32(b + 8, add_string(w, n->func ? n->func : "[unknown]"));
		put_le32(b + 12, add_string(w, n->file ? n->file : ""));
		put_le32(b + 16, n->line);
		put_le32(b + 20, n->depth);
		sbuf_add(&w->inlines, b, sizeof b);
	}
	for (size_t k = 0; k < ntargets; k++) {
		uint8_t t[TARGET_SIZE];
		put_le64(t, c->targets.v[k].addr);
		put_le32(t + 8, add_string(w, c->targets.v[k].name ? c->targets.v[k].name : ""));
		sbuf_add(&w->targets, t, sizeof t);
	}
	w->nlines += (uint32_t)c->lines.n;
	w->ninlines += (uint32_t)c->inlines.n;
	w->ntargets += ntargets;
	w->ncode++;
	w->last_code = c->start;
	return 0;
}

void symcache_writer_reserve(struct symcache_writer *w, const struct symcache_view *like, size_t more)
{
	sbuf_grow(&w->entries, (size_t)like->nentries * ENTRY_SIZE + more);
	sbuf_grow(&w->frames, (size_t)like->nframes * FRAME_SIZE + more);
	sbuf_grow(&w->strings, (size_t)like->strings_len + more);
	sbuf_grow(&w->code, (size_t)like->ncode * CODE_SIZE + more);
	sbuf_grow(&w->lines, (size_t)like->nlines * LINE_SIZE + more);
	sbuf_grow(&w->inlines, (size_t)like->ninlines * INLINE_SIZE + more);
	sbuf_grow(&w->targets, (size_t)like->ntargets * TARGET_SIZE + more);
	sbuf_grow(&w->bytes, (size_t)like->bytes_len + more);
}

_Static_assert(sizeof(((struct symcache_pieces *)0)->head) == HEAD_SIZE, "the file's header");

static void piece(struct symcache_pieces *p, struct sum_stream *st, const void *data, size_t len)
{
	if (!len)
		return;
	p->iov[p->n++] = (struct iovec){ (void *)data, len };
	stream_add(st, data, len);
}

int symcache_writer_pieces(struct symcache_writer *w, const void *key, size_t key_len, struct symcache_pieces *out)
{
	if (key_len > MAX_KEY)
		return -EINVAL;
	if (!w->strings.len)
		sbuf_addc(&w->strings, 0); /* never empty: the last byte is a NUL */
	size_t total = HEAD_SIZE + key_len + w->entries.len + w->frames.len + w->code.len + w->lines.len +
		       w->inlines.len + w->targets.len + w->runs.len + (w->nruns ? 8 : 0) + w->strings.len +
		       w->bytes.len + 8;
	if (total > MAX_FILE || w->strings.len > UINT32_MAX)
		return -EFBIG;
	memset(out, 0, sizeof *out);
	uint8_t *head = out->head;
	memcpy(head, MAGIC, 8);
	put_le32(head + 8, (uint32_t)key_len);
	put_le32(head + 12, w->nentries);
	put_le32(head + 16, w->nframes);
	put_le32(head + 20, (uint32_t)w->strings.len);
	put_le32(head + 24, w->ncode);
	put_le32(head + 28, w->nlines);
	put_le32(head + 32, w->ninlines);
	put_le32(head + 36, w->ntargets);
	put_le32(head + 40, (uint32_t)w->bytes.len);
	put_le32(head + 44, w->nruns);
	struct sum_stream st;
	stream_init(&st, HASH_SEED);
	piece(out, &st, head, HEAD_SIZE);
	piece(out, &st, key, key_len);
	piece(out, &st, w->entries.buf, w->entries.len);
	piece(out, &st, w->frames.buf, w->frames.len);
	piece(out, &st, w->code.buf, w->code.len);
	piece(out, &st, w->lines.buf, w->lines.len);
	piece(out, &st, w->inlines.buf, w->inlines.len);
	piece(out, &st, w->targets.buf, w->targets.len);
	piece(out, &st, w->runs.buf, w->runs.len);
	if (w->nruns) {
		put_le64(out->end, w->runs_end);
		piece(out, &st, out->end, sizeof out->end);
	}
	piece(out, &st, w->strings.buf, w->strings.len);
	piece(out, &st, w->bytes.buf, w->bytes.len);
	put_le64(out->sum, stream_end(&st));
	out->iov[out->n++] = (struct iovec){ out->sum, sizeof out->sum };
	out->len = total;
	return 0;
}

int symcache_writer_finish(struct symcache_writer *w, const void *key, size_t key_len, struct sbuf *out)
{
	struct symcache_pieces p;
	int r = symcache_writer_pieces(w, key, key_len, &p);
	if (r)
		return r;
	sbuf_reset(out);
	sbuf_grow(out, p.len);
	for (int i = 0; i < p.n; i++)
		sbuf_add(out, p.iov[i].iov_base, p.iov[i].iov_len);
	return 0;
}

void symcache_writer_release(struct symcache_writer *w)
{
	sbuf_release(&w->entries);
	sbuf_release(&w->frames);
	sbuf_release(&w->strings);
	hashidx_release(&w->str_idx);
	sbuf_release(&w->code);
	sbuf_release(&w->lines);
	sbuf_release(&w->inlines);
	sbuf_release(&w->targets);
	sbuf_release(&w->bytes);
	sbuf_release(&w->runs);
	memset(w, 0, sizeof *w);
}

/* ---- keeping the folder in bounds ---- */

struct aged {
	struct timespec mtime;
	uint64_t size;
	char *name;
};

static int cmp_aged(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

void symcache_prune(const char *dir, size_t keep, uint64_t max_bytes)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	VEC(struct aged) files = { 0 };
	uint64_t bytes = 0;
	for (struct dirent *de; (de = readdir(dp));) {
		struct stat st;
		/* Only cache files: 16 hex digits, ".debug" for the copies,
		 * ".ok" and ".debug.ok" for stamps. */
		size_t len = strlen(de->d_name);
		if ((len != 16 && (len != 22 || strcmp(de->d_name + 16, ".debug") != 0) &&
		     (len != 19 || strcmp(de->d_name + 16, ".ok") != 0) &&
		     (len != 25 || strcmp(de->d_name + 16, ".debug.ok") != 0)) ||
		    strspn(de->d_name, "0123456789abcdef") != 16 ||
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		vec_push(&files, ((struct aged){ st.st_mtim, (uint64_t)st.st_size, xstrdup(de->d_name) }));
		bytes += (uint64_t)st.st_size;
	}
	/* Least recently used first: a file is touched when it is read. */
	if (files.n)
		qsort(files.v, files.n, sizeof *files.v, cmp_aged);
	for (size_t i = 0, n = files.n; i < files.n && (n > keep || bytes > max_bytes); i++, n--) {
		(void)unlinkat(dirfd(dp), files.v[i].name, 0);
		bytes -= files.v[i].size;
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i].name);
	vec_release(&files);
	closedir(dp);
}

bool symbolizer_cache_enabled(void)
{
	char *p = sym_cache_path("symbols");
	free(p);
	return p != NULL;
}

/* ---- stamps ---- */

/*
 * A big cache file (libc's decompressed debug copy, 10 MB; the kernel's
 * symbols, 5 MB) costs more to check whole than the lookups it is opened
 * for. So it is checked once, and a stamp beside it (NAME.ok) records the
 * file it was checked in: device, inode, size, mtime and ctime. While all
 * five hold, the file is the bytes that were checked: writing to it
 * changes mtime and ctime, and so does anything that sets its times back.
 * Such files are fsynced before they are renamed into place, so a crash
 * cannot leave a torn one under its name for a later stamp to vouch for;
 * a torn stamp fails its own checksum and costs one check. File times
 * advance with a coarse clock (a scheduler tick, 1-10 ms): a write in the
 * same tick as the last change would leave them as they were. So only a
 * file whose ctime is STAMP_MIN_AGE_NS old is stamped; any later write
 * gets a later time.
 */
#define STAMP_MAGIC "CPROFDV1"
#define STAMP_SIZE 72 /* magic[8], dev, ino, size, mtime s, ns, ctime s, ns, checksum (u64 each) */
#define STAMP_MIN_AGE_NS 50000000LL

static void stamp_of(uint8_t *b, const struct stat *st)
{
	memcpy(b, STAMP_MAGIC, 8);
	put_le64(b + 8, (uint64_t)st->st_dev);
	put_le64(b + 16, (uint64_t)st->st_ino);
	put_le64(b + 24, (uint64_t)st->st_size);
	put_le64(b + 32, (uint64_t)st->st_mtim.tv_sec);
	put_le64(b + 40, (uint64_t)st->st_mtim.tv_nsec);
	put_le64(b + 48, (uint64_t)st->st_ctim.tv_sec);
	put_le64(b + 56, (uint64_t)st->st_ctim.tv_nsec);
	put_le64(b + 64, sym_checksum(HASH_SEED, b, STAMP_SIZE - 8));
}

static char *stamp_path(const char *path)
{
	size_t n = strlen(path);
	char *p = xmalloc(n + 4);
	memcpy(p, path, n);
	memcpy(p + n, ".ok", 4);
	return p;
}

bool sym_stamp_holds(const char *path, const struct stat *st)
{
	uint8_t want[STAMP_SIZE], got[STAMP_SIZE + 1];
	char *sp = stamp_path(path);
	int fd = open(sp, O_RDONLY | O_CLOEXEC);
	free(sp);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, got, sizeof got);
	close(fd);
	stamp_of(want, st);
	return n == STAMP_SIZE && memcmp(got, want, STAMP_SIZE) == 0;
}

void sym_stamp_write(const char *path, const struct stat *st)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    (now.tv_sec - st->st_ctim.tv_sec) * 1000000000LL + (now.tv_nsec - st->st_ctim.tv_nsec) < STAMP_MIN_AGE_NS)
		return; /* changed too recently: the next use checks it again */
	uint8_t b[STAMP_SIZE];
	stamp_of(b, st);
	char *sp = stamp_path(path);
	(void)sym_cache_write(sp, b, sizeof b); /* without it, the next use checks again */
	free(sp);
}

/* ---- decompressed copies of debug files ---- */

/*
 * libdw inflates every compressed debug section of a file when it opens
 * it (elfutils 0.188), ~40 ms for libc6-dbg's 4 MB file, and a recording
 * whose samples hit one address of libc that the symbol cache does not
 * hold yet opens it. So the first time a compressed debug file is needed,
 * a decompressed copy is kept in the cache (libc's: 10 MB), and libdw is
 * given that instead: it maps it and inflates nothing. The copy ends with
 * a trailer after the ELF data: the identity of the file it was made from
 * (and of this build), the ELF data's size and a checksum of both, so a
 * copy of an older debug file, or a damaged one, is never used.
 *
 * Checking that checksum reads all 10 MB, which cost a recording that
 * missed the symbol cache in libc more than the lookups it opened the copy
 * for; so it is checked once and then vouched for by a stamp (above).
 * Touching the copy for pruning changes its ctime, so it is touched only
 * when its mtime is a day old (each such day costs one check).
 */
#define COPY_MAGIC "CPROFDC1"
#define COPY_TRAILER 32 /* key_len, reserved (u32), elf_size, checksum (u64), magic[8] */

static _Atomic uint64_t copies_used, copies_written, copies_checked;
/* Held while a copy is looked for again and made (not while it is read). */
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;

void symcache_copy_stats(uint64_t *used, uint64_t *written, uint64_t *checked)
{
	*used = copies_used;
	*written = copies_written;
	*checked = copies_checked;
}

/* Does the ELF file on fd have compressed sections (SHF_COMPRESSED)? A
 * GNU .zdebug section makes it unfit for a copy: *other is set. */
static bool compressed(int fd, bool *other)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	bool any = false;
	*other = false;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
			if (n && strncmp(n, ".zdebug", 7) == 0)
				*other = true;
			any |= (sh.sh_flags & SHF_COMPRESSED) != 0;
		}
	}
	if (elf)
		elf_end(elf);
	return any;
}

/* The copy at path, if it is whole and made from the file whose identity
 * is key: an fd open on it, else -1. Its contents are checked against the
 * trailer's checksum unless the stamp says they were already. */
static int open_copy(const char *path, const struct sbuf *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	uint8_t t[COPY_TRAILER];
	char *k = NULL;
	/* Read, not mapped: a page fault costs more on our VMs than copying
	 * the page (the copy of libc's debug info is 10 MB). */
	if (fstat(fd, &st) != 0 || st.st_size < COPY_TRAILER || (uint64_t)st.st_size > ((uint64_t)1 << 40))
		goto bad;
	uint64_t len = (uint64_t)st.st_size;
	if (pread_full(fd, t, COPY_TRAILER, len - COPY_TRAILER) < 0)
		goto bad;
	uint64_t key_len = get_le32(t), elf_size = get_le64(t + 8), h;
	if (memcmp(t + 24, COPY_MAGIC, 8) != 0 || key_len != key->len || elf_size > len ||
	    elf_size + key_len + COPY_TRAILER != len)
		goto bad;
	k = xmalloc(key_len + 1);
	if (pread_full(fd, (uint8_t *)k, key_len, elf_size) < 0 || memcmp(k, key->buf, key_len) != 0)
		goto bad;
	/* Its last use, for pruning; first, since it changes the ctime. */
	if (!touch_daily(fd, &st))
		goto bad;
	if (!sym_stamp_holds(path, &st)) {
		if (sym_checksum_fd(fd, 0, elf_size, HASH_SEED, &h) < 0 ||
		    get_le64(t + 16) != sym_checksum(h, k, key_len))
			goto bad;
		sym_stamp_write(path, &st);
		copies_checked++;
	}
	free(k);
	copies_used++;
	return fd;
bad:
	free(k);
	close(fd);
	return -1;
}

/* Copy src into a new file at path, decompress its sections in place
 * with libelf, and append the trailer. -1 on any failure. */
static int write_copy_locked(int src, const char *path, const struct sbuf *key);

static int write_copy(int src, const char *path, const struct sbuf *key)
{
	pthread_mutex_lock(&write_lock);
	int r = write_copy_locked(src, path, key);
	pthread_mutex_unlock(&write_lock);
	return r;
}

static int write_copy_locked(int src, const char *path, const struct sbuf *key)
{
	struct tmpfile t;
	struct cprof_err err;
	(void)make_parents(path);
	if (tmpfile_open_mode(&t, path, 0600, &err) != 0)
		return -1;
	int fd = fileno(t.fp);
	uint8_t *buf = xmalloc(1 << 16);
	off_t off = 0;
	ssize_t r;
	while ((r = pread(src, buf, 1 << 16, off)) > 0) {
		if (pwrite(fd, buf, (size_t)r, off) != r) {
			r = -1;
			break;
		}
		off += r;
	}
	free(buf);
	Elf *elf = r == 0 ? elf_begin(fd, ELF_C_RDWR, NULL) : NULL;
	bool ok = elf != NULL;
	Elf_Scn *scn = NULL;
	while (ok && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			ok = false;
	}
	off_t size = ok ? elf_update(elf, ELF_C_WRITE) : -1;
	if (elf)
		elf_end(elf);
	if (size <= 0 || ftruncate(fd, size) != 0) {
		tmpfile_abort(&t);
		return -1;
	}
	/* The checksum covers the ELF data as written and the key. */
	void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		tmpfile_abort(&t);
		return -1;
	}
	uint64_t sum = sym_checksum(HASH_SEED, map, (size_t)size);
	munmap(map, (size_t)size);
	sum = sym_checksum(sum, key->buf, key->len);
	uint8_t tr[COPY_TRAILER] = { 0 };
	put_le32(tr, (uint32_t)key->len);
	put_le64(tr + 8, (uint64_t)size);
	put_le64(tr + 16, sum);
	memcpy(tr + 24, COPY_MAGIC, 8);
	/* fsync before the rename: a stamp may vouch for the copy later,
	 * so it must never be torn under its name (once per debug file). */
	if (pwrite(fd, key->buf, key->len, size) != (ssize_t)key->len ||
	    pwrite(fd, tr, sizeof tr, size + (off_t)key->len) != (ssize_t)sizeof tr || fsync(fd) != 0 ||
	    tmpfile_commit_cache(&t, &err) != 0) {
		tmpfile_abort(&t);
		return -1;
	}
	copies_written++;
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = 0;
	symcache_prune(dir, SYMCACHE_MAX_FILES, SYMCACHE_MAX_BYTES);
	free(dir);
	return 0;
}

int symcache_debug_copy(int fd, const char *cache_path, char **path)
{
	bool other;
	struct stat st;
	if (!cache_path || !compressed(fd, &other) || other || fstat(fd, &st) != 0)
		return -1;
	/* Decompressing is mechanical: every cprof build with this libelf
	 * makes the same copy, so the copy is the debug file's, named after
	 * its path, and not one per build. */
	struct sbuf key = SBUF_INIT, copy = SBUF_INIT;
	sbuf_addf(&key, "libelf %s", dwfl_version(NULL));
	sbuf_addc(&key, 0);
	sbuf_adds(&key, *path);
	sbuf_addc(&key, 0);
	uint8_t b[40];
	put_le64(b, (uint64_t)st.st_dev);
	put_le64(b + 8, (uint64_t)st.st_ino);
	put_le64(b + 16, (uint64_t)st.st_size);
	put_le64(b + 24, (uint64_t)st.st_mtim.tv_sec);
	put_le64(b + 32, (uint64_t)st.st_mtim.tv_nsec);
	sbuf_add(&key, b, sizeof b);
	const char *slash = strrchr(cache_path, '/');
	sbuf_addf(&copy, "%.*s/%016llx.debug", (int)(slash ? slash - cache_path : 0), cache_path,
		  (unsigned long long)hash_bytes(*path, strlen(*path), HASH_SEED));
	int cfd = open_copy(copy.buf, &key);
	if (cfd < 0) {
		/* Both finishing threads may need the same file (ld.so): the
		 * second waits for the first's copy rather than making its own. */
		pthread_mutex_lock(&copy_lock);
		cfd = open_copy(copy.buf, &key);
		if (cfd < 0 && write_copy(fd, copy.buf, &key) == 0)
			cfd = open_copy(copy.buf, &key);
		pthread_mutex_unlock(&copy_lock);
	}
	if (cfd >= 0) {
		free(*path);
		*path = sbuf_detach(&copy);
	}
	sbuf_release(&copy);
	sbuf_release(&key);
	return cfd;
}
