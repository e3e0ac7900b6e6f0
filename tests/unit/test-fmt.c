/* test-fmt.c - the formatters, the XML escaper and the whole-file reader of base. */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "cprof/base.h"
#include "cprof/fmt.h"
#include "harness.h"

TEST(counts_and_sizes)
{
	static const struct { uint64_t v; const char *thousands, *size, *size_si; } cases[] = {
		{ 0, "0", "0 B", "0 B" },
		{ 999, "999", "999 B", "999 B" },
		{ 1000, "1,000", "1000 B", "1.00 KB" },
		{ 1023, "1,023", "1023 B", "1.02 KB" },
		{ 1024, "1,024", "1.0 KiB", "1.02 KB" },
		{ 1536, "1,536", "1.5 KiB", "1.54 KB" },
		{ 999999, "999,999", "976.6 KiB", "1000.00 KB" }, /* rounds up, the unit stays */
		{ 1000000, "1,000,000", "976.6 KiB", "1.00 MB" },
		{ 1048575, "1,048,575", "1024.0 KiB", "1.05 MB" },
		{ 1048576, "1,048,576", "1.0 MiB", "1.05 MB" },
		{ 5101773, "5,101,773", "4.9 MiB", "5.10 MB" },
		{ 1000000000, "1,000,000,000", "953.7 MiB", "1.00 GB" },
		{ 1ULL << 30, "1,073,741,824", "1.0 GiB", "1.07 GB" },
		{ 3ULL << 40, "3,298,534,883,328", "3.0 TiB", "3298.53 GB" },
		{ 5ULL << 50, "5,629,499,534,213,120", "5120.0 TiB", "5629499.53 GB" },
		{ UINT64_MAX, "18,446,744,073,709,551,615", "16777216.0 TiB", "18446744073.71 GB" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[FMT_BUF];
		ASSERT_STREQ(fmt_thousands(cases[i].v, buf), cases[i].thousands);
		ASSERT_STREQ(fmt_size(cases[i].v, buf), cases[i].size);
		ASSERT_STREQ(fmt_size_si(cases[i].v, buf), cases[i].size_si);
	}
}

TEST(times)
{
	static const struct { uint64_t ns; const char *s; } whole[] = {
		{ 0, "0 ns" }, { 999, "999 ns" }, { 1000, "1.00 us" }, { 12345, "12.35 us" },
		{ 999999, "1000.00 us" }, { 12500000, "12.50 ms" }, { 999999999, "1000.00 ms" }, { 1000000000, "1.00 s" }, { 3600000000000, "3600.00 s" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(whole); i++) {
		char buf[FMT_BUF];
		ASSERT_STREQ(fmt_ns(whole[i].ns, buf), whole[i].s);
	}
	static const struct { double ns; const char *s; } mean[] = {
		{ 0, "0.0 ns" }, { 12.54, "12.5 ns" }, { -12.54, "-12.5 ns" }, { 999.9, "999.9 ns" }, { 1000, "1.00 us" },
		{ -2500, "-2.50 us" }, { 12.5e6, "12.50 ms" }, { 1.2345e9, "1.234 s" }, { -2e9, "-2.000 s" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(mean); i++) {
		char buf[FMT_BUF];
		ASSERT_STREQ(fmt_ns_mean(mean[i].ns, buf), mean[i].s);
	}
	static const struct { double s; const char *out; } shrt[] = {
		{ 0, "0 s" }, { 100, "100 s" }, { 1234.5, "1234 s" }, { 1.25, "1.25 s" }, { 0.0125, "12.5 ms" },
		{ 250e-6, "250 \u00b5s" }, { 30e-9, "30 ns" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(shrt); i++) {
		char buf[FMT_BUF];
		ASSERT_STREQ(fmt_seconds_short(shrt[i].s, buf), shrt[i].out);
	}
}

TEST(errno_names)
{
	char buf[FMT_BUF];
	ASSERT_STREQ(fmt_errno(ENOENT, buf), "ENOENT");
	ASSERT_STREQ(fmt_errno(EAGAIN, buf), "EAGAIN");
	ASSERT_STREQ(fmt_errno(4000, buf), "E4000"); /* no such errno */
	ASSERT_STREQ(buf, "E4000");
}

TEST(xml_escape)
{
	static const struct { const char *in; size_t max; const char *out; size_t chars; } cases[] = {
		{ "plain", 0, "plain", 5 },
		{ "a<b>&\"c\"", 0, "a&lt;b&gt;&amp;&quot;c&quot;", 8 },
		{ "std::vector<int>::push_back", 0, "std::vector&lt;int&gt;::push_back", 27 },
		{ "tab\there", 0, "tab\there", 8 },
		{ "nl\nbell\a", 0, "nl?bell?", 8 },
		{ "caf\xc3\xa9", 0, "caf\xc3\xa9", 4 },	 /* UTF-8 kept */
		{ "bad\xff\xc3", 0, "bad??", 5 },		 /* invalid and cut short */
		{ "\xed\xa0\x80", 0, "???", 3 },		 /* a surrogate */
		{ "abcdef", 3, "abc", 3 },
		{ "\xc3\xa9\xc3\xa9<x", 3, "\xc3\xa9\xc3\xa9&lt;", 3 }, /* max counts characters */
		{ "", 0, "", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&buf, &len);
		ASSERT(fp);
		size_t chars = xml_escape(fp, cases[i].in, strlen(cases[i].in), cases[i].max);
		ASSERT_EQ(fclose(fp), 0);
		ASSERT_STREQ(buf, cases[i].out);
		ASSERT_EQ(chars, cases[i].chars);
		free(buf);
	}
}

/* fmt_fixed against snprintf's "%.*f" on v, at every precision it takes. */
static void check_fixed(double v)
{
	for (int prec = 0; prec <= 9; prec++) {
		char want[512], got[FMT_FIXED_BUF];
		int n = snprintf(want, sizeof want, "%.*f", prec, v);
		size_t len = fmt_fixed(got, v, prec);
		if (strcmp(got, want) != 0 || len != (size_t)n)
			FAIL_("fmt_fixed(%a, %d): '%s', snprintf: '%s'", v, prec, got, want);
	}
}

static uint64_t mix_state = 0x9E3779B97F4A7C15ULL;
static uint64_t mix_next(void)
{
	uint64_t z = (mix_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

TEST(fixed_decimals)
{
	static const double fixed[] = {
		0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 0.05, 0.005, 0.0005, 0.125, 0.375, 0.0625, -0.0001, 1e-300,
		4.9406564584124654e-324, 2.2250738585072014e-308, 0.1, 0.2, 0.3, 1.005, 2.675, 1.0005, 9.9995,
		99.95, 999.9995, 0x1p52, 0x1p52 + 0.5, 0x1p53 - 1, 0x1p53, 0x1p53 + 2, 1e15, 1e16, 1e20, 1e300,
		-1e20, 1.7976931348623157e308, 1180.0, 1190.0, 10.0, 1e-7, 0.45, 0.55, 1234567.8915,
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		check_fixed(fixed[i]);
	check_fixed(INFINITY);
	check_fixed(-INFINITY);
	check_fixed(NAN);
	/* Ties at every precision: odd multiples of 2^-j, exact in binary. */
	for (int j = 1; j <= 40; j++)
		for (uint64_t k = 1; k < 400; k += 2) {
			check_fixed(ldexp((double)k, -j));
			check_fixed(-ldexp((double)k, -j));
			check_fixed(ldexp((double)(k + (mix_next() >> 20)), -j));
		}
	/* Near decimal boundaries: x / 10^p and its neighbours. */
	for (int p = 0; p <= 9; p++)
		for (int i = 0; i < 3000; i++) {
			double x = (double)(mix_next() >> (12 + (i % 40))) / pow(10, p);
			check_fixed(x);
			check_fixed(nextafter(x, 0));
			check_fixed(nextafter(x, INFINITY));
			check_fixed(x + 0.5 / pow(10, p));
		}
	/* Any bits at all: every exponent, both signs. */
	for (int i = 0; i < 20000; i++) {
		uint64_t b = mix_next();
		double v;
		memcpy(&v, &b, sizeof v);
		check_fixed(v);
	}
	/* Mostly, the range a picture uses. */
	for (int i = 0; i < 100000; i++) {
		uint64_t b = mix_next();
		check_fixed(ldexp((double)(b >> 11), -(int)(b % 64)));
	}
}

static char *write_temp(const char *data, size_t len)
{
	char *path = xstrdup("/tmp/cprof-test-fmt-XXXXXX");
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, data, len), (long long)len);
	ASSERT_EQ(close(fd), 0);
	return path;
}

TEST(file_read)
{
	/* sizes around the reader's 64 KiB steps, bytes with NULs in them */
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 200000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *data = xmalloc(sizes[i] + 1);
		for (size_t j = 0; j < sizes[i]; j++)
			data[j] = (char)(j * 31 % 251);
		char *path = write_temp(data, sizes[i]);
		struct sbuf sb = SBUF_INIT;
		sbuf_adds(&sb, "kept:"); /* it appends */
		struct cprof_err err = { 0 };
		ASSERT_OK(file_read(path, &sb, 0, &err));
		ASSERT_EQ(sb.len, 5 + sizes[i]);
		ASSERT(memcmp(sb.buf, "kept:", 5) == 0 && memcmp(sb.buf + 5, data, sizes[i]) == 0);
		ASSERT_EQ(sb.buf[sb.len], 0);
		sbuf_reset(&sb);
		/* a limit: at it is fine, one byte under it fails */
		ASSERT_OK(file_read(path, &sb, sizes[i] ? sizes[i] : 1, &err));
		if (sizes[i] > 1) { /* (a limit of 0 is none) */
			sbuf_reset(&sb);
			ASSERT_EQ(file_read(path, &sb, sizes[i] - 1, &err), -EFBIG);
			ASSERT(strstr(err.msg, path) && strstr(err.msg, "larger than"));
		}
		sbuf_release(&sb);
		ASSERT_EQ(unlink(path), 0);
		free(path);
		free(data);
	}
}

TEST(file_read_errors_and_proc)
{
	struct sbuf sb = SBUF_INIT;
	struct cprof_err err = { 0 };
	ASSERT_EQ(file_read("/nonexistent/cprof-x", &sb, 0, &err), -ENOENT);
	ASSERT_STREQ(err.msg, "cannot open '/nonexistent/cprof-x': No such file or directory");
	ASSERT_EQ(file_read("/", &sb, 0, &err), -EISDIR);
	ASSERT_STREQ(err.msg, "cannot read '/': Is a directory");
	ASSERT_EQ(file_read("/", &sb, 0, NULL), -EISDIR); /* no error wanted */
	/* /proc files say they are empty and are not */
	ASSERT_OK(file_read("/proc/self/status", &sb, 0, &err));
	ASSERT(sb.len > 0 && strstr(sb.buf, "Pid:"));
	sbuf_release(&sb);
	/* a pipe, through stream_read */
	FILE *fp = popen("head -c 300000 /dev/zero", "r");
	ASSERT(fp);
	ASSERT_OK(stream_read(fp, "<pipe>", &sb, 0, &err));
	ASSERT_EQ(pclose(fp), 0);
	ASSERT_EQ(sb.len, 300000);
	sbuf_release(&sb);
}

RUN_TESTS(T(counts_and_sizes), T(times), T(errno_names), T(fixed_decimals), T(xml_escape), T(file_read),
	  T(file_read_errors_and_proc))
