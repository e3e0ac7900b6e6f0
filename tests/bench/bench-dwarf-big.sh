#!/bin/bash
# bench-dwarf-big.sh - DWARF mode on a big real binary with full debug info:
# Debian's python3.11-dbg (CPython built -Og without frame pointers, 14 MB
# of .debug_info) running tests/bench/pywork.py. cprof and perf side by
# side in one run, reported as ratios; nothing here asserts a time.
# Then the share of truncated stacks and the cost at each copy SIZE, which
# is how the default SIZE was chosen.
# Usage: bench-dwarf-big.sh [RUNS]  (CPROF from the environment)
set -u
: "${CPROF:?}"
RUNS=${1:-3}
PY=$(command -v python3.11-dbg) || { echo "python3.11-dbg is not installed (scripts/setup-deps): skipped"; exit 77; }
command -v perf >/dev/null || { echo "perf is not installed: nothing to compare with"; exit 77; }
CPROF=$(realpath "$CPROF"); WORK=$(realpath "$(dirname "$0")/pywork.py")
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; cd "$TMP"
export DEBUGINFOD_URLS=
ROUNDS=${ROUNDS:-12}

# median wall seconds and median peak RSS (KB) of a command, RUNS times
wall() {
	for _ in $(seq "$RUNS"); do
		local t0=$EPOCHREALTIME
		/usr/bin/time -f "%M" -o t.out "$@" >/dev/null 2>&1
		local t1=$EPOCHREALTIME
		echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $(tail -n 1 t.out)"
	done | sort -n | awk '{ a[NR] = $1; m[NR] = $2 } END { i = int((NR + 1) / 2); print a[i], m[i] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
elapsed() { # the workload's own run time, median of RUNS
	for _ in $(seq "$RUNS"); do
		WORKLOAD_TIMING=1 "$@" 2>&1 >/dev/null | awk '$1 == "elapsed" { print $2 }'
	done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
meta() { # FILE KEY -> a number from cprof report's JSON
	"$CPROF" report -i "$1" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'] or 0)"
}

echo "workload: python3.11-dbg pywork.py $ROUNDS, 999 Hz, $RUNS runs each, medians; $(nproc) CPUs"
e_bare=$(elapsed "$PY" "$WORK" "$ROUNDS")
e_c=$(elapsed "$CPROF" record -F 999 --call-graph dwarf -q -o s.data -- "$PY" "$WORK" "$ROUNDS")
e_p=$(elapsed perf record -F 999 --call-graph dwarf -q -o s.pdata -- "$PY" "$WORK" "$ROUNDS")
awk -v b="$e_bare" -v c="$e_c" -v p="$e_p" 'BEGIN {
	printf "slowdown dwarf  workload alone %.3fs  under cprof %.3fs (+%.1f%%)  under perf %.3fs (+%.1f%%)\n",
		b, c, 100 * (c / b - 1), p, 100 * (p / b - 1) }'

"$CPROF" record -F 999 --call-graph dwarf -q -o c.data -- "$PY" "$WORK" "$ROUNDS" >/dev/null 2>&1
perf record -F 999 --call-graph dwarf -q -o p.data -- "$PY" "$WORK" "$ROUNDS" >/dev/null 2>&1
read -r c_rep c_rss < <(wall "$CPROF" report -i c.data)
read -r p_rep p_rss < <(wall perf report -i p.data --stdio)
echo "report          cprof ${c_rep}s ${c_rss}KB  perf ${p_rep}s ${p_rss}KB  speedup $(ratio "$p_rep" "$c_rep")x  memory ratio $(ratio "$p_rss" "$c_rss")x"

# Unwinding throughput: all of cprof's work on the samples (unwinding while
# recording, draining, then symbolizing in the finishing pass, CPU time of
# both threads) against perf report, which unwinds and symbolizes them.
# perf report is timed by the wall clock: most of its work here is done by
# the addr2line processes it starts for inline frames, which it does not
# wait for, so its own rusage misses them (system-wide busy time during a
# perf report run matched its wall time on our 2-core machines). The
# kallsyms cache is warm after the first recording above.
n=$(meta c.data samples); pn=$(perf script -i p.data -F tid --hide-call-graph 2>/dev/null | wc -l)
rec=$(meta c.data recorder_cpu_ns); fin=$(meta c.data finish_cpu_ns); finw=$(meta c.data finish_wall_ns)
awk -v n="$n" -v r="$rec" -v f="$fin" -v fw="$finw" -v pr="$p_rep" -v pn="$pn" 'BEGIN {
	c = n / ((r + f) / 1e9); p = n / pr
	printf "unwinding       cprof %d samples in %.0f ms CPU (record %.0f + finish %.0f; finish wall %.0f ms): %.0f samples/s\n",
		n, (r + f) / 1e6, r / 1e6, f / 1e6, fw / 1e6, c
	printf "                perf report %s samples in %.0f ms: %.0f samples/s   cprof/perf %.1fx\n", pn, pr * 1000, p, c / p }'
cs=$(stat -c %s c.data); ps=$(stat -c %s p.data)
echo "file size       cprof.data ${cs} B  perf.data ${ps} B  perf/cprof $(ratio "$ps" "$cs")x"

# The copy size: what share of stacks it cuts, and what it costs.
echo "copy SIZE  truncated  recorder CPU/sample  workload slowdown  perf.data/sample"
for size in 8192 16384 32768 65528; do
	e=$(elapsed "$CPROF" record -F 999 --call-graph dwarf,$size -q -o z.data -- "$PY" "$WORK" "$ROUNDS")
	"$CPROF" record -F 999 --call-graph dwarf,$size -q -o z.data -- "$PY" "$WORK" "$ROUNDS" >/dev/null 2>&1
	perf record -F 999 --call-graph dwarf,$size -q -o z.pdata -- "$PY" "$WORK" 2 >/dev/null 2>&1
	zn=$(meta z.data samples); zt=$(meta z.data truncated_samples); zr=$(meta z.data recorder_cpu_ns)
	pz=$(perf script -i z.pdata -F tid --hide-call-graph 2>/dev/null | wc -l)
	awk -v s="$size" -v n="$zn" -v t="$zt" -v r="$zr" -v e="$e" -v b="$e_bare" -v pb="$(stat -c %s z.pdata)" -v pn="$pz" 'BEGIN {
		printf "%9d  %8.1f%%  %15.1f us  %16.1f%%  %14.0f B\n", s, 100 * t / n, r / n / 1000, 100 * (e / b - 1), pb / pn }'
done
