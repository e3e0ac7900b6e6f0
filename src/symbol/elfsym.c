/*
 * elfsym.c - from a function's name to its file offset, for probes placed
 * by file offset (the uprobe PMU): the symbol's address mapped through the
 * loadable segment that holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#include "cprof/symbol.h"

/* The name without its "@VERSION" or "@@VERSION" suffix equals want. */
static bool same_name(const char *sym, const char *want)
{
	size_t n = strlen(want);
	return strncmp(sym, want, n) == 0 && (sym[n] == '\0' || sym[n] == '@');
}

/* Look in the symbol table of scn: 1 found (*vaddr, *ifunc), 0 not. */
static int find_in(Elf *elf, Elf_Scn *scn, const char *name, uint64_t *vaddr, bool *ifunc)
{
	GElf_Shdr sh;
	Elf_Data *data;
	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return 0;
	size_t n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!s || !same_name(s, name))
			continue;
		*vaddr = sym.st_value;
		*ifunc = type == STT_GNU_IFUNC;
		return 1;
	}
	return 0;
}

static int lookup(Elf *elf, const char *path, const char *name, uint64_t *ret_off, struct cprof_err *err)
{
	GElf_Ehdr eh;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return err_set(err, ENOEXEC, "'%s' is not an ELF file", path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return err_set(err, ENOEXEC, "'%s' is not an x86-64 ELF file", path);
	uint64_t vaddr = 0;
	bool ifunc = false;
	int found = 0;
	for (int pass = 0; pass < 2 && !found; pass++) {
		Elf_Scn *scn = NULL;
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) && sh.sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB))
				found = find_in(elf, scn, name, &vaddr, &ifunc);
		}
	}
	if (!found)
		return err_set(err, ENOENT, "no function '%s' in '%s'", name, path);
	if (ifunc)
		return err_set(err, EINVAL, "'%s' in '%s' is an IFUNC, chosen at load time: probe the implementation "
					    "it picks instead", name, path);
	size_t nph;
	if (elf_getphdrnum(elf, &nph) < 0)
		return err_set(err, EIO, "'%s': cannot read its program headers: %s", path, elf_errmsg(-1));
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*ret_off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return err_set(err, ENOEXEC, "'%s' in '%s' is in no executable segment", name, path);
}

int elf_symbol_offset(const char *path, const char *name, uint64_t *ret_off, struct cprof_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open '%s': %s", path, strerror(errno));
	(void)elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int r = elf ? lookup(elf, path, name, ret_off, err)
		    : err_set(err, ENOEXEC, "'%s' is not an ELF file: %s", path, elf_errmsg(-1));
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}
