/*
 * evcols.c - every event of a recording for the functions of one profile
 * (see evcols.h). Each event gets a profile of its own, built with the
 * same filters, and the functions are matched by name and binary: the
 * identity profile.c gives a function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/evcols.h"
#include "cprof/u64map.h"

/* The event's name without modifiers or terms: "cycles" for cycles:u. */
static bool base_is(const char *name, const char *want)
{
	size_t n = strcspn(name, ":/");
	return strlen(want) == n && strncmp(name, want, n) == 0;
}

int evcols_build(struct evcols *c, const struct profile *p, const struct profile_filter *f, const uint32_t *rows,
		 size_t n, struct cprof_err *err)
{
	const struct cprof_data *d = p->d;
	memset(c, 0, sizeof *c);
	c->nevents = d->events.n;
	c->nrows = n;
	c->cycles = c->instructions = -1;
	c->rows = xmalloc((n ? n : 1) * sizeof *c->rows);
	if (n)
		memcpy(c->rows, rows, n * sizeof *rows);
	c->self = xcalloc((n ? n : 1) * (c->nevents ? c->nevents : 1), sizeof *c->self);
	c->total = xcalloc(c->nevents ? c->nevents : 1, sizeof *c->total);
	/* Rows by (name, binary), as strings of the one data. */
	struct u64map at = U64MAP_INIT;
	for (size_t r = 0; r < n; r++) {
		const struct profile_func *fn = &p->funcs.v[rows[r]];
		u64map_put(&at, (uint64_t)fn->name << 32 | fn->dso, (uint32_t)r);
	}
	for (size_t e = 0; e < c->nevents; e++) {
		struct profile q;
		struct profile_filter fe = *f;
		fe.event = (int)e;
		int rc = profile_build(&q, d, &fe, err);
		if (rc < 0) {
			u64map_release(&at);
			evcols_release(c);
			return rc;
		}
		c->total[e] = q.total_weight;
		for (size_t i = 0; i < q.funcs.n; i++) {
			const struct profile_func *fn = &q.funcs.v[i];
			int64_t r = u64map_get(&at, (uint64_t)fn->name << 32 | fn->dso);
			if (r >= 0)
				c->self[(size_t)r * c->nevents + e] += fn->self;
		}
		profile_release(&q);
		const char *name = cprof_str(d, d->events.v[e].name);
		if (c->total[e] && c->cycles < 0 && (base_is(name, "cycles") || base_is(name, "cpu-cycles")))
			c->cycles = (int)e;
		if (c->total[e] && c->instructions < 0 && base_is(name, "instructions"))
			c->instructions = (int)e;
	}
	u64map_release(&at);
	return 0;
}

void evcols_release(struct evcols *c)
{
	free(c->rows);
	free(c->self);
	free(c->total);
	memset(c, 0, sizeof *c);
}

double evcols_ipc(const struct evcols *c, size_t r)
{
	if (c->cycles < 0 || c->instructions < 0)
		return -1;
	uint64_t cyc, ins;
	if (r == SIZE_MAX) {
		cyc = c->total[c->cycles];
		ins = c->total[c->instructions];
	} else {
		cyc = c->self[r * c->nevents + (size_t)c->cycles];
		ins = c->self[r * c->nevents + (size_t)c->instructions];
	}
	return cyc && ins ? (double)ins / (double)cyc : -1;
}
