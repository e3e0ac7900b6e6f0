/*
 * data-format.h - the only description of the bytes of a cprof.data file.
 * cprof-data(5) documents the same layout for people; change both together.
 *
 * All integers are little-endian. A file is:
 *
 *   file header (64 bytes)
 *   section payloads, each 8-byte aligned
 *   section table (section_count entries of 40 bytes) at table_offset
 *
 * Each section is optionally zstd-compressed and carries a CRC-32 (zlib
 * polynomial) of its bytes as stored. Readers skip section types they do not
 * know, so new kinds of data (memory, off-CPU, GPU) are new section types and
 * do not need a version bump.
 */
#ifndef CPROF_DATA_FORMAT_H
#define CPROF_DATA_FORMAT_H

#define CPROF_MAGIC "CPROFDAT"   /* 8 bytes, no NUL stored */
#define CPROF_DATA_VERSION 1u

/* File header, offsets in bytes. */
#define HDR_MAGIC 0          /* char[8] */
#define HDR_VERSION 8        /* u32 */
#define HDR_HEADER_SIZE 12   /* u32, 64 */
#define HDR_SECTION_COUNT 16 /* u32 */
#define HDR_FLAGS 20         /* u32, 0 */
#define HDR_TABLE_OFFSET 24  /* u64 */
#define HDR_FILE_SIZE 32     /* u64, total size: detects truncation */
#define HDR_CRC 40           /* u32, CRC-32 of the 64 header bytes with this field zeroed */
#define HDR_TABLE_CRC 44     /* u32, CRC-32 of the section table */
#define HDR_SIZE 64          /* bytes 48..63 reserved, zero */

/* Section table entry. */
#define SEC_TYPE 0      /* u32, enum section_type */
#define SEC_FLAGS 4     /* u32, SECF_* */
#define SEC_OFFSET 8    /* u64 */
#define SEC_SIZE 16     /* u64, bytes stored */
#define SEC_RAW_SIZE 24 /* u64, bytes after decompression */
#define SEC_CRC 32      /* u32, CRC-32 of the stored bytes */
#define SEC_COUNT 36    /* u32, number of records */
#define SEC_ENTRY_SIZE 40

#define SECF_ZSTD 1u

enum section_type {
	SECTION_META = 1,    /* key\0value\0 pairs */
	SECTION_STRINGS = 2, /* NUL-terminated strings, referenced by byte offset; starts with "" */
	SECTION_EVENTS = 3,  /* EV_* records */
	SECTION_THREADS = 4, /* TH_* records */
	SECTION_FRAMES = 5,  /* FR_* records */
	SECTION_STACKS = 6,  /* u32 words: n | flags, then n frame indexes, leaf first */
	SECTION_SAMPLES = 7, /* SMP_* records */
	SECTION_MAPS = 8,    /* MA_* records */
	SECTION_CODE = 9,    /* machine code, line rows and inline ranges of the hottest functions (CODE_*) */
	SECTION_SAMPLE_COUNTS = 10, /* u32 per sample: samples it stands for (absent: 1 each) */
	SECTION_SAMPLE_CPUS = 11,   /* u32 per sample: the CPU it was taken on (absent: not recorded) */
	SECTION_SAMPLE_VALUES = 12, /* SV_* records: group members' counts read with a sample */
	/* Memory profile (record --mem); present only in such recordings. */
	SECTION_MEM_SITES = 16, /* MS_* records: allocations summed per (process, stack, kind) */
	SECTION_MEM_PROCS = 17, /* MP_* records: one per traced process */
	SECTION_MEM_CURVE = 18, /* MC_* records: live heap bytes over time */
	SECTION_MEM_EST = 19,   /* ME_* records: sampled (--mem=sample) estimates per (process, stack, kind) */
	/* 20..23: syscalls (cprof record --syscalls), layouts at the end of this file. */
	SECTION_SYS_STATS = 20,  /* SY_* records */
	SECTION_SYS_ERRORS = 21, /* SE_* records */
	SECTION_SYS_SLOW = 22,   /* SS_* records */
	SECTION_SYS_IO = 23,     /* IO_* records */
	/* 24..31: GPU activity (cprof record --gpu), layouts at the end of this file. */
	SECTION_GPU_OPS = 24, /* GO_* records */
	SECTION_GPU_API = 25, /* GA_* records */
	/* 32..35: off-CPU time (cprof record --offcpu), layouts at the end of this file. */
	SECTION_OFFCPU_WAITS = 32, /* OW_* records */
	/* 36..39: function latency (cprof record --latency), layouts at the end of this file. */
	SECTION_LAT_STATS = 36, /* LS_* records */
	SECTION_LAT_SLOW = 37,  /* LW_* records */
	/* 40..43: latency distributions */
	SECTION_LAT_HISTS = 40, /* LH_* records, each followed by its buckets */
	SECTION_LAT_STACKS = 41, /* LK_* records: time in calls by stack */
};
#define SECTION_TYPE_MAX 47 /* readers size their tables by this */

/* SECTION_EVENTS record (32 bytes). */
#define EV_NAME 0     /* u32 string offset */
#define EV_TYPE 4     /* u32 perf_event_attr.type */
#define EV_CONFIG 8   /* u64 perf_event_attr.config */
#define EV_PERIOD 16  /* u64 sample frequency (EVF_FREQ) or period */
#define EV_FLAGS 24   /* u32 */
#define EV_UNIT 28    /* u32 string offset: what a period counts ("ns", "events") */
#define EV_SIZE 32
#define EVF_FREQ 1u
/* Not sampled: counted in its group and read with each sample of the group's
 * leader (record -e '{cycles,instructions}:S'); its counts are SV_* records,
 * EV_PERIOD is 0. */
#define EVF_READ 2u

/* SECTION_THREADS record (24 bytes). */
#define TH_PID 0      /* u32 */
#define TH_TID 4      /* u32 */
#define TH_COMM 8     /* u32 string offset, last name seen */
#define TH_PPID 12    /* u32, 0 if unknown */
#define TH_SAMPLES 16 /* u64 samples taken in this thread */
#define TH_SIZE 24

/* SECTION_FRAMES record (32 bytes): one symbolized code location. */
#define FR_FUNC 0    /* u32 string offset: function, demangled ("[unknown]" if none) */
#define FR_DSO 4     /* u32 string offset: binary path or "[kernel.kallsyms]" */
#define FR_FILE 8    /* u32 string offset: source file, "" if unknown */
#define FR_LINE 12   /* u32 source line, 0 if unknown */
#define FR_ADDR 16   /* u64 address relative to the binary (ELF vaddr), or absolute for kernel */
#define FR_FLAGS 24  /* u32 FRF_* */
#define FR_FULL 28   /* u32 string offset: the name with Rust hashes and crate disambiguators
		      * kept (report --full-names); 0 when it is FR_FUNC. Files older than
		      * this field have 0 here */
#define FR_SIZE 32
#define FRF_INLINED 1u /* an inlined call, shown as its own frame */
#define FRF_KERNEL 2u
#define FRF_UNKNOWN 4u /* nothing knew this address */
#define FRF_JIT 8u     /* resolved from a perf-PID.map */
/*
 * FR_ADDR is the address itself, not the function's start, and frames are
 * unique per address: the leaf frames of the samples are therefore the
 * per-address sample counts that `cprof annotate` shows, with no table of
 * their own.
 */

/* SECTION_STACKS: the word holding the frame count also carries flags. */
#define STACK_COUNT_MASK 0x00ffffffu
#define STACKF_TRUNCATED 0x80000000u /* the unwinder stopped early */
/* Which limit cut it (any of them; none set in files from before they existed): */
#define STACKF_CUT_COPY 0x40000000u   /* DWARF: the stack copy (--call-graph dwarf,SIZE) */
#define STACKF_CUT_FRAMES 0x20000000u /* the frame limit (record --max-stack) */
#define STACKF_CUT_KERNEL 0x10000000u /* the kernel's kernel.perf_event_max_stack */

/* SECTION_SAMPLES record (32 bytes). */
#define SMP_TIME 0     /* u64 CLOCK_MONOTONIC ns */
#define SMP_PERIOD 8   /* u64 weight, in the event's unit */
#define SMP_PID 16     /* u32 */
#define SMP_TID 20     /* u32 */
#define SMP_STACK 24   /* u32 stack index */
#define SMP_EVENT 28   /* u16 event index */
#define SMP_MODE 30    /* u8 1 kernel, 2 user (perf cpumode) */
#define SMP_FLAGS 31   /* u8 reserved */
#define SMP_SIZE 32

/* SECTION_SAMPLE_VALUES record (16 bytes): what one group member counted
 * between the previous sample of its leader in the same thread and this one
 * (the first: since it was enabled). Sorted by sample; the event is an
 * EVF_READ event and not the sample's own. */
#define SV_SAMPLE 0 /* u32 sample index */
#define SV_EVENT 4  /* u32 event index */
#define SV_VALUE 8  /* u64 count */
#define SV_SIZE 16
#define SAMPLE_CPU_MAX 65535u /* readers reject CPU numbers above this */

/* SECTION_MAPS record (64 bytes): executable mappings seen while recording. */
#define MA_START 0     /* u64 */
#define MA_LEN 8       /* u64 */
#define MA_PGOFF 16    /* u64 */
#define MA_PID 24      /* u32 */
#define MA_PATH 28     /* u32 string offset */
#define MA_BUILD_ID_SIZE 32 /* u8 */
#define MA_BUILD_ID 36 /* u8[20] */
#define MA_SIZE 64

/*
 * SECTION_CODE: what `cprof annotate` needs of the hottest functions when
 * their binary was rebuilt, deleted or is on another machine. One section,
 * so one compression frame covers all of it:
 *
 *   header (CODE_HDR_SIZE)
 *   nfuncs x CF_* records, nlines x CL_*, ninlines x CI_*, nsyms x CY_*
 *   nbytes bytes of machine code (the functions' code, back to back)
 *
 * Each function owns a run of line rows, inline ranges and call-target
 * symbols (first + count). Offsets (CL_OFF, CI_LO, CI_HI) are relative to
 * the function's start address.
 */
#define CODE_NFUNCS 0   /* u32 */
#define CODE_NLINES 4   /* u32 */
#define CODE_NINLINES 8 /* u32 */
#define CODE_NSYMS 12   /* u32 */
#define CODE_NBYTES 16  /* u64 */
#define CODE_HDR_SIZE 24

/* Function (80 bytes). */
#define CF_FUNC 0           /* u32 string: function name, as in its frames */
#define CF_DSO 4            /* u32 string: binary path, as in its frames */
#define CF_START 8          /* u64 ELF virtual address of its first byte */
#define CF_BYTES 16         /* u64 offset of its code in the code bytes */
#define CF_LEN 24           /* u32 bytes of code */
#define CF_MACHINE 28       /* u16 ELF e_machine (62 x86-64, 183 AArch64) */
#define CF_BUILD_ID_SIZE 30 /* u8, 0 to 20 */
#define CF_FLAGS 31         /* u8 CFF_* */
#define CF_BUILD_ID 32      /* u8[20] GNU build ID of the binary the code was read from */
#define CF_LINES 52         /* u32 first line row */
#define CF_NLINES 56        /* u32 */
#define CF_INLINES 60       /* u32 first inline range */
#define CF_NINLINES 64      /* u32 */
#define CF_SYMS 68          /* u32 first call-target symbol */
#define CF_NSYMS 72         /* u32 */
#define CF_COMP_DIR 76      /* u32 string: compilation directory, for relative source paths; "" if unknown */
#define CF_SIZE 80
/* The record holds one part of a bigger function: the code around its
 * sampled instructions. Its other parts are records with the same CF_FUNC
 * and CF_DSO; code between them was not saved. */
#define CFF_PART 1u

/* Line row (12 bytes): from CL_OFF up to the next row's offset (or the end of
 * the function) the code belongs to FILE:LINE. Sorted by offset. */
#define CL_OFF 0   /* u32 offset from the function's start */
#define CL_FILE 4  /* u32 string: source file */
#define CL_LINE 8  /* u32 line, 0 if unknown */
#define CL_SIZE 12

/* Inline range (24 bytes): code in [LO, HI) is an inlined copy of FUNC,
 * called from FILE:LINE of the function (or inline copy) one level out. */
#define CI_LO 0     /* u32 offset */
#define CI_HI 4     /* u32 offset, > LO */
#define CI_FUNC 8   /* u32 string: the inlined function */
#define CI_FILE 12  /* u32 string: call site file */
#define CI_LINE 16  /* u32 call site line */
#define CI_DEPTH 20 /* u32 1 = inlined into the function itself, 2 = into a depth-1 copy... */
#define CI_SIZE 24

/* Call-target symbol (16 bytes): the name of an address the function calls
 * or jumps to outside itself (functions, PLT entries). */
#define CY_ADDR 0  /* u64 ELF virtual address */
#define CY_NAME 8  /* u32 string */
#define CY_RES 12  /* u32 0 */
#define CY_SIZE 16

/* SECTION_MEM_SITES record (96 bytes): the allocations made from one stack. */
#define MS_PID 0            /* u32 */
#define MS_STACK 4          /* u32 stack index (the allocating call path) */
#define MS_KIND 8           /* u32 MEMK_* */
#define MS_ALLOCS 16        /* u64 allocations */
#define MS_BYTES 24         /* u64 bytes allocated */
#define MS_TEMP_ALLOCS 32   /* u64 temporary: freed by the same thread before it allocated again */
#define MS_TEMP_BYTES 40    /* u64 */
#define MS_LEAKED 48        /* u64 still live when the process ended */
#define MS_LEAKED_BYTES 56  /* u64 */
#define MS_PEAK_COUNT 64    /* u64 live at the process's heap peak */
#define MS_PEAK_BYTES 72    /* u64 */
#define MS_MAX_SIZE 80      /* u64 largest single allocation */
#define MS_TEMP_MAX_SIZE 88 /* u64 largest temporary allocation */
#define MS_SIZE 96

enum mem_kind { MEMK_HEAP = 0, MEMK_MMAP = 1 };

/* SECTION_MEM_PROCS record (464 bytes). */
#define MP_PID 0              /* u32 */
#define MP_PPID 4             /* u32 */
#define MP_EVENTS 8           /* u64 events traced */
#define MP_UNMATCHED_FREES 16 /* u64 frees of memory allocated before tracing began */
#define MP_LOST 24            /* u64 events the tracer could not record */
#define MP_PEAK_BYTES 32      /* u64 heap peak (malloc family) */
#define MP_PEAK_TIME 40       /* u64 ns, same clock as samples */
#define MP_END_BYTES 48       /* u64 heap live at exit: the leaks */
#define MP_START_TIME 56      /* u64 ns */
#define MP_END_TIME 64        /* u64 ns */
#define MP_MMAP_PEAK 72       /* u64 anonymous mmap peak */
#define MP_HIST 80            /* u64[48]: allocations of size in [2^(i-1), 2^i), [0] for 0 */
#define MP_HIST_BUCKETS 48
#define MP_SIZE 464

/* SECTION_MEM_CURVE record (24 bytes): the highest live heap in a time slice. */
#define MC_PID 0    /* u32 */
#define MC_TIME 8   /* u64 ns */
#define MC_BYTES 16 /* u64 */
#define MC_SIZE 24

/* SECTION_MEM_EST record (96 bytes): what --mem=sample estimates for one
 * stack. Each sampled allocation of size s weighs 1/p, p = 1 - exp(-s/R)
 * its chance of being sampled (R: meta mem_sample_bytes), which makes the
 * sums unbiased; the variances are the sums' estimated variances. f64 are
 * IEEE 754 doubles stored as little-endian u64, finite and >= 0. */
#define ME_PID 0              /* u32 */
#define ME_STACK 4            /* u32 stack index */
#define ME_KIND 8             /* u32 MEMK_* */
#define ME_SAMPLES 16         /* u64 allocations sampled */
#define ME_MAX_SIZE 24        /* u64 largest sampled allocation */
#define ME_COUNT 32           /* f64 estimated allocations */
#define ME_BYTES 40           /* f64 estimated bytes allocated */
#define ME_VAR_COUNT 48       /* f64 */
#define ME_VAR_BYTES 56       /* f64 */
#define ME_LIVE_COUNT 64      /* f64 estimated blocks live at the end of the process */
#define ME_LIVE_BYTES 72      /* f64 */
#define ME_LIVE_VAR_COUNT 80  /* f64 */
#define ME_LIVE_VAR_BYTES 88  /* f64 */
#define ME_SIZE 96
/* SECTION_GPU_OPS record (104 bytes): one piece of work the GPU did. */
#define GO_START 0      /* u64 CLOCK_MONOTONIC ns, as the samples */
#define GO_END 8        /* u64 */
#define GO_BYTES 16     /* u64 memcpy/memset bytes, else 0 */
#define GO_KIND 24      /* u32 GPU_OP_* */
#define GO_CORR 28      /* u32 correlation id of the API call that caused it (runtime first) */
#define GO_DEVICE 32    /* u32 */
#define GO_CONTEXT 36   /* u32 */
#define GO_STREAM 40    /* u32 */
#define GO_PID 44       /* u32 launching process, 0 if unknown */
#define GO_TID 48       /* u32 launching thread, 0 if unknown */
#define GO_NAME 52      /* u32 string offset: demangled kernel name, "" for others */
#define GO_STACK 56     /* u32 launching CPU stack (index into stacks), GPU_NO_STACK if none */
#define GO_GRID 60      /* u32[3] kernels: grid x, y, z */
#define GO_BLOCK 72     /* u32[3] kernels: block x, y, z */
#define GO_REGS 84      /* u32 kernels: registers per thread */
#define GO_SMEM_STATIC 88  /* u32 kernels: static shared memory per block */
#define GO_SMEM_DYNAMIC 92 /* u32 kernels: dynamic shared memory per block */
#define GO_COPY_KIND 96 /* u8 memcpy: CUPTI memcpy kind (1 HtoD, 2 DtoH, 8 DtoD...); sync: type */
#define GO_SRC_KIND 97  /* u8 memcpy: CUPTI memory kind of the source (1 pageable, 2 pinned...) */
#define GO_DST_KIND 98  /* u8 memcpy: memory kind of the destination */
#define GO_FLAGS 99     /* u8 GOF_* */
#define GO_VALUE 100    /* u32 memset: the value */
#define GO_SIZE 104
#define GOF_ASYNC 1u    /* memcpy/memset: asynchronous API */
#define GPU_NO_STACK 0xffffffffu

/* SECTION_GPU_API record (48 bytes): one CUDA runtime or driver API call. */
#define GA_START 0      /* u64 CLOCK_MONOTONIC ns */
#define GA_END 8        /* u64 */
#define GA_CORR 16      /* u32 correlation id */
#define GA_CBID 20      /* u32 CUPTI callback id */
#define GA_PID 24       /* u32 */
#define GA_TID 28       /* u32 */
#define GA_NAME 32      /* u32 string offset: function name ("cudaLaunchKernel") */
#define GA_RESULT 36    /* u32 return value */
#define GA_DOMAIN 40    /* u8 GPU_API_RUNTIME or GPU_API_DRIVER */
#define GA_SIZE 48

/*
 * Syscalls (record --syscalls). SECTION_SYS_STATS: one record per (thread,
 * syscall), and per syscall one for all threads (SY_TID and SY_PID 0);
 * latencies in ns over the calls that returned, nearest-rank percentiles
 * of all of them (percentile.h), SY_MIN <= SY_P50 <= ... <= SY_MAX.
 */
#define SY_PID 0         /* u32 */
#define SY_TID 4         /* u32, 0: all threads */
#define SY_NAME 8        /* u32 string offset */
#define SY_NR 12         /* u32 syscall number (x86-64) */
#define SY_CALLS 16      /* u64 */
#define SY_ERRORS 24     /* u64, <= SY_CALLS */
#define SY_UNFINISHED 32 /* u64, <= SY_CALLS */
#define SY_TOTAL 40      /* u64 ns */
#define SY_LAT 48        /* u64[7]: min, p50, p90, p95, p99, p99.9, max */
#define SY_SIZE 104
/* SECTION_SYS_ERRORS: failed calls per (thread or 0, syscall, errno). */
#define SE_PID 0   /* u32 */
#define SE_TID 4   /* u32, 0: all threads */
#define SE_NR 8    /* u32 */
#define SE_ERRNO 12 /* u32, 1..4095 */
#define SE_COUNT 16 /* u64 */
#define SE_SIZE 24
/* SECTION_SYS_SLOW: the slowest calls of each syscall, slowest first. */
#define SS_PID 0    /* u32 */
#define SS_TID 4    /* u32 */
#define SS_NR 8     /* u32 */
#define SS_STACK 12 /* u32 stack index, 0xffffffff: none */
#define SS_START 16 /* u64 ns, CLOCK_MONOTONIC */
#define SS_DUR 24   /* u64 ns */
#define SS_RET 32   /* i64 what it returned */
#define SS_SIZE 40
/* SECTION_SYS_IO: I/O per open file descriptor (sys-data.h), in the order
 * the descriptors were first used. Bytes count what the calls returned. */
#define IO_PID 0          /* u32 */
#define IO_FD 4           /* i32 */
#define IO_PATH 8         /* u32 string offset, "" unknown */
#define IO_FLAGS 12       /* u32, 0 */
#define IO_READ_CALLS 16  /* u64 */
#define IO_READ_BYTES 24  /* u64 */
#define IO_READ_NS 32     /* u64 */
#define IO_WRITE_CALLS 40 /* u64 */
#define IO_WRITE_BYTES 48 /* u64 */
#define IO_WRITE_NS 56    /* u64 */
#define IO_SYNC_CALLS 64  /* u64 */
#define IO_SYNC_NS 72     /* u64 */
#define IO_SIZE 80

/*
 * Off-CPU time (record --offcpu). SECTION_OFFCPU_WAITS: every interval a
 * thread of the workload spent off a CPU, from its switch-out to its next
 * switch-in, in the order they ended. 33..35 are kept for later tables.
 */
#define OW_START 0  /* u64 ns CLOCK_MONOTONIC: switched out */
#define OW_DUR 8    /* u64 ns until switched in again */
#define OW_PID 16   /* u32 */
#define OW_TID 20   /* u32 */
#define OW_STACK 24 /* u32 stack index: the user stack it left the CPU from; 0xffffffff: none */
#define OW_FLAGS 28 /* u32 OWF_* */
#define OW_SIZE 32
#define OWF_PREEMPT 1u /* preempted while runnable, not waiting (PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) */

/*
 * Function latency (record --latency). SECTION_LAT_STATS: one record per
 * probed function, in the order given; latencies in ns from entry to
 * return over the calls that returned, nearest-rank percentiles of all of
 * them (percentile.h), LS_LAT in order. A call that never returned (a
 * longjmp past it, its thread's exit, the end of the recording) counts in
 * LS_UNRETURNED and in no latency.
 */
#define LS_NAME 0         /* u32 string offset: the function as given ("libc.so.6:malloc") */
#define LS_PATH 4         /* u32 string offset: the file probed */
#define LS_OFFSET 8       /* u64 the probe's file offset in LS_PATH */
#define LS_CALLS 16       /* u64 entries seen */
#define LS_RETURNED 24    /* u64 <= LS_CALLS */
#define LS_UNRETURNED 32  /* u64 <= LS_CALLS - LS_RETURNED */
#define LS_SLOW 40        /* u64 returned calls that took longer than meta latency_threshold_ns */
#define LS_TOTAL 48       /* u64 ns over the returned calls */
#define LS_DEPTH 56       /* u32 deepest nesting of the function in one thread (1: never recursive) */
#define LS_LAT 64         /* u64[7]: min, p50, p90, p95, p99, p99.9, max */
#define LS_SIZE 120
/* SECTION_LAT_SLOW: the slowest calls of each function, slowest first. */
#define LW_FUNC 0    /* u32 index of its LAT_STATS record */
#define LW_PID 4     /* u32 */
#define LW_TID 8     /* u32 */
#define LW_STACK 12  /* u32 stack index (the caller first), 0xffffffff: none */
#define LW_START 16  /* u64 ns, CLOCK_MONOTONIC */
#define LW_DUR 24    /* u64 ns */
#define LW_SIZE 32

/*
 * SECTION_LAT_HISTS: latency distributions as log-linear histograms
 * (hist.h: bucket i of HIST_BUCKETS, 128 per power of two, a value read
 * back at most 1/128 above the one it stands for), one record per
 * (source, key, process, thread); 0 for the process and thread: all of
 * them. A record is LH_SIZE bytes and then LH_NBUCKETS entries of LHB_SIZE
 * bytes, the non-empty buckets in increasing order, whose counts add up to
 * LH_COUNT; LH_MIN falls in the first bucket and LH_MAX in the last. The
 * section's count is the number of records.
 */
#define LH_SOURCE 0    /* u32 LH_SRC_* */
#define LH_KEY 4       /* u32 syscalls: the syscall number; latency: index of its LAT_STATS record */
#define LH_PID 8       /* u32, 0: all processes */
#define LH_TID 12      /* u32, 0: all threads */
#define LH_COUNT 16    /* u64 values */
#define LH_MIN 24      /* u64 ns, exact */
#define LH_MAX 32      /* u64 ns, exact */
#define LH_NBUCKETS 40 /* u32 bucket entries that follow */
#define LH_FLAGS 44    /* u32, 0 */
#define LH_SIZE 48
#define LHB_INDEX 0 /* u32 bucket, < HIST_BUCKETS */
#define LHB_COUNT 4 /* u64, > 0 */
#define LHB_SIZE 12
#define LH_SRC_SYSCALLS 1
#define LH_SRC_LATENCY 2

/*
 * SECTION_LAT_STACKS: the time in the calls of a source (LH_SRC_*) summed
 * by where they were called from, for flame graphs and folded stacks of
 * syscalls and probed functions. A record with LK_TID 0 sums the calls of
 * one (key, process, stack), over its threads; LK_STACK 0xffffffff: made
 * without -g, so one record per (key, process). A record with LK_TID set
 * sums one thread's calls of the key, LK_STACK 0xffffffff. LK_ONCPU is
 * the part of LK_TOTAL the threads spent on a CPU when LKF_ONCPU says it
 * was measured (the rest they waited off one). 42 and 43 are kept for later.
 */
#define LK_SOURCE 0   /* u32 LH_SRC_* */
#define LK_KEY 4      /* u32 as LH_KEY */
#define LK_PID 8      /* u32 */
#define LK_TID 12     /* u32, 0: all threads of LK_PID */
#define LK_STACK 16   /* u32 stack index (the caller first), 0xffffffff: none */
#define LK_FLAGS 20   /* u32 LKF_* */
#define LK_CALLS 24   /* u64 returned calls, > 0 */
#define LK_TOTAL 32   /* u64 ns from entry to return, summed */
#define LK_ONCPU 40   /* u64 ns <= LK_TOTAL, 0 without LKF_ONCPU */
#define LK_SIZE 48
#define LKF_ONCPU 1u

#endif
