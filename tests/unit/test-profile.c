/* test-profile.c - aggregation (self/total, filters), call trees and folded I/O. */
#include <errno.h>

#include "cprof/calltree.h"
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
	int r = folded_read(d, fp, "in", strict, NULL, NULL, err);
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

RUN_TESTS(T(self_and_total), T(strict_rejects_with_line_number), T(folded_round_trip), T(calltree_merges))
