/*
 * source.h - the seam every optional data source of `cprof record` plugs
 * into: memory (src/mem/), GPU (src/gpu/), syscalls (src/syscalls/), and
 * any next one. CPU sampling is the spine (record/session.c); a source is
 * one row, a struct source_ops, in the table cprof_sources[]
 * (src/sources.c), the way a command is one row of commands[] (cmd.h).
 *
 * What a source hands the spine, in the order record meets it:
 *
 *   option    record --NAME[=ARG] turns it on; configure() checks ARG while
 *             the options are parsed, so a bad value costs nothing
 *   prepare   before the workload is forked: what it must inherit
 *             (environment, a channel); started() runs once it is forked
 *   attach    the workload forked, not yet exec'd, or the threads of -p/-t,
 *             or every task (-a) (struct source_target): open the source's
 *             own perf events on them (enabled at the exec, or at once when
 *             attached; inherited) and give the loop a descriptor to poll,
 *             or -1
 *   drain     while recording: at every wake-up of the loop (its
 *             descriptor readable, or 100 ms passed, or drain_ms if the
 *             source asks for less); once more with last set after the
 *             workload ended, to close its events and take in the rest
 *   collect   after the workload ended: take in what it gathered
 *   stacks    hand its raw stacks to the one resolver (resolve.h)
 *   finish    after the resolver ran: store its records and metadata in
 *             the data file, tell the user what was and was not recorded
 *   release   always, once: free what it holds, remove temporary files
 *
 * Every hook but configure and release may be NULL. Its sections on disk
 * are data/'s (the only code that knows bytes on disk).
 *
 * Its views (struct source_view, below) are what `cprof report --NAME` and
 * `cprof flamegraph --NAME` draw from a recording: the commands take the
 * options, usage and help lines the row gives, check what it refuses, open
 * its output files before the input is read, and hand it the loaded data.
 * Its tracks go on the Chrome trace beside the CPU samples.
 */
#ifndef CPROF_SOURCE_H
#define CPROF_SOURCE_H

#include "cprof/base.h"

struct cprof_data;
struct flamegraph;
struct fg_opts;
struct outfile;
struct raw_store;
struct timeline_track;
struct resolver;
struct latdist_set;

/* What finish() is given. */
struct source_finish {
	struct cprof_data *d;        /* holds the resolved samples and metadata */
	struct resolver *res;        /* the one resolver, after resolver_run */
	const struct raw_store *raw; /* the recording's processes and mappings */
	bool quiet;                  /* -q: warnings only */
	const struct note_sink *notes; /* lines for the user (base.h), may be NULL */
};

/* What attach() is given: the targets and record's choices. */
struct source_target {
	int pid;                 /* the workload, waiting to exec; 0 when attached */
	char *const *argv;       /* what it will exec (argv[0] searched in PATH);
				  * attached: -p PID -- CMD's CMD, not the target */
	/* The threads to open events on, each on every CPU: the workload's
	 * pid alone; the threads of -p or -t; or a single -1 for every task
	 * (-a), whose records of cprof's own process (self) are left out. */
	const int *tids;
	size_t ntids;
	bool now;                /* enable at once (attached, -a), not at the exec */
	bool deferred;           /* left off until enable(): -D, once the delay has passed;
				  * attached, together with the samples */
	int proc;                /* -p/-t: the (first) attached process, else 0 */
	int self;                /* cprof's own pid */
	/* Attached or -a: the mappings there already (the kernel reports only
	 * those made later), in a raw store's mmaps; NULL when launched. */
	const struct raw_store *known;
	const int *cpus;         /* the CPUs recorded (-C, else every online one) */
	int ncpus;
	bool callchain;          /* record -g: user stacks by frame pointers */
	bool dwarf;              /* --call-graph dwarf: the samples' stacks are unwound copies */
	uint32_t stack_size;     /* --call-graph dwarf,SIZE: bytes of user stack copied */
	unsigned max_stack;      /* --max-stack, or 0 */
	unsigned mmap_pages;     /* -m: ring pages per CPU */
};

struct source_view;

struct source_ops {
	const char *name;       /* record --NAME, report --NAME, flamegraph --NAME */
	const char *usage;      /* its part of record's usage line */
	const char *help;       /* its lines of record --help, each ending in \n */
	bool takes_arg;         /* --NAME=ARG (optional) */
	bool arg_required;      /* --NAME ARG or --NAME=ARG (with takes_arg) */
	/* Why it needs a command to launch (not -p, -t or -a), or NULL: the
	 * others' attach() also takes attached threads and every task. */
	const char *launch_only;
	/* The source's state: configure() allocates it from ARG (NULL: none
	 * given); a bad ARG is a one-line error (err) for record's usage. */
	void *(*configure)(const char *arg, struct cprof_err *err);
	/* record's options that only tune this source (--OPT ARG, each taking
	 * an argument), NULL-terminated, or NULL; given without --NAME they
	 * are a usage error. more() takes one (idx into more_opts) after every
	 * option was parsed; a bad ARG is a one-line error (err). */
	const char *const *more_opts;
	int (*more)(void *state, size_t idx, const char *arg, struct cprof_err *err);
	int (*prepare)(void *state, struct cprof_err *err);
	void (*started)(void *state);
	/* 0, with *poll_fd the descriptor to poll or -1; or -errno and err. */
	int (*attach)(void *state, const struct source_target *t, int *poll_fd, struct cprof_err *err);
	/* Switch on what attach() opened with t->deferred (-D, once the delay
	 * has passed; attached, right after the samples); NULL for a source
	 * whose launch_only says why it cannot. */
	int (*enable)(void *state, struct cprof_err *err);
	/* The recording ends: switch the events off, every source at the same
	 * moment as the samples, before any is drained for the last time
	 * (a last drain can take a while, and a source still on would go on
	 * counting). NULL when drain(last) alone is enough. */
	void (*stop)(void *state);
	void (*drain)(void *state, bool last);
	/* Drain at least this often (ms) while recording; 0: the loop's
	 * 100 ms. For what must be read while the workload still holds it. */
	unsigned drain_ms;
	int (*collect)(void *state, struct cprof_err *err);
	void (*stacks)(void *state, struct resolver *res);
	int (*finish)(void *state, const struct source_finish *f, struct cprof_err *err);
	void (*release)(void *state); /* frees state too; NULL is nothing to do */
	const struct source_view *view; /* report/flamegraph --NAME, or NULL */
};

/*
 * Views. The commands the view options and views belong to:
 */
enum { VIEW_REPORT = 1u << 0, VIEW_FLAME = 1u << 1 };

/* An option a source's views add to report or flamegraph (--NAME ARG). */
struct view_opt {
	const char *name;
	bool has_arg;
	unsigned in;        /* VIEW_REPORT | VIEW_FLAME: the commands taking it */
	bool outfile;       /* ARG is a file the view writes: opened (outfile.h)
			     * before the input is read, so a bad path costs nothing */
};
#define VIEW_OPTS_MAX 4

/* The flame graph options a view cannot draw with (flamegraph refuses them). */
enum {
	VIEW_NO_DIFF = 1u << 0, VIEW_NO_CHART = 1u << 1, VIEW_NO_PER_THREAD = 1u << 2,
	VIEW_NO_REVERSE = 1u << 3,
};

/* One call of a view, after the input was loaded. */
struct view_call {
	const struct cprof_data *d;
	const char *input;      /* the input as shown in messages ("<stdin>" for -) */
	int format;             /* report: enum report_format (report.h) */
	size_t top;             /* report: --top N, or 0 */
	bool top_set;
	bool reverse;           /* flamegraph --reverse */
	/* By index in the view's opts[]: the value given (a flag: ""), or NULL. */
	const char *arg[VIEW_OPTS_MAX];
	/* By index: the opened output file of an outfile option, or NULL. The
	 * view commits it; the command aborts what is left uncommitted. */
	struct outfile *out[VIEW_OPTS_MAX];
};

struct source_view {
	const char *report_usage; /* its lines of report's usage (after a "\n") */
	const char *report_help;  /* its lines of report --help, each ending in \n */
	const char *flame_usage;
	const char *flame_help;
	const struct view_opt *opts;  /* ends at a NULL name; NULL: none */
	unsigned formats;   /* report formats it writes: 1u << FORMAT_* */
	unsigned flame_refuses; /* VIEW_NO_* */
	/* The values of its options, before anything is read: a usage error in
	 * err (may be NULL). */
	int (*check)(const struct view_call *c, struct cprof_err *err);
	/* report --NAME: write to stdout. Nothing to show, or an output that
	 * failed: -errno and err, which the command prints. */
	int (*report)(const struct view_call *c, struct cprof_err *err);
	/* flamegraph --NAME: add the weights into g, set o's defaults where the
	 * user gave none (palette_set: -c was given); -errno and err as above. */
	int (*flamegraph)(struct flamegraph *g, struct fg_opts *o, bool palette_set, const struct view_call *c,
			  struct cprof_err *err);
	/* Its tracks on the Chrome trace of report --timeline and export
	 * --format chrome (timeline.h), or NULL: every source's that has one,
	 * whatever view was asked for. */
	const struct timeline_track *timeline;
	/* cprof diff --latency: the latency distributions d holds, added to out
	 * under the source's name (latdiff.h); NULL: it times nothing. */
	void (*dists)(const struct cprof_data *d, struct latdist_set *out);
};

/* A source turned on for one recording: its row and its state. */
struct source_use {
	const struct source_ops *ops;
	void *state;
};

/* Every source, NULL-terminated (src/sources.c). */
extern const struct source_ops *const cprof_sources[];

#endif
