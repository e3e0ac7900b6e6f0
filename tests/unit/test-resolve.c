/* test-resolve.c - the one stack resolver (resolve.h) on fake mappings of
 * real binaries: the mapping under an address at the stack's time, a
 * forked child's stacks through its parent's mappings, return addresses,
 * unknown addresses, stacks interned once per set of flags, and the
 * store's samples. Paths of the hot and cxx workloads come from the
 * environment (CPROF_TEST_HOT, CPROF_TEST_CXX). */
#include "cprof/data.h"
#include "cprof/resolve.h"
#include "cprof/symsplit.h"
#include <dirent.h>
#include <unistd.h>
#include "harness.h"
#include "elf-fixture.h"

#define START 0x555555554000ULL

static const char *hot_path, *cxx_path;

static void add_map(struct raw_store *s, uint32_t pid, uint64_t time, const char *path, uint64_t exec_off)
{
	struct raw_mmap m = { .time = time, .start = START + exec_off, .len = 0x100000, .pgoff = exec_off, .pid = pid,
			      .tid = pid, .path = xstrdup(path) };
	vec_push(&s->mmaps, m);
}

/* The address of function name of path as mapped by add_map. */
static uint64_t ip_of(const char *path, const char *name, uint64_t *exec_off)
{
	uint64_t va;
	uint64_t v = sym_vaddr(path, name, exec_off, &va);
	return START + *exec_off + (v - va);
}

/* The function a one-address stack is in: its last frame (the frames
 * before it, if any, are calls inlined there). */
static const char *leaf(struct cprof_data *d, struct resolver *r, uint32_t h)
{
	size_t n;
	const uint32_t *f = resolver_frames(r, h, &n);
	ASSERT(n >= 1);
	for (size_t k = 0; k + 1 < n; k++)
		ASSERT(d->frames.v[f[k]].flags & FRF_INLINED);
	return cprof_str(d, d->frames.v[f[n - 1]].func);
}

TEST(mapping_by_time_and_fork_parent)
{
	struct raw_store s = { 0 };
	struct cprof_data d;
	cprof_data_init(&d);
	uint64_t hot_off, cxx_off;
	uint64_t hot_a = ip_of(hot_path, "hot_a", &hot_off);
	uint64_t step = ip_of(cxx_path, "_ZN6engine6Solver4stepEm", &cxx_off);
	ASSERT_EQ(hot_off, cxx_off); /* one mapping over the other, at the same place */
	add_map(&s, 100, 10, hot_path, hot_off);
	/* Pid 100 execs cxx at time 50: the same addresses, other code. */
	add_map(&s, 100, 50, cxx_path, cxx_off);
	/* Pid 200 is forked from 100 at time 20 and maps nothing of its own. */
	vec_push(&s.tasks, ((struct raw_task){ .time = 20, .pid = 200, .ppid = 100, .tid = 200, .ptid = 100 }));
	struct cprof_err err;
	struct resolver *r = resolver_new(&d, &s, &err);
	ASSERT(r);
	uint64_t a4 = hot_a + 4, s4 = step + 4, nowhere = 0x1000;
	uint32_t before = resolver_add(r, 100, 30, &a4, 1, 0);
	uint32_t after = resolver_add(r, 100, 60, &s4, 1, 0);
	uint32_t child = resolver_add(r, 200, 30, &a4, 1, 0);
	uint32_t unknown = resolver_add(r, 100, 30, &nowhere, 1, 0);
	/* A tracer's stack: return addresses only, each looked up one byte
	 * back. hot_b's first byte, as a return address, names a call in what
	 * lies before hot_b (the end of hot_a, or padding): never hot_b. */
	uint64_t ret = ip_of(hot_path, "hot_b", &hot_off);
	uint32_t traced = resolver_add(r, 100, 30, &ret, 1, RESOLVE_RETURNS);
	uint32_t exact = resolver_add(r, 100, 30, &ret, 1, 0);
	resolver_run(r);
	ASSERT_STREQ(leaf(&d, r, before), "hot_a");
	ASSERT_STREQ(leaf(&d, r, after), "engine::Solver::step(unsigned long)");
	ASSERT_STREQ(leaf(&d, r, child), "hot_a");
	ASSERT_STREQ(leaf(&d, r, unknown), "[unknown]");
	ASSERT(strcmp(leaf(&d, r, traced), "hot_b") != 0);
	ASSERT_STREQ(leaf(&d, r, exact), "hot_b");
	/* Interned: the same frames and flags give the same stack. */
	uint32_t k1 = resolver_stack(r, before, 0), k2 = resolver_stack(r, child, 0);
	ASSERT_EQ(k1, k2);
	ASSERT_EQ(resolver_stack(r, before, 0), k1);
	ASSERT(resolver_stack(r, before, STACKF_TRUNCATED) != k1);
	resolver_free(r);
	raw_store_release(&s);
	cprof_data_release(&d);
}

/* A tracer's empty stack as the resolver's first (a process that
 * allocated before it had a frame the walk could see): no addresses to
 * look at, an empty stack, and nothing touched through a table that does
 * not exist yet (under UBSan, the memset of zero bytes at NULL stopped
 * `record --mem` now and then). */
TEST(empty_stack_first)
{
	struct raw_store s = { 0 };
	struct cprof_data d;
	cprof_data_init(&d);
	uint64_t off;
	uint64_t hot_a = ip_of(hot_path, "hot_a", &off);
	add_map(&s, 100, 10, hot_path, off);
	struct cprof_err err;
	struct resolver *r = resolver_new(&d, &s, &err);
	ASSERT(r);
	uint32_t empty = resolver_add(r, 100, 30, NULL, 0, RESOLVE_RETURNS);
	uint64_t a4 = hot_a + 4;
	uint32_t one = resolver_add(r, 100, 30, &a4, 1, 0);
	resolver_run(r);
	size_t n = 99;
	(void)resolver_frames(r, empty, &n);
	ASSERT_EQ(n, 0);
	ASSERT_STREQ(leaf(&d, r, one), "hot_a");
	resolver_free(r);
	raw_store_release(&s);
	cprof_data_release(&d);
}

TEST(samples_in_time_order)
{
	struct raw_store s = { 0 };
	struct cprof_data d;
	cprof_data_init(&d);
	uint64_t off;
	uint64_t ips[2] = { ip_of(hot_path, "hot_b", &off) + 4, ip_of(hot_path, "driver", &off) + 8 };
	add_map(&s, 100, 10, hot_path, off);
	vec_push(&s.ips, ips[0]);
	vec_push(&s.ips, ips[1]);
	/* Two samples of one interned stack, out of time order (per-CPU rings). */
	vec_push(&s.samples, ((struct raw_sample){ .time = 90, .period = 1, .pid = 100, .tid = 101, .nips = 2,
						   .mode = PERF_RECORD_MISC_USER }));
	vec_push(&s.samples, ((struct raw_sample){ .time = 40, .period = 1, .pid = 100, .tid = 100, .nips = 2,
						   .mode = PERF_RECORD_MISC_USER }));
	struct resolve_stats st;
	struct cprof_err err;
	ASSERT_OK(resolve_samples(&d, &s, &st, &err));
	ASSERT_EQ(d.samples.n, 2);
	ASSERT_EQ(d.samples.v[0].time, 40);
	ASSERT_EQ(d.samples.v[1].time, 90);
	ASSERT_EQ(d.samples.v[0].stack, d.samples.v[1].stack);
	/* The functions, leaf first, inlined calls left out. */
	size_t n = cprof_stack_len(&d, d.samples.v[0].stack), k = 0;
	const uint32_t *f = cprof_stack_frames(&d, d.samples.v[0].stack);
	const char *funcs[2] = { 0 };
	for (size_t i = 0; i < n; i++)
		if (!(d.frames.v[f[i]].flags & FRF_INLINED) && k < 2)
			funcs[k++] = cprof_str(&d, d.frames.v[f[i]].func);
	ASSERT_EQ(k, 2);
	ASSERT_STREQ(funcs[0], "hot_b");
	ASSERT_STREQ(funcs[1], "driver");
	ASSERT_EQ(st.unknown, 0);
	ASSERT_EQ(d.threads.n, 2);
	raw_store_release(&s);
	cprof_data_release(&d);
}

/* A thread is named by its latest COMM record in time, whatever order
 * the rings gave the records in: perf's child is "perf-exec" until it
 * execs the program, and its exec's record came first now and then. */
TEST(thread_named_by_its_latest_comm)
{
	struct raw_store s = { 0 };
	struct cprof_data d;
	cprof_data_init(&d);
	uint64_t off;
	uint64_t ip = ip_of(hot_path, "hot_b", &off) + 4;
	add_map(&s, 300, 10, hot_path, off);
	vec_push(&s.ips, ip);
	vec_push(&s.samples, ((struct raw_sample){ .time = 250, .period = 1, .pid = 300, .tid = 300, .nips = 1,
						   .mode = PERF_RECORD_MISC_USER }));
	vec_push(&s.comms, ((struct raw_comm){ .time = 200, .pid = 300, .tid = 300, .comm = "rustwork-v0", .exec = true }));
	vec_push(&s.comms, ((struct raw_comm){ .time = 100, .pid = 300, .tid = 300, .comm = "perf-exec" }));
	struct resolve_stats st;
	struct cprof_err err;
	ASSERT_OK(resolve_samples(&d, &s, &st, &err));
	ASSERT_EQ(d.threads.n, 1);
	ASSERT_STREQ(cprof_str(&d, d.threads.v[0].comm), "rustwork-v0");
	raw_store_release(&s);
	cprof_data_release(&d);
}

/* One finishing pass over addrs (every other one as a return address)
 * in mapping m, split as a recording's is: how many binaries the two
 * symbolizers opened, and how many addresses missed the cache. */
static uint64_t split_pass(const struct raw_mmap *m, const uint64_t *addrs, size_t n, uint64_t *misses)
{
	struct symbolizer *sym[2] = { symbolizer_new(), symbolizer_new() };
	struct sym_split *sp = sym_split_new();
	for (size_t i = 0; i < n; i++)
		sym_split_add(sp, m, addrs[i], i & 1);
	sym_split_run(sp, sym);
	uint64_t opened = 0;
	*misses = 0;
	for (int k = 0; k < 2; k++) {
		struct symbolizer_stats st;
		symbolizer_save_cache(sym[k]);
		symbolizer_get_stats(sym[k], &st);
		opened += st.binaries_read;
		*misses += st.symcache_misses;
		symbolizer_free(sym[k]);
	}
	sym_split_free(sp);
	return opened;
}

/* A binary with many addresses is split between the two finishing
 * threads only while they miss the symbol cache: split with a few
 * misses, both threads opened libc's debug information (5-15 ms each)
 * for an address or two. */
TEST(cached_binary_stays_on_one_thread)
{
	const char *libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	struct elf_fixture f;
	elf_fixture_open(&f, libc);
	uint64_t exec_off, exec_vaddr;
	elf_fixture_exec_segment(&f, &exec_off, &exec_vaddr);
	elf_fixture_close(&f);
	char dir[] = "/tmp/cprof-split.XXXXXX";
	ASSERT(mkdtemp(dir));
	ASSERT(setenv("CPROF_CACHE_DIR", dir, 1) == 0);
	struct raw_mmap m = { .start = 0x7f0000000000ULL + exec_off, .len = 0x100000, .pgoff = exec_off,
			      .path = xstrdup(libc) };
	enum { N = 400 };
	uint64_t addrs[N + 2];
	for (size_t i = 0; i < N; i++)
		addrs[i] = m.start + 0x40 + i * 0x800;
	uint64_t misses;
	/* A cold cache: every address misses, and the two halves go to
	 * both threads. */
	ASSERT_EQ(split_pass(&m, addrs, N, &misses), 2);
	ASSERT_EQ(misses, N);
	/* Warm, with one new address at each end: one thread opens libc. */
	addrs[N] = addrs[0] + 2;
	addrs[N + 1] = addrs[N - 1] + 2;
	ASSERT_EQ(split_pass(&m, addrs, N + 2, &misses), 1);
	ASSERT_EQ(misses, 2);
	free(m.path);
	char sub[64], path[384];
	snprintf(sub, sizeof sub, "%s/symbols", dir);
	DIR *dp = opendir(sub);
	for (struct dirent *de; dp && (de = readdir(dp));)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", sub, de->d_name);
			ASSERT(unlink(path) == 0);
		}
	if (dp)
		closedir(dp);
	ASSERT(rmdir(sub) == 0 && rmdir(dir) == 0);
	ASSERT(unsetenv("CPROF_CACHE_DIR") == 0);
}

int main(void)
{
	hot_path = getenv("CPROF_TEST_HOT");
	cxx_path = getenv("CPROF_TEST_CXX");
	if (!hot_path || !cxx_path)
		SKIP("CPROF_TEST_HOT and CPROF_TEST_CXX name the workloads");
	static const struct test_case cases[] = { T(mapping_by_time_and_fork_parent), T(empty_stack_first),
						  T(samples_in_time_order), T(cached_binary_stays_on_one_thread),
						  T(thread_named_by_its_latest_comm) };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# %s\n", cases[i].name);
		cases[i].fn();
	}
	printf("%zu cases passed\n", ARRAY_SIZE(cases));
	return 0;
}
