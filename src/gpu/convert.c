/*
 * convert.c - CUPTI (CUDA 13) activity records and callback data into
 * cprof's GPU records. Only the current record structs of CUPTI 13 are
 * read (Kernel10, Memcpy6, Memset4, ActivityAPI, Synchronization2); the
 * collector refuses a CUPTI of another major version before any of this
 * runs, because the layouts change between releases.
 */
#include <string.h>

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
		CUpti_CallbackDomain dom = rec->kind == CUPTI_ACTIVITY_KIND_RUNTIME ? CUPTI_CB_DOMAIN_RUNTIME_API
										    : CUPTI_CB_DOMAIN_DRIVER_API;
		if (cuptiGetCallbackName(dom, a->cbid, name) != CUPTI_SUCCESS)
			*name = NULL;
		return GPU_CONV_API;
	}
	default:
		return GPU_CONV_SKIP;
	}
}

static bool has_prefix(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (strncmp(s, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

bool gpu_is_capture_site(CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	/* By name rather than by cbid, so new versions of the same calls (the
	 * _v13000 launch, _ptsz variants) are caught without a table to keep. */
	static const char *const runtime[] = { "cudaLaunch", "__cudaLaunch", "cudaMemcpy", "cudaMemset",
					       "cudaGraphLaunch", NULL };
	static const char *const driver[] = { "cuLaunch", "cuMemcpy", "cuMemset", "cuGraphLaunch", NULL };
	const char *name = NULL;
	if (domain != CUPTI_CB_DOMAIN_RUNTIME_API && domain != CUPTI_CB_DOMAIN_DRIVER_API)
		return false;
	if (cuptiGetCallbackName(domain, cbid, &name) != CUPTI_SUCCESS || !name)
		return false;
	if (strncmp(name, "cudaLaunchHostFunc", 18) == 0)
		return false; /* runs on the CPU */
	return has_prefix(name, domain == CUPTI_CB_DOMAIN_RUNTIME_API ? runtime : driver);
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
