/*
 * offcpu-sections.c - the off-CPU section of cprof.data
 * (SECTION_OFFCPU_WAITS, data-format.h): bytes out for the writer, checked
 * records in for the reader. Stacks must exist, intervals must end before
 * the end of time, and flags must be known ones.
 */
#include <errno.h>

#include "cprof/data.h"

void offcpu_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[OW_SIZE];
	*count = 0;
	if (type != SECTION_OFFCPU_WAITS)
		return;
	for (size_t i = 0; i < d->offcpu.n; i++) {
		const struct cprof_offcpu_wait *w = &d->offcpu.v[i];
		put_le64(rec + OW_START, w->start);
		put_le64(rec + OW_DUR, w->dur);
		put_le32(rec + OW_PID, w->pid);
		put_le32(rec + OW_TID, w->tid);
		put_le32(rec + OW_STACK, w->stack);
		put_le32(rec + OW_FLAGS, w->flags);
		sbuf_add(out, rec, OW_SIZE);
	}
	*count = (uint32_t)d->offcpu.n;
}

#define BAD(...) return err_set(err, EBADMSG, __VA_ARGS__)

int offcpu_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
			 const char *name, struct cprof_err *err)
{
	if (type != SECTION_OFFCPU_WAITS)
		return 0; /* 33..35: a newer writer's, skipped like unknown sections */
	if (len != (size_t)count * OW_SIZE)
		BAD("'%s': off-CPU table (section %u) is malformed", name, type);
	vec_reserve(&d->offcpu, count);
	for (uint32_t i = 0; i < count; i++, p += OW_SIZE) {
		struct cprof_offcpu_wait w = { .start = get_le64(p + OW_START), .dur = get_le64(p + OW_DUR),
					       .pid = get_le32(p + OW_PID), .tid = get_le32(p + OW_TID),
					       .stack = get_le32(p + OW_STACK), .flags = get_le32(p + OW_FLAGS) };
		if (w.stack != OFFCPU_NO_STACK && w.stack >= d->stack_offset.n)
			BAD("'%s': off-CPU interval %u refers to missing stack %u", name, i, w.stack);
		if (w.start + w.dur < w.start)
			BAD("'%s': off-CPU interval %u ends after the end of time", name, i);
		if (w.flags & ~OWF_PREEMPT)
			BAD("'%s': off-CPU interval %u has unknown flags 0x%x", name, i, w.flags);
		d->offcpu.v[d->offcpu.n++] = w;
	}
	return 0;
}
