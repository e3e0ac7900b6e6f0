/*
 * collector.h - the part of libcprof-cupti.so that lives in the profiled
 * process but knows nothing of CUPTI: the stream file, names and launch
 * stacks written once per process, one stack buffer per launching thread,
 * the helper thread that flushes every period and finishes the stream on
 * SIGINT/SIGTERM, and what happens at fork and exit. inject.c plugs CUPTI
 * in through struct gpu_collector_hooks; the unit tests plug in fakes and
 * drive it in forked children.
 *
 * One collector per process (it is process state: signals, atexit, fork).
 * Every function may be called from any thread. None prints or exits.
 */
#ifndef CPROF_GPU_COLLECTOR_H
#define CPROF_GPU_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "cprof/gpu-data.h"

struct gpu_collector_hooks {
	/*
	 * Hand over the activity the tracer holds (cuptiActivityFlushAll):
	 * forced false, what is complete (every period, and first at the end);
	 * forced true, also buffers holding unfinished records (only at the
	 * end, as the header of cuptiActivityFlushAll advises).
	 */
	void (*flush)(bool forced);
};

/* Open the stream at path (CPROF_GPU_OUT) for appending. 0 or -errno. */
int gpu_collector_open(const char *path);

/*
 * Start the process machinery, once, after gpu_collector_open: the helper
 * thread (a flush every period_ms), the exit handler, the fork handlers
 * and, if catch_signals, handlers for SIGINT and SIGTERM where the program
 * has none (the signal then finishes the stream and kills the process as
 * it would have). Without hooks (tracing failed) only the exit handler is
 * installed, to write the notes and the END record. 0 or -errno.
 */
int gpu_collector_start(const struct gpu_collector_hooks *hooks, unsigned period_ms, bool catch_signals);

/* True until the stream is finished (and always false in a forked child). */
bool gpu_collector_active(void);
/* True while the forced flush at the end runs: unfinished records are work
 * still running at exit. */
bool gpu_collector_at_exit(void);

/* This process's id, as the records carry it. */
uint32_t gpu_collector_pid(void);

/*
 * The launch stack of the API call with correlation id corr, entered on
 * this thread (ips from backtrace(), innermost first). The stack is
 * written once per thread and referred to by id after that.
 */
void gpu_collector_launch(uint32_t corr, uint32_t domain, const uint64_t *ips, uint32_t n);

/* The id of name in this process's stream (written the first time), 0 if
 * it could not be written. */
uint32_t gpu_collector_name(const char *name);

/* Add to a loss counter (enum gpu_loss). */
void gpu_collector_count(enum gpu_loss what, uint64_t n);

/* Write a message now (why something could not be traced). */
void gpu_collector_note(const char *msg);

/* The stream's descriptor, for writers of whole record batches
 * (gpu_writer on O_APPEND); -1 before gpu_collector_open. */
int gpu_collector_fd(void);

/* Finish now: flush (complete, then forced), write the counts and END. */
void gpu_collector_finish(uint32_t reason, uint32_t sig);

#endif
