/*
 * test-annotate.c - the capstone adapter on known bytes (x86-64 and
 * AArch64, both syntaxes, undecodable bytes, capstone's errors), every
 * function of the C library disassembled, a function's code read from a
 * real binary (argv[1]: the hot workload), and the annotate view joining
 * code, samples, lines and inline ranges.
 */
#include <capstone/capstone.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "cprof/annotate.h"
#include "cprof/capture.h"
#include "cprof/data.h"
#include "cprof/disasm.h"
#include "cprof/symbol.h"
#include "harness.h"
#include "elf-fixture.h"

static const char *hot_path;

/* Decode all of code; instructions into out (at most max). */
static size_t decode(unsigned machine, enum disasm_syntax syntax, const uint8_t *code, size_t len, uint64_t addr,
		     struct disasm_insn *out, size_t max)
{
	struct disasm *d;
	struct cprof_err err;
	ASSERT_OK(disasm_open(&d, machine, syntax, &err));
	size_t n = 0;
	for (size_t off = 0; off < len && n < max; off += out[n - 1].size) {
		ASSERT_OK(disasm_one(d, code + off, len - off, addr + off, &out[n], &err));
		ASSERT(out[n].size > 0);
		n++;
	}
	disasm_close(d);
	return n;
}

TEST(x86_kinds_targets_and_bad_bytes)
{
	/* call +0; jne back to the call; ret; call *rax; ud2; (bad: push es is
	 * not valid in 64-bit mode); jmp +0x100; div rcx */
	static const uint8_t code[] = { 0xe8, 0x00, 0x00, 0x00, 0x00, 0x75, 0xf9, 0xc3, 0xff, 0xd0, 0x0f, 0x0b,
					0x06, 0xe9, 0x00, 0x01, 0x00, 0x00, 0x48, 0xf7, 0xf1 };
	struct disasm_insn in[16];
	size_t n = decode(EM_X86_64, DISASM_INTEL, code, sizeof code, 0x401000, in, 16);
	ASSERT_EQ(n, 8);
	ASSERT_EQ(in[0].kind, DISASM_CALL);
	ASSERT(in[0].has_target);
	ASSERT_EQ(in[0].target, 0x401005);
	ASSERT_EQ(in[1].kind, DISASM_JUMP);
	ASSERT_EQ(in[1].target, 0x401000);
	ASSERT_EQ(in[2].kind, DISASM_RET);
	ASSERT_EQ(in[3].kind, DISASM_CALL);
	ASSERT(!in[3].has_target); /* indirect */
	ASSERT(!in[4].invalid);
	ASSERT(in[5].invalid); /* capstone's unknown-instruction path */
	ASSERT_EQ(in[5].size, 1);
	ASSERT_EQ(in[5].addr, 0x40100c);
	ASSERT_STREQ(in[5].text, ".byte 0x06");
	ASSERT_EQ(in[6].kind, DISASM_JUMP);
	ASSERT_EQ(in[6].target, 0x401112);
	ASSERT(strstr(in[7].text, "div") && strstr(in[7].text, "rcx"));
	/* The fast boundary walk agrees with the full decoder. */
	uint32_t *starts;
	struct cprof_err err;
	ASSERT_EQ(disasm_insn_starts(EM_X86_64, code, sizeof code, &starts, &err), 8);
	for (size_t i = 0; i < 8; i++)
		ASSERT_EQ(starts[i], in[i].addr - 0x401000);
	ASSERT_EQ(starts[8], sizeof code);
	free(starts);
	/* AT&T: size suffixes and % registers (capstone 4 spells them so). */
	n = decode(EM_X86_64, DISASM_ATT, code, sizeof code, 0x401000, in, 16);
	ASSERT_EQ(n, 8);
	ASSERT(strstr(in[7].text, "divq") && strstr(in[7].text, "%rcx"));
}

TEST(aarch64_kinds_targets_and_bad_words)
{
	/* b; bl; b.ne; cbz x0; ret; blr x1; br x16; tbz; udiv; an undefined word */
	static const uint32_t words[] = { 0x14000002, 0x97ffffff, 0x54000041, 0xb4000040, 0xd65f03c0,
					  0xd63f0020, 0xd61f0200, 0x36180040, 0x9ac20820, 0xffffffff };
	uint8_t code[sizeof words];
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		for (int b = 0; b < 4; b++)
			code[4 * i + (size_t)b] = (uint8_t)(words[i] >> (8 * b)); /* little-endian, as on disk */
	struct disasm_insn in[16];
	size_t n = decode(EM_AARCH64, DISASM_INTEL, code, sizeof code, 0x1000, in, 16);
	ASSERT_EQ(n, 10);
	ASSERT_EQ(in[0].kind, DISASM_JUMP);
	ASSERT_EQ(in[0].target, 0x1008);
	ASSERT_EQ(in[1].kind, DISASM_CALL); /* capstone 4 files bl under JUMP; the adapter knows better */
	ASSERT_EQ(in[1].target, 0x1000);
	ASSERT_EQ(in[2].kind, DISASM_JUMP);
	ASSERT_EQ(in[2].target, 0x1010);
	ASSERT_EQ(in[3].target, 0x1014); /* cbz: the destination is the last operand */
	ASSERT_EQ(in[4].kind, DISASM_RET);
	ASSERT_EQ(in[5].kind, DISASM_CALL);
	ASSERT(!in[5].has_target);
	ASSERT_EQ(in[6].kind, DISASM_JUMP);
	ASSERT(!in[6].has_target);
	ASSERT_EQ(in[7].target, 0x1024);
	ASSERT(strstr(in[8].text, "udiv"));
	ASSERT(in[9].invalid);
	ASSERT_EQ(in[9].size, 4);
}

TEST(capstone_errors_become_cprof_errors)
{
	struct cprof_err err;
	struct disasm *d;
	ASSERT_EQ(disasm_cs_error(&err, "cs_open", CS_ERR_ARCH), -ENOTSUP);
	ASSERT(strstr(err.msg, "libcapstone: cs_open: "));
	ASSERT(strlen(err.msg) > strlen("libcapstone: cs_open: "));
	ASSERT_EQ(disasm_cs_error(&err, "cs_disasm_iter", CS_ERR_MEM), -ENOMEM);
	ASSERT_EQ(disasm_open(&d, EM_RISCV, DISASM_INTEL, &err), -ENOTSUP);
	ASSERT(strstr(err.msg, "x86-64 and AArch64"));
	ASSERT(!d);
	uint64_t *t;
	ASSERT_EQ(disasm_external_targets(EM_RISCV, (const uint8_t *)"", 0, 0, &t, &err), -ENOTSUP);
}

/* The C library this test runs with, from its own mappings. */
static char *own_libc(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[4096], *found = NULL;
	ASSERT(fp);
	while (!found && fgets(line, sizeof line, fp)) {
		char *p = strchr(line, '/');
		if (p && strstr(p, "/libc.so")) {
			p[strcspn(p, "\n")] = 0;
			found = xstrdup(p);
		}
	}
	fclose(fp);
	ASSERT(found);
	return found;
}

/* Sums over the functions of a binary, each disassembled whole. */
struct disasm_all {
	struct disasm *d;
	size_t funcs, insns, bad, bytes;
};

static bool disassemble_sym(struct elf_fixture *f, const GElf_Sym *sym, const char *name, void *arg)
{
	struct disasm_all *a = arg;
	GElf_Shdr tsh;
	(void)name;
	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_size || sym->st_shndx == SHN_UNDEF ||
	    sym->st_shndx >= SHN_LORESERVE)
		return false;
	Elf_Scn *text = elf_getscn(f->elf, sym->st_shndx);
	Elf_Data *td = text ? elf_getdata(text, NULL) : NULL;
	if (!td || !gelf_getshdr(text, &tsh) || tsh.sh_type != SHT_PROGBITS)
		return false;
	uint64_t off = sym->st_value - tsh.sh_addr;
	ASSERT(off + sym->st_size <= td->d_size);
	const uint8_t *code = (const uint8_t *)td->d_buf + off;
	struct disasm_insn in;
	struct cprof_err err;
	for (uint64_t k = 0; k < sym->st_size; k += in.size) {
		ASSERT_OK(disasm_one(a->d, code + k, sym->st_size - k, sym->st_value + k, &in, &err));
		ASSERT(in.size > 0 && in.size <= sym->st_size - k);
		a->insns++;
		if (in.invalid)
			a->bad += in.size;
	}
	a->bytes += sym->st_size;
	a->funcs++;
	return false;
}

TEST(every_libc_function_disassembles)
{
	char *path = own_libc();
	struct elf_fixture f;
	elf_fixture_open(&f, path);
	GElf_Ehdr eh;
	ASSERT(gelf_getehdr(f.elf, &eh));
	if (!disasm_machine_name(eh.e_machine))
		SKIP("the C library is for a machine annotate cannot disassemble");
	struct disasm_all a = { 0 };
	struct cprof_err err;
	ASSERT_OK(disasm_open(&a.d, eh.e_machine, DISASM_ATT, &err));
	elf_fixture_syms(&f, true, disassemble_sym, &a);
	printf("%s: %zu functions, %zu bytes, %zu instructions, %zu bytes not decoded\n", path, a.funcs, a.bytes,
	       a.insns, a.bad);
	ASSERT(a.funcs > 1000);
	/* A few hand-written routines hold data; nearly all of it is code. */
	ASSERT(a.bad * 1000 < a.bytes);
	disasm_close(a.d);
	elf_fixture_close(&f);
	free(path);
}

/* vaddr, size and file offset of a symbol of the hot workload. */
static uint64_t hot_symbol(const char *name, uint64_t *size, uint64_t *file_off)
{
	struct elf_fixture_sym s;
	elf_fixture_find(hot_path, name, &s);
	*size = s.size;
	*file_off = s.file_off;
	return s.vaddr;
}

TEST(code_of_a_real_function)
{
	uint64_t size, off, start = hot_symbol("hot_a", &size, &off);
	struct symbolizer *s = symbolizer_new();
	struct sym_map map = { .path = hot_path };
	struct sym_code c;
	struct cprof_err err;
	ASSERT_OK(symbolizer_code(s, &map, start + 3, 1 << 20, &c, &err));
	ASSERT_STREQ(c.func, "hot_a");
	ASSERT_EQ(c.start, start);
	ASSERT_EQ(c.len, size);
	ASSERT_EQ(c.machine, EM_X86_64);
	ASSERT(c.build_id_size == 20);
	uint8_t id[20];
	ASSERT_EQ(sym_file_build_id(hot_path, id, &err), 20);
	ASSERT(memcmp(id, c.build_id, 20) == 0);
	/* The bytes are the file's. */
	uint8_t file_bytes[4096];
	int fd = open(hot_path, O_RDONLY);
	ASSERT(fd >= 0 && size <= sizeof file_bytes);
	ASSERT_EQ(pread(fd, file_bytes, size, (off_t)off), (long long)size);
	close(fd);
	ASSERT(memcmp(file_bytes, c.bytes, size) == 0);
	ASSERT(c.lines.n >= 2);
	bool work_h = false;
	for (size_t i = 0; i < c.lines.n; i++) {
		ASSERT(c.lines.v[i].off < c.len);
		ASSERT(!i || c.lines.v[i].off > c.lines.v[i - 1].off);
		work_h |= strstr(c.lines.v[i].file, "work.h") != NULL;
	}
	ASSERT(work_h); /* spin() from work.h is inlined into hot_a */
	ASSERT(c.inlines.n >= 1);
	ASSERT_STREQ(c.inlines.v[0].func, "spin");
	ASSERT(strstr(c.inlines.v[0].file, "hot.c"));
	ASSERT(*c.comp_dir == '/');
	/* A size limit is an error, not a cut. */
	sym_code_release(&c);
	ASSERT_EQ(symbolizer_code(s, &map, start, 4, &c, &err), -EFBIG);
	/* main calls libc through the PLT: the targets are named name@plt. */
	uint64_t msize, moff, mstart = hot_symbol("main", &msize, &moff);
	ASSERT_OK(symbolizer_code(s, &map, mstart, 1 << 20, &c, &err));
	uint64_t *t;
	int n = disasm_external_targets(c.machine, c.bytes, c.len, c.start, &t, &err);
	ASSERT(n >= 2);
	size_t plt = 0, driver = 0;
	for (int i = 0; i < n; i++) {
		const char *name = symbolizer_name_at(s, &map, t[i]);
		plt += name && strstr(name, "@plt");
		driver += name && strcmp(name, "driver") == 0;
	}
	ASSERT(plt >= 1);
	ASSERT_EQ(driver, 1);
	free(t);
	sym_code_release(&c);
	/* A binary that is not there. */
	struct sym_map gone = { .path = "/nonexistent/binary" };
	ASSERT(symbolizer_code(s, &gone, 0x1000, 1 << 20, &c, &err) < 0);
	ASSERT(strstr(err.msg, "/nonexistent/binary"));
	ASSERT_EQ(sym_file_build_id("/nonexistent/binary", id, &err), -ENOENT);
	symbolizer_free(s);
}

/*
 * A synthetic recording: a loop whose division carries most samples, a
 * call, an inlined helper; the view must put the samples on the right
 * rows and mark what annotate marks.
 */
TEST(view_joins_code_samples_lines_inlines)
{
	/* 0x1000 push rbp
	 * 0x1001 xor eax, eax           line 10
	 * 0x1003 div rcx      <- loop   line 11, inlined "divide"
	 * 0x1006 add rax, 1
	 * 0x100a jne 0x1003             line 12
	 * 0x100c call 0x2000
	 * 0x1011 ret */
	static const uint8_t code[] = { 0x55, 0x31, 0xc0, 0x48, 0xf7, 0xf1, 0x48, 0x83, 0xc0, 0x01, 0x75, 0xf7,
					0xe8, 0xef, 0x0f, 0x00, 0x00, 0xc3 };
	struct cprof_data d;
	struct cprof_err err;
	cprof_data_init(&d);
	vec_push(&d.events, ((struct cprof_event){ .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") }));
	uint32_t fn = cprof_intern(&d, "loop"), dso = cprof_intern(&d, "/gone/app"), file = cprof_intern(&d, "app.c");
	struct { uint64_t addr; int n; } hits[] = { { 0x1003, 2 }, { 0x1006, 90 }, { 0x100a, 5 }, { 0x1011, 3 } };
	for (size_t i = 0; i < ARRAY_SIZE(hits); i++) {
		struct cprof_frame inl = { .func = cprof_intern(&d, "divide"), .dso = dso, .file = file, .line = 11,
					   .addr = hits[i].addr, .flags = FRF_INLINED };
		struct cprof_frame real = { .func = fn, .dso = dso, .file = file, .line = 11, .addr = hits[i].addr };
		uint32_t fr[2] = { cprof_add_frame(&d, &inl), cprof_add_frame(&d, &real) };
		bool inlined = hits[i].addr == 0x1003 || hits[i].addr == 0x1006;
		uint32_t st = inlined ? cprof_add_stack(&d, fr, 2, 0) : cprof_add_stack(&d, fr + 1, 1, 0);
		for (int k = 0; k < hits[i].n; k++)
			vec_push(&d.samples, ((struct cprof_sample){ .time = (uint64_t)k, .period = 1000, .stack = st }));
	}
	for (size_t i = 0; i < sizeof code; i++)
		vec_push(&d.code_bytes, code[i]);
	vec_push(&d.code_lines, ((struct cprof_code_line){ 1, file, 10 }));
	vec_push(&d.code_lines, ((struct cprof_code_line){ 3, file, 11 }));
	vec_push(&d.code_lines, ((struct cprof_code_line){ 0xa, file, 12 }));
	vec_push(&d.code_inlines, ((struct cprof_code_inline){ 3, 0xa, cprof_intern(&d, "divide"), file, 11, 1 }));
	vec_push(&d.code_syms, ((struct cprof_code_sym){ 0x2000, cprof_intern(&d, "helper") }));
	vec_push(&d.code, ((struct cprof_code){ .func = fn, .dso = dso, .start = 0x1000, .len = sizeof code,
						.machine = EM_X86_64, .nlines = 3, .ninlines = 1, .nsyms = 1 }));

	struct ann_profile ap;
	ASSERT_OK(ann_profile_build(&ap, &d, 0, &err));
	ASSERT_EQ(ap.funcs.n, 1); /* the inlined helper's samples are the function's */
	ASSERT_EQ(ap.funcs.v[0].samples, 100);
	ASSERT_EQ(ap.funcs.v[0].naddrs, 4);
	size_t idx;
	ASSERT_EQ(ann_profile_find(&ap, "loop", &idx, 1), 1);
	struct annotator *an = annotator_new(&d);
	const struct ann_binary *bin = annotator_binary(an, &ap.funcs.v[0]);
	ASSERT_EQ(bin->state, ANN_BIN_GONE);
	struct ann_code c;
	ASSERT_OK(annotator_code(an, &ap.funcs.v[0], &c, &err));
	ASSERT_EQ(c.from, ANN_FROM_DATA);
	struct ann_view v;
	ASSERT_OK(ann_view_build(&v, &ap, &ap.funcs.v[0], &c, DISASM_INTEL, &err));
	ASSERT_EQ(v.rows.n, 7);
	ASSERT_EQ(v.rows.v[v.hottest].insn.addr, 0x1006);
	ASSERT_EQ(v.rows.v[3].samples, 90);
	ASSERT(v.rows.v[2].target);    /* div: the loop's head */
	ASSERT(v.rows.v[4].back_edge); /* jne back */
	ASSERT_STREQ(v.rows.v[5].target_name, "helper");
	ASSERT_EQ(v.rows.v[0].line, -1);
	ASSERT_EQ(c.lines.v[v.rows.v[2].line].line, 11);
	ASSERT_EQ(v.rows.v[2].inline_depth, 1);
	ASSERT_EQ(v.rows.v[4].inline_depth, 0);
	ASSERT_EQ(v.lines.n, 2);
	ASSERT_EQ(v.lines.v[0].line, 11);
	ASSERT_EQ(v.lines.v[0].samples, 92);
	ASSERT_EQ(v.outside_samples, 0);
	ASSERT_EQ(v.misaligned_samples, 0);
	ann_view_release(&v);
	ann_code_release(&c);
	annotator_free(an);
	ann_profile_release(&ap);
	cprof_data_release(&d);
}

/* A recording of hot_a without saved code: annotate reads the binary when
 * its build-id is the one recorded, and refuses (saying why) when not. */
static int annotate_from_disk(const uint8_t *recorded_id, struct ann_code *c, const struct ann_binary **bin,
			      struct cprof_err *err)
{
	uint64_t size, off, start = hot_symbol("hot_a", &size, &off);
	static struct cprof_data d;
	static struct ann_profile ap;
	static struct annotator *an;
	if (an) {
		annotator_free(an);
		ann_profile_release(&ap);
		cprof_data_release(&d);
	}
	cprof_data_init(&d);
	vec_push(&d.events, ((struct cprof_event){ .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") }));
	struct cprof_frame f = { .func = cprof_intern(&d, "hot_a"), .dso = cprof_intern(&d, hot_path), .addr = start + 4 };
	uint32_t fr = cprof_add_frame(&d, &f);
	vec_push(&d.samples, ((struct cprof_sample){ .period = 1, .stack = cprof_add_stack(&d, &fr, 1, 0) }));
	struct cprof_map m = { .path = f.dso, .build_id_size = 20 };
	memcpy(m.build_id, recorded_id, 20);
	vec_push(&d.maps, m);
	ASSERT_OK(ann_profile_build(&ap, &d, 0, err));
	an = annotator_new(&d);
	*bin = annotator_binary(an, &ap.funcs.v[0]);
	return annotator_code(an, &ap.funcs.v[0], c, err);
}

TEST(code_from_the_binary_only_when_it_is_the_one_recorded)
{
	uint8_t id[20];
	struct cprof_err err;
	struct ann_code c;
	const struct ann_binary *bin;
	ASSERT_EQ(sym_file_build_id(hot_path, id, &err), 20);
	if (annotate_from_disk(id, &c, &bin, &err) < 0)
		FAIL_("%s", err.msg);
	ASSERT_EQ(bin->state, ANN_BIN_SAME);
	ASSERT_EQ(c.from, ANN_FROM_BINARY);
	ASSERT_STREQ(c.func, "hot_a");
	ASSERT(c.len > 0 && c.lines.n > 0);
	ann_code_release(&c);
	id[0] ^= 0xff; /* a rebuild */
	ASSERT_EQ(annotate_from_disk(id, &c, &bin, &err), -ESTALE);
	ASSERT_EQ(bin->state, ANN_BIN_CHANGED);
	ASSERT(strstr(err.msg, "no code of 'hot_a' in the recording"));
	ASSERT(strstr(err.msg, "has changed since (build-id"));
}

/* A big function saved in parts: the view shows the parts with a gap row
 * between them, and refuses parts that overlap. */
TEST(view_of_a_function_saved_in_parts)
{
	/* part 1 at 0x1000: xor eax, eax; div rcx; ret (6 bytes)
	 * part 2 at 0x1100: add rax, 1; jmp 0x1000 (9 bytes) */
	static const uint8_t code[] = { 0x31, 0xc0, 0x48, 0xf7, 0xf1, 0xc3, 0x48, 0x83, 0xc0, 0x01,
					0xe9, 0xf7, 0xfe, 0xff, 0xff };
	struct cprof_data d;
	struct cprof_err err;
	cprof_data_init(&d);
	vec_push(&d.events, ((struct cprof_event){ .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") }));
	uint32_t fn = cprof_intern(&d, "big"), dso = cprof_intern(&d, "/gone/app");
	uint64_t addrs[] = { 0x1005, 0x1104, 0x1104 };
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct cprof_frame f = { .func = fn, .dso = dso, .addr = addrs[i] };
		uint32_t id = cprof_add_frame(&d, &f);
		vec_push(&d.samples, ((struct cprof_sample){ .period = 1, .stack = cprof_add_stack(&d, &id, 1, 0) }));
	}
	for (size_t i = 0; i < sizeof code; i++)
		vec_push(&d.code_bytes, code[i]);
	vec_push(&d.code, ((struct cprof_code){ .func = fn, .dso = dso, .start = 0x1100, .bytes_off = 6, .len = 9,
						.machine = EM_X86_64, .flags = CFF_PART }));
	vec_push(&d.code, ((struct cprof_code){ .func = fn, .dso = dso, .start = 0x1000, .len = 6,
						.machine = EM_X86_64, .flags = CFF_PART }));
	struct ann_profile ap;
	ASSERT_OK(ann_profile_build(&ap, &d, 0, &err));
	struct annotator *an = annotator_new(&d);
	struct ann_code c;
	ASSERT_OK(annotator_code(an, &ap.funcs.v[0], &c, &err));
	ASSERT_EQ(c.parts.n, 2);
	ASSERT_EQ(c.start, 0x1000);
	ASSERT_EQ(c.len, 0x109);
	struct ann_view v;
	ASSERT_OK(ann_view_build(&v, &ap, &ap.funcs.v[0], &c, DISASM_INTEL, &err));
	ASSERT_EQ(v.rows.n, 6); /* 3 + gap + 2 */
	ASSERT(v.rows.v[3].gap);
	ASSERT_EQ(v.rows.v[3].insn.size, 0x100 - 6);
	ASSERT_EQ(v.saved_bytes, 15);
	ASSERT_EQ(v.rows.v[5].insn.target, 0x1000);
	ASSERT(v.rows.v[5].back_edge);
	ASSERT(v.rows.v[0].target);
	ASSERT_EQ(v.rows.v[v.hottest].insn.addr, 0x1104);
	ASSERT_EQ(v.outside_samples, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	const struct ann_binary *bin = annotator_binary(an, &ap.funcs.v[0]);
	struct ann_print_opts po = { .sources = ann_sources_new() };
	ann_print_text(out, &ap, &v, bin, &po);
	fclose(out);
	ASSERT(strstr(buf, "in 2 parts around its samples (x86-64, 15 of 265 bytes"));
	ASSERT(strstr(buf, "250 bytes not saved"));
	free(buf);
	ann_sources_free(po.sources);
	ann_view_release(&v);
	ann_code_release(&c);
	/* Overlapping parts are not one function's. */
	d.code.v[0].start = 0x1002;
	ASSERT_EQ(annotator_code(an, &ap.funcs.v[0], &c, &err), -EBADMSG);
	ASSERT(strstr(err.msg, "inconsistent"));
	annotator_free(an);
	ann_profile_release(&ap);
	cprof_data_release(&d);
}

/* A sampled function saved for annotate, a colder one whose sample
 * missed the symbol cache and a caller whose return address missed it are
 * all kept in it, answering for every address: the next recording gets
 * their code (the missed ones' without call targets), the cold one's
 * other instructions and the caller's other return addresses from the
 * cache file alone. The program is small, so every other function of it
 * is kept too. */
TEST(capture_keeps_saved_and_missed_functions)
{
	char dir[] = "/tmp/cprof-capture-cache.XXXXXX";
	ASSERT(mkdtemp(dir));
	const char *old_dir = getenv("CPROF_CACHE_DIR");
	char *saved_dir = old_dir ? xstrdup(old_dir) : NULL;
	ASSERT(setenv("CPROF_CACHE_DIR", dir, 1) == 0);
	struct elf_fixture_sym hot, cold, caller, unsampled;
	elf_fixture_find(hot_path, "driver", &unsampled);
	elf_fixture_find(hot_path, "hot_c", &hot);
	elf_fixture_find(hot_path, "hot_a", &cold);
	elf_fixture_find(hot_path, "main", &caller);
	struct sym_map m = { .path = hot_path, .start = 0x555555554000ULL + hot.exec_off, .len = 0x100000,
			     .pgoff = hot.exec_off };
	struct cprof_data d;
	cprof_data_init(&d);
	vec_push(&d.events, ((struct cprof_event){ .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") }));
	uint32_t dso = cprof_intern(&d, hot_path);
	vec_push(&d.maps, ((struct cprof_map){ .start = m.start, .len = m.len, .pgoff = m.pgoff, .path = dso }));
	/* Symbolized by the second of the finishing pass's two symbolizers. */
	struct symbolizer *syms[2] = { symbolizer_new(), symbolizer_new() };
	const struct { const struct elf_fixture_sym *fs; int n; } funcs[] = { { &hot, 100 }, { &cold, 2 } };
	/* Both called from main, returning into it. */
	uint64_t ret = caller.vaddr + caller.size / 2;
	struct sym_frame out[8];
	int nc = symbolizer_user(syms[1], &m, m.start + (ret - hot.exec_vaddr), true, out, 8);
	ASSERT(nc >= 1);
	struct cprof_frame cf = { .func = cprof_intern(&d, out[nc - 1].func), .dso = dso, .addr = ret };
	uint32_t frames[2] = { 0, cprof_add_frame(&d, &cf) };
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++) {
		uint64_t vaddr = funcs[i].fs->vaddr;
		int n = symbolizer_user(syms[1], &m, m.start + (vaddr - hot.exec_vaddr), false, out, 8);
		ASSERT(n >= 1);
		struct cprof_frame fr = { .func = cprof_intern(&d, out[n - 1].func), .dso = dso, .addr = vaddr };
		frames[0] = cprof_add_frame(&d, &fr);
		uint32_t st = cprof_add_stack(&d, frames, 2, 0);
		for (int k = 0; k < funcs[i].n; k++)
			vec_push(&d.samples, ((struct cprof_sample){ .time = (uint64_t)k, .period = 1000, .stack = st }));
	}
	struct capture_opts co = CAPTURE_OPTS_INIT;
	struct capture_stats cs;
	capture_hot_code(&d, syms, 2, &co, &cs);
	ASSERT_EQ(cs.saved, 1); /* the cold one has too few samples for the data */
	struct symbolizer_stats st;
	symbolizer_get_stats(syms[1], &st);
	ASSERT(st.symcache_code_kept > 3);
	ASSERT(st.symcache_prefilled > 3);
	symbolizer_free(syms[0]);
	symbolizer_free(syms[1]);
	cprof_data_release(&d);

	struct symbolizer *s = symbolizer_new();
	struct cprof_err err;
	struct sym_code hc, cc, mc, uc;
	ASSERT_OK(symbolizer_code(s, &m, unsampled.vaddr, co.whole_bytes, &uc, &err));
	ASSERT(uc.from_cache && uc.addrs_cached);
	sym_code_release(&uc);
	ASSERT_OK(symbolizer_code(s, &m, hot.vaddr, co.whole_bytes, &hc, &err));
	ASSERT_OK(symbolizer_code(s, &m, cold.vaddr, co.whole_bytes, &cc, &err));
	ASSERT_OK(symbolizer_code(s, &m, ret, co.whole_bytes, &mc, &err));
	ASSERT(hc.has_targets && !cc.has_targets && !mc.has_targets);
	ASSERT(hc.addrs_cached && cc.addrs_cached && mc.addrs_cached);
	uint32_t *starts;
	int n = disasm_insn_starts(cc.machine, cc.bytes, cc.len, &starts, &err);
	ASSERT(n > 2);
	for (int i = 0; i < n; i++)
		ASSERT(symbolizer_user(s, &m, m.start + (cc.start + starts[i] - hot.exec_vaddr), false, out, 8) >= 1);
	free(starts);
	for (uint32_t i = 1; i <= mc.len; i++)
		ASSERT(symbolizer_user(s, &m, m.start + (mc.start + i - hot.exec_vaddr), true, out, 8) >= 1);
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.symcache_code_hits, 4);
	ASSERT_EQ(st.symcache_misses, 0);
	ASSERT_EQ(st.binaries_read, 0);
	sym_code_release(&hc);
	sym_code_release(&cc);
	sym_code_release(&mc);
	symbolizer_free(s);

	char sub[128], path[512];
	snprintf(sub, sizeof sub, "%s/symbols", dir);
	DIR *dp = opendir(sub);
	ASSERT(dp);
	for (struct dirent *de; (de = readdir(dp));)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", sub, de->d_name);
			ASSERT(unlink(path) == 0);
		}
	closedir(dp);
	ASSERT(rmdir(sub) == 0 && rmdir(dir) == 0);
	if (saved_dir)
		ASSERT(setenv("CPROF_CACHE_DIR", saved_dir, 1) == 0);
	else
		ASSERT(unsetenv("CPROF_CACHE_DIR") == 0);
	free(saved_dir);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test-annotate HOT-WORKLOAD\n");
		return 2;
	}
	/* Recordings name binaries by absolute path. */
	hot_path = realpath(argv[1], NULL);
	ASSERT(hot_path);
	if (!disasm_available())
		SKIP("built without libcapstone");
	static const struct test_case cases[] = { T(x86_kinds_targets_and_bad_bytes),
						  T(aarch64_kinds_targets_and_bad_words),
						  T(capstone_errors_become_cprof_errors),
						  T(every_libc_function_disassembles),
						  T(code_of_a_real_function),
						  T(code_from_the_binary_only_when_it_is_the_one_recorded),
						  T(view_joins_code_samples_lines_inlines),
						  T(view_of_a_function_saved_in_parts),
						  T(capture_keeps_saved_and_missed_functions) };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
	}
	printf("%zu cases passed\n", ARRAY_SIZE(cases));
	return 0;
}
