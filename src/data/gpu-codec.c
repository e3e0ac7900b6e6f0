/*
 * gpu-codec.c - the GO_* and GA_* records in bytes. Linked into cprof (data
 * file sections, collector stream reader) and into libcprof-cupti.so (stream
 * writer), so it depends on nothing but the inline helpers of base.h.
 */
#include "cprof/base.h"
#include "cprof/data-format.h"
#include "cprof/gpu-data.h"
#include "cprof/gpu-stream.h"

void gpu_op_encode(uint8_t *p, const struct cprof_gpu_op *op)
{
	for (int i = 0; i < GO_SIZE; i++)
		p[i] = 0;
	put_le64(p + GO_START, op->start);
	put_le64(p + GO_END, op->end);
	put_le64(p + GO_BYTES, op->bytes);
	put_le32(p + GO_KIND, op->kind);
	put_le32(p + GO_CORR, op->corr);
	put_le32(p + GO_DEVICE, op->device);
	put_le32(p + GO_CONTEXT, op->context);
	put_le32(p + GO_STREAM, op->stream);
	put_le32(p + GO_PID, op->pid);
	put_le32(p + GO_TID, op->tid);
	put_le32(p + GO_NAME, op->name);
	put_le32(p + GO_STACK, op->stack);
	for (int i = 0; i < 3; i++) {
		put_le32(p + GO_GRID + 4 * i, op->grid[i]);
		put_le32(p + GO_BLOCK + 4 * i, op->block[i]);
	}
	put_le32(p + GO_REGS, op->regs);
	put_le32(p + GO_SMEM_STATIC, op->smem_static);
	put_le32(p + GO_SMEM_DYNAMIC, op->smem_dynamic);
	p[GO_COPY_KIND] = op->copy_kind;
	p[GO_SRC_KIND] = op->src_kind;
	p[GO_DST_KIND] = op->dst_kind;
	p[GO_FLAGS] = op->flags;
	put_le32(p + GO_VALUE, op->value);
}

void gpu_op_decode(const uint8_t *p, struct cprof_gpu_op *op)
{
	op->start = get_le64(p + GO_START);
	op->end = get_le64(p + GO_END);
	op->bytes = get_le64(p + GO_BYTES);
	op->kind = get_le32(p + GO_KIND);
	op->corr = get_le32(p + GO_CORR);
	op->device = get_le32(p + GO_DEVICE);
	op->context = get_le32(p + GO_CONTEXT);
	op->stream = get_le32(p + GO_STREAM);
	op->pid = get_le32(p + GO_PID);
	op->tid = get_le32(p + GO_TID);
	op->name = get_le32(p + GO_NAME);
	op->stack = get_le32(p + GO_STACK);
	for (int i = 0; i < 3; i++) {
		op->grid[i] = get_le32(p + GO_GRID + 4 * i);
		op->block[i] = get_le32(p + GO_BLOCK + 4 * i);
	}
	op->regs = get_le32(p + GO_REGS);
	op->smem_static = get_le32(p + GO_SMEM_STATIC);
	op->smem_dynamic = get_le32(p + GO_SMEM_DYNAMIC);
	op->copy_kind = p[GO_COPY_KIND];
	op->src_kind = p[GO_SRC_KIND];
	op->dst_kind = p[GO_DST_KIND];
	op->flags = p[GO_FLAGS];
	op->value = get_le32(p + GO_VALUE);
}

void gpu_api_encode(uint8_t *p, const struct cprof_gpu_api *a)
{
	for (int i = 0; i < GA_SIZE; i++)
		p[i] = 0;
	put_le64(p + GA_START, a->start);
	put_le64(p + GA_END, a->end);
	put_le32(p + GA_CORR, a->corr);
	put_le32(p + GA_CBID, a->cbid);
	put_le32(p + GA_PID, a->pid);
	put_le32(p + GA_TID, a->tid);
	put_le32(p + GA_NAME, a->name);
	put_le32(p + GA_RESULT, a->result);
	p[GA_DOMAIN] = a->domain;
}

void gpu_api_decode(const uint8_t *p, struct cprof_gpu_api *a)
{
	a->start = get_le64(p + GA_START);
	a->end = get_le64(p + GA_END);
	a->corr = get_le32(p + GA_CORR);
	a->cbid = get_le32(p + GA_CBID);
	a->pid = get_le32(p + GA_PID);
	a->tid = get_le32(p + GA_TID);
	a->name = get_le32(p + GA_NAME);
	a->result = get_le32(p + GA_RESULT);
	a->domain = p[GA_DOMAIN];
}

const char *gpu_copy_kind_name(unsigned kind)
{
	/* CUpti_ActivityMemcpyKind values. */
	static const char *const names[] = { NULL, "HtoD", "DtoH", "HtoA", "AtoH", "AtoA", "AtoD", "DtoA",
					     "DtoD", "HtoH", "PtoP" };
	return kind < ARRAY_SIZE(names) ? names[kind] : NULL;
}

const char *gpu_memory_kind_name(unsigned kind)
{
	/* CUpti_ActivityMemoryKind values. */
	static const char *const names[] = { NULL, "pageable", "pinned", "device", "array", "managed",
					     "device-static", "managed-static" };
	return kind < ARRAY_SIZE(names) ? names[kind] : NULL;
}

const char *gpu_op_kind_name(unsigned kind)
{
	static const char *const names[] = { "?", "kernel", "memcpy", "memset", "sync" };
	return kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

static const struct {
	const char *key, *text;
} loss_info[_GL_MAX] = {
	[GL_DROPPED] = { "gpu_dropped_records", "GPU activity records were dropped (CUPTI had no buffer for them)" },
	[GL_CUT_BUFFERS] = { "gpu_incomplete_buffers",
			     "GPU activity buffers were cut short by an unfinished record; the records after it are lost" },
	[GL_UNTIMED] = { "gpu_untimed_records",
			 "GPU activity records had no timestamps (CUPTI could not time them) and are left out" },
	[GL_UNFINISHED] = { "gpu_unfinished_records",
			    "GPU activity records ended before they started or missed a timestamp and are left out" },
	[GL_CUT_AT_EXIT] = { "gpu_incomplete_buffers_at_exit",
			     "GPU activity buffers were cut short at exit by work still running; the records after it are lost" },
	[GL_UNFINISHED_AT_EXIT] = { "gpu_unfinished_at_exit",
				    "GPU operations were still running when their process exited and are left out" },
	[GL_STACKS_LOST] = { "gpu_stacks_lost", "launch stacks could not be taken" },
	[GL_WRITE_ERRORS] = { "gpu_write_errors", "bytes of GPU activity could not be written to the stream" },
	[GL_UNKNOWN_LAYOUT] = { "gpu_unknown_layout_records",
				"GPU activity records had a layout this build does not read (a newer CUPTI) and are left out" },
};

const char *gpu_loss_key(enum gpu_loss what)
{
	return (unsigned)what < _GL_MAX ? loss_info[what].key : "gpu_unknown_loss";
}

const char *gpu_loss_text(enum gpu_loss what)
{
	return (unsigned)what < _GL_MAX ? loss_info[what].text : "GPU records were lost";
}

void gpu_stream_header(uint8_t *p)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)GPU_STREAM_MAGIC[i];
	put_le32(p + 8, GPU_STREAM_VERSION);
	put_le32(p + 12, 0);
}
