#!/bin/bash
# bench-stat.sh - `cprof stat -r 10` against `perf stat -r 10` and
# `hyperfine -N -r 10`, side by side in one run, on `true` and on a 0.2 s
# CPU-bound workload: end-to-end time of each tool (median of REPS
# invocations), its own CPU time beyond the workload's, the added cost per
# run against the bare runs, and the spread of the workload's time as each
# tool reports it (cprof: stddev of wall time; perf: "+-", the standard
# error of the mean; hyperfine: sigma). Not part of the test suite:
# `meson test --benchmark` or run it directly.
#
# usage: tests/bench/bench-stat.sh   (CPROF, WORKLOADS from the environment,
#        default build/src/cprof and build/tests/workloads; REPS default 5)
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
REPS=${REPS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_perf=0
command -v perf >/dev/null && perf stat -r 2 -- true >/dev/null 2>&1 && have_perf=1
have_hf=0
command -v hyperfine >/dev/null && have_hf=1
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

python3 - "$CPROF" "$WORKLOADS/statwork" "$REPS" "$have_perf" "$have_hf" "$tmp" <<'PY'
import json, os, re, resource, statistics, subprocess, sys, time
cprof, work, reps, have_perf, have_hf, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1", sys.argv[6]
N = 10

def run(argv, capture=False):
    """Wall seconds and CPU seconds (children, user+sys) of one command."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if capture else subprocess.DEVNULL, text=True)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr if capture else ''}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu, (p.stderr if capture else "")

def bare(cmd):
    """N plain fork/exec runs: the floor every tool is measured against."""
    w = c = 0.0
    for _ in range(N):
        a, b, _ = run(cmd)
        w += a
        c += b
    return w, c

def spread_cprof(cmd):
    out = f"{tmp}/c.json"
    run([cprof, "stat", "-r", str(N), "-e", "task-clock", "-f", "json", "-o", out, "--"] + cmd)
    m = {x["name"]: x for x in json.load(open(out))["metrics"]}["wall"]
    return 100 * m["stddev"] / m["mean"]

def spread_perf(cmd):
    _, _, err = run(["perf", "stat", "-r", str(N), "-e", "task-clock", "--"] + cmd, capture=True)
    m = re.search(r"seconds time elapsed\s+\(\s*\+-\s*([0-9.]+)%\s*\)", err)
    return float(m.group(1)) if m else float("nan")

def spread_hf(cmd):
    out = f"{tmp}/h.json"
    run(["hyperfine", "-N", "-r", str(N), "--export-json", out, "--style", "none", " ".join(cmd)])
    r = json.load(open(out))["results"][0]
    return 100 * r["stddev"] / r["mean"]

workloads = [("true", ["true"]), ("0.2 s CPU (statwork 0 200 0 0)", [work, "0", "200", "0", "0"])]
for label, cmd in workloads:
    tools = [("cprof stat -r 10", [cprof, "stat", "-r", str(N), "-e", "task-clock", "--"] + cmd, spread_cprof)]
    if have_perf:
        tools.append(("perf stat -r 10", ["perf", "stat", "-r", str(N), "-e", "task-clock", "--"] + cmd, spread_perf))
    if have_hf:
        tools.append(("hyperfine -N -r 10", ["hyperfine", "-N", "-r", str(N), "--style", "none", " ".join(cmd)], spread_hf))
    rows = {name: ([], []) for name, _, _ in tools}
    floors_w, floors_c = [], []
    # Interleave the tools rep by rep, so a change in the machine's load
    # hits all of them alike.
    for _ in range(reps):
        w, c = bare(cmd)
        floors_w.append(w)
        floors_c.append(c)
        for name, argv, _ in tools:
            w, c, _ = run(argv)
            rows[name][0].append(w)
            rows[name][1].append(c)
    fw, fc = statistics.median(floors_w), statistics.median(floors_c)
    print(f"\n== {label}: {N} runs per invocation, medians of {reps} invocations")
    print(f"   bare: {N} fork/exec runs take {fw*1e3:.1f} ms wall, {fc*1e3:.1f} ms CPU")
    print(f"   {'tool':22} {'wall':>10} {'CPU':>10} {'added/run wall':>15} {'added/run CPU':>14} {'spread reported':>16}")
    res = {}
    for name, argv, spread in tools:
        w, c = statistics.median(rows[name][0]), statistics.median(rows[name][1])
        s = spread(cmd)
        res[name] = (w, c)
        print(f"   {name:22} {w*1e3:8.1f}ms {c*1e3:8.1f}ms {(w-fw)/N*1e3:13.2f}ms {(c-fc)/N*1e3:12.2f}ms {s:15.2f}%")
    base = res["cprof stat -r 10"]
    for name in res:
        if name.startswith("cprof"):
            continue
        print(f"   ratio {name} / cprof: wall {res[name][0]/base[0]:.2f}x, CPU {res[name][1]/base[1]:.2f}x")
print("\nspread: cprof = stddev/mean of wall time; perf = its '+-' (standard error of the mean);")
print("hyperfine = sigma/mean. The same N runs, so perf's figure is sqrt(N) smaller by definition.")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
