/*
 * code.c - what `cprof annotate` needs of one function, read from its
 * binary through the symbolizer's cached libdw session: the code bytes, the
 * line table rows and the inline instances that cover it, and the names of
 * the addresses it calls (functions, and PLT entries as "name@plt", which
 * have no symbols of their own).
 *
 * Line rows are looked up with func_index_line(), as the symbolizer does
 * for samples, so an instruction's line in annotate is the line its
 * frames carry in report (also in binaries without .debug_aranges).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>

#include "cprof/symbol.h"
#include "symbol-internal.h"

void sym_code_release(struct sym_code *c)
{
	free(c->bytes);
	vec_release(&c->lines);
	vec_release(&c->inlines);
	vec_release(&c->targets);
	memset(c, 0, sizeof *c);
}

/* The bytes of [start, start + len) from the section of elf that holds them. */
static int read_bytes(Elf *elf, uint64_t start, uint32_t len, uint8_t *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (start < sh.sh_addr || start - sh.sh_addr >= sh.sh_size || len > sh.sh_size - (start - sh.sh_addr))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		uint64_t off = start - sh.sh_addr;
		if (!data || !data->d_buf || off > data->d_size || len > data->d_size - off)
			return -EIO;
		memcpy(out, (const uint8_t *)data->d_buf + off, len);
		return 0;
	}
	return -ENOENT;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Line rows: every address where the line table starts a row inside the
 * function, resolved as the symbolizer resolves samples; runs of rows on
 * the same line are merged. */
static void add_lines(struct symbolizer *s, struct func_index *index, struct sym_code *c)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die storage;
	Dwarf_Die *cu = func_index_cu(index, c->start, &bias, &storage);
	Dwarf_Lines *lines;
	size_t n;
	VEC(uint64_t) addrs = { 0 };
	vec_push(&addrs, c->start); /* a row may begin before the function and cover its start */
	if (cu && dwarf_getsrclines(cu, &lines, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			Dwarf_Line *l = dwarf_onesrcline(lines, i);
			Dwarf_Addr a;
			bool end = false;
			if (!l || dwarf_lineaddr(l, &a) != 0 || dwarf_lineendsequence(l, &end) != 0 || end)
				continue;
			a += bias;
			if (a > c->start && a - c->start < c->len)
				vec_push(&addrs, a);
		}
	}
	qsort(addrs.v, addrs.n, sizeof *addrs.v, cmp_u64);
	for (size_t i = 0; i < addrs.n; i++) {
		if (i && addrs.v[i] == addrs.v[i - 1])
			continue;
		Dwarf_Line *l = func_index_line(index, addrs.v[i]);
		int ln = 0;
		const char *f = l && dwarf_lineno(l, &ln) == 0 ? dwarf_linesrc(l, NULL, NULL) : NULL;
		struct sym_code_line row = { (uint32_t)(addrs.v[i] - c->start), f ? sym_intern(s, f) : "",
					     ln > 0 ? (uint32_t)ln : 0 };
		if (c->lines.n) {
			const struct sym_code_line *last = &c->lines.v[c->lines.n - 1];
			if (last->line == row.line && strcmp(last->file, row.file) == 0)
				continue;
		}
		vec_push(&c->lines, row);
	}
	vec_release(&addrs);
}

struct inline_ctx {
	struct symbolizer *s;
	struct sym_code *c;
	Dwarf_Addr bias;
	Dwarf_Files *files;
	size_t nfiles;
};

static void add_inline(void *arg, Dwarf_Die *die, uint64_t lo, uint64_t hi, uint32_t depth)
{
	struct inline_ctx *x = arg;
	struct sym_code *c = x->c;
	uint64_t end = c->start + c->len;
	lo += x->bias;
	hi += x->bias;
	/* Clamp to the symbol: a function split into hot and cold parts has
	 * inline ranges in the other part too. */
	if (lo < c->start)
		lo = c->start;
	if (hi > end)
		hi = end;
	if (lo >= hi)
		return;
	const char *name = sym_die_name(x->s, die);
	struct sym_code_inline in = { (uint32_t)(lo - c->start), (uint32_t)(hi - c->start),
				      name ? name : "[unknown]", "", 0, depth };
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (dwarf_attr(die, DW_AT_call_file, &a) && dwarf_formudata(&a, &w) == 0 && x->files && w < x->nfiles) {
		const char *fn = dwarf_filesrc(x->files, w, NULL, NULL);
		in.file = fn ? sym_intern(x->s, fn) : "";
	}
	if (dwarf_attr(die, DW_AT_call_line, &a) && dwarf_formudata(&a, &w) == 0)
		in.line = (uint32_t)w;
	vec_push(&c->inlines, in);
}

static int cmp_inline(const void *a, const void *b)
{
	const struct sym_code_inline *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static void add_inlines(struct symbolizer *s, struct func_index *index, struct sym_code *c)
{
	struct inline_ctx x = { .s = s, .c = c };
	Dwarf_Die storage;
	Dwarf_Die *cu = func_index_cu(index, c->start, &x.bias, &storage);
	if (!cu)
		return;
	if (dwarf_getsrcfiles(cu, &x.files, &x.nfiles) != 0)
		x.files = NULL;
	func_index_inlines(index, cu, c->start - x.bias, add_inline, &x);
	if (c->inlines.n)
		qsort(c->inlines.v, c->inlines.n, sizeof *c->inlines.v, cmp_inline);
}

int symbolizer_code(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr, uint32_t max_len,
		    struct sym_code *ret, struct cprof_err *err)
{
	memset(ret, 0, sizeof *ret);
	if (symbolizer_cached_code(s, map, vaddr, max_len, ret))
		return 0;
	struct sym_binary b = symbolizer_binary(s, map);
	if (!b.mod)
		return err_set(err, ENOENT, "'%s': cannot read the binary", map->path);
	uint64_t start, size;
	const char *raw = func_index_symbol_range(b.index, vaddr, &start, &size);
	if (!raw)
		return err_set(err, ENOENT, "'%s': no function symbol at 0x%" PRIx64, map->path, vaddr);
	if (size == 0 || size > max_len)
		return err_set(err, EFBIG, "'%s': function at 0x%" PRIx64 " is %" PRIu64 " bytes, more than %u",
			       map->path, start, size, max_len);
	Dwarf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(b.mod, &bias);
	GElf_Ehdr eh;
	if (!elf || !gelf_getehdr(elf, &eh))
		return err_set(err, EIO, "'%s': cannot read its ELF header: %s", map->path, elf_errmsg(-1));
	ret->func = sym_display_name(s, raw);
	ret->start = start;
	ret->len = (uint32_t)size;
	ret->machine = eh.e_machine;
	ret->bytes = xmalloc(size);
	int r = read_bytes(elf, start - bias, ret->len, ret->bytes);
	if (r < 0) {
		sym_code_release(ret);
		return err_set(err, -r, "'%s': no code bytes at 0x%" PRIx64 " (%s)", map->path, start,
			       r == -ENOENT ? "not in any loaded section" : "section unreadable");
	}
	const unsigned char *bits;
	GElf_Addr bid_vaddr;
	int nb = dwfl_module_build_id(b.mod, &bits, &bid_vaddr);
	if (nb > 0 && nb <= 20) {
		ret->build_id_size = (uint8_t)nb;
		memcpy(ret->build_id, bits, (size_t)nb);
	}
	ret->comp_dir = "";
	Dwarf_Addr cubias;
	Dwarf_Die cu_storage;
	Dwarf_Die *cu = func_index_cu(b.index, start, &cubias, &cu_storage);
	Dwarf_Attribute a;
	const char *dir = cu && dwarf_attr(cu, DW_AT_comp_dir, &a) ? dwarf_formstring(&a) : NULL;
	if (dir)
		ret->comp_dir = sym_intern(s, dir);
	add_lines(s, b.index, ret);
	add_inlines(s, b.index, ret);
	return 0;
}

/*
 * PLT entries have no symbols. On x86-64 each one jumps through a GOT slot
 * (jmp *disp32(%rip), ff 25, possibly after endbr64 and a bnd prefix), and
 * the dynamic relocation of that slot names the function.
 */
struct plt_entry {
	uint64_t addr;
	const char *name;
};

static const char *reloc_name(Elf *elf, uint64_t slot)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
		GElf_Shdr symsh;
		Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
		if (!data || !syms || !gelf_getshdr(symscn, &symsh))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela rela;
			GElf_Sym sym;
			if (!gelf_getrela(data, (int)i, &rela) || rela.r_offset != slot)
				continue;
			if (!gelf_getsym(syms, (int)GELF_R_SYM(rela.r_info), &sym))
				return NULL;
			return elf_strptr(elf, symsh.sh_link, sym.st_name);
		}
	}
	return NULL;
}

static const char *plt_name(struct symbolizer *s, Dwfl_Module *mod, uint64_t vaddr)
{
	Dwarf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;
	size_t shstrndx;
	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	uint64_t a = vaddr - bias;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || a < sh.sh_addr || a - sh.sh_addr >= sh.sh_size)
			continue;
		const char *sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strncmp(sname, ".plt", 4) != 0)
			return NULL;
		Elf_Data *data = elf_getdata(scn, NULL);
		uint64_t ent = sh.sh_entsize ? sh.sh_entsize : 16;
		uint64_t first = (a - sh.sh_addr) / ent * ent;
		if (!data || !data->d_buf || first + ent > data->d_size)
			return NULL;
		const uint8_t *p = (const uint8_t *)data->d_buf + first;
		for (uint64_t i = 0; i + 6 <= ent; i++) {
			if (p[i] != 0xff || p[i + 1] != 0x25)
				continue;
			int32_t disp = (int32_t)get_le32(p + i + 2);
			uint64_t slot = sh.sh_addr + first + i + 6 + (uint64_t)(int64_t)disp;
			const char *n = reloc_name(elf, slot);
			if (!n || !*n)
				return NULL;
			char *plain = xstrdup(n);
			char *at = strchr(plain, '@');
			if (at)
				*at = 0;
			struct sbuf sb = SBUF_INIT;
			sbuf_addf(&sb, "%s@plt", plain);
			const char *r = sym_intern(s, sb.buf);
			sbuf_release(&sb);
			free(plain);
			return r;
		}
		return NULL;
	}
	return NULL;
}

size_t symbolizer_functions(struct symbolizer *s, const struct sym_map *map, struct sym_func **ret)
{
	struct sym_binary b = symbolizer_binary(s, map);
	*ret = NULL;
	return b.mod ? func_index_functions(b.index, ret) : 0;
}

const char *symbolizer_name_at(struct symbolizer *s, const struct sym_map *map, uint64_t vaddr)
{
	struct sym_binary b = symbolizer_binary(s, map);
	if (!b.mod)
		return NULL;
	uint64_t start, size;
	const char *raw = func_index_symbol_range(b.index, vaddr, &start, &size);
	if (!raw)
		return plt_name(s, b.mod, vaddr);
	const char *name = sym_display_name(s, raw);
	if (vaddr == start)
		return name;
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "%s+0x%" PRIx64, name, vaddr - start);
	const char *r = sym_intern(s, sb.buf);
	sbuf_release(&sb);
	return r;
}

int sym_file_build_id(const char *path, uint8_t id[20], struct cprof_err *err)
{
	(void)elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open '%s': %s", path, strerror(errno));
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return err_set(err, ENOEXEC, "'%s' is not an ELF file", path);
	}
	const void *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
	int r = 0;
	if (n > 0 && n <= 20) {
		memcpy(id, bits, (size_t)n);
		r = (int)n;
	}
	elf_end(elf);
	close(fd);
	return r;
}
