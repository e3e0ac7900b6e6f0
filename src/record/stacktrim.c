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
 */
#include <stddef.h>
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

bool stack_trim_find(const struct stack_trim *t, const void *a, size_t alen, const void *b, size_t len,
		     size_t *stack_at, size_t *keep)
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

size_t stack_trim_copy(uint8_t *dst, const void *a, size_t alen, const void *b, size_t len, size_t stack_at,
		       size_t keep)
{
	copy_part(dst, a, alen, b, 0, stack_at + keep);
	copy_part(dst + stack_at + keep, a, alen, b, len - 8, 8); /* dyn_size */
	size_t out = stack_at + keep + 8;
	uint16_t hsize = (uint16_t)out;
	uint64_t ksize = keep;
	memcpy(dst + offsetof(struct perf_event_header, size), &hsize, sizeof hsize);
	memcpy(dst + stack_at - 8, &ksize, 8);
	return out;
}
