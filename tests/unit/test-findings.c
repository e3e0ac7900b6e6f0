/*
 * test-findings.c - each rule of the CPU findings on synthetic profiles
 * (folded stacks, with events and metadata added by hand): one profile that
 * triggers it and one that must not, the severities at the thresholds, the
 * thresholds set by name and from a config file, and the rules that need
 * what this machine cannot record (hardware counters, lost samples).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "cprof/findings.h"
#include "cprof/folded.h"

static void load(struct cprof_data *d, const char *folded)
{
	FILE *fp = fmemopen((void *)folded, strlen(folded), "r");
	ASSERT(fp);
	struct cprof_err err;
	int r = folded_read(d, fp, "test", true, NULL, &err);
	if (r < 0)
		FAIL_("folded_read: %s", err.msg);
	fclose(fp);
}

/* Build findings for folded text (plus optional meta) with rules r. */
static void run(struct findings *f, const char *folded, const char *const *meta, const struct finding_rules *r)
{
	struct cprof_data d;
	load(&d, folded);
	for (size_t i = 0; meta && meta[i]; i += 2)
		cprof_meta_set(&d, meta[i], meta[i + 1]);
	struct profile p;
	struct profile_filter flt = PROFILE_FILTER_INIT;
	struct cprof_err err;
	ASSERT_OK(profile_build(&p, &d, &flt, &err));
	findings_build(f, &p, r);
	profile_release(&p);
	cprof_data_release(&d);
}

static const struct finding *find(const struct findings *f, const char *rule)
{
	for (size_t i = 0; i < f->v.n; i++)
		if (strcmp(f->v.v[i].rule, rule) == 0)
			return &f->v.v[i];
	return NULL;
}

/* The "must not" profile: five functions of 20 % each, enough samples. */
static const char balanced[] = "main;a 2000\nmain;b 2000\nmain;c 2000\nmain;d 2000\nmain;e 2000\n";

TEST(balanced_triggers_nothing)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	run(&f, balanced, NULL, &r);
	if (f.v.n)
		FAIL_("unexpected finding '%s': %s", f.v.v[0].rule, f.v.v[0].summary);
	findings_release(&f);
}

TEST(hot_function)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	run(&f, "main;work;crunch 6000\nmain;other 4000\n", NULL, &r);
	const struct finding *x = find(&f, "hot-function");
	ASSERT(x && x->sev == SEV_HIGH);
	ASSERT_NEAR(x->value, 60, 1e-9);
	ASSERT(strstr(x->summary, "crunch takes 60.0 %"));
	ASSERT(strstr(x->evidence, "6,000 of 10,000 samples"));
	ASSERT(strstr(x->next, "cprof report --call-tree"));
	ASSERT(strstr(x->next, "'cprof annotate crunch'")); /* cprof's own annotate, not perf's */
	/* other is 40 %: medium */
	ASSERT_EQ(f.v.n, 2);
	ASSERT_EQ(f.v.v[1].sev, SEV_MEDIUM);
	findings_release(&f);
	/* thresholds move it */
	struct cprof_err err;
	ASSERT_OK(finding_rules_set(&r, "hot-function.high=70", &err));
	ASSERT_OK(finding_rules_set(&r, "hot-function.medium = 45", &err));
	run(&f, "main;work;crunch 6000\nmain;other 4000\n", NULL, &r);
	ASSERT_EQ(f.v.n, 1);
	ASSERT_EQ(f.v.v[0].sev, SEV_MEDIUM);
	findings_release(&f);
}

TEST(allocator)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	run(&f, "main;parse;malloc;_int_malloc 1500\nmain;parse;free;_int_free 900\nmain;parse 3800\n"
		"main;other 3800\n", NULL, &r);
	const struct finding *x = find(&f, "allocator");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 24, 1e-9);
	ASSERT(strstr(x->evidence, "called from parse (24.0 %)"));
	ASSERT(strstr(x->next, "cprof record --mem"));
	findings_release(&f);
	run(&f, "main;parse;malloc 50\nmain;parse 4950\nmain;other 5000\n", NULL, &r);
	ASSERT(!find(&f, "allocator"));
	findings_release(&f);
}

TEST(locks_and_yield)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	run(&f, "start_thread;worker;pthread_mutex_lock;__lll_lock_wait;entry_SYSCALL_64_[k];__x64_sys_futex_[k] 1200\n"
		"start_thread;worker 4400\nmain;poll_ready;sched_yield;entry_SYSCALL_64_[k];do_sched_yield_[k] 900\n"
		"main;a 3500\n", NULL, &r);
	const struct finding *x = find(&f, "locks");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 12, 1e-9);
	ASSERT(strstr(x->evidence, "from worker (12.0 %)"));
	ASSERT(strstr(x->evidence, "not sampled"));
	x = find(&f, "yield");
	ASSERT(x && strstr(x->evidence, "poll_ready"));
	/* a futex or yield system call is not a system call storm */
	ASSERT(!find(&f, "syscalls"));
	findings_release(&f);
	/* glibc's own unlock path: a hidden alias and an inlined helper */
	run(&f, "start_thread;worker;__GI___pthread_mutex_unlock_usercnt 700\n"
		"start_thread;worker;lll_mutex_unlock_optimized 500\nstart_thread;worker 8800\n", NULL, &r);
	x = find(&f, "locks");
	ASSERT(x);
	ASSERT_NEAR(x->value, 12, 1e-9);
	findings_release(&f);
}

TEST(syscalls_and_faults)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	run(&f, "main;emit;__write;entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_write_[k] 3000\n"
		"main;fill;asm_exc_page_fault_[k];exc_page_fault_[k];handle_mm_fault_[k] 2000\n"
		"main;emit;__write;entry_SYSCALL_64_[k];asm_exc_page_fault_[k] 500\nmain;a 4500\n", NULL, &r);
	const struct finding *x = find(&f, "syscalls");
	/* 30 %: medium (high from 3 x 15 % or half the time) */
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 30, 1e-9);
	if (!strstr(x->evidence, "entered through __write (30.0 %); called from emit (30.0 %)"))
		FAIL_("%s", x->evidence);
	ASSERT(strstr(x->next, "writev"));
	/* a fault inside a system call is a fault: 25 % */
	x = find(&f, "page-faults");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 25, 1e-9);
	ASSERT(strstr(x->evidence, "fill (20.0 %), emit (5.0 %)"));
	findings_release(&f);
	/* user-space frames named like kernel ones are not kernel work */
	run(&f, "main;do_syscall_64 5000\nmain;handle_mm_fault 5000\n", NULL, &r);
	ASSERT(!find(&f, "syscalls") && !find(&f, "page-faults"));
	findings_release(&f);
}

/* The category rules say what their share is of: the time for a clock
 * (folded samples count as time), the event shown otherwise. */
TEST(wording_by_event)
{
	static const char mix[] = "main;parse;malloc;_int_malloc 1500\n"
				  "start_thread;worker;pthread_mutex_lock;__lll_lock_wait 1200\n"
				  "main;poll_ready;sched_yield 900\n"
				  "main;emit;__write;entry_SYSCALL_64_[k];ksys_write_[k] 2000\n"
				  "main;fill;asm_exc_page_fault_[k];handle_mm_fault_[k] 2000\nmain;a 2400\n";
	static const char *const rules[] = { "allocator", "locks", "yield", "syscalls", "page-faults" };
	struct finding_rules r = FINDING_RULES_INIT;
	for (int faults = 0; faults < 2; faults++) {
		struct cprof_data d;
		load(&d, mix);
		if (faults) {
			d.events.v[0].name = cprof_intern(&d, "page-faults");
			d.events.v[0].unit = cprof_intern(&d, "faults");
		}
		struct profile p;
		struct profile_filter flt = PROFILE_FILTER_INIT;
		struct cprof_err err;
		ASSERT_OK(profile_build(&p, &d, &flt, &err));
		struct findings f;
		findings_build(&f, &p, &r);
		for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
			const struct finding *x = find(&f, rules[i]);
			if (!x)
				FAIL_("no %s finding", rules[i]);
			const char *want = faults ? " % of the page-faults are " : " % of the time is spent ";
			if (!strstr(x->summary, want) || (faults && strstr(x->summary, "time")))
				FAIL_("%s: '%s'", rules[i], x->summary);
		}
		const struct finding *x = find(&f, "allocator");
		ASSERT(strcmp(x->summary, faults ? "15.0 % of the page-faults are in the memory allocator"
						 : "15.0 % of the time is spent in the memory allocator") == 0);
		findings_release(&f);
		profile_release(&p);
		cprof_data_release(&d);
	}
}

TEST(recursion)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	struct sbuf deep = SBUF_INIT, shallow = SBUF_INIT;
	sbuf_adds(&deep, "main");
	for (int i = 0; i < 100; i++)
		sbuf_adds(&deep, ";walk");
	sbuf_adds(&deep, ";leaf 900\nmain;other 100\n");
	run(&f, deep.buf, NULL, &r);
	const struct finding *x = find(&f, "recursion");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 90, 1e-9);
	ASSERT(strstr(x->summary, "walk is on the stack up to 100 times"));
	findings_release(&f);
	/* 63 levels: under the default depth of 64 */
	sbuf_adds(&shallow, "main");
	for (int i = 0; i < 63; i++)
		sbuf_adds(&shallow, ";walk");
	sbuf_adds(&shallow, ";leaf 900\nmain;other 100\n");
	run(&f, shallow.buf, NULL, &r);
	ASSERT(!find(&f, "recursion"));
	findings_release(&f);
	sbuf_release(&deep);
	sbuf_release(&shallow);
}

/* Samples of extra events in a profile loaded from folded text. */
static void add_event(struct cprof_data *d, const char *name, uint64_t total)
{
	struct cprof_event e = { .name = cprof_intern(d, name), .unit = cprof_intern(d, "") };
	vec_push(&d->events, e);
	struct cprof_sample s = { .time = 1, .period = total, .stack = 0, .event = (uint16_t)(d->events.n - 1) };
	vec_push(&d->samples, s);
}

static void counters(struct findings *f, uint64_t cycles, uint64_t ins, uint64_t refs, uint64_t misses)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct cprof_data d;
	load(&d, balanced);
	add_event(&d, "cycles", cycles);
	add_event(&d, "instructions", ins);
	add_event(&d, "cache-references", refs);
	add_event(&d, "cache-misses", misses);
	struct profile p;
	struct profile_filter flt = PROFILE_FILTER_INIT;
	struct cprof_err err;
	ASSERT_OK(profile_build(&p, &d, &flt, &err));
	findings_build(f, &p, &r);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(ipc_and_cache_misses)
{
	struct findings f;
	counters(&f, 1000000, 400000, 100000, 25000);
	const struct finding *x = find(&f, "ipc");
	ASSERT(x && x->sev == SEV_HIGH);
	ASSERT_NEAR(x->value, 0.4, 1e-12);
	ASSERT(strstr(x->evidence, "400,000 instructions in 1,000,000 cycles: 0.40"));
	x = find(&f, "cache-misses");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT_NEAR(x->value, 25, 1e-9);
	findings_release(&f);
	counters(&f, 1000000, 800000, 100000, 35000);
	ASSERT(find(&f, "ipc")->sev == SEV_MEDIUM);
	ASSERT(find(&f, "cache-misses")->sev == SEV_HIGH);
	findings_release(&f);
	counters(&f, 1000000, 2500000, 100000, 2000);
	ASSERT(!find(&f, "ipc") && !find(&f, "cache-misses"));
	findings_release(&f);
}

TEST(quality)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	static const char *const lost[] = { "lost_samples", "3000", "call_graph", "none", NULL };
	run(&f, balanced, lost, &r);
	const struct finding *x = find(&f, "lost-samples");
	ASSERT(x && x->sev == SEV_CRITICAL); /* 3000 of 13000 = 23 % */
	ASSERT(strstr(x->next, "-m 512"));
	ASSERT(find(&f, "no-call-graph") && find(&f, "no-call-graph")->sev == SEV_INFO);
	ASSERT_EQ(f.v.v[0].sev, SEV_CRITICAL); /* most severe first */
	findings_release(&f);
	/* A larger ring is larger than the one the recording had. */
	static const char *const lost_big[] = { "lost_samples", "3000", "call_graph", "dwarf,32768", "mmap_pages", "1024",
						NULL };
	run(&f, balanced, lost_big, &r);
	x = find(&f, "lost-samples");
	ASSERT(x && strstr(x->next, "-m 2048 or more"));
	findings_release(&f);
	static const char *const few_lost[] = { "lost_samples", "50", "call_graph", "fp", NULL };
	run(&f, balanced, few_lost, &r);
	ASSERT(!find(&f, "lost-samples") && !find(&f, "no-call-graph"));
	findings_release(&f);
	run(&f, "main;[unknown] 300\nmain;a 700\n", NULL, &r);
	x = find(&f, "unknown-frames");
	ASSERT(x && x->sev == SEV_LOW);
	x = find(&f, "few-samples"); /* 1000 is not fewer than 1000 */
	ASSERT(!x);
	findings_release(&f);
	run(&f, "main;a 40\nmain;b 40\n", NULL, &r);
	x = find(&f, "few-samples");
	ASSERT(x && x->sev == SEV_MEDIUM);
	ASSERT(strstr(x->evidence, "80 samples"));
	findings_release(&f);
}

TEST(truncated)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct findings f;
	struct cprof_data d;
	load(&d, balanced);
	/* mark two of the five stacks as cut short: 40 % */
	for (uint32_t st = 0; st < 2; st++)
		d.stack_words.v[d.stack_offset.v[st]] |= STACKF_TRUNCATED;
	cprof_meta_set(&d, "call_graph", "dwarf,8192");
	struct profile p;
	struct profile_filter flt = PROFILE_FILTER_INIT;
	struct cprof_err err;
	ASSERT_OK(profile_build(&p, &d, &flt, &err));
	findings_build(&f, &p, &r);
	const struct finding *x = find(&f, "truncated-stacks");
	ASSERT(x && x->sev == SEV_HIGH);
	ASSERT(strstr(x->next, "dwarf,65528"));
	findings_release(&f);
	profile_release(&p);
	cprof_data_release(&d);
}

TEST(thresholds)
{
	struct finding_rules r = FINDING_RULES_INIT;
	struct cprof_err err;
	ASSERT_EQ(finding_rules_set(&r, "nope=1", &err), -EINVAL);
	ASSERT(strstr(err.msg, "unknown finding threshold 'nope'; known: hot-function.high"));
	ASSERT_EQ(finding_rules_set(&r, "ipc.low=x", &err), -EINVAL);
	ASSERT(strstr(err.msg, "needs a number"));
	ASSERT_EQ(finding_rules_set(&r, "ipc.low=-1", &err), -EINVAL);
	ASSERT_EQ(finding_rules_set(&r, "ipc.low", &err), -EINVAL);
	ASSERT_OK(finding_rules_parse(&r, "# thresholds\n\nipc.low = 0.5   # lower\n  allocator.percent=20\n",
				      "findings.conf", &err));
	ASSERT_NEAR(r.ipc_low, 0.5, 0);
	ASSERT_NEAR(r.alloc_pct, 20, 0);
	ASSERT_EQ(finding_rules_parse(&r, "ipc.low = 1\nbogus = 2\n", "findings.conf", &err), -EINVAL);
	ASSERT(strstr(err.msg, "'findings.conf': line 2: unknown finding threshold 'bogus'"));
	/* every key names a field, each a different one */
	for (const struct finding_key *k = finding_keys; k->name; k++) {
		struct finding_rules z;
		memset(&z, 0, sizeof z);
		char a[128];
		snprintf(a, sizeof a, "%s=7", k->name);
		ASSERT_OK(finding_rules_set(&z, a, &err));
		ASSERT_NEAR(*(double *)((char *)&z + k->offset), 7, 0);
		int set = 0;
		for (size_t i = 0; i < sizeof z / sizeof(double); i++)
			set += ((double *)&z)[i] == 7;
		ASSERT_EQ(set, 1);
	}
}

RUN_TESTS(T(balanced_triggers_nothing), T(hot_function), T(allocator), T(locks_and_yield), T(syscalls_and_faults),
	  T(wording_by_event), T(recursion), T(ipc_and_cache_misses), T(quality), T(truncated), T(thresholds))
