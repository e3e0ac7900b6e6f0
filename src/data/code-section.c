/*
 * code-section.c - SECTION_CODE of cprof.data: the machine code, line rows,
 * inline ranges and call-target names of the hottest functions, which
 * `cprof annotate` shows when the binary is gone or was rebuilt.
 *
 * The reader trusts nothing, as the rest of reader.c: every count is
 * checked against the section's length before records are read, every
 * string offset, run and code range against what exists, and the line rows
 * must be sorted, because annotate walks them in order.
 */
#include <errno.h>
#include <string.h>

#include "code-data.h"

void code_section_bytes(const struct cprof_data *d, struct sbuf *raw, uint32_t *count)
{
	uint8_t rec[CF_SIZE];
	memset(rec, 0, CODE_HDR_SIZE);
	put_le32(rec + CODE_NFUNCS, (uint32_t)d->code.n);
	put_le32(rec + CODE_NLINES, (uint32_t)d->code_lines.n);
	put_le32(rec + CODE_NINLINES, (uint32_t)d->code_inlines.n);
	put_le32(rec + CODE_NSYMS, (uint32_t)d->code_syms.n);
	put_le64(rec + CODE_NBYTES, d->code_bytes.n);
	sbuf_grow(raw, CODE_HDR_SIZE + d->code.n * CF_SIZE + d->code_lines.n * CL_SIZE +
			       d->code_inlines.n * CI_SIZE + d->code_syms.n * CY_SIZE + d->code_bytes.n);
	sbuf_add(raw, rec, CODE_HDR_SIZE);
	for (size_t i = 0; i < d->code.n; i++) {
		const struct cprof_code *c = &d->code.v[i];
		memset(rec, 0, CF_SIZE);
		put_le32(rec + CF_FUNC, c->func);
		put_le32(rec + CF_DSO, c->dso);
		put_le64(rec + CF_START, c->start);
		put_le64(rec + CF_BYTES, c->bytes_off);
		put_le32(rec + CF_LEN, c->len);
		put_le16(rec + CF_MACHINE, c->machine);
		rec[CF_BUILD_ID_SIZE] = c->build_id_size > 20 ? 20 : c->build_id_size;
		rec[CF_FLAGS] = c->flags;
		memcpy(rec + CF_BUILD_ID, c->build_id, 20);
		put_le32(rec + CF_LINES, c->first_line);
		put_le32(rec + CF_NLINES, c->nlines);
		put_le32(rec + CF_INLINES, c->first_inline);
		put_le32(rec + CF_NINLINES, c->ninlines);
		put_le32(rec + CF_SYMS, c->first_sym);
		put_le32(rec + CF_NSYMS, c->nsyms);
		put_le32(rec + CF_COMP_DIR, c->comp_dir);
		sbuf_add(raw, rec, CF_SIZE);
	}
	for (size_t i = 0; i < d->code_lines.n; i++) {
		const struct cprof_code_line *l = &d->code_lines.v[i];
		memset(rec, 0, CL_SIZE);
		put_le32(rec + CL_OFF, l->off);
		put_le32(rec + CL_FILE, l->file);
		put_le32(rec + CL_LINE, l->line);
		sbuf_add(raw, rec, CL_SIZE);
	}
	for (size_t i = 0; i < d->code_inlines.n; i++) {
		const struct cprof_code_inline *n = &d->code_inlines.v[i];
		put_le32(rec + CI_LO, n->lo);
		put_le32(rec + CI_HI, n->hi);
		put_le32(rec + CI_FUNC, n->func);
		put_le32(rec + CI_FILE, n->file);
		put_le32(rec + CI_LINE, n->line);
		put_le32(rec + CI_DEPTH, n->depth);
		sbuf_add(raw, rec, CI_SIZE);
	}
	for (size_t i = 0; i < d->code_syms.n; i++) {
		const struct cprof_code_sym *y = &d->code_syms.v[i];
		memset(rec, 0, CY_SIZE);
		put_le64(rec + CY_ADDR, y->addr);
		put_le32(rec + CY_NAME, y->name);
		sbuf_add(raw, rec, CY_SIZE);
	}
	if (d->code_bytes.n)
		sbuf_add(raw, d->code_bytes.v, d->code_bytes.n);
	*count = (uint32_t)d->code.n;
}

/* first + n lies within total (no overflow). */
static bool run_ok(uint32_t first, uint32_t n, size_t total)
{
	return first <= total && n <= total - first;
}

#define BAD(...) return err_set(err, EBADMSG, __VA_ARGS__)

int code_section_parse(struct cprof_data *d, const uint8_t *p, size_t len, uint32_t count, const char *name,
		       struct cprof_err *err)
{
	size_t slen = d->strings.len;
	if (len < CODE_HDR_SIZE)
		BAD("'%s': code section is malformed (%zu bytes)", name, len);
	uint64_t nf = get_le32(p + CODE_NFUNCS), nl = get_le32(p + CODE_NLINES), ni = get_le32(p + CODE_NINLINES);
	uint64_t ny = get_le32(p + CODE_NSYMS), nb = get_le64(p + CODE_NBYTES);
	/* All counts are u32 but nbytes, so the sum cannot overflow unless nbytes is absurd. */
	if (nb > len || nf != count ||
	    CODE_HDR_SIZE + nf * CF_SIZE + nl * CL_SIZE + ni * CI_SIZE + ny * CY_SIZE + nb != len)
		BAD("'%s': code section is malformed (its counts do not match its size)", name);
	const uint8_t *fp = p + CODE_HDR_SIZE, *lp = fp + nf * CF_SIZE, *ip = lp + nl * CL_SIZE;
	const uint8_t *yp = ip + ni * CI_SIZE, *bp = yp + ny * CY_SIZE;

	vec_reserve(&d->code_lines, nl);
	for (uint32_t i = 0; i < nl; i++) {
		const uint8_t *r = lp + (size_t)i * CL_SIZE;
		struct cprof_code_line l = { get_le32(r + CL_OFF), get_le32(r + CL_FILE), get_le32(r + CL_LINE) };
		if (l.file >= slen)
			BAD("'%s': code line row %u refers to a missing string", name, i);
		d->code_lines.v[d->code_lines.n++] = l;
	}
	vec_reserve(&d->code_inlines, ni);
	for (uint32_t i = 0; i < ni; i++) {
		const uint8_t *r = ip + (size_t)i * CI_SIZE;
		struct cprof_code_inline n = { get_le32(r + CI_LO), get_le32(r + CI_HI), get_le32(r + CI_FUNC),
					       get_le32(r + CI_FILE), get_le32(r + CI_LINE), get_le32(r + CI_DEPTH) };
		if (n.func >= slen || n.file >= slen)
			BAD("'%s': inline range %u refers to a missing string", name, i);
		if (n.lo >= n.hi || n.depth == 0 || n.depth > 255)
			BAD("'%s': inline range %u is malformed", name, i);
		d->code_inlines.v[d->code_inlines.n++] = n;
	}
	vec_reserve(&d->code_syms, ny);
	for (uint32_t i = 0; i < ny; i++) {
		const uint8_t *r = yp + (size_t)i * CY_SIZE;
		struct cprof_code_sym y = { get_le64(r + CY_ADDR), get_le32(r + CY_NAME) };
		if (y.name >= slen)
			BAD("'%s': call-target symbol %u refers to a missing string", name, i);
		d->code_syms.v[d->code_syms.n++] = y;
	}
	vec_reserve(&d->code, nf);
	for (uint32_t i = 0; i < nf; i++) {
		const uint8_t *r = fp + (size_t)i * CF_SIZE;
		struct cprof_code c = { .func = get_le32(r + CF_FUNC), .dso = get_le32(r + CF_DSO),
					.start = get_le64(r + CF_START), .bytes_off = get_le64(r + CF_BYTES),
					.len = get_le32(r + CF_LEN), .machine = get_le16(r + CF_MACHINE),
					.build_id_size = r[CF_BUILD_ID_SIZE], .flags = r[CF_FLAGS],
					.first_line = get_le32(r + CF_LINES),
					.nlines = get_le32(r + CF_NLINES), .first_inline = get_le32(r + CF_INLINES),
					.ninlines = get_le32(r + CF_NINLINES), .first_sym = get_le32(r + CF_SYMS),
					.nsyms = get_le32(r + CF_NSYMS), .comp_dir = get_le32(r + CF_COMP_DIR) };
		memcpy(c.build_id, r + CF_BUILD_ID, 20);
		if (c.func >= slen || c.dso >= slen || c.comp_dir >= slen)
			BAD("'%s': code of function %u refers to a missing string", name, i);
		if (c.flags & ~CFF_PART)
			BAD("'%s': code of function %u has unknown flags 0x%x", name, i, c.flags);
		if (c.build_id_size > 20 || c.len == 0 || c.bytes_off > nb || c.len > nb - c.bytes_off ||
		    c.start > UINT64_MAX - c.len)
			BAD("'%s': code of function %u lies outside the code bytes", name, i);
		if (!run_ok(c.first_line, c.nlines, nl) || !run_ok(c.first_inline, c.ninlines, ni) ||
		    !run_ok(c.first_sym, c.nsyms, ny))
			BAD("'%s': code of function %u refers to missing rows", name, i);
		for (uint32_t k = 0; k < c.nlines; k++) {
			const struct cprof_code_line *l = &d->code_lines.v[c.first_line + k];
			if (l->off >= c.len || (k && l->off < l[-1].off))
				BAD("'%s': line rows of function %u are out of order or outside it", name, i);
		}
		for (uint32_t k = 0; k < c.ninlines; k++)
			if (d->code_inlines.v[c.first_inline + k].hi > c.len)
				BAD("'%s': an inline range of function %u lies outside it", name, i);
		d->code.v[d->code.n++] = c;
	}
	vec_reserve(&d->code_bytes, nb);
	if (nb)
		memcpy(d->code_bytes.v, bp, nb);
	d->code_bytes.n = nb;
	return 0;
}
