/* test-ring.c - ring buffer draining (wrap-around, tail updates) through the
 * record queue to its worker, and the parsing of each perf record type into
 * the raw store. */
#include <linux/perf_event.h>
#include <unistd.h>

#include "cprof/event.h"
#include "cprof/record.h"
#include "cprof/unwind.h"
#include "harness.h"

#define PAGE 4096
#define DATA 4096 /* one data page: small, so records wrap */

struct fake {
	uint8_t *mem; /* header page + data */
	struct ring r;
	uint64_t head;
};

static void fake_init(struct fake *f)
{
	f->mem = aligned_alloc(PAGE, PAGE + DATA);
	memset(f->mem, 0, PAGE + DATA);
	struct perf_event_mmap_page *h = (void *)f->mem;
	h->data_offset = PAGE;
	h->data_size = DATA;
	f->r = (struct ring){ .base = f->mem };
	f->r.data_size = DATA;
	f->head = 0;
}

static void fake_put(struct fake *f, const void *rec, size_t len)
{
	const uint8_t *p = rec;
	for (size_t i = 0; i < len; i++)
		f->mem[PAGE + (f->head + i) % DATA] = p[i];
	f->head += len;
	((struct perf_event_mmap_page *)f->mem)->data_head = f->head;
}

static void fake_free(struct fake *f)
{
	free(f->mem);
}

/* A sample with IDENTIFIER|IP|TID|TIME|PERIOD|CALLCHAIN. */
static size_t make_sample(uint8_t *buf, uint32_t pid, uint32_t tid, uint64_t time, uint64_t nips)
{
	uint64_t w[64];
	size_t n = 0;
	w[n++] = 77;           /* identifier */
	w[n++] = 0x401000;     /* ip */
	w[n++] = pid | ((uint64_t)tid << 32);
	w[n++] = time;
	w[n++] = 1001001;      /* period */
	w[n++] = nips;
	w[n++] = (uint64_t)PERF_CONTEXT_USER;
	for (uint64_t i = 1; i < nips; i++)
		w[n++] = 0x401000 + i;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(8 + n * 8) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, n * 8);
	return 8 + n * 8;
}

static size_t add_trailer(uint8_t *buf, size_t len, uint32_t pid, uint64_t time)
{
	uint64_t t[3] = { pid | ((uint64_t)pid << 32), time, 77 };
	memcpy(buf + len, t, sizeof t);
	len += sizeof t;
	((struct perf_event_header *)buf)->size = (uint16_t)len;
	return len;
}

TEST(samples_wrap_around)
{
	struct fake f;
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[1024];
	fake_init(&f);
	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	/* 200 samples of 104 bytes through a 4 KiB buffer: many wrap. */
	for (int i = 0; i < 200; i++) {
		size_t len = make_sample(rec, 10, 11, 1000 + (uint64_t)i, 5);
		fake_put(&f, rec, len);
		if (i % 7 == 6) {
			ring_drain(&f.r, 0, q);
			ASSERT(!ring_pending(&f.r)); /* space is freed before parsing */
		}
	}
	ring_drain(&f.r, 0, q);
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT_EQ(qs.bytes, f.head);
	ASSERT_EQ(s.samples.n, 200);
	for (int i = 0; i < 200; i++) {
		const struct raw_sample *x = &s.samples.v[i];
		ASSERT_EQ(x->time, 1000 + i);
		ASSERT_EQ(x->pid, 10);
		ASSERT_EQ(x->tid, 11);
		ASSERT_EQ(x->nips, 5);
		ASSERT_EQ(x->period, 1001001);
		ASSERT_EQ(s.ips.v[x->ip_off + 0], (uint64_t)PERF_CONTEXT_USER);
		ASSERT_EQ(s.ips.v[x->ip_off + 4], 0x401004);
	}
	ASSERT_EQ(((struct perf_event_mmap_page *)f.mem)->data_tail, f.head);
	ASSERT_EQ(s.malformed, 0);
	raw_store_release(&s);
	fake_free(&f);
}

TEST(partial_record_waits)
{
	struct fake f;
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[256];
	fake_init(&f);
	size_t len = make_sample(rec, 1, 1, 5, 3);
	fake_put(&f, rec, len);
	/* The kernel has published only part of a second record. */
	((struct perf_event_mmap_page *)f.mem)->data_head = f.head + 8;
	memcpy(f.mem + PAGE + f.head % DATA, rec, 8);
	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	ring_drain(&f.r, 0, q);
	ASSERT_EQ(((struct perf_event_mmap_page *)f.mem)->data_tail, len);
	ASSERT(ring_pending(&f.r));
	rec_queue_finish(q, NULL);
	ASSERT_EQ(s.samples.n, 1);
	raw_store_release(&s);
	fake_free(&f);
}

/* A worker that is behind never makes the queue grow past its limit:
 * draining stops, and what is not taken stays in the ring for later. */
TEST(queue_limit_leaves_records_in_the_ring)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	enum { BIG = 8u << 20 };
	uint8_t *mem = aligned_alloc(PAGE, PAGE + BIG);
	memset(mem, 0, PAGE);
	struct perf_event_mmap_page *h = (void *)mem;
	h->data_offset = PAGE;
	h->data_size = BIG;
	struct ring r = { .base = mem, .data_size = BIG };
	uint8_t rec[1024];
	size_t len = make_sample(rec, 1, 2, 3, 50), n = 0;
	while ((n + 1) * len <= BIG) {
		memcpy(mem + PAGE + n * len, rec, len);
		n++;
	}
	h->data_head = n * len;
	/* Not started yet: nothing is parsed, so the limit (two 1 MiB chunks)
	 * is reached. */
	struct rec_queue *q = rec_queue_new(2u << 20);
	size_t got = ring_drain(&r, 0, q);
	ASSERT(got > 0 && got <= (2u << 20));
	ASSERT_EQ(h->data_tail, got);
	ASSERT(ring_pending(&r));
	ASSERT_EQ(ring_drain(&r, 0, q), 0);
	/* Once the worker runs, the rest follows in order. */
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	while (ring_pending(&r)) {
		if (!ring_drain(&r, 0, q))
			rec_queue_wait_space(q, 10);
		rec_queue_flush(q, 0);
	}
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT(qs.full > 0);
	ASSERT(qs.peak_chunks <= 2);
	ASSERT_EQ(s.samples.n, n);
	ASSERT_EQ(r.max_fill, n * len);
	raw_store_release(&s);
	free(mem);
}

/* A header too short to be a record: the ring is given up, not spun on. */
TEST(garbage_header_abandons_the_ring)
{
	struct fake f;
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	fake_init(&f);
	uint8_t zero[16] = { 0 };
	fake_put(&f, zero, sizeof zero);
	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	ring_drain(&f.r, 0, q);
	ASSERT(!ring_pending(&f.r));
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT_EQ(qs.malformed, 1);
	ASSERT_EQ(s.samples.n, 0);
	raw_store_release(&s);
	fake_free(&f);
}

TEST(side_band_records)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[512];
	memset(rec, 0, sizeof rec);

	/* MMAP2 with a build id and an executable mapping. */
	struct perf_event_header h = { PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID, 0 };
	memcpy(rec, &h, 8);
	uint32_t pid = 42, tid = 42, prot = 5;
	uint64_t start = 0x555555554000, len = 0x2000, pgoff = 0x1000;
	memcpy(rec + 8, &pid, 4);
	memcpy(rec + 12, &tid, 4);
	memcpy(rec + 16, &start, 8);
	memcpy(rec + 24, &len, 8);
	memcpy(rec + 32, &pgoff, 8);
	rec[40] = 20;
	for (int i = 0; i < 20; i++)
		rec[44 + i] = (uint8_t)i;
	memcpy(rec + 64, &prot, 4);
	strcpy((char *)rec + 72, "/usr/bin/app");
	size_t n = add_trailer(rec, 72 + 16, pid, 500);
	raw_store_add(&s, rec, n);
	ASSERT_EQ(s.mmaps.n, 1);
	ASSERT_STREQ(s.mmaps.v[0].path, "/usr/bin/app");
	ASSERT_EQ(s.mmaps.v[0].start, start);
	ASSERT_EQ(s.mmaps.v[0].pgoff, pgoff);
	ASSERT_EQ(s.mmaps.v[0].build_id_size, 20);
	ASSERT_EQ(s.mmaps.v[0].build_id[19], 19);
	ASSERT_EQ(s.mmaps.v[0].time, 500);

	/* A data (non-exec) mapping is not kept. */
	prot = 3;
	memcpy(rec + 64, &prot, 4);
	raw_store_add(&s, rec, n);
	ASSERT_EQ(s.mmaps.n, 1);

	/* COMM */
	memset(rec, 0, sizeof rec);
	h = (struct perf_event_header){ PERF_RECORD_COMM, 0, 0 };
	memcpy(rec, &h, 8);
	memcpy(rec + 8, &pid, 4);
	memcpy(rec + 12, &tid, 4);
	strcpy((char *)rec + 16, "worker-1");
	n = add_trailer(rec, 16 + 16, pid, 600);
	raw_store_add(&s, rec, n);
	ASSERT_EQ(s.comms.n, 1);
	ASSERT_STREQ(s.comms.v[0].comm, "worker-1");
	ASSERT_EQ(s.comms.v[0].time, 600);

	/* FORK and EXIT */
	memset(rec, 0, sizeof rec);
	h = (struct perf_event_header){ PERF_RECORD_FORK, 0, 32 };
	memcpy(rec, &h, 8);
	uint32_t f[4] = { 43, 42, 43, 42 };
	uint64_t t = 700;
	memcpy(rec + 8, f, 16);
	memcpy(rec + 24, &t, 8);
	raw_store_add(&s, rec, 32);
	h.type = PERF_RECORD_EXIT;
	memcpy(rec, &h, 8);
	raw_store_add(&s, rec, 32);
	ASSERT_EQ(s.tasks.n, 2);
	ASSERT_EQ(s.tasks.v[0].pid, 43);
	ASSERT_EQ(s.tasks.v[0].ppid, 42);
	ASSERT(!s.tasks.v[0].exit);
	ASSERT(s.tasks.v[1].exit);

	/* LOST and LOST_SAMPLES are summed. */
	h = (struct perf_event_header){ PERF_RECORD_LOST, 0, 24 };
	uint64_t lost[2] = { 77, 5 };
	memcpy(rec, &h, 8);
	memcpy(rec + 8, lost, 16);
	raw_store_add(&s, rec, 24);
	raw_store_add(&s, rec, 24);
	h = (struct perf_event_header){ PERF_RECORD_LOST_SAMPLES, 0, 16 };
	memcpy(rec, &h, 8);
	memcpy(rec + 8, &lost[1], 8);
	raw_store_add(&s, rec, 16);
	ASSERT_EQ(s.lost_records, 10);
	ASSERT_EQ(s.lost_samples, 5);
	ASSERT_EQ(s.lost_by_ring.n, 1);
	ASSERT_EQ(s.lost_by_ring.v[0], 15);

	/* Too-short records are counted, not trusted. */
	h = (struct perf_event_header){ PERF_RECORD_MMAP2, 0, 16 };
	memcpy(rec, &h, 8);
	raw_store_add(&s, rec, 16);
	h = (struct perf_event_header){ PERF_RECORD_SAMPLE, 0, 24 };
	memcpy(rec, &h, 8);
	raw_store_add(&s, rec, 24);
	ASSERT_EQ(s.malformed, 2);
	ASSERT_EQ(s.samples.n, 0);
	raw_store_release(&s);
}

TEST(callchain_length_checked)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[256];
	size_t len = make_sample(rec, 1, 1, 1, 4);
	uint64_t lie = 1000; /* nr claims more ips than the record holds */
	memcpy(rec + 8 + 5 * 8, &lie, 8);
	raw_store_add(&s, rec, len);
	ASSERT_EQ(s.samples.n, 0);
	ASSERT_EQ(s.malformed, 1);
	raw_store_release(&s);
}

/* A callchain that reached the kernel's limit was cut there: by the frame
 * limit when --max-stack set it, else by kernel.perf_event_max_stack.
 * Context markers do not count. */
TEST(callchain_cut_at_the_kernel_limit)
{
	uint8_t rec[1024];
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN, .chain_max = 9 };
	raw_store_add(&s, rec, make_sample(rec, 1, 1, 1, 9)); /* marker + 8 addresses */
	raw_store_add(&s, rec, make_sample(rec, 1, 1, 2, 10)); /* marker + 9 */
	s.chain_max_asked = true;
	raw_store_add(&s, rec, make_sample(rec, 1, 1, 3, 12));
	ASSERT_EQ(s.samples.n, 3);
	ASSERT_EQ(s.samples.v[0].cut, 0);
	ASSERT_EQ(s.samples.v[1].cut, RAW_CUT_KERNEL);
	ASSERT_EQ(s.samples.v[2].cut, RAW_CUT_FRAMES);
	raw_store_release(&s);
}

/* Stacks are stored once and shared; a process's exec starts them anew. */
TEST(stacks_interned)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[1024];
	for (int i = 0; i < 100; i++)
		raw_store_add(&s, rec, make_sample(rec, 7, 7, (uint64_t)i, i % 2 ? 5 : 9));
	ASSERT_EQ(s.samples.n, 100);
	ASSERT_EQ(s.stacks.n, 2);
	ASSERT_EQ(s.ips.n, 5 + 9);
	ASSERT_EQ(s.samples.v[1].ip_off, s.samples.v[99].ip_off);
	ASSERT(s.samples.v[0].ip_off != s.samples.v[1].ip_off);
	/* Another process with the same addresses: its own stack. */
	raw_store_add(&s, rec, make_sample(rec, 8, 8, 200, 5));
	ASSERT_EQ(s.stacks.n, 3);
	/* exec: same pid, same addresses, other code. */
	memset(rec, 0, sizeof rec);
	struct perf_event_header h = { PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC, 0 };
	memcpy(rec, &h, 8);
	uint32_t pid = 7;
	memcpy(rec + 8, &pid, 4);
	memcpy(rec + 12, &pid, 4);
	strcpy((char *)rec + 16, "new");
	raw_store_add(&s, rec, add_trailer(rec, 16 + 16, pid, 300));
	raw_store_add(&s, rec, make_sample(rec, 7, 7, 400, 5));
	ASSERT_EQ(s.stacks.n, 4);
	raw_store_add(&s, rec, make_sample(rec, 7, 7, 401, 5));
	ASSERT_EQ(s.stacks.n, 4);
	raw_store_release(&s);
}

/* Past the budget, samples of one thread and stack close in time merge:
 * memory stays bounded, counts and periods add up exactly. */
TEST(samples_merge_past_the_budget)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN, .sample_budget = 64 };
	uint8_t rec[1024];
	uint64_t want[2][3] = { { 0 } };
	for (int i = 0; i < 5000; i++) {
		uint32_t tid = 10 + (uint32_t)(i % 2), depth = 3 + (uint32_t)(i % 3);
		raw_store_add(&s, rec, make_sample(rec, 10, tid, 1000000ULL * (uint64_t)i, depth));
		want[i % 2][i % 3]++;
		ASSERT(s.samples.n <= 64);
	}
	ASSERT(s.merge_ns >= RAW_MERGE_FIRST_NS);
	ASSERT(s.merges > 0);
	uint64_t got[2][3] = { { 0 } }, total = 0;
	for (size_t i = 0; i < s.samples.n; i++) {
		const struct raw_sample *x = &s.samples.v[i];
		uint64_t n = x->merged + 1;
		ASSERT_EQ(x->period, 1001001 * n);
		got[x->tid - 10][x->nips - 3] += n;
		total += n;
	}
	ASSERT_EQ(total, 5000);
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < 3; k++)
			ASSERT_EQ(got[t][k], want[t][k]);
	/* Records start where their first sample was: in time order. */
	for (size_t i = 1; i < s.samples.n; i++)
		ASSERT(s.samples.v[i].time / s.merge_ns >= s.samples.v[i - 1].time / s.merge_ns);
	raw_store_release(&s);
}

/* Where samples were lost: per ring, and bursts merged in a short list. */
TEST(lost_places)
{
	struct raw_store s = { 0 };
	uint8_t rec[48] = { 0 };
	struct perf_event_header h = { PERF_RECORD_LOST, 0, 48 };
	memcpy(rec, &h, 8);
	uint64_t sec = 1000000000ULL;
	for (int i = 0; i < 1000; i++) {
		uint64_t n = 2, t = (uint64_t)i * sec; /* one second apart: no merging at first */
		memcpy(rec + 16, &n, 8);
		memcpy(rec + 48 - 16, &t, 8);
		s.cur_ring = (uint32_t)(i % 3);
		raw_store_add(&s, rec, 48);
	}
	ASSERT_EQ(s.lost_records, 2000);
	ASSERT_EQ(s.lost_by_ring.n, 3);
	ASSERT_EQ(s.lost_by_ring.v[0] + s.lost_by_ring.v[1] + s.lost_by_ring.v[2], 2000);
	ASSERT_EQ(s.lost_by_ring.v[1], 666);
	ASSERT_EQ(s.lost_times.n, RAW_LOST_MAX);
	uint64_t sum = 0;
	for (size_t i = 0; i < s.lost_times.n; i++) {
		sum += s.lost_times.v[i].count;
		ASSERT(s.lost_times.v[i].first <= s.lost_times.v[i].last);
		if (i)
			ASSERT(s.lost_times.v[i].first > s.lost_times.v[i - 1].last);
	}
	ASSERT_EQ(sum, 2000);
	ASSERT_EQ(s.lost_times.v[0].first, 0);
	ASSERT_EQ(s.lost_times.v[s.lost_times.n - 1].last, 999 * sec);
	/* Evenly detailed: no burst covers much more than its share. */
	for (size_t i = 0; i < s.lost_times.n; i++)
		ASSERT(s.lost_times.v[i].count <= 2 * 2000 / RAW_LOST_MAX + 2);
	/* A record 50 ms after a burst joins it; out of order too. */
	struct raw_store t = { 0 };
	uint64_t times[] = { 10 * sec, 10 * sec + 50000000, 5 * sec, 10 * sec - 30000000 };
	for (int i = 0; i < 4; i++) {
		uint64_t n = 1;
		memcpy(rec + 16, &n, 8);
		memcpy(rec + 48 - 16, &times[i], 8);
		raw_store_add(&t, rec, 48);
	}
	ASSERT_EQ(t.lost_times.n, 2);
	ASSERT_EQ(t.lost_times.v[0].first, 5 * sec);
	ASSERT_EQ(t.lost_times.v[1].first, 10 * sec - 30000000);
	ASSERT_EQ(t.lost_times.v[1].last, 10 * sec + 50000000);
	ASSERT_EQ(t.lost_times.v[1].count, 3);
	raw_store_release(&t);
	/* A burst starts at the ring's last sample before the loss. */
	struct raw_store u = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t srec[256];
	u.cur_ring = 1;
	raw_store_add(&u, srec, make_sample(srec, 1, 1, 3 * sec, 2));
	u.cur_ring = 0;
	raw_store_add(&u, srec, make_sample(srec, 1, 1, 5 * sec, 2));
	uint64_t n = 9, t6 = 6 * sec;
	memcpy(rec + 16, &n, 8);
	memcpy(rec + 48 - 16, &t6, 8);
	raw_store_add(&u, rec, 48);
	ASSERT_EQ(u.lost_times.n, 1);
	ASSERT_EQ(u.lost_times.v[0].first, 5 * sec);
	ASSERT_EQ(u.lost_times.v[0].last, 6 * sec);
	ASSERT_EQ(u.lost_by_ring.v[0], 9);
	raw_store_release(&u);
	raw_store_release(&s);
}

/* A leader sample with IDENTIFIER|IP|TID|TIME|CPU|PERIOD|READ (group read
 * format: nr, enabled, running, {value, id}[nr]), no stack. */
static size_t make_read_sample(uint8_t *buf, uint64_t ident, uint32_t tid, uint64_t time, uint32_t cpu,
			       uint64_t period, size_t nr, const uint64_t *values, const uint64_t *ids)
{
	uint64_t w[64];
	size_t n = 0;
	w[n++] = ident;
	w[n++] = 0x401000;
	w[n++] = 10 | ((uint64_t)tid << 32);
	w[n++] = time;
	w[n++] = cpu; /* u32 cpu, u32 reserved */
	w[n++] = period;
	w[n++] = nr;
	w[n++] = 5000; /* enabled */
	w[n++] = 5000; /* running */
	for (size_t i = 0; i < nr; i++) {
		w[n++] = values[i];
		w[n++] = ids[i];
	}
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(8 + n * 8) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, n * 8);
	return 8 + n * 8;
}

static struct raw_store group_store(void)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CPU | PERF_SAMPLE_READ, .read_format = EV_READ_FORMAT };
	/* ids 500 (cycles, the leader) and 501 (instructions) on CPU 0, 510
	 * and 511 for the same events on CPU 1; 600 a lone event. */
	u64map_put(&s.id_event, 500, 1);
	u64map_put(&s.id_event, 501, 2);
	u64map_put(&s.id_event, 510, 1);
	u64map_put(&s.id_event, 511, 2);
	u64map_put(&s.id_event, 600, 3);
	return s;
}

/* Leader sampling: each sample carries the group's running totals; the
 * store keeps each member's difference from the same thread's previous
 * read, never the leader's (its period says it), and the CPU. */
TEST(group_reads_become_differences)
{
	struct raw_store s = group_store();
	uint8_t rec[512];
	const uint64_t ids0[] = { 500, 501 }, ids1[] = { 510, 511 };
	raw_store_add(&s, rec, make_read_sample(rec, 500, 11, 100, 0, 1000, 2, (uint64_t[]){ 1000, 3000 }, ids0));
	raw_store_add(&s, rec, make_read_sample(rec, 500, 11, 200, 0, 1500, 2, (uint64_t[]){ 2500, 6500 }, ids0));
	/* another thread: its own totals, from zero */
	raw_store_add(&s, rec, make_read_sample(rec, 500, 12, 300, 0, 700, 2, (uint64_t[]){ 700, 1400 }, ids0));
	/* the same thread on the other CPU: the other event's totals */
	raw_store_add(&s, rec, make_read_sample(rec, 510, 11, 400, 1, 900, 2, (uint64_t[]){ 900, 100 }, ids1));
	raw_store_add(&s, rec, make_read_sample(rec, 500, 11, 500, 0, 500, 2, (uint64_t[]){ 3000, 7000 }, ids0));
	ASSERT_EQ(s.malformed, 0);
	ASSERT_EQ(s.bad_reads, 0);
	ASSERT_EQ(s.samples.n, 5);
	static const uint64_t want[] = { 3000, 3500, 1400, 100, 500 };
	static const uint32_t cpu[] = { 0, 0, 0, 1, 0 };
	for (size_t i = 0; i < 5; i++) {
		const struct raw_sample *x = &s.samples.v[i];
		ASSERT_EQ(x->event, 0);
		ASSERT_EQ(x->cpu, cpu[i]);
		ASSERT_EQ(x->nvals, 1);
		ASSERT_EQ(s.vals.v[x->val_off].event, 1);
		ASSERT_EQ(s.vals.v[x->val_off].value, want[i]);
	}
	/* A lone event reads only itself: nothing to keep. */
	const uint64_t lone[] = { 600 };
	raw_store_add(&s, rec, make_read_sample(rec, 600, 11, 600, 1, 42, 1, (uint64_t[]){ 42 }, lone));
	ASSERT_EQ(s.samples.n, 6);
	ASSERT_EQ(s.samples.v[5].event, 2);
	ASSERT_EQ(s.samples.v[5].nvals, 0);
	raw_store_release(&s);
}

/* What does not fit is skipped and counted, never read past the record. */
TEST(group_reads_checked)
{
	struct raw_store s = group_store();
	uint8_t rec[512];
	const uint64_t ids[] = { 500, 999 };
	/* a member id that was never opened: the sample stays, that count goes */
	raw_store_add(&s, rec, make_read_sample(rec, 500, 11, 100, 0, 10, 2, (uint64_t[]){ 10, 20 }, ids));
	ASSERT_EQ(s.samples.n, 1);
	ASSERT_EQ(s.samples.v[0].nvals, 0);
	ASSERT_EQ(s.bad_reads, 1);
	/* a sample of an unknown event */
	raw_store_add(&s, rec, make_read_sample(rec, 777, 11, 200, 0, 10, 2, (uint64_t[]){ 10, 20 }, ids));
	ASSERT_EQ(s.samples.n, 1);
	ASSERT_EQ(s.malformed, 1);
	/* a read that claims more counters than the record holds */
	size_t len = make_read_sample(rec, 500, 11, 300, 0, 10, 2, (uint64_t[]){ 10, 20 }, (uint64_t[]){ 500, 501 });
	uint64_t nr = 5;
	memcpy(rec + 8 + 6 * 8, &nr, 8);
	raw_store_add(&s, rec, len);
	ASSERT_EQ(s.samples.n, 1);
	ASSERT_EQ(s.malformed, 2);
	/* more counters than a group may have */
	nr = RAW_GROUP_MAX + 1;
	memcpy(rec + 8 + 6 * 8, &nr, 8);
	raw_store_add(&s, rec, len);
	ASSERT_EQ(s.malformed, 3);
	ASSERT_EQ(s.vals.n, 0);
	raw_store_release(&s);
}

/* Merged samples sum their members' counts: nothing is lost to merging. */
TEST(group_reads_survive_merging)
{
	struct raw_store s = group_store();
	s.sample_budget = 16;
	uint8_t rec[512];
	const uint64_t ids[] = { 500, 501 };
	uint64_t total = 0;
	for (uint64_t i = 1; i <= 100; i++) {
		total += 7 * i;
		raw_store_add(&s, rec, make_read_sample(rec, 500, 11, 1000 + i, 0, 10, 2, (uint64_t[]){ 10 * i, total }, ids));
	}
	ASSERT(s.samples.n < 100);
	uint64_t sum = 0, periods = 0;
	for (size_t i = 0; i < s.samples.n; i++) {
		ASSERT_EQ(s.samples.v[i].nvals, 1);
		sum += s.vals.v[s.samples.v[i].val_off].value;
		periods += s.samples.v[i].period;
	}
	ASSERT_EQ(sum, total);
	ASSERT_EQ(periods, 1000);
	raw_store_release(&s);
}

/* With PERF_SAMPLE_CPU the side-band trailer holds the CPU too: the time
 * is one word further from the end. */
TEST(trailer_with_cpu)
{
	struct raw_store s = { .sample_type = PERF_SAMPLE_CPU };
	uint8_t rec[256];
	memset(rec, 0, sizeof rec);
	struct perf_event_header h = { PERF_RECORD_COMM, 0, 0 };
	memcpy(rec, &h, 8);
	uint32_t pid = 5;
	memcpy(rec + 8, &pid, 4);
	memcpy(rec + 12, &pid, 4);
	strcpy((char *)rec + 16, "w");
	uint64_t t[4] = { pid | ((uint64_t)pid << 32), 4242, 1 /* cpu */, 77 };
	memcpy(rec + 32, t, sizeof t);
	((struct perf_event_header *)rec)->size = 64;
	raw_store_add(&s, rec, 64);
	ASSERT_EQ(s.comms.n, 1);
	ASSERT_EQ(s.comms.v[0].time, 4242);
	ASSERT_STREQ(s.comms.v[0].comm, "w");
	raw_store_release(&s);
}

/* The rings are drained one after the other: a mapping made after an exec
 * on another CPU can be handled before the exec's record, and must
 * survive it; the old image's mappings must not. */
TEST(exec_keeps_later_mappings)
{
	struct unwinder *u = unwinder_new();
	unwinder_add_map(u, 7, "/old/app", 0x400000, 0x1000, 0, 50);
	unwinder_add_map(u, 7, "/lib/libc.so.6", 0x7f0000000000, 0x1000, 0, 200); /* after the exec */
	ASSERT_EQ(unwinder_map_count(u, 7), 2);
	unwinder_exec(u, 7, 100);
	ASSERT_EQ(unwinder_map_count(u, 7), 1);
	unwinder_add_map(u, 7, "/new/app", 0x400000, 0x1000, 0, 120);
	ASSERT_EQ(unwinder_map_count(u, 7), 2);
	/* A later exec drops both. */
	unwinder_exec(u, 7, 300);
	ASSERT_EQ(unwinder_map_count(u, 7), 0);
	unwinder_free(u);
}

/* A forked child's own mapping, read from another CPU's ring before its
 * fork: the fork still gives it the parent's mappings. */
TEST(fork_after_the_childs_own_mapping)
{
	struct unwinder *u = unwinder_new();
	unwinder_add_map(u, 7, "/usr/bin/app", 0x400000, 0x1000, 0, 50);
	unwinder_add_map(u, 7, "/lib/libc.so.6", 0x7f0000000000, 0x1000, 0, 60);
	unwinder_add_map(u, 8, "/lib/libplugin.so", 0x7f1000000000, 0x1000, 0, 80);
	unwinder_fork(u, 8, 7);
	ASSERT_EQ(unwinder_map_count(u, 8), 3);
	unwinder_fork(u, 8, 7); /* seen twice: nothing more */
	ASSERT_EQ(unwinder_map_count(u, 8), 3);
	/* An exec of the child drained after all that keeps only what came
	 * after it. */
	unwinder_exec(u, 8, 70);
	ASSERT_EQ(unwinder_map_count(u, 8), 1);
	unwinder_free(u);
}

static void count_times(void *ctx, const void *rec, size_t len)
{
	VEC(uint64_t) *seen = ctx;
	uint64_t t;
	ASSERT(len >= 8 + 32);
	memcpy(&t, (const uint8_t *)rec + 8 + 24, 8); /* identifier, ip, pid/tid, then time */
	vec_push(seen, t);
}

/* Peeking leaves the records (wrapped ones too) for ring_each, in order;
 * rec_queue_push hands single records to the worker. */
TEST(peek_then_each_then_push)
{
	struct fake f;
	struct raw_store s = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	uint8_t rec[256];
	fake_init(&f);
	for (int i = 0; i < 30; i++) /* 96 bytes each: the next 30 wrap past 4 KiB */
		fake_put(&f, rec, make_sample(rec, 10, 11, (uint64_t)i, 5));
	VEC(uint64_t) seen = { 0 };
	ring_each(&f.r, ring_head(&f.r), count_times, &seen);
	ASSERT_EQ(seen.n, 30);
	seen.n = 0;
	for (int i = 30; i < 60; i++)
		fake_put(&f, rec, make_sample(rec, 10, 11, (uint64_t)i, 5));
	ASSERT_EQ(ring_peek(&f.r, ring_head(&f.r), count_times, &seen), 30 * 96);
	ASSERT(ring_pending(&f.r));
	ASSERT_EQ(ring_peek(&f.r, ring_head(&f.r), count_times, &seen), 30 * 96);
	ASSERT_EQ(ring_each(&f.r, ring_head(&f.r), count_times, &seen), 30 * 96);
	ASSERT(!ring_pending(&f.r));
	ASSERT_EQ(seen.n, 90);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 30; i++)
			ASSERT_EQ(seen.v[k * 30 + i], 30 + (uint64_t)i);
	vec_release(&seen);

	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	for (int i = 0; i < 3; i++)
		ASSERT(rec_queue_push(q, 0, rec, make_sample(rec, 10, 11, 500 + (uint64_t)i, 5)));
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT_EQ(s.samples.n, 3);
	ASSERT_EQ(s.samples.v[2].time, 502);
	ASSERT_EQ(qs.bytes, 3 * 96);
	raw_store_release(&s);
	fake_free(&f);
}

/* A DWARF-mode sample of pid 10 whose pc is at ip: the unwinder's 20
 * registers (UNWIND_REGS_MASK order: ip is the 9th, sp the 8th) and a
 * 64-byte stack that the kernel copied whole. */
static size_t make_dwarf_sample(uint8_t *buf, uint64_t ip, uint64_t time)
{
	uint64_t w[64];
	size_t n = 0;
	w[n++] = 77;
	w[n++] = ip;
	w[n++] = 10 | (uint64_t)11 << 32;
	w[n++] = time;
	w[n++] = 1001001;
	w[n++] = PERF_SAMPLE_REGS_ABI_64;
	for (int r = 0; r < 20; r++)
		w[n++] = r == 8 ? ip : r == 7 ? 0x7ffd0000 : 0;
	w[n++] = 64; /* stack size, then its data, then dyn_size */
	for (int i = 0; i < 8; i++)
		w[n++] = 0;
	w[n++] = 64;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(8 + n * 8) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, n * 8);
	return 8 + n * 8;
}

static size_t make_mmap2(uint8_t *buf, uint32_t pid, uint64_t start, const char *path, uint64_t time)
{
	memset(buf, 0, 72 + 256);
	struct perf_event_header h = { PERF_RECORD_MMAP2, 0, 0 };
	memcpy(buf, &h, 8);
	uint32_t prot = 5;
	uint64_t len = 0x10000, pgoff = 0;
	memcpy(buf + 8, &pid, 4);
	memcpy(buf + 12, &pid, 4);
	memcpy(buf + 16, &start, 8);
	memcpy(buf + 24, &len, 8);
	memcpy(buf + 32, &pgoff, 8);
	memcpy(buf + 64, &prot, 4);
	size_t plen = strlen(path) + 1;
	memcpy(buf + 72, path, plen);
	return add_trailer(buf, 72 + ((plen + 7) & ~(size_t)7), pid, time);
}

/* The rings are read one after the other: a thread's samples in CPU 0's
 * ring, read first, come before the mapping of its code that its process
 * made on CPU 1. rings_drain hands the worker the mapping first, once. */
TEST(mappings_before_samples_of_other_rings)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ASSERT(n > 0);
	exe[n] = 0;
	struct fake f[2];
	fake_init(&f[0]);
	fake_init(&f[1]);
	struct raw_store s = { .sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
					      PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER |
					      PERF_SAMPLE_STACK_USER,
			       .regs_mask = UNWIND_REGS_MASK };
	s.unwinder = unwinder_new();
	uint8_t rec[1024];
	const uint64_t base = 0x500000;
	fake_put(&f[1], rec, make_mmap2(rec, 10, base, exe, 100));
	fake_put(&f[0], rec, make_dwarf_sample(rec, base + 0x40, 200));
	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	struct ring rings[2] = { f[0].r, f[1].r };
	ASSERT(rings_drain(rings, 2, q) > 0);
	/* A second pass: the mapping is not handed over twice. */
	fake_put(&f[0], rec, make_dwarf_sample(rec, base + 0x48, 300));
	ASSERT(rings_drain(rings, 2, q) > 0);
	ASSERT(!ring_pending(&rings[0]) && !ring_pending(&rings[1]));
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT_EQ(qs.bytes, f[0].head + f[1].head);
	ASSERT_EQ(s.samples.n, 2);
	ASSERT_EQ(s.mmaps.n, 1);
	struct unwinder_stats us;
	unwinder_get_stats(s.unwinder, &us);
	ASSERT_EQ(us.samples, 2);
	ASSERT_EQ(us.failed, 0); /* both samples found their code */
	unwinder_free(s.unwinder);
	s.unwinder = NULL;
	raw_store_release(&s);
	fake_free(&f[0]);
	fake_free(&f[1]);
}

/* A tracer's pass: what the peek saw and what fn took, by type. While
 * ring 0 is peeked at, its process maps code there (on_peek puts it). */
struct pass_seen {
	struct fake *late_ring;
	uint8_t late[512];
	size_t late_len;
	int peeked[2], taken[2]; /* [0] samples, [1] mappings */
};
static void pass_peek(void *ctx, const void *rec, size_t len)
{
	struct pass_seen *p = ctx;
	const struct perf_event_header *h = rec;
	(void)len;
	p->peeked[h->type == PERF_RECORD_MMAP2]++;
	if (p->late_len) {
		fake_put(p->late_ring, p->late, p->late_len);
		p->late_len = 0;
	}
}
static void pass_take(void *ctx, const void *rec, size_t len)
{
	struct pass_seen *p = ctx;
	const struct perf_event_header *h = rec;
	(void)len;
	p->taken[h->type == PERF_RECORD_MMAP2]++;
}

/* A mapping written to a ring after the pass peeked at it waits for the
 * next pass: taken now, it would reach the unwinder after samples of the
 * other rings that came after it. */
TEST(tracer_pass_takes_what_it_peeked)
{
	struct fake f[2];
	fake_init(&f[0]);
	fake_init(&f[1]);
	uint8_t rec[1024];
	fake_put(&f[0], rec, make_sample(rec, 10, 11, 100, 2));
	fake_put(&f[1], rec, make_sample(rec, 10, 12, 110, 2));
	struct pass_seen p = { .late_ring = &f[0] };
	p.late_len = make_mmap2(p.late, 10, 0x500000, "/bin/true", 105);
	struct tracer t = TRACER_INIT;
	vec_push(&t.rings, f[0].r);
	vec_push(&t.rings, f[1].r);
	tracer_pass(&t, false, pass_peek, pass_take, &p);
	ASSERT_EQ(p.peeked[0], 2);
	ASSERT_EQ(p.taken[0], 2);
	ASSERT_EQ(p.peeked[1], 0);
	ASSERT_EQ(p.taken[1], 0); /* not peeked at: left for the next pass */
	ASSERT(ring_pending(&t.rings.v[0]));
	tracer_pass(&t, false, pass_peek, pass_take, &p);
	ASSERT_EQ(p.peeked[1], 1);
	ASSERT_EQ(p.taken[1], 1);
	ASSERT(!ring_pending(&t.rings.v[0]) && !ring_pending(&t.rings.v[1]));
	vec_release(&t.rings);
	fake_free(&f[0]);
	fake_free(&f[1]);
}

/* The default ring: 128 pages, and with DWARF stacks 512 pages doubled
 * until the rings hold 8 MiB together, where the kernel lets the user
 * lock that much (one header page more a ring); never below 512. */
TEST(default_ring_pages)
{
	ASSERT_EQ(perf_default_ring_pages(false, 2, 4096, UINT64_MAX), 128);
	ASSERT_EQ(perf_default_ring_pages(true, 1, 4096, UINT64_MAX), 2048);
	ASSERT_EQ(perf_default_ring_pages(true, 2, 4096, UINT64_MAX), 1024);
	ASSERT_EQ(perf_default_ring_pages(true, 3, 4096, UINT64_MAX), 1024);
	ASSERT_EQ(perf_default_ring_pages(true, 4, 4096, UINT64_MAX), 512);
	ASSERT_EQ(perf_default_ring_pages(true, 64, 4096, UINT64_MAX), 512);
	ASSERT_EQ(perf_default_ring_pages(true, 2, 65536, UINT64_MAX), 512); /* 64 KiB pages: 64 MiB already */
	/* A limited user: 516 KiB a CPU and 8 MiB of RLIMIT_MEMLOCK fit two
	 * rings of 1025 pages; with 4 MiB they do not, nor one of 2049. */
	ASSERT_EQ(perf_default_ring_pages(true, 2, 4096, 516 * 1024 * 2 + (8u << 20)), 1024);
	ASSERT_EQ(perf_default_ring_pages(true, 2, 4096, 516 * 1024 * 2 + (4u << 20)), 512);
	ASSERT_EQ(perf_default_ring_pages(true, 1, 4096, 516 * 1024 + (8u << 20)), 2048);
	ASSERT_EQ(perf_default_ring_pages(true, 1, 4096, 516 * 1024 + (4u << 20)), 1024);
	ASSERT_EQ(perf_default_ring_pages(true, 2, 4096, 516 * 1024 * 2 + 65536), 512); /* (as before: may not fit) */
	ASSERT_EQ(perf_default_ring_pages(true, 0, 4096, UINT64_MAX), 512);
	/* Root is not limited; a budget is never 0. */
	if (geteuid() == 0)
		ASSERT_EQ(perf_ring_budget(2), UINT64_MAX);
	else
		ASSERT(perf_ring_budget(2) >= 2 * 1024);
}

RUN_TESTS(T(samples_wrap_around), T(partial_record_waits), T(queue_limit_leaves_records_in_the_ring),
	  T(garbage_header_abandons_the_ring), T(side_band_records), T(callchain_length_checked),
	  T(callchain_cut_at_the_kernel_limit), T(stacks_interned), T(samples_merge_past_the_budget), T(lost_places),
	  T(group_reads_become_differences), T(group_reads_checked), T(group_reads_survive_merging), T(trailer_with_cpu),
	  T(exec_keeps_later_mappings), T(fork_after_the_childs_own_mapping), T(peek_then_each_then_push),
	  T(mappings_before_samples_of_other_rings), T(tracer_pass_takes_what_it_peeked),
	  T(default_ring_pages))
