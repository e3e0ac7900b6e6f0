/*
 * lat-sections.c - the function latency sections of cprof.data
 * (SECTION_LAT_*, data-format.h): bytes out for the writer, checked records
 * in for the reader. Nothing is trusted: names, stacks, counts that must add
 * up, percentiles that must be in order.
 */
#include <errno.h>
#include <string.h>

#include "cprof/data.h"

bool lat_section_present(const struct cprof_data *d, uint32_t type)
{
	return type == SECTION_LAT_STATS ? d->lat_stats.n > 0 : type == SECTION_LAT_SLOW ? d->lat_slow.n > 0 : false;
}

void lat_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *out, uint32_t *count)
{
	uint8_t rec[LS_SIZE] = { 0 };
	*count = 0;
	if (type == SECTION_LAT_STATS) {
		for (size_t i = 0; i < d->lat_stats.n; i++) {
			const struct cprof_lat_stat *s = &d->lat_stats.v[i];
			memset(rec, 0, sizeof rec);
			put_le32(rec + LS_NAME, s->name);
			put_le32(rec + LS_PATH, s->path);
			put_le64(rec + LS_OFFSET, s->offset);
			put_le64(rec + LS_CALLS, s->calls);
			put_le64(rec + LS_RETURNED, s->returned);
			put_le64(rec + LS_UNRETURNED, s->unreturned);
			put_le64(rec + LS_SLOW, s->slow);
			put_le64(rec + LS_TOTAL, s->total_ns);
			put_le32(rec + LS_DEPTH, s->depth);
			for (int k = 0; k < PCT_N; k++)
				put_le64(rec + LS_LAT + 8 * k, s->lat[k]);
			sbuf_add(out, rec, LS_SIZE);
		}
		*count = (uint32_t)d->lat_stats.n;
	} else if (type == SECTION_LAT_SLOW) {
		for (size_t i = 0; i < d->lat_slow.n; i++) {
			const struct cprof_lat_slow *s = &d->lat_slow.v[i];
			put_le32(rec + LW_FUNC, s->func);
			put_le32(rec + LW_PID, s->pid);
			put_le32(rec + LW_TID, s->tid);
			put_le32(rec + LW_STACK, s->stack);
			put_le64(rec + LW_START, s->start);
			put_le64(rec + LW_DUR, s->dur);
			sbuf_add(out, rec, LW_SIZE);
		}
		*count = (uint32_t)d->lat_slow.n;
	}
}

#define BAD(...) return err_set(err, EBADMSG, __VA_ARGS__)

static int parse_stats(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		       struct cprof_err *err)
{
	vec_reserve(&d->lat_stats, count);
	for (uint32_t i = 0; i < count; i++, p += LS_SIZE) {
		struct cprof_lat_stat s = { .name = get_le32(p + LS_NAME), .path = get_le32(p + LS_PATH),
					    .offset = get_le64(p + LS_OFFSET), .calls = get_le64(p + LS_CALLS),
					    .returned = get_le64(p + LS_RETURNED), .unreturned = get_le64(p + LS_UNRETURNED),
					    .slow = get_le64(p + LS_SLOW), .total_ns = get_le64(p + LS_TOTAL),
					    .depth = get_le32(p + LS_DEPTH) };
		for (int k = 0; k < PCT_N; k++)
			s.lat[k] = get_le64(p + LS_LAT + 8 * k);
		if (s.name >= d->strings.len || s.path >= d->strings.len)
			BAD("'%s': latency row %u refers to a missing string", name, i);
		if (s.returned > s.calls || s.unreturned > s.calls - s.returned || s.slow > s.returned)
			BAD("'%s': latency row %u has more returned, unreturned or slow calls than calls", name, i);
		for (int k = 1; k < PCT_N; k++)
			if (s.lat[k] < s.lat[k - 1])
				BAD("'%s': latency row %u has percentiles out of order", name, i);
		if (s.returned && s.total_ns / s.returned > s.lat[PCT_MAX])
			BAD("'%s': latency row %u: its mean latency exceeds its maximum", name, i);
		d->lat_stats.v[d->lat_stats.n++] = s;
	}
	return 0;
}

static int parse_slow(struct cprof_data *d, const uint8_t *p, uint32_t count, const char *name,
		      struct cprof_err *err)
{
	vec_reserve(&d->lat_slow, count);
	for (uint32_t i = 0; i < count; i++, p += LW_SIZE) {
		struct cprof_lat_slow s = { .func = get_le32(p + LW_FUNC), .pid = get_le32(p + LW_PID),
					    .tid = get_le32(p + LW_TID), .stack = get_le32(p + LW_STACK),
					    .start = get_le64(p + LW_START), .dur = get_le64(p + LW_DUR) };
		if (s.func >= d->lat_stats.n)
			BAD("'%s': slow call %u refers to missing function %u", name, i, s.func);
		if (s.stack != LAT_NO_STACK && s.stack >= d->stack_offset.n)
			BAD("'%s': slow call %u refers to missing stack %u", name, i, s.stack);
		if (s.start + s.dur < s.start)
			BAD("'%s': slow call %u ends after the end of time", name, i);
		d->lat_slow.v[d->lat_slow.n++] = s;
	}
	return 0;
}

int lat_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err)
{
	size_t size = type == SECTION_LAT_STATS ? LS_SIZE : type == SECTION_LAT_SLOW ? LW_SIZE : 0;
	if (!size)
		return 0; /* 38, 39: a newer writer's, skipped like unknown sections */
	if (len != (size_t)count * size)
		BAD("'%s': latency table (section %u) is malformed", name, type);
	return type == SECTION_LAT_STATS ? parse_stats(d, p, count, name, err) : parse_slow(d, p, count, name, err);
}
