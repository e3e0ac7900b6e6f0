/* test-symbol.c - the symbolizer on real binaries built by meson: names,
 * inline frames, source lines, caching, unknown addresses, demangling,
 * kallsyms and perf map files. argv[1] is the hot workload, argv[2] cxx;
 * argv[3..5], the Go, Rust (legacy mangling) and Rust (v0) workloads, are
 * "" when their compiler was not found, and their cases are skipped. */
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "cprof/symbol.h"
#include "../../src/symbol/symbol-internal.h"
#include "harness.h"
#include "elf-fixture.h"

static const char *hot_path, *cxx_path, *go_path, *rust_path, *rust_v0_path;

/* Map the executable segment at a PIE-like address, as the kernel would. */
static struct sym_map fake_map(const char *path, uint64_t exec_off)
{
	return (struct sym_map){ .path = path, .start = 0x555555554000ULL + exec_off, .len = 0x100000,
				 .pgoff = exec_off };
}

static uint64_t runtime_ip(const struct sym_map *m, uint64_t vaddr, uint64_t exec_off, uint64_t exec_vaddr)
{
	return m->start + (vaddr - exec_vaddr) - (m->pgoff - exec_off);
}

/* File offset and address of the executable PT_LOAD of path. */
static void exec_segment(const char *path, uint64_t *exec_off, uint64_t *exec_vaddr)
{
	struct elf_fixture f;
	elf_fixture_open(&f, path);
	elf_fixture_exec_segment(&f, exec_off, exec_vaddr);
	elf_fixture_close(&f);
}

struct func_find {
	const char *name;
	uint64_t vaddr, size;
};

static bool func_named(struct elf_fixture *f, const GElf_Sym *sym, const char *name, void *arg)
{
	struct func_find *ff = arg;
	(void)f;
	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC)
		return false;
	char *d = demangle(name);
	bool match = strcmp(name, ff->name) == 0 || (d && strcmp(d, ff->name) == 0);
	free(d);
	if (match) {
		ff->vaddr = sym->st_value;
		ff->size = sym->st_size;
	}
	return match;
}

/* Address and size of the function whose symbol, raw or demangled, is name. */
static uint64_t func_range(const char *path, const char *name, uint64_t *size)
{
	struct elf_fixture f;
	struct func_find ff = { .name = name };
	elf_fixture_open(&f, path);
	elf_fixture_syms(&f, false, func_named, &ff);
	elf_fixture_close(&f);
	if (!ff.vaddr)
		FAIL_("no function '%s' in %s", name, path);
	*size = ff.size;
	return ff.vaddr;
}

/* Symbolize every byte of a function until one gives a frame named
 * inline_name; copies that address's frames to out and returns how many
 * (0 if no address has such a frame). */
static int find_inline(struct symbolizer *s, const char *path, const char *func, const char *inline_name,
		       struct sym_frame *out, int max)
{
	uint64_t off, va, size = 0;
	exec_segment(path, &off, &va);
	uint64_t v = func_range(path, func, &size);
	struct sym_map m = fake_map(path, off);
	ASSERT(size > 0);
	for (uint64_t a = v; a < v + size; a++) {
		int n = symbolizer_user(s, &m, runtime_ip(&m, a, off, va), false, out, max);
		for (int i = 0; i < n; i++)
			if (strcmp(out[i].func, inline_name) == 0)
				return n;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

TEST(function_inline_and_line)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t off, va;
	uint64_t v = sym_vaddr(hot_path, "hot_c", &off, &va);
	struct sym_map m = fake_map(hot_path, off);
	struct sym_frame out[8];
	/* Into the loop: spin() is inlined into hot_c there. */
	int n = symbolizer_user(s, &m, runtime_ip(&m, v + 0x20, off, va), false, out, 8);
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(out[0].func, "spin");
	ASSERT(out[0].flags & SYMF_INLINED);
	ASSERT(strstr(out[0].file, "work.h"));
	ASSERT(out[0].line > 0);
	ASSERT_STREQ(out[1].func, "hot_c");
	ASSERT(!(out[1].flags & SYMF_INLINED));
	ASSERT(strstr(out[1].file, "hot.c")); /* where spin() was inlined */
	ASSERT_STREQ(out[1].dso, hot_path);
	ASSERT_EQ(out[1].addr, v + 0x20);
	/* Same address again: from the cache. */
	struct symbolizer_stats st;
	symbolizer_user(s, &m, runtime_ip(&m, v + 0x20, off, va), false, out, 8);
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.cache_hits, 1);
	ASSERT_EQ(st.binaries_opened, 1);
	/* Cut to one frame: the real function is kept. */
	n = symbolizer_user(s, &m, runtime_ip(&m, v + 0x20, off, va), false, out, 1);
	ASSERT_EQ(n, 1);
	ASSERT_STREQ(out[0].func, "hot_c");
	symbolizer_free(s);
}

TEST(return_address_looks_up_the_call)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t off, va;
	uint64_t main_va = sym_vaddr(hot_path, "main", &off, &va);
	uint64_t hot_a = sym_vaddr(hot_path, "hot_a", &off, &va);
	struct sym_map m = fake_map(hot_path, off);
	struct sym_frame out[8];
	/* The first byte of hot_a as a return address belongs to whatever is
	 * just before it; as an exact pc it is hot_a. */
	int n = symbolizer_user(s, &m, runtime_ip(&m, hot_a, off, va), false, out, 8);
	ASSERT_STREQ(out[n - 1].func, "hot_a");
	n = symbolizer_user(s, &m, runtime_ip(&m, hot_a, off, va), true, out, 8);
	ASSERT(strcmp(out[n - 1].func, "hot_a") != 0);
	(void)main_va;
	symbolizer_free(s);
}

/* Aliases at one address: perf's choice (fewest leading underscores, then
 * the longest name), not whichever the symbol table lists first. */
TEST(alias_named_as_perf_names_it)
{
	uint64_t off, va, v = sym_vaddr(hot_path, "aliased_fn", &off, &va);
	ASSERT_EQ(sym_vaddr(hot_path, "aliased", &off, &va), v);
	ASSERT_EQ(sym_vaddr(hot_path, "__GI___aliased_fn", &off, &va), v);
	struct symbolizer *s = symbolizer_new();
	struct sym_map m = fake_map(hot_path, off);
	struct sym_frame out[8];
	int n = symbolizer_user(s, &m, runtime_ip(&m, v, off, va), false, out, 8);
	ASSERT(n >= 1);
	if (strcmp(out[n - 1].func, "aliased_fn") != 0)
		fprintf(stderr, "named %s\n", out[n - 1].func);
	ASSERT(strcmp(out[n - 1].func, "aliased_fn") == 0);
	symbolizer_free(s);
}

TEST(cxx_demangled)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t off, va;
	uint64_t v = sym_vaddr(cxx_path, "_ZN6engine6Solver4stepEm", &off, &va);
	struct sym_map m = fake_map(cxx_path, off);
	struct sym_frame out[8];
	int n = symbolizer_user(s, &m, runtime_ip(&m, v, off, va), false, out, 8);
	ASSERT(strstr(out[n - 1].func, "engine::Solver::step"));
	symbolizer_free(s);
}

TEST(unknown_never_crashes)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_frame out[4];
	struct sym_map m = { .path = "/no/such/binary", .start = 0x400000, .len = 0x1000, .pgoff = 0 };
	int n = symbolizer_user(s, &m, 0x400123, false, out, 4);
	ASSERT_EQ(n, 1);
	ASSERT_STREQ(out[0].func, "[unknown]");
	ASSERT(out[0].flags & SYMF_UNKNOWN);
	ASSERT_STREQ(out[0].dso, "/no/such/binary");
	ASSERT_EQ(out[0].addr, 0x123);
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	ASSERT_EQ(st.binaries_missing, 1);
	/* Past the end of every segment of a real binary. */
	uint64_t off, va;
	sym_vaddr(hot_path, "main", &off, &va);
	struct sym_map r = fake_map(hot_path, off);
	n = symbolizer_user(s, &r, r.start + 0xfff00, false, out, 4);
	ASSERT_EQ(n, 1);
	ASSERT(out[0].flags & SYMF_UNKNOWN);
	symbolizer_free(s);
}

TEST(demangle_names)
{
	char *d = demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	ASSERT_STREQ(d, "core::fmt::write");
	free(d);
	d = demangle("_ZNSt6vectorIiSaIiEE9push_backERKi");
	ASSERT(d && strstr(d, "std::vector<int, std::allocator<int> >::push_back"));
	free(d);
	ASSERT(demangle("main") == NULL);
	ASSERT(demangle("_Zgarbage!") == NULL);
}

TEST(kallsyms_and_jitmap)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_frame f;
	FILE *fp = fopen("/proc/kallsyms", "r");
	unsigned long long addr = 0;
	char line[256], type, name[200];
	while (fp && fgets(line, sizeof line, fp))
		if (sscanf(line, "%llx %c %199s", &addr, &type, name) == 3 && strcmp(name, "schedule") == 0)
			break;
	if (fp)
		fclose(fp);
	if (addr) {
		symbolizer_kernel(s, addr + 1, &f);
		ASSERT_STREQ(f.func, "schedule");
		ASSERT(f.flags & SYMF_KERNEL);
	} else {
		printf("kallsyms addresses hidden here: kernel lookup not checked\n");
	}
	uint32_t pid = 999999; /* no such process: its map file is ours */
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%u.map", pid);
	fp = fopen(path, "w");
	ASSERT(fp);
	fprintf(fp, "7f0000001000 100 LazyCompile:~hot js/app.js:3\n0x7f0000002000 0x20 Interp: tiny\nbad line\n");
	fclose(fp);
	symbolizer_jit(s, pid, 0x7f0000001050, &f);
	ASSERT_STREQ(f.func, "LazyCompile:~hot js/app.js:3");
	ASSERT(f.flags & SYMF_JIT);
	symbolizer_jit(s, pid, 0x7f000000201f, &f);
	ASSERT_STREQ(f.func, "Interp: tiny");
	symbolizer_jit(s, pid, 0x7f0000002020, &f);
	ASSERT(f.flags & SYMF_UNKNOWN);
	unlink(path);
	symbolizer_free(s);
}

/* The kallsyms cache answers exactly as /proc/kallsyms does for the
 * addresses it vouches for, is checked whole once and then taken on its
 * stamp, and is ignored when damaged. */
TEST(kallsyms_cache)
{
	char dir[] = "/tmp/cprof-ksyms.XXXXXX";
	ASSERT(mkdtemp(dir));
	ASSERT(setenv("CPROF_CACHE_DIR", dir, 1) == 0);
	char file[64];
	snprintf(file, sizeof file, "%s/kallsyms.v2", dir);
	struct kallsyms live = { 0 }, cached = { 0 }, damaged = { 0 };
	(void)kallsyms_lookup(&live, 0xffffffff81000000ULL); /* loads, writes the cache */
	ASSERT(live.live && !live.from_cache);
	if (!live.syms.n) {
		printf("kallsyms addresses hidden here: cache not checked\n");
		ASSERT(access(file, F_OK) != 0); /* nothing worth caching */
		kallsyms_release(&live);
		rmdir(dir);
		return;
	}
	ASSERT(access(file, R_OK) == 0);
	usleep(60 * 1000); /* a file changed in the last 50 ms is not stamped */
	size_t checked = 0, vouched = 0;
	for (size_t i = 0; i + 1 < live.syms.n; i += 7) {
		uint64_t a = live.syms.v[i].addr + (live.syms.v[i + 1].addr - live.syms.v[i].addr) / 2;
		const char *want = kallsyms_lookup(&live, a);
		const char *got = kallsyms_lookup(&cached, a);
		ASSERT(want && got);
		ASSERT_STREQ(got, want);
		checked++;
		vouched += cached.from_cache;
	}
	printf("%zu addresses agree; the cache answered %zu of them\n", checked, vouched);
	/* Past the last symbol of the kernel proper nothing is known: the
	 * cached table must hand over to /proc/kallsyms. */
	ASSERT(vouched > checked / 2);
	ASSERT(!cached.vouched); /* its first use checks it whole, and stamps it */
	struct kallsyms stamped = { 0 };
	uint64_t mid = live.syms.v[live.syms.n / 3].addr;
	ASSERT_STREQ(kallsyms_lookup(&stamped, mid), kallsyms_lookup(&live, mid));
	ASSERT(stamped.from_cache && stamped.vouched);
	kallsyms_release(&stamped);
	if (cached.from_cache) {
		(void)kallsyms_lookup(&cached, live.syms.v[live.syms.n - 1].addr + 16);
		ASSERT(!cached.from_cache && cached.live);
	}
	/* A flipped byte: the checksum catches it and the file is read live. */
	int fd = open(file, O_RDWR);
	ASSERT(fd >= 0);
	char c;
	ASSERT(pread(fd, &c, 1, 100) == 1);
	c ^= 0x55;
	ASSERT(pwrite(fd, &c, 1, 100) == 1);
	close(fd);
	uint64_t a = live.syms.v[live.syms.n / 2].addr;
	ASSERT_STREQ(kallsyms_lookup(&damaged, a), kallsyms_lookup(&live, a));
	ASSERT(damaged.live && !damaged.from_cache); /* written to: the stamp no longer holds */
	kallsyms_release(&live);
	kallsyms_release(&cached);
	kallsyms_release(&damaged);
	unlink(file);
	char stamp[80];
	snprintf(stamp, sizeof stamp, "%s.ok", file);
	ASSERT(unlink(stamp) == 0);
	ASSERT(rmdir(dir) == 0);
	ASSERT(unsetenv("CPROF_CACHE_DIR") == 0);
}

/* Go writes no .debug_aranges: the compile unit is found from the units'
 * own ranges, which gives source lines and Go's inlined frames. */
TEST(go_lines_and_inline_frames)
{
	if (!*go_path) {
		printf("go not found at build time: skipped\n");
		return;
	}
	struct symbolizer *s = symbolizer_new();
	struct sym_frame out[8];
	int n = find_inline(s, go_path, "main.(*Circle).Area", "math.Abs", out, 8);
	ASSERT(n >= 2);
	const struct sym_frame *area = &out[n - 1], *abs_fr = &out[n - 2];
	ASSERT_STREQ(area->func, "main.(*Circle).Area");
	ASSERT(!(area->flags & SYMF_INLINED));
	ASSERT(ends_with(area->file, "/gowork.go"));
	ASSERT(area->line > 0); /* the line of the math.Abs call */
	ASSERT_STREQ(abs_fr->func, "math.Abs");
	ASSERT(abs_fr->flags & SYMF_INLINED);
	ASSERT(ends_with(abs_fr->file, "/math/abs.go"));
	ASSERT(abs_fr->line > 0);
	/* A generic function, named by its shape instantiation. */
	uint64_t off, va, size;
	exec_segment(go_path, &off, &va);
	uint64_t v = func_range(go_path, "main.Sum[go.shape.int32_0]", &size);
	struct sym_map m = fake_map(go_path, off);
	n = symbolizer_user(s, &m, runtime_ip(&m, v, off, va), false, out, 8);
	ASSERT_STREQ(out[n - 1].func, "main.Sum[go.shape.int32_0]");
	ASSERT(ends_with(out[n - 1].file, "/gowork.go"));
	ASSERT(out[n - 1].line > 0);
	symbolizer_free(s);
}

/* Rust: inlined standard library functions named from their linkage
 * names, demangled, with the full name kept beside the short one. */
TEST(rust_inline_frames)
{
	if (!*rust_path) {
		printf("rustc not found at build time: skipped\n");
		return;
	}
	struct symbolizer *s = symbolizer_new();
	struct sym_frame out[8];
	int n = find_inline(s, rust_v0_path, "<rustwork::Mix as rustwork::Kernel>::run", "core::ptr::read_volatile::<u64>",
			    out, 8);
	ASSERT(n >= 2);
	ASSERT_STREQ(out[n - 1].func, "<rustwork::Mix as rustwork::Kernel>::run");
	ASSERT(strncmp(out[n - 1].full, "<rustwork[", 10) == 0); /* the crate's disambiguator */
	ASSERT(ends_with(out[n - 1].file, "rustwork.rs"));
	symbolizer_free(s);

	s = symbolizer_new();
	n = find_inline(s, rust_path, "<rustwork::Mix as rustwork::Kernel>::run", "core::ptr::read_volatile", out, 8);
	ASSERT(n >= 2);
	const struct sym_frame *rv = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(out[i].func, "core::ptr::read_volatile") == 0)
			rv = &out[i];
	ASSERT(rv && (rv->flags & SYMF_INLINED));
	ASSERT(rv->full && strncmp(rv->full, "core::ptr::read_volatile::h", 27) == 0);
	ASSERT(strlen(rv->full) == 27 + 16);
	ASSERT(ends_with(rv->file, ".rs"));
	ASSERT(rv->line > 0);
	ASSERT_STREQ(out[n - 1].func, "<rustwork::Mix as rustwork::Kernel>::run");
	symbolizer_free(s);
}

/* A func_index over path through libdwfl's standard search for debug
 * information (separate debug files by build ID included). */
struct dwfl_index {
	Dwfl *dwfl;
	struct func_index *f;
};

static const Dwfl_Callbacks std_callbacks = { .find_elf = dwfl_build_id_find_elf,
					      .find_debuginfo = dwfl_standard_find_debuginfo };

static bool dwfl_index_open(struct dwfl_index *x, const char *path)
{
	x->dwfl = dwfl_begin(&std_callbacks);
	ASSERT(x->dwfl);
	dwfl_report_begin(x->dwfl);
	Dwfl_Module *mod = dwfl_report_elf(x->dwfl, "m", path, -1, 0, false);
	dwfl_report_end(x->dwfl, NULL, NULL);
	x->f = mod ? func_index_new(mod) : NULL;
	return x->f != NULL;
}

static void dwfl_index_close(struct dwfl_index *x)
{
	func_index_free(x->f);
	dwfl_end(x->dwfl);
}

static Dwarf_Off cu_at(struct func_index *f, uint64_t a)
{
	Dwarf_Addr bias;
	Dwarf_Die storage;
	Dwarf_Die *cu = func_index_cu(f, a, &bias, &storage);
	return cu ? dwarf_dieoffset(cu) : (Dwarf_Off)-1;
}

/* The address-to-unit table the symbol cache keeps answers as libdwfl
 * does: the same unit, or none, at every address (each run's edges, the
 * end, and every 3rd byte across the code) of each binary; libc too when
 * its debug information is installed (hundreds of units, with gaps). */
TEST(cu_runs_answer_as_libdwfl)
{
	const char *paths[] = { hot_path, cxx_path, "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	for (size_t p = 0; p < ARRAY_SIZE(paths); p++) {
		struct dwfl_index live, kept;
		if (!dwfl_index_open(&live, paths[p]) || !dwfl_index_open(&kept, paths[p]))
			FAIL_("cannot open %s", paths[p]);
		(void)cu_at(live.f, 0); /* libdwfl reads .debug_aranges; the index takes the table */
		const struct func_cu_run *runs;
		size_t n;
		uint64_t end;
		if (!func_index_cu_runs(live.f, &runs, &n, &end)) {
			ASSERT(p == 2); /* gcc writes .debug_aranges for the test programs */
			printf("%s: no debug information: skipped\n", paths[p]);
			dwfl_index_close(&live);
			dwfl_index_close(&kept);
			continue;
		}
		struct func_cu_run *copy = xcalloc(n, sizeof *copy);
		memcpy(copy, runs, n * sizeof *copy);
		func_index_set_cu_runs(kept.f, copy, n, end);
		size_t checked = 0, found = 0;
		uint64_t lo = runs[0].start > 64 ? runs[0].start - 64 : 0;
		for (size_t i = 0; i <= n; i++) {
			uint64_t at = i < n ? runs[i].start : end;
			for (uint64_t a = at > 2 ? at - 2 : 0; a <= at + 2; a++, checked++)
				ASSERT_EQ(cu_at(kept.f, a), cu_at(live.f, a));
		}
		for (uint64_t a = lo; a < end + 64; a += 3, checked++) {
			Dwarf_Off want = cu_at(live.f, a);
			ASSERT_EQ(cu_at(kept.f, a), want);
			found += want != (Dwarf_Off)-1;
		}
		printf("%s: %zu runs, %zu addresses agree, %zu in a unit\n", paths[p], n, checked, found);
		ASSERT(found > checked / 2);
		dwfl_index_close(&live);
		dwfl_index_close(&kept);
	}
}

/* The functions listed for keeping a small binary whole include the
 * sizeless ones (crtstuff's deregister_tm_clones and
 * __do_global_dtors_aux run at every exit; left out, each missed the
 * symbol cache in some later recording), each reaching the next symbol. */
TEST(functions_include_sizeless_ones)
{
	struct elf_fixture_sym sym;
	elf_fixture_find(hot_path, "deregister_tm_clones", &sym);
	struct dwfl_index x;
	if (!dwfl_index_open(&x, hot_path))
		FAIL_("cannot open %s", hot_path);
	struct sym_func *fn = NULL;
	size_t n = func_index_functions(x.f, &fn);
	ASSERT(n > 0);
	size_t at = n;
	for (size_t i = 0; i < n; i++) {
		if (i)
			ASSERT(fn[i].start > fn[i - 1].start);
		if (fn[i].start == sym.vaddr)
			at = i;
	}
	ASSERT(sym.size == 0); /* what this case is about */
	ASSERT(at < n);
	ASSERT(fn[at].size > 0 && fn[at].sizeless);
	struct elf_fixture_sym main_sym;
	elf_fixture_find(hot_path, "main", &main_sym);
	for (size_t i = 0; i < n; i++)
		if (fn[i].start == main_sym.vaddr)
			ASSERT(fn[i].size == main_sym.size && !fn[i].sizeless);
	ASSERT(at + 1 == n || fn[at].start + fn[at].size <= fn[at + 1].start);
	uint64_t start, size;
	ASSERT_STREQ(func_index_symbol_range(x.f, sym.vaddr + fn[at].size - 1, &start, &size), "deregister_tm_clones");
	free(fn);
	dwfl_index_close(&x);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		SKIP("usage: test-symbol HOT CXX [GO RUST RUST-V0]");
	hot_path = argv[1];
	cxx_path = argv[2];
	go_path = argc > 3 ? argv[3] : "";
	rust_path = argc > 4 ? argv[4] : "";
	rust_v0_path = argc > 5 ? argv[5] : "";
	static const struct test_case cases[] = { T(function_inline_and_line), T(return_address_looks_up_the_call), T(alias_named_as_perf_names_it),
						  T(cxx_demangled), T(unknown_never_crashes), T(demangle_names),
						  T(kallsyms_and_jitmap), T(kallsyms_cache), T(go_lines_and_inline_frames),
						  T(rust_inline_frames), T(cu_runs_answer_as_libdwfl), T(functions_include_sizeless_ones) };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		cases[i].fn();
	}
	printf("%zu cases passed\n", ARRAY_SIZE(cases));
	return 0;
}
