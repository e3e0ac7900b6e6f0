/*
 * latclass.c - latency classes (latclass.h): the limits from a list, a
 * file or the defaults, and the durations of a histogram counted by class.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/hist.h"
#include "cprof/latclass.h"

const char *const latclass_names[LC_N] = { "fast", "slow", "very slow", "critical" };
const char *const latclass_keys[LC_N] = { "fast", "slow", "very_slow", "critical" };

void latclass_defaults(struct latclasses *c)
{
	c->limit[0] = 1000000;
	c->limit[1] = 10000000;
	c->limit[2] = 100000000;
	snprintf(c->from, sizeof c->from, "default");
}

static bool increasing(const struct latclasses *c)
{
	return c->limit[0] < c->limit[1] && c->limit[1] < c->limit[2];
}

int latclass_parse_list(const char *s, struct latclasses *c, struct cprof_err *err)
{
	struct latclasses n = { { 0 }, "--classes" };
	char buf[256];
	if (strlen(s) >= sizeof buf)
		return err_set(err, EINVAL, "--classes takes three increasing durations (1ms,10ms,100ms), not '%.40s...'", s);
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	size_t k = 0;
	for (; tok; tok = strtok_r(NULL, ",", &save)) {
		if (k == LC_N - 1 || parse_duration_ns(tok, &n.limit[k]) < 0)
			return err_set(err, EINVAL, "--classes takes three increasing durations (1ms,10ms,100ms), not '%s'",
				       s);
		k++;
	}
	if (k != LC_N - 1 || !increasing(&n))
		return err_set(err, EINVAL, "--classes takes three increasing durations (1ms,10ms,100ms), not '%s'", s);
	*c = n;
	return 0;
}

static int class_named(const char *name)
{
	if (strcmp(name, "slow") == 0)
		return LC_SLOW;
	if (strcmp(name, "very-slow") == 0 || strcmp(name, "very_slow") == 0)
		return LC_VERY_SLOW;
	if (strcmp(name, "critical") == 0)
		return LC_CRITICAL;
	return -1;
}

int latclass_read_file(const char *path, struct latclasses *c, struct cprof_err *err)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		int e = errno;
		return err_set(err, e, "cannot open '%s': %s", path, strerror(e));
	}
	struct latclasses n = *c;
	char line[512];
	unsigned lineno = 0;
	int r = 0;
	while (r == 0 && fgets(line, sizeof line, fp)) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(fp)) {
			r = err_set(err, EINVAL, "%s:%u: line too long", path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
		if (!name)
			continue;
		char *value = strtok_r(NULL, " \t\r\n", &save), *extra = value ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		int k = class_named(name);
		uint64_t ns;
		if (k < 0)
			r = err_set(err, EINVAL, "%s:%u: unknown class '%s' (slow, very-slow or critical)", path, lineno, name);
		else if (!value || extra)
			r = err_set(err, EINVAL, "%s:%u: expected 'NAME DURATION', as in 'slow 1ms'", path, lineno);
		else if (parse_duration_ns(value, &ns) < 0)
			r = err_set(err, EINVAL, "%s:%u: '%s' is not a duration (10ms, 500us, 2s)", path, lineno, value);
		else
			n.limit[k - 1] = ns;
	}
	if (r == 0 && ferror(fp))
		r = err_set(err, EIO, "cannot read '%s'", path);
	fclose(fp);
	if (r < 0)
		return r;
	if (!increasing(&n))
		return err_set(err, EINVAL, "%s: the limits must increase: slow < very-slow < critical", path);
	snprintf(n.from, sizeof n.from, "%s", path);
	*c = n;
	return 0;
}

int latclass_resolve(const char *list, const char *file, struct latclasses *c, struct cprof_err *err)
{
	latclass_defaults(c);
	if (list)
		return latclass_parse_list(list, c, err);
	if (file)
		return latclass_read_file(file, c, err);
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char path[4096];
	if (xdg && *xdg)
		snprintf(path, sizeof path, "%s/cprof/latency-classes", xdg);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.config/cprof/latency-classes", home);
	else
		return 0;
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0; /* no file: the defaults */
	fclose(fp);
	return latclass_read_file(path, c, err);
}

int latclass_of(const struct latclasses *c, uint64_t ns)
{
	int k = 0;
	while (k < LC_N - 1 && ns > c->limit[k])
		k++;
	return k;
}

void latclass_count_hist(const struct latclasses *c, const struct hist *h, uint64_t out[LC_N])
{
	uint64_t below = 0;
	for (int k = 0; k < LC_N - 1; k++) {
		uint64_t n = hist_count_at_or_below(h, c->limit[k]);
		out[k] = n - below;
		below = n;
	}
	out[LC_N - 1] = h->total - below;
}
