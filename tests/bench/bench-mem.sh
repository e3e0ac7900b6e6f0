#!/bin/bash
# bench-mem.sh - slowdown of a malloc-heavy workload (memwork churn: THREADS
# threads doing ITERS iterations of one free and one malloc each; the
# defaults make 10 million calls) under `cprof record --mem`, `cprof record
# --mem=sample`, heaptrack, valgrind memcheck and perf uprobes on malloc and
# free, side by side in one run: medians of RUNS, wall-clock and CPU time
# (user + system of the whole process tree: on a busy machine the steadier
# of the two), as ratios against the bare run; bare and cprof's modes are
# run in rounds, one of each after the other. Then where cprof's time goes
# (the workload under the tracer, the finishing pass) and the output sizes.
# Not part of the test suite: `meson test --benchmark` or run it directly.
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
THREADS=${THREADS:-2}
ITERS=${ITERS:-2500000}
W=$WORKLOADS/memwork
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; perf probe -q -d "probe_libc:*" >/dev/null 2>&1' EXIT
export DEBUGINFOD_URLS=

. "$(dirname "$0")/lib.sh"
LABEL_W=36

calls=$((THREADS * ITERS * 2))
echo "== memwork churn: $THREADS threads x $ITERS x (free + malloc) = $calls calls; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-36s %10s %8s %10s %8s\n" "" "wall" "ratio" "CPU" "ratio"
# Bare and cprof's modes in rounds: each ratio compares runs made side by
# side, minutes of drift of a shared machine apart from none.
mapfile -t m < <(measure_rounds "$W" churn "$THREADS" "$ITERS" \
	:: "$CPROF" record -q --mem -o "$tmp/exact.data" -- "$W" churn "$THREADS" "$ITERS" \
	:: "$CPROF" record -q --mem=sample -o "$tmp/sample.data" -- "$W" churn "$THREADS" "$ITERS" \
	:: "$CPROF" record -q -o "$tmp/plain.data" -- "$W" churn "$THREADS" "$ITERS" \
	:: env LD_PRELOAD="$(realpath "$(dirname "$CPROF")/libcprof-mem.so")" "$W" churn "$THREADS" "$ITERS" \
	:: "$CPROF" record -q --mem=sample:1G -o "$tmp/none.data" -- "$W" churn "$THREADS" "$ITERS")
bare=${m[0]} exact=${m[1]} sampled=${m[2]} plain=${m[3]} null=${m[4]} nosample=${m[5]}
row "bare" "$bare"
row "cprof record --mem" "$exact" "(analysis included)"
row "cprof record --mem=sample" "$sampled" "(analysis included)"
row "cprof record (CPU profile only)" "$plain" "(what --mem adds to it: the difference)"
row "tracer preloaded, not tracing" "$null" "(the cost of interposing alone)"
row "cprof record --mem=sample:1G" "$nosample" "(sample mode's countdown, no block sampled)"
if command -v heaptrack >/dev/null; then
	row "heaptrack" "$(measure heaptrack -o "$tmp/ht" "$W" churn "$THREADS" "$ITERS")" "(analysis: heaptrack_print, not included)"
else
	echo "heaptrack: not installed"
fi
libc=$(ldd "$W" | awk '/libc.so/ { print $3 }')
if command -v perf >/dev/null && perf probe -q -x "$libc" malloc >/dev/null 2>&1 &&
	perf probe -q -x "$libc" free >/dev/null 2>&1; then
	# uprobes are slow: a tenth of the work, 3 runs.
	small=$((ITERS / 10))
	pb=$(RUNS=3 measure "$W" churn "$THREADS" "$small")
	pp=$(RUNS=3 measure perf record -q -g -e probe_libc:malloc -e probe_libc:free -o "$tmp/p.data" -- "$W" churn "$THREADS" "$small")
	awk -v p="$pp" -v b="$pb" 'BEGIN { split(p, x, " "); split(b, y, " ");
		printf "%-36s %8s   %7.1fx %8s   %7.1fx  (on a tenth of the work)\n", "perf record uprobes malloc+free -g", "", x[1] / y[1], "", x[2] / y[2] }'
else
	echo "perf uprobes: not available here"
fi
if command -v valgrind >/dev/null; then
	# memcheck is slow: a tenth of the work, scaled back up.
	small=$((ITERS / 10))
	vb=$(RUNS=3 measure "$W" churn "$THREADS" "$small")
	vg=$(RUNS=3 measure valgrind --leak-check=full "$W" churn "$THREADS" "$small")
	awk -v v="$vg" -v b="$vb" 'BEGIN { split(v, x, " "); split(b, y, " ");
		printf "%-36s %8s   %7.1fx %8s   %7.1fx  (on a tenth of the work)\n", "valgrind memcheck", "", x[1] / y[1], "", x[2] / y[2] }'
fi

echo "== where cprof's time goes (last run of each; workload CPU is the traced program's own)"
for m in exact sample plain; do
	"$CPROF" report -i "$tmp/$m.data" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%-10s workload CPU %7.1f ms, finishing pass %6.1f ms CPU (%6.1f ms wall), recorder %5.1f ms" % (
    sys.argv[1], d["workload_cpu_ns"] / 1e6, d["finish_cpu_ns"] / 1e6, d["finish_wall_ns"] / 1e6,
    d["recorder_cpu_ns"] / 1e6))' "$m"
done
echo "== output size"
ls -l "$tmp"/exact.data "$tmp"/sample.data "$tmp"/ht* 2>/dev/null | awk '{ printf "%-36s %10d bytes\n", $9, $5 }' | sed "s|$tmp/||"
