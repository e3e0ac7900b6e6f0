/*
 * fuzz-jitmap.c - fuzzing the reader of perf map files (/tmp/perf-PID.map,
 * written by JIT compilers while they run, so anything may be in them):
 * parse, then look up the edges of every symbol and a few fixed addresses,
 * and check that a hit really contains the address.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/symbol/symbol-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct jitmap *m, uint64_t addr)
{
	const struct jitsym *s = jitmap_find(m, addr);
	if (s && (addr < s->start || addr - s->start >= s->size || !s->name[0])) {
		fprintf(stderr, "fuzz: %#llx found in [%#llx, +%#llx)\n", (unsigned long long)addr,
			(unsigned long long)s->start, (unsigned long long)s->size);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *fp = fmemopen((void *)data, size ? size : 1, "r");
	if (!fp)
		return 0;
	struct jitmap m = { .pid = 1 };
	if (size)
		(void)jitmap_read(&m, fp);
	fclose(fp);
	for (size_t i = 0; i + 1 < m.syms.n; i++)
		if (m.syms.v[i].start > m.syms.v[i + 1].start)
			abort(); /* lookups need them sorted */
	for (size_t i = 0; i < m.syms.n && i < 256; i++) {
		const struct jitsym *s = &m.syms.v[i];
		probe(&m, s->start);
		probe(&m, s->start - 1);
		probe(&m, s->start + s->size - 1);
		probe(&m, s->start + s->size);
	}
	static const uint64_t fixed[] = { 0, 1, 0x7f0000001000, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		probe(&m, fixed[i]);
	jitmap_release(&m);
	return 0;
}
