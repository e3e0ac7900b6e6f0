/*
 * annotate.c - the model behind `cprof annotate` (see annotate.h): samples
 * per function and address, where a function's code comes from, and the
 * disassembly joined with counts, lines and inline ranges. Printing is in
 * annotate-print.c.
 *
 * One file: the sources of a function's code and their fallbacks are one
 * decision.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/annotate.h"
#include "cprof/symbol.h"

const char *const ann_bin_state_names[] = { "same", "changed", "gone", "unchecked", "none", NULL };

/* A function's code may not be bigger than this when read from a binary. */
#define MAX_FUNC_BYTES (16u << 20)

/* ---- samples per function and address ---- */

static int cmp_func(const void *a, const void *b)
{
	const struct ann_func *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->first_addr < y->first_addr ? -1 : x->first_addr > y->first_addr;
}

static bool same_func(const struct cprof_frame *a, const struct cprof_frame *b)
{
	return a->func == b->func && a->dso == b->dso && (a->flags & FRF_KERNEL) == (b->flags & FRF_KERNEL);
}

static int cmp_frame(const void *a, const void *b, void *ctx)
{
	const struct cprof_data *d = ctx;
	const struct cprof_frame *x = &d->frames.v[*(const uint32_t *)a], *y = &d->frames.v[*(const uint32_t *)b];
	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	if (x->dso != y->dso)
		return x->dso < y->dso ? -1 : 1;
	if ((x->flags & FRF_KERNEL) != (y->flags & FRF_KERNEL))
		return (x->flags & FRF_KERNEL) ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static uint64_t sample_count(const struct cprof_data *d, const struct cprof_sample *s)
{
	const struct cprof_event *e = &d->events.v[s->event];
	return strcmp(cprof_str(d, e->unit), "samples") == 0 ? s->period : cprof_sample_count(d, s);
}

int ann_profile_build(struct ann_profile *ap, const struct cprof_data *d, int event, struct cprof_err *err)
{
	memset(ap, 0, sizeof *ap);
	ap->d = d;
	ap->event = event;
	const char *src = cprof_meta_get(d, "source");
	if (src && strcmp(src, "folded") == 0)
		return err_set(err, EINVAL, "folded stacks carry no addresses to annotate; record with 'cprof record'");
	if (event < 0 || (size_t)event >= d->events.n)
		return err_set(err, EINVAL, "no event %d in the recording", event);

	/* Samples per leaf frame of a real (not inlined) function. */
	size_t nf = d->frames.n ? d->frames.n : 1;
	uint64_t *cnt = xcalloc(nf, sizeof *cnt), *wt = xcalloc(nf, sizeof *wt);
	for (size_t i = 0; i < d->samples.n; i++) {
		const struct cprof_sample *s = &d->samples.v[i];
		if (s->event != event)
			continue;
		uint64_t n = sample_count(d, s);
		ap->total_samples += n;
		ap->total_weight += s->period;
		uint32_t len = cprof_stack_len(d, s->stack);
		const uint32_t *fr = cprof_stack_frames(d, s->stack);
		for (uint32_t k = 0; k < len; k++)
			if (!(d->frames.v[fr[k]].flags & FRF_INLINED)) {
				cnt[fr[k]] += n;
				wt[fr[k]] += s->period;
				break;
			}
	}

	/* Group the frames by function: frame indexes sorted by (name, binary,
	 * kernel, address), then one function per run. */
	VEC(uint32_t) idx = { 0 };
	for (uint32_t f = 0; f < d->frames.n; f++)
		if (cnt[f] || wt[f])
			vec_push(&idx, f);
	if (idx.n)
		qsort_r(idx.v, idx.n, sizeof *idx.v, cmp_frame, (void *)d);
	for (size_t i = 0; i < idx.n;) {
		const struct cprof_frame *f0 = &d->frames.v[idx.v[i]];
		struct ann_func fn = { .name = f0->func, .dso = f0->dso,
				       .flags = f0->flags & (FRF_KERNEL | FRF_JIT | FRF_UNKNOWN),
				       .addr = f0->addr, .first_addr = ap->addrs.n };
		size_t j = i;
		uint64_t best = 0;
		for (; j < idx.n && same_func(&d->frames.v[idx.v[j]], f0); j++) {
			const struct cprof_frame *f = &d->frames.v[idx.v[j]];
			struct ann_addr *last = ap->addrs.n > fn.first_addr ? &ap->addrs.v[ap->addrs.n - 1] : NULL;
			if (last && last->addr == f->addr) {
				last->samples += cnt[idx.v[j]];
				last->weight += wt[idx.v[j]];
			} else {
				vec_push(&ap->addrs, ((struct ann_addr){ f->addr, cnt[idx.v[j]], wt[idx.v[j]] }));
			}
			fn.samples += cnt[idx.v[j]];
			fn.weight += wt[idx.v[j]];
			/* Copies of a static function share its name: read the
			 * code of the copy with the busiest address. */
			if (wt[idx.v[j]] > best) {
				best = wt[idx.v[j]];
				fn.addr = f->addr;
			}
		}
		fn.naddrs = ap->addrs.n - fn.first_addr;
		vec_push(&ap->funcs, fn);
		i = j;
	}
	if (ap->funcs.n)
		qsort(ap->funcs.v, ap->funcs.n, sizeof *ap->funcs.v, cmp_func);
	free(cnt);
	free(wt);
	vec_release(&idx);
	return 0;
}

void ann_profile_release(struct ann_profile *ap)
{
	vec_release(&ap->funcs);
	vec_release(&ap->addrs);
	memset(ap, 0, sizeof *ap);
}

size_t ann_profile_find(const struct ann_profile *ap, const char *name, size_t *ret, size_t max)
{
	size_t n = 0, len = strlen(name);
	for (int pass = 0; pass < 2 && n == 0; pass++)
		for (size_t i = 0; i < ap->funcs.n && n < max; i++) {
			const char *fn = cprof_str(ap->d, ap->funcs.v[i].name);
			/* Exact first; then "ns::f" for "ns::f(int)", as C++ names are demangled with parameters. */
			if (pass == 0 ? strcmp(fn, name) == 0 : strncmp(fn, name, len) == 0 && fn[len] == '(')
				ret[n++] = i;
		}
	return n;
}

/* ---- where a function's code comes from ---- */

struct annotator {
	const struct cprof_data *d;
	struct symbolizer *sym; /* reads binaries on disk, opened on first need */
	VEC(struct ann_binary *) bins;
};

struct annotator *annotator_new(const struct cprof_data *d)
{
	struct annotator *a = xcalloc(1, sizeof *a);
	a->d = d;
	return a;
}

void annotator_free(struct annotator *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->bins.n; i++)
		free(a->bins.v[i]);
	vec_release(&a->bins);
	symbolizer_free(a->sym);
	free(a);
}

void ann_code_release(struct ann_code *c)
{
	vec_release(&c->lines);
	vec_release(&c->inlines);
	vec_release(&c->syms);
	vec_release(&c->parts);
	free(c->owned);
	memset(c, 0, sizeof *c);
}

/* The build ID the recording has for binary dso: from its saved code, else
 * from the mappings (the kernel reports it with each mmap). */
static uint8_t recorded_build_id(const struct cprof_data *d, uint32_t dso, uint8_t id[20])
{
	for (size_t i = 0; i < d->code.n; i++)
		if (d->code.v[i].dso == dso && d->code.v[i].build_id_size) {
			memcpy(id, d->code.v[i].build_id, 20);
			return d->code.v[i].build_id_size;
		}
	for (size_t i = 0; i < d->maps.n; i++)
		if (d->maps.v[i].path == dso && d->maps.v[i].build_id_size) {
			memcpy(id, d->maps.v[i].build_id, 20);
			return d->maps.v[i].build_id_size;
		}
	return 0;
}

const struct ann_binary *annotator_binary(struct annotator *a, const struct ann_func *f)
{
	const char *path = cprof_str(a->d, f->dso);
	for (size_t i = 0; i < a->bins.n; i++)
		if (strcmp(a->bins.v[i]->path, path) == 0)
			return a->bins.v[i];
	struct ann_binary *b = xcalloc(1, sizeof *b);
	b->path = path;
	vec_push(&a->bins, b);
	if ((f->flags & (FRF_KERNEL | FRF_JIT)) || path[0] != '/') {
		b->state = ANN_BIN_NONE;
		return b;
	}
	b->recorded_size = recorded_build_id(a->d, f->dso, b->recorded);
	struct cprof_err err;
	int n = sym_file_build_id(path, b->disk, &err);
	if (n < 0) {
		b->state = ANN_BIN_GONE;
		snprintf(b->why, sizeof b->why, "%s", err.code == ENOEXEC ? "not an ELF file" : strerror(err.code));
		return b;
	}
	b->disk_size = (uint8_t)n;
	if (!b->recorded_size || !b->disk_size)
		b->state = ANN_BIN_UNCHECKED;
	else if (b->recorded_size == b->disk_size && memcmp(b->recorded, b->disk, b->disk_size) == 0)
		b->state = ANN_BIN_SAME;
	else
		b->state = ANN_BIN_CHANGED;
	return b;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct ann_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_inline(const void *a, const void *b)
{
	const struct ann_inline *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static int cmp_code_start(const void *a, const void *b, void *ctx)
{
	const struct cprof_data *d = ctx;
	const struct cprof_code *x = &d->code.v[*(const uint32_t *)a], *y = &d->code.v[*(const uint32_t *)b];
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Records idx[0..n) of d->code, sorted by start: one whole function, or its
 * parts (CFF_PART) put together with the gaps between them left out. */
static int code_from_data(const struct cprof_data *d, uint32_t *idx, size_t n, struct ann_code *c,
			  struct cprof_err *err)
{
	const struct cprof_code *first = &d->code.v[idx[0]];
	c->from = ANN_FROM_DATA;
	c->func = cprof_str(d, first->func);
	c->dso = cprof_str(d, first->dso);
	c->comp_dir = cprof_str(d, first->comp_dir);
	c->start = first->start;
	c->machine = first->machine;
	c->build_id_size = first->build_id_size;
	memcpy(c->build_id, first->build_id, 20);
	if (n == 1 && !(first->flags & CFF_PART)) {
		c->bytes = d->code_bytes.v + first->bytes_off;
		c->len = first->len;
	} else {
		const struct cprof_code *last = &d->code.v[idx[n - 1]];
		uint64_t span = last->start + last->len - first->start;
		for (size_t i = 0; i < n; i++) {
			const struct cprof_code *p = &d->code.v[idx[i]];
			/* Parts of one function: disjoint, in one binary's code. */
			if (!(p->flags & CFF_PART) || p->machine != first->machine ||
			    (i && p->start < d->code.v[idx[i - 1]].start + d->code.v[idx[i - 1]].len) || span > (64u << 20))
				return err_set(err, EBADMSG, "the code of '%s' saved in the recording is inconsistent",
					       c->func);
		}
		c->owned = xcalloc(span, 1);
		c->bytes = c->owned;
		c->len = (uint32_t)span;
		for (size_t i = 0; i < n; i++) {
			const struct cprof_code *p = &d->code.v[idx[i]];
			memcpy(c->owned + (p->start - c->start), d->code_bytes.v + p->bytes_off, p->len);
			vec_push(&c->parts, ((struct ann_range){ (uint32_t)(p->start - c->start), p->len }));
		}
	}
	for (size_t k = 0; k < n; k++) {
		const struct cprof_code *cc = &d->code.v[idx[k]];
		uint32_t base = (uint32_t)(cc->start - c->start);
		for (uint32_t i = 0; i < cc->nlines; i++) {
			const struct cprof_code_line *l = &d->code_lines.v[cc->first_line + i];
			vec_push(&c->lines, ((struct ann_line){ base + l->off, cprof_str(d, l->file), l->line }));
		}
		for (uint32_t i = 0; i < cc->ninlines; i++) {
			const struct cprof_code_inline *in = &d->code_inlines.v[cc->first_inline + i];
			vec_push(&c->inlines, ((struct ann_inline){ base + in->lo, base + in->hi, cprof_str(d, in->func),
								   cprof_str(d, in->file), in->line, in->depth }));
		}
		for (uint32_t i = 0; i < cc->nsyms; i++) {
			const struct cprof_code_sym *y = &d->code_syms.v[cc->first_sym + i];
			vec_push(&c->syms, ((struct ann_sym){ y->addr, cprof_str(d, y->name) }));
		}
	}
	if (c->inlines.n)
		qsort(c->inlines.v, c->inlines.n, sizeof *c->inlines.v, cmp_inline);
	if (c->syms.n)
		qsort(c->syms.v, c->syms.n, sizeof *c->syms.v, cmp_sym);
	return 0;
}

static int code_from_binary(struct annotator *a, const struct ann_func *f, struct ann_code *c, struct cprof_err *err)
{
	const struct cprof_data *d = a->d;
	const char *path = cprof_str(d, f->dso);
	if (!a->sym)
		a->sym = symbolizer_new();
	struct sym_map map = { .path = path };
	struct sym_code sc;
	int r = symbolizer_code(a->sym, &map, f->addr, MAX_FUNC_BYTES, &sc, err);
	if (r < 0)
		return r;
	c->from = ANN_FROM_BINARY;
	c->func = cprof_str(d, f->name);
	c->dso = path;
	c->comp_dir = sc.comp_dir;
	c->start = sc.start;
	c->owned = sc.bytes;
	sc.bytes = NULL;
	c->bytes = c->owned;
	c->len = sc.len;
	c->machine = sc.machine;
	c->build_id_size = sc.build_id_size;
	memcpy(c->build_id, sc.build_id, 20);
	for (size_t i = 0; i < sc.lines.n; i++)
		vec_push(&c->lines, ((struct ann_line){ sc.lines.v[i].off, sc.lines.v[i].file, sc.lines.v[i].line }));
	for (size_t i = 0; i < sc.inlines.n; i++) {
		const struct sym_code_inline *n = &sc.inlines.v[i];
		vec_push(&c->inlines, ((struct ann_inline){ n->lo, n->hi, n->func, n->file, n->line, n->depth }));
	}
	sym_code_release(&sc);
	uint64_t *targets;
	struct cprof_err ignored;
	int n = disasm_external_targets(c->machine, c->bytes, c->len, c->start, &targets, &ignored);
	for (int i = 0; i < n; i++) {
		const char *name = symbolizer_name_at(a->sym, &map, targets[i]);
		if (name)
			vec_push(&c->syms, ((struct ann_sym){ targets[i], name }));
	}
	free(targets);
	return 0;
}

static const char *short_id(const uint8_t *id, uint8_t n, char *buf)
{
	/* Enough of the build ID to tell two builds apart. */
	size_t k = 0;
	for (uint8_t i = 0; i < n && i < 8; i++)
		k += (size_t)sprintf(buf + k, "%02x", id[i]);
	buf[k] = 0;
	return buf;
}

int annotator_code(struct annotator *a, const struct ann_func *f, struct ann_code *ret, struct cprof_err *err)
{
	const struct cprof_data *d = a->d;
	const char *name = cprof_str(d, f->name), *path = cprof_str(d, f->dso);
	memset(ret, 0, sizeof *ret);
	VEC(uint32_t) idx = { 0 };
	for (uint32_t i = 0; i < d->code.n; i++)
		if (d->code.v[i].func == f->name && d->code.v[i].dso == f->dso)
			vec_push(&idx, i);
	if (idx.n) {
		qsort_r(idx.v, idx.n, sizeof *idx.v, cmp_code_start, (void *)d);
		int r = code_from_data(d, idx.v, idx.n, ret, err);
		vec_release(&idx);
		if (r < 0)
			ann_code_release(ret);
		return r;
	}
	if (f->flags & FRF_KERNEL)
		return err_set(err, ENOENT, "'%s' is kernel code, which recordings do not keep", name);
	if (f->flags & (FRF_JIT | FRF_UNKNOWN) || path[0] != '/')
		return err_set(err, ENOENT, "'%s' in '%s' has no code to show: it is not in a binary file", name, path);
	const struct ann_binary *b = annotator_binary(a, f);
	char r1[20], r2[20];
	if (b->state == ANN_BIN_GONE)
		return err_set(err, ENOENT, "no code of '%s' in the recording, and its binary '%s' cannot be read (%s)",
			       name, path, b->why);
	if (b->state == ANN_BIN_CHANGED)
		return err_set(err, ESTALE,
			       "no code of '%s' in the recording, and its binary '%s' has changed since "
			       "(build-id %s recorded, %s now)",
			       name, path, short_id(b->recorded, b->recorded_size, r1), short_id(b->disk, b->disk_size, r2));
	return code_from_binary(a, f, ret, err);
}

/* ---- the view: instructions joined with samples, lines and inlines ---- */

void ann_view_release(struct ann_view *v)
{
	vec_release(&v->rows);
	vec_release(&v->lines);
	memset(v, 0, sizeof *v);
}

static const char *sym_name(const struct ann_code *c, uint64_t addr)
{
	size_t lo = 0, hi = c->syms.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->syms.v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->syms.n && c->syms.v[lo].addr == addr ? c->syms.v[lo].name : NULL;
}

/* Row holding address a (the last row starting at or below it). */
static size_t row_of(const struct ann_view *v, uint64_t a)
{
	size_t lo = 0, hi = v->rows.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->rows.v[mid].insn.addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

static int cmp_line_sum(const void *a, const void *b)
{
	const struct ann_line_sum *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	int c = strcmp(x->file, y->file);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

int ann_view_inline_at(const struct ann_view *v, uint32_t off, uint32_t depth)
{
	const struct ann_code *c = v->c;
	int found = -1;
	for (size_t i = 0; i < c->inlines.n && c->inlines.v[i].lo <= off; i++)
		if (c->inlines.v[i].depth == depth && off < c->inlines.v[i].hi)
			found = (int)i;
	return found;
}

/* Rows for the instructions of [off, end) of the code. */
static int decode_range(struct ann_view *v, struct disasm *dis, uint32_t off, uint32_t end, size_t *line,
			struct cprof_err *err)
{
	const struct ann_code *c = v->c;
	struct ann_row row;
	for (; off < end; off += row.insn.size) {
		memset(&row, 0, sizeof row);
		int r = disasm_one(dis, c->bytes + off, end - off, c->start + off, &row.insn, err);
		if (r < 0)
			return r;
		if (row.insn.invalid) {
			if (!v->invalid_bytes)
				v->first_invalid = row.insn.addr;
			v->invalid_bytes += row.insn.size;
		}
		while (*line < c->lines.n && c->lines.v[*line].off <= off)
			(*line)++;
		row.line = *line ? (int32_t)*line - 1 : -1;
		for (size_t i = 0; i < c->inlines.n && c->inlines.v[i].lo <= off; i++)
			if (off < c->inlines.v[i].hi && c->inlines.v[i].depth > row.inline_depth)
				row.inline_depth = c->inlines.v[i].depth;
		if (row.insn.has_target) {
			uint64_t t = row.insn.target;
			if (t >= c->start && t - c->start < c->len)
				row.back_edge = row.insn.kind == DISASM_JUMP && t <= row.insn.addr;
			else
				row.target_name = sym_name(c, t);
		}
		vec_push(&v->rows, row);
	}
	return 0;
}

int ann_view_build(struct ann_view *v, const struct ann_profile *ap, const struct ann_func *f,
		   const struct ann_code *c, enum disasm_syntax syntax, struct cprof_err *err)
{
	memset(v, 0, sizeof *v);
	v->f = f;
	v->c = c;
	v->samples = f->samples;
	v->weight = f->weight;
	v->hottest = SIZE_MAX;
	struct disasm *dis;
	int r = disasm_open(&dis, c->machine, syntax, err);
	if (r < 0)
		return r;
	size_t line = 0;
	struct ann_range whole = { 0, c->len };
	const struct ann_range *parts = c->parts.n ? c->parts.v : &whole;
	size_t nparts = c->parts.n ? c->parts.n : 1;
	for (size_t pi = 0; pi < nparts && r >= 0; pi++) {
		uint32_t prev_end = pi ? parts[pi - 1].off + parts[pi - 1].len : 0;
		if (parts[pi].off > prev_end) {
			struct ann_row gap = { .gap = true, .line = -1 };
			gap.insn.addr = c->start + prev_end;
			gap.insn.size = parts[pi].off - prev_end;
			snprintf(gap.insn.text, sizeof gap.insn.text, "... %u bytes not saved (no samples near them)",
				 gap.insn.size);
			vec_push(&v->rows, gap);
		}
		v->saved_bytes += parts[pi].len;
		r = decode_range(v, dis, parts[pi].off, parts[pi].off + parts[pi].len, &line, err);
	}
	disasm_close(dis);
	if (r < 0) {
		ann_view_release(v);
		return r;
	}
	/* Jump targets inside the function, and names for them. */
	for (size_t i = 0; i < v->rows.n; i++) {
		struct ann_row *rw = &v->rows.v[i];
		uint64_t t = rw->insn.target;
		if (!rw->insn.has_target || t < c->start || t - c->start >= c->len)
			continue;
		struct ann_row *dst = &v->rows.v[row_of(v, t)];
		if (dst->insn.addr == t && rw->insn.kind == DISASM_JUMP)
			dst->target = true;
	}
	/* Samples onto rows. */
	const struct ann_addr *ad = ap->addrs.v + f->first_addr;
	for (size_t i = 0; i < f->naddrs; i++) {
		if (ad[i].addr < c->start || ad[i].addr - c->start >= c->len || !v->rows.n) {
			v->outside_samples += ad[i].samples;
			continue;
		}
		struct ann_row *rw = &v->rows.v[row_of(v, ad[i].addr)];
		if (rw->gap) {
			v->outside_samples += ad[i].samples;
			continue;
		}
		if (rw->insn.addr != ad[i].addr)
			v->misaligned_samples += ad[i].samples;
		rw->samples += ad[i].samples;
		rw->weight += ad[i].weight;
	}
	for (size_t i = 0; i < v->rows.n; i++) {
		const struct ann_row *rw = &v->rows.v[i];
		if (rw->weight && (v->hottest == SIZE_MAX || rw->weight > v->rows.v[v->hottest].weight))
			v->hottest = i;
		if (!rw->samples && !rw->weight)
			continue;
		const char *file = rw->line >= 0 ? c->lines.v[rw->line].file : "";
		uint32_t ln = rw->line >= 0 ? c->lines.v[rw->line].line : 0;
		size_t k;
		for (k = 0; k < v->lines.n; k++)
			if (v->lines.v[k].line == ln && strcmp(v->lines.v[k].file, file) == 0)
				break;
		if (k == v->lines.n)
			vec_push(&v->lines, ((struct ann_line_sum){ file, ln, 0, 0 }));
		v->lines.v[k].samples += rw->samples;
		v->lines.v[k].weight += rw->weight;
	}
	if (v->lines.n)
		qsort(v->lines.v, v->lines.n, sizeof *v->lines.v, cmp_line_sum);
	return 0;
}

/* ---- source files ---- */

struct src_file {
	char *path;
	char *text;               /* NULL: unreadable */
	VEC(uint32_t) line_start; /* offset of line i+1 in text */
};

struct ann_sources {
	VEC(struct src_file) files;
};

struct ann_sources *ann_sources_new(void)
{
	return xcalloc(1, sizeof(struct ann_sources));
}

void ann_sources_free(struct ann_sources *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->files.n; i++) {
		free(s->files.v[i].path);
		free(s->files.v[i].text);
		vec_release(&s->files.v[i].line_start);
	}
	vec_release(&s->files);
	free(s);
}

/* Source files bigger than this are not shown (a generated file, or not source). */
#define MAX_SOURCE_BYTES (64u << 20)

static void load_source(struct src_file *sf)
{
	struct sbuf sb = SBUF_INIT;
	if (file_read(sf->path, &sb, MAX_SOURCE_BYTES - 1, NULL) < 0 || memchr(sb.buf, 0, sb.len)) {
		sbuf_release(&sb);
		return;
	}
	vec_push(&sf->line_start, 0);
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] == '\n') {
			sb.buf[i] = 0;
			vec_push(&sf->line_start, (uint32_t)(i + 1));
		}
	sf->text = sbuf_detach(&sb);
}

const char *ann_source_line(struct ann_sources *s, const char *comp_dir, const char *file, uint32_t line)
{
	if (!*file || !line)
		return NULL;
	struct sbuf path = SBUF_INIT;
	if (file[0] != '/' && comp_dir && *comp_dir)
		sbuf_addf(&path, "%s/%s", comp_dir, file);
	else
		sbuf_adds(&path, file);
	struct src_file *sf = NULL;
	for (size_t i = 0; i < s->files.n && !sf; i++)
		if (strcmp(s->files.v[i].path, path.buf) == 0)
			sf = &s->files.v[i];
	if (!sf) {
		vec_push(&s->files, ((struct src_file){ .path = sbuf_detach(&path) }));
		sf = &s->files.v[s->files.n - 1];
		load_source(sf);
	}
	sbuf_release(&path);
	if (!sf->text || line > sf->line_start.n)
		return NULL;
	/* The text after the last newline is a line only if it is not empty. */
	const char *l = sf->text + sf->line_start.v[line - 1];
	return line == sf->line_start.n && !*l ? NULL : l;
}
