#!/bin/bash
# bench-diff.sh - `cprof diff` against `perf diff`, side by side in one run:
# the same two workloads (hot, and hot with hot_b doing twice the work) are
# recorded by both tools with call graphs at the same frequency, then each
# tool's diff is timed (median of 5) and the ratio printed. A second part
# times cprof diff alone on large synthetic folded profiles, for scale.
# Not part of the test suite: `meson test --benchmark` or run it directly.
#
# usage: tests/bench/bench-diff.sh   (CPROF, WORKLOADS from the environment,
#        default build/src/cprof and build/tests/workloads)
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
NFUNC=${NFUNC:-20000}
NSTACK=${NSTACK:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBUGINFOD_URLS=

median_ms() { # cmd... -> median wall time of 5 runs in ms (output discarded)
	local i t0 t1 times=()
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		times+=("$(( (t1 - t0) / 1000 ))")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{ printf "%.1f", $1 / 1000 }'
}

echo "== cprof diff vs perf diff, hot 12 vs hot 12 slow-b, -F 999 -g"
if ! command -v perf >/dev/null || ! perf record -q -o "$tmp/probe.data" -- true >/dev/null 2>&1; then
	echo "perf is missing or not permitted here: perf column skipped"
else
	perf record -q -F 999 -g -o "$tmp/p1.data" -- "$WORKLOADS/hot" 12 >/dev/null 2>&1
	perf record -q -F 999 -g -o "$tmp/p2.data" -- "$WORKLOADS/hot" 12 slow-b >/dev/null 2>&1
	"$CPROF" record -q -F 999 -g -o "$tmp/c1.data" -- "$WORKLOADS/hot" 12 >/dev/null
	"$CPROF" record -q -F 999 -g -o "$tmp/c2.data" -- "$WORKLOADS/hot" 12 slow-b >/dev/null
	p=$(median_ms perf diff "$tmp/p1.data" "$tmp/p2.data")
	c=$(median_ms "$CPROF" diff "$tmp/c1.data" "$tmp/c2.data")
	printf '%-34s %10s ms\n' "perf diff" "$p" "cprof diff" "$c"
	awk -v p="$p" -v c="$c" 'BEGIN { printf "ratio: cprof diff is %.0fx faster than perf diff\n", p / c }'
fi

echo "== cprof diff on synthetic folded profiles: $NSTACK stacks over $NFUNC functions"
gen() { # seed out
	python3 - "$1" "$NFUNC" "$NSTACK" >"$2" <<'PY'
import random, sys
seed, nfunc, nstack = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
funcs = ["fn_%d" % i for i in range(nfunc)]
for _ in range(nstack):
    depth = r.randint(3, 24)
    stack = ["main"] + [funcs[int(r.paretovariate(1.2)) % nfunc] for _ in range(depth)]
    print(";".join(stack), r.randint(1, 50))
PY
}
gen 1 "$tmp/a.folded"
gen 2 "$tmp/b.folded"
for fmt in text json csv; do
	printf '%-34s %10s ms\n' "cprof diff --format $fmt" "$(median_ms "$CPROF" diff --format "$fmt" "$tmp/a.folded" "$tmp/b.folded")"
done
printf '%-34s %10s ms\n' "cprof diff --metric total" "$(median_ms "$CPROF" diff --metric total "$tmp/a.folded" "$tmp/b.folded")"
