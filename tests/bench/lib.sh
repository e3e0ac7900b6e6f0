# lib.sh - what the benchmarks that time a workload bare and under a tool
# share; sourced, not run.
#
# measure CMD...: "WALL CPU" in seconds, medians of RUNS (default 5) runs;
# CPU is user + system time of the whole process tree.
measure() {
	python3 - "${RUNS:-5}" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
wall, cpu = [], []
for _ in range(runs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall.append(t1 - t0)
    cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
print("%.4f %.4f" % (statistics.median(wall), statistics.median(cpu)))
PY
}

# measure_rounds CMD1... :: CMD2... [:: ...]: the same as measure for each
# command, one "WALL CPU" line each, but run in rounds (one run of each
# command, then the next round), so that a machine that gets faster or
# slower during the benchmark (a VM's neighbours) moves every command's
# numbers alike and the ratios between them stay honest.
measure_rounds() {
	python3 - "${RUNS:-5}" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
runs, cmds, cur = int(sys.argv[1]), [], []
for a in sys.argv[2:]:
    if a == "::":
        cmds.append(cur)
        cur = []
    else:
        cur.append(a)
cmds.append(cur)
wall, cpu = [[] for _ in cmds], [[] for _ in cmds]
for _ in range(runs):
    for i, cmd in enumerate(cmds):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t1 = time.monotonic()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall[i].append(t1 - t0)
        cpu[i].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
for w, c in zip(wall, cpu):
    print("%.4f %.4f" % (statistics.median(w), statistics.median(c)))
PY
}

# row LABEL "WALL CPU" [NOTE]: one line with the ratios to $bare (a
# measure of the bare workload); labels LABEL_W (default 34) wide.
row() {
	awk -v l="$1" -v m="$2" -v b="$bare" -v n="${3:-}" -v w="${LABEL_W:-34}" 'BEGIN {
		split(m, x, " "); split(b, y, " ");
		printf "%-*s %8.3f s %7.1fx %8.3f s %7.1fx  %s\n", w, l, x[1], x[1] / y[1], x[2], x[2] / y[2], n }'
}
