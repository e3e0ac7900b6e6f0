/*
 * stacktime-output.c - a source's time by stack as folded stacks
 * (stacktime.h): the frames root first, the call last, microseconds.
 */
#include <inttypes.h>

#include "cprof/data.h"
#include "cprof/profile.h"
#include "cprof/stacktime.h"

void stacktime_folded(FILE *out, const struct cprof_data *d, uint32_t source, stacktime_name_fn *name, void *ctx)
{
	struct stacktime st;
	stacktime_build(&st, d, source);
	struct sbuf line = SBUF_INIT;
	for (size_t i = 0; i < st.rows.n; i++) {
		const struct stacktime_row *r = &st.rows.v[i];
		uint64_t us = r->ns / 1000 + (r->ns % 1000 >= 500);
		if (!us)
			continue;
		sbuf_reset(&line);
		if (r->stack == LAT_NO_STACK || !cprof_stack_len(d, r->stack)) {
			sbuf_adds(&line, STACKTIME_NO_STACK_LABEL);
		} else {
			const uint32_t *f = cprof_stack_frames(d, r->stack);
			for (uint32_t k = cprof_stack_len(d, r->stack); k-- > 0;) {
				profile_frame_label(d, &d->frames.v[f[k]], &line);
				sbuf_adds(&line, ";");
			}
			line.len--; /* the last ';' */
			line.buf[line.len] = 0;
		}
		fprintf(out, "%s;%s %" PRIu64 "\n", line.buf, name(d, r->key, ctx), us);
	}
	sbuf_release(&line);
	stacktime_release(&st);
}
