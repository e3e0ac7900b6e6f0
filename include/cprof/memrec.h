/*
 * memrec.h - `record --mem`: preload libcprof-mem.so into the workload,
 * then feed its traces through the finishing pass into the data file.
 */
#ifndef CPROF_MEMREC_H
#define CPROF_MEMREC_H

#include "cprof/memtrace.h"
#include "cprof/record.h"

struct memrec {
	char *dir;           /* temporary directory the shim writes to */
	char *shim;          /* path of libcprof-mem.so */
	char *saved_preload; /* LD_PRELOAD before we changed it, NULL if unset */
	struct mem_traces traces;
	uint32_t *stack_map; /* all processes' stack ids, each process at its base */
	size_t *base;        /* per process: first index in stack_map */
};

/* Find the shim and make the directory; set the environment the workload
 * will inherit (restore it with memrec_restore_env once it is forked). */
int memrec_prepare(struct memrec *m, struct cprof_err *err) CPROF_WUR;
void memrec_restore_env(struct memrec *m);
/* After the workload ended: load the traces, queue their stacks in st for
 * the finishing pass. */
int memrec_collect(struct memrec *m, struct raw_store *st, struct cprof_err *err) CPROF_WUR;
/* After resolve_samples: sum the traces into d; meta notes for the report. */
void memrec_finish(struct memrec *m, struct cprof_data *d);
void memrec_cleanup(struct memrec *m);

#endif
