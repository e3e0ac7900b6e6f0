/*
 * sys-sections.c - the syscall sections of cprof.data (SECTION_SYS_*,
 * data-format.h): bytes out for the writer, checked records in for the
 * reader. Nothing is trusted: names, stacks, errnos, counts that must add
 * up, and percentiles that must be in order.
 */
#include <errno.h>

#include "cprof/data.h"

bool sys_section_present(const struct cprof_data *d, uint32_t type)
{
	return type == SECTION_SYS_STATS ? d->sys_stats.n > 0
	       : type == SECTION_SYS_ERRORS ? d->sys_errs.n > 0
	       : type == SECTION_SYS_SLOW ? d->sys_slow.n > 0 : false;
}

void sys_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[SY_SIZE];
	*count = 0;
	if (type == SECTION_SYS_STATS) {
		for (size_t i = 0; i < d->sys_stats.n; i++) {
			const struct cprof_sys_stat *s = &d->sys_stats.v[i];
			put_le32(rec + SY_PID, s->pid);
			put_le32(rec + SY_TID, s->tid);
			put_le32(rec + SY_NAME, s->name);
			put_le32(rec + SY_NR, s->nr);
			put_le64(rec + SY_CALLS, s->calls);
			put_le64(rec + SY_ERRORS, s->errors);
			put_le64(rec + SY_UNFINISHED, s->unfinished);
			put_le64(rec + SY_TOTAL, s->total_ns);
			for (int k = 0; k < PCT_N; k++)
				put_le64(rec + SY_LAT + 8 * k, s->lat[k]);
			sbuf_add(out, rec, SY_SIZE);
		}
		*count = (uint32_t)d->sys_stats.n;
	} else if (type == SECTION_SYS_ERRORS) {
		for (size_t i = 0; i < d->sys_errs.n; i++) {
			const struct cprof_sys_err *e = &d->sys_errs.v[i];
			put_le32(rec + SE_PID, e->pid);
			put_le32(rec + SE_TID, e->tid);
			put_le32(rec + SE_NR, e->nr);
			put_le32(rec + SE_ERRNO, e->err);
			put_le64(rec + SE_COUNT, e->count);
			sbuf_add(out, rec, SE_SIZE);
		}
		*count = (uint32_t)d->sys_errs.n;
	} else if (type == SECTION_SYS_SLOW) {
		for (size_t i = 0; i < d->sys_slow.n; i++) {
			const struct cprof_sys_slow *s = &d->sys_slow.v[i];
			put_le32(rec + SS_PID, s->pid);
			put_le32(rec + SS_TID, s->tid);
			put_le32(rec + SS_NR, s->nr);
			put_le32(rec + SS_STACK, s->stack);
			put_le64(rec + SS_START, s->start);
			put_le64(rec + SS_DUR, s->dur);
			put_le64(rec + SS_RET, (uint64_t)s->ret);
			sbuf_add(out, rec, SS_SIZE);
		}
		*count = (uint32_t)d->sys_slow.n;
	}
}

#define BAD(...) return err_set(err, EBADMSG, __VA_ARGS__)

static int parse_stats(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		       struct cprof_err *err)
{
	vec_reserve(&d->sys_stats, count);
	for (uint32_t i = 0; i < count; i++, p += SY_SIZE) {
		struct cprof_sys_stat s = { .pid = get_le32(p + SY_PID), .tid = get_le32(p + SY_TID),
					    .name = get_le32(p + SY_NAME), .nr = get_le32(p + SY_NR),
					    .calls = get_le64(p + SY_CALLS), .errors = get_le64(p + SY_ERRORS),
					    .unfinished = get_le64(p + SY_UNFINISHED), .total_ns = get_le64(p + SY_TOTAL) };
		for (int k = 0; k < PCT_N; k++)
			s.lat[k] = get_le64(p + SY_LAT + 8 * k);
		if (s.name >= d->strings.len)
			BAD("'%s': syscall row %u refers to a missing string", name, i);
		if (s.errors > s.calls || s.unfinished > s.calls)
			BAD("'%s': syscall row %u has more errors or unfinished calls than calls", name, i);
		for (int k = 1; k < PCT_N; k++)
			if (s.lat[k] < s.lat[k - 1])
				BAD("'%s': syscall row %u has latency percentiles out of order", name, i);
		if (s.calls > s.unfinished && s.total_ns / (s.calls - s.unfinished) > s.lat[PCT_MAX])
			BAD("'%s': syscall row %u: its mean latency exceeds its maximum", name, i);
		d->sys_stats.v[d->sys_stats.n++] = s;
	}
	return 0;
}

static int parse_errs(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		      struct cprof_err *err)
{
	vec_reserve(&d->sys_errs, count);
	for (uint32_t i = 0; i < count; i++, p += SE_SIZE) {
		struct cprof_sys_err e = { .pid = get_le32(p + SE_PID), .tid = get_le32(p + SE_TID),
					   .nr = get_le32(p + SE_NR), .err = get_le32(p + SE_ERRNO),
					   .count = get_le64(p + SE_COUNT) };
		if (e.err == 0 || e.err > 4095 || e.count == 0)
			BAD("'%s': syscall error row %u is malformed (errno %u, %llu calls)", name, i, e.err,
			    (unsigned long long)e.count);
		d->sys_errs.v[d->sys_errs.n++] = e;
	}
	return 0;
}

static int parse_slow(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		      struct cprof_err *err)
{
	vec_reserve(&d->sys_slow, count);
	for (uint32_t i = 0; i < count; i++, p += SS_SIZE) {
		struct cprof_sys_slow s = { .pid = get_le32(p + SS_PID), .tid = get_le32(p + SS_TID),
					    .nr = get_le32(p + SS_NR), .stack = get_le32(p + SS_STACK),
					    .start = get_le64(p + SS_START), .dur = get_le64(p + SS_DUR),
					    .ret = (int64_t)get_le64(p + SS_RET) };
		if (s.stack != SYS_NO_STACK && s.stack >= d->stack_offset.n)
			BAD("'%s': slow syscall %u refers to missing stack %u", name, i, s.stack);
		if (s.start + s.dur < s.start)
			BAD("'%s': slow syscall %u ends after the end of time", name, i);
		d->sys_slow.v[d->sys_slow.n++] = s;
	}
	return 0;
}

int sys_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t size = type == SECTION_SYS_STATS ? SY_SIZE : type == SECTION_SYS_ERRORS ? SE_SIZE
		      : type == SECTION_SYS_SLOW ? SS_SIZE : 0;
	if (!size)
		return 0; /* 23: a newer writer's, skipped like unknown sections */
	if (len != (size_t)count * size)
		BAD("'%s': syscall table (section %u) is malformed", name, type);
	return type == SECTION_SYS_STATS ? parse_stats(d, p, count, name, err)
	       : type == SECTION_SYS_ERRORS ? parse_errs(d, p, count, name, err)
	       : parse_slow(d, p, count, name, err);
}
