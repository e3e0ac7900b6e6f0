/*
 * activity.c - completed activity buffers into the stream (activity.h).
 */
#include <stdio.h>

#include "activity.h"
#include "collector.h"
#include "cprof/gpu-stream.h"

#define CONVERT_BUFFER (256u << 10)
#define NAME_CACHE 64 /* kernel name pointers remembered while converting one buffer */
#define API_NAME_CACHE 4096 /* callback ids with a cached name id (13.0 has under 1000 per domain) */

static uint32_t cupti_version;
static struct gpu_layouts layouts;
static bool check_layouts;
static _Atomic uint32_t api_names[2][API_NAME_CACHE];

void gpu_activity_init(uint32_t version)
{
	cupti_version = version;
	check_layouts = version != CUPTI_API_VERSION;
}

struct conversion {
	struct gpu_writer w;
	uint32_t pid;
	/* CUPTI's name pointers stay valid at least while their buffer is
	 * converted: a pointer seen before in it skips hashing the name. */
	struct {
		const char *p;
		uint32_t id;
	} names[NAME_CACHE];
};

static void emit_op(void *ctx, struct cprof_gpu_op *op, const char *name)
{
	struct conversion *c = ctx;
	size_t slot = ((uintptr_t)name >> 3) % NAME_CACHE;
	op->pid = c->pid;
	if (name && c->names[slot].p == name) {
		op->name = c->names[slot].id;
	} else {
		op->name = gpu_collector_name(name);
		c->names[slot].p = op->name ? name : NULL;
		c->names[slot].id = op->name;
	}
	gpu_writer_op(&c->w, op);
}

/* An API function's name id, looked up in libcupti once per callback id
 * rather than once per record. */
static uint32_t api_name(uint8_t domain, uint32_t cbid)
{
	_Atomic uint32_t *slot = cbid < API_NAME_CACHE ? &api_names[domain == GPU_API_DRIVER][cbid] : NULL;
	uint32_t id = slot ? atomic_load(slot) : 0;
	const char *name = NULL;
	if (id)
		return id;
	if (cuptiGetCallbackName(domain == GPU_API_RUNTIME ? CUPTI_CB_DOMAIN_RUNTIME_API : CUPTI_CB_DOMAIN_DRIVER_API,
				 cbid, &name) != CUPTI_SUCCESS)
		return 0;
	id = gpu_collector_name(name);
	if (slot && id)
		atomic_store(slot, id);
	return id;
}

static void emit_api(void *ctx, struct cprof_gpu_api *a)
{
	struct conversion *c = ctx;
	a->name = api_name(a->domain, a->cbid);
	gpu_writer_api(&c->w, a);
}

static void layout_mismatch(void *ctx, CUpti_ActivityKind kind, size_t got, size_t want)
{
	char msg[256];
	(void)ctx;
	snprintf(msg, sizeof msg,
		 "libcupti %u writes activity kind %d in records of %zu bytes; this collector was built with "
		 "CUPTI %u headers and reads %zu: those records are left out",
		 cupti_version, (int)kind, got, (unsigned)CUPTI_API_VERSION, want);
	gpu_collector_note(msg);
}

void gpu_activity_buffer(uint8_t *buf, size_t valid, gpu_next_record_fn next)
{
	if (!gpu_collector_active() || !buf || !valid)
		return;
	struct conversion c = { .pid = gpu_collector_pid() };
	/* Without memory every record is counted as a write error. */
	(void)gpu_writer_init(&c.w, gpu_collector_fd(), CONVERT_BUFFER);
	struct gpu_walk w = { .next = next,
			      .layouts = check_layouts ? &layouts : NULL,
			      .at_exit = gpu_collector_at_exit(),
			      .emit_op = emit_op,
			      .emit_api = emit_api,
			      .layout_mismatch = layout_mismatch,
			      .ctx = &c };
	gpu_walk_buffer(&w, buf, valid);
	gpu_writer_release(&c.w);
	gpu_collector_count(GL_WRITE_ERRORS, c.w.write_errors);
	for (int i = 0; i < _GL_MAX; i++)
		gpu_collector_count((enum gpu_loss)i, w.loss[i]);
}
