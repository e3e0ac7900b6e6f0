/* test-stacktrim.c - a DWARF sample's unused stack room is left behind when
 * it is drained, whole or wrapped around the ring's end, and nothing that
 * the worker reads changes: the fields before the stack, the copied bytes,
 * dyn_size, and a size still above dyn_size. Layouts it does not know are
 * copied whole. */
#include <linux/perf_event.h>

#include "cprof/record.h"
#include "cprof/unwind.h"
#include "harness.h"

#define DWARF_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | \
		    PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)
#define REGS_MASK 0x7ull /* three registers */
#define ROOM 1024        /* the stack's reserved size */

/* A DWARF-mode sample as cprof's events write it: nips kernel addresses,
 * abi (0: no registers), a stack of ROOM bytes of which dyn were copied. */
static size_t make_dwarf(uint8_t *buf, uint64_t time, uint64_t nips, uint64_t abi, uint64_t room, uint64_t dyn)
{
	uint64_t w[2048];
	size_t n = 0;
	w[n++] = 77;
	w[n++] = 0xffffffff81000000ull;
	w[n++] = 10 | (11ull << 32);
	w[n++] = time;
	w[n++] = 1;           /* cpu */
	w[n++] = 1001001;     /* period */
	w[n++] = nips;
	for (uint64_t i = 0; i < nips; i++)
		w[n++] = 0xffffffff81000000ull + i;
	w[n++] = abi;
	if (abi)
		for (int i = 0; i < 3; i++)
			w[n++] = 0x7ffd0000ull + (uint64_t)i;
	w[n++] = room;
	for (uint64_t i = 0; i < room / 8; i++)
		w[n++] = 0x5a5a000000000000ull | (time << 16) | i; /* stack words, all different */
	if (room)
		w[n++] = dyn;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, (uint16_t)(8 + n * 8) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, n * 8);
	return 8 + n * 8;
}

static void trim_of(struct stack_trim *t)
{
	stack_trim_init(t, DWARF_TYPE, 0, REGS_MASK);
}

TEST(trimmed_sample_keeps_what_is_read)
{
	struct stack_trim t;
	trim_of(&t);
	ASSERT(t.on);
	static uint8_t rec[16384], out[16384];
	size_t len = make_dwarf(rec, 5, 4, 2, ROOM, 100);
	size_t at, keep;
	uint64_t dyn;
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(at, 8 + 6 * 8 + 8 + 4 * 8 + 8 + 3 * 8 + 8);
	ASSERT_EQ(keep, 112); /* 100 rounded up to 104, and one word more */
	size_t n = stack_trim_copy(out, rec, len, NULL, at, keep, dyn);
	ASSERT_EQ(n, at + keep + 8);
	ASSERT_EQ(((struct perf_event_header *)out)->size, n);
	ASSERT_EQ(((struct perf_event_header *)out)->type, PERF_RECORD_SAMPLE);
	ASSERT_EQ(((struct perf_event_header *)out)->misc, PERF_RECORD_MISC_KERNEL);
	ASSERT(!memcmp(out + 8, rec + 8, at - 16)); /* the fields before the stack */
	ASSERT_EQ(dyn, 100);
	uint64_t size, dyn_out;
	memcpy(&size, out + at - 8, 8);
	memcpy(&dyn_out, out + n - 8, 8);
	ASSERT_EQ(size, keep);
	ASSERT_EQ(dyn_out, 100);
	ASSERT(dyn_out < size); /* still says the stack ended before its room */
	ASSERT(!memcmp(out + at, rec + at, 104));
}

/* rec of len bytes, split around a ring's end at every 8 bytes (records
 * are 8-aligned: the first part at the ring's end, the rest at its
 * start), is trimmed to the n bytes of want each time. */
static void wrapped_the_same(struct stack_trim *t, const uint8_t *rec, size_t len, const uint8_t *want, size_t n)
{
	static uint8_t ring[16384], got[16384];
	for (size_t split = 8; split < len; split += 8) {
		uint8_t *a = ring + sizeof ring - split;
		memcpy(a, rec, split);
		memcpy(ring, rec + split, len - split);
		size_t at, keep;
		uint64_t dyn;
		ASSERT(stack_trim_find(t, a, split, ring, len, &at, &keep, &dyn));
		memset(got, 0, sizeof got);
		ASSERT_EQ(stack_trim_copy(got, a, split, ring, at, keep, dyn), n);
		ASSERT(!memcmp(got, want, n));
	}
}

TEST(wrapped_sample_trims_the_same)
{
	struct stack_trim t;
	trim_of(&t);
	static uint8_t rec[16384], want[16384];
	size_t len = make_dwarf(rec, 9, 3, 2, ROOM, 256);
	size_t at, keep;
	uint64_t dyn;
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	size_t n = stack_trim_copy(want, rec, len, NULL, at, keep, dyn);
	wrapped_the_same(&t, rec, len, want, n);
}

TEST(nothing_to_leave_or_not_a_known_layout)
{
	struct stack_trim t;
	trim_of(&t);
	static uint8_t rec[16384];
	size_t at, keep, len;
	uint64_t dyn;
	len = make_dwarf(rec, 1, 2, 2, ROOM, ROOM); /* the room was filled */
	ASSERT(!stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	len = make_dwarf(rec, 1, 2, 2, ROOM, ROOM - 8); /* one word short: no gain */
	ASSERT(!stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	len = make_dwarf(rec, 1, 2, 0, 0, 0); /* a kernel thread: no registers, no stack */
	ASSERT(!stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	len = make_dwarf(rec, 1, 2, 0, ROOM, 40); /* no registers, a stack all the same */
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(keep, 48);
	len = make_dwarf(rec, 1, 2, 2, ROOM, 100);
	ASSERT(!stack_trim_find(&t, rec, len - 8, NULL, len - 8, &at, &keep, &dyn)); /* sizes do not add up */
	uint64_t huge = 1000000;
	memcpy(rec + 8 + 6 * 8, &huge, 8); /* a callchain longer than the record */
	ASSERT(!stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	len = make_dwarf(rec, 1, 2, 2, ROOM, 100);
	((struct perf_event_header *)rec)->type = PERF_RECORD_MMAP2;
	ASSERT(!stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	/* A field after the stack, or no stack at all: never trimmed. */
	stack_trim_init(&t, DWARF_TYPE | PERF_SAMPLE_WEIGHT, 0, REGS_MASK);
	ASSERT(!t.on);
	stack_trim_init(&t, PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_CALLCHAIN, 0, 0);
	ASSERT(!t.on);
	stack_trim_init(&t, DWARF_TYPE | PERF_SAMPLE_READ, PERF_FORMAT_ID, REGS_MASK); /* not a group */
	ASSERT(!t.on);
}

TEST(group_reading_before_the_stack)
{
	struct stack_trim t;
	uint64_t fmt = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED;
	stack_trim_init(&t, PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_READ | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
			fmt, REGS_MASK);
	ASSERT(t.on);
	/* identifier; nr 2, time enabled, (value, id) x 2; abi 0; stack. */
	uint64_t w[3 + 1 + 1 + 4 + 1 + 1 + 64 / 8 + 1] = { 0 };
	size_t n = 1;
	w[n++] = 77;
	w[n++] = 2;
	w[n++] = 500;
	n += 4;
	w[n++] = 0;
	w[n++] = 64;
	n += 8;
	w[n++] = 8;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, (uint16_t)(n * 8) };
	memcpy(w, &h, 8);
	size_t at, keep;
	uint64_t dyn;
	ASSERT(stack_trim_find(&t, w, n * 8, NULL, n * 8, &at, &keep, &dyn));
	ASSERT_EQ(at, 8 * 10);
	ASSERT_EQ(keep, 16);
}

/* A main thread's sample whose stack pointer is SP and whose copy of dyn
 * bytes holds argc at START and argv[0] after it; pid and tid given. */
#define SP 0x7ffd00001000ull
#define START (SP + 200)
static size_t make_main(uint8_t *buf, uint32_t pid, uint32_t tid, uint64_t argc, uint64_t argv0, uint64_t dyn)
{
	uint64_t w[2048];
	size_t n = 0;
	w[n++] = 77;
	w[n++] = 0x401000;
	w[n++] = pid | (uint64_t)tid << 32;
	w[n++] = 5;           /* time */
	w[n++] = 0;           /* cpu */
	w[n++] = 1001001;     /* period */
	w[n++] = 0;           /* no kernel frames */
	w[n++] = 2;           /* abi */
	w[n++] = SP;          /* registers 7 (sp) and 8 (ip), in mask order */
	w[n++] = 0x401000;
	w[n++] = ROOM;
	for (uint64_t i = 0; i < ROOM / 8; i++)
		w[n++] = 0x5a5a000000000000ull | i;
	w[10 + 1 + (START - SP) / 8] = argc;
	w[10 + 1 + (START - SP) / 8 + 1] = argv0;
	w[n++] = dyn;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(8 + n * 8) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, n * 8);
	return 8 + n * 8;
}

static unsigned start_calls;
static uint64_t fake_start(uint32_t pid)
{
	start_calls++;
	if (pid == 13) /* looked up before its exec first: the old image's start */
		return start_calls == 1 ? START + 64 : START;
	if (pid == 14) /* its main thread runs on another stack */
		return START + 64;
	return pid == 10 ? START : 0;
}

/* Above where a process's stack began lie only its arguments and
 * environment: a main thread's copy is cut there, and only where argc and
 * argv[0] prove the start right. */
TEST(main_thread_copy_ends_at_its_stack_start)
{
	struct stack_trim t;
	stack_trim_init(&t, DWARF_TYPE, 0, (1u << 7) | (1u << 8));
	t.start_of = fake_start;
	ASSERT_EQ(t.sp_reg, 0);
	ASSERT_EQ(t.tid_at, 24);
	static uint8_t rec[16384], out[16384];
	size_t at, keep, len;
	uint64_t dyn;
	len = make_main(rec, 10, 10, 3, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(at, 8 + 7 * 8 + 8 + 2 * 8 + 8);
	ASSERT_EQ(dyn, 200); /* the copy stops at the start... */
	ASSERT_EQ(keep, 208); /* ...with argc's word as its room */
	size_t n = stack_trim_copy(out, rec, len, NULL, at, keep, dyn);
	ASSERT_EQ(n, at + 208 + 8);
	uint64_t size, dyn_out;
	memcpy(&size, out + at - 8, 8);
	memcpy(&dyn_out, out + n - 8, 8);
	ASSERT_EQ(size, 208);
	ASSERT_EQ(dyn_out, 200);
	ASSERT(!memcmp(out + 8, rec + 8, at - 16));
	ASSERT(!memcmp(out + at, rec + at, 200));
	ASSERT_EQ(t.cut_at_start, 1);
	/* The same, wrapped around the ring's end anywhere. */
	wrapped_the_same(&t, rec, len, out, n);
	/* Looked up once per process, and again after it exec'd. */
	ASSERT_EQ(start_calls, 1);
	stack_trim_forget(&t, 10);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(start_calls, 2);
	/* Kept whole: another thread of the process; argc not small; argv[0]
	 * not in the strings above; the start above the copy. */
	uint64_t cuts = t.cut_at_start;
	len = make_main(rec, 10, 11, 3, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(dyn, 500);
	ASSERT_EQ(keep, 512);
	len = make_main(rec, 10, 10, 1ull << 40, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	len = make_main(rec, 10, 10, 3, START + (16u << 20), 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	len = make_main(rec, 10, 10, 3, START - 8, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	/* The kernel's copy may stop short of the strings (at a page it
	 * could not read): argv[0] above the copy is still right. */
	len = make_main(rec, 10, 10, 3, SP + 600, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	cuts++;
	len = make_main(rec, 10, 10, 3, 0, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	len = make_main(rec, 10, 10, 0, 0, 500); /* argc 0, argv[0] null: right */
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	cuts++;
	len = make_main(rec, 10, 10, 3, SP + 300, 210);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 210);
	ASSERT_EQ(t.cut_at_start, cuts);
	/* A process whose start is unknown is asked once. */
	start_calls = 0;
	len = make_main(rec, 12, 12, 3, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	ASSERT_EQ(start_calls, 1);
	/* A start that does not fit is asked again: the next sample is cut. */
	start_calls = 0;
	len = make_main(rec, 13, 13, 3, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	ASSERT_EQ(start_calls, 2);
	/* ...but not for ever. */
	start_calls = 0;
	len = make_main(rec, 14, 14, 3, SP + 300, 500);
	for (int i = 0; i < 50; i++)
		ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 500);
	ASSERT_EQ(start_calls, 8);
	stack_trim_release(&t);
}

/* A FORK or EXIT record: thread tid of process pid, whose parent is ppid
 * (with a sample_id's time after it, as sample_id_all adds). */
static size_t make_task(uint8_t *buf, uint32_t type, uint32_t pid, uint32_t ppid, uint32_t tid)
{
	uint64_t w[4] = { pid | (uint64_t)ppid << 32, tid | (uint64_t)tid << 32, 12345, 12346 };
	struct perf_event_header h = { type, 0, (uint16_t)(8 + sizeof w) };
	memcpy(buf, &h, 8);
	memcpy(buf + 8, w, sizeof w);
	return 8 + sizeof w;
}
static size_t make_exit(uint8_t *buf, uint32_t pid, uint32_t tid)
{
	return make_task(buf, PERF_RECORD_EXIT, pid, 1, tid);
}

/* A process whose main thread exited leaves the table: a long recording
 * of many short processes holds only the live ones. Another thread's exit
 * leaves it be; so does an exit record cut short. A fork of a new process
 * or an exec has its start looked up again. */
TEST(ended_process_leaves_the_start_table)
{
	struct stack_trim t;
	stack_trim_init(&t, DWARF_TYPE, 0, (1u << 7) | (1u << 8));
	t.start_of = fake_start;
	static uint8_t rec[16384], ex[64], ring[64];
	size_t at, keep, len;
	uint64_t dyn;
	start_calls = 0;
	len = make_main(rec, 10, 10, 3, SP + 300, 500);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	ASSERT_EQ(start_calls, 1);
	ASSERT_EQ(t.start_idx.n, 1);
	size_t n = make_exit(ex, 10, 11); /* a thread of it */
	stack_trim_task(&t, ex, n, NULL, n);
	ASSERT_EQ(t.start_idx.n, 1);
	n = make_exit(ex, 10, 10);
	stack_trim_task(&t, ex, 16, ex + 16, 16); /* too short to hold the ids */
	ASSERT_EQ(t.start_idx.n, 1);
	stack_trim_task(&t, ex, n, NULL, n);
	ASSERT_EQ(t.start_idx.n, 0);
	/* Its pid's next process is asked again. */
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn) && dyn == 200);
	ASSERT_EQ(start_calls, 2);
	/* Split around the ring's end at every word, the record still reads. */
	for (size_t split = 8; split < n; split += 8) {
		ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
		ASSERT_EQ(t.start_idx.n, 1);
		memcpy(ring + sizeof ring - split, ex, split);
		memcpy(ring, ex + split, n - split);
		stack_trim_task(&t, ring + sizeof ring - split, split, ring, n);
		ASSERT_EQ(t.start_idx.n, 0);
	}
	/* A new thread of it keeps its start; a new process of its pid, or
	 * its exec, looks again. */
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	unsigned calls = start_calls;
	n = make_task(ex, PERF_RECORD_FORK, 10, 10, 15);
	stack_trim_task(&t, ex, n, NULL, n);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(start_calls, calls);
	n = make_task(ex, PERF_RECORD_FORK, 10, 1, 10);
	stack_trim_task(&t, ex, n, NULL, n);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(start_calls, calls + 1);
	uint64_t comm[3] = { 10 | (uint64_t)10 << 32, 0x6f6f66, 12345 }; /* pid, tid, "foo" */
	struct perf_event_header ch = { PERF_RECORD_COMM, 0, 8 + sizeof comm };
	memcpy(ex, &ch, 8);
	memcpy(ex + 8, comm, sizeof comm);
	stack_trim_task(&t, ex, ch.size, NULL, ch.size); /* a rename, not an exec */
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(start_calls, calls + 1);
	ch.misc = PERF_RECORD_MISC_COMM_EXEC;
	memcpy(ex, &ch, 8);
	stack_trim_task(&t, ex, ch.size, NULL, ch.size);
	ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
	ASSERT_EQ(start_calls, calls + 2);
	n = make_exit(ex, 10, 10);
	stack_trim_task(&t, ex, n, NULL, n);
	ASSERT_EQ(t.start_idx.n, 0);
	/* A thousand processes one after the other: their slots are reused. */
	for (uint32_t pid = 2000; pid < 3000; pid++) {
		len = make_main(rec, pid, pid, 3, SP + 300, 500);
		ASSERT(stack_trim_find(&t, rec, len, NULL, len, &at, &keep, &dyn));
		n = make_exit(ex, pid, pid);
		stack_trim_task(&t, ex, n, NULL, n);
	}
	ASSERT_EQ(t.start_idx.n, 0);
	ASSERT(t.starts.n <= 2);
	stack_trim_release(&t);
}

/* Through the ring and the queue: every sample still parses, the ring is
 * freed by its full size, and the queue held the shorter records. */
TEST(drained_through_the_queue)
{
	enum { PAGE = 4096, DATA = 8192 };
	uint8_t *mem = aligned_alloc(PAGE, PAGE + DATA);
	ASSERT(mem);
	memset(mem, 0, PAGE + DATA);
	struct perf_event_mmap_page *h = (void *)mem;
	h->data_offset = PAGE;
	h->data_size = DATA;
	struct ring r = { .base = mem, .data_size = DATA };
	struct raw_store s = { .sample_type = DWARF_TYPE, .regs_mask = REGS_MASK };
	struct rec_queue *q = rec_queue_new(4u << 20);
	ASSERT_EQ(rec_queue_start(q, &s, NULL), 0);
	static uint8_t rec[16384];
	uint64_t head = 0;
	for (int i = 0; i < 100; i++) {
		size_t len = make_dwarf(rec, 1000 + (uint64_t)i, 3, 2, ROOM, 8 * (uint64_t)(i % 40));
		for (size_t k = 0; k < len; k++)
			mem[PAGE + (head + k) % DATA] = rec[k];
		head += len;
		h->data_head = head;
		if (i % 3 == 2)
			ring_drain(&r, 0, q);
	}
	ring_drain(&r, 0, q);
	ASSERT_EQ(h->data_tail, head);
	struct rec_queue_stats qs;
	rec_queue_finish(q, &qs);
	ASSERT_EQ(qs.bytes, head);
	ASSERT_EQ(s.samples.n, 100);
	ASSERT_EQ(s.malformed, 0);
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(s.samples.v[i].time, 1000 + i);
		ASSERT_EQ(s.samples.v[i].nips, 3);
	}
	raw_store_release(&s);
	free(mem);
}

RUN_TESTS(T(trimmed_sample_keeps_what_is_read), T(wrapped_sample_trims_the_same),
	  T(nothing_to_leave_or_not_a_known_layout), T(group_reading_before_the_stack), T(main_thread_copy_ends_at_its_stack_start),
	  T(ended_process_leaves_the_start_table), T(drained_through_the_queue))
