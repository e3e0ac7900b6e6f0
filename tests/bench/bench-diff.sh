#!/bin/bash
# bench-diff.sh - time `cprof diff` on large synthetic folded profiles, and
# compare with `perf diff` on recordings of a small CPU workload when both
# perf and `cprof record` work here. Not part of the test suite.
#
# usage: tests/bench/bench-diff.sh [path/to/cprof] [functions] [stacks]
set -u
CPROF=${1:-${CPROF:-build/src/cprof}}
NFUNC=${2:-20000}
NSTACK=${3:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

timeit() { # label cmd...
	local t0 t1
	t0=$(date +%s%N)
	"${@:2}" >/dev/null 2>&1
	local rc=$?
	t1=$(date +%s%N)
	printf '%-28s %8.3f s  (exit %d)\n' "$1" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$rc"
}

echo "generating $NSTACK stacks over $NFUNC functions, twice..."
gen 1 "$tmp/a.folded"
gen 2 "$tmp/b.folded"
ls -la "$tmp"/*.folded | awk '{print $5, $9}'

for fmt in text json csv; do
	timeit "cprof diff --format $fmt" "$CPROF" diff --format "$fmt" "$tmp/a.folded" "$tmp/b.folded"
done
timeit "cprof diff --metric total" "$CPROF" diff --metric total "$tmp/a.folded" "$tmp/b.folded"

# perf diff needs perf.data files from real recordings.
if ! command -v perf >/dev/null; then
	echo "perf column skipped: perf not installed"
elif ! perf record -F 999 -o "$tmp/p1.data" -- python3 -c 'pass' >/dev/null 2>&1; then
	echo "perf column skipped: perf record is not permitted here (perf_event_paranoid?)"
else
	perf record -F 999 -g -o "$tmp/p1.data" -- python3 -c 'exec("def f(n): return sum(i*i for i in range(n))\nfor _ in range(300): f(20000)")' >/dev/null 2>&1
	perf record -F 999 -g -o "$tmp/p2.data" -- python3 -c 'exec("def f(n): return sum(i*i for i in range(n))\nfor _ in range(600): f(20000)")' >/dev/null 2>&1
	timeit "perf diff" perf diff "$tmp/p1.data" "$tmp/p2.data"
	if "$CPROF" record -F 999 -o "$tmp/c1.data" -- python3 -c 'exec("def f(n): return sum(i*i for i in range(n))\nfor _ in range(300): f(20000)")' >/dev/null 2>&1 &&
		"$CPROF" record -F 999 -o "$tmp/c2.data" -- python3 -c 'exec("def f(n): return sum(i*i for i in range(n))\nfor _ in range(600): f(20000)")' >/dev/null 2>&1; then
		timeit "cprof diff (same workload)" "$CPROF" diff "$tmp/c1.data" "$tmp/c2.data"
	else
		echo "cprof column on real recordings skipped: cprof record does not work here yet"
	fi
fi
