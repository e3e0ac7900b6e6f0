/*
 * unwind.c - DWARF unwinding of sampled user stacks through libdwfl.
 *
 * Design (measured in tech notes §2.3): one Dwfl per process, attached once
 * with our own thread callbacks, reused across samples. A fresh Dwfl per
 * sample (perf's way) costs ~30x more. memory_read serves the sampled stack
 * copy, and falls back to the mapped ELF file for anything else (e.g. data
 * the CFI needs from .text or .rodata). Modules are reported lazily: the
 * process's mapping list is kept here and reported before each unwind that
 * finds new mappings.
 *
 * Even so, libdwfl spends ~0.5 us a frame re-deriving the CFI row of every
 * pc (FDE search, CIE and FDE program interpretation, expression
 * evaluation), and stacks of real programs are 50-200 frames deep. Programs
 * run through the same few thousand pcs over and over, so each pc's row is
 * derived once with libdw, reduced to the forms compilers emit for x86-64
 * (CFA = register + offset; each register undefined, unchanged, saved at
 * CFA + offset, or equal to CFA + offset) and cached. The walk over cached
 * rows is a loop of hash lookups and stack-copy reads. Anything else (no
 * module or FDE at a pc, signal frames, CFA expressions, PLT stubs) sends
 * the whole sample back to libdwfl's own walk, so results never differ:
 * CPROF_UNWIND_VERIFY=1 runs both walks on every sample and counts
 * disagreements, which is how the tests check it.
 *
 * One file: the fast walk and its fallback must decide alike, and sit side by
 * side for that.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>

#include "cprof/debuginfo.h"
#include "cprof/symbol.h"
#include "cprof/unwind.h"

struct umap {
	char *path;
	uint64_t start, len, pgoff;
	uint64_t time; /* when it was mapped; 0 if before the recording */
	bool reported;
};

/* DWARF register numbers on x86-64: rax rdx rcx rbx rsi rdi rbp rsp
 * r8..r15, and the return address column 16. */
enum { NREGS = 17, DW_RA = 16 };

enum rule_kind { RK_UNDEF, RK_SAME, RK_AT_CFA, RK_VAL_CFA };

/* One pc's CFI row, reduced (see the top of this file). */
struct cfi_rule {
	uint64_t pc; /* the lookup pc; 0 marks an empty slot */
	bool fast;   /* false: this row needs libdwfl's walk */
	uint8_t cfa_reg;
	int32_t cfa_off;
	uint8_t kind[NREGS];
	int32_t off[NREGS];
};

/* Not a struct hashidx: hit for every frame of every sample while recording, it reads a slot, not slot then entry. */
struct rule_cache {
	struct cfi_rule *slots;
	size_t cap, used; /* cap is a power of two */
};

struct uproc {
	uint32_t pid;
	Dwfl *dwfl;
	bool attached, broken;
	VEC(struct umap) maps;
	size_t unreported;
	struct rule_cache rules;
	uint64_t exit_seq; /* 0 while it runs; else its place among exits */
};

/* What the callbacks need for the sample being unwound. */
struct ucur {
	uint32_t tid;
	const uint64_t *regs;
	size_t nregs;
	const uint8_t *stack;
	size_t stack_len;
	uint64_t sp;
	uint64_t *pcs;
	bool *exact;
	int n, max;
	bool hit_stack_end;
	bool more; /* a frame beyond max exists */
};

struct unwinder {
	VEC(struct uproc *) procs;
	uint64_t exits;
	struct ucur cur;
	struct unwinder_stats st;
	bool verify; /* CPROF_UNWIND_VERIFY: run both walks, count disagreements */
	uint64_t *verify_pcs;
	bool *verify_exact;
	size_t verify_cap;
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
	/* The vDSO as a file for libdwfl: without its CFI a sample in
	 * clock_gettime's prologue or epilogue ends the walk. */
	bool vdso_tried;
	int vdso_fd;
	char vdso_path[32]; /* "" unless open */
};

/* perf register indexes (asm/perf_regs.h, x86-64) and their position in a
 * sample taken with UNWIND_REGS_MASK (ascending bit order). */
enum { P_AX, P_BX, P_CX, P_DX, P_SI, P_DI, P_BP, P_SP, P_IP, P_FLAGS, P_CS, P_SS, P_R8 = 16 };

static int reg_index(int perf_reg)
{
	uint64_t below = UNWIND_REGS_MASK & ((1ULL << perf_reg) - 1);
	return __builtin_popcountll(below);
}

static uint64_t reg_of(const struct ucur *c, int perf_reg)
{
	int i = reg_index(perf_reg);
	return (size_t)i < c->nregs ? c->regs[i] : 0;
}

/* The sampled registers in DWARF order: rax rdx rcx rbx rsi rdi rbp rsp
 * r8..r15, then the return address column, which holds rip. */
static void dwarf_regs_of(const struct ucur *c, uint64_t out[NREGS])
{
	static const int perf_of_dwarf[NREGS] = { P_AX, P_DX, P_CX, P_BX, P_SI, P_DI, P_BP, P_SP, P_R8,
						  P_R8 + 1, P_R8 + 2, P_R8 + 3, P_R8 + 4, P_R8 + 5, P_R8 + 6, P_R8 + 7,
						  P_IP };
	for (int i = 0; i < NREGS; i++)
		out[i] = reg_of(c, perf_of_dwarf[i]);
}

struct unwinder *unwinder_new(void)
{
	struct unwinder *u = xcalloc(1, sizeof *u);
	(void)elf_version(EV_CURRENT); /* before any elf_begin */
	u->callbacks.find_elf = dwfl_build_id_find_elf;
	u->callbacks.find_debuginfo = debuginfo_find_cfi;
	u->callbacks.section_address = dwfl_offline_section_address;
	u->callbacks.debuginfo_path = &u->debuginfo_path;
	const char *verify = getenv("CPROF_UNWIND_VERIFY");
	u->verify = verify && *verify && strcmp(verify, "0") != 0;
	return u;
}

static void uproc_free(struct uproc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p->rules.slots);
	for (size_t i = 0; i < p->maps.n; i++)
		free(p->maps.v[i].path);
	vec_release(&p->maps);
	free(p);
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->procs.n; i++)
		uproc_free(u->procs.v[i]);
	vec_release(&u->procs);
	free(u->verify_pcs);
	free(u->verify_exact);
	if (u->vdso_path[0])
		close(u->vdso_fd);
	free(u);
}

static struct uproc *proc_get(struct unwinder *u, uint32_t pid, bool create)
{
	for (size_t i = u->procs.n; i-- > 0;)
		if (u->procs.v[i]->pid == pid)
			return u->procs.v[i];
	if (!create)
		return NULL;
	struct uproc *p = xcalloc(1, sizeof *p);
	p->pid = pid;
	vec_push(&u->procs, p);
	return p;
}

static bool unwindable_path(const char *path)
{
	/* Anonymous memory and JIT code have no CFI; the vDSO has, in an
	 * image that stands in for a file (vdso_path). */
	if (strcmp(path, "[vdso]") == 0)
		return true;
	return path[0] == '/' && strncmp(path, "/memfd:", 7) != 0 && !strstr(path, " (deleted)");
}

void unwinder_add_map(struct unwinder *u, uint32_t pid, const char *path, uint64_t start, uint64_t len,
		      uint64_t pgoff, uint64_t time)
{
	if (!unwindable_path(path))
		return;
	struct uproc *p = proc_get(u, pid, true);
	for (size_t i = 0; i < p->maps.n; i++)
		if (p->maps.v[i].start == start && strcmp(p->maps.v[i].path, path) == 0)
			return;
	vec_push(&p->maps, ((struct umap){ xstrdup(path), start, len, pgoff, time, false }));
	p->unreported++;
}

size_t unwinder_map_count(const struct unwinder *u, uint32_t pid)
{
	for (size_t i = 0; i < u->procs.n; i++)
		if (u->procs.v[i]->pid == pid && !u->procs.v[i]->exit_seq)
			return u->procs.v[i]->maps.n;
	return 0;
}

void unwinder_fork(struct unwinder *u, uint32_t pid, uint32_t ppid)
{
	struct uproc *parent = proc_get(u, ppid, false);
	struct uproc *old = proc_get(u, pid, false);
	if (old && old->exit_seq)
		unwinder_exec(u, pid, UINT64_MAX); /* a new process under a reused pid */
	/* Otherwise the child's own first mappings, made on another CPU, came
	 * before its fork: it still has the parent's (those it has already
	 * are kept once, and an exec drained later drops them by their time). */
	if (!parent)
		return;
	for (size_t i = 0; i < parent->maps.n; i++) {
		const struct umap *m = &parent->maps.v[i];
		unwinder_add_map(u, pid, m->path, m->start, m->len, m->pgoff, m->time);
	}
}

/* Exited processes kept for samples drained after their EXIT record (the
 * rings are read one after the other, so another CPU's last samples of a
 * process can come later). */
#define EXITED_KEPT 16

void unwinder_exit(struct unwinder *u, uint32_t pid)
{
	struct uproc *p = proc_get(u, pid, false);
	if (!p || p->exit_seq)
		return;
	p->exit_seq = ++u->exits;
	size_t exited = 0, oldest = 0;
	for (size_t i = 0; i < u->procs.n; i++) {
		const struct uproc *q = u->procs.v[i];
		if (!q->exit_seq)
			continue;
		if (!exited++ || q->exit_seq < u->procs.v[oldest]->exit_seq)
			oldest = i;
	}
	if (exited > EXITED_KEPT) {
		uproc_free(u->procs.v[oldest]);
		u->procs.v[oldest] = u->procs.v[--u->procs.n];
	}
}

void unwinder_exec(struct unwinder *u, uint32_t pid, uint64_t time)
{
	for (size_t i = 0; i < u->procs.n; i++) {
		struct uproc *old = u->procs.v[i];
		if (old->pid != pid)
			continue;
		u->procs.v[i] = u->procs.v[--u->procs.n];
		/* Mappings made after the exec, drained before its record, belong
		 * to the new image: a fresh session starts with them. */
		for (size_t j = 0; j < old->maps.n; j++) {
			const struct umap *m = &old->maps.v[j];
			if (m->time > time && !old->exit_seq)
				unwinder_add_map(u, pid, m->path, m->start, m->len, m->pgoff, m->time);
		}
		uproc_free(old);
		return;
	}
}

/* Load bias of a mapping: where the file's vaddr 0 lands. Found from the
 * PT_LOAD that holds file offset pgoff (p_vaddr == p_offset is common but
 * not guaranteed). Returns false if the file cannot be read. */
static bool map_bias(const char *path, uint64_t start, uint64_t pgoff, uint64_t *bias)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = false;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t n;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			uint64_t off0 = ph.p_offset & ~(uint64_t)4095;
			if (pgoff >= off0 && pgoff < ph.p_offset + ph.p_filesz) {
				*bias = start - (ph.p_vaddr - (ph.p_offset - pgoff));
				ok = true;
				break;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return ok;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0; /* threads are only ever named explicitly */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

/* Read 8 bytes at addr from the ELF file mapped there. */
static bool read_from_elf(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *out)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
	if (!mod)
		return false;
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t n;
	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return false;
	uint64_t va = addr - bias;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va + 8 <= ph.p_vaddr + ph.p_filesz) {
			Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)(ph.p_offset + (va - ph.p_vaddr)), 8, ELF_T_BYTE);
			if (!d || !d->d_buf)
				return false;
			memcpy(out, d->d_buf, 8);
			return true;
		}
	}
	return false;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct ucur *c = arg;
	if (addr >= c->sp && addr + 8 > addr && addr - c->sp + 8 <= c->stack_len) {
		memcpy(result, c->stack + (addr - c->sp), 8);
		return true;
	}
	if (addr >= c->sp && addr - c->sp < (1u << 20))
		c->hit_stack_end = true; /* above the copy: the stack was deeper than the dump */
	return read_from_elf(dwfl, addr, result);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	uint64_t w[NREGS];
	dwarf_regs_of(arg, w);
	return dwfl_thread_state_registers(thread, 0, NREGS, w);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static const char *vdso_path(struct unwinder *u)
{
	if (!u->vdso_tried) {
		u->vdso_tried = true;
		u->vdso_fd = vdso_memfd();
		if (u->vdso_fd >= 0)
			snprintf(u->vdso_path, sizeof u->vdso_path, "/proc/self/fd/%d", u->vdso_fd);
	}
	return u->vdso_path[0] ? u->vdso_path : NULL;
}

static void report_new_maps(struct unwinder *u, struct uproc *p)
{
	if (!p->unreported)
		return;
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&u->callbacks);
		u->st.dwfl_created++;
		if (!p->dwfl) {
			p->broken = true;
			return;
		}
		dwfl_report_begin(p->dwfl);
	} else {
		dwfl_report_begin_add(p->dwfl);
	}
	for (size_t i = 0; i < p->maps.n; i++) {
		struct umap *m = &p->maps.v[i];
		if (m->reported)
			continue;
		m->reported = true;
		const char *file = m->path, *base = strrchr(m->path, '/');
		if (strcmp(m->path, "[vdso]") == 0) {
			file = vdso_path(u);
			base = NULL;
			if (!file)
				continue;
		}
		uint64_t bias;
		if (!map_bias(file, m->start, m->pgoff, &bias))
			continue;
		/* Overlaps (a re-mapped library) are refused by libdwfl; skipping
		 * them keeps the older module, which is right for older samples. */
		(void)dwfl_report_elf(p->dwfl, base ? base + 1 : m->path, file, -1, bias, false);
	}
	p->unreported = 0;
	dwfl_report_end(p->dwfl, NULL, NULL);
	/* A pc that had no module may have one now. */
	free(p->rules.slots);
	p->rules = (struct rule_cache){ 0 };
	/* Attaching needs a module to learn the architecture from; without
	 * one it fails and is tried again when mappings arrive. */
	if (!p->attached) {
		if (dwfl_attach_state(p->dwfl, NULL, (pid_t)p->pid, &thread_callbacks, &u->cur))
			p->attached = true;
	}
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct ucur *c = arg;
	Dwarf_Addr pc;
	bool activation = false;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (c->n >= c->max) {
		c->more = true;
		return DWARF_CB_ABORT;
	}
	c->pcs[c->n] = pc;
	c->exact[c->n] = activation;
	c->n++;
	return DWARF_CB_OK;
}

/* Reduce libdw's description of one register's rule to rk/off. */
static bool reduce_register(Dwarf_Frame *f, int regno, uint8_t *kind, int32_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	if (dwarf_frame_register(f, regno, mem, &ops, &n) != 0)
		return false;
	if (n == 0) {
		*kind = ops ? RK_UNDEF : RK_SAME;
		*off = 0;
		return true;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	size_t i = 1;
	int64_t o = 0;
	if (i < n && ops[i].atom == DW_OP_plus_uconst) {
		o = (int64_t)ops[i].number;
		i++;
	}
	bool value = i < n && ops[i].atom == DW_OP_stack_value;
	if (value)
		i++;
	if (i != n || o < INT32_MIN || o > INT32_MAX)
		return false;
	*kind = value ? RK_VAL_CFA : RK_AT_CFA;
	*off = (int32_t)o;
	return true;
}

/* Derive pc's row from the module's .eh_frame, which is what libdwfl
 * consults first. Leaves r->fast false for anything not reducible. */
static void rule_derive(Dwfl *dwfl, uint64_t pc, struct cfi_rule *r)
{
	r->fast = false;
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = mod ? dwfl_module_eh_cfi(mod, &bias) : NULL;
	Dwarf_Frame *f;
	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &f) != 0)
		return;
	bool signal = false;
	Dwarf_Op *ops;
	size_t n;
	if (dwarf_frame_info(f, NULL, NULL, &signal) != DW_RA || signal)
		goto out;
	if (dwarf_frame_cfa(f, &ops, &n) != 0 || n != 1)
		goto out;
	int64_t reg, off;
	if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else if (ops[0].atom == DW_OP_bregx) {
		reg = (int64_t)ops[0].number;
		off = (int64_t)ops[0].number2;
	} else {
		goto out;
	}
	if (reg < 0 || reg >= NREGS || off < INT32_MIN || off > INT32_MAX)
		goto out;
	r->cfa_reg = (uint8_t)reg;
	r->cfa_off = (int32_t)off;
	for (int i = 0; i < NREGS; i++)
		if (!reduce_register(f, i, &r->kind[i], &r->off[i]))
			goto out;
	r->fast = true;
out:
	free(f);
}

static size_t rule_slot(const struct rule_cache *rc, uint64_t pc)
{
	uint64_t h = pc * 0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 32) & (rc->cap - 1);
	while (rc->slots[i].pc && rc->slots[i].pc != pc)
		i = (i + 1) & (rc->cap - 1);
	return i;
}

static const struct cfi_rule *rule_get(struct uproc *p, uint64_t pc, uint64_t *derived)
{
	struct rule_cache *rc = &p->rules;
	if (pc == 0)
		return NULL;
	if (rc->cap) {
		size_t i = rule_slot(rc, pc);
		if (rc->slots[i].pc)
			return &rc->slots[i];
	}
	if ((rc->used + 1) * 2 > rc->cap) {
		struct rule_cache grown = { .cap = rc->cap ? rc->cap * 2 : 1024 };
		grown.slots = xcalloc(grown.cap, sizeof *grown.slots);
		for (size_t i = 0; i < rc->cap; i++)
			if (rc->slots[i].pc)
				grown.slots[rule_slot(&grown, rc->slots[i].pc)] = rc->slots[i];
		grown.used = rc->used;
		free(rc->slots);
		*rc = grown;
	}
	struct cfi_rule *r = &rc->slots[rule_slot(rc, pc)];
	rule_derive(p->dwfl, pc, r);
	r->pc = pc;
	rc->used++;
	(*derived)++;
	return r;
}

/* The walk over cached rows. Returns false when a frame needs libdwfl;
 * the caller then discards what was written and walks with libdwfl. */
static bool fast_walk(struct unwinder *u, struct uproc *p)
{
	struct ucur *c = &u->cur;
	uint64_t regs[NREGS], next[NREGS];
	uint32_t valid = (1u << NREGS) - 1;
	dwarf_regs_of(c, regs);
	uint64_t pc = regs[DW_RA];
	uint64_t prev_cfa = 0;
	bool activation = true;
	while (c->n < c->max) {
		c->pcs[c->n] = pc;
		c->exact[c->n] = activation;
		c->n++;
		const struct cfi_rule *r = rule_get(p, activation ? pc : pc - 1, &u->st.rules_derived);
		if (!r || !r->fast || !(valid & (1u << r->cfa_reg)))
			return false;
		uint64_t cfa = regs[r->cfa_reg] + (uint64_t)(int64_t)r->cfa_off;
		/* Callers' frames lie above their callees': a CFA that does not
		 * grow is a corrupt or looping stack, for libdwfl to judge. */
		if (cfa <= prev_cfa)
			return false;
		prev_cfa = cfa;
		uint32_t nvalid = 0;
		for (int i = 0; i < NREGS; i++) {
			uint64_t at = cfa + (uint64_t)(int64_t)r->off[i];
			switch (r->kind[i]) {
			case RK_UNDEF:
				continue;
			case RK_SAME:
				next[i] = regs[i];
				nvalid |= valid & (1u << i);
				continue;
			case RK_VAL_CFA:
				next[i] = at;
				break;
			case RK_AT_CFA: /* an unreadable slot leaves the register unset, as in libdw */
				if (!cb_memory_read(p->dwfl, at, &next[i], c))
					continue;
				break;
			}
			nvalid |= 1u << i;
		}
		/* No return address, or a zero one: the outermost frame. */
		if (!(nvalid & (1u << DW_RA)) || next[DW_RA] == 0)
			return true;
		memcpy(regs, next, sizeof regs);
		valid = nvalid;
		pc = regs[DW_RA];
		activation = false;
	}
	c->more = true;
	return true;
}

static void dwfl_walk(struct uproc *p, struct ucur *c)
{
	(void)dwfl_getthread_frames(p->dwfl, (pid_t)c->tid, frame_cb, c);
}

/* CPROF_UNWIND_VERIFY: walk again with libdwfl alone and compare. */
static void verify_walk(struct unwinder *u, struct uproc *p)
{
	struct ucur fast = u->cur;
	if (u->verify_cap < (size_t)fast.max) {
		u->verify_cap = (size_t)fast.max;
		u->verify_pcs = xrealloc(u->verify_pcs, u->verify_cap * sizeof *u->verify_pcs);
		u->verify_exact = xrealloc(u->verify_exact, u->verify_cap * sizeof *u->verify_exact);
	}
	uint64_t *pcs = u->verify_pcs;
	bool *exact = u->verify_exact;
	u->cur.pcs = pcs;
	u->cur.exact = exact;
	u->cur.n = 0;
	u->cur.hit_stack_end = false;
	u->cur.more = false;
	dwfl_walk(p, &u->cur);
	bool same = u->cur.n == fast.n && u->cur.hit_stack_end == fast.hit_stack_end && u->cur.more == fast.more;
	for (int i = 0; same && i < fast.n; i++)
		same = pcs[i] == fast.pcs[i] && exact[i] == fast.exact[i];
	if (!same)
		u->st.verify_mismatches++;
	u->cur = fast;
}

int unwinder_unwind(struct unwinder *u, uint32_t pid, uint32_t tid, const uint64_t *regs, size_t nregs,
		    const uint8_t *stack, size_t stack_len, bool whole_stack, uint64_t *pcs, bool *exact, int max,
		    enum unwind_cut *cut)
{
	*cut = UNWIND_WHOLE;
	u->st.samples++;
	struct uproc *p = proc_get(u, pid, true);
	report_new_maps(u, p);
	u->cur = (struct ucur){ .tid = tid, .regs = regs, .nregs = nregs, .stack = stack, .stack_len = stack_len,
				.pcs = pcs, .exact = exact, .max = max };
	u->cur.sp = reg_of(&u->cur, P_SP);
	if (!p->attached || p->broken) {
		/* Nothing to unwind with: keep at least the sampled pc. */
		if (max > 0) {
			pcs[0] = reg_of(&u->cur, P_IP);
			exact[0] = true;
		}
		u->st.failed++;
		return max > 0 ? 1 : 0;
	}
	if (fast_walk(u, p)) {
		u->st.fast++;
		if (u->verify)
			verify_walk(u, p);
	} else {
		u->cur.n = 0;
		u->cur.hit_stack_end = false;
		u->cur.more = false;
		dwfl_walk(p, &u->cur);
	}
	if (u->cur.n == 0 && max > 0) {
		pcs[0] = reg_of(&u->cur, P_IP);
		exact[0] = true;
		u->cur.n = 1;
		u->st.failed++;
	}
	/* The walk needed stack above a copy that stopped short of the stack's
	 * end: the stack was deeper than the dump. libdw ends such a walk
	 * either with an error or, when only the return address was
	 * unreadable, as if it were the outermost frame, so its result says
	 * nothing. */
	if (u->cur.more) {
		*cut = UNWIND_CUT_FRAMES;
		u->st.truncated++;
		u->st.cut_frames++;
	} else if (u->cur.hit_stack_end && !whole_stack) {
		*cut = UNWIND_CUT_COPY;
		u->st.truncated++;
	}
	u->st.frames += (uint64_t)u->cur.n;
	return u->cur.n;
}

void unwinder_get_stats(const struct unwinder *u, struct unwinder_stats *ret)
{
	*ret = u->st;
	ret->verified = u->verify;
}
