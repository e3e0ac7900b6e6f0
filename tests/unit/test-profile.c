/* test-profile.c - aggregation (self/total, filters), call trees and folded I/O. */
#include <errno.h>

#include "cprof/calltree.h"
#include "cprof/evcols.h"
#include "cprof/folded.h"
#include "cprof/report.h"
#include "harness.h"

static const char folded_in[] =
	"main;a;b 10\n"
	"main;a;c 30\n"
	"main;d 60\n"
	"main;rec;rec;rec 4\n"
	"this line is bad\n"
	"main;sys_[k] 6\n";

static int load(struct cprof_data *d, const char *text, bool strict, struct cprof_err *err)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	ASSERT(fp);
	int r = folded_read(d, fp, "in", strict, NULL, err);
	fclose(fp);
	return r;
}

static const struct profile_func *func(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->funcs.n; i++)
		if (strcmp(cprof_str(p->d, p->funcs.v[i].name), name) == 0)
			return &p->funcs.v[i];
	FAIL_("no function %s", name);
}

TEST(self_and_total)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	ASSERT_EQ(load(&d, folded_in, false, &err), 1); /* one malformed line */
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(p.total_samples, 110);
	ASSERT_EQ(func(&p, "main")->total, 110);
	ASSERT_EQ(func(&p, "main")->self, 0);
	ASSERT_EQ(func(&p, "a")->total, 40);
	ASSERT_EQ(func(&p, "d")->self, 60);
	ASSERT_EQ(func(&p, "rec")->total, 4); /* recursion counted once */
	ASSERT_EQ(func(&p, "rec")->self, 4);
	ASSERT(func(&p, "sys")->flags & FRF_KERNEL);
	size_t n;
	uint32_t *order = report_sorted_funcs(&p, SORT_SELF, &n);
	ASSERT_STREQ(cprof_str(&d, p.funcs.v[order[0]].name), "d");
	free(order);
	order = report_sorted_funcs(&p, SORT_TOTAL, &n);
	ASSERT_STREQ(cprof_str(&d, p.funcs.v[order[0]].name), "main");
	free(order);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(strict_rejects_with_line_number)
{
	struct cprof_data d;
	struct cprof_err err;
	ASSERT_EQ(load(&d, folded_in, true, &err), -EINVAL);
	ASSERT(strstr(err.msg, "line 5"));
	cprof_data_release(&d);
}

TEST(folded_round_trip)
{
	struct cprof_data d, e;
	struct cprof_err err;
	struct profile p, q;
	struct profile_filter f = PROFILE_FILTER_INIT;
	ASSERT_OK(load(&d, folded_in, false, &err));
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	folded_write(out, &p);
	fclose(out);
	ASSERT(strstr(text, "main;sys_[k] 6\n"));
	ASSERT(strstr(text, "main;rec;rec;rec 4\n"));
	ASSERT_EQ(load(&e, text, true, &err), 0);
	ASSERT_OK(profile_build(&q, &e, &f, &err));
	ASSERT_EQ(q.total_samples, p.total_samples);
	ASSERT_EQ(q.stacks.n, p.stacks.n);
	free(text);
	profile_release(&p);
	profile_release(&q);
	cprof_data_release(&d);
	cprof_data_release(&e);
}

TEST(calltree_merges)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct calltree t;
	struct profile_filter f = PROFILE_FILTER_INIT;
	ASSERT_OK(load(&d, folded_in, false, &err));
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	calltree_build(&t, &p, false);
	ASSERT_EQ(t.nodes.v[0].weight, 110);
	size_t n;
	uint32_t *kids = calltree_children_sorted(&t, 0, &n);
	ASSERT_EQ(n, 1); /* main */
	uint32_t *gk = calltree_children_sorted(&t, kids[0], &n);
	ASSERT_EQ(n, 4); /* d, a, sys, rec */
	ASSERT_STREQ(cprof_str(&d, p.funcs.v[t.nodes.v[gk[0]].func].name), "d");
	ASSERT_EQ(t.nodes.v[gk[1]].weight, 40);
	ASSERT_EQ(t.max_depth, 4);
	free(kids);
	free(gk);
	calltree_release(&t);
	/* Reversed: leaves at the root. */
	calltree_build(&t, &p, true);
	kids = calltree_children_sorted(&t, 0, &n);
	ASSERT_EQ(n, 5); /* d c b sys rec */
	ASSERT_EQ(t.nodes.v[kids[0]].self_weight, 0);
	free(kids);
	calltree_release(&t);
	profile_release(&p);
	cprof_data_release(&d);
}

/* Counts are decimal: no octal, hex or exponent; fractions round; too big is malformed. */
TEST(folded_counts_are_decimal)
{
	static const struct {
		const char *count;
		long long want; /* -1: the line is malformed */
	} cases[] = {
		{ "10", 10 }, { "010", 10 }, { "0x10", -1 }, { "1e20", -1 }, { "1e3", -1 }, { "+5", -1 },
		{ "-5", -1 }, { "2.5", 3 }, { "2.4", 2 }, { "7.", 7 }, { ".5", -1 }, { "5 ", -1 }, { "inf", -1 },
		{ "nan", -1 }, { "18446744073709551615", -2 }, { "18446744073709551616", -1 },
		{ "99999999999999999999", -1 }, { "18446744073709551615.5", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[128];
		struct cprof_data d;
		struct cprof_err err;
		/* The first line is well formed (count 0), so a bad second one is a warning. */
		snprintf(text, sizeof text, "ok;x 0\nmain;f %s\n", cases[i].count);
		int r = load(&d, text, false, &err);
		if (r < 0)
			FAIL_("'%s': %s", cases[i].count, err.msg);
		ASSERT_EQ(r, cases[i].want == -1);
		if (cases[i].want == -1) {
			ASSERT_EQ(d.samples.n, 0);
		} else {
			ASSERT_EQ(d.samples.n, 1);
			if (cases[i].want == -2)
				ASSERT(d.samples.v[0].period == UINT64_MAX);
			else
				ASSERT_EQ(d.samples.v[0].period, cases[i].want);
		}
		cprof_data_release(&d);
	}
}

/* A total beyond 2^64-1 would wrap the shares: it is an error. */
TEST(folded_total_overflow)
{
	struct cprof_data d;
	struct cprof_err err;
	ASSERT_EQ(load(&d, "a;b 18446744073709551615\nc;d 2\n", false, &err), -EOVERFLOW);
	ASSERT(strstr(err.msg, "'in': line 2:"));
	ASSERT(strstr(err.msg, "add up to more than"));
	ASSERT_OK(load(&d, "a;b 18446744073709551614\nc;d 1\n", false, &err));
	cprof_data_release(&d);
}

/* Input with no well-formed line is not folded stacks. */
TEST(folded_garbage_is_an_error)
{
	static const char *const garbage[] = {
		"\n\n\n", "\r\n\r\n", "not a profile\n", "CPROFDA", "x 1e20\n", " 5\n", ";; 5\n", ";;\n",
		"\x89\xe1\x02\x93 zz\n\x14", "a;b\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
		struct cprof_data d;
		struct cprof_err err;
		ASSERT_EQ(load(&d, garbage[i], false, &err), -EINVAL);
		ASSERT(strstr(err.msg, "'in': not a cprof data file, perf.data or folded stacks ("));
		ASSERT_EQ(d.samples.n, 0);
	}
}

/* ';; 5' has no frames: malformed, not an empty stack (nor a NULL memcpy). */
TEST(folded_no_frames)
{
	struct cprof_data d;
	struct cprof_err err;
	ASSERT_EQ(load(&d, "main;f 3\n;; 5\n", false, &err), 1);
	ASSERT_EQ(d.samples.n, 1);
	cprof_data_release(&d);
	ASSERT_EQ(load(&d, "main;f 3\n;; 5\n", true, &err), -EINVAL);
	ASSERT(strstr(err.msg, "line 2: no frame names"));
	/* The builder itself takes an empty stack with no frame array. */
	cprof_data_init(&d);
	uint32_t a = cprof_add_stack(&d, NULL, 0, 0);
	ASSERT_EQ(cprof_add_stack(&d, NULL, 0, 0), a);
	ASSERT_EQ(cprof_stack_len(&d, a), 0);
	cprof_data_release(&d);
}

/* '\n', "\r\n" and a lone '\r' all end a line. */
TEST(folded_line_endings)
{
	static const char *const texts[] = { "a;b 5\nc;d 3\n", "a;b 5\r\nc;d 3\r\n", "a;b 5\rc;d 3\r", "a;b 5\rc;d 3",
					     "a;b 5\n\rc;d 3" };
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct cprof_data d;
		struct cprof_err err;
		ASSERT_EQ(load(&d, texts[i], true, &err), 0);
		ASSERT_EQ(d.samples.n, 2);
		ASSERT_EQ(d.samples.v[0].period, 5);
		ASSERT_EQ(d.samples.v[1].period, 3);
		ASSERT_EQ(cprof_stack_len(&d, d.samples.v[1].stack), 2);
		ASSERT_STREQ(cprof_str(&d, d.frames.v[cprof_stack_frames(&d, d.samples.v[1].stack)[0]].func), "d");
		cprof_data_release(&d);
	}
}

/* The views' rule for empty input, with the reason in the message. */
TEST(require_samples)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	ASSERT_OK(load(&d, "a;b 0\nc;d 0\n", false, &err));
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(profile_require_samples(&p, "in", false, &err), -ENODATA);
	ASSERT_STREQ(err.msg, "'in': no samples (every count is 0)");
	profile_release(&p);
	cprof_data_release(&d);
	ASSERT_OK(load(&d, folded_in, false, &err));
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_OK(profile_require_samples(&p, "in", false, &err));
	profile_release(&p);
	f.tid = 12345;
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(profile_require_samples(&p, "in", true, &err), -ENODATA);
	ASSERT(strstr(err.msg, "after filtering"));
	profile_release(&p);
	cprof_data_release(&d);
}

/* Many threads, their samples interleaved: each is counted as its own, and
 * --comm finds a thread's name among thousands (a hash, not a scan). */
TEST(many_threads)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	cprof_data_init(&d);
	struct cprof_event ev = { .name = cprof_intern(&d, "cpu-clock"), .unit = cprof_intern(&d, "ns") };
	vec_push(&d.events, ev);
	struct cprof_frame fr = { .func = cprof_intern(&d, "work"), .dso = cprof_intern(&d, "/bin/w") };
	uint32_t f0 = cprof_add_frame(&d, &fr);
	uint32_t st = cprof_add_stack(&d, &f0, 1, 0);
	enum { N = 5000 };
	for (uint32_t t = 0; t < N; t++) {
		char name[32];
		snprintf(name, sizeof name, "t%u", t);
		vec_push(&d.threads, ((struct cprof_thread){ .pid = 7, .tid = 100 + t, .comm = cprof_intern(&d, name) }));
	}
	vec_push(&d.threads, ((struct cprof_thread){ .pid = 7, .tid = 100, .comm = cprof_intern(&d, "renamed") }));
	for (uint32_t round = 0; round < 3; round++)
		for (uint32_t t = 0; t < N; t++)
			vec_push(&d.samples, ((struct cprof_sample){ .time = t, .period = 1 + t % 7, .pid = 7, .tid = 100 + t,
								     .stack = st }));
	vec_push(&d.samples, ((struct cprof_sample){ .period = 5, .pid = 8, .tid = 1, .stack = st })); /* unknown */
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(p.threads.n, N + 1);
	for (size_t i = 0; i < p.threads.n; i++) {
		const struct profile_thread *t = &p.threads.v[i];
		if (t->pid == 8) {
			ASSERT_EQ(t->comm, 0);
			ASSERT_EQ(t->weight, 5);
			continue;
		}
		ASSERT_EQ(t->samples, 3);
		ASSERT_EQ(t->weight, 3 * (1 + (t->tid - 100) % 7));
	}
	profile_release(&p);
	f.comm = "t4321";
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(p.threads.n, 1);
	ASSERT_EQ(p.threads.v[0].tid, 4421);
	ASSERT_EQ(p.total_weight, 3 * (1 + 4321 % 7));
	profile_release(&p);
	f.comm = "t0"; /* the first name recorded for a thread is its name */
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(p.total_samples, 3);
	profile_release(&p);
	cprof_data_release(&d);
}

/* Leader sampling, synthetic: cycles sampled with instructions read in
 * each sample, and page-faults sampled on their own. IPC per function is
 * the ratio of the instructions and cycles that landed in it. */
TEST(events_side_by_side_and_ipc)
{
	struct cprof_data d;
	cprof_data_init(&d);
	static const char *const names[] = { "cycles:S", "instructions:S", "page-faults" };
	for (int i = 0; i < 3; i++)
		vec_push(&d.events, ((struct cprof_event){ .name = cprof_intern(&d, names[i]),
							     .unit = cprof_intern(&d, "events"),
							     .flags = i == 1 ? EVF_READ : 0, .period = i == 1 ? 0 : 1 }));
	uint32_t dso = cprof_intern(&d, "/bin/app");
	struct cprof_frame fa = { .func = cprof_intern(&d, "alu_bound"), .dso = dso, .addr = 0x10 };
	struct cprof_frame fm = { .func = cprof_intern(&d, "mem_bound"), .dso = dso, .addr = 0x20 };
	uint32_t a = cprof_add_frame(&d, &fa), m = cprof_add_frame(&d, &fm);
	uint32_t sa = cprof_add_stack(&d, &a, 1, 0), sm = cprof_add_stack(&d, &m, 1, 0);
	for (uint32_t i = 0; i < 20; i++) {
		bool alu = i % 2 == 0;
		vec_push(&d.samples, ((struct cprof_sample){ .time = i, .period = 1000, .pid = 1, .tid = 1,
							      .stack = alu ? sa : sm, .event = 0 }));
		vec_push(&d.sample_values, ((struct cprof_sample_value){ (uint32_t)d.samples.n - 1, 1, alu ? 3000 : 400 }));
	}
	/* the faults: all in mem_bound */
	for (uint32_t i = 0; i < 5; i++)
		vec_push(&d.samples, ((struct cprof_sample){ .time = 100 + i, .period = 1, .pid = 1, .tid = 1,
							      .stack = sm, .event = 2 }));
	cprof_data_expand_reads(&d);
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	struct cprof_err err;
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	uint32_t rows[2];
	size_t ia = SIZE_MAX, im = SIZE_MAX;
	for (uint32_t i = 0; i < p.funcs.n; i++) {
		const char *n = cprof_str(&d, p.funcs.v[i].name);
		if (strcmp(n, "alu_bound") == 0)
			rows[ia = 0] = i;
		if (strcmp(n, "mem_bound") == 0)
			rows[im = 1] = i;
	}
	ASSERT(ia == 0 && im == 1);
	struct evcols c;
	ASSERT_OK(evcols_build(&c, &p, &f, rows, 2, &err));
	ASSERT_EQ(c.cycles, 0);
	ASSERT_EQ(c.instructions, 1);
	ASSERT_EQ(c.total[0], 20000);
	ASSERT_EQ(c.total[1], 34000);
	ASSERT_EQ(c.total[2], 5);
	ASSERT_NEAR(evcols_ipc(&c, 0), 3.0, 1e-12);
	ASSERT_NEAR(evcols_ipc(&c, 1), 0.4, 1e-12);
	ASSERT_NEAR(evcols_ipc(&c, SIZE_MAX), 1.7, 1e-12);
	ASSERT_EQ(c.self[0 * 3 + 2], 0);
	ASSERT_EQ(c.self[1 * 3 + 2], 5);
	/* filters apply to every column: another thread has nothing */
	evcols_release(&c);
	f.tid = 2;
	ASSERT_OK(evcols_build(&c, &p, &f, rows, 2, &err));
	ASSERT_EQ(c.total[1], 0);
	ASSERT(evcols_ipc(&c, 0) < 0);
	evcols_release(&c);
	/* by base name: instructions for instructions:S; ambiguity is -1 */
	ASSERT_EQ(profile_find_event(&d, "instructions"), 1);
	ASSERT_EQ(profile_find_event(&d, "page-faults"), 2);
	ASSERT_EQ(profile_find_event(&d, "cycles:S"), 0);
	ASSERT_EQ(profile_find_event(&d, "cycle"), -1);
	profile_release(&p);
	cprof_data_release(&d);
}

RUN_TESTS(T(many_threads), T(self_and_total), T(strict_rejects_with_line_number), T(folded_round_trip), T(calltree_merges),
	  T(folded_counts_are_decimal), T(folded_total_overflow), T(folded_garbage_is_an_error), T(folded_no_frames),
	  T(folded_line_endings), T(require_samples), T(events_side_by_side_and_ipc))
