/*
 * inject.c - libcprof-cupti.so, loaded into the workload by the CUDA driver
 * (CUDA_INJECTION64_PATH) during cuInit. It turns on CUPTI's activity API
 * for kernels, copies, memsets, synchronizations and API calls, captures the
 * CPU stack at every launch/copy API entry (callback API, backtrace()), and
 * appends everything to the stream named by CPROF_GPU_OUT (gpu-stream.h).
 *
 * It lives inside someone else's program: it never exits, never prints
 * except when the stream itself cannot be opened, and on any CUPTI failure
 * writes a note to the stream and stays out of the way. The only export is
 * InitializeInjection (everything else is hidden by the build).
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "cprof/gpu-stream.h"

#define ACTIVITY_BUFFER (4u << 20)
#define WRITER_BUFFER (1u << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct gpu_writer writer;      /* under lock */
static uint64_t dropped, incomplete, stacks_lost; /* under lock */
static atomic_int initialized, finished;
static atomic_int tracing;            /* activity enabled: flushing makes sense */
static __thread int runtime_depth;    /* inside a captured runtime call */
static CUpti_SubscriberHandle subscriber;
static struct sigaction old_int, old_term;

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
	pthread_mutex_lock(&lock);
	gpu_writer_note(&writer, msg);
	gpu_writer_flush(&writer);
	pthread_mutex_unlock(&lock);
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
	CUpti_Activity *rec = NULL;
	CUptiResult st;
	struct cprof_gpu_op op;
	struct cprof_gpu_api api;
	const char *name;
	uint32_t pid = (uint32_t)getpid();
	pthread_mutex_lock(&lock);
	while ((st = cuptiActivityGetNextRecord(buf, valid, &rec)) == CUPTI_SUCCESS) {
		switch (gpu_convert_activity(rec, &op, &api, &name)) {
		case GPU_CONV_OP:
			op.pid = pid;
			gpu_writer_op(&writer, &op, name);
			break;
		case GPU_CONV_API: gpu_writer_api(&writer, &api, name); break;
		case GPU_CONV_SKIP: break;
		}
	}
	if (st != CUPTI_ERROR_MAX_LIMIT_REACHED)
		incomplete++; /* a record CUPTI could not finish: the rest of the buffer is lost */
	size_t n = 0;
	if (cuptiActivityGetNumDroppedRecords(ctx, stream, &n) == CUPTI_SUCCESS)
		dropped += n;
	gpu_writer_flush(&writer);
	pthread_mutex_unlock(&lock);
	free(buf);
}

static void CUPTIAPI on_callback(void *userdata, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
				 const void *data)
{
	(void)userdata;
	if (domain == CUPTI_CB_DOMAIN_RESOURCE) {
		/* Records of a context must be out before the context is gone. */
		if (cbid == CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING && atomic_load(&tracing))
			cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
		return;
	}
	const CUpti_CallbackData *cb = data;
	uint32_t corr;
	if (gpu_callback_is_launch(domain, cbid, cb, runtime_depth, &corr)) {
		void *ips[GS_MAX_IPS];
		uint64_t ips64[GS_MAX_IPS];
		int n = backtrace(ips, GS_MAX_IPS);
		for (int i = 0; i < n; i++)
			ips64[i] = (uint64_t)(uintptr_t)ips[i];
		pthread_mutex_lock(&lock);
		if (n <= 0)
			stacks_lost++;
		else
			gpu_writer_stack(&writer, corr, (uint32_t)getpid(), (uint32_t)syscall(SYS_gettid),
					 domain == CUPTI_CB_DOMAIN_RUNTIME_API ? GPU_API_RUNTIME : GPU_API_DRIVER,
					 ips64, (uint32_t)n);
		pthread_mutex_unlock(&lock);
	}
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API)
		runtime_depth += cb->callbackSite == CUPTI_API_ENTER ? 1 : -1;
}

/* Flush everything CUPTI holds and close the stream: at exit (from any
 * thread), or from a fatal signal's handler. Runs once. */
static void finish(uint32_t reason, uint32_t sig)
{
	if (atomic_exchange(&finished, 1))
		return;
	if (atomic_load(&tracing))
		cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	pthread_mutex_lock(&lock);
	gpu_writer_counts(&writer, dropped, incomplete, stacks_lost);
	gpu_writer_end(&writer, reason, sig);
	gpu_writer_flush(&writer);
	pthread_mutex_unlock(&lock);
}

static void at_exit(void)
{
	finish(GS_END_EXIT, 0);
}

/*
 * SIGINT/SIGTERM would skip atexit. Flushing CUPTI from a handler is not
 * async-signal-safe, so this is best effort: it is done only when the
 * program had no handler of its own, and the signal is re-raised with the
 * default action afterwards so the program still dies of it.
 */
static void on_fatal_signal(int sig)
{
	finish(GS_END_SIGNAL, (uint32_t)sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signal_flush(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, NULL, &old_int) == 0 && old_int.sa_handler == SIG_DFL)
		sigaction(SIGINT, &sa, NULL);
	if (sigaction(SIGTERM, NULL, &old_term) == 0 && old_term.sa_handler == SIG_DFL)
		sigaction(SIGTERM, &sa, NULL);
}

static int open_stream(void)
{
	const char *path = getenv("CPROF_GPU_OUT");
	if (!path || !*path)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "libcprof-cupti: cannot open '%s': %s; GPU activity is not recorded\n", path,
			strerror(errno));
		return -1;
	}
	if (gpu_writer_init(&writer, fd, WRITER_BUFFER) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Turn on what cprof records; false (with a note) if CUPTI refuses. */
static bool start_tracing(void)
{
	static const CUpti_ActivityKind kinds[] = {
		CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, /* KIND_KERNEL would serialize all kernels */
		CUPTI_ACTIVITY_KIND_MEMCPY,  CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_SYNCHRONIZATION,
		CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER,
	};
	uint32_t version = 0;
	CUptiResult r = cuptiGetVersion(&version);
	if (r != CUPTI_SUCCESS) {
		note_result("cuptiGetVersion", r);
		return false;
	}
	if (version / 10000 != CUPTI_API_VERSION / 10000) {
		char msg[160];
		snprintf(msg, sizeof msg, "CUPTI API version %u, libcprof-cupti was built for %u; not tracing",
			 version, (unsigned)CUPTI_API_VERSION);
		pthread_mutex_lock(&lock);
		gpu_writer_note(&writer, msg);
		pthread_mutex_unlock(&lock);
		return false;
	}
	/* Real thread ids (gettid), as in the CPU samples. */
	if ((r = cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM)) != CUPTI_SUCCESS)
		note_result("cuptiSetThreadIdType", r);
	/* CLOCK_MONOTONIC, as the samples; must come before any kind is enabled. */
	if ((r = cuptiActivityRegisterTimestampCallback(monotonic_ns)) != CUPTI_SUCCESS) {
		note_result("cuptiActivityRegisterTimestampCallback", r);
		return false;
	}
	if ((r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed)) != CUPTI_SUCCESS) {
		note_result("cuptiActivityRegisterCallbacks", r);
		return false;
	}
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if ((r = cuptiActivityEnable(kinds[i])) != CUPTI_SUCCESS) {
			note_result("cuptiActivityEnable", r);
			return false;
		}
	atomic_store(&tracing, 1);
	/* Completed buffers reach the stream within 200 ms: bounds the loss if
	 * the program dies in a way no handler sees. */
	cuptiActivityFlushPeriod(200);
	return true;
}

static void start_callbacks(void)
{
	CUptiResult r = cuptiSubscribe(&subscriber, on_callback, NULL);
	if (r != CUPTI_SUCCESS) {
		/* Another tool (Nsight) holds the only subscriber slot. */
		note_result("cuptiSubscribe (launch stacks are not recorded)", r);
		return;
	}
	static const CUpti_CallbackDomain doms[] = { CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_CB_DOMAIN_DRIVER_API };
	static const CUpti_CallbackId sizes[] = { CUPTI_RUNTIME_TRACE_CBID_SIZE, CUPTI_DRIVER_TRACE_CBID_SIZE };
	for (size_t d = 0; d < 2; d++)
		for (CUpti_CallbackId id = 1; id < sizes[d]; id++)
			if (gpu_is_capture_site(doms[d], id) &&
			    (r = cuptiEnableCallback(1, subscriber, doms[d], id)) != CUPTI_SUCCESS) {
				note_result("cuptiEnableCallback", r);
				return;
			}
	if ((r = cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
				     CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING)) != CUPTI_SUCCESS)
		note_result("cuptiEnableCallback(context destroy)", r);
}

__attribute__((visibility("default"))) int InitializeInjection(void);

__attribute__((visibility("default"))) int InitializeInjection(void)
{
	if (atomic_exchange(&initialized, 1))
		return 1;
	if (open_stream() < 0)
		return 1; /* the program runs untraced */
	/* backtrace() loads libgcc_s on first use: do it now, not inside a launch. */
	void *warm[2];
	(void)backtrace(warm, 2);
	if (start_tracing())
		start_callbacks();
	atexit(at_exit);
	install_signal_flush();
	return 1;
}
