/*
 * cmd-stat.c - `cprof stat`: count events over a command (or processes,
 * threads, CPUs), repeat it, and say whether it got slower than a
 * baseline and whether that is more than noise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/bench.h"
#include "cprof/cmd.h"
#include "cprof/counter.h"
#include "cprof/outfile.h"
#include "cprof/record.h"

static const char usage_line[] =
	"usage: cprof stat [-e LIST] [-r N] [--warmup K] [-a] [-C CPUS] [-p PIDS]\n"
	"                  [-t TIDS] [-I MSECS] [--format text|json|csv] [-o FILE]\n"
	"                  [--export-json FILE] [--save-baseline NAME]\n"
	"                  [--baseline NAME] [--fail-on-regression PCT]\n"
	"                  [--gate METRICS] [--alpha A] [--noise PCT] -- CMD ARGS...";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("Count events while CMD runs (or in processes, threads or CPUs), repeat it,\n"
	       "and compare with a baseline.\n\n"
	       "  -e, --event LIST       events to count, comma-separated, repeatable:\n"
	       "                         names (task-clock, cycles, L1-dcache-load-misses),\n"
	       "                         raw rNNNN, PMU/term=val,.../, tracepoints SYS:NAME,\n"
	       "                         modifiers :u :k, groups {a,b}; 'cprof list' shows\n"
	       "                         them (default: software events, and hardware\n"
	       "                         counters where the machine has a PMU)\n"
	       "  -r, --repeat N         run CMD N times (default 1): mean, stddev, median,\n"
	       "                         min/max, 95 %% confidence interval, outliers\n"
	       "      --warmup K         run CMD K more times first, not counted\n"
	       "  -a, --all-cpus         count everything on every CPU while CMD runs\n"
	       "                         (or until Ctrl-C without CMD)\n"
	       "  -C, --cpu CPUS         with -a: only these CPUs (0,2-3)\n"
	       "  -p, --pid PIDS         count these processes (comma list) until Ctrl-C,\n"
	       "                         their exit, or the end of CMD (-p PID -- sleep 5)\n"
	       "  -t, --tid TIDS         count these threads only\n"
	       "  -I, --interval-print MSECS  print what was counted in each MSECS\n"
	       "                         (at least 10), as perf stat -I; one run, text\n"
	       "  -f, --format FMT       text (default), json or csv\n"
	       "  -o, --output FILE      write the results to FILE ('-' for stdout; default\n"
	       "                         stderr, so CMD's output stays apart)\n"
	       "      --export-json FILE also write the results as JSON (every run's values)\n"
	       "      --save-baseline NAME  save the results as baseline NAME (under\n"
	       "                         $XDG_DATA_HOME/cprof/baselines; a path if NAME has\n"
	       "                         a '/')\n"
	       "      --baseline NAME    compare with baseline NAME: Welch's t-test, or\n"
	       "                         Mann-Whitney where a sample is not normal\n"
	       "      --fail-on-regression PCT  exit 1 if a --gate metric is significantly\n"
	       "                         worse than the baseline by more than PCT percent\n"
	       "      --gate METRICS     metrics for the gate (default wall,task-clock and\n"
	       "                         cycles,instructions where counted)\n"
	       "      --alpha A          significance level (default 0.05)\n"
	       "      --noise PCT        changes under PCT percent are no change (default 1)\n"
	       "  -h, --help             show this help\n\n"
	       "The exit status is CMD's if a run fails (the runs stop there), 1 for a\n"
	       "regression with --fail-on-regression, else 0.\n");
}

enum { OPT_INTERVAL_MIN_MS = 10 };
enum { OPT_WARMUP = 256, OPT_EXPORT, OPT_SAVE, OPT_BASELINE, OPT_FAIL, OPT_GATE, OPT_ALPHA, OPT_NOISE, OPT_LIST };

static const struct option long_opts[] = {
	{ "event", required_argument, NULL, 'e' },
	{ "repeat", required_argument, NULL, 'r' },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "cpu", required_argument, NULL, 'C' },
	{ "pid", required_argument, NULL, 'p' },
	{ "tid", required_argument, NULL, 't' },
	{ "interval-print", required_argument, NULL, 'I' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "export-json", required_argument, NULL, OPT_EXPORT },
	{ "save-baseline", required_argument, NULL, OPT_SAVE },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "fail-on-regression", required_argument, NULL, OPT_FAIL },
	{ "gate", required_argument, NULL, OPT_GATE },
	{ "alpha", required_argument, NULL, OPT_ALPHA },
	{ "noise", required_argument, NULL, OPT_NOISE },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "+e:r:aC:p:t:I:f:o:h";

static volatile sig_atomic_t stop_flag;

static void stat_note(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "cprof stat: note: %s\n", line);
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The default set: what perf stat shows, in groups so the ratios are of
 * one interval; the hardware part only where a PMU exists. */
static int default_events(struct ev_list *l, struct cprof_err *err)
{
	int r = ev_list_parse(l, "task-clock,context-switches,cpu-migrations,minor-faults,major-faults", NULL, err);
	if (r < 0 || !pmu_available())
		return r;
	return ev_list_parse(l,
			     "{cycles,instructions},{branches,branch-misses},{cache-references,cache-misses},"
			     "{L1-dcache-loads,L1-dcache-load-misses},{stalled-cycles-frontend},{stalled-cycles-backend}",
			     NULL, err);
}

static char *join_argv(char **argv)
{
	struct sbuf s = SBUF_INIT;
	for (size_t i = 0; argv && argv[i]; i++)
		sbuf_addf(&s, "%s%s", i ? " " : "", argv[i]);
	return sbuf_detach(&s);
}

/* -I: one interval's counts into si's metrics, printed as it ends. */
static void print_interval(void *ctx, uint64_t end_ns, uint64_t len_ns, const struct ev_count *delta)
{
	struct stat_interval *si = ctx;
	for (size_t i = 0; i < si->nev; i++) {
		struct bench_metric *m = &si->r.metrics.v[i];
		m->values.n = 0;
		m->status = (int)delta[i].status;
		m->running_pct = 100;
		if (delta[i].status == EVS_COUNTED || delta[i].status == EVS_SCALED) {
			vec_push(&m->values, delta[i].value);
			m->running_pct = ev_count_running_pct(&delta[i]);
		}
	}
	struct bench_metric *wall = bench_metric_find(&si->r, "wall");
	wall->values.n = 0;
	vec_push(&wall->values, (double)len_ns);
	stat_interval_text(si->fp, &si->r, (double)end_ns / 1e9, si->printed++ == 0);
	fflush(si->fp);
}

/* Add one counted run to the result. */
static void add_run(struct bench_result *br, const struct ev_list *evl, const struct counter_run_result *cr)
{
	for (size_t i = 0; i < evl->v.n; i++) {
		struct bench_metric *m = &br->metrics.v[i];
		const struct ev_count *c = &cr->counts[i];
		if ((int)c->status > m->status)
			m->status = (int)c->status;
		if (c->status == EVS_COUNTED || c->status == EVS_SCALED) {
			/* running_pct is the mean over the runs */
			double n = (double)m->values.n;
			m->running_pct = (m->running_pct * n + ev_count_running_pct(c)) / (n + 1);
			vec_push(&m->values, c->value);
		}
	}
	vec_push(&bench_metric_find(br, "wall")->values, (double)cr->wall_ns);
	if (cr->has_rusage) {
		vec_push(&bench_metric_find(br, "user")->values, (double)cr->user_ns);
		vec_push(&bench_metric_find(br, "sys")->values, (double)cr->sys_ns);
	}
}

int cmd_stat(int argc, char **argv)
{
	struct ev_list evl = { 0 };
	struct ev_ints cpus = { 0 }, pids = { 0 };
	VEC(char *) gate = { 0 };
	uint64_t runs = 1, warmup = 0, interval_ms = 0;
	bool fmt_set = false;
	bool all_cpus = false, tids = false;
	enum stat_format fmt = STAT_TEXT;
	const char *output = NULL, *export_json = NULL, *save = NULL, *baseline = NULL, *gate_arg = NULL;
	double fail_pct = -1;
	struct stat_compare_opts cmp = STAT_COMPARE_OPTS_INIT;
	struct cprof_err err;
	int c, k, rc = 0;

#define USAGE(...) do { rc = cmd_usage_error("stat", usage_line, __VA_ARGS__); goto out; } while (0)
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if ((k = ev_list_parse(&evl, optarg, NULL, &err)) < 0) {
				fprintf(stderr, "cprof stat: %s\n", err.msg);
				if (k == -ENOENT)
					ev_print_known(stderr);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'r':
			if (parse_u64(optarg, &runs) < 0 || runs == 0 || runs > 100000)
				USAGE("-r needs a number of runs from 1 to 100000, not '%s'", optarg);
			break;
		case OPT_WARMUP:
			if (parse_u64(optarg, &warmup) < 0 || warmup > 100000)
				USAGE("--warmup needs a number of runs, not '%s'", optarg);
			break;
		case 'a': all_cpus = true; break;
		case 'C':
			if (ev_ints_parse(optarg, true, &cpus) < 0)
				USAGE("-C needs a CPU list like 0,2-3, not '%s'", optarg);
			break;
		case 'p':
		case 't':
			if (pids.n && tids != (c == 't'))
				USAGE("give -p or -t, not both");
			tids = c == 't';
			if (ev_ints_parse(optarg, false, &pids) < 0)
				USAGE("-%c needs a comma list of %s ids, not '%s'", c, c == 't' ? "thread" : "process", optarg);
			for (size_t i = 0; i < pids.n; i++)
				if (pids.v[i] <= 0)
					USAGE("-%c needs positive ids, not '%s'", c, optarg);
			break;
		case 'I':
			if (parse_u64(optarg, &interval_ms) < 0 || interval_ms < OPT_INTERVAL_MIN_MS ||
			    interval_ms > 24 * 3600 * 1000)
				USAGE("-I needs an interval of %d milliseconds or more, not '%s'", OPT_INTERVAL_MIN_MS,
				      optarg);
			break;
		case 'f':
			fmt_set = true;
			if ((k = enum_from_string(stat_format_names, optarg)) < 0)
				USAGE("unknown format '%s'; expected one of: text, json, csv", optarg);
			fmt = (enum stat_format)k;
			break;
		case 'o': output = optarg; break;
		case OPT_EXPORT: export_json = optarg; break;
		case OPT_SAVE: save = optarg; break;
		case OPT_BASELINE: baseline = optarg; break;
		case OPT_FAIL:
			if (parse_double(optarg, &fail_pct) < 0 || fail_pct < 0)
				USAGE("--fail-on-regression needs a percentage, not '%s'", optarg);
			break;
		case OPT_GATE: gate_arg = optarg; break;
		case OPT_ALPHA:
			if (parse_double(optarg, &cmp.alpha) < 0 || !(cmp.alpha > 0 && cmp.alpha < 1))
				USAGE("--alpha needs a number between 0 and 1, not '%s'", optarg);
			break;
		case OPT_NOISE:
			if (parse_double(optarg, &cmp.noise) < 0 || cmp.noise < 0 || cmp.noise >= 100)
				USAGE("--noise needs a percentage, not '%s'", optarg);
			cmp.noise /= 100;
			break;
		case 'h': help(); goto out;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); goto out;
		default: rc = cmd_bad_option("stat", usage_line, argc, argv); goto out;
		}
	}
	char **cmdv = argv + optind;
	bool have_cmd = optind < argc;
	if (cpus.n && !all_cpus)
		USAGE("-C goes with -a");
	if (all_cpus && pids.n)
		USAGE("give -a or -p/-t, not both");
	if (!have_cmd && !all_cpus && !pids.n)
		USAGE("no command to count");
	if ((runs > 1 || warmup) && !have_cmd)
		USAGE("-r and --warmup need a command to run");
	if (fail_pct >= 0 && !baseline)
		USAGE("--fail-on-regression needs --baseline");
	if (gate_arg && fail_pct < 0)
		USAGE("--gate goes with --fail-on-regression");
	/* -I prints counts as they come, one run's: nothing to summarize. */
	if (interval_ms && (runs > 1 || warmup))
		USAGE("-I prints one run as it goes; it cannot be combined with -r or --warmup");
	if (interval_ms && fmt_set && fmt != STAT_TEXT)
		USAGE("-I prints text; --format %s cannot be combined with it", stat_format_names[fmt]);
	if (interval_ms && (export_json || save || baseline))
		USAGE("-I prints counts as they come; --export-json, --save-baseline and --baseline need the "
		      "summary it does not make");
	if (cpus.n) {
		int *online = NULL;
		int n = online_cpus(&online, &err);
		if (n < 0) {
			rc = cmd_fail("stat", &err);
			goto out;
		}
		for (size_t i = 0; i < cpus.n; i++) {
			bool found = false;
			for (int j = 0; j < n; j++)
				found |= online[j] == cpus.v[i];
			if (!found) {
				free(online);
				USAGE("CPU %d is not online", cpus.v[i]);
			}
		}
		free(online);
	}
	if (!evl.v.n && default_events(&evl, &err) < 0) {
		rc = cmd_fail("stat", &err);
		goto out;
	}

	/* Everything that can fail without running anything fails first: the
	 * baseline to compare with and the files to write. */
	struct bench_result base = { 0 }, res = { 0 };
	struct stat_interval io = { 0 };
	struct outfile out_f = { 0 }, export_f = { 0 }, save_f = { 0 };
	struct sbuf base_path = SBUF_INIT, save_path = SBUF_INIT;
	bool have_base = false;
	if (baseline) {
		if (bench_baseline_path(baseline, &base_path, &err) < 0 || bench_read_json(&base, base_path.buf, &err) < 0) {
			rc = cmd_fail("stat", &err);
			goto done;
		}
		have_base = true;
	}
	if (output && outfile_open(&out_f, output, 0, &err) < 0) {
		rc = cmd_fail("stat", &err);
		goto done;
	}
	if (export_json && outfile_open(&export_f, export_json, 0, &err) < 0) {
		rc = cmd_fail("stat", &err);
		goto done;
	}
	if (save && (bench_baseline_path(save, &save_path, &err) < 0 || bench_baseline_mkdir(save_path.buf, &err) < 0 ||
		     outfile_open(&save_f, save_path.buf, OUTFILE_NO_STDIO, &err) < 0)) {
		rc = cmd_fail("stat", &err);
		goto done;
	}

	res.command = have_cmd ? join_argv(cmdv) : xstrdup(all_cpus ? "system-wide" : "attached");
	/* Attached, the counts are the target's, whatever command sets the
	 * time: the header names the target, as perf's does. */
	if (all_cpus) {
		res.target = xstrdup("'system wide'");
	} else if (pids.n) {
		struct sbuf t = SBUF_INIT;
		sbuf_addf(&t, "%s id '", tids ? "thread" : "process");
		for (size_t i = 0; i < pids.n; i++)
			sbuf_addf(&t, "%s%d", i ? "," : "", pids.v[i]);
		sbuf_addc(&t, '\'');
		res.target = sbuf_detach(&t);
	}
	res.created = (uint64_t)time(NULL);
	res.warmup = (size_t)warmup;
	for (size_t i = 0; i < evl.v.n; i++) {
		struct bench_metric *m = bench_metric_add(&res, evl.v.v[i].name, evl.v.v[i].unit, evl.v.v[i].group);
		m->status = EVS_COUNTED;
	}
	bench_metric_add(&res, "wall", "ns", -1);
	if (have_cmd && !all_cpus && !pids.n) {
		bench_metric_add(&res, "user", "ns", -1);
		bench_metric_add(&res, "sys", "ns", -1);
	}

	struct sigaction sa = { 0 }, old_int, old_term;
	sa.sa_handler = on_stop; /* no SA_RESTART: waiting must notice it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct counter_run_opts ro = {
		.argv = have_cmd ? cmdv : NULL,
		.evl = &evl,
		.target = { .pids = (pid_t *)pids.v, .npids = pids.n, .threads_only = tids, .system_wide = all_cpus,
			    .cpus = cpus.n ? cpus.v : NULL, .ncpus = cpus.n },
		.stop = &stop_flag,
	};
	if (interval_ms) {
		stat_interval_init(&io, output ? out_f.fp : stderr, &evl);
		ro.interval_ns = interval_ms * 1000000ULL;
		ro.interval = print_interval;
		ro.interval_ctx = &io;
	}
	_Static_assert(sizeof(pid_t) == sizeof(int), "pid lists are parsed as int");
	int failed_status = 0;
	for (uint64_t run = 0; run < warmup + runs && !stop_flag; run++) {
		struct counter_run_result cr;
		ro.notes = run == 0 ? &(struct note_sink){ stat_note, NULL } : NULL; /* once, not per run */
		if (counter_run(&ro, &cr, &err) < 0) {
			rc = cmd_fail("stat", &err);
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			goto done;
		}
		if (run == 0) {
			struct sbuf ns = SBUF_INIT;
			size_t n = 0;
			for (size_t i = 0; i < evl.v.n; i++) {
				bool dup = false;
				for (size_t j = 0; j < i; j++)
					dup |= strcmp(evl.v.v[j].name, evl.v.v[i].name) == 0;
				if (cr.counts[i].status == EVS_NOT_SUPPORTED && !dup)
					sbuf_addf(&ns, "%s%s", n++ ? ", " : "", evl.v.v[i].name);
			}
			if (n)
				fprintf(stderr, "cprof stat: %s: not supported here%s\n", ns.buf,
					pmu_available() ? "" : " (no hardware PMU: a virtual machine?)");
			sbuf_release(&ns);
		}
		/* A run cut short by Ctrl-C is kept only if it is the only one. */
		bool keep = run >= warmup && (!cr.interrupted || res.runs == 0);
		if (keep) {
			add_run(&res, &evl, &cr);
			res.runs++;
		}
		res.exit_status = cr.exit_status;
		counter_run_result_release(&cr);
		if (res.exit_status && have_cmd && !cr.interrupted) {
			failed_status = res.exit_status;
			fprintf(stderr, "cprof stat: run %llu of '%s' exited with status %d; stopping\n",
				(unsigned long long)run + 1, cmdv[0], res.exit_status);
			break;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (res.runs == 0) {
		fprintf(stderr, "cprof stat: stopped before a run was counted\n");
		rc = res.exit_status ? res.exit_status : 1;
		goto done;
	}

	const char *default_gate[] = { "wall", "task-clock", "cycles", "instructions", NULL };
	char *gate_copy = NULL;
	if (gate_arg) {
		gate_copy = xstrdup(gate_arg);
		char *save_ptr = NULL;
		for (char *t = strtok_r(gate_copy, ",", &save_ptr); t; t = strtok_r(NULL, ",", &save_ptr)) {
			if (!bench_metric_find(&res, t)) {
				fprintf(stderr, "cprof stat: --gate: no metric '%s' was measured\n", t);
				free(gate_copy);
				rc = EXIT_USAGE;
				goto done;
			}
			vec_push(&gate, t);
		}
		vec_push(&gate, NULL);
	}
	struct stat_view view = {
		.res = &res, .base = have_base ? &base : NULL, .base_name = baseline, .cmp = cmp, .fail_pct = fail_pct,
		.gate = gate_arg ? (const char *const *)gate.v : default_gate,
	};
	FILE *fp = output ? out_f.fp : stderr;
	switch (fmt) {
	case STAT_TEXT:
		if (!interval_ms) /* -I printed the counts already */
			stat_text(fp, &view);
		break;
	case STAT_JSON: stat_json(fp, &view); break;
	case STAT_CSV: stat_csv(fp, &view); break;
	case _STAT_FORMAT_MAX: break;
	}
	if (output && outfile_commit(&out_f, &err) < 0)
		rc = cmd_fail("stat", &err);
	if (export_json) {
		stat_json(export_f.fp, &view);
		if (outfile_commit(&export_f, &err) < 0)
			rc = cmd_fail("stat", &err);
	}
	if (save && !failed_status) {
		struct stat_view sv = { .res = &res, .cmp = cmp, .fail_pct = -1 };
		stat_json(save_f.fp, &sv);
		if (outfile_commit(&save_f, &err) < 0)
			rc = cmd_fail("stat", &err);
		else
			fprintf(stderr, "cprof stat: saved baseline '%s' (%s)\n", save, save_path.buf);
	}
	if (!rc && failed_status)
		rc = failed_status;
	if (!rc && fail_pct >= 0) {
		struct sbuf names = SBUF_INIT;
		if (stat_view_regressions(&view, &names))
			rc = 1;
		sbuf_release(&names);
	}
	free(gate_copy);
done:
	stat_interval_release(&io);
	outfile_abort(&out_f);
	outfile_abort(&export_f);
	outfile_abort(&save_f);
	sbuf_release(&base_path);
	sbuf_release(&save_path);
	bench_result_release(&base);
	bench_result_release(&res);
out:
	ev_list_release(&evl);
	vec_release(&cpus);
	vec_release(&pids);
	vec_release(&gate);
	return rc;
#undef USAGE
}
