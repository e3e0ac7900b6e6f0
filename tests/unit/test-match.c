/* test-match.c - the matching rule of diff and flamegraph --diff (match.h). */
#include <errno.h>
#include <math.h>

#include "cprof/diff.h"
#include "cprof/match.h"
#include "harness.h"

/*
 * A recording from text: lines "BINARY!FUNC;BINARY!FUNC COUNT", root first,
 * one sample of period COUNT each (a "samples" event, as folded input has).
 */
static void make(struct cprof_data *d, const char *exe, const char *text)
{
	cprof_data_init(d);
	struct cprof_event ev = { .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "samples") };
	vec_push(&d->events, ev);
	if (exe)
		cprof_meta_set(d, "exe", exe);
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');
		ASSERT(sp);
		*sp = 0;
		uint32_t frames[32];
		uint32_t n = 0;
		char *fsave = NULL;
		for (char *f = strtok_r(line, ";", &fsave); f; f = strtok_r(NULL, ";", &fsave)) {
			char *bang = strchr(f, '!');
			ASSERT(bang);
			*bang = 0;
			struct cprof_frame fr = { .func = cprof_intern(d, bang + 1), .dso = cprof_intern(d, f) };
			frames[n++] = cprof_add_frame(d, &fr);
		}
		for (uint32_t i = 0; i < n / 2; i++) { /* stacks are stored leaf first */
			uint32_t t = frames[i];
			frames[i] = frames[n - 1 - i];
			frames[n - 1 - i] = t;
		}
		struct cprof_sample s = { .time = d->samples.n + 1, .period = strtoull(sp + 1, NULL, 10), .pid = 1, .tid = 1 };
		s.stack = cprof_add_stack(d, frames, n, 0);
		vec_push(&d->samples, s);
	}
	free(copy);
}

static void key(const struct match_rule *m, int side, const char *main_exe, const char *dso, const char *want)
{
	struct sbuf k = SBUF_INIT;
	match_binary_key(m, side, main_exe, dso, &k);
	ASSERT_STREQ(k.buf, want);
	sbuf_release(&k);
}

TEST(binary_keys)
{
	struct match_rule m = MATCH_RULE_INIT;
	struct cprof_err err;
	key(&m, 0, "/b/app-old", "/b/app-old", "[main executable]");
	key(&m, 1, "/c/app-new", "/c/app-new", "[main executable]");
	key(&m, 0, "/b/app-old", "/lib/libc.so.6", "libc.so");
	key(&m, 0, NULL, "/usr/lib/libstdc++.so.6.0.30", "libstdc++.so");
	key(&m, 0, NULL, "/opt/libfoo.so", "libfoo.so");
	key(&m, 0, NULL, "/opt/libfoo.so.1.x", "libfoo.so.1.x"); /* not a version */
	key(&m, 0, NULL, "[kernel.kallsyms]", "[kernel.kallsyms]");
	key(&m, 0, NULL, "", "");
	ASSERT_EQ(match_rule_add_rename(&m, "noequals", &err), -EINVAL);
	ASSERT_EQ(match_rule_add_rename(&m, "=new", &err), -EINVAL);
	ASSERT_OK(match_rule_add_rename(&m, "/x/libold.so.1=libnew.so.2", &err));
	key(&m, 0, NULL, "/y/libold.so.1", "libnew.so"); /* before: renamed */
	key(&m, 1, NULL, "/y/libold.so.1", "libold.so"); /* after: as it is */
	m.ignore_binary = true;
	key(&m, 0, "/b/app", "/b/app", "");
	match_rule_release(&m);
}

TEST(main_executable_is_found)
{
	struct cprof_data d;
	make(&d, "/w/app", "/w/app!main;/w/app!f 5\n");
	ASSERT_STREQ(match_main_exe(&d), "/w/app");
	cprof_data_release(&d);
	/* Older recordings: the binary named like the command... */
	make(&d, NULL, "/lib/libc.so.6!__libc_start_main;/w/app2!run;/w/app2!f 5\n");
	cprof_meta_set(&d, "command", "./app2 --fast");
	ASSERT_STREQ(match_main_exe(&d), "/w/app2");
	cprof_data_release(&d);
	/* ... else the binary of main. */
	make(&d, NULL, "/lib/libc.so.6!__libc_start_main;/w/prog!main;/lib/libm.so.6!sin 5\n");
	cprof_meta_set(&d, "command", "/usr/bin/env prog");
	ASSERT_STREQ(match_main_exe(&d), "/w/prog");
	cprof_data_release(&d);
}

static const struct diff_row *row(const struct diff *df, const char *name)
{
	for (size_t i = 0; i < df->rows.n; i++)
		if (strcmp(df->rows.v[i].name, name) == 0)
			return &df->rows.v[i];
	FAIL_("no row %s", name);
}

static size_t rows_named(const struct diff *df, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < df->rows.n; i++)
		n += strcmp(df->rows.v[i].name, name) == 0;
	return n;
}

/* The README's example: the same program built as app-old and app-new. */
TEST(renamed_executable_matches)
{
	struct cprof_data a, b;
	struct profile pa, pb;
	struct profile_filter f = PROFILE_FILTER_INIT;
	struct cprof_err err;
	struct diff df;
	struct diff_opts o = DIFF_OPTS_INIT;
	make(&a, "/old/app-old", "/old/app-old!main;/old/app-old!cmp 50\n/old/app-old!main;/lib/libc.so.6!memcpy 50\n");
	make(&b, "/new/app-new", "/new/app-new!main;/new/app-new!cmp 50\n/new/app-new!main;/lib/libc.so.7!memcpy 50\n");
	ASSERT_OK(profile_build(&pa, &a, &f, &err));
	ASSERT_OK(profile_build(&pb, &b, &f, &err));
	ASSERT_OK(diff_build(&df, &pa, &pb, &o, &err));
	const struct diff_row *r = row(&df, "cmp");
	ASSERT_EQ(r->status, DIFF_BOTH);
	ASSERT_NEAR(r->delta, 0, 1e-9);
	ASSERT_STREQ(r->dso, "app-new"); /* shown as the after run names it */
	ASSERT_EQ(row(&df, "memcpy")->status, DIFF_BOTH); /* libc.so.6 -> .7 */
	ASSERT(!diff_has_regression(&df, 5));
	ASSERT_EQ(df.binaries.n, 2); /* app-new and libc, not four */
	diff_release(&df);

	/* A name in two different binaries stays two functions... */
	profile_release(&pb);
	cprof_data_release(&b);
	make(&b, "/new/app-new", "/new/app-new!main;/new/app-new!cmp 50\n/new/app-new!main;/lib/libz.so.1!memcpy 50\n");
	ASSERT_OK(profile_build(&pb, &b, &f, &err));
	ASSERT_OK(diff_build(&df, &pa, &pb, &o, &err));
	ASSERT_EQ(rows_named(&df, "memcpy"), 2);
	diff_release(&df);
	/* ... unless binaries are ignored, or mapped. */
	struct match_rule m = MATCH_RULE_INIT;
	m.ignore_binary = true;
	o.match = &m;
	ASSERT_OK(diff_build(&df, &pa, &pb, &o, &err));
	ASSERT_EQ(rows_named(&df, "memcpy"), 1);
	ASSERT_EQ(row(&df, "memcpy")->status, DIFF_BOTH);
	diff_release(&df);
	m.ignore_binary = false;
	ASSERT_OK(match_rule_add_rename(&m, "libc.so.6=libz.so.1", &err));
	ASSERT_OK(diff_build(&df, &pa, &pb, &o, &err));
	ASSERT_EQ(rows_named(&df, "memcpy"), 1);
	diff_release(&df);
	match_rule_release(&m);

	profile_release(&pa);
	profile_release(&pb);
	cprof_data_release(&a);
	cprof_data_release(&b);
}

static bool has_func(const struct cprof_data *d, const char *name)
{
	for (size_t i = 0; i < d->frames.n; i++)
		if (strcmp(cprof_str(d, d->frames.v[i].func), name) == 0)
			return true;
	return false;
}

/* The flame graph matches by name: names in two binary keys are split. */
TEST(disambiguate_for_graphs)
{
	struct cprof_data a, b;
	make(&a, "/old/app-old", "/old/app-old!main;/old/app-old!init 5\n/old/app-old!main;/lib/liba.so.1!init 5\n");
	make(&b, "/new/app-new", "/new/app-new!main;/new/app-new!init 5\n/new/app-new!main;/lib/liba.so.2!init 5\n"
				 "/new/app-new!main;/lib/libc.so.6!memcpy 5\n");
	ASSERT_EQ(match_disambiguate(NULL, &a, &b), 1);
	ASSERT(has_func(&a, "init [app-new]")); /* the main executable, as the after run names it */
	ASSERT(has_func(&a, "init [liba.so]"));
	ASSERT(has_func(&b, "init [app-new]"));
	ASSERT(has_func(&b, "init [liba.so]"));
	ASSERT(has_func(&b, "main") && has_func(&a, "main")); /* one key: unchanged */
	ASSERT(has_func(&b, "memcpy"));
	cprof_data_release(&a);
	cprof_data_release(&b);

	struct match_rule m = MATCH_RULE_INIT;
	m.ignore_binary = true;
	make(&a, "/old/app", "/old/app!init 5\n/lib/liba.so!init 5\n");
	make(&b, "/new/app", "/new/app!init 5\n");
	ASSERT_EQ(match_disambiguate(&m, &a, &b), 0);
	ASSERT(has_func(&a, "init"));
	cprof_data_release(&a);
	cprof_data_release(&b);
}

RUN_TESTS(T(binary_keys), T(main_executable_is_found), T(renamed_executable_matches), T(disambiguate_for_graphs))
