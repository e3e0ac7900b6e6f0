/*
 * resolve.c - the finishing pass of record: find the mapping under every
 * sampled address as it was at the sample's time, symbolize each unique
 * address once, and store deduplicated stacks, threads and maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static uint32_t store_frame(struct cprof_data *d, const struct sym_frame *f)
{
	struct cprof_frame cf = { .func = cprof_intern(d, f->func), .dso = cprof_intern(d, f->dso),
				  .file = cprof_intern(d, f->file ? f->file : ""), .line = f->line, .addr = f->addr };
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

static int cmp_sample_time(const void *a, const void *b)
{
	const struct cprof_sample *x = a, *y = b;
	return x->time < y->time ? -1 : x->time > y->time;
}

static unsigned max_stack_sysctl(void)
{
	unsigned v = 127;
	FILE *fp = fopen("/proc/sys/kernel/perf_event_max_stack", "r");
	if (fp) {
		if (fscanf(fp, "%u", &v) != 1)
			v = 127;
		fclose(fp);
	}
	return v;
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
		t->samples++;
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
	unsigned max_stack = max_stack_sysctl();
	memset(st, 0, sizeof *st);
	if (!syms[0] || !syms[1]) {
		symbolizer_free(syms[0]);
		symbolizer_free(syms[1]);
		sym_split_free(split);
		return err_set(err, ENOMEM, "cannot start the symbolizer");
	}

	for (size_t i = 0; i < s->mmaps.n; i++) {
		struct proc_maps *p = proc_get(&ps, s->mmaps.v[i].pid, true);
		vec_push(&p->maps, &s->mmaps.v[i]);
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
	 * stacks, built from the symbolizers' caches. */
	for (size_t i = 0; i < s->samples.n; i++) {
		const struct raw_sample *x = &s->samples.v[i];
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
			if (kernel || ip >= 0xffff800000000000ULL) {
				sym_split_want_kernel(split);
			} else {
				const struct raw_mmap *m = find_map(&ps, x->pid, ip, x->time);
				if (m && !is_anon(m->path))
					sym_split_add(split, m, ip, !exact);
			}
			exact = false;
		}
	}
	sym_split_run(split, syms);

	for (size_t i = 0; i < s->samples.n; i++) {
		const struct raw_sample *x = &s->samples.v[i];
		const uint64_t *ips = s->ips.v + x->ip_off;
		/* A memory trace's stack holds return addresses only. */
		bool kernel = x->mode == PERF_RECORD_MISC_KERNEL, exact = !x->mem_slot;
		uint32_t user_frames = 0, flags = 0;
		frames.n = 0;
		for (uint32_t k = 0; k < x->nips; k++) {
			uint64_t ip = ips[k];
			if (x->callchain && ip >= (uint64_t)PERF_CONTEXT_MAX) {
				kernel = ip == (uint64_t)PERF_CONTEXT_KERNEL;
				exact = true;
				continue;
			}
			int n;
			if (kernel || ip >= 0xffff800000000000ULL) {
				n = symbolizer_kernel(syms[1], ip, out);
			} else {
				user_frames++;
				const struct raw_mmap *m = find_map(&ps, x->pid, ip, x->time);
				if (m && is_anon(m->path)) {
					n = symbolizer_jit(syms[0], x->pid, ip, out);
				} else if (m) {
					struct sym_map sm = sym_map_of(m);
					n = symbolizer_user(syms[sym_split_owner(split, m, ip)], &sm, ip, !exact, out, MAX_INLINE);
				} else {
					out[0] = (struct sym_frame){ .func = "[unknown]", .dso = "[unknown]", .file = "",
								     .addr = ip, .flags = SYMF_UNKNOWN };
					n = 1;
				}
			}
			exact = false;
			for (int f = 0; f < n; f++) {
				if (out[f].flags & SYMF_UNKNOWN)
					st->unknown++;
				st->frames_resolved++;
				vec_push(&frames, store_frame(d, &out[f]));
			}
		}
		/* The kernel's depth limit cuts only callchains it walked itself;
		 * DWARF-unwound user frames are limited by the copy size instead. */
		if ((x->callchain && !s->unwinder && user_frames >= max_stack) || x->truncated)
			flags |= STACKF_TRUNCATED;
		if (x->mem_slot) {
			s->mem_stack_out[x->mem_slot - 1] = cprof_add_stack(d, frames.v, (uint32_t)frames.n, 0);
			continue;
		}
		struct cprof_sample cs = { .time = x->time, .period = x->period, .pid = x->pid, .tid = x->tid,
					   .event = 0, .mode = x->mode };
		cs.stack = cprof_add_stack(d, frames.v, (uint32_t)frames.n, flags);
		vec_push(&d->samples, cs);
	}
	/* Buffers are per CPU: put the samples on one timeline. */
	if (d->samples.n)
		qsort(d->samples.v, d->samples.n, sizeof *d->samples.v, cmp_sample_time);
	add_threads(d, s);

	for (size_t i = 0; i < s->mmaps.n; i++) {
		const struct raw_mmap *m = &s->mmaps.v[i];
		struct cprof_map cm = { .start = m->start, .len = m->len, .pgoff = m->pgoff, .pid = m->pid,
					.path = cprof_intern(d, m->path), .build_id_size = m->build_id_size };
		memcpy(cm.build_id, m->build_id, sizeof cm.build_id);
		vec_push(&d->maps, cm);
	}

	for (size_t i = 0; i < ps.v.n; i++)
		vec_release(&ps.v.v[i].maps);
	vec_release(&ps.v);
	vec_release(&frames);
	symbolizer_free(syms[0]);
	symbolizer_free(syms[1]);
	sym_split_free(split);
	return 0;
}
