/*
 * test-latpair.c - the pairing of function entries with returns
 * (src/latency/pair.c) on records made up here: plain calls, recursion,
 * calls a longjmp left (found at the next entry and at the next return),
 * a thread that exits inside a call, a tail call into another probed
 * function, records out of time order across threads, returns without
 * their entry, the threshold and the slowest calls kept.
 */
#include "cprof/percentile.h"
#include "../../src/latency/lat-internal.h"
#include "harness.h"

#define SP0 0x7ffc0000ULL

static uint64_t now_t;

static void entry(struct lat_trace *t, uint32_t tid, uint32_t func, uint64_t sp)
{
	struct lat_ev e = { .time = now_t, .sp = sp, .pid = 1, .tid = tid, .func = func };
	lat_trace_add(t, &e, NULL);
}

static void ret(struct lat_trace *t, uint32_t tid, uint32_t func, uint64_t sp, uint64_t ip)
{
	struct lat_ev e = { .time = now_t, .sp = sp + 8, .pid = 1, .tid = tid, .func = func, .ret = true,
			    .nips = ip ? 1 : 0 };
	lat_trace_add(t, &e, ip ? &ip : NULL);
}

TEST(plain_calls_and_threshold)
{
	struct lat_trace t;
	lat_trace_init(&t, 1, 2, 150);
	for (uint64_t i = 0; i < 4; i++) {
		now_t = 1000 * i;
		entry(&t, 7, 0, SP0);
		now_t += 100 * (i + 1); /* 100, 200, 300, 400 ns */
		ret(&t, 7, 0, SP0, 0x400000 + i);
	}
	lat_trace_end(&t);
	struct lat_func *f = &t.funcs[0];
	ASSERT_EQ(f->calls, 4);
	ASSERT_EQ(f->returned, 4);
	ASSERT_EQ(f->unreturned, 0);
	ASSERT_EQ(f->total, 1000);
	ASSERT_EQ(f->slow, 3); /* 200, 300, 400 > 150 */
	ASSERT_EQ(f->depth, 1);
	ASSERT_EQ(f->slowest.n, 2);
	uint64_t a = f->slowest.v[0].dur, b = f->slowest.v[1].dur;
	ASSERT((a == 400 && b == 300) || (a == 300 && b == 400));
	ASSERT_EQ(f->slowest.v[a == 400 ? 0 : 1].ips.v[0], 0x400003);
	ASSERT_EQ(t.unpaired, 0);
	lat_trace_release(&t);
}

TEST(recursion_nests)
{
	struct lat_trace t;
	lat_trace_init(&t, 1, 5, 1000000);
	now_t = 0;
	for (int d = 0; d < 6; d++, now_t += 10)
		entry(&t, 3, 0, SP0 - 64 * (uint64_t)d);
	for (int d = 5; d >= 0; d--, now_t += 10)
		ret(&t, 3, 0, SP0 - 64 * (uint64_t)d, 0);
	lat_trace_end(&t);
	struct lat_func *f = &t.funcs[0];
	ASSERT_EQ(f->calls, 6);
	ASSERT_EQ(f->returned, 6);
	ASSERT_EQ(f->depth, 6);
	/* The innermost took 10 ns, the outermost 110. */
	uint64_t lat[PCT_N];
	pct_summarize(f->durs.v, f->durs.n, lat);
	ASSERT_EQ(lat[PCT_MIN], 10);
	ASSERT_EQ(lat[PCT_MAX], 110);
	lat_trace_release(&t);
}

TEST(longjmp_and_thread_exit)
{
	struct lat_trace t;
	lat_trace_init(&t, 3, 5, 1000000);
	/* main (func 0) calls jumper (func 1) three times from the same sp;
	 * each longjmps back: only the next entry shows the last one gone. */
	now_t = 0;
	entry(&t, 5, 0, SP0);
	for (int i = 0; i < 3; i++, now_t += 10)
		entry(&t, 5, 1, SP0 - 128);
	/* main calls f2, which calls jumper, which longjmps to main: the
	 * return of main's own call of f2... never comes either; main
	 * returns, above both. */
	entry(&t, 5, 2, SP0 - 128);
	now_t += 10;
	entry(&t, 5, 1, SP0 - 256);
	now_t += 10;
	ret(&t, 5, 0, SP0, 0);
	/* Another thread ends inside func 2. */
	entry(&t, 6, 2, SP0);
	lat_trace_end(&t);
	ASSERT_EQ(t.funcs[0].returned, 1);
	ASSERT_EQ(t.funcs[1].calls, 4);
	ASSERT_EQ(t.funcs[1].unreturned, 4);
	ASSERT_EQ(t.funcs[1].returned, 0);
	ASSERT_EQ(t.funcs[2].calls, 2);
	ASSERT_EQ(t.funcs[2].unreturned, 2);
	ASSERT_EQ(t.unpaired, 0);
	lat_trace_release(&t);
}

TEST(tail_call_and_order)
{
	struct lat_trace t;
	lat_trace_init(&t, 2, 5, 1000000);
	/* f0 tail-calls f1: f1 enters at f0's sp, both return there, f1 first.
	 * Records of two threads arrive out of time order. */
	now_t = 100;
	entry(&t, 9, 0, SP0);
	now_t = 110;
	entry(&t, 9, 1, SP0);
	now_t = 150;
	ret(&t, 9, 1, SP0, 0);
	ret(&t, 9, 0, SP0, 0);
	now_t = 50; /* another thread, earlier, read later */
	entry(&t, 8, 0, SP0);
	now_t = 60;
	ret(&t, 8, 0, SP0, 0);
	/* A return whose entry was never seen (a lost record). */
	now_t = 200;
	ret(&t, 9, 1, SP0 + 512, 0);
	lat_trace_take(&t, 140); /* up to 140 now, the rest later */
	ASSERT_EQ(t.funcs[0].returned, 1);
	lat_trace_end(&t);
	ASSERT_EQ(t.funcs[0].calls, 2);
	ASSERT_EQ(t.funcs[0].returned, 2);
	ASSERT_EQ(t.funcs[1].returned, 1);
	ASSERT_EQ(t.funcs[0].total, 10 + 50);
	ASSERT_EQ(t.funcs[1].total, 40);
	ASSERT_EQ(t.unpaired, 1);
	ASSERT_EQ(t.funcs[0].unreturned + t.funcs[1].unreturned, 0);
	lat_trace_release(&t);
}

RUN_TESTS(T(plain_calls_and_threshold), T(recursion_nests), T(longjmp_and_thread_exit), T(tail_call_and_order))
