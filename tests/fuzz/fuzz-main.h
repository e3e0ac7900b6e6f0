/*
 * fuzz-main.h - what fuzz-main.c (the replay main of normal builds) offers
 * a fuzz target beyond LLVMFuzzerTestOneInput().
 */
#ifndef CPROF_FUZZ_MAIN_H
#define CPROF_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

#include "cprof/base.h"

/* One corpus file, as replayed. */
struct fuzz_input {
	uint8_t *data;
	size_t len;
};

/* Optional: deterministic mutation rounds after the replay, from the
 * target's own seeds or from the corpus in inputs[0..n). */
void fuzz_mutate(int rounds, const struct fuzz_input *inputs, size_t n) __attribute__((weak));

#endif
