/*
 * group.h - a profile's samples grouped by perf's sort keys (report -s
 * comm,dso,sym,pid,tid): one row per distinct combination of the keys, with
 * self weight (the key of the sample's innermost frame) and total weight
 * (the sample passes through it). perf users ask "which binary", "which
 * thread and function"; the function table answers only the last.
 */
#ifndef CPROF_GROUP_H
#define CPROF_GROUP_H

#include "cprof/profile.h"

enum group_key { GK_COMM, GK_PID, GK_TID, GK_DSO, GK_SYM, GK_CPU, _GK_MAX };
/* "comm", "pid", "tid", "dso", "sym", "cpu", NULL. cpu: the CPU a sample was
 * taken on, GROUP_NO_CPU for recordings that did not keep it. */
extern const char *const group_key_names[];
#define GROUP_NO_CPU UINT32_MAX

/* Parse "dso,sym" into keys (in the order given, no repeats); the number of
 * keys, or -EINVAL with err naming the bad one. */
int group_keys_parse(const char *s, enum group_key keys[_GK_MAX], struct cprof_err *err) CPROF_WUR;

struct group_row {
	uint32_t comm, dso;       /* strings; 0 where the key is not grouped on */
	uint32_t pid, tid;
	uint32_t cpu;             /* 0 where the key is not grouped on */
	uint32_t func;            /* profile func index; UINT32_MAX where not grouped on */
	uint64_t self, total, self_samples, total_samples;
};

struct grouping {
	enum group_key keys[_GK_MAX];
	size_t nkeys;
	VEC(struct group_row) rows; /* heaviest first by self (by total with by_total) */
};

/* Group p's samples (exactly those p counts) by keys. */
void group_build(struct grouping *g, const struct profile *p, const enum group_key *keys, size_t nkeys,
		 bool by_total);
void group_release(struct grouping *g);

#endif
