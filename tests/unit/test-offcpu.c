/*
 * test-offcpu.c - intervals off a CPU from context-switch records
 * (src/offcpu/track.c): records laid out as the kernel writes them
 * (sample_type TID | TIME | CALLCHAIN, sample_id_all), read from two
 * rings out of order, paired by thread; preemption kept apart; lost and
 * malformed records counted; stacks interned once.
 */
#include <linux/perf_event.h>

#include "../../src/offcpu/offcpu-internal.h"
#include "cprof/data.h"
#include "harness.h"

#define PID 100

/* A context-switches sample of tid at time, with n user ips. */
static void sample(struct oc_trace *t, uint32_t tid, uint64_t time, const uint64_t *ips, uint64_t n)
{
	uint64_t buf[64] = { 0 };
	struct perf_event_header *h = (void *)buf;
	h->type = PERF_RECORD_SAMPLE;
	uint32_t pt[2] = { PID, tid };
	memcpy(buf + 1, pt, 8);
	buf[2] = time;
	buf[3] = n;
	memcpy(buf + 4, ips, n * 8);
	h->size = (uint16_t)(8 * (4 + n));
	oc_trace_record(t, buf, h->size);
}

static void sw(struct oc_trace *t, uint32_t tid, uint64_t time, uint16_t misc)
{
	uint64_t buf[3] = { 0 };
	struct perf_event_header *h = (void *)buf;
	h->type = PERF_RECORD_SWITCH;
	h->misc = misc;
	h->size = sizeof buf;
	uint32_t pt[2] = { PID, tid };
	memcpy(buf + 1, pt, 8);
	buf[2] = time;
	oc_trace_record(t, buf, sizeof buf);
}

static const uint64_t stack_a[] = { PERF_CONTEXT_USER, 0x1000, 0x2000 };
static const uint64_t stack_b[] = { PERF_CONTEXT_USER, 0x3000, 0x2000 };

TEST(pairs_across_rings)
{
	struct oc_trace t;
	oc_trace_init(&t, true);
	/* The switch-in comes on another CPU's ring, read first. */
	sw(&t, 7, 5000, 0);
	sample(&t, 7, 990, stack_a, 3);
	sw(&t, 7, 1000, PERF_RECORD_MISC_SWITCH_OUT);
	oc_trace_take(&t, UINT64_MAX);
	ASSERT_EQ(t.waits.n, 1);
	ASSERT_EQ(t.waits.v[0].start, 1000);
	ASSERT_EQ(t.waits.v[0].dur, 4000);
	ASSERT_EQ(t.waits.v[0].tid, 7);
	ASSERT_EQ(t.waits.v[0].flags, 0);
	ASSERT_EQ(t.waits.v[0].stack, 0);
	ASSERT_EQ(t.stacks.n, 1);
	ASSERT_EQ(t.stacks.v[0].n, 3);
	oc_trace_release(&t);
}

TEST(preempted_apart)
{
	struct oc_trace t;
	oc_trace_init(&t, true);
	sample(&t, 7, 100, stack_a, 3);
	sw(&t, 7, 101, PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
	sw(&t, 7, 151, 0);
	sample(&t, 7, 200, stack_b, 3);
	sw(&t, 7, 201, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 1201, 0);
	sample(&t, 7, 1300, stack_a, 3); /* the same stack again: interned once */
	sw(&t, 7, 1301, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 1311, 0);
	oc_trace_end(&t);
	ASSERT_EQ(t.waits.n, 3);
	ASSERT_EQ(t.waits.v[0].flags, OWF_PREEMPT);
	ASSERT_EQ(t.waits.v[0].dur, 50);
	ASSERT_EQ(t.waits.v[1].flags, 0);
	ASSERT_EQ(t.waits.v[1].dur, 1000);
	ASSERT_EQ(t.waits.v[1].stack, 1);
	ASSERT_EQ(t.waits.v[2].stack, 0);
	ASSERT_EQ(t.stacks.n, 2);
	ASSERT_EQ(t.unfinished, 0);
	oc_trace_release(&t);
}

TEST(horizon_waits_for_order)
{
	struct oc_trace t;
	oc_trace_init(&t, true);
	sample(&t, 7, 100, stack_a, 3);
	sw(&t, 7, 101, PERF_RECORD_MISC_SWITCH_OUT);
	oc_trace_take(&t, 500); /* the switch-in is not read yet */
	ASSERT_EQ(t.waits.n, 0);
	ASSERT_EQ(t.batch.n, 0);
	sw(&t, 7, 900, 0);
	sw(&t, 8, 950, PERF_RECORD_MISC_SWITCH_OUT); /* another thread, no sample: no stack */
	oc_trace_take(&t, 920);
	ASSERT_EQ(t.waits.n, 1);
	ASSERT_EQ(t.waits.v[0].dur, 799);
	ASSERT_EQ(t.batch.n, 1); /* the later one waits */
	oc_trace_end(&t);
	ASSERT_EQ(t.unfinished, 1); /* thread 8 never came back */
	oc_trace_release(&t);
}

TEST(lost_and_unpaired)
{
	struct oc_trace t;
	oc_trace_init(&t, true);
	uint64_t lost[4] = { 0 };
	struct perf_event_header *h = (void *)lost;
	h->type = PERF_RECORD_LOST;
	h->size = sizeof lost;
	lost[1] = 1;  /* id */
	lost[2] = 17; /* records */
	oc_trace_record(&t, lost, sizeof lost);
	ASSERT_EQ(t.lost, 17);
	sw(&t, 7, 50, 0); /* a first run: nothing to measure */
	sw(&t, 7, 100, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 300, PERF_RECORD_MISC_SWITCH_OUT); /* the switch-in between was lost */
	sw(&t, 7, 400, 0);
	oc_trace_end(&t);
	ASSERT_EQ(t.double_out, 1);
	ASSERT_EQ(t.waits.n, 1);
	ASSERT_EQ(t.waits.v[0].start, 300);
	ASSERT_EQ(t.waits.v[0].dur, 100);
	ASSERT_EQ(t.waits.v[0].stack, OC_NONE);
	oc_trace_release(&t);
}

TEST(malformed)
{
	struct oc_trace t;
	oc_trace_init(&t, true);
	uint64_t buf[8] = { 0 };
	struct perf_event_header *h = (void *)buf;
	h->type = PERF_RECORD_SAMPLE;
	buf[3] = 1000; /* more ips than the record holds */
	h->size = 40;
	oc_trace_record(&t, buf, 40);
	h->type = PERF_RECORD_SWITCH;
	h->size = 16; /* cut inside its trailer */
	oc_trace_record(&t, buf, 16);
	ASSERT_EQ(t.malformed, 2);
	ASSERT_EQ(t.batch.n, 0);
	oc_trace_release(&t);
}

/* An unwound switch sample in the worker's store, as raw_store_add leaves
 * it: the kernel's sampled pc, then the user frames after their marker. */
static void unwound(struct raw_store *st, uint32_t tid, uint64_t time, const uint64_t *user, size_t n)
{
	struct raw_sample x = { .time = time, .pid = PID, .tid = tid, .ip_off = st->ips.n, .nips = (uint32_t)(n + 1) };
	vec_push(&st->ips, 0xffffffff81000000ULL);
	for (size_t i = 0; i < n; i++)
		vec_push(&st->ips, user[i]);
	vec_push(&st->samples, x);
}

TEST(dwarf_samples_matched)
{
	struct oc_trace t;
	struct raw_store st = { 0 };
	oc_trace_init(&t, false);
	/* Thread 7: three waits; the second's sample was lost. Thread 8: one
	 * wait, its sample too long before it to be its own. */
	sw(&t, 7, 1000, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 2000, 0);
	sw(&t, 7, 3000, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 4000, 0);
	sw(&t, 8, 3500, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 8, 3600, 0);
	sw(&t, 7, 5000, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 7, 6000, 0);
	sw(&t, 8, 9000000, PERF_RECORD_MISC_SWITCH_OUT);
	sw(&t, 8, 9000100, 0);
	oc_trace_end(&t);
	ASSERT_EQ(t.waits.n, 5);
	unwound(&st, 7, 4990, stack_b, 3);
	unwound(&st, 8, 3490, stack_a, 3);
	unwound(&st, 7, 990, stack_a, 3);
	unwound(&st, 8, 3700, stack_b, 3); /* on a CPU at 3700: 8's next wait is 9 ms later */
	oc_trace_unwound(&t, &st);
	/* In switch-in order: 7 @1000, 8 @3500, 7 @3000, 7 @5000, 8 @9000000. */
	ASSERT_EQ(t.waits.v[0].stack, t.waits.v[1].stack);
	ASSERT_EQ(t.waits.v[2].stack, OC_NONE);
	ASSERT(t.waits.v[3].stack != OC_NONE && t.waits.v[3].stack != t.waits.v[0].stack);
	ASSERT_EQ(t.waits.v[4].stack, OC_NONE);
	ASSERT_EQ(t.unwound_missing, 2);
	ASSERT_EQ(t.stacks.n, 2); /* interned once each */
	const struct oc_stack *a = &t.stacks.v[t.waits.v[0].stack];
	ASSERT_EQ(a->n, 3);
	ASSERT(memcmp(t.stack_ips.v + a->off, stack_a, sizeof stack_a) == 0);
	vec_release(&st.samples);
	vec_release(&st.ips);
	oc_trace_release(&t);
}

RUN_TESTS(T(pairs_across_rings), T(preempted_apart), T(horizon_waits_for_order), T(lost_and_unpaired), T(malformed),
	  T(dwarf_samples_matched))
