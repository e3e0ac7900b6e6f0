/*
 * json.c - recursive-descent JSON reader (RFC 8259), for files cprof wrote
 * itself but a user may have edited: every malformed input is an error
 * with its line and column, never a crash.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/json.h"

#define JSON_MAX_DEPTH 64

struct parser {
	const char *s, *end, *p;
	const char *name;
	struct cprof_err *err;
	int depth;
};

static int fail(struct parser *ps, const char *what)
{
	size_t line = 1, col = 1;
	for (const char *q = ps->s; q < ps->p; q++) {
		if (*q == '\n')
			line++, col = 1;
		else
			col++;
	}
	return err_set(ps->err, EINVAL, "'%s': line %zu, column %zu: %s", ps->name, line, col, what);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool lit(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
		ps->p += n;
		return true;
	}
	return false;
}

static int hex4(struct parser *ps, unsigned *ret)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		if (ps->p >= ps->end)
			return fail(ps, "truncated \\u escape");
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	*ret = v;
	return 0;
}

static void utf8(struct sbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		sbuf_addc(sb, (char)cp);
	} else if (cp < 0x800) {
		sbuf_addc(sb, (char)(0xc0 | (cp >> 6)));
		sbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sbuf_addc(sb, (char)(0xe0 | (cp >> 12)));
		sbuf_addc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		sbuf_addc(sb, (char)(0xf0 | (cp >> 18)));
		sbuf_addc(sb, (char)(0x80 | ((cp >> 12) & 0x3f)));
		sbuf_addc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

static int parse_string(struct parser *ps, char **ret)
{
	struct sbuf sb = SBUF_INIT;
	ps->p++; /* the opening quote */
	for (;;) {
		if (ps->p >= ps->end) {
			sbuf_release(&sb);
			return fail(ps, "unterminated string");
		}
		unsigned char c = (unsigned char)*ps->p++;
		if (c == '"')
			break;
		if (c < 0x20) {
			sbuf_release(&sb);
			return fail(ps, "control character in a string");
		}
		if (c != '\\') {
			sbuf_addc(&sb, (char)c);
			continue;
		}
		if (ps->p >= ps->end) {
			sbuf_release(&sb);
			return fail(ps, "unterminated string");
		}
		char e = *ps->p++;
		unsigned cp = 0;
		switch (e) {
		case '"': sbuf_addc(&sb, '"'); break;
		case '\\': sbuf_addc(&sb, '\\'); break;
		case '/': sbuf_addc(&sb, '/'); break;
		case 'b': sbuf_addc(&sb, '\b'); break;
		case 'f': sbuf_addc(&sb, '\f'); break;
		case 'n': sbuf_addc(&sb, '\n'); break;
		case 'r': sbuf_addc(&sb, '\r'); break;
		case 't': sbuf_addc(&sb, '\t'); break;
		case 'u':
			if (hex4(ps, &cp) < 0) {
				sbuf_release(&sb);
				return -EINVAL;
			}
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo = 0;
				if (!lit(ps, "\\u") || hex4(ps, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
					sbuf_release(&sb);
					return fail(ps, "unpaired surrogate in \\u escape");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				sbuf_release(&sb);
				return fail(ps, "unpaired surrogate in \\u escape");
			}
			if (cp == 0) {
				sbuf_release(&sb);
				return fail(ps, "\\u0000 in a string");
			}
			utf8(&sb, cp);
			break;
		default:
			sbuf_release(&sb);
			return fail(ps, "unknown escape in a string");
		}
	}
	*ret = sbuf_detach(&sb);
	return 0;
}

static int parse_value(struct parser *ps, struct json *out);

static int parse_number(struct parser *ps, struct json *out)
{
	const char *q = ps->p;
	if (q < ps->end && *q == '-')
		q++;
	if (q >= ps->end || *q < '0' || *q > '9')
		return fail(ps, "expected a value");
	if (*q == '0')
		q++;
	else
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	if (q < ps->end && *q == '.') {
		q++;
		if (q >= ps->end || *q < '0' || *q > '9')
			return fail(ps, "bad number");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || *q < '0' || *q > '9')
			return fail(ps, "bad number");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	char *tmp = xstrndup(ps->p, (size_t)(q - ps->p));
	out->type = JSON_NUMBER;
	out->num = strtod(tmp, NULL);
	free(tmp);
	if (!isfinite(out->num))
		return fail(ps, "number out of range");
	ps->p = q;
	return 0;
}

static int parse_container(struct parser *ps, struct json *out, bool object)
{
	VEC(struct json) items = { 0 };
	VEC(char *) keys = { 0 };
	int r = 0;
	if (++ps->depth > JSON_MAX_DEPTH) {
		r = fail(ps, "nested too deeply");
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
		ps->p++;
		goto out;
	}
	for (;;) {
		skip_ws(ps);
		if (object) {
			char *k;
			if (ps->p >= ps->end || *ps->p != '"') {
				r = fail(ps, "expected a key string");
				goto out;
			}
			if ((r = parse_string(ps, &k)) < 0)
				goto out;
			vec_push(&keys, k);
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				r = fail(ps, "expected ':'");
				goto out;
			}
			ps->p++;
		}
		struct json v = { 0 };
		if ((r = parse_value(ps, &v)) < 0)
			goto out;
		vec_push(&items, v);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
			ps->p++;
			break;
		}
		r = fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto out;
	}
out:
	ps->depth--;
	out->type = object ? JSON_OBJECT : JSON_ARRAY;
	out->n = items.n;
	out->items = items.v;
	out->keys = keys.v;
	if (r < 0) {
		/* keys may be one ahead of items after a bad value */
		for (size_t i = items.n; i < keys.n; i++)
			free(keys.v[i]);
		json_release(out);
	}
	return r;
}

static int parse_value(struct parser *ps, struct json *out)
{
	memset(out, 0, sizeof *out);
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	switch (*ps->p) {
	case '{': return parse_container(ps, out, true);
	case '[': return parse_container(ps, out, false);
	case '"':
		out->type = JSON_STRING;
		return parse_string(ps, &out->str);
	case 't':
	case 'f':
	case 'n':
		if (lit(ps, "true")) {
			out->type = JSON_BOOL;
			out->b = true;
		} else if (lit(ps, "false")) {
			out->type = JSON_BOOL;
		} else if (lit(ps, "null")) {
			out->type = JSON_NULL;
		} else {
			return fail(ps, "expected a value");
		}
		return 0;
	default: return parse_number(ps, out);
	}
}

int json_parse(struct json *out, const char *text, size_t len, const char *name, struct cprof_err *err)
{
	struct parser ps = { .s = text, .end = text + len, .p = text, .name = name, .err = err };
	int r = parse_value(&ps, out);
	if (r < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_release(out);
		return fail(&ps, "trailing characters after the value");
	}
	return 0;
}

void json_release(struct json *j)
{
	for (size_t i = 0; i < j->n; i++) {
		json_release(&j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	memset(j, 0, sizeof *j);
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}
