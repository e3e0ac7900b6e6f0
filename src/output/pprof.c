/*
 * pprof.c - a profile as pprof's profile.proto (package perftools.profiles),
 * gzipped: what go tool pprof reads and Pyroscope and Parca ingest.
 *
 * The protobuf wire format is written by hand (varints and length-prefixed
 * fields; no library): each nested message is built in a scratch buffer and
 * emitted with its length, the top-level Profile message is a plain
 * sequence of fields, streamed through zlib's gzip deflate. Only fields 1-14
 * of Profile are written: numbers above that differ between versions of
 * the schema.
 *
 * Ids: mappings, functions and locations are numbered from 1 in the order
 * they are first met; mapping 1 is the main binary. Strings are interned
 * into the table, whose entry 0 is "".
 *
 * One file: a hand-written protobuf encoder and the profile.proto mapping
 * must agree field by field.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cprof/export.h"
#include "cprof/gpu-data.h"
#include "cprof/gpu-report.h"
#include "cprof/match.h"
#include "cprof/u64map.h"

/* Profile fields. */
enum { P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5, P_STRING_TABLE = 6,
       P_TIME_NANOS = 9, P_DURATION_NANOS = 10, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13,
       P_DEFAULT_SAMPLE_TYPE = 14 };

/* ---- wire format -------------------------------------------------------------- */

static void pb_varint(struct sbuf *b, uint64_t v)
{
	while (v >= 0x80) {
		sbuf_addc(b, (char)(v | 0x80));
		v >>= 7;
	}
	sbuf_addc(b, (char)v);
}

static void pb_key(struct sbuf *b, unsigned field, unsigned wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

/* int64, uint64 and bool are varints (negative int64: ten bytes of two's
 * complement); zero is the default and is left out. */
static void pb_uint(struct sbuf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, 0);
	pb_varint(b, v);
}

static void pb_bytes(struct sbuf *b, unsigned field, const void *p, size_t n)
{
	pb_key(b, field, 2);
	pb_varint(b, n);
	sbuf_add(b, p, n);
}

static void pb_msg(struct sbuf *b, unsigned field, const struct sbuf *m)
{
	pb_bytes(b, field, m->buf, m->len);
}

/* Repeated scalars are packed in proto3. */
static void pb_packed(struct sbuf *b, unsigned field, const uint64_t *v, size_t n, struct sbuf *tmp)
{
	sbuf_reset(tmp);
	for (size_t i = 0; i < n; i++)
		pb_varint(tmp, v[i]);
	pb_bytes(b, field, tmp->buf, tmp->len);
}

/* ---- gzip out ------------------------------------------------------------------- */

struct gz {
	z_stream zs;
	FILE *out;
	bool failed;
	uint8_t buf[65536];
};

static void gz_run(struct gz *g, int flush)
{
	do {
		g->zs.next_out = g->buf;
		g->zs.avail_out = sizeof g->buf;
		int zr = deflate(&g->zs, flush);
		if (zr == Z_STREAM_ERROR) {
			g->failed = true;
			return;
		}
		size_t have = sizeof g->buf - g->zs.avail_out;
		if (have && fwrite(g->buf, 1, have, g->out) != have)
			g->failed = true;
	} while (g->zs.avail_out == 0);
}

static void gz_write(struct gz *g, struct sbuf *b)
{
	g->zs.next_in = (Bytef *)b->buf;
	g->zs.avail_in = (uInt)b->len;
	gz_run(g, Z_NO_FLUSH);
	sbuf_reset(b);
}

/* ---- building -------------------------------------------------------------- */

struct run {             /* one location: frames[first .. first+n) of the pool, leaf first */
	uint64_t hash;
	uint32_t first, n;
};

struct agg {             /* one pprof sample: what landed on (stack, thread, leaf) */
	uint32_t stack, pid, tid, comm;
	uint32_t leaf_fn;    /* GPU: function id of the kernel or copy, else 0 */
	uint64_t vals[8];
};

struct pp {
	const struct profile *p;
	const struct cprof_data *d;
	/* strings */
	VEC(const char *) strs;
	VEC(char *) owned;
	struct u64map str_idx;  /* salted content hash -> string index */
	/* functions: (func, file) string offsets -> id; GPU labels by name */
	struct u64map fn_idx;
	struct sbuf functions;  /* encoded Function messages */
	struct sbuf fbuf;       /* scratch for one Function */
	uint32_t nfn;
	/* mappings: dso string offset -> id */
	struct u64map map_idx;
	VEC(uint32_t) map_dso;  /* id - 1 -> dso string offset */
	VEC(uint64_t) map_lo, map_hi;
	bool has_inline, has_files, has_lines;
	/* locations */
	VEC(uint32_t) pool;     /* frame runs */
	VEC(struct run) runs;   /* id - 1 -> run */
	struct u64map loc_idx;  /* salted run hash -> location id - 1 */
	/* per data stack: its location ids */
	uint32_t *stack_first, *stack_n; /* into sl */
	VEC(uint64_t) sl;
	/* samples */
	VEC(struct agg) aggs;
	struct u64map agg_idx;
	size_t nvals;
	int v_weight, v_alloc, v_gpu; /* value slots, -1 if absent */
	struct sbuf tmp, tmp2;
};

static uint32_t str_id(struct pp *pp, const char *s)
{
	uint64_t h = hash_bytes(s, strlen(s), HASH_SEED);
	for (uint64_t salt = 0;; salt++) {
		uint64_t key = h + salt * 0x9e3779b97f4a7c15ULL;
		int64_t v = u64map_get(&pp->str_idx, key);
		if (v < 0) {
			uint32_t id = (uint32_t)pp->strs.n;
			vec_push(&pp->strs, s);
			u64map_put(&pp->str_idx, key, id);
			return id;
		}
		if (strcmp(pp->strs.v[v], s) == 0)
			return (uint32_t)v;
	}
}

/* A string that must outlive the call: kept until the writer is done. */
static uint32_t str_own(struct pp *pp, char *s)
{
	uint32_t before = (uint32_t)pp->strs.n, id = str_id(pp, s);
	if (id == before)
		vec_push(&pp->owned, s);
	else
		free(s);
	return id;
}

static uint32_t function_id(struct pp *pp, uint32_t name, uint32_t file)
{
	uint64_t key = (uint64_t)name << 32 | file;
	int64_t v = u64map_get(&pp->fn_idx, key);
	if (v >= 0)
		return (uint32_t)v;
	uint32_t id = ++pp->nfn;
	u64map_put(&pp->fn_idx, key, id);
	const char *nm = cprof_str(pp->d, name);
	struct sbuf *m = &pp->fbuf;
	sbuf_reset(m);
	pb_uint(m, 1, id);
	pb_uint(m, 2, str_id(pp, nm));
	pb_uint(m, 3, str_id(pp, nm));
	pb_uint(m, 4, str_id(pp, cprof_str(pp->d, file)));
	pb_msg(&pp->functions, P_FUNCTION, m);
	return id;
}

/* A made-up function (a GPU kernel, string s): by name alone, in no file. */
static uint32_t label_function_id(struct pp *pp, uint32_t s)
{
	uint64_t key = (uint64_t)1 << 63 | s;
	int64_t v = u64map_get(&pp->fn_idx, key);
	if (v >= 0)
		return (uint32_t)v;
	uint32_t id = ++pp->nfn;
	u64map_put(&pp->fn_idx, key, id);
	struct sbuf *m = &pp->fbuf;
	sbuf_reset(m);
	pb_uint(m, 1, id);
	pb_uint(m, 2, s);
	pb_uint(m, 3, s);
	pb_msg(&pp->functions, P_FUNCTION, m);
	return id;
}

static uint32_t mapping_id(struct pp *pp, uint32_t dso)
{
	int64_t v = u64map_get(&pp->map_idx, dso);
	if (v >= 0)
		return (uint32_t)v;
	vec_push(&pp->map_dso, dso);
	vec_push(&pp->map_lo, UINT64_MAX);
	vec_push(&pp->map_hi, 0);
	u64map_put(&pp->map_idx, dso, (uint32_t)pp->map_dso.n);
	return (uint32_t)pp->map_dso.n;
}

static uint64_t hash_run(const uint32_t *fr, uint32_t n)
{
	return hash_bytes(fr, (size_t)n * sizeof *fr, HASH_SEED);
}

/* The location of frames fr[0..n): inlined callees first, the real
 * function last, as Location.line wants them. */
static uint32_t location_id(struct pp *pp, const uint32_t *fr, uint32_t n)
{
	uint64_t h = hash_run(fr, n);
	for (uint64_t salt = 0;; salt++) {
		uint64_t key = h + salt * 0x9e3779b97f4a7c15ULL;
		int64_t v = u64map_get(&pp->loc_idx, key);
		if (v < 0) {
			struct run r = { h, (uint32_t)pp->pool.n, n };
			for (uint32_t i = 0; i < n; i++)
				vec_push(&pp->pool, fr[i]);
			vec_push(&pp->runs, r);
			u64map_put(&pp->loc_idx, key, (uint32_t)pp->runs.n - 1);
			return (uint32_t)pp->runs.n;
		}
		const struct run *r = &pp->runs.v[v];
		if (r->n == n && memcmp(pp->pool.v + r->first, fr, n * sizeof *fr) == 0)
			return (uint32_t)v + 1;
	}
}

/* Location ids of a data stack, leaf first (computed once per stack). */
static void stack_locations(struct pp *pp, uint32_t stack)
{
	if (pp->stack_n[stack] != UINT32_MAX)
		return;
	const struct cprof_data *d = pp->d;
	uint32_t n = cprof_stack_len(d, stack);
	const uint32_t *fr = cprof_stack_frames(d, stack);
	pp->stack_first[stack] = (uint32_t)pp->sl.n;
	uint32_t count = 0;
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i;
		while (j + 1 < n && (d->frames.v[fr[j]].flags & FRF_INLINED))
			j++;
		vec_push(&pp->sl, location_id(pp, fr + i, j - i + 1));
		count++;
		i = j + 1;
	}
	pp->stack_n[stack] = count;
}

static struct agg *agg_get(struct pp *pp, uint32_t stack, uint32_t pid, uint32_t tid, uint32_t leaf_fn)
{
	uint64_t h = HASH_SEED;
	h = hash_bytes(&stack, 4, h);
	h = hash_bytes(&pid, 4, h);
	h = hash_bytes(&tid, 4, h);
	h = hash_bytes(&leaf_fn, 4, h);
	for (uint64_t salt = 0;; salt++) {
		uint64_t key = h + salt * 0x9e3779b97f4a7c15ULL;
		int64_t v = u64map_get(&pp->agg_idx, key);
		if (v < 0) {
			struct agg a = { .stack = stack, .pid = pid, .tid = tid, .leaf_fn = leaf_fn };
			vec_push(&pp->aggs, a);
			u64map_put(&pp->agg_idx, key, (uint32_t)pp->aggs.n - 1);
			return &pp->aggs.v[pp->aggs.n - 1];
		}
		struct agg *a = &pp->aggs.v[v];
		if (a->stack == stack && a->pid == pid && a->tid == tid && a->leaf_fn == leaf_fn)
			return a;
	}
}

static uint32_t thread_comm(const struct cprof_data *d, uint32_t pid, uint32_t tid)
{
	for (size_t i = 0; i < d->threads.n; i++)
		if (d->threads.v[i].tid == tid && d->threads.v[i].pid == pid)
			return d->threads.v[i].comm;
	return 0;
}

static void value_type(struct pp *pp, struct sbuf *out, unsigned field, const char *type, const char *unit)
{
	struct sbuf *m = &pp->tmp;
	sbuf_reset(m);
	pb_uint(m, 1, str_id(pp, type));
	pb_uint(m, 2, str_id(pp, unit));
	pb_msg(out, field, m);
}

/* Mapping 1 should be the main binary (pprof's header names it "File:"):
 * the executable recorded, where any frame is in it; else the user binary
 * under the most leaf weight, the best guess a profile allows. */
static void register_main_binary(struct pp *pp)
{
	const struct cprof_data *d = pp->d;
	const char *exe = match_main_exe(d);
	for (size_t i = 0; exe && i < d->frames.n; i++)
		if (!(d->frames.v[i].flags & FRF_KERNEL) && strcmp(cprof_str(d, d->frames.v[i].dso), exe) == 0) {
			(void)mapping_id(pp, d->frames.v[i].dso);
			return;
		}
	struct u64map w = U64MAP_INIT;
	VEC(uint64_t) sums = { 0 };
	VEC(uint32_t) dsos = { 0 };
	for (size_t i = 0; i < pp->p->stacks.n; i++) {
		const struct profile_stack *ps = &pp->p->stacks.v[i];
		if (!cprof_stack_len(d, ps->stack))
			continue;
		const struct cprof_frame *f = &d->frames.v[cprof_stack_frames(d, ps->stack)[0]];
		if (f->flags & FRF_KERNEL || !*cprof_str(d, f->dso))
			continue;
		int64_t k = u64map_get(&w, f->dso);
		if (k < 0) {
			k = (int64_t)sums.n;
			u64map_put(&w, f->dso, (uint32_t)k);
			vec_push(&sums, 0);
			vec_push(&dsos, f->dso);
		}
		sums.v[k] += ps->weight;
	}
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < sums.n; i++)
		if (best == SIZE_MAX || sums.v[i] > sums.v[best])
			best = i;
	if (best != SIZE_MAX)
		(void)mapping_id(pp, dsos.v[best]);
	u64map_release(&w);
	vec_release(&sums);
	vec_release(&dsos);
}

static void collect_samples(struct pp *pp)
{
	const struct cprof_data *d = pp->d;
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != pp->p->event || s->stack >= d->stack_offset.n)
			continue;
		struct agg *a = agg_get(pp, s->stack, s->pid, s->tid, 0);
		a->vals[0] += profile_sample_count(d, s);
		if (pp->v_weight >= 0)
			a->vals[pp->v_weight] += s->period;
	}
	for (size_t i = 0; pp->v_alloc >= 0 && i < d->mem_sites.n; i++) {
		const struct cprof_mem_site *m = &d->mem_sites.v[i];
		if (m->stack >= d->stack_offset.n)
			continue;
		struct agg *a = agg_get(pp, m->stack, m->pid, 0, 0);
		a->vals[pp->v_alloc] += m->allocs;
		a->vals[pp->v_alloc + 1] += m->bytes;
		a->vals[pp->v_alloc + 2] += m->leaked;
		a->vals[pp->v_alloc + 3] += m->leaked_bytes;
	}
	/* A sampled recording (--mem=sample): its estimates, rounded, as
	 * pprof's own sampled heap profiles hold them. */
	for (size_t i = 0; pp->v_alloc >= 0 && i < d->mem_est.n; i++) {
		const struct cprof_mem_est *m = &d->mem_est.v[i];
		if (m->stack >= d->stack_offset.n)
			continue;
		struct agg *a = agg_get(pp, m->stack, m->pid, 0, 0);
		a->vals[pp->v_alloc] += (uint64_t)llround(m->count);
		a->vals[pp->v_alloc + 1] += (uint64_t)llround(m->bytes);
		a->vals[pp->v_alloc + 2] += (uint64_t)llround(m->live_count);
		a->vals[pp->v_alloc + 3] += (uint64_t)llround(m->live_bytes);
	}
	for (size_t i = 0; pp->v_gpu >= 0 && i < d->gpu_ops.n; i++) {
		const struct cprof_gpu_op *op = &d->gpu_ops.v[i];
		if (op->end <= op->start)
			continue;
		const char *ck = gpu_copy_kind_name(op->copy_kind);
		uint32_t label;
		struct sbuf sb = SBUF_INIT;
		switch (op->kind) {
		case GPU_OP_KERNEL: label = str_id(pp, cprof_str(d, op->name)); break;
		case GPU_OP_MEMCPY:
			sbuf_addf(&sb, "[memcpy %s]", ck ? ck : "?");
			label = str_own(pp, sbuf_detach(&sb));
			break;
		case GPU_OP_MEMSET: label = str_id(pp, "[memset]"); break;
		default: label = str_id(pp, "[synchronize]"); break;
		}
		uint32_t fn = label_function_id(pp, label);
		uint32_t stack = op->stack < d->stack_offset.n ? op->stack : UINT32_MAX;
		struct agg *a = agg_get(pp, stack, op->pid, op->tid, fn);
		a->vals[pp->v_gpu] += op->end - op->start;
	}
}

static void emit_samples(struct pp *pp, struct gz *g, struct sbuf *out)
{
	const struct cprof_data *d = pp->d;
	uint32_t k_thread = str_id(pp, "thread"), k_process = str_id(pp, "process"),
		 k_name = str_id(pp, "thread_name");
	VEC(uint64_t) locs = { 0 };
	struct sbuf *m = &pp->tmp, *lab = &pp->tmp2;
	struct sbuf packed = SBUF_INIT;
	for (size_t i = 0; i < pp->aggs.n; i++) {
		const struct agg *a = &pp->aggs.v[i];
		locs.n = 0;
		if (a->leaf_fn) {
			/* A GPU leaf: its own location, which nothing else shares. */
			uint32_t id = (uint32_t)pp->runs.n + 1;
			struct run r = { 0, UINT32_MAX, a->leaf_fn };
			vec_push(&pp->runs, r);
			vec_push(&locs, id);
		}
		if (a->stack != UINT32_MAX) {
			stack_locations(pp, a->stack);
			for (uint32_t k = 0; k < pp->stack_n[a->stack]; k++)
				vec_push(&locs, pp->sl.v[pp->stack_first[a->stack] + k]);
		}
		sbuf_reset(m);
		pb_packed(m, 1, locs.v, locs.n, &packed);
		pb_packed(m, 2, a->vals, pp->nvals, &packed);
		if (a->tid) {
			sbuf_reset(lab);
			pb_uint(lab, 1, k_thread);
			pb_uint(lab, 3, a->tid);
			pb_msg(m, 3, lab);
			uint32_t comm = thread_comm(d, a->pid, a->tid);
			if (comm && *cprof_str(d, comm)) {
				sbuf_reset(lab);
				pb_uint(lab, 1, k_name);
				pb_uint(lab, 2, str_id(pp, cprof_str(d, comm)));
				pb_msg(m, 3, lab);
			}
		}
		if (a->pid) {
			sbuf_reset(lab);
			pb_uint(lab, 1, k_process);
			pb_uint(lab, 3, a->pid);
			pb_msg(m, 3, lab);
		}
		pb_msg(out, P_SAMPLE, m);
		if (out->len > 1 << 20)
			gz_write(g, out);
	}
	vec_release(&locs);
	sbuf_release(&packed);
}

static void emit_locations(struct pp *pp, struct gz *g, struct sbuf *out)
{
	const struct cprof_data *d = pp->d;
	struct sbuf *m = &pp->tmp, *line = &pp->tmp2;
	for (size_t i = 0; i < pp->runs.n; i++) {
		const struct run *r = &pp->runs.v[i];
		sbuf_reset(m);
		pb_uint(m, 1, i + 1);
		if (r->first == UINT32_MAX) { /* GPU leaf: r->n is its function */
			sbuf_reset(line);
			pb_uint(line, 1, r->n);
			pb_msg(m, 4, line);
			pb_msg(out, P_LOCATION, m);
			continue;
		}
		const uint32_t *fr = pp->pool.v + r->first;
		const struct cprof_frame *phys = &d->frames.v[fr[r->n - 1]];
		uint32_t map = mapping_id(pp, phys->dso);
		pb_uint(m, 2, map);
		pb_uint(m, 3, phys->addr);
		if (phys->addr < pp->map_lo.v[map - 1])
			pp->map_lo.v[map - 1] = phys->addr;
		if (phys->addr > pp->map_hi.v[map - 1])
			pp->map_hi.v[map - 1] = phys->addr;
		for (uint32_t k = 0; k < r->n; k++) {
			const struct cprof_frame *f = &d->frames.v[fr[k]];
			sbuf_reset(line);
			pb_uint(line, 1, function_id(pp, f->func, f->file));
			pb_uint(line, 2, f->line);
			pb_msg(m, 4, line);
			pp->has_files |= *cprof_str(d, f->file) != 0;
			pp->has_lines |= f->line != 0;
		}
		pp->has_inline |= r->n > 1;
		pb_msg(out, P_LOCATION, m);
		if (out->len > 1 << 20)
			gz_write(g, out);
	}
}

static void hex_build_id(const struct cprof_map *m, struct sbuf *out)
{
	for (unsigned i = 0; i < m->build_id_size && i < sizeof m->build_id; i++)
		sbuf_addf(out, "%02x", m->build_id[i]);
}

static void emit_mappings(struct pp *pp, struct sbuf *out)
{
	const struct cprof_data *d = pp->d;
	struct sbuf *m = &pp->tmp;
	for (size_t i = 0; i < pp->map_dso.n; i++) {
		uint32_t dso = pp->map_dso.v[i];
		const char *path = cprof_str(d, dso);
		sbuf_reset(m);
		pb_uint(m, 1, i + 1);
		uint64_t lo = pp->map_lo.v[i] == UINT64_MAX ? 0 : pp->map_lo.v[i];
		/* Addresses are the binary's own: the mapping maps them onto themselves. */
		pb_uint(m, 2, lo);
		pb_uint(m, 3, pp->map_hi.v[i] + 1);
		pb_uint(m, 4, lo);
		pb_uint(m, 5, str_id(pp, *path ? path : "[unknown]"));
		for (size_t k = 0; k < d->maps.n; k++) {
			const struct cprof_map *cm = &d->maps.v[k];
			if (cm->build_id_size && (cm->path == dso || strcmp(cprof_str(d, cm->path), path) == 0)) {
				struct sbuf hex = SBUF_INIT;
				hex_build_id(cm, &hex);
				pb_uint(m, 6, str_own(pp, sbuf_detach(&hex)));
				break;
			}
		}
		pb_uint(m, 7, 1);                 /* has_functions: do not symbolize again */
		pb_uint(m, 8, pp->has_files);
		pb_uint(m, 9, pp->has_lines);
		pb_uint(m, 10, pp->has_inline);
		pb_msg(out, P_MAPPING, m);
	}
}

int pprof_write(FILE *out, const struct profile *p, struct cprof_err *err)
{
	const struct cprof_data *d = p->d;
	const struct cprof_event *ev = &d->events.v[p->event];
	const char *unit = cprof_str(d, ev->unit);
	struct pp pp = { .p = p, .d = d, .functions = SBUF_INIT, .fbuf = SBUF_INIT, .tmp = SBUF_INIT, .tmp2 = SBUF_INIT,
			 .v_weight = -1, .v_alloc = -1, .v_gpu = -1 };
	struct sbuf buf = SBUF_INIT;
	struct gz *g = xcalloc(1, sizeof *g);
	int r = 0;
	g->out = out;
	if (deflateInit2(&g->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return err_set(err, ENOMEM, "cannot start zlib's compressor");
	}
	(void)str_id(&pp, ""); /* string_table[0] must be "" */

	/* Sample types: counts always, then the event's weight, memory, GPU. */
	const char *weight_type = NULL, *weight_unit = NULL;
	pp.nvals = 1;
	if (strcmp(unit, "ns") == 0) {
		weight_type = strncmp(cprof_str(d, ev->name), "task-clock", 10) == 0 ? "task-clock" : "cpu";
		weight_unit = "nanoseconds";
	} else if (strcmp(unit, "samples") != 0) {
		weight_type = cprof_str(d, ev->name);
		weight_unit = "count";
	}
	if (weight_type)
		pp.v_weight = (int)pp.nvals++;
	if (d->mem_sites.n || d->mem_est.n) {
		pp.v_alloc = (int)pp.nvals;
		pp.nvals += 4;
	}
	if (d->gpu_ops.n)
		pp.v_gpu = (int)pp.nvals++;

	size_t nst = d->stack_offset.n ? d->stack_offset.n : 1;
	pp.stack_first = xcalloc(nst, sizeof *pp.stack_first);
	pp.stack_n = xmalloc(nst * sizeof *pp.stack_n);
	memset(pp.stack_n, 0xff, nst * sizeof *pp.stack_n);

	register_main_binary(&pp);
	collect_samples(&pp);

	value_type(&pp, &buf, P_SAMPLE_TYPE, "samples", "count");
	if (weight_type)
		value_type(&pp, &buf, P_SAMPLE_TYPE, weight_type, weight_unit);
	if (pp.v_alloc >= 0) {
		value_type(&pp, &buf, P_SAMPLE_TYPE, "alloc_objects", "count");
		value_type(&pp, &buf, P_SAMPLE_TYPE, "alloc_space", "bytes");
		value_type(&pp, &buf, P_SAMPLE_TYPE, "inuse_objects", "count");
		value_type(&pp, &buf, P_SAMPLE_TYPE, "inuse_space", "bytes");
	}
	if (pp.v_gpu >= 0)
		value_type(&pp, &buf, P_SAMPLE_TYPE, "gpu", "nanoseconds");
	emit_samples(&pp, g, &buf);
	emit_locations(&pp, g, &buf);
	emit_mappings(&pp, &buf);
	gz_write(g, &buf);
	gz_write(g, &pp.functions);

	/* The period: what one sample stands for. */
	if (weight_type) {
		value_type(&pp, &buf, P_PERIOD_TYPE, weight_type, weight_unit);
		uint64_t period = ev->period;
		if ((ev->flags & EVF_FREQ) && strcmp(unit, "ns") == 0 && ev->period)
			period = 1000000000ULL / ev->period;
		else if (ev->flags & EVF_FREQ)
			period = 0;
		pb_uint(&buf, P_PERIOD, period);
	}
	uint64_t dur = 0;
	const char *ds = cprof_meta_get(d, "duration_ns");
	if (ds && parse_u64(ds, &dur) == 0)
		pb_uint(&buf, P_DURATION_NANOS, dur);
	const char *cmd = cprof_meta_get(d, "command");
	if (cmd && *cmd) {
		pb_key(&buf, P_COMMENT, 0);
		pb_varint(&buf, str_id(&pp, cmd));
	}
	if (weight_type) {
		pb_key(&buf, P_DEFAULT_SAMPLE_TYPE, 0);
		pb_varint(&buf, str_id(&pp, weight_type));
	}
	/* The string table last: everything above has interned its strings. */
	for (size_t i = 0; i < pp.strs.n; i++) {
		pb_bytes(&buf, P_STRING_TABLE, pp.strs.v[i], strlen(pp.strs.v[i]));
		if (buf.len > 1 << 20)
			gz_write(g, &buf);
	}
	gz_write(g, &buf);
	gz_run(g, Z_FINISH);
	deflateEnd(&g->zs);
	if (g->failed || ferror(out)) {
		int e = errno ? errno : EIO;
		r = err_set(err, e, "cannot write the pprof profile: %s", strerror(e));
	}

	free(g);
	sbuf_release(&buf);
	sbuf_release(&pp.functions);
	sbuf_release(&pp.fbuf);
	sbuf_release(&pp.tmp);
	sbuf_release(&pp.tmp2);
	for (size_t i = 0; i < pp.owned.n; i++)
		free(pp.owned.v[i]);
	vec_release(&pp.owned);
	vec_release(&pp.strs);
	u64map_release(&pp.str_idx);
	u64map_release(&pp.fn_idx);
	u64map_release(&pp.map_idx);
	u64map_release(&pp.loc_idx);
	u64map_release(&pp.agg_idx);
	vec_release(&pp.map_dso);
	vec_release(&pp.map_lo);
	vec_release(&pp.map_hi);
	vec_release(&pp.pool);
	vec_release(&pp.runs);
	vec_release(&pp.sl);
	vec_release(&pp.aggs);
	free(pp.stack_first);
	free(pp.stack_n);
	return r;
}
