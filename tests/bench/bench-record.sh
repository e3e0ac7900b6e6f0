#!/bin/bash
# bench-record.sh - cprof record/report against perf on the same workload,
# side by side in one run, reported as ratios. Not a test: nothing here
# asserts a time. Usage: bench-record.sh [RUNS]  (CPROF and WORKLOADS from
# the environment, as meson benchmark sets them).
set -u
: "${CPROF:?}" "${WORKLOADS:?}"
RUNS=${1:-5}
command -v perf >/dev/null || { echo "perf is not installed: nothing to compare with"; exit 77; }
CPROF=$(realpath "$CPROF"); WORKLOADS=$(realpath "$WORKLOADS")
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; cd "$TMP"
export DEBUGINFOD_URLS=
HOT="$WORKLOADS/hot"

# median wall seconds (microsecond clock) and median peak RSS (KB) of a command, RUNS times
wall() {
	for _ in $(seq "$RUNS"); do
		local t0=$EPOCHREALTIME
		/usr/bin/time -f "%M" -o t.out "$@" >/dev/null 2>&1
		local t1=$EPOCHREALTIME
		echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $(tail -n 1 t.out)"
	done | sort -n | awk '{ a[NR] = $1; m[NR] = $2 } END { i = int((NR + 1) / 2); print a[i], m[i] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

UNITS=${UNITS:-30}
echo "workload: hot $UNITS units, $RUNS runs each, medians; $(nproc) CPUs"
read -r c_true _ < <(wall "$CPROF" record -q -o t.data -- true)
read -r p_true _ < <(wall perf record -q -o tp.data -- true)
read -r bare_true _ < <(wall true)
echo "fixed cost  record -- true: cprof ${c_true}s  perf ${p_true}s  (true alone ${bare_true}s)  perf/cprof $(ratio "$p_true" "$c_true")x"

read -r bare _ < <(wall "$HOT" "$UNITS")
read -r under_cprof _ < <(wall "$CPROF" record -F 999 -g -q -o c.data -- "$HOT" "$UNITS")
read -r under_perf _ < <(wall perf record -F 999 -g -q -o p.data -- "$HOT" "$UNITS")
# The workload's own slowdown: wall time less the recorder's fixed cost.
sl() { awk -v u="$1" -v f="$2" -v t="$3" -v b="$4" 'BEGIN { printf "%.1f%%", 100 * ((u - (f - t)) / b - 1) }'; }
echo "slowdown    bare ${bare}s  under cprof ${under_cprof}s ($(sl "$under_cprof" "$c_true" "$bare_true" "$bare"))  under perf ${under_perf}s ($(sl "$under_perf" "$p_true" "$bare_true" "$bare"))  total time perf/cprof $(ratio "$under_perf" "$under_cprof")x"

read -r c_rep c_rss < <(wall "$CPROF" report -i c.data)
read -r p_rep p_rss < <(wall perf report -i p.data --stdio)
echo "report      cprof ${c_rep}s ${c_rss}KB  perf ${p_rep}s ${p_rss}KB  speedup $(ratio "$p_rep" "$c_rep")x  memory ratio $(ratio "$p_rss" "$c_rss")x"

cs=$(stat -c %s c.data); ps=$(stat -c %s p.data)
echo "file size   cprof.data ${cs} B  perf.data ${ps} B  perf/cprof $(ratio "$ps" "$cs")x"
