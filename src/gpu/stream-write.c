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
	gpu_writer_init_buf(w, fd, malloc(cap), cap);
	w->owned = true;
	return w->buf ? 0 : -ENOMEM;
}

void gpu_writer_init_buf(struct gpu_writer *w, int fd, uint8_t *buf, size_t cap)
{
	w->fd = fd;
	w->buf = buf;
	w->len = 0;
	w->cap = buf ? cap : 0;
	w->owned = false;
	w->write_errors = 0;
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

/* Room for one record of payload bytes; flushes first if needed. A record
 * that cannot fit is counted as a write error, not dropped silently. */
static uint8_t *reserve(struct gpu_writer *w, uint32_t type, size_t payload)
{
	if (!w->buf || payload > GS_MAX_PAYLOAD || 8 + payload > w->cap) {
		w->write_errors += 8 + payload;
		return NULL;
	}
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
	return n > GS_MAX_NAME ? GS_MAX_NAME : n; /* longer names are cut, not dropped */
}

void gpu_writer_op(struct gpu_writer *w, const struct cprof_gpu_op *op)
{
	uint8_t *p = reserve(w, GS_OP, GO_SIZE);
	if (p)
		gpu_op_encode(p, op);
}

void gpu_writer_api(struct gpu_writer *w, const struct cprof_gpu_api *a)
{
	uint8_t *p = reserve(w, GS_API, GA_SIZE);
	if (p)
		gpu_api_encode(p, a);
}

void gpu_writer_name(struct gpu_writer *w, uint32_t pid, uint32_t id, const char *name)
{
	size_t n = name_len(name);
	uint8_t *p = reserve(w, GS_NAME, GS_NAME_FIXED + n);
	if (!p)
		return;
	put_le32(p, pid);
	put_le32(p + 4, id);
	if (n)
		memcpy(p + GS_NAME_FIXED, name, n);
}

void gpu_writer_stack(struct gpu_writer *w, uint32_t pid, uint32_t id, const uint64_t *ips, uint32_t n)
{
	if (n > GS_MAX_IPS)
		n = GS_MAX_IPS;
	uint8_t *p = reserve(w, GS_STACK, GS_STACK_FIXED + 8 * (size_t)n);
	if (!p)
		return;
	put_le32(p, pid);
	put_le32(p + 4, id);
	put_le32(p + 8, n);
	put_le32(p + 12, 0);
	for (uint32_t i = 0; i < n; i++)
		put_le64(p + GS_STACK_FIXED + 8 * i, ips[i]);
}

void gpu_writer_launch(struct gpu_writer *w, uint32_t corr, uint32_t pid, uint32_t tid, uint32_t domain,
		       uint32_t stack_id)
{
	uint8_t *p = reserve(w, GS_LAUNCH, GS_LAUNCH_SIZE);
	if (!p)
		return;
	put_le32(p, corr);
	put_le32(p + 4, pid);
	put_le32(p + 8, tid);
	put_le32(p + 12, domain);
	put_le32(p + 16, stack_id);
	put_le32(p + 20, 0);
}

void gpu_writer_counts(struct gpu_writer *w, const uint64_t *counts, size_t n)
{
	uint8_t *p = reserve(w, GS_COUNTS, 8 * n);
	for (size_t i = 0; p && i < n; i++)
		put_le64(p + 8 * i, counts[i]);
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
	if (w->owned)
		free(w->buf);
	w->buf = NULL;
	w->cap = 0;
}
