/*
 * debuginfo.h - a Dwfl_Callbacks.find_debuginfo that searches this machine
 * only (build-id path, then .gnu_debuglink locations), never debuginfod.
 */
#ifndef CPROF_DEBUGINFO_H
#define CPROF_DEBUGINFO_H

#include <elfutils/libdwfl.h>

/* The separate debug file this machine has for a binary, searched as
 * debuginfo_find_local does: bits[0..nbits) its build id (checked against
 * the candidate's), file_name its path, debuglink_file the name in its
 * .gnu_debuglink (or NULL). Returns an open fd and sets *found to the
 * file's path (malloc'd), or returns -1. */
int debuginfo_open(const unsigned char *bits, int nbits, const char *file_name, const char *debuglink_file,
		   char **found);

int debuginfo_find_local(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			 char **debuginfo_file_name);
/* The same for an unwinder: a debug file only when it has .debug_frame,
 * the one thing an unwinder reads from it. */
int debuginfo_find_cfi(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		       char **debuginfo_file_name);

#endif
