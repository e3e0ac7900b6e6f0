/* test-data.c - cprof_data builders, the data file round trip and validation, and loading. */
#include <errno.h>
#include <zlib.h>

#include "cprof/data.h"
#include "cprof/stacktime.h"
#include "cprof/load.h"
#include "cprof/hist.h"
#include "harness.h"

static void build_sample_data(struct cprof_data *d, size_t nsamples)
{
	cprof_data_init(d);
	cprof_meta_set(d, "command", "./app --flag");
	cprof_meta_setf(d, "duration_ns", "%d", 123456789);
	struct cprof_event ev = { .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "ns"),
				  .type = 1, .config = 0, .period = 999, .flags = EVF_FREQ };
	vec_push(&d->events, ev);
	vec_push(&d->threads, ((struct cprof_thread){ 10, 11, cprof_intern(d, "worker"), 1, 5 }));
	struct cprof_frame f1 = { .func = cprof_intern(d, "main"), .dso = cprof_intern(d, "/bin/app"),
				  .file = cprof_intern(d, "app.c"), .line = 12, .addr = 0x1000 };
	struct cprof_frame f2 = { .func = cprof_intern(d, "leaf"), .dso = f1.dso, .addr = 0x1100,
				  .flags = FRF_INLINED };
	uint32_t fr[2] = { cprof_add_frame(d, &f2), cprof_add_frame(d, &f1) };
	uint32_t s0 = cprof_add_stack(d, fr, 2, 0);
	uint32_t s1 = cprof_add_stack(d, fr + 1, 1, STACKF_TRUNCATED);
	for (size_t i = 0; i < nsamples; i++) {
		struct cprof_sample s = { .time = 1000 + i, .period = 1001001, .pid = 10, .tid = 11,
					  .stack = (i % 3) ? s0 : s1, .mode = 2 };
		vec_push(&d->samples, s);
	}
	struct cprof_map m = { .start = 0x400000, .len = 0x1000, .pgoff = 0, .pid = 10,
			       .path = cprof_intern(d, "/bin/app"), .build_id_size = 3, .build_id = { 1, 2, 3 } };
	vec_push(&d->maps, m);
}

TEST(intern_dedups)
{
	struct cprof_data d;
	cprof_data_init(&d);
	uint32_t a = cprof_intern(&d, "alpha");
	ASSERT_EQ(cprof_intern(&d, "alpha"), a);
	ASSERT_EQ(cprof_intern(&d, ""), 0);
	char name[32];
	for (int i = 0; i < 5000; i++) { /* forces several index rebuilds */
		snprintf(name, sizeof name, "s%d", i);
		cprof_intern(&d, name);
	}
	ASSERT_EQ(cprof_intern(&d, "alpha"), a);
	ASSERT_STREQ(cprof_str(&d, cprof_intern(&d, "s4999")), "s4999");
	size_t len = d.strings.len;
	cprof_intern(&d, "s1234");
	ASSERT_EQ(d.strings.len, len);
	cprof_data_release(&d);
}

TEST(stacks_dedup_and_flags)
{
	struct cprof_data d;
	build_sample_data(&d, 0);
	uint32_t fr[2] = { 0, 1 };
	ASSERT_EQ(cprof_add_stack(&d, fr, 2, 0), 0);
	ASSERT_EQ(cprof_add_stack(&d, fr + 1, 1, STACKF_TRUNCATED), 1);
	ASSERT_EQ(cprof_add_stack(&d, fr + 1, 1, 0), 2); /* same frames, other flags */
	ASSERT_EQ(cprof_stack_len(&d, 1), 1);
	ASSERT(cprof_stack_flags(&d, 1) & STACKF_TRUNCATED);
	ASSERT_EQ(cprof_stack_frames(&d, 0)[1], 1);
	cprof_data_release(&d);
}

static void roundtrip(size_t nsamples)
{
	struct cprof_data d, e;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build_sample_data(&d, nsamples);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT_OK(cprof_data_parse(&e, buf, len, "mem", &err));
	ASSERT_STREQ(cprof_meta_get(&e, "command"), "./app --flag");
	ASSERT_STREQ(cprof_meta_get(&e, "duration_ns"), "123456789");
	ASSERT_EQ(e.events.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.events.v[0].name), "cpu-clock");
	ASSERT_EQ(e.events.v[0].flags, EVF_FREQ);
	ASSERT_EQ(e.threads.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.threads.v[0].comm), "worker");
	ASSERT_EQ(e.frames.n, 2);
	ASSERT_EQ(e.frames.v[1].line, 12);
	ASSERT_EQ(e.frames.v[0].flags, FRF_INLINED);
	ASSERT_EQ(e.stack_offset.n, 2);
	ASSERT(cprof_stack_flags(&e, 1) & STACKF_TRUNCATED);
	ASSERT_EQ(e.samples.n, nsamples);
	for (size_t i = 0; i < nsamples; i++) {
		ASSERT_EQ(e.samples.v[i].time, d.samples.v[i].time);
		ASSERT_EQ(e.samples.v[i].stack, d.samples.v[i].stack);
		ASSERT_EQ(e.samples.v[i].period, 1001001);
	}
	ASSERT_EQ(e.maps.n, 1);
	ASSERT_EQ(e.maps.v[0].build_id[2], 3);
	ASSERT_STREQ(cprof_str(&e, e.maps.v[0].path), "/bin/app");
	/* Interning into a loaded file still dedups. */
	ASSERT_EQ(cprof_intern(&e, "worker"), e.threads.v[0].comm);
	free(buf);
	cprof_data_release(&d);
	cprof_data_release(&e);
}

TEST(roundtrip_small) { roundtrip(5); }
TEST(roundtrip_compressed) { roundtrip(100000); } /* big enough for zstd */

/* Every corruption must be caught with a message naming the file. */
TEST(rejects_damage)
{
	struct cprof_data d, e;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build_sample_data(&d, 2000);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));

	ASSERT_EQ(cprof_data_parse(&e, buf, 0, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "empty"));
	ASSERT_EQ(cprof_data_parse(&e, buf, len - 1, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "'f'") && strstr(err.msg, "truncated"));
	ASSERT_EQ(cprof_data_parse(&e, buf, 40, "f", &err), -EBADMSG);
	/* Flip bytes one at a time: a flip is either rejected, or it hit
	 * alignment padding and the content read back is exactly the original. */
	size_t rejected = 0, tried = 0;
	for (size_t i = 0; i < len; i += 7, tried++) {
		buf[i] ^= 0x40;
		int r = cprof_data_parse(&e, buf, len, "f", &err);
		if (r < 0) {
			rejected++;
			ASSERT(strstr(err.msg, "'f'"));
		} else {
			uint8_t *again;
			size_t again_len;
			buf[i] ^= 0x40;
			ASSERT_OK(cprof_data_serialize(&e, &again, &again_len, &err));
			ASSERT_EQ(again_len, len);
			ASSERT(memcmp(again, buf, len) == 0);
			buf[i] ^= 0x40;
			free(again);
			cprof_data_release(&e);
		}
		buf[i] ^= 0x40;
	}
	ASSERT(rejected > tried * 9 / 10);
	memcpy(buf, "PERFILE2", 8);
	ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "perf.data"));
	free(buf);
	cprof_data_release(&d);
}

/* Two functions' code, as record's finishing pass saves it. */
static void add_code(struct cprof_data *d)
{
	static const uint8_t bytes[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0xf7, 0xf1, 0x5d, 0xc3, 0x90, 0xc3 };
	for (size_t i = 0; i < sizeof bytes; i++)
		vec_push(&d->code_bytes, bytes[i]);
	uint32_t file = cprof_intern(d, "app.c"), dso = cprof_intern(d, "/bin/app");
	vec_push(&d->code_lines, ((struct cprof_code_line){ 0, file, 10 }));
	vec_push(&d->code_lines, ((struct cprof_code_line){ 4, file, 11 }));
	vec_push(&d->code_lines, ((struct cprof_code_line){ 0, file, 20 }));
	vec_push(&d->code_inlines, ((struct cprof_code_inline){ 4, 7, cprof_intern(d, "divide"), file, 11, 1 }));
	vec_push(&d->code_syms, ((struct cprof_code_sym){ 0x2000, cprof_intern(d, "sqrt@plt") }));
	struct cprof_code c = { .func = cprof_intern(d, "main"), .dso = dso, .start = 0x1000, .bytes_off = 0,
				.len = 9, .machine = 62, .build_id_size = 3, .build_id = { 1, 2, 3 },
				.first_line = 0, .nlines = 2, .first_inline = 0, .ninlines = 1, .first_sym = 0, .nsyms = 1,
				.comp_dir = cprof_intern(d, "/src") };
	vec_push(&d->code, c);
	c = (struct cprof_code){ .func = cprof_intern(d, "leaf"), .dso = dso, .start = 0x1100, .bytes_off = 9, .len = 2,
				 .machine = 62, .first_line = 2, .nlines = 1 };
	vec_push(&d->code, c);
}

TEST(code_roundtrip)
{
	struct cprof_data d, e;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build_sample_data(&d, 10);
	add_code(&d);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT_OK(cprof_data_parse(&e, buf, len, "mem", &err));
	ASSERT_EQ(e.code.n, 2);
	ASSERT_STREQ(cprof_str(&e, e.code.v[0].func), "main");
	ASSERT_STREQ(cprof_str(&e, e.code.v[0].comp_dir), "/src");
	ASSERT_EQ(e.code.v[0].start, 0x1000);
	ASSERT_EQ(e.code.v[0].len, 9);
	ASSERT_EQ(e.code.v[0].machine, 62);
	ASSERT_EQ(e.code.v[0].build_id_size, 3);
	ASSERT_EQ(e.code.v[0].build_id[2], 3);
	ASSERT_EQ(e.code.v[1].bytes_off, 9);
	ASSERT_EQ(e.code_bytes.n, 11);
	ASSERT_EQ(e.code_bytes.v[6], 0xf1);
	ASSERT_EQ(e.code_lines.n, 3);
	ASSERT_EQ(e.code_lines.v[1].off, 4);
	ASSERT_EQ(e.code_lines.v[1].line, 11);
	ASSERT_EQ(e.code_inlines.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.code_inlines.v[0].func), "divide");
	ASSERT_EQ(e.code_inlines.v[0].hi, 7);
	ASSERT_EQ(e.code_syms.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.code_syms.v[0].name), "sqrt@plt");
	/* Written again, the file is the same bytes. */
	uint8_t *again;
	size_t again_len;
	ASSERT_OK(cprof_data_serialize(&e, &again, &again_len, &err));
	ASSERT_EQ(again_len, len);
	ASSERT(memcmp(again, buf, len) == 0);
	free(again);
	free(buf);
	cprof_data_release(&e);
	cprof_data_release(&d);
}

/* Each structural rule of the code section, broken on purpose: the file is
 * rejected with a message naming it and the problem. */
TEST(code_rejects_inconsistent)
{
	static const struct {
		int what;
		const char *msg;
	} cases[] = {
		{ 0, "out of order" },        /* line rows not sorted */
		{ 1, "out of order" },        /* a line row past the code */
		{ 2, "outside the code bytes" }, /* code past the bytes */
		{ 3, "missing rows" },        /* a run past the rows */
		{ 4, "inline range 0 is malformed" },
		{ 5, "lies outside it" },     /* inline range past the code */
		{ 6, "missing string" },
		{ 7, "outside the code bytes" }, /* empty function */
		{ 8, "unknown flags 0x4" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cprof_data d, e;
		struct cprof_err err;
		uint8_t *buf;
		size_t len;
		build_sample_data(&d, 3);
		add_code(&d);
		switch (cases[i].what) {
		case 0: d.code_lines.v[1].off = 0; d.code_lines.v[0].off = 3; break;
		case 1: d.code_lines.v[1].off = 9; break;
		case 2: d.code.v[1].len = 3; break;
		case 3: d.code.v[1].nlines = 2; break;
		case 4: d.code_inlines.v[0].hi = d.code_inlines.v[0].lo; break;
		case 5: d.code_inlines.v[0].hi = 10; break;
		case 6: d.code_syms.v[0].name = (uint32_t)d.strings.len + 5; break;
		case 7: d.code.v[1].len = 0; break;
		case 8: d.code.v[0].flags = 4; break;
		}
		ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
		ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EBADMSG);
		if (!strstr(err.msg, "'f'") || !strstr(err.msg, cases[i].msg))
			FAIL_("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].msg);
		free(buf);
		cprof_data_release(&d);
	}
}

/* Merged samples keep their counts through the file; a file without any
 * has no counts section at all; a count of 0, or counts that do not match
 * the samples, are rejected. */
TEST(sample_counts)
{
	struct cprof_data d, e;
	struct cprof_err err;
	uint8_t *buf, *plain;
	size_t len, plain_len;
	build_sample_data(&d, 10);
	ASSERT_OK(cprof_data_serialize(&d, &plain, &plain_len, &err));
	ASSERT_OK(cprof_data_parse(&e, plain, plain_len, "f", &err));
	ASSERT_EQ(e.sample_counts.n, 0);
	cprof_data_release(&e);
	for (uint32_t i = 0; i < 10; i++)
		vec_push(&d.sample_counts, i + 1);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT(len > plain_len);
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	ASSERT_EQ(e.sample_counts.n, 10);
	ASSERT_EQ(e.sample_counts.v[9], 10);
	cprof_data_release(&e);
	free(buf);

	d.sample_counts.v[3] = 0;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "'f'") && strstr(err.msg, "count 0"));
	free(buf);
	d.sample_counts.v[3] = 4;
	d.sample_counts.n = 9;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "sample counts do not match"));
	free(buf);
	free(plain);
	cprof_data_release(&d);
}

/* After an edit, recompute the table and header checksums (not the
 * sections'), so the edit reaches the checks behind them. */
static void reseal(uint8_t *buf, size_t len)
{
	uint32_t n = get_le32(buf + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(buf + HDR_TABLE_OFFSET);
	put_le32(buf + HDR_TABLE_CRC, (uint32_t)crc32(0, buf + toff, n * SEC_ENTRY_SIZE));
	put_le64(buf + HDR_FILE_SIZE, len);
	put_le32(buf + HDR_CRC, 0);
	put_le32(buf + HDR_CRC, (uint32_t)crc32(0, buf, HDR_SIZE));
}

static uint8_t *section_entry(uint8_t *buf, uint32_t type)
{
	uint32_t n = get_le32(buf + HDR_SECTION_COUNT);
	uint64_t toff = get_le64(buf + HDR_TABLE_OFFSET);
	for (uint32_t i = 0; i < n; i++)
		if (get_le32(buf + toff + (size_t)i * SEC_ENTRY_SIZE + SEC_TYPE) == type)
			return buf + toff + (size_t)i * SEC_ENTRY_SIZE;
	FAIL_("no section %u", type);
}

/* Parse buf as it is; expect a rejection whose message contains want. */
static void expect_rejected(const uint8_t *buf, size_t len, const char *want)
{
	struct cprof_data e;
	struct cprof_err err;
	int r = cprof_data_parse(&e, buf, len, "f", &err);
	if (r >= 0)
		FAIL_("accepted; expected '%s'", want);
	if (!strstr(err.msg, "'f'") || !strstr(err.msg, want))
		FAIL_("message '%s', expected '%s'", err.msg, want);
	ASSERT_EQ(e.samples.n, 0);
}

/* Checksums prove the bytes are as written, not that a writer wrote sense:
 * the header's reserved fields and where the sections lie are checked too. */
TEST(rejects_bad_layout)
{
	struct cprof_data d;
	struct cprof_err err;
	uint8_t *orig, *buf;
	size_t len;
	build_sample_data(&d, 50);
	ASSERT_OK(cprof_data_serialize(&d, &orig, &len, &err));
	buf = malloc(len + 64);
	static const struct {
		size_t at; /* header byte to set, with a fresh header checksum */
		uint8_t value;
		const char *want;
	} hdr[] = {
		{ 48, 1, "reserved header byte 48 is not zero" }, { 63, 0x80, "reserved header byte 63" },
		{ HDR_FLAGS, 1, "unknown header flags 0x1" }, { HDR_FLAGS + 3, 1, "unknown header flags 0x1000000" },
		{ HDR_HEADER_SIZE, 1, "header size 65" }, { HDR_TABLE_OFFSET, 0x01, "section table" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(hdr); i++) {
		memcpy(buf, orig, len);
		buf[hdr[i].at] ^= hdr[i].value;
		reseal(buf, len);
		expect_rejected(buf, len, hdr[i].want);
	}
	/* Section offsets moved, with every checksum made right again. */
	uint8_t *e;
	memcpy(buf, orig, len);
	put_le64(section_entry(buf, SECTION_META) + SEC_OFFSET, 8);
	reseal(buf, len);
	expect_rejected(buf, len, "section 'meta' overlaps the file header");
	memcpy(buf, orig, len);
	e = section_entry(buf, SECTION_STRINGS);
	put_le64(e + SEC_OFFSET, get_le64(e + SEC_OFFSET) + 4);
	reseal(buf, len);
	expect_rejected(buf, len, "section 'strings' is not 8-byte aligned");
	memcpy(buf, orig, len);
	put_le64(section_entry(buf, SECTION_EVENTS) + SEC_OFFSET,
		 get_le64(section_entry(buf, SECTION_STRINGS) + SEC_OFFSET));
	reseal(buf, len);
	expect_rejected(buf, len, "overlap");
	memcpy(buf, orig, len);
	e = section_entry(buf, SECTION_MAPS);
	put_le64(e + SEC_SIZE, get_le64(e + SEC_SIZE) + 8);
	reseal(buf, len);
	expect_rejected(buf, len, "section 'maps' extends past the section table");
	/* An unknown section type is skipped, but not allowed to overlap. */
	memcpy(buf, orig, len);
	e = section_entry(buf, SECTION_THREADS);
	put_le32(e + SEC_TYPE, 200);
	put_le64(e + SEC_OFFSET, get_le64(section_entry(buf, SECTION_FRAMES) + SEC_OFFSET) + 8);
	reseal(buf, len);
	expect_rejected(buf, len, "sections 'frames' and 'unknown' overlap");
	/* Every byte no section holds (the zero padding to 8-byte alignment,
	 * which no checksum covers) is checked too. */
	{
		uint64_t toff = get_le64(orig + HDR_TABLE_OFFSET);
		uint32_t nsec = get_le32(orig + HDR_SECTION_COUNT);
		bool *held = calloc(len, 1);
		for (uint32_t i = 0; i < nsec; i++) {
			const uint8_t *se = orig + toff + (size_t)i * SEC_ENTRY_SIZE;
			memset(held + get_le64(se + SEC_OFFSET), 1, get_le64(se + SEC_SIZE));
		}
		size_t pads = 0;
		for (size_t k = HDR_SIZE; k < toff; k++) {
			if (held[k])
				continue;
			memcpy(buf, orig, len);
			buf[k] = 0x40;
			expect_rejected(buf, len, "between sections, is not zero");
			pads++;
		}
		ASSERT(pads > 0); /* the sample file has padding to flip */
		free(held);
	}
	/* Bytes after the table. */
	memcpy(buf, orig, len);
	memset(buf + len, 0, 8);
	reseal(buf, len + 8);
	expect_rejected(buf, len + 8, "section table is not where it belongs");
	/* The untouched file still reads, and so does one with a skipped section. */
	struct cprof_data ok;
	memcpy(buf, orig, len);
	put_le32(section_entry(buf, SECTION_MAPS) + SEC_TYPE, 200);
	reseal(buf, len);
	ASSERT_OK(cprof_data_parse(&ok, buf, len, "f", &err));
	ASSERT_EQ(ok.maps.n, 0);
	cprof_data_release(&ok);
	free(buf);
	free(orig);
	cprof_data_release(&d);
}

static void serialize_expect(const struct cprof_data *d, const char *want)
{
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(d, &buf, &len, &err));
	if (want) {
		expect_rejected(buf, len, want);
	} else {
		struct cprof_data e;
		int r = cprof_data_parse(&e, buf, len, "f", &err);
		if (r < 0)
			FAIL_("rejected: %s", err.msg);
		cprof_data_release(&e);
	}
	free(buf);
}

/* Sums the views take must exist. */
TEST(rejects_period_overflow)
{
	struct cprof_data d;
	build_sample_data(&d, 2);
	d.samples.v[0].period = d.samples.v[1].period = 1ULL << 63;
	serialize_expect(&d, "the periods of event 'cpu-clock' add up to more than 2^64-1 (sample 1)");
	/* A name from the file cannot break the one line an error is. */
	d.events.v[0].name = cprof_intern(&d, "cpu\nclock\x1b[1m");
	serialize_expect(&d, "the periods of event 'cpu?clock?[1m' add up");
	d.samples.v[1].period = (1ULL << 63) - 1;
	serialize_expect(&d, NULL);
	/* Per event: two events may each come near the limit. */
	vec_push(&d.events, d.events.v[0]);
	d.samples.v[1].period = 1ULL << 63;
	d.samples.v[1].event = 1;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

static void add_gpu(struct cprof_data *d, uint64_t start, uint64_t end, uint64_t bytes)
{
	struct cprof_gpu_op op = { .start = start, .end = end, .kind = GPU_OP_MEMCPY, .bytes = bytes,
				   .name = cprof_intern(d, "k"), .stack = GPU_NO_STACK, .copy_kind = 1 };
	vec_push(&d->gpu_ops, op);
}

TEST(rejects_impossible_gpu_times)
{
	struct cprof_data d;
	build_sample_data(&d, 2); /* duration_ns 123456789 */
	add_gpu(&d, 1000, 2000, 10);
	serialize_expect(&d, NULL);
	add_gpu(&d, 5, UINT64_MAX, 10);
	serialize_expect(&d, "GPU activity 1 lasts 18446744073709551610 ns, longer than the recording");
	d.gpu_ops.v[1].end = 5 + 123456789 + 1000000000ULL; /* the recording, and a second of slack */
	serialize_expect(&d, NULL);
	d.gpu_ops.v[1].end++;
	serialize_expect(&d, "longer than the recording");
	/* Without the recording's length, 2^62 ns still bounds each one, and
	 * their sum must exist. */
	cprof_meta_set(&d, "duration_ns", "");
	d.gpu_ops.n = 0;
	add_gpu(&d, 0, UINT64_MAX, 1);
	serialize_expect(&d, "lasts 18446744073709551615 ns");
	d.gpu_ops.n = 0;
	for (int i = 0; i < 4; i++)
		add_gpu(&d, 0, 1ULL << 62, 1);
	serialize_expect(&d, "GPU activity 3: durations or bytes add up to more than 2^64-1");
	d.gpu_ops.n = 0;
	add_gpu(&d, 0, 1, UINT64_MAX);
	add_gpu(&d, 0, 1, 1);
	serialize_expect(&d, "GPU activity 1: durations or bytes add up");
	d.gpu_ops.n = 0;
	struct cprof_gpu_api a = { .start = 7, .end = UINT64_MAX, .name = cprof_intern(&d, "cudaFree"),
				   .domain = GPU_API_RUNTIME };
	vec_push(&d.gpu_api, a);
	serialize_expect(&d, "GPU API call 0 lasts");
	cprof_data_release(&d);
}

/* The syscall sections: what was written reads back the same, and rows
 * that cannot be (errors beyond calls, percentiles out of order, a mean
 * above the maximum, a missing name or stack, an errno out of range) are
 * refused with a line that names them. */
TEST(syscalls_roundtrip_and_rejects)
{
	struct cprof_data d;
	build_sample_data(&d, 2);
	struct cprof_sys_stat st = { .pid = 10, .tid = 11, .name = cprof_intern(&d, "openat"), .nr = 257, .calls = 4,
				     .errors = 3, .unfinished = 0, .total_ns = 40,
				     .lat = { 5, 8, 10, 12, 15, 15, 17 } };
	vec_push(&d.sys_stats, st);
	vec_push(&d.sys_errs, ((struct cprof_sys_err){ .pid = 10, .tid = 11, .nr = 257, .err = 2, .count = 3 }));
	vec_push(&d.sys_slow, ((struct cprof_sys_slow){ .pid = 10, .tid = 11, .nr = 257, .stack = 0, .start = 100,
							.dur = 17, .ret = -2 }));
	struct cprof_sys_io io = { .pid = 10, .fd = 3, .path = cprof_intern(&d, "/dev/zero"), .read_calls = 10,
				   .read_bytes = 40960, .read_ns = 900, .sync_calls = 1, .sync_ns = 50 };
	vec_push(&d.sys_io, io);
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.sys_stats.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.sys_stats.v[0].name), "openat");
	ASSERT_EQ(e.sys_stats.v[0].errors, 3);
	for (int k = 0; k < PCT_N; k++)
		ASSERT_EQ(e.sys_stats.v[0].lat[k], st.lat[k]);
	ASSERT_EQ(e.sys_errs.n, 1);
	ASSERT_EQ(e.sys_errs.v[0].count, 3);
	ASSERT_EQ(e.sys_slow.n, 1);
	ASSERT_EQ(e.sys_slow.v[0].ret, -2);
	ASSERT_EQ(e.sys_slow.v[0].stack, 0);
	ASSERT_EQ(e.sys_io.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.sys_io.v[0].path), "/dev/zero");
	ASSERT(memcmp(&e.sys_io.v[0].read_calls, &io.read_calls, sizeof io - offsetof(struct cprof_sys_io, read_calls)) == 0);
	ASSERT_EQ(e.sys_io.v[0].fd, 3);
	cprof_data_release(&e);

	d.sys_stats.v[0].errors = 5;
	serialize_expect(&d, "syscall row 0 has more errors or unfinished calls than calls");
	d.sys_stats.v[0].errors = 3;
	d.sys_stats.v[0].lat[PCT_P90] = 20;
	serialize_expect(&d, "syscall row 0 has latency percentiles out of order");
	d.sys_stats.v[0].lat[PCT_P90] = 10;
	d.sys_stats.v[0].total_ns = 100; /* a mean of 25 ns, the maximum 17 */
	serialize_expect(&d, "its mean latency exceeds its maximum");
	d.sys_stats.v[0].total_ns = 40;
	d.sys_stats.v[0].name = (uint32_t)d.strings.len + 5;
	serialize_expect(&d, "syscall row 0 refers to a missing string");
	d.sys_stats.v[0].name = st.name;
	d.sys_errs.v[0].err = 5000;
	serialize_expect(&d, "syscall error row 0 is malformed");
	d.sys_errs.v[0].err = 2;
	d.sys_slow.v[0].stack = 99;
	serialize_expect(&d, "slow syscall 0 refers to missing stack 99");
	d.sys_slow.v[0].stack = SYS_NO_STACK;
	d.sys_io.v[0].fd = -1;
	serialize_expect(&d, "I/O row 0 is malformed (descriptor -1)");
	d.sys_io.v[0].fd = 3;
	d.sys_io.v[0].write_bytes = 5; /* no write calls */
	serialize_expect(&d, "I/O row 0 has bytes or time without calls");
	d.sys_io.v[0].write_bytes = 0;
	d.sys_io.v[0].read_bytes = 10ULL << 32; /* 4 GiB a call */
	serialize_expect(&d, "I/O row 0 moves more bytes a call than a syscall can");
	d.sys_io.v[0].read_bytes = 40960;
	d.sys_io.v[0].path = (uint32_t)d.strings.len + 1;
	serialize_expect(&d, "I/O row 0 refers to a missing string");
	d.sys_io.v[0].path = io.path;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

/* The off-CPU section: intervals read back the same; a missing stack, an
 * interval past the end of time, unknown flags are refused by name. */
TEST(offcpu_roundtrip_and_rejects)
{
	struct cprof_data d;
	build_sample_data(&d, 2);
	vec_push(&d.offcpu, ((struct cprof_offcpu_wait){ .start = 100, .dur = 5000000, .pid = 10, .tid = 11, .stack = 0 }));
	vec_push(&d.offcpu, ((struct cprof_offcpu_wait){ .start = 200, .dur = 30, .pid = 10, .tid = 12,
							 .stack = OFFCPU_NO_STACK, .flags = OWF_PREEMPT }));
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.offcpu.n, 2);
	ASSERT_EQ(e.offcpu.v[0].dur, 5000000);
	ASSERT_EQ(e.offcpu.v[0].stack, 0);
	ASSERT_EQ(e.offcpu.v[1].tid, 12);
	ASSERT_EQ(e.offcpu.v[1].stack, OFFCPU_NO_STACK);
	ASSERT_EQ(e.offcpu.v[1].flags, OWF_PREEMPT);
	cprof_data_release(&e);

	d.offcpu.v[0].stack = 99;
	serialize_expect(&d, "off-CPU interval 0 refers to missing stack 99");
	d.offcpu.v[0].stack = 0;
	d.offcpu.v[1].dur = UINT64_MAX;
	serialize_expect(&d, "off-CPU interval 1 ends after the end of time");
	d.offcpu.v[1].dur = 30;
	d.offcpu.v[1].flags = 6;
	serialize_expect(&d, "off-CPU interval 1 has unknown flags 0x6");
	d.offcpu.v[1].flags = 0;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

/* The latency sections: what was written reads back the same, and rows
 * that cannot be (counts that do not add up, percentiles out of order, a
 * mean above the maximum, a missing name, function or stack) are refused
 * with a line that names them. */
TEST(latency_roundtrip_and_rejects)
{
	struct cprof_data d;
	build_sample_data(&d, 2);
	struct cprof_lat_stat st = { .name = cprof_intern(&d, "libc.so.6:malloc"), .path = cprof_intern(&d, "/lib/libc.so.6"),
				     .offset = 0x1234, .calls = 6, .returned = 4, .unreturned = 2, .slow = 1,
				     .total_ns = 40, .depth = 3, .lat = { 5, 8, 10, 12, 15, 15, 17 } };
	vec_push(&d.lat_stats, st);
	vec_push(&d.lat_slow, ((struct cprof_lat_slow){ .func = 0, .pid = 10, .tid = 11, .stack = 0, .start = 100,
							.dur = 17 }));
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.lat_stats.n, 1);
	ASSERT_STREQ(cprof_str(&e, e.lat_stats.v[0].name), "libc.so.6:malloc");
	ASSERT_STREQ(cprof_str(&e, e.lat_stats.v[0].path), "/lib/libc.so.6");
	ASSERT_EQ(e.lat_stats.v[0].offset, 0x1234);
	ASSERT_EQ(e.lat_stats.v[0].unreturned, 2);
	ASSERT_EQ(e.lat_stats.v[0].slow, 1);
	ASSERT_EQ(e.lat_stats.v[0].depth, 3);
	for (int k = 0; k < PCT_N; k++)
		ASSERT_EQ(e.lat_stats.v[0].lat[k], st.lat[k]);
	ASSERT_EQ(e.lat_slow.n, 1);
	ASSERT_EQ(e.lat_slow.v[0].dur, 17);
	ASSERT_EQ(e.lat_slow.v[0].stack, 0);
	cprof_data_release(&e);

	d.lat_stats.v[0].unreturned = 3;
	serialize_expect(&d, "latency row 0 has more returned, unreturned or slow calls than calls");
	d.lat_stats.v[0].unreturned = 2;
	d.lat_stats.v[0].lat[PCT_P90] = 20;
	serialize_expect(&d, "latency row 0 has percentiles out of order");
	d.lat_stats.v[0].lat[PCT_P90] = 10;
	d.lat_stats.v[0].total_ns = 100; /* a mean of 25 ns, the maximum 17 */
	serialize_expect(&d, "latency row 0: its mean latency exceeds its maximum");
	d.lat_stats.v[0].total_ns = 40;
	d.lat_stats.v[0].path = (uint32_t)d.strings.len + 5;
	serialize_expect(&d, "latency row 0 refers to a missing string");
	d.lat_stats.v[0].path = st.path;
	d.lat_slow.v[0].func = 1;
	serialize_expect(&d, "slow call 0 refers to missing function 1");
	d.lat_slow.v[0].func = 0;
	d.lat_slow.v[0].stack = 99;
	serialize_expect(&d, "slow call 0 refers to missing stack 99");
	d.lat_slow.v[0].stack = LAT_NO_STACK;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

/* Latency distributions: the histogram read back counts and answers as
 * the one written; the meta list of approximated keys is read exactly;
 * records whose buckets disagree with their totals are refused. */
TEST(lat_hists_roundtrip_and_rejects)
{
	struct cprof_data d;
	build_sample_data(&d, 2);
	struct cprof_lat_stat st = { .name = cprof_intern(&d, "f"), .path = cprof_intern(&d, "/bin/f"), .calls = 4,
				     .returned = 4, .total_ns = 40, .lat = { 5, 8, 10, 12, 15, 15, 17 } };
	vec_push(&d.lat_stats, st);
	struct hist h = HIST_INIT, sys = HIST_INIT, got = HIST_INIT;
	for (uint64_t v = 1; v < 3000000; v = v * 3 + 1)
		hist_add(&h, v, v % 5 + 1);
	hist_add(&sys, 1000, 2);
	lat_hist_put(&d, LH_SRC_LATENCY, 0, 0, 0, &h);
	lat_hist_put(&d, LH_SRC_SYSCALLS, 35, 0, 0, &sys);
	lat_hist_put(&d, LH_SRC_SYSCALLS, 35, 10, 11, &sys); /* a per-thread one */
	cprof_meta_set(&d, "lat_approx", "syscalls:35,latency:10");
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.lat_hists.n, 3);
	ASSERT(lat_hist_get(&e, LH_SRC_LATENCY, 0, &got));
	ASSERT_EQ(got.total, h.total);
	ASSERT_EQ(got.min, h.min);
	ASSERT_EQ(got.max, h.max);
	ASSERT(memcmp(got.counts, h.counts, HIST_BUCKETS * sizeof *h.counts) == 0);
	for (unsigned pm = 0; pm <= 1000; pm += 10)
		ASSERT_EQ(hist_percentile(&got, pm), hist_percentile(&h, pm));
	ASSERT(lat_hist_get(&e, LH_SRC_SYSCALLS, 35, &got));
	ASSERT_EQ(got.total, 2);
	ASSERT(!lat_hist_get(&e, LH_SRC_SYSCALLS, 36, &got));
	ASSERT_EQ(got.total, 0);
	ASSERT(lat_approximated(&e, "syscalls", 35));
	ASSERT(!lat_approximated(&e, "syscalls", 3));
	ASSERT(!lat_approximated(&e, "latency", 1));
	ASSERT(lat_approximated(&e, "latency", 10));
	cprof_data_release(&e);

	d.lat_hists.v[0].count++;
	serialize_expect(&d, "latency distribution 0: its buckets do not add up to its count");
	d.lat_hists.v[0].count--;
	d.lat_hists.v[0].max = 1;
	serialize_expect(&d, "latency distribution 0: its minimum or maximum is outside its buckets");
	d.lat_hists.v[0].max = h.max;
	d.lat_hist_buckets.v[1].index = d.lat_hist_buckets.v[0].index;
	serialize_expect(&d, "latency distribution 0 has a bad bucket 1");
	d.lat_hist_buckets.v[1].index = hist_bucket(4);
	d.lat_hists.v[0].key = 1;
	serialize_expect(&d, "latency distribution 0 refers to missing function 1");
	d.lat_hists.v[0].key = 0;
	d.lat_hists.v[1].source = 9;
	serialize_expect(&d, "latency distribution 1 is of unknown source 9");
	d.lat_hists.v[1].source = LH_SRC_SYSCALLS;
	serialize_expect(&d, NULL);
	hist_release(&h);
	hist_release(&sys);
	hist_release(&got);
	cprof_data_release(&d);
}

/* Time by stack: read back as written, summed by (stack, key) for the
 * views, its on-CPU part per thread; rows that cannot be are refused. */
TEST(lat_stacks_roundtrip_and_rejects)
{
	struct cprof_data d;
	build_sample_data(&d, 2); /* stacks 0 and 1 */
	struct cprof_lat_stat st = { .name = cprof_intern(&d, "f"), .path = cprof_intern(&d, "/bin/f"), .calls = 4,
				     .returned = 4, .total_ns = 40, .lat = { 5, 8, 10, 12, 15, 15, 17 } };
	vec_push(&d.lat_stats, st);
	static const struct cprof_lat_stack rows[] = {
		{ LH_SRC_SYSCALLS, 35, 10, 0, 0, true, 2, 3000, 100 },
		{ LH_SRC_SYSCALLS, 35, 12, 0, 0, true, 1, 1400, 50 },  /* another process, the same stack */
		{ LH_SRC_SYSCALLS, 35, 10, 0, LAT_NO_STACK, true, 1, 400, 400 },
		{ LH_SRC_SYSCALLS, 35, 10, 11, LAT_NO_STACK, true, 3, 3400, 500 }, /* thread 11's */
		{ LH_SRC_SYSCALLS, 1, 10, 0, 1, true, 5, 200, 200 },  /* 0.2 us: left out of folded */
		{ LH_SRC_LATENCY, 0, 10, 0, 1, false, 4, 40000, 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		vec_push(&d.lat_stacks, rows[i]);
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	struct cprof_data e;
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.lat_stacks.n, sizeof rows / sizeof *rows);
	for (size_t i = 0; i < e.lat_stacks.n; i++) {
		const struct cprof_lat_stack *x = &e.lat_stacks.v[i], *y = &rows[i];
		ASSERT(x->source == y->source && x->key == y->key && x->pid == y->pid && x->tid == y->tid &&
		       x->stack == y->stack && x->has_oncpu == y->has_oncpu && x->calls == y->calls &&
		       x->total_ns == y->total_ns && x->oncpu_ns == y->oncpu_ns);
	}

	struct stacktime t;
	stacktime_build(&t, &e, LH_SRC_SYSCALLS);
	ASSERT_EQ(t.rows.n, 3); /* (0, 35) of both processes, (1, 1), (none, 35); thread rows apart */
	ASSERT_EQ(t.rows.v[0].stack, 0);
	ASSERT_EQ(t.rows.v[0].key, 35);
	ASSERT_EQ(t.rows.v[0].ns, 4400);
	ASSERT_EQ(t.rows.v[0].calls, 3);
	ASSERT_EQ(t.rows.v[1].stack, 1);
	ASSERT_EQ(t.rows.v[1].key, 1);
	ASSERT_EQ(t.rows.v[2].stack, LAT_NO_STACK);
	ASSERT_EQ(t.rows.v[2].ns, 400);
	uint64_t total, oncpu;
	struct stacktime_oncpu sys, lat;
	stacktime_oncpu_build(&sys, &e, LH_SRC_SYSCALLS);
	stacktime_oncpu_build(&lat, &e, LH_SRC_LATENCY);
	ASSERT(stacktime_oncpu_get(&sys, 35, 0, &total, &oncpu));
	ASSERT_EQ(total, 4800);
	ASSERT_EQ(oncpu, 550);
	ASSERT(stacktime_oncpu_get(&sys, 35, 11, &total, &oncpu));
	ASSERT_EQ(oncpu, 500);
	ASSERT(!stacktime_oncpu_get(&sys, 36, 0, &total, &oncpu));
	ASSERT(!stacktime_oncpu_get(&lat, 0, 0, &total, &oncpu)); /* not measured */
	stacktime_oncpu_release(&sys);
	stacktime_oncpu_release(&lat);
	stacktime_release(&t);
	cprof_data_release(&e);

	d.lat_stacks.v[0].oncpu_ns = 3001;
	serialize_expect(&d, "time by stack, row 0 has no calls, unknown flags or more time on a CPU than in its calls");
	d.lat_stacks.v[0].oncpu_ns = 100;
	d.lat_stacks.v[1].calls = 0;
	serialize_expect(&d, "time by stack, row 1 has no calls, unknown flags or more time on a CPU than in its calls");
	d.lat_stacks.v[1].calls = 1;
	d.lat_stacks.v[2].stack = 7;
	serialize_expect(&d, "time by stack, row 2 refers to missing stack 7");
	d.lat_stacks.v[2].stack = LAT_NO_STACK;
	d.lat_stacks.v[3].stack = 0; /* a thread's row with a stack */
	serialize_expect(&d, "time by stack, row 3 refers to missing stack 0");
	d.lat_stacks.v[3].stack = LAT_NO_STACK;
	d.lat_stacks.v[5].key = 1;
	serialize_expect(&d, "time by stack, row 5 refers to missing function 1");
	d.lat_stacks.v[5].key = 0;
	d.lat_stacks.v[4].source = 3;
	serialize_expect(&d, "time by stack, row 4 is of unknown source 3");
	d.lat_stacks.v[4].source = LH_SRC_SYSCALLS;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

static void add_site(struct cprof_data *d, struct cprof_mem_site m)
{
	if (!d->mem_procs.n)
		vec_push(&d->mem_procs, ((struct cprof_mem_proc){ .pid = 10, .events = 20, .peak_bytes = 100 }));
	vec_push(&d->mem_sites, m);
}

TEST(rejects_impossible_memory)
{
	static const struct {
		struct cprof_mem_site m;
		const char *want;
	} cases[] = {
		{ { .allocs = 4, .bytes = 100, .leaked = 2, .leaked_bytes = 40, .temp_allocs = 1, .temp_bytes = 10,
		    .peak_count = 3, .peak_bytes = 60, .max_size = 50, .temp_max_size = 10 }, NULL },
		{ { .allocs = 1, .bytes = 0, .leaked = 1 }, NULL }, /* malloc(0), never freed */
		/* Read while the process ran: the bytes of a block being freed may
		 * lag its count; such a recording is still read. */
		{ { .allocs = 4, .bytes = 100, .leaked = 0, .leaked_bytes = 40 }, NULL },
		{ { .allocs = 4, .bytes = 100, .leaked = 1, .leaked_bytes = 101 }, NULL },
		/* The 16777216.0 TiB leaked in 0 blocks. */
		{ { .allocs = 4, .bytes = 100, .leaked = 0, .leaked_bytes = UINT64_MAX },
		  "has more bytes live than a process can hold" },
		{ { .allocs = 4, .bytes = 100, .peak_count = 1, .peak_bytes = (uint64_t)INT64_MAX + 1 },
		  "has more bytes live" },
		{ { .allocs = 4, .bytes = 100, .leaked = 5 }, "counts more blocks than it allocated" },
		{ { .allocs = 4, .bytes = 100, .temp_allocs = 5 }, "counts more blocks than it allocated" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cprof_data d;
		build_sample_data(&d, 2);
		add_site(&d, cases[i].m);
		serialize_expect(&d, cases[i].want);
		cprof_data_release(&d);
	}
	struct cprof_data d;
	build_sample_data(&d, 2);
	struct cprof_mem_site big = { .allocs = 1, .bytes = UINT64_MAX, .max_size = UINT64_MAX };
	add_site(&d, big);
	serialize_expect(&d, NULL);
	big.stack = 1;
	add_site(&d, big);
	serialize_expect(&d, "memory site 1: the sites add up to more than 2^64-1");
	d.mem_sites.n = 1;
	d.mem_procs.v[0].lost = UINT64_MAX;
	vec_push(&d.mem_procs, d.mem_procs.v[0]);
	serialize_expect(&d, "memory process 1: the processes add up to more than 2^64-1");
	d.mem_procs.n = 1;
	/* Estimates (--mem=sample) the report sums must stay finite. */
	struct cprof_mem_est e = { .pid = 10, .samples = 1, .count = 1e300, .bytes = 1e300 };
	vec_push(&d.mem_est, e);
	serialize_expect(&d, "memory estimate 0 is not a number from 0 to 2^64");
	d.mem_est.v[0].count = d.mem_est.v[0].bytes = 1e18;
	serialize_expect(&d, NULL);
	cprof_data_release(&d);
}

/* A small file may not inflate to gigabytes: it is refused before anything
 * is allocated, unless CPROF_MAX_INFLATE allows it. */
TEST(inflate_limit)
{
	struct cprof_data d;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build_sample_data(&d, 2);
	size_t big = (65u << 20) + 1;
	char *pad = malloc(big + 1);
	memset(pad, 'a', big);
	pad[big] = 0;
	cprof_meta_set(&d, "pad", pad); /* the meta and string sections both inflate past the floor */
	free(pad);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT(len < (1u << 20));
	unsetenv("CPROF_MAX_INFLATE");
	expect_rejected(buf, len, "MiB decompressed, more than 64 times the file's");
	struct cprof_data e;
	ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EBADMSG);
	ASSERT(strstr(err.msg, "allow it with CPROF_MAX_INFLATE="));
	/* The ratio it names is enough. */
	char *v = strstr(err.msg, "CPROF_MAX_INFLATE=") + strlen("CPROF_MAX_INFLATE=");
	setenv("CPROF_MAX_INFLATE", v, 1);
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	ASSERT_EQ(strlen(cprof_meta_get(&e, "pad")), big);
	cprof_data_release(&e);
	setenv("CPROF_MAX_INFLATE", "0x10", 1);
	ASSERT_EQ(cprof_data_parse(&e, buf, len, "f", &err), -EINVAL);
	ASSERT(strstr(err.msg, "CPROF_MAX_INFLATE='0x10': expected a whole number"));
	/* A claim past the budget is refused before the frame is looked at. */
	unsetenv("CPROF_MAX_INFLATE");
	put_le64(section_entry(buf, SECTION_META) + SEC_RAW_SIZE, 8ULL << 30);
	reseal(buf, len);
	expect_rejected(buf, len, "more than 64 times the file's");
	free(buf);
	cprof_data_release(&d);
}

/* A leader-sampled group: cycles sampled, instructions read with it. */
static void add_group(struct cprof_data *d)
{
	d->events.v[0].name = cprof_intern(d, "cycles:S");
	struct cprof_event ins = { .name = cprof_intern(d, "instructions:S"), .unit = cprof_intern(d, "instructions"),
				   .type = 0, .config = 1, .period = 0, .flags = EVF_READ };
	vec_push(&d->events, ins);
	for (uint32_t i = 0; i < d->samples.n; i++) {
		vec_push(&d->sample_values, ((struct cprof_sample_value){ i, 1, 2000 + i }));
		vec_push(&d->sample_cpus, i % 2);
	}
}

TEST(sample_cpus_and_values)
{
	struct cprof_data d, e;
	struct cprof_err err;
	uint8_t *buf;
	size_t len;
	build_sample_data(&d, 6);
	add_group(&d);
	ASSERT_OK(cprof_data_serialize(&d, &buf, &len, &err));
	ASSERT_OK(cprof_data_parse(&e, buf, len, "f", &err));
	free(buf);
	ASSERT_EQ(e.sample_cpus.n, 6);
	ASSERT_EQ(e.sample_cpus.v[3], 1);
	ASSERT_EQ(e.sample_values.n, 6);
	ASSERT_EQ(e.sample_values.v[5].sample, 5);
	ASSERT_EQ(e.sample_values.v[5].event, 1);
	ASSERT_EQ(e.sample_values.v[5].value, 2005);
	ASSERT_EQ(e.events.v[1].flags, EVF_READ);
	/* Read as samples of their own: at the leader's stack, CPU and time. */
	cprof_data_expand_reads(&e);
	ASSERT_EQ(e.samples.n, 12);
	ASSERT_EQ(e.sample_values.n, 0);
	ASSERT_EQ(e.sample_cpus.n, 12);
	for (size_t i = 0; i < 6; i++) {
		const struct cprof_sample *x = &e.samples.v[6 + i], *lead = &e.samples.v[i];
		ASSERT_EQ(x->event, 1);
		ASSERT_EQ(x->period, 2000 + i);
		ASSERT_EQ(x->stack, lead->stack);
		ASSERT_EQ(x->time, lead->time);
		ASSERT_EQ(e.sample_cpus.v[6 + i], i % 2);
	}
	cprof_data_release(&e);
	cprof_data_release(&d);
}

/* The reader checks what the new sections mean, not only their sizes. */
TEST(rejects_bad_cpus_and_values)
{
	struct cprof_data d;
	build_sample_data(&d, 4);
	add_group(&d);
	serialize_expect(&d, NULL);
	d.sample_cpus.v[2] = SAMPLE_CPU_MAX + 1;
	serialize_expect(&d, "sample 2 was taken on CPU 65536");
	d.sample_cpus.v[2] = 0;
	d.sample_cpus.n = 3;
	serialize_expect(&d, "sample CPUs do not match the 4 samples");
	d.sample_cpus.n = 4;
	d.sample_values.v[1].sample = 9;
	serialize_expect(&d, "sample value 1 refers to missing sample 9");
	d.sample_values.v[1].sample = 3;
	serialize_expect(&d, "not in sample order (value 2)");
	d.sample_values.v[1].sample = 1;
	d.sample_values.v[2].event = 7;
	serialize_expect(&d, "sample value 2 refers to missing event 7");
	/* a count of the sampled event itself, or of an event that is not read */
	d.sample_values.v[2].event = 0;
	serialize_expect(&d, "count of event 'cycles:S', which is not read");
	d.sample_values.v[2].event = 1;
	d.sample_values.v[0].value = d.sample_values.v[3].value = 1ULL << 63;
	serialize_expect(&d, "the counts of event 'instructions:S' add up to more than 2^64-1 (value 3)");
	d.sample_values.v[0].value = 1;
	/* a read event is never sampled */
	d.samples.v[1].event = 1;
	serialize_expect(&d, "sample 1 is of event 'instructions:S', which is only read");
	cprof_data_release(&d);
}

/* What the loader hands a folded-line sink, one line per call:
 * "LINENO COUNT frame|frame|...". */
static void collect_line(void *sink, const struct folded_tok *t, size_t n, uint64_t count, size_t lineno)
{
	struct sbuf *out = sink;
	sbuf_addf(out, "%zu %" PRIu64 " ", lineno, count);
	for (size_t i = 0; i < n; i++)
		sbuf_addf(out, "%s%.*s", i ? "|" : "", (int)t[i].len, t[i].s);
	sbuf_addc(out, '\n');
}

/* The line number of each warning ("'in': line N: ..."). */
static void count_warning(void *ctx, const char *line)
{
	const char *p = strstr(line, "line ");
	sbuf_addf(ctx, "%zu;", p ? (size_t)strtoul(p + 5, NULL, 10) : (size_t)0);
}

/* Loading (load.h) with a sink: folded lines stream to it root first,
 * whatever the pieces they are read in; a data file loads into d. */
TEST(load_streams_folded_lines)
{
	static const char text[] = "main;a;b 10\r\n"
				   "\n"
				   "bad line\n"
				   "main;;c_[k] 0\r"
				   "main;d 2.5\n"
				   "x 7";
	const char *want = "1 10 main|a|b\n4 0 main|c_[k]\n5 3 main|d\n6 7 x\n";
	const size_t pieces[] = { 0, 1, 2, 5, 13 };
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		struct cprof_data d;
		struct cprof_err err;
		struct sbuf got = SBUF_INIT, warned = SBUF_INIT;
		bool streamed = false;
		int r = profile_source_parse_lines(&d, text, sizeof text - 1, pieces[i], "in", false,
						   &(struct note_sink){ count_warning, &warned }, collect_line, &got, &streamed, &err);
		ASSERT_EQ(r, 1); /* one malformed line */
		ASSERT(streamed);
		ASSERT_STREQ(got.buf, want);
		ASSERT_STREQ(warned.buf, "3;");
		ASSERT_EQ(d.samples.n, 0);
		cprof_data_release(&d);
		sbuf_release(&got);
		sbuf_release(&warned);
	}

	/* Strict: the first malformed line is the error, named by file and line. */
	struct cprof_data d;
	struct cprof_err err;
	struct sbuf got = SBUF_INIT;
	bool streamed;
	ASSERT_EQ(profile_source_parse_lines(&d, text, sizeof text - 1, 4, "in", true, NULL, collect_line, &got,
					     &streamed, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "'in': line 3: count is not a decimal number");
	cprof_data_release(&d);

	/* Binary input is no folded stacks, and says so. */
	static const char bin[] = "main;a 1\n\0\1\2 3\n";
	ASSERT_EQ(profile_source_parse_lines(&d, bin, sizeof bin - 1, 0, "in", false, NULL, collect_line, &got,
					     &streamed, &err), -EINVAL);
	ASSERT_STREQ(err.msg, "'in': not a cprof data file, perf.data or folded stacks (binary data)");
	cprof_data_release(&d);

	/* A cprof data file is loaded into d, and no line reaches the sink. */
	struct cprof_data src;
	uint8_t *buf;
	size_t len;
	build_sample_data(&src, 5);
	ASSERT_OK(cprof_data_serialize(&src, &buf, &len, &err));
	sbuf_reset(&got);
	ASSERT_OK(profile_source_parse_lines(&d, (const char *)buf, len, 0, "in", false, NULL, collect_line, &got,
					     &streamed, &err));
	ASSERT(!streamed);
	ASSERT_EQ(got.len, 0);
	ASSERT_EQ(d.samples.n, 5);
	/* ... as profile_source_parse loads it. */
	struct cprof_data e;
	ASSERT_OK(profile_source_parse(&e, (const char *)buf, len, "in", false, NULL, &err));
	ASSERT_EQ(e.samples.n, 5);
	ASSERT_EQ(e.frames.n, d.frames.n);
	free(buf);
	sbuf_release(&got);
	cprof_data_release(&e);
	cprof_data_release(&d);
	cprof_data_release(&src);
}

/* Input of many pieces (of 16 KiB and more) is read on a thread of its
 * own, of smaller ones in turn: either way the sink still gets every line
 * in order, a line longer than a piece whole, and a strict error or a NUL
 * byte far in stops it as reading all at once does. */
TEST(load_streams_many_pieces)
{
	struct sbuf text = SBUF_INIT;
	for (size_t i = 0; i < 3000; i++) {
		if (i == 1234)
			sbuf_adds(&text, "a line without a count\n");
		if (i == 2000) { /* 20,000 bytes in one line */
			for (size_t k = 0; k < 4000; k++)
				sbuf_addf(&text, "%sf%04zu", k ? ";" : "", k);
			sbuf_adds(&text, " 1\n");
		}
		sbuf_addf(&text, "main;w%zu;x%zu;leaf_[k] %zu\n", i % 7, i % 13, i + 1);
	}
	struct cprof_data d;
	struct cprof_err err;
	struct sbuf whole = SBUF_INIT, warned_whole = SBUF_INIT;
	bool streamed;
	ASSERT_EQ(profile_source_parse_lines(&d, text.buf, text.len, 1 << 20, "in", false,
					     &(struct note_sink){ count_warning, &warned_whole }, collect_line, &whole,
					     &streamed, &err), 1);
	cprof_data_release(&d);
	ASSERT(strstr(whole.buf, "\n2001 2000 main|w4|x10|leaf_[k]\n2002 1 f0000|f0001|"));
	ASSERT_STREQ(warned_whole.buf, "1235;");
	const size_t pieces[] = { 64, 4096, 16 << 10, 20000 };
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		struct sbuf got = SBUF_INIT, warned = SBUF_INIT;
		ASSERT_EQ(profile_source_parse_lines(&d, text.buf, text.len, pieces[i], "in", false,
						     &(struct note_sink){ count_warning, &warned }, collect_line, &got,
						     &streamed, &err), 1);
		ASSERT_STREQ(got.buf, whole.buf);
		ASSERT_STREQ(warned.buf, warned_whole.buf);
		cprof_data_release(&d);

		/* Strict: the lines before the bad one, then its error. */
		sbuf_reset(&got);
		ASSERT_EQ(profile_source_parse_lines(&d, text.buf, text.len, pieces[i], "in", true, NULL, collect_line,
						     &got, &streamed, &err), -EINVAL);
		ASSERT_STREQ(err.msg, "'in': line 1235: count is not a decimal number");
		const char *cut = strstr(whole.buf, "\n1236 ");
		ASSERT(cut);
		ASSERT_EQ(got.len, (size_t)(cut + 1 - whole.buf));
		ASSERT(memcmp(got.buf, whole.buf, got.len) == 0);
		cprof_data_release(&d);
		sbuf_release(&got);
		sbuf_release(&warned);
	}
	/* A NUL byte near the end: binary data, whatever came before it. */
	text.buf[text.len - 3] = 0;
	struct sbuf got = SBUF_INIT;
	ASSERT_EQ(profile_source_parse_lines(&d, text.buf, text.len, 64, "in", false, NULL, collect_line, &got, &streamed,
					     &err), -EINVAL);
	ASSERT_STREQ(err.msg, "'in': not a cprof data file, perf.data or folded stacks (binary data)");
	cprof_data_release(&d);
	sbuf_release(&got);
	sbuf_release(&whole);
	sbuf_release(&warned_whole);
	sbuf_release(&text);
}

/* Frames are split at every ';' wherever it falls in a word of the
 * scanner's (frames of 0 to 19 bytes, runs of ';'), and bytes near ';'
 * in value (':' '<' and ';' | 0x80) are no ';'. */
TEST(folded_frames_split_anywhere)
{
	static const char fill[] = ":<\xbbx";
	struct sbuf text = SBUF_INIT, want = SBUF_INIT;
	size_t lineno = 0;
	for (size_t a = 0; a < 20; a++)
		for (size_t b = 0; b < 20; b += 3)
			for (size_t semis = 1; semis <= 2; semis++) {
				struct sbuf fa = SBUF_INIT, fb = SBUF_INIT;
				for (size_t i = 0; i < a; i++)
					sbuf_addc(&fa, fill[(i + b) % 4]);
				for (size_t i = 0; i < b; i++)
					sbuf_addc(&fb, fill[(i + a) % 4]);
				sbuf_addf(&text, "%s%s%s;z %zu\n", fa.buf ? fa.buf : "", semis == 2 ? ";;" : ";",
					  fb.buf ? fb.buf : "", a + 1);
				lineno++;
				sbuf_addf(&want, "%zu %zu ", lineno, a + 1);
				if (a)
					sbuf_addf(&want, "%s|", fa.buf);
				if (b)
					sbuf_addf(&want, "%s|", fb.buf);
				sbuf_adds(&want, "z\n");
				sbuf_release(&fa);
				sbuf_release(&fb);
			}
	struct cprof_data d;
	struct cprof_err err;
	struct sbuf got = SBUF_INIT;
	bool streamed;
	ASSERT_EQ(profile_source_parse_lines(&d, text.buf, text.len, 0, "in", true, NULL, collect_line, &got, &streamed,
					     &err), 0);
	ASSERT_STREQ(got.buf, want.buf);
	cprof_data_release(&d);
	sbuf_release(&got);
	sbuf_release(&text);
	sbuf_release(&want);
}

RUN_TESTS(T(code_roundtrip), T(code_rejects_inconsistent), T(intern_dedups), T(stacks_dedup_and_flags), T(roundtrip_small), T(roundtrip_compressed), T(rejects_damage),
	  T(sample_counts), T(rejects_bad_layout), T(rejects_period_overflow), T(rejects_impossible_gpu_times), T(syscalls_roundtrip_and_rejects), T(offcpu_roundtrip_and_rejects), T(latency_roundtrip_and_rejects), T(lat_hists_roundtrip_and_rejects), T(lat_stacks_roundtrip_and_rejects),
	  T(rejects_impossible_memory), T(inflate_limit), T(sample_cpus_and_values),
	  T(rejects_bad_cpus_and_values), T(load_streams_folded_lines), T(load_streams_many_pieces),
	  T(folded_frames_split_anywhere))
