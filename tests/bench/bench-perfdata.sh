#!/bin/bash
# bench-perfdata.sh - `cprof report -i perf.data` against `perf report -i
# perf.data --stdio` on the same long DWARF recording, side by side in one
# run: perf records the threads workload (2 threads) with --call-graph dwarf
# at 10 kHz until the file holds about SAMPLES samples (default 100000), then
# each tool reports it 5 times. Printed: median CPU time (user + sys, from
# the kernel's accounting of the process and its children, so perf's
# addr2line helpers count too), median wall time and peak memory (max RSS),
# and the ratios. Not part of the test suite: `meson test --benchmark` or
# run it directly.
#
# usage: tests/bench/bench-perfdata.sh   (CPROF, WORKLOADS from the
#        environment, default build/src/cprof and build/tests/workloads)
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
SAMPLES=${SAMPLES:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBUGINFOD_URLS=

if ! command -v perf >/dev/null || ! perf record -q -o "$tmp/probe.data" -- true >/dev/null 2>&1; then
	echo "perf is missing or not permitted here: nothing to compare"
	exit 77
fi

# One unit of the threads workload is about 130 ms of CPU on this VM; ask
# for enough to reach SAMPLES at 10 kHz, with the kernel's buffer large
# enough not to lose chunks on a busy machine.
units=$(( (SAMPLES + 1299) / 1300 ))
perf record -q -F 10000 -m 1024 --call-graph dwarf -o "$tmp/perf.data" -- "$WORKLOADS/threads" "$units" \
	>/dev/null 2>"$tmp/rec.err" || { cat "$tmp/rec.err"; exit 1; }
n=$("$CPROF" report -i "$tmp/perf.data" --format json | awk -F': ' '/^  "samples"/ { sub(",", "", $2); print $2 }')
size=$(stat -c %s "$tmp/perf.data")
echo "== report on a DWARF perf.data: $n samples, $((size / 1048576)) MB, 2 threads, threads $units"
echo "   load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

# run5 NAME CMD...: 5 runs; prints "cpu_ms wall_ms maxrss_kb" medians
run5() {
	local name=$1 i
	shift
	for i in 1 2 3 4 5; do
		/usr/bin/time -f "%U %S %e %M" -o "$tmp/t" "$@" >/dev/null 2>&1
		awk '{ printf "%.0f %.0f %d\n", ($1 + $2) * 1000, $3 * 1000, $4 }' "$tmp/t"
	done >"$tmp/$name.runs"
	for col in 1 2 3; do
		cut -d' ' -f$col "$tmp/$name.runs" | sort -n | sed -n 3p
	done | paste -sd' '
}

c=$(run5 cprof "$CPROF" report -i "$tmp/perf.data")
p=$(run5 perf perf report -i "$tmp/perf.data" --stdio)
read -r c_cpu c_wall c_rss <<<"$c"
read -r p_cpu p_wall p_rss <<<"$p"
printf '%-28s %10s %10s %12s\n' "" "CPU ms" "wall ms" "max RSS MB"
printf '%-28s %10s %10s %12.1f\n' "cprof report" "$c_cpu" "$c_wall" "$(echo "$c_rss / 1024" | bc -l)"
printf '%-28s %10s %10s %12.1f\n' "perf report --stdio" "$p_cpu" "$p_wall" "$(echo "$p_rss / 1024" | bc -l)"
awk -v pc="$p_cpu" -v cc="$c_cpu" -v pw="$p_wall" -v cw="$c_wall" -v pr="$p_rss" -v cr="$c_rss" 'BEGIN {
	printf "ratio: cprof uses %.1fx less CPU, %.1fx less wall time, %.1fx less memory\n",
		pc / (cc ? cc : 1), pw / (cw ? cw : 1), pr / (cr ? cr : 1) }'
