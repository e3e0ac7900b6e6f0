/*
 * pmu.c - what sysfs and tracefs say about events: a PMU's type, the bit
 * layout of its terms (format/TERM: "config:0-7,32-35"), its named events
 * (events/NAME: "event=0x3c,umask=0x00"), and tracepoint ids.
 *
 * Every path starts at a root from struct ev_env, so the unit tests build a
 * fake tree in a temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "event-internal.h"

#define PMU_ROOT "/sys/bus/event_source/devices"

static const char *pmu_root(const struct ev_env *env)
{
	return env && env->pmu_root ? env->pmu_root : PMU_ROOT;
}

static const char *tracefs_root(const struct ev_env *env)
{
	if (env && env->tracefs)
		return env->tracefs;
	if (access("/sys/kernel/tracing/events", F_OK) == 0)
		return "/sys/kernel/tracing";
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return "/sys/kernel/debug/tracing";
	/* Mounted nowhere (a fresh boot without debugfs): mount it where the
	 * kernel made room for it, as perf does. Only root may; anyone else
	 * gets the error naming the mount command. */
	static bool tried;
	if (!tried) {
		tried = true;
		(void)mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
	}
	return "/sys/kernel/tracing";
}

/* A small sysfs file, trailing whitespace removed; -errno if unreadable. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = 0;
	return 0;
}

static int parse_value(const char *s, uint64_t *ret)
{
	char *end;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Put val into the bits a format line names ("config1:0-7,32-35"): the
 * value's low bits go to the lowest named bits, in order. */
static int place(struct ev_spec *e, const char *fmt, uint64_t val, const char *term, const char *whole,
		 struct cprof_err *err)
{
	const char *colon = strchr(fmt, ':');
	uint64_t *field;
	if (!colon)
		return err_set(err, EINVAL, "event '%s': cannot understand format '%s' of term '%s'", whole, fmt, term);
	size_t fl = (size_t)(colon - fmt);
	if (fl == 6 && memcmp(fmt, "config", 6) == 0)
		field = &e->config;
	else if (fl == 7 && memcmp(fmt, "config1", 7) == 0)
		field = &e->config1;
	else if (fl == 7 && memcmp(fmt, "config2", 7) == 0)
		field = &e->config2;
	else
		return err_set(err, EINVAL, "event '%s': term '%s' sets '%.*s', which cprof does not know", whole, term,
			       (int)fl, fmt);
	uint64_t mask = 0;
	for (const char *p = colon + 1; *p;) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			goto bad;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p)
				goto bad;
		}
		if (lo > hi || hi > 63)
			goto bad;
		for (unsigned long b = lo; b <= hi; b++)
			mask |= 1ULL << b;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	int width = __builtin_popcountll(mask);
	if (width == 0)
		goto bad;
	if (width < 64 && (val >> width) != 0)
		return err_set(err, ERANGE, "event '%s': value 0x%llx of '%s' does not fit its %d bits", whole,
			       (unsigned long long)val, term, width);
	*field &= ~mask;
	for (int b = 0; b < 64 && val; b++) {
		if (!(mask & (1ULL << b)))
			continue;
		if (val & 1)
			*field |= 1ULL << b;
		val >>= 1;
	}
	return 0;
bad:
	return err_set(err, EINVAL, "event '%s': cannot understand format '%s' of term '%s'", whole, fmt, term);
}

static int apply_terms(struct ev_spec *e, const char *pmu, const char *terms, const struct ev_env *env,
		       const char *whole, int depth, struct cprof_err *err)
{
	char *copy = xstrdup(terms), *save = NULL;
	int r = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		const char *val = eq ? eq + 1 : NULL;
		if (eq)
			*eq = 0;
		uint64_t v = 1;
		if (strcmp(t, "name") == 0) {
			if (!val || !*val) {
				r = err_set(err, EINVAL, "event '%s': 'name=' needs a name", whole);
				break;
			}
			free(e->name);
			e->name = xstrdup(val);
			continue;
		}
		if (val && parse_value(val, &v) < 0) {
			r = err_set(err, EINVAL, "event '%s': term '%s' needs a number, not '%s'", whole, t, val);
			break;
		}
		if (strcmp(t, "config") == 0) {
			e->config = v;
			continue;
		}
		if (strcmp(t, "config1") == 0) {
			e->config1 = v;
			continue;
		}
		if (strcmp(t, "config2") == 0) {
			e->config2 = v;
			continue;
		}
		if (strcmp(t, "period") == 0 || strcmp(t, "freq") == 0) {
			if (!val || v == 0) {
				r = err_set(err, EINVAL, "event '%s': '%s=' needs a positive number", whole, t);
				break;
			}
			*(t[0] == 'p' ? &e->period : &e->freq) = v;
			continue;
		}
		char path[4096], buf[512];
		snprintf(path, sizeof path, "%s/%s/format/%s", pmu_root(env), pmu, t);
		if (read_small(path, buf, sizeof buf) == 0) {
			if ((r = place(e, buf, v, t, whole, err)) < 0)
				break;
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/events/%s", pmu_root(env), pmu, t);
		if (!val && depth == 0 && read_small(path, buf, sizeof buf) == 0) {
			if (strchr(buf, '?')) {
				r = err_set(err, EINVAL, "event '%s': '%s' needs parameters ('%s'); give its terms", whole,
					    t, buf);
				break;
			}
			if ((r = apply_terms(e, pmu, buf, env, whole, depth + 1, err)) < 0)
				break;
			continue;
		}
		r = err_set(err, ENOENT, "event '%s': PMU '%s' has no term or event '%s' (see %s/%s/format and events)",
			    whole, pmu, t, pmu_root(env), pmu);
		break;
	}
	free(copy);
	return r;
}

int ev_pmu_resolve(struct ev_spec *e, const char *pmu, const char *terms, const struct ev_env *env,
		   const char *whole, struct cprof_err *err)
{
	char path[4096], buf[64];
	uint64_t type;
	if (!*pmu || strchr(pmu, '.') || strchr(pmu, '/'))
		return err_set(err, EINVAL, "event '%s': '%s' is not a PMU name", whole, pmu);
	snprintf(path, sizeof path, "%s/%s/type", pmu_root(env), pmu);
	int r = read_small(path, buf, sizeof buf);
	if (r == -ENOENT)
		return err_set(err, ENOENT, "event '%s': no PMU '%s' here (none in %s)", whole, pmu, pmu_root(env));
	if (r < 0)
		return err_set(err, -r, "event '%s': cannot read '%s': %s", whole, path, strerror(-r));
	if (parse_value(buf, &type) < 0 || type > UINT32_MAX)
		return err_set(err, EINVAL, "event '%s': '%s' holds '%s', not a PMU type", whole, path, buf);
	e->type = (uint32_t)type;
	if (!*terms)
		return err_set(err, EINVAL, "event '%s': no terms between the slashes", whole);
	return apply_terms(e, pmu, terms, env, whole, 0, err);
}

int ev_tracepoint_id(const struct ev_env *env, const char *sys, const char *name, uint64_t *ret, const char *whole,
		     struct cprof_err *err)
{
	char path[4096], buf[64];
	if (!*sys || !*name || strchr(sys, '/') || strchr(name, '/') || strcmp(sys, "..") == 0 ||
	    strcmp(name, "..") == 0 || strcmp(sys, ".") == 0 || strcmp(name, ".") == 0)
		return err_set(err, EINVAL, "event '%s': not a tracepoint name (SYSTEM:EVENT)", whole);
	snprintf(path, sizeof path, "%s/events/%s/%s/id", tracefs_root(env), sys, name);
	int r = read_small(path, buf, sizeof buf);
	if (r == -ENOENT) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/events", tracefs_root(env));
		if (access(dir, F_OK) != 0)
			return err_set(err, ENOENT, "event '%s': tracefs is not mounted at %s (mount -t tracefs "
						    "nodev /sys/kernel/tracing)", whole, tracefs_root(env));
		return err_set(err, ENOENT, "unknown event '%s' (no tracepoint %s:%s, and no such event name)", whole,
			       sys, name);
	}
	if (r == -EACCES || r == -EPERM)
		return err_set(err, -r, "event '%s': cannot read '%s': %s (tracefs is readable by root only "
					 "unless its mode was changed)", whole, path, strerror(-r));
	if (r < 0)
		return err_set(err, -r, "event '%s': cannot read '%s': %s", whole, path, strerror(-r));
	if (parse_value(buf, ret) < 0)
		return err_set(err, EINVAL, "event '%s': '%s' holds '%s', not a tracepoint id", whole, path, buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (no dot files); caller frees. */
static size_t list_dir(const char *path, char ***ret)
{
	VEC(char *) v = { 0 };
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				vec_push(&v, xstrdup(de->d_name));
		closedir(d);
	}
	if (v.n)
		qsort(v.v, v.n, sizeof *v.v, cmp_str);
	*ret = v.v;
	return v.n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ev_pmu_list_aliases(const struct ev_env *env, void (*fn)(void *ctx, const char *name, enum ev_class cls),
			 void *ctx)
{
	char **pmus, **evs, path[4096];
	size_t np = list_dir(pmu_root(env), &pmus);
	for (size_t i = 0; i < np; i++) {
		snprintf(path, sizeof path, "%s/%s/events", pmu_root(env), pmus[i]);
		size_t ne = list_dir(path, &evs);
		for (size_t j = 0; j < ne; j++) {
			/* NAME.scale and NAME.unit describe NAME; they are not
			 * events. An alias with '?' needs terms from the user. */
			char buf[512];
			snprintf(path, sizeof path, "%s/%s/events/%s", pmu_root(env), pmus[i], evs[j]);
			if (strchr(evs[j], '.') || read_small(path, buf, sizeof buf) < 0 || strchr(buf, '?'))
				continue;
			struct sbuf s = SBUF_INIT;
			sbuf_addf(&s, "%s/%s/", pmus[i], evs[j]);
			fn(ctx, s.buf, EVC_PMU);
			sbuf_release(&s);
		}
		free_list(evs, ne);
	}
	free_list(pmus, np);
}

void ev_tracepoint_list(const struct ev_env *env, void (*fn)(void *ctx, const char *name, enum ev_class cls),
			void *ctx)
{
	char **sys, **evs, path[4096];
	snprintf(path, sizeof path, "%s/events", tracefs_root(env));
	size_t ns = list_dir(path, &sys);
	for (size_t i = 0; i < ns; i++) {
		snprintf(path, sizeof path, "%s/events/%s", tracefs_root(env), sys[i]);
		size_t ne = list_dir(path, &evs);
		for (size_t j = 0; j < ne; j++) {
			char id[4096];
			snprintf(id, sizeof id, "%s/events/%s/%s/id", tracefs_root(env), sys[i], evs[j]);
			if (access(id, F_OK) != 0)
				continue;
			struct sbuf s = SBUF_INIT;
			sbuf_addf(&s, "%s:%s", sys[i], evs[j]);
			fn(ctx, s.buf, EVC_TRACEPOINT);
			sbuf_release(&s);
		}
		free_list(evs, ne);
	}
	free_list(sys, ns);
}
