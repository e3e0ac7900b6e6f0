/*
 * event-internal.h - what parse.c asks of the sysfs and tracefs lookups
 * (pmu.c). Not for use outside src/event/.
 */
#ifndef CPROF_EVENT_INTERNAL_H
#define CPROF_EVENT_INTERNAL_H

#include "cprof/event.h"

/* PMU/terms/ into e->type and e->config*; whole is the event for messages. */
int ev_pmu_resolve(struct ev_spec *e, const char *pmu, const char *terms, const struct ev_env *env,
		   const char *whole, struct cprof_err *err);
/* The id of tracepoint SYS:NAME from tracefs. */
int ev_tracepoint_id(const struct ev_env *env, const char *sys, const char *name, uint64_t *ret,
		     const char *whole, struct cprof_err *err);
void ev_pmu_list_aliases(const struct ev_env *env, void (*fn)(void *ctx, const char *name, enum ev_class cls),
			 void *ctx);
void ev_tracepoint_list(const struct ev_env *env, void (*fn)(void *ctx, const char *name, enum ev_class cls),
			void *ctx);

#endif
