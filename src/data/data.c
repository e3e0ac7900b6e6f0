/*
 * data.c - struct cprof_data in memory: init/release, string interning and
 * deduplicated frames and stacks. Serialization lives in writer.c/reader.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/base.h"
#include "cprof/data.h"

void cprof_data_init(struct cprof_data *d)
{
	memset(d, 0, sizeof *d);
	/* No allocation: offset 0 is "" even while the blob is empty, because
	 * an empty sbuf's buf is a static "". The first intern adds the NUL. */
	d->strings = (struct sbuf)SBUF_INIT;
}

void cprof_data_release(struct cprof_data *d)
{
	sbuf_release(&d->strings);
	vec_release(&d->meta);
	vec_release(&d->events);
	vec_release(&d->threads);
	vec_release(&d->frames);
	vec_release(&d->stack_words);
	vec_release(&d->stack_offset);
	vec_release(&d->samples);
	vec_release(&d->sample_counts);
	vec_release(&d->sample_cpus);
	vec_release(&d->sample_values);
	vec_release(&d->maps);
	vec_release(&d->mem_sites);
	vec_release(&d->mem_procs);
	vec_release(&d->mem_curve);
	vec_release(&d->mem_est);
	vec_release(&d->gpu_ops);
	vec_release(&d->sys_stats);
	vec_release(&d->sys_errs);
	vec_release(&d->sys_slow);
	vec_release(&d->sys_io);
	vec_release(&d->offcpu);
	vec_release(&d->lat_stats);
	vec_release(&d->lat_slow);
	vec_release(&d->lat_hists);
	vec_release(&d->lat_hist_buckets);
	vec_release(&d->lat_stacks);
	vec_release(&d->gpu_api);
	vec_release(&d->code);
	vec_release(&d->code_lines);
	vec_release(&d->code_inlines);
	vec_release(&d->code_syms);
	vec_release(&d->code_bytes);
	hashidx_release(&d->str_idx);
	hashidx_release(&d->frame_idx);
	hashidx_release(&d->stack_idx);
}

/* The indexes (str_idx, frame_idx, stack_idx) are base's hashidx over the
 * tables; hash_*_at give an item's hash when an index grows. */
static uint64_t hash_frame(const struct cprof_frame *f)
{
	uint64_t h = HASH_SEED;
	h = hash_bytes(&f->func, sizeof f->func, h);
	h = hash_bytes(&f->dso, sizeof f->dso, h);
	h = hash_bytes(&f->file, sizeof f->file, h);
	h = hash_bytes(&f->line, sizeof f->line, h);
	h = hash_bytes(&f->addr, sizeof f->addr, h);
	return hash_bytes(&f->flags, sizeof f->flags, h);
}

static uint64_t hash_frame_at(const void *ctx, uint32_t i)
{
	const struct cprof_data *d = ctx;
	return hash_frame(&d->frames.v[i]);
}

static uint64_t hash_stack_words(const uint32_t *w, uint32_t n)
{
	return hash_bytes(w, (size_t)(n + 1) * sizeof *w, HASH_SEED);
}

static uint64_t hash_stack_at(const void *ctx, uint32_t i)
{
	const struct cprof_data *d = ctx;
	const uint32_t *w = d->stack_words.v + d->stack_offset.v[i];
	return hash_stack_words(w, w[0] & STACK_COUNT_MASK);
}

/*
 * The string index is built on first use, over a table read from a file
 * too, where strings lie back to back. Such a table may hold a string many
 * times (only the writer deduplicates): str_index indexes the first.
 */
uint32_t cprof_intern(struct cprof_data *d, const char *s)
{
	if (!*s)
		return 0;
	if (d->strings.len == 0)
		sbuf_addc(&d->strings, 0); /* offset 0 is "" */
	if (!d->str_idx.cap)
		str_index(&d->strings, &d->str_idx, 1);
	return str_intern(&d->strings, &d->str_idx, s);
}

void cprof_meta_set(struct cprof_data *d, const char *key, const char *value)
{
	uint32_t k = cprof_intern(d, key), v = cprof_intern(d, value);
	for (size_t i = 0; i < d->meta.n; i++)
		if (d->meta.v[i].key == k) {
			d->meta.v[i].value = v;
			return;
		}
	vec_push(&d->meta, ((struct cprof_kv){ k, v }));
}

void cprof_meta_setf(struct cprof_data *d, const char *key, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	cprof_meta_set(d, key, sb.buf);
	sbuf_release(&sb);
}

const char *cprof_meta_get(const struct cprof_data *d, const char *key)
{
	for (size_t i = 0; i < d->meta.n; i++)
		if (strcmp(cprof_str(d, d->meta.v[i].key), key) == 0)
			return cprof_str(d, d->meta.v[i].value);
	return NULL;
}

uint64_t cprof_meta_u64(const struct cprof_data *d, const char *key, uint64_t dflt)
{
	uint64_t v;
	const char *s = cprof_meta_get(d, key);
	return s && parse_u64(s, &v) == 0 ? v : dflt;
}

/* A table filled directly (read from a file, or edited in place after its
 * index was dropped) is indexed afresh before the lookup. */
uint32_t cprof_add_frame(struct cprof_data *d, const struct cprof_frame *f)
{
	struct hashidx *ix = &d->frame_idx;
	if (ix->count != d->frames.n)
		hashidx_build(ix, (uint32_t)d->frames.n, hash_frame_at, d);
	uint64_t h = hash_frame(f);
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const struct cprof_frame *g = &d->frames.v[i];
		if (g->func == f->func && g->dso == f->dso && g->file == f->file && g->line == f->line &&
		    g->addr == f->addr && g->flags == f->flags && g->full == f->full)
			return i;
	}
	hashidx_reserve(ix, hash_frame_at, d);
	uint32_t idx = (uint32_t)d->frames.n;
	vec_push(&d->frames, *f);
	hashidx_put(ix, h, idx);
	return idx;
}

uint32_t cprof_add_stack(struct cprof_data *d, const uint32_t *frames, uint32_t n, uint32_t flags)
{
	struct hashidx *ix = &d->stack_idx;
	if (ix->count != d->stack_offset.n)
		hashidx_build(ix, (uint32_t)d->stack_offset.n, hash_stack_at, d);
	if (n > STACK_COUNT_MASK)
		n = STACK_COUNT_MASK;
	uint32_t head = n | flags;
	uint64_t h = hash_bytes(&head, sizeof head, HASH_SEED);
	h = hash_bytes(frames, (size_t)n * sizeof *frames, h);
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const uint32_t *w = d->stack_words.v + d->stack_offset.v[i];
		if (w[0] == head && (!n || memcmp(w + 1, frames, (size_t)n * sizeof *frames) == 0))
			return i;
	}
	hashidx_reserve(ix, hash_stack_at, d);
	uint32_t idx = (uint32_t)d->stack_offset.n;
	vec_push(&d->stack_offset, (uint32_t)d->stack_words.n);
	vec_reserve(&d->stack_words, d->stack_words.n + n + 1);
	d->stack_words.v[d->stack_words.n++] = head;
	if (n) /* an empty stack may come with frames == NULL, which memcpy may not see */
		memcpy(d->stack_words.v + d->stack_words.n, frames, (size_t)n * sizeof *frames);
	d->stack_words.n += n;
	hashidx_put(ix, h, idx);
	return idx;
}

void cprof_data_expand_reads(struct cprof_data *d)
{
	size_t n = d->samples.n;
	bool counts = d->sample_counts.n == n && n, cpus = d->sample_cpus.n == n && n;
	for (size_t i = 0; i < d->sample_values.n; i++) {
		const struct cprof_sample_value *v = &d->sample_values.v[i];
		if (v->sample >= n || v->event >= d->events.n)
			continue; /* the reader refuses these; a builder's mistake */
		struct cprof_sample x = d->samples.v[v->sample];
		x.event = (uint16_t)v->event;
		x.period = v->value;
		vec_push(&d->samples, x);
		if (counts)
			vec_push(&d->sample_counts, d->sample_counts.v[v->sample]);
		if (cpus)
			vec_push(&d->sample_cpus, d->sample_cpus.v[v->sample]);
	}
	d->sample_values.n = 0;
}
