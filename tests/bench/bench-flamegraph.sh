#!/bin/bash
# bench-flamegraph.sh - time `cprof flamegraph` on 100k distinct stacks /
# 1M samples of folded input, and flamegraph.pl beside it when
# $FLAMEGRAPH_PL points at it. Not part of the test suite.
#
# usage: CPROF=build/src/cprof [FLAMEGRAPH_PL=.../flamegraph.pl] tests/bench/bench-flamegraph.sh
set -eu
CPROF=${CPROF:-build/src/cprof}
STACKS=${STACKS:-100000}
SAMPLES=${SAMPLES:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Deterministic input: a fixed LCG picks depths and function names from a
# pool, so stacks share prefixes the way real programs do; counts sum to
# SAMPLES exactly.
awk -v n="$STACKS" -v total="$SAMPLES" 'BEGIN {
	seed = 12345
	for (i = 0; i < n; i++) {
		seed = (seed * 1103515245 + 12345) % 2147483648
		depth = 3 + seed % 20
		line = "app"
		for (d = 1; d < depth; d++) {
			seed = (seed * 1103515245 + 12345) % 2147483648
			pool = d < 4 ? 8 : 400
			line = line ";func_" d "_" (seed % pool)
		}
		line = line ";leaf_" i
		c = int(total / n)
		if (i < total % n) c++
		print line, c
	}
}' >"$tmp/in.folded"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

echo "input: $(wc -l <"$tmp/in.folded") stacks, $(awk '{s += $NF} END {print s}' "$tmp/in.folded") samples, $(du -h "$tmp/in.folded" | cut -f1)"
c=$(secs "$CPROF" flamegraph -i "$tmp/in.folded" -o "$tmp/cprof.svg")
printf "%-16s %8.3f s  %s\n" "cprof" "$c" "$(du -h "$tmp/cprof.svg" | cut -f1) SVG"
if [ -n "${FLAMEGRAPH_PL:-}" ] && [ -f "$FLAMEGRAPH_PL" ]; then
	p=$(secs perl "$FLAMEGRAPH_PL" "$tmp/in.folded")
	printf "%-16s %8.3f s\n" "flamegraph.pl" "$p"
	printf "ratio: flamegraph.pl / cprof = %.1fx\n" "$(echo "$p / $c" | bc -l)"
else
	echo "flamegraph.pl: skipped (set FLAMEGRAPH_PL to its path to compare)"
fi
