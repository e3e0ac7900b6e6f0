/*
 * symsplit.c - split the finishing pass's symbolization over two threads.
 *
 * Why this split: on a large binary with full debug info, the finishing
 * pass is dominated by reading DWARF (inflating compressed debug files, and
 * walking each compile unit that holds a sampled address) and by loading
 * /proc/kallsyms. Work is planned per binary, so a debug file is read by
 * one thread only unless one binary dominates; then its addresses are split
 * by file offset, and the two halves mostly touch different compile units.
 * Every symbolizer has its own libdw sessions, so the threads share nothing
 * but the read-only jobs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/symsplit.h"

struct job {
	const struct raw_mmap *m;
	uint64_t ip, off; /* off: file offset, the same for every mapping of the file */
	bool is_return;
	uint8_t owner;
};

struct split_point {
	const char *path;
	uint64_t off; /* offsets at or above it belong to symbolizer 1 */
};

struct sym_split {
	VEC(struct job) jobs;
	struct hashidx idx;
	VEC(struct split_point) splits;
	const struct raw_mmap *last_m;
	const struct split_point *last_split;
	bool want_kernel;
};

struct worker {
	struct symbolizer *sym;
	const struct sym_split *sp;
	uint8_t owner;
	bool kernel;
};

/* Jobs are resolved only for their side effect: the symbolizer's cache. */
#define MAX_FRAMES 64

struct sym_map sym_map_of(const struct raw_mmap *m)
{
	return (struct sym_map){ .path = m->path, .start = m->start, .len = m->len, .pgoff = m->pgoff,
				 .build_id = m->build_id, .build_id_size = m->build_id_size };
}

struct sym_split *sym_split_new(void)
{
	return xcalloc(1, sizeof(struct sym_split));
}

void sym_split_free(struct sym_split *sp)
{
	if (!sp)
		return;
	vec_release(&sp->jobs);
	vec_release(&sp->splits);
	hashidx_release(&sp->idx);
	free(sp);
}

static uint64_t job_hash(const struct raw_mmap *m, uint64_t ip, bool is_return)
{
	uintptr_t k[3] = { (uintptr_t)m, (uintptr_t)ip, is_return };
	return hash_bytes(k, sizeof k, HASH_SEED);
}

static uint64_t job_hash_at(const void *ctx, uint32_t i)
{
	const struct job *j = &((const struct sym_split *)ctx)->jobs.v[i];
	return job_hash(j->m, j->ip, j->is_return);
}

void sym_split_add(struct sym_split *sp, const struct raw_mmap *m, uint64_t ip, bool is_return)
{
	struct hashidx *ix = &sp->idx;
	uint64_t h = job_hash(m, ip, is_return);
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const struct job *j = &sp->jobs.v[i];
		if (j->m == m && j->ip == ip && j->is_return == is_return)
			return;
	}
	hashidx_reserve(ix, job_hash_at, sp);
	vec_push(&sp->jobs, ((struct job){ .m = m, .ip = ip, .off = ip - m->start + m->pgoff, .is_return = is_return }));
	hashidx_put(ix, h, (uint32_t)(sp->jobs.n - 1));
}

void sym_split_want_kernel(struct sym_split *sp)
{
	sp->want_kernel = true;
}

static int cmp_job(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	int c = strcmp(x->m->path, y->m->path);
	if (c)
		return c;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct sym_frame out[MAX_FRAMES];
	if (w->kernel)
		(void)symbolizer_kernel(w->sym, 0, out); /* loads kallsyms */
	for (size_t i = 0; i < w->sp->jobs.n; i++) {
		const struct job *j = &w->sp->jobs.v[i];
		if (j->owner != w->owner)
			continue;
		struct sym_map sm = sym_map_of(j->m);
		(void)symbolizer_user(w->sym, &sm, j->ip, j->is_return, out, MAX_FRAMES);
	}
	return NULL;
}

/* Below this many addresses a second thread is not worth starting. */
#define MIN_PARALLEL 64
/* Rough costs in units of one address lookup: opening a binary (its debug
 * file may be compressed and is then inflated whole), and loading
 * /proc/kallsyms (about 60 ms here, mostly in the kernel). */
#define BINARY_COST 150
#define KALLSYMS_COST 400

struct group {
	size_t a, b; /* jobs[a..b) share one path */
};

static int cmp_group_size(const void *x, const void *y)
{
	const struct group *g = x, *h = y;
	size_t n = g->b - g->a, m = h->b - h->a;
	return (n < m) - (n > m); /* largest first */
}

static void assign(struct sym_split *sp, const struct group *g, uint64_t split)
{
	vec_push(&sp->splits, ((struct split_point){ sp->jobs.v[g->a].m->path, split }));
	for (size_t k = g->a; k < g->b; k++)
		sp->jobs.v[k].owner = sp->jobs.v[k].off >= split;
}

/* Whether splitting g between the threads can pay: each half that misses
 * the symbol cache opens the binary's debug information (its symbol
 * table read and sorted, its units interned up to the address: 5-15 ms
 * for libc here), so a binary the cache answers for, but for a few
 * addresses, stays with one thread. */
static bool worth_splitting(const struct sym_split *sp, const struct group *g, struct symbolizer *sym)
{
	size_t misses = 0;
	for (size_t k = g->a; k < g->b && misses < 2 * BINARY_COST; k++) {
		const struct job *j = &sp->jobs.v[k];
		struct sym_map sm = sym_map_of(j->m);
		if (!symbolizer_cache_answers(sym, &sm, j->ip, j->is_return))
			misses++;
	}
	return misses >= 2 * BINARY_COST;
}

/* Whole binaries go to the less loaded thread, largest first, so each
 * binary's debug information is read once; the largest is split between
 * both threads at the offset that evens their load when the rest cannot
 * and its misses are many (worth_splitting()). */
static void plan(struct sym_split *sp, bool parallel, struct symbolizer *sym)
{
	VEC(struct group) groups = { 0 };
	for (size_t a = 0; a < sp->jobs.n;) {
		size_t b = a;
		while (b < sp->jobs.n && strcmp(sp->jobs.v[b].m->path, sp->jobs.v[a].m->path) == 0)
			b++;
		vec_push(&groups, ((struct group){ a, b }));
		a = b;
	}
	if (!parallel) {
		for (size_t i = 0; i < groups.n; i++)
			assign(sp, &groups.v[i], UINT64_MAX);
		vec_release(&groups);
		return;
	}
	if (groups.n)
		qsort(groups.v, groups.n, sizeof *groups.v, cmp_group_size);
	uint64_t load[2] = { 0, sp->want_kernel ? KALLSYMS_COST : 0 };
	for (size_t i = 1; i < groups.n; i++) {
		int t = load[1] < load[0];
		load[t] += BINARY_COST + (groups.v[i].b - groups.v[i].a);
		assign(sp, &groups.v[i], t ? 0 : UINT64_MAX);
	}
	if (groups.n) {
		const struct group *g = &groups.v[0];
		uint64_t w = BINARY_COST + (g->b - g->a);
		uint64_t lo = load[0] < load[1] ? load[0] : load[1], hi = load[0] < load[1] ? load[1] : load[0];
		if (hi - lo >= w || g->b - g->a < 2 || !worth_splitting(sp, g, sym)) {
			assign(sp, g, load[1] < load[0] ? 0 : UINT64_MAX);
		} else {
			/* Thread 0 takes the low offsets: enough to end level with 1. */
			uint64_t total = load[0] + load[1] + w + BINARY_COST;
			uint64_t want0 = total / 2 > load[0] + BINARY_COST ? total / 2 - load[0] - BINARY_COST : 0;
			size_t k = g->a + (size_t)(want0 < g->b - g->a ? want0 : g->b - g->a - 1);
			if (k <= g->a)
				k = g->a + 1;
			assign(sp, g, sp->jobs.v[k].off);
		}
	}
	vec_release(&groups);
}

void sym_split_run(struct sym_split *sp, struct symbolizer *sym[2])
{
	/* The hash index refers to job positions, which sorting changes. */
	hashidx_release(&sp->idx);
	memset(&sp->idx, 0, sizeof sp->idx);
	bool parallel = sp->jobs.n >= MIN_PARALLEL || sp->want_kernel;
	if (sp->jobs.n)
		qsort(sp->jobs.v, sp->jobs.n, sizeof *sp->jobs.v, cmp_job);
	plan(sp, parallel, sym[0]);
	struct worker w0 = { .sym = sym[0], .sp = sp, .owner = 0 };
	struct worker w1 = { .sym = sym[1], .sp = sp, .owner = 1, .kernel = sp->want_kernel };
	pthread_t t;
	bool started = parallel && pthread_create(&t, NULL, work, &w1) == 0;
	if (!started && parallel) {
		/* No second thread: this one does it all. */
		for (size_t k = 0; k < sp->jobs.n; k++)
			sp->jobs.v[k].owner = 0;
		for (size_t k = 0; k < sp->splits.n; k++)
			sp->splits.v[k].off = UINT64_MAX;
	}
	work(&w0);
	if (started)
		pthread_join(t, NULL);
}

int sym_split_owner(struct sym_split *sp, const struct raw_mmap *m, uint64_t ip)
{
	if (m != sp->last_m) {
		sp->last_m = m;
		sp->last_split = NULL;
		for (size_t i = 0; i < sp->splits.n; i++)
			if (strcmp(sp->splits.v[i].path, m->path) == 0) {
				sp->last_split = &sp->splits.v[i];
				break;
			}
	}
	return sp->last_split && ip - m->start + m->pgoff >= sp->last_split->off ? 1 : 0;
}
