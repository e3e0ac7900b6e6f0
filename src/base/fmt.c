/* fmt.c - numbers, sizes and times for the outputs, and the XML escaper;
 * the unit convention is in fmt.h. */
#include <inttypes.h>
#include <math.h>

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

const char *fmt_size(uint64_t bytes, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)bytes;
	size_t u = 0;
	while (x >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, FMT_BUF, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, FMT_BUF, "%.1f %s", x, unit[u]);
	return buf;
}

const char *fmt_size_si(uint64_t bytes, char *buf)
{
	if (bytes >= 1000000000ULL)
		snprintf(buf, FMT_BUF, "%.2f GB", (double)bytes / 1e9);
	else if (bytes >= 1000000ULL)
		snprintf(buf, FMT_BUF, "%.2f MB", (double)bytes / 1e6);
	else if (bytes >= 1000ULL)
		snprintf(buf, FMT_BUF, "%.2f KB", (double)bytes / 1e3);
	else
		snprintf(buf, FMT_BUF, "%" PRIu64 " B", bytes);
	return buf;
}

const char *fmt_ns(uint64_t ns, char *buf)
{
	if (ns >= 1000000000ULL)
		snprintf(buf, FMT_BUF, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, FMT_BUF, "%.2f ms", (double)ns / 1e6);
	else if (ns >= 1000ULL)
		snprintf(buf, FMT_BUF, "%.2f us", (double)ns / 1e3);
	else
		snprintf(buf, FMT_BUF, "%" PRIu64 " ns", ns);
	return buf;
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
