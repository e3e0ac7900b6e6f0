/* test-symcache.c - the symbol cache: a second symbolizer answers from the
 * files the first wrote, with the same frames and without opening the
 * binary's debug information; a debug file installed or changed later, or
 * a damaged cache file, sends it back to libdw; a compressed debug file is
 * read through a decompressed copy that gives the same frames.
 * argv[1]: the hot workload; argv[2..5]: hot split into a stripped binary
 * with a .gnu_debuglink and its debug file, plainly and with compressed
 * debug sections (built by meson with objcopy; "" when it was not found). */
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/symbol.h"
#include "../../src/symbol/symbol-internal.h"
#include "harness.h"
#include "elf-fixture.h"

static const char *hot_path, *prog_path, *prog_debug, *zprog_path, *zprog_debug;
static char cache_dir[64];

/* Frames as plain data, to compare across symbolizers. */
struct frames {
	int n;
	char text[8][256];
};

#define MAXADDR 512
struct run {
	int naddr;
	struct frames f[MAXADDR];
	struct symbolizer_stats st;
};

/* Symbolize every other byte of hot_c and main in path (mapped as the
 * kernel would), as exact pcs and as return addresses; one symbolizer,
 * freed at the end (which writes the cache). */
static void symbolize(const char *path, struct run *r)
{
	memset(r, 0, sizeof *r);
	struct symbolizer *s = symbolizer_new();
	static const char *const funcs[] = { "hot_c", "main" };
	for (size_t fi = 0; fi < ARRAY_SIZE(funcs); fi++) {
		struct elf_fixture_sym fs;
		elf_fixture_find(path, funcs[fi], &fs);
		ASSERT(fs.size);
		struct sym_map m = { .path = path, .start = 0x555555554000ULL + fs.exec_off, .len = 0x100000,
				     .pgoff = fs.exec_off };
		for (uint64_t a = fs.vaddr; a < fs.vaddr + fs.size && r->naddr < MAXADDR; a += 2) {
			struct sym_frame out[8];
			uint64_t ip = m.start + (a - fs.exec_vaddr);
			int n = symbolizer_user(s, &m, ip, (a & 2) != 0, out, 8);
			struct frames *f = &r->f[r->naddr++];
			f->n = n;
			for (int i = 0; i < n; i++)
				snprintf(f->text[i], sizeof f->text[i], "%s|%s|%s|%u|%#llx|%#x|%s", out[i].func,
					 out[i].full ? out[i].full : "-", out[i].file, out[i].line,
					 (unsigned long long)out[i].addr, out[i].flags, out[i].dso);
		}
	}
	symbolizer_save_cache(s);
	symbolizer_get_stats(s, &r->st);
	symbolizer_free(s);
}

static void same_frames(const struct run *a, const struct run *b)
{
	ASSERT_EQ(a->naddr, b->naddr);
	for (int i = 0; i < a->naddr; i++) {
		ASSERT_EQ(a->f[i].n, b->f[i].n);
		for (int k = 0; k < a->f[i].n; k++)
			ASSERT_STREQ(a->f[i].text[k], b->f[i].text[k]);
	}
}

static bool any_line(const struct run *r)
{
	for (int i = 0; i < r->naddr; i++)
		if (strstr(r->f[i].text[r->f[i].n - 1], "hot.c|"))
			return true;
	return false;
}

/* The one symbol cache file of the cache folder (not a .debug copy). */
static void cache_file(char *path, size_t size)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/symbols", cache_dir);
	DIR *dp = opendir(dir);
	ASSERT(dp);
	int found = 0;
	for (struct dirent *de; (de = readdir(dp));)
		if (strlen(de->d_name) == 16) {
			snprintf(path, size, "%s/%s", dir, de->d_name);
			found++;
		}
	closedir(dp);
	ASSERT_EQ(found, 1);
}

/* The cache file at path, read and checked whole: its view, into *buf
 * (the caller frees). */
static void read_cache_file(const char *path, uint8_t **buf, struct symcache_view *v)
{
	size_t len;
	*buf = (uint8_t *)sym_slurp(path, &len);
	ASSERT(*buf);
	ASSERT_OK(symcache_parse(v, *buf, len, false));
}

static void clear_cache(void)
{
	char dir[128], path[512];
	snprintf(dir, sizeof dir, "%s/symbols", cache_dir);
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	for (struct dirent *de; (de = readdir(dp));)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			ASSERT(unlink(path) == 0);
		}
	closedir(dp);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *buf = sym_slurp(from, &len);
	ASSERT(buf);
	(void)unlink(to);
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ASSERT(fd >= 0);
	ASSERT(write(fd, buf, len) == (ssize_t)len);
	close(fd);
	free(buf);
}

static struct run ref, again;

/* Without a cache, with a cold one, with a warm one: the same frames,
 * and the warm run reads no debug information at all. */
TEST(second_run_from_the_cache)
{
	clear_cache();
	ASSERT(setenv("CPROF_CACHE_DIR", "", 1) == 0);
	symbolize(hot_path, &ref);
	ASSERT_EQ(ref.st.symcache_misses, 0); /* no cache at all */
	ASSERT(setenv("CPROF_CACHE_DIR", cache_dir, 1) == 0);
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	ASSERT_EQ(again.st.symcache_hits, 0);
	ASSERT(again.st.symcache_misses > 100);
	ASSERT_EQ(again.st.symcache_written, 1);
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	printf("%d addresses, %" PRIu64 " from the cache\n", again.naddr, again.st.symcache_hits);
	ASSERT_EQ(again.st.symcache_misses, 0);
	ASSERT(again.st.symcache_hits > 100);
	ASSERT_EQ(again.st.symcache_read, 1);
	ASSERT_EQ(again.st.binaries_read, 0);
	ASSERT_EQ(again.st.symcache_written, 0);
	/* Verifying: every hit resolved again through libdw, and agreed. */
	ASSERT(setenv("CPROF_SYMCACHE_VERIFY", "1", 1) == 0);
	symbolize(hot_path, &again);
	ASSERT(unsetenv("CPROF_SYMCACHE_VERIFY") == 0);
	same_frames(&ref, &again);
	ASSERT_EQ(again.st.symcache_mismatches, 0);
	ASSERT_EQ(again.st.binaries_read, 1);
}

/* A cache file that says something else than libdw, with a valid
 * checksum: trusted without verification, caught with it. */
TEST(verify_catches_a_wrong_answer)
{
	char path[256];
	cache_file(path, sizeof path);
	uint8_t *buf;
	struct symcache_view v;
	read_cache_file(path, &buf, &v);
	struct symcache_writer w = { 0 };
	for (uint32_t i = 0; i < v.nentries; i++) {
		uint32_t first, n;
		uint64_t key = symcache_entry(&v, i, &first, &n);
		struct symcache_rec recs[64];
		ASSERT(n <= 64);
		for (uint32_t k = 0; k < n; k++)
			symcache_frame(&v, first + k, &recs[k]);
		if (i == v.nentries / 2)
			recs[n - 1].line += 1000;
		ASSERT_OK(symcache_writer_add(&w, key, recs, n));
	}
	struct sbuf out = SBUF_INIT;
	ASSERT_OK(symcache_writer_finish(&w, v.key, v.key_len, &out));
	ASSERT_OK(sym_cache_write(path, out.buf, out.len));
	sbuf_release(&out);
	symcache_writer_release(&w);
	free(buf);
	symbolize(hot_path, &again);
	ASSERT_EQ(again.st.symcache_misses, 0);
	bool differs = false;
	for (int i = 0; i < again.naddr && !differs; i++)
		differs = strcmp(again.f[i].text[again.f[i].n - 1], ref.f[i].text[ref.f[i].n - 1]) != 0;
	ASSERT(differs);
	ASSERT(setenv("CPROF_SYMCACHE_VERIFY", "1", 1) == 0);
	symbolize(hot_path, &again);
	ASSERT(unsetenv("CPROF_SYMCACHE_VERIFY") == 0);
	ASSERT(again.st.symcache_mismatches >= 1);
	same_frames(&ref, &again); /* libdw's answers were used, and saved */
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	ASSERT_EQ(again.st.symcache_misses, 0);
}

/* The cache file is damaged: the next run rejects it whole, answers as
 * libdw does, and writes the file anew. */
static void rejected_and_rewritten(void)
{
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	ASSERT_EQ(again.st.symcache_hits, 0);
	ASSERT_EQ(again.st.symcache_rejected, 1);
	ASSERT_EQ(again.st.symcache_written, 1);
}

/* Damaged files are rejected whole, the answers are libdw's, and the file
 * is written anew. */
TEST(damaged_files_are_ignored)
{
	char path[256];
	cache_file(path, sizeof path);
	size_t len;
	char *good = sym_slurp(path, &len);
	ASSERT(good && len > 64);
	size_t cuts[] = { 0, 1, 8, 31, len / 2, len - 1 };
	for (size_t c = 0; c < ARRAY_SIZE(cuts) + 3 * 7; c++) {
		int fd = open(path, O_WRONLY | O_TRUNC);
		ASSERT(fd >= 0);
		if (c < ARRAY_SIZE(cuts)) { /* truncated */
			ASSERT(write(fd, good, cuts[c]) == (ssize_t)cuts[c]);
		} else { /* one byte changed, at offsets all over the file */
			size_t k = c - ARRAY_SIZE(cuts);
			char *bad = xmalloc(len);
			memcpy(bad, good, len);
			bad[(k * 7919 + k / 7) % len] ^= (char)(1u << (k % 8));
			ASSERT(write(fd, bad, len) == (ssize_t)len);
			free(bad);
		}
		close(fd);
		rejected_and_rewritten();
	}
	/* Garbage of another kind: a directory where the file should be is
	 * not read either, and costs nothing but the answers from libdw. */
	ASSERT(unlink(path) == 0);
	ASSERT(mkdir(path, 0700) == 0);
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	ASSERT(rmdir(path) == 0);
	symbolize(hot_path, &again);
	symbolize(hot_path, &again);
	same_frames(&ref, &again);
	ASSERT_EQ(again.st.symcache_misses, 0);
	free(good);
}

/* A cache file is checked whole when it is read, until it is 50 ms old;
 * then its stamp vouches for it and it is used without a check. Written
 * to in place, its times move, the stamp no longer holds, and the check
 * finds the damage. */
TEST(stamped_files_are_not_checked_again)
{
	clear_cache();
	symbolize(hot_path, &again);
	ASSERT_EQ(again.st.symcache_written, 1);
	symbolize(hot_path, &again); /* just written: checked, not stamped */
	ASSERT_EQ(again.st.symcache_read, 1);
	ASSERT_EQ(again.st.symcache_checked, 1);
	usleep(60 * 1000);
	symbolize(hot_path, &again); /* checked and stamped */
	ASSERT_EQ(again.st.symcache_checked, 1);
	for (int round = 0; round < 2; round++) {
		symbolize(hot_path, &again);
		same_frames(&ref, &again);
		ASSERT_EQ(again.st.symcache_read, 1);
		ASSERT_EQ(again.st.symcache_checked, 0);
		ASSERT_EQ(again.st.symcache_misses, 0);
	}
	char path[256];
	cache_file(path, sizeof path);
	int fd = open(path, O_RDWR);
	ASSERT(fd >= 0);
	struct stat st;
	ASSERT(fstat(fd, &st) == 0);
	char c;
	ASSERT(pread(fd, &c, 1, st.st_size / 2) == 1);
	c ^= 1;
	ASSERT(pwrite(fd, &c, 1, st.st_size / 2) == 1);
	close(fd);
	rejected_and_rewritten();
}

/* The stripped program first without its debug file, then with it beside
 * it (as a debug package installs it), then with that file changed: each
 * change is seen, the cache is rebuilt, and the answers are libdw's. */
TEST(debug_file_installed_later)
{
	if (!*prog_path) {
		printf("objcopy not found at build time: skipped\n");
		return;
	}
	char dir[] = "/tmp/cprof-symcache-prog.XXXXXX";
	ASSERT(mkdtemp(dir));
	char prog[128], debug[128];
	snprintf(prog, sizeof prog, "%s/symcache-prog", dir);
	const char *slash = strrchr(prog_debug, '/');
	snprintf(debug, sizeof debug, "%s/%s", dir, slash ? slash + 1 : prog_debug);
	copy_file(prog_path, prog);
	clear_cache();

	struct run *bare = xcalloc(1, sizeof *bare), *full = xcalloc(1, sizeof *full);
	symbolize(prog, bare);
	ASSERT(!any_line(bare)); /* symbols only: no lines without debug info */
	symbolize(prog, &again);
	ASSERT_EQ(again.st.symcache_misses, 0);

	copy_file(prog_debug, debug);
	symbolize(prog, full);
	ASSERT(any_line(full));
	ASSERT_EQ(full->st.symcache_hits, 0);
	ASSERT_EQ(full->st.symcache_rejected, 1);
	symbolize(prog, &again);
	same_frames(full, &again);
	ASSERT_EQ(again.st.symcache_misses, 0);

	/* The same file again with another time: rebuilt (same answers). */
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	ASSERT(utimensat(AT_FDCWD, debug, ts, 0) == 0);
	symbolize(prog, &again);
	same_frames(full, &again);
	ASSERT_EQ(again.st.symcache_hits, 0);
	ASSERT_EQ(again.st.symcache_rejected, 1);

	/* Removed again: back to symbols only. */
	ASSERT(unlink(debug) == 0);
	symbolize(prog, &again);
	same_frames(bare, &again);
	ASSERT_EQ(again.st.symcache_hits, 0);
	ASSERT(unlink(prog) == 0);
	ASSERT(rmdir(dir) == 0);
	free(bare);
	free(full);
}

/* A compressed debug file is read through a decompressed copy, made once,
 * which gives libdw's answers on the original; it is checked whole once,
 * then vouched for by its stamp; a damaged copy is made again. */
TEST(compressed_debug_file_copy)
{
	if (!*zprog_path) {
		printf("objcopy not found at build time: skipped\n");
		return;
	}
	char dir[] = "/tmp/cprof-symcache-zprog.XXXXXX";
	ASSERT(mkdtemp(dir));
	char prog[128], debug[128];
	snprintf(prog, sizeof prog, "%s/symcache-zprog", dir);
	const char *slash = strrchr(zprog_debug, '/');
	snprintf(debug, sizeof debug, "%s/%s", dir, slash ? slash + 1 : zprog_debug);
	copy_file(zprog_path, prog);
	copy_file(zprog_debug, debug);
	clear_cache();

	struct run *plain = xcalloc(1, sizeof *plain);
	ASSERT(setenv("CPROF_CACHE_DIR", "", 1) == 0);
	symbolize(prog, plain); /* libdw on the compressed file itself */
	ASSERT(setenv("CPROF_CACHE_DIR", cache_dir, 1) == 0);
	ASSERT(any_line(plain));
	uint64_t used0 = plain->st.debug_copies_used, written0 = plain->st.debug_copies_written,
		 checked0 = plain->st.debug_copies_checked;
	symbolize(prog, &again);
	same_frames(plain, &again);
	ASSERT_EQ(again.st.debug_copies_written, written0 + 1);
	ASSERT_EQ(again.st.debug_copies_used, used0 + 1);
	ASSERT_EQ(again.st.debug_copies_checked, checked0 + 1);
	/* No symbol cache file, only the copy: libdw reads the copy. Just
	 * made, it is checked again and not stamped (file times may not move
	 * for a write within the same tick); 50 ms on, it is checked and
	 * stamped, and then vouched for without reading it whole again. */
	char path[256];
	cache_file(path, sizeof path);
	for (int round = 0; round < 2; round++) {
		if (round)
			usleep(60 * 1000);
		ASSERT(unlink(path) == 0);
		symbolize(prog, &again);
		same_frames(plain, &again);
		ASSERT_EQ(again.st.debug_copies_checked, checked0 + 2 + (uint64_t)round);
	}
	ASSERT(unlink(path) == 0);
	symbolize(prog, &again);
	same_frames(plain, &again);
	ASSERT_EQ(again.st.debug_copies_written, written0 + 1);
	ASSERT_EQ(again.st.debug_copies_used, used0 + 4);
	ASSERT_EQ(again.st.debug_copies_checked, checked0 + 3);
	/* A damaged copy is not used: made again. */
	char copy[512];
	snprintf(copy, sizeof copy, "%s/symbols", cache_dir);
	DIR *dp = opendir(copy);
	ASSERT(dp);
	for (struct dirent *de; (de = readdir(dp));)
		if (strlen(de->d_name) == 22 && strcmp(de->d_name + 16, ".debug") == 0)
			snprintf(copy, sizeof copy, "%s/symbols/%s", cache_dir, de->d_name);
	closedir(dp);
	ASSERT(strstr(copy, ".debug") && !strstr(copy, ".debug.ok"));
	/* A stamp for another file (here: damaged) does not vouch: the copy
	 * is checked whole again, found good, and stamped anew. */
	char stamp[520];
	snprintf(stamp, sizeof stamp, "%s.ok", copy);
	int sfd = open(stamp, O_RDWR);
	ASSERT(sfd >= 0);
	uint8_t sb[72];
	ASSERT(pread(sfd, sb, sizeof sb, 0) == (ssize_t)sizeof sb);
	sb[20] ^= 1; /* the inode */
	ASSERT(pwrite(sfd, sb, sizeof sb, 0) == (ssize_t)sizeof sb);
	close(sfd);
	ASSERT(unlink(path) == 0);
	symbolize(prog, &again);
	same_frames(plain, &again);
	ASSERT_EQ(again.st.debug_copies_written, written0 + 1);
	ASSERT_EQ(again.st.debug_copies_checked, checked0 + 4);
	ASSERT(unlink(path) == 0);
	symbolize(prog, &again);
	ASSERT_EQ(again.st.debug_copies_checked, checked0 + 4);
	/* Written to: its mtime and ctime change, so the stamp no longer
	 * holds, the check runs and finds the damage. */
	int fd = open(copy, O_RDWR);
	ASSERT(fd >= 0);
	char c;
	ASSERT(pread(fd, &c, 1, 4096) == 1);
	c ^= 1;
	ASSERT(pwrite(fd, &c, 1, 4096) == 1);
	close(fd);
	ASSERT(unlink(path) == 0);
	symbolize(prog, &again);
	same_frames(plain, &again);
	ASSERT_EQ(again.st.debug_copies_written, written0 + 2);
	ASSERT_EQ(again.st.debug_copies_checked, checked0 + 5); /* the new one (the damaged one failed) */
	ASSERT(unlink(prog) == 0);
	ASSERT(unlink(debug) == 0);
	ASSERT(rmdir(dir) == 0);
	free(plain);
}

/* A whole function kept in the cache file with its call targets, and
 * every address of it resolved ahead: the next symbolizer gives the same
 * code and the same frames, as sampled instructions and as return
 * addresses, without reading any debug information; the file keeps one
 * entry per run of addresses with the same frames. */
TEST(kept_code_and_prefilled_addresses)
{
	clear_cache();
	struct elf_fixture_sym fs;
	elf_fixture_find(hot_path, "hot_c", &fs);
	ASSERT(fs.size > 4);
	struct sym_map m = { .path = hot_path, .start = 0x555555554000ULL + fs.exec_off, .len = 0x100000,
			     .pgoff = fs.exec_off };
	struct cprof_err err;
	struct symbolizer *s = symbolizer_new();
	struct sym_code c;
	ASSERT_OK(symbolizer_code(s, &m, fs.vaddr + 1, 1u << 20, &c, &err));
	ASSERT(!c.has_targets);
	ASSERT_EQ(c.start, fs.vaddr);
	ASSERT(c.lines.n > 0);
	struct sym_code_target t[2] = { { c.start + c.len + 0x40, "callee" }, { c.start + c.len + 0x80, "other@plt" } };
	symbolizer_keep_code(s, &m, &c, t, 2);
	/* One the file cannot hold (a line row past its end) is left out at
	 * the save, and only it. */
	struct sym_code bad = { .func = "bad", .start = c.start + (1u << 24), .len = 4, .bytes = c.bytes };
	struct sym_code_line row = { 9, "x.c", 1 };
	bad.lines.v = &row;
	bad.lines.n = 1;
	symbolizer_keep_code(s, &m, &bad, NULL, 0);
	/* More than the file may take ahead of need (4 MiB): not kept. */
	uint32_t many = 9u << 19;
	uint8_t *lots = xcalloc(many, 1);
	struct sym_code big = { .func = "big", .start = c.start + (1u << 25), .len = many, .bytes = lots };
	symbolizer_keep_code(s, &m, &big, NULL, 0);
	free(lots);
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.symcache_code_kept, 2);
	uint64_t prefilled = st.symcache_prefilled; /* c's bounds, and bad's start */
	ASSERT(prefilled > 2 && prefilled < c.len);
	symbolizer_save_cache(s);
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.symcache_code_kept, 1);
	ASSERT_EQ(st.symcache_written, 1);
	struct symbolizer *first = s; /* holds c's strings */
	/* Kept again without its targets (as the other finishing thread may
	 * keep it): the file's, which lists them, stays. */
	struct symbolizer *other = symbolizer_new();
	symbolizer_keep_code(other, &m, &c, NULL, 0);
	symbolizer_save_cache(other);
	symbolizer_get_stats(other, &st);
	ASSERT_EQ(st.symcache_written, 1);
	symbolizer_free(other);
	/* Runs of bytes on one line and inline chain share an entry. */
	char path[256];
	cache_file(path, sizeof path);
	uint8_t *fbuf;
	struct symcache_view view;
	read_cache_file(path, &fbuf, &view);
	printf("%u bytes of %s kept as %u entries\n", c.len, c.func, view.nentries);
	ASSERT(view.nentries > 1 && view.nentries < prefilled);
	free(fbuf);

	s = symbolizer_new();
	struct sym_code k;
	ASSERT_OK(symbolizer_code(s, &m, c.start + c.len - 1, 1u << 20, &k, &err));
	ASSERT(k.from_cache && k.has_targets && k.addrs_cached);
	ASSERT_STREQ(k.func, c.func);
	ASSERT_STREQ(k.comp_dir, c.comp_dir);
	ASSERT(k.start == c.start && k.len == c.len && k.machine == c.machine &&
	       k.build_id_size == c.build_id_size && memcmp(k.build_id, c.build_id, 20) == 0);
	ASSERT(memcmp(k.bytes, c.bytes, c.len) == 0);
	ASSERT_EQ(k.lines.n, c.lines.n);
	for (size_t i = 0; i < c.lines.n; i++) {
		ASSERT_EQ(k.lines.v[i].off, c.lines.v[i].off);
		ASSERT_EQ(k.lines.v[i].line, c.lines.v[i].line);
		ASSERT_STREQ(k.lines.v[i].file, c.lines.v[i].file);
	}
	ASSERT_EQ(k.inlines.n, c.inlines.n);
	for (size_t i = 0; i < c.inlines.n; i++) {
		const struct sym_code_inline *a = &k.inlines.v[i], *b = &c.inlines.v[i];
		ASSERT(a->lo == b->lo && a->hi == b->hi && a->line == b->line && a->depth == b->depth);
		ASSERT_STREQ(a->func, b->func);
		ASSERT_STREQ(a->file, b->file);
	}
	ASSERT_EQ(k.targets.n, 2);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(k.targets.v[i].addr, t[i].addr);
		ASSERT_STREQ(k.targets.v[i].name, t[i].name);
	}
	/* Kept again as the file gave it: no address is new, only the code
	 * is written again. */
	symbolizer_keep_code(s, &m, &k, t, 2);
	symbolizer_save_cache(s);
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.symcache_prefilled, 0);
	ASSERT_EQ(st.symcache_written, 1);
	sym_code_release(&k);
	/* Asked for less than its length: not from the cache, libdw's error. */
	ASSERT(symbolizer_code(s, &m, c.start, c.len - 1, &k, &err) < 0);
	sym_code_release(&k);
	/* Every byte as a sampled instruction pointer, and as a return
	 * address just after it: all from the file, and (verified) libdw's
	 * answers. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			ASSERT(setenv("CPROF_SYMCACHE_VERIFY", "1", 1) == 0);
		struct symbolizer *v = pass ? symbolizer_new() : s;
		for (uint32_t i = 0; i < c.len; i++) {
			struct sym_frame out[8];
			uint64_t ip = m.start + (c.start + i - fs.exec_vaddr);
			ASSERT(symbolizer_user(v, &m, ip, false, out, 8) >= 1);
			ASSERT_STREQ(out[0].dso, hot_path);
			ASSERT(symbolizer_user(v, &m, ip + 1, true, out, 8) >= 1);
			ASSERT_EQ(out[0].addr, c.start + i + 1);
		}
		symbolizer_get_stats(v, &st);
		ASSERT_EQ(st.symcache_misses, 0);
		ASSERT_EQ(st.symcache_hits, 2 * c.len);
		ASSERT_EQ(st.symcache_mismatches, 0);
		if (!pass) {
			ASSERT_EQ(st.symcache_code_hits, 1);
			ASSERT_EQ(st.binaries_read, 1); /* only for the error above */
		}
		symbolizer_free(v);
	}
	ASSERT(unsetenv("CPROF_SYMCACHE_VERIFY") == 0);
	sym_code_release(&c);
	symbolizer_free(first);
}

struct dynsym_find {
	const char *name;
	uint64_t vaddr;
};

static bool dynsym_match(struct elf_fixture *f, const GElf_Sym *sym, const char *name, void *arg)
{
	struct dynsym_find *a = arg;
	(void)f;
	if (strcmp(name, a->name) != 0 || GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value)
		return false;
	a->vaddr = sym->st_value;
	return true;
}

/*
 * Functions kept without their call targets (of a test program, and of
 * the C library, with its inlined code): every byte of each, as a sampled
 * instruction pointer and as a return address, answers from the file as
 * libdw does, though the file holds far fewer entries than the functions
 * have instructions; and the code read back says its targets were not
 * listed.
 */
TEST(kept_functions_answer_every_address)
{
	static const struct {
		const char *path, *func;
		bool dynsym;
	} funcs[] = { { NULL, "hot_c", false }, { NULL, "main", false },
		      { "/usr/lib/x86_64-linux-gnu/libc.so.6", "malloc", true },
		      { "/usr/lib/x86_64-linux-gnu/libc.so.6", "qsort_r", true },
		      { "/usr/lib/x86_64-linux-gnu/libc.so.6", "getaddrinfo", true },
		      { "/usr/lib/x86_64-linux-gnu/libc.so.6", "printf", true } };
	struct sym_map maps[ARRAY_SIZE(funcs)];
	uint64_t vaddrs[ARRAY_SIZE(funcs)], exec_vaddr[ARRAY_SIZE(funcs)];
	size_t nf = 0;
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++) {
		const char *path = funcs[i].path ? funcs[i].path : hot_path;
		if (access(path, R_OK) != 0)
			continue;
		struct elf_fixture f;
		elf_fixture_open(&f, path);
		struct dynsym_find a = { funcs[i].func, 0 };
		elf_fixture_syms(&f, funcs[i].dynsym, dynsym_match, &a);
		uint64_t exec_off;
		elf_fixture_exec_segment(&f, &exec_off, &exec_vaddr[nf]);
		elf_fixture_close(&f);
		if (!a.vaddr)
			continue;
		maps[nf] = (struct sym_map){ .path = path, .start = 0x7f0000000000ULL + (nf << 32) + exec_off,
					     .len = 1u << 30, .pgoff = exec_off };
		vaddrs[nf++] = a.vaddr;
	}
	ASSERT(nf >= 2);
	clear_cache();
	struct symbolizer *s = symbolizer_new();
	struct sym_code c[ARRAY_SIZE(funcs)];
	for (size_t i = 0; i < nf; i++) {
		struct cprof_err err;
		ASSERT_OK(symbolizer_code(s, &maps[i], vaddrs[i], 1u << 20, &c[i], &err));
		ASSERT(!c[i].from_cache);
		symbolizer_keep_code(s, &maps[i], &c[i], NULL, 0);
	}
	symbolizer_save_cache(s);
	uint64_t nentries = 0;
	char dir[128];
	snprintf(dir, sizeof dir, "%s/symbols", cache_dir);
	DIR *dp = opendir(dir);
	ASSERT(dp);
	for (struct dirent *de; (de = readdir(dp));) {
		if (strlen(de->d_name) != 16)
			continue;
		char path[300];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		uint8_t *buf;
		struct symcache_view v;
		read_cache_file(path, &buf, &v);
		nentries += v.nentries;
		free(buf);
	}
	closedir(dp);

	ASSERT(setenv("CPROF_SYMCACHE_VERIFY", "1", 1) == 0);
	struct symbolizer *v = symbolizer_new();
	uint64_t bytes = 0;
	for (size_t i = 0; i < nf; i++) {
		struct sym_code k;
		struct cprof_err err;
		ASSERT_OK(symbolizer_code(v, &maps[i], vaddrs[i], 1u << 20, &k, &err));
		ASSERT(k.from_cache && k.addrs_cached && !k.has_targets && k.targets.n == 0);
		sym_code_release(&k);
		for (uint32_t b = 0; b < c[i].len; b++) {
			struct sym_frame out[8];
			uint64_t ip = maps[i].start + (c[i].start + b - exec_vaddr[i]);
			ASSERT(symbolizer_user(v, &maps[i], ip, false, out, 8) >= 1);
			ASSERT(symbolizer_user(v, &maps[i], ip + 1, true, out, 8) >= 1);
		}
		bytes += c[i].len;
	}
	struct symbolizer_stats st;
	symbolizer_get_stats(v, &st);
	printf("%zu functions, %" PRIu64 " bytes kept as %" PRIu64 " entries: %" PRIu64 " hits, %" PRIu64
	       " resolved anew, %" PRIu64 " disagreements\n",
	       nf, bytes, nentries, st.symcache_hits, st.symcache_misses, st.symcache_mismatches);
	ASSERT_EQ(st.symcache_mismatches, 0);
	ASSERT_EQ(st.symcache_misses, 0);
	ASSERT_EQ(st.symcache_hits, 2 * bytes);
	ASSERT(nentries < bytes / 8);
	symbolizer_free(v);
	ASSERT(unsetenv("CPROF_SYMCACHE_VERIFY") == 0);
	for (size_t i = 0; i < nf; i++)
		sym_code_release(&c[i]);
	symbolizer_free(s);
}

/* The kernel's hot cache: the symbols looked up once are answered next
 * time, anywhere in their ranges, without loading the table; a damaged
 * file is ignored. */
TEST(kallsyms_hot_cache)
{
	clear_cache();
	struct kallsyms live = { 0 }, first = { 0 }, again_k = { 0 }, damaged = { 0 };
	(void)kallsyms_lookup(&live, 0xffffffff81000000ULL);
	if (!live.syms.n) {
		printf("kallsyms addresses hidden here: hot cache not checked\n");
		kallsyms_release(&live);
		return;
	}
	/* Symbols of the kernel proper, well inside the table. */
	uint64_t lo[40], hi[40];
	int n = 0;
	for (size_t i = live.syms.n / 4; i + 1 < live.syms.n && n < 40; i += live.syms.n / 97)
		if (live.syms.v[i].group == KSYM_CORE && live.syms.v[i + 1].group == KSYM_CORE &&
		    live.syms.v[i + 1].addr > live.syms.v[i].addr + 1) {
			lo[n] = live.syms.v[i].addr;
			hi[n++] = live.syms.v[i + 1].addr;
		}
	ASSERT(n >= 10);
	for (int i = 0; i < n; i++)
		ASSERT_STREQ(kallsyms_lookup(&first, lo[i] + (hi[i] - lo[i]) / 2), kallsyms_lookup(&live, lo[i]));
	kallsyms_save(&first);
	for (int i = 0; i < n; i++) {
		const char *want = kallsyms_lookup(&live, lo[i]);
		ASSERT_STREQ(kallsyms_lookup(&again_k, lo[i]), want);
		ASSERT_STREQ(kallsyms_lookup(&again_k, hi[i] - 1), want);
	}
	ASSERT_EQ(again_k.hot_hits, 2 * n);
	ASSERT(!again_k.loaded); /* the 5 MB table was never read */
	/* Just past a range: the table answers. */
	ASSERT_STREQ(kallsyms_lookup(&again_k, hi[0]), kallsyms_lookup(&live, hi[0]));
	ASSERT(again_k.loaded);
	/* A damaged hot file is not used, and the answers stay right. */
	char path[256];
	snprintf(path, sizeof path, "%s/kallsyms.hot", cache_dir);
	int fd = open(path, O_RDWR);
	ASSERT(fd >= 0);
	char c;
	ASSERT(pread(fd, &c, 1, 30) == 1);
	c ^= 4;
	ASSERT(pwrite(fd, &c, 1, 30) == 1);
	close(fd);
	ASSERT_STREQ(kallsyms_lookup(&damaged, lo[3] + 1), kallsyms_lookup(&live, lo[3]));
	ASSERT(damaged.hot_map == NULL && damaged.loaded);
	kallsyms_release(&live);
	kallsyms_release(&first);
	kallsyms_release(&again_k);
	kallsyms_release(&damaged);
	ASSERT(unlink(path) == 0);
	snprintf(path, sizeof path, "%s/kallsyms.v2", cache_dir);
	(void)unlink(path);
	snprintf(path, sizeof path, "%s/kallsyms.v2.ok", cache_dir);
	(void)unlink(path);
}

/* The checksum of a file read in pieces is the checksum of its bytes, for
 * sizes around a block (32) and a piece (1 MiB), from any offset; a
 * file shorter than asked is an error. */
TEST(checksum_of_a_file_in_pieces)
{
	const size_t sizes[] = { 0, 1, 31, 32, 33, 100, (1u << 20) - 1, 1u << 20, (1u << 20) + 33, (3u << 20) + 7 };
	size_t max = (3u << 20) + 7 + 64;
	uint8_t *data = xmalloc(max);
	for (size_t i = 0; i < max; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	char path[] = "/tmp/cprof-test-sum-XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, data, max), (long long)max);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		for (uint64_t off = 0; off < 64; off += 40) {
			uint64_t h = 0;
			ASSERT_OK(sym_checksum_fd(fd, off, sizes[i], 77, &h));
			ASSERT_EQ(h, sym_checksum(77, data + off, sizes[i]));
		}
	uint64_t h;
	ASSERT(sym_checksum_fd(fd, 10, max, 77, &h) < 0);
	close(fd);
	unlink(path);
	free(data);
}

int main(int argc, char **argv)
{
	if (argc < 6)
		SKIP("usage: test-symcache HOT PROG PROG-DEBUG ZPROG ZPROG-DEBUG");
	hot_path = argv[1];
	prog_path = argv[2];
	prog_debug = argv[3];
	zprog_path = argv[4];
	zprog_debug = argv[5];
	snprintf(cache_dir, sizeof cache_dir, "/tmp/cprof-symcache.XXXXXX");
	ASSERT(mkdtemp(cache_dir));
	ASSERT(setenv("CPROF_CACHE_DIR", cache_dir, 1) == 0);
	ASSERT(unsetenv("CPROF_SYMCACHE_VERIFY") == 0);
	static const struct test_case cases[] = { T(second_run_from_the_cache), T(verify_catches_a_wrong_answer),
						  T(damaged_files_are_ignored), T(stamped_files_are_not_checked_again),
						  T(debug_file_installed_later),
						  T(compressed_debug_file_copy), T(kept_code_and_prefilled_addresses),
						  T(kept_functions_answer_every_address),
						  T(kallsyms_hot_cache),
						  T(checksum_of_a_file_in_pieces) };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
	}
	clear_cache();
	char sub[128];
	snprintf(sub, sizeof sub, "%s/symbols", cache_dir);
	(void)rmdir(sub);
	ASSERT(rmdir(cache_dir) == 0);
	printf("%zu cases passed\n", ARRAY_SIZE(cases));
	return 0;
}
