/*
 * sys-data.h - syscalls as cprof keeps them (record --syscalls): per thread
 * and syscall, the calls with their latency summary; errors by errno; the
 * slowest calls with their stacks; and the I/O on each file descriptor. The sections' bytes are
 * data/sys-sections.c's and data-format.h's.
 */
#ifndef CPROF_SYS_DATA_H
#define CPROF_SYS_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "cprof/percentile.h"

struct sbuf;
struct cprof_data;
struct cprof_err;

/* One syscall in one thread, or in all threads (tid 0, pid 0): the
 * percentiles of all threads' calls together cannot be told from the
 * threads' own, so the recording keeps both. */
struct cprof_sys_stat {
	uint32_t pid, tid, name; /* name: string offset ("read", "syscall_520") */
	uint32_t nr;
	uint64_t calls;       /* entered */
	uint64_t errors;      /* returned -1 .. -4095 */
	uint64_t unfinished;  /* entered, never returned while recorded (exit_group, ...) */
	uint64_t total_ns;    /* time between entry and return, summed */
	uint64_t lat[PCT_N];  /* of the calls that returned; zero when none did */
};

/* Calls of one syscall that failed with one errno, in one thread or all (tid 0). */
struct cprof_sys_err {
	uint32_t pid, tid, nr, err;
	uint64_t count;
};

/* One of the slowest calls of a syscall. */
#define SYS_NO_STACK UINT32_MAX
struct cprof_sys_slow {
	uint32_t pid, tid, nr, stack; /* stack: index, or SYS_NO_STACK (recorded without -g) */
	uint64_t start, dur;          /* CLOCK_MONOTONIC ns, and ns */
	int64_t ret;
};

/* The I/O syscalls on one open file descriptor of one process: from the
 * call that first used it (or opened it) until it was closed. The path is
 * what /proc said while recording, "" when it was gone by then. */
struct cprof_sys_io {
	uint32_t pid;
	int32_t fd;
	uint32_t path;           /* string offset */
	uint64_t read_calls, read_bytes, read_ns;    /* read, pread64, readv, preadv, recvfrom, recvmsg... */
	uint64_t write_calls, write_bytes, write_ns; /* write, pwrite64, writev, sendto, sendmsg... */
	uint64_t sync_calls, sync_ns;                /* fsync, fdatasync */
};

static inline bool sys_section_type(uint32_t type) { return type >= 20 && type <= 23; }
bool sys_section_present(const struct cprof_data *d, uint32_t type);
void sys_section_bytes(const struct cprof_data *d, uint32_t type, struct sbuf *raw, uint32_t *count);
/* After the strings and stacks are loaded (records refer to them). */
int sys_section_parse(struct cprof_data *d, uint32_t type, const uint8_t *p, size_t len, uint32_t count,
		      const char *name, struct cprof_err *err);

#endif
