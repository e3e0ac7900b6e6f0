/*
 * debuginfo.c - find a module's separate debug file on this machine only.
 *
 * libdwfl's dwfl_standard_find_debuginfo ends, when nothing local matches,
 * in its debuginfod client, and elfutils 0.188 dlopens libdebuginfod and
 * its dependencies (libcurl and ~30 more libraries) for that even when no
 * server is configured: ~15 ms of every finishing pass, for nothing, since
 * a profiler run never asks servers. This is the local part of the same
 * search: the build-id path first, then .gnu_debuglink beside the file, in
 * its .debug/ folder, and under /usr/lib/debug.
 *
 * The unwinder asks libdwfl for a module's .debug_frame when .eh_frame
 * does not cover a pc (the outermost frame of every stack does not), and
 * libdwfl then opens the module's whole DWARF: a Debian debug file is
 * zlib-compressed and inflated whole (libc6-dbg: ~30 ms), only to find
 * that it has no .debug_frame (Debian's never do). debuginfo_find_cfi
 * offers a debug file only when it has one, so the answer is the same.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>

#include "cprof/debuginfo.h"

#define DEBUG_ROOT "/usr/lib/debug"

/* Does the ELF file open on fd carry build id bits[0..n)? */
static bool build_id_matches(int fd, const unsigned char *bits, int n)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return false;
	const void *id;
	ssize_t got = dwelf_elf_gnu_build_id(elf, &id);
	bool same = got == n && memcmp(id, bits, (size_t)n) == 0;
	elf_end(elf);
	return same;
}

static int open_candidate(const char *path, const unsigned char *bits, int nbits, char **found)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Without a build id to compare there is nothing to check against;
	 * every Debian binary has one. */
	if (nbits > 0 && !build_id_matches(fd, bits, nbits)) {
		close(fd);
		return -1;
	}
	*found = strdup(path);
	if (!*found) {
		close(fd);
		return -1;
	}
	return fd;
}

int debuginfo_open(const unsigned char *bits, int nbits, const char *file_name, const char *debuglink_file,
		   char **found)
{
	char path[PATH_MAX];
	*found = NULL;
	if (nbits > 1) {
		int len = snprintf(path, sizeof path, DEBUG_ROOT "/.build-id/%02x/", bits[0]);
		for (int i = 1; i < nbits && len > 0 && (size_t)len + 3 < sizeof path; i++)
			len += snprintf(path + len, sizeof path - (size_t)len, "%02x", bits[i]);
		if (len > 0 && (size_t)len + 7 < sizeof path) {
			memcpy(path + len, ".debug", 7);
			int fd = open_candidate(path, bits, nbits, found);
			if (fd >= 0)
				return fd;
		}
	}
	if (!debuglink_file || !file_name || strchr(debuglink_file, '/'))
		return -1;
	const char *slash = strrchr(file_name, '/');
	int dirlen = slash ? (int)(slash - file_name) : 0;
	const char *dir = slash ? file_name : "";
	/* Beside the file, in its .debug/ folder, under DEBUG_ROOT. */
	static const char *const prefix[] = { "", "", DEBUG_ROOT };
	static const char *const middle[] = { "/", "/.debug/", "/" };
	for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++) {
		int len = snprintf(path, sizeof path, "%s%.*s%s%s", prefix[i], dirlen, dir, middle[i], debuglink_file);
		if (len <= 0 || (size_t)len >= sizeof path || strcmp(path, file_name) == 0)
			continue;
		int fd = open_candidate(path, bits, nbits > 0 ? nbits : 0, found);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

int debuginfo_find_local(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			 char **debuginfo_file_name)
{
	(void)userdata;
	(void)modname;
	(void)base;
	(void)debuglink_crc;
	const unsigned char *bits = NULL;
	GElf_Addr vaddr;
	int nbits = dwfl_module_build_id(mod, &bits, &vaddr);
	return debuginfo_open(bits, nbits, file_name, debuglink_file, debuginfo_file_name);
}

/* Does the ELF file open on fd have a section named name? Reads the
 * section headers only: nothing is decompressed. */
static bool has_section(int fd, const char *name)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	bool found = false;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		Elf_Scn *scn = NULL;
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *n = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
			found = n && strcmp(n, name) == 0;
		}
	}
	if (elf)
		elf_end(elf);
	return found;
}

int debuginfo_find_cfi(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		       char **debuginfo_file_name)
{
	int fd = debuginfo_find_local(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
				      debuginfo_file_name);
	if (fd >= 0 && !has_section(fd, ".debug_frame")) {
		close(fd);
		free(*debuginfo_file_name);
		*debuginfo_file_name = NULL;
		return -1;
	}
	return fd;
}
