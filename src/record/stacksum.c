/*
 * stacksum.c - the time of every returned call, summed by where it was
 * made from (record.h): a tracer keeps a row per (key, process, callchain)
 * while recording, so a flame graph of syscall or function time costs a
 * hash of the callchain per call instead of a record per call in the file.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/record.h"
#include "cprof/resolve.h"

static uint64_t row_hash(uint32_t key, uint32_t pid, const uint64_t *ips, uint32_t n)
{
	uint64_t kp = (uint64_t)key << 32 | pid;
	return hash_mem(&kp, sizeof kp) ^ (n ? hash_mem(ips, n * sizeof *ips) * 0x9e3779b97f4a7c15ULL : 0);
}

static uint64_t hash_of(const void *ctx, uint32_t item)
{
	return ((const struct stacksum *)ctx)->rows.v[item].hash;
}

void stacksum_add(struct stacksum *s, uint32_t key, uint32_t pid, uint64_t time, const uint64_t *ips, uint32_t n,
		  uint64_t dur, uint64_t oncpu)
{
	uint64_t h = row_hash(key, pid, ips, n);
	size_t pos;
	for (uint32_t it = hashidx_first(&s->idx, h, &pos); it != HASHIDX_NONE; it = hashidx_next(&s->idx, &pos)) {
		struct stacksum_row *r = &s->rows.v[it];
		if (r->hash == h && r->key == key && r->pid == pid && r->nips == n &&
		    (!n || memcmp(s->ips.v + r->ip_off, ips, n * sizeof *ips) == 0)) {
			r->calls++;
			r->total += dur;
			r->oncpu += oncpu;
			return;
		}
	}
	hashidx_reserve(&s->idx, hash_of, s);
	struct stacksum_row r = { .key = key, .pid = pid, .nips = n, .handle = UINT32_MAX, .ip_off = s->ips.n,
				  .hash = h, .time = time, .calls = 1, .total = dur, .oncpu = oncpu };
	if (n) {
		vec_reserve(&s->ips, s->ips.n + n);
		memcpy(s->ips.v + s->ips.n, ips, n * sizeof *ips);
		s->ips.n += n;
	}
	vec_push(&s->rows, r);
	hashidx_put(&s->idx, h, (uint32_t)s->rows.n - 1);
}

void stacksum_stacks(struct stacksum *s, struct resolver *res)
{
	for (size_t i = 0; i < s->rows.n; i++) {
		struct stacksum_row *r = &s->rows.v[i];
		if (r->nips)
			r->handle = resolver_add(res, r->pid, r->time, s->ips.v + r->ip_off, r->nips, RESOLVE_CALLCHAIN);
	}
}

void stacksum_store(const struct stacksum *s, struct resolver *res, struct cprof_data *d, uint32_t source,
		    bool has_oncpu)
{
	vec_reserve(&d->lat_stacks, d->lat_stacks.n + s->rows.n);
	for (size_t i = 0; i < s->rows.n; i++) {
		const struct stacksum_row *r = &s->rows.v[i];
		struct cprof_lat_stack k = { .source = source, .key = r->key, .pid = r->pid, .stack = LAT_NO_STACK,
					     .has_oncpu = has_oncpu, .calls = r->calls, .total_ns = r->total,
					     .oncpu_ns = has_oncpu ? (r->oncpu < r->total ? r->oncpu : r->total) : 0 };
		if (r->handle != UINT32_MAX)
			k.stack = resolver_stack(res, r->handle, 0);
		vec_push(&d->lat_stacks, k);
	}
}

void stacksum_release(struct stacksum *s)
{
	vec_release(&s->rows);
	vec_release(&s->ips);
	hashidx_release(&s->idx);
}
