/*
 * activity.h - completed CUPTI activity buffers into the collector's stream:
 * walked and converted (convert.h) into a writer of their own, so no lock
 * is held while converting, with kernel and API names written once per
 * process (collector.h). inject.c's buffer_completed calls it; the unit
 * tests call it with synthesized buffers.
 */
#ifndef CPROF_GPU_ACTIVITY_H
#define CPROF_GPU_ACTIVITY_H

#include "convert.h"

/* The running libcupti's version (cuptiGetVersion): when it is not the
 * headers', every record's size is checked against the structs read. */
void gpu_activity_init(uint32_t cupti_version);

/* One completed buffer of valid bytes, walked with next
 * (cuptiActivityGetNextRecord). Does not free it. */
void gpu_activity_buffer(uint8_t *buf, size_t valid, gpu_next_record_fn next);

#endif
