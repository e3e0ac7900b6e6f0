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

size_t xml_escape(FILE *out, const char *s, size_t len, size_t max_chars)
{
	size_t chars = 0;
	for (size_t i = 0; i < len && (!max_chars || chars < max_chars); chars++) {
		unsigned char c = (unsigned char)s[i];
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
