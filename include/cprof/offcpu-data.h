/*
 * offcpu-data.h - off-CPU time as cprof keeps it (record --offcpu): every
 * interval a thread spent off a CPU, with the user stack it left from and
 * whether it was waiting or preempted. The section's bytes are
 * data/offcpu-sections.c's and data-format.h's.
 */
#ifndef CPROF_OFFCPU_DATA_H
#define CPROF_OFFCPU_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct cprof_data;
struct cprof_err;

#define OFFCPU_NO_STACK UINT32_MAX

/* One interval off a CPU: from the switch-out to the next switch-in. */
struct cprof_offcpu_wait {
	uint64_t start, dur;          /* CLOCK_MONOTONIC ns, and ns */
	uint32_t pid, tid;
	uint32_t stack;               /* index, or OFFCPU_NO_STACK (recorded without -g) */
	uint32_t flags;               /* OWF_* (data-format.h) */
};

static inline bool offcpu_section_type(uint32_t type) { return type >= 32 && type <= 35; }
void offcpu_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count);
/* After the stacks are loaded (records refer to them). */
int offcpu_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
			 const char *name, struct cprof_err *err);

#endif
