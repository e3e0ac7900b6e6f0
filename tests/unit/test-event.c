/*
 * test-event.c - event lists into perf_event_attr terms: generic, cache
 * and raw names, modifiers, groups, and PMU terms and tracepoints looked
 * up in a fake sysfs and tracefs built here (the layout of a real Intel
 * 'cpu' PMU: event config:0-7, umask config:8-15, edge config:18,
 * cmask config:24-31, ldlat config1:0-15).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "cprof/event.h"

static char root[64];
static struct ev_env env;

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(path, 0755);
			*p = '/';
		}
	FILE *fp = fopen(path, "w");
	ASSERT(fp);
	fprintf(fp, "%s\n", text);
	fclose(fp);
}

static void setup(void)
{
	snprintf(root, sizeof root, "/tmp/cprof-test-event.XXXXXX");
	ASSERT(mkdtemp(root));
	put("pmu/cpu/type", "4");
	put("pmu/cpu/format/event", "config:0-7");
	put("pmu/cpu/format/umask", "config:8-15");
	put("pmu/cpu/format/edge", "config:18");
	put("pmu/cpu/format/cmask", "config:24-31");
	put("pmu/cpu/format/ldlat", "config1:0-15");
	put("pmu/cpu/format/split", "config:0-3,32-35");
	put("pmu/cpu/events/cache-misses", "event=0x2e,umask=0x41");
	put("pmu/cpu/events/mem-loads", "event=0xcd,umask=0x1,ldlat=3");
	put("pmu/cpu/events/offcore", "event=0xb7,umask=?");
	put("pmu/msr/type", "9");
	put("pmu/msr/format/event", "config:0-63");
	put("pmu/msr/events/tsc", "event=0x00");
	put("trace/events/sched/sched_switch/id", "372");
	put("trace/events/syscalls/sys_enter_write/id", "641");
	static char pmu[128], tr[128];
	snprintf(pmu, sizeof pmu, "%s/pmu", root);
	snprintf(tr, sizeof tr, "%s/trace", root);
	env.pmu_root = pmu;
	env.tracefs = tr;
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ASSERT(system(cmd) == 0);
}

static struct ev_list parse_ok(const char *spec)
{
	struct ev_list l = { 0 };
	struct cprof_err err;
	int r = ev_list_parse(&l, spec, &env, &err);
	if (r < 0)
		FAIL_("'%s': %s", spec, err.msg);
	return l;
}

static void parse_bad(const char *spec, int code, const char *needle)
{
	struct ev_list l = { 0 };
	struct cprof_err err;
	int r = ev_list_parse(&l, spec, &env, &err);
	if (r != -code)
		FAIL_("'%s': expected -%d, got %d", spec, code, r);
	if (!strstr(err.msg, needle))
		FAIL_("'%s': message '%s' lacks '%s'", spec, err.msg, needle);
	ASSERT_EQ(l.v.n, 0);
	ev_list_release(&l);
}

TEST(generic)
{
	struct ev_list l = parse_ok("cycles,instructions:u,task-clock,cs,page-faults:k,major-faults");
	ASSERT_EQ(l.v.n, 6);
	ASSERT_EQ(l.ngroups, 6);
	ASSERT_EQ(l.v.v[0].type, PERF_TYPE_HARDWARE);
	ASSERT_EQ(l.v.v[0].config, PERF_COUNT_HW_CPU_CYCLES);
	ASSERT(!l.v.v[0].exclude_user && !l.v.v[0].exclude_kernel);
	ASSERT_STREQ(l.v.v[1].name, "instructions:u");
	ASSERT(!l.v.v[1].exclude_user && l.v.v[1].exclude_kernel && l.v.v[1].exclude_hv);
	ASSERT_EQ(l.v.v[2].type, PERF_TYPE_SOFTWARE);
	ASSERT_EQ(l.v.v[2].config, PERF_COUNT_SW_TASK_CLOCK);
	ASSERT_STREQ(l.v.v[2].unit, "ns");
	ASSERT_EQ(l.v.v[3].config, PERF_COUNT_SW_CONTEXT_SWITCHES);
	ASSERT(l.v.v[4].exclude_user && !l.v.v[4].exclude_kernel);
	ASSERT_EQ(l.v.v[5].config, PERF_COUNT_SW_PAGE_FAULTS_MAJ);
	for (size_t i = 0; i < l.v.n; i++)
		ASSERT(l.v.v[i].leader);
	ASSERT(ev_needs_pmu(&l.v.v[0]) && !ev_needs_pmu(&l.v.v[2]));
	ev_list_release(&l);
	/* repeated -e appends */
	l = parse_ok("cycles");
	struct cprof_err err;
	ASSERT_OK(ev_list_parse(&l, "branches:ppu", &env, &err));
	ASSERT_EQ(l.v.n, 2);
	ASSERT_EQ(l.v.v[1].group, 1);
	ASSERT_EQ(l.v.v[1].precise_ip, 2);
	ASSERT_EQ(l.v.v[1].config, PERF_COUNT_HW_BRANCH_INSTRUCTIONS);
	ev_list_release(&l);
}

TEST(cache_and_raw)
{
	struct ev_list l = parse_ok("L1-dcache-load-misses,LLC-loads,dTLB-store-misses,r01c2,r1a8:u");
	ASSERT_EQ(l.v.v[0].type, PERF_TYPE_HW_CACHE);
	ASSERT_EQ(l.v.v[0].config, PERF_COUNT_HW_CACHE_L1D | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
					   (PERF_COUNT_HW_CACHE_RESULT_MISS << 16));
	ASSERT_EQ(l.v.v[1].config, PERF_COUNT_HW_CACHE_LL | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
					   (PERF_COUNT_HW_CACHE_RESULT_ACCESS << 16));
	ASSERT_EQ(l.v.v[2].config, PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_WRITE << 8) |
					   (PERF_COUNT_HW_CACHE_RESULT_MISS << 16));
	ASSERT_EQ(l.v.v[3].type, PERF_TYPE_RAW);
	ASSERT_EQ(l.v.v[3].config, 0x1c2);
	ASSERT_EQ(l.v.v[4].config, 0x1a8);
	ASSERT(l.v.v[4].exclude_kernel);
	ev_list_release(&l);
}

TEST(groups)
{
	struct ev_list l = parse_ok("task-clock,{cycles,instructions}:u,{branches,branch-misses}:S,cs");
	ASSERT_EQ(l.v.n, 6);
	ASSERT_EQ(l.ngroups, 4);
	ASSERT(l.v.v[1].leader && !l.v.v[2].leader);
	ASSERT_EQ(l.v.v[1].group, 1);
	ASSERT_EQ(l.v.v[2].group, 1);
	ASSERT(l.v.v[1].exclude_kernel && l.v.v[2].exclude_kernel);
	ASSERT_STREQ(l.v.v[2].name, "instructions:u");
	ASSERT(l.v.v[3].sample_read && l.v.v[4].sample_read);
	ASSERT_EQ(l.v.v[4].group, 2);
	ASSERT_EQ(l.v.v[5].group, 3);
	ASSERT(l.v.v[5].leader);
	ev_list_release(&l);
}

TEST(pmu_terms)
{
	struct ev_list l = parse_ok("cpu/event=0x3c,umask=0x00/,cpu/event=0xd1,umask=0x20,cmask=1,edge/k,"
				    "cpu/cache-misses/u,cpu/mem-loads,ldlat=30,name=loads/,msr/tsc/,"
				    "cpu/split=0xab/,cpu/config=0x1234,config1=7,period=100003/");
	ASSERT_EQ(l.v.n, 7);
	ASSERT_EQ(l.v.v[0].type, 4);
	ASSERT_EQ(l.v.v[0].config, 0x3c);
	ASSERT_EQ(l.v.v[1].config, 0xd1 | (0x20 << 8) | (1 << 18) | (1ULL << 24));
	ASSERT(l.v.v[1].exclude_user && !l.v.v[1].exclude_kernel);
	ASSERT_EQ(l.v.v[2].config, 0x2e | (0x41 << 8));
	ASSERT(l.v.v[2].exclude_kernel);
	/* the alias gives ldlat=3, the explicit term after it overrides */
	ASSERT_STREQ(l.v.v[3].name, "loads");
	ASSERT_EQ(l.v.v[3].config, 0xcd | (1 << 8));
	ASSERT_EQ(l.v.v[3].config1, 30);
	ASSERT_EQ(l.v.v[4].type, 9);
	ASSERT_EQ(l.v.v[4].config, 0);
	ASSERT_EQ(l.v.v[4].cls, EVC_PMU);
	/* 0xab over bits 0-3 then 32-35: low nibble 0xb, high nibble 0xa */
	ASSERT_EQ(l.v.v[5].config, 0xbULL | (0xaULL << 32));
	ASSERT_EQ(l.v.v[6].config, 0x1234);
	ASSERT_EQ(l.v.v[6].config1, 7);
	ASSERT_EQ(l.v.v[6].period, 100003);
	ev_list_release(&l);
}

TEST(tracepoints)
{
	struct ev_list l = parse_ok("sched:sched_switch,syscalls:sys_enter_write:u");
	ASSERT_EQ(l.v.v[0].type, PERF_TYPE_TRACEPOINT);
	ASSERT_EQ(l.v.v[0].config, 372);
	ASSERT_EQ(l.v.v[0].cls, EVC_TRACEPOINT);
	ASSERT_EQ(l.v.v[1].config, 641);
	ASSERT(l.v.v[1].exclude_kernel);
	ev_list_release(&l);
}

TEST(errors)
{
	parse_bad("", EINVAL, "empty event list");
	parse_bad("cycles,,instructions", EINVAL, "empty event name");
	parse_bad("cycles,", EINVAL, "empty event name");
	parse_bad("no-such-event", ENOENT, "unknown event 'no-such-event'");
	parse_bad("cycles:x", EINVAL, "unknown modifier 'x'");
	parse_bad("cycles:pppp", EINVAL, "three 'p'");
	parse_bad("sched:no_such", ENOENT, "no tracepoint sched:no_such");
	parse_bad("sched:..", EINVAL, "not a tracepoint name");
	parse_bad("nopmu/event=1/", ENOENT, "no PMU 'nopmu'");
	parse_bad("cpu/event=1", EINVAL, "missing closing '/'");
	parse_bad("cpu/umask=0x100/", ERANGE, "does not fit its 8 bits");
	parse_bad("cpu/bogus=1/", ENOENT, "no term or event 'bogus'");
	parse_bad("cpu/event=zz/", EINVAL, "needs a number");
	parse_bad("cpu/offcore/", EINVAL, "needs parameters");
	parse_bad("cpu//", EINVAL, "no terms");
	parse_bad("../x/event=1/", EINVAL, "not a PMU name");
	parse_bad("{cycles,instructions", EINVAL, "no closing '}'");
	parse_bad("{cycles,{instructions}}", EINVAL, "do not nest");
	parse_bad("{cycles}x", EINVAL, "expected ':MODIFIERS'");
	parse_bad("cpu/period=0/", EINVAL, "positive");
	/* a failure leaves what was parsed before it alone */
	struct ev_list l = parse_ok("cycles");
	struct cprof_err err;
	ASSERT_EQ(ev_list_parse(&l, "instructions,nope", &env, &err), -ENOENT);
	ASSERT_EQ(l.v.n, 1);
	ASSERT_EQ(l.ngroups, 1);
	ev_list_release(&l);
}

TEST(attr)
{
	struct ev_list l = parse_ok("cpu/event=0x3c,ldlat=5/u");
	struct perf_event_attr a;
	ev_attr_counting(&l.v.v[0], &a);
	ASSERT_EQ(a.size, sizeof a);
	ASSERT_EQ(a.type, 4);
	ASSERT_EQ(a.config, 0x3c);
	ASSERT_EQ(a.config1, 5);
	ASSERT_EQ(a.read_format, PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED |
					 PERF_FORMAT_TOTAL_TIME_RUNNING);
	ASSERT(a.exclude_kernel && !a.exclude_user && a.disabled);
	ASSERT_EQ(a.sample_type, 0);
	ev_list_release(&l);
}

struct names {
	size_t n, pmu, tp;
	bool cycles, l1, tsc, sw;
};

static void collect(void *ctx, const char *name, enum ev_class cls)
{
	struct names *c = ctx;
	c->n++;
	c->pmu += cls == EVC_PMU;
	c->tp += cls == EVC_TRACEPOINT;
	c->cycles |= strcmp(name, "cycles") == 0;
	c->l1 |= strcmp(name, "L1-dcache-load-misses") == 0;
	c->tsc |= strcmp(name, "msr/tsc/") == 0;
	c->sw |= strcmp(name, "sched:sched_switch") == 0;
	/* every listed name parses back */
	struct ev_list l = { 0 };
	struct cprof_err err;
	if (ev_list_parse(&l, name, &env, &err) < 0)
		FAIL_("listed '%s' does not parse: %s", name, err.msg);
	ev_list_release(&l);
}

TEST(known_names)
{
	struct names c = { 0 };
	ev_known_names(&env, true, collect, &c);
	ASSERT(c.cycles && c.l1 && c.tsc && c.sw);
	ASSERT_EQ(c.pmu, 3); /* cpu: cache-misses, mem-loads (offcore needs parameters); msr: tsc */
	ASSERT_EQ(c.tp, 2);
	ASSERT_STREQ(ev_generic_unit("task-clock"), "ns");
	ASSERT(ev_generic_unit("nope") == NULL);
}

/* perf's NAME/terms/ for a named event: its own sampling rate. */
TEST(named_event_rates)
{
	struct ev_list l = parse_ok("cpu-clock/freq=999/,page-faults/period=1/:u,L1-dcache-load-misses/period=5000/");
	ASSERT_EQ(l.v.n, 3);
	ASSERT_EQ(l.v.v[0].type, PERF_TYPE_SOFTWARE);
	ASSERT_EQ(l.v.v[0].config, PERF_COUNT_SW_CPU_CLOCK);
	ASSERT_EQ(l.v.v[0].freq, 999);
	ASSERT_EQ(l.v.v[0].period, 0);
	ASSERT_STREQ(l.v.v[0].unit, "ns");
	ASSERT_EQ(l.v.v[1].config, PERF_COUNT_SW_PAGE_FAULTS);
	ASSERT_EQ(l.v.v[1].period, 1);
	ASSERT(l.v.v[1].exclude_kernel && !l.v.v[1].exclude_user);
	ASSERT_EQ(l.v.v[2].type, PERF_TYPE_HW_CACHE);
	ASSERT_EQ(l.v.v[2].period, 5000);
	ASSERT_EQ(l.ngroups, 3);
	/* --group: one group, the first event leads */
	ev_list_one_group(&l);
	ASSERT_EQ(l.ngroups, 1);
	ASSERT(l.v.v[0].leader && !l.v.v[1].leader && l.v.v[2].group == 0);
	ev_list_release(&l);
	l = parse_ok("{cycles/period=100000/,instructions}:S");
	ASSERT(l.v.v[0].sample_read && l.v.v[1].sample_read);
	ASSERT_EQ(l.v.v[0].period, 100000);
	ev_list_release(&l);
	parse_bad("cpu-clock/umask=1/", EINVAL, "unknown term 'umask'");
	parse_bad("cpu-clock/freq=0/", EINVAL, "positive");
	parse_bad("cpu-clock/period/", EINVAL, "positive");
	parse_bad("cpu-clock//", EINVAL, "no terms");
	parse_bad("cpu-clock/period=1", EINVAL, "missing closing '/'");
}

/* A sample's READ field: a group read inside a larger record. */
TEST(read_decode_in_a_record)
{
	uint64_t rec[] = { 2, 900, 800, 111, 7, 222, 8, 0xdead, 0xbeef };
	struct {
		struct ev_group_read g;
		struct ev_reading r[4];
	} rd;
	struct cprof_err err;
	size_t used;
	ASSERT_OK(ev_read_decode(rec, sizeof rec, EV_READ_FORMAT, 4, &rd.g, &used, &err));
	ASSERT_EQ(used, 7 * 8); /* what follows is the next field's */
	ASSERT_EQ(rd.g.nr, 2);
	ASSERT_EQ(rd.g.enabled, 900);
	ASSERT_EQ(rd.g.running, 800);
	ASSERT_EQ(rd.g.r[1].value, 222);
	ASSERT_EQ(rd.g.r[1].id, 8);
	/* without ids and times: values only */
	ASSERT_OK(ev_read_decode(rec, sizeof rec, PERF_FORMAT_GROUP, 4, &rd.g, &used, &err));
	ASSERT_EQ(used, 3 * 8);
	ASSERT_EQ(rd.g.r[1].value, 800);
	ASSERT_EQ(rd.g.r[0].id, 0);
	/* too short for the count, a count above the room, no group format */
	ASSERT_EQ(ev_read_decode(rec, 6 * 8, EV_READ_FORMAT, 4, &rd.g, &used, &err), -EINVAL);
	ASSERT(strstr(err.msg, "expected 56"));
	ASSERT_EQ(ev_read_decode(rec, sizeof rec, EV_READ_FORMAT, 1, &rd.g, &used, &err), -EINVAL);
	ASSERT_EQ(ev_read_decode(rec, sizeof rec, PERF_FORMAT_ID, 4, &rd.g, &used, &err), -EINVAL);
	ASSERT_EQ(ev_read_decode(rec, 4, EV_READ_FORMAT, 4, &rd.g, &used, &err), -EINVAL);
	uint64_t huge[] = { UINT64_MAX / 8, 0, 0 };
	ASSERT_EQ(ev_read_decode(huge, sizeof huge, EV_READ_FORMAT, SIZE_MAX / 64, &rd.g, &used, &err), -EINVAL);
}

int main(void)
{
	static const struct test_case cases[] = { T(generic), T(cache_and_raw), T(groups), T(pmu_terms),
						  T(tracepoints), T(errors), T(attr), T(known_names),
						  T(named_event_rates), T(read_decode_in_a_record) };
	setup();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
	}
	teardown();
	return 0;
}
