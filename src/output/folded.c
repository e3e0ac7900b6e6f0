/*
 * folded.c - folded stacks out of a profile, and folded stacks in as a
 * struct cprof_data, so pipelines (perf script | stackcollapse | cprof ...)
 * feed the same views as recordings.
 */
#include <errno.h>
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
 * in one buffer; an open-addressing index finds a line again.
 */
struct folded_line {
	size_t off, len;
	uint64_t count;
};

static void write_stacks(FILE *out, const struct profile *p, bool lines)
{
	const struct cprof_data *d = p->d;
	struct sbuf line = SBUF_INIT, all = SBUF_INIT;
	VEC(struct folded_line) seen = { 0 };
	struct hashidx ix = { .cap = 256 };
	ix.slot = xcalloc(ix.cap, sizeof *ix.slot);
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
		size_t s = h & (ix.cap - 1);
		for (; ix.slot[s]; s = (s + 1) & (ix.cap - 1)) {
			struct folded_line *fl = &seen.v[ix.slot[s] - 1];
			if (fl->len == line.len && memcmp(all.buf + fl->off, line.buf, line.len) == 0)
				break;
		}
		if (ix.slot[s]) {
			seen.v[ix.slot[s] - 1].count += ps->samples;
			continue;
		}
		vec_push(&seen, ((struct folded_line){ all.len, line.len, ps->samples }));
		sbuf_add(&all, line.buf, line.len);
		ix.slot[s] = (uint32_t)seen.n;
		if (seen.n * 2 > ix.cap) {
			size_t cap = ix.cap * 2;
			uint32_t *slot = xcalloc(cap, sizeof *slot);
			for (size_t j = 0; j < seen.n; j++) {
				size_t t = hash_bytes(all.buf + seen.v[j].off, seen.v[j].len, HASH_SEED) & (cap - 1);
				while (slot[t])
					t = (t + 1) & (cap - 1);
				slot[t] = (uint32_t)j + 1;
			}
			free(ix.slot);
			ix.slot = slot;
			ix.cap = cap;
		}
	}
	for (size_t i = 0; i < seen.n; i++)
		fprintf(out, "%.*s %llu\n", (int)seen.v[i].len, all.buf + seen.v[i].off,
			(unsigned long long)seen.v[i].count);
	free(ix.slot);
	vec_release(&seen);
	sbuf_release(&all);
	sbuf_release(&line);
}

static uint32_t intern_label(struct cprof_data *d, char *name, size_t len, uint32_t *flags)
{
	*flags = 0;
	if (len >= 4 && name[len - 4] == '_' && name[len - 3] == '[' && name[len - 1] == ']') {
		char k = name[len - 2];
		if (k == 'k')
			*flags = FRF_KERNEL;
		else if (k == 'i')
			*flags = FRF_INLINED;
		if (k == 'k' || k == 'i' || k == 'j' || k == 'w')
			len -= 4;
	}
	char save = name[len];
	name[len] = 0;
	uint32_t off = cprof_intern(d, name);
	name[len] = save;
	return off;
}

int folded_read(struct cprof_data *d, FILE *fp, const char *name, bool strict, folded_warn_fn warn, void *ctx,
		struct cprof_err *err)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int bad = 0, r = 0;
	VEC(uint32_t) frames = { 0 };
	uint32_t empty = 0, dso;

	cprof_data_init(d);
	dso = cprof_intern(d, "");
	struct cprof_event ev = { .name = cprof_intern(d, "samples"), .unit = cprof_intern(d, "samples") };
	vec_push(&d->events, ev);
	cprof_meta_set(d, "source", "folded");
	cprof_meta_set(d, "input", name);
	(void)empty;

	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (len == 0)
			continue;
		char *sp = strrchr(line, ' ');
		const char *why = NULL;
		uint64_t count = 0;
		if (!sp || sp == line)
			why = "expected 'frame;frame;... COUNT'";
		else if (parse_u64(sp + 1, &count) < 0) {
			/* perf's collapsers may emit fractional counts; accept and round. */
			double dv;
			if (parse_double(sp + 1, &dv) < 0 || dv < 0)
				why = "count is not a non-negative number";
			else
				count = (uint64_t)(dv + 0.5);
		}
		if (why) {
			if (strict) {
				r = err_set(err, EINVAL, "'%s': line %zu: %s", name, lineno, why);
				goto out;
			}
			bad++;
			if (warn)
				warn(ctx, name, lineno, why);
			continue;
		}
		if (count == 0)
			continue;
		*sp = 0;
		frames.n = 0;
		char *p = line;
		while (p) {
			char *semi = strchr(p, ';');
			size_t flen = semi ? (size_t)(semi - p) : strlen(p);
			if (flen > 0) {
				uint32_t flags;
				struct cprof_frame f = { .dso = dso };
				f.func = intern_label(d, p, flen, &flags);
				f.flags = flags;
				vec_push(&frames, cprof_add_frame(d, &f));
			}
			p = semi ? semi + 1 : NULL;
		}
		/* Folded is root first; stacks are stored leaf first. */
		for (size_t i = 0; i < frames.n / 2; i++) {
			uint32_t t = frames.v[i];
			frames.v[i] = frames.v[frames.n - 1 - i];
			frames.v[frames.n - 1 - i] = t;
		}
		struct cprof_sample s = { .time = lineno, .period = count };
		s.stack = cprof_add_stack(d, frames.v, (uint32_t)frames.n, 0);
		vec_push(&d->samples, s);
	}
	if (ferror(fp)) {
		int e = errno ? errno : EIO;
		r = err_set(err, e, "cannot read '%s': %s", name, strerror(e));
		goto out;
	}
	r = bad;
out:
	free(line);
	vec_release(&frames);
	if (r < 0) {
		cprof_data_release(d);
	}
	return r;
}

static profile_perf_reader_fn perf_reader;

void profile_source_set_perf_reader(profile_perf_reader_fn fn)
{
	perf_reader = fn;
}

int profile_source_load(struct cprof_data *d, const char *path, bool strict, folded_warn_fn warn, void *ctx,
			struct cprof_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *fp = is_stdin ? stdin : fopen(path, "rb");
	if (!fp) {
		int e = errno;
		cprof_data_init(d);
		if (e == ENOENT)
			return err_set(err, e, "'%s': no such file", path);
		return err_set(err, e, "cannot open '%s': %s", path, strerror(e));
	}
	/* Peek at the magic without consuming it from a pipe: read everything. */
	struct sbuf buf = SBUF_INIT;
	/* perf.data goes to its reader as a stream, magic included. */
	uint8_t magic[8];
	size_t got = fread(magic, 1, sizeof magic, fp);
	if (got == sizeof magic && perfdata_sniff(magic, got)) {
		int pr;
		if (perf_reader) {
			pr = perf_reader(d, fp, magic, got, name, err);
		} else {
			cprof_data_init(d);
			pr = err_set(err, ENOTSUP, "'%s': a perf.data file, and this program cannot read those", name);
		}
		if (!is_stdin)
			fclose(fp);
		return pr;
	}
	sbuf_add(&buf, magic, got);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		sbuf_add(&buf, chunk, n);
	int e = ferror(fp) ? (errno ? errno : EIO) : 0;
	if (!is_stdin)
		fclose(fp);
	if (e) {
		sbuf_release(&buf);
		cprof_data_init(d);
		return err_set(err, e, "cannot read '%s': %s", name, strerror(e));
	}
	int r;
	if (buf.len >= 8 && (memcmp(buf.buf, "CPROFDAT", 8) == 0 || memcmp(buf.buf, "PERFILE2", 8) == 0)) {
		r = cprof_data_parse(d, (const uint8_t *)buf.buf, buf.len, name, err);
	} else if (buf.len == 0) {
		cprof_data_init(d);
		r = err_set(err, ENODATA, "'%s': empty input, expected a cprof data file or folded stacks", name);
	} else if (memchr(buf.buf, 0, buf.len)) {
		cprof_data_init(d);
		r = err_set(err, EINVAL, "'%s': binary data that is neither a cprof data file nor folded stacks", name);
	} else {
		FILE *mem = fmemopen(buf.buf, buf.len, "r");
		if (!mem) {
			int e2 = errno;
			cprof_data_init(d);
			r = err_set(err, e2, "cannot read '%s': %s", name, strerror(e2));
		} else {
			r = folded_read(d, mem, name, strict, warn, ctx, err);
			fclose(mem);
		}
	}
	sbuf_release(&buf);
	return r;
}
