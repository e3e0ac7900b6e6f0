/*
 * profile.c - aggregate a recording: filter samples, merge identical stacks,
 * and fold frames into functions with self and total weights.
 *
 * One file: filtering, merging and folding walk the same samples and share
 * their indexes.
 */
#include <errno.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <string.h>

#include "cprof/profile.h"
#include "cprof/u64map.h"

uint64_t profile_sample_count(const struct cprof_data *d, const struct cprof_sample *s)
{
	const struct cprof_event *e = &d->events.v[s->event];
	if (strcmp(cprof_str(d, e->unit), "samples") == 0)
		return s->period;
	return cprof_sample_count(d, s);
}

int profile_find_event(const struct cprof_data *d, const char *name)
{
	for (size_t i = 0; i < d->events.n; i++)
		if (strcmp(cprof_str(d, d->events.v[i].name), name) == 0)
			return (int)i;
	/* The name without its terms and modifiers (page-faults for
	 * page-faults/period=1/ or page-faults:u), when only one has it. */
	int found = -1;
	size_t n = strlen(name);
	for (size_t i = 0; i < d->events.n; i++) {
		const char *e = cprof_str(d, d->events.v[i].name);
		/* after ':' modifier letters only: "sched" is not sched:sched_switch */
		if (strncmp(e, name, n) == 0 &&
		    (e[n] == '/' || (e[n] == ':' && e[n + 1] && !e[n + 1 + strspn(e + n + 1, "ukhpS")]))) {
			if (found >= 0)
				return -1;
			found = (int)i;
		}
	}
	return found;
}

void profile_frame_label(const struct cprof_data *d, const struct cprof_frame *f, struct sbuf *out)
{
	sbuf_adds(out, cprof_str(d, f->func));
	if (f->flags & FRF_KERNEL)
		sbuf_adds(out, "_[k]");
	else if (f->flags & FRF_INLINED)
		sbuf_adds(out, "_[i]");
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static uint64_t func_hash(uint32_t name, uint32_t dso) { return hash_bytes(&name, 4, hash_bytes(&dso, 4, HASH_SEED)); }

static uint64_t func_hash_at(const void *ctx, uint32_t i)
{
	const struct profile_func *g = &((const struct profile *)ctx)->funcs.v[i];
	return func_hash(g->name, g->dso);
}

static uint32_t func_of_frame(struct profile *p, uint32_t fi)
{
	const struct cprof_frame *f = &p->d->frames.v[fi];
	struct hashidx *ix = &p->func_idx;
	uint64_t h = func_hash(f->func, f->dso);
	uint32_t kernel = f->flags & FRF_KERNEL;
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const struct profile_func *g = &p->funcs.v[i];
		if (g->name == f->func && g->dso == f->dso && (g->flags & FRF_KERNEL) == kernel)
			return i;
	}
	hashidx_reserve(ix, func_hash_at, p);
	struct profile_func nf = { .name = f->func, .dso = f->dso, .file = f->file, .line = f->line,
				   .flags = f->flags };
	uint32_t idx = (uint32_t)p->funcs.n;
	vec_push(&p->funcs, nf);
	hashidx_put(ix, h, idx);
	return idx;
}

/*
 * (pid, tid) -> a 32-bit value in a u64map, for the threads of a recording
 * and of a profile. Threads are usually few, but a build of thousands of processes
 * (or a crafted file with a new thread per sample) must not make each
 * sample a scan of all of them.
 */
static uint64_t tid_key(uint32_t pid, uint32_t tid) { return (uint64_t)pid << 32 | tid; }

/* Thread names by (pid, tid); the first entry of a thread wins, as before. */
static void comm_map_build(struct u64map *m, const struct cprof_data *d)
{
	for (size_t i = 0; i < d->threads.n; i++) {
		uint64_t key = tid_key(d->threads.v[i].pid, d->threads.v[i].tid);
		if (u64map_get(m, key) < 0)
			u64map_put(m, key, d->threads.v[i].comm);
	}
}

bool profile_comm_matches(const char *comm, const char *list)
{
	struct sbuf item = SBUF_INIT;
	bool hit = false;
	for (const char *p = list; !hit;) {
		size_t n = strcspn(p, ",");
		sbuf_reset(&item);
		sbuf_add(&item, p, n);
		if (item.len) {
			if (strpbrk(item.buf, "*?["))
				hit = fnmatch(item.buf, comm, 0) == 0;
			else
				hit = strncmp(comm, item.buf, item.len) == 0;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	sbuf_release(&item);
	return hit;
}

static bool ids_have(const struct profile_ids *ids, uint32_t id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

int profile_ids_parse(const char *s, struct profile_ids *ret)
{
	VEC(uint32_t) v = { 0 };
	for (const char *p = s;;) {
		size_t n = strcspn(p, ",");
		char num[24];
		uint64_t x;
		if (n == 0 || n >= sizeof num) {
			vec_release(&v);
			return -EINVAL;
		}
		memcpy(num, p, n);
		num[n] = 0;
		if (parse_u64(num, &x) < 0 || x > INT32_MAX) {
			vec_release(&v);
			return -EINVAL;
		}
		vec_push(&v, (uint32_t)x);
		if (!p[n])
			break;
		p += n + 1;
	}
	ret->v = v.v;
	ret->n = v.n;
	return 0;
}

static bool thread_passes(const struct profile_filter *f, uint32_t pid, uint32_t tid, const char *comm)
{
	if (f->tid >= 0 && tid != (uint64_t)f->tid)
		return false;
	if (f->pid >= 0 && pid != (uint64_t)f->pid)
		return false;
	if (f->tids.n && !ids_have(&f->tids, tid))
		return false;
	if (f->pids.n && !ids_have(&f->pids, pid))
		return false;
	return !f->comm || profile_comm_matches(comm, f->comm);
}

int profile_filter_check(const struct cprof_data *d, const struct profile_filter *f, struct cprof_err *err)
{
	if (!f->comm && f->tid < 0 && f->pid < 0 && !f->tids.n && !f->pids.n)
		return 0;
	for (size_t i = 0; i < d->threads.n; i++) {
		const struct cprof_thread *t = &d->threads.v[i];
		if (thread_passes(f, t->pid, t->tid, cprof_str(d, t->comm)))
			return 0;
	}
	/* Folded stacks have no threads: the filter cannot apply. */
	struct sbuf names = SBUF_INIT, what = SBUF_INIT;
	for (size_t i = 0; i < d->threads.n; i++) {
		const char *c = cprof_str(d, d->threads.v[i].comm);
		if (f->comm) {
			/* names once each */
			bool dup = false;
			for (size_t j = 0; j < i && !dup; j++)
				dup = strcmp(cprof_str(d, d->threads.v[j].comm), c) == 0;
			if (!dup && names.len < 400)
				sbuf_addf(&names, "%s%s", names.len ? ", " : "", *c ? c : "[unknown]");
		} else if (names.len < 400) {
			sbuf_addf(&names, "%s%s %u/%u", names.len ? ", " : "", *c ? c : "[unknown]", d->threads.v[i].pid,
				  d->threads.v[i].tid);
		}
	}
	if (names.len >= 400)
		sbuf_adds(&names, ", ...");
	if (f->comm)
		sbuf_addf(&what, "--comm '%s'", f->comm);
	else if (f->tid >= 0 || f->tids.n)
		sbuf_adds(&what, "--tid");
	else
		sbuf_adds(&what, "--pid");
	int r;
	if (!d->threads.n)
		r = err_set(err, ENOENT, "no thread matches %s: the input has no threads (folded stacks?)", what.buf);
	else
		r = err_set(err, ENOENT, "no thread matches %s; the recording has %s%s", what.buf,
			    f->comm ? "threads named " : "(name pid/tid) ", names.buf);
	sbuf_release(&names);
	sbuf_release(&what);
	return r;
}

static uint32_t thread_comm(struct u64map *comms, uint32_t pid, uint32_t tid)
{
	int64_t v = u64map_get(comms, tid_key(pid, tid));
	if (v >= 0)
		return (uint32_t)v;
	u64map_put(comms, tid_key(pid, tid), 0); /* unknown thread: "" (remembered, so the next lookup is quick) */
	return 0;
}

static bool thread_matches(const struct cprof_data *d, struct u64map *comms, const struct cprof_sample *s,
			   const struct profile_filter *f)
{
	return thread_passes(f, s->pid, s->tid, cprof_str(d, thread_comm(comms, s->pid, s->tid)));
}

/* The profile's entry of a thread; threads maps (pid, tid) to its index. */
static struct profile_thread *thread_slot(struct profile *p, struct u64map *threads, struct u64map *comms,
					  uint32_t pid, uint32_t tid)
{
	int64_t v = u64map_get(threads, tid_key(pid, tid));
	if (v < 0) {
		v = (int64_t)p->threads.n;
		u64map_put(threads, tid_key(pid, tid), (uint32_t)v);
		vec_push(&p->threads, ((struct profile_thread){ pid, tid, thread_comm(comms, pid, tid), 0, 0 }));
	}
	return &p->threads.v[v];
}

static int cmp_thread(const void *a, const void *b)
{
	const struct profile_thread *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static bool stack_touches_dso(const struct cprof_data *d, uint32_t stack, const char *dso)
{
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	for (uint32_t i = 0; i < n; i++) {
		const char *path = cprof_str(d, d->frames.v[fr[i]].dso);
		if (strcmp(path, dso) == 0 || strcmp(base_name(path), dso) == 0)
			return true;
	}
	return false;
}

/*
 * Weight per (function, file, line), self and total apart, for the
 * function's hottest line: a table of such cells and a hash index over it.
 * Runs once per distinct stack and frame, not per sample.
 */
struct line_cell {
	uint32_t func, file, line;
	uint64_t self, total;
};

struct line_acc {
	VEC(struct line_cell) cells;
	struct hashidx idx;
};

static uint64_t line_hash(uint32_t func, uint32_t file, uint32_t line)
{
	uint64_t h = ((uint64_t)func << 32 | file) * 0x9e3779b97f4a7c15ULL;
	return (h ^ line) * 0xbf58476d1ce4e5b9ULL;
}

static uint64_t line_hash_at(const void *ctx, uint32_t item)
{
	const struct line_cell *c = &((const struct line_acc *)ctx)->cells.v[item];
	return line_hash(c->func, c->file, c->line);
}

static struct line_cell *line_cell(struct line_acc *a, uint32_t func, uint32_t file, uint32_t line)
{
	uint64_t h = line_hash(func, file, line);
	size_t pos;
	for (uint32_t it = hashidx_first(&a->idx, h, &pos); it != HASHIDX_NONE; it = hashidx_next(&a->idx, &pos)) {
		struct line_cell *c = &a->cells.v[it];
		if (c->func == func && c->file == file && c->line == line)
			return c;
	}
	hashidx_reserve(&a->idx, line_hash_at, a);
	vec_push(&a->cells, ((struct line_cell){ .func = func, .file = file, .line = line }));
	hashidx_put(&a->idx, h, (uint32_t)a->cells.n - 1);
	return &a->cells.v[a->cells.n - 1];
}

static void line_add(struct line_acc *a, const struct cprof_data *d, uint32_t func, uint32_t frame, uint64_t w,
		     bool self)
{
	const struct cprof_frame *f = &d->frames.v[frame];
	if (!f->file && !f->line)
		return;
	struct line_cell *c = line_cell(a, func, f->file, f->line);
	if (self)
		c->self += w;
	else
		c->total += w;
}

/* Each function's hottest line: by self weight, else by total. Ties go to
 * the lower line number, so the choice does not depend on table order. */
static void hottest_lines(struct profile *p, const struct line_acc *a)
{
	for (size_t i = 0; i < p->funcs.n; i++) {
		p->funcs.v[i].file = 0;
		p->funcs.v[i].line = 0;
		p->funcs.v[i].line_weight = 0;
		p->funcs.v[i].line_by_total = false;
	}
	for (size_t i = 0; i < a->cells.n; i++) {
		const struct line_cell *c = &a->cells.v[i];
		struct profile_func *f = &p->funcs.v[c->func];
		bool by_total = f->self == 0;
		uint64_t w = by_total ? c->total : c->self;
		if (!w)
			continue;
		if (w > f->line_weight || (w == f->line_weight && (c->line < f->line || (c->line == f->line && c->file < f->file)))) {
			f->file = c->file;
			f->line = c->line;
			f->line_weight = w;
			f->line_by_total = by_total;
		}
	}
}

int profile_build(struct profile *p, const struct cprof_data *d, const struct profile_filter *f,
		  struct cprof_err *err)
{
	memset(p, 0, sizeof *p);
	p->d = d;
	p->event = f->event < 0 ? 0 : f->event;
	if ((size_t)p->event >= d->events.n)
		return err_set(err, EINVAL, "no event %d in the recording", f->event);

	/* Accumulate per data stack first (dense arrays), then compact. */
	size_t nst = d->stack_offset.n;
	uint64_t *w = xcalloc(nst ? nst : 1, sizeof *w);
	uint64_t *c = xcalloc(nst ? nst : 1, sizeof *c);
	struct u64map threads = U64MAP_INIT, comms = U64MAP_INIT;
	comm_map_build(&comms, d);
	/* Cache the comm and dso verdicts per (tid) and per stack would be nice;
	 * filters are rare, so the plain scan is kept. */
	/* A group member read with its leader's samples (EVF_READ) has no
	 * samples of its own: what it counted is its number of occurrences,
	 * as for an event sampled at every occurrence (page-faults/period=1/),
	 * so that is what the views that count samples (flame graphs, folded
	 * stacks) draw, not the leader's sample count. */
	bool counted = (size_t)p->event < d->events.n && (d->events.v[p->event].flags & EVF_READ);
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != p->event)
			continue;
		if (f->tid >= 0 && s->tid != (uint64_t)f->tid)
			continue;
		if (f->pid >= 0 && s->pid != (uint64_t)f->pid)
			continue;
		if ((f->comm || f->tids.n || f->pids.n) && !thread_matches(d, &comms, s, f))
			continue;
		if (f->dso && !stack_touches_dso(d, s->stack, f->dso))
			continue;
		uint64_t n = counted ? s->period : profile_sample_count(d, s);
		w[s->stack] += s->period;
		c[s->stack] += n;
		struct profile_thread *th = thread_slot(p, &threads, &comms, s->pid, s->tid);
		th->weight += s->period;
		th->samples += n;
		p->total_weight += s->period;
		p->total_samples += n;
		uint32_t sf = cprof_stack_flags(d, s->stack);
		if (sf & STACKF_TRUNCATED) {
			p->truncated_samples += n;
			p->cut_copy += sf & STACKF_CUT_COPY ? n : 0;
			p->cut_frames += sf & STACKF_CUT_FRAMES ? n : 0;
			p->cut_kernel += sf & STACKF_CUT_KERNEL ? n : 0;
		}
		if (!p->first_time || s->time < p->first_time)
			p->first_time = s->time;
		if (s->time > p->last_time)
			p->last_time = s->time;
	}

	u64map_release(&threads);
	u64map_release(&comms);
	if (p->threads.n)
		qsort(p->threads.v, p->threads.n, sizeof *p->threads.v, cmp_thread);
	p->frame_func = xmalloc((d->frames.n ? d->frames.n : 1) * sizeof *p->frame_func);
	for (size_t i = 0; i < d->frames.n; i++)
		p->frame_func[i] = func_of_frame(p, (uint32_t)i);

	/* Self goes to the leaf; total to each distinct function on the stack
	 * once, so recursion does not count a sample twice. */
	uint32_t *seen = xcalloc(p->funcs.n ? p->funcs.n : 1, sizeof *seen);
	uint32_t mark = 0;
	struct line_acc la = { { 0 }, HASHIDX_INIT };
	for (size_t st = 0; st < nst; st++) {
		if (!c[st] && !w[st])
			continue;
		vec_push(&p->stacks, ((struct profile_stack){ (uint32_t)st, w[st], c[st] }));
		uint32_t n = cprof_stack_len(d, (uint32_t)st);
		const uint32_t *fr = cprof_stack_frames(d, (uint32_t)st);
		if (n == 0)
			continue;
		struct profile_func *leaf = &p->funcs.v[p->frame_func[fr[0]]];
		leaf->self += w[st];
		leaf->self_samples += c[st];
		line_add(&la, d, p->frame_func[fr[0]], fr[0], w[st], true);
		mark++;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t fn = p->frame_func[fr[k]];
			if (seen[fn] == mark)
				continue;
			seen[fn] = mark;
			p->funcs.v[fn].total += w[st];
			p->funcs.v[fn].total_samples += c[st];
			/* The innermost frame of the function: where its total
			 * weight leaves it. */
			line_add(&la, d, fn, fr[k], w[st], false);
		}
	}
	hottest_lines(p, &la);
	vec_release(&la.cells);
	hashidx_release(&la.idx);
	free(seen);
	free(w);
	free(c);
	return 0;
}

int profile_require_samples(const struct profile *p, const char *name, bool filtered, struct cprof_err *err)
{
	if (p->total_weight)
		return 0;
	const struct cprof_data *d = p->d;
	const char *folded = cprof_meta_get(d, "source");
	bool is_folded = folded && strcmp(folded, "folded") == 0;
	if (p->total_samples)
		return err_set(err, ENODATA, "'%s': the samples weigh nothing (every period is 0)", name);
	if (filtered)
		return err_set(err, ENODATA, "'%s': no samples left after filtering", name);
	if (is_folded)
		return err_set(err, ENODATA, "'%s': no samples (every count is 0)", name);
	/* A recording made for another view says where its data is. */
	const char *hint = d->mem_procs.n ? "; it holds a memory profile: use --mem"
			   : d->gpu_ops.n || d->gpu_api.n ? "; it holds GPU activity: use --gpu" : "";
	if (d->events.n > 1)
		return err_set(err, ENODATA, "'%s': no samples of event '%s'%s", name,
			       cprof_str(d, d->events.v[p->event].name), hint);
	return err_set(err, ENODATA, "'%s': no samples in this recording%s", name, hint);
}

void profile_release(struct profile *p)
{
	vec_release(&p->funcs);
	vec_release(&p->stacks);
	vec_release(&p->threads);
	free(p->frame_func);
	hashidx_release(&p->func_idx);
	free(p->func_hidden);
	memset(p, 0, sizeof *p);
}

static bool in_list(const char *name, const char *list)
{
	size_t len = strlen(name);
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		if (!p[n])
			return false;
		p += n + 1;
	}
}

void profile_hide_funcs(struct profile *p, const char *symbols, const char *substring)
{
	if (!symbols && !substring)
		return;
	if (!p->func_hidden)
		p->func_hidden = xcalloc(p->funcs.n ? p->funcs.n : 1, 1);
	for (size_t i = 0; i < p->funcs.n; i++) {
		const char *name = cprof_str(p->d, p->funcs.v[i].name);
		if ((symbols && !in_list(name, symbols)) || (substring && !strstr(name, substring)))
			p->func_hidden[i] = 1;
	}
}

void profile_cap_stacks(struct cprof_data *d, uint32_t max)
{
	for (size_t i = 0; i < d->stack_offset.n; i++) {
		uint32_t *head = &d->stack_words.v[d->stack_offset.v[i]];
		if ((*head & STACK_COUNT_MASK) > max)
			*head = (*head & ~STACK_COUNT_MASK) | max;
	}
	/* The stack index hashes whole stacks: it no longer matches. */
	free(d->stack_idx.slot);
	d->stack_idx = (struct hashidx){ 0 };
}
