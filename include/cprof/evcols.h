/*
 * evcols.h - the events of one recording side by side: for a list of
 * functions of a profile (one event's), what every recorded event weighs
 * in each (self), and instructions per cycle where both cycles and
 * instructions were counted (sampled, or read in a leader-sampled group).
 * The same filters apply to every event; each column's shares are of that
 * event's own total.
 */
#ifndef CPROF_EVCOLS_H
#define CPROF_EVCOLS_H

#include "cprof/profile.h"

struct evcols {
	size_t nevents, nrows;
	uint32_t *rows;         /* function indexes of the profile given */
	uint64_t *self;         /* nrows x nevents: self weight of row r, event e at [r * nevents + e] */
	uint64_t *total;        /* per event: its weight after filtering */
	int cycles, instructions; /* event indexes, -1 if absent or empty */
};

/* Fill c for the functions rows[0..n) of p (borrowed; copied), every event
 * of p's data filtered by f (its event field is ignored). */
int evcols_build(struct evcols *c, const struct profile *p, const struct profile_filter *f, const uint32_t *rows,
		 size_t n, struct cprof_err *err) CPROF_WUR;
void evcols_release(struct evcols *c);
/* IPC of row r, or -1 where either count is 0 or the events are absent;
 * r = SIZE_MAX: of the whole profile. */
double evcols_ipc(const struct evcols *c, size_t r);

#endif
