/* test-data.c - cprof_data builders, and the data file round trip and validation. */
#include <errno.h>

#include "cprof/data.h"
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

RUN_TESTS(T(code_roundtrip), T(code_rejects_inconsistent), T(intern_dedups), T(stacks_dedup_and_flags), T(roundtrip_small), T(roundtrip_compressed), T(rejects_damage),
	  T(sample_counts))
