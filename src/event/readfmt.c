/*
 * readfmt.c - the bytes of a group read, and scaling for multiplexing.
 *
 * With PERF_FORMAT_GROUP a read() of the leader returns
 *   u64 nr; [u64 time_enabled]; [u64 time_running];
 *   { u64 value; [u64 id]; [u64 lost]; } cntr[nr];
 * (each bracketed field present when its read_format bit is set). The
 * members share one enabled/running pair: a group is scheduled on the PMU
 * all together or not at all, which is why ratios are taken within groups.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/event.h"

#ifndef PERF_FORMAT_LOST
#define PERF_FORMAT_LOST (1U << 4)
#endif

const char *const ev_status_names[] = { "counted", "scaled", "not counted", "not supported", NULL };

int ev_read_decode(const void *buf, size_t avail, uint64_t fmt, size_t max, struct ev_group_read *g,
		   size_t *ret_len, struct cprof_err *err)
{
	const uint8_t *p = buf;
	if (!(fmt & PERF_FORMAT_GROUP))
		return err_set(err, EINVAL, "counter read: read_format lacks PERF_FORMAT_GROUP");
	if (avail < 8)
		return err_set(err, EINVAL, "counter read: %zu bytes is not a group reading", avail);
	uint64_t nr;
	memcpy(&nr, p, 8);
	size_t head = 1 + !!(fmt & PERF_FORMAT_TOTAL_TIME_ENABLED) + !!(fmt & PERF_FORMAT_TOTAL_TIME_RUNNING);
	size_t per = 1 + !!(fmt & PERF_FORMAT_ID) + !!(fmt & PERF_FORMAT_LOST);
	if (nr > max)
		return err_set(err, EINVAL, "counter read: the group reports %llu counters, expected at most %zu",
			       (unsigned long long)nr, max);
	size_t need = (head + per * (size_t)nr) * 8;
	if (avail < need)
		return err_set(err, EINVAL, "counter read: %zu bytes for %llu counters, expected %zu", avail,
			       (unsigned long long)nr, need);
	size_t w = 1;
	uint64_t v;
#define NEXT() (memcpy(&v, p + 8 * w++, 8), v)
	g->nr = (size_t)nr;
	g->enabled = g->running = 0;
	if (fmt & PERF_FORMAT_TOTAL_TIME_ENABLED)
		g->enabled = NEXT();
	if (fmt & PERF_FORMAT_TOTAL_TIME_RUNNING)
		g->running = NEXT();
	for (size_t i = 0; i < nr; i++) {
		g->r[i].value = NEXT();
		g->r[i].id = fmt & PERF_FORMAT_ID ? NEXT() : 0;
		if (fmt & PERF_FORMAT_LOST)
			(void)NEXT();
	}
#undef NEXT
	*ret_len = need;
	return 0;
}

int ev_read_parse(const void *buf, size_t len, uint64_t fmt, size_t max, struct ev_group_read **ret,
		  struct cprof_err *err)
{
	*ret = NULL;
	if (len % 8)
		return err_set(err, EINVAL, "counter read: %zu bytes is not a group reading", len);
	uint64_t nr = 0;
	if (len >= 8)
		memcpy(&nr, buf, 8);
	struct ev_group_read *g = xcalloc(1, sizeof *g + (nr <= max ? nr : 0) * sizeof g->r[0]);
	size_t used = 0;
	int r = ev_read_decode(buf, len, fmt, nr <= max ? (size_t)nr : max, g, &used, err);
	if (r == 0 && used != len)
		r = err_set(err, EINVAL, "counter read: %zu bytes for %llu counters, expected %zu", len,
			    (unsigned long long)nr, used);
	if (r < 0) {
		free(g);
		return r;
	}
	*ret = g;
	return 0;
}

void ev_count_add(struct ev_count *c, uint64_t raw, uint64_t enabled, uint64_t running)
{
	if (c->status == EVS_NOT_SUPPORTED)
		return;
	c->raw += raw;
	c->enabled += enabled;
	c->running += running;
	/* A reading that never ran on the PMU has nothing to scale; it counts
	 * as "not counted" only if no other reading (CPU, thread) ran. */
	if (running >= enabled && running) {
		c->value += (double)raw;
	} else if (running) {
		/* long double keeps 64 bits of mantissa: raw * enabled cannot
		 * overflow and loses nothing a double result could show. */
		c->value += (double)((long double)raw * (long double)enabled / (long double)running);
		c->multiplexed = true;
	}
	c->status = c->running == 0 ? EVS_NOT_COUNTED : c->multiplexed ? EVS_SCALED : EVS_COUNTED;
}

double ev_count_running_pct(const struct ev_count *c)
{
	if (c->enabled == 0)
		return 100.0;
	return 100.0 * (double)c->running / (double)c->enabled;
}
