#!/bin/bash
# first-run.sh - every GPU check of cprof in one run of a few minutes, for a
# machine with an NVIDIA GPU, from a fresh build:
#
#   meson setup build && ninja -C build && tests/gpu/first-run.sh [BUILD_DIR]
#
# It prints what the machine is, then runs the GPU unit and CLI tests, the
# suite 'gpu' (run.sh: a program with known kernels; hw-checks.sh: what
# only hardware can show) and tests/bench/bench-gpu.sh, and ends with a
# summary. Paste its whole output where the results are wanted. Exits 0
# when everything that ran passed, 1 when something failed, 77 when none
# of the GPU parts could run here (no GPU, no nvcc, no perf events).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" 2>/dev/null && pwd) ||
	{ echo "no build directory ${1:-$SRC/build}: meson setup build && ninja -C build first"; exit 2; }
CPROF=$BUILD/src/cprof
ninja -C "$BUILD" >/dev/null || { echo "FAIL: ninja -C $BUILD"; exit 1; }
[ -x "$CPROF" ] || { echo "no cprof in $BUILD"; exit 2; }
export CPROF
. "$SRC/tests/gpu/gpu-lib.sh"
LOG=$(mktemp -d "${TMPDIR:-/tmp}/cprof-first-run.XXXXXX")
trap 'rm -rf "$LOG"' EXIT
start=$(date +%s)

echo "== machine"
echo "cprof $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?') ($("$CPROF" --version 2>&1 | head -n 1))"
echo "$(uname -srm), $(nproc) CPUs, perf_event_paranoid $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?')"
if have_gpu; then
	nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader
else
	echo "no NVIDIA GPU (nvidia-smi -L fails)"
fi
[ -x "$NVCC" ] && "$NVCC" --version | tail -n 1 || echo "no nvcc (set NVCC or CUDA_HOME)"
lib=$BUILD/src/gpu/libcprof-cupti.so
if [ -e "$lib" ]; then
	echo "collector: $lib, RUNPATH $(readelf -d "$lib" 2>/dev/null | sed -n 's/.*Library r[un]*path: \[\(.*\)\]/\1/p')"
else
	echo "collector: not built (cprof was configured without CUPTI: -Dcupti_cuda_dir=...)"
fi
command -v nsys >/dev/null && echo "nsys: $(nsys --version 2>&1 | head -n 1)"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>/dev/null ||
	echo "torch: not installed"

declare -A result
run() { # NAME LIMIT_S COMMAND...: runs it, output shown and kept, result 0/77/other
	local name=$1 limit=$2
	shift 2
	echo
	echo "== $name"
	timeout -s KILL "$limit" "$@" 2>&1 | tee "$LOG/$name.log"
	local rc=${PIPESTATUS[0]}
	case $rc in
	0) result[$name]=ok ;;
	77) result[$name]=skipped ;;
	137) result[$name]="FAILED (killed after $limit s)" ;;
	*) result[$name]="FAILED (exit $rc)" ;;
	esac
}

# Unit and CLI tests of the GPU code (the no-GPU parts skip where a driver is).
run "unit+cli gpu" 300 meson test -C "$BUILD" --print-errorlogs --num-processes 1 gpu
run "gpu-known" 600 bash "$SRC/tests/gpu/run.sh"
run "gpu-hardware" 900 bash "$SRC/tests/gpu/hw-checks.sh"
run "bench-gpu" 600 bash "$SRC/tests/bench/bench-gpu.sh"

echo
echo "== summary ($(($(date +%s) - start)) s)"
failed=0 ran=0
for name in "unit+cli gpu" gpu-known gpu-hardware bench-gpu; do
	r=${result[$name]}
	case $r in
	ok) [ "$name" = "unit+cli gpu" ] || ran=$((ran + 1)) ;;
	skipped) ;;
	*) failed=$((failed + 1)) ;;
	esac
	why=
	[ "$r" = skipped ] && why=" ($(grep -m1 '^skipped' "$LOG/$name.log" | sed 's/^skipped: //'))"
	printf '%-14s %s%s\n' "$name" "$r" "$why"
done
grep -h '^hardware checks:' "$LOG/gpu-hardware.log" 2>/dev/null
grep -h -E '^FAIL' "$LOG"/*.log 2>/dev/null | sed 's/^/  /'
grep -h -E '^(workload alone|cprof record --gpu|nsys profile|ratio)' "$LOG/bench-gpu.log" 2>/dev/null | sed 's/^/  /'
[ $failed -gt 0 ] && exit 1
[ $ran -eq 0 ] && exit 77
exit 0
