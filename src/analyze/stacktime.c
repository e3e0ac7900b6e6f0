/*
 * stacktime.c - a source's time by stack (stacktime.h), from the rows the
 * recording kept per (key, process, stack).
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/flamegraph.h"
#include "cprof/profile.h"
#include "cprof/stacktime.h"

static int cmp_row(const void *a, const void *b)
{
	const struct stacktime_row *x = a, *y = b;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

void stacktime_build(struct stacktime *st, const struct cprof_data *d, uint32_t source)
{
	memset(st, 0, sizeof *st);
	for (size_t i = 0; i < d->lat_stacks.n; i++) {
		const struct cprof_lat_stack *k = &d->lat_stacks.v[i];
		if (k->source == source && !k->tid)
			vec_push(&st->rows, ((struct stacktime_row){ k->stack, k->key, k->total_ns, k->calls }));
	}
	if (!st->rows.n)
		return;
	/* Processes (and addresses that named the same frames) are summed. */
	sort_n(st->rows.v, st->rows.n, sizeof *st->rows.v, cmp_row);
	size_t out = 0;
	for (size_t i = 0; i < st->rows.n; i++) {
		struct stacktime_row *r = &st->rows.v[i];
		if (out && st->rows.v[out - 1].stack == r->stack && st->rows.v[out - 1].key == r->key) {
			st->rows.v[out - 1].ns += r->ns;
			st->rows.v[out - 1].calls += r->calls;
		} else {
			st->rows.v[out++] = *r;
		}
	}
	st->rows.n = out;
}

void stacktime_release(struct stacktime *st) { vec_release(&st->rows); }

void stacktime_flame(struct flamegraph *g, const struct cprof_data *d, uint32_t source, stacktime_name_fn *name,
		     void *ctx)
{
	struct stacktime st;
	stacktime_build(&st, d, source);
	VEC(uint32_t) names = { 0 };
	struct sbuf label = SBUF_INIT;
	for (size_t i = 0; i < st.rows.n; i++) {
		const struct stacktime_row *r = &st.rows.v[i];
		if (!r->ns)
			continue;
		names.n = 0;
		if (r->stack == LAT_NO_STACK || !cprof_stack_len(d, r->stack)) {
			vec_push(&names, fg_intern(g, STACKTIME_NO_STACK_LABEL, strlen(STACKTIME_NO_STACK_LABEL)));
		} else {
			const uint32_t *f = cprof_stack_frames(d, r->stack);
			for (uint32_t k = cprof_stack_len(d, r->stack); k-- > 0;) {
				sbuf_reset(&label);
				profile_frame_label(d, &d->frames.v[f[k]], &label);
				vec_push(&names, fg_intern(g, label.buf, label.len));
			}
		}
		const char *leaf = name(d, r->key, ctx);
		vec_push(&names, fg_intern(g, leaf, strlen(leaf)));
		fg_add_stack(g, names.v, names.n, r->ns);
	}
	sbuf_release(&label);
	vec_release(&names);
	stacktime_release(&st);
}

/* One pass over the rows: a report asks for every (key, thread), and
 * scanning the rows for each made a report of many threads quadratic. */
void stacktime_oncpu_build(struct stacktime_oncpu *o, const struct cprof_data *d, uint32_t source)
{
	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < d->lat_stacks.n; i++) {
		const struct cprof_lat_stack *k = &d->lat_stacks.v[i];
		if (k->source != source)
			continue;
		uint64_t at = (uint64_t)k->key << 32 | k->tid;
		int64_t j = u64map_get(&o->at, at);
		if (j < 0) {
			j = (int64_t)o->v.n;
			u64map_put(&o->at, at, (uint32_t)j);
			vec_push(&o->v, ((struct stacktime_sum){ 0, 0, true }));
		}
		struct stacktime_sum *s = &o->v.v[j];
		s->measured &= k->has_oncpu;
		s->total += k->total_ns;
		s->oncpu += k->oncpu_ns;
	}
}

bool stacktime_oncpu_get(const struct stacktime_oncpu *o, uint32_t key, uint32_t tid, uint64_t *total,
			 uint64_t *oncpu)
{
	int64_t j = u64map_get(&o->at, (uint64_t)key << 32 | tid);
	*total = *oncpu = 0;
	if (j < 0 || !o->v.v[j].measured)
		return false;
	*total = o->v.v[j].total;
	*oncpu = o->v.v[j].oncpu;
	return true;
}

void stacktime_oncpu_release(struct stacktime_oncpu *o)
{
	u64map_release(&o->at);
	vec_release(&o->v);
}
