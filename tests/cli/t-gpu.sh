#!/bin/bash
# t-gpu.sh - cprof record --gpu where there is no GPU (the CPU profile must
# still be written, and the reason said), and report/flamegraph/timeline on
# a GPU recording synthesized by test-gpu from CUPTI records (GPU_SYNTH).
# CUPTI_LIB is the collector; both are empty in a build without CUPTI.
. "$(dirname "$0")/test-lib.sh"

# --- record --gpu --------------------------------------------------------
if [ -n "${CUPTI_LIB:-}" ]; then
	if [ -e /dev/nvidiactl ]; then
		echo "note: a GPU driver is present; the no-GPU checks do not apply"
	else
		# A private TMPDIR: other recordings on this machine make stream files too.
		mkdir -p tmp
		TMPDIR=$PWD/tmp "$CPROF" record --gpu -o nogpu.data -- "$WORKLOADS/hot" >out.txt 2>err.txt
		check "record --gpu without a GPU exits with the workload's status" [ $? -eq 0 ]
		check "it says no GPU activity was recorded, and why" \
			grep -q "no GPU activity recorded: the workload never initialised CUDA (no NVIDIA driver" err.txt
		check "it says the CPU profile is recorded" grep -q "the CPU profile is recorded" err.txt
		check "the CPU profile is there" sh -c "'$CPROF' report -i nogpu.data --format csv | grep -q ',spin,'"
		"$CPROF" report --gpu -i nogpu.data >/dev/null 2>err.txt
		check "report --gpu on it fails" [ $? -eq 1 ]
		check "... naming the file and the reason" \
			grep -q "'nogpu.data': no GPU activity in this recording (no CUDA activity)" err.txt
		check "the stream file is removed" sh -c "! ls tmp/cprof-gpu.* 2>/dev/null | grep -q ."

		CUDA_INJECTION64_PATH=/opt/other-tool/libinject.so "$CPROF" record --gpu -o inj.data -- true 2>err.txt
		check "record --gpu over another CUDA_INJECTION64_PATH says it replaced it" \
			grep -q "warning: CUDA_INJECTION64_PATH was '/opt/other-tool/libinject.so'; --gpu replaced it" err.txt
		# A collector the driver could not load (here: not a library at all)
		# is named as the reason, not "the workload never initialised CUDA".
		echo "not a library" >libcprof-cupti.so
		CPROF_CUPTI_LIB=$PWD/libcprof-cupti.so "$CPROF" record --gpu -o bad.data -- true 2>err.txt
		check "record --gpu with a collector that cannot load exits 0" [ $? -eq 0 ]
		check "... saying the collector cannot be loaded, and why" \
			grep -q "no GPU activity recorded: the collector cannot be loaded (.*libcprof-cupti.so: .*); the CPU profile is recorded" err.txt
		check "... and not that CUDA was never initialised" sh -c "! grep -q 'never initialised CUDA' err.txt"
	fi
	exports=$(nm -D --defined-only "$CUPTI_LIB" | awk '{ print $3 }' | sort | tr '\n' ' ')
	check "the collector exports only InitializeInjection ($exports)" [ "$exports" = "InitializeInjection " ]
fi
CPROF_CUPTI_LIB=/nonexistent/libcprof-cupti.so "$CPROF" record --gpu -o x.data -- true 2>err.txt
check "record --gpu without the collector fails" [ $? -eq 1 ]
check "... saying cprof was built without CUPTI" grep -q "built without CUPTI support" err.txt
check "... and writes no file" [ ! -e x.data ]
"$CPROF" record --gpu -p 1 2>err.txt
check "record --gpu -p is a usage error" [ $? -eq 2 ]

# --- report / flamegraph / timeline on a synthesized GPU recording --------
[ -n "${GPU_SYNTH:-}" ] || { echo "no GPU_SYNTH (built without CUPTI)"; finish; }
"$GPU_SYNTH" --write gpu.data || { fail "writing the synthesized recording"; finish; }

"$CPROF" report --gpu -i gpu.data >report.txt
check "report --gpu succeeds" [ $? -eq 0 ]
check "kernel table names kernelA with its launch shape" \
	grep -q "(256,2,1)x(128,1,1) 32r  *kernelA(float\*, int)" report.txt
check "copy table: 12 MB HtoD at 2 GB/s, 12 pageable, 12 sync" \
	grep -Eq "^HtoD +12 +12.00 MB +6.00 ms +2.00 GB/s +12 +12" report.txt
check "launch sites name the launching function" grep -q "launch_site_copy (test-gpu.c:" report.txt
check "findings: tiny kernels" grep -q "kernel 'kernelB()': 30 launches averaging 2.0 us" report.txt
check "findings: idle gaps" grep -q "GPU idle 15.7% of the time" report.txt
check "findings: pageable copies" grep -q "12 copies (12.0 MB) use pageable host memory" report.txt
check "findings: synchronous copies in a loop" grep -q "12 synchronous copies from launch_site_copy" report.txt

"$CPROF" report --gpu -i gpu.data --format json >report.json
check "JSON report parses and has the numbers" python3 - report.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "cprof-gpu-report/1"
k = {x["name"]: x for x in r["kernels"]}
assert k["kernelA(float*, int)"]["calls"] == 10 and k["kernelB()"]["calls"] == 30
assert abs(k["kernelA(float*, int)"]["total_ns"] / k["kernelB()"]["total_ns"] - 1000 / 60) < 1e-9
c = {x["kind"]: x for x in r["copies"]}
assert c["HtoD"]["bytes"] == 12000000 and c["DtoH"]["bytes"] == 4000000
assert r["launch_sites"][0]["function"] == "launch_site_copy"
assert r["idle_gaps"] == 30 and r["dropped_records"] == 3
assert {f["kind"] for f in r["findings"]} == {"idle-gaps", "tiny-kernels", "pageable-copies", "sync-copies-in-loop"}
assert r["devices"] == [{"device": 0, "span_ns": 9570000, "busy_ns": 8070000, "idle_ns": 1500000, "idle_gaps": 30,
                         "longest_gap_ns": 50000}]
assert r["loss"]["dropped_records"] == 3 and r["loss"]["stacks_lost"] == 0 and r["loss"]["untimed_records"] == 0
assert r["processes_ended"] == 1 and r["processes_signalled"] == 0
PY
"$CPROF" report --gpu -i gpu.data --format csv >report.csv
check "CSV report: one row per kernel, copy direction and site" \
	[ "$(cut -d, -f1 report.csv | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')" = "kernel=2 memcpy=2 site=4 table=1 " ]

"$CPROF" report -i gpu.data --timeline trace.json >tl.out
[ $? -eq 0 ] && [ ! -s tl.out ]
check "timeline is written and prints nothing else" test $? -eq 0
check "timeline is Chrome trace JSON with GPU slices, API slices and flows" python3 - trace.json <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ev = t["traceEvents"]
gpu = [e for e in ev if e.get("cat") == "gpu-kernel"]
api = [e for e in ev if e.get("cat") == "cuda-runtime"]
assert len(gpu) == 40 and len(api) == 52
names = {e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
assert "GPU 0 stream 7" in names
assert sum(1 for e in ev if e.get("ph") == "s") == sum(1 for e in ev if e.get("ph") == "f") == 52
# Slices on one GPU track never overlap (Perfetto requires nesting).
g = sorted(gpu, key=lambda e: e["ts"])
assert all(a["ts"] + a["dur"] <= b["ts"] + 1e-6 for a, b in zip(g, g[1:]))
PY
"$CPROF" report --gpu -i gpu.data --timeline trace2.json >both.txt
[ -s trace2.json ] && grep -q "^Kernels" both.txt
check "--gpu --timeline writes the trace and prints the report" test $? -eq 0

"$CPROF" flamegraph --gpu -i gpu.data -o gpu.svg
[ $? -eq 0 ] && grep -q "<svg" gpu.svg
check "flamegraph --gpu writes an SVG" test $? -eq 0
check "... titled GPU Flame Graph, counted in ns" grep -q "GPU Flame Graph" gpu.svg && grep -q " ns, " gpu.svg
check "... with the kernel above its launch site" grep -q "kernelA(float\*, int) (1,000,000 ns" gpu.svg
check "... and the launch site in it" grep -q "launch_site_a (" gpu.svg

"$CPROF" flamegraph --gpu --diff gpu.data gpu.data -o x.svg 2>err.txt
check "flamegraph --gpu --diff is a usage error" [ $? -eq 2 ]
"$CPROF" record -o cpu.data -- "$WORKLOADS/hot" 2>/dev/null
"$CPROF" flamegraph --gpu -i cpu.data -o x.svg 2>err.txt
check "flamegraph --gpu on a CPU recording fails" [ $? -eq 1 ]
check "... telling how to record GPU activity" grep -q "record it with 'cprof record --gpu'" err.txt
check "... and leaves no file" [ ! -e x.svg ]
"$CPROF" report --gpu --format folded -i gpu.data 2>/dev/null
check "report --gpu --format folded is a usage error" [ $? -eq 2 ]
finish
