/*
 * parse.c - event lists as perf spells them, into perf_event_attr terms.
 *
 * Grammar (perf's, minus what cprof has no use for):
 *   list   := item (',' item)*
 *   item   := '{' event (',' event)* '}' [':' mods] | event
 *   event  := NAME [':' mods]            generic or cache name
 *           | 'r' HEX [':' mods]          raw PMU code
 *           | PMU '/' terms '/' [mods | ':' mods]
 *           | SYS ':' NAME [':' mods]     tracepoint
 *   mods   := [ukhpS]+
 * Commas inside PMU terms and braces do not split the list.
 *
 * What this leaves to others: opening the events (the counter and record
 * code) and deciding what to do when the kernel refuses one.
 */
#include <ctype.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/event.h"
#include "event-internal.h"

const char *const ev_class_names[] = { "hardware", "software", "cache", "raw", "pmu", "tracepoint", NULL };

struct generic {
	const char *name;
	enum ev_class cls;
	uint64_t config;
	const char *unit;
};

/* perf's names and aliases for the generic events (perf list). */
static const struct generic generics[] = {
	{ "cpu-cycles", EVC_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "" },
	{ "cycles", EVC_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "" },
	{ "instructions", EVC_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "" },
	{ "cache-references", EVC_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, "" },
	{ "cache-misses", EVC_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "" },
	{ "branch-instructions", EVC_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "" },
	{ "branches", EVC_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "" },
	{ "branch-misses", EVC_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, "" },
	{ "bus-cycles", EVC_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, "" },
	{ "stalled-cycles-frontend", EVC_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, "" },
	{ "idle-cycles-frontend", EVC_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, "" },
	{ "stalled-cycles-backend", EVC_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND, "" },
	{ "idle-cycles-backend", EVC_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND, "" },
	{ "ref-cycles", EVC_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, "" },
	{ "cpu-clock", EVC_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, "ns" },
	{ "task-clock", EVC_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "ns" },
	{ "page-faults", EVC_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "" },
	{ "faults", EVC_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "" },
	{ "minor-faults", EVC_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, "" },
	{ "major-faults", EVC_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, "" },
	{ "context-switches", EVC_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "" },
	{ "cs", EVC_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "" },
	{ "cpu-migrations", EVC_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, "" },
	{ "migrations", EVC_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, "" },
	{ "alignment-faults", EVC_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, "" },
	{ "emulation-faults", EVC_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, "" },
	{ "dummy", EVC_SOFTWARE, PERF_COUNT_SW_DUMMY, "" },
};

/* Hardware cache events: CACHE-OP{s|es} (accesses) and CACHE-OP-misses. */
static const char *const cache_names[] = { "L1-dcache", "L1-icache", "LLC", "dTLB", "iTLB", "branch", "node" };
static const char *const cache_ops[] = { "load", "store", "prefetch" };
static const char *const cache_ops_plural[] = { "loads", "stores", "prefetches" };

static const struct generic *find_generic(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++)
		if (strlen(generics[i].name) == len && memcmp(generics[i].name, name, len) == 0)
			return &generics[i];
	return NULL;
}

const char *ev_generic_unit(const char *name)
{
	const struct generic *g = find_generic(name, strlen(name));
	return g ? g->unit : NULL;
}

/* "L1-dcache-load-misses" -> config; false if it is not a cache name. */
static bool find_cache(const char *name, size_t len, uint64_t *config)
{
	for (size_t c = 0; c < ARRAY_SIZE(cache_names); c++) {
		size_t cl = strlen(cache_names[c]);
		if (len <= cl + 1 || memcmp(name, cache_names[c], cl) != 0 || name[cl] != '-')
			continue;
		const char *rest = name + cl + 1;
		size_t rl = len - cl - 1;
		for (size_t o = 0; o < ARRAY_SIZE(cache_ops); o++) {
			char miss[32];
			snprintf(miss, sizeof miss, "%s-misses", cache_ops[o]);
			uint64_t res;
			if (rl == strlen(cache_ops_plural[o]) && memcmp(rest, cache_ops_plural[o], rl) == 0)
				res = PERF_COUNT_HW_CACHE_RESULT_ACCESS;
			else if (rl == strlen(miss) && memcmp(rest, miss, rl) == 0)
				res = PERF_COUNT_HW_CACHE_RESULT_MISS;
			else
				continue;
			*config = c | (o << 8) | (res << 16);
			return true;
		}
	}
	return false;
}

void ev_known_names(const struct ev_env *env, bool list_dynamic,
		    void (*fn)(void *ctx, const char *name, enum ev_class cls), void *ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++)
		fn(ctx, generics[i].name, generics[i].cls);
	for (size_t c = 0; c < ARRAY_SIZE(cache_names); c++)
		for (size_t o = 0; o < ARRAY_SIZE(cache_ops); o++) {
			char name[64];
			snprintf(name, sizeof name, "%s-%s", cache_names[c], cache_ops_plural[o]);
			fn(ctx, name, EVC_CACHE);
			snprintf(name, sizeof name, "%s-%s-misses", cache_names[c], cache_ops[o]);
			fn(ctx, name, EVC_CACHE);
		}
	if (list_dynamic) {
		ev_pmu_list_aliases(env, fn, ctx);
		ev_tracepoint_list(env, fn, ctx);
	}
}

bool ev_needs_pmu(const struct ev_spec *e)
{
	return e->cls == EVC_HARDWARE || e->cls == EVC_CACHE || e->cls == EVC_RAW;
}

/* Apply modifier letters; a u/k/h list excludes what it does not name. */
static int apply_mods(struct ev_spec *e, const char *m, size_t len, const char *whole, struct cprof_err *err)
{
	bool u = false, k = false, h = false;
	for (size_t i = 0; i < len; i++) {
		switch (m[i]) {
		case 'u': u = true; break;
		case 'k': k = true; break;
		case 'h': h = true; break;
		case 'p':
			if (e->precise_ip >= 3)
				return err_set(err, EINVAL, "event '%s': at most three 'p' modifiers", whole);
			e->precise_ip++;
			break;
		case 'S': e->sample_read = true; break;
		default:
			return err_set(err, EINVAL, "event '%s': unknown modifier '%c'; expected u, k, h, p or S", whole,
				       m[i]);
		}
	}
	if (u || k || h) {
		e->exclude_user = !u;
		e->exclude_kernel = !k;
		e->exclude_hv = !h;
	}
	return 0;
}

/* The terms a generic event takes: period=N and freq=N, comma-separated. */
static int sampling_terms(struct ev_spec *e, char *terms, const char *whole, struct cprof_err *err)
{
	char *save = NULL;
	if (!*terms)
		return err_set(err, EINVAL, "event '%s': no terms between the slashes", whole);
	for (char *t = strtok_r(terms, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		uint64_t v;
		if (eq)
			*eq = 0;
		if (strcmp(t, "period") != 0 && strcmp(t, "freq") != 0)
			return err_set(err, EINVAL, "event '%s': unknown term '%s'; a named event takes period= "
						    "and freq=", whole, t);
		if (!eq || parse_u64(eq + 1, &v) < 0 || v == 0)
			return err_set(err, EINVAL, "event '%s': '%s=' needs a positive number", whole, t);
		if (t[0] == 'p') {
			e->period = v;
			e->freq = 0;
		} else {
			e->freq = v;
			e->period = 0;
		}
	}
	return 0;
}

static bool is_hex_word(const char *s, size_t len)
{
	if (len == 0 || len > 16)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* One event (no braces) into *e. */
static int parse_event(struct ev_spec *e, const char *s, size_t len, const struct ev_env *env, struct cprof_err *err)
{
	char *whole = xstrndup(s, len);
	int r = 0;
	memset(e, 0, sizeof *e);
	e->unit = "";
	e->name = whole;
	if (len == 0) {
		r = err_set(err, EINVAL, "empty event name in the event list");
		goto out;
	}

	const char *slash = memchr(s, '/', len);
	uint64_t gcfg;
	const struct generic *gslash = slash ? find_generic(s, (size_t)(slash - s)) : NULL;
	if (slash && (gslash || find_cache(s, (size_t)(slash - s), &gcfg))) {
		/* NAME/terms/[mods]: a generic or cache event with its own
		 * sampling (perf's cpu-clock/freq=999/); only period= and freq=. */
		const char *end = memchr(slash + 1, '/', len - (size_t)(slash + 1 - s));
		if (!end) {
			r = err_set(err, EINVAL, "event '%s': missing closing '/' after the terms", whole);
			goto out;
		}
		if (gslash) {
			e->cls = gslash->cls;
			e->type = gslash->cls == EVC_HARDWARE ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
			e->config = gslash->config;
			e->unit = gslash->unit;
		} else {
			e->cls = EVC_CACHE;
			e->type = PERF_TYPE_HW_CACHE;
			e->config = gcfg;
		}
		char *terms = xstrndup(slash + 1, (size_t)(end - slash - 1));
		r = sampling_terms(e, terms, whole, err);
		free(terms);
		if (r < 0)
			goto out;
		const char *m = end + 1;
		size_t ml = len - (size_t)(m - s);
		if (ml && *m == ':')
			m++, ml--;
		r = apply_mods(e, m, ml, whole, err);
		goto out;
	}
	if (slash) {
		/* PMU/terms/[mods] */
		const char *end = memchr(slash + 1, '/', len - (size_t)(slash + 1 - s));
		if (!end) {
			r = err_set(err, EINVAL, "event '%s': missing closing '/' after the PMU terms", whole);
			goto out;
		}
		char *pmu = xstrndup(s, (size_t)(slash - s));
		char *terms = xstrndup(slash + 1, (size_t)(end - slash - 1));
		e->cls = EVC_PMU;
		r = ev_pmu_resolve(e, pmu, terms, env, whole, err);
		free(pmu);
		free(terms);
		if (r < 0)
			goto out;
		const char *m = end + 1;
		size_t ml = len - (size_t)(m - s);
		if (ml && *m == ':')
			m++, ml--;
		r = apply_mods(e, m, ml, whole, err);
		goto out;
	}

	const char *colon = memchr(s, ':', len);
	size_t head = colon ? (size_t)(colon - s) : len;
	const char *mods = colon ? colon + 1 : s + len;
	size_t mlen = colon ? len - head - 1 : 0;
	const struct generic *g = find_generic(s, head);
	uint64_t cfg;
	if (g) {
		e->cls = g->cls;
		e->type = g->cls == EVC_HARDWARE ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
		e->config = g->config;
		e->unit = g->unit;
	} else if (find_cache(s, head, &cfg)) {
		e->cls = EVC_CACHE;
		e->type = PERF_TYPE_HW_CACHE;
		e->config = cfg;
	} else if (s[0] == 'r' && is_hex_word(s + 1, head - 1)) {
		e->cls = EVC_RAW;
		e->type = PERF_TYPE_RAW;
		e->config = strtoull(s + 1, NULL, 16);
	} else if (colon) {
		/* SYS:NAME[:mods] */
		const char *c2 = memchr(colon + 1, ':', len - head - 1);
		size_t nlen = c2 ? (size_t)(c2 - colon - 1) : len - head - 1;
		char *sys = xstrndup(s, head), *tp = xstrndup(colon + 1, nlen);
		e->cls = EVC_TRACEPOINT;
		e->type = PERF_TYPE_TRACEPOINT;
		r = ev_tracepoint_id(env, sys, tp, &e->config, whole, err);
		free(sys);
		free(tp);
		if (r < 0)
			goto out;
		mods = c2 ? c2 + 1 : s + len;
		mlen = c2 ? len - (size_t)(c2 + 1 - s) : 0;
	} else {
		r = err_set(err, ENOENT, "unknown event '%s'", whole);
		goto out;
	}
	r = apply_mods(e, mods, mlen, whole, err);
out:
	if (r < 0) {
		free(whole);
		e->name = NULL;
	}
	return r;
}

/* End of the item starting at s[i]: the top-level comma or the end. */
static size_t item_end(const char *s, size_t i, size_t n)
{
	bool in_terms = false;
	int depth = 0;
	for (; i < n; i++) {
		char c = s[i];
		if (c == '/')
			in_terms = !in_terms;
		else if (!in_terms && c == '{')
			depth++;
		else if (!in_terms && c == '}')
			depth--;
		else if (c == ',' && !in_terms && depth <= 0)
			break;
	}
	return i;
}

static void spec_release(struct ev_spec *e)
{
	free(e->name);
	e->name = NULL;
}

int ev_list_parse(struct ev_list *l, const char *spec, const struct ev_env *env, struct cprof_err *err)
{
	size_t n = strlen(spec), first = l->v.n;
	int ngroups = l->ngroups, r = 0;
	if (n == 0)
		return err_set(err, EINVAL, "empty event list");
	for (size_t i = 0; i <= n;) {
		size_t end = item_end(spec, i, n);
		const char *it = spec + i;
		size_t il = end - i;
		if (il && it[0] == '{') {
			const char *close = memrchr(it, '}', il);
			if (!close) {
				r = err_set(err, EINVAL, "group '%.*s' has no closing '}'", (int)il, it);
				goto fail;
			}
			const char *gm = close + 1;
			size_t gml = il - (size_t)(gm - it);
			if (gml && *gm != ':') {
				r = err_set(err, EINVAL, "group '%.*s': expected ':MODIFIERS' after '}'", (int)il, it);
				goto fail;
			}
			if (gml)
				gm++, gml--;
			const char *body = it + 1;
			size_t bl = (size_t)(close - body), members = 0;
			for (size_t j = 0; j <= bl;) {
				size_t je = item_end(body, j, bl);
				if (je - j && body[j] == '{') {
					r = err_set(err, EINVAL, "group '%.*s': groups do not nest", (int)il, it);
					goto fail;
				}
				struct ev_spec e;
				if ((r = parse_event(&e, body + j, je - j, env, err)) < 0)
					goto fail;
				/* Group modifiers apply to every member, as in perf. */
				if (gml && (r = apply_mods(&e, gm, gml, e.name, err)) < 0) {
					spec_release(&e);
					goto fail;
				}
				if (gml) {
					struct sbuf nm = SBUF_INIT;
					sbuf_addf(&nm, "%s%s%.*s", e.name, strchr(e.name, ':') ? "" : ":", (int)gml, gm);
					free(e.name);
					e.name = sbuf_detach(&nm);
				}
				e.group = ngroups;
				e.leader = members == 0;
				vec_push(&l->v, e);
				members++;
				j = je + 1;
			}
			ngroups++;
		} else {
			struct ev_spec e;
			if ((r = parse_event(&e, it, il, env, err)) < 0)
				goto fail;
			e.group = ngroups++;
			e.leader = true;
			vec_push(&l->v, e);
		}
		i = end + 1;
	}
	l->ngroups = ngroups;
	return 0;
fail:
	while (l->v.n > first)
		spec_release(&l->v.v[--l->v.n]);
	return r;
}

void ev_list_release(struct ev_list *l)
{
	for (size_t i = 0; i < l->v.n; i++)
		spec_release(&l->v.v[i]);
	vec_release(&l->v);
	l->ngroups = 0;
}

void ev_attr_counting(const struct ev_spec *e, struct perf_event_attr *a)
{
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = e->type;
	a->config = e->config;
	a->config1 = e->config1;
	a->config2 = e->config2;
	a->exclude_user = e->exclude_user;
	a->exclude_kernel = e->exclude_kernel;
	a->exclude_hv = e->exclude_hv;
	a->precise_ip = e->precise_ip;
	a->read_format = EV_READ_FORMAT;
	a->disabled = 1;
}

void ev_list_one_group(struct ev_list *l)
{
	for (size_t i = 0; i < l->v.n; i++) {
		l->v.v[i].group = 0;
		l->v.v[i].leader = i == 0;
	}
	l->ngroups = l->v.n ? 1 : 0;
}

static void known_add(void *ctx, const char *name, enum ev_class cls)
{
	struct sbuf *s = ctx;
	(void)cls;
	/* wrap at about 72 columns */
	const char *nl = strrchr(s->buf, '\n');
	size_t col = nl ? s->len - (size_t)(nl + 1 - s->buf) : s->len + 14;
	if (col + strlen(name) > 72)
		sbuf_adds(s, "\n ");
	sbuf_addf(s, " %s", name);
}

void ev_print_known(FILE *fp)
{
	struct sbuf s = SBUF_INIT;
	fprintf(fp, "known events:");
	ev_known_names(NULL, false, known_add, &s);
	fprintf(fp, "%s\n  and raw rNNNN, PMU/TERMS/ and tracepoints SYS:NAME ('cprof list' shows all)\n", s.buf);
	sbuf_release(&s);
}

int ev_ints_parse(const char *s, bool ranges, struct ev_ints *out)
{
	char *copy = xstrdup(s), *save = NULL;
	int r = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t a, b;
		char *dash = ranges ? strchr(t, '-') : NULL;
		if (dash)
			*dash = 0;
		if (parse_u64(t, &a) < 0 || a > INT32_MAX || (dash && (parse_u64(dash + 1, &b) < 0 || b < a || b > 4095))) {
			r = -EINVAL;
			break;
		}
		if (!dash)
			b = a;
		for (uint64_t v = a; v <= b; v++)
			vec_push(out, (int)v);
	}
	free(copy);
	return out->n ? r : -EINVAL;
}
