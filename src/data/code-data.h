/* code-data.h - codec of SECTION_CODE (code of the hottest functions), for reader.c and writer.c. */
#ifndef CPROF_CODE_DATA_H
#define CPROF_CODE_DATA_H

#include "cprof/data.h"

void code_section_bytes(const struct cprof_data *d, struct sbuf *raw, uint32_t *count);
/* Validate and load the section (after the strings are loaded). */
int code_section_parse(struct cprof_data *d, const uint8_t *p, size_t len, uint32_t count, const char *name,
		       struct cprof_err *err) CPROF_WUR;

#endif
