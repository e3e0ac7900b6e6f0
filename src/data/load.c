/*
 * load.c - a profile source into a struct cprof_data: the format sniffer
 * (cprof data file, perf.data or folded stacks, from a file, a pipe or
 * memory) and the folded-stack reader, so pipelines (perf script |
 * stackcollapse | cprof ...) feed the same views as recordings.
 *
 * Over 500 lines as one file on purpose: the sniffer, the whole-input
 * parse and the piecewise stream all drive the one scanner (struct scan)
 * and must decide alike, which is easier to keep true when they sit side
 * by side than behind an internal header.
 *
 * One file (see above): the three paths over one scanner.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cprof/load.h"
#include "cprof/perfdata.h"


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

/*
 * A count is what flamegraph.pl accepts: decimal digits, optionally with a
 * fraction, which is rounded (some collapsers weigh samples). No sign, no
 * exponent, no hex or octal: "010" is ten, and "1e20" or "0x10" is a
 * malformed line rather than a silently different number.
 */
static const char *parse_count(const char *s, const char *end, uint64_t *ret)
{
	const char *p = s;
	uint64_t v = 0;
	if (p == end || *p < '0' || *p > '9')
		return "count is not a decimal number";
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return "count is larger than 18446744073709551615";
	if (p < end && *p == '.') {
		bool up = p + 1 < end && p[1] >= '5' && p[1] <= '9';
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (up && __builtin_add_overflow(v, 1, &v))
			return "count is larger than 18446744073709551615";
	}
	if (p != end)
		return "count is not a decimal number";
	*ret = v;
	return NULL;
}

/*
 * The line starting at p ends at the next '\n' or '\r': "\r\n" and a lone
 * '\r' (old Mac files, and some Windows tools) end a line too. *nl caches
 * where the next '\n' is, so that a file of '\r' lines is not searched to
 * its end for each line. *next is where the next line starts.
 */
static const char *line_end(const char *p, const char *end, const char **nl, const char **next)
{
	if (*nl < p) {
		*nl = memchr(p, '\n', (size_t)(end - p));
		if (!*nl)
			*nl = end;
	}
	const char *q = memchr(p, '\r', (size_t)(*nl - p));
	if (!q)
		q = *nl;
	*next = q;
	if (q < end)
		*next = q + 1 + (*q == '\r' && q + 1 < end && q[1] == '\n');
	return q;
}


/* A malformed line, told once the input has shown what it is. */
struct folded_note {
	size_t lineno;
	const char *why;
};

/*
 * The one folded-stack scanner, shared by folded_parse (report, diff,
 * export and every view of a struct cprof_data) and a caller's line sink
 * (the flame graph's direct path, profile_source_load_lines): lines,
 * counts, frames, malformed lines and their warnings, the total's
 * overflow. It takes its input whole or in pieces (scan_lines as often as
 * needed, then scan_end), with the same results.
 */
typedef VEC(struct folded_tok) tok_vec;

struct scan {
	const char *name;
	bool strict;
	const struct note_sink *warn;
	folded_line_fn line;
	void *sink;
	/* hold: keep every warning in held instead of telling warn, for a
	 * caller that cannot know yet whether the input is text at all */
	bool hold;
	/* keep: a line's frames are added after the lines' before them
	 * (stream_lines hands a whole piece over), not in their place */
	bool keep;
	size_t lineno, stacks;
	int bad;
	uint64_t total;
	tok_vec frames;
	/* Malformed lines before the first good one: warnings only once the
	 * input has proved to be folded stacks, else one error. */
	VEC(struct folded_note) pending;
	VEC(struct folded_note) held;
};

static void malformed(const struct note_sink *warn, const char *name, size_t lineno, const char *why)
{
	notef(warn, "'%s': line %zu: %s, skipping", name, lineno, why);
}

static void scan_note(struct scan *sc, size_t lineno, const char *why)
{
	if (sc->hold)
		vec_push(&sc->held, ((struct folded_note){ lineno, why }));
	else
		malformed(sc->warn, sc->name, lineno, why);
}

/*
 * The lines of buf[0..len). With more (input follows), stop before a line
 * whose end is not in buf yet: *used is where it starts. Returns 0, or
 * -errno on an error that ends the input (strict, overflow).
 */
static int scan_lines(struct scan *sc, const char *buf, size_t len, bool more, size_t *used, struct cprof_err *err)
{
	const char *nl = NULL, *p = buf, *end = buf + len, *next;
	int r = 0;
	for (; p < end; p = next) {
		const char *eol = line_end(p, end, &nl, &next);
		if (more && (eol == end || (*eol == '\r' && eol + 1 == end)))
			break; /* its end, or the '\n' of its "\r\n", is still to come */
		sc->lineno++;
		if (eol == p)
			continue;
		const char *sp = eol;
		while (sp > p && sp[-1] != ' ')
			sp--;
		const char *why = NULL;
		uint64_t count = 0;
		if (sp == p || sp - 1 == p)
			why = "expected 'frame;frame;... COUNT'";
		else
			why = parse_count(sp, eol, &count);
		/* Frames are the non-empty names between ';'. */
		const char *stack_end = sp - 1;
		size_t base = sc->keep ? sc->frames.n : 0;
		sc->frames.n = base;
		if (!why) {
			for (const char *f = p; f < stack_end;) {
				uint32_t h;
				const char *fe = find_byte_hash(f, stack_end, ';', &h);
				if (fe > f)
					vec_push(&sc->frames, ((struct folded_tok){ f, (size_t)(fe - f), h }));
				f = fe < stack_end ? fe + 1 : stack_end;
			}
			if (sc->frames.n == base)
				why = "no frame names before the count";
		}
		if (why) {
			sc->frames.n = base;
			if (sc->strict) {
				r = err_set(err, EINVAL, "'%s': line %zu: %s", sc->name, sc->lineno, why);
				break;
			}
			sc->bad++;
			if (!sc->stacks)
				vec_push(&sc->pending, ((struct folded_note){ sc->lineno, why }));
			else
				scan_note(sc, sc->lineno, why);
			continue;
		}
		if (!sc->stacks++)
			for (size_t i = 0; i < sc->pending.n; i++)
				scan_note(sc, sc->pending.v[i].lineno, sc->pending.v[i].why);
		if (__builtin_add_overflow(sc->total, count, &sc->total)) {
			r = err_set(err, EOVERFLOW, "'%s': line %zu: the counts add up to more than 18446744073709551615",
				    sc->name, sc->lineno);
			break;
		}
		sc->line(sc->sink, sc->frames.v + base, sc->frames.n - base, count, sc->lineno);
	}
	*used = (size_t)(p - buf);
	return r;
}

/* The end of the input: the number of malformed lines, or -errno. */
static int scan_end(struct scan *sc, struct cprof_err *err)
{
	/* Not one stack: this is not folded stacks, whatever it is. */
	if (!sc->stacks) {
		if (sc->bad)
			return err_set(err, EINVAL, "'%s': not a cprof data file, perf.data or folded stacks (line %zu: %s)",
				       sc->name, sc->pending.v[0].lineno, sc->pending.v[0].why);
		return err_set(err, EINVAL, "'%s': not a cprof data file, perf.data or folded stacks (only empty lines)",
			       sc->name);
	}
	return sc->bad;
}

static void scan_release(struct scan *sc)
{
	vec_release(&sc->frames);
	vec_release(&sc->pending);
	vec_release(&sc->held);
}

/* All of buf at once. Returns the number of malformed lines, or -errno. */
static int folded_scan(const char *buf, size_t len, const char *name, bool strict, const struct note_sink *warn,
		       folded_line_fn line, void *sink, struct cprof_err *err)
{
	struct scan sc = { .name = name, .strict = strict, .warn = warn, .line = line, .sink = sink };
	size_t used;
	int r = scan_lines(&sc, buf, len, false, &used, err);
	if (r >= 0)
		r = scan_end(&sc, err);
	scan_release(&sc);
	return r;
}

/*
 * Folded frames into a struct cprof_data. A frame's text is looked up as it
 * stands in the input (one hash of the slice, one compare), and only a
 * frame text not seen before is copied, split from its suffix and interned:
 * the strings, frames and stacks come out in the same order as interning
 * every frame would give.
 */
struct data_label {
	const char *s; /* the frame text in the input */
	size_t len;
	uint32_t frame, hash;
};

struct data_sink {
	struct cprof_data *d;
	uint32_t dso;
	VEC(struct data_label) labels;
	struct hashidx idx; /* over labels */
	struct sbuf label;
	VEC(uint32_t) frames;
};

static uint64_t label_hash_at(const void *ctx, uint32_t item)
{
	return ((const struct data_sink *)ctx)->labels.v[item].hash;
}

static uint32_t data_frame(struct data_sink *k, const struct folded_tok *t)
{
	uint32_t h = (uint32_t)hash_mem(t->s, t->len);
	size_t pos;
	for (uint32_t it = hashidx_first(&k->idx, h, &pos); it != HASHIDX_NONE; it = hashidx_next(&k->idx, &pos)) {
		const struct data_label *l = &k->labels.v[it];
		if (l->hash == h && l->len == t->len && memcmp(l->s, t->s, t->len) == 0)
			return l->frame;
	}
	uint32_t flags;
	sbuf_reset(&k->label);
	sbuf_add(&k->label, t->s, t->len);
	struct cprof_frame fr = { .dso = k->dso };
	fr.func = intern_label(k->d, k->label.buf, k->label.len, &flags);
	fr.flags = flags;
	uint32_t frame = cprof_add_frame(k->d, &fr);
	hashidx_reserve(&k->idx, label_hash_at, k);
	vec_push(&k->labels, ((struct data_label){ t->s, t->len, frame, h }));
	hashidx_put(&k->idx, h, (uint32_t)k->labels.n - 1);
	return frame;
}

static void data_line(void *sink, const struct folded_tok *t, size_t n, uint64_t count, size_t lineno)
{
	struct data_sink *k = sink;
	struct cprof_data *d = k->d;
	/* Folded is root first; stacks are stored leaf first. */
	vec_reserve(&k->frames, n);
	k->frames.n = n;
	for (size_t i = 0; i < n; i++)
		k->frames.v[n - 1 - i] = data_frame(k, &t[i]);
	if (count == 0)
		return;
	struct cprof_sample s = { .time = lineno, .period = count };
	s.stack = cprof_add_stack(d, k->frames.v, (uint32_t)n, 0);
	vec_push(&d->samples, s);
}

int folded_parse(struct cprof_data *d, const char *buf, size_t len, const char *name, bool strict,
		 const struct note_sink *warn, struct cprof_err *err)
{
	cprof_data_init(d);
	struct data_sink k = { .d = d, .idx = HASHIDX_INIT, .label = SBUF_INIT };
	k.dso = cprof_intern(d, "");
	struct cprof_event ev = { .name = cprof_intern(d, "samples"), .unit = cprof_intern(d, "samples") };
	vec_push(&d->events, ev);
	cprof_meta_set(d, "source", "folded");
	cprof_meta_set(d, "input", name);
	int r = folded_scan(buf, len, name, strict, warn, data_line, &k, err);
	vec_release(&k.labels);
	hashidx_release(&k.idx);
	sbuf_release(&k.label);
	vec_release(&k.frames);
	if (r < 0)
		cprof_data_release(d);
	return r;
}


/* Read a whole stream into memory; profile inputs are parsed from memory.
 * The bytes go straight into buf, sized once from a regular file's size. */
static int slurp(FILE *fp, const char *name, struct sbuf *buf, struct cprof_err *err)
{
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		sbuf_grow(buf, (size_t)st.st_size + 1); /* +1: the read that sees the end */
	for (;;) {
		if (buf->cap - buf->len < 65536 + 1)
			sbuf_grow(buf, 65536);
		size_t room = buf->cap - buf->len - 1;
		size_t n = fread(buf->buf + buf->len, 1, room, fp);
		buf->len += n;
		buf->buf[buf->len] = 0;
		if (n < room)
			break;
	}
	if (ferror(fp)) {
		int e = errno ? errno : EIO;
		return err_set(err, e, "cannot read '%s': %s", name, strerror(e));
	}
	return 0;
}

int folded_read(struct cprof_data *d, FILE *fp, const char *name, bool strict, const struct note_sink *warn,
		struct cprof_err *err)
{
	struct sbuf buf = SBUF_INIT;
	int r = slurp(fp, name, &buf, err);
	if (r < 0)
		cprof_data_init(d);
	else
		r = folded_parse(d, buf.buf, buf.len, name, strict, warn, err);
	sbuf_release(&buf);
	return r;
}

static profile_perf_reader_fn perf_reader;

void profile_source_set_perf_reader(profile_perf_reader_fn fn)
{
	perf_reader = fn;
}

/* Where folded stacks go: into d, or with line to line's sink. */
struct line_target {
	folded_line_fn line;
	void *sink;
	bool streamed;
	size_t piece; /* stream_lines' reads (0: 256 KiB) */
};

static int source_parse(struct cprof_data *d, struct line_target *t, const char *buf, size_t len, const char *name,
			bool strict, const struct note_sink *warn, struct cprof_err *err)
{
	const size_t magic_len = strlen(CPROF_MAGIC);
	if (len >= 8 && perfdata_sniff(buf, len)) {
		if (!perf_reader) {
			cprof_data_init(d);
			return err_set(err, ENOTSUP, "'%s': a perf.data file, and this program cannot read those", name);
		}
		/* The reader takes a stream with the magic already read from it. */
		FILE *fp = fmemopen((void *)buf, len, "r");
		uint8_t magic[8];
		if (!fp || fread(magic, 1, sizeof magic, fp) != sizeof magic) {
			int e = errno ? errno : EIO;
			if (fp)
				fclose(fp);
			cprof_data_init(d);
			return err_set(err, e, "cannot read '%s': %s", name, strerror(e));
		}
		int r = perf_reader(d, fp, magic, sizeof magic, name, err);
		fclose(fp);
		return r;
	}
	if (len >= magic_len && (memcmp(buf, CPROF_MAGIC, magic_len) == 0 || memcmp(buf, "PERFILE2", 8) == 0))
		return cprof_data_parse(d, (const uint8_t *)buf, len, name, err);
	cprof_data_init(d);
	if (len == 0)
		return err_set(err, ENODATA, "'%s': empty input, expected a cprof data file or folded stacks", name);
	if (len < magic_len && memcmp(buf, CPROF_MAGIC, len) == 0) /* the first bytes of a data file: cut off */
		return err_set(err, EBADMSG, "'%s': truncated cprof data file (%zu bytes, the header alone needs %d)",
			       name, len, HDR_SIZE);
	if (memchr(buf, 0, len))
		return err_set(err, EINVAL, "'%s': not a cprof data file, perf.data or folded stacks (binary data)", name);
	if (t && t->line) {
		t->streamed = true;
		return folded_scan(buf, len, name, strict, warn, t->line, t->sink, err);
	}
	return folded_parse(d, buf, len, name, strict, warn, err);
}

int profile_source_parse(struct cprof_data *d, const char *buf, size_t len, const char *name, bool strict,
			 const struct note_sink *warn, struct cprof_err *err)
{
	return source_parse(d, NULL, buf, len, name, strict, warn, err);
}


/*
 * Folded stacks from fp straight to t's sink, a piece at a time, so
 * that the input is never held whole (a 32 MB file is read through a few
 * 256 KiB pieces). prefix holds the bytes already read. What a whole-input
 * parse decides from all of it is kept exact: a NUL byte anywhere makes the
 * input "binary data" and nothing else is said, so warnings are held until
 * the end, and an error of a line (strict, overflow) is told only once the
 * rest of the input has been read. fp NULL: prefix is all there is.
 *
 * Input of more than one piece is read and split into lines and frames on
 * a thread of its own while the caller's thread hands the lines to the
 * sink, which runs there alone: for a flame graph the two halves take
 * about as long as each other. The reader fills PIECES pieces in turn,
 * each the bytes of a read with the lines and frames scanned from them,
 * and the caller's thread gives a piece back once its lines are through.
 * A piece's bytes stay put while its lines are out (frames point into
 * them): the partial line at its end is copied to start the next piece.
 */
#define PIECES 4
/* Smaller pieces are filled and drained in turn: handing each over to
 * another thread would cost more than scanning it. */
#define THREAD_MIN_PIECE (16u << 10)

struct piece_line {
	size_t first, n; /* the piece's frames[first .. first + n) */
	uint64_t count;
	size_t lineno;
};

struct piece {
	struct sbuf buf;
	size_t used; /* buf's bytes before the partial line at its end */
	tok_vec frames;
	VEC(struct piece_line) lines;
	bool last;
	bool full; /* its lines are out to the sink (under the lock) */
};

struct line_stream {
	FILE *fp;
	size_t chunk;
	struct scan sc;
	struct cprof_err *err;
	int r;
	int read_errno; /* of the read that failed (errno is the reading thread's) */
	bool nul, eof;
	size_t filled;     /* pieces filled so far */
	struct piece *cur; /* the one being filled */
	struct piece pieces[PIECES];
	bool threaded;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a piece became full, or empty */
};

/* The scanner's sink while a piece is filled: the line, kept in it. */
static void piece_line(void *sink, const struct folded_tok *t, size_t n, uint64_t count, size_t lineno)
{
	struct line_stream *ls = sink;
	vec_push(&ls->cur->lines, ((struct piece_line){ (size_t)(t - ls->sc.frames.v), n, count, lineno }));
}

static void piece_wait(struct line_stream *ls, const struct piece *p, bool full)
{
	if (!ls->threaded)
		return;
	pthread_mutex_lock(&ls->lock);
	while (p->full != full)
		pthread_cond_wait(&ls->changed, &ls->lock);
	pthread_mutex_unlock(&ls->lock);
}

static void piece_set(struct line_stream *ls, struct piece *p, bool full)
{
	if (ls->threaded)
		pthread_mutex_lock(&ls->lock);
	p->full = full;
	if (ls->threaded) {
		pthread_cond_broadcast(&ls->changed);
		pthread_mutex_unlock(&ls->lock);
	}
}

/* The next piece: the partial line the one before left, then reads until
 * a line ends in it or the input does. Returns whether it is the last. */
static bool fill_piece(struct line_stream *ls)
{
	size_t k = ls->filled++;
	struct piece *p = &ls->pieces[k % PIECES];
	piece_wait(ls, p, false);
	size_t fresh = 0; /* bytes at the end of buf not yet checked for NUL */
	if (k > 0) {
		const struct piece *q = &ls->pieces[(k - 1) % PIECES];
		p->buf.len = 0;
		sbuf_add(&p->buf, q->buf.buf + q->used, q->buf.len - q->used);
	} else {
		fresh = p->buf.len; /* the prefix */
	}
	p->lines.n = 0;
	p->used = 0;
	ls->cur = p;
	ls->sc.frames = p->frames;
	ls->sc.frames.n = 0;
	while (!ls->eof) {
		bool skip = ls->nul || ls->r < 0; /* only reading to the end now */
		if (skip && p->lines.n)
			break; /* (their bytes stay put) */
		if (skip)
			p->buf.len = 0;
		if (p->buf.cap - p->buf.len - 1 < (ls->chunk + 1) / 2) /* a line longer than what is left */
			sbuf_grow(&p->buf, ls->chunk);
		size_t room = p->buf.cap - p->buf.len - 1;
		if (room > ls->chunk)
			room = ls->chunk;
		size_t n = ls->fp ? fread(p->buf.buf + p->buf.len, 1, room, ls->fp) : 0;
		ls->eof = n < room;
		if (ls->eof && ls->fp && ferror(ls->fp))
			ls->read_errno = errno ? errno : EIO;
		p->buf.len += n;
		fresh += n;
		if (!ls->nul && memchr(p->buf.buf + p->buf.len - fresh, 0, fresh))
			ls->nul = true;
		fresh = 0;
		if (ls->nul || ls->r < 0)
			continue;
		ls->r = scan_lines(&ls->sc, p->buf.buf, p->buf.len, !ls->eof, &p->used, ls->err);
		if (p->used || ls->r < 0)
			break;
	}
	if (ls->nul || ls->r < 0)
		p->used = p->buf.len; /* nothing more is scanned */
	p->frames = ls->sc.frames;
	memset(&ls->sc.frames, 0, sizeof ls->sc.frames);
	p->last = ls->eof;
	piece_set(ls, p, true);
	return p->last;
}

static void *fill_pieces(void *arg)
{
	struct line_stream *ls = arg;
	while (!fill_piece(ls))
		;
	return NULL;
}

/* Piece k's lines to the sink. Returns whether it was the last. */
static bool drain_piece(struct line_stream *ls, struct line_target *t, size_t k)
{
	struct piece *p = &ls->pieces[k % PIECES];
	piece_wait(ls, p, true);
	for (size_t i = 0; i < p->lines.n; i++) {
		const struct piece_line *l = &p->lines.v[i];
		t->line(t->sink, p->frames.v + l->first, l->n, l->count, l->lineno);
	}
	bool last = p->last;
	piece_set(ls, p, false);
	return last;
}

static int stream_lines(struct line_target *t, FILE *fp, const void *prefix, size_t prefix_len, const char *name,
			bool strict, const struct note_sink *warn, struct cprof_err *err)
{
	struct line_stream ls = {
		.fp = fp,
		.chunk = t->piece ? t->piece : 256 << 10,
		.sc = { .name = name, .strict = strict, .warn = warn, .line = piece_line, .hold = true, .keep = true },
		.err = err,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.changed = PTHREAD_COND_INITIALIZER,
	};
	ls.sc.sink = &ls;
	sbuf_grow(&ls.pieces[0].buf, ls.chunk);
	sbuf_add(&ls.pieces[0].buf, prefix, prefix_len);
	/* A reader thread only for input of more than one piece; where none
	 * can be had, the pieces are filled and drained in turn here. */
	pthread_t reader;
	if (!fill_piece(&ls) && ls.chunk >= THREAD_MIN_PIECE) {
		ls.threaded = true; /* (before the reader reads it) */
		if (pthread_create(&reader, NULL, fill_pieces, &ls) != 0)
			ls.threaded = false;
	}
	for (size_t k = 0; !drain_piece(&ls, t, k); k++)
		if (!ls.threaded)
			fill_piece(&ls);
	if (ls.threaded)
		pthread_join(reader, NULL);
	int r = ls.r;
	if (ls.read_errno) {
		r = err_set(err, ls.read_errno, "cannot read '%s': %s", name, strerror(ls.read_errno));
	} else if (ls.nul) {
		r = err_set(err, EINVAL, "'%s': not a cprof data file, perf.data or folded stacks (binary data)", name);
	} else {
		if (r >= 0)
			r = scan_end(&ls.sc, err);
		for (size_t i = 0; i < ls.sc.held.n; i++)
			malformed(warn, name, ls.sc.held.v[i].lineno, ls.sc.held.v[i].why);
	}
	scan_release(&ls.sc);
	for (size_t i = 0; i < PIECES; i++) {
		sbuf_release(&ls.pieces[i].buf);
		vec_release(&ls.pieces[i].frames);
		vec_release(&ls.pieces[i].lines);
	}
	pthread_cond_destroy(&ls.changed);
	pthread_mutex_destroy(&ls.lock);
	return r;
}

static int source_load(struct cprof_data *d, struct line_target *t, const char *path, bool strict,
		       const struct note_sink *warn, struct cprof_err *err)
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
		if (pr >= 0)
			cprof_data_expand_reads(d);
		return pr;
	}
	if (t && t->line && got == sizeof magic && memcmp(magic, CPROF_MAGIC, sizeof magic) != 0 &&
	    memcmp(magic, "PERFILE2", sizeof magic) != 0) {
		/* Folded stacks, or what is no profile at all: read as a stream. */
		cprof_data_init(d);
		t->streamed = true;
		int sr = stream_lines(t, fp, magic, got, name, strict, warn, err);
		if (!is_stdin)
			fclose(fp);
		return sr;
	}
	sbuf_add(&buf, magic, got);
	int r = slurp(fp, name, &buf, err); /* (sees an error of the first read, too) */
	if (!is_stdin)
		fclose(fp);
	if (r < 0)
		cprof_data_init(d);
	else
		r = source_parse(d, t, buf.buf, buf.len, name, strict, warn, err);
	sbuf_release(&buf);
	if (r >= 0)
		cprof_data_expand_reads(d);
	return r;
}

int profile_source_load(struct cprof_data *d, const char *path, bool strict, const struct note_sink *warn,
			struct cprof_err *err)
{
	return source_load(d, NULL, path, strict, warn, err);
}

int profile_source_parse_lines(struct cprof_data *d, const char *buf, size_t len, size_t piece, const char *name,
				bool strict, const struct note_sink *warn, folded_line_fn line, void *sink,
				bool *ret_streamed, struct cprof_err *err)
{
	struct line_target t = { line, sink, false, piece };
	int r;
	if (len >= 8 && !perfdata_sniff(buf, len) && memcmp(buf, CPROF_MAGIC, 8) != 0 && memcmp(buf, "PERFILE2", 8) != 0) {
		/* As source_load reads a file: the first bytes, then a stream. */
		FILE *fp = len > 8 ? fmemopen((void *)(buf + 8), len - 8, "r") : NULL;
		if (!fp && len > 8) {
			int e = errno ? errno : EIO;
			cprof_data_init(d);
			*ret_streamed = false;
			return err_set(err, e, "cannot read '%s': %s", name, strerror(e));
		}
		cprof_data_init(d);
		t.streamed = true;
		r = stream_lines(&t, fp, buf, 8, name, strict, warn, err);
		if (fp)
			fclose(fp);
	} else {
		r = source_parse(d, &t, buf, len, name, strict, warn, err);
	}
	*ret_streamed = t.streamed;
	return r;
}

int profile_source_load_lines(struct cprof_data *d, const char *path, bool strict, const struct note_sink *warn,
			      folded_line_fn line, void *sink, bool *ret_streamed, struct cprof_err *err)
{
	struct line_target t = { line, sink, false, 0 };
	int r = source_load(d, &t, path, strict, warn, err);
	*ret_streamed = t.streamed;
	return r;
}
