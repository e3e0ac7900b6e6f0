#!/bin/bash
# t-rust.sh - a Rust program profiled as well as C: exact demangled names
# for legacy and v0 symbols (trait objects, monomorphized generics),
# inlined standard library functions as frames named from their linkage
# names, source lines, call paths, hashes only with --full-names, and the
# same top functions as perf report.
. "$(dirname "$0")/test-lib.sh"
[ -x "$WORKLOADS/rustwork" ] && [ -x "$WORKLOADS/rustwork-v0" ] ||
	skip "rustc was not found when the tests were built"
src="$SRCDIR/tests/workloads/rustwork.rs"

# FIELD of function NAME in FILE's JSON report (empty if absent); more
# report options may follow.
fn_field() { # FILE NAME FIELD [OPTION...]
	python3 - "$@" <<'PY'
import json, os, subprocess, sys
path, name, field = sys.argv[1:4]
out = subprocess.run([os.environ["CPROF"], "report", "-i", path, "--format", "json"] + sys.argv[4:],
                     check=True, capture_output=True, text=True).stdout
for f in json.loads(out)["functions"]:
    if f["name"] == name:
        print(f[field])
        break
PY
}
above() { awk -v v="${1:-0}" -v m="$2" 'BEGIN { exit !(v + 0 > m) }'; }

mix='<rustwork::Mix as rustwork::Kernel>::run'
fold='<rustwork::Fold as rustwork::Kernel>::run'

# --- v0 mangling: generic arguments are part of the names ------------------
"$CPROF" record -g -q -o v0.data -- "$WORKLOADS/rustwork-v0" 6 >/dev/null
"$CPROF" report -i v0.data --format folded >v0.folded
for f in "$mix" "$fold" 'rustwork::sum_sq::<u32>' 'rustwork::sum_sq::<u16>'; do
	t=$(fn_field v0.data "$f" total_percent)
	check "v0: '$f' found by its exact name ($t%)" above "$t" 1
done
check "v0: rustwork::main on every stack" within "$(fn_field v0.data rustwork::main total_percent)" 100 3
# Which instruction of a loop catches the samples differs between CPUs and
# compilers (where the samples skid to): read_volatile's load in one of the
# three hot functions, instantiated for that function's T.
check "v0: call path main -> hot function -> inlined read::<T> -> inlined core::ptr::read_volatile::<T>" \
	grep -qE 'rustwork::main;[^;]+;rustwork::read::<(u64|u32|u16)>_\[i\];core::ptr::read_volatile::<\1>_\[i\] ' v0.folded
check "v0: inlined frames under each trait object method" \
	sh -c "grep -qF '$mix;' v0.folded && grep -qF '$fold;' v0.folded"
for ty in u16 u32; do
	check "v0: sum_sq::<$ty> has inlined standard library frames for <$ty>" \
		grep -qE "rustwork::sum_sq::<$ty>;[^;]*<$ty>[^;]*_\\[i\\]" v0.folded
done
check "v0: no mangled or half-decoded name left" sh -c "! grep -qE '(^|;)_(ZN|R[A-Z])|\\\$(LT|GT|u[0-9a-f]+)\\\$|\\.\\.' v0.folded"
check "v0: no crate disambiguators by default" sh -c "! grep -qE '[a-z_]\\[[0-9a-f]+\\]::' v0.folded"

# Source lines: the inlined read() is always at its read_volatile call
# (whichever instantiation caught samples).
want=$(grep -n 'std::ptr::read_volatile(x)' "$src" | cut -d: -f1)
for ty in u64 u32 u16; do
	file=$(fn_field v0.data "rustwork::read::<$ty>" file)
	line=$(fn_field v0.data "rustwork::read::<$ty>" line)
	[ -n "$file" ] && break
done
echo "rustwork::read::<$ty> at $file:$line (source has the call at line $want)"
check "v0: inline frame's source line is exact (rustwork.rs:$want)" test "${file##*/}:$line" = "rustwork.rs:$want"
for f in "$fold" 'rustwork::sum_sq::<u16>'; do
	check "v0: '$f' is in rustwork.rs" test "$(basename "$(fn_field v0.data "$f" file)")" = rustwork.rs
done

# --full-names keeps the crate disambiguators.
"$CPROF" report -i v0.data --format folded --full-names >v0-full.folded
check "v0 --full-names: rustwork[<hash>]::sum_sq::<u32>" grep -qE 'rustwork\[[0-9a-f]{16}\]::sum_sq::<u32>' v0-full.folded
check "v0 --full-names: same samples, only longer names" test \
	"$(awk '{ n += $NF } END { print n }' v0.folded)" = "$(awk '{ n += $NF } END { print n }' v0-full.folded)"

# --- legacy mangling (rustc's default) --------------------------------------
"$CPROF" record -g -q -o legacy.data -- "$WORKLOADS/rustwork" 6 >/dev/null
"$CPROF" report -i legacy.data --format folded >legacy.folded
for f in "$mix" "$fold" 'rustwork::sum_sq'; do
	t=$(fn_field legacy.data "$f" total_percent)
	check "legacy: '$f' found by its exact name ($t%)" above "$t" 1
done
check "legacy: inlined core::ptr::read_volatile under inlined read, in a hot function" \
	grep -qE 'rustwork::main;[^;]+;rustwork::read_\[i\];core::ptr::read_volatile_\[i\] ' legacy.folded
check "legacy: no mangled or half-decoded name left" sh -c "! grep -qE '(^|;)_(ZN|R[A-Z])|\\\$(LT|GT|u[0-9a-f]+)\\\$|\\.\\.' legacy.folded"
check "legacy: no hashes by default" sh -c "! grep -qE '::h[0-9a-f]{16}' legacy.folded"
# The two sum_sq instantiations share a name; --full-names tells them apart.
"$CPROF" report -i legacy.data --format folded --full-names >legacy-full.folded
n=$(grep -oE 'rustwork::sum_sq::h[0-9a-f]{16}' legacy-full.folded | sort -u | wc -l)
check "legacy --full-names: two sum_sq instantiations by hash (found $n)" test "$n" -eq 2
check "legacy --full-names: inline frames keep their hash too" grep -qE ';core::ptr::read_volatile::h[0-9a-f]{16}_\[i\] ' legacy-full.folded
"$CPROF" report -i legacy.data --full-names >full.txt
check "report --full-names (text)" grep -qE 'rustwork::sum_sq::h[0-9a-f]{16}' full.txt
"$CPROF" flamegraph -i legacy.data -o plain.svg
"$CPROF" flamegraph -i legacy.data --full-names -o full.svg
check "flamegraph: short names by default, hashes with --full-names" sh -c \
	"grep -q 'rustwork::sum_sq' plain.svg && ! grep -qE 'sum_sq::h[0-9a-f]{16}' plain.svg && grep -qE 'sum_sq::h[0-9a-f]{16}' full.svg"
"$CPROF" diff --full-names --metric total --format csv legacy.data legacy.data >diff.csv
check "diff --full-names matches by full name" grep -qE 'rustwork::sum_sq::h[0-9a-f]{16}' diff.csv
"$CPROF" export -i legacy.data -f folded --full-names -o export.folded
check "export --full-names" grep -qE 'rustwork::sum_sq::h[0-9a-f]{16}' export.folded

# --- the same top functions as perf report ------------------------------------
# Both tools sample the same run (cprof records perf recording the
# program), so run-to-run differences, several points on a busy machine,
# do not count against either; cprof's view is cut to the program's threads.
# Each tool's share is still a sample: ~1 s of CPU at 999 Hz gave ~640
# samples, a standard error of ~2.5 points for the difference of two 30%
# shares, and 5 points was 2 sigma. 2 s at 2999 Hz give ~6000 each: 0.8
# points, so 5 points is 6 sigma, and a real disagreement still fails.
# Two runs of the suite still parted them, by 5.1 and 4.2 points, for a
# cause not found yet: perf gave sum_sq::<u16> 12.2 % and 11.4 %, cprof
# 7.1 % and 7.2 %, where each alone gives 8-10 % (the same direction both
# times, Mix::run taking the rest in cprof's view). In 90 repetitions of
# the same command outside the suite they agreed within 2.1 points
# whenever both had the function, and CPROF_SYMCACHE_VERIFY found no wrong
# answer in the suite's cache. Both tools sample one loop of a fixed
# period (1.7 ms) on timers of the same rate, which may alias. perf 6.1
# also left its file unfinished ("data size field is 0") in 2 of those
# 90. So a disagreement is sampled once more and the second run is
# checked: a disagreement of cprof's own making fails both.
compare_once() { # -> 0 all agree, 1 some do not, 2 perf cannot record here
	"$CPROF" record -q -F 2999 -o both.data -- \
		perf record -q -F 2999 -e cpu-clock -o perf.data -- "$WORKLOADS/rustwork-v0" 12 >/dev/null 2>perf.err ||
		return 2
	perf report -i perf.data --stdio --no-children --sort sym 2>/dev/null >perf.txt
	local f p c agree=0
	: >cmp.txt
	for f in "$fold" "$mix" 'rustwork::sum_sq::<u16>' 'rustwork::sum_sq::<u32>'; do
		p=$(awk -v f="$f" '{ s = $0; sub(/^ *[0-9.]+% +\[\.\] /, "", s) } s == f { sub("%", "", $1); print $1; exit }' perf.txt)
		c=$(fn_field both.data "$f" total_percent --comm rustwork-v0) # perf's sym view folds inlined frames into f
		printf '%s\t%s\t%s\n' "$f" "$p" "$c" >>cmp.txt
		within "$c" "${p:-nan}" 5 || agree=1
	done
	return $agree
}
if ! command -v perf >/dev/null; then
	echo "perf is not installed: comparison skipped"
elif sample_twice compare_once || [ $? -eq 1 ]; then
	while IFS=$'\t' read -r f p c; do
		echo "$f: perf=$p cprof=$c"
		check "'$f' agrees with perf report within 5 points" within "$c" "${p:-nan}" 5
	done <cmp.txt
fi
finish
