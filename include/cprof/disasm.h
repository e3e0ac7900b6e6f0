/*
 * disasm.h - the one adapter between cprof and libcapstone: machine code to
 * instruction text, with what annotate marks (jumps, calls, returns and
 * their direct targets). x86-64 and AArch64.
 *
 * Capstone's own errors are translated into struct cprof_err at this
 * boundary (disasm_cs_error); nothing outside src/annotate/disasm.c
 * includes capstone. Built without libcapstone, disasm_open() fails with
 * ENOTSUP and says so.
 */
#ifndef CPROF_DISASM_H
#define CPROF_DISASM_H

#include "cprof/base.h"

struct disasm;

enum disasm_syntax { DISASM_INTEL, DISASM_ATT, _DISASM_SYNTAX_MAX };
extern const char *const disasm_syntax_names[]; /* "intel", "att"; NULL-terminated */

enum disasm_kind { DISASM_OTHER, DISASM_JUMP, DISASM_CALL, DISASM_RET };

struct disasm_insn {
	uint64_t addr;
	uint32_t size;     /* bytes consumed: the instruction, or the undecodable unit */
	bool invalid;      /* bytes capstone could not decode; text is ".byte 0x.." */
	bool has_target;   /* a direct jump or call: target is its destination */
	enum disasm_kind kind;
	uint64_t target;
	char text[192];    /* "mnemonic operands", operands column-aligned */
};

/* True when cprof was built with libcapstone. */
bool disasm_available(void);
/* A disassembler for ELF machine (EM_X86_64 or EM_AARCH64). */
int disasm_open(struct disasm **ret, unsigned machine, enum disasm_syntax syntax, struct cprof_err *err) CPROF_WUR;
void disasm_close(struct disasm *d);
/*
 * Decode the instruction at code[0 .. len), which lies at address addr.
 * Always makes progress: bytes capstone cannot decode come back as one
 * invalid "instruction" (one byte on x86-64, four on AArch64). Returns
 * -errno only when capstone itself fails.
 */
int disasm_one(struct disasm *d, const uint8_t *code, size_t len, uint64_t addr, struct disasm_insn *ret,
	       struct cprof_err *err) CPROF_WUR;
/* The distinct destinations of the direct jumps and calls in code (at
 * start) that leave [start, start + len), sorted; caller frees *ret.
 * Returns how many, or -errno when no disassembler could be opened. */
int disasm_external_targets(unsigned machine, const uint8_t *code, uint32_t len, uint64_t start, uint64_t **ret,
			    struct cprof_err *err);
/* Offsets of the instruction starts in code (undecodable units counted as
 * instructions, as disasm_one does), followed by len; caller frees *ret.
 * Without capstone's detail mode, so several times faster than
 * disasm_one. Returns how many starts, or -errno. */
int disasm_insn_starts(unsigned machine, const uint8_t *code, uint32_t len, uint32_t **ret, struct cprof_err *err);
/* Fill err from a capstone error code (cs_err), naming the call that failed. */
int disasm_cs_error(struct cprof_err *err, const char *call, int cs_error);
/* "x86-64", "AArch64", or NULL for a machine annotate cannot disassemble. */
const char *disasm_machine_name(unsigned machine);

#endif
