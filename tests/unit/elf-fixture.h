/*
 * elf-fixture.h - where a function of a real binary (a workload built by
 * meson) lies, for tests that build fake mappings of it.
 */
#ifndef CPROF_TEST_ELF_FIXTURE_H
#define CPROF_TEST_ELF_FIXTURE_H

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "harness.h"

/* vaddr of symbol name in path, from its symtab, and the file offset of
 * the executable PT_LOAD so a fake mapping can be built. */
static uint64_t sym_vaddr(const char *path, const char *name, uint64_t *exec_off, uint64_t *exec_vaddr)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	ASSERT(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	ASSERT(elf);
	uint64_t found = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			gelf_getsym(data, (int)i, &sym);
			const char *n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && strcmp(n, name) == 0)
				found = sym.st_value;
		}
	}
	size_t np;
	elf_getphdrnum(elf, &np);
	for (size_t i = 0; i < np; i++) {
		GElf_Phdr ph;
		gelf_getphdr(elf, (int)i, &ph);
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*exec_off = ph.p_offset;
			*exec_vaddr = ph.p_vaddr;
		}
	}
	elf_end(elf);
	close(fd);
	ASSERT(found);
	return found;
}

#endif
