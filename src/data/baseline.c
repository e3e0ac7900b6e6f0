/*
 * baseline.c - the measurements of `cprof stat` as a file: where a named
 * baseline lives, and reading one back (the writer is the JSON view of
 * output/stat-output.c, so an exported file is a baseline too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cprof/bench.h"
#include "cprof/json.h"

struct bench_metric *bench_metric_add(struct bench_result *r, const char *name, const char *unit, int group)
{
	struct bench_metric m = { .name = xstrdup(name), .unit = xstrdup(unit), .running_pct = 100, .group = group };
	vec_push(&r->metrics, m);
	return &r->metrics.v[r->metrics.n - 1];
}

struct bench_metric *bench_metric_find(const struct bench_result *r, const char *name)
{
	for (size_t i = 0; i < r->metrics.n; i++)
		if (strcmp(r->metrics.v[i].name, name) == 0)
			return &r->metrics.v[i];
	return NULL;
}

void bench_result_release(struct bench_result *r)
{
	for (size_t i = 0; i < r->metrics.n; i++) {
		free(r->metrics.v[i].name);
		free(r->metrics.v[i].unit);
		vec_release(&r->metrics.v[i].values);
	}
	vec_release(&r->metrics);
	free(r->command);
	free(r->target);
	memset(r, 0, sizeof *r);
}

int bench_baseline_path(const char *name, struct sbuf *out, struct cprof_err *err)
{
	size_t n = strlen(name);
	if (strchr(name, '/') || (n > 5 && strcmp(name + n - 5, ".json") == 0)) {
		sbuf_adds(out, name);
		return 0;
	}
	if (n == 0 || name[0] == '.')
		return err_set(err, EINVAL, "baseline name '%s' must not be empty or start with '.'", name);
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			return err_set(err, EINVAL, "baseline name '%s' may only use letters, digits, '.', '_' and '-' "
						    "(or give a path with a '/')", name);
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		sbuf_addf(out, "%s/cprof/baselines/%s.json", xdg, name);
	else if (home && *home)
		sbuf_addf(out, "%s/.local/share/cprof/baselines/%s.json", home, name);
	else
		return err_set(err, ENOENT, "neither XDG_DATA_HOME nor HOME is set: give the baseline as a path");
	return 0;
}

int bench_baseline_mkdir(const char *path, struct cprof_err *err)
{
	char *dir = xstrdup(path);
	int r = 0;
	for (char *p = dir + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = err_set(err, errno, "cannot create directory '%s': %s", dir, strerror(errno));
		*p = '/';
	}
	free(dir);
	return r;
}

/* The baseline file into sb, with its own words for a missing or huge file. */
static int read_all(const char *path, struct sbuf *sb, struct cprof_err *err)
{
	int r = file_read(path, sb, 64u << 20, err);
	if (r == -ENOENT)
		return err_set(err, ENOENT, "no baseline '%s' (save one with --save-baseline)", path);
	if (r == -EFBIG)
		return err_set(err, EFBIG, "'%s': larger than 64 MiB, not a baseline", path);
	return r;
}

static int bad(struct cprof_err *err, const char *path, const char *what)
{
	return err_set(err, EINVAL, "'%s': not a cprof stat baseline: %s", path, what);
}

int bench_read_json(struct bench_result *r, const char *path, struct cprof_err *err)
{
	struct sbuf text = SBUF_INIT;
	struct json root;
	memset(r, 0, sizeof *r);
	int rc = read_all(path, &text, err);
	if (rc == 0)
		rc = json_parse(&root, text.buf, text.len, path, err);
	sbuf_release(&text);
	if (rc < 0)
		return rc;
	const struct json *schema = json_get(&root, "schema"), *metrics = json_get(&root, "metrics");
	const struct json *cmd = json_get(&root, "command"), *created = json_get(&root, "created");
	const struct json *runs = json_get(&root, "runs");
	if (!schema || schema->type != JSON_STRING || strcmp(schema->str, "cprof-stat/1") != 0) {
		rc = bad(err, path, "no \"schema\": \"cprof-stat/1\"");
		goto out;
	}
	if (!metrics || metrics->type != JSON_ARRAY) {
		rc = bad(err, path, "no \"metrics\" array");
		goto out;
	}
	r->command = xstrdup(cmd && cmd->type == JSON_STRING ? cmd->str : "");
	if (created && created->type == JSON_NUMBER && created->num >= 0)
		r->created = (uint64_t)created->num;
	if (runs && runs->type == JSON_NUMBER && runs->num >= 0)
		r->runs = (size_t)runs->num;
	for (size_t i = 0; i < metrics->n; i++) {
		const struct json *m = &metrics->items[i];
		const struct json *name = json_get(m, "name"), *unit = json_get(m, "unit"), *vals = json_get(m, "values");
		if (!name || name->type != JSON_STRING || !vals || vals->type != JSON_ARRAY) {
			rc = bad(err, path, "a metric without \"name\" or \"values\"");
			goto out;
		}
		struct bench_metric *bm =
			bench_metric_add(r, name->str, unit && unit->type == JSON_STRING ? unit->str : "", -1);
		for (size_t k = 0; k < vals->n; k++) {
			if (vals->items[k].type != JSON_NUMBER) {
				rc = bad(err, path, "a value that is not a number");
				goto out;
			}
			vec_push(&bm->values, vals->items[k].num);
		}
	}
	rc = 0;
out:
	json_release(&root);
	if (rc < 0)
		bench_result_release(r);
	return rc;
}
