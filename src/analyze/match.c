/*
 * match.c - the matching rule of diff and flamegraph --diff (see match.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/match.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void match_rule_release(struct match_rule *m)
{
	for (size_t i = 0; i < m->renames.n; i++) {
		free(m->renames.v[i].from);
		free(m->renames.v[i].to);
	}
	vec_release(&m->renames);
}

int match_rule_add_rename(struct match_rule *m, const char *spec, struct cprof_err *err)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || !eq[1] || strchr(eq + 1, '='))
		return err_set(err, EINVAL, "--map-binary needs OLD=NEW (binary file names), not '%s'", spec);
	struct match_rename r = { xstrndup(spec, (size_t)(eq - spec)), xstrdup(eq + 1) };
	/* Paths are accepted; binaries are compared by file name. */
	memmove(r.from, base_name(r.from), strlen(base_name(r.from)) + 1);
	memmove(r.to, base_name(r.to), strlen(base_name(r.to)) + 1);
	vec_push(&m->renames, r);
	return 0;
}

/* A frame's binary is a user-space file: not the kernel, [vdso] or JIT code. */
static bool user_file(const struct cprof_data *d, const struct cprof_frame *f)
{
	const char *path = cprof_str(d, f->dso);
	return *path && *path != '[' && !(f->flags & FRF_KERNEL);
}

const char *match_main_exe(const struct cprof_data *d)
{
	const char *exe = cprof_meta_get(d, "exe");
	if (exe && *exe)
		return exe;
	/* Recordings from before "exe" was written, and perf.data: the binary
	 * named like the command, else the one holding main. */
	const char *cmd = cprof_meta_get(d, "command");
	if (cmd && *cmd && strncmp(cmd, "-p ", 3) != 0) {
		size_t n = strcspn(cmd, " \t");
		struct sbuf first = SBUF_INIT;
		sbuf_add(&first, cmd, n);
		const char *want = base_name(first.buf);
		const char *found = NULL;
		for (size_t i = 0; i < d->frames.n && !found; i++) {
			const struct cprof_frame *f = &d->frames.v[i];
			if (user_file(d, f) && strcmp(base_name(cprof_str(d, f->dso)), want) == 0)
				found = cprof_str(d, f->dso);
		}
		sbuf_release(&first);
		if (found)
			return found;
	}
	for (size_t i = 0; i < d->frames.n; i++) {
		const struct cprof_frame *f = &d->frames.v[i];
		const char *fn = cprof_str(d, f->func);
		if (user_file(d, f) && (strcmp(fn, "main") == 0 || strcmp(fn, "main.main") == 0))
			return cprof_str(d, f->dso);
	}
	return NULL;
}

/* "libfoo.so.1.2.3" -> "libfoo.so": a library upgrade is the same library. */
static size_t unversioned_len(const char *name)
{
	const char *so = strstr(name, ".so.");
	if (!so)
		return strlen(name);
	for (const char *p = so + 4; *p; p++)
		if (!(*p >= '0' && *p <= '9') && *p != '.')
			return strlen(name);
	return (size_t)(so - name) + 3;
}

void match_binary_key(const struct match_rule *m, int side, const char *main_exe, const char *dso,
		      struct sbuf *out)
{
	sbuf_reset(out);
	if (m && m->ignore_binary)
		return;
	if (!*dso)
		return;
	const char *name = base_name(dso);
	if (main_exe && (strcmp(dso, main_exe) == 0 || strcmp(name, base_name(main_exe)) == 0)) {
		/* Brackets cannot start a file name of a mapping: no clash. */
		sbuf_adds(out, "[main executable]");
		return;
	}
	if (m && side == 0)
		for (size_t i = 0; i < m->renames.n; i++)
			if (strcmp(m->renames.v[i].from, name) == 0) {
				name = m->renames.v[i].to;
				break;
			}
	sbuf_add(out, name, unversioned_len(name));
}

/*
 * Names and the keys they were seen with: one entry per distinct function
 * name of both recordings, first key kept, and whether another turned up.
 */
struct name_entry {
	char *name;
	char *key;
	bool split;
};

struct name_table {
	VEC(struct name_entry) v;
	struct hashidx ix;
};

static uint64_t name_hash(const char *name) { return hash_bytes(name, strlen(name), HASH_SEED); }

static uint64_t name_hash_at(const void *ctx, uint32_t i)
{
	return name_hash(((const struct name_table *)ctx)->v.v[i].name);
}

static struct name_entry *name_find(struct name_table *t, const char *name, bool add)
{
	uint64_t h = name_hash(name);
	size_t pos;
	for (uint32_t i = hashidx_first(&t->ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(&t->ix, &pos))
		if (strcmp(t->v.v[i].name, name) == 0)
			return &t->v.v[i];
	if (!add)
		return NULL;
	hashidx_reserve(&t->ix, name_hash_at, t);
	vec_push(&t->v, ((struct name_entry){ xstrdup(name), NULL, false }));
	hashidx_put(&t->ix, h, (uint32_t)t->v.n - 1);
	return &t->v.v[t->v.n - 1];
}

static bool is_folded(const struct cprof_data *d)
{
	const char *src = cprof_meta_get(d, "source");
	return src && strcmp(src, "folded") == 0;
}

bool match_names_only(const struct match_rule *m, const struct cprof_data *before, const struct cprof_data *after)
{
	return (m && m->ignore_binary) || is_folded(before) || is_folded(after);
}

size_t match_disambiguate(const struct match_rule *m, struct cprof_data *before, struct cprof_data *after)
{
	if (match_names_only(m, before, after))
		return 0;
	struct cprof_data *dd[2] = { before, after };
	/* Copies: interning below moves the string tables. */
	char *mains[2];
	for (int s = 0; s < 2; s++) {
		const char *e = match_main_exe(dd[s]);
		mains[s] = e ? xstrdup(e) : NULL;
	}
	struct name_table t = { .ix = HASHIDX_INIT };
	struct sbuf key = SBUF_INIT, label = SBUF_INIT;
	for (int s = 0; s < 2; s++) {
		const struct cprof_data *d = dd[s];
		for (size_t i = 0; i < d->frames.n; i++) {
			const struct cprof_frame *f = &d->frames.v[i];
			match_binary_key(m, s, mains[s], cprof_str(d, f->dso), &key);
			struct name_entry *e = name_find(&t, cprof_str(d, f->func), true);
			if (!e->key)
				e->key = xstrdup(key.buf);
			else if (strcmp(e->key, key.buf) != 0)
				e->split = true;
		}
	}
	size_t split = 0;
	for (size_t i = 0; i < t.v.n; i++)
		split += t.v.v[i].split;
	/* What a key is called in a label: the file name, and for the main
	 * executable the after run's (the graph draws the after run). */
	const char *main_label = mains[1] ? base_name(mains[1]) : mains[0] ? base_name(mains[0]) : "main";
	for (int s = 0; s < 2 && split; s++) {
		struct cprof_data *d = dd[s];
		bool changed = false;
		for (size_t i = 0; i < d->frames.n; i++) {
			struct cprof_frame *f = &d->frames.v[i];
			struct name_entry *e = name_find(&t, cprof_str(d, f->func), false);
			if (!e || !e->split)
				continue;
			match_binary_key(m, s, mains[s], cprof_str(d, f->dso), &key);
			sbuf_reset(&label);
			sbuf_addf(&label, "%s [%s]", e->name,
				  strcmp(key.buf, "[main executable]") == 0 ? main_label : *key.buf ? key.buf : "unknown");
			f->func = cprof_intern(d, label.buf);
			changed = true;
		}
		if (changed) {
			/* The frame index hashes names: it no longer matches. */
			free(d->frame_idx.slot);
			d->frame_idx = (struct hashidx){ 0 };
		}
	}
	for (size_t i = 0; i < t.v.n; i++) {
		free(t.v.v[i].name);
		free(t.v.v[i].key);
	}
	vec_release(&t.v);
	hashidx_release(&t.ix);
	sbuf_release(&key);
	sbuf_release(&label);
	free(mains[0]);
	free(mains[1]);
	return split;
}
