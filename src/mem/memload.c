/*
 * memload.c - read the shim's per-process streams (memtrace.h) and sum
 * them into the memory sections of a recording: per allocation stack,
 * counts and bytes, temporaries, what leaked, what was live at the peak;
 * per process, the peak, the size histogram and the heap over time.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/memtrace.h"

#define CURVE_SLICES 1000

static int load_file(const char *path, struct mem_proc_trace *t, struct cprof_err *err)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return err_set(err, errno, "cannot open '%s': %s", path, strerror(errno));
	struct sbuf b = SBUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		sbuf_add(&b, chunk, n);
	bool rerr = ferror(fp);
	fclose(fp);
	if (rerr) {
		sbuf_release(&b);
		return err_set(err, EIO, "cannot read '%s'", path);
	}
	const uint8_t *p = (const uint8_t *)b.buf, *end = p + b.len;
	if (b.len < sizeof t->h || memcmp(p, MEMTRACE_MAGIC, 8) != 0) {
		sbuf_release(&b);
		return err_set(err, EBADMSG, "'%s': not a cprof memory trace", path);
	}
	memcpy(&t->h, p, sizeof t->h);
	p += sizeof t->h;
	vec_push(&t->stacks, ((struct mem_stack_ref){ 0, 0, UINT64_MAX }));
	while (p < end) {
		if (*p == MT_STACK) {
			struct memtrace_stack s;
			if ((size_t)(end - p) < sizeof s)
				break;
			memcpy(&s, p, sizeof s);
			if (s.n > MEMTRACE_MAX_DEPTH || (size_t)(end - p) < sizeof s + 8 * (size_t)s.n)
				break;
			while (t->stacks.n <= s.id)
				vec_push(&t->stacks, ((struct mem_stack_ref){ 0, 0, UINT64_MAX }));
			t->stacks.v[s.id] = (struct mem_stack_ref){ (uint32_t)t->ips.n, s.n, UINT64_MAX };
			vec_reserve(&t->ips, t->ips.n + s.n);
			memcpy(t->ips.v + t->ips.n, p + sizeof s, 8 * (size_t)s.n);
			t->ips.n += s.n;
			p += sizeof s + 8 * (size_t)s.n;
		} else if (*p >= MT_ALLOC && *p <= MT_LOST) {
			struct memtrace_event e;
			if ((size_t)(end - p) < sizeof e)
				break;
			memcpy(&e, p, sizeof e);
			p += sizeof e;
			if (e.kind == MT_LOST)
				t->lost += e.size;
			else
				vec_push(&t->events, e);
		} else {
			break;
		}
	}
	t->malformed = (uint64_t)(end - p);
	sbuf_release(&b);
	return 0;
}

static int cmp_event_time(const void *a, const void *b)
{
	const struct memtrace_event *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return 0;
}

int memtrace_load_dir(const char *dir, struct mem_traces *t, struct cprof_err *err)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return err_set(err, errno, "cannot open '%s': %s", dir, strerror(errno));
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dp))) {
		if (strncmp(de->d_name, "mem.", 4) != 0)
			continue;
		struct sbuf path = SBUF_INIT;
		sbuf_addf(&path, "%s/%s", dir, de->d_name);
		struct mem_proc_trace pt = { 0 };
		r = load_file(path.buf, &pt, err);
		sbuf_release(&path);
		if (r < 0) {
			vec_release(&pt.ips);
			vec_release(&pt.stacks);
			vec_release(&pt.events);
			break;
		}
		/* Threads are in order each; merge them. qsort is not stable, but
		 * equal times only occur across threads, where order is moot. */
		qsort(pt.events.v, pt.events.n, sizeof *pt.events.v, cmp_event_time);
		for (size_t i = 0; i < pt.events.n; i++) {
			uint32_t s = pt.events.v[i].stack;
			if (s >= pt.stacks.n)
				pt.events.v[i].stack = 0; /* a stack record lost with a cut-off file */
			else if (pt.stacks.v[s].first_use == UINT64_MAX)
				pt.stacks.v[s].first_use = pt.events.v[i].time;
		}
		vec_push(&t->procs, pt);
	}
	closedir(dp);
	return r;
}

void memtrace_release(struct mem_traces *t)
{
	for (size_t i = 0; i < t->procs.n; i++) {
		vec_release(&t->procs.v[i].ips);
		vec_release(&t->procs.v[i].stacks);
		vec_release(&t->procs.v[i].events);
	}
	vec_release(&t->procs);
}

/* ---- live allocations: pointer -> (size, site), open addressing ---- */
struct live_slot {
	uint64_t ptr; /* 0 empty, 1 deleted */
	uint64_t size;
	uint32_t site;
	uint32_t kind;
};
struct live {
	struct live_slot *v;
	size_t cap, used, tomb;
};

static size_t live_hash(uint64_t p) { return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull); }

static struct live_slot *live_find(struct live *l, uint64_t ptr)
{
	if (!l->cap)
		return NULL;
	for (size_t i = live_hash(ptr) & (l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
		if (l->v[i].ptr == ptr)
			return &l->v[i];
		if (!l->v[i].ptr)
			return NULL;
	}
}

static void live_put(struct live *l, struct live_slot s);
static void live_grow(struct live *l)
{
	struct live old = *l;
	l->cap = old.cap ? old.cap * 2 : 1024;
	if (old.cap && old.used - old.tomb < old.cap / 4)
		l->cap = old.cap; /* mostly tombstones: rehash in place size */
	l->v = xcalloc(l->cap, sizeof *l->v);
	l->used = l->tomb = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].ptr > 1)
			live_put(l, old.v[i]);
	free(old.v);
}

static void live_put(struct live *l, struct live_slot s)
{
	if ((l->used + 1) * 4 >= l->cap * 3)
		live_grow(l);
	size_t i = live_hash(s.ptr) & (l->cap - 1);
	while (l->v[i].ptr > 1)
		i = (i + 1) & (l->cap - 1);
	if (!l->v[i].ptr)
		l->used++;
	else
		l->tomb--;
	l->v[i] = s;
}

static void live_del(struct live *l, struct live_slot *s)
{
	s->ptr = 1;
	l->tomb++;
}

/* ---- the analysis ---- */
struct thread_last {
	uint32_t tid;
	uint64_t ptr; /* its most recent allocation, 0 once something else happened */
};

struct state {
	const struct mem_proc_trace *t;
	struct cprof_data *d;
	const uint32_t *stack_map;
	uint32_t *site_of;     /* [stack id * 2 + kind] -> site index + 1 */
	size_t first_site;
	struct live live;
	VEC(struct thread_last) last;
	uint64_t heap, mmap;
};

static struct cprof_mem_site *site(struct state *s, uint32_t stack, uint32_t kind)
{
	uint32_t *slot = &s->site_of[(size_t)stack * 2 + kind];
	if (!*slot) {
		struct cprof_mem_site m = { .pid = s->t->h.pid, .stack = s->stack_map[stack], .kind = kind };
		vec_push(&s->d->mem_sites, m);
		*slot = (uint32_t)(s->d->mem_sites.n - s->first_site);
	}
	return &s->d->mem_sites.v[s->first_site + *slot - 1];
}

static uint64_t *last_of(struct state *s, uint32_t tid)
{
	for (size_t i = 0; i < s->last.n; i++)
		if (s->last.v[i].tid == tid)
			return &s->last.v[i].ptr;
	vec_push(&s->last, ((struct thread_last){ tid, 0 }));
	return &s->last.v[s->last.n - 1].ptr;
}

static unsigned hist_bucket(uint64_t size)
{
	unsigned b = size ? 64 - (unsigned)__builtin_clzll(size) : 0;
	return b < MP_HIST_BUCKETS ? b : MP_HIST_BUCKETS - 1;
}

/* Apply one event. Returns true if it freed something (for temporaries). */
static void apply(struct state *s, const struct memtrace_event *e, struct cprof_mem_proc *pr, bool tally)
{
	uint64_t *last = last_of(s, e->tid);
	if (e->kind == MT_FREE || e->kind == MT_MUNMAP || (e->kind == MT_REALLOC && e->aux)) {
		uint64_t ptr = e->kind == MT_REALLOC ? e->aux : e->ptr;
		struct live_slot *l = live_find(&s->live, ptr);
		uint32_t want = e->kind == MT_MUNMAP ? MEMK_MMAP : MEMK_HEAP;
		if (!l || l->kind != want) {
			if (tally && e->kind != MT_MUNMAP)
				pr->unmatched_frees++;
		} else {
			if (want == MEMK_HEAP)
				s->heap -= l->size;
			else
				s->mmap -= l->size;
			if (tally && e->kind == MT_FREE && *last == ptr) {
				struct cprof_mem_site *m = &s->d->mem_sites.v[s->first_site + l->site];
				m->temp_allocs++;
				m->temp_bytes += l->size;
				if (l->size > m->temp_max_size)
					m->temp_max_size = l->size;
			}
			live_del(&s->live, l);
		}
		*last = 0;
	}
	if (e->kind == MT_ALLOC || e->kind == MT_MMAP || (e->kind == MT_REALLOC && e->ptr)) {
		uint32_t kind = e->kind == MT_MMAP ? MEMK_MMAP : MEMK_HEAP;
		struct cprof_mem_site *m = site(s, e->stack, kind);
		uint32_t idx = (uint32_t)(m - s->d->mem_sites.v - s->first_site);
		struct live_slot *old = live_find(&s->live, e->ptr);
		if (old) { /* its free was never seen (freed where the shim could not look) */
			if (old->kind == MEMK_HEAP)
				s->heap -= old->size;
			else
				s->mmap -= old->size;
			live_del(&s->live, old);
		}
		live_put(&s->live, (struct live_slot){ e->ptr, e->size, idx, kind });
		if (kind == MEMK_HEAP)
			s->heap += e->size;
		else
			s->mmap += e->size;
		if (tally) {
			m->allocs++;
			m->bytes += e->size;
			if (e->size > m->max_size)
				m->max_size = e->size;
			if (kind == MEMK_HEAP)
				pr->hist[hist_bucket(e->size)]++;
		}
		*last = kind == MEMK_HEAP ? e->ptr : 0;
	}
}

void memtrace_analyze(const struct mem_proc_trace *t, const uint32_t *stack_map, struct cprof_data *d)
{
	struct state s = { .t = t, .d = d, .stack_map = stack_map, .first_site = d->mem_sites.n };
	s.site_of = xcalloc(t->stacks.n * 2, sizeof *s.site_of);
	struct cprof_mem_proc pr = { .pid = t->h.pid, .ppid = t->h.ppid, .events = t->events.n, .lost = t->lost,
				     .start_time = t->h.start_ns, .end_time = t->h.start_ns };
	size_t n = t->events.n, peak_at = 0;
	if (n)
		pr.end_time = t->events.v[n - 1].time;
	uint64_t span = pr.end_time - pr.start_time + 1;
	struct cprof_mem_point slice = { .pid = pr.pid };
	size_t slice_no = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		const struct memtrace_event *e = &t->events.v[i];
		apply(&s, e, &pr, true);
		if (s.heap > pr.peak_bytes) {
			pr.peak_bytes = s.heap;
			pr.peak_time = e->time;
			peak_at = i + 1;
		}
		if (s.mmap > pr.mmap_peak)
			pr.mmap_peak = s.mmap;
		size_t k = (size_t)((double)(e->time - pr.start_time) / (double)span * CURVE_SLICES);
		if (k != slice_no) {
			if (slice_no != SIZE_MAX)
				vec_push(&d->mem_curve, slice);
			slice_no = k;
			slice.time = e->time;
			slice.bytes = s.heap;
		} else if (s.heap > slice.bytes) {
			slice.time = e->time;
			slice.bytes = s.heap;
		}
	}
	if (slice_no != SIZE_MAX)
		vec_push(&d->mem_curve, slice);
	/* What is still live leaked. */
	for (size_t i = 0; i < s.live.cap; i++) {
		const struct live_slot *l = &s.live.v[i];
		if (l->ptr <= 1)
			continue;
		struct cprof_mem_site *m = &d->mem_sites.v[s.first_site + l->site];
		m->leaked++;
		m->leaked_bytes += l->size;
	}
	pr.end_bytes = s.heap;

	/* Replay up to the peak for what was live there. */
	free(s.live.v);
	s.live = (struct live){ 0 };
	s.heap = s.mmap = 0;
	for (size_t i = 0; i < peak_at; i++)
		apply(&s, &t->events.v[i], &pr, false);
	for (size_t i = 0; i < s.live.cap; i++) {
		const struct live_slot *l = &s.live.v[i];
		if (l->ptr <= 1 || l->kind != MEMK_HEAP)
			continue;
		struct cprof_mem_site *m = &d->mem_sites.v[s.first_site + l->site];
		m->peak_count++;
		m->peak_bytes += l->size;
	}
	vec_push(&d->mem_procs, pr);
	free(s.live.v);
	free(s.site_of);
	vec_release(&s.last);
}
