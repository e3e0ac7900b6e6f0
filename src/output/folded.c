/*
 * folded.c - folded stacks out of a profile.
 */
#include <stdlib.h>
#include <string.h>

#include "cprof/folded.h"
#include "cprof/perfdata.h"

static void write_stacks(FILE *out, const struct profile *p, bool lines);

void folded_write(FILE *out, const struct profile *p)
{
	write_stacks(out, p, false);
}

void folded_write_lines(FILE *out, const struct profile *p)
{
	write_stacks(out, p, true);
}

/* "func [file.c:42]_[i]": the line goes before the suffix folded readers look for. */
static void line_label(const struct cprof_data *d, const struct cprof_frame *f, struct sbuf *out)
{
	sbuf_adds(out, cprof_str(d, f->func));
	const char *file = cprof_str(d, f->file), *base = strrchr(file, '/');
	if (*file && f->line)
		sbuf_addf(out, " [%s:%u]", base ? base + 1 : file, f->line);
	if (f->flags & FRF_KERNEL)
		sbuf_adds(out, "_[k]");
	else if (f->flags & FRF_INLINED)
		sbuf_adds(out, "_[i]");
}

/*
 * Distinct data stacks can print the same line: frames that differ only in
 * address or source line have one label. Folded output has one line per
 * distinct stack (what flamegraph.pl and diff tools expect), so lines are
 * merged here, in the order they first appear. The labels live end to end
 * in one buffer; a struct hashidx finds a line again.
 */
struct folded_line {
	size_t off, len;
	uint64_t count;
};

/* What the index needs to hash a line again when it grows. */
struct lines_ctx {
	struct folded_line *const *v;
	const struct sbuf *all;
};

static uint64_t line_hash_at(const void *ctx, uint32_t item)
{
	const struct lines_ctx *c = ctx;
	const struct folded_line *fl = &(*c->v)[item];
	return hash_bytes(c->all->buf + fl->off, fl->len, HASH_SEED);
}

static void write_stacks(FILE *out, const struct profile *p, bool lines)
{
	const struct cprof_data *d = p->d;
	struct sbuf line = SBUF_INIT, all = SBUF_INIT;
	VEC(struct folded_line) seen = { 0 };
	struct hashidx ix = HASHIDX_INIT;
	struct lines_ctx ctx = { &seen.v, &all };
	/* There are at most as many lines as stacks: sized for them, the index
	 * never grows, and no line is hashed twice (growing rehashes in slot
	 * order, a random walk over the lines, which measured as a fifth of
	 * this function on 100k distinct stacks). */
	hashidx_presize(&ix, p->stacks.n);
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *ps = &p->stacks.v[i];
		if (!ps->samples)
			continue;
		uint32_t n = cprof_stack_len(d, ps->stack);
		const uint32_t *fr = cprof_stack_frames(d, ps->stack);
		sbuf_reset(&line);
		for (uint32_t k = n; k-- > 0;) {
			if (lines)
				line_label(d, &d->frames.v[fr[k]], &line);
			else
				profile_frame_label(d, &d->frames.v[fr[k]], &line);
			if (k)
				sbuf_addc(&line, ';');
		}
		if (n == 0)
			sbuf_adds(&line, "[empty]");
		/* ';' and newlines inside a name would break the format. */
		for (size_t j = 0; j < line.len; j++)
			if (line.buf[j] == '\n')
				line.buf[j] = ' ';
		uint64_t h = hash_bytes(line.buf, line.len, HASH_SEED);
		size_t pos;
		uint32_t it = hashidx_first(&ix, h, &pos);
		for (; it != HASHIDX_NONE; it = hashidx_next(&ix, &pos))
			if (seen.v[it].len == line.len && memcmp(all.buf + seen.v[it].off, line.buf, line.len) == 0)
				break;
		if (it != HASHIDX_NONE) {
			seen.v[it].count += ps->samples;
			continue;
		}
		hashidx_reserve(&ix, line_hash_at, &ctx);
		vec_push(&seen, ((struct folded_line){ all.len, line.len, ps->samples }));
		sbuf_add(&all, line.buf, line.len);
		hashidx_put(&ix, h, (uint32_t)seen.n - 1);
	}
	for (size_t i = 0; i < seen.n; i++)
		fprintf(out, "%.*s %llu\n", (int)seen.v[i].len, all.buf + seen.v[i].off,
			(unsigned long long)seen.v[i].count);
	hashidx_release(&ix);
	vec_release(&seen);
	sbuf_release(&all);
	sbuf_release(&line);
}
