#!/bin/bash
# run.sh - cprof record --gpu on a real GPU: builds gpu-known.cu with nvcc,
# records it and checks the report against what the program is known to
# do (kernel names, exact launch counts, heavy/light duration ratio, copy
# bytes, launch sites). Exits 77 (skipped) where there is no GPU, no driver
# or no nvcc, so the normal suite never needs one.
# Environment: CPROF (the cprof binary), SRCDIR (the source tree), NVCC.
set -u
: "${CPROF:?CPROF must point at the cprof binary}"
HERE=$(cd "$(dirname "$0")" && pwd)
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || { echo "skipped: no NVIDIA GPU (nvidia-smi)"; exit 77; }
[ -x "$NVCC" ] || { echo "skipped: no nvcc"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-gpu-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
"$NVCC" -O2 -g -lineinfo -Xcompiler -fno-omit-frame-pointer -o gpu-known "$HERE/gpu-known.cu" || exit 1
./gpu-known; rc=$?
[ $rc -eq 77 ] && { echo "skipped: no usable CUDA device"; exit 77; }
[ $rc -eq 0 ] || { echo "FAIL: gpu-known exits $rc without cprof"; exit 1; }

"$CPROF" record --gpu -g -o gpu.data -- ./gpu-known 2>record.txt; rc=$?
cat record.txt
[ $rc -eq 0 ] || { echo "FAIL: cprof record --gpu exits $rc"; exit 1; }
"$CPROF" report --gpu -i gpu.data
"$CPROF" report --gpu -i gpu.data --format json >report.json || exit 1
"$CPROF" report -i gpu.data --timeline trace.json || exit 1
python3 - report.json trace.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
k = {x["name"].split("(")[0]: x for x in r["kernels"]}
fails = []
def check(what, ok):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok: fails.append(what)
for name, calls in (("heavy", 10), ("light", 40), ("tiny", 100)):
    check(f"{name}: {calls} launches (got {k.get(name, {}).get('calls')})", k.get(name, {}).get("calls") == calls)
if "heavy" in k and "light" in k:
    ratio = k["heavy"]["avg_ns"] / k["light"]["avg_ns"]
    check(f"heavy/light average duration ratio {ratio:.2f} within 8 +- 25%", 6.0 <= ratio <= 10.0)
c = {x["kind"]: x for x in r["copies"]}
for kind in ("HtoD", "DtoH"):
    check(f"{kind}: one copy of 4194304 bytes (got {c.get(kind)})", c.get(kind, {}).get("calls") == 1 and c[kind]["bytes"] == 4194304)
sites = {s["function"] for s in r["launch_sites"]}
for f in ("launch_heavy", "launch_light", "launch_tiny", "copy_in", "copy_out"):
    check(f"launch site {f} found (sites: {sorted(sites)})", any(s.startswith(f) for s in sites))
check("tiny kernels are a finding", any(x["kind"] == "tiny-kernels" for x in r["findings"]))
t = json.load(open(sys.argv[2]))
check("timeline has 150 kernel slices", sum(1 for e in t["traceEvents"] if e.get("cat") == "gpu-kernel") == 150)
sys.exit(1 if fails else 0)
PY
