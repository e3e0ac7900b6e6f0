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
	       : type == SECTION_SYS_SLOW ? d->sys_slow.n > 0
	       : type == SECTION_SYS_IO ? d->sys_io.n > 0 : false;
}

void sys_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[SY_SIZE > IO_SIZE ? SY_SIZE : IO_SIZE];
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
	} else if (type == SECTION_SYS_IO) {
		for (size_t i = 0; i < d->sys_io.n; i++) {
			const struct cprof_sys_io *o = &d->sys_io.v[i];
			put_le32(rec + IO_PID, o->pid);
			put_le32(rec + IO_FD, (uint32_t)o->fd);
			put_le32(rec + IO_PATH, o->path);
			put_le32(rec + IO_FLAGS, 0);
			put_le64(rec + IO_READ_CALLS, o->read_calls);
			put_le64(rec + IO_READ_BYTES, o->read_bytes);
			put_le64(rec + IO_READ_NS, o->read_ns);
			put_le64(rec + IO_WRITE_CALLS, o->write_calls);
			put_le64(rec + IO_WRITE_BYTES, o->write_bytes);
			put_le64(rec + IO_WRITE_NS, o->write_ns);
			put_le64(rec + IO_SYNC_CALLS, o->sync_calls);
			put_le64(rec + IO_SYNC_NS, o->sync_ns);
			sbuf_add(out, rec, IO_SIZE);
		}
		*count = (uint32_t)d->sys_io.n;
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

static int parse_io(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name, struct cprof_err *err)
{
	vec_reserve(&d->sys_io, count);
	for (uint32_t i = 0; i < count; i++, p += IO_SIZE) {
		struct cprof_sys_io o = {
			.pid = get_le32(p + IO_PID), .fd = (int32_t)get_le32(p + IO_FD), .path = get_le32(p + IO_PATH),
			.read_calls = get_le64(p + IO_READ_CALLS), .read_bytes = get_le64(p + IO_READ_BYTES),
			.read_ns = get_le64(p + IO_READ_NS), .write_calls = get_le64(p + IO_WRITE_CALLS),
			.write_bytes = get_le64(p + IO_WRITE_BYTES), .write_ns = get_le64(p + IO_WRITE_NS),
			.sync_calls = get_le64(p + IO_SYNC_CALLS), .sync_ns = get_le64(p + IO_SYNC_NS),
		};
		if (o.path >= d->strings.len)
			BAD("'%s': I/O row %u refers to a missing string", name, i);
		if (o.fd < 0 || get_le32(p + IO_FLAGS))
			BAD("'%s': I/O row %u is malformed (descriptor %d)", name, i, o.fd);
		if (!o.read_calls + !o.write_calls + !o.sync_calls == 3)
			BAD("'%s': I/O row %u has no calls", name, i);
		/* A call moves at most 2 GiB (MAX_RW_COUNT) and takes time of its own. */
		if ((o.read_calls && o.read_bytes / o.read_calls > 0x7ffff000) ||
		    (o.write_calls && o.write_bytes / o.write_calls > 0x7ffff000))
			BAD("'%s': I/O row %u moves more bytes a call than a syscall can", name, i);
		if ((!o.read_calls && (o.read_bytes || o.read_ns)) || (!o.write_calls && (o.write_bytes || o.write_ns)) ||
		    (!o.sync_calls && o.sync_ns))
			BAD("'%s': I/O row %u has bytes or time without calls", name, i);
		d->sys_io.v[d->sys_io.n++] = o;
	}
	return 0;
}

int sys_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t size = type == SECTION_SYS_STATS ? SY_SIZE : type == SECTION_SYS_ERRORS ? SE_SIZE
		      : type == SECTION_SYS_SLOW ? SS_SIZE : type == SECTION_SYS_IO ? IO_SIZE : 0;
	if (!size)
		return 0;
	if (len != (size_t)count * size)
		BAD("'%s': syscall table (section %u) is malformed", name, type);
	return type == SECTION_SYS_STATS ? parse_stats(d, p, count, name, err)
	       : type == SECTION_SYS_ERRORS ? parse_errs(d, p, count, name, err)
	       : type == SECTION_SYS_SLOW ? parse_slow(d, p, count, name, err)
	       : parse_io(d, p, count, name, err);
}
