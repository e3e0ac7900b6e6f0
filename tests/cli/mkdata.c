/*
 * mkdata.c - data files for the CLI tests that no recording produces:
 *
 *   mkdata all OUT              a small recording with CPU samples, a memory
 *                               profile and GPU activity (a fuzz seed)
 *   mkdata big OUT              the same with 3000 samples: its sample
 *                               section is compressed (a fuzz seed)
 *   mkdata utf8 OUT             a recording with CPU samples, a memory
 *                               profile and GPU activity whose every string
 *                               (command, thread, functions, files, binaries,
 *                               kernels, API calls, event) holds bytes that
 *                               are not UTF-8, for the JSON writers
 *   mkdata inflate OUT SIZE     a small recording whose string table is a
 *                               zstd frame of SIZE zero bytes (all empty
 *                               strings, so the file is otherwise valid)
 *   mkdata claim OUT SIZE       the same, but the frame only claims SIZE
 *                               bytes: a header and no data
 *   mkdata periods OUT          two samples of period 2^63
 *   mkdata gpu-forever OUT      a GPU copy ending at 2^64-1
 *   mkdata leak OUT             a memory site leaking 2^64-1 bytes in 0 blocks
 *
 * It writes files through the same serializer as record, then, for inflate
 * and claim, lays the file out again around the replaced section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "cprof/data.h"

static void die(const char *what)
{
	fprintf(stderr, "mkdata: %s\n", what);
	exit(1);
}

/* A small recording of every kind of data; bad adds non-UTF-8 bytes to
 * every string. */
static void build(struct cprof_data *d, bool bad, uint32_t nsamples)
{
	const char *x = bad ? "\xe9\xff\xc3(\xed\xa0\x80\xf8" : "";
	char s[64];
	cprof_data_init(d);
#define S(text) (snprintf(s, sizeof s, "%s%s", text, x), cprof_intern(d, s))
	snprintf(s, sizeof s, "./caf\xe9 --name=%s", x);
	cprof_meta_set(d, "command", s);
	cprof_meta_set(d, "duration_ns", "2000000000");
	cprof_meta_set(d, "start_time_ns", "1000000000");
	struct cprof_event ev = { .name = S("cpu-clock"), .unit = cprof_intern(d, "ns"), .type = 1, .period = 999,
				  .flags = EVF_FREQ };
	vec_push(&d->events, ev);
	vec_push(&d->threads, ((struct cprof_thread){ 10, 10, S("main"), 1, 6 }));
	vec_push(&d->threads, ((struct cprof_thread){ 10, 11, S("worker"), 1, 3 }));
	struct cprof_frame fm = { .func = S("main"), .dso = S("/bin/app"), .file = S("app.c"), .line = 3, .addr = 0x10 };
	struct cprof_frame fw = { .func = S("work"), .dso = fm.dso, .file = fm.file, .line = 9, .addr = 0x20 };
	struct cprof_frame fk = { .func = S("sys_read"), .dso = cprof_intern(d, "[kernel.kallsyms]"), .addr = 0x30,
				  .flags = FRF_KERNEL };
	struct cprof_frame fl = { .func = S("cudaLaunchKernel"), .dso = S("/lib/libcudart.so"), .addr = 0x40 };
	uint32_t f[4] = { cprof_add_frame(d, &fk), cprof_add_frame(d, &fw), cprof_add_frame(d, &fm) };
	f[3] = cprof_add_frame(d, &fl);
	uint32_t st[3] = { cprof_add_stack(d, f + 1, 2, 0), cprof_add_stack(d, f, 3, 0), 0 };
	uint32_t launch[3] = { f[3], f[1], f[2] };
	st[2] = cprof_add_stack(d, launch, 3, 0);
	for (uint32_t i = 0; i < nsamples; i++) {
		struct cprof_sample smp = { .time = 1000000000ULL + i * 1000000, .period = 1001001, .pid = 10,
					    .tid = i % 3 ? 10 : 11, .stack = st[i % 2], .mode = 2 };
		vec_push(&d->samples, smp);
	}
	struct cprof_map m = { .start = 0x400000, .len = 0x1000, .pid = 10, .path = fm.dso };
	vec_push(&d->maps, m);
	/* A memory profile. */
	struct cprof_mem_site ms = { .pid = 10, .stack = st[0], .allocs = 4, .bytes = 4096, .temp_allocs = 2,
				     .temp_bytes = 2048, .leaked = 1, .leaked_bytes = 1024, .peak_count = 2,
				     .peak_bytes = 2048, .max_size = 1024, .temp_max_size = 1024 };
	vec_push(&d->mem_sites, ms);
	ms.stack = st[1];
	ms.kind = MEMK_MMAP;
	ms.peak_count = ms.peak_bytes = 0;
	vec_push(&d->mem_sites, ms);
	struct cprof_mem_proc mp = { .pid = 10, .ppid = 1, .events = 12, .peak_bytes = 2048, .peak_time = 1500000000ULL,
				     .end_bytes = 1024, .start_time = 1000000000ULL, .end_time = 2000000000ULL,
				     .mmap_peak = 4096, .hist = { [11] = 4 } };
	vec_push(&d->mem_procs, mp);
	vec_push(&d->mem_curve, ((struct cprof_mem_point){ 10, 1200000000ULL, 1024 }));
	vec_push(&d->mem_curve, ((struct cprof_mem_point){ 10, 1500000000ULL, 2048 }));
	/* GPU activity: kernels, a copy, a memset, a sync, and the API calls. */
	cprof_meta_set(d, "gpu", "recorded");
	for (uint32_t i = 0; i < 6; i++) {
		uint64_t t = 1100000000ULL + i * 100000;
		struct cprof_gpu_op op = { .start = t + 5000, .end = t + 25000, .kind = 1 + i % 4, .corr = i + 1,
					   .stream = 7, .pid = 10, .tid = 10, .name = i % 4 == 0 ? S("kern<int>") : 0,
					   .stack = st[2], .grid = { 4, 1, 1 }, .block = { 128, 1, 1 }, .regs = 32,
					   .bytes = i % 4 == 1 || i % 4 == 2 ? 1 << 20 : 0, .copy_kind = i % 4 == 1 ? 1 : 0,
					   .src_kind = 1, .dst_kind = 3 };
		vec_push(&d->gpu_ops, op);
		struct cprof_gpu_api a = { .start = t, .end = t + 4000, .corr = i + 1, .cbid = 211, .pid = 10, .tid = 10,
					   .name = S("cudaLaunchKernel"), .domain = GPU_API_RUNTIME };
		vec_push(&d->gpu_api, a);
	}
#undef S
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		die("cannot write the output file");
}

/* A zstd frame of size zero bytes, streamed so nothing of that size is
 * ever in memory; with claim_only, just a frame header saying so. */
static uint8_t *zeros_frame(uint64_t size, bool claim_only, size_t *ret_len)
{
	if (claim_only) {
		/* Magic, descriptor: 8-byte content size, single segment; no block. */
		uint8_t *f = calloc(1, 13);
		put_le32(f, 0xFD2FB528u);
		f[4] = 0xE0;
		put_le64(f + 5, size);
		*ret_len = 13;
		return f;
	}
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	static uint8_t in[1 << 20];
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	if (!cc || !out || ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, size)))
		die("zstd");
	for (uint64_t left = size;;) {
		size_t n = left < sizeof in ? (size_t)left : sizeof in;
		left -= n;
		ZSTD_inBuffer ib = { in, n, 0 };
		ZSTD_EndDirective mode = left ? ZSTD_e_continue : ZSTD_e_end;
		size_t rem;
		do {
			if (cap - len < ZSTD_CStreamOutSize()) {
				cap *= 2;
				out = realloc(out, cap);
				if (!out)
					die("out of memory");
			}
			ZSTD_outBuffer ob = { out + len, cap - len, 0 };
			rem = ZSTD_compressStream2(cc, &ob, &ib, mode);
			if (ZSTD_isError(rem))
				die(ZSTD_getErrorName(rem));
			len += ob.pos;
		} while (ib.pos < ib.size || (mode == ZSTD_e_end && rem));
		if (!left)
			break;
	}
	ZSTD_freeCCtx(cc);
	*ret_len = len;
	return out;
}

/* The file in buf again, with the string section's bytes replaced. */
static uint8_t *replace_strings(const uint8_t *buf, const uint8_t *sec, size_t sec_len, uint64_t raw, size_t *ret_len)
{
	uint32_t n = get_le32(buf + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(buf + HDR_TABLE_OFFSET);
	size_t cap = HDR_SIZE + get_le64(buf + HDR_FILE_SIZE) + sec_len + 8 * n + SEC_ENTRY_SIZE * n, len = HDR_SIZE;
	uint8_t *out = calloc(1, cap), *table = malloc((size_t)n * SEC_ENTRY_SIZE);
	memcpy(out, buf, HDR_SIZE);
	memcpy(table, buf + toff, (size_t)n * SEC_ENTRY_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = table + (size_t)i * SEC_ENTRY_SIZE;
		const uint8_t *p = buf + get_le64(e + SEC_OFFSET);
		size_t size = get_le64(e + SEC_SIZE);
		if (get_le32(e + SEC_TYPE) == SECTION_STRINGS) {
			p = sec;
			size = sec_len;
			put_le32(e + SEC_FLAGS, SECF_ZSTD);
			put_le64(e + SEC_RAW_SIZE, raw);
			put_le64(e + SEC_SIZE, size);
			put_le32(e + SEC_CRC, (uint32_t)crc32(0, p, (uInt)size));
		}
		len = (len + 7) & ~(size_t)7;
		put_le64(e + SEC_OFFSET, len);
		memcpy(out + len, p, size);
		len += size;
	}
	len = (len + 7) & ~(size_t)7;
	put_le64(out + HDR_TABLE_OFFSET, len);
	memcpy(out + len, table, (size_t)n * SEC_ENTRY_SIZE);
	len += (size_t)n * SEC_ENTRY_SIZE;
	put_le32(out + HDR_TABLE_CRC, (uint32_t)crc32(0, table, n * SEC_ENTRY_SIZE));
	put_le64(out + HDR_FILE_SIZE, len);
	put_le32(out + HDR_CRC, 0);
	put_le32(out + HDR_CRC, (uint32_t)crc32(0, out, HDR_SIZE));
	free(table);
	*ret_len = len;
	return out;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: mkdata all|big|utf8|inflate|claim|periods|gpu-forever|leak OUT [SIZE]");
	const char *kind = argv[1], *out = argv[2];
	struct cprof_data d;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build(&d, strcmp(kind, "utf8") == 0, strcmp(kind, "big") == 0 ? 3000 : 9);
	if (strcmp(kind, "periods") == 0) {
		d.samples.v[0].period = d.samples.v[1].period = 1ULL << 63;
	} else if (strcmp(kind, "gpu-forever") == 0) {
		d.gpu_ops.v[1].end = UINT64_MAX;
	} else if (strcmp(kind, "leak") == 0) {
		d.mem_sites.v[0].leaked = 0;
		d.mem_sites.v[0].leaked_bytes = UINT64_MAX;
	} else if (strcmp(kind, "inflate") && strcmp(kind, "claim") && strcmp(kind, "utf8") && strcmp(kind, "all") &&
		   strcmp(kind, "big")) {
		die("unknown kind");
	}
	if (cprof_data_serialize(&d, &buf, &len, &err) < 0)
		die(err.msg);
	if (strcmp(kind, "inflate") == 0 || strcmp(kind, "claim") == 0) {
		if (argc < 4)
			die("needs SIZE");
		uint64_t size = strtoull(argv[3], NULL, 10);
		size_t zlen, flen;
		uint8_t *z = zeros_frame(size, strcmp(kind, "claim") == 0, &zlen);
		uint8_t *file = replace_strings(buf, z, zlen, size, &flen);
		free(z);
		free(buf);
		buf = file;
		len = flen;
	}
	write_file(out, buf, len);
	free(buf);
	cprof_data_release(&d);
	return 0;
}
