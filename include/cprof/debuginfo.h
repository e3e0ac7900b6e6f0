/*
 * debuginfo.h - a Dwfl_Callbacks.find_debuginfo that searches this machine
 * only (build-id path, then .gnu_debuglink locations), never debuginfod.
 */
#ifndef CPROF_DEBUGINFO_H
#define CPROF_DEBUGINFO_H

#include <elfutils/libdwfl.h>

int debuginfo_find_local(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			 char **debuginfo_file_name);

#endif
