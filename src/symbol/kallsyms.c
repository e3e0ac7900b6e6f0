/*
 * kallsyms.c - kernel symbols from /proc/kallsyms. Without privileges the
 * addresses read as zero (kptr_restrict); then nothing resolves and kernel
 * frames stay [unknown] rather than wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbol-internal.h"

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void load(struct kallsyms *k)
{
	k->loaded = true;
	FILE *fp = fopen("/proc/kallsyms", "r");
	if (!fp)
		return;
	char line[512];
	while (fgets(line, sizeof line, fp)) {
		unsigned long long addr;
		char type, name[256];
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || addr == 0)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue; /* only code */
		vec_push(&k->syms, ((struct ksym){ addr, xstrdup(name) }));
	}
	fclose(fp);
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
