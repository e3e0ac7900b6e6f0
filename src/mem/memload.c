/*
 * memload.c - read the shim's per-process streams (memtrace.h) and sum
 * them into the memory sections of a recording: per allocation stack,
 * counts and bytes, temporaries, what leaked, what was live at the peak;
 * per process, the peak, the size histogram and the heap over time.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/data.h"
#include "cprof/memtrace.h"

#define CURVE_SLICES 1000

/* Visits a process's events in time order: each thread's runs are in
 * order already, so this merges them (k-way, k = threads) instead of
 * sorting millions of events. */
struct thread_cursor {
	uint32_t tid;
	VEC(size_t) runs;  /* indexes into t->runs */
	size_t run, i;
	uint64_t head;     /* time of the next event, UINT64_MAX when done */
};
struct merge {
	const struct mem_proc_trace *t;
	VEC(struct thread_cursor) th;
};

static const struct memtrace_event *cursor_event(const struct merge *m, const struct thread_cursor *c)
{
	const struct memtrace_run *r = &m->t->runs.v[c->runs.v[c->run]];
	return (const struct memtrace_event *)(const void *)(r->ptr + c->i * sizeof(struct memtrace_event));
}

static void cursor_settle(const struct merge *m, struct thread_cursor *c)
{
	while (c->run < c->runs.n && c->i >= m->t->runs.v[c->runs.v[c->run]].n) {
		c->run++;
		c->i = 0;
	}
	c->head = c->run < c->runs.n ? cursor_event(m, c)->time : UINT64_MAX;
}

static void merge_start(struct merge *m, const struct mem_proc_trace *t)
{
	memset(m, 0, sizeof *m);
	m->t = t;
	for (size_t r = 0; r < t->runs.n; r++) {
		size_t k = 0;
		while (k < m->th.n && m->th.v[k].tid != t->runs.v[r].tid)
			k++;
		if (k == m->th.n)
			vec_push(&m->th, ((struct thread_cursor){ .tid = t->runs.v[r].tid }));
		vec_push(&m->th.v[k].runs, r);
	}
	for (size_t k = 0; k < m->th.n; k++)
		cursor_settle(m, &m->th.v[k]);
}

static const struct memtrace_event *merge_next(struct merge *m)
{
	size_t best = SIZE_MAX;
	for (size_t k = 0; k < m->th.n; k++)
		if (m->th.v[k].head != UINT64_MAX && (best == SIZE_MAX || m->th.v[k].head < m->th.v[best].head))
			best = k;
	if (best == SIZE_MAX)
		return NULL;
	struct thread_cursor *c = &m->th.v[best];
	const struct memtrace_event *e = cursor_event(m, c);
	c->i++;
	cursor_settle(m, c);
	return e;
}

static void merge_end(struct merge *m)
{
	for (size_t k = 0; k < m->th.n; k++)
		vec_release(&m->th.v[k].runs);
	vec_release(&m->th);
}

static int load_file(const char *path, struct mem_proc_trace *t, struct cprof_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return err_set(err, e, "cannot open '%s': %s", path, strerror(e));
	}
	size_t len = (size_t)sb.st_size;
	const uint8_t *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		return err_set(err, errno, "cannot map '%s': %s", path, strerror(errno));
	if (len < sizeof t->h || memcmp(map, MEMTRACE_MAGIC, 8) != 0) {
		if (map)
			munmap((void *)map, len);
		return err_set(err, EBADMSG, "'%s': not a cprof memory trace", path);
	}
	const uint8_t *p = map, *end = map + len;
	memcpy(&t->h, p, sizeof t->h);
	p += sizeof t->h;
	vec_push(&t->stacks, ((struct mem_stack_ref){ 0, 0, UINT64_MAX }));
	t->map = map;
	t->map_len = len;
	t->first_time = UINT64_MAX;
	while ((size_t)(end - p) >= 4) {
		uint32_t word;
		memcpy(&word, p, 4);
		unsigned kind = MT_KIND(word);
		if (kind == MT_STACK) {
			struct memtrace_stack s;
			if ((size_t)(end - p) < sizeof s)
				break;
			memcpy(&s, p, sizeof s);
			uint32_t id = MT_LOW(word);
			if (s.n > MEMTRACE_MAX_DEPTH || (size_t)(end - p) < sizeof s + 8 * (size_t)s.n)
				break;
			while (t->stacks.n <= id)
				vec_push(&t->stacks, ((struct mem_stack_ref){ 0, 0, UINT64_MAX }));
			t->stacks.v[id] = (struct mem_stack_ref){ (uint32_t)t->ips.n, s.n, UINT64_MAX };
			vec_reserve(&t->ips, t->ips.n + s.n);
			memcpy(t->ips.v + t->ips.n, p + sizeof s, 8 * (size_t)s.n);
			t->ips.n += s.n;
			p += sizeof s + 8 * (size_t)s.n;
		} else if (kind >= MT_ALLOC && kind <= MT_LOST) {
			struct memtrace_event e;
			if ((size_t)(end - p) < sizeof e)
				break;
			memcpy(&e, p, sizeof e);
			p += sizeof e;
			if (kind == MT_LOST) {
				t->lost += e.size;
				continue;
			}
			struct memtrace_run *r = t->runs.n ? &t->runs.v[t->runs.n - 1] : NULL;
			if (r && r->tid == e.tid && r->ptr + r->n * sizeof e == p - sizeof e)
				r->n++;
			else
				vec_push(&t->runs, ((struct memtrace_run){ p - sizeof e, e.tid, 1 }));
			t->nevents++;
			if (e.time < t->first_time)
				t->first_time = e.time;
			if (e.time > t->last_time)
				t->last_time = e.time;
			uint32_t st = MT_LOW(e.kind_stack);
			if (st < t->stacks.n && t->stacks.v[st].first_use == UINT64_MAX)
				t->stacks.v[st].first_use = e.time;
		} else {
			break;
		}
	}
	t->malformed = (uint64_t)(end - p);
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
		vec_push(&t->procs, pt);
		if (r < 0)
			break;
	}
	closedir(dp);
	return r;
}

void memtrace_release(struct mem_traces *t)
{
	for (size_t i = 0; i < t->procs.n; i++) {
		vec_release(&t->procs.v[i].ips);
		vec_release(&t->procs.v[i].stacks);
		vec_release(&t->procs.v[i].runs);
		if (t->procs.v[i].map)
			munmap((void *)t->procs.v[i].map, t->procs.v[i].map_len);
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

/* Apply one event; tally counts it (the peak replay does not). */
static void apply(struct state *s, const struct memtrace_event *e, struct cprof_mem_proc *pr, bool tally)
{
	unsigned kind = MT_KIND(e->kind_stack);
	uint64_t *last = last_of(s, e->tid);
	if (kind == MT_FREE || kind == MT_MUNMAP || kind == MT_REALLOC_FREE) {
		struct live_slot *l = live_find(&s->live, e->ptr);
		uint32_t want = kind == MT_MUNMAP ? MEMK_MMAP : MEMK_HEAP;
		if (!l || l->kind != want) {
			if (tally && kind != MT_MUNMAP)
				pr->unmatched_frees++;
		} else {
			if (want == MEMK_HEAP)
				s->heap -= l->size;
			else
				s->mmap -= l->size;
			if (tally && kind == MT_FREE && *last == e->ptr) {
				struct cprof_mem_site *m = &s->d->mem_sites.v[s->first_site + l->site];
				m->temp_allocs++;
				m->temp_bytes += l->size;
				if (l->size > m->temp_max_size)
					m->temp_max_size = l->size;
			}
			live_del(&s->live, l);
		}
		*last = 0;
		return;
	}
	uint32_t mk = kind == MT_MMAP ? MEMK_MMAP : MEMK_HEAP;
	uint32_t stack = MT_LOW(e->kind_stack);
	if (stack >= s->t->stacks.n)
		stack = 0; /* its stack record was lost with a cut-off file */
	struct cprof_mem_site *m = site(s, stack, mk);
	uint32_t idx = (uint32_t)(m - s->d->mem_sites.v - s->first_site);
	struct live_slot *old = live_find(&s->live, e->ptr);
	if (old) { /* its free was never seen (freed where the shim could not look) */
		if (old->kind == MEMK_HEAP)
			s->heap -= old->size;
		else
			s->mmap -= old->size;
		live_del(&s->live, old);
	}
	live_put(&s->live, (struct live_slot){ e->ptr, e->size, idx, mk });
	if (mk == MEMK_HEAP)
		s->heap += e->size;
	else
		s->mmap += e->size;
	if (tally) {
		m->allocs++;
		m->bytes += e->size;
		if (e->size > m->max_size)
			m->max_size = e->size;
		if (mk == MEMK_HEAP)
			pr->hist[hist_bucket(e->size)]++;
	}
	*last = mk == MEMK_HEAP ? e->ptr : 0;
}

void memtrace_analyze(const struct mem_proc_trace *t, const uint32_t *stack_map, struct cprof_data *d)
{
	struct state s = { .t = t, .d = d, .stack_map = stack_map, .first_site = d->mem_sites.n };
	s.site_of = xcalloc(t->stacks.n * 2, sizeof *s.site_of);
	struct cprof_mem_proc pr = { .pid = t->h.pid, .ppid = t->h.ppid, .events = t->nevents, .lost = t->lost,
				     .start_time = t->h.start_ns, .end_time = t->h.start_ns };
	size_t peak_at = 0, nev = 0;
	if (t->nevents)
		pr.end_time = t->last_time;
	uint64_t span = pr.end_time - pr.start_time + 1;
	struct cprof_mem_point slice = { .pid = pr.pid };
	size_t slice_no = SIZE_MAX;

	struct merge mg;
	merge_start(&mg, t);
	for (const struct memtrace_event *e; (e = merge_next(&mg)); nev++) {
		apply(&s, e, &pr, true);
		if (s.heap > pr.peak_bytes) {
			pr.peak_bytes = s.heap;
			pr.peak_time = e->time;
			peak_at = nev + 1;
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
	merge_end(&mg);
	merge_start(&mg, t);
	for (size_t k = 0; k < peak_at; k++)
		apply(&s, merge_next(&mg), &pr, false);
	merge_end(&mg);
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
