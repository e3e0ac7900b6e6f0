/*
 * findings.h - what a CPU profile says about the program, as the memory
 * and GPU reports already end: each finding has a severity, the evidence
 * in numbers and a concrete next step.
 *
 * The rules read a built struct profile (so report's filters apply) and
 * the recording's metadata. Every threshold is a number in struct
 * finding_rules, settable by name ("hot-function.high = 50") from the
 * command line or a config file; cprof-report(1) lists them.
 */
#ifndef CPROF_FINDINGS_H
#define CPROF_FINDINGS_H

#include "cprof/profile.h"

enum finding_sev { SEV_CRITICAL, SEV_HIGH, SEV_MEDIUM, SEV_LOW, SEV_INFO, _SEV_MAX };
extern const char *const finding_sev_names[]; /* "critical", "high", "medium", "low", "info", NULL */

struct finding {
	const char *rule;       /* static: "hot-function", "allocator", ... */
	enum finding_sev sev;
	char *summary;          /* owned: what was found, one line */
	char *evidence;         /* owned: the numbers behind it */
	char *next;             /* owned: what to do next */
	double value;           /* the rule's measure: a percentage, an IPC, a depth */
};

struct findings {
	VEC(struct finding) v;  /* most severe first */
};

/* Thresholds; percentages are of the profile's samples (by weight). */
struct finding_rules {
	double hot_high, hot_medium;        /* one function's self share */
	double alloc_pct;                   /* samples inside malloc & co. */
	double lock_pct;                    /* inside mutexes, futexes */
	double yield_pct;                   /* inside sched_yield and spin locks */
	double syscall_pct;                 /* in the kernel on behalf of system calls */
	double fault_pct;                   /* handling page faults */
	double ipc_low;                     /* instructions per cycle below this */
	double cache_miss_pct;              /* cache-misses / cache-references */
	double recursion_depth;             /* one function this often on a stack ... */
	double recursion_pct;               /* ... in this share of samples */
	double lost_pct;                    /* lost / (recorded + lost) */
	double truncated_pct, unknown_pct;
	double min_samples;                 /* fewer samples than this: precision warning */
};
#define FINDING_RULES_INIT { 50, 25, 10, 10, 5, 15, 10, 1.0, 10, 64, 5, 1, 5, 10, 1000 }

/* Rule names for --finding KEY=VALUE and the config file, with what each
 * means; NULL-terminated. */
struct finding_key {
	const char *name;
	size_t offset;          /* of the double in struct finding_rules */
	const char *what;
};
extern const struct finding_key finding_keys[];

/* "KEY=VALUE" (or "KEY = VALUE"); -EINVAL with a message naming the key. */
int finding_rules_set(struct finding_rules *r, const char *assignment, struct cprof_err *err) CPROF_WUR;
/* A config file's text: one KEY = VALUE a line, '#' comments, blank lines;
 * errors name the file and line. */
int finding_rules_parse(struct finding_rules *r, const char *text, const char *name, struct cprof_err *err) CPROF_WUR;

void findings_build(struct findings *f, const struct profile *p, const struct finding_rules *r);
void findings_release(struct findings *f);

#endif
