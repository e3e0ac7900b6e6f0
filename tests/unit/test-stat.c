/*
 * test-stat.c - counting mode without a PMU: group readings as the kernel
 * lays them out, scaling of multiplexed counts, the text/JSON/CSV views of
 * synthetic results (hardware counters, <not supported>, <not counted>,
 * running shares, ratios), the baseline file's round trip, and the JSON
 * reader on good and bad input.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "cprof/bench.h"
#include "cprof/event.h"
#include "cprof/json.h"

TEST(read_group)
{
	/* nr, enabled, running, {value, id} x 3 (72 bytes, as measured on a VM) */
	uint64_t buf[] = { 3, 1000, 1000, 111, 7, 222, 8, 333, 9 };
	struct ev_group_read *g;
	struct cprof_err err;
	ASSERT_OK(ev_read_parse(buf, sizeof buf, EV_READ_FORMAT, 8, &g, &err));
	ASSERT_EQ(g->nr, 3);
	ASSERT_EQ(g->enabled, 1000);
	ASSERT_EQ(g->running, 1000);
	ASSERT_EQ(g->r[1].value, 222);
	ASSERT_EQ(g->r[1].id, 8);
	ASSERT_EQ(g->r[2].id, 9);
	free(g);
	/* with PERF_FORMAT_LOST each counter has one more word */
	uint64_t lost[] = { 2, 50, 25, 10, 1, 0, 20, 2, 0 };
	ASSERT_OK(ev_read_parse(lost, sizeof lost, EV_READ_FORMAT | (1u << 4), 8, &g, &err));
	ASSERT_EQ(g->r[1].value, 20);
	ASSERT_EQ(g->r[1].id, 2);
	free(g);
	/* without times */
	uint64_t bare[] = { 1, 42, 5 };
	ASSERT_OK(ev_read_parse(bare, sizeof bare, PERF_FORMAT_GROUP | PERF_FORMAT_ID, 8, &g, &err));
	ASSERT_EQ(g->r[0].value, 42);
	ASSERT_EQ(g->enabled, 0);
	free(g);
	/* wrong sizes and counts fail */
	ASSERT_EQ(ev_read_parse(buf, sizeof buf - 8, EV_READ_FORMAT, 8, &g, &err), -EINVAL);
	ASSERT(strstr(err.msg, "expected 72"));
	ASSERT_EQ(ev_read_parse(buf, 5, EV_READ_FORMAT, 8, &g, &err), -EINVAL);
	ASSERT_EQ(ev_read_parse(buf, sizeof buf, EV_READ_FORMAT, 2, &g, &err), -EINVAL);
	ASSERT_EQ(ev_read_parse(buf, sizeof buf, PERF_FORMAT_ID, 8, &g, &err), -EINVAL);
	uint64_t huge[] = { UINT64_MAX / 2, 0, 0 };
	ASSERT_EQ(ev_read_parse(huge, sizeof huge, EV_READ_FORMAT, 8, &g, &err), -EINVAL);
}

TEST(scaling)
{
	struct ev_count c = EV_COUNT_INIT;
	ev_count_add(&c, 1000, 2000, 2000);
	ASSERT_EQ(c.status, EVS_COUNTED);
	ASSERT_NEAR(c.value, 1000, 0);
	ASSERT_NEAR(ev_count_running_pct(&c), 100, 0);
	/* multiplexed: on the PMU 63.21 % of the time */
	c = (struct ev_count)EV_COUNT_INIT;
	ev_count_add(&c, 6321, 10000, 6321);
	ASSERT_EQ(c.status, EVS_SCALED);
	ASSERT_NEAR(c.value, 10000, 1e-9);
	ASSERT_NEAR(ev_count_running_pct(&c), 63.21, 1e-9);
	/* no overflow for huge counts */
	c = (struct ev_count)EV_COUNT_INIT;
	ev_count_add(&c, UINT64_MAX / 2, UINT64_MAX / 2, UINT64_MAX / 4);
	ASSERT_NEAR(c.value / (double)UINT64_MAX, 1.0, 1e-9);
	/* never scheduled */
	c = (struct ev_count)EV_COUNT_INIT;
	ev_count_add(&c, 0, 5000, 0);
	ASSERT_EQ(c.status, EVS_NOT_COUNTED);
	/* per-CPU readings: one CPU counted, one never ran the event */
	ev_count_add(&c, 100, 1000, 500);
	ASSERT_EQ(c.status, EVS_SCALED);
	ASSERT_NEAR(c.value, 200, 1e-9);
	ASSERT_EQ(c.raw, 100);
	ASSERT_EQ(c.enabled, 6000);
	/* not supported stays so */
	c = (struct ev_count)EV_COUNT_INIT;
	c.status = EVS_NOT_SUPPORTED;
	ev_count_add(&c, 1, 1, 1);
	ASSERT_EQ(c.status, EVS_NOT_SUPPORTED);
	ASSERT_NEAR(c.value, 0, 0);
}

static void add_values(struct bench_metric *m, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vec_push(&m->values, v[i]);
}

/* A result as a machine with a PMU would produce it. */
static void synthetic(struct bench_result *r, double scale)
{
	memset(r, 0, sizeof *r);
	r->command = xstrdup("./bench --fast");
	r->created = 1767225600;
	r->runs = 5;
	r->warmup = 1;
	const double tc[] = { 100e6, 101e6, 99e6, 100.5e6, 99.5e6 };
	const double cyc[] = { 300e6, 303e6, 297e6, 301e6, 299e6 };
	const double ins[] = { 600e6, 600e6, 600e6, 600e6, 600e6 };
	const double br[] = { 100e6, 100e6, 100e6, 100e6, 100e6 };
	const double bm[] = { 2e6, 2e6, 2e6, 2e6, 2e6 };
	const double wall[] = { 102e6, 103e6, 101e6, 102.5e6, 101.5e6 };
	double s[5];
	struct bench_metric *m = bench_metric_add(r, "task-clock", "ns", 0);
	for (int i = 0; i < 5; i++)
		s[i] = tc[i] * scale;
	add_values(m, s, 5);
	m = bench_metric_add(r, "cycles", "", 1);
	for (int i = 0; i < 5; i++)
		s[i] = cyc[i] * scale;
	add_values(m, s, 5);
	m = bench_metric_add(r, "instructions", "", 1);
	add_values(m, ins, 5);
	m = bench_metric_add(r, "branches", "", 2);
	add_values(m, br, 5);
	m->status = EVS_SCALED;
	m->running_pct = 63.21;
	m = bench_metric_add(r, "branch-misses", "", 2);
	add_values(m, bm, 5);
	m->status = EVS_SCALED;
	m->running_pct = 63.21;
	m = bench_metric_add(r, "stalled-cycles-frontend", "", 3);
	m->status = EVS_NOT_SUPPORTED;
	m = bench_metric_add(r, "L1-dcache-load-misses", "", 4);
	m->status = EVS_NOT_COUNTED;
	m = bench_metric_add(r, "wall", "ns", -1);
	for (int i = 0; i < 5; i++)
		s[i] = wall[i] * scale;
	add_values(m, s, 5);
}

static char *render(void (*fn)(FILE *, const struct stat_view *), const struct stat_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	ASSERT(fp);
	fn(fp, v);
	ASSERT(fclose(fp) == 0);
	return buf;
}

#define HAS(text, needle) do { if (!strstr(text, needle)) FAIL_("output lacks '%s':\n%s", needle, text); } while (0)

TEST(text_view)
{
	struct bench_result r;
	synthetic(&r, 1);
	struct stat_view v = { .res = &r, .cmp = STAT_COMPARE_OPTS_INIT, .fail_pct = -1 };
	char *t = render(stat_text, &v);
	HAS(t, "Performance counter stats for './bench --fast' (5 runs):");
	HAS(t, "100.00 msec task-clock");
	HAS(t, "#    0.980 CPUs utilized");
	HAS(t, "600,000,000      instructions");
	HAS(t, "#    2.000 insn per cycle");
	HAS(t, "#    2.000% of all branches");
	HAS(t, "(63.21%)");
	HAS(t, "<not supported>      stalled-cycles-frontend");
	HAS(t, "<not counted>      L1-dcache-load-misses");
	HAS(t, "seconds time elapsed");
	HAS(t, "Statistics over 5 runs (after 1 warm-up run):");
	/* task-clock 100 ms +- 0.79 ms: the 95 % CI is mean +- 2.776 * sd / sqrt(5) */
	HAS(t, "100.00 ms +- 790.57 us");
	HAS(t, "[99.02 ms, 100.98 ms]");
	ASSERT(!strstr(t, "Compared with"));
	free(t);
	/* Attached (-p PID -- sleep 1): the counts are the process's, and the
	 * header says so, as perf's does. */
	r.target = xstrdup("process id '42'");
	t = render(stat_text, &v);
	HAS(t, "Performance counter stats for process id '42' (5 runs):");
	ASSERT(!strstr(t, "./bench"));
	free(t);
	bench_result_release(&r);
}

TEST(compare_view)
{
	struct bench_result base, slow;
	synthetic(&base, 1);
	synthetic(&slow, 1.10);
	const char *gate[] = { "wall", "task-clock", NULL };
	struct stat_view v = { .res = &slow, .base = &base, .base_name = "main", .cmp = STAT_COMPARE_OPTS_INIT,
			       .fail_pct = 5, .gate = gate };
	char *t = render(stat_text, &v);
	HAS(t, "Compared with baseline 'main' (5 runs");
	HAS(t, "task-clock           slower by 10.0 %");
	HAS(t, "cycles               more by 10.0 %");
	/* identical samples: no change */
	HAS(t, "instructions         no significant change (+0.0 %");
	HAS(t, "Regression: task-clock, wall significantly worse by more than 5 %");
	free(t);
	struct sbuf names = SBUF_INIT;
	ASSERT_EQ(stat_view_regressions(&v, &names), 2);
	sbuf_release(&names);
	v.fail_pct = 15;
	ASSERT_EQ(stat_view_regressions(&v, &names), 0);
	/* the same program is no regression at any limit */
	v.res = &base;
	v.fail_pct = 0;
	ASSERT_EQ(stat_view_regressions(&v, &names), 0);
	sbuf_release(&names);
	bench_result_release(&base);
	bench_result_release(&slow);
}

TEST(csv_view)
{
	struct bench_result r;
	synthetic(&r, 1);
	struct stat_view v = { .res = &r, .cmp = STAT_COMPARE_OPTS_INIT, .fail_pct = -1 };
	char *t = render(stat_csv, &v);
	HAS(t, "metric,unit,status,running_percent,runs,mean,stddev,median,min,max,ci95_low,ci95_high,"
	       "outliers_mild,outliers_severe\n");
	HAS(t, "\ninstructions,,counted,100,5,600000000,0,600000000,600000000,600000000,600000000,600000000,0,0\n");
	HAS(t, "\nbranches,,scaled,63.21,5,");
	HAS(t, "\nstalled-cycles-frontend,,not supported,100,0,,,,,,,,,\n");
	free(t);
	bench_result_release(&r);
}

TEST(json_round_trip)
{
	struct bench_result base, slow;
	synthetic(&base, 1);
	synthetic(&slow, 1.1);
	struct stat_view v = { .res = &slow, .base = &base, .base_name = "main", .cmp = STAT_COMPARE_OPTS_INIT,
			       .fail_pct = 5, .gate = (const char *const[]){ "wall", NULL } };
	char *t = render(stat_json, &v);
	HAS(t, "\"schema\": \"cprof-stat/1\"");
	HAS(t, "\"status\": \"not supported\"");
	HAS(t, "\"verdict\": \"increase\"");
	HAS(t, "\"regression\": {\"limit_percent\": 5, \"regressed\": true, \"metrics\": [\"wall\"]}");
	struct json j;
	struct cprof_err err;
	ASSERT_OK(json_parse(&j, t, strlen(t), "mem", &err));
	const struct json *ms = json_get(&j, "metrics");
	ASSERT(ms && ms->type == JSON_ARRAY && ms->n == 8);
	const struct json *ipc = json_get(&ms->items[2], "ratio");
	ASSERT(ipc && fabs(json_get(ipc, "value")->num - 2.0 / 1.1) < 1e-9);
	json_release(&j);

	/* written and read back as a baseline */
	char path[] = "/tmp/cprof-test-stat.XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs(t, fp);
	fclose(fp);
	free(t);
	struct bench_result back;
	ASSERT_OK(bench_read_json(&back, path, &err));
	ASSERT_STREQ(back.command, "./bench --fast");
	ASSERT_EQ(back.created, 1767225600);
	ASSERT_EQ(back.runs, 5);
	ASSERT_EQ(back.metrics.n, 8);
	struct bench_metric *m = bench_metric_find(&back, "cycles");
	ASSERT(m && m->values.n == 5);
	ASSERT_NEAR(m->values.v[1], 303e6 * 1.1, 1e-3);
	ASSERT_STREQ(bench_metric_find(&back, "wall")->unit, "ns");
	ASSERT_EQ(bench_metric_find(&back, "stalled-cycles-frontend")->values.n, 0);
	bench_result_release(&back);

	/* broken baselines are named and refused */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "line 1, column 1: unexpected end of input" },
		{ "{\"schema\": \"cprof-stat/1\", \"metrics\": [}", "expected a value" },
		{ "{\"schema\": \"other\", \"metrics\": []}", "not a cprof stat baseline" },
		{ "{\"schema\": \"cprof-stat/1\"}", "no \"metrics\" array" },
		{ "{\"schema\": \"cprof-stat/1\", \"metrics\": [{\"name\": \"x\", \"values\": [1, \"a\"]}]}",
		  "not a number" },
		{ "{\"schema\": \"cprof-stat/1\", \"metrics\": [{\"values\": []}]}", "without \"name\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fp = fopen(path, "w");
		fputs(bad[i].text, fp);
		fclose(fp);
		ASSERT(bench_read_json(&back, path, &err) < 0);
		if (!strstr(err.msg, bad[i].msg) || !strstr(err.msg, path))
			FAIL_("case %zu: '%s'", i, err.msg);
	}
	unlink(path);
	ASSERT_EQ(bench_read_json(&back, path, &err), -ENOENT);
	HAS(err.msg, "--save-baseline");
	bench_result_release(&base);
	bench_result_release(&slow);
}

TEST(json_reader)
{
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
		{ "{\"a\": [1, 2.5e3, -0.5, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"]}", true },
		{ "  [ ]  ", true },
		{ "{}", true },
		{ "[1,]", false },
		{ "{\"a\" 1}", false },
		{ "[01]", false },
		{ "[1e]", false },
		{ "\"\\ud800\"", false },
		{ "\"\\u0000\"", false },
		{ "\"a\tb\"", false },
		{ "[1] x", false },
		{ "tru", false },
		{ "1e999", false },
		{ "{\"a\": {\"b\": [", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json j;
		struct cprof_err err;
		int r = json_parse(&j, cases[i].text, strlen(cases[i].text), "t", &err);
		if ((r == 0) != cases[i].ok)
			FAIL_("case %zu '%s': got %d (%s)", i, cases[i].text, r, r ? err.msg : "");
		if (r == 0)
			json_release(&j);
	}
	struct json j;
	struct cprof_err err;
	const char *t = "{\"a\": [1, 2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\"]}";
	ASSERT_OK(json_parse(&j, t, strlen(t), "t", &err));
	const struct json *a = json_get(&j, "a");
	ASSERT(a && a->n == 5);
	ASSERT_NEAR(a->items[1].num, 2500, 0);
	ASSERT(a->items[2].b);
	ASSERT_EQ(a->items[3].type, JSON_NULL);
	ASSERT_STREQ(a->items[4].str, "x\xc3\xa9\xf0\x9f\x98\x80");
	ASSERT(json_get(&j, "b") == NULL);
	ASSERT(json_get(a, "a") == NULL);
	json_release(&j);
	/* depth is bounded */
	char deep[200];
	memset(deep, '[', sizeof deep);
	ASSERT(json_parse(&j, deep, sizeof deep, "deep", &err) < 0);
	HAS(err.msg, "nested too deeply");
}

/* stat -I: an interval's lines, each after its time, with the interval's
 * own rates (the "wall" metric is the interval's length). */
TEST(interval_view)
{
	struct bench_result r;
	memset(&r, 0, sizeof r);
	double tc = 50e6, cs = 25, len = 100e6;
	add_values(bench_metric_add(&r, "task-clock", "ns", 0), &tc, 1);
	add_values(bench_metric_add(&r, "context-switches", "", 1), &cs, 1);
	bench_metric_find(&r, "context-switches")->status = EVS_COUNTED;
	struct bench_metric *nc = bench_metric_add(&r, "page-faults", "", 2);
	nc->status = EVS_NOT_COUNTED;
	add_values(bench_metric_add(&r, "wall", "ns", -1), &len, 1);
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	ASSERT(fp);
	stat_interval_text(fp, &r, 1.5, true);
	stat_interval_text(fp, &r, 1.6, false);
	ASSERT(fclose(fp) == 0);
	HAS(buf, "#           time             counts unit events\n");
	HAS(buf, "     1.500000000              50.00 msec task-clock                 #    0.500 CPUs utilized\n");
	HAS(buf, "     1.600000000                 25      context-switches");
	HAS(buf, "     1.600000000      <not counted>      page-faults\n");
	ASSERT(!strstr(strstr(buf, "counts unit events") + 1, "counts unit events")); /* the header once */
	ASSERT(!strstr(buf, "Performance counter stats"));
	free(buf);
	bench_result_release(&r);
}

TEST(baseline_path)
{
	struct sbuf p = SBUF_INIT;
	struct cprof_err err;
	setenv("XDG_DATA_HOME", "/x/data", 1);
	ASSERT_OK(bench_baseline_path("main-1.2", &p, &err));
	ASSERT_STREQ(p.buf, "/x/data/cprof/baselines/main-1.2.json");
	sbuf_reset(&p);
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/u", 1);
	ASSERT_OK(bench_baseline_path("main", &p, &err));
	ASSERT_STREQ(p.buf, "/home/u/.local/share/cprof/baselines/main.json");
	sbuf_reset(&p);
	ASSERT_OK(bench_baseline_path("./here.json", &p, &err));
	ASSERT_STREQ(p.buf, "./here.json");
	sbuf_reset(&p);
	ASSERT_EQ(bench_baseline_path("a b", &p, &err), -EINVAL);
	ASSERT_EQ(bench_baseline_path(".hidden", &p, &err), -EINVAL);
	ASSERT_EQ(bench_baseline_path("", &p, &err), -EINVAL);
	sbuf_release(&p);
}

RUN_TESTS(T(read_group), T(scaling), T(text_view), T(compare_view), T(csv_view), T(json_round_trip), T(json_reader),
	  T(interval_view), T(baseline_path))
