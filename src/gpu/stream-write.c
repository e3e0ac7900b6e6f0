/*
 * stream-write.c - the writing half of the collector stream (gpu-stream.h),
 * linked into libcprof-cupti.so and the unit tests. It runs inside the
 * profiled program, so it allocates once, never prints and never exits; a
 * failed write is counted, and the reader sees the stream end early.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/base.h"
#include "cprof/data-format.h"
#include "cprof/gpu-stream.h"

int gpu_writer_init(struct gpu_writer *w, int fd, size_t cap)
{
	w->fd = fd;
	w->len = 0;
	w->cap = cap;
	w->write_errors = 0;
	w->buf = malloc(cap);
	return w->buf ? 0 : -ENOMEM;
}

void gpu_writer_flush(struct gpu_writer *w)
{
	size_t off = 0;
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->write_errors += w->len - off;
			break;
		}
		off += (size_t)n;
	}
	w->len = 0;
}

/* Room for one record of payload bytes; flushes first if needed. */
static uint8_t *reserve(struct gpu_writer *w, uint32_t type, size_t payload)
{
	if (!w->buf || payload > GS_MAX_PAYLOAD || 8 + payload > w->cap)
		return NULL;
	if (w->len + 8 + payload > w->cap)
		gpu_writer_flush(w);
	uint8_t *p = w->buf + w->len;
	put_le32(p, type);
	put_le32(p + 4, (uint32_t)payload);
	w->len += 8 + payload;
	return p + 8;
}

static size_t name_len(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 4096 ? 4096 : n; /* longer names are cut, not dropped */
}

void gpu_writer_op(struct gpu_writer *w, const struct cprof_gpu_op *op, const char *name)
{
	size_t n = name_len(name);
	uint8_t *p = reserve(w, GS_OP, GO_SIZE + n);
	if (!p)
		return;
	gpu_op_encode(p, op);
	if (n)
		memcpy(p + GO_SIZE, name, n);
}

void gpu_writer_api(struct gpu_writer *w, const struct cprof_gpu_api *a, const char *name)
{
	size_t n = name_len(name);
	uint8_t *p = reserve(w, GS_API, GA_SIZE + n);
	if (!p)
		return;
	gpu_api_encode(p, a);
	if (n)
		memcpy(p + GA_SIZE, name, n);
}

void gpu_writer_stack(struct gpu_writer *w, uint32_t corr, uint32_t pid, uint32_t tid, uint32_t domain,
		      const uint64_t *ips, uint32_t n)
{
	if (n > GS_MAX_IPS)
		n = GS_MAX_IPS;
	uint8_t *p = reserve(w, GS_STACK, GS_STACK_FIXED + 8 * (size_t)n);
	if (!p)
		return;
	put_le32(p, corr);
	put_le32(p + 4, pid);
	put_le32(p + 8, tid);
	put_le32(p + 12, domain);
	put_le32(p + 16, n);
	put_le32(p + 20, 0);
	for (uint32_t i = 0; i < n; i++)
		put_le64(p + GS_STACK_FIXED + 8 * i, ips[i]);
}

void gpu_writer_counts(struct gpu_writer *w, uint64_t dropped, uint64_t incomplete, uint64_t stacks_lost)
{
	uint8_t *p = reserve(w, GS_COUNTS, 24);
	if (!p)
		return;
	put_le64(p, dropped);
	put_le64(p + 8, incomplete);
	put_le64(p + 16, stacks_lost);
}

void gpu_writer_note(struct gpu_writer *w, const char *msg)
{
	size_t n = name_len(msg);
	uint8_t *p = reserve(w, GS_NOTE, n);
	if (p && n)
		memcpy(p, msg, n);
}

void gpu_writer_end(struct gpu_writer *w, uint32_t reason, uint32_t sig)
{
	uint8_t *p = reserve(w, GS_END, 8);
	if (!p)
		return;
	put_le32(p, reason);
	put_le32(p + 4, sig);
}

void gpu_writer_release(struct gpu_writer *w)
{
	if (w->buf)
		gpu_writer_flush(w);
	free(w->buf);
	w->buf = NULL;
}
