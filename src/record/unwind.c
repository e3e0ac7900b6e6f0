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
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>

#include "cprof/unwind.h"

struct umap {
	char *path;
	uint64_t start, len, pgoff;
	bool reported;
};

struct uproc {
	uint32_t pid;
	Dwfl *dwfl;
	bool attached, broken;
	VEC(struct umap) maps;
	size_t unreported;
};

/* What the callbacks need for the sample being unwound. */
struct ucur {
	const uint64_t *regs;
	size_t nregs;
	const uint8_t *stack;
	size_t stack_len;
	uint64_t sp;
	uint64_t *pcs;
	bool *exact;
	int n, max;
	bool hit_stack_end;
};

struct unwinder {
	VEC(struct uproc *) procs;
	struct ucur cur;
	struct unwinder_stats st;
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
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

struct unwinder *unwinder_new(void)
{
	struct unwinder *u = xcalloc(1, sizeof *u);
	(void)elf_version(EV_CURRENT); /* before any elf_begin */
	u->callbacks.find_elf = dwfl_build_id_find_elf;
	u->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	u->callbacks.section_address = dwfl_offline_section_address;
	u->callbacks.debuginfo_path = &u->debuginfo_path;
	return u;
}

static void uproc_free(struct uproc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
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
	/* Anonymous memory and JIT code have no CFI; [vdso] is not a file. */
	return path[0] == '/' && strncmp(path, "/memfd:", 7) != 0 && !strstr(path, " (deleted)");
}

void unwinder_add_map(struct unwinder *u, uint32_t pid, const char *path, uint64_t start, uint64_t len,
		      uint64_t pgoff)
{
	if (!unwindable_path(path))
		return;
	struct uproc *p = proc_get(u, pid, true);
	for (size_t i = 0; i < p->maps.n; i++)
		if (p->maps.v[i].start == start && strcmp(p->maps.v[i].path, path) == 0)
			return;
	vec_push(&p->maps, ((struct umap){ xstrdup(path), start, len, pgoff, false }));
	p->unreported++;
}

void unwinder_fork(struct unwinder *u, uint32_t pid, uint32_t ppid)
{
	struct uproc *parent = proc_get(u, ppid, false);
	if (!parent || proc_get(u, pid, false))
		return;
	for (size_t i = 0; i < parent->maps.n; i++) {
		const struct umap *m = &parent->maps.v[i];
		unwinder_add_map(u, pid, m->path, m->start, m->len, m->pgoff);
	}
}

void unwinder_exec(struct unwinder *u, uint32_t pid)
{
	for (size_t i = 0; i < u->procs.n; i++)
		if (u->procs.v[i]->pid == pid) {
			uproc_free(u->procs.v[i]);
			u->procs.v[i] = u->procs.v[--u->procs.n];
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
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
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
	const struct ucur *c = arg;
	/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then rip (16). */
	static const int perf_of_dwarf[16] = { P_AX, P_DX, P_CX, P_BX, P_SI, P_DI, P_BP, P_SP,
					       P_R8, P_R8 + 1, P_R8 + 2, P_R8 + 3, P_R8 + 4, P_R8 + 5, P_R8 + 6, P_R8 + 7 };
	Dwarf_Word w[17];
	for (int i = 0; i < 16; i++)
		w[i] = reg_of(c, perf_of_dwarf[i]);
	w[16] = reg_of(c, P_IP);
	return dwfl_thread_state_registers(thread, 0, 17, w);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

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
		uint64_t bias;
		if (!map_bias(m->path, m->start, m->pgoff, &bias))
			continue;
		const char *base = strrchr(m->path, '/');
		/* Overlaps (a re-mapped library) are refused by libdwfl; skipping
		 * them keeps the older module, which is right for older samples. */
		(void)dwfl_report_elf(p->dwfl, base ? base + 1 : m->path, m->path, -1, bias, false);
	}
	p->unreported = 0;
	dwfl_report_end(p->dwfl, NULL, NULL);
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
	if (c->n >= c->max)
		return DWARF_CB_ABORT;
	c->pcs[c->n] = pc;
	c->exact[c->n] = activation;
	c->n++;
	return DWARF_CB_OK;
}

int unwinder_unwind(struct unwinder *u, uint32_t pid, uint32_t tid, const uint64_t *regs, size_t nregs,
		    const uint8_t *stack, size_t stack_len, bool whole_stack, uint64_t *pcs, bool *exact, int max,
		    bool *truncated)
{
	*truncated = false;
	u->st.samples++;
	struct uproc *p = proc_get(u, pid, true);
	report_new_maps(u, p);
	u->cur = (struct ucur){ .regs = regs, .nregs = nregs, .stack = stack, .stack_len = stack_len,
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
	int rc = dwfl_getthread_frames(p->dwfl, (pid_t)tid, frame_cb, &u->cur);
	if (u->cur.n == 0 && max > 0) {
		pcs[0] = reg_of(&u->cur, P_IP);
		exact[0] = true;
		u->cur.n = 1;
		u->st.failed++;
	}
	/* The walk needed stack above a copy that stopped short of the stack's
	 * end: the stack was deeper than the dump. libdw ends such a walk
	 * either with an error or, when only the return address was
	 * unreadable, as if it were the outermost frame, so rc says nothing. */
	(void)rc;
	if ((u->cur.hit_stack_end && !whole_stack) || u->cur.n >= max) {
		*truncated = true;
		u->st.truncated++;
	}
	u->st.frames += (uint64_t)u->cur.n;
	return u->cur.n;
}

void unwinder_get_stats(const struct unwinder *u, struct unwinder_stats *ret)
{
	*ret = u->st;
}
