/*
 * test-group.c - the report's perf habits: folded output one line per
 * distinct stack, thread filters (name lists, prefixes, globs, id lists and
 * the message when nothing matches), perf's sort keys, --max-stack,
 * --symbols, and the text header's numbers.
 */
#include <errno.h>

#include "cprof/folded.h"
#include "cprof/group.h"
#include "cprof/report.h"
#include "harness.h"

/*
 * A recording from text: lines "PID/TID FUNC@ADDR;FUNC@ADDR COUNT", root
 * first. Frames with one name but another address are distinct frames, as
 * a recording has them (each sampled address its own frame).
 */
static void make(struct cprof_data *d, const char *text)
{
	cprof_data_init(d);
	struct cprof_event ev = { .name = cprof_intern(d, "cpu-clock"), .unit = cprof_intern(d, "ns"),
				  .period = 999, .flags = EVF_FREQ };
	vec_push(&d->events, ev);
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned pid, tid;
		int off = 0;
		ASSERT(sscanf(line, "%u/%u %n", &pid, &tid, &off) == 2);
		char *stack = line + off, *sp = strrchr(stack, ' ');
		ASSERT(sp);
		*sp = 0;
		uint32_t frames[32], n = 0;
		char *fsave = NULL;
		for (char *f = strtok_r(stack, ";", &fsave); f; f = strtok_r(NULL, ";", &fsave)) {
			char *at = strchr(f, '@');
			uint64_t addr = 0;
			if (at) {
				*at = 0;
				addr = strtoull(at + 1, NULL, 16);
			}
			const char *dso = strncmp(f, "k_", 2) == 0 ? "[kernel.kallsyms]" : "/bin/app";
			struct cprof_frame fr = { .func = cprof_intern(d, f), .dso = cprof_intern(d, dso), .addr = addr,
						  .flags = *dso == '[' ? FRF_KERNEL : 0 };
			frames[n++] = cprof_add_frame(d, &fr);
		}
		for (uint32_t i = 0; i < n / 2; i++) {
			uint32_t t = frames[i];
			frames[i] = frames[n - 1 - i];
			frames[n - 1 - i] = t;
		}
		uint64_t count = strtoull(sp + 1, NULL, 10);
		uint32_t st = cprof_add_stack(d, frames, n, 0);
		for (uint64_t k = 0; k < count; k++) {
			struct cprof_sample s = { .time = d->samples.n + 1, .period = 1000000, .pid = pid, .tid = tid,
						  .stack = st };
			vec_push(&d->samples, s);
		}
	}
	free(copy);
}

static void thread(struct cprof_data *d, uint32_t pid, uint32_t tid, const char *comm)
{
	struct cprof_thread t = { .pid = pid, .tid = tid, .comm = cprof_intern(d, comm) };
	vec_push(&d->threads, t);
}

/* Three threads as a pool names them, and main. */
static const char pool[] =
	"10/10 main@1;hot_a@10 2\n"
	"10/11 main@1;work@20;hot_a@10 3\n"
	"10/11 main@1;work@20;hot_a@11 4\n" /* same names, other address */
	"10/12 main@1;work@21;hot_b@30 6\n"
	"10/13 main@1;work@20;k_irq@40 1\n"
	"20/20 other@50 4\n";

static void make_pool(struct cprof_data *d)
{
	make(d, pool);
	thread(d, 10, 10, "app");
	thread(d, 10, 11, "worker-0");
	thread(d, 10, 12, "worker-1");
	thread(d, 10, 13, "worker-2");
	thread(d, 20, 20, "other");
}

static char *capture_folded(const struct profile *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ASSERT(out);
	folded_write(out, p);
	fclose(out);
	return text;
}

TEST(folded_one_line_per_stack)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	make_pool(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(p.stacks.n, 6); /* the data keeps both addresses of hot_a */
	char *text = capture_folded(&p);
	ASSERT_STREQ(text, "main;hot_a 2\n"
			   "main;work;hot_a 7\n"
			   "main;work;hot_b 6\n"
			   "main;work;k_irq_[k] 1\n"
			   "other 4\n");
	free(text);
	profile_release(&p);
	cprof_data_release(&d);
}

static uint64_t samples_with(const struct cprof_data *d, struct profile_filter f)
{
	struct cprof_err err;
	struct profile p;
	ASSERT_OK(profile_build(&p, d, &f, &err));
	uint64_t n = p.total_samples;
	profile_release(&p);
	return n;
}

TEST(thread_filters)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile_filter f = PROFILE_FILTER_INIT;
	make_pool(&d);
	ASSERT(profile_comm_matches("worker-0", "worker"));
	ASSERT(profile_comm_matches("worker-1", "app,worker-[12]"));
	ASSERT(!profile_comm_matches("worker-0", "worker-[12]"));
	ASSERT(!profile_comm_matches("work", "worker"));
	ASSERT(profile_comm_matches("a", "x,,a"));

	f.comm = "worker"; /* a prefix: the whole pool */
	ASSERT_EQ(samples_with(&d, f), 14);
	f.comm = "worker-?,app";
	ASSERT_EQ(samples_with(&d, f), 16);
	f.comm = "worker-1";
	ASSERT_EQ(samples_with(&d, f), 6);
	ASSERT_OK(profile_filter_check(&d, &f, &err));

	f.comm = "wrker";
	ASSERT_EQ(profile_filter_check(&d, &f, &err), -ENOENT);
	ASSERT(strstr(err.msg, "--comm 'wrker'"));
	ASSERT(strstr(err.msg, "app, worker-0, worker-1, worker-2, other"));

	f.comm = NULL;
	struct profile_ids ids;
	ASSERT_EQ(profile_ids_parse("11,x", &ids), -EINVAL);
	ASSERT_EQ(profile_ids_parse("11,", &ids), -EINVAL);
	ASSERT_OK(profile_ids_parse("11,13", &ids));
	f.tids = ids;
	ASSERT_EQ(samples_with(&d, f), 8);
	free((void *)ids.v);
	ASSERT_OK(profile_ids_parse("20", &ids));
	f.tids = (struct profile_ids){ NULL, 0 };
	f.pids = ids;
	ASSERT_EQ(samples_with(&d, f), 4);
	free((void *)ids.v);
	ASSERT_OK(profile_ids_parse("99", &ids));
	f.pids = ids;
	ASSERT_EQ(profile_filter_check(&d, &f, &err), -ENOENT);
	ASSERT(strstr(err.msg, "--pid"));
	ASSERT(strstr(err.msg, "worker-2 10/13"));
	free((void *)ids.v);
	cprof_data_release(&d);
}

static const struct group_row *grow(const struct grouping *g, size_t i) { return &g->rows.v[i]; }

TEST(perf_sort_keys)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	enum group_key keys[_GK_MAX];
	make_pool(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(group_keys_parse("dso,sym", keys, &err), 2);
	ASSERT_EQ(group_keys_parse("sym,bogus", keys, &err), -EINVAL);
	ASSERT(strstr(err.msg, "'bogus'"));
	ASSERT_EQ(group_keys_parse("pid,pid", keys, &err), -EINVAL);

	struct grouping g;
	ASSERT_EQ(group_keys_parse("comm", keys, &err), 1);
	group_build(&g, &p, keys, 1, false);
	ASSERT_EQ(g.rows.n, 4 + 1);
	ASSERT_STREQ(cprof_str(&d, grow(&g, 0)->comm), "worker-0"); /* 7 samples */
	ASSERT_EQ(grow(&g, 0)->self_samples, 7);
	ASSERT_EQ(grow(&g, 0)->total_samples, 7);
	group_release(&g);

	ASSERT_EQ(group_keys_parse("dso", keys, &err), 1);
	group_build(&g, &p, keys, 1, false);
	ASSERT_EQ(g.rows.n, 2);
	ASSERT_STREQ(cprof_str(&d, grow(&g, 0)->dso), "/bin/app");
	ASSERT_EQ(grow(&g, 0)->self_samples, 19);
	ASSERT_EQ(grow(&g, 1)->self_samples, 1); /* the kernel */
	ASSERT_EQ(grow(&g, 0)->total_samples, 20); /* the kernel sample passes through app */
	group_release(&g);

	ASSERT_EQ(group_keys_parse("tid,sym", keys, &err), 2);
	group_build(&g, &p, keys, 2, true); /* by total */
	/* tid 11's main and work: 7 samples each through them, hot_a 7 self */
	ASSERT_EQ(grow(&g, 0)->total_samples, 7);
	ASSERT_EQ(grow(&g, 0)->tid, 11);
	uint64_t self = 0;
	for (size_t i = 0; i < g.rows.n; i++)
		self += grow(&g, i)->self_samples;
	ASSERT_EQ(self, 20); /* self rows add up to the profile */
	group_release(&g);
	profile_release(&p);
	cprof_data_release(&d);
}

static const struct profile_func *func(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->funcs.n; i++)
		if (strcmp(cprof_str(p->d, p->funcs.v[i].name), name) == 0)
			return &p->funcs.v[i];
	FAIL_("no function %s", name);
}

TEST(max_stack_and_symbols)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	make_pool(&d);
	profile_cap_stacks(&d, 1);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	ASSERT_EQ(func(&p, "work")->total, 0); /* never innermost */
	ASSERT_EQ(func(&p, "hot_a")->total_samples, 9);
	char *text = capture_folded(&p);
	ASSERT_STREQ(text, "hot_a 9\nhot_b 6\nk_irq_[k] 1\nother 4\n");
	free(text);
	profile_release(&p);
	cprof_data_release(&d);

	make_pool(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	profile_hide_funcs(&p, "hot_b,main", NULL);
	size_t n;
	uint32_t *order = report_sorted_funcs(&p, SORT_SELF, &n);
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(cprof_str(&d, p.funcs.v[order[0]].name), "hot_b");
	ASSERT_STREQ(cprof_str(&d, p.funcs.v[order[1]].name), "main");
	free(order);
	profile_release(&p);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	profile_hide_funcs(&p, NULL, "hot");
	order = report_sorted_funcs(&p, SORT_SELF, &n);
	ASSERT_EQ(n, 2);
	free(order);
	ASSERT_EQ(p.total_samples, 20); /* hiding rows changes no share */
	profile_release(&p);
	cprof_data_release(&d);
}

static char *capture_text(const struct profile *p, const struct report_opts *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ASSERT(out);
	report_text(out, p, NULL, o);
	fclose(out);
	return text;
}

TEST(header_numbers)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	struct report_opts o = { .sort = SORT_SELF, .children = true, .input = "x.data" };
	make(&d, "1/1 main;f 1\n");
	cprof_meta_set(&d, "lost_samples", "2499");
	cprof_meta_set(&d, "recorder_cpu_ns", "181000000");
	cprof_meta_set(&d, "workload_cpu_ns", "22300000000");
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	char *text = capture_text(&p, &o);
	ASSERT(strstr(text, ", 1 sample, 2,499 lost\n"));
	ASSERT(strstr(text, "not counted: the kernel's work taking the samples"));
	ASSERT(!strstr(text, "warning: at")); /* 999 Hz */
	ASSERT(strstr(text, "2,499 samples were lost"));
	free(text);
	o.quiet = true;
	text = capture_text(&p, &o);
	ASSERT(!strchr(text, '#'));
	free(text);
	profile_release(&p);
	d.events.v[0].period = 100000;
	o.quiet = false;
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	text = capture_text(&p, &o);
	ASSERT(strstr(text, "# warning: at 100000 Hz that work can be most of the workload's time"));
	free(text);
	profile_release(&p);

	char *hdr = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&hdr, &len);
	report_header_only(out, &d, "x.data");
	fclose(out);
	ASSERT(strstr(hdr, "# lost_samples: 2499\n"));
	ASSERT(strstr(hdr, "# event 0: cpu-clock (100000 Hz), 1 record\n"));
	free(hdr);
	cprof_data_release(&d);
}

RUN_TESTS(T(folded_one_line_per_stack), T(thread_filters), T(perf_sort_keys), T(max_stack_and_symbols),
	  T(header_numbers))
