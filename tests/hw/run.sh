#!/bin/bash
# run.sh - cprof stat on a machine with a hardware PMU: what the suite can
# only check with synthetic readings elsewhere. Exits 77 (skipped) without
# one. Checks: hardware events are counted, not "not supported"; the
# instructions of a deterministic loop agree with perf stat within 1 % and
# grow 3x with 3x the loop; instructions:u agrees with instructions for a
# user-mode loop; the CPU PMU's raw and sysfs-term forms of "retired
# instructions" (event 0xc0 on Intel and AMD) agree with the generic name;
# IPC is printed; more groups than counters are multiplexed and scaled,
# with the running share printed and the scaled totals still close to the
# unmultiplexed count; record -e '{cycles,instructions}:S' reads the
# instructions with each cycles sample and reports IPC per function.
# Environment: CPROF (the binary), WORKLOADS (the built workloads).
set -u
: "${CPROF:?CPROF must point at the cprof binary}"
W=${WORKLOADS:?WORKLOADS must point at the built workloads}/statwork
pmu=
for p in cpu cpu_core armv8_pmuv3_0; do
	[ -e /sys/bus/event_source/devices/$p/type ] && pmu=$p && break
done
[ -n "$pmu" ] || { echo "skipped: no hardware PMU (/sys/bus/event_source/devices has no cpu)"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-hw.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi; }
field() { awk -F, -v m="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } $1 == m { print $col[c]; exit }' "$1"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d / b <= t) }'; }

echo "PMU: $pmu ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2))"
"$CPROF" stat -r 3 -f csv -o hw.csv -e '{cycles,instructions},{branches,branch-misses}' -- "$W" 0 100 0 0
cat hw.csv
for e in cycles instructions branches branch-misses; do
	check "$e is counted" grep -qE "^$e,,(counted|scaled)," hw.csv
done
ins=$(field hw.csv instructions mean)
"$CPROF" stat -r 3 -f csv -o hw3.csv -e instructions -- "$W" 0 300 0 0
ins3=$(field hw3.csv instructions mean)
check "3x the loop is 3x the instructions ($ins -> $ins3)" near "$ins3" "$(awk -v i="$ins" 'BEGIN { print 3 * i }')" 0.02
"$CPROF" stat -e '{cycles,instructions}' -- "$W" 0 100 0 0 2>ipc.txt
cat ipc.txt
check "IPC is printed" grep -q 'insn per cycle' ipc.txt

if command -v perf >/dev/null; then
	perf stat -x, -r 3 -e instructions -o p.csv -- "$W" 0 100 0 0
	p=$(awk -F, '$3 ~ /^instructions/ { print $1 }' p.csv)
	check "instructions within 1 % of perf stat (cprof $ins, perf $p)" near "$ins" "$p" 0.01
fi

"$CPROF" stat -f csv -o u.csv -e instructions:u,instructions -- "$W" 0 100 0 0
check "instructions:u close to instructions for a user loop" near "$(field u.csv instructions:u mean)" "$(field u.csv instructions mean)" 0.05

if grep -qE 'GenuineIntel|AuthenticAMD' /proc/cpuinfo && [ -e /sys/bus/event_source/devices/$pmu/format/event ]; then
	"$CPROF" stat -f csv -o raw.csv -e instructions:u,r00c0:u,"$pmu/event=0xc0,umask=0x00/u" -- "$W" 0 100 0 0
	cat raw.csv
	check "raw r00c0 counts retired instructions" near "$(field raw.csv r00c0:u mean)" "$(field raw.csv instructions:u mean)" 0.05
	check "$pmu/event=0xc0/ counts them too" near "$(field raw.csv "$pmu/event=0xc0,umask=0x00/u" mean)" "$(field raw.csv instructions:u mean)" 0.05
fi

# More groups than the PMU has counters: multiplexed and scaled.
many=
for i in $(seq 1 12); do many="$many${many:+,}{cycles,instructions,branches}"; done
"$CPROF" stat -f csv -o mux.csv -e "$many" -- "$W" 0 300 0 0
"$CPROF" stat -e "$many" -- "$W" 0 300 0 0 2>mux.txt
head -8 mux.txt
check "multiplexed counts are marked scaled" grep -q ',scaled,' mux.csv
check "the running share is printed" grep -qE '\([0-9.]+%\)$' mux.txt
scaled=$(awk -F, '$1 == "instructions" && $3 == "scaled" { print $6; exit }' mux.csv)
check "a scaled count is within 10 % of the real one ($scaled vs $ins3)" near "${scaled:-0}" "$ins3" 0.10

# Leader sampling: cycles sampled, instructions read with each sample.
# The instructions read add up to what cprof stat counts for the same
# deterministic loop (the last sample's tail is lost: 10 %), and the
# report prints IPC per function and for the whole profile.
"$CPROF" record -q -e '{cycles,instructions}:S' -o grp.data -- "$W" 0 100 0 0
gins=$("$CPROF" report -i grp.data --event instructions --format json --no-findings |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["total_weight"])')
check "{cycles,instructions}:S: the instructions read add up ($gins vs $ins)" near "${gins:-0}" "$ins" 0.10
"$CPROF" report -i grp.data --no-findings >grp.txt
sed -n '/^Per event/,$p' grp.txt | head -6
check "IPC per function is printed" grep -qE '^ +[0-9.]+% +[0-9.]+% +[0-9]+\.[0-9]{2} +' grp.txt
check "IPC of the whole profile is printed" grep -qE '^IPC of the whole profile: [0-9]+\.[0-9]{2}$' grp.txt
# Two hardware events sampled independently, each with its own period.
"$CPROF" record -q -e cycles/period=1000003/,instructions/period=1000003/ -o two.data -- "$W" 0 100 0 0
check "cycles and instructions sampled in one recording" sh -c "'$CPROF' report -i two.data --header-only | grep -q '^# event 1: instructions/period=1000003/'"

"$CPROF" list >list.txt
check "cprof list shows cycles as supported" grep -qE '^  cycles' list.txt
echo "$fails failed"
[ $fails -eq 0 ]
