/*
 * demangle.c - C++ and Rust symbol names for people. libdw has no
 * demangler; libstdc++'s __cxa_demangle handles Itanium C++ names, which is
 * also what legacy Rust symbols are, apart from their trailing hash.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/symbol.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* Legacy Rust names end in "::h" and 16 hex digits: noise for a profile. */
static void strip_rust_hash(char *s)
{
	size_t n = strlen(s);
	if (n < 19 || memcmp(s + n - 19, "::h", 3) != 0)
		return;
	for (size_t i = n - 16; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return;
	s[n - 19] = 0;
}

char *demangle(const char *name)
{
	if (strncmp(name, "_Z", 2) != 0)
		return NULL;
	int status = 0;
	char *r = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0 || !r) {
		free(r);
		return NULL;
	}
	if (strncmp(name, "_ZN", 3) == 0)
		strip_rust_hash(r);
	return r;
}
