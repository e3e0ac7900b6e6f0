/*
 * ring.c - perf ring buffers: map, drain with the kernel's barrier protocol,
 * and parse each record into the raw store. Records are bounds-checked; a
 * record too short for its type is counted as malformed, never trusted.
 *
 * One file: the kernel's record layouts and their bounds checks belong
 * together.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/event.h"
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
			return err_set(err, e, "cannot map a %u-page ring buffer: over what kernel.perf_event_mlock_kb "
					       "and the locked memory limit (ulimit -l) allow; use a smaller -m or run as root",
				       pages);
		return err_set(err, e, "cannot map the ring buffer: %s", strerror(e));
	}
	struct perf_event_mmap_page *h = r->base;
	r->fd = fd;
	r->data_size = h->data_size ? h->data_size : pages * pg;
	return 0;
}

void ring_unmap(struct ring *r)
{
	if (r->base) {
		struct perf_event_mmap_page *h = r->base;
		size_t total = (size_t)(h->data_offset ? h->data_offset : (uint64_t)sysconf(_SC_PAGESIZE)) + r->data_size;
		munmap(r->base, total);
	}
	memset(r, 0, sizeof *r);
}

/*
 * The record queue. The kernel drops samples when a ring is full, and a
 * ring fills in tens of milliseconds in DWARF mode (a 32 KiB stack copy per
 * sample), while parsing a sample means unwinding it, and the first
 * unwinds of a process read its binaries' CFI, which for a library with
 * compressed debug information means inflating it (tens of ms, far more
 * under sanitizers). So the thread that drains the rings only copies whole
 * records out into chunks and frees the ring space at once; a worker
 * thread parses and unwinds them, in order. When the worker falls behind
 * by more than the queue's limit, draining stops and the kernel counts
 * what it drops, as it does for any full ring.
 *
 * The draining thread may run at a higher priority than the worker, so it
 * must never wait for it: a lock the worker holds when it is preempted
 * would hold the draining thread too (priority inversion: with a mutex here,
 * rings were seen full while the queue had room). Chunks therefore go to the worker
 * through a single-producer single-consumer list and come back through a
 * stack that the draining thread empties in one exchange; wake-ups are
 * semaphore posts, which never block. Chunks are recycled, never freed
 * while recording, so the draining thread does not call malloc once the
 * pool has grown to what the recording needs.
 */
#define CHUNK_SIZE (1u << 20) /* records are at most 64 KiB */

struct qchunk {
	struct qchunk *next; /* in the filled list (atomic), or a free list */
	size_t used;
	uint8_t *data;       /* CHUNK_SIZE bytes */
};

/* Each record in a chunk: this header, then len bytes padded to 8. */
struct qent {
	uint32_t len, ring;
};

struct rec_queue {
	/* Filled chunks, oldest first: the producer appends after tail, the
	 * consumer reads what follows head; both start at a stub. */
	struct qchunk stub;       /* holds no data */
	struct qchunk *tail;      /* draining thread's */
	struct qchunk *head;      /* worker's: the last chunk it took */
	struct qchunk *returned;  /* stack of parsed chunks (atomic) */
	struct qchunk *free;      /* draining thread's free list */
	struct qchunk *cur;       /* being filled */
	uint64_t in_use, limit;   /* chunks taken from the pool (atomic) and the cap */
	uint64_t last_hand;       /* when a chunk was last handed over */
	bool closed;              /* atomic: no more chunks will come */
	sem_t filled, emptied;
	struct raw_store *st;
	pthread_t worker;
	bool started;
	struct rec_queue_stats stats;
	int worker_nice;
	bool worker_nice_set;
	struct stack_trim trim;   /* the samples' layout, for the draining thread */
	bool maps_first;          /* the worker unwinds: hand it mappings first (rings_drain) */
};

struct rec_queue *rec_queue_new(size_t limit_bytes)
{
	struct rec_queue *q = xcalloc(1, sizeof *q);
	q->tail = q->head = &q->stub;
	q->limit = limit_bytes / CHUNK_SIZE;
	if (q->limit < 2)
		q->limit = 2;
	sem_init(&q->filled, 0, 0);
	sem_init(&q->emptied, 0, 0);
	return q;
}

static void hand_over(struct rec_queue *q)
{
	struct qchunk *c = q->cur;
	if (!c || !c->used)
		return;
	q->cur = NULL;
	q->last_hand = now_ns();
	c->next = NULL;
	__atomic_store_n(&q->tail->next, c, __ATOMIC_RELEASE);
	q->tail = c;
	sem_post(&q->filled);
}

/* Room for a record of len bytes in the chunk being filled; NULL when the
 * queue is at its limit. */
static uint8_t *queue_room(struct rec_queue *q, size_t len, uint32_t ring)
{
	size_t need = sizeof(struct qent) + ((len + 7) & ~(size_t)7);
	if (q->cur && CHUNK_SIZE - q->cur->used < need)
		hand_over(q);
	if (!q->cur) {
		if (__atomic_load_n(&q->in_use, __ATOMIC_ACQUIRE) >= q->limit) {
			q->stats.full++;
			return NULL;
		}
		if (!q->free)
			q->free = __atomic_exchange_n(&q->returned, NULL, __ATOMIC_ACQUIRE);
		if (q->free) {
			q->cur = q->free;
			q->free = q->cur->next;
		} else {
			q->cur = xmalloc(sizeof *q->cur);
			q->cur->data = xmalloc(CHUNK_SIZE);
		}
		uint64_t n = __atomic_add_fetch(&q->in_use, 1, __ATOMIC_ACQ_REL);
		if (n > q->stats.peak_chunks)
			q->stats.peak_chunks = n;
		q->cur->used = 0;
	}
	struct qent e = { (uint32_t)len, ring };
	uint8_t *p = q->cur->data + q->cur->used;
	memcpy(p, &e, sizeof e);
	q->cur->used += need;
	return p + sizeof e;
}

/* The records that tell the unwinder where a process's code is. */
static bool is_mapping(uint32_t type)
{
	return type == PERF_RECORD_MMAP || type == PERF_RECORD_MMAP2 || type == PERF_RECORD_FORK;
}

static uint8_t *ring_data(const struct ring *r)
{
	const struct perf_event_mmap_page *h = r->base;
	return (uint8_t *)r->base + (h->data_offset ? h->data_offset : (uint64_t)sysconf(_SC_PAGESIZE));
}

/* Copy the record of len bytes at ring offset off (it may wrap) to q. */
static bool copy_record(struct rec_queue *q, uint32_t ring, const uint8_t *data, size_t size, size_t off, size_t len)
{
	size_t alen = off + len > size ? size - off : len;
	size_t stack_at, keep;
	uint64_t dyn;
	if (stack_trim_find(&q->trim, data + off, alen, data, len, &stack_at, &keep, &dyn)) {
		/* A DWARF sample: its stack's unused room stays behind. */
		uint8_t *to = queue_room(q, stack_at + keep + 8, ring);
		if (!to)
			return false;
		stack_trim_copy(to, data + off, alen, data, stack_at, keep, dyn);
		return true;
	}
	uint8_t *to = queue_room(q, len, ring);
	if (!to)
		return false;
	memcpy(to, data + off, alen);
	if (alen < len)
		memcpy(to + alen, data, len - alen);
	return true;
}

/* Copy r's records up to head into q; mappings and forks below r->peeked
 * went over already and are passed by. */
static size_t drain_to(struct ring *r, uint32_t ring, struct rec_queue *q, uint64_t head)
{
	struct perf_event_mmap_page *h = r->base;
	uint8_t *data = ring_data(r);
	uint64_t tail = h->data_tail, start = tail, skipped = 0;
	size_t size = r->data_size;
	if (head - tail > r->max_fill)
		r->max_fill = head - tail;
	while (tail < head) {
		size_t off = tail % size;
		struct perf_event_header hdr;
		memcpy(&hdr, data + off, sizeof hdr); /* headers never straddle the end */
		if (hdr.size < sizeof hdr) {
			/* Not a record: nothing after it can be found either. */
			q->stats.malformed++;
			tail = head;
			break;
		}
		if (tail + hdr.size > head)
			break;
		if (tail < r->peeked && is_mapping(hdr.type)) {
			skipped += hdr.size;
		} else if (!copy_record(q, ring, data, size, off, hdr.size)) {
			break; /* the worker is behind: leave the rest in the ring */
		}
		if (hdr.type == PERF_RECORD_FORK || hdr.type == PERF_RECORD_COMM || hdr.type == PERF_RECORD_EXIT)
			stack_trim_task(&q->trim, data + off, off + hdr.size > size ? size - off : hdr.size, data,
					hdr.size);
		tail += hdr.size;
	}
	__atomic_store_n(&h->data_tail, tail, __ATOMIC_RELEASE);
	q->stats.bytes += tail - start - skipped;
	return (size_t)(tail - start);
}

size_t ring_drain(struct ring *r, uint32_t ring, struct rec_queue *q)
{
	const struct perf_event_mmap_page *h = r->base;
	return drain_to(r, ring, q, __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE));
}

/* Hand q the mappings and forks in r that were not handed over yet; false
 * when q is at its limit (r->peeked says how far it got). */
static bool hand_mappings(struct ring *r, uint32_t ring, struct rec_queue *q)
{
	const struct perf_event_mmap_page *h = r->base;
	const uint8_t *data = ring_data(r);
	uint64_t head = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE);
	uint64_t at = h->data_tail > r->peeked ? h->data_tail : r->peeked;
	size_t size = r->data_size;
	while (at < head) {
		size_t off = at % size;
		struct perf_event_header hdr;
		memcpy(&hdr, data + off, sizeof hdr);
		if (hdr.size < sizeof hdr || at + hdr.size > head)
			break; /* drain_to judges a bad record; a partial one waits */
		if (is_mapping(hdr.type)) {
			if (!copy_record(q, ring, data, size, off, hdr.size)) {
				r->peeked = at;
				return false;
			}
			q->stats.bytes += hdr.size;
		}
		at += hdr.size;
	}
	r->peeked = at;
	return true;
}

size_t rings_drain(struct ring *rings, size_t n, struct rec_queue *q)
{
	size_t got = 0;
	if (!q->maps_first) {
		for (size_t i = 0; i < n; i++)
			got += ring_drain(&rings[i], (uint32_t)i, q);
		return got;
	}
	/* The rings are read one after the other. A sample in one ring can
	 * need a mapping that its process made just before on another CPU,
	 * in a ring read later (a new thread's first samples, the program's
	 * own code after exec): unwound before it, the sample has no code to
	 * unwind. So each ring's head is taken first; then every mapping up
	 * to now goes over, and only then the records below those heads, all
	 * of which came after any mapping they need. */
	for (size_t i = 0; i < n; i++) {
		const struct perf_event_mmap_page *h = rings[i].base;
		rings[i].upto = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE);
	}
	for (size_t i = 0; i < n; i++)
		if (!hand_mappings(&rings[i], (uint32_t)i, q))
			return 0;
	for (size_t i = 0; i < n; i++)
		got += drain_to(&rings[i], (uint32_t)i, q, rings[i].upto);
	return got;
}

bool rec_queue_push(struct rec_queue *q, uint32_t ring, const void *rec, size_t len)
{
	uint8_t *to = queue_room(q, len, ring);
	if (!to)
		return false;
	memcpy(to, rec, len);
	q->stats.bytes += len;
	return true;
}

/* Hand fn every complete record below head, in place or bounced when it
 * wraps; free their space if consume. */
static size_t ring_walk(struct ring *r, uint64_t head, bool consume,
			void (*fn)(void *ctx, const void *rec, size_t len), void *ctx)
{
	struct perf_event_mmap_page *h = r->base;
	uint8_t *data = (uint8_t *)r->base + (h->data_offset ? h->data_offset : (uint64_t)sysconf(_SC_PAGESIZE));
	uint64_t tail = h->data_tail, start = tail;
	size_t size = r->data_size;
	uint64_t bounce[65536 / 8]; /* a record that wraps around the end; records are < 64 KiB */
	if (head - tail > r->max_fill)
		r->max_fill = head - tail;
	while (tail < head) {
		size_t off = tail % size;
		struct perf_event_header hdr;
		memcpy(&hdr, data + off, sizeof hdr); /* headers never straddle the end */
		if (hdr.size < sizeof hdr) {
			tail = head; /* not a record: nothing after it can be found either */
			break;
		}
		if (tail + hdr.size > head)
			break;
		if (off + hdr.size > size) {
			memcpy(bounce, data + off, size - off);
			memcpy((uint8_t *)bounce + (size - off), data, hdr.size - (size - off));
			fn(ctx, bounce, hdr.size);
		} else {
			fn(ctx, data + off, hdr.size);
		}
		tail += hdr.size;
	}
	if (consume)
		__atomic_store_n(&h->data_tail, tail, __ATOMIC_RELEASE);
	return (size_t)(tail - start);
}

uint64_t ring_head(const struct ring *r)
{
	const struct perf_event_mmap_page *h = r->base;
	return __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE);
}

size_t ring_each(struct ring *r, uint64_t head, void (*fn)(void *ctx, const void *rec, size_t len), void *ctx)
{
	return ring_walk(r, head, true, fn, ctx);
}

size_t ring_peek(struct ring *r, uint64_t head, void (*fn)(void *ctx, const void *rec, size_t len), void *ctx)
{
	return ring_walk(r, head, false, fn, ctx);
}

bool ring_pending(const struct ring *r)
{
	const struct perf_event_mmap_page *h = r->base;
	return __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE) != h->data_tail;
}

void rec_queue_flush(struct rec_queue *q, uint64_t min_age_ns)
{
	/* Handing over a chunk that is mostly empty wastes its room in the
	 * queue; but records should not wait for long either. */
	if (q->cur && q->cur->used && (!min_age_ns || now_ns() - q->last_hand >= min_age_ns))
		hand_over(q);
}

void rec_queue_wait_space(struct rec_queue *q, unsigned ms)
{
	if (__atomic_load_n(&q->in_use, __ATOMIC_ACQUIRE) < q->limit)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	while (__atomic_load_n(&q->in_use, __ATOMIC_ACQUIRE) >= q->limit)
		if (sem_timedwait(&q->emptied, &ts) < 0 && errno == ETIMEDOUT)
			break;
}

static void chunk_free(struct qchunk *c)
{
	if (c) {
		free(c->data);
		free(c);
	}
}

static void parse_chunk(struct raw_store *st, const struct qchunk *c)
{
	for (size_t off = 0; off < c->used;) {
		struct qent e;
		memcpy(&e, c->data + off, sizeof e);
		st->cur_ring = e.ring;
		raw_store_add(st, c->data + off + sizeof e, e.len);
		off += sizeof e + ((e.len + 7) & ~(size_t)7);
	}
}

/* Give a parsed chunk back; the list's head stays until the next one. */
static void give_back(struct rec_queue *q, struct qchunk *c)
{
	struct qchunk *top = __atomic_load_n(&q->returned, __ATOMIC_RELAXED);
	do
		c->next = top;
	while (!__atomic_compare_exchange_n(&q->returned, &top, c, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	__atomic_sub_fetch(&q->in_use, 1, __ATOMIC_ACQ_REL);
	sem_post(&q->emptied);
}

static void *worker_main(void *arg)
{
	struct rec_queue *q = arg;
	if (q->worker_nice_set)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), q->worker_nice);
	for (;;) {
		struct qchunk *c = __atomic_load_n(&q->head->next, __ATOMIC_ACQUIRE);
		if (!c) {
			if (__atomic_load_n(&q->closed, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&q->head->next, __ATOMIC_ACQUIRE))
				return NULL;
			while (sem_wait(&q->filled) < 0 && errno == EINTR)
				;
			continue;
		}
		/* The previous head can go back now: the producer links after
		 * the tail only, and c follows it. */
		if (q->head != &q->stub)
			give_back(q, q->head);
		q->head = c;
		parse_chunk(q->st, c);
	}
}

int rec_queue_start(struct rec_queue *q, struct raw_store *st, struct cprof_err *err)
{
	q->st = st;
	q->maps_first = st->unwinder != NULL;
	stack_trim_init(&q->trim, st->sample_type, st->read_format, st->regs_mask);
	if (st->unwinder)
		q->trim.start_of = stack_start_of_proc;
	/* Signals are the recording loop's business: the worker blocks them
	 * all (a new thread inherits the creator's mask). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&q->worker, NULL, worker_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return err_set(err, e, "cannot start the recording thread: %s", strerror(e));
	q->started = true;
	return 0;
}

void rec_queue_set_worker_nice(struct rec_queue *q, int nice)
{
	q->worker_nice = nice;
	q->worker_nice_set = true;
}

void rec_queue_finish(struct rec_queue *q, struct rec_queue_stats *stats)
{
	if (!q)
		return;
	hand_over(q);
	__atomic_store_n(&q->closed, true, __ATOMIC_RELEASE);
	sem_post(&q->filled);
	if (q->started)
		pthread_join(q->worker, NULL);
	q->stats.cut_at_start = q->trim.cut_at_start;
	if (stats)
		*stats = q->stats;
	stack_trim_release(&q->trim);
	/* Single-threaded again: free every chunk, wherever it is. The
	 * filled list holds its head (never given back) and, if no worker
	 * ran, what follows it. */
	struct qchunk *lists[] = { q->free, q->returned, q->head->next };
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (struct qchunk *c = lists[i], *n; c; c = n) {
			n = c->next;
			chunk_free(c);
		}
	if (q->head != &q->stub)
		chunk_free(q->head);
	chunk_free(q->cur);
	sem_destroy(&q->filled);
	sem_destroy(&q->emptied);
	free(q);
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
	vec_release(&s->lost_by_ring);
	vec_release(&s->lost_times);
	vec_release(&s->ring_seen);
	free(s->unwind_pcs);
	free(s->unwind_exact);
	vec_release(&s->stacks);
	hashidx_release(&s->stack_idx);
	hashidx_release(&s->gen_idx);
	vec_release(&s->gens);
	u64map_release(&s->id_event);
	u64map_release(&s->read_prev);
	vec_release(&s->vals);
	vec_release(&s->read_last);
}

static uint64_t pid_hash(uint32_t pid)
{
	return (uint64_t)pid * 0x9e3779b97f4a7c15ULL >> 20;
}

static uint64_t gen_item_hash(const void *ctx, uint32_t i)
{
	const struct raw_store *s = ctx;
	return pid_hash(s->gens.v[i].pid);
}

/* A process's generation: bumped when its code changes under the same
 * addresses (exec, or a mapping replacing another), so interned stacks
 * never mix code from before and after. */
static uint32_t *gen_of(struct raw_store *s, uint32_t pid)
{
	struct hashidx *ix = &s->gen_idx;
	size_t pos;
	for (uint32_t i = hashidx_first(ix, pid_hash(pid), &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos))
		if (s->gens.v[i].pid == pid)
			return &s->gens.v[i].gen;
	hashidx_reserve(ix, gen_item_hash, s);
	vec_reserve(&s->gens, s->gens.n + 1);
	s->gens.v[s->gens.n].pid = pid;
	s->gens.v[s->gens.n].gen = 0;
	hashidx_put(ix, pid_hash(pid), (uint32_t)s->gens.n++);
	return &s->gens.v[s->gens.n - 1].gen;
}

static uint64_t stack_hash(const uint64_t *ips, uint32_t n, uint32_t pid, uint32_t gen)
{
	uint64_t h = (((uint64_t)pid << 32) ^ gen ^ n) * 0x9e3779b97f4a7c15ULL;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ULL ^ (h >> 29);
	return h;
}

static uint64_t stack_item_hash(const void *ctx, uint32_t i)
{
	const struct raw_store *s = ctx;
	const struct raw_stack *st = &s->stacks.v[i];
	return stack_hash(s->ips.v + st->off, st->n, st->pid, st->gen);
}

void raw_store_intern(struct raw_store *s, struct raw_sample *x)
{
	uint32_t gen = *gen_of(s, x->pid);
	const uint64_t *ips = s->ips.v + x->ip_off;
	uint64_t h = stack_hash(ips, x->nips, x->pid, gen);
	struct hashidx *ix = &s->stack_idx;
	size_t pos;
	for (uint32_t i = hashidx_first(ix, h, &pos); i != HASHIDX_NONE; i = hashidx_next(ix, &pos)) {
		const struct raw_stack *st = &s->stacks.v[i];
		if (st->n == x->nips && st->pid == x->pid && st->gen == gen &&
		    memcmp(s->ips.v + st->off, ips, x->nips * sizeof *ips) == 0) {
			s->ips.n = x->ip_off;
			x->ip_off = st->off;
			return;
		}
	}
	hashidx_reserve(ix, stack_item_hash, s);
	vec_push(&s->stacks, ((struct raw_stack){ x->ip_off, x->nips, x->pid, gen }));
	hashidx_put(ix, h, (uint32_t)s->stacks.n - 1);
}

void raw_store_add_mmap(struct raw_store *s, struct raw_mmap *m)
{
	if (s->unwinder)
		unwinder_add_map(s->unwinder, m->pid, m->path, m->start, m->len, m->pgoff, m->time);
	/* Other code where this process had code before: stacks from now
	 * on are not the same stacks, even at the same addresses. */
	for (size_t i = 0; i < s->mmaps.n; i++) {
		const struct raw_mmap *o = &s->mmaps.v[i];
		if (o->pid == m->pid && o->start < m->start + m->len && m->start < o->start + o->len &&
		    (o->start != m->start || o->pgoff != m->pgoff || strcmp(o->path, m->path) != 0)) {
			(*gen_of(s, m->pid))++;
			break;
		}
	}
	vec_push(&s->mmaps, *m);
}

void raw_store_exec(struct raw_store *s, uint32_t pid, uint64_t time)
{
	(*gen_of(s, pid))++;
	if (s->unwinder)
		unwinder_exec(s->unwinder, pid, time);
}

/* Samples that may merge: same thread, stack, mode, event and cut, and slot. */
static uint64_t merge_key_hash(const struct raw_sample *x, uint64_t slot)
{
	uint64_t h = ((uint64_t)x->tid << 32 | x->pid) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ x->ip_off ^ (uint64_t)x->nips << 40) * 0x100000001b3ULL;
	h = (h ^ slot ^ (uint64_t)x->mode << 56 ^ (uint64_t)x->cut << 48 ^ (uint64_t)x->callchain << 47 ^
	     (uint64_t)x->event << 24) *
	    0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 31);
}

static bool merge_same(const struct raw_sample *a, const struct raw_sample *b)
{
	return a->pid == b->pid && a->tid == b->tid && a->ip_off == b->ip_off && a->nips == b->nips &&
	       a->mode == b->mode && a->event == b->event && a->cut == b->cut && a->callchain == b->callchain;
}

static uint64_t slot_of(const struct raw_store *s, uint64_t time)
{
	return time > s->time0 ? (time - s->time0) / s->merge_ns : 0;
}

/* Merge, in place and keeping the order of first appearance, the samples
 * that share a key within a slot of merge_ns. */
static void merge_samples(struct raw_store *s)
{
	size_t n = s->samples.n;
	struct hashidx ix = HASHIDX_INIT;
	hashidx_presize(&ix, n); /* sized once: the samples move as they are packed */
	struct raw_sample *v = s->samples.v;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		const struct raw_sample *x = &v[i];
		uint64_t sl = slot_of(s, x->time), h = merge_key_hash(x, sl);
		size_t pos;
		struct raw_sample *y = NULL;
		for (uint32_t k = hashidx_first(&ix, h, &pos); k != HASHIDX_NONE; k = hashidx_next(&ix, &pos))
			if (merge_same(x, &v[k]) && slot_of(s, v[k].time) == sl) {
				y = &v[k];
				break;
			}
		if (y) {
			y->period += x->period;
			y->merged += x->merged + 1;
			/* Same event, so the same group: the same members in order. */
			for (uint32_t j = 0; j < x->nvals && j < y->nvals; j++)
				s->vals.v[y->val_off + j].value += s->vals.v[x->val_off + j].value;
			if (x->time < y->time)
				y->time = x->time;
			continue;
		}
		v[out] = *x;
		hashidx_put(&ix, h, (uint32_t)out);
		out++;
	}
	hashidx_release(&ix);
	s->samples.n = out;
	s->merges++;
}

/* At the budget: merge at the current slot, then at doubled slots until
 * half the budget is free for what comes next. */
static void bound_samples(struct raw_store *s)
{
	uint64_t budget = s->sample_budget ? s->sample_budget : RAW_SAMPLE_BUDGET;
	if (s->samples.n < budget)
		return;
	if (!s->merge_ns)
		s->merge_ns = RAW_MERGE_FIRST_NS;
	merge_samples(s);
	/* Stacks that never repeat cannot merge; ~36 days is the end of it. */
	while (s->samples.n > budget / 2 && s->merge_ns < (1ULL << 51)) {
		s->merge_ns *= 2;
		merge_samples(s);
	}
}

/* The time of the newest record seen in the current ring. */
static void ring_saw(struct raw_store *s, uint64_t time)
{
	while (s->ring_seen.n <= s->cur_ring)
		vec_push(&s->ring_seen, 0);
	if (time > s->ring_seen.v[s->cur_ring])
		s->ring_seen.v[s->cur_ring] = time;
}

/* Keep the loss's place: per ring, and in a short time-ordered list of
 * bursts (LOST records less than 100 ms apart). When the list is full, the
 * two neighbours that together span the least time are merged, so it stays
 * evenly detailed. */
#define LOST_BURST_NS 100000000ULL

static void note_lost(struct raw_store *s, uint64_t n, uint64_t time)
{
	while (s->lost_by_ring.n <= s->cur_ring)
		vec_push(&s->lost_by_ring, 0);
	s->lost_by_ring.v[s->cur_ring] += n;
	/* The kernel writes LOST once it has room again: the samples went
	 * missing since the ring's previous record. */
	uint64_t since = s->cur_ring < s->ring_seen.n && s->ring_seen.v[s->cur_ring] ? s->ring_seen.v[s->cur_ring] : time;
	if (since > time)
		since = time;
	struct raw_lost *v = s->lost_times.v;
	size_t at = s->lost_times.n;
	while (at > 0 && v[at - 1].first > since)
		at--;
	/* v[at - 1] starts at or before since: join it, or the next one. */
	if (at > 0 && since <= v[at - 1].last + LOST_BURST_NS) {
		struct raw_lost *e = &v[at - 1];
		e->count += n;
		if (time > e->last)
			e->last = time;
		return;
	}
	if (at < s->lost_times.n && v[at].first <= time + LOST_BURST_NS) {
		v[at].count += n;
		v[at].first = since;
		if (time > v[at].last)
			v[at].last = time;
		return;
	}
	vec_push(&s->lost_times, ((struct raw_lost){ 0 }));
	v = s->lost_times.v;
	memmove(v + at + 1, v + at, (s->lost_times.n - 1 - at) * sizeof *v);
	v[at] = (struct raw_lost){ since, time, n };
	if (s->lost_times.n <= RAW_LOST_MAX)
		return;
	size_t best = 0;
	for (size_t i = 1; i + 1 < s->lost_times.n; i++)
		if (v[i + 1].last - v[i].first < v[best + 1].last - v[best].first)
			best = i;
	v[best].count += v[best + 1].count;
	if (v[best + 1].last > v[best].last)
		v[best].last = v[best + 1].last;
	memmove(v + best + 1, v + best + 2, (s->lost_times.n - best - 2) * sizeof *v);
	s->lost_times.n--;
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

/* The sample_id trailer of non-sample records: TID, TIME, [CPU],
 * IDENTIFIER (last); CPU where the events sample it. */
static size_t trailer_size(const struct raw_store *s)
{
	return 24 + (s->sample_type & PERF_SAMPLE_CPU ? 8 : 0);
}

/* Append the user part of a DWARF-mode sample: unwind the copied stack. A
 * frame the unwinder found exact (after a signal) gets a context marker in
 * front of it, so the finishing pass looks it up without the -1 applied to
 * return addresses. */
void raw_store_append_unwound(struct raw_store *s, struct raw_sample *x, const uint64_t *regs, size_t nregs,
			      const uint8_t *stack, size_t stack_len, bool whole_stack)
{
	int max = s->max_stack ? (int)s->max_stack : RAW_MAX_STACK;
	if (!s->unwind_pcs) {
		s->unwind_pcs = xmalloc((size_t)max * sizeof *s->unwind_pcs);
		s->unwind_exact = xmalloc((size_t)max * sizeof *s->unwind_exact);
	}
	uint64_t *pcs = s->unwind_pcs;
	bool *exact = s->unwind_exact;
	enum unwind_cut cut;
	int n = unwinder_unwind(s->unwinder, x->pid, x->tid, regs, nregs, stack, stack_len, whole_stack, pcs, exact,
				max, &cut);
	vec_reserve(&s->ips, s->ips.n + 2 * (size_t)n + 1);
	s->ips.v[s->ips.n++] = (uint64_t)PERF_CONTEXT_USER;
	x->nips++;
	for (int i = 0; i < n; i++) {
		if (i > 0 && exact[i]) {
			s->ips.v[s->ips.n++] = (uint64_t)PERF_CONTEXT_USER;
			x->nips++;
		}
		s->ips.v[s->ips.n++] = pcs[i];
		x->nips++;
	}
	if (cut == UNWIND_CUT_COPY)
		x->cut |= RAW_CUT_COPY;
	else if (cut == UNWIND_CUT_FRAMES)
		x->cut |= RAW_CUT_FRAMES;
}

/*
 * A sample's READ field (leader sampling): the group's running totals.
 * What is kept per member is the difference from the same thread's
 * previous sample of the group, so that summing a function's samples sums
 * what the member counted while it ran. The leader's own count is the
 * sample's period already and is not stored twice.
 */
static void add_read(struct raw_store *s, struct raw_sample *x, uint64_t ident, struct cur *c)
{
	/* Room for the group's readings after the header (a struct with a
	 * flexible array member cannot be followed by another field in ISO C). */
	_Alignas(struct ev_group_read) unsigned char room[sizeof(struct ev_group_read) +
							  RAW_GROUP_MAX * sizeof(struct ev_reading)];
	struct ev_group_read *g = (struct ev_group_read *)room;
	size_t used;
	struct cprof_err err;
	if (ev_read_decode(c->p, (size_t)(c->end - c->p), s->read_format, RAW_GROUP_MAX, g, &used, &err) < 0) {
		c->bad = true;
		return;
	}
	c->p += used;
	/* Ids are the kernel's count of events opened since boot: 32 bits
	 * hold them, and the key holds the thread beside. */
	if (ident >> 32) {
		s->bad_reads++;
		return;
	}
	uint64_t key = ident << 32 | x->tid;
	int64_t at = u64map_get(&s->read_prev, key);
	if (at < 0) {
		at = (int64_t)(s->read_last.n / RAW_GROUP_MAX);
		vec_reserve(&s->read_last, s->read_last.n + RAW_GROUP_MAX);
		memset(s->read_last.v + s->read_last.n, 0, RAW_GROUP_MAX * sizeof *s->read_last.v);
		s->read_last.n += RAW_GROUP_MAX;
		u64map_put(&s->read_prev, key, (uint32_t)at);
	}
	uint64_t *last = s->read_last.v + (size_t)at * RAW_GROUP_MAX;
	x->val_off = s->vals.n;
	for (size_t i = 0; i < g->nr; i++) {
		int64_t ev = u64map_get(&s->id_event, g->r[i].id);
		uint64_t v = g->r[i].value, d = v >= last[i] ? v - last[i] : v; /* a reset counter starts over */
		last[i] = v;
		if (ev <= 0) {
			s->bad_reads++;
			continue;
		}
		if ((uint32_t)(ev - 1) == x->event)
			continue; /* the leader: its count is the period */
		vec_push(&s->vals, ((struct raw_val){ d, (uint16_t)(ev - 1) }));
		x->nvals++;
	}
}

static void add_sample(struct raw_store *s, const struct perf_event_header *hdr, struct cur *c)
{
	struct raw_sample x = { .mode = hdr->misc & PERF_RECORD_MISC_CPUMODE_MASK };
	uint64_t ident = take64(c);
	uint64_t ip = take64(c);
	uint64_t pt = take64(c);
	x.pid = (uint32_t)pt;
	x.tid = (uint32_t)(pt >> 32);
	x.time = take64(c);
	if (s->sample_type & PERF_SAMPLE_CPU)
		x.cpu = (uint32_t)take64(c);
	x.period = take64(c);
	if (s->id_event.n) {
		int64_t ev = u64map_get(&s->id_event, ident);
		if (ev <= 0) {
			s->malformed++; /* not one of the events opened */
			return;
		}
		x.event = (uint16_t)(ev - 1);
	}
	size_t vals0 = s->vals.n;
	if ((s->sample_type & PERF_SAMPLE_READ) && !c->bad)
		add_read(s, &x, ident, c);
	if (c->bad) {
		s->vals.n = vals0;
		s->malformed++;
		return;
	}
	x.ip_off = s->ips.n;
	if (s->sample_type & PERF_SAMPLE_CALLCHAIN) {
		uint64_t nr = take64(c);
		if (c->bad || nr > (uint64_t)(c->end - c->p) / 8) {
			s->vals.n = vals0;
			s->malformed++;
			return;
		}
		const uint64_t *chain = (const uint64_t *)(const void *)c->p;
		uint64_t keep = nr, addrs = 0;
		for (uint64_t i = 0; i < nr; i++) {
			uint64_t v;
			memcpy(&v, chain + i, 8);
			/* User frames come from unwinding: keep the kernel part only. */
			if (s->unwinder && v == (uint64_t)PERF_CONTEXT_USER) {
				keep = i;
				break;
			}
			addrs += v < (uint64_t)PERF_CONTEXT_MAX;
		}
		/* The kernel stops storing addresses at its limit (context markers
		 * are not counted): a chain that reached it was cut there. */
		if (s->chain_max && addrs >= s->chain_max)
			x.cut |= s->chain_max_asked ? RAW_CUT_FRAMES : RAW_CUT_KERNEL;
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
			raw_store_append_unwound(s, &x, regs, nregs, stack, dyn < size ? dyn : size, dyn < size);
		}
	}
	if (c->bad) {
		s->ips.n = x.ip_off;
		s->vals.n = vals0;
		s->malformed++;
		return;
	}
	ring_saw(s, x.time);
	raw_store_intern(s, &x);
	if (!s->merge_ns && (!s->time0 || x.time < s->time0))
		s->time0 = x.time; /* slots count from here once merging starts */
	vec_push(&s->samples, x);
	bound_samples(s);
}

static uint64_t trailer_time(const struct raw_store *s, const uint8_t *rec, size_t len)
{
	uint64_t t;
	memcpy(&t, rec + len - 16 - (s->sample_type & PERF_SAMPLE_CPU ? 8 : 0), 8);
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
		if (len < 72 + 8 + trailer_size(s)) {
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
		size_t maxname = len - 72 - trailer_size(s);
		m.path = xstrndup((const char *)b + 72, strnlen((const char *)b + 72, maxname));
		m.time = trailer_time(s, b, len);
		if (!(prot & 4) && strcmp(m.path, "[vdso]") != 0) { /* PROT_EXEC only */
			free(m.path);
			break;
		}
		raw_store_add_mmap(s, &m);
		break;
	}
	case PERF_RECORD_COMM: {
		if (len < 8 + 8 + 1 + trailer_size(s)) {
			s->malformed++;
			break;
		}
		struct raw_comm cm = { .time = trailer_time(s, b, len) };
		memcpy(&cm.pid, b + 8, 4);
		memcpy(&cm.tid, b + 12, 4);
		size_t maxname = len - 16 - trailer_size(s);
		size_t n = strnlen((const char *)b + 16, maxname);
		if (n > 15)
			n = 15;
		memcpy(cm.comm, b + 16, n);
		cm.comm[n] = 0;
		cm.exec = hdr->misc & PERF_RECORD_MISC_COMM_EXEC;
		if ((hdr->misc & PERF_RECORD_MISC_COMM_EXEC) && cm.pid == cm.tid)
			raw_store_exec(s, cm.pid, cm.time);
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
		/* A process's end (its main thread's EXIT): its libdw session is
		 * no longer needed, and a long recording of a program that starts
		 * many processes must not keep them all. */
		if (s->unwinder && t.exit && t.pid == t.tid)
			unwinder_exit(s->unwinder, t.pid);
		vec_push(&s->tasks, t);
		break;
	}
	case PERF_RECORD_LOST:
		/* id, lost, then the sample_id trailer with the time */
		if (len >= 8 + 16) {
			uint64_t n;
			memcpy(&n, b + 16, 8);
			s->lost_records += n;
			note_lost(s, n, len >= 8 + 16 + trailer_size(s) ? trailer_time(s, b, len) : 0);
		}
		break;
	case PERF_RECORD_LOST_SAMPLES:
		if (len >= 8 + 8) {
			uint64_t n;
			memcpy(&n, b + 8, 8);
			s->lost_samples += n;
			note_lost(s, n, len >= 8 + 8 + trailer_size(s) ? trailer_time(s, b, len) : 0);
		}
		break;
	case PERF_RECORD_THROTTLE:
		s->throttles++;
		break;
	default:
		break;
	}
}
