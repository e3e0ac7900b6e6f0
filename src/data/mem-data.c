/*
 * mem-data.c - the memory sections of the data file (SECTION_MEM_*), kept
 * apart from writer.c and reader.c so the CPU-profile sections read as
 * before; both call in here for section types 16..18.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/mem-data.h"

bool mem_section_present(const struct cprof_data *d, uint32_t type)
{
	if (type == SECTION_MEM_EST)
		return d->mem_est.n > 0;
	return d->mem_procs.n > 0;
}

static void put_f64(uint8_t *p, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	put_le64(p, u);
}

static double get_f64(const uint8_t *p)
{
	uint64_t u = get_le64(p);
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
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
	case SECTION_MEM_EST:
		for (size_t i = 0; i < d->mem_est.n; i++) {
			const struct cprof_mem_est *e = &d->mem_est.v[i];
			memset(rec, 0, ME_SIZE);
			put_le32(rec + ME_PID, e->pid);
			put_le32(rec + ME_STACK, e->stack);
			put_le32(rec + ME_KIND, e->kind);
			put_le64(rec + ME_SAMPLES, e->samples);
			put_le64(rec + ME_MAX_SIZE, e->max_size);
			put_f64(rec + ME_COUNT, e->count);
			put_f64(rec + ME_BYTES, e->bytes);
			put_f64(rec + ME_VAR_COUNT, e->var_count);
			put_f64(rec + ME_VAR_BYTES, e->var_bytes);
			put_f64(rec + ME_LIVE_COUNT, e->live_count);
			put_f64(rec + ME_LIVE_BYTES, e->live_bytes);
			put_f64(rec + ME_LIVE_VAR_COUNT, e->live_var_count);
			put_f64(rec + ME_LIVE_VAR_BYTES, e->live_var_bytes);
			sbuf_add(raw, rec, ME_SIZE);
		}
		*count = (uint32_t)d->mem_est.n;
		break;
	}
}

static const char *what(uint32_t type)
{
	return type == SECTION_MEM_SITES ? "memory site" : type == SECTION_MEM_PROCS ? "memory process"
	       : type == SECTION_MEM_EST ? "memory estimate" : "heap curve";
}

/* Finite, not negative, and below 2^64 (no estimate of a count or of
 * bytes reaches it), so that the report's sums stay finite. */
static bool estimate_ok(double v) { return isfinite(v) && v >= 0 && v < 0x1p64; }

/*
 * What no recording holds, even one read while its processes still ran
 * (record cuts the counts of such torn reads to what this allows, not the
 * bytes; a live block's bytes may then exceed what its site allocated, so
 * that relation is not required): more blocks temporary, leaked or live at
 * the peak than allocated, and leaked or peak bytes beyond 2^63 - 1, which
 * the tracer's signed sums of live bytes never reach. The latter read as,
 * say, 16777216.0 TiB leaked.
 */
static const char *site_nonsense(const struct cprof_mem_site *m)
{
	if (m->temp_allocs > m->allocs || m->leaked > m->allocs || m->peak_count > m->allocs)
		return "counts more blocks than it allocated";
	if (m->leaked_bytes > INT64_MAX || m->peak_bytes > INT64_MAX)
		return "has more bytes live than a process can hold";
	return NULL;
}

/* acc[i] += v[i] for n counters; false if one of the sums would pass 2^64-1. */
static bool add_all(uint64_t *acc, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (__builtin_add_overflow(acc[i], v[i], &acc[i]))
			return false;
	return true;
}

int mem_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t size = type == SECTION_MEM_SITES ? MS_SIZE : type == SECTION_MEM_PROCS ? MP_SIZE
		      : type == SECTION_MEM_EST ? ME_SIZE : MC_SIZE;
	/* The report sums these over sites and processes: the sums must exist. */
	uint64_t sum[8 + MP_HIST_BUCKETS] = { 0 };
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
			const char *why = site_nonsense(&m);
			if (why)
				return err_set(err, EBADMSG, "'%s': memory site %u %s", name, i, why);
			uint64_t v[] = { m.allocs, m.bytes, m.temp_allocs, m.temp_bytes, m.leaked, m.leaked_bytes,
					 m.peak_count, m.peak_bytes };
			if (!add_all(sum, v, ARRAY_SIZE(v)))
				return err_set(err, EBADMSG, "'%s': memory site %u: the sites add up to more than 2^64-1",
					       name, i);
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
			uint64_t v[] = { m.events, m.unmatched_frees, m.lost };
			if (!add_all(sum, v, ARRAY_SIZE(v)) || !add_all(sum + 8, m.hist, MP_HIST_BUCKETS))
				return err_set(err, EBADMSG, "'%s': memory process %u: the processes add up to more than "
							     "2^64-1", name, i);
			vec_push(&d->mem_procs, m);
		} else if (type == SECTION_MEM_EST) {
			struct cprof_mem_est e = {
				.pid = get_le32(p + ME_PID), .stack = get_le32(p + ME_STACK), .kind = get_le32(p + ME_KIND),
				.samples = get_le64(p + ME_SAMPLES), .max_size = get_le64(p + ME_MAX_SIZE),
				.count = get_f64(p + ME_COUNT), .bytes = get_f64(p + ME_BYTES),
				.var_count = get_f64(p + ME_VAR_COUNT), .var_bytes = get_f64(p + ME_VAR_BYTES),
				.live_count = get_f64(p + ME_LIVE_COUNT), .live_bytes = get_f64(p + ME_LIVE_BYTES),
				.live_var_count = get_f64(p + ME_LIVE_VAR_COUNT),
				.live_var_bytes = get_f64(p + ME_LIVE_VAR_BYTES),
			};
			if (e.stack >= d->stack_offset.n)
				return err_set(err, EBADMSG, "'%s': memory estimate %u refers to missing stack %u", name, i,
					       e.stack);
			if (e.kind > MEMK_MMAP)
				return err_set(err, EBADMSG, "'%s': memory estimate %u has unknown kind %u", name, i, e.kind);
			if (!estimate_ok(e.count) || !estimate_ok(e.bytes) || !estimate_ok(e.var_count) ||
			    !estimate_ok(e.var_bytes) || !estimate_ok(e.live_count) || !estimate_ok(e.live_bytes) ||
			    !estimate_ok(e.live_var_count) || !estimate_ok(e.live_var_bytes))
				return err_set(err, EBADMSG, "'%s': memory estimate %u is not a number from 0 to 2^64",
					       name, i);
			if (e.live_count > e.count * (1 + 1e-9) + 1e-6 || e.live_bytes > e.bytes * (1 + 1e-9) + 1e-6)
				return err_set(err, EBADMSG, "'%s': memory estimate %u has more live than allocated", name, i);
			vec_push(&d->mem_est, e);
		} else {
			struct cprof_mem_point c = { .pid = get_le32(p + MC_PID), .time = get_le64(p + MC_TIME),
						     .bytes = get_le64(p + MC_BYTES) };
			vec_push(&d->mem_curve, c);
		}
	}
	return 0;
}
