#!/bin/bash
# compare-outputs.sh OLD_CPROF NEW_CPROF - is a refactor behaviour-unchanged?
#
# Records the bundled workloads once, with OLD_CPROF, so both binaries read
# the very same inputs; then runs every reading command (report in each
# format, --mem, --threads, flame graphs, diff, export, annotate) with both
# binaries and compares what they write byte for byte. One line per
# comparison, then "N identical, M differ"; exit 1 if any differ, 2 on a
# usage error or when the recording fails.
#
# The workloads come from a meson build: WORKLOADS (default: the build
# directory of NEW_CPROF, tests/workloads). KEEP=DIR keeps the inputs and
# both sets of outputs in DIR to look at a difference (diff -r DIR/old DIR/new).
#
# Normalized before comparing, because they legitimately change from run to
# run and not with the code: nothing today. Both runs read the same files,
# and the outputs carry no clock time or path of their own; a line matching
# NORMALIZE (an extended regular expression, if set) is blanked in both.
set -u
if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	echo "usage: compare-outputs.sh OLD_CPROF NEW_CPROF (two executable cprof binaries)" >&2
	exit 2
fi
OLD=$(realpath "$1")
NEW=$(realpath "$2")
WORKLOADS=${WORKLOADS:-$(dirname "$NEW")/../tests/workloads}
[ -x "$WORKLOADS/hot" ] || { echo "compare-outputs.sh: no workloads in '$WORKLOADS' (set WORKLOADS)" >&2; exit 2; }
WORKLOADS=$(realpath "$WORKLOADS")
export NO_COLOR=1 DEBUGINFOD_URLS= LC_ALL=C
# Both binaries share one symbol cache, filled by the recordings.
export CPROF_CACHE_DIR

if [ -n "${KEEP:-}" ]; then
	mkdir -p "$KEEP" || exit 2
	dir=$(realpath "$KEEP")
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/cprof-compare.XXXXXX") || exit 2
	trap 'rm -rf "$dir"' EXIT
fi
CPROF_CACHE_DIR=$dir/cache
mkdir -p "$dir/in" "$dir/old" "$dir/new" || exit 2
cd "$dir/in" || exit 2

# --- inputs, recorded once with OLD -------------------------------------------
rec() { # NAME RECORD-ARGS... -- WORKLOAD ARGS
	local name=$1; shift
	if ! "$OLD" record -q -o "$name.data" "$@" >/dev/null 2>"$name.rec.err"; then
		echo "compare-outputs.sh: recording $name failed: $(head -3 "$name.rec.err")" >&2
		exit 2
	fi
}
rec demo -g -- "$WORKLOADS/demo" 2
rec hot-fp --call-graph fp -- "$WORKLOADS/hot" 2
rec hot-dwarf --call-graph dwarf -- "$WORKLOADS/hot" 1
rec hot-slow -g -- "$WORKLOADS/hot" 2 slow-b
rec threads -g -- "$WORKLOADS/threads" 4
rec mem --mem -- "$WORKLOADS/memwork" leak
rec evmix -g -e cpu-clock,page-faults/period=1/ -- "$WORKLOADS/evmix" 30
cat >in.folded <<'EOF'
main;alpha;beta 10
main;alpha;gamma 30
main;delta 50
main;work_[k] 10
EOF
perfdata=
if command -v perf >/dev/null &&
	perf record -q -g -o perf.data -- "$WORKLOADS/hot" 1 >/dev/null 2>perf.err; then
	perfdata=perf.data
else
	echo "(no perf.data input: perf is missing or cannot record here)"
fi

# --- the reading commands -----------------------------------------------------
# Each line: an output name, then the cprof arguments (word-split; inputs
# are relative to $dir/in). An output name ending in .out is a file written
# with -o; otherwise standard output is what is compared.
cases=()
add() { cases+=("$*"); }
for d in demo hot-fp hot-dwarf threads evmix; do
	add "$d.txt report -i $d.data"
	add "$d.json report -i $d.data --format json"
	add "$d.csv report -i $d.data --format csv"
	add "$d.folded report -i $d.data --format folded"
	add "$d.calltree.txt report -i $d.data --call-tree"
	add "$d.svg flamegraph -i $d.data"
	add "$d.pprof.out export -i $d.data -f pprof -o"
	add "$d.speedscope.out export -i $d.data -f speedscope -o"
	add "$d.chrome.out export -i $d.data -f chrome -o"
	add "$d.annotate.txt annotate -i $d.data"
	add "$d.annotate.json annotate -i $d.data --format json"
done
add "threads.threads.txt report -i threads.data --threads"
add "threads.threads.json report -i threads.data --threads --format json"
add "evmix.faults.txt report -i evmix.data --event page-faults"
add "evmix.faults.json report -i evmix.data --event page-faults --format json"
add "mem.txt report -i mem.data --mem"
add "mem.json report -i mem.data --mem --format json"
add "mem.svg flamegraph -i mem.data --mem"
add "mem.html flamegraph -i mem.data --mem --html"
add "demo.html flamegraph -i demo.data --html"
add "diff.txt diff hot-fp.data hot-slow.data"
add "diff.json diff hot-fp.data hot-slow.data --format json"
add "diff.svg flamegraph --diff hot-fp.data hot-slow.data"
add "diff.html flamegraph --diff hot-fp.data hot-slow.data --html"
add "folded.txt report -i in.folded"
add "folded.json report -i in.folded --format json"
add "folded.svg flamegraph -i in.folded"
add "folded.html flamegraph -i in.folded --html"
if [ -n "$perfdata" ]; then
	add "perfdata.txt report -i perf.data"
	add "perfdata.json report -i perf.data --format json"
	add "perfdata.folded report -i perf.data --format folded"
	add "perfdata.svg flamegraph -i perf.data"
	add "perfdata.pprof.out export -i perf.data -f pprof -o"
fi

# run BINARY SIDE NAME ARGS...: the output and the exit status of one case
run() {
	local bin=$1 side=$2 name=$3; shift 3
	local out=$dir/$side/$name
	if [[ $name == *.out ]]; then
		# The same path for both, so messages that name it compare equal.
		"$bin" "$@" "$name" >/dev/null 2>"$out.err"
		local rc=$?
		[ -e "$name" ] && mv "$name" "$out"
		(exit $rc)
	else
		"$bin" "$@" >"$out" 2>"$out.err"
	fi
	echo "exit $?" >>"$out.err"
	if [ -n "${NORMALIZE:-}" ] && [ -e "$out" ]; then
		sed -E -i "s/${NORMALIZE//\//\\/}.*//" "$out"
	fi
}

same=0
differ=0
for c in "${cases[@]}"; do
	# shellcheck disable=SC2086
	set -- $c
	name=$1; shift
	run "$OLD" old "$name" "$@"
	run "$NEW" new "$name" "$@"
	if [ "$(tail -1 "$dir/old/$name.err")" != "exit 0" ]; then
		# Every case is meant to succeed: one that fails compares nothing.
		echo "DIFFER    $name: the case itself fails with OLD: $(head -1 "$dir/old/$name.err")"
		differ=$((differ + 1))
	elif ! cmp -s "$dir/old/$name.err" "$dir/new/$name.err"; then
		echo "DIFFER    $name: exit status or messages ($(tail -1 "$dir/old/$name.err") vs $(tail -1 "$dir/new/$name.err"))"
		differ=$((differ + 1))
	elif cmp -s "$dir/old/$name" "$dir/new/$name"; then
		echo "identical $name ($(wc -c <"$dir/old/$name") bytes)"
		same=$((same + 1))
	else
		echo "DIFFER    $name: $(cmp "$dir/old/$name" "$dir/new/$name" 2>&1 | head -1)"
		differ=$((differ + 1))
	fi
done
echo "$same identical, $differ differ"
[ "$differ" -eq 0 ]
