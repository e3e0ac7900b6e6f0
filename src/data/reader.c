/*
 * reader.c - the one parser of cprof.data files. It trusts nothing: every
 * length, offset, index and checksum is checked before use, and any problem
 * becomes a one-line error naming the file and what is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "cprof/data.h"
#include "mem-data.h"
#include "code-data.h"

/* A decompressed section may not claim more than this (guards memory). */
#define MAX_RAW_SIZE (8ULL << 30)
#define MAX_RATIO 4096ULL

static const char *section_name(uint32_t type)
{
	static const char *names[] = { "?", "meta", "strings", "events", "threads", "frames", "stacks", "samples", "maps" };
	if (type == SECTION_CODE)
		return "code";
	if (type == SECTION_SAMPLE_COUNTS)
		return "sample counts";
	if (type == SECTION_MEM_SITES)
		return "memory sites";
	if (type == SECTION_MEM_PROCS)
		return "memory processes";
	if (type == SECTION_MEM_CURVE)
		return "heap curve";
	if (type == SECTION_MEM_EST)
		return "memory estimates";
	if (type == SECTION_GPU_OPS || type == SECTION_GPU_API)
		return type == SECTION_GPU_OPS ? "gpu-ops" : "gpu-api";
	return type < ARRAY_SIZE(names) ? names[type] : "unknown";
}

struct section_in {
	const uint8_t *p;
	size_t len;
	uint32_t count;
	void *owned;
	bool present;
};

static int load_section(const uint8_t *buf, size_t len, const uint8_t *e, struct section_in *s, const char *name,
			struct cprof_err *err)
{
	uint32_t type = get_le32(e + SEC_TYPE), flags = get_le32(e + SEC_FLAGS);
	uint64_t off = get_le64(e + SEC_OFFSET), size = get_le64(e + SEC_SIZE), raw = get_le64(e + SEC_RAW_SIZE);
	const char *sn = section_name(type);
	if (off > len || size > len - off)
		return err_set(err, EBADMSG, "'%s': section '%s' extends past the end of the file (truncated?)", name, sn);
	if ((uint32_t)crc32(0, buf + off, (uInt)size) != get_le32(e + SEC_CRC))
		return err_set(err, EBADMSG, "'%s': section '%s' is corrupt (checksum mismatch)", name, sn);
	if (flags & ~SECF_ZSTD)
		return err_set(err, EBADMSG, "'%s': section '%s' has unknown flags 0x%x", name, sn, flags);
	s->count = get_le32(e + SEC_COUNT);
	s->present = true;
	if (!(flags & SECF_ZSTD)) {
		if (raw != size)
			return err_set(err, EBADMSG, "'%s': section '%s' has inconsistent sizes", name, sn);
		s->p = buf + off;
		s->len = size;
		return 0;
	}
	if (raw > MAX_RAW_SIZE || raw > (size + 64) * MAX_RATIO)
		return err_set(err, EBADMSG, "'%s': section '%s' claims an implausible size", name, sn);
	unsigned long long fs = ZSTD_getFrameContentSize(buf + off, size);
	if (fs == ZSTD_CONTENTSIZE_ERROR || fs == ZSTD_CONTENTSIZE_UNKNOWN || fs != raw)
		return err_set(err, EBADMSG, "'%s': section '%s' is not valid zstd data", name, sn);
	s->owned = xmalloc(raw);
	size_t n = ZSTD_decompress(s->owned, raw, buf + off, size);
	if (ZSTD_isError(n) || n != raw)
		return err_set(err, EBADMSG, "'%s': section '%s' does not decompress", name, sn);
	s->p = s->owned;
	s->len = raw;
	return 0;
}

#define BAD(...) do { r = err_set(err, EBADMSG, __VA_ARGS__); goto out; } while (0)

int cprof_data_parse(struct cprof_data *d, const uint8_t *buf, size_t len, const char *name, struct cprof_err *err)
{
	struct section_in sec[SECTION_TYPE_MAX + 1]; /* 1..10 core, 16..19 memory, 24..31 GPU */
	int r = 0;
	memset(sec, 0, sizeof sec);
	cprof_data_init(d);

	if (len == 0)
		BAD("'%s': empty file, not a cprof data file", name);
	if (len < 8 || memcmp(buf, CPROF_MAGIC, 8) != 0) {
		if (len >= 8 && memcmp(buf, "PERFILE2", 8) == 0)
			BAD("'%s': this is a perf.data file, not a cprof data file", name);
		BAD("'%s': not a cprof data file (bad magic)", name);
	}
	if (len < HDR_SIZE)
		BAD("'%s': truncated (%zu bytes, header needs %d)", name, len, HDR_SIZE);
	uint8_t hdr[HDR_SIZE];
	memcpy(hdr, buf, HDR_SIZE);
	uint32_t want = get_le32(hdr + HDR_CRC);
	put_le32(hdr + HDR_CRC, 0);
	if ((uint32_t)crc32(0, hdr, HDR_SIZE) != want)
		BAD("'%s': header is corrupt (checksum mismatch)", name);
	uint32_t version = get_le32(hdr + HDR_VERSION);
	if (version != CPROF_DATA_VERSION)
		BAD("'%s': data format version %u, this cprof reads version %u", name, version, CPROF_DATA_VERSION);
	uint64_t fsize = get_le64(hdr + HDR_FILE_SIZE);
	if (fsize != len)
		BAD("'%s': truncated or extended (%zu bytes, header says %llu)", name, len, (unsigned long long)fsize);
	uint32_t nsec = get_le32(hdr + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(hdr + HDR_TABLE_OFFSET);
	if (nsec > 4096 || toff > len || (uint64_t)nsec * SEC_ENTRY_SIZE > len - toff)
		BAD("'%s': section table out of bounds", name);
	if ((uint32_t)crc32(0, buf + toff, nsec * SEC_ENTRY_SIZE) != get_le32(hdr + HDR_TABLE_CRC))
		BAD("'%s': section table is corrupt (checksum mismatch)", name);
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + toff + (size_t)i * SEC_ENTRY_SIZE;
		uint32_t type = get_le32(e + SEC_TYPE);
		if (type == 0 || (type > SECTION_MAPS && type != SECTION_CODE && type != SECTION_SAMPLE_COUNTS &&
				  !mem_section_type(type) && !gpu_section_type(type)))
			continue; /* a newer writer's section: skip it */
		if (sec[type].present)
			BAD("'%s': section '%s' appears twice", name, section_name(type));
		r = load_section(buf, len, e, &sec[type], name, err);
		if (r < 0)
			goto out;
	}
	static const uint32_t required[] = { SECTION_META, SECTION_STRINGS, SECTION_EVENTS, SECTION_FRAMES,
					     SECTION_STACKS, SECTION_SAMPLES };
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!sec[required[i]].present)
			BAD("'%s': section '%s' is missing", name, section_name(required[i]));

	/* Strings first: everything else refers to them. */
	struct section_in *s = &sec[SECTION_STRINGS];
	if (s->len == 0 || s->p[0] != 0 || s->p[s->len - 1] != 0 || s->len > UINT32_MAX)
		BAD("'%s': string table is malformed", name);
	sbuf_reset(&d->strings);
	sbuf_add(&d->strings, s->p, s->len);
	d->strings.len = s->len;
	uint32_t slen = (uint32_t)s->len;
#define STR_OK(off) ((off) < slen)

	s = &sec[SECTION_META];
	for (size_t p = 0; p < s->len;) {
		const uint8_t *k = s->p + p;
		const uint8_t *kz = memchr(k, 0, s->len - p);
		if (!kz)
			BAD("'%s': metadata is malformed", name);
		const uint8_t *v = kz + 1;
		const uint8_t *vz = v < s->p + s->len ? memchr(v, 0, (size_t)(s->p + s->len - v)) : NULL;
		if (!vz)
			BAD("'%s': metadata is malformed", name);
		cprof_meta_set(d, (const char *)k, (const char *)v);
		p = (size_t)(vz + 1 - s->p);
	}

	s = &sec[SECTION_EVENTS];
	if (s->len != (size_t)s->count * EV_SIZE || s->count == 0 || s->count > 65535)
		BAD("'%s': event table is malformed", name);
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *p = s->p + (size_t)i * EV_SIZE;
		struct cprof_event e = { .name = get_le32(p + EV_NAME), .unit = get_le32(p + EV_UNIT),
					 .type = get_le32(p + EV_TYPE), .flags = get_le32(p + EV_FLAGS),
					 .config = get_le64(p + EV_CONFIG), .period = get_le64(p + EV_PERIOD) };
		if (!STR_OK(e.name) || !STR_OK(e.unit))
			BAD("'%s': event %u refers to a missing string", name, i);
		vec_push(&d->events, e);
	}

	s = &sec[SECTION_THREADS];
	if (s->present) {
		if (s->len != (size_t)s->count * TH_SIZE)
			BAD("'%s': thread table is malformed", name);
		for (uint32_t i = 0; i < s->count; i++) {
			const uint8_t *p = s->p + (size_t)i * TH_SIZE;
			struct cprof_thread t = { .pid = get_le32(p + TH_PID), .tid = get_le32(p + TH_TID),
						  .comm = get_le32(p + TH_COMM), .ppid = get_le32(p + TH_PPID),
						  .samples = get_le64(p + TH_SAMPLES) };
			if (!STR_OK(t.comm))
				BAD("'%s': thread %u refers to a missing string", name, i);
			vec_push(&d->threads, t);
		}
	}

	s = &sec[SECTION_FRAMES];
	if (s->len != (size_t)s->count * FR_SIZE)
		BAD("'%s': frame table is malformed", name);
	vec_reserve(&d->frames, s->count);
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *p = s->p + (size_t)i * FR_SIZE;
		struct cprof_frame f = { .func = get_le32(p + FR_FUNC), .dso = get_le32(p + FR_DSO),
					 .file = get_le32(p + FR_FILE), .line = get_le32(p + FR_LINE),
					 .addr = get_le64(p + FR_ADDR), .flags = get_le32(p + FR_FLAGS),
					 .full = get_le32(p + FR_FULL) };
		if (!STR_OK(f.func) || !STR_OK(f.dso) || !STR_OK(f.file) || !STR_OK(f.full))
			BAD("'%s': frame %u refers to a missing string", name, i);
		vec_push(&d->frames, f);
	}

	s = &sec[SECTION_STACKS];
	if (s->len % 4)
		BAD("'%s': stack table is malformed", name);
	size_t nwords = s->len / 4;
	vec_reserve(&d->stack_words, nwords);
	for (size_t i = 0; i < nwords; i++)
		d->stack_words.v[i] = get_le32(s->p + 4 * i);
	d->stack_words.n = nwords;
	for (size_t w = 0; w < nwords;) {
		uint32_t n = d->stack_words.v[w] & STACK_COUNT_MASK;
		if (n > nwords - w - 1)
			BAD("'%s': stack %zu runs past the stack table", name, d->stack_offset.n);
		for (uint32_t j = 0; j < n; j++)
			if (d->stack_words.v[w + 1 + j] >= d->frames.n)
				BAD("'%s': stack %zu refers to missing frame %u", name, d->stack_offset.n,
				    d->stack_words.v[w + 1 + j]);
		vec_push(&d->stack_offset, (uint32_t)w);
		w += n + 1;
	}
	if (d->stack_offset.n != s->count)
		BAD("'%s': stack table holds %zu stacks, header says %u", name, d->stack_offset.n, s->count);

	s = &sec[SECTION_SAMPLES];
	if (s->len != (size_t)s->count * SMP_SIZE)
		BAD("'%s': sample table is malformed", name);
	vec_reserve(&d->samples, s->count);
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *p = s->p + (size_t)i * SMP_SIZE;
		struct cprof_sample x = { .time = get_le64(p + SMP_TIME), .period = get_le64(p + SMP_PERIOD),
					  .pid = get_le32(p + SMP_PID), .tid = get_le32(p + SMP_TID),
					  .stack = get_le32(p + SMP_STACK), .event = get_le16(p + SMP_EVENT),
					  .mode = p[SMP_MODE] };
		if (x.stack >= d->stack_offset.n)
			BAD("'%s': sample %u refers to missing stack %u", name, i, x.stack);
		if (x.event >= d->events.n)
			BAD("'%s': sample %u refers to missing event %u", name, i, x.event);
		d->samples.v[d->samples.n++] = x;
	}

	s = &sec[SECTION_SAMPLE_COUNTS];
	if (s->present) {
		if (s->count != d->samples.n || s->len != (size_t)s->count * 4)
			BAD("'%s': sample counts do not match the %zu samples", name, d->samples.n);
		vec_reserve(&d->sample_counts, s->count);
		for (uint32_t i = 0; i < s->count; i++) {
			uint32_t c = get_le32(s->p + 4 * (size_t)i);
			if (c == 0)
				BAD("'%s': sample %u stands for no sample (count 0)", name, i);
			d->sample_counts.v[d->sample_counts.n++] = c;
		}
	}

	s = &sec[SECTION_MAPS];
	if (s->present) {
		if (s->len != (size_t)s->count * MA_SIZE)
			BAD("'%s': map table is malformed", name);
		for (uint32_t i = 0; i < s->count; i++) {
			const uint8_t *p = s->p + (size_t)i * MA_SIZE;
			struct cprof_map m = { .start = get_le64(p + MA_START), .len = get_le64(p + MA_LEN),
					       .pgoff = get_le64(p + MA_PGOFF), .pid = get_le32(p + MA_PID),
					       .path = get_le32(p + MA_PATH), .build_id_size = p[MA_BUILD_ID_SIZE] };
			if (!STR_OK(m.path) || m.build_id_size > 20)
				BAD("'%s': map %u is malformed", name, i);
			memcpy(m.build_id, p + MA_BUILD_ID, 20);
			vec_push(&d->maps, m);
		}
	}

	s = &sec[SECTION_CODE];
	if (s->present && (r = code_section_parse(d, s->p, s->len, s->count, name, err)) < 0)
		goto out;

	for (uint32_t t = SECTION_MEM_SITES; t <= SECTION_MEM_EST; t++) {
		s = &sec[t];
		if (s->present) {
			r = mem_section_parse(d, t, s->p, s->len, s->count, name, err);
			if (r < 0)
				goto out;
		}
	}
	for (uint32_t type = SECTION_GPU_OPS; type <= SECTION_GPU_API; type++)
		if (sec[type].present && (r = gpu_section_parse(d, type, sec[type].p, sec[type].len, sec[type].count,
								 name, err)) < 0)
			goto out;
out:
	for (size_t i = 0; i < ARRAY_SIZE(sec); i++)
		free(sec[i].owned);
	if (r < 0) {
		cprof_data_release(d);
	}
	return r;
}

int cprof_data_read(struct cprof_data *d, const char *path, struct cprof_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *fp = is_stdin ? stdin : fopen(path, "rb");
	struct sbuf buf = SBUF_INIT;
	if (!fp) {
		int e = errno;
		cprof_data_init(d);
		if (e == ENOENT)
			return err_set(err, e, "'%s': no such file (record one with 'cprof record')", path);
		return err_set(err, e, "cannot open '%s': %s", path, strerror(e));
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		sbuf_add(&buf, chunk, n);
	int e = ferror(fp) ? (errno ? errno : EIO) : 0;
	if (!is_stdin)
		fclose(fp);
	if (e) {
		sbuf_release(&buf);
		cprof_data_init(d);
		return err_set(err, e, "cannot read '%s': %s", path, strerror(e));
	}
	int r = cprof_data_parse(d, (const uint8_t *)buf.buf, buf.len, is_stdin ? "<stdin>" : path, err);
	sbuf_release(&buf);
	return r;
}
