/*
 * test-base.c - the building blocks of src/base, table-driven: sbuf and its
 * invariants (buf never NULL, always NUL-terminated), VEC, tmpfile (a
 * temporary name renamed into place, removed on abort), outfile (regular
 * files replaced, a device or FIFO written in place), u64map, and JSON and
 * CSV escaping of arbitrary bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/base.h"
#include "cprof/json.h"
#include "cprof/outfile.h"
#include "cprof/output.h"
#include "cprof/tmpfile.h"
#include "cprof/u64map.h"
#include "harness.h"

/* The invariants every sbuf keeps between calls. */
static void sbuf_ok(const struct sbuf *sb)
{
	ASSERT(sb->buf != NULL);
	ASSERT_EQ(sb->buf[sb->len], 0);
	ASSERT(sb->cap == 0 ? sb->len == 0 : sb->len < sb->cap);
}

TEST(sbuf_table)
{
	/* Each row: pieces added in order ('f' = sbuf_addf("%s|%d"), 'c' = one
	 * char, 's' = sbuf_adds, 'r' = reset), and the resulting string. */
	static const struct {
		const char *ops;
		const char *args[4];
		const char *want;
	} rows[] = {
		{ "", { NULL }, "" },
		{ "s", { "abc" }, "abc" },
		{ "ss", { "", "" }, "" },
		{ "sc", { "ab", "c" }, "abc" },
		{ "fs", { "x", "y" }, "x|1y" },
		{ "srs", { "gone", "", "kept" }, "kept" },
		{ "sr", { "gone", "" }, "" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sbuf sb = SBUF_INIT;
		sbuf_ok(&sb);
		for (size_t k = 0; rows[i].ops[k]; k++) {
			const char *a = rows[i].args[k];
			switch (rows[i].ops[k]) {
			case 's': sbuf_adds(&sb, a); break;
			case 'c': sbuf_addc(&sb, a[0]); break;
			case 'f': sbuf_addf(&sb, "%s|%d", a, 1); break;
			case 'r': sbuf_reset(&sb); break;
			}
			sbuf_ok(&sb);
		}
		ASSERT_STREQ(sb.buf, rows[i].want);
		ASSERT_EQ(sb.len, strlen(rows[i].want));
		sbuf_release(&sb);
		sbuf_ok(&sb);
		ASSERT_EQ(sb.len, 0);
	}
}

TEST(sbuf_growth_and_bytes)
{
	struct sbuf sb = SBUF_INIT;
	/* Binary data with NULs inside: len counts them, the NUL still ends it. */
	sbuf_add(&sb, "a\0b", 3);
	sbuf_ok(&sb);
	ASSERT_EQ(sb.len, 3);
	ASSERT(memcmp(sb.buf, "a\0b", 4) == 0);
	/* A formatted piece far larger than any first allocation. */
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	sbuf_addf(&sb, "[%s]", big);
	sbuf_ok(&sb);
	ASSERT_EQ(sb.len, 3 + 2 + 4999);
	ASSERT_EQ(sb.buf[sb.len - 1], ']');
	ASSERT_EQ(sb.buf[5], 'x');
	/* Many small appends. */
	sbuf_reset(&sb);
	size_t cap = sb.cap;
	ASSERT(cap > 0); /* reset keeps the allocation */
	for (int i = 0; i < 10000; i++)
		sbuf_addc(&sb, (char)('a' + i % 26));
	sbuf_ok(&sb);
	ASSERT_EQ(sb.len, 10000);
	ASSERT_EQ(sb.buf[9999], 'a' + 9999 % 26);
	/* detach hands over the string and leaves an empty sbuf. */
	char *s = sbuf_detach(&sb);
	sbuf_ok(&sb);
	ASSERT_EQ(sb.len, 0);
	ASSERT_EQ(strlen(s), 10000);
	free(s);
	/* Detaching an sbuf that never allocated gives a string to free too. */
	s = sbuf_detach(&sb);
	ASSERT_STREQ(s, "");
	free(s);
}

/* The warning channel: lines reach the sink's fn with its ctx, formatted
 * and made one line; no sink, or a sink without fn, drops them. */
static void collect_note(void *ctx, const char *line)
{
	sbuf_addf(ctx, "[%s]", line);
}

TEST(note_sink)
{
	struct sbuf got = SBUF_INIT;
	struct note_sink s = { collect_note, &got };
	notef(&s, "%d lines in '%s'", 3, "a.folded");
	notef(&s, "two\nlines\tand a tab");
	notef(NULL, "dropped");
	notef(&(struct note_sink){ NULL, &got }, "dropped too");
	ASSERT_STREQ(got.buf, "[3 lines in 'a.folded'][two?lines?and a tab]");
	sbuf_release(&got);
}

TEST(vec)
{
	VEC(int) v = { 0 };
	for (int i = 0; i < 100000; i++) {
		vec_push(&v, i * 3);
		ASSERT(v.n <= v.cap);
	}
	ASSERT_EQ(v.n, 100000);
	for (int i = 0; i < 100000; i++)
		ASSERT_EQ(v.v[i], i * 3);
	vec_release(&v);
	ASSERT(v.v == NULL);
	ASSERT_EQ(v.n, 0);
	ASSERT_EQ(v.cap, 0);

	/* Elements larger than a word, and reserve ahead of the pushes. */
	struct pt { uint64_t a, b, c; };
	VEC(struct pt) p = { 0 };
	vec_reserve(&p, 1000);
	ASSERT(p.cap >= 1000);
	struct pt *before = p.v;
	for (uint64_t i = 0; i < 1000; i++)
		vec_push(&p, ((struct pt){ i, ~i, i * i }));
	ASSERT(p.v == before); /* reserved: no reallocation */
	ASSERT_EQ(p.v[999].c, 999 * 999);
	ASSERT(p.v[7].b == ~(uint64_t)7);
	vec_release(&p);
}

/* A fresh empty directory for the file tests. */
static char *scratch_dir(void)
{
	char *d = xstrdup("/tmp/cprof-test-base.XXXXXX");
	ASSERT(mkdtemp(d) != NULL);
	return d;
}

/* Names in dir, sorted into one comma list ("a,b.tmp.x"). */
static char *listing(const char *dir)
{
	DIR *d = opendir(dir);
	ASSERT(d);
	VEC(char *) names = { 0 };
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			vec_push(&names, xstrdup(e->d_name));
	closedir(d);
	/* insertion sort: a handful of names */
	for (size_t i = 1; i < names.n; i++)
		for (size_t k = i; k > 0 && strcmp(names.v[k - 1], names.v[k]) > 0; k--) {
			char *t = names.v[k];
			names.v[k] = names.v[k - 1];
			names.v[k - 1] = t;
		}
	struct sbuf sb = SBUF_INIT;
	for (size_t i = 0; i < names.n; i++) {
		sbuf_addf(&sb, "%s%s", i ? "," : "", names.v[i]);
		free(names.v[i]);
	}
	vec_release(&names);
	return sbuf_detach(&sb);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct sbuf sb = SBUF_INIT;
	char buf[256];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_add(&sb, buf, n);
	fclose(f);
	return sbuf_detach(&sb);
}

#define ASSERT_LISTING(dir, want) do { char *l_ = listing(dir); ASSERT_STREQ(l_, want); free(l_); } while (0)
#define ASSERT_CONTENT(path, want) do { char *c_ = slurp(path); ASSERT_STREQ(c_, want); free(c_); } while (0)

TEST(tmpfile)
{
	char *dir = scratch_dir();
	char path[512], old[512];
	snprintf(path, sizeof path, "%s/out", dir);
	snprintf(old, sizeof old, "%s/out.old", dir);
	struct cprof_err err = { 0 };
	struct tmpfile t;

	/* Written under a temporary name beside the final one, renamed on commit. */
	ASSERT_OK(tmpfile_open(&t, path, &err));
	ASSERT(strncmp(t.tmp_path, path, strlen(path)) == 0);
	ASSERT(strstr(t.tmp_path, ".tmp."));
	ASSERT(access(path, F_OK) != 0);
	ASSERT(access(t.tmp_path, F_OK) == 0);
	fputs("first", t.fp);
	ASSERT_OK(tmpfile_commit(&t, NULL, &err));
	ASSERT_LISTING(dir, "out");
	ASSERT_CONTENT(path, "first");

	/* Abort: the temporary file goes, the final file is untouched. */
	ASSERT_OK(tmpfile_open(&t, path, &err));
	fputs("half", t.fp);
	tmpfile_abort(&t);
	ASSERT_LISTING(dir, "out");
	ASSERT_CONTENT(path, "first");
	tmpfile_abort(&t); /* twice is harmless */

	/* keep_old: the previous file stays under a second name. */
	ASSERT_OK(tmpfile_open(&t, path, &err));
	fputs("second", t.fp);
	ASSERT_OK(tmpfile_commit(&t, old, &err));
	tmpfile_abort(&t); /* after commit: a no-op */
	ASSERT_LISTING(dir, "out,out.old");
	ASSERT_CONTENT(path, "second");
	ASSERT_CONTENT(old, "first");

	/* A cache file: replaced the same way (no fsync), no second name. */
	ASSERT_OK(tmpfile_open(&t, path, &err));
	fputs("cached", t.fp);
	ASSERT_OK(tmpfile_commit_cache(&t, &err));
	ASSERT_LISTING(dir, "out,out.old");
	ASSERT_CONTENT(path, "cached");
	ASSERT_EQ(tmpfile_commit_cache(&t, &err), -EINVAL); /* committed already */

	/* A directory that does not exist: an error naming the path. */
	char bad[600];
	snprintf(bad, sizeof bad, "%s/no/such/out", dir);
	ASSERT(tmpfile_open(&t, bad, &err) < 0);
	ASSERT(strstr(err.msg, "no/such/out"));

	unlink(path);
	unlink(old);
	ASSERT_OK(rmdir(dir));
	free(dir);
}

TEST(outfile)
{
	char *dir = scratch_dir();
	char path[512], fifo[512], link[512];
	snprintf(path, sizeof path, "%s/out", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	struct cprof_err err = { 0 };
	struct outfile o;

	/* What each path is. */
	static const struct {
		const char *path;
		enum outfile_kind kind;
	} kinds[] = {
		{ "-", OUTFILE_STDIO },
		{ "/dev/null", OUTFILE_DIRECT },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		ASSERT_OK(outfile_open(&o, kinds[i].path, 0, &err));
		ASSERT_EQ(o.kind, kinds[i].kind);
		outfile_abort(&o);
	}
	/* stdout refused where the caller says so; a directory always. */
	ASSERT(outfile_open(&o, "-", OUTFILE_NO_STDIO, &err) < 0);
	/* OUTFILE_NO_STDERR leaves stdout (record -o -), and says which it is. */
	ASSERT_OK(outfile_open(&o, "-", OUTFILE_NO_STDERR, &err));
	ASSERT_EQ(o.kind, OUTFILE_STDIO);
	ASSERT_EQ(o.stdio_fd, STDOUT_FILENO);
	outfile_abort(&o);
	ASSERT(outfile_open(&o, "/proc/self/fd/2", OUTFILE_NO_STDERR, &err) < 0 || o.kind != OUTFILE_STDIO ||
	       o.stdio_fd != STDERR_FILENO);
	if (o.fp)
		outfile_abort(&o);
	ASSERT(outfile_open(&o, dir, 0, &err) < 0);
	ASSERT(strstr(err.msg, dir));

	/* A regular file: a temporary file until commit. */
	ASSERT_OK(outfile_open(&o, path, 0, &err));
	ASSERT_EQ(o.kind, OUTFILE_REPLACE);
	fputs("data", o.fp);
	{
		char *l = listing(dir);
		ASSERT(strncmp(l, "out.tmp.", 8) == 0 && !strchr(l, ','));
		free(l);
	}
	ASSERT_OK(outfile_commit(&o, &err));
	ASSERT_LISTING(dir, "out");
	ASSERT_CONTENT(path, "data");

	/* Abort removes the temporary file and leaves the old content. */
	ASSERT_OK(outfile_open(&o, path, 0, &err));
	fputs("partial", o.fp);
	outfile_abort(&o);
	ASSERT_LISTING(dir, "out");
	ASSERT_CONTENT(path, "data");

	/* Through a symbolic link: the target is replaced, the link stays. */
	ASSERT_OK(symlink("out", link));
	ASSERT_OK(outfile_open(&o, link, 0, &err));
	fputs("via link", o.fp);
	ASSERT_OK(outfile_commit(&o, &err));
	struct stat st;
	ASSERT_OK(lstat(link, &st));
	ASSERT(S_ISLNK(st.st_mode));
	ASSERT_CONTENT(path, "via link");
	ASSERT_OK(unlink(link));

	/* A FIFO is written in place: no temporary file, never replaced. */
	ASSERT_OK(mkfifo(fifo, 0600));
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ASSERT(rd >= 0);
	ASSERT_OK(outfile_open(&o, fifo, 0, &err));
	ASSERT_EQ(o.kind, OUTFILE_DIRECT);
	ASSERT_LISTING(dir, "fifo,out");
	fputs("through the pipe", o.fp);
	ASSERT_OK(outfile_commit(&o, &err));
	char buf[64] = { 0 };
	ASSERT_EQ(read(rd, buf, sizeof buf - 1), 16);
	ASSERT_STREQ(buf, "through the pipe");
	close(rd);
	ASSERT_OK(lstat(fifo, &st));
	ASSERT(S_ISFIFO(st.st_mode));

	unlink(fifo);
	unlink(path);
	ASSERT_OK(rmdir(dir));
	free(dir);
}

TEST(u64map)
{
	struct u64map m = U64MAP_INIT;
	ASSERT_EQ(u64map_get(&m, 0), -1); /* empty, never allocated */
	/* Edge keys, and keys that differ only in high bits. */
	static const uint64_t keys[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 32, 1ull << 63, (1ull << 63) | 1 };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		u64map_put(&m, keys[i], (uint32_t)i);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ASSERT_EQ(u64map_get(&m, keys[i]), (int64_t)i);
	ASSERT_EQ(u64map_get(&m, 2), -1);
	/* Overwrite keeps one entry. */
	size_t n = m.n;
	u64map_put(&m, UINT64_MAX, 77);
	ASSERT_EQ(m.n, n);
	ASSERT_EQ(u64map_get(&m, UINT64_MAX), 77);
	/* Growth through many rehashes; the largest value allowed. */
	for (uint64_t k = 0; k < 100000; k++)
		u64map_put(&m, k * 0x9e3779b97f4a7c15ull + 12345, (uint32_t)k);
	for (uint64_t k = 0; k < 100000; k++)
		ASSERT_EQ(u64map_get(&m, k * 0x9e3779b97f4a7c15ull + 12345), (int64_t)k);
	u64map_put(&m, 42, UINT32_MAX - 1);
	ASSERT_EQ(u64map_get(&m, 42), (int64_t)UINT32_MAX - 1);
	ASSERT_EQ(u64map_get(&m, 1ull << 63), 5);
	u64map_release(&m);
	ASSERT_EQ(u64map_get(&m, 1), -1);
}

/* Deletion against a plain array, over keys that crowd a few homes (so
 * that probe chains wrap around the table's end and cross each other):
 * every key present is found with its value, every other is not, and the
 * count follows; a table that churns through many more keys than it ever
 * holds at once does not grow. */
TEST(u64map_deletion)
{
	enum { KEYS = 600 };
	static int64_t want[KEYS];
	struct u64map m = U64MAP_INIT;
	ASSERT_EQ(u64map_del(&m, 5), -1); /* never allocated */
	for (size_t k = 0; k < KEYS; k++)
		want[k] = -1;
	uint64_t x = 88172645463325252ull;
	size_t n = 0;
	for (int step = 0; step < 200000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t k = (size_t)(x % KEYS);
		/* Keys 1 << 44 apart share their low bits; the hash spreads them,
		 * but small tables fold many onto the same few slots. */
		uint64_t key = (uint64_t)k << 44 | (k & 3);
		if (x >> 63) {
			uint32_t v = (uint32_t)(x >> 32) & 0xffffff;
			if (want[k] < 0)
				n++;
			u64map_put(&m, key, v);
			want[k] = v;
		} else {
			ASSERT_EQ(u64map_del(&m, key), want[k]);
			if (want[k] >= 0)
				n--;
			want[k] = -1;
		}
		ASSERT_EQ(m.n, n);
		if (step % 997 == 0)
			for (size_t j = 0; j < KEYS; j++)
				ASSERT_EQ(u64map_get(&m, (uint64_t)j << 44 | (j & 3)), want[j]);
	}
	for (size_t j = 0; j < KEYS; j++)
		ASSERT_EQ(u64map_get(&m, (uint64_t)j << 44 | (j & 3)), want[j]);
	ASSERT(m.cap <= 2048);
	u64map_release(&m);
	/* Churn: one key in, one out, a million times. */
	for (uint64_t k = 0; k < 1000000; k++) {
		u64map_put(&m, k, (uint32_t)k);
		if (k >= 8)
			ASSERT_EQ(u64map_del(&m, k - 8), (int64_t)(k - 8));
	}
	ASSERT_EQ(m.n, 8);
	ASSERT(m.cap <= 32 * 8);
	for (uint64_t k = 1000000 - 8; k < 1000000; k++)
		ASSERT_EQ(u64map_get(&m, k), (int64_t)k);
	ASSERT_EQ(u64map_get(&m, 1000000 - 9), -1);
	u64map_release(&m);
}

TEST(json_escaping)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "\"\"" },
		{ "main", "\"main\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "C:\\path", "\"C:\\\\path\"" },
		{ "a\nb\tc\rd", "\"a\\nb\\tc\\rd\"" },
		{ "\x01\x1f", "\"\\u0001\\u001f\"" },
		{ "\x7f", "\"\x7f\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },                /* é passes through */
		{ "\xf0\x9f\x94\xa5", "\"\xf0\x9f\x94\xa5\"" },      /* 4-byte sequence */
		{ "a\xff" "b", "\"a\\ufffdb\"" },                    /* not UTF-8 */
		{ "\xc3", "\"\\ufffd\"" },                           /* cut short */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },                /* overlong */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },     /* surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sbuf sb = SBUF_INIT;
		json_string_sbuf(&sb, rows[i].in);
		ASSERT_STREQ(sb.buf, rows[i].want);
		/* The FILE writer says the same. */
		char *mem = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&mem, &len);
		ASSERT(f);
		json_string(f, rows[i].in);
		ASSERT_EQ(fclose(f), 0);
		ASSERT_STREQ(mem, rows[i].want);
		free(mem);
		/* It parses, and valid UTF-8 comes back as it went in. */
		struct json j;
		struct cprof_err err = { 0 };
		ASSERT_OK(json_parse(&j, sb.buf, sb.len, "row", &err));
		ASSERT_EQ(j.type, JSON_STRING);
		if (!strstr(rows[i].want, "\\ufffd"))
			ASSERT_STREQ(j.str, rows[i].in);
		else
			ASSERT(strstr(j.str, "\xef\xbf\xbd")); /* U+FFFD */
		json_release(&j);
		sbuf_release(&sb);
	}
}

TEST(csv_quoting)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"x\"", "\"say \"\"x\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ "operator<(a, b)", "\"operator<(a, b)\"" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *mem = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&mem, &len);
		ASSERT(f);
		csv_field(f, rows[i].in);
		ASSERT_EQ(fclose(f), 0);
		ASSERT_STREQ(mem, rows[i].want);
		free(mem);
	}
}

/* One search for the helper libraries: the override, then beside the
 * binary, then its build-tree subfolder, then the installed folder. */
TEST(helper_lib_find)
{
	char exe[4096], path[8300], sub[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ASSERT(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	const char *name = "libcprof-test-helper.so";
	/* Nowhere: NULL, with or without an override variable unset. */
	unsetenv("CPROF_TEST_HELPER");
	ASSERT(helper_lib_find(name, "CPROF_TEST_HELPER", "sub", NULL) == NULL);
	/* In the build tree's subfolder. */
	snprintf(sub, sizeof sub, "%s/helper-sub.%d", exe, (int)getpid());
	ASSERT(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof path, "%s/%s", sub, name);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	ASSERT(fd >= 0);
	close(fd);
	char *f = helper_lib_find(name, "CPROF_TEST_HELPER", strrchr(sub, '/') + 1, NULL);
	ASSERT(f && strcmp(f, path) == 0);
	free(f);
	/* The installed folder, when nothing is beside the binary. */
	f = helper_lib_find(name, NULL, NULL, sub);
	ASSERT(f && strcmp(f, path) == 0);
	free(f);
	/* The override wins, and must be readable. */
	ASSERT(setenv("CPROF_TEST_HELPER", path, 1) == 0);
	f = helper_lib_find("other.so", "CPROF_TEST_HELPER", NULL, NULL);
	ASSERT(f && strcmp(f, path) == 0);
	free(f);
	ASSERT(setenv("CPROF_TEST_HELPER", "/nonexistent/x.so", 1) == 0);
	ASSERT(helper_lib_find(name, "CPROF_TEST_HELPER", strrchr(sub, '/') + 1, sub) == NULL);
	unsetenv("CPROF_TEST_HELPER");
	ASSERT(unlink(path) == 0 && rmdir(sub) == 0);
}

/* pread_full: all of it from any offset, the end of the file told apart
 * from an error, a pipe (no pread) an error. */
TEST(pread_full)
{
	char path[] = "/tmp/cprof-test-pread-XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, "0123456789", 10), 10);
	char buf[16] = { 0 };
	ASSERT_EQ(pread_full(fd, buf, 4, 3), 0);
	ASSERT(memcmp(buf, "3456", 4) == 0);
	ASSERT_EQ(pread_full(fd, buf, 0, 100), 0);
	ASSERT_EQ(pread_full(fd, buf, 8, 5), -ENODATA);
	close(fd);
	unlink(path);
	int p[2];
	ASSERT(pipe(p) == 0);
	ASSERT_EQ(pread_full(p[0], buf, 1, 0), -ESPIPE);
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(pread_full(-1, buf, 1, 0), -EBADF);
}

RUN_TESTS(T(pread_full), T(sbuf_table), T(sbuf_growth_and_bytes), T(note_sink), T(vec), T(tmpfile), T(outfile), T(u64map), T(u64map_deletion), T(json_escaping),
	  T(csv_quoting), T(helper_lib_find))
