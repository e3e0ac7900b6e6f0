/*
 * ring.c - perf ring buffers: map, drain with the kernel's barrier protocol,
 * and parse each record into the raw store. Records are bounds-checked; a
 * record too short for its type is counted as malformed, never trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cprof/record.h"
#include "cprof/unwind.h"

int ring_map(struct ring *r, int fd, unsigned pages, struct cprof_err *err)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	memset(r, 0, sizeof *r);
	r->base = mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		int e = errno;
		r->base = NULL;
		if (e == EPERM)
			return err_set(err, e, "cannot map a %u-page ring buffer: over kernel.perf_event_mlock_kb; "
					       "use a smaller -m or run as root", pages);
		return err_set(err, e, "cannot map the ring buffer: %s", strerror(e));
	}
	struct perf_event_mmap_page *h = r->base;
	r->fd = fd;
	r->data_size = h->data_size ? h->data_size : pages * pg;
	r->scratch = xmalloc(65536);
	return 0;
}

void ring_unmap(struct ring *r)
{
	if (r->base) {
		struct perf_event_mmap_page *h = r->base;
		size_t total = (size_t)(h->data_offset ? h->data_offset : (uint64_t)sysconf(_SC_PAGESIZE)) + r->data_size;
		munmap(r->base, total);
	}
	free(r->scratch);
	memset(r, 0, sizeof *r);
}

size_t ring_drain(struct ring *r, struct raw_store *s)
{
	struct perf_event_mmap_page *h = r->base;
	uint8_t *data = (uint8_t *)r->base + (h->data_offset ? h->data_offset : (uint64_t)sysconf(_SC_PAGESIZE));
	uint64_t head = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = h->data_tail, start = tail;
	size_t size = r->data_size;
	while (tail < head) {
		size_t off = tail % size;
		struct perf_event_header hdr;
		memcpy(&hdr, data + off, sizeof hdr); /* headers never straddle the end */
		if (hdr.size < sizeof hdr || tail + hdr.size > head)
			break;
		const void *rec = data + off;
		if (off + hdr.size > size) {
			memcpy(r->scratch, data + off, size - off);
			memcpy(r->scratch + (size - off), data, hdr.size - (size - off));
			rec = r->scratch;
		}
		raw_store_add(s, rec, hdr.size);
		tail += hdr.size;
	}
	__atomic_store_n(&h->data_tail, tail, __ATOMIC_RELEASE);
	return (size_t)(tail - start);
}

void raw_store_release(struct raw_store *s)
{
	for (size_t i = 0; i < s->mmaps.n; i++)
		free(s->mmaps.v[i].path);
	vec_release(&s->samples);
	vec_release(&s->ips);
	vec_release(&s->mmaps);
	vec_release(&s->tasks);
	vec_release(&s->comms);
}

/* Cursor over a record's body with bounds checks. */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t take64(struct cur *c)
{
	uint64_t v = 0;
	if (c->end - c->p < 8) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

/* The sample_id trailer of non-sample records: TID, TIME, IDENTIFIER (last). */
#define TRAILER_SIZE 24

#define MAX_UNWIND 512

/* Append the user part of a DWARF-mode sample: unwind the copied stack. A
 * frame the unwinder found exact (after a signal) gets a context marker in
 * front of it, so the finishing pass looks it up without the -1 applied to
 * return addresses. */
static void append_unwound(struct raw_store *s, struct raw_sample *x, const uint64_t *regs, size_t nregs,
			   const uint8_t *stack, size_t stack_len, bool whole_stack)
{
	uint64_t pcs[MAX_UNWIND];
	bool exact[MAX_UNWIND];
	bool truncated;
	int n = unwinder_unwind(s->unwinder, x->pid, x->tid, regs, nregs, stack, stack_len, whole_stack, pcs, exact,
				MAX_UNWIND, &truncated);
	vec_push(&s->ips, (uint64_t)PERF_CONTEXT_USER);
	x->nips++;
	for (int i = 0; i < n; i++) {
		if (i > 0 && exact[i]) {
			vec_push(&s->ips, (uint64_t)PERF_CONTEXT_USER);
			x->nips++;
		}
		vec_push(&s->ips, pcs[i]);
		x->nips++;
	}
	x->truncated = truncated;
}

static void add_sample(struct raw_store *s, const struct perf_event_header *hdr, struct cur *c)
{
	struct raw_sample x = { .mode = hdr->misc & PERF_RECORD_MISC_CPUMODE_MASK };
	(void)take64(c); /* IDENTIFIER */
	uint64_t ip = take64(c);
	uint64_t pt = take64(c);
	x.pid = (uint32_t)pt;
	x.tid = (uint32_t)(pt >> 32);
	x.time = take64(c);
	x.period = take64(c);
	x.ip_off = s->ips.n;
	if (s->sample_type & PERF_SAMPLE_CALLCHAIN) {
		uint64_t nr = take64(c);
		if (c->bad || nr > (uint64_t)(c->end - c->p) / 8) {
			s->malformed++;
			return;
		}
		const uint64_t *chain = (const uint64_t *)(const void *)c->p;
		uint64_t keep = nr;
		if (s->unwinder) {
			/* User frames come from unwinding: keep the kernel part only. */
			for (uint64_t i = 0; i < nr; i++) {
				uint64_t v;
				memcpy(&v, chain + i, 8);
				if (v == (uint64_t)PERF_CONTEXT_USER) {
					keep = i;
					break;
				}
			}
		}
		if (keep) {
			vec_reserve(&s->ips, s->ips.n + keep);
			memcpy(s->ips.v + s->ips.n, c->p, keep * 8);
			s->ips.n += keep;
		}
		c->p += nr * 8;
		x.nips = (uint32_t)keep;
		x.callchain = true;
	} else {
		vec_push(&s->ips, ip);
		x.nips = 1;
	}
	if (s->sample_type & PERF_SAMPLE_REGS_USER) {
		uint64_t abi = take64(c);
		size_t nregs = abi ? (size_t)__builtin_popcountll(s->regs_mask) : 0;
		const uint8_t *regs_at = c->p;
		if ((size_t)(c->end - c->p) < nregs * 8)
			c->bad = true;
		else
			c->p += nregs * 8;
		const uint8_t *stack = NULL;
		uint64_t size = 0, dyn = 0;
		if (!c->bad && (s->sample_type & PERF_SAMPLE_STACK_USER)) {
			size = take64(c);
			if (size > (uint64_t)(c->end - c->p)) {
				c->bad = true;
			} else if (size) {
				stack = c->p;
				c->p += size;
				dyn = take64(c);
			}
		}
		/* For a sample taken in the kernel, the user registers are where
		 * the task entered it, so the same unwind gives its user stack. */
		if (!c->bad && s->unwinder && nregs && nregs <= 32) {
			uint64_t regs[32];
			memcpy(regs, regs_at, nregs * 8);
			/* dyn < size: the copy stopped at the end of the stack. */
			append_unwound(s, &x, regs, nregs, stack, dyn < size ? dyn : size, dyn < size);
		}
	}
	if (c->bad) {
		s->ips.n = x.ip_off;
		s->malformed++;
		return;
	}
	vec_push(&s->samples, x);
}

static uint64_t trailer_time(const uint8_t *rec, size_t len)
{
	uint64_t t;
	memcpy(&t, rec + len - 16, 8);
	return t;
}

void raw_store_add(struct raw_store *s, const void *rec, size_t len)
{
	const struct perf_event_header *hdr = rec;
	const uint8_t *b = rec;
	struct cur c = { b + sizeof *hdr, b + len, false };
	switch (hdr->type) {
	case PERF_RECORD_SAMPLE:
		add_sample(s, hdr, &c);
		break;
	case PERF_RECORD_MMAP2: {
		/* pid tid addr len pgoff {maj min ino ino_gen | build id} prot flags filename trailer */
		/* The 72 bytes include the header; the name is NUL-padded to 8
		 * bytes, so "[vdso]" makes the shortest valid record. */
		if (len < 72 + 8 + TRAILER_SIZE) {
			s->malformed++;
			break;
		}
		struct raw_mmap m = { 0 };
		uint32_t prot;
		memcpy(&m.pid, b + 8, 4);
		memcpy(&m.tid, b + 12, 4);
		memcpy(&m.start, b + 16, 8);
		memcpy(&m.len, b + 24, 8);
		memcpy(&m.pgoff, b + 32, 8);
		memcpy(&prot, b + 64, 4);
		if (hdr->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			m.build_id_size = b[40] > 20 ? 20 : b[40];
			memcpy(m.build_id, b + 44, m.build_id_size);
		}
		size_t maxname = len - 72 - TRAILER_SIZE;
		m.path = xstrndup((const char *)b + 72, strnlen((const char *)b + 72, maxname));
		m.time = trailer_time(b, len);
		if (!(prot & 4) && strcmp(m.path, "[vdso]") != 0) { /* PROT_EXEC only */
			free(m.path);
			break;
		}
		if (s->unwinder)
			unwinder_add_map(s->unwinder, m.pid, m.path, m.start, m.len, m.pgoff);
		vec_push(&s->mmaps, m);
		break;
	}
	case PERF_RECORD_COMM: {
		if (len < 8 + 8 + 1 + TRAILER_SIZE) {
			s->malformed++;
			break;
		}
		struct raw_comm cm = { .time = trailer_time(b, len) };
		memcpy(&cm.pid, b + 8, 4);
		memcpy(&cm.tid, b + 12, 4);
		size_t maxname = len - 16 - TRAILER_SIZE;
		size_t n = strnlen((const char *)b + 16, maxname);
		if (n > 15)
			n = 15;
		memcpy(cm.comm, b + 16, n);
		cm.comm[n] = 0;
		cm.exec = hdr->misc & PERF_RECORD_MISC_COMM_EXEC;
		if (s->unwinder && (hdr->misc & PERF_RECORD_MISC_COMM_EXEC) && cm.pid == cm.tid)
			unwinder_exec(s->unwinder, cm.pid);
		vec_push(&s->comms, cm);
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		if (len < 8 + 24) {
			s->malformed++;
			break;
		}
		struct raw_task t = { .exit = hdr->type == PERF_RECORD_EXIT };
		memcpy(&t.pid, b + 8, 4);
		memcpy(&t.ppid, b + 12, 4);
		memcpy(&t.tid, b + 16, 4);
		memcpy(&t.ptid, b + 20, 4);
		memcpy(&t.time, b + 24, 8);
		if (s->unwinder && !t.exit && t.pid != t.ppid && t.pid == t.tid)
			unwinder_fork(s->unwinder, t.pid, t.ppid);
		vec_push(&s->tasks, t);
		break;
	}
	case PERF_RECORD_LOST:
		if (len >= 8 + 16) {
			uint64_t n;
			memcpy(&n, b + 16, 8);
			s->lost_records += n;
		}
		break;
	case PERF_RECORD_LOST_SAMPLES:
		if (len >= 8 + 8) {
			uint64_t n;
			memcpy(&n, b + 8, 8);
			s->lost_samples += n;
		}
		break;
	case PERF_RECORD_THROTTLE:
		s->throttles++;
		break;
	default:
		break;
	}
}
