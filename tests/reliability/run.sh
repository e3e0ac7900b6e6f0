#!/bin/bash
# run.sh - what cprof was put through (bad input, faults, signals, load) and
# what held, as the rows of README's "Reliability" table. Every row is
# printed only from the checks run here: "held" when all of them passed,
# "NOT HELD" with the first failure otherwise (and the exit status is 1).
#
# Usage: tests/reliability/run.sh [--quick] [BUILDDIR]    (default: build)
#   --quick  cprof's own checks on fewer mutated and truncated files, and
#            without re-running the tests/cli scripts whose checks some rows
#            reuse (the test suite runs those already): the 'reliability'
#            suite of `meson test` runs this
# CPROF, MKDATA and WORKLOADS, when set (as meson sets them), win over
# BUILDDIR. Root is needed for the rows that mount a small or read-only
# file system in a private mount namespace; without it they are skipped.
set -u
quick=no
[ "${1:-}" = --quick ] && { quick=yes; shift; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ -z "${CPROF:-}" ]; then
	build=$(cd "${1:-$src/build}" 2>/dev/null && pwd) || { echo "run.sh: no build directory '${1:-build}'" >&2; exit 2; }
	export CPROF=$build/src/cprof MKDATA=$build/tests/cli/mkdata WORKLOADS=$build/tests/workloads
	export CPROF_CACHE_DIR=${CPROF_CACHE_DIR:-$build/tests/cli/cache}
fi
export SRCDIR=${SRCDIR:-$src} DEBUGINFOD_URLS=
[ -x "$CPROF" ] || { echo "run.sh: no cprof at '$CPROF' (build first: ninja -C build)" >&2; exit 2; }
. "$src/tests/cli/test-lib.sh"

# -- rows: checks since the last row belong to the next row printed
row_checks=0 row_fail= rows=0 rows_bad=0 rows_skipped=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); [ -n "$row_fail" ] || row_fail=$*; }
ok() { checks=$((checks + 1)); row_checks=$((row_checks + 1)); echo "ok: $*" >&2; }
row() { # AREA TRIED HELD
	rows=$((rows + 1))
	if [ -n "$row_fail" ]; then
		rows_bad=$((rows_bad + 1))
		echo "| $1 | $2 | NOT HELD: $row_fail | $row_checks passed |"
	elif [ "$row_checks" -eq 0 ]; then
		rows_bad=$((rows_bad + 1))
		echo "| $1 | $2 | NOT HELD: no check ran | 0 |"
	else
		echo "| $1 | $2 | $3 | $row_checks |"
	fi
	row_checks=0 row_fail=
}
skip_row() { # AREA WHY
	rows_skipped=$((rows_skipped + 1))
	echo "skipped: $1 ($2)" >&2
	row_checks=0 row_fail=
}
one_line() { [ "$(wc -l < "$1")" -eq 1 ]; }
no_tmp() { ! ls -a "${1:-.}" | grep -q '\.tmp\.'; }
json() { # FILE EXPR: a value from report --format json (d is the document)
	"$CPROF" report -i "$1" --format json | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"
}
rooted_ns=no
[ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null && rooted_ns=yes

echo "| area | what was tried | what held | checks |"
echo "|---|---|---|---|"

"$CPROF" record -q -o good.data -- "$WORKLOADS/hot" 1 >/dev/null
"$CPROF" record -q --mem -o mem.data -- "$WORKLOADS/memwork" leak >/dev/null
"$CPROF" report -i good.data --format folded > good.folded
[ -s good.data ] && [ -s mem.data ] && [ -s good.folded ] || { echo "run.sh: cannot make the recordings to start from" >&2; exit 1; }

# -- Disk full: the full device, then a file system too small for the file.
for cmd in "record -q -o /dev/full -- $WORKLOADS/hot 1" "flamegraph -i good.data -o /dev/full" \
	"export -f pprof -i good.data -o /dev/full" "report --mem -i mem.data --plot /dev/full"; do
	# shellcheck disable=SC2086
	"$CPROF" $cmd > /dev/null 2> err.txt
	rc=$?
	if [ $rc -eq 1 ] && one_line err.txt && grep -q "'/dev/full': No space left on device" err.txt; then
		ok "${cmd%% *} to /dev/full: $(cat err.txt)"
	else
		fail "${cmd%% *} to /dev/full: exit $rc, $(cat err.txt)"
	fi
done
"$CPROF" report -i good.data > /dev/full 2> err.txt
rc=$?
check "report > /dev/full: exit 1, one line ($(cat err.txt))" \
	eval '[ $rc -eq 1 ] && one_line err.txt && grep -q "No space left on device" err.txt'
row "disk full" "\`record\`, \`flamegraph\`, \`export\`, \`report --plot\` to /dev/full; \`report\` with stdout on /dev/full" \
	"exit 1 with one line naming the file and ENOSPC; never exit 0 on a lost write"

if [ $rooted_ns = yes ]; then
	mkdir small
	cp good.data keep.data
	# The previous recording, then a filler up to the last byte.
	unshare -m bash -c 'mount -t tmpfs -o size=64k tmpfs small || exit 99
		cp keep.data small/keep.data || exit 99
		dd if=/dev/zero of=small/filler bs=4k status=none 2>/dev/null
		[ "$(df --output=avail small | tail -n 1)" -eq 0 ] || exit 99
		"$CPROF" record -q -o small/keep.data -- "$WORKLOADS/threads" 2 > /dev/null 2> rec.err; echo $? > rec.rc
		"$CPROF" flamegraph -i good.data -o small/x.svg 2> fg.err; echo $? > fg.rc
		cmp -s keep.data small/keep.data && echo intact > kept.txt
		rm small/filler
		ls -a small > small.ls'
	if [ $? -eq 0 ]; then
		check "full tmpfs: record exit 1, one line ($(cat rec.err))" \
			eval '[ "$(cat rec.rc)" = 1 ] && one_line rec.err && grep -q "No space left" rec.err'
		check "full tmpfs: flamegraph exit 1, one line ($(cat fg.err))" \
			eval '[ "$(cat fg.rc)" = 1 ] && one_line fg.err && grep -q "No space left" fg.err'
		check "full tmpfs: the previous recording is intact" [ -f kept.txt ]
		check "full tmpfs: no temporary file, no half-written output left" \
			eval '! grep -q "\.tmp\.\|x\.svg\|\.old" small.ls'
		row "disk full" "\`record\` over an existing file and \`flamegraph\` on a full tmpfs" \
			"exit 1, one line; the previous file untouched; no temporary or partial file left"
	else
		skip_row "small tmpfs" "mount failed"
	fi
else
	skip_row "small tmpfs" "needs root and a mount namespace"
fi

# -- Signals during record. SIGINT (Ctrl-C) is checked in tests/cli/t-record.sh.
samples() { json "$1" 'd["samples"]' 2>/dev/null; }
for sig in TERM HUP; do
	"$CPROF" record -q -o sig.data -- "$WORKLOADS/hot" 1 forever > /dev/null &
	pid=$!
	sleep 1.5
	wl=$(pgrep -P $pid hot)
	kill -$sig $pid
	wait $pid
	rc=$?
	n=$(samples sig.data)
	check "record killed by SIG$sig: exit $rc (128 + signal), the recording complete ($n samples), the workload ended" \
		eval '[ $rc -eq $((128 + $(kill -l $sig))) ] && [ "${n:-0}" -gt 100 ] && no_tmp && [ -n "$wl" ] && ! kill -0 "$wl" 2>/dev/null'
	rm -f sig.data
done
row "signals" "SIGTERM and SIGHUP to \`record\` after 1.5 s of a busy workload" \
	"the workload is stopped, the data file written and complete, exit 128+signal"

cp good.data prev.data
"$CPROF" record -q -o prev.data -- "$WORKLOADS/hot" 1 forever > /dev/null &
pid=$!
sleep 1.5
wl=$(pgrep -P $pid hot)
kill -KILL $pid
wait $pid 2>/dev/null
rc=$?
sleep 0.2
alive=no
[ -n "$wl" ] && kill -0 "$wl" 2>/dev/null && alive=yes
[ -n "$wl" ] && kill "$wl" 2>/dev/null
left=$(ls prev.data.tmp.* 2>/dev/null | wc -l)
check "record SIGKILLed: exit 137, the previous recording is untouched" \
	eval '[ $rc -eq 137 ] && cmp -s good.data prev.data && [ ! -e prev.data.old ]'
echo "record SIGKILLed: workload still running: $alive; temporary files left: $left" >&2
row "signals" "SIGKILL to \`record\`" \
	"exit 137, the previous data file untouched; not helped: the recording is lost, the workload runs on (here: $alive), an empty temporary file stays beside the output ($left)"
rm -f prev.data.tmp.*

# -- Mutated and truncated files, through several views. A mutation run is
# seeded, so the same files are made again; every run is bounded by a timeout.
if [ $quick = yes ]; then n_mut=150 n_trunc=40; else n_mut=2000 n_trunc=0; fi
python3 - "$CPROF" "$n_mut" "$n_trunc" good.data mem.data good.folded > sweep.txt 2> sweep.err <<'PY'
import os, random, subprocess, sys
cprof, n_mut, n_trunc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
inputs = sys.argv[4:]
views = {
    "good.data": [["report"], ["report", "--format", "json"], ["flamegraph", "-o", "-"], ["export", "-f", "pprof", "-o", "-"]],
    "mem.data": [["report", "--mem"], ["report", "--mem", "--format", "json"], ["flamegraph", "--mem", "-o", "-"]],
    "good.folded": [["report"], ["flamegraph", "-o", "-"], ["diff", "good.folded"]],
}
stats = {"runs": 0, "ok": 0, "rejected": 0, "bad": 0}
tstats = {"runs": 0, "ok": 0, "rejected": 0, "bad": 0}
def run(path, view, what):
    stats["runs"] += 1
    args = [cprof] + view[:1] + (["-i", path] if view[0] != "diff" else []) + view[1:] + ([path] if view[0] == "diff" else [])
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        stats["bad"] += 1
        print(f"TIMEOUT {what}: {' '.join(view)}", file=sys.stderr)
        return
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    if p.returncode == 0 and p.stdout:
        stats["ok"] += 1
    elif p.returncode in (1, 2) and len(err) == 1 and path in err[0]:
        stats["rejected"] += 1
    else:
        stats["bad"] += 1
        print(f"BAD {what}: {' '.join(view)}: exit {p.returncode}, stderr {err[:3]}", file=sys.stderr)
rng = random.Random(13)
mut = "mut.in"
for i in range(n_mut):
    src = inputs[i % len(inputs)]
    data = bytearray(open(src, "rb").read())
    kind = rng.randrange(4)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)           # bit flips
        elif kind == 1:
            data[at] = rng.choice([0, 0xff, 0x7f, 0x80])  # boundary bytes
        elif kind == 2:
            data[at:at + 8] = rng.randbytes(8)          # random runs
        else:
            data[at:at] = rng.randbytes(rng.randint(1, 16))  # insertions
    open(mut, "wb").write(bytes(data))
    view = rng.choice(views[src])
    run(mut, view, f"mutation {i} of {src} (seed 13)")
trunc = "trunc.in"
for src in inputs:
    data = open(src, "rb").read()
    # Every length up to 256 (the header, the section table of a small
    # file), then every 8th; or n_trunc lengths drawn at random.
    lens = ([n for n in range(len(data)) if n < 256 or n % 8 == 0] if n_trunc == 0
            else sorted({rng.randrange(len(data)) for _ in range(n_trunc)}))
    for n in lens:
        open(trunc, "wb").write(data[:n])
        view = views[src][n % len(views[src])]
        p = subprocess.run([cprof] + view[:1] + (["-i", trunc] if view[0] != "diff" else []) + view[1:]
                           + ([trunc] if view[0] == "diff" else []),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        tstats["runs"] += 1
        # A prefix of a folded file is folded stacks too (all but a cut last
        # line); a prefix of a data file is always an error.
        if src.endswith(".folded") and p.returncode == 0:
            tstats["ok"] += 1
        elif p.returncode in (1, 2) and len(err) == 1 and trunc in err[0]:
            tstats["rejected"] += 1
        else:
            tstats["bad"] += 1
            print(f"BAD truncation of {src} at {n}: {' '.join(view)}: exit {p.returncode}, stderr {err[:3]}", file=sys.stderr)
print(*(d[k] for d in (stats, tstats) for k in ("runs", "ok", "rejected", "bad")))
PY
read -r mutated m_read m_rejected m_bad truncs t_read t_rejected t_bad < sweep.txt
head -n 5 sweep.err >&2
check "mutations: $mutated runs ($m_read read, $m_rejected rejected), none crashed, hung or wrote more than one error line ($m_bad bad)" \
	eval '[ "${mutated:-0}" -gt 0 ] && [ "$m_bad" -eq 0 ]'
row "mutated files" "$mutated copies of a CPU recording, a \`--mem\` recording and folded stacks, 1-8 bit flips, boundary bytes, random runs or insertions each (seeded), through \`report\` (text, JSON), \`flamegraph\`, \`export -f pprof\`, \`diff\`" \
	"exit 0 with output ($m_read) or exit 1-2 with one line naming the file ($m_rejected), never a crash or a hang"
check "truncations: $truncs prefixes, each data-file prefix rejected in one line ($t_rejected), folded prefixes read ($t_read)" \
	eval '[ "${truncs:-0}" -gt 0 ] && [ "$t_bad" -eq 0 ]'
row "truncated files" "$truncs prefixes of the same three files ($([ $quick = yes ] && echo 'chosen at random' || echo 'every length to 256 bytes, then every 8th'))" \
	"every prefix of a data file rejected in one line naming the file; a prefix of folded stacks reads as the lines it holds"
rm -f mut.in trunc.in

# -- Load: many threads, and many recorders at once.
# cpu-clock samples each thread after each ms of its own CPU time, so what a
# thread ran since its last sample when it switched out or ended is never
# sampled: with 200 threads switching all the time the samples fall short
# of the CPU time by more than with two (the 10 % of tests/cli/t-dwarf.sh).
"$CPROF" record -q --call-graph dwarf -F 999 -o crowd.data -- "$WORKLOADS/crowd" 200 1 > /dev/null
rc=$?
read -r got lost want < <(json crowd.data 'd["samples"], d["lost_samples"], round(d["workload_cpu_ns"] / 1e6)' | tr -d '(),')
share=$(awk -v g="${got:-0}" -v l="${lost:-0}" -v w="${want:-1}" 'BEGIN { printf "%.0f", 100 * (g + l) / w }')
check "200 busy threads, DWARF at 999 Hz: exit $rc; $got samples + $lost lost for $want ms of CPU ($share %, at least 75 %)" \
	eval '[ $rc -eq 0 ] && [ "$share" -ge 75 ] && [ "$share" -le 110 ]'
row "load" "200 busy threads on 2 CPUs, \`record --call-graph dwarf -F 999\`" \
	"exit 0; loss counted, not hidden: here $got samples recorded and $lost lost for $want ms of CPU ($share %)"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"$CPROF" record -q -g -o par$i.data -- "$WORKLOADS/threads" 2 > /dev/null 2> par$i.err &
	pids+=($!)
done
bad=0
for i in 1 2 3 4 5 6 7 8; do
	wait "${pids[$((i - 1))]}" || bad=$((bad + 1))
	"$CPROF" report -i par$i.data > /dev/null 2>&1 || bad=$((bad + 1))
done
check "8 recordings at once: all exit 0 and read back ($bad failures)" [ $bad -eq 0 ]
"$CPROF" record -q --mem -o memthr.data -- "$WORKLOADS/memwork" churn 64 20000 > /dev/null
rc=$?
read -r allocs lost_ev unmatched < <("$CPROF" report --mem -i memthr.data --format json |
	python3 -c 'import json, sys; s = json.load(sys.stdin)["summary"]; print(s["allocations"], s["lost"], s["unmatched_frees"])')
check "record --mem of 64 threads churning: exit $rc, $allocs allocations seen, $lost_ev lost, $unmatched unmatched frees" \
	eval '[ $rc -eq 0 ] && [ "${allocs:-0}" -ge $((64 * 20000)) ] && [ "$lost_ev" = 0 ] && [ "$unmatched" = 0 ]'
row "load" "8 \`record -g\` at once on 2 CPUs; \`record --mem\` of 64 threads doing 20,000 malloc/free each" \
	"all exit 0 and read back; every allocation seen, none lost"

# -- What tests/cli already checks, grouped into rows here (full run only).
reuse() { # SCRIPT: run tests/cli/SCRIPT, keep its log
	bash "$src/tests/cli/$1" > "$1.log" 2>&1
	echo $? > "$1.rc"
}
from_log() { # SCRIPT REGEX AREA TRIED HELD
	local log=$1.log n f
	if [ "$(cat "$1.rc")" = 77 ]; then skip_row "$3" "$1 skipped"; return; fi
	n=$(grep -E "^ok: " "$log" | grep -cE "$2")
	f=$(grep -E "^FAIL: " "$log" | grep -E "$2" | head -n 1)
	row_checks=$n checks=$((checks + n))
	[ -n "$f" ] && row_fail="${f#FAIL: } ($1)"
	row "$3" "$4" "$5 ($1)"
}
if [ $quick = no ]; then
	reuse t-bad-input.sh
	from_log t-bad-input.sh "missing file|empty file|a directory|random bytes|perf.data file|of a data file|a line of text|only newlines|no frames|every count 0|on .*\.(txt|data)|empty profile|empty BEFORE" \
		"bad input" "missing, empty, a directory, random bytes, text, newlines, a perf.data header, 1-7 byte prefixes, zero counts; through report, flamegraph, diff, export" \
		"exit 1 (diff: 2) with one line naming the file and what is wrong; an empty profile never passes a CI gate"
	from_log t-bad-input.sh "bit flip|truncated file" \
		"mutated files" "a byte flipped in the header, each section and the section table; a cut file" \
		"rejected by checksum or size, in one line"
	from_log t-bad-input.sh "010|0x10|past 2\^64|CR-only|periods|GPU copy|16 EiB" \
		"bad input" "folded counts 010, 0x10, 1e20, 2.5, totals past 2^64-1, CR line ends; periods, GPU times and leak sizes out of range" \
		"decimal counts only, overflow is an error, values that cannot be true are refused"
	from_log t-bad-input.sh "GiB|MiB|CPROF_MAX_INFLATE|PiB" \
		"huge decompression claims" "small files claiming 1 GiB, 8 GiB and 1 PiB decompressed" \
		"refused before allocating, a one-line error when allowed but impossible, never an abort"
	reuse t-output.sh
	from_log t-output.sh "CHARDEV|private /dev|LINK-TO-STDOUT|-o - " \
		"output to devices" "-o to a character device, /dev/null and /dev/stdout in a private /dev, a link to stdout, '-'" \
		"written in place, never renamed or replaced"
	from_log t-output.sh "FIFO:" \
		"output to FIFOs" "record and flamegraph -o FIFO with a reader" "written in place; the reader gets it all"
	from_log t-output.sh "LINK:|DANGLING-LINK|LINK again" \
		"output to symlinks" "-o a link, a dangling link, a link again" "followed: the target is written, the link stays"
	from_log t-output.sh "missing directory|read-only|DIRECTORY|MISSING-DIR|whose .old" \
		"unwritable output" "a missing directory, a read-only mount, a directory as the output" \
		"refused in one line before the workload starts or the input is read; nothing renamed"
	from_log t-output.sh "^ok: SIG|big flamegraph" \
		"signals" "SIGTERM, SIGINT, SIGHUP to flamegraph while it writes" "no temporary file left, no partial output"
	from_log t-output.sh "replace|0600|0644" \
		"replacing a recording" "20 replacements of a file watched by a reader; strace of the order" \
		"never a moment without the file (link, fsync, rename, fsync dir); data files 0600"
	reuse t-record.sh
	from_log t-record.sh "SIGINT" "signals" "Ctrl-C (SIGINT) to \`record\`" "exit 130, the recording complete"
	reuse t-mem.sh
	from_log t-mem.sh "SIGKILLed|still running|once cprof has ended|peak RSS|set-user-ID|runuser|after cprof ended" \
		"\`--mem\` faults" "SIGKILL to \`record --mem\`; a traced process outliving it; set-user-ID and privilege-dropping workloads; 20M events" \
		"the workload stops tracing when cprof is gone, nothing left in TMPDIR; what was not traced is named; cprof's memory does not grow with events"
fi

echo "rows: $((rows - rows_bad)) held, $rows_bad not held, $rows_skipped skipped ($checks checks passed, $failures failed)" >&2
[ $rows_bad -eq 0 ] && [ "$failures" -eq 0 ]
exit $?
