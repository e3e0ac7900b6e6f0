/*
 * disasm.c - libcapstone behind include/cprof/disasm.h.
 *
 * Capstone 4.0.2 facts this relies on (checked on our machines): an
 * undecodable byte makes cs_disasm_iter() return false with cs_errno()
 * still CS_ERR_OK, so the caller must skip ahead itself; AArch64 bl and blr
 * are in the JUMP group, not CALL, so calls are told apart by mnemonic
 * there; the direct destination of a jump or call is its last immediate
 * operand, already absolute.
 *
 * The library is opened on first use, not linked: its 77,000 relocations
 * cost every cprof command about 5 ms at start-up (measured: an empty
 * program linked with it starts in 8.2 ms instead of 2.8), and only
 * annotate and record's saving of hot code disassemble.
 */
#include "config.h"

#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_CAPSTONE
#include <capstone/capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#endif

#include "cprof/disasm.h"

const char *const disasm_syntax_names[] = { "intel", "att", NULL };

const char *disasm_machine_name(unsigned machine)
{
	return machine == EM_X86_64 ? "x86-64" : machine == EM_AARCH64 ? "AArch64" : NULL;
}

#ifdef HAVE_CAPSTONE

static void invalid_text(struct disasm_insn *in, const uint8_t *code, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, ".byte ");
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&sb, "%s0x%02x", i ? ", " : "", code[i]);
	snprintf(in->text, sizeof in->text, "%s", sb.buf);
	sbuf_release(&sb);
}

struct disasm {
	csh h;
	cs_insn *insn;
	unsigned machine;
};

/* The library's soname, from the major version of the headers built with. */
#define CS_STR_(x) #x
#define CS_STR(x) CS_STR_(x)
#define CS_SONAME "libcapstone.so." CS_STR(CS_API_MAJOR)

/* The calls used, looked up once (cs_load); every call below goes through
 * it, so none can run before the library is there. */
static struct {
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	cs_insn *(*malloc)(csh);
	void (*free)(cs_insn *, size_t);
	cs_err (*close)(csh *);
	cs_err (*errno_)(csh);
	const char *(*strerror)(cs_err);
	bool (*insn_group)(csh, const cs_insn *, unsigned int);
	bool (*disasm_iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
} cs;
static bool cs_ok;
static char cs_why[256];
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

static void cs_load_once(void)
{
	void *h = dlopen(CS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(cs_why, sizeof cs_why, "cannot load %s (%s); install the package that has it (Debian: libcapstone%d)",
			 CS_SONAME, e ? e : "unknown error", CS_API_MAJOR);
		return;
	}
	static const struct {
		const char *name;
		void **slot;
	} fns[] = {
		{ "cs_open", (void **)&cs.open }, { "cs_option", (void **)&cs.option },
		{ "cs_malloc", (void **)&cs.malloc }, { "cs_free", (void **)&cs.free },
		{ "cs_close", (void **)&cs.close }, { "cs_errno", (void **)&cs.errno_ },
		{ "cs_strerror", (void **)&cs.strerror }, { "cs_insn_group", (void **)&cs.insn_group },
		{ "cs_disasm_iter", (void **)&cs.disasm_iter },
	};
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		*fns[i].slot = dlsym(h, fns[i].name);
		if (!*fns[i].slot) {
			snprintf(cs_why, sizeof cs_why, "%s has no %s: not the capstone %d this cprof was built with",
				 CS_SONAME, fns[i].name, CS_API_MAJOR);
			return; /* the handle stays open: cheap, and nothing else uses it */
		}
	}
	cs_ok = true;
}

/* 0 once the library is loaded, or -ENOTSUP and why. */
static int cs_load(struct cprof_err *err)
{
	if (pthread_once(&cs_once, cs_load_once) != 0)
		return err_set(err, ENOTSUP, "libcapstone: could not be loaded");
	return cs_ok ? 0 : err_set(err, ENOTSUP, "libcapstone: %s", cs_why);
}

bool disasm_available(void)
{
	return true;
}

int disasm_cs_error(struct cprof_err *err, const char *call, int cs_error)
{
	int code = cs_error == CS_ERR_MEM ? ENOMEM
		 : cs_error == CS_ERR_ARCH || cs_error == CS_ERR_MODE || cs_error == CS_ERR_X86_ATT ||
				   cs_error == CS_ERR_X86_INTEL || cs_error == CS_ERR_OPTION
			 ? ENOTSUP
			 : EIO;
	if (!cs_ok)
		return err_set(err, code, "libcapstone: %s: error %d", call, cs_error);
	return err_set(err, code, "libcapstone: %s: %s", call, cs.strerror((cs_err)cs_error));
}

int disasm_open(struct disasm **ret, unsigned machine, enum disasm_syntax syntax, struct cprof_err *err)
{
	cs_arch arch;
	cs_mode mode;
	*ret = NULL;
	if (machine == EM_X86_64) {
		arch = CS_ARCH_X86;
		mode = CS_MODE_64;
	} else if (machine == EM_AARCH64) {
		arch = CS_ARCH_ARM64;
		mode = CS_MODE_ARM;
	} else {
		return err_set(err, ENOTSUP, "no disassembler for ELF machine %u (annotate knows x86-64 and AArch64)",
			       machine);
	}
	int r = cs_load(err);
	if (r < 0)
		return r;
	struct disasm *d = xcalloc(1, sizeof *d);
	d->machine = machine;
	cs_err e = cs.open(arch, mode, &d->h);
	if (e != CS_ERR_OK) {
		free(d);
		return disasm_cs_error(err, "cs_open", e);
	}
	if ((e = cs.option(d->h, CS_OPT_DETAIL, CS_OPT_ON)) != CS_ERR_OK ||
	    (arch == CS_ARCH_X86 &&
	     (e = cs.option(d->h, CS_OPT_SYNTAX, syntax == DISASM_ATT ? CS_OPT_SYNTAX_ATT : CS_OPT_SYNTAX_INTEL)) !=
		     CS_ERR_OK)) {
		cs.close(&d->h);
		free(d);
		return disasm_cs_error(err, "cs_option", e);
	}
	d->insn = cs.malloc(d->h);
	if (!d->insn) {
		e = cs.errno_(d->h);
		cs.close(&d->h);
		free(d);
		return disasm_cs_error(err, "cs_malloc", e == CS_ERR_OK ? CS_ERR_MEM : e);
	}
	*ret = d;
	return 0;
}

void disasm_close(struct disasm *d)
{
	if (!d)
		return;
	cs.free(d->insn, 1);
	cs.close(&d->h);
	free(d);
}

static void classify(struct disasm *d, const cs_insn *in, struct disasm_insn *out)
{
	bool jump = cs.insn_group(d->h, in, CS_GRP_JUMP), call = cs.insn_group(d->h, in, CS_GRP_CALL);
	if (d->machine == EM_AARCH64 && (strcmp(in->mnemonic, "bl") == 0 || strncmp(in->mnemonic, "blr", 3) == 0)) {
		call = true;
		jump = false;
	}
	out->kind = call ? DISASM_CALL : jump ? DISASM_JUMP : cs.insn_group(d->h, in, CS_GRP_RET) ? DISASM_RET
											  : DISASM_OTHER;
	if (out->kind != DISASM_CALL && out->kind != DISASM_JUMP)
		return;
	if (d->machine == EM_X86_64) {
		const cs_x86 *x = &in->detail->x86;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			out->has_target = true;
			out->target = (uint64_t)x->operands[0].imm;
		}
	} else {
		const cs_arm64 *a = &in->detail->arm64;
		if (a->op_count >= 1 && a->operands[a->op_count - 1].type == ARM64_OP_IMM &&
		    cs.insn_group(d->h, in, CS_GRP_BRANCH_RELATIVE)) {
			out->has_target = true;
			out->target = (uint64_t)a->operands[a->op_count - 1].imm;
		}
	}
}

int disasm_one(struct disasm *d, const uint8_t *code, size_t len, uint64_t addr, struct disasm_insn *ret,
	       struct cprof_err *err)
{
	memset(ret, 0, sizeof *ret);
	ret->addr = addr;
	if (!len)
		return err_set(err, EINVAL, "nothing to disassemble at 0x%llx", (unsigned long long)addr);
	const uint8_t *p = code;
	size_t n = len;
	uint64_t a = addr;
	if (!cs.disasm_iter(d->h, &p, &n, &a, d->insn)) {
		cs_err e = cs.errno_(d->h);
		if (e != CS_ERR_OK)
			return disasm_cs_error(err, "cs_disasm_iter", e);
		/* Not an instruction: one byte on x86 (the next may start one),
		 * one instruction word on AArch64. */
		size_t unit = d->machine == EM_AARCH64 ? 4 : 1;
		ret->size = (uint32_t)(len < unit ? len : unit);
		ret->invalid = true;
		invalid_text(ret, code, ret->size);
		return 0;
	}
	const cs_insn *in = d->insn;
	ret->size = in->size;
	if (*in->op_str)
		snprintf(ret->text, sizeof ret->text, "%-7s %s", in->mnemonic, in->op_str);
	else
		snprintf(ret->text, sizeof ret->text, "%s", in->mnemonic);
	classify(d, in, ret);
	return 0;
}

int disasm_insn_starts(unsigned machine, const uint8_t *code, uint32_t len, uint32_t **ret, struct cprof_err *err)
{
	struct disasm *d;
	*ret = NULL;
	int r = disasm_open(&d, machine, DISASM_INTEL, err);
	if (r < 0)
		return r;
	cs_err e = cs.option(d->h, CS_OPT_DETAIL, CS_OPT_OFF);
	if (e != CS_ERR_OK) {
		disasm_close(d);
		return disasm_cs_error(err, "cs_option", e);
	}
	VEC(uint32_t) out = { 0 };
	size_t unit = machine == EM_AARCH64 ? 4 : 1;
	const uint8_t *p = code;
	size_t n = len;
	uint64_t a = 0;
	while (n) {
		vec_push(&out, (uint32_t)(p - code));
		if (cs.disasm_iter(d->h, &p, &n, &a, d->insn))
			continue;
		if ((e = cs.errno_(d->h)) != CS_ERR_OK) {
			vec_release(&out);
			disasm_close(d);
			return disasm_cs_error(err, "cs_disasm_iter", e);
		}
		size_t skip = n < unit ? n : unit;
		p += skip;
		n -= skip;
		a += skip;
	}
	vec_push(&out, len);
	disasm_close(d);
	*ret = out.v;
	return (int)out.n - 1;
}

#else /* !HAVE_CAPSTONE */

struct disasm {
	int unused;
};

bool disasm_available(void)
{
	return false;
}

int disasm_cs_error(struct cprof_err *err, const char *call, int cs_error)
{
	return err_set(err, ENOTSUP, "libcapstone: %s: error %d", call, cs_error);
}

int disasm_open(struct disasm **ret, unsigned machine, enum disasm_syntax syntax, struct cprof_err *err)
{
	*ret = NULL;
	return err_set(err, ENOTSUP, "this cprof was built without libcapstone, so it cannot disassemble "
				     "(install libcapstone-dev and rebuild)");
}

void disasm_close(struct disasm *d)
{
	free(d);
}

int disasm_one(struct disasm *d, const uint8_t *code, size_t len, uint64_t addr, struct disasm_insn *ret,
	       struct cprof_err *err)
{
	memset(ret, 0, sizeof *ret);
	return err_set(err, ENOTSUP, "this cprof was built without libcapstone");
}

int disasm_insn_starts(unsigned machine, const uint8_t *code, uint32_t len, uint32_t **ret, struct cprof_err *err)
{
	*ret = NULL;
	return err_set(err, ENOTSUP, "this cprof was built without libcapstone");
}

#endif

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int disasm_external_targets(unsigned machine, const uint8_t *code, uint32_t len, uint64_t start, uint64_t **ret,
			    struct cprof_err *err)
{
	struct disasm *d;
	*ret = NULL;
	int r = disasm_open(&d, machine, DISASM_INTEL, err);
	if (r < 0)
		return r;
	VEC(uint64_t) out = { 0 };
	struct disasm_insn in;
	for (uint32_t off = 0; off < len; off += in.size) {
		if ((r = disasm_one(d, code + off, len - off, start + off, &in, err)) < 0)
			break;
		if (in.has_target && (in.target < start || in.target - start >= len))
			vec_push(&out, in.target);
	}
	disasm_close(d);
	if (r < 0) {
		vec_release(&out);
		return r;
	}
	size_t n = 0;
	if (out.n) {
		qsort(out.v, out.n, sizeof *out.v, cmp_u64);
		for (size_t i = 0; i < out.n; i++)
			if (!n || out.v[n - 1] != out.v[i])
				out.v[n++] = out.v[i];
	}
	*ret = out.v;
	return (int)n;
}
