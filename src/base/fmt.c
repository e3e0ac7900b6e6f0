/* fmt.c - numbers, sizes and times for the outputs, and the XML escaper;
 * the unit convention is in fmt.h. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cprof/base.h"
#include "cprof/fmt.h"

const char *fmt_thousands(uint64_t v, char *buf)
{
	char tmp[FMT_BUF];
	int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
	int o = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

/* v in the largest of unit[0..n) it reaches, each unit step times the one
 * before: below unit[1] a whole number, above it with decimals digits.
 * (The divisor is a product of steps, exact in a double, so v is divided
 * once and rounded once.) */
static const char *scaled(uint64_t v, double step, const char *const *unit, size_t n, int decimals, char *buf)
{
	double div = 1;
	size_t u = 0;
	while (u + 1 < n && (double)v >= div * step) {
		div *= step;
		u++;
	}
	if (u == 0)
		snprintf(buf, FMT_BUF, "%" PRIu64 " %s", v, unit[0]);
	else
		snprintf(buf, FMT_BUF, "%.*f %s", decimals, (double)v / div, unit[u]);
	return buf;
}

const char *fmt_size(uint64_t bytes, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	return scaled(bytes, 1024, unit, ARRAY_SIZE(unit), 1, buf);
}

const char *fmt_size_si(uint64_t bytes, char *buf)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB" };
	return scaled(bytes, 1000, unit, ARRAY_SIZE(unit), 2, buf);
}

const char *fmt_ns(uint64_t ns, char *buf)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	return scaled(ns, 1000, unit, ARRAY_SIZE(unit), 2, buf);
}

const char *fmt_ns_mean(double ns, char *buf)
{
	double a = fabs(ns);
	if (a < 1e3)
		snprintf(buf, FMT_BUF, "%.1f ns", ns);
	else if (a < 1e6)
		snprintf(buf, FMT_BUF, "%.2f us", ns / 1e3);
	else if (a < 1e9)
		snprintf(buf, FMT_BUF, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, FMT_BUF, "%.3f s", ns / 1e9);
	return buf;
}

const char *fmt_seconds_short(double s, char *buf)
{
	if (s >= 100 || s == 0)
		snprintf(buf, FMT_BUF, "%.0f s", s);
	else if (s >= 1)
		snprintf(buf, FMT_BUF, "%.3g s", s);
	else if (s >= 1e-3)
		snprintf(buf, FMT_BUF, "%.3g ms", s * 1e3);
	else if (s >= 1e-6)
		snprintf(buf, FMT_BUF, "%.3g \u00b5s", s * 1e6);
	else
		snprintf(buf, FMT_BUF, "%.3g ns", s * 1e9);
	return buf;
}

const char *fmt_errno(uint32_t e, char *buf)
{
	const char *n = strerrorname_np((int)e);
	if (n)
		return n;
	snprintf(buf, FMT_BUF, "E%u", e);
	return buf;
}

/*
 * A double is m * 2^e with m an integer below 2^53. Below 2^53 (e <= 0),
 * v * 10^prec is m * 10^prec / 2^-e: an integer division by a power of two
 * whose remainder tells the rounding exactly, in 128-bit arithmetic (m *
 * 10^9 < 2^83). That is printf's own rounding of the exact value (to
 * nearest, ties to even). Larger values, infinities and NaN, rare in a
 * picture, go to snprintf.
 */
size_t fmt_fixed(char *buf, double v, int prec)
{
	static const uint32_t pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000 };
	double a = fabs(v);
	if (prec < 0 || prec > 9 || !(a < 0x1p53)) /* NaN fails the test too */
		return (size_t)snprintf(buf, FMT_FIXED_BUF, "%.*f", prec, v);
	uint64_t bits;
	memcpy(&bits, &a, sizeof bits);
	unsigned exp = (unsigned)(bits >> 52);
	uint64_t m = bits & ((1ULL << 52) - 1);
	int shift = exp ? 1075 - (int)exp : 1074; /* a = m * 2^-shift */
	if (exp)
		m |= 1ULL << 52;
	unsigned __int128 p = (unsigned __int128)m * pow10[prec], q = 0;
	if (shift == 0) {
		q = p;
	} else if (shift < 100) { /* else a * 10^prec < 2^83 / 2^100: it rounds to 0 */
		q = p >> shift;
		unsigned __int128 r = p - (q << shift), half = (unsigned __int128)1 << (shift - 1);
		if (r > half || (r == half && (q & 1)))
			q++;
	}
	char digits[48];
	int n = 0;
	if (q >> 64) /* a 128-bit division is a call: only where needed */
		do {
			digits[n++] = (char)('0' + (int)(q % 10));
			q /= 10;
		} while (q >> 64);
	uint64_t q64 = (uint64_t)q;
	do { /* at least prec + 1 digits: "0.05" */
		digits[n++] = (char)('0' + (int)(q64 % 10));
		q64 /= 10;
	} while (q64 || n <= prec);
	size_t o = 0;
	if (signbit(v))
		buf[o++] = '-';
	while (n > prec)
		buf[o++] = digits[--n];
	if (prec)
		buf[o++] = '.';
	while (n > 0)
		buf[o++] = digits[--n];
	buf[o] = 0;
	return o;
}

/* A byte xml_escape writes as it is, one character. */
static bool plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' && c != '"';
}

size_t xml_escape(FILE *out, const char *s, size_t len, size_t max_chars)
{
	size_t chars = 0;
	for (size_t i = 0; i < len && (!max_chars || chars < max_chars); chars++) {
		unsigned char c = (unsigned char)s[i];
		/* A run of plain ASCII goes out in one write (a label is mostly that). */
		size_t run = 0, room = max_chars ? max_chars - chars : len - i;
		while (run < room && i + run < len && plain_ascii((unsigned char)s[i + run]))
			run++;
		if (run > 1) {
			fwrite(s + i, 1, run, out);
			i += run;
			chars += run - 1;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '&': fputs("&amp;", out); break;
			case '<': fputs("&lt;", out); break;
			case '>': fputs("&gt;", out); break;
			case '"': fputs("&quot;", out); break;
			default: putc(c < 0x20 && c != '\t' ? '?' : c, out); break;
			}
			i++;
			continue;
		}
		size_t n = utf8_seq_len(s + i, len - i);
		if (n) {
			fwrite(s + i, 1, n, out);
			i += n;
		} else {
			putc('?', out);
			i++;
		}
	}
	return chars;
}
