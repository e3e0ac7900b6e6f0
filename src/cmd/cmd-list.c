/*
 * cmd-list.c - `cprof list`: the events cprof can name, and which of them
 * this machine can count.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cprof/cmd.h"
#include "cprof/counter.h"
#include "cprof/record.h"

static const char usage_line[] = "usage: cprof list [--all] [--tracepoints] [PATTERN]";

static void help(void)
{
	printf("%s\n\n", usage_line);
	printf("List the events 'cprof stat -e' takes, by class, and say which ones this\n"
	       "machine supports (each is opened once to find out). PATTERN is a shell\n"
	       "glob ('*cache*', 'sched:*') or, as in perf list, a class: hw, sw, cache,\n"
	       "pmu or tracepoint.\n\n"
	       "      --all              also list the unsupported events\n"
	       "      --tracepoints      also list the kernel's tracepoints (SYS:NAME)\n"
	       "  -h, --help             show this help\n");
}

enum { OPT_ALL = 256, OPT_TP, OPT_LIST };

static const struct option long_opts[] = {
	{ "all", no_argument, NULL, OPT_ALL },
	{ "tracepoints", no_argument, NULL, OPT_TP },
	{ "help", no_argument, NULL, 'h' },
	{ "list-opts", no_argument, NULL, OPT_LIST },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "h";

struct list_ctx {
	const char *pattern;
	int only_class;         /* perf list's class words: one class, else -1 */
	bool all, tracepoints;
	size_t shown, unsupported;
	enum ev_class last;
	bool any;
};

static void show(void *ctx, const char *name, enum ev_class cls)
{
	struct list_ctx *l = ctx;
	if (cls == EVC_TRACEPOINT && !l->tracepoints)
		return;
	if (l->only_class >= 0 && (int)cls != l->only_class)
		return;
	if (l->pattern && fnmatch(l->pattern, name, 0) != 0)
		return;
	struct ev_list evl = { 0 };
	struct cprof_err err;
	bool ok = false;
	if (ev_list_parse(&evl, name, NULL, &err) == 0 && evl.v.n == 1)
		ok = counter_probe(&evl.v.v[0]) == 0;
	ev_list_release(&evl);
	if (!ok) {
		l->unsupported++;
		if (!l->all)
			return;
	}
	if (!l->any || cls != l->last)
		printf("%s%s events:\n", l->any ? "\n" : "", ev_class_names[cls]);
	l->any = true;
	l->last = cls;
	printf("  %-40s%s\n", name, ok ? "" : " (not supported here)");
	l->shown++;
}

int cmd_list(int argc, char **argv)
{
	struct list_ctx l = { .only_class = -1 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ALL: l.all = true; break;
		case OPT_TP: l.tracepoints = true; break;
		case 'h': help(); return 0;
		case OPT_LIST: cmd_list_opts(long_opts, short_opts); return 0;
		default:
			return cmd_bad_option("list", usage_line, argc, argv);
		}
	}
	if (optind + 1 < argc)
		return cmd_usage_error("list", usage_line, "give at most one PATTERN");
	/* perf list's class words (perf list sw), before globs. */
	static const struct {
		const char *word;
		enum ev_class cls;
	} classes[] = {
		{ "hw", EVC_HARDWARE }, { "hardware", EVC_HARDWARE }, { "sw", EVC_SOFTWARE },
		{ "software", EVC_SOFTWARE }, { "cache", EVC_CACHE }, { "hwcache", EVC_CACHE },
		{ "pmu", EVC_PMU }, { "tracepoint", EVC_TRACEPOINT },
	};
	for (size_t i = 0; optind < argc && i < sizeof classes / sizeof classes[0]; i++)
		if (strcmp(argv[optind], classes[i].word) == 0) {
			l.only_class = (int)classes[i].cls;
			l.tracepoints |= classes[i].cls == EVC_TRACEPOINT;
		}
	if (optind < argc && l.only_class < 0) {
		l.pattern = argv[optind];
		/* A pattern naming tracepoints asks for them. */
		if (strchr(l.pattern, ':'))
			l.tracepoints = true;
	}
	ev_known_names(NULL, true, show, &l);
	if (!l.any)
		printf("no %s%s%sevents%s%s%s\n", l.all ? "" : "supported ",
		       l.only_class >= 0 ? ev_class_names[l.only_class] : "", l.only_class >= 0 ? " " : "",
		       l.pattern ? " match '" : "",
		       l.pattern ? l.pattern : "", l.pattern ? "'" : "");
	if (l.unsupported && !l.all)
		printf("\n%zu more not supported here%s (--all lists them)\n", l.unsupported,
		       pmu_available() ? "" : ": no hardware PMU, as in most virtual machines");
	printf("\nAlso: raw rNNNN, PMU/TERM=VALUE,.../ with the terms in\n"
	       "/sys/bus/event_source/devices/PMU/format, modifiers :u :k :h :p, groups {a,b}.\n");
	return 0;
}
