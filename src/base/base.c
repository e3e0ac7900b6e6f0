/* base.c - errors, checked allocation, sbuf, VEC growth and number parsing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "cprof/base.h"

char sbuf_empty_[1];

int err_set(struct cprof_err *e, int code, const char *fmt, ...)
{
	if (code <= 0)
		code = EIO;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		/* Messages quote names from files and command lines; a control
		 * byte among them would break the one line an error is. */
		for (char *c = e->msg; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		e->code = code;
	}
	return -code;
}

void notef(const struct note_sink *s, const char *fmt, ...)
{
	if (!s || !s->fn)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	s->fn(s->ctx, line);
}

static void *oom(size_t n)
{
	fprintf(stderr, "cprof: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom(n);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom(n * size);
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom(n);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static size_t page_round(size_t len)
{
	const size_t page = 4096;
	if (len > SIZE_MAX - page)
		oom(SIZE_MAX);
	return (len + page - 1) & ~(page - 1);
}

static void *big_advise(void *p, size_t len)
{
	if (len >= 2u << 20)
		(void)madvise(p, len, MADV_HUGEPAGE); /* advice: a kernel without THP says EINVAL */
	return p;
}

void *big_alloc(size_t len)
{
	size_t n = page_round(len ? len : 1);
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		oom(len);
	return big_advise(p, n);
}

void *big_realloc(void *p, size_t old_len, size_t new_len)
{
	if (!p)
		return big_alloc(new_len);
	size_t o = page_round(old_len ? old_len : 1), n = page_round(new_len ? new_len : 1);
	if (n == o)
		return p;
	void *q = mremap(p, o, n, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		oom(new_len);
	return big_advise(q, n);
}

void big_free(void *p, size_t len)
{
	if (p && munmap(p, page_round(len ? len : 1)) != 0)
		abort(); /* only a wrong address or length: a bug */
}

void vec_grow_(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 8;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / elem)
		oom(SIZE_MAX);
	*v = xrealloc(*v, c * elem);
	*cap = c;
}

void sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	size_t c = sb->cap ? sb->cap : 64;
	while (c < need)
		c *= 2;
	if (sb->cap == 0) {
		sb->buf = xmalloc(c);
		sb->buf[0] = 0;
	} else {
		sb->buf = xrealloc(sb->buf, c);
	}
	sb->cap = c;
}

void sbuf_add(struct sbuf *sb, const void *data, size_t n)
{
	sbuf_grow(sb, n);
	if (n) /* memcpy from NULL is undefined even for no bytes */
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addc(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	char probe[1];
	if (!fmt)
		return;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(probe, sizeof probe, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	sbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->cap)
		sb->buf[0] = 0;
}

void sbuf_release(struct sbuf *sb)
{
	if (sb->cap)
		free(sb->buf);
	sb->buf = sbuf_empty_;
	sb->len = sb->cap = 0;
}

char *sbuf_detach(struct sbuf *sb)
{
	char *r = sb->cap ? sb->buf : xstrdup("");
	sb->buf = sbuf_empty_;
	sb->len = sb->cap = 0;
	return r;
}

size_t utf8_seq_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!len)
		return 0;
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3 : p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : 0;
	if (!n || n > len)
		return 0;
	for (size_t k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_double(const char *s, double *ret)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "10ms", "500us", "2s", "1500ns" (a bare number: ns) into ns. */
int parse_duration_ns(const char *s, uint64_t *ret)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 }, { "", 1 },
	};
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strcmp(end, units[i].unit) == 0) {
			double ns = v * (double)units[i].mul;
			if (ns >= 1.8e19)
				return -ERANGE;
			*ret = (uint64_t)(ns + 0.5);
			return 0;
		}
	return -EINVAL;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
