/*
 * jitmap.c - symbols of JIT-compiled code from perf map files,
 * /tmp/perf-PID.map: one "START SIZE name" line per symbol, hex numbers
 * with or without 0x, the name being the rest of the line.
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

int jitmap_load(struct jitmap *m, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, fp) > 0) {
		char *end;
		unsigned long long start = strtoull(line, &end, 16);
		if (end == line || *end != ' ')
			continue;
		char *p = end;
		unsigned long long size = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || size == 0)
			continue;
		char *name = end + 1;
		name[strcspn(name, "\n")] = 0;
		if (!*name)
			continue;
		vec_push(&m->syms, ((struct jitsym){ start, size, xstrdup(name) }));
	}
	free(line);
	fclose(fp);
	if (m->syms.n)
		qsort(m->syms.v, m->syms.n, sizeof *m->syms.v, cmp_jit);
	return 0;
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
	size_t lo = 0, hi = m->syms.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->syms.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr - m->syms.v[lo - 1].start < m->syms.v[lo - 1].size)
		return sym_intern(s, m->syms.v[lo - 1].name);
	return NULL;
}

void jitmaps_release(struct jitmaps *j)
{
	for (size_t i = 0; i < j->maps.n; i++) {
		for (size_t k = 0; k < j->maps.v[i].syms.n; k++)
			free(j->maps.v[i].syms.v[k].name);
		vec_release(&j->maps.v[i].syms);
	}
	vec_release(&j->maps);
}
