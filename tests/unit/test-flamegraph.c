/* test-flamegraph.c - flame graph layout, pruning, icicle order and diff colours, read back from the SVG. */
#include <errno.h>

#include "cprof/flamegraph.h"
#include "cprof/folded.h"
#include "harness.h"

static const char folded_in[] =
	"main;a;b 10\n"
	"main;a;c 30\n"
	"main;d 59\n"
	"main;tiny 1\n"
	"main;sys_[k] 100\n";

struct frame {
	double x, y, w;
	int r, g, b;
	char title[256];
};

/* Render text (folded) with options; before (may be NULL) makes it differential. */
static char *render(const char *text, const char *before, const struct fg_opts *o)
{
	struct cprof_data d, bd;
	struct cprof_err err;
	struct profile p, bp;
	struct profile_filter f = PROFILE_FILTER_INIT;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	ASSERT(fp);
	ASSERT_OK(folded_read(&d, fp, "in", true, NULL, &err));
	fclose(fp);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	struct flamegraph g;
	fg_init(&g);
	fg_add_profile(&g, &p, NULL, false, false);
	if (before) {
		fp = fmemopen((void *)before, strlen(before), "r");
		ASSERT(fp);
		ASSERT_OK(folded_read(&bd, fp, "before", true, NULL, &err));
		fclose(fp);
		ASSERT_OK(profile_build(&bp, &bd, &f, &err));
		fg_add_profile(&g, &bp, NULL, false, true);
	}
	char *svg = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&svg, &len);
	ASSERT_OK(fg_write(out, &g, o, &err));
	fclose(out);
	fg_release(&g);
	profile_release(&p);
	cprof_data_release(&d);
	if (before) {
		profile_release(&bp);
		cprof_data_release(&bd);
	}
	return svg;
}

/* The frame whose tooltip starts with "NAME (" or NULL. */
static bool find_frame(const char *svg, const char *name, struct frame *fr)
{
	char key[128];
	snprintf(key, sizeof key, "<g><title>%s (", name);
	const char *s = strstr(svg, key);
	if (!s)
		return false;
	s += strlen("<g><title>");
	const char *e = strstr(s, "</title>");
	ASSERT(e && (size_t)(e - s) < sizeof fr->title);
	memcpy(fr->title, s, (size_t)(e - s));
	fr->title[e - s] = 0;
	ASSERT_EQ(sscanf(e, "</title><rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%*f\" fill=\"rgb(%d,%d,%d)\"",
			 &fr->x, &fr->y, &fr->w, &fr->r, &fr->g, &fr->b), 6);
	return true;
}

static struct frame get(const char *svg, const char *name)
{
	struct frame fr;
	if (!find_frame(svg, name, &fr))
		FAIL_("no frame %s", name);
	return fr;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *s = hay; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

TEST(titles_and_widths)
{
	struct fg_opts o = FG_OPTS_INIT;
	char *svg = render(folded_in, NULL, &o);
	ASSERT_STREQ(get(svg, "all").title, "all (200 samples, 100.00%)");
	ASSERT_STREQ(get(svg, "main").title, "main (200 samples, 100.00%)");
	ASSERT_STREQ(get(svg, "a").title, "a (40 samples, 20.00%)");
	ASSERT_STREQ(get(svg, "c").title, "c (30 samples, 15.00%)");
	ASSERT_STREQ(get(svg, "sys").title, "sys (100 samples, 50.00%)"); /* suffix stripped */
	ASSERT_EQ(count(svg, "<g><title>"), 8);
	/* Widths proportional to counts: 1180 px for 200 samples. */
	double full = 1200 - 20;
	ASSERT_NEAR(get(svg, "all").w, full, 0.1);
	ASSERT_NEAR(get(svg, "a").w, full * 40 / 200, 0.1);
	ASSERT_NEAR(get(svg, "b").w, full * 10 / 200, 0.1);
	ASSERT_NEAR(get(svg, "c").w, full * 30 / 200, 0.1);
	ASSERT_NEAR(get(svg, "d").w, full * 59 / 200, 0.1);
	/* Children in name order, side by side: a, d, sys, tiny; b then c in a. */
	ASSERT_NEAR(get(svg, "a").x, 10, 0.01);
	ASSERT_NEAR(get(svg, "d").x, get(svg, "a").x + get(svg, "a").w, 0.01);
	ASSERT_NEAR(get(svg, "c").x, get(svg, "b").x + get(svg, "b").w, 0.01);
	/* Kernel frames orange: r >= 190, b == 0. */
	ASSERT(get(svg, "sys").r >= 190 && get(svg, "sys").b == 0);
	/* Flame: deeper frames higher up. */
	ASSERT(get(svg, "b").y < get(svg, "a").y && get(svg, "a").y < get(svg, "main").y);
	free(svg);
}

TEST(min_width_prunes)
{
	struct fg_opts o = FG_OPTS_INIT;
	char *svg = render(folded_in, NULL, &o);
	struct frame fr;
	ASSERT(find_frame(svg, "tiny", &fr)); /* 5.9 px by default */
	free(svg);
	o.min_width = 10;
	svg = render(folded_in, NULL, &o);
	ASSERT(!find_frame(svg, "tiny", &fr));
	ASSERT(find_frame(svg, "b", &fr)); /* 59 px */
	ASSERT_EQ(count(svg, "<g><title>"), 7);
	/* A pruned subtree does not count toward the height: only "x" is deep. */
	free(svg);
	const char deep[] = "r;x;y;z;w 1\nr;q 999\n";
	o.min_width = 0.1;
	svg = render(deep, NULL, &o);
	ASSERT(find_frame(svg, "w", &fr));
	double tall = get(svg, "all").y;
	free(svg);
	o.min_width = 5;
	svg = render(deep, NULL, &o);
	ASSERT(!find_frame(svg, "x", &fr));
	ASSERT_NEAR(tall - get(svg, "all").y, 3 * 16, 0.01); /* three levels fewer */
	free(svg);
}

TEST(inverted_order)
{
	struct fg_opts o = FG_OPTS_INIT;
	o.inverted = true;
	char *svg = render(folded_in, NULL, &o);
	ASSERT(get(svg, "all").y < get(svg, "main").y);
	ASSERT(get(svg, "main").y < get(svg, "a").y);
	ASSERT(get(svg, "a").y < get(svg, "b").y);
	ASSERT_NEAR(get(svg, "main").y - get(svg, "all").y, 16, 0.01);
	ASSERT(strstr(svg, ">Icicle Graph<"));
	free(svg);
}

TEST(diff_colours)
{
	/* Widths from after; self shares: grow doubles, shrink halves, same stays. */
	const char before[] = "m;grow 10\nm;shrink 40\nm;same 50\n";
	const char after[] = "m;grow 20\nm;shrink 20\nm;same 50\nm;new 10\n";
	struct fg_opts o = FG_OPTS_INIT;
	char *svg = render(after, before, &o);
	struct frame grow = get(svg, "grow"), shrink = get(svg, "shrink"), same = get(svg, "same"), m = get(svg, "m");
	ASSERT_EQ(grow.r, 255);
	ASSERT(grow.g < 210 && grow.g == grow.b);
	ASSERT_EQ(shrink.b, 255);
	ASSERT(shrink.r < 210 && shrink.r == shrink.g);
	ASSERT(same.r == 255 && same.g == 255 && same.b == 255);
	ASSERT(m.r == 255 && m.g == 255 && m.b == 255); /* no self samples on either side */
	ASSERT_NEAR(grow.w, 1180.0 * 20 / 100, 0.1);    /* widths from after */
	/* Self shares of both sides, and the change in percentage points. */
	ASSERT(strstr(grow.title, "; self 10.00% before, 20.00% after: +10.00 pp"));
	ASSERT(strstr(shrink.title, "; self 40.00% before, 20.00% after: -20.00 pp"));
	free(svg);
	/* Both sides normalised: twice the samples everywhere is no change. */
	svg = render("m;a 20\nm;b 40\n", "m;a 10\nm;b 20\n", &o);
	ASSERT(get(svg, "a").g == 255 && get(svg, "b").r == 255);
	free(svg);
	/* --negate swaps the hues. */
	o.negate = true;
	svg = render(after, before, &o);
	ASSERT_EQ(get(svg, "grow").b, 255);
	ASSERT_EQ(get(svg, "shrink").r, 255);
	free(svg);
}

TEST(colours_deterministic_and_escaped)
{
	struct fg_opts o = FG_OPTS_INIT;
	const char in[] = "a<b>&\"c\";f_[i] 3\nz 1\n";
	char *s1 = render(in, NULL, &o), *s2 = render(in, NULL, &o);
	ASSERT_STREQ(s1, s2);
	ASSERT(strstr(s1, "<title>a&lt;b&gt;&amp;&quot;c&quot; ("));
	struct frame f = get(s1, "f");
	ASSERT(f.r < 120 && f.g >= 165 && f.b >= 165); /* inlined: aqua */
	free(s1);
	free(s2);
	o.palette = FG_COLD;
	s1 = render(in, NULL, &o);
	f = get(s1, "z");
	ASSERT(f.b >= 225 && f.r < f.g && f.g < f.b); /* light blue: black text reads on it */
	free(s1);
}

/* A recording: threads alpha (tid 1) and beta (tid 2), events cycles and faults. */
static void make_recording(struct cprof_data *d)
{
	cprof_data_init(d);
	const char *evs[] = { "cycles", "faults" };
	for (int i = 0; i < 2; i++)
		vec_push(&d->events, ((struct cprof_event){ .name = cprof_intern(d, evs[i]), .unit = cprof_intern(d, "events"),
							    .period = 1 }));
	vec_push(&d->threads, ((struct cprof_thread){ .pid = 1, .tid = 1, .comm = cprof_intern(d, "alpha") }));
	vec_push(&d->threads, ((struct cprof_thread){ .pid = 1, .tid = 2, .comm = cprof_intern(d, "beta") }));
	const char *names[] = { "main", "work", "idle", "fault" };
	uint32_t fr[4];
	for (int i = 0; i < 4; i++)
		fr[i] = cprof_add_frame(d, &(struct cprof_frame){ .func = cprof_intern(d, names[i]), .addr = 0x1000u + (unsigned)i });
	uint32_t work[] = { fr[1], fr[0] }, idle[] = { fr[2], fr[0] }, fault[] = { fr[3], fr[0] }; /* leaf first */
	uint32_t s_work = cprof_add_stack(d, work, 2, 0), s_idle = cprof_add_stack(d, idle, 2, 0);
	uint32_t s_fault = cprof_add_stack(d, fault, 2, 0);
	for (int i = 0; i < 3; i++)
		vec_push(&d->samples, ((struct cprof_sample){ .time = 10u + (unsigned)i, .period = 100, .pid = 1, .tid = 1, .stack = s_work }));
	vec_push(&d->samples, ((struct cprof_sample){ .time = 20, .period = 100, .pid = 1, .tid = 2, .stack = s_idle }));
	vec_push(&d->samples, ((struct cprof_sample){ .time = 30, .period = 1, .pid = 1, .tid = 1, .stack = s_fault, .event = 1 }));
}

static char *render_recording(const struct cprof_data *d, const struct profile_filter *f, bool per_thread)
{
	struct cprof_err err;
	struct profile p;
	struct flamegraph g;
	struct fg_opts o = FG_OPTS_INIT;
	ASSERT_OK(profile_build(&p, d, f, &err));
	fg_init(&g);
	if (per_thread)
		ASSERT_OK(fg_add_profile_threads(&g, &p, f, false, false, &err));
	else
		fg_add_profile(&g, &p, NULL, false, false);
	char *svg = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&svg, &len);
	ASSERT_OK(fg_write(out, &g, &o, &err));
	fclose(out);
	fg_release(&g);
	profile_release(&p);
	return svg;
}

TEST(recording_threads_and_events)
{
	struct cprof_data d;
	struct frame fr;
	make_recording(&d);
	struct profile_filter f = PROFILE_FILTER_INIT;
	char *svg = render_recording(&d, &f, true);
	ASSERT_STREQ(get(svg, "alpha-1").title, "alpha-1 (3 samples, 75.00%)");
	ASSERT_STREQ(get(svg, "beta-2").title, "beta-2 (1 sample, 25.00%)");
	ASSERT(get(svg, "main").y < get(svg, "alpha-1").y); /* threads are the roots */
	ASSERT(!find_frame(svg, "fault", &fr));             /* another event */
	free(svg);
	f.tid = 2;
	svg = render_recording(&d, &f, false);
	ASSERT_STREQ(get(svg, "all").title, "all (1 sample, 100.00%)");
	ASSERT(find_frame(svg, "idle", &fr) && !find_frame(svg, "work", &fr));
	free(svg);
	f = (struct profile_filter)PROFILE_FILTER_INIT;
	f.event = 1;
	svg = render_recording(&d, &f, true);
	ASSERT_STREQ(get(svg, "fault").title, "fault (1 sample, 100.00%)");
	ASSERT(find_frame(svg, "alpha-1", &fr) && !find_frame(svg, "beta-2", &fr));
	free(svg);
	cprof_data_release(&d);
}

/* A flame chart of a recording's threads: one lane each, x is time. Alpha's
 * samples at 10, 11, 12 ns (a 1 ns interval), beta's at 20: alpha runs from
 * 0 for 3 intervals, beta from 10 for 1, on an axis 11 intervals long, and
 * beta's lane is above alpha's deepest frame. */
TEST(flame_chart_lanes)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	make_recording(&d);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	struct flamegraph g;
	struct fg_opts o = FG_OPTS_INIT;
	fg_init_chart(&g);
	fg_add_samples(&g, &p, false, true);
	ASSERT(g.lanes);
	ASSERT_NEAR(g.tick_s, 1e-9, 1e-15);
	char *svg = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&svg, &len);
	ASSERT_OK(fg_write(out, &g, &o, &err));
	fclose(out);
	double u = 1180.0 / 11;
	struct frame alpha = get(svg, "alpha-1"), beta = get(svg, "beta-2"), work = get(svg, "work");
	ASSERT_NEAR(alpha.x, 10, 0.01);
	ASSERT_NEAR(alpha.w, 3 * u, 0.01);
	ASSERT_NEAR(work.w, 3 * u, 0.01); /* three samples in a row: one frame */
	ASSERT_EQ(count(svg, "<g><title>work ("), 1);
	ASSERT_NEAR(beta.x, 10 + 10 * u, 0.01);
	ASSERT_NEAR(beta.w, u, 0.01);
	ASSERT(beta.y < work.y); /* above alpha's lane */
	ASSERT(strstr(alpha.title, "alpha-1 (at 0 s for 3 ns"));
	ASSERT(strstr(svg, "data-span=\"1.1e-08\""));
	ASSERT(strstr(svg, "<g id=\"axis\""));
	free(svg);
	fg_release(&g);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(flame_chart_keeps_time_order)
{
	struct cprof_data d;
	struct cprof_err err;
	struct profile p;
	struct profile_filter f = PROFILE_FILTER_INIT;
	const char in[] = "m;a 1\nm;a 2\nm 1\nm;a 1\nm;b;c 2\nm;a 1\nx 1\n";
	FILE *fp = fmemopen((void *)in, strlen(in), "r");
	ASSERT(fp);
	ASSERT_OK(folded_read(&d, fp, "in", true, NULL, &err));
	fclose(fp);
	ASSERT_OK(profile_build(&p, &d, &f, &err));
	struct flamegraph g;
	struct fg_opts o = FG_OPTS_INIT;
	fg_init_chart(&g);
	fg_add_samples(&g, &p, false, false);
	char *svg = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&svg, &len);
	ASSERT_OK(fg_write(out, &g, &o, &err));
	fclose(out);
	/* 9 samples over 1180 px: a [0,3), m's self [3,4), a [4,5), b [5,7), a [7,8), x [8,9). */
	double u = 1180.0 / 9;
	ASSERT_EQ(count(svg, "<g><title>a ("), 3);
	struct frame fr = get(svg, "a");
	ASSERT_NEAR(fr.x, 10, 0.01);
	ASSERT_NEAR(fr.w, 3 * u, 0.01);
	ASSERT_NEAR(get(svg, "b").x, 10 + 5 * u, 0.01);
	ASSERT_NEAR(get(svg, "c").x, 10 + 5 * u, 0.01);
	ASSERT_NEAR(get(svg, "x").x, 10 + 8 * u, 0.01);
	ASSERT_STREQ(get(svg, "m").title, "m (8 samples, 88.89%)");
	ASSERT(strstr(svg, ">Flame Chart<"));
	free(svg);
	fg_release(&g);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(empty_fails)
{
	struct flamegraph g;
	struct fg_opts o = FG_OPTS_INIT;
	struct cprof_err err;
	fg_init(&g);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ASSERT_EQ(fg_write(out, &g, &o, &err), -ENODATA);
	fclose(out);
	ASSERT_EQ(len, 0);
	free(buf);
	fg_release(&g);
}

/* The tree found by labels (fg_add_labels) and by name ids (fg_add_stack),
 * mixed in one graph, against counts taken the slow way: parents with a
 * few children (found by walking them) and with hundreds (found through
 * the index), stacks in an order that defeats the previous-stack shortcut,
 * and labels that share a hash prefix. */
TEST(tree_by_labels_and_ids)
{
	enum { WIDE = 300, DEPTH = 4, STACKS = 5000 };
	struct flamegraph g;
	fg_init(&g);
	char text[DEPTH][16];
	struct folded_tok lab[DEPTH];
	uint64_t expect_root = 0;
	/* want[a][b]: samples through "w<a>;n<b>", a < WIDE, b < 3. */
	static uint64_t want[WIDE][3], want_leaf[WIDE][3][2];
	memset(want, 0, sizeof want);
	memset(want_leaf, 0, sizeof want_leaf);
	uint32_t seed = 7;
	for (int i = 0; i < STACKS; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned a = (seed >> 8) % WIDE, b = (seed >> 20) % 3, c = (seed >> 24) % 2;
		uint64_t count = 1 + i % 5;
		snprintf(text[0], sizeof text[0], "root");
		snprintf(text[1], sizeof text[1], "w%u", a);
		snprintf(text[2], sizeof text[2], "n%u", b);
		snprintf(text[3], sizeof text[3], "leaf%u", c);
		size_t n = c ? DEPTH : DEPTH - 1; /* some stacks end at n<b> */
		for (size_t k = 0; k < n; k++)
			lab[k] = (struct folded_tok){ .s = text[k], .len = strlen(text[k]) }; /* hash 0: computed */
		if (i % 8 < 6) { /* runs of label stacks: some still queued when the next comes */
			fg_add_labels(&g, lab, n, count);
		} else {
			uint32_t ids[DEPTH];
			for (size_t k = 0; k < n; k++)
				ids[k] = fg_intern(&g, lab[k].s, lab[k].len);
			fg_add_stack(&g, ids, n, count);
		}
		expect_root += count;
		want[a][b] += count;
		if (c)
			want_leaf[a][b][1] += count;
	}
	fg_flush(&g);
	ASSERT_EQ(g.nodes.v[0].total, expect_root);
	/* One "root" under all, WIDE children under it, each name once. */
	uint32_t root = g.nodes.v[0].first_child;
	ASSERT(root && !g.nodes.v[root].next_sibling);
	ASSERT_EQ(g.nodes.v[root].total, expect_root);
	size_t wide = 0;
	for (uint32_t w = g.nodes.v[root].first_child; w; w = g.nodes.v[w].next_sibling, wide++) {
		const struct fg_name *wn = &g.names.v[g.nodes.v[w].name];
		unsigned a = (unsigned)atoi(g.names_buf.buf + wn->off + 1);
		uint64_t sum = 0;
		for (uint32_t m = g.nodes.v[w].first_child; m; m = g.nodes.v[m].next_sibling) {
			const struct fg_name *mn = &g.names.v[g.nodes.v[m].name];
			unsigned b = (unsigned)atoi(g.names_buf.buf + mn->off + 1);
			ASSERT_EQ(g.nodes.v[m].total, want[a][b]);
			ASSERT_EQ(g.nodes.v[m].self, want[a][b] - want_leaf[a][b][1]);
			ASSERT_EQ(g.nodes.v[m].depth, 3);
			sum += g.nodes.v[m].total;
		}
		ASSERT_EQ(g.nodes.v[w].total, sum);
	}
	ASSERT_EQ(wide, WIDE);
	/* Every label interned once: all, root, w*, n*, leaf1 (leaf0 ends no stack). */
	ASSERT_EQ(g.names.n, 1 + 1 + WIDE + 3 + 1);
	fg_release(&g);
}

RUN_TESTS(T(tree_by_labels_and_ids), T(titles_and_widths), T(min_width_prunes), T(inverted_order), T(diff_colours),
	  T(colours_deterministic_and_escaped), T(recording_threads_and_events),
	  T(flame_chart_keeps_time_order), T(flame_chart_lanes), T(empty_fails))
