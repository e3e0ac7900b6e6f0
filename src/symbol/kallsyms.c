/*
 * kallsyms.c - kernel symbols from /proc/kallsyms. Without privileges the
 * addresses read as zero (kptr_restrict); then nothing resolves and kernel
 * frames stay [unknown] rather than wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbol-internal.h"

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One line, "ADDR TYPE NAME[\t[MODULE]]". Code symbols only. */
static void parse_line(struct kallsyms *k, const char *p, const char *end)
{
	uint64_t addr = 0;
	int digits = 0;
	for (int v; p < end && (v = hexval(*p)) >= 0; p++, digits++)
		addr = addr << 4 | (uint64_t)v;
	if (!digits || digits > 16 || addr == 0 || end - p < 4 || p[0] != ' ' || p[2] != ' ')
		return;
	char type = p[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return;
	const char *name = p + 3, *stop = name;
	while (stop < end && *stop != '\t' && *stop != ' ')
		stop++;
	if (stop > name)
		vec_push(&k->syms, ((struct ksym){ addr, xstrndup(name, (size_t)(stop - name)) }));
}

/* Read with large read()s and parse by hand: the file has ~200,000 lines,
 * and stdio plus sscanf measured at half the cost of loading it. */
static void load(struct kallsyms *k)
{
	k->loaded = true;
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t cap = 1 << 20, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* an error part way keeps what was read */
		len += (size_t)r;
		size_t start = 0;
		for (char *nl; (nl = memchr(buf + start, '\n', len - start)); start = (size_t)(nl - buf) + 1)
			parse_line(k, buf + start, nl);
		memmove(buf, buf + start, len - start);
		len -= start;
		if (len == cap)
			len = 0; /* a line longer than the buffer: not a symbol */
	}
	free(buf);
	close(fd);
	if (k->syms.n)
		qsort(k->syms.v, k->syms.n, sizeof *k->syms.v, cmp_ksym);
}

const char *kallsyms_lookup(struct kallsyms *k, uint64_t addr)
{
	if (!k->loaded)
		load(k);
	size_t lo = 0, hi = k->syms.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k->syms.v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? k->syms.v[lo - 1].name : NULL;
}

void kallsyms_release(struct kallsyms *k)
{
	for (size_t i = 0; i < k->syms.n; i++)
		free(k->syms.v[i].name);
	vec_release(&k->syms);
	k->loaded = false;
}
