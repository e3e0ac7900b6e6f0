/*
 * cmd-record.c - `cprof record`: run a command (or attach to a process) and
 * write its profile to a self-contained data file.
 *
 * One file, as every command is: its options, their checks and its help text
 * are most of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cprof/cmd.h"
#include "cprof/event.h"
#include "cprof/output.h"
#include "cprof/record.h"
#include "cprof/source.h"

/* The usage lines; the data sources' options (source.h) in the first. */
static const char *usage_line;
static struct sbuf usage_buf = SBUF_INIT;

static void usage_init(void)
{
	sbuf_adds(&usage_buf, "usage: cprof record [-o FILE] [-F HZ|max | -c PERIOD] [-e EVENTS]... [--group]\n"
			      "                    [-g] [--call-graph fp|dwarf[,SIZE]] [--max-stack N]\n"
			      "                    [--duration SEC] [-m PAGES|SIZE] [--no-inherit] [-D MSECS]\n"
			      "                   ");
	/* Wrapped to 80 columns: a line starts again under the first option. */
	size_t col = 19;
	for (size_t i = 0; cprof_sources[i]; i++) {
		size_t n = strlen(cprof_sources[i]->usage) + 1;
		if (col + n > 80) {
			sbuf_adds(&usage_buf, "\n                   ");
			col = 19;
		}
		sbuf_addf(&usage_buf, " %s", cprof_sources[i]->usage);
		col += n;
	}
	if (col + 22 > 80)
		sbuf_adds(&usage_buf, "\n                   ");
	sbuf_adds(&usage_buf, " [-q] -- CMD ARGS...\n"
			      "       cprof record -p PID[,PID...] [--duration SEC] [OPTIONS] [-- CMD ARGS...]\n"
			      "       cprof record -t TID[,TID...] [--duration SEC] [OPTIONS] [-- CMD ARGS...]\n"
			      "       cprof record -a [-C CPUS] [--duration SEC] [OPTIONS] [-- CMD ARGS...]\n"
			      "       cprof record -p PID --duration SEC --repeat [-o FILE] [OPTIONS]\n"
			      "       cprof record --list-events");
	usage_line = usage_buf.buf;
}

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Run CMD (or attach to PID) and sample where it spends its time.\n\n"
	       "  -o, --output FILE      data file (default cprof.data), mode 0600; an old\n"
	       "                         one is kept as FILE.old. Checked before CMD starts.\n"
	       "                         '-' is standard output, for a pipe into cprof\n"
	       "                         report or flamegraph; CMD's stdout then goes to stderr\n"
	       "  -F, --freq HZ          samples per second per thread (default 999); 'max':\n"
	       "                         kernel.perf_event_max_sample_rate\n"
	       "  -c, --count PERIOD     sample every PERIOD events instead (ns for the clocks)\n"
	       "  -e, --event EVENTS     what to sample, comma-separated or -e repeated, as\n"
	       "                         perf names them: cpu-clock, page-faults, cycles,\n"
	       "                         instructions... (--list-events), raw rNNNN,\n"
	       "                         PMU/TERMS/, tracepoints SYS:NAME (every hit), with\n"
	       "                         modifiers :u :k; each may set its own rate:\n"
	       "                         cpu-clock/freq=999/,page-faults/period=1/ (others\n"
	       "                         use -F or -c). Default: cycles with a hardware PMU,\n"
	       "                         else cpu-clock; the summary names the events used\n"
	       "                         {A,B}:S      a group sampled by its leader A: each\n"
	       "                         sample carries what B counted since the last, so\n"
	       "                         'cprof report' shows B per function (IPC with\n"
	       "                         {cycles,instructions}:S)\n"
	       "      --group            put all the -e events in one group (as braces do)\n"
	       "      --list-events      list the event names -e takes\n"
	       "  -g                     record call graphs by frame pointers (--call-graph fp)\n"
	       "      --call-graph MODE  fp (frame pointers), or dwarf[,SIZE]: unwind a copy\n"
	       "                         of SIZE bytes of each sampled user stack (default\n"
	       "                         32768, at most 65528); needs no frame pointers\n"
	       "      --max-stack N      keep at most N frames of a stack (dwarf: default\n"
	       "                         8192, more than a copy can hold; fp: the kernel's\n"
	       "                         walk, at most kernel.perf_event_max_stack)\n"
	       "  -p, --pid PIDS         attach to running processes (PID[,PID...]) and all\n"
	       "                         their threads; with -- CMD, record until CMD ends\n"
	       "                         (perf's -p PID -- sleep 10)\n"
	       "  -t, --tid TIDS         attach to these threads only (TID[,TID...])\n"
	       "  -a, --all-cpus         every process on every CPU (system-wide; root or\n"
	       "                         kernel.perf_event_paranoid <= 0); until Ctrl-C,\n"
	       "                         --duration, or the end of CMD if one is given\n"
	       "  -C, --cpu CPUS         system-wide on these CPUs only (0,2-3); implies -a\n"
	       "      --duration SEC     stop after SEC seconds (a launched CMD gets SIGTERM)\n"
	       "      --repeat           with -p and --duration: record again and again, one\n"
	       "                         file per interval (FILE.YYYYmmdd-HHMMSS), until the\n"
	       "                         process exits or Ctrl-C\n"
	       "  -m, --mmap-pages N     ring buffer pages per CPU, a power of two, or a size\n"
	       "                         (16M, 512K: rounded up to a power of two of pages);\n"
	       "                         default 128 pages, 512 with --call-graph dwarf and\n"
	       "                         at least 8 MiB over all CPUs' rings (where the\n"
	       "                         locked memory limits allow)\n"
	       "      --no-inherit       only the threads that exist at the start, not the\n"
	       "                         threads and processes they create later\n"
	       "  -D, --delay MSECS      start sampling (and --syscalls, --offcpu, --latency)\n"
	       "                         MSECS milliseconds after CMD starts\n"
	       "  -T, --timestamp        accepted for perf: samples always carry their time\n"
	       "  -N, --no-buildid-cache\n"
	       "                         accepted for perf: cprof never copies binaries\n"
	       "  -z, --compression-level[=N]\n"
	       "                         accepted for perf: data files are always compressed\n"
	       "                         (zstd)\n");
	for (size_t i = 0; cprof_sources[i]; i++)
		fputs(cprof_sources[i]->help, stdout);
	printf("  -q, --quiet            print no summary\n"
	       "  -h, --help             show this help\n\n"
	       "The exit status is CMD's (128+N if a signal N ended it). Ctrl-C stops CMD and\n"
	       "keeps everything recorded so far. A rate above 10000 Hz is warned about: the\n"
	       "kernel's work for each sample is charged to the workload, and cprof cannot\n"
	       "tell it apart from the workload's own time.\n");
}

enum { OPT_CALL_GRAPH = 256, OPT_DURATION, OPT_LIST, OPT_REPEAT, OPT_MAX_STACK, OPT_NO_INHERIT,
       OPT_LIST_EVENTS, OPT_GROUP, OPT_SOURCE /* + the source's index in cprof_sources[] */,
       OPT_SOURCE_MORE = OPT_SOURCE + 64 /* + the index in more_opt[] */ };

/* The sources' own further options (source.h's more_opts), in one list. */
#define MORE_MAX 16
static struct {
	size_t src, idx;
	const char *arg; /* the last one given, or NULL */
} more_opt[MORE_MAX];
static size_t nmore;

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "freq", required_argument, NULL, 'F' },
	{ "count", required_argument, NULL, 'c' },
	{ "event", required_argument, NULL, 'e' },
	{ "call-graph", required_argument, NULL, OPT_CALL_GRAPH },
	{ "max-stack", required_argument, NULL, OPT_MAX_STACK },
	{ "pid", required_argument, NULL, 'p' },
	{ "tid", required_argument, NULL, 't' },
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "cpu", required_argument, NULL, 'C' },
	{ "group", no_argument, NULL, OPT_GROUP },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "repeat", no_argument, NULL, OPT_REPEAT },
	{ "mmap-pages", required_argument, NULL, 'm' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-inherit", no_argument, NULL, OPT_NO_INHERIT },
	{ "delay", required_argument, NULL, 'D' },
	{ "timestamp", no_argument, NULL, 'T' },
	{ "no-buildid-cache", no_argument, NULL, 'N' },
	{ "compression-level", optional_argument, NULL, 'z' },
	{ "list-events", no_argument, NULL, OPT_LIST_EVENTS },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "+o:F:c:e:gp:t:aC:m:qD:TNzh";

static void print_name(void *ctx, const char *name, enum ev_class cls)
{
	(void)ctx;
	(void)cls;
	printf("%s\n", name);
}

static void note(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "cprof record: %s\n", msg);
}

/* --repeat: each note once, not once per interval. */
static void note_once(void *ctx, const char *msg)
{
	static char *seen[8];
	for (size_t i = 0; i < ARRAY_SIZE(seen) && seen[i]; i++)
		if (strcmp(seen[i], msg) == 0)
			return;
	for (size_t i = 0; i < ARRAY_SIZE(seen); i++)
		if (!seen[i]) {
			seen[i] = xstrdup(msg);
			break;
		}
	note(ctx, msg);
}

/* record's long options: the fixed ones, then one per data source. */
static struct option *all_long_opts(void)
{
	size_t nfixed = ARRAY_SIZE(long_opts) - 1, nsrc = 0;
	while (cprof_sources[nsrc])
		nsrc++;
	struct option *v = xcalloc(nfixed + nsrc + MORE_MAX + 1, sizeof *v);
	memcpy(v, long_opts, nfixed * sizeof *v);
	for (size_t i = 0; i < nsrc; i++)
		v[nfixed + i] = (struct option){ cprof_sources[i]->name,
						 cprof_sources[i]->takes_arg ? (cprof_sources[i]->arg_required ? required_argument
														 : optional_argument)
									     : no_argument,
						 NULL, OPT_SOURCE + (int)i };
	size_t n = nfixed + nsrc;
	for (size_t i = 0; i < nsrc; i++)
		for (size_t k = 0; cprof_sources[i]->more_opts && cprof_sources[i]->more_opts[k] && nmore < MORE_MAX; k++) {
			more_opt[nmore].src = i;
			more_opt[nmore].idx = k;
			v[n++] = (struct option){ cprof_sources[i]->more_opts[k], required_argument, NULL,
						  OPT_SOURCE_MORE + (int)nmore };
			nmore++;
		}
	return v;
}

/* The data sources turned on, in cprof_sources[] order (source.h). */
struct sources_on {
	struct source_use v[8];
	size_t n;
};

static void sources_release(struct sources_on *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->v[i].ops->release(s->v[i].state);
	s->n = 0;
}

static unsigned max_sample_rate(void)
{
	long long v = perf_sysctl("perf_event_max_sample_rate", 100000);
	return v >= 0 && v <= UINT32_MAX ? (unsigned)v : 100000;
}

/* 5101773 -> "4.9 MiB"; below a KiB the summary says "bytes", not "B". */
static void human_size(uint64_t bytes, char *buf, size_t len)
{
	char b[FMT_BUF];
	if (bytes < 1024)
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%s", fmt_size(bytes, b));
}

static void summary(const struct record_opts *o, const struct record_result *res)
{
	char n1[32], n2[32], size[32];
	human_size(res->bytes, size, sizeof size);
	bool dash = strcmp(o->output, "-") == 0;
	fprintf(stderr, "cprof record: %s sample%s of %s%s, %s lost; wrote %s%s%s (%s)\n",
		fmt_thousands(res->samples, n1), res->samples == 1 ? "" : "s", res->event ? res->event : "?",
		res->kernel_excluded ? " (user space only: kernel.perf_event_paranoid)" : "",
		fmt_thousands(res->lost, n2), dash ? "" : "'", dash ? "standard output" : o->output, dash ? "" : "'",
		size);
	if (res->lost)
		fprintf(stderr, "cprof record: warning: %s sample%s lost because a ring buffer was full "
				"('cprof report' says where); %s\n", fmt_thousands(res->lost, n2),
			res->lost == 1 ? " was" : "s were",
			res->queue_full ? "unwinding fell behind: try a lower -F or a smaller --call-graph dwarf,SIZE"
			: !res->drain_fifo ? "cprof could not drain at real-time priority: run as root or grant "
					     "CAP_SYS_NICE, or try a larger -m or a lower -F"
					   : "try a larger -m or a lower -F");
}

/* Frequencies above this are warned about (see help()). perf's default
 * is 4000 Hz; cprof's 999. */
#define FREQ_WARN 10000

/* Each CPU's ring unless -m says (perf_default_ring_pages). */
static unsigned default_mmap_pages(const struct record_opts *o)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN), cpus = o->ncpus ? (long)o->ncpus : online;
	bool dwarf = o->call_graph == CALL_GRAPH_DWARF;
	/* (The kernel's allowance is per online CPU, whichever are recorded.) */
	return perf_default_ring_pages(dwarf, cpus, sysconf(_SC_PAGESIZE), dwarf ? perf_ring_budget(online) : 0);
}

/* -m: pages, or a size with a unit (perf's -m 16M), in pages, a power of two. */
static int parse_mmap_pages(const char *s, unsigned *ret)
{
	uint64_t v;
	size_t n = strlen(s);
	char unit = n ? s[n - 1] : 0;
	uint64_t mult = 0;
	switch (unit) {
	case 'B': case 'b': mult = 1; break;
	case 'K': case 'k': mult = 1ULL << 10; break;
	case 'M': case 'm': mult = 1ULL << 20; break;
	case 'G': case 'g': mult = 1ULL << 30; break;
	}
	if (!mult) {
		if (parse_u64(s, &v) < 0 || v == 0 || (v & (v - 1)) || v > (1u << 20))
			return -EINVAL;
		*ret = (unsigned)v;
		return 0;
	}
	char num[32];
	if (n - 1 == 0 || n - 1 >= sizeof num)
		return -EINVAL;
	memcpy(num, s, n - 1);
	num[n - 1] = 0;
	if (parse_u64(num, &v) < 0 || v == 0 || v > (1ULL << 40) / mult)
		return -EINVAL;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), pages = (v * mult + page - 1) / page, p2 = 1;
	while (p2 < pages)
		p2 <<= 1;
	if (p2 > (1u << 20))
		return -EINVAL;
	*ret = (unsigned)p2;
	return 0;
}

/*
 * --repeat: a long-running process becomes one recording per interval,
 * each a complete data file named after the time its interval began
 * (perf record --switch-output names its files the same way), so a
 * collector can ship each as soon as it is written. Each interval attaches
 * anew; while one interval is symbolized and written, the process runs
 * unsampled (the finishing pass: tens of milliseconds).
 */
static int record_repeat(struct record_opts *o)
{
	const char *base = o->output;
	struct sbuf path = SBUF_INIT;
	int rc = 0;
	for (unsigned n = 1;; n++) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
		sbuf_reset(&path);
		sbuf_addf(&path, "%s.%s", base, stamp);
		/* Two intervals in one second: number the second. */
		struct stat sb;
		for (unsigned k = 2; stat(path.buf, &sb) == 0; k++) {
			sbuf_reset(&path);
			sbuf_addf(&path, "%s.%s-%u", base, stamp, k);
		}
		o->output = path.buf;
		struct record_result res;
		struct cprof_err err;
		if (record_run(o, &(struct note_sink){ note_once, NULL }, &res, &err) < 0) {
			/* The process ended between two intervals: that is the end. */
			if (n > 1 && err.code == ESRCH)
				break;
			rc = cmd_fail("record", &err);
			break;
		}
		if (!o->quiet)
			summary(o, &res);
		if (res.interrupted || kill(o->attach_pid, 0) < 0)
			break;
	}
	o->output = base;
	sbuf_release(&path);
	return rc;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = { .output = "cprof.data", .freq = 999, .mmap_pages = 0, .stack_size = 32768 };
	/* -p's, -C's and -e's lists live until record_run() returns. */
	static struct ev_ints pids, cpus;
	static struct ev_list events;
	/* The data sources asked for, by their index in cprof_sources[]; a
	 * usage error leaves them to the exit. */
	static void *source_state[ARRAY_SIZE(((struct sources_on *)0)->v)];
	static struct sources_on srcs;
	bool freq_set = false, repeat = false, group = false;
	uint64_t v;
	int c;
	struct cprof_err err;

	/* Static, as the sources' states are: kept until exit. */
	static struct option *opts;
	if (!opts) {
		usage_init();
		opts = all_long_opts();
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
		if (c >= OPT_SOURCE_MORE && c < OPT_SOURCE_MORE + (int)nmore) {
			more_opt[c - OPT_SOURCE_MORE].arg = optarg;
			continue;
		}
		if (c >= OPT_SOURCE && c < OPT_SOURCE + (int)ARRAY_SIZE(source_state)) {
			/* --NAME[=ARG]: the last one given counts. */
			const struct source_ops *so = cprof_sources[c - OPT_SOURCE];
			so->release(source_state[c - OPT_SOURCE]);
			if (!(source_state[c - OPT_SOURCE] = so->configure(optarg, &err)))
				return cmd_usage_error("record", usage_line, "%s", err.msg);
			continue;
		}
		switch (c) {
		case 'o': o.output = optarg; break;
		case 'F':
			if (strcmp(optarg, "max") == 0) {
				o.freq = max_sample_rate();
				freq_set = true;
				break;
			}
			if (parse_u64(optarg, &v) < 0 || v == 0)
				return cmd_usage_error("record", usage_line, "-F needs a positive frequency, not '%s'", optarg);
			if (v > max_sample_rate())
				return cmd_usage_error("record", usage_line,
						       "-F %s is above kernel.perf_event_max_sample_rate (%u)", optarg,
						       max_sample_rate());
			o.freq = v;
			freq_set = true;
			break;
		case 'c':
			if (parse_u64(optarg, &v) < 0 || v == 0)
				return cmd_usage_error("record", usage_line, "-c needs a positive period, not '%s'", optarg);
			o.period = v;
			o.use_period = true;
			break;
		case 'e': {
			/* A list, or -e again: both add to the events. */
			int k = ev_list_parse(&events, optarg, NULL, &err);
			if (k < 0) {
				fprintf(stderr, "cprof record: %s\n", err.msg);
				if (k == -ENOENT)
					ev_print_known(stderr);
				ev_list_release(&events);
				return EXIT_USAGE;
			}
			break;
		}
		case OPT_GROUP: group = true; break;
		case 'g': o.call_graph = CALL_GRAPH_FP; break;
		case OPT_CALL_GRAPH:
			if (strcmp(optarg, "fp") == 0) {
				o.call_graph = CALL_GRAPH_FP;
			} else if (strcmp(optarg, "dwarf") == 0) {
				o.call_graph = CALL_GRAPH_DWARF;
			} else if (strncmp(optarg, "dwarf,", 6) == 0) {
				if (parse_u64(optarg + 6, &v) < 0 || v < 8 || v > 65528)
					return cmd_usage_error("record", usage_line,
							       "dwarf stack size must be 8 to 65528 bytes, not '%s'", optarg + 6);
				o.call_graph = CALL_GRAPH_DWARF;
				o.stack_size = (uint32_t)(v & ~7ULL); /* the kernel wants a multiple of 8 */
			} else {
				return cmd_usage_error("record", usage_line,
						       "unknown call-graph mode '%s'; expected fp or dwarf[,SIZE]", optarg);
			}
			break;
		case OPT_MAX_STACK:
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 65535)
				return cmd_usage_error("record", usage_line, "--max-stack needs a number of frames from 1 to "
						       "65535, not '%s'", optarg);
			o.max_stack = (uint32_t)v;
			break;
		case 'p':
		case 't': {
			/* perf's -p 1,2: a comma-separated list; -t the same for threads. */
			if (pids.n && o.attach_threads != (c == 't'))
				return cmd_usage_error("record", usage_line, "give -p or -t, not both");
			pids.n = 0;
			if (ev_ints_parse(optarg, false, &pids) < 0)
				return cmd_usage_error("record", usage_line, "-%c needs %s ids, not '%s'", c,
						       c == 't' ? "thread" : "process", optarg);
			for (size_t i = 0; i < pids.n; i++)
				if (pids.v[i] <= 0)
					return cmd_usage_error("record", usage_line, "-%c needs %s ids, not '%s'", c,
							       c == 't' ? "thread" : "process", optarg);
			o.attach_threads = c == 't';
			o.attach_pid = pids.v[0];
			o.attach_pids = pids.v;
			o.nattach = pids.n;
			break;
		}
		case 'a': o.system_wide = true; break;
		case 'C':
			cpus.n = 0;
			if (ev_ints_parse(optarg, true, &cpus) < 0)
				return cmd_usage_error("record", usage_line, "-C needs a CPU list like 0,2-3, not '%s'", optarg);
			o.cpus = cpus.v;
			o.ncpus = cpus.n;
			o.system_wide = true; /* as perf: -C records every process on those CPUs */
			break;
		case OPT_DURATION:
			if (parse_double(optarg, &o.duration) < 0 || o.duration <= 0)
				return cmd_usage_error("record", usage_line, "--duration needs a positive number of seconds, not '%s'", optarg);
			break;
		case 'm':
			if (parse_mmap_pages(optarg, &o.mmap_pages) < 0)
				return cmd_usage_error("record", usage_line, "-m needs a power of two of pages or a size "
						       "such as 16M, not '%s'", optarg);
			break;
		case OPT_NO_INHERIT: o.no_inherit = true; break;
		case 'D':
			if (parse_u64(optarg, &v) < 0 || v > 24ULL * 3600 * 1000)
				return cmd_usage_error("record", usage_line, "-D needs a delay in milliseconds, not '%s'",
						       optarg);
			o.delay_ms = (unsigned)v;
			break;
		case 'T': case 'N': case 'z': break; /* perf's; what cprof always does (help()) */
		case OPT_LIST_EVENTS:
			ev_known_names(NULL, false, print_name, NULL);
			return 0;
		case OPT_REPEAT: repeat = true; break;
		case 'q': o.quiet = true; break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(opts, short_opts); return 0;
		default:
			return cmd_bad_option("record", usage_line, argc, argv);
		}
	}
	if (group && events.v.n < 2)
		return cmd_usage_error("record", usage_line, "--group needs two or more events (-e)");
	if (group)
		ev_list_one_group(&events);
	o.events = &events;
	if (o.system_wide && o.attach_pid)
		return cmd_usage_error("record", usage_line, "give -a (or -C) or -p/-t, not both");
	for (size_t k = 0; k < nmore; k++) {
		const struct source_ops *so = cprof_sources[more_opt[k].src];
		if (!more_opt[k].arg)
			continue;
		if (!source_state[more_opt[k].src])
			return cmd_usage_error("record", usage_line, "--%s needs --%s", so->more_opts[more_opt[k].idx],
					       so->name);
		if (so->more(source_state[more_opt[k].src], more_opt[k].idx, more_opt[k].arg, &err) < 0)
			return cmd_usage_error("record", usage_line, "%s", err.msg);
		more_opt[k].arg = NULL; /* --repeat parses again */
	}
	for (size_t i = 0; cprof_sources[i]; i++) {
		if (!source_state[i])
			continue;
		const struct source_ops *so = cprof_sources[i];
		if (so->launch_only && o.system_wide)
			return cmd_usage_error("record", usage_line,
					       "--%s traces a launched program, not the whole system (-a)", so->name);
		if (so->launch_only && o.attach_pid)
			return cmd_usage_error("record", usage_line, "--%s cannot attach with -p or -t: %s", so->name,
					       so->launch_only);
		if (o.delay_ms && !so->enable)
			return cmd_usage_error("record", usage_line, "-D cannot delay --%s: %s", so->name,
					       so->launch_only ? so->launch_only : "it has no delayed start");
		srcs.v[srcs.n++] = (struct source_use){ so, source_state[i] };
		source_state[i] = NULL;
	}
	o.sources = srcs.v;
	o.nsources = srcs.n;
	if (o.system_wide && repeat)
		return cmd_usage_error("record", usage_line, "--repeat goes with -p, not -a");
	if (o.mmap_pages == 0)
		o.mmap_pages = default_mmap_pages(&o);
	if (o.max_stack && o.call_graph == CALL_GRAPH_NONE)
		return cmd_usage_error("record", usage_line, "--max-stack needs call graphs (-g or --call-graph)");
	if (o.max_stack && o.call_graph == CALL_GRAPH_FP && o.max_stack > perf_max_stack_sysctl())
		return cmd_usage_error("record", usage_line,
				       "--max-stack %u is above kernel.perf_event_max_stack (%u), the deepest the kernel "
				       "walks frame pointers; raise it with 'sysctl kernel.perf_event_max_stack=%u'",
				       o.max_stack, perf_max_stack_sysctl(), o.max_stack);
	if (freq_set && o.use_period)
		return cmd_usage_error("record", usage_line, "-F and -c cannot be used together");
	o.argv = argv + optind;
	if (o.attach_pid && optind < argc && o.duration > 0)
		return cmd_usage_error("record", usage_line, "-p PID -- CMD records until CMD ends; --duration "
				       "cannot be given too");
	if (!o.attach_pid && !o.system_wide && optind >= argc)
		return cmd_usage_error("record", usage_line, "no command to record");
	if (strcmp(o.output, "-") == 0 && repeat)
		return cmd_usage_error("record", usage_line, "--repeat writes one file per interval; give -o FILE, not -");

	if (o.attach_pid && optind < argc && repeat)
		return cmd_usage_error("record", usage_line, "--repeat and -p PID -- CMD cannot be combined");
	if (o.delay_ms && o.duration > 0 && o.duration * 1000 <= o.delay_ms)
		return cmd_usage_error("record", usage_line, "-D %u ms is not shorter than --duration", o.delay_ms);
	if (o.freq > FREQ_WARN && !o.use_period && !o.quiet)
		cmd_warn("record", "-F %llu takes a sample every %.0f us of each thread's CPU time; the kernel's "
			 "work for each one is charged to the workload, which it can slow down many times "
			 "(try -F 999 to 4999)", (unsigned long long)o.freq, 1e6 / (double)o.freq);
	if (repeat && (!o.attach_pid || o.duration <= 0))
		return cmd_usage_error("record", usage_line, "--repeat needs -p PID and --duration SEC: it cuts "
				       "a running process's profile into intervals");
	if (repeat)
		return record_repeat(&o);

	struct record_result res;
	int r = record_run(&o, &(struct note_sink){ note, NULL }, &res, &err);
	sources_release(&srcs);
	if (r < 0)
		return cmd_fail("record", &err);
	if (!o.quiet)
		summary(&o, &res);
	return res.exit_status;
}
