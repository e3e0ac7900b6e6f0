/*
 * test-demangle.c - the demangler on a table of real symbols.
 *
 * The Rust symbols come from binaries and libraries built with Debian's
 * rustc 1.63 and rustc 1.95 (their standard libraries, and test programs
 * built with -C symbol-mangling-version=v0 and legacy mangling). Every
 * expected name is what rustc's own demangler (the rustc-demangle crate
 * shipped in the Rust sysroot) prints for the symbol: "{:#}" for the short
 * form, "{}" for the full one. The C++ symbols are GCC's.
 */
#include "cprof/symbol.h"
#include "harness.h"

struct row {
	const char *sym, *name, *full; /* full: NULL when demangle_full() must return NULL */
};

static const struct row rows[] = {
	/* Rust legacy: a trait impl, and its hash */
	{ "_ZN34_$LT$r..Sq$u20$as$u20$r..Shape$GT$4area17h8de46f5cf6151e92E", "<r::Sq as r::Shape>::area",
	  "<r::Sq as r::Shape>::area::h8de46f5cf6151e92" },
	/* legacy: an inlined std function, as DW_AT_linkage_name has it */
	{ "_ZN78_$LT$core..ptr..non_null..NonNull$LT$T$GT$$u20$as$u20$core..cmp..PartialEq$GT$2eq17h021c947b496ea713E",
	  "<core::ptr::non_null::NonNull<T> as core::cmp::PartialEq>::eq",
	  "<core::ptr::non_null::NonNull<T> as core::cmp::PartialEq>::eq::h021c947b496ea713" },
	/* legacy: a generic type's trait impl */
	{ "_ZN104_$LT$core..iter..sources..from_fn..FromFn$LT$F$GT$$u20$as$u20$core..iter..traits..iterator..Iterator$GT$4next17h5029af7e7bac568fE",
	  "<core::iter::sources::from_fn::FromFn<F> as core::iter::traits::iterator::Iterator>::next",
	  "<core::iter::sources::from_fn::FromFn<F> as core::iter::traits::iterator::Iterator>::next::h5029af7e7bac568f" },
	/* legacy: a closure */
	{ "_ZN12panic_unwind8real_imp14find_eh_action28_$u7b$$u7b$closure$u7d$$u7d$17h385b3ff300586ab7E",
	  "panic_unwind::real_imp::find_eh_action::{{closure}}",
	  "panic_unwind::real_imp::find_eh_action::{{closure}}::h385b3ff300586ab7" },
	/* legacy: identifiers outside ASCII (mod gödel { fn schätzen }) */
	{ "_ZN6symtab9g$uf6$del12sch$ue4$tzen17h586689ccef6f7fceE", "symtab::g\xc3\xb6" "del::sch\xc3\xa4tzen",
	  "symtab::g\xc3\xb6" "del::sch\xc3\xa4tzen::h586689ccef6f7fce" },
	/* Rust v0: a trait impl on a primitive, with generic arguments */
	{ "_RNvXs1P_NtNtCsgEmfK2I1SDS_4core7convert3numdINtB8_4FrommE4from", "<f64 as core::convert::From<u32>>::from",
	  "<f64 as core[c1f1a4ba060b9bfa]::convert::From<u32>>::from" },
	/* v0: a monomorphized generic function */
	{ "_RINvCsi7GFBnvyxwE_1r11sum_genericfEB2_", "r::sum_generic::<f32>", "r[d319facf6e22082e]::sum_generic::<f32>" },
	{ "_RINvCsi7GFBnvyxwE_1r9black_boxRSfEB2_", "r::black_box::<&[f32]>", "r[d319facf6e22082e]::black_box::<&[f32]>" },
	/* v0: a closure as a generic argument */
	{ "_RINvNtCsjrHSEGnQ3l9_3std5panic12catch_unwindNCNvNtB4_2rt19lang_start_internal0iEB4_",
	  "std::panic::catch_unwind::<std::rt::lang_start_internal::{closure#0}, isize>",
	  "std[e28293b1aa0f68bd]::panic::catch_unwind::<std[e28293b1aa0f68bd]::rt::lang_start_internal::{closure#0}, isize>" },
	/* v0: trait impl and inherent impl of a user type */
	{ "_RNvXCsiI1X6fQw2Mq_6symtabNtB2_6SquareNtB2_5Shape4area", "<symtab::Square as symtab::Shape>::area",
	  "<symtab[d9edd9b902f39b24]::Square as symtab[d9edd9b902f39b24]::Shape>::area" },
	{ "_RNvMs_CsiI1X6fQw2Mq_6symtabINtB4_6MatrixpE3getB4_", "<symtab::Matrix<_>>::get",
	  "<symtab[d9edd9b902f39b24]::Matrix<_>>::get" },
	/* v0: punycode identifiers */
	{ "_RNvNtCsiI1X6fQw2Mq_6symtabu8gdel_5qau11schtzen_7wa", "symtab::g\xc3\xb6" "del::sch\xc3\xa4tzen",
	  "symtab[d9edd9b902f39b24]::g\xc3\xb6" "del::sch\xc3\xa4tzen" },
	/* v0: a trait object */
	{ "_RINvNtCs6IL9ONYDOZW_4core3ptr13drop_in_placeINtNtCsihNoVIYWwLU_5alloc5boxed3BoxDNtCsi7GFBnvyxwE_1r5ShapeEL_EEB1i_",
	  "core::ptr::drop_in_place::<alloc::boxed::Box<dyn r::Shape>>",
	  "core[4e4b6e9a9c4c4a32]::ptr::drop_in_place::<alloc[d500228d23c6cfcc]::boxed::Box<dyn r[d319facf6e22082e]::Shape>>" },
	/* v0: a vtable shim of a closure, tuples and references */
	{ "_RNSNvYNCINvMs0_NtNtCsjrHSEGnQ3l9_3std4sync4onceNtBd_4Once9call_onceNCNvNtBh_2rt7cleanup0E0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceTRNtBd_9OnceStateEE9call_once6vtableBh_",
	  "<<std::sync::once::Once>::call_once<std::rt::cleanup::{closure#0}>::{closure#0} as "
	  "core::ops::function::FnOnce<(&std::sync::once::OnceState,)>>::call_once::{shim:vtable#0}",
	  "<<std[e28293b1aa0f68bd]::sync::once::Once>::call_once<std[e28293b1aa0f68bd]::rt::cleanup::{closure#0}>::{closure#0} as "
	  "core[c1f1a4ba060b9bfa]::ops::function::FnOnce<(&std[e28293b1aa0f68bd]::sync::once::OnceState,)>>::call_once::{shim:vtable#0}" },
	/* v0 with LLVM's suffix for a promoted local symbol */
	{ "_RINvNtCs6IL9ONYDOZW_4core3ptr13drop_in_placeNCINvNtCsdyIG5SqMl5y_3std2rt10lang_startuE0ECsi7GFBnvyxwE_1r.llvm.8417999949685611385",
	  "core::ptr::drop_in_place::<std::rt::lang_start<()>::{closure#0}>",
	  "core[4e4b6e9a9c4c4a32]::ptr::drop_in_place::<std[9df11b70ee34264e]::rt::lang_start<()>::{closure#0}>" },
	/* C++: no full form (verbose mode would spell out std::string) */
	{ "_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector<int, std::allocator<int> >::push_back(int const&)", NULL },
	{ "_ZNKSs4sizeEv", "std::string::size() const", NULL },
	{ "_ZN6engine6Solver4stepEm", "engine::Solver::step(unsigned long)", NULL },
	/* D, by the D ABI's rules */
	{ "_D3foo3barFiZv", "foo.bar(int)", NULL },
};

TEST(table)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		char *name = demangle(r->sym), *full = demangle_full(r->sym);
		if (!name || strcmp(name, r->name) != 0)
			FAIL_("demangle(%s)\n  got  %s\n  want %s", r->sym, name ? name : "(null)", r->name);
		if (r->full ? !full || strcmp(full, r->full) != 0 : full != NULL)
			FAIL_("demangle_full(%s)\n  got  %s\n  want %s", r->sym, full ? full : "(null)",
			      r->full ? r->full : "(null)");
		free(name);
		free(full);
	}
	printf("%zu symbols\n", ARRAY_SIZE(rows));
}

/* The const generic's short form agrees with rustc; the full form is
 * spelled "10: usize" by libiberty where rustc writes "10usize". */
TEST(const_generic)
{
	const char *sym = "_RINvNtCsgEmfK2I1SDS_4core6escape14escape_unicodeKja_ECsgY6Mt91CT9J_14rustc_demangle";
	char *name = demangle(sym), *full = demangle_full(sym);
	ASSERT_STREQ(name, "core::escape::escape_unicode::<10>");
	ASSERT(full && strstr(full, "core[c1f1a4ba060b9bfa]::escape::escape_unicode::<10"));
	free(name);
	free(full);
}

TEST(not_mangled)
{
	static const char *const plain[] = {
		"main", "hot_loop", "main.(*Engine).HotLoop", "runtime.goexit.abi0", /* C, Go */
		"$s4main3fooyyF", /* Swift: not decoded */
		"_Zgarbage!", "_R", "_RNvC", "_ZN3foo", "_D", "_", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		char *d = demangle(plain[i]);
		if (d)
			FAIL_("demangle(%s) = %s, want NULL", plain[i], d);
		ASSERT(demangle_full(plain[i]) == NULL);
	}
}

/* Escapes that are not characters stay as they are. */
TEST(bad_escapes)
{
	char *d = demangle("_ZN3foo9a$ud800$b17h0123456789abcdefE"); /* a surrogate */
	ASSERT(d && strstr(d, "$ud800$"));
	free(d);
}

RUN_TESTS(T(table), T(const_generic), T(not_mangled), T(bad_escapes))
