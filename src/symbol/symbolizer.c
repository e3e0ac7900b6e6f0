/*
 * symbolizer.c - addresses to functions, inline chains and source lines
 * with libdwfl, one session per binary, each unique address resolved once.
 *
 * A binary is reported to its own Dwfl at bias 0, so module addresses are
 * the ELF's own vaddrs; a sampled address is turned into a vaddr through
 * the PT_LOAD segment that holds its file offset. Kernel addresses go to
 * kallsyms.c, anonymous executable memory to jitmap.c.
 *
 * A binary's libdw session is opened only when an address is not in its
 * symbol cache (symcache.c): on a second recording of the same program
 * the debug files are not read at all. What was resolved through libdw is
 * added to the cache when the symbolizer is done (symbolizer_save_cache).
 *
 * One file: its caches and libdwfl's sessions have one owner.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>

#include "cprof/symbol.h"
#include "cprof/debuginfo.h"
#include "symbol-internal.h"

/* An address resolved through libdw in this run, for the cache file. */
struct fresh {
	uint64_t key;
	uint32_t first, n; /* frames in symbolizer.frames */
};

struct binary {
	char *path;
	const char *file; /* what is opened: path, or the vDSO's copy */
	uint8_t build_id[20], build_id_size;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct func_index *index; /* set with mod */
	VEC(GElf_Phdr) loads;
	bool missing;
	bool opened; /* the libdw session was tried (then dwfl, mod are final) */
	/* The symbol cache: its file (NULL: none for this binary), the
	 * identity it must carry, what was in it, and what to add. */
	char *cache_path;
	struct sbuf cache_key;
	bool cache_loaded;
	uint8_t *cache_buf;
	struct symcache_view cache; /* valid when cache_buf is set */
	size_t cache_len;           /* its length */
	VEC(struct fresh) fresh;
	VEC(struct sym_code) fresh_code; /* kept functions, owned copies */
};

/* Cached result for one (binary, vaddr, is_return). */
struct addr_entry {
	uint32_t binary;
	uint64_t vaddr;
	uint32_t first, n; /* frames in symbolizer.frames */
	bool anew;         /* resolved through libdw for the cache file */
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
	bool verify; /* CPROF_SYMCACHE_VERIFY: resolve cache hits again and compare */
};

static uint64_t str_hash(const char *str) { return hash_bytes(str, strlen(str), HASH_SEED); }

static uint64_t str_hash_at(const void *ctx, uint32_t i)
{
	return str_hash(((const struct symbolizer *)ctx)->strs.v[i]);
}

/* Interned here rather than in a string table (base's str_intern): frames
 * hand out pointers, which must not move as the table grows. */
const char *sym_intern(struct symbolizer *s, const char *str)
{
	struct hashidx *ix = &s->str_idx;
	uint64_t h = str_hash(str);
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos))
		if (strcmp(s->strs.v[i], str) == 0)
			return s->strs.v[i];
	hashidx_reserve(ix, str_hash_at, s);
	char *copy = xstrdup(str);
	vec_push(&s->strs, copy);
	hashidx_put(ix, h, (uint32_t)s->strs.n - 1);
	return copy;
}

static struct sbuf self_id = SBUF_INIT;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static void read_self_id(void);

/* The local search, and a decompressed copy of what it found when that is
 * compressed (symcache.c). */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	int fd = debuginfo_find_local(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
				      debuginfo_file_name);
	if (fd < 0 || !*userdata)
		return fd;
	int copy = symcache_debug_copy(fd, *userdata, debuginfo_file_name);
	if (copy < 0)
		return fd;
	close(fd);
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
	s->callbacks.find_debuginfo = find_debuginfo;
	s->callbacks.section_address = dwfl_offline_section_address;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	const char *v = getenv("CPROF_SYMCACHE_VERIFY");
	s->verify = v && *v && strcmp(v, "0") != 0;
	return s;
}

static void binary_release(struct binary *b)
{
	func_index_free(b->index);
	if (b->dwfl)
		dwfl_end(b->dwfl);
	free(b->path);
	vec_release(&b->loads);
	free(b->cache_path);
	sbuf_release(&b->cache_key);
	if (b->cache_buf)
		munmap(b->cache_buf, b->cache_len);
	vec_release(&b->fresh);
	for (size_t i = 0; i < b->fresh_code.n; i++)
		sym_code_release(&b->fresh_code.v[i]);
	vec_release(&b->fresh_code);
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	symbolizer_save_cache(s);
	for (size_t i = 0; i < s->binaries.n; i++)
		binary_release(&s->binaries.v[i]);
	if (s->vdso_path) {
		close(s->vdso_fd);
		free(s->vdso_path);
	}
	vec_release(&s->binaries);
	vec_release(&s->addrs);
	vec_release(&s->frames);
	hashidx_release(&s->addr_idx);
	kallsyms_release(&s->ksyms);
	jitmaps_release(&s->jit);
	for (size_t i = 0; i < s->strs.n; i++)
		free(s->strs.v[i]);
	vec_release(&s->strs);
	hashidx_release(&s->str_idx);
	free(s);
}

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = s->st;
	symcache_copy_stats(&ret->debug_copies_used, &ret->debug_copies_written, &ret->debug_copies_checked);
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

/* What this cprof was built as and with: a change of either may change
 * what the symbolizer makes of the same binary. Read once. */
static void read_self_id(void)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "cprof %s; libdw %s; ", CPROF_VERSION, dwfl_version(NULL));
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	const void *bits;
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
	struct stat st;
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			sbuf_addf(&sb, "%02x", ((const uint8_t *)bits)[i]);
	} else if (fd >= 0 && fstat(fd, &st) == 0) {
		/* No build id: the executable's file stands for the build. */
		sbuf_addf(&sb, "%llu %llu %lld.%09ld", (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
			  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	self_id = sb;
}

static void add_file_id(struct sbuf *key, const struct stat *st)
{
	uint8_t b[40];
	put_le64(b, (uint64_t)st->st_dev);
	put_le64(b + 8, (uint64_t)st->st_ino);
	put_le64(b + 16, (uint64_t)st->st_size);
	put_le64(b + 24, (uint64_t)st->st_mtim.tv_sec);
	put_le64(b + 32, (uint64_t)st->st_mtim.tv_nsec);
	sbuf_add(key, b, sizeof b);
}

/* Name and identity of b's cache file: this build, the binary's build id
 * and file, and the debug file this machine has for it (found as libdwfl
 * will find it, through debuginfo_open) or the lack of one. */
static void cache_identity(struct binary *b, int fd, Elf *elf)
{
	char *dir = sym_cache_path("symbols");
	struct stat st;
	if (!dir || fstat(fd, &st) != 0) {
		free(dir);
		return;
	}
	(void)pthread_once(&self_once, read_self_id);
	/* The file's own build id (libdwfl goes by it too), whatever the
	 * mapping said. */
	const void *bits = NULL;
	ssize_t got = dwelf_elf_gnu_build_id(elf, &bits);
	uint8_t n = got > 0 && got <= 64 ? (uint8_t)got : 0;
	const uint8_t *id = bits;
	struct sbuf *key = &b->cache_key;
	sbuf_add(key, self_id.buf, self_id.len + 1);
	sbuf_addc(key, (char)n);
	sbuf_add(key, id, n);
	bool vdso = strcmp(b->path, "[vdso]") == 0;
	if (vdso) {
		/* A fresh copy every run: the kernel's build id names it. */
		if (!n) {
			free(dir);
			sbuf_release(key);
			return;
		}
	} else {
		sbuf_add(key, b->path, strlen(b->path) + 1);
		add_file_id(key, &st);
	}
	GElf_Word crc;
	const char *link = dwelf_elf_gnu_debuglink(elf, &crc);
	char *found = NULL;
	int dfd = debuginfo_open(id, n, b->file, link, &found);
	struct stat dst;
	if (dfd >= 0 && fstat(dfd, &dst) == 0) {
		sbuf_add(key, found, strlen(found) + 1);
		add_file_id(key, &dst);
	} else {
		sbuf_add(key, "", 1);
	}
	if (dfd >= 0)
		close(dfd);
	free(found);
	/* One file per binary (its build id, else its path) and cprof build,
	 * so a changed identity replaces the old file instead of adding one,
	 * and two cprof builds in use side by side do not overwrite each
	 * other's file on every run. */
	uint64_t h = n ? hash_bytes(id, n, HASH_SEED) : hash_bytes(b->path, strlen(b->path), HASH_SEED);
	h = hash_bytes(self_id.buf, self_id.len, h);
	struct sbuf path = SBUF_INIT;
	sbuf_addf(&path, "%s/%016llx", dir, (unsigned long long)h);
	b->cache_path = sbuf_detach(&path);
	free(dir);
}

static uint32_t binary_get(struct symbolizer *s, const struct sym_map *map)
{
	for (size_t i = 0; i < s->binaries.n; i++) {
		const struct binary *b = &s->binaries.v[i];
		if (strcmp(b->path, map->path) == 0 && b->build_id_size == map->build_id_size &&
		    (!map->build_id_size || memcmp(b->build_id, map->build_id, map->build_id_size) == 0))
			return (uint32_t)i;
	}
	struct binary b = { .path = xstrdup(map->path), .cache_key = SBUF_INIT };
	bool given_id = map->build_id && map->build_id_size && map->build_id_size <= 20;
	if (given_id) {
		b.build_id_size = map->build_id_size;
		memcpy(b.build_id, map->build_id, map->build_id_size);
	}
	b.file = strcmp(map->path, "[vdso]") == 0 ? vdso_file(s) : b.path;
	s->st.binaries_opened++;
	int fd = b.file ? open(b.file, O_RDONLY | O_CLOEXEC) : -1;
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	size_t n;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
				vec_push(&b.loads, ph);
		}
	}
	if (b.loads.n)
		cache_identity(&b, fd, elf);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (!b.loads.n) {
		b.opened = b.missing = true;
		s->st.binaries_missing++;
	}
	vec_push(&s->binaries, b);
	return (uint32_t)(s->binaries.n - 1);
}

/* libdwfl's address-to-unit table, from b's cache file to its index
 * (funcindex.c): libdwfl need not read .debug_aranges for it again. */
static void give_runs(struct binary *b)
{
	const struct func_cu_run *have;
	size_t n;
	uint64_t end;
	if (b->index && b->cache_buf && b->cache.nruns && !func_index_cu_runs(b->index, &have, &n, &end))
		func_index_set_cu_runs(b->index, symcache_runs(&b->cache), b->cache.nruns, b->cache.runs_end);
}

/* The libdw session of b, opened on first need. */
static void binary_open(struct symbolizer *s, struct binary *b)
{
	if (b->opened)
		return;
	b->opened = true;
	s->st.binaries_read++;
	b->dwfl = dwfl_begin(&s->callbacks);
	if (b->dwfl) {
		dwfl_report_begin(b->dwfl);
		const char *base = strrchr(b->path, '/');
		b->mod = dwfl_report_elf(b->dwfl, base ? base + 1 : b->path, b->file, -1, 0, false);
		dwfl_report_end(b->dwfl, NULL, NULL);
	}
	/* find_debuginfo reads the module's user data: the cache file's
	 * name, beside which a decompressed debug file may be kept. */
	void **ud;
	if (b->mod && dwfl_module_info(b->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
		*ud = b->cache_path;
	if (b->mod) {
		b->index = func_index_new(b->mod);
		give_runs(b);
	}
	if (!b->mod) {
		b->missing = true;
		s->st.binaries_missing++;
	}
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
	struct binary *b = &s->binaries.v[i];
	binary_open(s, b);
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
static uint32_t resolve(struct symbolizer *s, struct binary *b, uint64_t vaddr, uint64_t lookup)
{
	binary_open(s, b);
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

static uint64_t addr_hash_at(const void *ctx, uint32_t i)
{
	const struct addr_entry *e = &((const struct symbolizer *)ctx)->addrs.v[i];
	return addr_hash(e->binary, e->vaddr);
}

/* The address resolved this run as key in binary bi, or NULL. */
static const struct addr_entry *addr_find(struct symbolizer *s, uint32_t bi, uint64_t key, uint64_t h)
{
	struct hashidx *ix = &s->addr_idx;
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const struct addr_entry *e = &s->addrs.v[i];
		if (e->binary == bi && e->vaddr == key)
			return e;
	}
	return NULL;
}

/* ---- the symbol cache (symcache.c) ---- */

/* b's cache file's answer for the address looked up as key (its vaddr
 * shifted, the low bit for a return address) at lookup: its own entry, or
 * the one a kept function gives every address of it. */
static bool cache_answer(const struct binary *b, uint64_t key, uint64_t lookup, uint32_t *first, uint32_t *n)
{
	return b->cache_buf &&
	       (symcache_find(&b->cache, key, first, n) || symcache_find_within(&b->cache, lookup, first, n));
}

/* Read b's cache file, once; kept only if it is whole and its identity
 * is b's. */
static void cache_load(struct symbolizer *s, struct binary *b)
{
	b->cache_loaded = true;
	size_t len;
	bool vouched = false;
	struct stat st;
	/* Touched (its time is its last use: the folder is pruned by it) once
	 * a day, so that its stamp holds in between. */
	uint8_t *buf = b->cache_path ? sym_map_file(b->cache_path, &len, true, &vouched, &st) : NULL;
	if (!buf) {
		if (b->cache_path && errno == EINVAL)
			s->st.symcache_rejected++;
		return;
	}
	struct symcache_view v;
	if (symcache_parse(&v, buf, len, vouched) != 0 || v.key_len != b->cache_key.len ||
	    memcmp(v.key, b->cache_key.buf, v.key_len) != 0) {
		s->st.symcache_rejected++;
		munmap(buf, len);
		return;
	}
	if (!vouched) {
		s->st.symcache_checked++;
		sym_stamp_write(b->cache_path, &st);
	}
	s->st.symcache_read++;
	b->cache_buf = buf;
	b->cache_len = len;
	b->cache = v;
	give_runs(b); /* if b was opened before its file was read */
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_frames(const struct sym_frame *a, const struct sym_frame *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!same_str(a[i].func, b[i].func) || !same_str(a[i].full, b[i].full) ||
		    !same_str(a[i].file, b[i].file) || a[i].line != b[i].line || a[i].flags != b[i].flags ||
		    a[i].addr != b[i].addr)
			return false;
	return true;
}

/* The frames of one address: from b's cache file when it has them, else
 * through libdw (then kept for the file). Appended to s->frames. */
static uint32_t resolve_cached(struct symbolizer *s, struct binary *b, uint64_t key, uint64_t vaddr,
			       uint64_t lookup)
{
	if (!b->cache_path)
		return resolve(s, b, vaddr, lookup);
	if (!b->cache_loaded)
		cache_load(s, b);
	uint32_t first = (uint32_t)s->frames.n, cfirst, cn;
	if (cache_answer(b, key, lookup, &cfirst, &cn)) {
		const char *dso = sym_intern(s, b->path);
		for (uint32_t i = 0; i < cn; i++) {
			struct symcache_rec r;
			symcache_frame(&b->cache, cfirst + i, &r);
			vec_push(&s->frames, ((struct sym_frame){ .func = sym_intern(s, r.func),
								   .full = r.full ? sym_intern(s, r.full) : NULL,
								   .dso = dso, .file = sym_intern(s, r.file),
								   .line = r.line, .addr = vaddr, .flags = r.flags }));
		}
		s->st.symcache_hits++;
		if (cn == 1 && (s->frames.v[first].flags & SYMF_UNKNOWN))
			s->st.unknown++;
		if (!s->verify)
			return cn;
		/* Resolved again: the answer the cache gave must be libdw's. */
		uint64_t unknown = s->st.unknown;
		uint32_t n = resolve(s, b, vaddr, lookup);
		s->st.unknown = unknown;
		bool same = n == cn && same_frames(s->frames.v + first, s->frames.v + first + cn, n);
		if (same) {
			s->frames.n = first + cn;
			return cn;
		}
		s->st.symcache_mismatches++;
		memmove(s->frames.v + first, s->frames.v + first + cn, n * sizeof *s->frames.v);
		s->frames.n = first + n;
		vec_push(&b->fresh, ((struct fresh){ key, first, n }));
		return n;
	}
	uint32_t n = resolve(s, b, vaddr, lookup);
	s->st.symcache_misses++;
	vec_push(&b->fresh, ((struct fresh){ key, first, n }));
	return n;
}

/*
 * Kept code and addresses resolved ahead are a bet on the next recording;
 * the file is read whole on every one and written whole when anything is
 * added. So they stop where a binary's file would grow past this (a big
 * program sampled all over would otherwise fill it with functions it may
 * never sample again); addresses actually sampled are still added.
 */
#define AHEAD_MAX_BYTES ((size_t)4 << 20)
#define AHEAD_ENTRY_BYTES 64 /* an address with two frames, about */

static bool ahead_room(const struct binary *b, size_t add)
{
	size_t est = b->cache_len + b->fresh.n * AHEAD_ENTRY_BYTES;
	for (size_t i = 0; i < b->fresh_code.n; i++)
		est += b->fresh_code.v[i].len + 72 + 12 * b->fresh_code.v[i].lines.n + 24 * b->fresh_code.v[i].inlines.n;
	return est + add <= AHEAD_MAX_BYTES;
}

bool symbolizer_cached_code(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr, uint32_t max_len,
			    struct sym_code *c)
{
	uint32_t bi = binary_get(s, map); /* may grow s->binaries */
	struct binary *b = &s->binaries.v[bi];
	if (!b->cache_path)
		return false;
	if (!b->cache_loaded)
		cache_load(s, b);
	uint32_t i;
	if (!b->cache_buf || !symcache_find_code(&b->cache, vaddr, &i))
		return false;
	symcache_code(&b->cache, i, c);
	if (c->len > max_len) { /* too big for this caller: it gets libdw's error */
		sym_code_release(c);
		return false;
	}
	s->st.symcache_code_hits++;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Where what an address of c resolves to may change: its start, the rows
 * of its unit's line table inside it (a sequence's end too: past it libdw
 * finds no line) and the ends of its inline ranges. Sorted, each once;
 * how many, in *ret (the caller frees). */
static size_t code_bounds(struct binary *b, const struct sym_code *c, uint64_t **ret)
{
	VEC(uint64_t) at = { 0 };
	uint64_t end = c->start + c->len;
	vec_push(&at, c->start);
	Dwarf_Addr bias = 0;
	Dwarf_Die storage;
	Dwarf_Die *cu = b->index ? func_index_cu(b->index, c->start, &bias, &storage) : NULL;
	Dwarf_Lines *lines;
	size_t n;
	if (cu && dwarf_getsrclines(cu, &lines, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			Dwarf_Line *l = dwarf_onesrcline(lines, i);
			Dwarf_Addr a;
			if (l && dwarf_lineaddr(l, &a) == 0 && a + bias > c->start && a + bias < end)
				vec_push(&at, a + bias);
		}
	for (size_t i = 0; i < c->inlines.n; i++) {
		vec_push(&at, c->start + c->inlines.v[i].lo);
		if (c->inlines.v[i].hi < c->len)
			vec_push(&at, c->start + c->inlines.v[i].hi);
	}
	qsort(at.v, at.n, sizeof *at.v, cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < at.n; i++)
		if (!k || at.v[i] != at.v[k - 1])
			at.v[k++] = at.v[i];
	*ret = at.v;
	return k;
}

void symbolizer_keep_code(struct symbolizer *s, const struct sym_map *map, const struct sym_code *c,
			  const struct sym_code_target *targets, size_t n)
{
	uint32_t bi = binary_get(s, map); /* may grow s->binaries */
	struct binary *b = &s->binaries.v[bi];
	if (!b->cache_path || !c->len)
		return;
	for (size_t i = 0; i < b->fresh_code.n; i++)
		if (b->fresh_code.v[i].start == c->start)
			return; /* kept already this run: the first stays */
	if (!b->cache_loaded)
		cache_load(s, b);
	/* From the file (kept without its targets, now given): its
	 * addresses are there already. */
	uint64_t *bounds = NULL;
	size_t nb = 0;
	if (!c->from_cache) {
		binary_open(s, b);
		if (!b->mod)
			return;
		nb = code_bounds(b, c, &bounds);
	}
	if (!ahead_room(b, c->len + 72 + 12 * c->lines.n + 24 * c->inlines.n + nb * AHEAD_ENTRY_BYTES)) {
		free(bounds);
		return;
	}
	/* c's strings are the symbolizer's (interned, or in a cache file it
	 * holds) until it is freed, after the cache is saved. */
	struct sym_code k = *c;
	k.bytes = xmalloc(c->len);
	memcpy(k.bytes, c->bytes, c->len);
	memset(&k.lines, 0, sizeof k.lines);
	memset(&k.inlines, 0, sizeof k.inlines);
	memset(&k.targets, 0, sizeof k.targets);
	for (size_t i = 0; i < c->lines.n; i++)
		vec_push(&k.lines, c->lines.v[i]);
	for (size_t i = 0; i < c->inlines.n; i++)
		vec_push(&k.inlines, c->inlines.v[i]);
	for (size_t i = 0; i < n; i++) /* the caller's names may not live as long */
		vec_push(&k.targets, ((struct sym_code_target){ targets[i].addr, sym_intern(s, targets[i].name) }));
	k.has_targets = targets != NULL;

	/* Each stretch between bounds resolved once, for the file, as a
	 * sample there would be. Its last byte is resolved too: if that
	 * answer differs, something the bounds do not list (a symbol inside
	 * the function, a unit's edge) changes it, and the file is not to
	 * answer for the addresses between its entries. */
	uint64_t unknown = s->st.unknown;
	k.addrs_cached = c->from_cache ? c->addrs_cached : true;
	for (size_t i = 0; i < nb; i++) {
		uint64_t vaddr = bounds[i], last = (i + 1 < nb ? bounds[i + 1] : c->start + c->len) - 1;
		uint64_t key = vaddr << 1, h = addr_hash(bi, key);
		uint32_t first = (uint32_t)s->frames.n, fn = resolve(s, b, vaddr, vaddr);
		if (last > vaddr && k.addrs_cached) {
			uint32_t n2 = resolve(s, b, vaddr, last);
			k.addrs_cached = n2 == fn && same_frames(s->frames.v + first, s->frames.v + first + fn, fn);
		}
		s->frames.n = first + fn;
		uint32_t cfirst, cn;
		if (cache_answer(b, key, vaddr, &cfirst, &cn) || addr_find(s, bi, key, h)) {
			s->frames.n = first;
			continue;
		}
		hashidx_reserve(&s->addr_idx, addr_hash_at, s);
		vec_push(&b->fresh, ((struct fresh){ key, first, fn }));
		vec_push(&s->addrs, ((struct addr_entry){ .binary = bi, .vaddr = key, .first = first, .n = fn }));
		hashidx_put(&s->addr_idx, h, (uint32_t)s->addrs.n - 1);
		s->st.symcache_prefilled++;
	}
	s->st.unknown = unknown; /* not this recording's addresses */
	free(bounds);
	vec_push(&b->fresh_code, k);
	s->st.symcache_code_kept++;
}

static int cmp_code(const void *a, const void *b)
{
	const struct sym_code *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_fresh(const void *a, const void *b)
{
	const struct fresh *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Where the kept functions of a file being written lie, by start. */
struct span {
	uint64_t start;
	uint32_t len;
	bool all; /* addrs_cached */
};
struct kept {
	struct span *v;
	size_t n, cap;
};

/* Does addr lie in a kept function whose every address the file answers,
 * found as the reader finds it (the last one starting at or before addr)?
 * Then true and its start in *start. */
static bool within_all(const struct kept *k, uint64_t addr, uint64_t *start)
{
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	const struct span *sp = &k->v[lo - 1];
	*start = sp->start;
	return sp->all && addr - sp->start < sp->len;
}

static bool same_recs(const struct symcache_rec *a, const struct symcache_rec *b, uint32_t na, uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (!same_str(a[i].func, b[i].func) || !same_str(a[i].full, b[i].full) ||
		    !same_str(a[i].file, b[i].file) || a[i].line != b[i].line || a[i].flags != b[i].flags)
			return false;
	return true;
}

/* The cache file of b with what this run added, written whole. What is in
 * the file now is read again first: the other symbolizer of a finishing
 * pass (or another cprof) may have added to it since it was loaded. */
static void cache_save(struct symbolizer *s, struct binary *b)
{
	if (!b->cache_path || (!b->fresh.n && !b->fresh_code.n))
		return;
	size_t len = 0;
	bool vouched = false;
	uint8_t *disk = sym_map_file(b->cache_path, &len, false, &vouched, NULL);
	struct symcache_view old = { 0 };
	bool have_old = disk && symcache_parse(&old, disk, len, vouched) == 0 && old.key_len == b->cache_key.len &&
			memcmp(old.key, b->cache_key.buf, old.key_len) == 0;
	bool existed = disk != NULL;
	struct symcache_writer w = { 0 };
	if (have_old)
		symcache_writer_reserve(&w, &old, 4096);
	int r = 0;
	/* Kept functions, merged by start; where they lie, for the entries. */
	struct kept spans = { 0 };
	if (b->fresh_code.n)
		qsort(b->fresh_code.v, b->fresh_code.n, sizeof *b->fresh_code.v, cmp_code);
	uint32_t ci = 0, cn = have_old ? old.ncode : 0;
	size_t fci = 0;
	while (r == 0 && (ci < cn || fci < b->fresh_code.n)) {
		struct sym_code oc = { 0 };
		bool have = ci < cn;
		if (have)
			symcache_code(&old, ci, &oc);
		if (fci < b->fresh_code.n && (!have || b->fresh_code.v[fci].start <= oc.start)) {
			const struct sym_code *f = &b->fresh_code.v[fci++];
			if (have && f->start == oc.start) {
				ci++; /* this run's replaces the file's, */
				if (!f->has_targets && oc.has_targets) {
					/* unless only the file's lists its targets
					 * (this run's entries are written all the same) */
					oc.addrs_cached |= f->addrs_cached;
					f = &oc;
				}
			}
			/* Kept by both halves of a split: the later one is written.
			 * One the file cannot hold (the writer checks what the
			 * reader will) is left out, not the whole file. */
			if (fci == b->fresh_code.n || b->fresh_code.v[fci].start != f->start) {
				if (symcache_writer_add_code(&w, f) == 0)
					vec_push(&spans, ((struct span){ f->start, f->len, f->addrs_cached }));
				else
					s->st.symcache_code_kept--;
			}
		} else {
			r = symcache_writer_add_code(&w, &oc);
			vec_push(&spans, ((struct span){ oc.start, oc.len, oc.addrs_cached }));
			ci++;
		}
		sym_code_release(&oc);
	}
	/* Entries, merged by key. In a kept function the file answers for
	 * whole, an entry with the frames of the last sampled-address entry
	 * before it is left out: the reader finds those there
	 * (symcache_find_within()), so a function costs an entry per stretch
	 * of code with the same line and inline chain. */
	if (b->fresh.n) /* none when only a kept function's targets are new */
		qsort(b->fresh.v, b->fresh.n, sizeof *b->fresh.v, cmp_fresh);
	struct symcache_rec recs[256], last[256];
	uint32_t nlast = 0;
	uint64_t last_key = 0;
	uint32_t oi = 0, on = have_old ? old.nentries : 0;
	size_t fi = 0;
	while (r == 0 && (oi < on || fi < b->fresh.n)) {
		uint32_t first, n;
		uint64_t okey = oi < on ? symcache_entry(&old, oi, &first, &n) : UINT64_MAX, key;
		if (fi < b->fresh.n && (oi >= on || b->fresh.v[fi].key <= okey)) {
			const struct fresh *f = &b->fresh.v[fi++];
			if (oi < on && f->key == okey)
				oi++; /* this run's answer replaces the file's */
			if (fi < b->fresh.n && b->fresh.v[fi].key == f->key)
				continue; /* resolved in both halves of a split: keep one */
			n = f->n < 256 ? f->n : 256;
			for (uint32_t i = 0; i < n; i++) {
				const struct sym_frame *sf = &s->frames.v[f->first + i];
				recs[i] = (struct symcache_rec){ sf->func, sf->full, sf->file, sf->line, sf->flags };
			}
			key = f->key;
		} else {
			for (uint32_t i = 0; i < n; i++)
				symcache_frame(&old, first + i, &recs[i]);
			key = okey;
			oi++;
		}
		uint64_t lo;
		if (nlast && within_all(&spans, key >> 1, &lo) && last_key >> 1 >= lo && same_recs(recs, last, n, nlast))
			continue;
		r = symcache_writer_add(&w, key, recs, n);
		if (!(key & 1)) {
			memcpy(last, recs, n * sizeof *recs);
			nlast = n;
			last_key = key;
		}
	}
	vec_release(&spans);
	/* The address-to-unit table: this run's, or the file's. */
	const struct func_cu_run *runs;
	size_t nruns;
	uint64_t end;
	if (b->index && func_index_cu_runs(b->index, &runs, &nruns, &end)) {
		symcache_writer_set_runs(&w, runs, nruns, end);
	} else if (have_old && old.nruns) {
		struct func_cu_run *o = symcache_runs(&old);
		symcache_writer_set_runs(&w, o, old.nruns, old.runs_end);
		free(o);
	}
	struct symcache_pieces out;
	if (r == 0 && symcache_writer_pieces(&w, b->cache_key.buf, b->cache_key.len, &out) == 0 &&
	    sym_cache_write_pieces(b->cache_path, out.iov, out.n) == 0) { /* a stamp may vouch for it later */
		s->st.symcache_written++;
		if (!existed) {
			/* A new file: keep the folder from growing without end. */
			char *dir = xstrdup(b->cache_path);
			*strrchr(dir, '/') = 0;
			symcache_prune(dir, SYMCACHE_MAX_FILES, SYMCACHE_MAX_BYTES);
			free(dir);
		}
	}
	symcache_writer_release(&w);
	if (disk)
		munmap(disk, len);
	b->fresh.n = 0;
	for (size_t i = 0; i < b->fresh_code.n; i++)
		sym_code_release(&b->fresh_code.v[i]);
	b->fresh_code.n = 0;
}

void symbolizer_save_cache(struct symbolizer *s)
{
	for (size_t i = 0; i < s->binaries.n; i++)
		cache_save(s, &s->binaries.v[i]);
	kallsyms_save(&s->ksyms);
}

bool symbolizer_resolved_anew(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr)
{
	uint32_t bi = binary_get(s, map);
	/* looked up as a sampled instruction, or as a return address */
	uint64_t key = vaddr << 1, rkey = (vaddr - 1) << 1 | 1;
	const struct addr_entry *e = addr_find(s, bi, key, addr_hash(bi, key));
	if (!(e && e->anew) && vaddr)
		e = addr_find(s, bi, rkey, addr_hash(bi, rkey));
	return e && e->anew;
}

/* Where ip of map is looked up in b (*lookup: a return address points
 * after the call, so the call itself), and its key in the caches: the
 * address shifted, the low bit set for a return address. */
static uint64_t addr_key(const struct binary *b, const struct sym_map *map, uint64_t ip, bool is_return,
			 uint64_t *vaddr, uint64_t *lookup)
{
	(void)to_vaddr(b, map, ip, vaddr);
	*lookup = is_return && *vaddr ? *vaddr - 1 : *vaddr;
	return *lookup << 1 | (is_return ? 1 : 0);
}

bool symbolizer_cache_answers(struct symbolizer *s, const struct sym_map *map, uint64_t ip, bool is_return)
{
	uint32_t bi = binary_get(s, map); /* may grow s->binaries */
	struct binary *b = &s->binaries.v[bi];
	if (!b->cache_path || s->verify)
		return false;
	if (!b->cache_loaded)
		cache_load(s, b);
	uint64_t vaddr, lookup;
	uint64_t key = addr_key(b, map, ip, is_return, &vaddr, &lookup);
	uint32_t first, n;
	return cache_answer(b, key, lookup, &first, &n);
}

int symbolizer_user(struct symbolizer *s, const struct sym_map *map, uint64_t ip, bool is_return,
		    struct sym_frame *out, int max)
{
	if (max < 1)
		return 0;
	s->st.lookups++;
	uint32_t bi = binary_get(s, map);
	struct binary *b = &s->binaries.v[bi];
	uint64_t vaddr, lookup;
	uint64_t key = addr_key(b, map, ip, is_return, &vaddr, &lookup);
	struct hashidx *ix = &s->addr_idx;
	uint64_t h = addr_hash(bi, key);
	const struct addr_entry *hit = addr_find(s, bi, key, h);
	if (hit)
		s->st.cache_hits++;
	if (!hit) {
		hashidx_reserve(ix, addr_hash_at, s);
		struct addr_entry e = { .binary = bi, .vaddr = key, .first = (uint32_t)s->frames.n };
		size_t fresh = b->fresh.n;
		e.n = resolve_cached(s, b, key, vaddr, lookup);
		e.anew = b->fresh.n > fresh;
		vec_push(&s->addrs, e);
		hashidx_put(ix, h, (uint32_t)s->addrs.n - 1);
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
