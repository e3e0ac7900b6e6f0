/*
 * source.h - the seam every optional data source of `cprof record` plugs
 * into: memory (src/mem/), GPU (src/gpu/), and any next one. CPU sampling
 * is the spine (record/session.c); a source is one row, a struct
 * source_ops, in the table cprof_sources[] (src/sources.c), the way a
 * command is one row of commands[] (cmd.h).
 *
 * What a source hands the spine, in the order record meets it:
 *
 *   option    record --NAME[=ARG] turns it on; configure() checks ARG while
 *             the options are parsed, so a bad value costs nothing
 *   prepare   before the workload is forked: what it must inherit
 *             (environment, a channel); started() runs once it is forked
 *   collect   after the workload ended: take in what it gathered
 *   stacks    hand its raw stacks to the one resolver (resolve.h)
 *   finish    after the resolver ran: store its records and metadata in
 *             the data file, tell the user what was and was not recorded
 *   release   always, once: free what it holds, remove temporary files
 *
 * Every hook but configure and release may be NULL. Its sections on disk
 * are data/'s (the only code that knows bytes on disk); its views are
 * reached from the commands that draw them (report --NAME, flamegraph
 * --NAME), in the source's own folder.
 */
#ifndef CPROF_SOURCE_H
#define CPROF_SOURCE_H

#include "cprof/base.h"

struct cprof_data;
struct raw_store;
struct resolver;

/* What finish() is given. */
struct source_finish {
	struct cprof_data *d;        /* holds the resolved samples and metadata */
	struct resolver *res;        /* the one resolver, after resolver_run */
	const struct raw_store *raw; /* the recording's processes and mappings */
	bool quiet;                  /* -q: warnings only */
	void (*note)(const char *msg); /* one line for the user, may be NULL */
};

struct source_ops {
	const char *name;       /* record --NAME, report --NAME, flamegraph --NAME */
	const char *usage;      /* its part of record's usage line */
	const char *help;       /* its lines of record --help, each ending in \n */
	bool takes_arg;         /* --NAME=ARG (optional) */
	/* Why it needs a command to launch (not -p, -t or -a), or NULL. */
	const char *launch_only;
	/* The source's state: configure() allocates it from ARG (NULL: none
	 * given); a bad ARG is a one-line error (err) for record's usage. */
	void *(*configure)(const char *arg, struct cprof_err *err);
	int (*prepare)(void *state, struct cprof_err *err);
	void (*started)(void *state);
	int (*collect)(void *state, struct cprof_err *err);
	void (*stacks)(void *state, struct resolver *res);
	int (*finish)(void *state, const struct source_finish *f, struct cprof_err *err);
	void (*release)(void *state); /* frees state too; NULL is nothing to do */
};

/* A source turned on for one recording: its row and its state. */
struct source_use {
	const struct source_ops *ops;
	void *state;
};

/* Every source, NULL-terminated (src/sources.c). */
extern const struct source_ops *const cprof_sources[];

#endif
