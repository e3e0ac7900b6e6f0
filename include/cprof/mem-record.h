/*
 * mem-record.h - `record --mem`: preload libcprof-mem.so into the workload,
 * receive the region of sums each traced process image keeps (memtrace.h),
 * and feed them through the finishing pass into the data file.
 */
#ifndef CPROF_MEM_RECORD_H
#define CPROF_MEM_RECORD_H

#include <pthread.h>
#include "cprof/memtrace.h"
#include "cprof/record.h"

struct resolver;
struct source_ops;

struct memrec {
	bool prepared;         /* memrec_prepare ran: there is something to clean up */
	char *shim;            /* path of libcprof-mem.so */
	char *saved_preload;   /* LD_PRELOAD before we changed it, NULL if unset */
	int sock;              /* cprof's end of the socket the shims send their regions to */
	int child_sock;        /* the workload's end, inherited; closed once it is forked */
	pthread_t receiver;
	bool receiving;
	pthread_mutex_t lock;  /* regions, bad_messages: the receiver adds */
	VEC(struct mem_region) regions;
	uint64_t bad_messages; /* not a region from a shim: ignored */
	struct mem_stacks *stacks; /* per region, after collect */
	uint32_t *stack_map;   /* all regions' stacks: resolver handles, then ids in d; each region at its base */
	size_t *base;          /* per region: first index in stack_map */
	uint64_t damaged;      /* stack records that did not hold together */
	bool sample;
	uint64_t sample_bytes;
};

/* Find the shim, make the socket and set the environment the workload will
 * inherit (restore it with memrec_restore_env once it is forked). */
int memrec_prepare(struct memrec *m, bool sample, uint64_t sample_bytes, struct cprof_err *err) CPROF_WUR;
/* After the fork: restore cprof's environment, close the workload's end of
 * the socket here and start receiving regions. */
void memrec_restore_env(struct memrec *m);
/* After the workload ended: take in the regions and their stacks. */
int memrec_collect(struct memrec *m, struct cprof_err *err) CPROF_WUR;
/* Hand the stacks to the finishing pass's resolver (resolve.h). */
void memrec_stacks(struct memrec *m, struct resolver *res);
/* After resolver_run: sum the regions into d, and say (to notes,
 * unless quiet, and in d's metadata) which processes were not traced. */
void memrec_finish(struct memrec *m, struct resolver *res, const struct raw_store *st, struct cprof_data *d,
		   bool quiet, const struct note_sink *notes);
void memrec_cleanup(struct memrec *m);

/* Its row of cprof_sources[] (source.h), in src/mem/source.c. */
extern const struct source_ops mem_source;
extern const struct source_view mem_view; /* views.c */

#endif
