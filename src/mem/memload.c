/*
 * memload.c - read the regions the shim kept its sums in (memtrace.h) and
 * turn them into the memory sections of a recording: per allocation
 * stack, counts and bytes, temporaries, what leaked, what was live at the
 * peak; per process, the peak, the size histogram and the heap over time.
 *
 * A region is memory the workload wrote: every offset, count and length
 * is checked against the region's size before it is followed, each field
 * is read once, and what does not hold together is skipped and counted.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/memtrace.h"

_Static_assert(MEMTRACE_HIST == MP_HIST_BUCKETS, "histogram buckets");
_Static_assert((int)MT_HEAP == (int)MEMK_HEAP && (int)MT_MMAP == (int)MEMK_MMAP, "kinds");

int memtrace_check(const void *map, size_t len, const char *name, struct cprof_err *err)
{
	const struct memtrace_header *h = map;
	if (len < sizeof *h)
		return err_set(err, EINVAL, "memory trace '%s' is cut short: %zu bytes, its header alone is %zu", name,
			       len, sizeof *h);
	if (memcmp(h->magic, MEMTRACE_MAGIC, 8) != 0) {
		/* The last byte of the magic is the format's version. */
		if (memcmp(h->magic, MEMTRACE_MAGIC, 7) == 0)
			return err_set(err, EINVAL, "memory trace '%s' is of format %c; this cprof reads format %c",
				       name, h->magic[7], MEMTRACE_MAGIC[7]);
		return err_set(err, EINVAL, "'%s' is not a memory trace (no " MEMTRACE_MAGIC " magic)", name);
	}
	if (h->size > len)
		return err_set(err, EINVAL, "memory trace '%s' is cut short: %zu of its %llu bytes", name, len,
			       (unsigned long long)h->size);
	return 0;
}

uint32_t memtrace_nstacks(const struct mem_region *r, uint64_t *bad)
{
	uint32_t ns = ((const struct memtrace_header *)(const void *)r->map)->nstacks;
	if (ns >= 1 && ns <= MEMTRACE_MAX_STACKS)
		return ns;
	(*bad)++;
	return 1;
}

/* A pointer to len bytes at off, or NULL if that leaves the region. */
static const void *in_region(const struct mem_region *r, uint64_t off, uint64_t len)
{
	if (off < sizeof(struct memtrace_header) || off > r->len || len > r->len - off)
		return NULL;
	return r->map + off;
}

static const struct memtrace_header *header(const struct mem_region *r)
{
	return (const struct memtrace_header *)(const void *)r->map;
}

void memtrace_stacks(const struct mem_region *r, struct mem_stacks *s, uint64_t *bad)
{
	const struct memtrace_header *h = header(r);
	vec_push(&s->off, 0); /* id 0: the empty stack */
	vec_push(&s->n, 0);
	vec_push(&s->time, r->start_ns);
	for (uint32_t id = 1; id < r->nstacks; id++) {
		uint32_t dir = h->stack_dir[id / MEMTRACE_STACK_CHUNK];
		const uint32_t *chunk = in_region(r, dir, MEMTRACE_STACK_CHUNK * sizeof(uint32_t));
		const struct memtrace_stack *st = chunk ? in_region(r, chunk[id % MEMTRACE_STACK_CHUNK], sizeof *st) : NULL;
		uint32_t n = st ? st->n : 0;
		uint64_t t = st ? st->time : 0;
		const uint64_t *ips = st && n <= MEMTRACE_MAX_DEPTH
					      ? in_region(r, chunk[id % MEMTRACE_STACK_CHUNK] + sizeof *st, n * sizeof(uint64_t))
					      : NULL;
		if (!ips) {
			(*bad)++;
			n = 0; /* its allocations are kept, without a stack */
		}
		vec_push(&s->off, (uint32_t)s->ips.n);
		vec_push(&s->n, n);
		vec_push(&s->time, t ? t : r->start_ns);
		vec_reserve(&s->ips, s->ips.n + n);
		if (n)
			memcpy(s->ips.v + s->ips.n, ips, n * sizeof *ips);
		s->ips.n += n;
	}
}

void mem_stacks_release(struct mem_stacks *s)
{
	vec_release(&s->ips);
	vec_release(&s->off);
	vec_release(&s->n);
	vec_release(&s->time);
}

/* One site summed over threads. */
struct acc {
	bool seen;
	uint64_t allocs, bytes, max_size, temp_allocs, temp_bytes, temp_max_size;
	int64_t live_count, live_bytes, d_count, d_bytes;
	double count, ebytes, var_count, var_bytes, elive_count, elive_bytes, elive_var_count, elive_var_bytes;
};

static uint64_t clamp(int64_t v) { return v > 0 ? (uint64_t)v : 0; }
static double clampd(double v) { return v > 0 && isfinite(v) ? v : 0; }

void memtrace_analyze(const struct mem_region *r, const uint32_t *stack_map, uint32_t nstack_map,
		      struct cprof_data *d, struct memtrace_totals *tot)
{
	const struct memtrace_header *h = header(r);
	uint64_t bad = 0;
	bool sampled = h->mode == MT_MODE_SAMPLE;
	uint32_t nsites = r->nstacks * 2;
	struct acc *a = xcalloc(nsites ? nsites : 1, sizeof *a);
	struct memtrace_events ev;
	memcpy(&ev, &h->ev, sizeof ev);
	struct cprof_mem_proc pr = { .pid = r->pid, .ppid = r->ppid, .events = ev.seq, .lost = h->lost,
				     .peak_bytes = sampled ? 0 : ev.peak, .peak_time = ev.peak_time,
				     .start_time = r->start_ns, .mmap_peak = ev.mmap_peak };
	double whist[MEMTRACE_HIST] = { 0 };

	/* Threads, and each thread's chunks of site entries. A list longer
	 * than the region could hold is a loop. */
	size_t max_blocks = r->len / sizeof(struct memtrace_thread) + 1;
	uint32_t toff = h->threads;
	for (size_t nt = 0; toff && nt < max_blocks; nt++) {
		const struct memtrace_thread *t = in_region(r, toff, sizeof *t);
		if (!t) {
			bad++;
			break;
		}
		pr.unmatched_frees += t->unmatched_frees;
		if (!sampled) { /* what the thread counted that was not in the totals yet */
			ev.heap += (uint64_t)t->pend_heap;
			ev.seq += t->pend_events;
		}
		tot->seen_allocs += t->seen_allocs;
		tot->seen_bytes += t->seen_bytes;
		for (int b = 0; b < MEMTRACE_HIST; b++) {
			pr.hist[b] += t->hist[b];
			whist[b] += clampd(t->whist[b]);
		}
		uint32_t coff = t->sites;
		size_t max_chunks = r->len / sizeof(struct memtrace_site_chunk) + 1;
		for (size_t nc = 0; coff && nc < max_chunks; nc++) {
			const struct memtrace_site_chunk *c = in_region(r, coff, sizeof *c);
			if (!c) {
				bad++;
				break;
			}
			uint32_t n = c->n;
			if (n > MEMTRACE_SITE_CHUNK) {
				bad++;
				n = MEMTRACE_SITE_CHUNK;
			}
			for (uint32_t i = 0; i < n; i++) {
				const struct memtrace_site *e = &c->e[i];
				uint32_t site = e->site;
				if (site >= nsites) {
					bad++;
					continue;
				}
				struct acc *x = &a[site];
				x->seen = true;
				x->allocs += e->allocs;
				x->bytes += e->bytes;
				if (!sampled && site % 2 == MT_HEAP) { /* the exact tracer keeps no separate count */
					tot->seen_allocs += e->allocs;
					tot->seen_bytes += e->bytes;
				}
				if (e->max_size > x->max_size)
					x->max_size = e->max_size;
				if (sampled) {
					x->count += e->s.count;
					x->ebytes += e->s.bytes;
					x->var_count += e->s.var_count;
					x->var_bytes += e->s.var_bytes;
					x->elive_count += e->s.live_count;
					x->elive_bytes += e->s.live_bytes;
					x->elive_var_count += e->s.live_var_count;
					x->elive_var_bytes += e->s.live_var_bytes;
					continue;
				}
				x->temp_allocs += e->x.temp_allocs;
				x->temp_bytes += e->x.temp_bytes;
				if (e->x.temp_max_size > x->temp_max_size)
					x->temp_max_size = e->x.temp_max_size;
				x->live_count += e->x.live_count;
				x->live_bytes += e->x.live_bytes;
				/* Only what changed since the final peak is undone. */
				if (e->x.tag == ev.epoch) {
					x->d_count += e->x.d_count;
					x->d_bytes += e->x.d_bytes;
				}
			}
			coff = c->next;
		}
		toff = t->next;
	}
	pr.events = ev.seq;
	if (!sampled)
		tot->locked_events += ev.locked;

	for (uint32_t site = 0; site < nsites; site++) {
		const struct acc *x = &a[site];
		if (!x->seen)
			continue;
		uint32_t id = site / 2, kind = site % 2;
		uint32_t stack = id < nstack_map ? stack_map[id] : 0;
		if (sampled) {
			struct cprof_mem_est e = { .pid = r->pid, .stack = stack, .kind = kind, .samples = x->allocs,
						   .max_size = x->max_size, .count = clampd(x->count),
						   .bytes = clampd(x->ebytes), .var_count = clampd(x->var_count),
						   .var_bytes = clampd(x->var_bytes) };
			/* Live estimates are sums of +w and -w: round off what is left
			 * of a cancelled sum, and never claim more than was allocated. */
			e.live_count = x->elive_count < 1e-6 * (e.count + 1) ? 0 : fmin(x->elive_count, e.count);
			e.live_bytes = x->elive_bytes < 1e-6 * (e.bytes + 1) ? 0 : fmin(x->elive_bytes, e.bytes);
			e.live_var_count = e.live_count ? clampd(x->elive_var_count) : 0;
			e.live_var_bytes = e.live_bytes ? clampd(x->elive_var_bytes) : 0;
			if (x->allocs || e.live_count)
				vec_push(&d->mem_est, e);
			continue;
		}
		uint64_t leaked = clamp(x->live_count), leaked_bytes = clamp(x->live_bytes);
		struct cprof_mem_site m = { .pid = r->pid, .stack = stack, .kind = kind, .allocs = x->allocs,
					    .bytes = x->bytes, .temp_allocs = x->temp_allocs, .temp_bytes = x->temp_bytes,
					    .leaked = leaked, .leaked_bytes = leaked_bytes, .max_size = x->max_size,
					    .temp_max_size = x->temp_max_size };
		if (kind == MT_HEAP) {
			m.peak_count = clamp(x->live_count - x->d_count);
			m.peak_bytes = clamp(x->live_bytes - x->d_bytes);
		}
		/* Counts that do not add up (a torn read of a live process) are
		 * cut to what the file format allows. */
		if (m.leaked > m.allocs || m.peak_count > m.allocs || m.temp_allocs > m.allocs) {
			bad++;
			m.leaked = m.leaked > m.allocs ? m.allocs : m.leaked;
			m.peak_count = m.peak_count > m.allocs ? m.allocs : m.peak_count;
			m.temp_allocs = m.temp_allocs > m.allocs ? m.allocs : m.temp_allocs;
		}
		if (m.allocs || m.leaked)
			vec_push(&d->mem_sites, m);
	}
	free(a);

	if (sampled) {
		for (int b = 0; b < MEMTRACE_HIST; b++)
			pr.hist[b] = (uint64_t)llround(whist[b]);
		pr.end_bytes = 0;
		for (size_t i = 0; i < d->mem_est.n; i++)
			if (d->mem_est.v[i].pid == r->pid && d->mem_est.v[i].kind == MEMK_HEAP)
				pr.end_bytes += (uint64_t)llround(d->mem_est.v[i].live_bytes);
	} else {
		pr.end_bytes = ev.heap;
	}

	/* The heap over time, ending with what was pending at the end. */
	uint32_t n = ev.curve_n <= MEMTRACE_CURVE_CAP ? ev.curve_n : MEMTRACE_CURVE_CAP;
	uint64_t end = h->end_ns, last = r->start_ns;
	for (uint32_t i = 0; i < n; i++) {
		struct memtrace_point c = h->curve[i];
		if (c.time < last) { /* out of order: torn or damaged */
			bad++;
			continue;
		}
		last = c.time;
		vec_push(&d->mem_curve, ((struct cprof_mem_point){ .pid = r->pid, .time = c.time, .bytes = c.bytes }));
	}
	if (!end) /* exit handlers did not run (killed, exec): the run in progress */
		vec_push(&d->mem_curve, ((struct cprof_mem_point){ .pid = r->pid, .time = last, .bytes = ev.win_max }));
	pr.end_time = end > last ? end : last;
	if (pr.peak_time < pr.start_time || pr.peak_time > pr.end_time)
		pr.peak_time = pr.start_time;
	vec_push(&d->mem_procs, pr);
	tot->damaged += bad;
}
