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
#include "cprof/u64map.h"

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

/*
 * The definitions seen so far, (pid, id) -> value: a u64map from the key
 * to the value's place in val. A later definition of the same key (a
 * reused pid) replaces the earlier one, which is what the stream's
 * ordering promises.
 */
struct id_map {
	struct u64map idx;
	VEC(uint64_t) val;
};

static uint64_t id_key(uint32_t pid, uint32_t id) { return (uint64_t)pid << 32 | id; }

static void id_put(struct id_map *m, uint64_t key, uint64_t val)
{
	int64_t i = u64map_get(&m->idx, key);
	if (i >= 0) {
		m->val.v[i] = val;
		return;
	}
	u64map_put(&m->idx, key, (uint32_t)m->val.n);
	vec_push(&m->val, val);
}

static bool id_get(const struct id_map *m, uint64_t key, uint64_t *val)
{
	int64_t i = u64map_get(&m->idx, key);
	if (i < 0)
		return false;
	*val = m->val.v[i];
	return true;
}

static void id_map_release(struct id_map *m)
{
	u64map_release(&m->idx);
	vec_release(&m->val);
}

/* A name id of pid as a string offset; false for an id never defined. */
static bool resolve_name(const struct id_map *names, uint32_t pid, uint32_t *id)
{
	uint64_t off = 0;
	if (*id == 0)
		return true;
	if (!id_get(names, id_key(pid, *id), &off)) {
		*id = 0;
		return false;
	}
	*id = (uint32_t)off;
	return true;
}

int gpu_trace_parse(struct gpu_trace *t, const uint8_t *buf, size_t len, const char *name, struct cprof_err *err)
{
	if (len < GPU_STREAM_HDR || memcmp(buf, GPU_STREAM_MAGIC, 8) != 0)
		return err_set(err, EBADMSG, "'%s': not a GPU activity stream", name);
	if (get_le32(buf + 8) != GPU_STREAM_VERSION)
		return err_set(err, EBADMSG, "'%s': GPU activity stream version %u, expected %u", name,
			       get_le32(buf + 8), GPU_STREAM_VERSION);
	struct id_map names = { U64MAP_INIT, { 0 } }, stacks = { U64MAP_INIT, { 0 } }; /* stacks: ip_off << 8 | nips */
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
		case GS_NAME:
			if ((ok = n >= GS_NAME_FIXED && get_le32(p + 4) != 0))
				id_put(&names, id_key(get_le32(p), get_le32(p + 4)),
				       add_name(t, p + GS_NAME_FIXED, n - GS_NAME_FIXED));
			break;
		case GS_OP: {
			struct cprof_gpu_op op;
			if ((ok = n == GO_SIZE)) {
				gpu_op_decode(p, &op);
				ok = op.kind >= 1 && op.kind < _GPU_OP_MAX && op.end >= op.start;
			}
			if (ok) {
				ok = resolve_name(&names, op.pid, &op.name);
				op.stack = GPU_NO_STACK;
				vec_push(&t->ops, op);
			}
			break;
		}
		case GS_API: {
			struct cprof_gpu_api a;
			if ((ok = n == GA_SIZE)) {
				gpu_api_decode(p, &a);
				ok = a.end >= a.start && (a.domain == GPU_API_RUNTIME || a.domain == GPU_API_DRIVER);
			}
			if (ok) {
				ok = resolve_name(&names, a.pid, &a.name);
				vec_push(&t->api, a);
			}
			break;
		}
		case GS_STACK: {
			uint32_t nips = n >= GS_STACK_FIXED ? get_le32(p + 8) : 0;
			if ((ok = n >= GS_STACK_FIXED && get_le32(p + 4) != 0 && nips <= GS_MAX_IPS &&
				  n == GS_STACK_FIXED + 8 * nips)) {
				id_put(&stacks, id_key(get_le32(p), get_le32(p + 4)), (uint64_t)t->ips.n << 8 | nips);
				for (uint32_t i = 0; i < nips; i++)
					vec_push(&t->ips, get_le64(p + GS_STACK_FIXED + 8 * i));
			}
			break;
		}
		case GS_LAUNCH: {
			uint64_t def = 0;
			if ((ok = n == GS_LAUNCH_SIZE && id_get(&stacks, id_key(get_le32(p + 4), get_le32(p + 16)), &def))) {
				struct gpu_launch_stack s = { .corr = get_le32(p), .pid = get_le32(p + 4),
							      .tid = get_le32(p + 8), .domain = get_le32(p + 12),
							      .nips = (uint32_t)(def & 0xff), .ip_off = (size_t)(def >> 8) };
				vec_push(&t->stacks, s);
			}
			break;
		}
		case GS_COUNTS:
			/* A newer collector may count more causes: the known ones are summed. */
			if ((ok = n % 8 == 0))
				for (size_t i = 0; i < n / 8 && i < _GL_MAX; i++)
					t->loss[i] += get_le64(p + 8 * i);
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
	id_map_release(&names);
	id_map_release(&stacks);
	return 0;
}
