/*
 * findings.c - rules that read a CPU profile and say what stands out:
 * a dominant function, time in the allocator, in locks, in sched_yield, in
 * system calls, in page faults, deep recursion, low IPC or many cache
 * misses (where those events were recorded), and the profile's own
 * quality (lost samples, truncated stacks, unknown frames, too few
 * samples, no call graph).
 *
 * Each stack is classified once by the functions on it (a sample is "in
 * the allocator" if malloc or one of its helpers is anywhere on its
 * stack), so the shares are inclusive and a sample can count for several
 * rules. Only on-CPU time is sampled: a thread blocked on a mutex costs no
 * samples, so the lock rule sees the cost of taking locks and spinning,
 * not the waiting; it says so.
 *
 * One file: the rules share their thresholds and wording, and are reviewed as
 * a set.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/findings.h"
#include "cprof/output.h" /* fmt_thousands, from base */

const char *const finding_sev_names[] = { "critical", "high", "medium", "low", "info", NULL };

#define KEY(n, f, w) { n, offsetof(struct finding_rules, f), w }
const struct finding_key finding_keys[] = {
	KEY("hot-function.high", hot_high, "self share (%) of one function for a high finding"),
	KEY("hot-function.medium", hot_medium, "self share (%) of one function for a medium finding"),
	KEY("allocator.percent", alloc_pct, "share (%) of samples inside malloc, free and the like"),
	KEY("locks.percent", lock_pct, "share (%) of samples inside mutexes and futexes"),
	KEY("yield.percent", yield_pct, "share (%) of samples inside sched_yield or spin locks"),
	KEY("syscalls.percent", syscall_pct, "share (%) of samples in the kernel for system calls"),
	KEY("page-faults.percent", fault_pct, "share (%) of samples handling page faults"),
	KEY("ipc.low", ipc_low, "instructions per cycle below this are low"),
	KEY("cache-misses.percent", cache_miss_pct, "cache misses per cache reference (%)"),
	KEY("recursion.depth", recursion_depth, "times one function is on a stack to count as deep"),
	KEY("recursion.percent", recursion_pct, "share (%) of samples with such deep stacks"),
	KEY("quality.lost-percent", lost_pct, "lost samples (%) worth a finding"),
	KEY("quality.truncated-percent", truncated_pct, "truncated stacks (%) worth a finding"),
	KEY("quality.unknown-percent", unknown_pct, "samples without a function name (%)"),
	KEY("quality.min-samples", min_samples, "fewer samples than this limit the precision"),
	{ NULL, 0, NULL },
};

int finding_rules_set(struct finding_rules *r, const char *a, struct cprof_err *err)
{
	const char *eq = strchr(a, '=');
	if (!eq)
		return err_set(err, EINVAL, "'%s' is not KEY=VALUE", a);
	size_t kl = (size_t)(eq - a);
	while (kl && (a[kl - 1] == ' ' || a[kl - 1] == '\t'))
		kl--;
	const char *v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (const struct finding_key *k = finding_keys; k->name; k++) {
		if (strlen(k->name) != kl || strncmp(k->name, a, kl) != 0)
			continue;
		double d;
		char *vs = xstrdup(v);
		for (size_t n = strlen(vs); n && (vs[n - 1] == ' ' || vs[n - 1] == '\t' || vs[n - 1] == '\r'); n--)
			vs[n - 1] = 0;
		int bad = parse_double(vs, &d) < 0 || !(d >= 0) || isinf(d);
		free(vs);
		if (bad)
			return err_set(err, EINVAL, "'%.*s' needs a number of 0 or more, not '%s'", (int)kl, a, v);
		*(double *)((char *)r + k->offset) = d;
		return 0;
	}
	struct sbuf names = SBUF_INIT;
	for (const struct finding_key *k = finding_keys; k->name; k++)
		sbuf_addf(&names, "%s%s", k == finding_keys ? "" : ", ", k->name);
	err_set(err, EINVAL, "unknown finding threshold '%.*s'; known: %s", (int)kl, a, names.buf);
	sbuf_release(&names);
	return -EINVAL;
}

int finding_rules_parse(struct finding_rules *r, const char *text, const char *name, struct cprof_err *err)
{
	size_t lineno = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		lineno++;
		char *s = line;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			s[--n] = 0;
		int rc = 0;
		if (*s && (rc = finding_rules_set(r, s, err)) < 0) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "%s", err->msg);
			err_set(err, EINVAL, "'%s': line %zu: %s", name, lineno, msg);
		}
		free(line);
		if (rc < 0)
			return rc;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

/* ---- classifying stacks ---- */

enum { C_ALLOC = 1, C_LOCK = 2, C_YIELD = 4, C_SYSCALL = 8, C_FAULT = 16 };

static bool match(const char *name, const char *const *exact, const char *const *prefix)
{
	/* glibc's calls inside itself go to hidden aliases of the same
	 * functions (__GI___pthread_mutex_unlock_usercnt). */
	if (strncmp(name, "__GI_", 5) == 0)
		name += 5;
	for (size_t i = 0; exact && exact[i]; i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (size_t i = 0; prefix && prefix[i]; i++)
		if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

static const char *const alloc_exact[] = { "malloc", "free", "calloc", "realloc", "reallocarray", "cfree",
					   "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
					   "malloc_consolidate", "sysmalloc", "systrim", "unlink_chunk", NULL };
static const char *const alloc_prefix[] = { "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
					    "__libc_memalign", "_int_malloc", "_int_free", "_int_realloc",
					    "_int_memalign", "tcache_", "__GI___libc_malloc", "__GI___libc_free",
					    "operator new", "operator delete", "je_", "tc_malloc", "tc_free", "mi_malloc",
					    "mi_free", NULL };
static const char *const lock_exact[] = { "do_futex", "sem_wait", "__new_sem_wait", "lll_mutex_lock_optimized",
					  "lll_mutex_unlock_optimized", NULL };
static const char *const lock_prefix[] = { "pthread_mutex_", "__pthread_mutex_", "pthread_rwlock_",
					   "__pthread_rwlock_", "pthread_cond_", "__pthread_cond_", "__lll_lock",
					   "__lll_unlock", "futex_", "__futex", "__x64_sys_futex", "__arm64_sys_futex",
					   "std::mutex::", "std::__mutex", NULL };
static const char *const yield_exact[] = { "sched_yield", "__sched_yield", "do_sched_yield", "__x64_sys_sched_yield",
					   "__arm64_sys_sched_yield", "yield", NULL };
static const char *const yield_prefix[] = { "pthread_spin_", "__pthread_spin_", NULL };
static const char *const fault_exact[] = { "asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault",
					   "handle_mm_fault", "__handle_mm_fault", "do_page_fault", "page_fault",
					   "do_anonymous_page", "do_mem_abort", "el0_da", NULL };
static const char *const syscall_exact[] = { "entry_SYSCALL_64_after_hwframe", "entry_SYSCALL_64", "do_syscall_64",
					     "el0_svc", "invoke_syscall", NULL };
static const char *const syscall_prefix[] = { "__x64_sys_", "__arm64_sys_", "__ia32_sys_", "ksys_", NULL };

/* The C and C++ runtime: a frame there is not "the caller" the user can
 * change, so callers are looked for above them. */
static bool system_dso(const char *dso)
{
	static const char *const libs[] = { "libc.so", "libc-", "libpthread", "ld-linux", "ld-", "libstdc++",
					    "libgcc_s", "libm.so", "libm-", "librt", "libdl", NULL };
	const char *b = strrchr(dso, '/');
	b = b ? b + 1 : dso;
	for (size_t i = 0; libs[i]; i++)
		if (strncmp(b, libs[i], strlen(libs[i])) == 0)
			return true;
	return false;
}

struct stack_info {
	uint32_t cats;
	uint32_t max_same;    /* the most times one function is on it */
	uint32_t same_func;   /* which */
	uint32_t caller;      /* first user (non-kernel) frame's function, or UINT32_MAX */
	uint32_t sys_frame;   /* the user frame that entered the kernel (for syscalls), or UINT32_MAX */
};

static const char *func_name(const struct profile *p, uint32_t fi)
{
	return cprof_str(p->d, p->funcs.v[fi].name);
}

static void classify(const struct profile *p, uint32_t stack, struct stack_info *si, uint32_t *counts)
{
	const struct cprof_data *d = p->d;
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	memset(si, 0, sizeof *si);
	si->caller = si->sys_frame = UINT32_MAX;
	bool in_kernel_part = false;
	for (uint32_t i = 0; i < n; i++) {
		const struct cprof_frame *f = &d->frames.v[fr[i]];
		uint32_t fi = p->frame_func[fr[i]];
		const char *name = cprof_str(d, f->func);
		bool kernel = f->flags & FRF_KERNEL;
		if (match(name, alloc_exact, alloc_prefix))
			si->cats |= C_ALLOC;
		else if (match(name, lock_exact, lock_prefix))
			si->cats |= C_LOCK;
		else if (match(name, yield_exact, yield_prefix))
			si->cats |= C_YIELD;
		else if (kernel && match(name, fault_exact, NULL))
			si->cats |= C_FAULT;
		else if (kernel && match(name, syscall_exact, syscall_prefix))
			si->cats |= C_SYSCALL;
		/* The user frame that entered the kernel: through a system call
		 * it is the libc wrapper (__write), not the caller to blame;
		 * through a fault it is the code that touched the memory. */
		bool wrapper = false;
		if (kernel) {
			in_kernel_part = true;
		} else if (in_kernel_part && si->sys_frame == UINT32_MAX) {
			si->sys_frame = fi;
			wrapper = si->cats & C_SYSCALL;
		}
		bool libish = wrapper || match(name, alloc_exact, alloc_prefix) || match(name, lock_exact, lock_prefix) ||
			      match(name, yield_exact, yield_prefix) || system_dso(cprof_str(d, f->dso));
		if (!kernel && !libish && si->caller == UINT32_MAX && *name && *name != '[')
			si->caller = fi;
		if (++counts[fi] > si->max_same) {
			si->max_same = counts[fi];
			si->same_func = fi;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		counts[p->frame_func[fr[i]]] = 0;
	/* A system call that takes a lock or yields is that, not I/O; a
	 * fault taken inside a system call is a fault. */
	if (si->cats & (C_LOCK | C_YIELD | C_FAULT))
		si->cats &= ~(uint32_t)C_SYSCALL;
}

/* ---- building findings ---- */

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0;
}

static void add(struct findings *f, const char *rule, enum finding_sev sev, double value, const char *summary,
		struct sbuf *evidence, const char *next_fmt, ...) CPROF_PRINTF(7, 8);

static void add(struct findings *f, const char *rule, enum finding_sev sev, double value, const char *summary,
		struct sbuf *evidence, const char *next_fmt, ...)
{
	struct sbuf next = SBUF_INIT;
	va_list ap;
	va_start(ap, next_fmt);
	sbuf_vaddf(&next, next_fmt, ap);
	va_end(ap);
	struct finding x = { .rule = rule, .sev = sev, .summary = xstrdup(summary), .evidence = sbuf_detach(evidence),
			     .next = sbuf_detach(&next), .value = value };
	vec_push(&f->v, x);
}

/* Weight per caller function of the stacks in one category; the top few
 * as "f (12.3 %), g (4.5 %)" into out. */
struct caller_w {
	uint32_t func;
	uint64_t w;
};

static int cmp_caller(const void *a, const void *b)
{
	const struct caller_w *x = a, *y = b;
	return x->w < y->w ? 1 : x->w > y->w ? -1 : (x->func > y->func) - (x->func < y->func);
}

static void top_callers(const struct profile *p, const struct stack_info *si, uint32_t cat, bool sys_frame,
			struct sbuf *out, uint32_t *ret_top)
{
	uint64_t *w = xcalloc(p->funcs.n + 1, sizeof *w);
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct stack_info *s = &si[i];
		if (!(s->cats & cat))
			continue;
		uint32_t fi = sys_frame && s->sys_frame != UINT32_MAX ? s->sys_frame : s->caller;
		w[fi == UINT32_MAX ? p->funcs.n : fi] += p->stacks.v[i].weight;
	}
	VEC(struct caller_w) v = { 0 };
	for (size_t i = 0; i <= p->funcs.n; i++)
		if (w[i])
			vec_push(&v, ((struct caller_w){ (uint32_t)i, w[i] }));
	if (v.n)
		qsort(v.v, v.n, sizeof *v.v, cmp_caller);
	*ret_top = v.n ? v.v[0].func : UINT32_MAX;
	for (size_t i = 0; i < v.n && i < 3; i++)
		sbuf_addf(out, "%s%s (%.1f %%)", i ? ", " : "",
			  v.v[i].func == p->funcs.n ? "[unknown caller]" : func_name(p, v.v[i].func),
			  pct(v.v[i].w, p->total_weight));
	if (*ret_top == p->funcs.n)
		*ret_top = UINT32_MAX;
	vec_release(&v);
	free(w);
}

static enum finding_sev by_share(double share, double threshold)
{
	return share >= 3 * threshold || share >= 50 ? SEV_HIGH : SEV_MEDIUM;
}

static uint64_t event_weight(const struct cprof_data *d, const char *const *names)
{
	for (size_t e = 0; e < d->events.n; e++) {
		const char *n = cprof_str(d, d->events.v[e].name);
		for (size_t k = 0; names[k]; k++) {
			if (strcmp(n, names[k]) != 0)
				continue;
			uint64_t w = 0;
			for (size_t i = 0; i < d->samples.n; i++)
				if (d->samples.v[i].event == e)
					w += d->samples.v[i].period ? d->samples.v[i].period : 1;
			return w;
		}
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* What the shares are of: time for the clocks (and folded samples), the
 * event itself otherwise ("of page-faults"), so a recording of several
 * events does not call faults time. */
static const char *share_of(const struct profile *p, struct sbuf *buf)
{
	const struct cprof_event *e = &p->d->events.v[p->event];
	const char *unit = cprof_str(p->d, e->unit);
	if (strcmp(unit, "ns") == 0 || strcmp(unit, "samples") == 0 || strcmp(unit, "cycles") == 0 || !*unit)
		return "the time";
	sbuf_reset(buf);
	sbuf_addf(buf, "the %s", cprof_str(p->d, e->name));
	return buf->buf;
}

static void rule_hot(struct findings *f, const struct profile *p, const struct finding_rules *r)
{
	struct sbuf ofb = SBUF_INIT;
	const char *of = share_of(p, &ofb);
	for (size_t i = 0; i < p->funcs.n; i++) {
		const struct profile_func *fn = &p->funcs.v[i];
		double s = pct(fn->self, p->total_weight);
		if (s < r->hot_medium || !p->total_samples)
			continue;
		struct sbuf ev = SBUF_INIT, sum = SBUF_INIT;
		char a[32], b[32];
		const char *name = cprof_str(p->d, fn->name), *dso = cprof_str(p->d, fn->dso);
		const char *file = cprof_str(p->d, fn->file);
		sbuf_addf(&sum, "%s takes %.1f %% of %s by itself", name, s, of);
		sbuf_addf(&ev, "%s of %s samples (%.1f %%) are in %s itself", fmt_thousands(fn->self_samples, a),
			  fmt_thousands(p->total_samples, b), s, name);
		if (*dso)
			sbuf_addf(&ev, ", in %s", base_name(dso));
		if (*file)
			sbuf_addf(&ev, " (%s:%u)", base_name(file), fn->line);
		add(f, "hot-function", s >= r->hot_high ? SEV_HIGH : SEV_MEDIUM, s, sum.buf, &ev,
		    "make %s cheaper or call it less often: 'cprof report --call-tree' shows who calls it, "
		    "'cprof flamegraph' where its time goes, 'cprof annotate %s' its hot instructions",
		    name, name);
		sbuf_release(&sum);
	}
	sbuf_release(&ofb);
}

/* Share of the weight of the stacks in category cat. */
static uint64_t cat_weight(const struct profile *p, const struct stack_info *si, uint32_t cat)
{
	uint64_t w = 0;
	for (size_t i = 0; i < p->stacks.n; i++)
		if (si[i].cats & cat)
			w += p->stacks.v[i].weight;
	return w;
}

static void rule_category(struct findings *f, const struct profile *p, const struct stack_info *si,
			  const struct finding_rules *r, uint32_t cat)
{
	double thr = cat == C_ALLOC ? r->alloc_pct : cat == C_LOCK ? r->lock_pct : cat == C_YIELD ? r->yield_pct
		   : cat == C_SYSCALL ? r->syscall_pct : r->fault_pct;
	double s = pct(cat_weight(p, si, cat), p->total_weight);
	if (!p->total_samples || s < thr)
		return;
	struct sbuf ev = SBUF_INIT, callers = SBUF_INIT, sum = SBUF_INIT, entries = SBUF_INIT;
	uint32_t top, top_entry;
	top_callers(p, si, cat, false, &callers, &top);
	if (cat == C_SYSCALL)
		top_callers(p, si, cat, true, &entries, &top_entry);
	const char *tn = top == UINT32_MAX ? "the callers above" : func_name(p, top);
	enum finding_sev sev = by_share(s, thr);
	/* "12.0 % of the time is spent in ...", or of the event shown when it
	 * does not count time: "12.0 % of the page-faults are in ...". */
	struct sbuf ofb = SBUF_INIT;
	const char *of = share_of(p, &ofb);
	bool is_time = strcmp(of, "the time") == 0;
	sbuf_addf(&sum, "%.1f %% of %s %s ", s, of, is_time ? "is spent" : "are");
	switch (cat) {
	case C_ALLOC:
		sbuf_adds(&sum, "in the memory allocator");
		sbuf_addf(&ev, "%.1f %% of samples have malloc, free or a relative on the stack; called from %s", s,
			  callers.buf);
		add(f, "allocator", sev, s, sum.buf, &ev,
		    "allocate less often in %s: reuse buffers, keep objects in a pool or on the stack, reserve "
		    "capacity up front; 'cprof record --mem' then 'cprof report --mem' shows which allocations "
		    "are temporary", tn);
		break;
	case C_LOCK:
		sbuf_adds(&sum, is_time ? "taking and releasing locks" : "in taking and releasing locks");
		sbuf_addf(&ev, "%.1f %% of samples are inside pthread mutexes, condition variables or futexes; "
			       "from %s (time blocked waiting is not sampled, so contention costs more than this)",
			  s, callers.buf);
		add(f, "locks", sev, s, sum.buf, &ev,
		    "make the critical sections in %s fewer and shorter: batch work under one lock, shard the "
		    "data per thread, or use atomics for counters", tn);
		break;
	case C_YIELD:
		sbuf_adds(&sum, "in sched_yield or spin locks");
		sbuf_addf(&ev, "%.1f %% of samples are in sched_yield or pthread_spin_*; from %s", s, callers.buf);
		add(f, "yield", sev, s, sum.buf, &ev,
		    "%s is busy-waiting: block on a condition variable, futex or eventfd instead of "
		    "yielding or spinning", tn);
		break;
	case C_SYSCALL:
		sbuf_adds(&sum, "in the kernel on system calls");
		sbuf_addf(&ev, "%.1f %% of samples are in system calls, entered through %s; called from %s", s,
			  entries.buf, callers.buf);
		add(f, "syscalls", sev, s, sum.buf, &ev,
		    "make fewer, larger system calls from %s: buffer small reads and writes (stdio, setvbuf, "
		    "writev/readv), batch them, or map files; 'strace -c -p PID' counts them", tn);
		break;
	case C_FAULT:
		sbuf_adds(&sum, is_time ? "handling page faults" : "in the page fault handler");
		sbuf_addf(&ev, "%.1f %% of samples are in the kernel's page fault handler; faulting in %s", s,
			  callers.buf);
		add(f, "page-faults", sev, s, sum.buf, &ev,
		    "touch fewer fresh pages in %s: reuse buffers instead of mapping and unmapping them (glibc "
		    "returns large blocks with munmap: raise M_MMAP_THRESHOLD / M_TRIM_THRESHOLD), pre-fault with "
		    "MAP_POPULATE, or use huge pages (madvise MADV_HUGEPAGE)", tn);
		break;
	}
	sbuf_release(&callers);
	sbuf_release(&entries);
	sbuf_release(&sum);
	sbuf_release(&ofb);
}

/* Page faults by phase: the time window where they weigh most. */
static void fault_phase(struct findings *f, const struct profile *p, const struct stack_info *si,
			const struct finding_rules *r)
{
	const struct cprof_data *d = p->d;
	if (!p->total_samples || p->last_time <= p->first_time)
		return;
	enum { WINDOWS = 10 };
	uint64_t all[WINDOWS] = { 0 }, flt[WINDOWS] = { 0 }, cnt[WINDOWS] = { 0 };
	uint64_t span = p->last_time - p->first_time + 1;
	/* stack id -> profile stack index, to reuse the classification */
	uint32_t *idx = xmalloc((d->stack_offset.n + 1) * sizeof *idx);
	for (size_t i = 0; i < d->stack_offset.n; i++)
		idx[i] = UINT32_MAX;
	for (size_t i = 0; i < p->stacks.n; i++)
		idx[p->stacks.v[i].stack] = (uint32_t)i;
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != p->event || s->time < p->first_time || s->time > p->last_time ||
		    s->stack >= d->stack_offset.n || idx[s->stack] == UINT32_MAX)
			continue;
		size_t w = (size_t)((double)(s->time - p->first_time) / (double)span * WINDOWS);
		if (w >= WINDOWS)
			w = WINDOWS - 1;
		uint64_t wt = s->period ? s->period : 1;
		all[w] += wt;
		cnt[w]++;
		if (si[idx[s->stack]].cats & C_FAULT)
			flt[w] += wt;
	}
	free(idx);
	size_t best = 0, heavy = 0;
	for (size_t w = 0; w < WINDOWS; w++) {
		if (pct(flt[w], all[w]) > pct(flt[best], all[best]))
			best = w;
		heavy += all[w] && pct(flt[w], all[w]) >= 2 * r->fault_pct;
	}
	double whole = pct(cat_weight(p, si, C_FAULT), p->total_weight), peak = pct(flt[best], all[best]);
	/* A phase: much worse than the whole run, in a part of it, and by more
	 * than chance: a tenth of a short run holds ~150 samples, where a
	 * share of 20 % wanders by 3 points, and the worst of ten windows by
	 * more, so the peak must stand 4 standard errors above the whole. */
	double q = whole / 100, se = cnt[best] ? 100 * sqrt(q * (1 - q) / (double)cnt[best]) : 0;
	if (peak < 2 * r->fault_pct || peak < 1.5 * whole || heavy == WINDOWS || heavy == 0 ||
	    peak - whole < 4 * se)
		return;
	struct sbuf ev = SBUF_INIT, sum = SBUF_INIT;
	double t0 = (double)span * (double)best / WINDOWS / 1e9, t1 = (double)span * (double)(best + 1) / WINDOWS / 1e9;
	struct sbuf ofb = SBUF_INIT;
	sbuf_addf(&sum, "a page-fault-heavy phase: %.1f %% of %s from %.2f s to %.2f s", peak, share_of(p, &ofb), t0,
		  t1);
	sbuf_release(&ofb);
	sbuf_addf(&ev, "page faults take %.1f %% of the samples between %.2f s and %.2f s of the run "
		       "(%.1f %% over all of it; %zu of 10 tenths above %.0f %%)",
		  peak, t0, t1, whole, heavy, 2 * r->fault_pct);
	add(f, "page-faults", SEV_MEDIUM, peak, sum.buf, &ev,
	    "this phase maps fresh memory (start-up, a growing buffer, a new data structure): allocate it once "
	    "and reuse it, or pre-fault it with MAP_POPULATE");
	sbuf_release(&sum);
}

static void rule_recursion(struct findings *f, const struct profile *p, const struct stack_info *si,
			   const struct finding_rules *r)
{
	uint64_t w = 0;
	uint32_t deepest = 0, who = UINT32_MAX;
	for (size_t i = 0; i < p->stacks.n; i++) {
		if (si[i].max_same < r->recursion_depth)
			continue;
		w += p->stacks.v[i].weight;
		if (si[i].max_same > deepest) {
			deepest = si[i].max_same;
			who = si[i].same_func;
		}
	}
	double s = pct(w, p->total_weight);
	if (!w || s < r->recursion_pct)
		return;
	struct sbuf ev = SBUF_INIT, sum = SBUF_INIT;
	const char *name = func_name(p, who);
	sbuf_addf(&sum, "deep recursion: %s is on the stack up to %u times", name, deepest);
	sbuf_addf(&ev, "%.1f %% of samples have one function %.0f or more times on their stack; %s up to %u times%s",
		  s, r->recursion_depth, name, deepest,
		  p->truncated_samples ? " (and some stacks were cut, so it may go deeper)" : "");
	add(f, "recursion", SEV_MEDIUM, s, sum.buf, &ev,
	    "turn the recursion in %s into a loop with an explicit stack, or bound its depth; each level "
	    "costs a call and stack memory, and a deep enough input overflows the stack", name);
	sbuf_release(&sum);
}

static void rule_counters(struct findings *f, const struct profile *p, const struct finding_rules *r)
{
	static const char *const cyc[] = { "cycles", "cpu-cycles", NULL }, *const ins[] = { "instructions", NULL };
	static const char *const refs[] = { "cache-references", NULL }, *const miss[] = { "cache-misses", NULL };
	uint64_t c = event_weight(p->d, cyc), n = event_weight(p->d, ins);
	if (c && n) {
		double ipc = (double)n / (double)c;
		if (ipc < r->ipc_low) {
			struct sbuf ev = SBUF_INIT;
			char a[32], b[32];
			sbuf_addf(&ev, "%s instructions in %s cycles: %.2f instructions per cycle (a modern core "
				       "retires up to 4-6)", fmt_thousands(n, a), fmt_thousands(c, b), ipc);
			add(f, "ipc", ipc < r->ipc_low / 2 ? SEV_HIGH : SEV_MEDIUM, ipc,
			    "the CPU is mostly stalled: few instructions per cycle", &ev,
			    "find where with 'cprof report --event cycles' next to '--event instructions'; the "
			    "usual causes are cache misses (lay data out contiguously, shrink it), branch "
			    "mispredictions and long dependency chains");
		}
	}
	uint64_t rf = event_weight(p->d, refs), ms = event_weight(p->d, miss);
	if (rf && ms) {
		double mr = pct(ms, rf);
		if (mr >= r->cache_miss_pct) {
			struct sbuf ev = SBUF_INIT;
			char a[32], b[32];
			sbuf_addf(&ev, "%s cache misses of %s references: %.1f %%", fmt_thousands(ms, a),
				  fmt_thousands(rf, b), mr);
			add(f, "cache-misses", by_share(mr, r->cache_miss_pct), mr, "many cache misses", &ev,
			    "'cprof report --event cache-misses' shows which functions miss; make their data "
			    "smaller and contiguous (arrays over pointer chasing), and walk it in order");
		}
	}
}

static void rule_quality(struct findings *f, const struct profile *p, const struct finding_rules *r)
{
	const struct cprof_data *d = p->d;
	char a[32], b[32];
	const char *lost_s = cprof_meta_get(d, "lost_samples");
	uint64_t lost = 0;
	if (lost_s && parse_u64(lost_s, &lost) == 0 && lost) {
		uint64_t taken = 0;
		for (size_t i = 0; i < d->samples.n; i++)
			taken += profile_sample_count(d, &d->samples.v[i]);
		double s = pct(lost, taken + lost);
		if (s >= r->lost_pct) {
			struct sbuf ev = SBUF_INIT;
			sbuf_addf(&ev, "%s samples lost, %.1f %% of all taken; the shares above undercount whatever ran "
				       "while they were lost", fmt_thousands(lost, a), s);
			/* Twice the ring it had, where the recording says (else,
			 * as before, 512 pages). */
			const char *pages_s = cprof_meta_get(d, "mmap_pages");
			uint64_t pages = 0;
			if (!pages_s || parse_u64(pages_s, &pages) < 0 || !pages || pages > (UINT64_C(1) << 40))
				pages = 256;
			add(f, "lost-samples", s >= 20 ? SEV_CRITICAL : s >= 5 ? SEV_HIGH : SEV_MEDIUM, s,
			    "the kernel dropped samples: the profile is incomplete", &ev,
			    "record again with a larger ring buffer (-m %" PRIu64 " or more) or a lower rate (-F 499)",
			    pages * 2);
		}
	}
	double t = pct(p->truncated_samples, p->total_samples);
	if (p->truncated_samples && t >= r->truncated_pct) {
		struct sbuf ev = SBUF_INIT;
		const char *cg = cprof_meta_get(d, "call_graph");
		bool dwarf = cg && strncmp(cg, "dwarf", 5) == 0;
		sbuf_addf(&ev, "%.1f %% of samples have a stack that was cut before its outermost frame", t);
		add(f, "truncated-stacks", t >= 25 ? SEV_HIGH : SEV_MEDIUM, t, "call stacks are cut short", &ev, "%s",
		    dwarf ? "record with a larger stack copy: --call-graph dwarf,65528"
			  : "raise the limit: sysctl kernel.perf_event_max_stack=1024");
	}
	uint64_t unknown = 0;
	for (size_t i = 0; i < p->stacks.n; i++) {
		uint32_t st = p->stacks.v[i].stack;
		if (!cprof_stack_len(d, st))
			continue;
		const char *leaf = cprof_str(d, d->frames.v[cprof_stack_frames(d, st)[0]].func);
		if (!*leaf || strcmp(leaf, "[unknown]") == 0)
			unknown += p->stacks.v[i].weight;
	}
	double u = pct(unknown, p->total_weight);
	if (unknown && u >= r->unknown_pct) {
		struct sbuf ev = SBUF_INIT;
		sbuf_addf(&ev, "%.1f %% of samples are in code with no symbol", u);
		add(f, "unknown-frames", SEV_LOW, u, "many samples have no function name", &ev,
		    "install the debug symbols of the binaries involved (the -dbg/-dbgsym packages) or build with "
		    "-g; JIT compilers can write /tmp/perf-PID.map");
	}
	if (p->total_samples && (double)p->total_samples < r->min_samples) {
		struct sbuf ev = SBUF_INIT;
		double margin = 196.0 * sqrt(0.1 * 0.9 / (double)p->total_samples);
		sbuf_addf(&ev, "%s samples: a function with 10 %% of them is known only to +- %.1f points "
			       "(95 %%); %.0f samples give +- %.1f",
			  fmt_thousands(p->total_samples, a), margin, r->min_samples,
			  196.0 * sqrt(0.1 * 0.9 / r->min_samples));
		add(f, "few-samples", p->total_samples < 100 ? SEV_MEDIUM : SEV_INFO, (double)p->total_samples,
		    "too few samples for small differences to mean anything", &ev,
		    "record longer, or at a higher rate (-F 4999)");
	}
	const char *cg = cprof_meta_get(d, "call_graph");
	if (cg && strcmp(cg, "none") == 0 && p->total_samples) {
		struct sbuf ev = SBUF_INIT;
		sbuf_addf(&ev, "the recording has only the sampled functions, not their callers (%s samples)",
			  fmt_thousands(p->total_samples, b));
		add(f, "no-call-graph", SEV_INFO, 0, "no call stacks were recorded", &ev,
		    "record with -g (frame pointers) or --call-graph dwarf to see who calls what; the allocator, "
		    "lock, system call and recursion findings need the stacks");
	}
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	if (x->sev != y->sev)
		return (int)x->sev - (int)y->sev;
	return strcmp(x->rule, y->rule);
}

void findings_build(struct findings *f, const struct profile *p, const struct finding_rules *r)
{
	memset(f, 0, sizeof *f);
	struct stack_info *si = xcalloc(p->stacks.n + 1, sizeof *si);
	uint32_t *counts = xcalloc(p->funcs.n + 1, sizeof *counts);
	for (size_t i = 0; i < p->stacks.n; i++)
		classify(p, p->stacks.v[i].stack, &si[i], counts);
	free(counts);
	rule_hot(f, p, r);
	rule_category(f, p, si, r, C_ALLOC);
	rule_category(f, p, si, r, C_LOCK);
	rule_category(f, p, si, r, C_YIELD);
	rule_category(f, p, si, r, C_SYSCALL);
	rule_category(f, p, si, r, C_FAULT);
	fault_phase(f, p, si, r);
	rule_recursion(f, p, si, r);
	rule_counters(f, p, r);
	rule_quality(f, p, r);
	free(si);
	if (f->v.n)
		qsort(f->v.v, f->v.n, sizeof *f->v.v, cmp_finding);
}

void findings_release(struct findings *f)
{
	for (size_t i = 0; i < f->v.n; i++) {
		free(f->v.v[i].summary);
		free(f->v.v[i].evidence);
		free(f->v.v[i].next);
	}
	vec_release(&f->v);
}
