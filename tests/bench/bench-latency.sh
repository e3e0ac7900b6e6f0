#!/bin/bash
# bench-latency.sh - what `cprof record --latency` adds to each call of a
# function called CALLS times (default 1,000,000: tiny() of the latency
# workload, a few instructions), against the anchor a programmer reaches
# for first: clock_gettime around every call, by hand. Side by side in
# one run: medians of RUNS, wall-clock and CPU time as ratios against the
# bare run, and per call the time added (over `cprof record` alone, so
# record's start and finish are not counted), with and without -g; then
# the calls cprof counted and the records it lost. Not part of the test
# suite: `meson test --benchmark` or run it directly.
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
CALLS=${CALLS:-1000000}
RUNS=${RUNS:-3}
W=$WORKLOADS/latency
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBUGINFOD_URLS= RUNS

. "$(dirname "$0")/lib.sh"

# per_call "WALL CPU" "WALL CPU": the wall-clock difference per call, in ns.
per_call() {
	awk -v a="$1" -v b="$2" -v n="$CALLS" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.0f ns a call", (x[1] - y[1]) * 1e9 / n }'
}

echo "== latency workload, tiny() called $CALLS times; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-34s %10s %8s %10s %8s\n" "" "wall" "ratio" "CPU" "ratio"
bare=$(measure "$W" "$CALLS")
row "bare" "$bare"
timed=$(measure "$W" "$CALLS" timed)
row "clock_gettime around each call" "$timed" "(anchor: $(per_call "$timed" "$bare") added)"
rec=$(measure "$CPROF" record -q -o "$tmp/p.data" -- "$W" "$CALLS")
row "cprof record (CPU profile only)" "$rec"
lat=$(measure "$CPROF" record -q --latency tiny -o "$tmp/l.data" -- "$W" "$CALLS")
row "cprof record --latency tiny" "$lat" "($(per_call "$lat" "$rec") added, analysis included)"
latg=$(measure "$CPROF" record -q -g --latency tiny -o "$tmp/g.data" -- "$W" "$CALLS")
row "cprof record -g --latency tiny" "$latg" "($(per_call "$latg" "$rec") added, analysis included)"

echo "== calls of tiny() counted (made: $CALLS)"
for f in l g; do
	"$CPROF" report --latency -i "$tmp/$f.data" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d["functions"][0]
print("%-20s calls %d, returned %d, lost records %d, p50 %d ns, p99 %d ns" % (sys.argv[1], f["calls"], f["returned"], d["lost"], f["p50_ns"], f["p99_ns"]))' "$([ $f = g ] && echo '--latency -g' || echo '--latency')"
done
exit 0
