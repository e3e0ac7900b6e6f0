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
		vec_reserve(&s->ips, s->ips.n + nr);
		memcpy(s->ips.v + s->ips.n, c->p, nr * 8);
		s->ips.n += nr;
		x.nips = (uint32_t)nr;
		x.callchain = true;
	} else {
		vec_push(&s->ips, ip);
		x.nips = 1;
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
		if (len < 8 + 72 + 1 + TRAILER_SIZE) {
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
