/*
 * capture.c - save the code of a recording's hottest functions into its
 * data (see capture.h). Runs at the end of the finishing pass.
 *
 * Per-address sample counts need no saving: frames keep exact addresses
 * (data-format.h), so this adds only what the samples do not carry: the
 * bytes, the line rows and inline ranges that cover the instructions
 * nobody sampled, the build ID the code came from, and the names of call
 * targets, which are found by disassembling the function here.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/capture.h"
#include "cprof/data.h"
#include "cprof/disasm.h"
#include "cprof/symbol.h"

struct hot {
	uint32_t func, dso; /* strings */
	uint32_t frame;     /* one frame of the function: its address locates the code */
	uint64_t samples;
	bool saved;         /* its code is in the data */
};

struct hot_list {
	struct hot *v;
	size_t n, cap;
};

/* A hot list's entries by (function, binary): every function with a
 * sampled leaf is an entry, thousands in a big program. */
static uint64_t func_hash(uint32_t func, uint32_t dso)
{
	uint32_t k[2] = { func, dso };
	return hash_bytes(k, sizeof k, HASH_SEED);
}

static uint64_t hot_hash_at(const void *ctx, uint32_t i)
{
	const struct hot *h = &((const struct hot_list *)ctx)->v[i];
	return func_hash(h->func, h->dso);
}

static uint32_t hot_find(const struct hot_list *l, const struct hashidx *ix, uint32_t func, uint32_t dso)
{
	size_t pos;
	for (uint32_t i = hashidx_first(ix, func_hash(func, dso), &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos))
		if (l->v[i].func == func && l->v[i].dso == dso)
			return i;
	return HASHIDX_NONE;
}

static int cmp_hot(const void *a, const void *b)
{
	const struct hot *x = a, *y = b;
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* Samples per function whose leaf address lies in its own code: the first
 * frame of each stack that is not an inlined call. */
static uint64_t *count_hot(const struct cprof_data *d, struct hot_list *out, uint64_t *total)
{
	uint64_t *per_frame = xcalloc(d->frames.n ? d->frames.n : 1, sizeof *per_frame);
	*total = 0;
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != 0)
			continue;
		uint32_t n = cprof_stack_len(d, s->stack);
		const uint32_t *fr = cprof_stack_frames(d, s->stack);
		uint32_t c = cprof_sample_count(d, s);
		*total += c;
		for (uint32_t k = 0; k < n; k++)
			if (!(d->frames.v[fr[k]].flags & FRF_INLINED)) {
				per_frame[fr[k]] += c;
				break;
			}
	}
	/* Group frames by (function, binary). */
	struct hot_list all = { 0 };
	for (uint32_t f = 0; f < d->frames.n; f++) {
		const struct cprof_frame *fr = &d->frames.v[f];
		if (!per_frame[f] || (fr->flags & (FRF_KERNEL | FRF_UNKNOWN | FRF_JIT)))
			continue;
		vec_push(&all, ((struct hot){ fr->func, fr->dso, f, per_frame[f], false }));
	}
	struct hashidx ix = { 0 };
	for (size_t i = 0; i < all.n; i++) {
		struct hot *h = &all.v[i];
		uint32_t k = hot_find(out, &ix, h->func, h->dso);
		if (k == HASHIDX_NONE) {
			hashidx_reserve(&ix, hot_hash_at, out);
			vec_push(out, *h);
			hashidx_put(&ix, func_hash(h->func, h->dso), (uint32_t)out->n - 1);
			continue;
		}
		/* Static functions of the same name (a static inline in a header
		 * has a copy per object file): save the copy with the most
		 * samples, through its busiest address. */
		if (h->samples > per_frame[out->v[k].frame])
			out->v[k].frame = h->frame;
		out->v[k].samples += h->samples;
	}
	hashidx_release(&ix);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_hot);
	vec_release(&all);
	return per_frame; /* the caller frees */
}

/* The recorded mapping of the binary: its path and build id. */
static bool map_of(const struct cprof_data *d, uint32_t dso, struct sym_map *ret)
{
	const struct cprof_map *best = NULL;
	for (size_t i = 0; i < d->maps.n; i++)
		if (d->maps.v[i].path == dso && (!best || (!best->build_id_size && d->maps.v[i].build_id_size)))
			best = &d->maps.v[i];
	if (!best)
		return false;
	*ret = (struct sym_map){ .path = cprof_str(d, dso), .start = best->start, .len = best->len,
				 .pgoff = best->pgoff, .build_id = best->build_id,
				 .build_id_size = best->build_id_size };
	return true;
}

/* The named destinations of the direct calls and jumps that leave
 * [lo, hi) of the function, into *ret (the caller frees it); how many. */
static size_t call_targets(struct symbolizer *s, const struct sym_map *map, const struct sym_code *c, uint32_t lo,
			   uint32_t hi, struct sym_code_target **ret)
{
	uint64_t *targets = NULL;
	struct cprof_err err;
	int n = disasm_external_targets(c->machine, c->bytes + lo, hi - lo, c->start + lo, &targets, &err);
	struct sym_code_target *t = xcalloc(n > 0 ? (size_t)n : 1, sizeof *t);
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		if (targets[i] >= c->start && targets[i] - c->start < c->len)
			continue; /* inside the function, in another part */
		const char *name = symbolizer_name_at(s, map, targets[i]);
		if (name)
			t[k++] = (struct sym_code_target){ targets[i], name };
	}
	free(targets);
	*ret = t;
	return k;
}

/* Names of the direct calls and jumps that leave [lo, hi) of the function:
 * as the symbol cache kept them with the code, else found now. */
static void add_call_targets(struct cprof_data *d, struct symbolizer *s, const struct sym_map *map,
			     const struct sym_code *c, uint32_t lo, uint32_t hi, struct cprof_code *cc)
{
	cc->first_sym = (uint32_t)d->code_syms.n;
	if (c->has_targets && lo == 0 && hi == c->len) {
		for (size_t i = 0; i < c->targets.n; i++)
			vec_push(&d->code_syms, ((struct cprof_code_sym){ c->targets.v[i].addr,
									  cprof_intern(d, c->targets.v[i].name) }));
	} else {
		struct sym_code_target *t;
		size_t n = call_targets(s, map, c, lo, hi, &t);
		for (size_t i = 0; i < n; i++)
			vec_push(&d->code_syms, ((struct cprof_code_sym){ t[i].addr, cprof_intern(d, t[i].name) }));
		free(t);
	}
	cc->nsyms = (uint32_t)(d->code_syms.n - cc->first_sym);
}

/* Save [lo, hi) of the function's code as one record, with the line rows
 * and inline ranges that cover it, offsets made relative to lo. */
static void save_range(struct cprof_data *d, const struct hot *h, const struct sym_code *c, struct symbolizer *s,
		       const struct sym_map *map, uint32_t lo, uint32_t hi, bool part)
{
	struct cprof_code cc = { .func = h->func, .dso = h->dso, .start = c->start + lo, .bytes_off = d->code_bytes.n,
				 .len = hi - lo, .machine = c->machine, .build_id_size = c->build_id_size,
				 .flags = part ? CFF_PART : 0, .comp_dir = cprof_intern(d, c->comp_dir) };
	memcpy(cc.build_id, c->build_id, sizeof cc.build_id);
	vec_reserve(&d->code_bytes, d->code_bytes.n + cc.len);
	memcpy(d->code_bytes.v + d->code_bytes.n, c->bytes + lo, cc.len);
	d->code_bytes.n += cc.len;
	cc.first_line = (uint32_t)d->code_lines.n;
	for (size_t i = 0; i < c->lines.n; i++) {
		const struct sym_code_line *l = &c->lines.v[i];
		bool next_in = i + 1 < c->lines.n && c->lines.v[i + 1].off <= lo;
		if (l->off >= hi || (l->off < lo && next_in))
			continue; /* outside, or a row before lo that another row before lo replaces */
		uint32_t off = l->off < lo ? 0 : l->off - lo;
		vec_push(&d->code_lines, ((struct cprof_code_line){ off, cprof_intern(d, l->file), l->line }));
	}
	cc.nlines = (uint32_t)(d->code_lines.n - cc.first_line);
	cc.first_inline = (uint32_t)d->code_inlines.n;
	for (size_t i = 0; i < c->inlines.n; i++) {
		const struct sym_code_inline *n = &c->inlines.v[i];
		uint32_t a = n->lo > lo ? n->lo : lo, b = n->hi < hi ? n->hi : hi;
		if (a >= b)
			continue;
		uint32_t depth = n->depth > 255 ? 255 : n->depth ? n->depth : 1;
		vec_push(&d->code_inlines, ((struct cprof_code_inline){ a - lo, b - lo, cprof_intern(d, n->func),
									 cprof_intern(d, n->file), n->line, depth }));
	}
	cc.ninlines = (uint32_t)(d->code_inlines.n - cc.first_inline);
	add_call_targets(d, s, map, c, lo, hi, &cc);
	vec_push(&d->code, cc);
}

/*
 * A function just saved whole, read through libdw: keep it, with the
 * targets saved for it, in the binary's symbol cache file, with what each
 * of its addresses resolves to. The next recording of the same program
 * then captures it and symbolizes samples anywhere in it, and returns into
 * it, without opening the debug information: a hot function's samples
 * land on new instructions run after run.
 */
static void keep_saved(const struct cprof_data *d, struct symbolizer *s, const struct sym_map *map,
		       const struct sym_code *c)
{
	const struct cprof_code *cc = &d->code.v[d->code.n - 1];
	struct sym_code_target *t = xcalloc(cc->nsyms ? cc->nsyms : 1, sizeof *t);
	for (uint32_t i = 0; i < cc->nsyms; i++) {
		const struct cprof_code_sym *cs = &d->code_syms.v[cc->first_sym + i];
		t[i] = (struct sym_code_target){ cs->addr, cprof_str(d, cs->name) };
	}
	symbolizer_keep_code(s, map, c, t, cc->nsyms);
	free(t);
}

struct range {
	uint32_t lo, hi;
};

/* A big function: windows of whole instructions around each sampled
 * address, merged where they touch. Returns the bytes saved. */
static uint64_t save_parts(struct cprof_data *d, const struct hot *h, const struct sym_code *c, struct symbolizer *s,
			   const struct sym_map *map, const uint64_t *per_frame, uint32_t window)
{
	/* Instruction starts, decoded from the function's start. */
	uint32_t *starts;
	struct cprof_err err;
	int nstarts = disasm_insn_starts(c->machine, c->bytes, c->len, &starts, &err);
	if (nstarts <= 0)
		return 0;
	size_t ninsn = (size_t)nstarts;
	/* Mark the instructions within window of a sampled one. */
	uint8_t *keep = xcalloc(ninsn ? ninsn : 1, 1);
	for (uint32_t f = 0; f < d->frames.n; f++) {
		const struct cprof_frame *fr = &d->frames.v[f];
		if (!per_frame[f] || fr->func != h->func || fr->dso != h->dso || fr->addr < c->start ||
		    fr->addr - c->start >= c->len)
			continue;
		uint32_t off = (uint32_t)(fr->addr - c->start);
		size_t lo = 0, hi = ninsn;
		while (lo < hi) { /* the instruction holding off */
			size_t mid = lo + (hi - lo) / 2;
			if (starts[mid + 1] <= off)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t a = lo > window ? lo - window : 0, b = lo + window + 1 < ninsn ? lo + window + 1 : ninsn;
		memset(keep + a, 1, b - a);
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < ninsn;) {
		if (!keep[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < ninsn && keep[j])
			j++;
		save_range(d, h, c, s, map, starts[i], starts[j], true);
		bytes += starts[j] - starts[i];
		i = j;
	}
	free(keep);
	free(starts);
	return bytes;
}

/* Functions kept for the symbol cache beyond those saved, per recording,
 * and the longest: a caller missed is often a big one (ld.so's dl_main is
 * 15 KB), and is missed again in every recording until it is kept. */
#define KEEP_MISSED 32
#define KEEP_MISSED_BYTES (64u << 10)
/* A binary with no more code than this is kept whole on its first miss:
 * ld.so (151 KB) runs the same start-up code under every program, and
 * its samples land in another handful of its functions each time. */
#define KEEP_WHOLE_BYTES (256u << 10)
/* Of a larger one, its sizeless functions, up to this many: they are the
 * start-up and exit stubs each process runs once (crtstuff's
 * deregister_tm_clones and __do_global_dtors_aux, _init, _fini: libm has
 * those six and no other, libc one), and each missed the cache in some
 * later recording of the bench's program. */
#define KEEP_SIZELESS 16

/* A function to keep, and the symbolizer that missed in it. */
struct missed_fn {
	struct hot h;
	struct symbolizer *by;
};

static int cmp_missed(const void *a, const void *b)
{
	return cmp_hot(&((const struct missed_fn *)a)->h, &((const struct missed_fn *)b)->h);
}

/* The recorded mapping of each binary, looked up once. */
struct dso_map {
	uint32_t dso;
	bool ok;
	struct sym_map map;
};

/*
 * Frames that missed the symbol cache now, in functions too cold to be
 * saved (or saved in parts) and in the callers of any function, miss it in
 * the next recording too, and each miss costs that recording the binary's
 * debug information (libc's symbol table and address ranges: ~10 ms). So a
 * function with such a frame, while its binary is open anyway, is kept as
 * a saved one is (not in the data): those with sampled leaves first, the
 * busiest first, then callers.
 */
static void keep_missed(const struct cprof_data *d, struct symbolizer *const *syms, size_t nsyms,
			const struct hot_list *hot)
{
	struct hashidx hix = { 0 }, mix = { 0 };
	hashidx_build(&hix, (uint32_t)hot->n, hot_hash_at, hot);
	struct hot_list missed = { 0 };
	VEC(struct symbolizer *) by = { 0 }; /* the one that missed, per entry of missed */
	VEC(struct dso_map) maps = { 0 };
	for (uint32_t f = 0; f < d->frames.n; f++) {
		const struct cprof_frame *fr = &d->frames.v[f];
		if (fr->flags & (FRF_INLINED | FRF_KERNEL | FRF_UNKNOWN | FRF_JIT))
			continue; /* an inlined frame's address has its function's frame too */
		uint32_t k = hot_find(hot, &hix, fr->func, fr->dso);
		if ((k != HASHIDX_NONE && hot->v[k].saved) || hot_find(&missed, &mix, fr->func, fr->dso) != HASHIDX_NONE)
			continue;
		size_t m = 0;
		while (m < maps.n && maps.v[m].dso != fr->dso)
			m++;
		if (m == maps.n) {
			struct dso_map dm = { .dso = fr->dso };
			dm.ok = map_of(d, fr->dso, &dm.map);
			vec_push(&maps, dm);
		}
		if (!maps.v[m].ok)
			continue;
		for (size_t j = 0; j < nsyms; j++)
			if (symbolizer_has_binary(syms[j], &maps.v[m].map) &&
			    symbolizer_resolved_anew(syms[j], &maps.v[m].map, fr->addr)) {
				hashidx_reserve(&mix, hot_hash_at, &missed);
				vec_push(&missed, ((struct hot){ fr->func, fr->dso, f,
								  k != HASHIDX_NONE ? hot->v[k].samples : 0, false }));
				hashidx_put(&mix, func_hash(fr->func, fr->dso), (uint32_t)missed.n - 1);
				vec_push(&by, syms[j]);
				break;
			}
	}
	/* The busiest first (cmp_hot), each with the symbolizer that missed. */
	struct missed_fn *order = xcalloc(missed.n ? missed.n : 1, sizeof *order);
	for (size_t i = 0; i < missed.n; i++)
		order[i] = (struct missed_fn){ missed.v[i], by.v[i] };
	if (missed.n)
		qsort(order, missed.n, sizeof *order, cmp_missed);
	size_t kept = 0;
	for (size_t i = 0; i < missed.n && kept < KEEP_MISSED; i++) {
		const struct hot *h = &order[i].h;
		size_t m = 0;
		while (maps.v[m].dso != h->dso)
			m++;
		struct sym_code c;
		struct cprof_err err;
		if (symbolizer_code(order[i].by, &maps.v[m].map, d->frames.v[h->frame].addr, KEEP_MISSED_BYTES, &c,
				    &err) < 0)
			continue;
		/* Without its call targets: listing them needs the
		 * disassembler, whose loading alone costs ~5 ms, for what only
		 * a saved function needs (which lists them when saved). */
		if (!c.from_cache) {
			symbolizer_keep_code(order[i].by, &maps.v[m].map, &c, NULL, 0);
			kept++;
		}
		sym_code_release(&c);
	}
	/* Binaries with a miss: every function of a small one, the sizeless
	 * ones of the rest. */
	for (size_t m = 0; m < maps.n; m++) {
		struct symbolizer *s = NULL;
		for (size_t i = 0; i < missed.n && !s; i++)
			if (order[i].h.dso == maps.v[m].dso)
				s = order[i].by;
		struct sym_func *fn = NULL;
		size_t nf = s ? symbolizer_functions(s, &maps.v[m].map, &fn) : 0;
		uint64_t bytes = 0;
		for (size_t i = 0; i < nf; i++)
			bytes += fn[i].size;
		bool whole = bytes <= KEEP_WHOLE_BYTES;
		for (size_t i = 0, sizeless = 0; i < nf; i++) {
			if (!whole && (!fn[i].sizeless || sizeless++ >= KEEP_SIZELESS))
				continue;
			struct sym_code c;
			struct cprof_err err;
			if (symbolizer_code(s, &maps.v[m].map, fn[i].start, KEEP_MISSED_BYTES, &c, &err) < 0)
				continue;
			if (!c.from_cache)
				symbolizer_keep_code(s, &maps.v[m].map, &c, NULL, 0);
			sym_code_release(&c);
		}
		free(fn);
	}
	free(order);
	vec_release(&maps);
	vec_release(&by);
	vec_release(&missed);
	hashidx_release(&mix);
	hashidx_release(&hix);
}

void capture_hot_code(struct cprof_data *d, struct symbolizer *const *syms, size_t nsyms,
		      const struct capture_opts *o, struct capture_stats *st)
{
	struct hot_list hot = { 0 };
	uint64_t total;
	memset(st, 0, sizeof *st);
	if (!nsyms)
		return;
	uint64_t *per_frame = count_hot(d, &hot, &total);
	for (size_t i = 0; i < hot.n && st->saved < o->max_funcs; i++) {
		const struct hot *h = &hot.v[i];
		if (h->samples < o->min_samples || 100.0 * (double)h->samples < o->min_share * (double)total)
			break;
		struct sym_map map;
		if (!map_of(d, h->dso, &map)) {
			st->failed++;
			continue;
		}
		/* map.path points into d's strings, which save_range() grows
		 * (and so may move) while the symbolizer still needs the path. */
		char *path = xstrdup(map.path);
		map.path = path;
		struct symbolizer *s = syms[0];
		for (size_t k = 0; k < nsyms; k++)
			if (symbolizer_has_binary(syms[k], &map)) {
				s = syms[k];
				break;
			}
		struct sym_code c;
		struct cprof_err err;
		/* Read up to 16 MiB: a bigger one is not a function anyone annotates. */
		if (symbolizer_code(s, &map, d->frames.v[h->frame].addr, 16u << 20, &c, &err) < 0) {
			st->failed++;
			free(path);
			continue;
		}
		bool part = c.len > o->whole_bytes;
		if (!part && st->bytes + c.len > o->max_total_bytes) {
			st->failed++;
			sym_code_release(&c);
			free(path);
			continue;
		}
		uint64_t n = c.len;
		if (part) {
			n = save_parts(d, h, &c, s, &map, per_frame, o->window);
		} else {
			save_range(d, h, &c, s, &map, 0, c.len, false);
			if (!c.has_targets)
				keep_saved(d, s, &map, &c);
		}
		hot.v[i].saved = true;
		st->saved++;
		st->partial += part;
		st->bytes += n;
		sym_code_release(&c);
		free(path);
	}
	keep_missed(d, syms, nsyms, &hot);
	free(per_frame);
	vec_release(&hot);
}
