/*
 * mem-data.c - the memory sections of the data file (SECTION_MEM_*), kept
 * apart from writer.c and reader.c so the CPU-profile sections read as
 * before; both call in here for section types 16..18.
 */
#include <errno.h>
#include <string.h>

#include "cprof/data.h"
#include "mem-data.h"

bool mem_section_present(const struct cprof_data *d, uint32_t type)
{
	(void)type;
	return d->mem_procs.n > 0;
}

void mem_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count)
{
	uint8_t rec[MP_SIZE];
	switch (type) {
	case SECTION_MEM_SITES:
		for (size_t i = 0; i < d->mem_sites.n; i++) {
			const struct cprof_mem_site *m = &d->mem_sites.v[i];
			memset(rec, 0, MS_SIZE);
			put_le32(rec + MS_PID, m->pid);
			put_le32(rec + MS_STACK, m->stack);
			put_le32(rec + MS_KIND, m->kind);
			put_le64(rec + MS_ALLOCS, m->allocs);
			put_le64(rec + MS_BYTES, m->bytes);
			put_le64(rec + MS_TEMP_ALLOCS, m->temp_allocs);
			put_le64(rec + MS_TEMP_BYTES, m->temp_bytes);
			put_le64(rec + MS_LEAKED, m->leaked);
			put_le64(rec + MS_LEAKED_BYTES, m->leaked_bytes);
			put_le64(rec + MS_PEAK_COUNT, m->peak_count);
			put_le64(rec + MS_PEAK_BYTES, m->peak_bytes);
			put_le64(rec + MS_MAX_SIZE, m->max_size);
			put_le64(rec + MS_TEMP_MAX_SIZE, m->temp_max_size);
			sbuf_add(raw, rec, MS_SIZE);
		}
		*count = (uint32_t)d->mem_sites.n;
		break;
	case SECTION_MEM_PROCS:
		for (size_t i = 0; i < d->mem_procs.n; i++) {
			const struct cprof_mem_proc *p = &d->mem_procs.v[i];
			memset(rec, 0, MP_SIZE);
			put_le32(rec + MP_PID, p->pid);
			put_le32(rec + MP_PPID, p->ppid);
			put_le64(rec + MP_EVENTS, p->events);
			put_le64(rec + MP_UNMATCHED_FREES, p->unmatched_frees);
			put_le64(rec + MP_LOST, p->lost);
			put_le64(rec + MP_PEAK_BYTES, p->peak_bytes);
			put_le64(rec + MP_PEAK_TIME, p->peak_time);
			put_le64(rec + MP_END_BYTES, p->end_bytes);
			put_le64(rec + MP_START_TIME, p->start_time);
			put_le64(rec + MP_END_TIME, p->end_time);
			put_le64(rec + MP_MMAP_PEAK, p->mmap_peak);
			for (int b = 0; b < MP_HIST_BUCKETS; b++)
				put_le64(rec + MP_HIST + 8 * b, p->hist[b]);
			sbuf_add(raw, rec, MP_SIZE);
		}
		*count = (uint32_t)d->mem_procs.n;
		break;
	case SECTION_MEM_CURVE:
		for (size_t i = 0; i < d->mem_curve.n; i++) {
			const struct cprof_mem_point *c = &d->mem_curve.v[i];
			memset(rec, 0, MC_SIZE);
			put_le32(rec + MC_PID, c->pid);
			put_le64(rec + MC_TIME, c->time);
			put_le64(rec + MC_BYTES, c->bytes);
			sbuf_add(raw, rec, MC_SIZE);
		}
		*count = (uint32_t)d->mem_curve.n;
		break;
	}
}

static const char *what(uint32_t type)
{
	return type == SECTION_MEM_SITES ? "memory site" : type == SECTION_MEM_PROCS ? "memory process" : "heap curve";
}

int mem_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t size = type == SECTION_MEM_SITES ? MS_SIZE : type == SECTION_MEM_PROCS ? MP_SIZE : MC_SIZE;
	if (len != (size_t)count * size)
		return err_set(err, EBADMSG, "'%s': %s table is malformed", name, what(type));
	for (uint32_t i = 0; i < count; i++, p += size) {
		if (type == SECTION_MEM_SITES) {
			struct cprof_mem_site m = {
				.pid = get_le32(p + MS_PID), .stack = get_le32(p + MS_STACK), .kind = get_le32(p + MS_KIND),
				.allocs = get_le64(p + MS_ALLOCS), .bytes = get_le64(p + MS_BYTES),
				.temp_allocs = get_le64(p + MS_TEMP_ALLOCS), .temp_bytes = get_le64(p + MS_TEMP_BYTES),
				.leaked = get_le64(p + MS_LEAKED), .leaked_bytes = get_le64(p + MS_LEAKED_BYTES),
				.peak_count = get_le64(p + MS_PEAK_COUNT), .peak_bytes = get_le64(p + MS_PEAK_BYTES),
				.max_size = get_le64(p + MS_MAX_SIZE), .temp_max_size = get_le64(p + MS_TEMP_MAX_SIZE),
			};
			if (m.stack >= d->stack_offset.n)
				return err_set(err, EBADMSG, "'%s': memory site %u refers to missing stack %u", name, i,
					       m.stack);
			if (m.kind > MEMK_MMAP)
				return err_set(err, EBADMSG, "'%s': memory site %u has unknown kind %u", name, i, m.kind);
			if (m.temp_allocs > m.allocs || m.leaked > m.allocs || m.peak_count > m.allocs)
				return err_set(err, EBADMSG, "'%s': memory site %u counts more than it allocated", name, i);
			vec_push(&d->mem_sites, m);
		} else if (type == SECTION_MEM_PROCS) {
			struct cprof_mem_proc m = {
				.pid = get_le32(p + MP_PID), .ppid = get_le32(p + MP_PPID), .events = get_le64(p + MP_EVENTS),
				.unmatched_frees = get_le64(p + MP_UNMATCHED_FREES), .lost = get_le64(p + MP_LOST),
				.peak_bytes = get_le64(p + MP_PEAK_BYTES), .peak_time = get_le64(p + MP_PEAK_TIME),
				.end_bytes = get_le64(p + MP_END_BYTES), .start_time = get_le64(p + MP_START_TIME),
				.end_time = get_le64(p + MP_END_TIME), .mmap_peak = get_le64(p + MP_MMAP_PEAK),
			};
			for (int b = 0; b < MP_HIST_BUCKETS; b++)
				m.hist[b] = get_le64(p + MP_HIST + 8 * b);
			vec_push(&d->mem_procs, m);
		} else {
			struct cprof_mem_point c = { .pid = get_le32(p + MC_PID), .time = get_le64(p + MC_TIME),
						     .bytes = get_le64(p + MC_BYTES) };
			vec_push(&d->mem_curve, c);
		}
	}
	return 0;
}
