/* output.c - colour decisions and closed-pipe handling for command output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/output.h"

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
 * becomes U+FFFD, the replacement character, and the output always parses. */
void json_string(FILE *fp, const char *s)
{
	size_t len = strlen(s);
	fputc('"', fp);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", fp);
			i++;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\r': fputs("\\r", fp); break;
		default:
			if (c < 0x20)
				fprintf(fp, "\\u%04x", c);
			else
				fwrite(s + i, 1, n, fp);
		}
		i += n;
	}
	fputc('"', fp);
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

const char *fmt_thousands(uint64_t v, char *buf)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	int o = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}
