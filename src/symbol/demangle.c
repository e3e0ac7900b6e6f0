/*
 * demangle.c - C++, Rust and D symbol names for people, through libiberty.
 *
 * Why libiberty and not libstdc++'s __cxa_demangle: both carry the same
 * Itanium C++ demangler (GCC's cp-demangle.c), but only libiberty also
 * knows Rust's two manglings. Legacy Rust symbols are valid Itanium names
 * whose path segments are escaped ("_$LT$", "$u20$", ".."), so a C++
 * demangler leaves them half decoded, and Rust v0 names ("_R...") it does
 * not decode at all. libiberty decides which scheme a symbol uses the way
 * binutils and GDB do (Rust first, since legacy Rust is a subset of
 * Itanium), and adds D. One library, static, no C++ runtime needed.
 *
 * Rust names carry hashes that make them unique but say nothing to a
 * reader: the legacy "::h<16 hex digits>" suffix and v0's "[<hex>]" crate
 * disambiguators. The short form drops them (as perf does); the full form,
 * libiberty's verbose mode, keeps them. For C++ the verbose mode means
 * something else (std::string spelled out as std::basic_string<...>), so
 * only Rust names get a full form. Swift has no demangler in libiberty and
 * is left mangled.
 *
 * libiberty (20230104) decodes the "$uXX$" escapes of legacy Rust names
 * only for ASCII; identifiers in other scripts ("g$uf6$del" for "gödel")
 * are finished here, as rustc's own demangler does.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>
/* libiberty.h defines ARRAY_SIZE too; cprof's own is the one used here. */
#undef ARRAY_SIZE

#include "cprof/symbol.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Write code point cp as UTF-8 into out; returns the bytes written. */
static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* "$u" 2-6 lower hex digits "$" -> the character, in place. An escape is
 * at least one byte longer than its UTF-8 form, so the text only shrinks. */
static void decode_unicode_escapes(char *s)
{
	char *out = s;
	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == 'u') {
			uint32_t cp = 0;
			int n = 0, d;
			while (n < 6 && (d = hex_digit(p[2 + n])) >= 0) {
				cp = cp << 4 | (uint32_t)d;
				n++;
			}
			if (n >= 2 && p[2 + n] == '$' && cp >= 0x80 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff)) {
				out += utf8_put(cp, out);
				p += 3 + n;
				continue;
			}
		}
		*out++ = *p++;
	}
	*out = 0;
}

/* Legacy Rust writes characters outside [A-Za-z0-9_] as "$...$" escapes
 * inside Itanium names; C++ names have none. */
static bool rust_legacy(const char *name)
{
	return name[1] == 'Z' && strstr(name, "$u") != NULL;
}

char *demangle(const char *name)
{
	if (name[0] != '_')
		return NULL;
	if (name[1] == 'Z' || name[1] == 'R') {
		char *r = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
		if (r && rust_legacy(name))
			decode_unicode_escapes(r);
		return r;
	}
	if (name[1] == 'D' && name[2] >= '0' && name[2] <= '9')
		return cplus_demangle(name, DMGL_DLANG);
	return NULL;
}

char *demangle_full(const char *name)
{
	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	/* Only Rust symbols: asking for the Rust scheme alone returns NULL
	 * for everything else (a legacy name is recognised by its hash). */
	char *r = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST | DMGL_VERBOSE);
	if (r && rust_legacy(name))
		decode_unicode_escapes(r);
	return r;
}
