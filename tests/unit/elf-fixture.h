/*
 * elf-fixture.h - where a function of a real binary (a workload built by
 * meson, or the C library) lies, for tests that build fake mappings of it
 * or read its code: one walk over the symbol tables, one over the program
 * headers, and the lookups the tests share built on them (inline: each
 * test uses some of them).
 */
#ifndef CPROF_TEST_ELF_FIXTURE_H
#define CPROF_TEST_ELF_FIXTURE_H

#include <fcntl.h>
#include <stdbool.h>
#include <gelf.h>
#include <unistd.h>

#include "harness.h"

/* An ELF file opened for reading; elf_fixture_close ends it. */
struct elf_fixture {
	int fd;
	Elf *elf;
};

static inline void elf_fixture_open(struct elf_fixture *f, const char *path)
{
	elf_version(EV_CURRENT);
	f->fd = open(path, O_RDONLY);
	if (f->fd < 0)
		FAIL_("cannot open '%s'", path);
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf)
		FAIL_("'%s': %s", path, elf_errmsg(-1));
}

static inline void elf_fixture_close(struct elf_fixture *f)
{
	elf_end(f->elf);
	close(f->fd);
}

/* Call fn for every symbol of the SHT_SYMTAB sections (and SHT_DYNSYM
 * ones with dynsym) of f, with its name (never NULL); fn returns true to
 * stop the walk. */
typedef bool (*elf_fixture_sym_fn)(struct elf_fixture *f, const GElf_Sym *sym, const char *name, void *arg);
static inline void elf_fixture_syms(struct elf_fixture *f, bool dynsym, elf_fixture_sym_fn fn, void *arg)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
		    (sh.sh_type != SHT_SYMTAB && !(dynsym && sh.sh_type == SHT_DYNSYM)))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		ASSERT(data);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n = gelf_getsym(data, (int)i, &sym) ? elf_strptr(f->elf, sh.sh_link, sym.st_name) : NULL;
			if (n && fn(f, &sym, n, arg))
				return;
		}
	}
}

/* File offset and address of the executable PT_LOAD of f (0 if none). */
static inline void elf_fixture_exec_segment(struct elf_fixture *f, uint64_t *exec_off, uint64_t *exec_vaddr)
{
	size_t np;
	ASSERT(elf_getphdrnum(f->elf, &np) == 0);
	*exec_off = *exec_vaddr = 0;
	for (size_t i = 0; i < np; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*exec_off = ph.p_offset;
			*exec_vaddr = ph.p_vaddr;
		}
	}
}

/* One symbol of a binary, where a test needs it. */
struct elf_fixture_sym {
	uint64_t vaddr, size;
	uint64_t file_off;             /* of its first byte, through its section */
	uint64_t exec_off, exec_vaddr; /* the executable PT_LOAD */
};

struct elf_fixture_find_arg {
	const char *name;
	struct elf_fixture_sym *out;
};

static inline bool elf_fixture_match(struct elf_fixture *f, const GElf_Sym *sym, const char *name, void *arg)
{
	struct elf_fixture_find_arg *a = arg;
	GElf_Shdr text;
	if (strcmp(name, a->name) != 0)
		return false;
	/* The last of equal names wins, as the symbol tables list them. */
	a->out->vaddr = sym->st_value;
	a->out->size = sym->st_size;
	a->out->file_off = gelf_getshdr(elf_getscn(f->elf, sym->st_shndx), &text)
				   ? sym->st_value - text.sh_addr + text.sh_offset
				   : 0;
	return false;
}

/* Symbol name of path (from its symtab) and its executable PT_LOAD;
 * fails the test if there is no such symbol. */
static inline void elf_fixture_find(const char *path, const char *name, struct elf_fixture_sym *out)
{
	struct elf_fixture f;
	elf_fixture_open(&f, path);
	memset(out, 0, sizeof *out);
	elf_fixture_syms(&f, false, elf_fixture_match, &(struct elf_fixture_find_arg){ name, out });
	elf_fixture_exec_segment(&f, &out->exec_off, &out->exec_vaddr);
	elf_fixture_close(&f);
	if (!out->vaddr)
		FAIL_("no symbol '%s' in %s", name, path);
}

/* vaddr of symbol name in path, and the file offset and address of the
 * executable PT_LOAD, so a fake mapping can be built. */
static inline uint64_t sym_vaddr(const char *path, const char *name, uint64_t *exec_off, uint64_t *exec_vaddr)
{
	struct elf_fixture_sym s;
	elf_fixture_find(path, name, &s);
	*exec_off = s.exec_off;
	*exec_vaddr = s.exec_vaddr;
	return s.vaddr;
}

#endif
