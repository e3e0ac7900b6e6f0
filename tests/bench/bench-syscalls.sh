#!/bin/bash
# bench-syscalls.sh - slowdown of a syscall-heavy program (the syscalls
# workload with its counts times MULT: by default 130,000 getpid, 30,000
# writes to /dev/null and 8,000 failing openat in a parent and a forked
# child, and its 100 ms of sleeps) under `cprof record --syscalls`, with and
# without -g, `perf trace -s` and `strace -c -f`, side by side in one run:
# medians of RUNS, wall-clock and CPU time (user + system of the process
# tree) as ratios against the bare run; then the getpid count each tool
# reports, against the 130,000 made. Not part of the test suite: `meson
# test --benchmark` or run it directly.
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
MULT=${MULT:-100}
W=$WORKLOADS/syscalls
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBUGINFOD_URLS=

. "$(dirname "$0")/lib.sh"

echo "== syscalls workload x $MULT: $((1300 * MULT)) getpid, $((300 * MULT)) write, $((80 * MULT)) openat; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-34s %10s %8s %10s %8s\n" "" "wall" "ratio" "CPU" "ratio"
bare=$(measure "$W" "$MULT")
row "bare" "$bare"
row "cprof record (CPU profile only)" "$(measure "$CPROF" record -q -o "$tmp/p.data" -- "$W" "$MULT")"
row "cprof record --syscalls" "$(measure "$CPROF" record -q --syscalls -o "$tmp/s.data" -- "$W" "$MULT")" "(analysis included)"
row "cprof record --syscalls -g" "$(measure "$CPROF" record -q --syscalls -g -o "$tmp/g.data" -- "$W" "$MULT")" "(analysis included)"
# The floor: perf writing the same two tracepoints' records to a file,
# every call, with no pairing or analysis at all.
if command -v perf >/dev/null && perf record -q -e raw_syscalls:sys_enter -c 1 -o "$tmp/t.data" true >/dev/null 2>&1; then
	row "perf record (the same tracepoints)" "$(measure perf record -q -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -c 1 -o "$tmp/tp.data" -- "$W" "$MULT")" "(no analysis)"
fi
if command -v perf >/dev/null && perf trace -s -o /dev/null true >/dev/null 2>&1; then
	row "perf trace -s" "$(measure perf trace -s -o "$tmp/perf.txt" -- "$W" "$MULT")"
else
	echo "perf trace: not available"
fi
if command -v strace >/dev/null; then
	row "strace -c -f" "$(measure strace -c -f -o "$tmp/strace.txt" "$W" "$MULT")"
else
	echo "strace: not installed"
fi

echo "== getpid calls reported (made: $((1300 * MULT)))"
echo "cprof --syscalls     $("$CPROF" report --syscalls -i "$tmp/s.data" --format csv | awk -F, '$1 == "getpid" && $3 == "all" { print $5 }') (lost records: $("$CPROF" report --syscalls -i "$tmp/s.data" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["lost"])'))"
[ -s "$tmp/perf.txt" ] && echo "perf trace -s        $(awk '$1 == "getpid" { n += $2 } END { print n + 0 }' "$tmp/perf.txt")"
[ -s "$tmp/strace.txt" ] && echo "strace -c -f         $(awk '$NF == "getpid" { print $4 }' "$tmp/strace.txt")"
exit 0
