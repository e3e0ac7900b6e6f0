/*
 * vdso.c - the vDSO as something libelf and libdwfl can open.
 *
 * The vDSO has no file on disk, but the kernel maps the same image into
 * every process, so this process's copy stands in for the workload's. It
 * goes into a memfd rather than a temporary file: nothing is left behind in
 * /tmp when cprof is killed, and /proc/self/fd/N is a path for APIs that
 * want one.
 */
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cprof/symbol.h"

int vdso_memfd(void)
{
	const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return -1;
	/* The image ends with its last loaded byte or its section headers,
	 * whichever is later (the headers are what libelf reads symbols by). */
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	size_t size = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > size)
			size = ph[i].p_offset + ph[i].p_filesz;
	if (eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize > size)
		size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	int fd = memfd_create("cprof-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, base, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return fd;
}
