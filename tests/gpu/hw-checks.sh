#!/bin/bash
# hw-checks.sh - what a review of the CUPTI collector against the CUDA
# headers could not check without a GPU, one check per mode of
# gpu-checks.cu:
#   corr        every kernel, memset and copy finds its launching stack
#               (the callback's correlation id is the activity record's)
#   deep        backtrace() reaches user code through libcupti and libcuda
#               from 200 frames deep; the CPU cost per launch is printed
#   sigterm     SIGTERM during a launch loop: the stream is finished, the
#               workload dies of SIGTERM, the recording is written
#   fork        a forked child's exit writes nothing: one END, every launch
#               once
#   running     exit with a kernel still running: nothing hangs, and the
#               kernel is recorded or counted
#   pageable    a 4 MiB pageable copy is one record
#   flood       300000 kernels in flight: each recorded or counted (no
#               timestamps, dropped), none lost silently
#   subscriber  the program holds CUPTI itself: whoever subscribes first
#               keeps it, and cprof names the other tool in one line
#   torch       next to torch.profiler, if Python with a CUDA PyTorch is
#               there: the same number of GPU operations per step
# Prints ok/FAIL/skip per check and a summary line; exits 1 if a check
# failed, 77 when none could run (no nvcc, no GPU, no perf events).
# Environment: CPROF (the cprof binary), NVCC or CUDA_HOME.
set -u
. "$(dirname "$0")/gpu-lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-gpu-hw.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
need_nvcc
cuda_build gpu-checks "$GPU_DIR/gpu-checks.cu" -I"$CUDA_HOME/include" -L"$CUDA_HOME/lib64" -lcupti \
	-Xlinker -rpath -Xlinker "$CUDA_HOME/lib64" || { echo "FAIL: nvcc cannot build gpu-checks.cu"; exit 1; }
if command -v objdump >/dev/null; then
	tc=$(tail_calls gpu-checks deep_launch recurse launch_some do_memset do_memset_async do_copy_back do_copy_in) ||
		{ echo "FAIL: launching functions end in tail calls, so their frames vanish: $tc"; exit 1; }
fi
have_gpu || { echo "skipped: no NVIDIA GPU (nvidia-smi)"; exit 77; }
need_perf "$TMP"
./gpu-checks pageable >/dev/null 2>&1
[ $? -eq 77 ] && { echo "skipped: no usable CUDA device"; exit 77; }

passed=0 failed=0 skipped=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "skip: $*"; skipped=$((skipped + 1)); }

# record NAME ARGS...: cprof record --gpu -g of ./gpu-checks ARGS into
# NAME.data (the workload's output in NAME.out, cprof's in NAME.err, the
# GPU report in NAME.json, the exit status in NAME.rc), 5 minutes at most.
record() {
	local name=$1
	shift
	timeout -s KILL 300 "$CPROF" record --gpu -g -o "$name.data" -- ./gpu-checks "$@" >"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
	"$CPROF" report --gpu -i "$name.data" --format json >"$name.json" 2>>"$name.err" || rm -f "$name.json"
}

# judge NAME WHAT <<PY: the Python on stdin sees r (NAME's GPU report or
# None), rc, out, err and the sums kernels, copies, memsets; it prints one
# line of detail and exits non-zero to fail.
judge() {
	local name=$1 what=$2 detail
	detail=$(python3 -c '
import json, sys
name = sys.argv[1]
try:
    r = json.load(open(name + ".json"))
except (OSError, ValueError):
    r = None
rc = int(open(name + ".rc").read())
out = open(name + ".out").read()
err = open(name + ".err").read()
kernels = sum(k["calls"] for k in r["kernels"]) if r else 0
copies = sum(c["calls"] for c in r["copies"]) if r else 0
memsets = sum(s["memsets"] for s in r["launch_sites"]) if r else 0
lost = {k: v for k, v in r["loss"].items() if v} if r else {}
exec(sys.stdin.read())' "$name" 2>&1)
	if [ $? -eq 0 ]; then pass "$what: $detail"; else fail "$what: $detail"; fi
}

record corr corr
judge corr "kernels, memsets and copies find their launch stacks" <<'PY'
sites = {s["function"]: s for s in r["launch_sites"]} if r else {}
print(f"rc {rc}, {kernels} kernels, {memsets} memsets, {copies} copies, sites {sorted(sites)}, lost {lost}")
assert rc == 0 and kernels == 10 and memsets == 2 and copies == 1 and not lost
assert "[no launch stack]" not in sites
assert all(f in sites for f in ("launch_some", "do_memset", "do_memset_async", "do_copy_back"))
PY

# CPU time per launch, alone and under cprof, 4 and 200 frames deep.
for depth in 4 200; do
	./gpu-checks deep $depth 2000 >plain$depth.out 2>&1
	record deep$depth deep $depth 2000
done
cost() { sed -n 's/^ns_per_launch=//p' "$1"; }
judge deep200 "backtrace() reaches user code from 200 frames deep" <<PY
site = r["launch_sites"][0] if r and r["launch_sites"] else {"function": None, "stack": []}
deep = sum(1 for f in site["stack"] if f.startswith("recurse"))
print(f"innermost user frame {site['function']}, then {deep} recurse frames (stacks are cut at 128 frames); "
      f"CPU per launch: depth 4 {'$(cost plain4.out)'} ns alone, {'$(cost deep4.out)'} ns under cprof; "
      f"depth 200 {'$(cost plain200.out)'} ns alone, {'$(cost deep200.out)'} ns under cprof")
assert rc == 0 and kernels == 2000 and site["function"] == "deep_launch" and deep >= 50
PY

# SIGTERM to cprof record, which passes it on, while the workload launches.
"$CPROF" record --gpu -g -o sigterm.data -- ./gpu-checks loop 2000 >sigterm.out 2>sigterm.err &
pid=$!
for _ in $(seq 1200); do grep -q ready sigterm.out 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
for _ in $(seq 1200); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -KILL $pid 2>/dev/null && echo "cprof record still ran 2 minutes after SIGTERM: killed" >>sigterm.err
wait $pid
echo $? >sigterm.rc
"$CPROF" report --gpu -i sigterm.data --format json >sigterm.json 2>>sigterm.err || rm -f sigterm.json
judge sigterm "SIGTERM during a launch loop" <<'PY'
print(f"rc {rc}, {kernels} kernels, processes ended {r and r['processes_ended']} / by a signal "
      f"{r and r['processes_signalled']}, lost {lost}")
assert "ready" in out and rc == 128 + 15 and r and r["processes_signalled"] == 1 and r["processes_ended"] == 0
assert kernels >= 2000 and not r["loss"]["bad_records"]
PY

if ./gpu-checks fork 50 >/dev/null 2>fork-plain.err; then
	record fork fork 50
	judge fork "a forked child's exit" <<'PY'
print(f"rc {rc}, {kernels} kernels, processes ended {r and r['processes_ended']}, lost {lost}")
assert rc == 0 and kernels == 100 and r["processes_ended"] == 1 and r["processes_signalled"] == 0 and not lost
PY
else
	skip "a forked child's exit: the program fails without cprof too ($(head -n 1 fork-plain.err))"
fi

record running running
judge running "exit with a kernel still running" <<'PY'
at_exit = r["loss"]["unfinished_at_exit"] + r["loss"]["incomplete_buffers_at_exit"] if r else 0
print(f"rc {rc}, spin kernel recorded: {kernels}, counted as running at exit: {at_exit}, "
      f"processes ended {r and r['processes_ended']}")
assert rc == 0 and r and r["processes_ended"] == 1 and kernels + at_exit >= 1
PY

record pageable pageable
judge pageable "a 4 MiB pageable copy is one record" <<'PY'
c = {x["kind"]: x for x in r["copies"]} if r else {}
print(f"copies {c}")
assert rc == 0 and c.get("HtoD", {}).get("calls") == 1 and c["HtoD"]["bytes"] == 4 << 20 and c["HtoD"]["pageable"] == 1
PY

record flood flood 300000
judge flood "300000 kernels in flight" <<'PY'
untimed = r["loss"]["untimed_records"] + r["loss"]["unfinished_records"] if r else 0
reported = r["loss"]["dropped_records"] + r["loss"]["incomplete_buffers"] if r else 0
print(f"rc {rc}: {kernels} recorded, {untimed} without usable timestamps, other loss reported {reported}")
assert rc == 0 and (kernels + untimed == 300000 or (reported and kernels + untimed < 300000))
PY

record subscriber subscriber
judge subscriber "another CUPTI subscriber in the program" <<'PY'
said = [l for l in err.splitlines() if "another CUPTI tool is attached" in l]
mine = out.split("subscribe=")[1].split()[0] if "subscribe=" in out else "?"
print(f"rc {rc}; the program's cuptiSubscribe_v2 returned {mine}; cprof: {said[0] if said else 'traced ' + str(kernels) + ' kernels'}")
assert rc == 0
if mine == "0":   # the program holds CUPTI: cprof says so and traces nothing
    assert len(said) == 1 and "gpu-checks" in said[0] and kernels == 0
else:             # cprof was first (the driver loads it during CUPTI's own init)
    assert mine == "39" and kernels == 10 and not said
PY
"$CPROF" report -i subscriber.data >/dev/null 2>&1 || fail "the CPU profile of the subscriber run cannot be read"

if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	cat >steps.py <<'PY'
# Matrix products and reductions: the GPU operations of `steps` iterations.
import sys, torch
steps = int(sys.argv[1])
x = torch.randn(1024, 1024, device="cuda")
def step():
    return torch.relu(x @ x).sum()
for _ in range(3):
    step()
torch.cuda.synchronize()
if len(sys.argv) > 2:
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CUDA]) as p:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    print("gpu_ops=%d" % sum(1 for e in p.events() if e.device_type == torch.autograd.DeviceType.CUDA))
else:
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
PY
	ops() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(sum(k["calls"] for k in r["kernels"]) + sum(c["calls"] for c in r["copies"]) + sum(s["memsets"] for s in r["launch_sites"]))' "$1"; }
	t0=$(date +%s%N)
	timeout 300 python3 steps.py 50 profile >torch.out 2>&1
	t1=$(date +%s%N)
	timeout -s KILL 300 "$CPROF" record --gpu -q -o t50.data -- python3 steps.py 50 >/dev/null 2>t50.err
	t2=$(date +%s%N)
	timeout -s KILL 300 "$CPROF" record --gpu -q -o t100.data -- python3 steps.py 100 >/dev/null 2>t100.err
	"$CPROF" report --gpu -i t50.data --format json >t50.json 2>/dev/null
	"$CPROF" report --gpu -i t100.data --format json >t100.json 2>/dev/null
	tp=$(sed -n 's/^gpu_ops=//p' torch.out)
	c50=$(ops t50.json 2>/dev/null) c100=$(ops t100.json 2>/dev/null)
	detail="torch.profiler: ${tp:-?} GPU operations in 50 steps ($(((t1 - t0) / 1000000)) ms); cprof: $((${c100:-0} - ${c50:-0})) (100 steps $c100 - 50 steps $c50; 50 steps $(((t2 - t1) / 1000000)) ms)"
	if [ -n "$tp" ] && [ -n "$c50" ] && [ -n "$c100" ] && [ $((c100 - c50)) -eq "$tp" ]; then
		pass "next to torch.profiler: $detail"
	else
		fail "next to torch.profiler: $detail"
	fi
else
	skip "next to torch.profiler: no Python with a CUDA PyTorch here"
fi

echo "hardware checks: $passed ok, $failed failed, $skipped skipped"
[ $failed -gt 0 ] && exit 1
[ $passed -eq 0 ] && exit 77
exit 0
