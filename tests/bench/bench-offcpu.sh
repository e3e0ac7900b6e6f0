#!/bin/bash
# bench-offcpu.sh - slowdown of a context-switch-heavy program (the offcpu
# workload's pingpong: two threads passing a byte through pipes ROUNDS
# times, two switches a round trip at least) under `cprof record --offcpu`,
# with and without -g and with --call-graph dwarf (the default 32 KiB
# stack copy, and 8 KiB), against `perf record -e sched:sched_switch -g` and
# perf's own off-CPU recipe (context-switches -c 1 -g --switch-events,
# and with --call-graph dwarf, whose default copy is 8 KiB),
# side by side in one run: medians of RUNS, wall-clock and CPU time (user +
# system of the process tree) as ratios against the bare run; then the
# switches per second of the bare run and what cprof recorded and lost.
# Not part of the test suite: `meson test --benchmark` or run it directly.
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
ROUNDS=${ROUNDS:-100000}
W=$WORKLOADS/offcpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DEBUGINFOD_URLS=

. "$(dirname "$0")/lib.sh"

echo "== offcpu pingpong $ROUNDS round trips; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-52s %10s %8s %10s %8s\n" "" "wall" "ratio" "CPU" "ratio"
LABEL_W=52
bare=$(measure "$W" pingpong "$ROUNDS")
row "bare" "$bare"
row "cprof record (CPU profile only)" "$(measure "$CPROF" record -q -o "$tmp/p.data" -- "$W" pingpong "$ROUNDS")"
row "cprof record --offcpu" "$(measure "$CPROF" record -q --offcpu -o "$tmp/o.data" -- "$W" pingpong "$ROUNDS")" "(analysis included)"
row "cprof record --offcpu -g" "$(measure "$CPROF" record -q --offcpu -g -o "$tmp/g.data" -- "$W" pingpong "$ROUNDS")" "(analysis included)"
row "cprof record --offcpu --call-graph dwarf" \
	"$(measure "$CPROF" record -q --offcpu --call-graph dwarf -o "$tmp/d.data" -- "$W" pingpong "$ROUNDS")" \
	"(analysis included)"
row "cprof record --offcpu --call-graph dwarf,8192" \
	"$(measure "$CPROF" record -q --offcpu --call-graph dwarf,8192 -o "$tmp/d8.data" -- "$W" pingpong "$ROUNDS")" \
	"(analysis included)"
if command -v perf >/dev/null && perf record -q -e sched:sched_switch -o "$tmp/t.data" true >/dev/null 2>&1; then
	row "perf record -e sched:sched_switch -g" \
		"$(measure perf record -q -e sched:sched_switch -g -o "$tmp/perf1.data" -- "$W" pingpong "$ROUNDS")"
else
	echo "perf record -e sched:sched_switch: not available (perf missing, or tracepoints not allowed)"
fi
if command -v perf >/dev/null; then
	row "perf record -e cs -c 1 -g --switch-events" \
		"$(measure perf record -q -e context-switches -c 1 -g --switch-events -o "$tmp/perf2.data" -- "$W" pingpong "$ROUNDS")"
	row "perf record -e cs -c 1 --call-graph dwarf --switch-events" \
		"$(measure perf record -q -e context-switches -c 1 --call-graph dwarf --switch-events -o "$tmp/perf3.data" -- "$W" pingpong "$ROUNDS")"
fi

wall=$(echo "$bare" | cut -d' ' -f1)
for r in "g:-g" "d:--call-graph dwarf" "d8:--call-graph dwarf,8192"; do
	"$CPROF" report --offcpu -i "$tmp/${r%%:*}.data" --format json >"$tmp/r.json"
	python3 - "$tmp/r.json" "$wall" "${r#*:}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = d['blocked']['intervals'] + d['preempted']['intervals']
s = sum(x['blocked_ns'] for x in d['stacks'] if x['frames'])
t = d['blocked']['total_ns']
print("== cprof --offcpu %s: %d intervals (%.0f a second of the bare run), %s records lost, %s intervals "
      "dropped, %.1f %% of the blocked time with a stack" % (sys.argv[3], n, n / float(sys.argv[2]), d['lost'],
                                                              d['unpaired'], 100.0 * s / t if t else 0))
PY
done
exit 0
