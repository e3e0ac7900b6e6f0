/*
 * convert.c - CUPTI (CUDA 13) activity records and callback data into
 * cprof's GPU records. Only the current record structs of CUPTI 13 are
 * read (Kernel10, Memcpy6, MemcpyPtoP4, Memset4, ActivityAPI,
 * Synchronization2); the collector refuses a CUPTI of another major
 * version before any of this runs, and checks the size of every record
 * when libcupti is a newer 13.x than the headers, because the layouts
 * change between releases.
 */
#include <stdio.h>
#include <string.h>

#include "cprof/base.h"
#include "convert.h"

static void op_from_kernel(const CUpti_ActivityKernel10 *k, struct cprof_gpu_op *op)
{
	op->kind = GPU_OP_KERNEL;
	op->start = k->start;
	op->end = k->end;
	op->corr = k->correlationId;
	op->device = k->deviceId;
	op->context = k->contextId;
	op->stream = k->streamId;
	op->grid[0] = (uint32_t)k->gridX;
	op->grid[1] = (uint32_t)k->gridY;
	op->grid[2] = (uint32_t)k->gridZ;
	op->block[0] = (uint32_t)k->blockX;
	op->block[1] = (uint32_t)k->blockY;
	op->block[2] = (uint32_t)k->blockZ;
	op->regs = k->registersPerThread;
	op->smem_static = (uint32_t)k->staticSharedMemory;
	op->smem_dynamic = (uint32_t)k->dynamicSharedMemory;
}

static void op_from_memcpy(const CUpti_ActivityMemcpy6 *m, struct cprof_gpu_op *op)
{
	op->kind = GPU_OP_MEMCPY;
	op->start = m->start;
	op->end = m->end;
	op->bytes = m->bytes;
	/* The runtime call is what user code made; its id finds the stack. */
	op->corr = m->runtimeCorrelationId ? m->runtimeCorrelationId : m->correlationId;
	op->device = m->deviceId;
	op->context = m->contextId;
	op->stream = m->streamId;
	op->copy_kind = m->copyKind;
	op->src_kind = m->srcKind;
	op->dst_kind = m->dstKind;
	op->flags = (m->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) ? GOF_ASYNC : 0;
	/* cudaMemcpyBatchAsync: one record for many copies. */
	op->value = m->copyCount > UINT32_MAX ? UINT32_MAX : (uint32_t)m->copyCount;
}

/* Peer-to-peer copies between devices (CUPTI_ACTIVITY_KIND_MEMCPY2). Its
 * correlation id is the runtime call's and the driver call's alike. */
static void op_from_peer_copy(const CUpti_ActivityMemcpyPtoP4 *m, struct cprof_gpu_op *op)
{
	op->kind = GPU_OP_MEMCPY;
	op->start = m->start;
	op->end = m->end;
	op->bytes = m->bytes;
	op->corr = m->correlationId;
	op->device = m->deviceId;
	op->context = m->contextId;
	op->stream = m->streamId;
	op->copy_kind = m->copyKind;
	op->src_kind = m->srcKind;
	op->dst_kind = m->dstKind;
	op->flags = (m->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) ? GOF_ASYNC : 0;
}

static void op_from_memset(const CUpti_ActivityMemset4 *m, struct cprof_gpu_op *op)
{
	op->kind = GPU_OP_MEMSET;
	op->start = m->start;
	op->end = m->end;
	op->bytes = m->bytes;
	op->corr = m->correlationId;
	op->device = m->deviceId;
	op->context = m->contextId;
	op->stream = m->streamId;
	op->value = m->value;
	op->dst_kind = (uint8_t)m->memoryKind;
	op->flags = (m->flags & CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC) ? GOF_ASYNC : 0;
}

static void op_from_sync(const CUpti_ActivitySynchronization2 *s, struct cprof_gpu_op *op)
{
	op->kind = GPU_OP_SYNC;
	op->start = s->start;
	op->end = s->end;
	op->corr = s->correlationId;
	/* The record names no device: cprof record finds it from the context. */
	op->device = GPU_DEVICE_UNKNOWN;
	op->context = s->contextId;
	/* CUPTI_SYNCHRONIZATION_INVALID_VALUE: a context-wide sync has no stream. */
	op->stream = s->streamId;
	op->copy_kind = (uint8_t)s->type;
}

enum gpu_conv gpu_convert_activity(const CUpti_Activity *rec, struct cprof_gpu_op *op, struct cprof_gpu_api *api,
				   const char **name)
{
	memset(op, 0, sizeof *op);
	memset(api, 0, sizeof *api);
	op->stack = GPU_NO_STACK;
	*name = NULL;
	switch (rec->kind) {
	case CUPTI_ACTIVITY_KIND_KERNEL:
	case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
		const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
		op_from_kernel(k, op);
		*name = k->name;
		return GPU_CONV_OP;
	}
	case CUPTI_ACTIVITY_KIND_MEMCPY:
		op_from_memcpy((const CUpti_ActivityMemcpy6 *)rec, op);
		return GPU_CONV_OP;
	case CUPTI_ACTIVITY_KIND_MEMCPY2:
		op_from_peer_copy((const CUpti_ActivityMemcpyPtoP4 *)rec, op);
		return GPU_CONV_OP;
	case CUPTI_ACTIVITY_KIND_MEMSET:
		op_from_memset((const CUpti_ActivityMemset4 *)rec, op);
		return GPU_CONV_OP;
	case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
		op_from_sync((const CUpti_ActivitySynchronization2 *)rec, op);
		return GPU_CONV_OP;
	case CUPTI_ACTIVITY_KIND_RUNTIME:
	case CUPTI_ACTIVITY_KIND_DRIVER: {
		const CUpti_ActivityAPI *a = (const CUpti_ActivityAPI *)rec;
		api->start = a->start;
		api->end = a->end;
		api->corr = a->correlationId;
		api->cbid = a->cbid;
		api->pid = a->processId;
		api->tid = a->threadId;
		api->result = a->returnValue;
		api->domain = rec->kind == CUPTI_ACTIVITY_KIND_RUNTIME ? GPU_API_RUNTIME : GPU_API_DRIVER;
		return GPU_CONV_API;
	}
	default:
		return GPU_CONV_SKIP;
	}
}

size_t gpu_record_size(CUpti_ActivityKind kind)
{
	switch (kind) {
	case CUPTI_ACTIVITY_KIND_KERNEL:
	case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: return sizeof(CUpti_ActivityKernel10);
	case CUPTI_ACTIVITY_KIND_MEMCPY: return sizeof(CUpti_ActivityMemcpy6);
	case CUPTI_ACTIVITY_KIND_MEMCPY2: return sizeof(CUpti_ActivityMemcpyPtoP4);
	case CUPTI_ACTIVITY_KIND_MEMSET: return sizeof(CUpti_ActivityMemset4);
	case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: return sizeof(CUpti_ActivitySynchronization2);
	case CUPTI_ACTIVITY_KIND_RUNTIME:
	case CUPTI_ACTIVITY_KIND_DRIVER: return sizeof(CUpti_ActivityAPI);
	default: return 0;
	}
}

/*
 * Whether a record of kind spanning size bytes can be read with this
 * build's structs. CUPTI's iterator steps by its own sizes, so the distance
 * to the next record (or to the end of the valid bytes) is the size of the
 * struct the running libcupti wrote. size 0: not measurable (the record
 * before an unfinished one), decided by what the kind's earlier records
 * showed.
 */
static bool layout_ok(struct gpu_walk *w, CUpti_ActivityKind kind, size_t size)
{
	size_t want = gpu_record_size(kind);
	if (!w->layouts || !want)
		return true;
	if ((unsigned)kind >= CUPTI_ACTIVITY_KIND_COUNT)
		return false;
	uint8_t v = atomic_load(&w->layouts->verdict[kind]);
	if (v || !size)
		return v == 1;
	uint8_t expect = 0;
	v = size == want ? 1 : 2;
	if (atomic_compare_exchange_strong(&w->layouts->verdict[kind], &expect, v)) {
		if (v == 2 && w->layout_mismatch)
			w->layout_mismatch(w->ctx, kind, size, want);
		return v == 1;
	}
	return expect == 1;
}

/* Why a converted record's times cannot be used, or _GL_MAX if they can. */
static enum gpu_loss bad_times(const struct gpu_walk *w, uint64_t start, uint64_t end)
{
	if (start == 0 && end == 0)
		return w->at_exit ? GL_UNFINISHED_AT_EXIT : GL_UNTIMED;
	if (start == 0 || end == 0 || end < start)
		return w->at_exit ? GL_UNFINISHED_AT_EXIT : GL_UNFINISHED;
	return _GL_MAX;
}

static void walk_one(struct gpu_walk *w, const CUpti_Activity *rec, size_t size)
{
	struct cprof_gpu_op op;
	struct cprof_gpu_api api;
	const char *name;
	if (!layout_ok(w, rec->kind, size)) {
		w->loss[GL_UNKNOWN_LAYOUT]++;
		return;
	}
	enum gpu_loss why;
	switch (gpu_convert_activity(rec, &op, &api, &name)) {
	case GPU_CONV_OP:
		if ((why = bad_times(w, op.start, op.end)) != _GL_MAX)
			w->loss[why]++;
		else
			w->emit_op(w->ctx, &op, name);
		break;
	case GPU_CONV_API:
		if ((why = bad_times(w, api.start, api.end)) != _GL_MAX)
			w->loss[why]++;
		else
			w->emit_api(w->ctx, &api);
		break;
	case GPU_CONV_SKIP: break;
	}
}

void gpu_walk_buffer(struct gpu_walk *w, uint8_t *buf, size_t valid)
{
	/* One record behind the iterator: a record's size is known once the
	 * next one (or the end) is. */
	CUpti_Activity *rec = NULL, *prev = NULL;
	CUptiResult st;
	while ((st = w->next(buf, valid, &rec)) == CUPTI_SUCCESS) {
		if (prev)
			walk_one(w, prev, (size_t)((uint8_t *)rec - (uint8_t *)prev));
		prev = rec;
	}
	if (st == CUPTI_ERROR_MAX_LIMIT_REACHED) {
		if (prev)
			walk_one(w, prev, (size_t)(buf + valid - (uint8_t *)prev));
		return;
	}
	/* CUPTI_ERROR_INVALID_KIND: an unfinished record; the iterator cannot
	 * step over it, so it and everything after it in this buffer is lost. */
	if (prev)
		walk_one(w, prev, 0);
	w->loss[w->at_exit ? GL_CUT_AT_EXIT : GL_CUT_BUFFERS]++;
}

static bool has_prefix(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (strncmp(s, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

bool gpu_is_capture_name(CUpti_CallbackDomain domain, const char *name)
{
	/* By name rather than by cbid, so new versions of the same calls (the
	 * _v13000 launch, _ptsz variants) are caught without a table to keep. */
	static const char *const runtime[] = { "cudaLaunch", "__cudaLaunch", "cudaMemcpy", "cudaMemset",
					       "cudaGraphLaunch", NULL };
	static const char *const driver[] = { "cuLaunch", "cuMemcpy", "cuMemset", "cuGraphLaunch", NULL };
	/* Host functions (and their _ptsz variants) run on the CPU: no GPU
	 * work to tie a stack to, and a backtrace() would be wasted. */
	static const char *const host[] = { "cudaLaunchHostFunc", "cuLaunchHostFunc", NULL };
	if (!name || (domain != CUPTI_CB_DOMAIN_RUNTIME_API && domain != CUPTI_CB_DOMAIN_DRIVER_API))
		return false;
	if (has_prefix(name, host))
		return false;
	return has_prefix(name, domain == CUPTI_CB_DOMAIN_RUNTIME_API ? runtime : driver);
}

void gpu_enable_capture_sites(gpu_cb_name_fn names, gpu_enable_fn enable, void *ctx, struct gpu_enable_result *res)
{
	static const CUpti_CallbackDomain doms[] = { CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_CB_DOMAIN_DRIVER_API };
	static const CUpti_CallbackId sizes[] = { CUPTI_RUNTIME_TRACE_CBID_SIZE, CUPTI_DRIVER_TRACE_CBID_SIZE };
	memset(res, 0, sizeof *res);
	for (size_t d = 0; d < ARRAY_SIZE(doms); d++) {
		/* Ids are dense: a newer libcupti appends, so past the headers'
		 * size the first id without a name is the end. Bounded anyway. */
		for (CUpti_CallbackId id = 1; id < sizes[d] + 4096; id++) {
			const char *name = NULL;
			if (names(doms[d], id, &name) != CUPTI_SUCCESS || !name) {
				if (id >= sizes[d])
					break;
				continue;
			}
			if (!gpu_is_capture_name(doms[d], name))
				continue;
			CUptiResult r = enable(ctx, doms[d], id);
			if (r == CUPTI_SUCCESS) {
				res->enabled++;
				continue;
			}
			if (!res->failed++) {
				res->first_error = r;
				snprintf(res->first_failed, sizeof res->first_failed, "%s", name);
			}
		}
	}
}

void gpu_subscribe_note(CUptiResult r, const char *what, const char *holder, char *out, size_t n)
{
	if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
		snprintf(out, n, "another CUPTI tool is attached to this process (%s); cprof leaves the GPU to it and "
				 "records only the CPU profile",
			 holder && *holder ? holder : "it did not say which: Nsight Systems, Nsight Compute, cuda-gdb, "
						      "compute-sanitizer or the program itself?");
	else
		snprintf(out, n, "cuptiSubscribe failed: %s (%d); GPU activity is not recorded", what ? what : "?",
			 (int)r);
}

bool gpu_callback_is_launch(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
			    int runtime_depth, uint32_t *corr)
{
	(void)cbid;
	if (cb->callbackSite != CUPTI_API_ENTER)
		return false;
	if (domain == CUPTI_CB_DOMAIN_DRIVER_API && runtime_depth > 0)
		return false;
	if (domain != CUPTI_CB_DOMAIN_RUNTIME_API && domain != CUPTI_CB_DOMAIN_DRIVER_API)
		return false;
	*corr = cb->correlationId;
	return true;
}
