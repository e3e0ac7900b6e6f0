#!/bin/bash
# run.sh - cprof record --gpu on a real GPU: builds gpu-known.cu with nvcc,
# checks that the build keeps every launching frame, records it and checks
# the report against what the program is known to do: kernel names, exact
# launch counts, the heavy/light duration ratio, copy bytes, launch sites,
# nothing lost, one clean END, and every kernel and copy starting after the
# API call that launched it (the GPU and CPU clocks agree). Without nvcc it
# skips (77); without a GPU it builds, checks the build, then skips; where
# perf events are not permitted it skips.
# Environment: CPROF (the cprof binary), NVCC or CUDA_HOME.
set -u
. "$(dirname "$0")/gpu-lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-gpu-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
need_nvcc
cuda_build gpu-known "$GPU_DIR/gpu-known.cu" || { echo "FAIL: nvcc cannot build gpu-known.cu"; exit 1; }
if command -v objdump >/dev/null; then
	tc=$(tail_calls gpu-known launch_heavy launch_light launch_tiny copy_in copy_out) ||
		{ echo "FAIL: launching functions end in tail calls, so their frames vanish: $tc"; exit 1; }
	echo "ok: no launching function ends in a tail call"
else
	echo "note: no objdump: the build is not checked for tail calls"
fi
have_gpu || { echo "skipped: no NVIDIA GPU (nvidia-smi)"; exit 77; }
need_perf "$TMP"
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
check("every kernel and copy has its launch stack", "[no launch stack]" not in sites)
check("tiny kernels are a finding", any(x["kind"] == "tiny-kernels" for x in r["findings"]))
lost = {n: v for n, v in r["loss"].items() if v}
check(f"nothing lost or malformed ({lost or 'all counts 0'})", not lost)
check(f"one process, ended by exit (ended {r['processes_ended']}, by a signal {r['processes_signalled']})",
      r["processes_ended"] == 1 and r["processes_signalled"] == 0)
check(f"one device ({[d['device'] for d in r['devices']]})", len(r["devices"]) == 1)
t = json.load(open(sys.argv[2]))
ev = t["traceEvents"]
check("timeline has 150 kernel slices", sum(1 for e in ev if e.get("cat") == "gpu-kernel") == 150)
start = {e["id"]: e["ts"] for e in ev if e.get("ph") == "s"}
begin = {e["id"]: e["ts"] for e in ev if e.get("ph") == "f"}
early = sorted(i for i in begin if i in start and begin[i] < start[i])
check(f"all {len(begin)} kernels and copies start after their launching call ({len(early)} before it)",
      len(begin) >= 152 and not early)
sys.exit(1 if fails else 0)
PY
