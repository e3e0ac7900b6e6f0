/*
 * resolve.c - the finishing pass of record: find the mapping under every
 * sampled address as it was at the sample's time, symbolize each unique
 * address once, and store deduplicated stacks, threads and maps.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/capture.h"
#include "cprof/data.h"
#include "cprof/record.h"
#include "cprof/symbol.h"
#include "cprof/symsplit.h"

/* Executable mappings of one process, and where it came from. */
struct proc_maps {
	uint32_t pid;
	uint32_t parent;       /* 0 if none known */
	uint64_t fork_time;
	VEC(const struct raw_mmap *) maps;
	const struct raw_mmap *last_hit;
};

struct procs {
	VEC(struct proc_maps) v;
};

static struct proc_maps *proc_get(struct procs *ps, uint32_t pid, bool create)
{
	for (size_t i = 0; i < ps->v.n; i++)
		if (ps->v.v[i].pid == pid)
			return &ps->v.v[i];
	if (!create)
		return NULL;
	vec_push(&ps->v, ((struct proc_maps){ .pid = pid }));
	return &ps->v.v[ps->v.n - 1];
}

static bool covers(const struct raw_mmap *m, uint64_t ip)
{
	return ip >= m->start && ip - m->start < m->len;
}

/* The newest mapping of pid (or, before its own mappings, of its parent at
 * fork time) that covers ip at time t. */
static const struct raw_mmap *find_map(struct procs *ps, uint32_t pid, uint64_t ip, uint64_t t)
{
	for (int depth = 0; depth < 32 && pid; depth++) {
		struct proc_maps *p = proc_get(ps, pid, false);
		if (!p)
			return NULL;
		if (p->last_hit && covers(p->last_hit, ip) && p->last_hit->time <= t) {
			/* Still the newest? Only if no later mapping covers ip. */
			bool newer = false;
			for (size_t i = 0; i < p->maps.n && !newer; i++) {
				const struct raw_mmap *m = p->maps.v[i];
				newer = m != p->last_hit && m->time > p->last_hit->time && m->time <= t && covers(m, ip);
			}
			if (!newer)
				return p->last_hit;
		}
		const struct raw_mmap *best = NULL, *any = NULL;
		for (size_t i = 0; i < p->maps.n; i++) {
			const struct raw_mmap *m = p->maps.v[i];
			if (!covers(m, ip))
				continue;
			if (m->time <= t && (!best || m->time >= best->time))
				best = m;
			if (!any || m->time < any->time)
				any = m;
		}
		if (!best && !p->parent)
			best = any; /* clock skew between CPUs: better the only candidate than nothing */
		if (best) {
			p->last_hit = best;
			return best;
		}
		t = p->fork_time;
		pid = p->parent;
	}
	return NULL;
}

static bool is_anon(const char *path)
{
	return !*path || strcmp(path, "//anon") == 0 || strncmp(path, "[anon", 5) == 0 ||
	       strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "memfd:", 6) == 0 || strcmp(path, "[heap]") == 0 ||
	       strcmp(path, "[stack]") == 0;
}

#define MAX_INLINE 64

/* One entry of a sample's ips: a context marker, or an address in the
 * kernel or in user space (then with the mapping under it, if any), and
 * whether it is a return address to look up one byte back. */
enum { IP_CONTEXT, IP_KERNEL, IP_USER };
struct ip_info {
	const struct raw_mmap *map;
	uint8_t kind;
	bool adjust;
};

/*
 * The frames one address resolves to, stored once. Stacks repeat the same
 * few thousand addresses hundreds of thousands of times; without this memo
 * every occurrence would be symbolized (a cache hit, but still) and its
 * strings hashed and interned again, which measured as most of the
 * finishing pass on deep DWARF stacks.
 */
struct memo_entry {
	const struct raw_mmap *map; /* NULL: kernel, or no mapping */
	uint64_t ip;
	uint32_t first, count; /* a run in memo.ids; count 0 marks an empty slot */
	bool adjust, kernel;
};

struct frame_memo {
	struct memo_entry *slots;
	size_t cap, used;
	VEC(uint32_t) ids;
};

static size_t memo_slot(const struct frame_memo *fm, const struct raw_mmap *map, uint64_t ip, bool adjust,
			bool kernel)
{
	uint64_t h = (ip ^ (uint64_t)(uintptr_t)map * 31 ^ (uint64_t)adjust << 1 ^ (uint64_t)kernel) *
		     0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 32) & (fm->cap - 1);
	for (;; i = (i + 1) & (fm->cap - 1)) {
		const struct memo_entry *e = &fm->slots[i];
		if (!e->count || (e->ip == ip && e->map == map && e->adjust == adjust && e->kernel == kernel))
			return i;
	}
}

static const struct memo_entry *memo_find(const struct frame_memo *fm, const struct raw_mmap *map, uint64_t ip,
					  bool adjust, bool kernel)
{
	if (!fm->cap)
		return NULL;
	const struct memo_entry *e = &fm->slots[memo_slot(fm, map, ip, adjust, kernel)];
	return e->count ? e : NULL;
}

static const struct memo_entry *memo_add(struct frame_memo *fm, const struct raw_mmap *map, uint64_t ip,
					 bool adjust, bool kernel, const uint32_t *ids, uint32_t n)
{
	if ((fm->used + 1) * 2 > fm->cap) {
		struct frame_memo grown = { .cap = fm->cap ? fm->cap * 2 : 4096, .ids = fm->ids };
		grown.slots = xcalloc(grown.cap, sizeof *grown.slots);
		for (size_t i = 0; i < fm->cap; i++) {
			const struct memo_entry *e = &fm->slots[i];
			if (e->count)
				grown.slots[memo_slot(&grown, e->map, e->ip, e->adjust, e->kernel)] = *e;
		}
		grown.used = fm->used;
		free(fm->slots);
		*fm = grown;
	}
	struct memo_entry *e = &fm->slots[memo_slot(fm, map, ip, adjust, kernel)];
	*e = (struct memo_entry){ map, ip, (uint32_t)fm->ids.n, n, adjust, kernel };
	for (uint32_t i = 0; i < n; i++)
		vec_push(&fm->ids, ids[i]);
	fm->used++;
	return e;
}

static uint32_t store_frame(struct cprof_data *d, const struct sym_frame *f)
{
	struct cprof_frame cf = { .func = cprof_intern(d, f->func), .dso = cprof_intern(d, f->dso),
				  .file = cprof_intern(d, f->file ? f->file : ""), .line = f->line, .addr = f->addr,
				  .full = f->full ? cprof_intern(d, f->full) : 0 };
	if (f->flags & SYMF_INLINED)
		cf.flags |= FRF_INLINED;
	if (f->flags & SYMF_KERNEL)
		cf.flags |= FRF_KERNEL;
	if (f->flags & SYMF_UNKNOWN)
		cf.flags |= FRF_UNKNOWN;
	if (f->flags & SYMF_JIT)
		cf.flags |= FRF_JIT;
	return cprof_add_frame(d, &cf);
}

static int cmp_raw_time(const void *a, const void *b, void *ctx)
{
	const struct raw_store *s = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	uint64_t x = s->samples.v[i].time, y = s->samples.v[j].time;
	return x != y ? (x < y ? -1 : 1) : (i > j) - (i < j);
}

static void add_threads(struct cprof_data *d, const struct raw_store *s)
{
	/* One row per thread seen in a sample, named by its last COMM record,
	 * or by its process's name (threads inherit it at clone). */
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *x = &d->samples.v[i];
		struct cprof_thread *t = NULL;
		for (size_t k = d->threads.n; k-- > 0;)
			if (d->threads.v[k].tid == x->tid && d->threads.v[k].pid == x->pid) {
				t = &d->threads.v[k];
				break;
			}
		if (!t) {
			const char *comm = NULL, *pcomm = NULL;
			for (size_t c = 0; c < s->comms.n; c++) {
				if (s->comms.v[c].tid == x->tid && s->comms.v[c].pid == x->pid)
					comm = s->comms.v[c].comm;
				if (s->comms.v[c].tid == x->pid && s->comms.v[c].pid == x->pid)
					pcomm = s->comms.v[c].comm;
			}
			uint32_t ppid = 0;
			for (size_t k = 0; k < s->tasks.n; k++)
				if (!s->tasks.v[k].exit && s->tasks.v[k].pid == x->pid && s->tasks.v[k].ppid != x->pid)
					ppid = s->tasks.v[k].ppid;
			/* A forked child that never execs keeps its parent's name. */
			for (size_t c = 0; !comm && !pcomm && ppid && c < s->comms.n; c++)
				if (s->comms.v[c].tid == ppid && s->comms.v[c].pid == ppid)
					pcomm = s->comms.v[c].comm;
			struct cprof_thread nt = { .pid = x->pid, .tid = x->tid, .ppid = ppid,
						   .comm = cprof_intern(d, comm ? comm : pcomm ? pcomm : "") };
			vec_push(&d->threads, nt);
			t = &d->threads.v[d->threads.n - 1];
		}
		t->samples += i < d->sample_counts.n ? d->sample_counts.v[i] : 1;
	}
}

int resolve_samples(struct cprof_data *d, const struct raw_store *s, struct resolve_stats *st,
		    struct cprof_err *err)
{
	struct procs ps = { 0 };
	/* Two symbolizers, one per core; see symsplit.h. */
	struct symbolizer *syms[2] = { symbolizer_new(), symbolizer_new() };
	struct sym_split *split = sym_split_new();
	VEC(uint32_t) frames = { 0 };
	struct sym_frame out[MAX_INLINE];
	memset(st, 0, sizeof *st);
	if (!syms[0] || !syms[1]) {
		symbolizer_free(syms[0]);
		symbolizer_free(syms[1]);
		sym_split_free(split);
		return err_set(err, ENOMEM, "cannot start the symbolizer");
	}

	/* What each entry of s->ips is, worked out once in the first pass and
	 * used again in the second. */
	struct ip_info *infos = xcalloc(s->ips.n ? s->ips.n : 1, sizeof *infos);
	bool *map_anon = xcalloc(s->mmaps.n ? s->mmaps.n : 1, sizeof *map_anon);
	struct frame_memo memo = { 0 };
	for (size_t i = 0; i < s->mmaps.n; i++) {
		struct proc_maps *p = proc_get(&ps, s->mmaps.v[i].pid, true);
		vec_push(&p->maps, &s->mmaps.v[i]);
		map_anon[i] = is_anon(s->mmaps.v[i].path);
	}
	for (size_t i = 0; i < s->tasks.n; i++) {
		const struct raw_task *t = &s->tasks.v[i];
		if (t->exit || t->pid == t->ppid || t->pid != t->tid)
			continue; /* a new process, not a thread */
		struct proc_maps *p = proc_get(&ps, t->pid, true);
		p->parent = t->ppid;
		p->fork_time = t->time;
	}

	/* First every unique user address, resolved on both cores; then the
	 * stacks, built from the symbolizers' caches. Samples share interned
	 * stacks (record.h): a stack's addresses are classified once, for the
	 * first sample that has it, which stands for the others: interning
	 * keeps a process's stacks from before and after a change of its code
	 * at the same addresses apart (raw_store generations). */
	/* Never NULL, even for an empty stack: cprof_add_stack copies from it. */
	vec_reserve(&frames, 64);
	uint8_t *seen = xcalloc(s->ips.n ? s->ips.n : 1, 1);
	for (size_t i = 0; i < s->samples.n; i++) {
		const struct raw_sample *x = &s->samples.v[i];
		if (!x->nips || seen[x->ip_off])
			continue;
		seen[x->ip_off] = 1;
		const uint64_t *ips = s->ips.v + x->ip_off;
		/* A memory trace's stack holds return addresses only. */
		bool kernel = x->mode == PERF_RECORD_MISC_KERNEL, exact = !x->mem_slot;
		for (uint32_t k = 0; k < x->nips; k++) {
			uint64_t ip = ips[k];
			if (x->callchain && ip >= (uint64_t)PERF_CONTEXT_MAX) {
				kernel = ip == (uint64_t)PERF_CONTEXT_KERNEL;
				exact = true;
				continue;
			}
			struct ip_info *info = &infos[x->ip_off + k];
			info->adjust = !exact;
			if (kernel || ip >= 0xffff800000000000ULL) {
				info->kind = IP_KERNEL;
				sym_split_want_kernel(split);
			} else {
				info->kind = IP_USER;
				info->map = find_map(&ps, x->pid, ip, x->time);
				if (info->map && !map_anon[info->map - s->mmaps.v])
					sym_split_add(split, info->map, ip, info->adjust);
			}
			exact = false;
		}
	}
	sym_split_run(split, syms);
	free(seen);

	/* Buffers are per CPU: put the samples on one timeline, and each
	 * distinct stack (with its flags) through the symbols once. */
	uint32_t *order = xmalloc((s->samples.n ? s->samples.n : 1) * sizeof *order);
	for (size_t i = 0; i < s->samples.n; i++)
		order[i] = (uint32_t)i;
	if (s->samples.n)
		qsort_r(order, s->samples.n, sizeof *order, cmp_raw_time, (void *)s);
	uint32_t *range_stack = xmalloc((s->ips.n ? s->ips.n : 1) * sizeof *range_stack);
	uint32_t *range_flags = xcalloc(s->ips.n ? s->ips.n : 1, sizeof *range_flags);
	memset(range_stack, 0xff, (s->ips.n ? s->ips.n : 1) * sizeof *range_stack);
	bool merged = false;
	for (size_t i = 0; i < s->samples.n; i++)
		merged |= s->samples.v[i].merged != 0;

	for (size_t oi = 0; oi < s->samples.n; oi++) {
		const struct raw_sample *x = &s->samples.v[order[oi]];
		const uint64_t *ips = s->ips.v + x->ip_off;
		const struct ip_info *info = infos + x->ip_off;
		uint32_t flags = 0;
		/* Which limit cut the stack, as the recorder saw it. */
		if (x->cut & RAW_CUT_COPY)
			flags |= STACKF_TRUNCATED | STACKF_CUT_COPY;
		if (x->cut & RAW_CUT_FRAMES)
			flags |= STACKF_TRUNCATED | STACKF_CUT_FRAMES;
		if (x->cut & RAW_CUT_KERNEL)
			flags |= STACKF_TRUNCATED | STACKF_CUT_KERNEL;
		if (x->mem_slot)
			flags = 0;
		uint32_t stack = UINT32_MAX;
		if (x->nips && range_stack[x->ip_off] != UINT32_MAX && range_flags[x->ip_off] == flags)
			stack = range_stack[x->ip_off];
		frames.n = 0;
		for (uint32_t k = 0; stack == UINT32_MAX && k < x->nips; k++) {
			if (info[k].kind == IP_CONTEXT)
				continue;
			uint64_t ip = ips[k];
			bool in_kernel = info[k].kind == IP_KERNEL, adjust = info[k].adjust;
			const struct raw_mmap *m = info[k].map;
			const struct memo_entry *e = memo_find(&memo, m, ip, adjust, in_kernel);
			if (!e) {
				int n;
				if (in_kernel) {
					n = symbolizer_kernel(syms[1], ip, out);
				} else if (m && map_anon[m - s->mmaps.v]) {
					n = symbolizer_jit(syms[0], x->pid, ip, out);
				} else if (m) {
					struct sym_map sm = sym_map_of(m);
					n = symbolizer_user(syms[sym_split_owner(split, m, ip)], &sm, ip, adjust, out,
							    MAX_INLINE);
				} else {
					out[0] = (struct sym_frame){ .func = "[unknown]", .dso = "[unknown]", .file = "",
								     .addr = ip, .flags = SYMF_UNKNOWN };
					n = 1;
				}
				uint32_t ids[MAX_INLINE];
				for (int f = 0; f < n; f++)
					ids[f] = store_frame(d, &out[f]);
				/* Zero frames would read as an empty slot; such an
				 * address is simply not memoized. */
				if (n > 0)
					e = memo_add(&memo, m, ip, adjust, in_kernel, ids, (uint32_t)n);
			}
			for (uint32_t f = 0; e && f < e->count; f++) {
				uint32_t id = memo.ids.v[e->first + f];
				if (d->frames.v[id].flags & FRF_UNKNOWN)
					st->unknown++;
				st->frames_resolved++;
				vec_push(&frames, id);
			}
		}
		if (stack == UINT32_MAX) {
			stack = cprof_add_stack(d, frames.v, (uint32_t)frames.n, flags);
			if (x->nips) {
				range_stack[x->ip_off] = stack;
				range_flags[x->ip_off] = flags;
			}
		}
		if (x->mem_slot) {
			s->mem_stack_out[x->mem_slot - 1] = stack;
			continue;
		}
		struct cprof_sample cs = { .time = x->time, .period = x->period, .pid = x->pid, .tid = x->tid,
					   .event = x->event, .mode = x->mode, .stack = stack };
		vec_push(&d->samples, cs);
		if (merged)
			vec_push(&d->sample_counts, x->merged + 1);
		if (s->sample_type & PERF_SAMPLE_CPU)
			vec_push(&d->sample_cpus, x->cpu);
		for (uint32_t k = 0; k < x->nvals; k++) {
			const struct raw_val *v = &s->vals.v[x->val_off + k];
			vec_push(&d->sample_values, ((struct cprof_sample_value){ (uint32_t)(d->samples.n - 1), v->event,
										 v->value }));
		}
	}
	free(order);
	free(range_stack);
	free(range_flags);
	add_threads(d, s);

	for (size_t i = 0; i < s->mmaps.n; i++) {
		const struct raw_mmap *m = &s->mmaps.v[i];
		struct cprof_map cm = { .start = m->start, .len = m->len, .pgoff = m->pgoff, .pid = m->pid,
					.path = cprof_intern(d, m->path), .build_id_size = m->build_id_size };
		memcpy(cm.build_id, m->build_id, sizeof cm.build_id);
		vec_push(&d->maps, cm);
	}

	/* For `cprof annotate`: the code of the hottest functions, read while
	 * their binaries are still open. */
	struct capture_opts co = CAPTURE_OPTS_INIT;
	struct capture_stats cs;
	capture_hot_code(d, syms, 2, &co, &cs);

	for (size_t i = 0; i < ps.v.n; i++)
		vec_release(&ps.v.v[i].maps);
	vec_release(&ps.v);
	vec_release(&frames);
	free(infos);
	free(map_anon);
	free(memo.slots);
	vec_release(&memo.ids);
	/* What the symbol cache saved this pass, for tests and the curious
	 * (report --header-only). */
	symbolizer_save_cache(syms[0]);
	symbolizer_save_cache(syms[1]);
	struct symbolizer_stats a, b;
	symbolizer_get_stats(syms[0], &a);
	symbolizer_get_stats(syms[1], &b);
	if (symbolizer_cache_enabled()) {
		cprof_meta_setf(d, "symcache_hits", "%" PRIu64, a.symcache_hits + b.symcache_hits);
		cprof_meta_setf(d, "symcache_misses", "%" PRIu64, a.symcache_misses + b.symcache_misses);
		cprof_meta_setf(d, "symcache_files", "%" PRIu64 " read, %" PRIu64 " rejected, %" PRIu64 " written",
				a.symcache_read + b.symcache_read, a.symcache_rejected + b.symcache_rejected,
				a.symcache_written + b.symcache_written);
		cprof_meta_setf(d, "symcache_debug_copies", "%" PRIu64 " used, %" PRIu64 " written",
				a.debug_copies_used, a.debug_copies_written);
		if (getenv("CPROF_SYMCACHE_VERIFY"))
			cprof_meta_setf(d, "symcache_verify_mismatches", "%" PRIu64,
					a.symcache_mismatches + b.symcache_mismatches);
	} else {
		cprof_meta_set(d, "symcache_hits", "off");
	}
	cprof_meta_setf(d, "symbols_read", "%" PRIu64 " of %" PRIu64 " binaries", a.binaries_read + b.binaries_read,
			a.binaries_opened + b.binaries_opened);
	symbolizer_free(syms[0]);
	symbolizer_free(syms[1]);
	sym_split_free(split);
	return 0;
}
