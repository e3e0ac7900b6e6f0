/*
 * fuzz-perfdata.c - fuzzing the perf.data reader (src/data/perfdata.c) and
 * what is built on it: the import into a recording (unwinding copied user
 * stacks, the finishing pass) and the profile every view reads.
 *
 * LLVMFuzzerTestOneInput() is the libFuzzer entry point (-Dfuzzing=true).
 * Under gcc, fuzz-main.c replays the committed corpus (small perf.data
 * files written by perf 6.1: -g, --call-graph dwarf, -z, pipe mode, two
 * events) and fuzz_mutate() below then mutates them deterministically: bit
 * flips, random bytes, truncation, and sizes and counts set to large or
 * boundary values. Run under ASan+UBSan by scripts/test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/perf-import.h"
#include "cprof/perfdata.h"
#include "cprof/profile.h"
#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every byte the reader hands out, so ASan sees a pointer past the input. */
static uint64_t sum_bytes(const uint8_t *p, uint64_t n)
{
	uint64_t s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static volatile uint64_t sink;

static int v_sample(void *ctx, const struct pd_sample *s, struct cprof_err *err)
{
	(void)ctx;
	(void)err;
	uint64_t x = s->ip + s->time + s->period;
	if (s->callchain)
		x += sum_bytes(s->callchain, s->callchain_nr * 8);
	if (s->regs)
		x += sum_bytes(s->regs, (uint64_t)s->regs_nr * 8);
	if (s->stack)
		x += sum_bytes(s->stack, s->stack_size);
	sink += x;
	return 0;
}

static int v_mmap(void *ctx, const struct pd_mmap *m, struct cprof_err *err)
{
	(void)ctx;
	(void)err;
	sink += strlen(m->path) + m->start + sum_bytes(m->build_id, m->build_id_size);
	return 0;
}

static int v_comm(void *ctx, const struct pd_comm *c, struct cprof_err *err)
{
	(void)ctx;
	(void)err;
	sink += strlen(c->comm);
	return 0;
}

static const struct perfdata_visitor touch = { .sample = v_sample, .mmap = v_mmap, .comm = v_comm };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfdata_info info;
	struct cprof_err err;
	if (perfdata_read_mem(data, size, "fuzz", &touch, NULL, &info, &err) < 0)
		sink += strlen(err.msg); /* a failure must say something */
	perfdata_info_release(&info);

	/* The whole import, through a stream as a pipe would bring it. It
	 * symbolizes (tens of ms), so it runs for one input in eight, chosen
	 * by the input's own bytes so that a crash reproduces. */
	if (size < 8 || !perfdata_sniff(data, size) || data[size / 2] % 8 != 0)
		return 0;
	FILE *fp = fmemopen((void *)data, size, "r");
	if (!fp)
		return 0;
	uint8_t magic[8];
	struct cprof_data d;
	if (fread(magic, 1, 8, fp) == 8 && perf_import(&d, fp, magic, 8, "fuzz", &err) == 0) {
		struct profile p;
		struct profile_filter f = PROFILE_FILTER_INIT;
		if (profile_build(&p, &d, &f, &err) == 0)
			profile_release(&p);
		cprof_data_release(&d);
	}
	fclose(fp);
	return 0;
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Every seed through the import once, whatever its bytes. */
static void import_once(const struct fuzz_input *in)
{
	FILE *mem = fmemopen(in->data, in->len ? in->len : 1, "r");
	uint8_t magic[8];
	struct cprof_data d;
	struct cprof_err err;
	if (mem && fread(magic, 1, 8, mem) == 8 && perf_import(&d, mem, magic, 8, "seed", &err) == 0)
		cprof_data_release(&d);
	if (mem)
		fclose(mem);
}

void fuzz_mutate(int rounds, const struct fuzz_input *seeds, size_t nseeds)
{
	for (size_t i = 0; i < nseeds; i++)
		import_once(&seeds[i]);
	for (int r = 0; r < rounds && nseeds; r++) {
		const struct fuzz_input *s = &seeds[(size_t)r % nseeds];
		uint8_t *buf = malloc(s->len + 64);
		size_t n = s->len;
		memcpy(buf, s->data, n);
		int muts = 1 + (int)(next_rand() % 4);
		for (int m = 0; m < muts && n; m++) {
			size_t at = next_rand() % n;
			/* Aim half the mutations at the first 512 bytes: header, attributes. */
			if (next_rand() % 2 && n > 512)
				at %= 512;
			switch (next_rand() % 6) {
			case 0: buf[at] ^= (uint8_t)(1u << (next_rand() % 8)); break;
			case 1: buf[at] = (uint8_t)next_rand(); break;
			case 2: n = at ? at : 1; break; /* truncate */
			case 3: if (at + 2 <= n) put_le16(buf + at, (uint16_t)(next_rand() % 70000)); break;
			case 4: if (at + 8 <= n) put_le64(buf + at, next_rand() % 3 ? next_rand() % 100000 : ~0ULL); break;
			case 5: if (at + 4 <= n) put_le32(buf + at, 0xffffffffu - (uint32_t)(next_rand() % 3)); break;
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
	}
}
