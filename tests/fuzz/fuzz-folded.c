/*
 * fuzz-folded.c - fuzzing profile input as report, flamegraph and diff
 * read it (profile_source_parse: the format sniffing, the folded-stack
 * parser, and the data file reader behind the magic), and every view of
 * what it accepts (fuzz-views.h). Each input is read leniently (malformed
 * lines skipped) and strictly.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz-views.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_warning(void *ctx, const char *name, size_t lineno, const char *why)
{
	(void)name;
	(void)lineno;
	(void)why;
	++*(size_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int strict = 0; strict < 2; strict++) {
		struct cprof_data d;
		struct cprof_err err;
		size_t warnings = 0;
		int r = profile_source_parse(&d, (const char *)data, size, "fuzz", strict, count_warning, &warnings, &err);
		if (r >= 0) {
			if ((size_t)r != warnings) {
				fprintf(stderr, "fuzz: %d malformed lines, %zu warnings\n", r, warnings);
				abort();
			}
			fuzz_views(&d);
		} else if (!strstr(err.msg, "'fuzz'")) {
			fprintf(stderr, "fuzz: error without the input's name: %s\n", err.msg);
			abort();
		}
		cprof_data_release(&d);
	}
	return 0;
}
