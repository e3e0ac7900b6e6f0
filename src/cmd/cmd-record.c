/*
 * cmd-record.c - `cprof record`: run a command (or attach to a process) and
 * write its profile to a self-contained data file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cprof/cmd.h"
#include "cprof/record.h"

static const char usage_line[] =
	"usage: cprof record [-o FILE] [-F HZ | -c PERIOD] [-e EVENT] [-g]\n"
	"                    [--call-graph fp|dwarf[,SIZE]] [--max-stack N]\n"
	"                    [-p PID] [--duration SEC]\n"
	"                    [-m PAGES] [--mem[=sample[:BYTES]]] [--gpu] [-q]\n"
	"                    -- CMD ARGS...\n"
	"       cprof record -p PID --duration SEC --repeat [-o FILE] [OPTIONS]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Run CMD (or attach to PID) and sample where it spends its time.\n\n"
	       "  -o, --output FILE      data file (default cprof.data), mode 0600; an old\n"
	       "                         one is kept as FILE.old. Checked before CMD starts\n"
	       "  -F, --freq HZ          samples per second per thread (default 999)\n"
	       "  -c, --count PERIOD     sample every PERIOD events instead (ns for the clocks)\n"
	       "  -e, --event EVENT      cycles, instructions, cache-misses, branch-misses,\n"
	       "                         cpu-clock, task-clock, page-faults, context-switches\n"
	       "                         (default: cycles with a hardware PMU, else cpu-clock);\n"
	       "                         one event per recording\n"
	       "  -g                     record call graphs by frame pointers (--call-graph fp)\n"
	       "      --call-graph MODE  fp (frame pointers), or dwarf[,SIZE]: unwind a copy\n"
	       "                         of SIZE bytes of each sampled user stack (default\n"
	       "                         32768, at most 65528); needs no frame pointers\n"
	       "      --max-stack N      keep at most N frames of a stack (dwarf: default\n"
	       "                         8192, more than a copy can hold; fp: the kernel's\n"
	       "                         walk, at most kernel.perf_event_max_stack)\n"
	       "  -p, --pid PID          attach to a running process and all its threads\n"
	       "      --duration SEC     stop after SEC seconds (a launched CMD gets SIGTERM)\n"
	       "      --repeat           with -p and --duration: record again and again, one\n"
	       "                         file per interval (FILE.YYYYmmdd-HHMMSS), until the\n"
	       "                         process exits or Ctrl-C\n"
	       "  -m, --mmap-pages N     ring buffer pages per CPU, a power of two (default 128;\n"
	       "                         512 with --call-graph dwarf)\n"
	       "      --mem              also trace every allocation (malloc family, anonymous\n"
	       "                         mmap) with its stack: leaks, peak heap, hot spots\n"
	       "                         (see 'cprof report --mem'); not with -p\n"
	       "      --mem=sample[:BYTES]  sample allocations instead, one per BYTES allocated\n"
	       "                         on average (default 512K; suffixes K, M, G): hot\n"
	       "                         spots and live heap as estimates with their error,\n"
	       "                         at a few percent of the cost; leaks are not exact\n"
	       "      --gpu              also record CUDA kernels, copies and API calls\n"
	       "                         (CUPTI), each with the CPU stack that launched it\n"
	       "  -q, --quiet            print no summary\n"
	       "  -h, --help             show this help\n\n"
	       "The exit status is CMD's (128+N if a signal N ended it). Ctrl-C stops CMD and\n"
	       "keeps everything recorded so far.\n");
}

enum { OPT_CALL_GRAPH = 256, OPT_DURATION, OPT_MEM, OPT_LIST, OPT_GPU, OPT_REPEAT, OPT_MAX_STACK };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "freq", required_argument, NULL, 'F' },
	{ "count", required_argument, NULL, 'c' },
	{ "event", required_argument, NULL, 'e' },
	{ "call-graph", required_argument, NULL, OPT_CALL_GRAPH },
	{ "max-stack", required_argument, NULL, OPT_MAX_STACK },
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "repeat", no_argument, NULL, OPT_REPEAT },
	{ "mmap-pages", required_argument, NULL, 'm' },
	{ "mem", optional_argument, NULL, OPT_MEM },
	{ "gpu", no_argument, NULL, OPT_GPU },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "+o:F:c:e:gp:m:qh";

static void note(const char *msg)
{
	fprintf(stderr, "cprof record: %s\n", msg);
}

/* --repeat: each note once, not once per interval. */
static void note_once(const char *msg)
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
	note(msg);
}

/* --mem's value: exact (the default) or sample[:BYTES]. */
static int parse_mem(const char *arg, struct record_opts *o)
{
	o->mem = true;
	if (!arg || strcmp(arg, "exact") == 0)
		return 0;
	if (strncmp(arg, "sample", 6) != 0 || (arg[6] && arg[6] != ':'))
		return -EINVAL;
	o->mem_sample = true;
	o->mem_sample_bytes = 512 * 1024;
	if (!arg[6])
		return 0;
	char num[32];
	size_t n = strlen(arg + 7);
	if (n == 0 || n >= sizeof num)
		return -EINVAL;
	memcpy(num, arg + 7, n + 1);
	uint64_t mult = 1, v;
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	}
	if (mult > 1)
		num[n - 1] = 0;
	if (parse_u64(num, &v) < 0 || v == 0 || v > (1ull << 40) / mult)
		return -EINVAL;
	o->mem_sample_bytes = v * mult;
	return 0;
}

static unsigned max_sample_rate(void)
{
	unsigned v = 100000;
	FILE *fp = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "r");
	if (fp) {
		if (fscanf(fp, "%u", &v) != 1)
			v = 100000;
		fclose(fp);
	}
	return v;
}

static void summary(const struct record_opts *o, const struct record_result *res)
{
	double kb = (double)res->bytes / 1024.0;
	fprintf(stderr, "cprof record: %llu samples, %llu lost; wrote '%s' (%.1f KiB)\n",
		(unsigned long long)res->samples, (unsigned long long)res->lost, o->output, kb);
	if (res->lost)
		fprintf(stderr, "cprof record: warning: %llu samples were lost because a ring buffer was full "
				"('cprof report' says where); %s\n", (unsigned long long)res->lost,
			res->queue_full ? "unwinding fell behind: try a lower -F or a smaller --call-graph dwarf,SIZE"
			: !res->drain_fifo ? "cprof could not drain at real-time priority: run as root or grant "
					     "CAP_SYS_NICE, or try a larger -m or a lower -F"
					   : "try a larger -m or a lower -F");
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
		if (record_run(o, note_once, &res, &err) < 0) {
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
	bool freq_set = false, repeat = false;
	uint64_t v;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case 'F':
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
			/* One event per recording for now: refuse a list or a
			 * second -e rather than keep the last silently. */
			if (o.event || strpbrk(optarg, ",{"))
				return cmd_usage_error("record", usage_line, "one event per recording: give a single -e "
						       "(cprof stat -e counts several at once)");
			if (!event_find(optarg)) {
				struct sbuf names = SBUF_INIT;
				for (size_t i = 0; i < event_table_size; i++)
					sbuf_addf(&names, "%s%s", i ? ", " : "", event_table[i].name);
				int rc = cmd_usage_error("record", usage_line, "unknown event '%s'; known: %s", optarg,
							 names.buf);
				sbuf_release(&names);
				return rc;
			}
			o.event = optarg;
			break;
		}
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
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > INT32_MAX)
				return cmd_usage_error("record", usage_line, "-p needs a process id, not '%s'", optarg);
			o.attach_pid = (pid_t)v;
			break;
		case OPT_DURATION:
			if (parse_double(optarg, &o.duration) < 0 || o.duration <= 0)
				return cmd_usage_error("record", usage_line, "--duration needs a positive number of seconds, not '%s'", optarg);
			break;
		case 'm':
			if (parse_u64(optarg, &v) < 0 || v == 0 || (v & (v - 1)) || v > (1u << 20))
				return cmd_usage_error("record", usage_line, "-m needs a power of two, not '%s'", optarg);
			o.mmap_pages = (unsigned)v;
			break;
		case OPT_GPU: o.gpu = true; break;
		case OPT_REPEAT: repeat = true; break;
		case 'q': o.quiet = true; break;
		case OPT_MEM:
			if (parse_mem(optarg, &o) < 0)
				return cmd_usage_error("record", usage_line, "--mem takes exact or sample[:BYTES] "
						       "(BYTES from 1 to 1T, suffix K, M or G), not '%s'", optarg);
			break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			return cmd_usage_error("record", usage_line, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (o.mmap_pages == 0)
		/* DWARF samples carry a stack copy each: give them room. */
		o.mmap_pages = o.call_graph == CALL_GRAPH_DWARF ? 512 : 128;
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
	if (o.attach_pid && optind < argc)
		return cmd_usage_error("record", usage_line, "give either -p PID or a command, not both");
	if (o.attach_pid && o.mem)
		return cmd_usage_error("record", usage_line,
				       "--mem cannot attach with -p: the allocator is traced from the program's start");
	if (o.gpu && o.attach_pid)
		return cmd_usage_error("record", usage_line, "--gpu needs a command to launch: CUDA loads the "
				       "collector when a process starts, so -p cannot attach it");
	if (!o.attach_pid && optind >= argc)
		return cmd_usage_error("record", usage_line, "no command to record");
	if (strcmp(o.output, "-") == 0)
		return cmd_usage_error("record", usage_line, "the data file cannot be stdout; use -o FILE");

	if (repeat && (!o.attach_pid || o.duration <= 0))
		return cmd_usage_error("record", usage_line, "--repeat needs -p PID and --duration SEC: it cuts "
				       "a running process's profile into intervals");
	if (repeat)
		return record_repeat(&o);

	struct record_result res;
	struct cprof_err err;
	int r = record_run(&o, note, &res, &err);
	if (r < 0)
		return cmd_fail("record", &err);
	if (!o.quiet)
		summary(&o, &res);
	return res.exit_status;
}
