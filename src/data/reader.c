/*
 * reader.c - the one parser of cprof.data files. It trusts nothing: every
 * length, offset, index and checksum is checked before use, and any problem
 * becomes a one-line error naming the file and what is wrong.
 *
 * One file: every check of the format is here, so what is trusted can be read
 * in one place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "cprof/data.h"
#include "cprof/mem-data.h"
#include "code-data.h"

/*
 * Decompression is bounded relative to the file: the sections together may
 * inflate to INFLATE_RATIO times the file's size, or INFLATE_FLOOR, whichever
 * is more. Recordings inflate 3-10 times, so a small file that claims
 * gigabytes is rejected before anything is allocated. CPROF_MAX_INFLATE
 * raises the ratio for a genuine file beyond it (cprof-data(5)).
 */
#define INFLATE_RATIO 64ULL
#define INFLATE_FLOOR (64ULL << 20)
#define INFLATE_ENV "CPROF_MAX_INFLATE"

static const char *section_name(uint32_t type)
{
	static const char *names[] = { "?", "meta", "strings", "events", "threads", "frames", "stacks", "samples", "maps" };
	if (type == SECTION_CODE)
		return "code";
	if (type == SECTION_SAMPLE_COUNTS)
		return "sample counts";
	if (type == SECTION_SAMPLE_CPUS)
		return "sample CPUs";
	if (type == SECTION_SAMPLE_VALUES)
		return "sample values";
	if (type == SECTION_MEM_SITES)
		return "memory sites";
	if (type == SECTION_MEM_PROCS)
		return "memory processes";
	if (type == SECTION_MEM_CURVE)
		return "heap curve";
	if (type == SECTION_MEM_EST)
		return "memory estimates";
	if (sys_section_type(type))
		return type == SECTION_SYS_STATS ? "syscalls" : type == SECTION_SYS_ERRORS ? "syscall errors"
		       : "slow syscalls";
	if (offcpu_section_type(type))
		return "off-CPU";
	if (lat_section_type(type))
		return type == SECTION_LAT_STATS ? "latency" : type == SECTION_LAT_HISTS ? "latency distributions"
		       : type == SECTION_LAT_STACKS ? "time by stack"
		       : "slow calls";
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool known_section(uint32_t type)
{
	return (type >= SECTION_META && type <= SECTION_MAPS) || type == SECTION_CODE || type == SECTION_SAMPLE_COUNTS ||
	       type == SECTION_SAMPLE_CPUS || type == SECTION_SAMPLE_VALUES ||
	       mem_section_type(type) || gpu_section_type(type) || sys_section_type(type) ||
	       type == SECTION_OFFCPU_WAITS || lat_section_type(type);
}

struct extent {
	uint64_t off, end;
	uint32_t type;
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/*
 * Where the sections lie, for every entry of the table (known types or
 * not): between the header and the table, 8-byte aligned, and apart from
 * each other. A file that passes its checksums can still say otherwise.
 */
static int check_layout(const uint8_t *buf, uint64_t toff, uint32_t nsec, const char *name, struct cprof_err *err)
{
	struct extent *x = calloc(nsec ? nsec : 1, sizeof *x);
	int r = 0;
	if (!x)
		return err_set(err, ENOMEM, "'%s': cannot check the section table: %s", name, strerror(ENOMEM));
	for (uint32_t i = 0; i < nsec && r == 0; i++) {
		const uint8_t *e = buf + toff + (size_t)i * SEC_ENTRY_SIZE;
		uint32_t type = get_le32(e + SEC_TYPE);
		uint64_t off = get_le64(e + SEC_OFFSET), size = get_le64(e + SEC_SIZE);
		const char *sn = section_name(type);
		if (off > toff || size > toff - off)
			r = err_set(err, EBADMSG, "'%s': section '%s' extends past the section table (offset %llu, %llu bytes)",
				    name, sn, (unsigned long long)off, (unsigned long long)size);
		else if (off < HDR_SIZE)
			r = err_set(err, EBADMSG, "'%s': section '%s' overlaps the file header (offset %llu)", name, sn,
				    (unsigned long long)off);
		else if (off % 8)
			r = err_set(err, EBADMSG, "'%s': section '%s' is not 8-byte aligned (offset %llu)", name, sn,
				    (unsigned long long)off);
		x[i] = (struct extent){ off, off + size, type };
	}
	if (r == 0 && nsec > 1) {
		qsort(x, nsec, sizeof *x, cmp_extent);
		uint64_t end = x[0].end;
		uint32_t last = x[0].type;
		for (uint32_t i = 1; i < nsec && r == 0; i++) {
			if (x[i].off < end && x[i].end > x[i].off)
				r = err_set(err, EBADMSG, "'%s': sections '%s' and '%s' overlap", name, section_name(last),
					    section_name(x[i].type));
			if (x[i].end > end) {
				end = x[i].end;
				last = x[i].type;
			}
		}
	}
	/* The bytes no section holds (alignment padding) are written as zeros
	 * and no checksum covers them: a byte flipped there is damage too. */
	uint64_t pos = HDR_SIZE;
	for (uint32_t i = 0; i <= nsec && r == 0; i++) {
		uint64_t to = i < nsec ? x[i].off : toff;
		for (uint64_t k = pos; k < to && r == 0; k++)
			if (buf[k])
				r = err_set(err, EBADMSG, "'%s': corrupt: byte %llu, between sections, is not zero", name,
					    (unsigned long long)k);
		if (i < nsec && x[i].end > pos)
			pos = x[i].end;
	}
	free(x);
	return r;
}

/* The decompression budget of a file of len bytes; -errno on a bad override. */
static int inflate_limit(size_t len, uint64_t *ret, uint64_t *ret_ratio, struct cprof_err *err)
{
	uint64_t ratio = INFLATE_RATIO;
	const char *env = getenv(INFLATE_ENV);
	if (env && *env) {
		char *end;
		errno = 0;
		ratio = env[0] >= '0' && env[0] <= '9' ? strtoull(env, &end, 10) : 0;
		if (!ratio || errno || *end)
			return err_set(err, EINVAL, "%s='%s': expected a whole number above 0, how many times its size "
						    "a data file may inflate to", INFLATE_ENV, env);
	}
	uint64_t limit;
	if (__builtin_mul_overflow((uint64_t)len, ratio, &limit))
		limit = UINT64_MAX;
	*ret = limit > INFLATE_FLOOR ? limit : INFLATE_FLOOR;
	*ret_ratio = ratio;
	return 0;
}

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
	unsigned long long fs = ZSTD_getFrameContentSize(buf + off, size);
	if (fs == ZSTD_CONTENTSIZE_ERROR || fs == ZSTD_CONTENTSIZE_UNKNOWN || fs != raw)
		return err_set(err, EBADMSG, "'%s': section '%s' is not valid zstd data", name, sn);
	/* Within the budget checked before, yet maybe more than this machine
	 * has: a message, never an abort. */
	s->owned = raw < SIZE_MAX ? malloc(raw + 1) : NULL; /* + 1: the string table becomes an sbuf */
	if (!s->owned)
		return err_set(err, ENOMEM, "'%s': section '%s' needs %llu MiB to decompress: %s", name, sn,
			       (unsigned long long)(raw >> 20), strerror(ENOMEM));
	size_t n = ZSTD_decompress(s->owned, raw, buf + off, size);
	if (ZSTD_isError(n) || n != raw)
		return err_set(err, EBADMSG, "'%s': section '%s' does not decompress", name, sn);
	((uint8_t *)s->owned)[raw] = 0;
	s->p = s->owned;
	s->len = raw;
	return 0;
}

#define BAD(...) do { r = err_set(err, EBADMSG, __VA_ARGS__); goto out; } while (0)

int cprof_data_parse(struct cprof_data *d, const uint8_t *buf, size_t len, const char *name, struct cprof_err *err)
{
	struct section_in sec[SECTION_TYPE_MAX + 1]; /* 1..12 core, 16..19 memory, 20..23 syscalls, 24..31 GPU, 32..35 off-CPU, 36..39 latency */
	uint64_t *period_sum = NULL;
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
	if (get_le32(hdr + HDR_HEADER_SIZE) != HDR_SIZE)
		BAD("'%s': header size %u, version %u headers are %d bytes", name, get_le32(hdr + HDR_HEADER_SIZE),
		    version, HDR_SIZE);
	if (get_le32(hdr + HDR_FLAGS))
		BAD("'%s': unknown header flags 0x%x", name, get_le32(hdr + HDR_FLAGS));
	for (size_t i = HDR_TABLE_CRC + 4; i < HDR_SIZE; i++)
		if (hdr[i])
			BAD("'%s': reserved header byte %zu is not zero", name, i);
	uint64_t fsize = get_le64(hdr + HDR_FILE_SIZE);
	if (fsize != len)
		BAD("'%s': truncated or extended (%zu bytes, header says %llu)", name, len, (unsigned long long)fsize);
	uint32_t nsec = get_le32(hdr + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(hdr + HDR_TABLE_OFFSET);
	if (nsec > 4096 || toff > len || (uint64_t)nsec * SEC_ENTRY_SIZE > len - toff)
		BAD("'%s': section table out of bounds", name);
	if ((uint32_t)crc32(0, buf + toff, nsec * SEC_ENTRY_SIZE) != get_le32(hdr + HDR_TABLE_CRC))
		BAD("'%s': section table is corrupt (checksum mismatch)", name);
	if (toff < HDR_SIZE || toff % 8 || toff + (uint64_t)nsec * SEC_ENTRY_SIZE != len)
		BAD("'%s': the section table is not where it belongs (offset %llu, %u entries, %zu bytes of file)", name,
		    (unsigned long long)toff, nsec, len);
	if ((r = check_layout(buf, toff, nsec, name, err)) < 0)
		goto out;
	/* What the known sections inflate to, all told, before any allocation. */
	uint64_t limit = 0, ratio = 0, inflated = 0;
	if ((r = inflate_limit(len, &limit, &ratio, err)) < 0)
		goto out;
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + toff + (size_t)i * SEC_ENTRY_SIZE;
		if (known_section(get_le32(e + SEC_TYPE)) && (get_le32(e + SEC_FLAGS) & SECF_ZSTD) &&
		    __builtin_add_overflow(inflated, get_le64(e + SEC_RAW_SIZE), &inflated))
			inflated = UINT64_MAX;
	}
	if (inflated > limit)
		BAD("'%s': its sections claim %.1f MiB decompressed, more than %llu times the file's %llu KiB; "
		    "if the file is genuine, allow it with %s=%llu", name, (double)inflated / (1 << 20),
		    (unsigned long long)ratio, (unsigned long long)(len >> 10), INFLATE_ENV,
		    (unsigned long long)(inflated / len + 1));
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + toff + (size_t)i * SEC_ENTRY_SIZE;
		uint32_t type = get_le32(e + SEC_TYPE);
		if (!known_section(type))
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
	sbuf_release(&d->strings);
	if (s->owned) { /* decompressed: adopt it rather than copy (its NUL is there) */
		d->strings = (struct sbuf){ s->owned, s->len, s->len + 1 };
		s->owned = NULL;
	} else {
		sbuf_add(&d->strings, s->p, s->len);
	}
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
		/* Appended, not set: a key lookup per entry would make a file of
		 * many entries quadratic. Duplicates are caught below. */
		vec_push(&d->meta, ((struct cprof_kv){ cprof_intern(d, (const char *)k), cprof_intern(d, (const char *)v) }));
		p = (size_t)(vz + 1 - s->p);
	}
	if (d->meta.n > 1) {
		uint32_t *keys = xmalloc(d->meta.n * sizeof *keys);
		for (size_t i = 0; i < d->meta.n; i++)
			keys[i] = d->meta.v[i].key;
		qsort(keys, d->meta.n, sizeof *keys, cmp_u32);
		size_t i = 1;
		while (i < d->meta.n && keys[i] != keys[i - 1])
			i++;
		uint32_t dup = i < d->meta.n ? keys[i] : 0;
		free(keys);
		if (i < d->meta.n)
			BAD("'%s': metadata key '%s' appears twice", name, cprof_str(d, dup));
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
	/* Every view sums the periods of an event: that sum must exist. */
	period_sum = xcalloc(d->events.n, sizeof *period_sum);
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
		if (d->events.v[x.event].flags & EVF_READ)
			BAD("'%s': sample %u is of event '%s', which is only read with its group leader's samples",
			    name, i, cprof_str(d, d->events.v[x.event].name));
		if (__builtin_add_overflow(period_sum[x.event], x.period, &period_sum[x.event]))
			BAD("'%s': the periods of event '%s' add up to more than 2^64-1 (sample %u)", name,
			    cprof_str(d, d->events.v[x.event].name), i);
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

	s = &sec[SECTION_SAMPLE_CPUS];
	if (s->present) {
		if (s->count != d->samples.n || s->len != (size_t)s->count * 4)
			BAD("'%s': sample CPUs do not match the %zu samples", name, d->samples.n);
		vec_reserve(&d->sample_cpus, s->count);
		for (uint32_t i = 0; i < s->count; i++) {
			uint32_t c = get_le32(s->p + 4 * (size_t)i);
			if (c > SAMPLE_CPU_MAX)
				BAD("'%s': sample %u was taken on CPU %u, above the highest possible (%u)", name, i, c,
				    SAMPLE_CPU_MAX);
			d->sample_cpus.v[d->sample_cpus.n++] = c;
		}
	}

	s = &sec[SECTION_SAMPLE_VALUES];
	if (s->present) {
		if (s->len != (size_t)s->count * SV_SIZE)
			BAD("'%s': sample value table is malformed", name);
		uint64_t *value_sum = xcalloc(d->events.n ? d->events.n : 1, sizeof *value_sum);
		vec_reserve(&d->sample_values, s->count);
		for (uint32_t i = 0; i < s->count && r == 0; i++) {
			const uint8_t *p = s->p + (size_t)i * SV_SIZE;
			struct cprof_sample_value v = { .sample = get_le32(p + SV_SAMPLE), .event = get_le32(p + SV_EVENT),
							.value = get_le64(p + SV_VALUE) };
			if (v.sample >= d->samples.n)
				r = err_set(err, EBADMSG, "'%s': sample value %u refers to missing sample %u", name, i,
					    v.sample);
			else if (i && v.sample < d->sample_values.v[i - 1].sample)
				r = err_set(err, EBADMSG, "'%s': sample values are not in sample order (value %u)", name, i);
			else if (v.event >= d->events.n)
				r = err_set(err, EBADMSG, "'%s': sample value %u refers to missing event %u", name, i,
					    v.event);
			else if (!(d->events.v[v.event].flags & EVF_READ) || v.event == d->samples.v[v.sample].event)
				r = err_set(err, EBADMSG, "'%s': sample value %u is a count of event '%s', which is not "
						"read through a group leader's samples", name, i,
					    cprof_str(d, d->events.v[v.event].name));
			else if (__builtin_add_overflow(value_sum[v.event], v.value, &value_sum[v.event]))
				r = err_set(err, EBADMSG, "'%s': the counts of event '%s' add up to more than 2^64-1 "
						"(value %u)", name, cprof_str(d, d->events.v[v.event].name), i);
			else
				d->sample_values.v[d->sample_values.n++] = v;
		}
		free(value_sum);
		if (r < 0)
			goto out;
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
	for (uint32_t type = SECTION_SYS_STATS; type <= SECTION_SYS_IO; type++)
		if (sec[type].present && (r = sys_section_parse(d, type, sec[type].p, sec[type].len, sec[type].count,
								 name, err)) < 0)
			goto out;
	s = &sec[SECTION_OFFCPU_WAITS];
	if (s->present && (r = offcpu_section_parse(d, SECTION_OFFCPU_WAITS, s->p, s->len, s->count, name, err)) < 0)
		goto out;
	for (uint32_t type = SECTION_LAT_STATS; type <= SECTION_LAT_STACKS; type++)
		if (sec[type].present && (r = lat_section_parse(d, type, sec[type].p, sec[type].len, sec[type].count,
								 name, err)) < 0)
			goto out;
out:
	free(period_sum);
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
	int rr = stream_read(fp, path, &buf, 0, err);
	if (!is_stdin)
		fclose(fp);
	if (rr < 0) {
		sbuf_release(&buf);
		cprof_data_init(d);
		return rr;
	}
	int r = cprof_data_parse(d, (const uint8_t *)buf.buf, buf.len, is_stdin ? "<stdin>" : path, err);
	sbuf_release(&buf);
	return r;
}
