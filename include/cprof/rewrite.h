/*
 * rewrite.h - changes to a loaded recording made before it is aggregated,
 * so that report, flamegraph and diff show the same thing for the same
 * flag: function names in full, and Go's runtime plumbing folded away.
 * Both work on recordings and on folded stacks alike.
 */
#ifndef CPROF_REWRITE_H
#define CPROF_REWRITE_H

#include "cprof/data.h"

/* --full-names: name every frame by its full name where the recording has
 * one (Rust hashes and crate disambiguators, FR_FULL). Returns how many
 * frames changed. */
size_t rewrite_full_names(struct cprof_data *d);

/* --fold-go-runtime: remove the Go runtime frames that only hand control
 * between goroutines, stacks and the scheduler (runtime.goexit,
 * runtime.main, runtime.mcall, runtime.systemstack, runtime.morestack,
 * runtime.mstart, runtime.park_m, ...) from every stack, and fold what the
 * scheduler calls (runtime.findRunnable, futex sleeps, ...) into
 * runtime.schedule, which becomes the leaf. Samples and allocation sites
 * move to the rewritten stacks. Returns how many sample records moved
 * (folded input: one per distinct stack). */
size_t rewrite_fold_go_runtime(struct cprof_data *d);

/* How rewrite_fold_go_runtime treats a function name: 0 keep, 1 drop,
 * 2 fold its callees into it. Exposed for the tests. */
enum go_runtime_class { GO_KEEP, GO_DROP, GO_FOLD };
enum go_runtime_class go_runtime_class(const char *func);

#endif
