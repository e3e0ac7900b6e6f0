/*
 * percentile.c - exact nearest-rank percentiles of latencies (percentile.h).
 * Sorting is a radix sort on the 64-bit values: latencies number in the
 * millions per recording, and qsort's comparison calls cost more than the
 * four passes over bytes that matter.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/base.h"
#include "cprof/hist.h"
#include "cprof/percentile.h"

const char *const pct_names[PCT_N] = { "min", "p50", "p90", "p95", "p99", "p99.9", "max" };
const unsigned pct_permille[PCT_N] = { 0, 500, 900, 950, 990, 999, 1000 };

uint64_t pct_of_sorted(const uint64_t *v, size_t n, unsigned permille)
{
	if (permille == 0)
		return v[0];
	/* rank = ceil(n * permille / 1000), from 1 to n */
	unsigned __int128 r = ((unsigned __int128)n * permille + 999) / 1000;
	size_t rank = r < 1 ? 1 : r > n ? n : (size_t)r;
	return v[rank - 1];
}

/* LSD radix sort by 16-bit digits, skipping the digits all values share. */
static void sort_u64(uint64_t *v, size_t n)
{
	if (n < 64) {
		for (size_t i = 1; i < n; i++) { /* insertion sort */
			uint64_t x = v[i];
			size_t j = i;
			for (; j > 0 && v[j - 1] > x; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	uint64_t or_all = 0, and_all = ~0ULL;
	for (size_t i = 0; i < n; i++) {
		or_all |= v[i];
		and_all &= v[i];
	}
	uint64_t *tmp = xmalloc(n * sizeof *tmp), *src = v, *dst = tmp;
	size_t *count = xmalloc(65536 * sizeof *count);
	for (unsigned shift = 0; shift < 64; shift += 16) {
		if ((((or_all ^ and_all) >> shift) & 0xffff) == 0)
			continue; /* every value has the same digit here */
		memset(count, 0, 65536 * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xffff]++;
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(count);
	free(tmp);
}

void pct_summarize(uint64_t *v, size_t n, uint64_t out[PCT_N])
{
	if (n == 0) {
		memset(out, 0, PCT_N * sizeof *out);
		return;
	}
	sort_u64(v, n);
	for (int i = 0; i < PCT_N; i++)
		out[i] = pct_of_sorted(v, n, pct_permille[i]);
}

void pct_summarize_hist(const struct hist *h, uint64_t out[PCT_N])
{
	for (int k = 0; k < PCT_N; k++)
		out[k] = hist_percentile(h, pct_permille[k]);
}
