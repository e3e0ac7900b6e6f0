#!/bin/bash
# bench-gpu.sh - slowdown of a CUDA workload under 'cprof record --gpu',
# against the workload alone and against 'nsys profile' when installed,
# measured side by side in one run (medians of 5). Skips (77) without a GPU.
# The workload is tests/gpu/gpu-known.cu, whose heavy and light kernels run
# well over 10 us each; its 100 tiny kernels are the worst case for
# per-launch cost.
set -u
. "$(dirname "$0")/../gpu/gpu-lib.sh"
have_gpu || { echo "skipped: no NVIDIA GPU"; exit 77; }
need_nvcc
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-gpu.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
need_perf "$TMP"
cuda_build gpu-known "$GPU_DIR/gpu-known.cu" || exit 1
./gpu-known || { echo "skipped: the workload does not run"; exit 77; }

t() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
runs=5
base=$(for i in $(seq $runs); do t ./gpu-known; done | median)
cprof=$(for i in $(seq $runs); do t "$CPROF" record --gpu -q -o c.data -- ./gpu-known; done | median)
echo "workload alone:          $base us (median of $runs)"
echo "cprof record --gpu:      $cprof us  ($(awk -v a="$cprof" -v b="$base" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'))"
if command -v nsys >/dev/null; then
	nsys=$(for i in $(seq $runs); do t nsys profile -o n -f true ./gpu-known; done | median)
	echo "nsys profile:            $nsys us  ($(awk -v a="$nsys" -v b="$base" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'))"
	echo "ratio cprof/nsys:        $(awk -v a="$cprof" -v b="$nsys" 'BEGIN { printf "%.2f", a / b }')"
else
	echo "nsys profile:            not installed"
fi
# Kernel-time slowdown, independent of process start-up: the GPU time of
# heavy and light under cprof, from its own report, against their CPU-side
# wall time is not comparable; report the per-launch cost instead.
"$CPROF" report --gpu -i c.data --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
for k in r["kernels"]:
    print("  %-28s %5d launches, avg %8.1f us" % (k["name"][:28], k["calls"], k["avg_ns"] / 1e3))'
