/*
 * fuzz-data-reader.c - fuzzing the one parser of cprof data files, and
 * every view of what it accepts (fuzz-views.h).
 *
 * Checksums would stop almost every mutation at the first check, so each
 * input is parsed twice: as it is, and with its section, table and header
 * checksums made right, which lets a mutation reach the structural and
 * semantic checks behind them. Under gcc (fuzz-main.c) the corpus is
 * replayed and fuzz_mutate() then runs a deterministic mutation fuzzer
 * from two valid seeds, a small and a compressed one; with -Dfuzzing=true
 * libFuzzer drives the same entry point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cprof/data.h"
#include "fuzz-main.h"
#include "fuzz-views.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void repair_checksums(uint8_t *buf, size_t len);

static void parse_and_view(const uint8_t *data, size_t size)
{
	struct cprof_data d;
	struct cprof_err err;
	if (cprof_data_parse(&d, data, size, "fuzz", &err) == 0) {
		fuzz_views(&d);
		/* As report reads it: group members as samples, then the events
		 * side by side (the round trip below wants the file's form). */
		struct cprof_data x;
		if (cprof_data_parse(&x, data, size, "fuzz", &err) == 0) {
			cprof_data_expand_reads(&x);
			events_views(&x);
		}
		cprof_data_release(&x);
		/* What was read can be written again, and reads back. */
		uint8_t *again;
		size_t len;
		if (cprof_data_serialize(&d, &again, &len, &err) == 0) {
			struct cprof_data e;
			/* (Written anew, big sections are compressed and may then
			 * exceed the decompression budget of the smaller file.) */
			if (cprof_data_parse(&e, again, len, "again", &err) < 0 && !strstr(err.msg, "decompressed")) {
				fprintf(stderr, "fuzz: a file that read does not read back once written: %s\n", err.msg);
				abort();
			}
			cprof_data_release(&e);
			free(again);
		}
	} else if (!strstr(err.msg, "'fuzz'")) {
		fprintf(stderr, "fuzz: error without the file's name: %s\n", err.msg);
		abort();
	}
	cprof_data_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_and_view(data, size);
	if (size >= HDR_SIZE && size <= (64u << 20)) {
		uint8_t *copy = malloc(size);
		memcpy(copy, data, size);
		repair_checksums(copy, size);
		if (memcmp(copy, data, size))
			parse_and_view(copy, size);
		free(copy);
	}
	return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Recompute section, table and header checksums after a mutation. */
static void repair_checksums(uint8_t *buf, size_t len)
{
	if (len < HDR_SIZE)
		return;
	uint32_t n = get_le32(buf + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(buf + HDR_TABLE_OFFSET);
	if (toff <= len && n < 64 && (uint64_t)n * SEC_ENTRY_SIZE <= len - toff) {
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *e = buf + toff + (size_t)i * SEC_ENTRY_SIZE;
			uint64_t off = get_le64(e + SEC_OFFSET), size = get_le64(e + SEC_SIZE);
			if (off <= len && size <= len - off)
				put_le32(e + SEC_CRC, (uint32_t)crc32(0, buf + off, (uInt)size));
		}
		put_le32(buf + HDR_TABLE_CRC, (uint32_t)crc32(0, buf + toff, n * SEC_ENTRY_SIZE));
	}
	put_le64(buf + HDR_FILE_SIZE, len);
	put_le32(buf + HDR_CRC, 0);
	put_le32(buf + HDR_CRC, (uint32_t)crc32(0, buf, HDR_SIZE));
}

static void make_seed(uint8_t **buf, size_t *len, size_t nsamples)
{
	struct cprof_data d;
	struct cprof_err err;
	cprof_data_init(&d);
	cprof_meta_set(&d, "command", "seed");
	/* The headers read meta values (lost samples per CPU and in time,
	 * stack limits): text from the file. */
	cprof_meta_set(&d, "start_time_ns", "1000");
	cprof_meta_set(&d, "lost_samples", "7");
	cprof_meta_set(&d, "lost_by_cpu", "0:3,1:4");
	cprof_meta_set(&d, "lost_times", "1500-2500:3,9000-9000:4");
	cprof_meta_set(&d, "call_graph", "dwarf,65528");
	cprof_meta_set(&d, "max_stack", "8192");
	cprof_meta_set(&d, "kernel_max_stack", "127");
	struct cprof_event ev = { .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") };
	vec_push(&d.events, ev);
	/* A group member read with the samples (sections 11 and 12 below). */
	struct cprof_event rd = { .name = cprof_intern(&d, "instructions:S"), .unit = cprof_intern(&d, "instructions"),
				  .flags = EVF_READ };
	vec_push(&d.events, rd);
	vec_push(&d.threads, ((struct cprof_thread){ 1, 1, cprof_intern(&d, "t"), 0, 1 }));
	uint32_t fr[4];
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof name, "f%d", i);
		struct cprof_frame f = { .func = cprof_intern(&d, name), .dso = cprof_intern(&d, "/x"), .line = (uint32_t)i,
					 .addr = 0x1000 + 0x100 * (uint64_t)i + (uint64_t)i };
		fr[i] = cprof_add_frame(&d, &f);
	}
	/* Saved code for f0 and f1 (x86-64: a loop with a division, a call,
	 * an undecodable byte), so mutations reach the code section's checks
	 * and annotate's views. */
	static const uint8_t code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0xf7, 0xf1, 0x75, 0xfb, 0xe8, 0xf2, 0x0e,
					0x00, 0x00, 0x06, 0x5d, 0xc3, 0x90, 0x0f, 0x0b };
	for (size_t i = 0; i < sizeof code; i++)
		vec_push(&d.code_bytes, code[i]);
	uint32_t src = cprof_intern(&d, "x.c");
	for (uint32_t i = 0; i < 4; i++)
		vec_push(&d.code_lines, ((struct cprof_code_line){ i < 3 ? i * 4 : 0, src, 10 + i }));
	vec_push(&d.code_inlines, ((struct cprof_code_inline){ 4, 9, cprof_intern(&d, "g"), src, 11, 1 }));
	vec_push(&d.code_inlines, ((struct cprof_code_inline){ 4, 7, cprof_intern(&d, "h"), src, 12, 2 }));
	vec_push(&d.code_syms, ((struct cprof_code_sym){ 0x2000, cprof_intern(&d, "ext@plt") }));
	vec_push(&d.code, ((struct cprof_code){ .func = d.frames.v[fr[0]].func, .dso = d.frames.v[fr[0]].dso,
						.start = 0x1000, .len = 17, .machine = 62, .build_id_size = 2,
						.build_id = { 7, 7 }, .nlines = 3, .ninlines = 2, .nsyms = 1,
						.comp_dir = cprof_intern(&d, "/nonexistent") }));
	vec_push(&d.code, ((struct cprof_code){ .func = d.frames.v[fr[1]].func, .dso = d.frames.v[fr[1]].dso,
						.start = 0x1101, .bytes_off = 17, .len = 3, .machine = 183,
						.first_line = 3, .nlines = 1 }));
	/* f2 saved in two parts around its samples, a gap between them. */
	for (int i = 0; i < 2; i++)
		vec_push(&d.code, ((struct cprof_code){ .func = d.frames.v[fr[2]].func, .dso = d.frames.v[fr[2]].dso,
							.start = i ? 0x1300 : 0x1200, .bytes_off = i ? 9 : 0,
							.len = i ? 8 : 9, .machine = 62, .flags = CFF_PART,
							.first_line = 1, .nlines = 1, .first_inline = 1, .ninlines = 1 }));
	for (size_t i = 0; i < nsamples; i++) {
		struct cprof_sample s = { .time = i, .period = 1, .pid = 1, .tid = 1 };
		/* Some stacks cut short, each limit once (data-format.h). */
		static const uint32_t cut[] = { 0, STACKF_TRUNCATED | STACKF_CUT_COPY, STACKF_TRUNCATED | STACKF_CUT_FRAMES,
						STACKF_TRUNCATED | STACKF_CUT_KERNEL, STACKF_TRUNCATED };
		s.stack = cprof_add_stack(&d, fr + (i % 3), 4 - (uint32_t)(i % 3), cut[i % 5]);
		vec_push(&d.samples, s);
		vec_push(&d.sample_counts, 1 + (uint32_t)(i % 3)); /* merged samples (section 10) */
		vec_push(&d.sample_cpus, (uint32_t)(i % 2));
		if (i % 2)
			vec_push(&d.sample_values, ((struct cprof_sample_value){ (uint32_t)i, 1, 1000 + i }));
	}
	struct cprof_map m = { .start = 1, .len = 2, .path = cprof_intern(&d, "/x") };
	vec_push(&d.maps, m);
	/* The memory sections too, so mutations reach their checks. */
	for (uint32_t i = 0; i < 3; i++) {
		struct cprof_mem_site ms = { .pid = 1, .stack = i, .kind = i % 2, .allocs = 10, .bytes = 100,
					     .temp_allocs = 3, .leaked = 2, .leaked_bytes = 20, .peak_count = 4 };
		vec_push(&d.mem_sites, ms);
		vec_push(&d.mem_curve, ((struct cprof_mem_point){ 1, i, 10 * i }));
	}
	vec_push(&d.mem_procs, ((struct cprof_mem_proc){ .pid = 1, .events = 30, .peak_bytes = 30, .hist = { 1, 2 } }));
	/* ... and the estimates of a sampled recording (section 19). */
	for (uint32_t i = 0; i < 3; i++) {
		struct cprof_mem_est me = { .pid = 2, .stack = i, .kind = i % 2, .samples = 5, .max_size = 64,
					    .count = 100.5, .bytes = 6400, .var_count = 25, .var_bytes = 1e6,
					    .live_count = 10, .live_bytes = 640, .live_var_count = 4, .live_var_bytes = 1e4 };
		vec_push(&d.mem_est, me);
	}
	cprof_meta_set(&d, "mem_sample_bytes", "4096");
	/* GPU sections (24, 25), so mutations reach their parser. */
	for (size_t i = 0; i < 2 + nsamples / 100; i++) {
		struct cprof_gpu_op op = { .start = 10 * i, .end = 10 * i + 5, .kind = 1 + (uint32_t)(i % 4),
					   .name = cprof_intern(&d, "k"), .stack = i % 2 ? 0 : GPU_NO_STACK,
					   .corr = (uint32_t)i, .bytes = 64, .copy_kind = 1, .src_kind = 1 };
		vec_push(&d.gpu_ops, op);
		struct cprof_gpu_api a = { .start = 10 * i, .end = 10 * i + 1, .corr = (uint32_t)i,
					   .name = cprof_intern(&d, "cudaLaunchKernel"), .domain = GPU_API_RUNTIME };
		vec_push(&d.gpu_api, a);
	}
	if (cprof_data_serialize(&d, buf, len, &err) < 0)
		abort();
	struct cprof_data check;
	if (cprof_data_parse(&check, *buf, *len, "seed", &err) < 0) {
		fprintf(stderr, "the seed does not parse: %s\n", err.msg);
		abort();
	}
	cprof_data_release(&check);
	cprof_data_release(&d);
}

static void mutate_rounds(size_t nsamples, int rounds)
{
	uint8_t *seed, *buf;
	size_t len;
	make_seed(&seed, &len, nsamples);
	buf = malloc(len + 64);
	for (int r = 0; r < rounds; r++) {
		size_t n = len;
		memcpy(buf, seed, len);
		int muts = 1 + (int)(next_rand() % 4);
		for (int m = 0; m < muts; m++) {
			size_t at = next_rand() % n;
			switch (next_rand() % 5) {
			case 0: buf[at] ^= (uint8_t)(1u << (next_rand() % 8)); break;
			case 1: buf[at] = (uint8_t)next_rand(); break;
			case 2: n = at ? at : 1; break; /* truncate */
			case 3: if (at + 4 <= n) put_le32(buf + at, (uint32_t)next_rand() % 70000); break;
			case 4: if (at + 4 <= n) put_le32(buf + at, 0xffffffffu - (uint32_t)(next_rand() % 3)); break;
			}
		}
		if (r % 2)
			repair_checksums(buf, n);
		parse_and_view(buf, n);
	}
	free(buf);
	free(seed);
}

void fuzz_mutate(int rounds, const struct fuzz_input *inputs, size_t n)
{
	(void)inputs; /* its own seeds: mutations of the corpus would mostly hit checksums */
	(void)n;
	mutate_rounds(3, rounds / 2);    /* small, uncompressed sections */
	mutate_rounds(2000, rounds / 2); /* zstd-compressed sections */
}
