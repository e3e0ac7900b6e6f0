/* test-lines.c - samples per source line: each function's hottest line
 * (report's Hottest line column), the line table of report --lines (inline-aware,
 * total once per stack) and folded stacks with lines. */
#include "cprof/folded.h"
#include "cprof/report.h"
#include "harness.h"

struct fr {
	const char *func, *file;
	uint32_t line;
	bool inlined;
};

/* One stack (leaf first) sampled n times. */
static void add(struct cprof_data *d, const struct fr *frames, uint32_t nf, int n)
{
	uint32_t ids[8];
	for (uint32_t i = 0; i < nf; i++) {
		struct cprof_frame f = { .func = cprof_intern(d, frames[i].func), .dso = cprof_intern(d, "/bin/app"),
					 .file = cprof_intern(d, frames[i].file), .line = frames[i].line,
					 .addr = 0x1000 + 16 * frames[i].line + (frames[i].inlined ? 1 : 0),
					 .flags = frames[i].inlined ? FRF_INLINED : 0 };
		ids[i] = cprof_add_frame(d, &f);
	}
	uint32_t st = cprof_add_stack(d, ids, nf, 0);
	for (int i = 0; i < n; i++)
		vec_push(&d->samples, ((struct cprof_sample){ .time = d->samples.n, .period = 10, .stack = st }));
}

static void build(struct cprof_data *d)
{
	cprof_data_init(d);
	vec_push(&d->events, ((struct cprof_event){ .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "ns") }));
	const struct fr main30 = { "main", "m.c", 30, false };
	add(d, (struct fr[]){ { "A", "a.c", 10, false }, main30 }, 2, 3);
	add(d, (struct fr[]){ { "A", "a.c", 11, false }, main30 }, 2, 5);
	add(d, (struct fr[]){ { "B", "b.c", 20, false }, { "A", "a.c", 12, false }, main30 }, 3, 7);
	/* spin() inlined into A: its line is work.h's, its self is its own. */
	add(d, (struct fr[]){ { "spin", "work.h", 5, true }, { "A", "a.c", 13, false }, main30 }, 3, 2);
	/* C: two lines with the same self weight; the lower line wins. */
	add(d, (struct fr[]){ { "C", "c.c", 41, false }, main30 }, 2, 4);
	add(d, (struct fr[]){ { "C", "c.c", 40, false }, main30 }, 2, 4);
	/* Recursion: a line twice on one stack counts once in its total. */
	add(d, (struct fr[]){ { "R", "r.c", 7, false }, { "R", "r.c", 7, false }, main30 }, 3, 1);
}

static const struct profile_func *func(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->funcs.n; i++)
		if (strcmp(cprof_str(p->d, p->funcs.v[i].name), name) == 0)
			return &p->funcs.v[i];
	FAIL_("no function %s", name);
}

TEST(hottest_line_per_function)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	build(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	const struct profile_func *a = func(&p, "A");
	ASSERT_EQ(a->line, 11); /* 5 self samples, more than line 10's 3 */
	ASSERT_STREQ(cprof_str(&d, a->file), "a.c");
	ASSERT_EQ(a->line_weight, 50);
	ASSERT(!a->line_by_total);
	ASSERT_EQ(func(&p, "B")->line, 20);
	ASSERT_EQ(func(&p, "spin")->line, 5);
	ASSERT_EQ(func(&p, "C")->line, 40); /* a tie goes to the lower line */
	const struct profile_func *m = func(&p, "main");
	ASSERT_EQ(m->self, 0);
	ASSERT_EQ(m->line, 30); /* no self: by total, its call site */
	ASSERT(m->line_by_total);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(lines_inline_aware)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	build(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	struct profile_lines pl;
	profile_lines_build(&pl, &p);
	size_t n;
	uint32_t *order = profile_lines_sorted(&pl, false, &n);
	ASSERT(n >= 8);
	const struct profile_line *top = &pl.v.v[order[0]];
	ASSERT_STREQ(cprof_str(&d, top->func), "B");
	ASSERT_EQ(top->line, 20);
	ASSERT_EQ(top->self_samples, 7);
	ASSERT_EQ(pl.v.v[order[1]].line, 11);
	bool spin = false, r = false, a12 = false;
	for (size_t i = 0; i < n; i++) {
		const struct profile_line *l = &pl.v.v[order[i]];
		const char *fn = cprof_str(&d, l->func);
		if (strcmp(fn, "spin") == 0) {
			spin = true;
			ASSERT_STREQ(cprof_str(&d, l->file), "work.h");
			ASSERT(l->flags & FRF_INLINED);
			ASSERT_EQ(l->self_samples, 2);
		}
		if (strcmp(fn, "R") == 0) {
			r = true;
			ASSERT_EQ(l->total_samples, 1); /* once per stack */
		}
		if (strcmp(fn, "A") == 0 && l->line == 12) {
			a12 = true;
			ASSERT_EQ(l->self_samples, 0);
			ASSERT_EQ(l->total_samples, 7);
		}
	}
	ASSERT(spin && r && a12);
	free(order);
	order = profile_lines_sorted(&pl, true, &n);
	ASSERT_STREQ(cprof_str(&d, pl.v.v[order[0]].func), "main"); /* every stack passes m.c:30 */
	ASSERT_EQ(pl.v.v[order[0]].total_samples, 26);
	free(order);
	profile_lines_release(&pl);

	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	folded_write_lines(out, &p);
	fclose(out);
	ASSERT(strstr(buf, "main [m.c:30];A [a.c:12];B [b.c:20] 7\n"));
	ASSERT(strstr(buf, "main [m.c:30];A [a.c:13];spin [work.h:5]_[i] 2\n"));
	free(buf);
	profile_release(&p);
	cprof_data_release(&d);
}

RUN_TESTS(T(hottest_line_per_function), T(lines_inline_aware))
