/* output.c - colour decisions and closed-pipe handling for command output. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/output.h"

int color_mode_from_string(const char *s)
{
	static const char *const names[] = { "auto", "always", "never" };
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0)
			return i == 0 ? COLOR_AUTO : i == 1 ? COLOR_ALWAYS : COLOR_NEVER;
	return -1;
}

bool output_use_color(FILE *fp, enum color_mode mode)
{
	if (mode == COLOR_NEVER)
		return false;
	if (mode == COLOR_ALWAYS)
		return true;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(fp));
}

int output_finish(FILE *fp)
{
	if (fflush(fp) != 0 || ferror(fp)) {
		int e = errno ? errno : EIO;
		if (e == EPIPE)
			return 0;
		return -e;
	}
	return 0;
}

/* Names come from binaries, command lines and files: any bytes at all.
 * JSON is UTF-8, so a byte that is not part of a well-formed sequence
 * becomes U+FFFD, the replacement character, and the output always parses.
 * put() receives the literal piece by piece. */
static void json_escape(const char *s, void (*put)(void *ctx, const char *p, size_t n), void *ctx)
{
	size_t len = strlen(s);
	char esc[8];
	put(ctx, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			put(ctx, "\\ufffd", 6);
			i++;
			continue;
		}
		switch (c) {
		case '"': put(ctx, "\\\"", 2); break;
		case '\\': put(ctx, "\\\\", 2); break;
		case '\n': put(ctx, "\\n", 2); break;
		case '\t': put(ctx, "\\t", 2); break;
		case '\r': put(ctx, "\\r", 2); break;
		default:
			if (c < 0x20) {
				put(ctx, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
				break;
			}
			/* A run that needs no escaping goes out in one piece. */
			size_t run = n;
			for (size_t k; i + run < len && (unsigned char)s[i + run] >= 0x20 && s[i + run] != '"' &&
				       s[i + run] != '\\' && (k = utf8_seq_len(s + i + run, len - i - run)); run += k)
				;
			put(ctx, s + i, run);
			n = run;
		}
		i += n;
	}
	put(ctx, "\"", 1);
}

static void put_file(void *ctx, const char *p, size_t n) { fwrite(p, 1, n, ctx); }
static void put_sbuf(void *ctx, const char *p, size_t n) { sbuf_add(ctx, p, n); }

void json_string(FILE *fp, const char *s)
{
	json_escape(s, put_file, fp);
}

void json_num(FILE *fp, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", fp);
	else
		fprintf(fp, "%.10g", v);
}

void json_string_sbuf(struct sbuf *out, const char *s)
{
	json_escape(s, put_sbuf, out);
}

void csv_field(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

double nice_step(double raw)
{
	if (!(raw > 0))
		return 1;
	double p = 1; /* the power of ten at or below raw */
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	static const double mult[] = { 1, 2, 5, 10 };
	for (size_t i = 0; i < sizeof mult / sizeof *mult; i++)
		if (mult[i] * p >= raw * (1 - 1e-9))
			return mult[i] * p;
	return 10 * p;
}
