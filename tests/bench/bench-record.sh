#!/bin/bash
# bench-record.sh - cprof record/report against perf on the same workload,
# side by side in one run, reported as ratios. Not a test: nothing here
# asserts a time. Usage: bench-record.sh [RUNS]  (CPROF and WORKLOADS from
# the environment, as meson benchmark sets them; BENCH_PART=dwarf runs the
# DWARF part alone).
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

# The workload's own slowdown: its run time as it measures it (median of
# RUNS), against the same without a profiler.
elapsed() {
	for _ in $(seq "$RUNS"); do
		WORKLOAD_TIMING=1 "$@" 2>&1 >/dev/null | awk '$1 == "elapsed" { print $2 }'
	done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

slowdown() { # LABEL WORKLOAD... : bare vs under cprof vs under perf
	local e_bare e_c e_p
	e_bare=$(elapsed "${@:3}")
	e_c=$(elapsed "$CPROF" record -F 999 $2 -q -o s.data -- "${@:3}")
	e_p=$(elapsed perf record -F 999 $2 -q -o s.pdata -- "${@:3}")
	awk -v l="$1" -v b="$e_bare" -v c="$e_c" -v p="$e_p" 'BEGIN {
		printf "%-15s workload alone %.3fs  under cprof %.3fs (+%.1f%%)  under perf %.3fs (+%.1f%%)\n",
			l, b, c, 100 * (c / b - 1), p, 100 * (p / b - 1) }'
}
UNITS=${UNITS:-30}
echo "workload: hot $UNITS units, $RUNS runs each, medians; $(nproc) CPUs"
if [ "${BENCH_PART:-all}" = all ]; then
read -r c_true _ < <(wall "$CPROF" record -q -o t.data -- true)
read -r p_true _ < <(wall perf record -q -o tp.data -- true)
read -r bare_true _ < <(wall true)
echo "fixed cost  record -- true: cprof ${c_true}s  perf ${p_true}s  (true alone ${bare_true}s)  perf/cprof $(ratio "$p_true" "$c_true")x"

slowdown "slowdown -g" "-g" "$HOT" "$UNITS"
read -r under_cprof _ < <(wall "$CPROF" record -F 999 -g -q -o c.data -- "$HOT" "$UNITS")
read -r under_perf _ < <(wall perf record -F 999 -g -q -o p.data -- "$HOT" "$UNITS")
echo "whole command  cprof record ${under_cprof}s  perf record ${under_perf}s  perf/cprof $(ratio "$under_perf" "$under_cprof")x"

read -r c_rep c_rss < <(wall "$CPROF" report -i c.data)
read -r p_rep p_rss < <(wall perf report -i p.data --stdio)
echo "report      cprof ${c_rep}s ${c_rss}KB  perf ${p_rep}s ${p_rss}KB  speedup $(ratio "$p_rep" "$c_rep")x  memory ratio $(ratio "$p_rss" "$c_rss")x"

cs=$(stat -c %s c.data); ps=$(stat -c %s p.data)
echo "file size   cprof.data ${cs} B  perf.data ${ps} B  perf/cprof $(ratio "$ps" "$cs")x"

fi

# --- DWARF call graphs (no frame pointers): cprof unwinds while recording,
# perf report unwinds every time it reads the file.
NOFP="$WORKLOADS/nofp"
slowdown "slowdown dwarf" "--call-graph dwarf" "$NOFP" chain "$UNITS"
"$CPROF" record -F 999 --call-graph dwarf -q -o cd.data -- "$NOFP" chain "$UNITS" >/dev/null 2>&1
perf record -F 999 --call-graph dwarf -q -o pd.data -- "$NOFP" chain "$UNITS" >/dev/null 2>&1
read -r c_rep c_rss < <(wall "$CPROF" report -i cd.data)
read -r p_rep p_rss < <(wall perf report -i pd.data --stdio)
echo "dwarf report    cprof ${c_rep}s ${c_rss}KB  perf ${p_rep}s ${p_rss}KB  speedup $(ratio "$p_rep" "$c_rep")x  memory ratio $(ratio "$p_rss" "$c_rss")x"
# Unwinding throughput: cprof's work on the samples is the recorder's
# (unwinding while recording) plus the finishing pass (symbolizing), CPU of
# both threads; perf report unwinds and symbolizes. On a small program both
# are dominated by costs that do not grow with the samples: cprof's first
# recording reads /proc/kallsyms and libc's compressed debug info and
# keeps what it learned in its cache (cprof(1), FILES); later recordings
# of the same program take it from there. So the first run (into an empty
# cache folder) and the later runs (medians) are shown apart, each against
# perf report on a recording of the same length.
pn=$(perf script -i pd.data -F tid --hide-call-graph 2>/dev/null | wc -l)
# perf report's CPU (user + system, its children included), median: on a
# busy machine its wall time grows with the load, cprof's figures are CPU.
p_cpu=$(for _ in $(seq "$RUNS"); do
	/usr/bin/time -f "%U %S" -o t.out perf report -i pd.data --stdio >/dev/null 2>&1
	awk '{ print $1 + $2 }' t.out | tail -n 1
done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
SC="$TMP/symcache"
dwarf_cost() { # -> "samples recorder_ns finish_ns symcache_hits symcache_misses"
	CPROF_CACHE_DIR="$SC" "$CPROF" record -q -F 999 --call-graph dwarf -o sc.data -- "$NOFP" chain "$UNITS" >/dev/null 2>&1
	local h
	h=$("$CPROF" report -i sc.data --header-only)
	"$CPROF" report -i sc.data --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["samples"], d["recorder_cpu_ns"], d["finish_cpu_ns"], end=" ")'
	echo "$h" | awk -F': ' '$1 == "# symcache_hits" { h = $2 } $1 == "# symcache_misses" { m = $2 } END { print h + 0, m + 0 }'
}
throughput() { # LABEL "samples rec fin hits misses"
	echo "$2" | awk -v l="$1" -v pn="$pn" -v pt="$p_rep" -v pc="$p_cpu" '{
		c = $1 / (($2 + $3) / 1e9); u = $1 / ($2 / 1e9); p = pn / pt; q = pn / pc
		printf "%-22s cprof %d samples in %.1f ms CPU (record %.1f + finish %.1f; symbol cache %d hits, %d resolved): %.0f samples/s\n",
			l, $1, ($2 + $3) / 1e6, $2 / 1e6, $3 / 1e6, $4, $5, c
		printf "%-22s cprof/perf %.1fx against perf'"'"'s wall time, %.1fx against its CPU (unwinding alone %.1fx, %.1fx)\n",
			"", c / p, c / q, u / p, u / q }'
}
rm -rf "$SC"
first=$(dwarf_cost)
for _ in $(seq "$RUNS"); do dwarf_cost; done > later.txt
# medians of each column over the later runs
later=$(for col in 1 2 3 4 5; do awk -v c=$col '{ print $c }' later.txt | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; done | tr '\n' ' ')
awk -v pn="$pn" -v pt="$p_rep" -v pc="$p_cpu" 'BEGIN { printf "dwarf throughput       perf report %d samples in %.1f ms (%.1f ms CPU): %.0f samples/s (%.0f by CPU)\n", pn, pt * 1000, pc * 1000, pn / pt, pn / pc }'
throughput "  first run (no cache)" "$first"
throughput "  later runs (median)" "$later"
# Later runs fall in two groups: those whose samples all hit the symbol
# cache, and those with a sample at an address it does not hold yet
# (start-up code in ld.so, mostly), which open that binary's debug
# information. A median of a few runs lands in either; each group apart,
# and the spread of the finishing pass, say more.
awk -v pn="$pn" -v pc="$p_cpu" '
	{
		n++; f[n] = $3 / 1e6
		c = ($2 + $3) / 1e6; r = ($1 / (c / 1000)) / (pn / pc) # samples per CPU second, against perf report
		if ($5 == 0) { h++; t[h] = c; tr[h] = r } else { m++; u[m] = c; ur[m] = r }
	}
	function sort(a, k,   i, j, x) { for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
	function med(a, k) { return a[int((k + 1) / 2)] }
	END {
		sort(f, n); sort(t, h); sort(tr, h); sort(u, m); sort(ur, m)
		for (i = 1; i <= n; i++) s += f[i]
		printf "  later runs by group  %d of %d missed the symbol cache; finishing pass mean %.1f ms, 90th percentile %.1f ms\n", m, n, s / n, f[int(0.9 * n + 0.5)]
		if (h) printf "                       without a miss: %.1f ms CPU, %.1fx perf report by CPU (medians)\n", med(t, h), med(tr, h)
		if (m) printf "                       with misses:    %.1f ms CPU, %.1fx perf report by CPU (medians)\n", med(u, m), med(ur, m)
	}' later.txt
cs=$(stat -c %s cd.data); ps=$(stat -c %s pd.data)
echo "dwarf file size cprof.data ${cs} B  perf.data ${ps} B  perf/cprof $(ratio "$ps" "$cs")x"

# --- What a recording costs before and after the program: recording
# /bin/true, side by side with perf, each with its page faults (a fresh
# page is ~10 us on a VM, and start-up and the finishing pass are mostly
# fresh pages). Medians of RUNS runs taken in turn.
fixed() { # CMD... -> "wall_ms cpu_ms faults" of one run
	perf stat -x, -e page-faults,task-clock -o fx.txt -- "$@" >/dev/null 2>&1
	awk -F, '/page-faults/ { f = $1 } /task-clock/ { c = $1 } END { printf "%.3f %.0f\n", c, f }' fx.txt
}
for _ in $(seq "$RUNS"); do
	echo "bare $(fixed /bin/true)"
	echo "cprof $(fixed "$CPROF" record -q -o fc.data -- /bin/true)"
	echo "perf $(fixed perf record -q -o fp.data -- /bin/true)"
done > fixed.txt
awk '{ c[$1] = c[$1] " " $2; f[$1] = f[$1] " " $3 }
	function med(s,   a, n, i, j, x) { n = split(s, a, " "); for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } return a[int((n + 1) / 2)] }
	END { printf "fixed cost      record of /bin/true, CPU (task-clock) and page faults: bare %.1f ms %d; cprof %.1f ms %d; perf %.1f ms %d; perf/cprof %.1fx CPU\n",
		med(c["bare"]), med(f["bare"]), med(c["cprof"]), med(f["cprof"]), med(c["perf"]), med(f["perf"]), med(c["perf"]) / med(c["cprof"]) }' fixed.txt

[ "${BENCH_PART:-all}" = all ] || exit 0
# --- Lost samples and slowdown, side by side: two busy threads (threads)
# and 200 busy threads competing with the recorder for the CPUs (crowd), in
# fp and DWARF mode, at 999 and 4999 Hz. Lost is a share of all samples the
# kernel took (recorded + lost), medians of LOSS_RUNS runs; perf's count is
# the sum of its LOST records. The slowdown is the workload's own run time
# against the same without a profiler, in the same run.
LOSS_RUNS=${LOSS_RUNS:-3}
lost_cprof() { # DATA -> "lost total"
	"$CPROF" report -i "$1" --format json 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["lost_samples"], d["samples"] + d["lost_samples"])'
}
lost_perf() { # DATA -> "lost total"
	local l n
	l=$(perf report -D -i "$1" 2>/dev/null | sed -n 's/.*PERF_RECORD_LOST: .*lost:\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	n=$(perf script -i "$1" -F tid --hide-call-graph 2>/dev/null | wc -l)
	echo "$l" $((n + l))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
loss_row() { # LABEL MODE FREQ WORKLOAD...
	local label=$1 mode=$2 freq=$3; shift 3
	local b c p lc lp
	for _ in $(seq "$LOSS_RUNS"); do
		WORKLOAD_TIMING=1 "$@" 2>&1 >/dev/null | awk '$1 == "elapsed" { print "b", $2 }'
		WORKLOAD_TIMING=1 "$CPROF" record -q -F "$freq" $mode -o l.data -- "$@" 2>&1 >/dev/null |
			awk '$1 == "elapsed" { print "c", $2 }'
		echo "lc $(lost_cprof l.data)"
		WORKLOAD_TIMING=1 perf record -q -F "$freq" $mode -o l.pdata -- "$@" 2>&1 >/dev/null |
			awk '$1 == "elapsed" { print "p", $2 }'
		echo "lp $(lost_perf l.pdata)"
	done > rows.txt
	b=$(awk '$1 == "b" { print $2 }' rows.txt | median)
	c=$(awk '$1 == "c" { print $2 }' rows.txt | median)
	p=$(awk '$1 == "p" { print $2 }' rows.txt | median)
	lc=$(awk '$1 == "lc" && $3 > 0 { printf "%.2f\n", 100 * $2 / $3 }' rows.txt | median)
	lp=$(awk '$1 == "lp" && $3 > 0 { printf "%.2f\n", 100 * $2 / $3 }' rows.txt | median)
	awk -v l="$label" -v b="$b" -v c="$c" -v p="$p" -v lc="$lc" -v lp="$lp" 'BEGIN {
		printf "%-27s lost: cprof %6.2f%%  perf %6.2f%%   slowdown: cprof %+6.1f%%  perf %+6.1f%%\n",
			l, lc, lp, 100 * (c / b - 1), 100 * (p / b - 1) }'
}
CROWD="$WORKLOADS/crowd"
echo "lost samples: medians of $LOSS_RUNS runs; load average $(cut -d' ' -f1 /proc/loadavg)"
for mode in -g "--call-graph dwarf"; do
	for freq in 999 4999; do
		m=fp
		[ "$mode" = -g ] || m=dwarf
		loss_row "$m $freq Hz, 2 threads" "$mode" $freq "$WORKLOADS/threads" 20
		loss_row "$m $freq Hz, 200 threads" "$mode" $freq "$CROWD" 200 2
	done
done
