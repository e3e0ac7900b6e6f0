#!/bin/bash
# t-perf-compare.sh - an independent check: perf report's shares for the same
# workload agree with cprof's within a few points.
. "$(dirname "$0")/test-lib.sh"
command -v perf >/dev/null || skip "perf not installed"
perf record -q -F 999 -e cpu-clock -o perf.data -- "$WORKLOADS/hot" >/dev/null 2>perf.err || skip "perf record cannot run here: $(tail -1 perf.err)"
"$CPROF" record -q -F 999 -o c.data -- "$WORKLOADS/hot" >/dev/null
for f in hot_a hot_b hot_c; do
	p=$(perf report -i perf.data --stdio --no-children --sort sym 2>/dev/null | awk -v f="$f" '$NF == f { sub("%", "", $1); print $1; exit }')
	c=$(total_share c.data $f) # perf's sym view folds the inlined spin() into $f
	echo "$f: perf=$p cprof=$c"
	check "$f agrees with perf within 5 points" within "$c" "${p:-nan}" 5
done
finish
