/*
 * funcindex.c - per-binary lookup tables for symbol names and inline
 * chains, built once and searched per address.
 *
 * Why: libdw answers each question with a linear walk. dwfl_module_addrinfo
 * scans the whole symbol table, and dwarf_getscopes plus
 * dwarf_getscopes_die walk the compile unit's DIE tree twice, for every
 * address. On a large binary with full debug info (python3.11-dbg: 14 MB of
 * .debug_info) that is about 0.4 ms per unique address and dominated the
 * finishing pass. Sorting the symbols once, and walking each compile unit
 * once into a table of function and inline ranges, makes each later lookup
 * a binary search plus a short scan.
 *
 * One file: the symbol, compile-unit and inline tables are one index per
 * libdwfl module, filled lazily by the lookups that need each, and a
 * sample's lookup goes through all three.
 */
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/version.h>

#include "symbol-internal.h"

struct fsym {
	uint64_t addr, size;
	uint64_t sec_end; /* end of its section: bounds a sizeless symbol */
	const char *name; /* owned by libdw's symbol table, lives with the module */
	int rank;         /* binding preference at equal addresses: global > weak > local */
};

/* A subprogram or inlined subroutine with code, and the one it sits in.
 * The DIE is kept as its offset, not as a Dwarf_Die (32 bytes): a large
 * Rust binary has hundreds of thousands of these, and only the few on a
 * sampled inline chain are ever looked at again. */
struct fnode {
	Dwarf_Off off;
	int32_t parent; /* index in cu_table.nodes, -1 for an outermost function */
	uint32_t depth;
};

struct frange {
	uint64_t lo, hi;
	uint32_t node, top; /* top: the outermost function node holding it */
};

struct cu_table {
	Dwarf_Off cu_off;
	Dwarf *dw; /* the file the unit's DIEs are in */
	VEC(struct fnode) nodes;
	VEC(struct frange) tops;  /* ranges of outermost functions, sorted by lo */
	VEC(struct frange) inner; /* ranges of the rest, sorted by (top, lo) */
	VEC(uint32_t) inner_first; /* per node: first index in inner with that top (nodes.n + 1 entries) */
};

/* A compile unit's address range, for binaries without .debug_aranges. */
struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off die_off;
};

struct func_index {
	Dwfl_Module *mod;
	VEC(struct fsym) syms; /* sorted by addr */
	bool syms_loaded;
	VEC(struct cu_range) cu_ranges; /* sorted by lo */
	bool cu_ranges_loaded;
	VEC(struct func_cu_run) runs; /* libdwfl's table (func_index_cu_runs()) */
	uint64_t runs_end;
	bool runs_given; /* from the symbol cache: answer from it, not libdwfl */
	bool runs_taken; /* from libdw, after libdwfl read them */
	Dwarf *dw;
	Dwarf_Addr dw_bias;
	VEC(struct cu_table *) cus;
	struct cu_table *last_cu;
};

struct func_index *func_index_new(Dwfl_Module *mod)
{
	struct func_index *f = xcalloc(1, sizeof *f);
	f->mod = mod;
	return f;
}

static void cu_table_free(struct cu_table *t)
{
	vec_release(&t->nodes);
	vec_release(&t->tops);
	vec_release(&t->inner);
	vec_release(&t->inner_first);
	free(t);
}

void func_index_free(struct func_index *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->cus.n; i++)
		cu_table_free(f->cus.v[i]);
	vec_release(&f->cus);
	vec_release(&f->syms);
	vec_release(&f->cu_ranges);
	vec_release(&f->runs);
	free(f);
}

/* ---- symbols ---- */

static size_t leading_underscores(const char *s)
{
	return strspn(s, "_");
}

/* At one address, the name perf would show first: a sized symbol; global,
 * then weak, then local; fewer leading underscores (fstatat64, not __GI___fstatat64);
 * the longer name (fstatat64, not fstatat); the larger symbol. Without
 * the last rules an alias was picked by its place in the symbol table. */
static int cmp_fsym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size != 0) != (y->size != 0))
		return x->size ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1; /* preferred first */
	size_t ux = leading_underscores(x->name), uy = leading_underscores(y->name);
	if (ux != uy)
		return ux < uy ? -1 : 1;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (x->size != y->size)
		return (x->size < y->size) - (x->size > y->size); /* larger first */
	return strcmp(x->name, y->name);
}

static void load_syms(struct func_index *f)
{
	f->syms_loaded = true;
	int n = dwfl_module_getsymtab(f->mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		Dwarf_Addr bias = 0;
		const char *name = dwfl_module_getsym_info(f->mod, i, &sym, &addr, &shndx, &elf, &bias);
		if (!name || !*name || !elf || shndx == SHN_UNDEF || shndx >= SHN_LORESERVE)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
			continue;
		/* Code only: markers such as _end or __bss_start are sizeless
		 * and would otherwise claim every address above them. */
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(elf, shndx);
		if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		uint64_t sec_end = sh.sh_addr + sh.sh_size + bias;
		int bind = GELF_ST_BIND(sym.st_info);
		int rank = bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
		vec_push(&f->syms, ((struct fsym){ .addr = addr, .size = sym.st_size, .sec_end = sec_end, .name = name, .rank = rank }));
	}
	if (f->syms.n)
		qsort(f->syms.v, f->syms.n, sizeof *f->syms.v, cmp_fsym);
}

/* The symbol covering addr: a sized one that contains it, else the nearest
 * sizeless one below it (hand-written assembly often has no sizes). */
static const struct fsym *symbol_at(struct func_index *f, uint64_t addr)
{
	if (!f->syms_loaded)
		load_syms(f);
	size_t lo = 0, hi = f->syms.n;
	while (lo < hi) { /* first symbol above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms.v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* Preferred entries come first at each address: step back to the first
	 * of the run, then look a little further down for a larger symbol
	 * (an alias or outer function) that still covers addr. */
	size_t i = lo - 1;
	while (i > 0 && f->syms.v[i - 1].addr == f->syms.v[i].addr)
		i--;
	const struct fsym *near = &f->syms.v[i];
	for (size_t k = i + 1, steps = 0; k-- > 0 && steps < 32; steps++) {
		const struct fsym *s = &f->syms.v[k];
		if (s->size && addr - s->addr < s->size)
			return s;
	}
	return near->size == 0 && addr < near->sec_end ? near : NULL;
}

const char *func_index_symbol(struct func_index *f, uint64_t addr)
{
	const struct fsym *s = symbol_at(f, addr);
	return s ? s->name : NULL;
}

size_t func_index_functions(struct func_index *f, struct sym_func **ret)
{
	if (!f->syms_loaded)
		load_syms(f);
	struct sym_func *v = xcalloc(f->syms.n ? f->syms.n : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < f->syms.n; i++) {
		const struct fsym *s = &f->syms.v[i];
		if (n && (v[n - 1].start == s->addr || (!s->size && s->addr - v[n - 1].start < v[n - 1].size)))
			continue; /* an alias, or a label inside the function before */
		uint64_t start, size = s->size;
		/* Sizeless (crtstuff's deregister_tm_clones and
		 * __do_global_dtors_aux, hand-written assembly): up to the next
		 * symbol, as symbol_at() answers for it. */
		if (!size && (!func_index_symbol_range(f, s->addr, &start, &size) || start != s->addr || !size))
			continue;
		v[n++] = (struct sym_func){ s->addr, size, s->size == 0 };
	}
	*ret = v;
	return n;
}

const char *func_index_symbol_range(struct func_index *f, uint64_t addr, uint64_t *start, uint64_t *size)
{
	const struct fsym *s = symbol_at(f, addr);
	if (!s)
		return NULL;
	*start = s->addr;
	*size = s->size;
	if (!s->size) {
		/* Sizeless: up to the next symbol above it, within its section. */
		uint64_t end = s->sec_end;
		for (size_t k = (size_t)(s - f->syms.v) + 1; k < f->syms.n; k++)
			if (f->syms.v[k].addr > s->addr) {
				if (f->syms.v[k].addr < end)
					end = f->syms.v[k].addr;
				break;
			}
		*size = end - s->addr;
	}
	return s->name;
}

/* ---- compile units ---- */

static int cmp_cu_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void load_cu_ranges(struct func_index *f)
{
	f->cu_ranges_loaded = true;
	f->dw = dwfl_module_getdwarf(f->mod, &f->dw_bias);
	if (!f->dw)
		return;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(f->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(f->dw, off + hsize, &cu)) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t r = 0;
			while ((r = dwarf_ranges(&cu, r, &base, &lo, &hi)) > 0)
				if (hi > lo)
					vec_push(&f->cu_ranges, ((struct cu_range){ .lo = lo, .hi = hi,
										    .die_off = off + hsize }));
		}
		off = next;
	}
	if (f->cu_ranges.n)
		qsort(f->cu_ranges.v, f->cu_ranges.n, sizeof *f->cu_ranges.v, cmp_cu_range);
}

/*
 * libdwfl's address-to-unit table, kept and searched as libdwfl does
 * (elfutils 0.188, libdwfl/cu.c): .debug_aranges sorted by address, one
 * run per stretch of entries of one unit (the gaps inside a run, and
 * between runs, count as the run's unit), the last run ending where the
 * last entry ends. The search below is its search, step for step, so a
 * unit found here is the one dwfl_module_addrdie() would return. Later
 * elfutils build the table from the units themselves when
 * .debug_aranges is incomplete; there the table is neither kept nor used.
 */
#define RUNS_AS_LIBDWFL (_ELFUTILS_VERSION <= 190)

void func_index_set_cu_runs(struct func_index *f, struct func_cu_run *runs, size_t n, uint64_t end)
{
	vec_release(&f->runs);
	f->runs.v = runs;
	f->runs.n = f->runs.cap = n;
	f->runs_end = end;
	f->runs_given = RUNS_AS_LIBDWFL && n > 0;
}

bool func_index_cu_runs(const struct func_index *f, const struct func_cu_run **runs, size_t *n, uint64_t *end)
{
	*runs = f->runs.v;
	*n = f->runs.n;
	*end = f->runs_end;
	return f->runs.n > 0;
}

/* After libdwfl read .debug_aranges (dwfl_module_addrdie()): its table,
 * from libdw's copy of the entries. */
static void take_runs(struct func_index *f)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(f->mod, &bias);
	Dwarf_Aranges *ar;
	size_t n;
	if (!RUNS_AS_LIBDWFL || !dw || dwarf_getaranges(dw, &ar, &n) != 0)
		return;
	Dwarf_Off last = 0;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Addr addr;
		Dwarf_Word len;
		Dwarf_Off off;
		if (dwarf_getarangeinfo(dwarf_onearange(ar, i), &addr, &len, &off) != 0) {
			f->runs.n = 0;
			return;
		}
		if (i == 0 || off != last)
			vec_push(&f->runs, ((struct func_cu_run){ addr, off }));
		last = off;
		f->runs_end = addr + len;
	}
}

static bool runs_find(const struct func_index *f, uint64_t a, size_t *ret)
{
	size_t l = 0, u = f->runs.n;
	while (l < u) {
		size_t i = (l + u) / 2;
		uint64_t start = f->runs.v[i].start;
		if (a < start) {
			u = i;
			continue;
		}
		if (a > start) {
			if (i + 1 < f->runs.n) {
				if (a >= f->runs.v[i + 1].start) {
					l = i + 1;
					continue;
				}
			} else if (a > f->runs_end) {
				break; /* past the last entry's end (libdwfl's test, end included) */
			}
		}
		*ret = i;
		return true;
	}
	return false;
}

/* libdwfl finds a compile unit through .debug_aranges only (elfutils
 * 0.188; later versions derive the table from the units when the section
 * is missing). Go writes no .debug_aranges, and neither does clang by
 * default, so without this no address in such a binary had a compile
 * unit: no source lines and no inline frames. The units' own ranges are
 * read once, on the first address libdwfl cannot place. */
Dwarf_Die *func_index_cu(struct func_index *f, uint64_t addr, Dwarf_Addr *bias, Dwarf_Die *storage)
{
	if (f->runs_given) {
		Dwarf_Addr b;
		Dwarf *dw = dwfl_module_getdwarf(f->mod, &b);
		size_t i;
		if (dw && runs_find(f, addr - b, &i) && dwarf_offdie(dw, f->runs.v[i].cu_off, storage)) {
			*bias = b;
			return storage;
		}
	} else {
		Dwarf_Die *cu = dwfl_module_addrdie(f->mod, addr, bias);
		if (!f->runs_taken) {
			f->runs_taken = true;
			take_runs(f);
		}
		if (cu)
			return cu;
	}
	if (!f->cu_ranges_loaded)
		load_cu_ranges(f);
	if (!f->cu_ranges.n)
		return NULL;
	uint64_t a = addr - f->dw_bias;
	size_t lo = 0, hi = f->cu_ranges.n;
	while (lo < hi) { /* first range starting above a */
		size_t mid = lo + (hi - lo) / 2;
		if (f->cu_ranges.v[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo, steps = 0; k-- > 0 && steps < 16; steps++) {
		const struct cu_range *r = &f->cu_ranges.v[k];
		if (a < r->hi && dwarf_offdie(f->dw, r->die_off, storage)) {
			*bias = f->dw_bias;
			return storage;
		}
	}
	return NULL;
}

Dwarf_Line *func_index_line(struct func_index *f, uint64_t addr)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die storage;
	Dwarf_Die *cu = func_index_cu(f, addr, &bias, &storage);
	return cu ? dwarf_getsrc_die(cu, addr - bias) : NULL;
}

/* ---- inline chains ---- */

static void add_node_ranges(struct cu_table *t, Dwarf_Die *die, uint32_t node, uint32_t top)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		struct frange r = { .lo = lo, .hi = hi, .node = node, .top = top };
		if (node == top)
			vec_push(&t->tops, r);
		else
			vec_push(&t->inner, r);
	}
}

static bool has_code(Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	return dwarf_ranges(die, 0, &base, &lo, &hi) > 0;
}

/* Depth-first over the CU: every subprogram with code starts an outermost
 * function (nested functions have their own code), every inlined
 * subroutine hangs under the function or inline instance it sits in. */
static void walk(struct cu_table *t, Dwarf_Die *die, int32_t parent, int32_t top, uint32_t depth, int level)
{
	Dwarf_Die child;
	if (level > 256 || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		int32_t p = parent, tp = top;
		uint32_t d = depth;
		if ((tag == DW_TAG_subprogram || (tag == DW_TAG_inlined_subroutine && top >= 0)) && has_code(&child)) {
			uint32_t id = (uint32_t)t->nodes.n;
			bool outer = tag == DW_TAG_subprogram;
			vec_push(&t->nodes, ((struct fnode){ .off = dwarf_dieoffset(&child), .parent = outer ? -1 : parent,
							       .depth = outer ? 0 : depth + 1 }));
			tp = outer ? (int32_t)id : top;
			add_node_ranges(t, &child, id, (uint32_t)tp);
			p = (int32_t)id;
			d = t->nodes.v[id].depth;
		}
		walk(t, &child, p, tp, d, level + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int cmp_top(const void *a, const void *b)
{
	const struct frange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_inner(const void *a, const void *b)
{
	const struct frange *x = a, *y = b;
	if (x->top != y->top)
		return x->top < y->top ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

#define SHRINK(vec) \
	((vec)->n ? ((vec)->v = xrealloc((vec)->v, (vec)->n * sizeof *(vec)->v), (vec)->cap = (vec)->n) : 0)

static struct cu_table *cu_table_build(Dwarf_Die *cu)
{
	struct cu_table *t = xcalloc(1, sizeof *t);
	t->cu_off = dwarf_dieoffset(cu);
	t->dw = dwarf_cu_getdwarf(cu->cu);
	walk(t, cu, -1, -1, 0, 0);
	/* Kept for the whole run: give back what growing by doubling left over. */
	SHRINK(&t->nodes);
	SHRINK(&t->tops);
	SHRINK(&t->inner);
	if (t->tops.n)
		qsort(t->tops.v, t->tops.n, sizeof *t->tops.v, cmp_top);
	if (t->inner.n)
		qsort(t->inner.v, t->inner.n, sizeof *t->inner.v, cmp_inner);
	vec_reserve(&t->inner_first, t->nodes.n + 1);
	size_t k = 0;
	for (size_t node = 0; node <= t->nodes.n; node++) {
		while (k < t->inner.n && t->inner.v[k].top < node)
			k++;
		t->inner_first.v[t->inner_first.n++] = (uint32_t)k;
	}
	return t;
}

static struct cu_table *cu_table_get(struct func_index *f, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	if (f->last_cu && f->last_cu->cu_off == off)
		return f->last_cu;
	for (size_t i = 0; i < f->cus.n; i++)
		if (f->cus.v[i]->cu_off == off)
			return f->last_cu = f->cus.v[i];
	struct cu_table *t = cu_table_build(cu);
	vec_push(&f->cus, t);
	return f->last_cu = t;
}

int func_index_chain(struct func_index *f, Dwarf_Die *cu, uint64_t addr, Dwarf_Die *chain, int max)
{
	struct cu_table *t = cu_table_get(f, cu);
	/* The outermost function: the last top range starting at or below
	 * addr that contains it (nested functions may overlap; prefer the
	 * innermost, i.e. the one that starts last). */
	size_t lo = 0, hi = t->tops.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->tops.v[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct frange *top = NULL;
	for (size_t k = lo, steps = 0; k-- > 0 && steps < 64; steps++)
		if (addr < t->tops.v[k].hi) {
			top = &t->tops.v[k];
			break;
		}
	if (!top)
		return 0;
	/* The deepest inline instance of that function containing addr. */
	uint32_t best = top->node, best_depth = 0;
	for (uint32_t k = t->inner_first.v[top->node]; k < t->inner_first.v[top->node + 1]; k++) {
		const struct frange *r = &t->inner.v[k];
		if (r->lo > addr)
			break;
		if (addr < r->hi && t->nodes.v[r->node].depth > best_depth) {
			best = r->node;
			best_depth = t->nodes.v[r->node].depth;
		}
	}
	int n = 0;
	for (int32_t node = (int32_t)best; node >= 0 && n < max; node = t->nodes.v[node].parent)
		if (dwarf_offdie(t->dw, t->nodes.v[node].off, &chain[n]))
			n++;
	return n;
}

int func_index_inlines(struct func_index *f, Dwarf_Die *cu, uint64_t addr, func_index_inline_fn fn, void *ctx)
{
	struct cu_table *t = cu_table_get(f, cu);
	/* The outermost function holding addr, found as in func_index_chain. */
	const struct frange *top = NULL;
	for (size_t k = t->tops.n, steps = 0; k-- > 0 && steps < t->tops.n; steps++)
		if (t->tops.v[k].lo <= addr && addr < t->tops.v[k].hi) {
			top = &t->tops.v[k];
			break;
		}
	if (!top)
		return 0;
	int n = 0;
	for (uint32_t k = t->inner_first.v[top->node]; k < t->inner_first.v[top->node + 1]; k++) {
		const struct frange *r = &t->inner.v[k];
		const struct fnode *node = &t->nodes.v[r->node];
		Dwarf_Die die;
		if (!dwarf_offdie(t->dw, node->off, &die))
			continue;
		fn(ctx, &die, r->lo, r->hi, node->depth);
		n++;
	}
	return n;
}
