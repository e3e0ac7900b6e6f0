/*
 * inject.c - libcprof-cupti.so, loaded into the workload by the CUDA driver
 * (CUDA_INJECTION64_PATH) during cuInit. It takes CUPTI's only subscriber
 * slot, turns on the activity API for kernels, copies (peer-to-peer too),
 * memsets, synchronizations and API calls, captures the CPU stack at every
 * launch/copy API entry (callback API, backtrace()), and hands everything
 * to the collector (collector.h), which appends it to the stream named by
 * CPROF_GPU_OUT (gpu-stream.h).
 *
 * It lives inside someone else's program: it never exits, never prints
 * except when the stream itself cannot be opened, and on any CUPTI failure
 * writes a note to the stream and stays out of the way. The only export is
 * InitializeInjection (everything else is hidden by the build).
 */
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "collector.h"
#include "convert.h"
#include "cprof/gpu-stream.h"

#define ACTIVITY_BUFFER (4u << 20)
#define FLUSH_PERIOD_MS 200

/* cuptiSubscribe_v2 names the subscriber that holds CUPTI; every libcupti
 * of major version 13 has it, but a weak reference keeps the library
 * loadable by one that does not. */
#pragma weak cuptiSubscribe_v2

static atomic_int initialized;
static __thread int runtime_depth; /* inside a captured runtime call */
static CUpti_SubscriberHandle subscriber;

static uint64_t CUPTIAPI monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void note_result(const char *call, CUptiResult r)
{
	const char *s = NULL;
	char msg[512];
	if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s)
		s = "unknown error";
	snprintf(msg, sizeof msg, "%s failed: %s (%d)", call, s, (int)r);
	gpu_collector_note(msg);
}

static void CUPTIAPI buffer_requested(uint8_t **buf, size_t *size, size_t *max_records)
{
	/* NULL makes CUPTI drop records, and it counts them for us. */
	*buf = aligned_alloc(8, ACTIVITY_BUFFER);
	*size = *buf ? ACTIVITY_BUFFER : 0;
	*max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size, size_t valid)
{
	(void)size;
	gpu_activity_buffer(buf, valid, cuptiActivityGetNextRecord);
	size_t n = 0;
	if (gpu_collector_active() && cuptiActivityGetNumDroppedRecords(ctx, stream, &n) == CUPTI_SUCCESS)
		gpu_collector_count(GL_DROPPED, n);
	free(buf);
}

static void CUPTIAPI on_callback(void *userdata, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
				 const void *data)
{
	(void)userdata;
	if (domain == CUPTI_CB_DOMAIN_RESOURCE) {
		/* Records of a context must be out before the context is gone. Not
		 * forced: that would cut other contexts' buffers at their first
		 * unfinished record. */
		if (cbid == CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING && gpu_collector_active())
			cuptiActivityFlushAll(0);
		return;
	}
	const CUpti_CallbackData *cb = data;
	uint32_t corr;
	if (gpu_collector_active() && gpu_callback_is_launch(domain, cbid, cb, runtime_depth, &corr)) {
		void *ips[GS_MAX_IPS];
		uint64_t ips64[GS_MAX_IPS];
		int n = backtrace(ips, GS_MAX_IPS);
		for (int i = 0; i < n; i++)
			ips64[i] = (uint64_t)(uintptr_t)ips[i];
		if (n <= 0)
			gpu_collector_count(GL_STACKS_LOST, 1);
		else
			gpu_collector_launch(corr, domain == CUPTI_CB_DOMAIN_RUNTIME_API ? GPU_API_RUNTIME : GPU_API_DRIVER,
					     ips64, (uint32_t)n);
	}
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API)
		runtime_depth += cb->callbackSite == CUPTI_API_ENTER ? 1 : -1;
}

static void flush_activity(bool forced)
{
	(void)cuptiActivityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0);
}

/* Only one subscriber may exist per process: take it before anything
 * else, and if another tool has it, leave the GPU to that tool. */
static bool subscribe(void)
{
	char holder[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN] = "";
	CUptiResult r;
	if (cuptiSubscribe_v2) {
		CUpti_SubscriberParams p = { .structSize = CUpti_SubscriberParams_STRUCT_SIZE,
					     .subscriberName = "cprof",
					     .oldSubscriberName = holder,
					     .oldSubscriberSize = sizeof holder };
		r = cuptiSubscribe_v2(&subscriber, on_callback, NULL, &p);
	} else {
		r = cuptiSubscribe(&subscriber, on_callback, NULL);
	}
	if (r == CUPTI_SUCCESS)
		return true;
	const char *what = NULL;
	char msg[512];
	if (cuptiGetResultString(r, &what) != CUPTI_SUCCESS)
		what = NULL;
	holder[sizeof holder - 1] = 0;
	gpu_subscribe_note(r, what, holder, msg, sizeof msg);
	gpu_collector_note(msg);
	return false;
}

static CUptiResult enable_callback(void *ctx, CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	(void)ctx;
	return cuptiEnableCallback(1, subscriber, domain, cbid);
}

static void start_callbacks(void)
{
	struct gpu_enable_result res;
	CUptiResult r;
	gpu_enable_capture_sites(cuptiGetCallbackName, enable_callback, NULL, &res);
	if (res.failed) {
		const char *s = NULL;
		char msg[512];
		if (cuptiGetResultString(res.first_error, &s) != CUPTI_SUCCESS || !s)
			s = "unknown error";
		snprintf(msg, sizeof msg,
			 "cuptiEnableCallback failed for %u of %u launch and copy functions (first %s: %s); their "
			 "launch stacks are not recorded",
			 res.failed, res.failed + res.enabled, res.first_failed, s);
		gpu_collector_note(msg);
	}
	if ((r = cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
				     CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING)) != CUPTI_SUCCESS)
		note_result("cuptiEnableCallback(context destroy)", r);
}

/* Turn on what cprof records; false (with a note) if CUPTI refuses. */
static bool start_tracing(void)
{
	static const CUpti_ActivityKind kinds[] = {
		CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, /* KIND_KERNEL would serialize all kernels */
		CUPTI_ACTIVITY_KIND_MEMCPY,  CUPTI_ACTIVITY_KIND_MEMCPY2, /* peer to peer */
		CUPTI_ACTIVITY_KIND_MEMSET,  CUPTI_ACTIVITY_KIND_SYNCHRONIZATION,
		CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER,
	};
	uint32_t cupti_version = 0;
	CUptiResult r = cuptiGetVersion(&cupti_version);
	if (r != CUPTI_SUCCESS) {
		note_result("cuptiGetVersion", r);
		return false;
	}
	if (cupti_version / 10000 != CUPTI_API_VERSION / 10000) {
		char msg[160];
		snprintf(msg, sizeof msg, "CUPTI API version %u, libcprof-cupti was built for %u; not tracing",
			 cupti_version, (unsigned)CUPTI_API_VERSION);
		gpu_collector_note(msg);
		return false;
	}
	/* A newer 13.x may deliver newer record structs: measure each kind. */
	gpu_activity_init(cupti_version);
	if (!subscribe())
		return false;
	/* Real thread ids (gettid), as in the CPU samples. */
	if ((r = cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM)) != CUPTI_SUCCESS)
		note_result("cuptiSetThreadIdType", r);
	/* CLOCK_MONOTONIC, as the samples; must come before any kind is enabled. */
	if ((r = cuptiActivityRegisterTimestampCallback(monotonic_ns)) != CUPTI_SUCCESS) {
		note_result("cuptiActivityRegisterTimestampCallback", r);
		goto fail;
	}
	if ((r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed)) != CUPTI_SUCCESS) {
		note_result("cuptiActivityRegisterCallbacks", r);
		goto fail;
	}
	/* By default every cudaStreamQuery/cudaEventQuery that finds work
	 * still running is a record: only the ones that waited matter. */
	if ((r = cuptiActivityEnableAllSyncRecords(0)) != CUPTI_SUCCESS)
		note_result("cuptiActivityEnableAllSyncRecords", r);
	/* Kernels are what cprof is for; without another kind the rest is
	 * still worth recording, with a note saying what is missing. */
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if ((r = cuptiActivityEnable(kinds[i])) != CUPTI_SUCCESS) {
			char what[64];
			snprintf(what, sizeof what, "cuptiActivityEnable(kind %d)", (int)kinds[i]);
			note_result(what, r);
			if (i == 0)
				goto fail;
		}
	start_callbacks();
	return true;
fail:
	(void)cuptiUnsubscribe(subscriber);
	return false;
}

__attribute__((visibility("default"))) int InitializeInjection(void);

__attribute__((visibility("default"))) int InitializeInjection(void)
{
	static const struct gpu_collector_hooks hooks = { .flush = flush_activity };
	if (atomic_exchange(&initialized, 1))
		return 1;
	const char *path = getenv("CPROF_GPU_OUT");
	if (!path || !*path)
		return 1;
	int r = gpu_collector_open(path);
	if (r < 0) {
		fprintf(stderr, "libcprof-cupti: cannot open '%s': %s; GPU activity is not recorded\n", path,
			strerror(-r));
		return 1; /* the program runs untraced */
	}
	/* backtrace() loads libgcc_s on first use: do it now, not inside a launch. */
	void *warm[2];
	(void)backtrace(warm, 2);
	bool tracing = start_tracing();
	if ((r = gpu_collector_start(tracing ? &hooks : NULL, FLUSH_PERIOD_MS, true)) < 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "cannot start the collector's flush thread or handlers: %s; GPU activity "
					  "of the last part of the run may be missing", strerror(-r));
		gpu_collector_note(msg);
	}
	return 1;
}
