/*
 * test-memload.c - the memory reader (src/mem/memload.c) on regions laid
 * out as the preloaded shim lays them out (memtrace.h), written to files
 * and read back: counts and bytes per allocation stack, frees matched to
 * their allocations across threads, leaks, the peak and what was live at
 * it, realloc, frees of unknown pointers, mmap, sample-mode estimates, and
 * damaged or foreign files (an error naming the file, or the damage
 * counted; never a crash).
 *
 * Exact-mode regions come from a model of the shim's exact_event and
 * exact_free (shim.c), counting at a site with the shim's own helpers
 * (memtrace.h): each table row is a script of calls and the numbers a
 * reader must find, worked out by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof/data.h"
#include "cprof/memtrace.h"
#include "harness.h"

#define REGION_SIZE (256 * 1024)
#define STACK_BASE 1000 /* cprof's stack index of region stack id i: STACK_BASE + i */
#define START_NS 1000000
#define MAX_THREADS 4
#define MAX_LIVE 32

static char dir[64];

/* ---- the shim's side: a region and the bookkeeping of exact mode ---- */
struct model {
	uint8_t *buf;
	uint32_t thread[MAX_THREADS]; /* offset of each thread's block, 0 = not yet */
	uint64_t last[MAX_THREADS];   /* its newest heap block, for temporaries */
	struct {
		uint64_t ptr, size;
		uint32_t site;
	} live[MAX_LIVE];
	uint64_t clock;
};

static struct memtrace_header *hdr(struct model *m)
{
	return (struct memtrace_header *)(void *)m->buf;
}

static void *at(struct model *m, uint32_t off)
{
	return m->buf + off;
}

/* The shim's bump allocator: 64-byte aligned, never given back. */
static uint32_t region_alloc(struct model *m, size_t n)
{
	struct memtrace_header *h = hdr(m);
	n = (n + 63) & ~(size_t)63;
	ASSERT(h->used + n <= h->size);
	uint32_t off = (uint32_t)h->used;
	h->used += n;
	return off;
}

static void model_init(struct model *m, uint32_t mode)
{
	memset(m, 0, sizeof *m);
	m->buf = xcalloc(1, REGION_SIZE);
	struct memtrace_header *h = hdr(m);
	memcpy(h->magic, MEMTRACE_MAGIC, 8);
	h->mode = mode;
	h->pid = 4242;
	h->ppid = 1;
	h->nstacks = 1;
	h->start_ns = START_NS;
	h->size = REGION_SIZE;
	h->used = (sizeof *h + 63) & ~(uint64_t)63;
	m->clock = START_NS;
}

/* Stack id nstacks, of n return addresses (base, base + 1, ...). */
static uint32_t add_stack(struct model *m, uint32_t n, uint64_t base)
{
	struct memtrace_header *h = hdr(m);
	uint32_t id = h->nstacks;
	uint32_t *dir_off = &h->stack_dir[id / MEMTRACE_STACK_CHUNK];
	if (!*dir_off)
		*dir_off = region_alloc(m, MEMTRACE_STACK_CHUNK * sizeof(uint32_t));
	uint32_t off = region_alloc(m, sizeof(struct memtrace_stack) + n * sizeof(uint64_t));
	struct memtrace_stack *s = at(m, off);
	s->time = START_NS + id;
	s->n = n;
	for (uint32_t i = 0; i < n; i++)
		s->ips[i] = base + i;
	((uint32_t *)at(m, *dir_off))[id % MEMTRACE_STACK_CHUNK] = off;
	h->nstacks = id + 1;
	return id;
}

static struct memtrace_thread *thread(struct model *m, unsigned t)
{
	ASSERT(t < MAX_THREADS);
	if (!m->thread[t]) {
		struct memtrace_header *h = hdr(m);
		m->thread[t] = region_alloc(m, sizeof(struct memtrace_thread));
		struct memtrace_thread *b = at(m, m->thread[t]);
		b->tid = 100 + t;
		b->next = h->threads;
		h->threads = m->thread[t];
	}
	return at(m, m->thread[t]);
}

/* Thread t's entry for site, made in its newest chunk if it has none. */
static struct memtrace_site *site_entry(struct model *m, unsigned t, uint32_t site)
{
	struct memtrace_thread *b = thread(m, t);
	for (uint32_t c = b->sites; c;) {
		struct memtrace_site_chunk *ch = at(m, c);
		for (uint32_t i = 0; i < ch->n; i++)
			if (ch->e[i].site == site)
				return &ch->e[i];
		c = ch->next;
	}
	struct memtrace_site_chunk *ch = b->sites ? at(m, b->sites) : NULL;
	if (!ch || ch->n == MEMTRACE_SITE_CHUNK) {
		uint32_t off = region_alloc(m, sizeof *ch);
		ch = at(m, off);
		ch->next = b->sites;
		b->sites = off;
	}
	struct memtrace_site *e = &ch->e[ch->n++];
	e->site = site;
	return e;
}

/* Under the shim's event lock: count the change, return its epoch. */
static uint64_t account(struct model *m, int64_t dheap, int64_t dmmap, uint32_t nev, bool *peak)
{
	struct memtrace_events *e = &hdr(m)->ev;
	e->seq += nev;
	e->heap += (uint64_t)dheap;
	m->clock += 1000;
	*peak = false;
	if (e->heap > e->peak) {
		e->peak = e->heap;
		e->epoch++;
		e->peak_time = m->clock;
		*peak = true;
	}
	e->mmap += (uint64_t)dmmap;
	if (e->mmap > e->mmap_peak)
		e->mmap_peak = e->mmap;
	if (e->heap > e->win_max)
		e->win_max = e->heap;
	/* A point per event (the shim keeps one per run of events). */
	hdr(m)->curve[e->curve_n++] = (struct memtrace_point){ m->clock, e->win_max };
	e->win_max = e->heap;
	return e->epoch;
}


static int live_find(struct model *m, uint64_t ptr, uint32_t kind)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (m->live[i].ptr == ptr && m->live[i].site % 2 == kind)
			return i;
	return -1;
}

/* An allocation of size at ptr from stack by thread t; realloc: old was
 * the block it replaced (0: none, or one the shim never saw). */
static void alloc(struct model *m, unsigned t, uint32_t kind, uint32_t stack, uint64_t ptr, uint64_t size,
		  bool realloc, uint64_t old)
{
	uint32_t site = stack * 2 + kind;
	struct memtrace_site *s = site_entry(m, t, site);
	int o = realloc && old ? live_find(m, old, MT_HEAP) : -1;
	if (realloc && old && o < 0)
		thread(m, t)->unmatched_frees++;
	int64_t dheap = kind == MT_HEAP ? (int64_t)size : 0;
	uint64_t old_size = o >= 0 ? m->live[o].size : 0;
	uint32_t old_site = o >= 0 ? m->live[o].site : 0;
	if (o >= 0) {
		dheap -= (int64_t)old_size;
		m->live[o].ptr = 0;
	}
	int slot = 0;
	while (slot < MAX_LIVE && m->live[slot].ptr)
		slot++;
	ASSERT(slot < MAX_LIVE);
	m->live[slot].ptr = ptr;
	m->live[slot].size = size;
	m->live[slot].site = site;
	bool peak;
	uint64_t tag = account(m, dheap, (int64_t)size - (kind == MT_HEAP ? (int64_t)size : 0), o >= 0 ? 2 : 1, &peak);
	/* Every part of an event that made the peak is at the peak. */
	if (o >= 0)
		memtrace_add_live(site_entry(m, t, old_site), -1, -(int64_t)old_size, tag, !peak);
	s = site_entry(m, t, site); /* (the lookup above may have added a chunk) */
	memtrace_count_alloc(s, size, tag, peak);
	if (kind == MT_HEAP)
		thread(m, t)->hist[size < MEMTRACE_HIST ? size : MEMTRACE_HIST - 1]++; /* the reader only sums them */
	m->last[t] = kind == MT_HEAP ? ptr : 0;
}

static void release(struct model *m, unsigned t, uint32_t kind, uint64_t ptr)
{
	int i = live_find(m, ptr, kind);
	if (i < 0) {
		if (kind != MT_MMAP)
			thread(m, t)->unmatched_frees++;
		m->last[t] = 0;
		return;
	}
	uint64_t size = m->live[i].size;
	uint32_t site = m->live[i].site;
	m->live[i].ptr = 0;
	bool peak;
	uint64_t tag = account(m, kind == MT_HEAP ? -(int64_t)size : 0, kind == MT_MMAP ? -(int64_t)size : 0, 1, &peak);
	struct memtrace_site *s = site_entry(m, t, site);
	memtrace_add_live(s, -1, -(int64_t)size, tag, true);
	if (m->last[t] == ptr && kind == MT_HEAP) {
		s->x.temp_allocs++;
		s->x.temp_bytes += size;
		if (size > s->x.temp_max_size)
			s->x.temp_max_size = size;
	}
	m->last[t] = 0;
}

/* ---- scripts ---- */
enum op { END, MALLOC, FREE, REALLOC, MMAP, MUNMAP };
struct call {
	enum op op;
	unsigned thread, stack;
	uint64_t ptr, size, old;
};

struct want_site {
	uint32_t stack, kind;
	uint64_t allocs, bytes, leaked, leaked_bytes, peak_count, peak_bytes, temp_allocs, temp_bytes, max_size;
};

struct want_proc {
	uint64_t events, peak, end, unmatched, mmap_peak;
};

/* Thread, stack, pointer, size, and the block a realloc replaced. */
#define ALLOC(t, st, p, sz) { MALLOC, t, st, p, sz, 0 }
#define MAP(t, st, p, sz) { MMAP, t, st, p, sz, 0 }
#define REALLOC_(t, st, p, sz, o) { REALLOC, t, st, p, sz, o }
#define FREE_(t, p) { FREE, t, 0, p, 0, 0 }
#define UNMAP(t, p) { MUNMAP, t, 0, p, 0, 0 }

#define MAX_CALLS 16
#define MAX_SITES 4
static const struct script {
	const char *name;
	struct call calls[MAX_CALLS];
	struct want_proc proc;
	struct want_site sites[MAX_SITES];
} scripts[] = {
	{ "leak, temporary and a later allocation",
	  { ALLOC(0, 1, 0x10, 100), ALLOC(0, 1, 0x20, 200), FREE_(0, 0x20), ALLOC(0, 2, 0x30, 50) },
	  /* heap 100, 300 (the peak), 100, 150 */
	  { .events = 4, .peak = 300, .end = 150 },
	  { { 1, MT_HEAP, 2, 300, 1, 100, 2, 300, 1, 200, 200 }, { 2, MT_HEAP, 1, 50, 1, 50, 0, 0, 0, 0, 50 } } },
	{ "a block freed by another thread",
	  { ALLOC(0, 1, 0x10, 400), ALLOC(1, 2, 0x20, 100), FREE_(1, 0x10), ALLOC(0, 1, 0x30, 50) },
	  /* heap 400, 500 (the peak), 100, 150; thread 1's free lands on stack 1 */
	  { .events = 4, .peak = 500, .end = 150 },
	  { { 1, MT_HEAP, 2, 450, 1, 50, 1, 400, 0, 0, 400 }, { 2, MT_HEAP, 1, 100, 1, 100, 1, 100, 0, 0, 100 } } },
	{ "realloc: grown, shrunk, of an unknown block, then freed",
	  { ALLOC(0, 1, 0x10, 100),
	    REALLOC_(0, 2, 0x20, 300, 0x10), /* heap 300: the old block leaves stack 1 */
	    ALLOC(0, 3, 0x30, 10),           /* 310 */
	    REALLOC_(0, 2, 0x40, 5, 0x30),   /* 305 */
	    REALLOC_(0, 2, 0x50, 20, 0x99),  /* 325, the peak; 0x99 was never seen */
	    FREE_(0, 0x20) },                /* 25 */
	  { .events = 8, .peak = 325, .end = 25, .unmatched = 1 },
	  { { 1, MT_HEAP, 1, 100, 0, 0, 0, 0, 0, 0, 100 },
	    { 2, MT_HEAP, 3, 325, 2, 25, 3, 325, 0, 0, 300 },
	    { 3, MT_HEAP, 1, 10, 0, 0, 0, 0, 0, 0, 10 } } },
	{ "frees of unknown pointers, and mmap",
	  { ALLOC(0, 1, 0x10, 64), FREE_(0, 0x77), FREE_(1, 0x78), MAP(1, 2, 0x1000, 4096),
	    UNMAP(1, 0x1000), UNMAP(1, 0x2000), FREE_(0, 0x10) },
	  /* an unknown munmap is not an unmatched free (mappings the shim did not make) */
	  { .events = 4, .peak = 64, .end = 0, .unmatched = 2, .mmap_peak = 4096 },
	  { { 1, MT_HEAP, 1, 64, 0, 0, 1, 64, 0, 0, 64 }, { 2, MT_MMAP, 1, 4096, 0, 0, 0, 0, 0, 0, 4096 } } },
};

static void run_script(struct model *m, const struct script *sc)
{
	model_init(m, MT_MODE_EXACT);
	for (unsigned st = 1; st <= 3; st++)
		ASSERT_EQ(add_stack(m, st, 0x400000 + 0x100 * st), st);
	for (const struct call *c = sc->calls; c < sc->calls + MAX_CALLS && c->op != END; c++) {
		switch (c->op) {
		case MALLOC: alloc(m, c->thread, MT_HEAP, c->stack, c->ptr, c->size, false, 0); break;
		case REALLOC: alloc(m, c->thread, MT_HEAP, c->stack, c->ptr, c->size, true, c->old); break;
		case MMAP: alloc(m, c->thread, MT_MMAP, c->stack, c->ptr, c->size, false, 0); break;
		case FREE: release(m, c->thread, MT_HEAP, c->ptr); break;
		case MUNMAP: release(m, c->thread, MT_MMAP, c->ptr); break;
		case END: break;
		}
	}
	hdr(m)->end_ns = m->clock + 1000;
}

/* ---- cprof's side: write, read back, analyze ---- */
static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, buf, len), (long long)len);
	ASSERT_OK(close(fd));
}

/* A region read from path into memory of exactly its size (so a read past
 * it is the sanitizer's to see). */
struct loaded {
	struct mem_region r;
	struct mem_stacks st;
	struct cprof_data d;
	struct memtrace_totals tot;
	uint64_t bad_stacks;
};

static int load(const char *path, struct loaded *l, struct cprof_err *err)
{
	memset(l, 0, sizeof *l);
	struct sbuf sb = SBUF_INIT;
	ASSERT_OK(file_read(path, &sb, 0, err));
	uint8_t *map = xmalloc(sb.len ? sb.len : 1);
	memcpy(map, sb.buf, sb.len);
	size_t len = sb.len;
	sbuf_release(&sb);
	int r = memtrace_check(map, len, path, err);
	if (r < 0) {
		free(map);
		return r;
	}
	const struct memtrace_header *h = (const void *)map;
	l->r = (struct mem_region){ .map = map, .len = len, .pid = h->pid, .ppid = h->ppid, .start_ns = h->start_ns };
	l->r.nstacks = memtrace_nstacks(&l->r, &l->bad_stacks);
	memtrace_stacks(&l->r, &l->st, &l->bad_stacks);
	uint32_t map_ids[64];
	ASSERT(l->r.nstacks <= ARRAY_SIZE(map_ids));
	for (uint32_t i = 0; i < l->r.nstacks; i++)
		map_ids[i] = STACK_BASE + i;
	cprof_data_init(&l->d);
	memtrace_analyze(&l->r, map_ids, l->r.nstacks, &l->d, &l->tot);
	return 0;
}

static void unload(struct loaded *l)
{
	free((void *)l->r.map);
	mem_stacks_release(&l->st);
	cprof_data_release(&l->d);
}

/* Write m's region to a file named after name, read it back. */
static void roundtrip(struct model *m, size_t len, const char *name, struct loaded *l)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path, m->buf, len);
	struct cprof_err err = { 0 };
	if (load(path, l, &err) < 0)
		FAIL_("%s: %s", name, err.msg);
}

static const struct cprof_mem_site *site_of(const struct loaded *l, uint32_t stack, uint32_t kind)
{
	const struct cprof_mem_site *found = NULL;
	for (size_t i = 0; i < l->d.mem_sites.n; i++)
		if (l->d.mem_sites.v[i].stack == STACK_BASE + stack && l->d.mem_sites.v[i].kind == kind) {
			ASSERT(!found); /* one row per stack and kind, summed over threads */
			found = &l->d.mem_sites.v[i];
		}
	return found;
}

TEST(scripts)
{
	for (size_t k = 0; k < ARRAY_SIZE(scripts); k++) {
		const struct script *sc = &scripts[k];
		printf("  %s\n", sc->name);
		struct model m;
		run_script(&m, sc);
		struct loaded l;
		roundtrip(&m, REGION_SIZE, "exact", &l);
		ASSERT_EQ(l.tot.damaged, 0);
		ASSERT_EQ(l.bad_stacks, 0);
		ASSERT_EQ(l.d.mem_procs.n, 1);
		const struct cprof_mem_proc *p = &l.d.mem_procs.v[0];
		ASSERT_EQ(p->pid, 4242);
		ASSERT_EQ(p->ppid, 1);
		ASSERT_EQ(p->events, sc->proc.events);
		ASSERT_EQ(p->peak_bytes, sc->proc.peak);
		ASSERT_EQ(p->end_bytes, sc->proc.end);
		ASSERT_EQ(p->unmatched_frees, sc->proc.unmatched);
		ASSERT_EQ(p->mmap_peak, sc->proc.mmap_peak);
		ASSERT(p->peak_time > p->start_time && p->peak_time <= p->end_time);
		ASSERT_EQ(p->start_time, START_NS);
		ASSERT_EQ(p->end_time, m.clock + 1000);
		/* Every heap allocation is in the histogram; the heap curve is the script's. */
		uint64_t heap_allocs = 0, hist = 0;
		size_t nsites = 0;
		for (; nsites < MAX_SITES && sc->sites[nsites].stack; nsites++)
			if (sc->sites[nsites].kind == MT_HEAP)
				heap_allocs += sc->sites[nsites].allocs;
		for (int b = 0; b < MP_HIST_BUCKETS; b++)
			hist += p->hist[b];
		ASSERT_EQ(hist, heap_allocs);
		ASSERT_EQ(l.tot.seen_allocs, heap_allocs);
		ASSERT_EQ(l.d.mem_curve.n, hdr(&m)->ev.curve_n);
		uint64_t top = 0;
		for (size_t i = 0; i < l.d.mem_curve.n; i++)
			top = l.d.mem_curve.v[i].bytes > top ? l.d.mem_curve.v[i].bytes : top;
		ASSERT_EQ(top, sc->proc.peak);
		ASSERT_EQ(l.d.mem_sites.n, nsites);
		for (size_t i = 0; i < nsites; i++) {
			const struct want_site *w = &sc->sites[i];
			const struct cprof_mem_site *s = site_of(&l, w->stack, w->kind);
			if (!s)
				FAIL_("%s: no row for stack %u", sc->name, w->stack);
			ASSERT_EQ(s->pid, 4242);
			ASSERT_EQ(s->allocs, w->allocs);
			ASSERT_EQ(s->bytes, w->bytes);
			ASSERT_EQ(s->leaked, w->leaked);
			ASSERT_EQ(s->leaked_bytes, w->leaked_bytes);
			ASSERT_EQ(s->peak_count, w->peak_count);
			ASSERT_EQ(s->peak_bytes, w->peak_bytes);
			ASSERT_EQ(s->temp_allocs, w->temp_allocs);
			ASSERT_EQ(s->temp_bytes, w->temp_bytes);
			ASSERT_EQ(s->max_size, w->max_size);
		}
		unload(&l);
		free(m.buf);
	}
}

TEST(stacks)
{
	struct model m;
	run_script(&m, &scripts[0]);
	struct loaded l;
	roundtrip(&m, REGION_SIZE, "stacks", &l);
	ASSERT_EQ(l.r.nstacks, 4);
	ASSERT_EQ(l.st.off.n, 4);
	ASSERT_EQ(l.st.n.v[0], 0); /* id 0: the empty stack, at the region's start */
	ASSERT_EQ(l.st.time.v[0], START_NS);
	for (uint32_t id = 1; id < 4; id++) {
		ASSERT_EQ(l.st.n.v[id], id);
		ASSERT_EQ(l.st.time.v[id], START_NS + id);
		for (uint32_t k = 0; k < id; k++)
			ASSERT_EQ(l.st.ips.v[l.st.off.v[id] + k], 0x400000 + 0x100 * id + k);
	}
	unload(&l);
	free(m.buf);
}

/* A process killed before its exit handlers ran: the run in progress ends
 * the heap curve, and the end is the last point seen. */
TEST(killed)
{
	struct model m;
	run_script(&m, &scripts[0]);
	hdr(&m)->end_ns = 0;
	hdr(&m)->ev.win_max = 777;
	struct loaded l;
	roundtrip(&m, REGION_SIZE, "killed", &l);
	ASSERT_EQ(l.d.mem_curve.n, hdr(&m)->ev.curve_n + 1);
	const struct cprof_mem_point *last = &l.d.mem_curve.v[l.d.mem_curve.n - 1];
	ASSERT_EQ(last->bytes, 777);
	ASSERT_EQ(last->time, m.clock);
	ASSERT_EQ(l.d.mem_procs.v[0].end_time, m.clock);
	unload(&l);
	free(m.buf);
}

TEST(sample_mode)
{
	struct model m;
	model_init(&m, MT_MODE_SAMPLE);
	ASSERT_EQ(add_stack(&m, 2, 0x500000), 1);
	hdr(&m)->sample_bytes = 4096;
	hdr(&m)->ev.peak = 999; /* exact mode's: sample mode has no exact peak */
	struct memtrace_thread *t = thread(&m, 0);
	t->seen_allocs = 10;
	t->seen_bytes = 12345;
	t->whist[3] = 2.6;
	t->whist[4] = -1; /* a cancelled sum gone below zero */
	struct memtrace_site *s = site_entry(&m, 0, 1 * 2 + MT_HEAP);
	s->allocs = 3;
	s->max_size = 8000;
	s->s.count = 10;
	s->s.bytes = 1000;
	s->s.var_count = 4;
	s->s.var_bytes = -5;
	s->s.live_count = 1e-9;  /* what is left of +w - w: none */
	s->s.live_bytes = 2000;  /* never more than was allocated */
	s->s.live_var_bytes = 9;
	struct loaded l;
	roundtrip(&m, REGION_SIZE, "sample", &l);
	ASSERT_EQ(l.tot.damaged, 0);
	ASSERT_EQ(l.d.mem_sites.n, 0);
	ASSERT_EQ(l.d.mem_est.n, 1);
	const struct cprof_mem_est *e = &l.d.mem_est.v[0];
	ASSERT_EQ(e->stack, STACK_BASE + 1);
	ASSERT_EQ(e->kind, MEMK_HEAP);
	ASSERT_EQ(e->samples, 3);
	ASSERT_EQ(e->max_size, 8000);
	ASSERT_NEAR(e->count, 10, 0);
	ASSERT_NEAR(e->bytes, 1000, 0);
	ASSERT_NEAR(e->var_count, 4, 0);
	ASSERT_NEAR(e->var_bytes, 0, 0);
	ASSERT_NEAR(e->live_count, 0, 0);
	ASSERT_NEAR(e->live_var_count, 0, 0);
	ASSERT_NEAR(e->live_bytes, 1000, 0);
	ASSERT_NEAR(e->live_var_bytes, 9, 0);
	const struct cprof_mem_proc *p = &l.d.mem_procs.v[0];
	ASSERT_EQ(p->peak_bytes, 0);
	ASSERT_EQ(p->end_bytes, 1000);
	ASSERT_EQ(p->hist[3], 3);
	ASSERT_EQ(p->hist[4], 0);
	ASSERT_EQ(l.tot.seen_allocs, 10);
	ASSERT_EQ(l.tot.seen_bytes, 12345);
	unload(&l);
	free(m.buf);
}

/* ---- damage: each row breaks a good region one way ---- */
static void break_thread_loop(struct model *m) { thread(m, 0)->next = m->thread[0]; }
static void break_thread_off(struct model *m) { hdr(m)->threads = REGION_SIZE - 8; }
static void break_site_index(struct model *m) { site_entry(m, 0, 1 * 2)->site = 4 * 2; }
static void break_chunk_n(struct model *m)
{
	((struct memtrace_site_chunk *)at(m, thread(m, 0)->sites))->n = MEMTRACE_SITE_CHUNK + 1;
}
static void break_counts(struct model *m) { site_entry(m, 0, 2 * 2)->x.live_count = 5; }
static void break_stack_chunk(struct model *m) { hdr(m)->stack_dir[0] = REGION_SIZE; }
static void break_stack_depth(struct model *m)
{
	uint32_t *chunk = at(m, hdr(m)->stack_dir[0]);
	((struct memtrace_stack *)at(m, chunk[2]))->n = MEMTRACE_MAX_DEPTH + 1;
}
static void break_nstacks(struct model *m) { hdr(m)->nstacks = MEMTRACE_MAX_STACKS + 1; }
static void break_curve(struct model *m) { hdr(m)->curve[1].time = 1; }

static const struct damage {
	const char *name;
	void (*fn)(struct model *m);
	uint64_t damaged, bad_stacks;
	size_t sites; /* rows still read */
} damages[] = {
	{ "a thread list that loops", break_thread_loop, 0, 0, 2 },
	{ "a thread block past the end", break_thread_off, 1, 0, 0 },
	{ "a site past the stack table", break_site_index, 1, 0, 1 },
	{ "a chunk fuller than a chunk", break_chunk_n, 1, 0, 2 },
	{ "more leaked than allocated", break_counts, 1, 0, 2 },
	{ "a stack chunk past the end", break_stack_chunk, 0, 3, 2 },
	{ "a stack deeper than the shim keeps", break_stack_depth, 0, 1, 2 },
	{ "more stacks than a region holds", break_nstacks, 2, 1, 0 }, /* then no site has a stack */
	{ "a heap curve out of order", break_curve, 1, 0, 2 },
};

TEST(damaged_regions)
{
	for (size_t k = 0; k < ARRAY_SIZE(damages); k++) {
		const struct damage *dm = &damages[k];
		printf("  %s\n", dm->name);
		struct model m;
		run_script(&m, &scripts[0]);
		dm->fn(&m);
		struct loaded l;
		roundtrip(&m, REGION_SIZE, "damaged", &l);
		ASSERT_EQ(l.tot.damaged, dm->damaged);
		ASSERT_EQ(l.bad_stacks, dm->bad_stacks);
		ASSERT_EQ(l.d.mem_sites.n, dm->sites);
		ASSERT_EQ(l.d.mem_procs.n, 1);
		for (size_t i = 0; i < l.d.mem_sites.n; i++) {
			const struct cprof_mem_site *s = &l.d.mem_sites.v[i];
			ASSERT(s->leaked <= s->allocs && s->peak_count <= s->allocs && s->temp_allocs <= s->allocs);
		}
		unload(&l);
		free(m.buf);
	}
}

/* Files that are no region of this build: one error naming the file. */
TEST(foreign_and_cut_files)
{
	struct model m;
	run_script(&m, &scripts[0]);
	static const struct {
		const char *name;
		size_t len;
		const char *magic; /* NULL: the region's own */
		const char *says;
	} cases[] = {
		{ "empty", 0, NULL, "is cut short: 0 bytes" },
		{ "half-header", sizeof(struct memtrace_header) / 2, NULL, "is cut short" },
		{ "cut", sizeof(struct memtrace_header) + 100, NULL, "of its 262144 bytes" },
		{ "old-format", REGION_SIZE, "CPMEMRG1", "is of format 1; this cprof reads format 3" },
		{ "not-a-trace", REGION_SIZE, "\177ELF\2\1\1\0", "is not a memory trace" },
	};
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", dir, cases[k].name);
		char saved[8];
		memcpy(saved, m.buf, 8);
		if (cases[k].magic)
			memcpy(m.buf, cases[k].magic, 8);
		write_file(path, m.buf, cases[k].len);
		memcpy(m.buf, saved, 8);
		struct loaded l;
		struct cprof_err err = { 0 };
		ASSERT_EQ(load(path, &l, &err), -EINVAL);
		printf("  %s\n", err.msg);
		ASSERT(strstr(err.msg, path));
		ASSERT(strstr(err.msg, cases[k].says));
		ASSERT(!strchr(err.msg, '\n'));
	}
	/* A region whose header agrees with its cut length still reads only
	 * what is there: its blocks past the end are counted as damage. */
	hdr(&m)->size = sizeof(struct memtrace_header) + 64;
	struct loaded l;
	roundtrip(&m, hdr(&m)->size, "short", &l);
	ASSERT(l.tot.damaged + l.bad_stacks > 0);
	ASSERT_EQ(l.d.mem_sites.n, 0);
	unload(&l);
	free(m.buf);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/cprof-memload-XXXXXX", tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	ASSERT(mkdtemp(dir));
}

static void cleanup(void)
{
	static const char *const names[] = { "exact", "stacks", "killed", "sample", "damaged", "short", "empty",
					     "half-header", "cut", "old-format", "not-a-trace" };
	char path[128];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	ASSERT_OK(rmdir(dir));
}

TEST(begin) { setup(); }
TEST(end) { cleanup(); }

RUN_TESTS(T(begin), T(scripts), T(stacks), T(killed), T(sample_mode), T(damaged_regions), T(foreign_and_cut_files),
	  T(end))
