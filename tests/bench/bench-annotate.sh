#!/bin/bash
# bench-annotate.sh - cprof annotate against perf annotate --stdio on a big
# real binary: Debian's python3.11-dbg running tests/bench/pywork.py, the
# same run recorded by each tool (999 Hz, no call graph). The top 10
# functions of cprof's profile are annotated by both, one invocation per
# function as perf needs, and cprof also once for all ten; CPU time (user +
# sys, children included: perf runs objdump), wall time and peak RSS,
# medians of RUNS, as ratios. Then, per function, whether the two tools'
# hottest instructions are the same or adjacent. For contrast, cprof on 10
# functions whose code it did not save, read from the binary. Nothing here
# asserts a time.
# Usage: bench-annotate.sh [RUNS]  (CPROF from the environment)
set -u
: "${CPROF:?}"
RUNS=${1:-3}
PY=$(command -v python3.11-dbg) || { echo "python3.11-dbg is not installed (scripts/setup-deps): skipped"; exit 77; }
command -v perf >/dev/null || { echo "perf is not installed: nothing to compare with"; exit 77; }
CPROF=$(realpath "$CPROF"); WORK=$(realpath "$(dirname "$0")/pywork.py")
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT; cd "$TMP" || exit 1
export DEBUGINFOD_URLS= NO_COLOR=1
ROUNDS=${ROUNDS:-12}

"$CPROF" record -q -F 999 -o c.data -- "$PY" "$WORK" "$ROUNDS" >/dev/null 2>&1 || { echo "cprof record failed"; exit 1; }
perf record -q -F 999 -e cpu-clock -o p.data -- "$PY" "$WORK" "$ROUNDS" >/dev/null 2>perf.err ||
	{ echo "perf record cannot run here: $(tail -1 perf.err)"; exit 77; }
mapfile -t syms < <("$CPROF" annotate -i c.data --list-symbols | head -10)
[ ${#syms[@]} -eq 10 ] || { echo "fewer than 10 functions with samples"; exit 1; }
saved=$("$CPROF" annotate -i c.data -f json "${syms[@]}" 2>/dev/null |
	python3 -c 'import json,sys; print(sum(f["code_from"] == "recording" for f in json.load(sys.stdin)["functions"]))')
echo "workload: python3.11-dbg pywork.py $ROUNDS, 999 Hz; $RUNS runs each, medians; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "top 10 functions (${saved} with code saved in the recording, the rest read from the binary): ${syms[*]}"

# One measurement: CPU seconds (rusage of the children, so perf's objdump
# counts), wall seconds and the biggest peak RSS (KB) of running the
# command given, once per function ("each") or once with all of them.
measure() {
	python3 - "$@" "${syms[@]}" <<'PY'
import resource, subprocess, sys, time
mode, cmd, syms = sys.argv[1], sys.argv[2:-10], sys.argv[-10:]
runs = [cmd + [s] for s in syms] if mode == "each" else [cmd + syms]
t0 = time.monotonic()
for argv in runs:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f %.4f %d" % (r.ru_utime + r.ru_stime, wall, r.ru_maxrss))
PY
}
col_median() { # COLUMN < "cpu wall rss" lines
	awk -v k="$1" '{ print $k }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
run() {
	for _ in $(seq "$RUNS"); do measure "$@"; done >runs.txt
	echo "$(col_median 1 <runs.txt) $(col_median 2 <runs.txt) $(col_median 3 <runs.txt)"
}

read -r c1_cpu c1_wall c1_rss < <(run each "$CPROF" annotate -i c.data)
read -r ca_cpu ca_wall ca_rss < <(run all "$CPROF" annotate -i c.data)
read -r p_cpu p_wall p_rss < <(run each perf annotate -i p.data --stdio -s)
# Functions whose code was not saved (ranks 17-26) come from the binary:
# libdw reads python's 14 MB of DWARF for their line rows and inlines.
top=("${syms[@]}")
mapfile -t syms < <("$CPROF" annotate -i c.data --list-symbols | sed -n 17,26p)
b_cpu=; [ ${#syms[@]} -eq 10 ] && read -r b_cpu b_wall b_rss < <(run each "$CPROF" annotate -i c.data)
syms=("${top[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
printf "%-34s %9s %9s %10s\n" "" "CPU s" "wall s" "peak RSS"
printf "%-34s %9.3f %9.3f %8d KB\n" "perf annotate --stdio, 10 runs" "$p_cpu" "$p_wall" "$p_rss"
printf "%-34s %9.3f %9.3f %8d KB\n" "cprof annotate, 10 runs" "$c1_cpu" "$c1_wall" "$c1_rss"
printf "%-34s %9.3f %9.3f %8d KB\n" "cprof annotate, 1 run of 10" "$ca_cpu" "$ca_wall" "$ca_rss"
[ -n "$b_cpu" ] && printf "%-34s %9.3f %9.3f %8d KB\n" "cprof, 10 runs, from the binary" "$b_cpu" "$b_wall" "$b_rss"
echo "ratios perf/cprof (10 runs each): CPU $(ratio "$p_cpu" "$c1_cpu")x, wall $(ratio "$p_wall" "$c1_wall")x, memory $(ratio "$p_rss" "$c1_rss")x"

# Do they agree? Each tool's hottest instruction of each function, and
# whether cprof's instruction list has them within one of each other.
agree=0
for s in "${syms[@]}"; do
	"$CPROF" annotate -i c.data -f json "$s" >c.json 2>/dev/null
	perf annotate -i p.data --stdio -s "$s" 2>/dev/null >p.txt
	phot=$(awk -F: '$1 ~ /^ *[0-9]+\.[0-9]+ *$/ && $2 ~ /^ *[0-9a-f]+ *$/ { p = $1 + 0; if (p > best) { best = p; a = $2 } }
		END { gsub(/ /, "", a); print a }' p.txt)
	verdict=$(python3 - "$phot" c.json <<'PY'
import json, sys
f = json.load(open(sys.argv[2]))["functions"][0]
addrs = [int(x["address"], 16) for x in f["instructions"]]
c = int(f["hottest_address"], 16) if f["hottest_address"] else None
p = int(sys.argv[1], 16) if sys.argv[1] else None
if c is None or p is None or p not in addrs:
    print("n/a %s %s" % (hex(c) if c else "-", hex(p) if p else "-"))
else:
    d = abs(addrs.index(c) - addrs.index(p))
    print("%s %x %x" % ("same" if d == 0 else "adjacent" if d == 1 else "apart(%d)" % d, c, p))
PY
)
	echo "  $s: cprof/perf hottest $verdict"
	case $verdict in same* | adjacent*) agree=$((agree + 1)) ;; esac
done
echo "hottest instruction same or adjacent in $agree of ${#syms[@]} functions; two recordings, so with a few"
echo "dozen samples per function the rest is sampling noise, and n/a means the two tools picked"
echo "different copies of a static function that has several (Py_DECREF is one per object file)"
