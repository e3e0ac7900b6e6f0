/*
 * jitmap.c - symbols of JIT-compiled code from perf map files,
 * /tmp/perf-PID.map: one "START SIZE name" line per symbol, hex numbers
 * (up to 16 digits) with or without 0x, the name being the rest of the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbol-internal.h"

static int cmp_jit(const void *a, const void *b)
{
	const struct jitsym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* A hex number of up to 16 digits, with or without 0x, at *p; advances *p. */
static bool parse_hex(const char **p, uint64_t *ret)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0;
	int n = 0;
	for (;; s++, n++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (n == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!n)
		return false;
	*p = s;
	*ret = v;
	return true;
}

int jitmap_read(struct jitmap *m, FILE *fp)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	/* A JIT writes these while it runs: a line may be cut off or odd;
	 * such lines are skipped, the rest is used. */
	while ((len = getline(&line, &cap, fp)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		const char *p = line;
		uint64_t start, size;
		if (!parse_hex(&p, &start) || *p++ != ' ' || !parse_hex(&p, &size) || *p++ != ' ' || size == 0 || !*p)
			continue;
		vec_push(&m->syms, ((struct jitsym){ start, size, xstrdup(p) }));
	}
	free(line);
	if (ferror(fp))
		return -1;
	if (m->syms.n)
		qsort(m->syms.v, m->syms.n, sizeof *m->syms.v, cmp_jit);
	return 0;
}

int jitmap_load(struct jitmap *m, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	int r = jitmap_read(m, fp);
	fclose(fp);
	return r;
}

const struct jitsym *jitmap_find(const struct jitmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m->syms.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr - m->syms.v[lo - 1].start < m->syms.v[lo - 1].size)
		return &m->syms.v[lo - 1];
	return NULL;
}

const char *jitmaps_lookup(struct jitmaps *j, struct symbolizer *s, uint32_t pid, uint64_t addr)
{
	struct jitmap *m = NULL;
	for (size_t i = 0; i < j->maps.n; i++)
		if (j->maps.v[i].pid == pid)
			m = &j->maps.v[i];
	if (!m) {
		char path[64];
		struct jitmap nm = { .pid = pid };
		snprintf(path, sizeof path, "/tmp/perf-%u.map", pid);
		(void)jitmap_load(&nm, path); /* absent: no JIT symbols, a normal case */
		vec_push(&j->maps, nm);
		m = &j->maps.v[j->maps.n - 1];
	}
	const struct jitsym *sym = jitmap_find(m, addr);
	return sym ? sym_intern(s, sym->name) : NULL;
}

void jitmap_release(struct jitmap *m)
{
	for (size_t k = 0; k < m->syms.n; k++)
		free(m->syms.v[k].name);
	vec_release(&m->syms);
}

void jitmaps_release(struct jitmaps *j)
{
	for (size_t i = 0; i < j->maps.n; i++)
		jitmap_release(&j->maps.v[i]);
	vec_release(&j->maps);
}
