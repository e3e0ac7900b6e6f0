/*
 * hist.c - the log-linear latency histogram (hist.h). Bucket i below
 * HIST_SUB is the value i; above, group g = i / HIST_SUB (>= 1) holds the
 * values with their highest bit at g + HIST_SUB_BITS - 1, cut by the
 * HIST_SUB_BITS bits below it.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/hist.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

uint32_t hist_bucket(uint64_t v)
{
	if (v < HIST_SUB)
		return (uint32_t)v;
	unsigned m = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	unsigned shift = m - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB + (uint32_t)((v >> shift) - HIST_SUB);
}

uint64_t hist_bucket_low(uint32_t i)
{
	if (i < HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	return (uint64_t)(HIST_SUB + i % HIST_SUB) << shift;
}

uint64_t hist_bucket_high(uint32_t i)
{
	if (i < HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	return hist_bucket_low(i) + ((1ULL << shift) - 1);
}

void hist_release(struct hist *h)
{
	free(h->counts);
	*h = (struct hist)HIST_INIT;
}

void hist_add(struct hist *h, uint64_t v, uint64_t count)
{
	if (!count)
		return;
	if (!h->counts)
		h->counts = xcalloc(HIST_BUCKETS, sizeof *h->counts);
	uint32_t b = hist_bucket(v);
	h->counts[b] = sat_add(h->counts[b], count);
	if (!h->total || v < h->min)
		h->min = v;
	if (!h->total || v > h->max)
		h->max = v;
	h->total = sat_add(h->total, count);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->total)
		return;
	if (!dst->counts)
		dst->counts = xcalloc(HIST_BUCKETS, sizeof *dst->counts);
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		if (src->counts[i])
			dst->counts[i] = sat_add(dst->counts[i], src->counts[i]);
	if (!dst->total || src->min < dst->min)
		dst->min = src->min;
	if (!dst->total || src->max > dst->max)
		dst->max = src->max;
	dst->total = sat_add(dst->total, src->total);
}

uint64_t hist_count_at_or_below(const struct hist *h, uint64_t v)
{
	if (!h->total)
		return 0;
	uint32_t last = hist_bucket(v);
	uint64_t n = 0;
	for (uint32_t i = 0; i <= last; i++)
		n = sat_add(n, h->counts[i]);
	return n > h->total ? h->total : n;
}

uint64_t hist_count_above(const struct hist *h, uint64_t v)
{
	return h->total - hist_count_at_or_below(h, v);
}

uint64_t hist_percentile(const struct hist *h, unsigned permille)
{
	if (!h->total)
		return 0;
	if (permille == 0)
		return h->min;
	if (permille > 1000)
		permille = 1000;
	unsigned __int128 r = ((unsigned __int128)h->total * permille + 999) / 1000;
	uint64_t rank = r < 1 ? 1 : (uint64_t)r, seen = 0;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen = sat_add(seen, h->counts[i]);
		if (seen >= rank) {
			uint64_t v = hist_bucket_high(i);
			return v > h->max ? h->max : v < h->min ? h->min : v;
		}
	}
	return h->max;
}

uint64_t hist_next_bucket(const struct hist *h, uint32_t *i)
{
	if (!h->counts)
		return 0;
	for (uint32_t k = *i; k < HIST_BUCKETS; k++)
		if (h->counts[k]) {
			*i = k;
			return h->counts[k];
		}
	return 0;
}

uint64_t hist_exact_cap(void)
{
	const char *e = getenv("CPROF_EXACT_CAP");
	char *end;
	if (e && *e >= '0' && *e <= '9') {
		unsigned long long v = strtoull(e, &end, 10);
		if (!*end && v >= 1)
			return v;
	}
	return HIST_EXACT_CAP;
}

uint32_t hist_nonempty(const struct hist *h)
{
	uint32_t n = 0;
	if (h->counts)
		for (uint32_t i = 0; i < HIST_BUCKETS; i++)
			n += h->counts[i] != 0;
	return n;
}
