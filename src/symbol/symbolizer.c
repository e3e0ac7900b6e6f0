/*
 * symbolizer.c - addresses to functions, inline chains and source lines
 * with libdwfl, one session per binary, each unique address resolved once.
 *
 * A binary is reported to its own Dwfl at bias 0, so module addresses are
 * the ELF's own vaddrs; a sampled address is turned into a vaddr through
 * the PT_LOAD segment that holds its file offset. Kernel addresses go to
 * kallsyms.c, anonymous executable memory to jitmap.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "cprof/symbol.h"
#include "cprof/debuginfo.h"
#include "symbol-internal.h"

struct binary {
	char *path;
	uint8_t build_id[20], build_id_size;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct func_index *index; /* set with mod */
	VEC(GElf_Phdr) loads;
	bool missing;
};

/* Cached result for one (binary, vaddr, is_return). */
struct addr_entry {
	uint32_t binary;
	uint64_t vaddr;
	uint32_t first, n; /* frames in symbolizer.frames */
};

struct symbolizer {
	VEC(char *) strs;       /* interned strings: owned, never moved */
	struct hashidx str_idx;
	VEC(struct binary) binaries;
	VEC(struct addr_entry) addrs;
	struct hashidx addr_idx;
	VEC(struct sym_frame) frames; /* resolved frames, referenced by addrs */
	struct symbolizer_stats st;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	char *vdso_path; /* /proc/self/fd/ of vdso_fd, once opened */
	int vdso_fd;
	struct kallsyms ksyms;
	struct jitmaps jit;
};

const char *sym_intern(struct symbolizer *s, const char *str)
{
	struct hashidx *ix = &s->str_idx;
	uint64_t h = hash_bytes(str, strlen(str), HASH_SEED);
	if (ix->cap)
		for (size_t i = h & (ix->cap - 1); ix->slot[i]; i = (i + 1) & (ix->cap - 1))
			if (strcmp(s->strs.v[ix->slot[i] - 1], str) == 0)
				return s->strs.v[ix->slot[i] - 1];
	if ((s->strs.n + 1) * 2 > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		free(ix->slot);
		ix->slot = xcalloc(cap, sizeof *ix->slot);
		ix->cap = cap;
		for (size_t j = 0; j < s->strs.n; j++) {
			size_t k = hash_bytes(s->strs.v[j], strlen(s->strs.v[j]), HASH_SEED) & (cap - 1);
			while (ix->slot[k])
				k = (k + 1) & (cap - 1);
			ix->slot[k] = (uint32_t)j + 1;
		}
	}
	char *copy = xstrdup(str);
	vec_push(&s->strs, copy);
	size_t k = h & (ix->cap - 1);
	while (ix->slot[k])
		k = (k + 1) & (ix->cap - 1);
	ix->slot[k] = (uint32_t)s->strs.n;
	return copy;
}

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = xcalloc(1, sizeof *s);
	/* libelf refuses every call until told which ELF version we speak. */
	(void)elf_version(EV_CURRENT);
	/* Never reach out to debuginfod servers from inside a profiler run. */
	unsetenv("DEBUGINFOD_URLS");
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->callbacks.find_debuginfo = debuginfo_find_local;
	s->callbacks.section_address = dwfl_offline_section_address;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->binaries.n; i++) {
		struct binary *b = &s->binaries.v[i];
		func_index_free(b->index);
		if (b->dwfl)
			dwfl_end(b->dwfl);
		free(b->path);
		vec_release(&b->loads);
	}
	if (s->vdso_path) {
		close(s->vdso_fd);
		free(s->vdso_path);
	}
	vec_release(&s->binaries);
	vec_release(&s->addrs);
	vec_release(&s->frames);
	free(s->addr_idx.slot);
	kallsyms_release(&s->ksyms);
	jitmaps_release(&s->jit);
	for (size_t i = 0; i < s->strs.n; i++)
		free(s->strs.v[i]);
	vec_release(&s->strs);
	free(s->str_idx.slot);
	free(s);
}

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = s->st;
}

/* The vDSO is not a file: open it as this process's copy (same kernel). */
static const char *vdso_file(struct symbolizer *s)
{
	if (s->vdso_path)
		return s->vdso_path;
	s->vdso_fd = vdso_memfd();
	if (s->vdso_fd < 0)
		return NULL;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", s->vdso_fd);
	s->vdso_path = xstrdup(path);
	return s->vdso_path;
}

static uint32_t binary_get(struct symbolizer *s, const struct sym_map *map)
{
	for (size_t i = 0; i < s->binaries.n; i++) {
		const struct binary *b = &s->binaries.v[i];
		if (strcmp(b->path, map->path) == 0 && b->build_id_size == map->build_id_size &&
		    (!map->build_id_size || memcmp(b->build_id, map->build_id, map->build_id_size) == 0))
			return (uint32_t)i;
	}
	struct binary b = { .path = xstrdup(map->path) };
	if (map->build_id && map->build_id_size <= 20) {
		b.build_id_size = map->build_id_size;
		memcpy(b.build_id, map->build_id, map->build_id_size);
	}
	const char *file = strcmp(map->path, "[vdso]") == 0 ? vdso_file(s) : map->path;
	s->st.binaries_opened++;
	int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	size_t n;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
				vec_push(&b.loads, ph);
		}
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (b.loads.n) {
		b.dwfl = dwfl_begin(&s->callbacks);
		if (b.dwfl) {
			dwfl_report_begin(b.dwfl);
			const char *base = strrchr(map->path, '/');
			b.mod = dwfl_report_elf(b.dwfl, base ? base + 1 : map->path, file, -1, 0, false);
			dwfl_report_end(b.dwfl, NULL, NULL);
		}
	}
	if (b.mod)
		b.index = func_index_new(b.mod);
	if (!b.mod) {
		b.missing = true;
		s->st.binaries_missing++;
	}
	vec_push(&s->binaries, b);
	return (uint32_t)(s->binaries.n - 1);
}

bool symbolizer_has_binary(const struct symbolizer *s, const struct sym_map *map)
{
	for (size_t i = 0; i < s->binaries.n; i++) {
		const struct binary *b = &s->binaries.v[i];
		if (strcmp(b->path, map->path) == 0 && b->build_id_size == map->build_id_size &&
		    (!map->build_id_size || memcmp(b->build_id, map->build_id, map->build_id_size) == 0))
			return true;
	}
	return false;
}

struct sym_binary symbolizer_binary(struct symbolizer *s, const struct sym_map *map)
{
	uint32_t i = binary_get(s, map); /* may grow s->binaries */
	const struct binary *b = &s->binaries.v[i];
	return (struct sym_binary){ .mod = b->mod, .index = b->index, .path = b->path };
}

/* File offset of a sampled address -> the ELF's own virtual address. */
static bool to_vaddr(const struct binary *b, const struct sym_map *map, uint64_t ip, uint64_t *vaddr)
{
	uint64_t off = ip - map->start + map->pgoff;
	for (size_t i = 0; i < b->loads.n; i++) {
		const GElf_Phdr *ph = &b->loads.v[i];
		if (off >= ph->p_offset && off < ph->p_offset + ph->p_filesz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return true;
		}
	}
	*vaddr = off;
	return false;
}

static char *strip_version(const char *name)
{
	const char *at = strchr(name, '@');
	return at ? xstrndup(name, (size_t)(at - name)) : xstrdup(name);
}

/* A symbol's name as shown, and in full where that differs (Rust). */
struct names {
	const char *func, *full;
};

static struct names display_name(struct symbolizer *s, const char *raw)
{
	char *plain = strip_version(raw);
	char *dem = demangle(plain);
	struct names r = { .func = sym_intern(s, dem ? dem : plain) };
	if (dem) {
		char *full = demangle_full(plain);
		if (full && strcmp(full, dem) != 0)
			r.full = sym_intern(s, full);
		free(full);
	}
	free(dem);
	free(plain);
	return r;
}

const char *sym_display_name(struct symbolizer *s, const char *raw)
{
	return display_name(s, raw).func;
}

/* Rust names its inlined functions by their last path segment in
 * DW_AT_name ("eq"); the full path is in the linkage name, so that is
 * demangled first. Go has no linkage names and puts the whole name in
 * DW_AT_name. */
static struct names die_name(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Die origin;
	Dwarf_Die *d = die;
	/* Inlined instances and out-of-line copies name their abstract origin. */
	for (int i = 0; i < 4; i++) {
		if (dwarf_attr(d, DW_AT_abstract_origin, &attr) && dwarf_formref_die(&attr, &origin))
			d = &origin;
		else if (dwarf_attr(d, DW_AT_specification, &attr) && dwarf_formref_die(&attr, &origin))
			d = &origin;
		else
			break;
	}
	const char *link = NULL;
	if (dwarf_attr_integrate(d, DW_AT_linkage_name, &attr) || dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &attr))
		link = dwarf_formstring(&attr);
	if (link)
		return display_name(s, link);
	const char *n = dwarf_diename(d);
	return (struct names){ .func = n ? sym_intern(s, n) : NULL };
}

const char *sym_die_name(struct symbolizer *s, Dwarf_Die *die)
{
	return die_name(s, die).func;
}

#define MAX_CHAIN 64

/* Resolve vaddr in binary b into frames appended to s->frames. */
static uint32_t resolve(struct symbolizer *s, const struct binary *b, uint64_t vaddr, uint64_t lookup)
{
	uint32_t first = (uint32_t)s->frames.n;
	const char *dso = sym_intern(s, b->path);
	struct names func = { 0 };
	const char *file = "";
	uint32_t line = 0;
	if (!b->mod)
		goto unknown;
	const char *name = func_index_symbol(b->index, lookup);
	if (name)
		func = display_name(s, name);
	Dwarf_Addr bias = 0;
	Dwarf_Die cu_storage;
	Dwarf_Die *cu = func_index_cu(b->index, lookup, &bias, &cu_storage);
	Dwarf_Line *l = cu ? dwarf_getsrc_die(cu, lookup - bias) : NULL;
	int ln = 0;
	if (l) {
		const char *f = dwarf_linesrc(l, NULL, NULL);
		if (f && dwarf_lineno(l, &ln) == 0) {
			file = sym_intern(s, f);
			line = ln > 0 ? (uint32_t)ln : 0;
		}
	}

	/* Inline chain: innermost inlined call first, then the real function. */
	Dwarf_Die chain[MAX_CHAIN];
	int nc = cu ? func_index_chain(b->index, cu, lookup - bias, chain, MAX_CHAIN) : 0;
	if (nc > 0) {
		Dwarf_Files *files = NULL;
		size_t nfiles = 0;
		if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
			files = NULL;
		const char *cur_file = file;
		uint32_t cur_line = line;
		for (int i = 0; i < nc; i++) {
			int tag = dwarf_tag(&chain[i]);
			if (tag == DW_TAG_inlined_subroutine) {
				struct names iname = die_name(s, &chain[i]);
				struct sym_frame f = { .func = iname.func ? iname.func : "[unknown]", .full = iname.full,
						       .dso = dso, .file = cur_file, .line = cur_line, .addr = vaddr,
						       .flags = SYMF_INLINED };
				vec_push(&s->frames, f);
				/* Where it was inlined is the caller's location. */
				Dwarf_Attribute a;
				Dwarf_Word cf = 0, cl = 0;
				if (dwarf_attr(&chain[i], DW_AT_call_file, &a) && dwarf_formudata(&a, &cf) == 0 && files) {
					const char *fn = dwarf_filesrc(files, cf, NULL, NULL);
					cur_file = fn ? sym_intern(s, fn) : "";
				}
				cur_line = dwarf_attr(&chain[i], DW_AT_call_line, &a) && dwarf_formudata(&a, &cl) == 0
						   ? (uint32_t)cl : 0;
			} else if (tag == DW_TAG_subprogram) {
				struct names sname = die_name(s, &chain[i]);
				if (!func.func && sname.func)
					func = sname;
				file = cur_file;
				line = cur_line;
				break;
			}
		}
	}
	if (!func.func)
		goto unknown;
	vec_push(&s->frames, ((struct sym_frame){ .func = func.func, .full = func.full, .dso = dso, .file = file,
						   .line = line, .addr = vaddr, .flags = 0 }));
	return (uint32_t)s->frames.n - first;
unknown:
	s->frames.n = first;
	s->st.unknown++;
	vec_push(&s->frames, ((struct sym_frame){ .func = "[unknown]", .dso = dso, .file = "", .line = 0,
						   .addr = vaddr, .flags = SYMF_UNKNOWN }));
	return 1;
}

static uint64_t addr_hash(uint32_t binary, uint64_t key)
{
	uint64_t k[2] = { binary, key };
	return hash_bytes(k, sizeof k, HASH_SEED);
}

int symbolizer_user(struct symbolizer *s, const struct sym_map *map, uint64_t ip, bool is_return,
		    struct sym_frame *out, int max)
{
	if (max < 1)
		return 0;
	s->st.lookups++;
	uint32_t bi = binary_get(s, map);
	const struct binary *b = &s->binaries.v[bi];
	uint64_t vaddr;
	(void)to_vaddr(b, map, ip, &vaddr);
	/* A return address points after the call: look up the call itself. */
	uint64_t lookup = is_return && vaddr ? vaddr - 1 : vaddr;
	uint64_t key = lookup << 1 | (is_return ? 1 : 0);
	struct hashidx *ix = &s->addr_idx;
	uint64_t h = addr_hash(bi, key);
	const struct addr_entry *hit = NULL;
	if (ix->cap)
		for (size_t i = h & (ix->cap - 1); ix->slot[i]; i = (i + 1) & (ix->cap - 1)) {
			const struct addr_entry *e = &s->addrs.v[ix->slot[i] - 1];
			if (e->binary == bi && e->vaddr == key) {
				hit = e;
				s->st.cache_hits++;
				break;
			}
		}
	if (!hit) {
		if ((s->addrs.n + 1) * 2 > ix->cap) {
			size_t cap = ix->cap ? ix->cap * 2 : 4096;
			free(ix->slot);
			ix->slot = xcalloc(cap, sizeof *ix->slot);
			ix->cap = cap;
			for (size_t j = 0; j < s->addrs.n; j++) {
				size_t k = addr_hash(s->addrs.v[j].binary, s->addrs.v[j].vaddr) & (cap - 1);
				while (ix->slot[k])
					k = (k + 1) & (cap - 1);
				ix->slot[k] = (uint32_t)j + 1;
			}
		}
		struct addr_entry e = { .binary = bi, .vaddr = key, .first = (uint32_t)s->frames.n };
		e.n = resolve(s, b, vaddr, lookup);
		vec_push(&s->addrs, e);
		size_t k = h & (ix->cap - 1);
		while (ix->slot[k])
			k = (k + 1) & (ix->cap - 1);
		ix->slot[k] = (uint32_t)s->addrs.n;
		hit = &s->addrs.v[s->addrs.n - 1];
	}
	int n = (int)hit->n < max ? (int)hit->n : max;
	/* Keep the outermost (real) function when the chain is cut. */
	memcpy(out, s->frames.v + hit->first + (hit->n - (uint32_t)n), (size_t)n * sizeof *out);
	return n;
}

int symbolizer_kernel(struct symbolizer *s, uint64_t ip, struct sym_frame *out)
{
	s->st.lookups++;
	const char *name = kallsyms_lookup(&s->ksyms, ip);
	*out = (struct sym_frame){ .func = name ? name : "[unknown]", .dso = "[kernel.kallsyms]", .file = "",
				   .addr = ip, .flags = SYMF_KERNEL | (name ? 0 : SYMF_UNKNOWN) };
	if (!name)
		s->st.unknown++;
	return 1;
}

int symbolizer_jit(struct symbolizer *s, uint32_t pid, uint64_t ip, struct sym_frame *out)
{
	s->st.lookups++;
	const char *name = jitmaps_lookup(&s->jit, s, pid, ip);
	*out = (struct sym_frame){ .func = name ? name : "[unknown]", .dso = "[jit]", .file = "", .addr = ip,
				   .flags = name ? SYMF_JIT : SYMF_UNKNOWN };
	if (!name)
		s->st.unknown++;
	return 1;
}
