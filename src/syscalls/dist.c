/*
 * dist.c - each syscall's latency distribution (sys_dist): a histogram
 * over all threads, written to the data file, and the durations kept one
 * by one for exact percentiles until the syscall has hist_exact_cap() of
 * them; past it, its percentiles come from histograms.
 */
#include <stdlib.h>

#include "sys-internal.h"

struct sys_dist *sys_dist_of(struct sys_trace *t, uint32_t nr)
{
	int64_t i = u64map_get(&t->dist_idx, nr);
	if (i >= 0)
		return &t->dists.v[i];
	u64map_put(&t->dist_idx, nr, (uint32_t)t->dists.n);
	vec_push(&t->dists, ((struct sys_dist){ .nr = nr, .h = HIST_INIT }));
	return &t->dists.v[t->dists.n - 1];
}

/* Past the cap each cell counts its durations, those kept before
 * included, in a histogram of its own, so its thread's row stays right. */
void sys_dist_add(struct sys_trace *t, struct sys_cell *c, uint64_t dur)
{
	struct sys_dist *ds = sys_dist_of(t, c->nr);
	hist_add(&ds->h, dur, 1);
	if (!ds->approx && ds->kept < t->cap) {
		vec_push(&c->durs, dur);
		ds->kept++;
		return;
	}
	ds->approx = true;
	if (!c->hist) {
		c->hist = xcalloc(1, sizeof *c->hist);
		for (size_t i = 0; i < c->durs.n; i++)
			hist_add(c->hist, c->durs.v[i], 1);
		vec_release(&c->durs);
	}
	hist_add(c->hist, dur, 1);
}
