/*
 * stream-read.c - the reading half of the collector stream (gpu-stream.h),
 * in cprof. The stream comes from another process that may have been killed
 * mid-write, so a bad record ends the parse and is counted; what came before
 * it is kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/base.h"
#include "cprof/data-format.h"
#include "cprof/gpu-stream.h"

void gpu_trace_init(struct gpu_trace *t)
{
	memset(t, 0, sizeof *t);
	t->names = (struct sbuf)SBUF_INIT;
	t->notes = (struct sbuf)SBUF_INIT;
	sbuf_addc(&t->names, 0); /* offset 0 is "" */
}

void gpu_trace_release(struct gpu_trace *t)
{
	vec_release(&t->ops);
	vec_release(&t->api);
	vec_release(&t->stacks);
	vec_release(&t->ips);
	sbuf_release(&t->names);
	sbuf_release(&t->notes);
}

/* Copy n bytes of name, stopping at an embedded NUL. */
static uint32_t add_name(struct gpu_trace *t, const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);
	if (z)
		n = (size_t)(z - p);
	if (n == 0)
		return 0;
	uint32_t off = (uint32_t)t->names.len;
	sbuf_add(&t->names, p, n);
	sbuf_addc(&t->names, 0);
	return off;
}

static void add_note(struct gpu_trace *t, const uint8_t *p, size_t n)
{
	struct sbuf line = SBUF_INIT;
	for (size_t i = 0; i < n && p[i]; i++)
		sbuf_addc(&line, p[i] == '\n' || p[i] < 0x20 ? ' ' : (char)p[i]);
	sbuf_addc(&line, '\n');
	if (line.len > 1 && !strstr(t->notes.buf, line.buf)) /* every process reports the same failure */
		sbuf_adds(&t->notes, line.buf);
	sbuf_release(&line);
}

int gpu_trace_parse(struct gpu_trace *t, const uint8_t *buf, size_t len, const char *name, struct cprof_err *err)
{
	if (len < GPU_STREAM_HDR || memcmp(buf, GPU_STREAM_MAGIC, 8) != 0)
		return err_set(err, EBADMSG, "'%s': not a GPU activity stream", name);
	if (get_le32(buf + 8) != GPU_STREAM_VERSION)
		return err_set(err, EBADMSG, "'%s': GPU activity stream version %u, expected %u", name,
			       get_le32(buf + 8), GPU_STREAM_VERSION);
	size_t off = GPU_STREAM_HDR;
	while (off < len) {
		if (len - off < 8) {
			t->bad_records++;
			break;
		}
		uint32_t type = get_le32(buf + off), n = get_le32(buf + off + 4);
		if (n > GS_MAX_PAYLOAD || n > len - off - 8) {
			t->bad_records++;
			break;
		}
		const uint8_t *p = buf + off + 8;
		bool ok = true;
		switch (type) {
		case GS_OP: {
			struct cprof_gpu_op op;
			if ((ok = n >= GO_SIZE)) {
				gpu_op_decode(p, &op);
				ok = op.kind >= 1 && op.kind < _GPU_OP_MAX && op.end >= op.start;
			}
			if (ok) {
				op.name = add_name(t, p + GO_SIZE, n - GO_SIZE);
				op.stack = GPU_NO_STACK;
				vec_push(&t->ops, op);
			}
			break;
		}
		case GS_API: {
			struct cprof_gpu_api a;
			if ((ok = n >= GA_SIZE)) {
				gpu_api_decode(p, &a);
				ok = a.end >= a.start && (a.domain == GPU_API_RUNTIME || a.domain == GPU_API_DRIVER);
			}
			if (ok) {
				a.name = add_name(t, p + GA_SIZE, n - GA_SIZE);
				vec_push(&t->api, a);
			}
			break;
		}
		case GS_STACK: {
			uint32_t nips = n >= GS_STACK_FIXED ? get_le32(p + 16) : 0;
			if ((ok = n >= GS_STACK_FIXED && nips <= GS_MAX_IPS && n == GS_STACK_FIXED + 8 * nips)) {
				struct gpu_launch_stack s = { .corr = get_le32(p), .pid = get_le32(p + 4),
							      .tid = get_le32(p + 8), .domain = get_le32(p + 12),
							      .nips = nips, .ip_off = t->ips.n };
				for (uint32_t i = 0; i < nips; i++)
					vec_push(&t->ips, get_le64(p + GS_STACK_FIXED + 8 * i));
				vec_push(&t->stacks, s);
			}
			break;
		}
		case GS_COUNTS:
			if ((ok = n == 24)) {
				t->dropped += get_le64(p);
				t->incomplete += get_le64(p + 8);
				t->stacks_lost += get_le64(p + 16);
			}
			break;
		case GS_NOTE:
			add_note(t, p, n);
			break;
		case GS_END:
			if ((ok = n == 8)) {
				if (get_le32(p) == GS_END_SIGNAL) {
					t->signal_ends++;
					t->last_signal = get_le32(p + 4);
				} else {
					t->ends++;
				}
			}
			break;
		default:
			break; /* a newer collector's record: skip it */
		}
		if (!ok)
			t->bad_records++;
		off += 8 + (size_t)n;
	}
	return 0;
}
