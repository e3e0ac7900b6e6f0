/*
 * stacktrim.c - where a DWARF-mode sample's copied user stack ends.
 *
 * The kernel reserves the whole requested stack size in every sample
 * (32 KiB by default) but copies only from the stack pointer to the end of
 * the stack: dyn_size bytes, which for a shallow stack is a few KiB. The
 * rest of the reservation is never read. Copying records out of the rings
 * was most of the draining thread's CPU (a profile of the recorder on a
 * 10-frame stack: 40% of its samples in memmove), so the draining thread
 * leaves that unused part behind. The sample's meaning is kept: the
 * worker sees the same dyn_size, and a stack that ended before the
 * reservation was full still reads as such (size stays above dyn_size).
 *
 * Only layouts that cprof's own events produce are shortened: any other
 * field in the sample, or a record that does not add up, is copied whole
 * and left to the worker to judge.
 *
 * A main thread's copy also runs on past its frames: above the stack
 * pointer its process started with (proc(5): startstack) lie only argc,
 * argv, the environment, the auxiliary vector and their strings, which no
 * unwinding reads. A 10-frame program's copy was 6 KB of which its frames
 * took under 1 KB. Where a sample is of a process's main thread (tid ==
 * pid) and that start lies inside the copy, the copy is cut there and
 * says that the stack ended there. Two words of it prove the start right
 * first: argc (small) and argv[0] (null, or a pointer to the strings
 * above). Other threads' stacks, and stacks switched elsewhere
 * (sigaltstack, coroutines), do not hold the start and are kept whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/record.h"

/* The fields that may come before the stack in a sample cprof opened,
 * 8 bytes each (CPU is a u32 and a reserved u32). */
#define FIXED_FIELDS (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
		      PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | \
		      PERF_SAMPLE_PERIOD)
#define KNOWN_FIELDS (FIXED_FIELDS | PERF_SAMPLE_READ | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | \
		      PERF_SAMPLE_STACK_USER)

void stack_trim_init(struct stack_trim *t, uint64_t sample_type, uint64_t read_format, uint64_t regs_mask)
{
	memset(t, 0, sizeof *t);
	/* Only a stack that is the sample's last field can be cut short
	 * without moving what follows it; REGS_USER must precede it. */
	uint64_t need = PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	if ((sample_type & need) != need || (sample_type & ~(uint64_t)KNOWN_FIELDS))
		return;
	if ((sample_type & PERF_SAMPLE_READ) && !(read_format & PERF_FORMAT_GROUP))
		return; /* cprof reads groups only */
	t->on = true;
	t->fixed = 8 * (size_t)__builtin_popcountll(sample_type & FIXED_FIELDS);
	t->read = (sample_type & PERF_SAMPLE_READ) != 0;
	t->read_head = 1 + !!(read_format & PERF_FORMAT_TOTAL_TIME_ENABLED) +
		       !!(read_format & PERF_FORMAT_TOTAL_TIME_RUNNING);
	t->read_per = 1 + !!(read_format & PERF_FORMAT_ID) + !!(read_format & PERF_FORMAT_LOST);
	t->callchain = (sample_type & PERF_SAMPLE_CALLCHAIN) != 0;
	t->nregs = (size_t)__builtin_popcountll(regs_mask);
	t->sp_reg = SIZE_MAX;
#if defined(__x86_64__)
	enum { SP = 7 }; /* PERF_REG_X86_SP */
	if (regs_mask & (1ull << SP))
		t->sp_reg = (size_t)__builtin_popcountll(regs_mask & ((1ull << SP) - 1));
#endif
	if (sample_type & PERF_SAMPLE_TID)
		t->tid_at = 8 + 8 * (size_t)__builtin_popcountll(sample_type & (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP));
}

void stack_trim_release(struct stack_trim *t)
{
	u64map_release(&t->start_idx);
	vec_release(&t->starts);
	vec_release(&t->free_starts);
}

void stack_trim_forget(struct stack_trim *t, uint32_t pid)
{
	int64_t i = u64map_get(&t->start_idx, pid);
	if (i >= 0)
		t->starts.v[i] = (struct stack_start){ 0, 0 };
}

uint64_t stack_start_of_proc(uint32_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof buf);
	unsigned long long v = 0;
	/* startstack is field 28 (p starts at the third). */
	if (!p || sscanf(p, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
			 " %*s %*s %*s %llu", &v) != 1)
		return 0;
	return v;
}

/* pid's entry, where its stack began: looked up at its first sample; 0
 * if unknown. */
static struct stack_start *start_of(struct stack_trim *t, uint32_t pid)
{
	int64_t i = u64map_get(&t->start_idx, pid);
	if (i < 0) {
		if (t->free_starts.n) {
			i = t->free_starts.v[--t->free_starts.n];
			t->starts.v[i] = (struct stack_start){ 0, 0 };
		} else {
			vec_push(&t->starts, ((struct stack_start){ 0, 0 }));
			i = (int64_t)t->starts.n - 1;
		}
		u64map_put(&t->start_idx, pid, (uint32_t)i);
	}
	struct stack_start *e = &t->starts.v[i];
	if (!e->start) {
		uint64_t v = t->start_of(pid);
		e->start = v ? v : 1;
		e->looks++;
	}
	return e;
}

/* A start that did not fit a sample may be of the image before an exec
 * (a sample taken during it, drained before the exec's record): look
 * again at the next sample, a few times, not for every sample of a
 * process whose main thread runs on another stack. */
#define START_LOOKS 8
static void start_unfit(struct stack_start *e)
{
	if (e->looks < START_LOOKS)
		e->start = 0;
}

/* The u64 at off of a record that may wrap around the end of the ring. */
static uint64_t word_at(const uint8_t *a, size_t alen, const uint8_t *b, size_t off)
{
	uint64_t v;
	if (off + 8 <= alen) {
		memcpy(&v, a + off, 8);
	} else if (off >= alen) {
		memcpy(&v, b + (off - alen), 8);
	} else {
		memcpy(&v, a + off, alen - off);
		memcpy((uint8_t *)&v + (alen - off), b, 8 - (alen - off));
	}
	return v;
}

void stack_trim_task(struct stack_trim *t, const void *a, size_t alen, const void *b, size_t len)
{
	if (len < 24)
		return;
	/* FORK and EXIT: pid, ppid, tid, ptid; COMM: pid, tid. u32 each. */
	uint64_t h = word_at(a, alen, b, 0), p = word_at(a, alen, b, 8), q = word_at(a, alen, b, 16);
	uint32_t type = (uint32_t)h, pid = (uint32_t)p, ppid = (uint32_t)(p >> 32), tid = (uint32_t)q;
	bool exec = ((h >> 32) & 0xffff) & PERF_RECORD_MISC_COMM_EXEC;
	if ((type == PERF_RECORD_COMM && exec) || (type == PERF_RECORD_FORK && pid != ppid)) {
		stack_trim_forget(t, pid);
	} else if (type == PERF_RECORD_EXIT && pid == tid) {
		int64_t i = u64map_del(&t->start_idx, pid);
		if (i >= 0)
			vec_push(&t->free_starts, (uint32_t)i);
	}
}

/* How far above the start argv[0] may lie: the strings and vectors of an
 * exec take at most a quarter of the stack limit (execve(2)); 8 MiB is a
 * 32 MiB limit's. (The copy may end before the strings: the kernel stops
 * at a page it cannot read at the time of the sample.) */
#define STRINGS_MAX (8u << 20)

/* Bytes of a main thread's copy below its process's stack start, which
 * the copy of dyn bytes at stack_at of a sample holds; 0: keep it all. */
static size_t below_start(struct stack_trim *t, const void *a, size_t alen, const void *b, size_t regs_at,
			  size_t stack_at, uint64_t dyn)
{
	uint64_t ids = word_at(a, alen, b, t->tid_at);
	uint32_t pid = (uint32_t)ids, tid = (uint32_t)(ids >> 32);
	if (!pid || pid != tid)
		return 0;
	struct stack_start *e = start_of(t, pid);
	uint64_t start = e->start, sp = word_at(a, alen, b, regs_at + 8 * t->sp_reg);
	if (start <= 1)
		return 0;
	if (start <= sp || start - sp + 16 > dyn || (start - sp) & 7) {
		start_unfit(e);
		return 0;
	}
	size_t at = stack_at + (size_t)(start - sp);
	uint64_t argc = word_at(a, alen, b, at), argv0 = word_at(a, alen, b, at + 8);
	if (argc > (1u << 24) || (argc ? argv0 <= start || argv0 - start > STRINGS_MAX : argv0 != 0)) {
		start_unfit(e);
		return 0;
	}
	return (size_t)(start - sp);
}

bool stack_trim_find(struct stack_trim *t, const void *a, size_t alen, const void *b, size_t len, size_t *stack_at,
		     size_t *keep, uint64_t *dyn_out)
{
	if (!t->on || len < 8)
		return false;
	uint32_t type = (uint32_t)word_at(a, alen, b, 0);
	if (type != PERF_RECORD_SAMPLE)
		return false;
	/* Every step checks that the next word lies inside the record. */
	size_t off = 8 + t->fixed;
	if (t->read) {
		if (off + 8 > len)
			return false;
		uint64_t nr = word_at(a, alen, b, off);
		if (nr > len / 8)
			return false;
		off += 8 * (t->read_head + t->read_per * (size_t)nr);
	}
	if (t->callchain) {
		if (off + 8 > len)
			return false;
		uint64_t nr = word_at(a, alen, b, off);
		if (nr > len / 8)
			return false;
		off += 8 + 8 * (size_t)nr;
	}
	if (off + 8 > len)
		return false;
	uint64_t abi = word_at(a, alen, b, off);
	size_t regs_at = off + 8;
	off += 8 + (abi ? 8 * t->nregs : 0);
	if (off + 8 > len)
		return false;
	uint64_t size = word_at(a, alen, b, off);
	off += 8;
	/* The stack's data, then dyn_size, end the record. */
	if (!size || size > len || off + size + 8 != len)
		return false;
	uint64_t dyn = word_at(a, alen, b, off + size);
	/* One word more than the copy, rounded to 8: the worker still sees
	 * dyn_size below size, which says the stack ended there. */
	uint64_t want = ((dyn + 7) & ~(uint64_t)7) + 8;
	if (dyn >= size || want >= size)
		return false;
	*stack_at = off;
	*keep = (size_t)want;
	*dyn_out = dyn;
	size_t below;
	if (t->start_of && abi && t->sp_reg < t->nregs && t->tid_at &&
	    (below = below_start(t, a, alen, b, regs_at, off, dyn))) {
		/* The copy ends at the start, one word of room above it. */
		*keep = below + 8;
		*dyn_out = below;
		t->cut_at_start++;
	}
	return true;
}

/* Copy n bytes at off of the two-part record to dst. */
static void copy_part(uint8_t *dst, const uint8_t *a, size_t alen, const uint8_t *b, size_t off, size_t n)
{
	if (off >= alen) {
		memcpy(dst, b + (off - alen), n);
	} else if (off + n <= alen) {
		memcpy(dst, a + off, n);
	} else {
		memcpy(dst, a + off, alen - off);
		memcpy(dst + (alen - off), b, n - (alen - off));
	}
}

size_t stack_trim_copy(uint8_t *dst, const void *a, size_t alen, const void *b, size_t stack_at, size_t keep,
		       uint64_t dyn)
{
	copy_part(dst, a, alen, b, 0, stack_at + keep);
	memcpy(dst + stack_at + keep, &dyn, 8);
	size_t out = stack_at + keep + 8;
	uint16_t hsize = (uint16_t)out;
	uint64_t ksize = keep;
	memcpy(dst + offsetof(struct perf_event_header, size), &hsize, sizeof hsize);
	memcpy(dst + stack_at - 8, &ksize, 8);
	return out;
}
