/*
 * json.h - a small JSON reader for cprof's own JSON files (stat baselines):
 * the whole text into a tree, with the line and column of the first error.
 * Depth is limited, strings are UTF-8 with \u escapes decoded.
 */
#ifndef CPROF_JSON_H
#define CPROF_JSON_H

#include "cprof/base.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	bool b;
	double num;
	char *str;            /* JSON_STRING; owned */
	size_t n;             /* members of an array or object */
	struct json *items;   /* owned */
	char **keys;          /* JSON_OBJECT: keys[i] names items[i]; owned */
};

/* Parse text[0..len); name is used in messages. On error *out is empty. */
int json_parse(struct json *out, const char *text, size_t len, const char *name, struct cprof_err *err) CPROF_WUR;
void json_release(struct json *j);
/* Member of an object by key, or NULL (also when obj is not an object). */
const struct json *json_get(const struct json *obj, const char *key);

#endif
