/* test-diff.c - function matching, normalisation and significance in diffs. */
#include <errno.h>
#include <math.h>

#include "cprof/diff.h"
#include "cprof/folded.h"
#include "harness.h"

struct run {
	struct cprof_data d;
	struct profile p;
};

static void load(struct run *r, const char *text)
{
	struct cprof_err err;
	struct profile_filter f = PROFILE_FILTER_INIT;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	ASSERT(fp);
	ASSERT_EQ(folded_read(&r->d, fp, "in", true, NULL, &err), 0);
	fclose(fp);
	ASSERT_OK(profile_build(&r->p, &r->d, &f, &err));
}

static void release(struct run *r)
{
	profile_release(&r->p);
	cprof_data_release(&r->d);
}

static void build(struct diff *df, const char *a, const char *b, struct run *ra, struct run *rb)
{
	struct cprof_err err;
	struct diff_opts o = DIFF_OPTS_INIT;
	load(ra, a);
	load(rb, b);
	ASSERT_OK(diff_build(df, &ra->p, &rb->p, &o, &err));
}

static const struct diff_row *row(const struct diff *df, const char *name)
{
	for (size_t i = 0; i < df->rows.n; i++)
		if (strcmp(df->rows.v[i].name, name) == 0)
			return &df->rows.v[i];
	FAIL_("no row %s", name);
}

static size_t significant(const struct diff *df)
{
	size_t n = 0;
	for (size_t i = 0; i < df->rows.n; i++)
		n += df->rows.v[i].significant;
	return n;
}

TEST(same_distribution_different_scale)
{
	struct run a, b;
	struct diff df;
	build(&df, "main;f1 500\nmain;f2 300\nmain;f3 200\n", "main;f1 1500\nmain;f2 900\nmain;f3 600\n", &a, &b);
	ASSERT_EQ(df.total_before, 1000);
	ASSERT_EQ(df.total_after, 3000);
	ASSERT_NEAR(row(&df, "f1")->share_before, 0.5, 1e-12);
	ASSERT_NEAR(row(&df, "f1")->share_after, 0.5, 1e-12);
	ASSERT_NEAR(row(&df, "f2")->delta, 0, 1e-9);
	ASSERT_EQ(significant(&df), 0);
	ASSERT(!diff_has_regression(&df, 0));
	diff_release(&df);
	release(&a);
	release(&b);
}

TEST(doubled_share_is_significant_and_first)
{
	struct run a, b;
	struct diff df;
	build(&df, "main;hot 1000\nmain;cold 9000\n", "main;hot 2000\nmain;cold 8000\n", &a, &b);
	const struct diff_row *r = row(&df, "hot");
	ASSERT_NEAR(r->delta, 10, 1e-9);
	ASSERT_NEAR(r->rel, 1, 1e-9);
	ASSERT(r->z > 0);
	ASSERT(r->significant);
	ASSERT(row(&df, "cold")->significant);
	ASSERT(row(&df, "cold")->delta < 0);
	size_t n;
	size_t *idx = diff_sorted(&df, DIFF_SORT_DELTA, &n);
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(df.rows.v[idx[0]].name, "hot");
	free(idx);
	idx = diff_sorted(&df, DIFF_SORT_NAME, &n);
	ASSERT_STREQ(df.rows.v[idx[0]].name, "cold");
	free(idx);
	ASSERT(diff_has_regression(&df, 5));
	ASSERT(!diff_has_regression(&df, 10.5));
	diff_release(&df);
	release(&a);
	release(&b);
}

TEST(small_counts_not_significant)
{
	struct run a, b;
	struct diff df;
	build(&df, "main;x 5\nmain;y 95\n", "main;x 10\nmain;y 90\n", &a, &b);
	ASSERT_NEAR(row(&df, "x")->delta, 5, 1e-9);
	ASSERT(row(&df, "x")->p > 0.05);
	ASSERT_EQ(significant(&df), 0);
	ASSERT(!diff_has_regression(&df, 1));
	diff_release(&df);
	release(&a);
	release(&b);
}

TEST(new_and_vanished)
{
	struct run a, b;
	struct diff df;
	build(&df, "main;keep 100\nmain;old 50\n", "main;keep 100\nmain;new 50\n", &a, &b);
	ASSERT_EQ(row(&df, "old")->status, DIFF_VANISHED);
	ASSERT_EQ(row(&df, "old")->after, 0);
	ASSERT_EQ(row(&df, "new")->status, DIFF_NEW);
	ASSERT_EQ(row(&df, "new")->before, 0);
	ASSERT(isnan(row(&df, "new")->rel));
	ASSERT_EQ(row(&df, "keep")->status, DIFF_BOTH);
	diff_release(&df);
	release(&a);
	release(&b);
}

/* target goes from 1% to 1.5% of 10000 samples: p ~ 0.0015, below alpha
 * alone, but not after correcting for 42 tests. */
TEST(multiple_testing_correction_applied)
{
	struct run a, b;
	struct diff df;
	build(&df, "target 100\nrest 9900\n", "target 150\nrest 9850\n", &a, &b);
	ASSERT(row(&df, "target")->p < 0.01);
	ASSERT(row(&df, "target")->significant);
	diff_release(&df);
	release(&a);
	release(&b);

	struct sbuf sa = SBUF_INIT, sb = SBUF_INIT;
	sbuf_adds(&sa, "target 100\nrest 1900\n");
	sbuf_adds(&sb, "target 150\nrest 1850\n");
	for (int i = 0; i < 40; i++) {
		sbuf_addf(&sa, "filler%d 200\n", i);
		sbuf_addf(&sb, "filler%d 200\n", i);
	}
	build(&df, sa.buf, sb.buf, &a, &b);
	ASSERT_EQ(df.tested, 42);
	const struct diff_row *r = row(&df, "target");
	ASSERT(r->p < 0.01);                 /* passes alone */
	ASSERT(r->p_adj >= 0.01);            /* fails after correction */
	ASSERT(!r->significant);
	ASSERT(!diff_has_regression(&df, 0.1));
	diff_release(&df);
	release(&a);
	release(&b);
	sbuf_release(&sa);
	sbuf_release(&sb);
}

TEST(holm_adjustment)
{
	double p[] = { 0.01, 0.04, 0.03, 0.005 };
	diff_holm(p, 4);
	ASSERT_NEAR(p[3], 0.02, 1e-12);  /* 0.005 * 4 */
	ASSERT_NEAR(p[0], 0.03, 1e-12);  /* 0.01 * 3 */
	ASSERT_NEAR(p[2], 0.06, 1e-12);  /* 0.03 * 2 */
	ASSERT_NEAR(p[1], 0.06, 1e-12);  /* max(0.04 * 1, 0.06): monotone */
	double z;
	ASSERT_NEAR(diff_two_prop_p(50, 100, 50, 100, &z), 1, 1e-12);
	ASSERT_NEAR(z, 0, 1e-12);
}

/* A run built by hand, with real binaries and addresses. */
static void synth(struct run *r, const char *dso, uint64_t addr, uint64_t foo, uint64_t bar)
{
	struct cprof_err err;
	struct profile_filter f = PROFILE_FILTER_INIT;
	cprof_data_init(&r->d);
	struct cprof_event ev = { .name = cprof_intern(&r->d, "cycles"), .unit = cprof_intern(&r->d, "samples") };
	vec_push(&r->d.events, ev);
	struct cprof_frame fa = { .func = cprof_intern(&r->d, "foo"), .dso = cprof_intern(&r->d, dso), .addr = addr };
	struct cprof_frame fb = { .func = cprof_intern(&r->d, "bar"), .dso = cprof_intern(&r->d, dso), .addr = addr + 0x40 };
	uint32_t sa = cprof_add_frame(&r->d, &fa), sb = cprof_add_frame(&r->d, &fb);
	struct cprof_sample s = { .period = foo, .pid = 1, .tid = 1, .stack = cprof_add_stack(&r->d, &sa, 1, 0) };
	vec_push(&r->d.samples, s);
	s.period = bar;
	s.stack = cprof_add_stack(&r->d, &sb, 1, 0);
	vec_push(&r->d.samples, s);
	ASSERT_OK(profile_build(&r->p, &r->d, &f, &err));
}

TEST(match_by_name_and_basename)
{
	struct run a, b;
	struct diff df;
	struct cprof_err err;
	struct diff_opts o = DIFF_OPTS_INIT;
	synth(&a, "/usr/lib/libx.so.1", 0x1000, 30, 70);
	synth(&b, "/home/ci/build/libx.so.1", 0x7f0000002000, 60, 140);
	ASSERT_OK(diff_build(&df, &a.p, &b.p, &o, &err));
	ASSERT_EQ(df.rows.n, 2);
	const struct diff_row *r = row(&df, "foo");
	ASSERT_STREQ(r->dso, "libx.so.1");
	ASSERT_EQ(r->status, DIFF_BOTH);
	ASSERT_EQ(r->before, 30);
	ASSERT_EQ(r->after, 60);
	ASSERT_NEAR(r->delta, 0, 1e-9);
	ASSERT_EQ(df.binaries.n, 1);
	ASSERT_STREQ(df.binaries.v[0].name, "libx.so.1");
	diff_release(&df);
	release(&a);
	release(&b);
}

TEST(same_name_different_binary_kept_apart)
{
	struct run a, b;
	struct diff df;
	struct cprof_err err;
	struct diff_opts o = DIFF_OPTS_INIT;
	synth(&a, "/usr/lib/libx.so.1", 0x1000, 30, 70);
	synth(&b, "/usr/lib/liby.so.1", 0x1000, 30, 70);
	ASSERT_OK(diff_build(&df, &a.p, &b.p, &o, &err));
	ASSERT_EQ(df.rows.n, 4);
	for (size_t i = 0; i < df.rows.n; i++)
		ASSERT(df.rows.v[i].status != DIFF_BOTH);
	diff_release(&df);
	release(&a);
	release(&b);
}

TEST(different_events_refused)
{
	struct run a, b;
	struct diff df;
	struct cprof_err err;
	struct diff_opts o = DIFF_OPTS_INIT;
	synth(&a, "/usr/lib/libx.so.1", 0x1000, 30, 70); /* event "cycles" */
	load(&b, "foo 30\nbar 70\n");                    /* event "samples" */
	ASSERT_EQ(diff_build(&df, &a.p, &b.p, &o, &err), -EINVAL);
	ASSERT(strstr(err.msg, "cycles") && strstr(err.msg, "samples"));
	release(&a);
	release(&b);
}

TEST(absolute_time_when_durations_differ)
{
	struct run a, b;
	struct diff df;
	struct cprof_err err;
	struct diff_opts o = DIFF_OPTS_INIT;
	synth(&a, "/bin/app", 0x1000, 30, 70);
	synth(&b, "/bin/app", 0x1000, 60, 140);
	cprof_meta_set(&a.d, "duration_ns", "1000000000");
	cprof_meta_set(&b.d, "duration_ns", "2000000000");
	ASSERT_OK(diff_build(&df, &a.p, &b.p, &o, &err));
	ASSERT(diff_show_time(&df));
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct diff_output_opts oo = { "a", "b", "cycles", DIFF_SORT_NAME, 0, 0, false };
	diff_json(out, &df, &oo);
	fclose(out);
	/* foo: 30% of 1 s before, 30% of 2 s after. */
	ASSERT(strstr(text, "\"time_before_ns\": 300000000, \"time_after_ns\": 600000000"));
	free(text);
	diff_release(&df);
	cprof_meta_set(&b.d, "duration_ns", "1000000000");
	ASSERT_OK(diff_build(&df, &a.p, &b.p, &o, &err));
	ASSERT(!diff_show_time(&df));
	diff_release(&df);
	release(&a);
	release(&b);
}

RUN_TESTS(T(same_distribution_different_scale), T(doubled_share_is_significant_and_first),
	  T(small_counts_not_significant), T(new_and_vanished), T(multiple_testing_correction_applied),
	  T(holm_adjustment), T(match_by_name_and_basename), T(same_name_different_binary_kept_apart),
	  T(different_events_refused),
	  T(absolute_time_when_durations_differ))
