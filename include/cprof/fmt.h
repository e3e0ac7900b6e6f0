/*
 * fmt.h - numbers, sizes and times as the outputs print them, and text
 * escaped for XML (SVG) and HTML.
 *
 * The unit convention, one for all outputs:
 *  - counts get thousands separators ("1,234,567");
 *  - sizes are binary: B, KiB, MiB, GiB, TiB (powers of 1024), one
 *    decimal ("4.9 MiB"). The one exception is GPU transfers, which use
 *    decimal KB, MB, GB (powers of 1000, two decimals): they stand beside
 *    bandwidths in GB/s, bytes per nanosecond, and a size in the same base
 *    lets the reader divide. fmt_size_si is that exception and nothing else;
 *  - times are ns, us, ms, s, the unit changing at 1000 of the smaller
 *    ("12.50 ms"). "us" is written in ASCII in text; the SVG's labels,
 *    which are for the eye only, write "\u00b5s" (fmt_seconds_short).
 * Each writes into buf, at least FMT_BUF bytes, and returns buf.
 */
#ifndef CPROF_FMT_H
#define CPROF_FMT_H

#include <stdio.h>
#include <stdint.h>

#define FMT_BUF 32

/* 1234567 -> "1,234,567". */
const char *fmt_thousands(uint64_t v, char *buf);
/* 1023 -> "1023 B", 5101773 -> "4.9 MiB" (one decimal, up to TiB). */
const char *fmt_size(uint64_t bytes, char *buf);
/* GPU transfer sizes only: 999 -> "999 B", 1500000 -> "1.50 MB" (up to GB). */
const char *fmt_size_si(uint64_t bytes, char *buf);
/* A whole number of ns: 999 -> "999 ns", 12500000 -> "12.50 ms" (two
 * decimals above ns, up to s). */
const char *fmt_ns(uint64_t ns, char *buf);
/* A measured mean, possibly fractional or negative (a difference): one
 * decimal for ns, two for us and ms, three for s: "-12.5 ns", "1.234 s". */
const char *fmt_ns_mean(double ns, char *buf);
/* Three significant digits, for labels on a picture: "1.25 s", "250 \u00b5s";
 * 0 and 100 s or more are whole seconds. */
const char *fmt_seconds_short(double s, char *buf);
/* An errno's symbolic name ("ENOENT"), or "E<number>" for one libc does
 * not know. */
const char *fmt_errno(uint32_t e, char *buf);

/* v with prec (0 to 9) decimals, exactly what snprintf's "%.*f" writes
 * (the exact binary value rounded half to even; "-0.0" for a negative
 * that rounds to zero), without its cost: for the SVG's many coordinates.
 * buf gets at least FMT_FIXED_BUF bytes (DBL_MAX's 309 digits fit); the
 * text is NUL-terminated and its length returned. */
#define FMT_FIXED_BUF 330
size_t fmt_fixed(char *buf, double v, int prec);

/* Write s[0 .. len) escaped for XML or HTML text and attribute values
 * (& < > " become entities); control bytes other than tab and bytes that
 * are not well-formed UTF-8 become '?', so the document always parses.
 * At most max_chars characters (0: all); returns the characters written. */
size_t xml_escape(FILE *out, const char *s, size_t len, size_t max_chars);

#endif
