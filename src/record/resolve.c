/*
 * resolve.c - the finishing pass of record: find the mapping under every
 * sampled address as it was at the sample's time, symbolize each unique
 * address once, and store deduplicated stacks, threads and maps.
 *
 * One file: the resolver's phases share its memo and mapping index, which no
 * other file should see.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/capture.h"
#include "cprof/data.h"
#include "cprof/record.h"
#include "cprof/resolve.h"
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

/* Not a struct hashidx: over one, the finishing pass of fpdeep (dwarf) took a median 12.8 us a sample, not 9.1. */
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
		/* From 256 slots (8 KiB): a short recording's few hundred
		 * addresses should not pay for 128 KiB of fresh zeroed pages
		 * (32 page faults, a quarter of a millisecond here). */
		struct frame_memo grown = { .cap = fm->cap ? fm->cap * 2 : 256, .ids = fm->ids };
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
	 * or by its process's name (threads inherit it at clone). Last by
	 * time, not by the order the records were read in: the rings are
	 * read one after the other, and perf's child, named "perf-exec" on
	 * one CPU and then exec'ing the program on another, had its exec's
	 * COMM read first now and then (2 recordings in 25 of t-rust's
	 * `cprof record -- perf record -- rustwork-v0`, whose program was
	 * then "perf-exec"). Records without a time keep their order. */
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *x = &d->samples.v[i];
		struct cprof_thread *t = NULL;
		for (size_t k = d->threads.n; k-- > 0;)
			if (d->threads.v[k].tid == x->tid && d->threads.v[k].pid == x->pid) {
				t = &d->threads.v[k];
				break;
			}
		if (!t) {
			const struct raw_comm *cm = NULL, *pcm = NULL;
			for (size_t c = 0; c < s->comms.n; c++) {
				const struct raw_comm *rc = &s->comms.v[c];
				if (rc->tid == x->tid && rc->pid == x->pid && (!cm || rc->time >= cm->time))
					cm = rc;
				if (rc->tid == x->pid && rc->pid == x->pid && (!pcm || rc->time >= pcm->time))
					pcm = rc;
			}
			const char *comm = cm ? cm->comm : NULL, *pcomm = pcm ? pcm->comm : NULL;
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

/* One stack handed to the resolver: its addresses stay the caller's. */
struct rstack {
	const uint64_t *ips;
	uint64_t info_off;       /* its entries in resolver.infos */
	uint32_t n, pid;
	uint32_t stack, flags;   /* the stack stored for it last, and with which flags */
};

struct resolver {
	struct cprof_data *d;
	const struct raw_store *s;
	struct procs ps;
	struct symbolizer *syms[2]; /* one per core; see symsplit.h */
	struct sym_split *split;
	bool *map_anon;             /* per s->mmaps entry */
	struct frame_memo memo;
	VEC(struct rstack) stacks;
	VEC(struct ip_info) infos;
	uint32_t *of_off;           /* samples: ip_off -> stack handle + 1 */
	VEC(uint32_t) frames;
	struct resolve_stats stats;
};

struct resolver *resolver_new(struct cprof_data *d, const struct raw_store *s, struct cprof_err *err)
{
	struct resolver *r = xcalloc(1, sizeof *r);
	r->d = d;
	r->s = s;
	r->syms[0] = symbolizer_new();
	r->syms[1] = symbolizer_new();
	r->split = sym_split_new();
	if (!r->syms[0] || !r->syms[1] || !r->split) {
		resolver_free(r);
		err_set(err, ENOMEM, "cannot start the symbolizer");
		return NULL;
	}
	r->map_anon = xcalloc(s->mmaps.n ? s->mmaps.n : 1, sizeof *r->map_anon);
	for (size_t i = 0; i < s->mmaps.n; i++) {
		struct proc_maps *p = proc_get(&r->ps, s->mmaps.v[i].pid, true);
		vec_push(&p->maps, &s->mmaps.v[i]);
		r->map_anon[i] = is_anon(s->mmaps.v[i].path);
	}
	for (size_t i = 0; i < s->tasks.n; i++) {
		const struct raw_task *t = &s->tasks.v[i];
		if (t->exit || t->pid == t->ppid || t->pid != t->tid)
			continue; /* a new process, not a thread */
		struct proc_maps *p = proc_get(&r->ps, t->pid, true);
		p->parent = t->ppid;
		p->fork_time = t->time;
	}
	/* Never NULL, even for an empty stack: cprof_add_stack copies from it. */
	vec_reserve(&r->frames, 64);
	return r;
}

uint32_t resolver_add(struct resolver *r, uint32_t pid, uint64_t time, const uint64_t *ips, uint32_t n,
		      unsigned how)
{
	struct rstack rs = { .ips = ips, .n = n, .pid = pid, .info_off = r->infos.n, .stack = UINT32_MAX };
	if (!n) { /* an empty stack (the tracer's, before any frame): nothing to look at */
		vec_push(&r->stacks, rs);
		return (uint32_t)(r->stacks.n - 1);
	}
	vec_reserve(&r->infos, r->infos.n + n);
	memset(r->infos.v + r->infos.n, 0, n * sizeof *r->infos.v);
	struct ip_info *info = r->infos.v + r->infos.n;
	r->infos.n += n;
	/* The first address is where the thread was; the others are return
	 * addresses, looked up one byte back (a tracer's stacks hold return
	 * addresses only). */
	bool kernel = how & RESOLVE_KERNEL, exact = !(how & RESOLVE_RETURNS);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t ip = ips[k];
		if ((how & RESOLVE_CALLCHAIN) && ip >= (uint64_t)PERF_CONTEXT_MAX) {
			kernel = ip == (uint64_t)PERF_CONTEXT_KERNEL;
			exact = true;
			continue; /* IP_CONTEXT */
		}
		info[k].adjust = !exact;
		if (kernel || ip >= 0xffff800000000000ULL) {
			info[k].kind = IP_KERNEL;
			sym_split_want_kernel(r->split);
		} else {
			info[k].kind = IP_USER;
			info[k].map = find_map(&r->ps, pid, ip, time);
			if (info[k].map && !r->map_anon[info[k].map - r->s->mmaps.v])
				sym_split_add(r->split, info[k].map, ip, info[k].adjust);
		}
		exact = false;
	}
	vec_push(&r->stacks, rs);
	return (uint32_t)(r->stacks.n - 1);
}

void resolver_add_samples(struct resolver *r)
{
	/* Samples share interned stacks (record.h): a stack's addresses are
	 * classified once, for the first sample that has it, which stands
	 * for the others: interning keeps a process's stacks from before and
	 * after a change of its code at the same addresses apart (raw_store
	 * generations). */
	const struct raw_store *s = r->s;
	r->of_off = xcalloc(s->ips.n ? s->ips.n : 1, sizeof *r->of_off);
	for (size_t i = 0; i < s->samples.n; i++) {
		const struct raw_sample *x = &s->samples.v[i];
		if (!x->nips || r->of_off[x->ip_off])
			continue;
		unsigned how = (x->callchain ? RESOLVE_CALLCHAIN : 0) | (x->mode == PERF_RECORD_MISC_KERNEL ? RESOLVE_KERNEL : 0);
		r->of_off[x->ip_off] = resolver_add(r, x->pid, x->time, s->ips.v + x->ip_off, x->nips, how) + 1;
	}
}

void resolver_run(struct resolver *r)
{
	sym_split_run(r->split, r->syms);
}

const uint32_t *resolver_frames(struct resolver *r, uint32_t h, size_t *n)
{
	struct sym_frame out[MAX_INLINE];
	const struct rstack *rs = &r->stacks.v[h];
	const struct ip_info *info = rs->n ? r->infos.v + rs->info_off : NULL; /* none yet: no arithmetic on NULL */
	struct cprof_data *d = r->d;
	r->frames.n = 0;
	for (uint32_t k = 0; k < rs->n; k++) {
		if (info[k].kind == IP_CONTEXT)
			continue;
		uint64_t ip = rs->ips[k];
		bool in_kernel = info[k].kind == IP_KERNEL, adjust = info[k].adjust;
		const struct raw_mmap *m = info[k].map;
		const struct memo_entry *e = memo_find(&r->memo, m, ip, adjust, in_kernel);
		if (!e) {
			int nf;
			if (in_kernel) {
				nf = symbolizer_kernel(r->syms[1], ip, out);
			} else if (m && r->map_anon[m - r->s->mmaps.v]) {
				nf = symbolizer_jit(r->syms[0], rs->pid, ip, out);
			} else if (m) {
				struct sym_map sm = sym_map_of(m);
				nf = symbolizer_user(r->syms[sym_split_owner(r->split, m, ip)], &sm, ip, adjust, out,
						     MAX_INLINE);
			} else {
				out[0] = (struct sym_frame){ .func = "[unknown]", .dso = "[unknown]", .file = "",
							     .addr = ip, .flags = SYMF_UNKNOWN };
				nf = 1;
			}
			uint32_t ids[MAX_INLINE];
			for (int f = 0; f < nf; f++)
				ids[f] = store_frame(d, &out[f]);
			/* Zero frames would read as an empty slot; such an
			 * address is simply not memoized. */
			if (nf > 0)
				e = memo_add(&r->memo, m, ip, adjust, in_kernel, ids, (uint32_t)nf);
		}
		for (uint32_t f = 0; e && f < e->count; f++) {
			uint32_t id = r->memo.ids.v[e->first + f];
			if (d->frames.v[id].flags & FRF_UNKNOWN)
				r->stats.unknown++;
			r->stats.frames_resolved++;
			vec_push(&r->frames, id);
		}
	}
	*n = r->frames.n;
	return r->frames.v;
}

uint32_t resolver_stack(struct resolver *r, uint32_t h, uint32_t flags)
{
	struct rstack *rs = &r->stacks.v[h];
	if (rs->stack != UINT32_MAX && rs->flags == flags)
		return rs->stack;
	size_t n;
	const uint32_t *f = resolver_frames(r, h, &n);
	rs->stack = cprof_add_stack(r->d, f, (uint32_t)n, flags);
	rs->flags = flags;
	return rs->stack;
}

void resolver_emit_samples(struct resolver *r)
{
	/* Buffers are per CPU: put the samples on one timeline. */
	const struct raw_store *s = r->s;
	struct cprof_data *d = r->d;
	uint32_t *order = xmalloc((s->samples.n ? s->samples.n : 1) * sizeof *order);
	for (size_t i = 0; i < s->samples.n; i++)
		order[i] = (uint32_t)i;
	if (s->samples.n)
		qsort_r(order, s->samples.n, sizeof *order, cmp_raw_time, (void *)s);
	bool merged = false;
	for (size_t i = 0; i < s->samples.n; i++)
		merged |= s->samples.v[i].merged != 0;

	for (size_t oi = 0; oi < s->samples.n; oi++) {
		const struct raw_sample *x = &s->samples.v[order[oi]];
		uint32_t flags = 0;
		/* Which limit cut the stack, as the recorder saw it. */
		if (x->cut & RAW_CUT_COPY)
			flags |= STACKF_TRUNCATED | STACKF_CUT_COPY;
		if (x->cut & RAW_CUT_FRAMES)
			flags |= STACKF_TRUNCATED | STACKF_CUT_FRAMES;
		if (x->cut & RAW_CUT_KERNEL)
			flags |= STACKF_TRUNCATED | STACKF_CUT_KERNEL;
		uint32_t stack = x->nips ? resolver_stack(r, r->of_off[x->ip_off] - 1, flags)
					 : cprof_add_stack(d, r->frames.v, 0, flags);
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
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ps.v.n; i++)
		vec_release(&r->ps.v.v[i].maps);
	vec_release(&r->ps.v);
	symbolizer_free(r->syms[0]);
	symbolizer_free(r->syms[1]);
	sym_split_free(r->split);
	free(r->map_anon);
	free(r->memo.slots);
	vec_release(&r->memo.ids);
	vec_release(&r->stacks);
	vec_release(&r->infos);
	vec_release(&r->frames);
	free(r->of_off);
	free(r);
}

void resolver_finish(struct resolver *r, struct resolve_stats *st)
{
	struct cprof_data *d = r->d;
	const struct raw_store *s = r->s;
	struct symbolizer **syms = r->syms;
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
		cprof_meta_setf(d, "symcache_files",
				"%" PRIu64 " read (%" PRIu64 " checked whole), %" PRIu64 " rejected, %" PRIu64 " written",
				a.symcache_read + b.symcache_read, a.symcache_checked + b.symcache_checked,
				a.symcache_rejected + b.symcache_rejected, a.symcache_written + b.symcache_written);
		cprof_meta_setf(d, "symcache_code", "%" PRIu64 " from the cache, %" PRIu64 " kept, %" PRIu64
				" addresses resolved ahead", a.symcache_code_hits + b.symcache_code_hits,
				a.symcache_code_kept + b.symcache_code_kept,
				a.symcache_prefilled + b.symcache_prefilled);
		cprof_meta_setf(d, "symcache_debug_copies", "%" PRIu64 " used, %" PRIu64 " written, %" PRIu64 " checked",
				a.debug_copies_used, a.debug_copies_written, a.debug_copies_checked);
		if (getenv("CPROF_SYMCACHE_VERIFY"))
			cprof_meta_setf(d, "symcache_verify_mismatches", "%" PRIu64,
					a.symcache_mismatches + b.symcache_mismatches);
	} else {
		cprof_meta_set(d, "symcache_hits", "off");
	}
	cprof_meta_setf(d, "symbols_read", "%" PRIu64 " of %" PRIu64 " binaries", a.binaries_read + b.binaries_read,
			a.binaries_opened + b.binaries_opened);
	if (st)
		*st = r->stats;
	resolver_free(r);
}

int resolve_samples(struct cprof_data *d, const struct raw_store *s, struct resolve_stats *st,
		    struct cprof_err *err)
{
	struct resolver *r = resolver_new(d, s, err);
	if (!r)
		return -ENOMEM;
	resolver_add_samples(r);
	resolver_run(r);
	resolver_emit_samples(r);
	resolver_finish(r, st);
	return 0;
}
