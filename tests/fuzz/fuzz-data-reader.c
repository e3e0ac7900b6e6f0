/*
 * fuzz-data-reader.c - fuzzing the one parser of cprof data files (and the
 * folded-stack parser that shares its consumers).
 *
 * LLVMFuzzerTestOneInput() is the libFuzzer entry point (clang builds can
 * link it with -fsanitize=fuzzer). Under gcc, main() below replays the
 * committed corpus and then runs a deterministic mutation fuzzer: it mutates
 * a valid file and, half of the time, repairs every checksum afterwards so
 * the mutation reaches the structural checks behind them. Run under
 * ASan+UBSan by scripts/test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cprof/annotate.h"
#include "cprof/data.h"
#include "cprof/export.h"
#include "cprof/folded.h"
#include "cprof/gpu-report.h"
#include "cprof/memreport.h"
#include "cprof/profile.h"
#include "cprof/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cprof_data d;
	struct cprof_err err;
	if (cprof_data_parse(&d, data, size, "fuzz", &err) == 0) {
		/* A file that parses must be safe to use everywhere. */
		struct profile p;
		struct profile_filter f = PROFILE_FILTER_INIT;
		if (profile_build(&p, &d, &f, &err) == 0) {
			FILE *out = fopen("/dev/null", "w");
			if (out) {
				folded_write(out, &p);
				/* The headers read meta values (lost samples per CPU
				 * and in time, stack limits): text from the file. */
				struct report_opts ro = { .input = "fuzz", .top = 5 };
				report_text(out, &p, &ro);
				report_json(out, &p, &ro);
				fclose(out);
			}
			profile_release(&p);
		}
		/* GPU sections: every view of them must be safe too. */
		struct gpu_summary gs;
		if (gpu_summary_build(&gs, &d, &err) == 0) {
			FILE *out = fopen("/dev/null", "w");
			if (out) {
				struct gpu_report_opts go = { .input = "fuzz" };
				gpu_report_text(out, &gs, &go);
				gpu_report_json(out, &gs, &go);
				gpu_report_csv(out, &gs, &go);
				if (timeline_write(out, &d, NULL) < 0)
					fputs("refused", out);
				fclose(out);
			}
			gpu_summary_release(&gs);
		}
		/* Saved code: every function annotate can show must disassemble and print safely. */
		struct ann_profile ap;
		if (ann_profile_build(&ap, &d, 0, &err) == 0) {
			struct annotator *an = annotator_new(&d);
			FILE *out = fopen("/dev/null", "w");
			for (size_t i = 0; out && i < ap.funcs.n; i++) {
				struct ann_code code;
				struct ann_view v;
				const struct ann_binary *bin = annotator_binary(an, &ap.funcs.v[i]);
				if (annotator_code(an, &ap.funcs.v[i], &code, &err) < 0)
					continue;
				if (ann_view_build(&v, &ap, &ap.funcs.v[i], &code, DISASM_ATT, &err) == 0) {
					struct ann_print_opts po = { .source = true, .sources = ann_sources_new() };
					ann_print_text(out, &ap, &v, bin, &po);
					ann_print_json(out, &ap, &v, bin, &po);
					ann_sources_free(po.sources);
					ann_view_release(&v);
				}
				ann_code_release(&code);
			}
			if (out)
				fclose(out);
			annotator_free(an);
			ann_profile_release(&ap);
		}
		/* Memory sections: every report of them too (exact and sampled). */
		if (d.mem_procs.n) {
			FILE *out = fopen("/dev/null", "w");
			if (out) {
				for (int k = 0; k < _FORMAT_MAX; k++) {
					struct mem_report_opts mo = { .input = "fuzz", .format = (enum report_format)k,
								      .weight = (enum mem_weight)(k % 2), .top = 3 };
					mem_report(out, &d, &mo);
				}
				if (mem_plot_svg(out, &d, "fuzz", &err) < 0)
					err.code = 0;
				fclose(out);
			}
		}
		uint8_t *again;
		size_t len;
		if (cprof_data_serialize(&d, &again, &len, &err) == 0)
			free(again);
	}
	cprof_data_release(&d);
	FILE *fp = fmemopen((void *)data, size ? size : 1, "r");
	if (fp && size) {
		if (folded_read(&d, fp, "fuzz", false, NULL, NULL, &err) >= 0) {
			struct profile p;
			struct profile_filter f = PROFILE_FILTER_INIT;
			if (profile_build(&p, &d, &f, &err) == 0)
				profile_release(&p);
		}
		cprof_data_release(&d);
	}
	if (fp)
		fclose(fp);
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
	cprof_meta_set(&d, "start_time_ns", "1000");
	cprof_meta_set(&d, "lost_samples", "7");
	cprof_meta_set(&d, "lost_by_cpu", "0:3,1:4");
	cprof_meta_set(&d, "lost_times", "1500-2500:3,9000-9000:4");
	cprof_meta_set(&d, "call_graph", "dwarf,65528");
	cprof_meta_set(&d, "max_stack", "8192");
	cprof_meta_set(&d, "kernel_max_stack", "127");
	struct cprof_event ev = { .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") };
	vec_push(&d.events, ev);
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
		vec_push(&d.sample_counts, 1 + (uint32_t)(i % 3)); /* merged samples (section 9) */
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
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
	free(seed);
}

static int replay_corpus(const char *dir)
{
	DIR *dp = opendir(dir);
	int n = 0;
	if (!dp)
		return 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			continue;
		static uint8_t buf[1 << 20];
		size_t len = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, len);
		n++;
	}
	closedir(dp);
	return n;
}

int main(int argc, char **argv)
{
	int files = argc > 1 ? replay_corpus(argv[1]) : 0;
	int rounds = argc > 2 ? atoi(argv[2]) : 20000;
	mutate_rounds(3, rounds / 2);       /* small, uncompressed sections */
	mutate_rounds(2000, rounds / 2);    /* zstd-compressed sections */
	printf("replayed %d corpus files, %d mutations survived\n", files, rounds);
	return 0;
}
