#!/bin/bash
# bench-flamegraph.sh - `cprof flamegraph` on 100k distinct stacks / 1M
# samples of folded input, side by side with FlameGraph's flamegraph.pl on
# the same files in the same run: wall time, CPU time and peak memory of
# each, and the ratios. Two inputs: short names (12 MB) and the same stacks
# with C++-like qualified names (32 MB). Not part of the test suite.
#
# usage: CPROF=build/src/cprof [FLAMEGRAPH_PL=.../flamegraph.pl] [RUNS=3] tests/bench/bench-flamegraph.sh
# flamegraph.pl is looked for in the shared anchors folder beside the
# repository (../shared/anchors/) unless FLAMEGRAPH_PL names it; it is used
# from there, never copied into the project.
set -eu
CPROF=${CPROF:-build/src/cprof}
STACKS=${STACKS:-100000}
SAMPLES=${SAMPLES:-1000000}
RUNS=${RUNS:-3}
if [ -z "${FLAMEGRAPH_PL:-}" ]; then
	top=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/../.." 2>/dev/null && pwd || true)
	for c in "$(dirname "$0")/../../../shared/anchors/flamegraph.pl" "$top/shared/anchors/flamegraph.pl"; do
		[ -f "$c" ] && FLAMEGRAPH_PL=$c && break
	done
fi
command -v /usr/bin/time >/dev/null || { echo "bench-flamegraph: needs /usr/bin/time (GNU time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Deterministic input: a fixed LCG picks depths and function names from a
# pool, so stacks share prefixes the way real programs do; counts sum to
# SAMPLES exactly. PREFIX goes before each function name.
gen() {
	awk -v n="$STACKS" -v total="$SAMPLES" -v prefix="$1" 'BEGIN {
		seed = 12345
		for (i = 0; i < n; i++) {
			seed = (seed * 1103515245 + 12345) % 2147483648
			depth = 3 + seed % 20
			line = "app"
			for (d = 1; d < depth; d++) {
				seed = (seed * 1103515245 + 12345) % 2147483648
				pool = d < 4 ? 8 : 400
				line = line ";" prefix "func_" d "_" (seed % pool)
			}
			line = line ";leaf_" i
			c = int(total / n)
			if (i < total % n) c++
			print line, c
		}
	}'
}
gen "" >"$tmp/short.folded"
gen "app::engine::Core::" >"$tmp/long.folded"

# best of RUNS: "wall cpu rss_kb" with the lowest wall time
measure() {
	local best="" i
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -o "$tmp/t" -f '%e %U %S %M' "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
		local r
		r=$(awk '{printf "%.3f %.3f %d\n", $1, $2 + $3, $4}' "$tmp/t")
		if [ -z "$best" ] || awk -v a="$r" -v b="$best" 'BEGIN {split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1])}'; then
			best=$r
		fi
	done
	echo "$best"
}

printf "%-28s %-14s %9s %9s %10s\n" "input" "tool" "wall s" "CPU s" "peak RSS"
for input in short long; do
	f=$tmp/$input.folded
	desc="$input: $(wc -l <"$f") stacks, $(du -m "$f" | cut -f1) MB"
	c=$(measure "$CPROF" flamegraph -i "$f" -o "$tmp/cprof.svg")
	set -- $c
	printf "%-28s %-14s %9s %9s %7d MB\n" "$desc" "cprof" "$1" "$2" $(($3 / 1024))
	if [ -n "${FLAMEGRAPH_PL:-}" ] && [ -f "$FLAMEGRAPH_PL" ]; then
		p=$(measure perl "$FLAMEGRAPH_PL" "$f")
		set -- $c $p
		printf "%-28s %-14s %9s %9s %7d MB\n" "" "flamegraph.pl" "$4" "$5" $(($6 / 1024))
		awk -v cw="$1" -v cc="$2" -v cm="$3" -v pw="$4" -v pc="$5" -v pm="$6" 'BEGIN {
			printf "%-28s ratio flamegraph.pl / cprof: wall %.1fx, CPU %.1fx, memory %.1fx\n", "", pw / cw, pc / cc, pm / cm
		}'
	else
		echo "flamegraph.pl: skipped (not in ../shared/anchors/; set FLAMEGRAPH_PL to its path)"
	fi
done
