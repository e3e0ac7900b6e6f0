/* mem-data.h - codec of the SECTION_MEM_* sections, for reader.c and writer.c. */
#ifndef CPROF_MEM_DATA_H
#define CPROF_MEM_DATA_H

#include "cprof/data.h"

static inline bool mem_section_type(uint32_t type)
{
	return type >= SECTION_MEM_SITES && type <= SECTION_MEM_EST;
}
bool mem_section_present(const struct cprof_data *d, uint32_t type);
void mem_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count);
/* Parse after the stacks are loaded (sites refer to them). */
int mem_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err) CPROF_WUR;

#endif
