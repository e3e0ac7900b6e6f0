#!/bin/bash
# t-multievent.sh - several events in one recording: cpu-clock and
# page-faults attributed to the functions that do each kind of work (evmix:
# cpu_burn spins, fault_touch touches fresh pages and nothing else), each
# event's own rate, repeated -e, leader-sampled groups read with each
# sample, unknown events, and the targets -a, -C, -t and -p lists with the
# per-CPU and per-process views. Shares are checked against the work each
# function was given, with wide margins (the machine may be busy); fault
# counts are exact.
. "$(dirname "$0")/test-lib.sh"
W=$WORKLOADS/evmix

# weight EVENT FUNC FILE: the function's self weight of one event (0 if absent)
weight() {
	"$CPROF" report -i "$3" --event "$1" --format json --no-findings | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(f["self_weight"] for f in d["functions"] if f["name"] == sys.argv[1]))' "$2"
}
# share EVENT FUNC FILE: its self percent of that event
share() {
	"$CPROF" report -i "$3" --event "$1" --format json --no-findings | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(f["self_percent"] for f in d["functions"] if f["name"] == sys.argv[1]))' "$2"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# --- cpu-clock and page-faults in one run -----------------------------------
faults=$("$CPROF" record -q -e cpu-clock,page-faults/period=1/ -o two.data -- "$W" 60 | awk '{ print $2 }')
check "evmix ran (faults $faults)" test "${faults:-0}" -eq 3840
"$CPROF" report -i two.data --header-only >hdr.txt
check "both events are in the file" sh -c "grep -q '^# event 0: cpu-clock (999 Hz)' hdr.txt && grep -q '^# event 1: page-faults/period=1/ (every 1 faults)' hdr.txt"
pf=$(weight page-faults fault_touch two.data)
echo "page-faults: fault_touch $pf of $faults touches"
check "page-faults: every page fault_touch touched is its fault, exactly" test "$pf" -eq "$faults"
check "page-faults: cpu_burn touches no new page" test "$(weight page-faults cpu_burn two.data)" -eq 0
check "page-faults: fault_touch has most of them (start-up has the rest)" ge "$(share page-faults fault_touch two.data)" 80
cb=$(share cpu-clock cpu_burn two.data) ft=$(share cpu-clock fault_touch two.data)
echo "cpu-clock: cpu_burn $cb %, fault_touch $ft %"
# cpu_burn's 3 million steps a round take several times what touching 64
# pages takes in user space (its faults are the kernel's time).
check "cpu-clock: cpu_burn has most of the time" ge "$cb" 50
check "cpu-clock: cpu_burn has more than fault_touch" ge "$cb" "$(awk -v f="$ft" 'BEGIN { print 2 * f }')"
"$CPROF" report -i two.data --no-findings >two.txt
check "the text report ends with the events side by side" grep -q '^Per event' two.txt
check "... fault_touch listed for its faults" grep -Eq '^ +[0-9.]+% +(9[0-9]|100)\.[0-9]+% +fault_touch$' two.txt
# The same table in JSON and CSV: each function's self weight and share of
# every event, in the text table's order, the numbers the text shows.
"$CPROF" report -i two.data --format json --no-findings >two.json
"$CPROF" report -i two.data --format csv >two.csv
cat >agree.py <<'PY'
import csv, json, sys
d = json.load(open("two.json"))
names = [e["name"] for e in d["events"]]
assert names == ["cpu-clock", "page-faults/period=1/"], names
assert d["ipc"] is None, "no cycles, no IPC"
rows = d["event_functions"]
lines = open("two.txt").read().split("\n")
at = next(i for i, l in enumerate(lines) if l.startswith("Per event"))
text = []
for l in lines[at + 2:]:
    f = l.split()
    if len(f) < 3 or not f[0].endswith("%"):
        break
    text.append(([float(x.rstrip("%")) for x in f[:2]], " ".join(f[2:])))
assert len(text) >= 2, text
for (pcts, name), r in zip(text, rows):
    want = name[:-4] if name.endswith(" [k]") else name
    assert r["name"] == want, (name, r["name"])
    for e in range(2):
        assert abs(r["self_percent"][e] - pcts[e]) <= 0.005 + 1e-9, (name, e, r["self_percent"][e], pcts[e])
        tot = d["events"][e]["total_weight"]
        assert abs(100.0 * r["self_weight"][e] / tot - r["self_percent"][e]) < 1e-3, (name, e)
by = {(r["name"], r["dso"]): r for r in rows}
n = 0
for c in csv.DictReader(open("two.csv")):
    assert float(c["self_percent[cpu-clock]"]) == float(c["self_percent"]), c["function"]
    assert int(c["self_weight[cpu-clock]"]) == int(c["self_weight"]), c["function"]
    r = by.get((c["function"], c["dso"]))
    if r:
        n += 1
        assert int(c["self_weight[page-faults/period=1/]"]) == r["self_weight"][1], c["function"]
        assert abs(float(c["self_percent[page-faults/period=1/]"]) - r["self_percent"][1]) < 1e-9, c["function"]
assert n >= 2, n
ft = by[next(k for k in by if k[0] == "fault_touch")]
print("fault_touch: %.2f %% of the time, %.2f %% of the faults" % tuple(ft["self_percent"]))
PY
check "JSON and CSV: the per-event table agrees with the text one" python3 agree.py
check "--event page-faults finds page-faults/period=1/" sh -c "'$CPROF' report -i two.data --event page-faults -q --no-findings | grep -q fault_touch"

# Repeated -e and perf's -c: the same events.
"$CPROF" record -q -e page-faults -c 1 -e task-clock/freq=499/ -o rep.data -- "$W" 20 >/dev/null
"$CPROF" report -i rep.data --header-only >rep.txt
check "-e twice: both events" sh -c "grep -q '^# event 0: page-faults (every 1 faults)' rep.txt && grep -q '^# event 1: task-clock/freq=499/ (499 Hz)' rep.txt"
check "-c 1 applies to an event without its own rate: exact faults" test "$(weight page-faults fault_touch rep.data)" -eq 1280

# --- unknown events ----------------------------------------------------------
"$CPROF" record -e cpu-clock,no-such-event -o bad.data -- true 2>bad.err
rc=$?
check "an unknown event exits 2" test $rc -eq 2
check "... naming it" grep -q "unknown event 'no-such-event'" bad.err
check "... with the known names" sh -c "grep -q '^known events:' bad.err && grep -q 'page-faults' bad.err"
check "... and writes no file" test ! -e bad.data

# --- a group sampled by its leader ------------------------------------------
"$CPROF" record -q -e '{cpu-clock,page-faults}:S' -o grp.data -- "$W" 60 >/dev/null
"$CPROF" report -i grp.data --header-only >grp.txt
check "group: the member is read with the leader's samples" grep -q '^# event 1: page-faults:S, read with [0-9,]* leader samples' grp.txt
check "group: the file records the group" grep -q '^# event_groups: {cpu-clock:S,page-faults:S}' grp.txt
gpf=$("$CPROF" report -i grp.data --event page-faults --format json --no-findings | python3 -c 'import json, sys; print(json.load(sys.stdin)["total_weight"])')
echo "group: $gpf faults read with the samples, $faults touched"
# Faults after the last sample are not read; those of start-up are.
check "group: the faults read add up to the work (within 10 %)" within "$(awk -v g="$gpf" -v f="$faults" 'BEGIN { print 100 * g / f }')" 100 10
leader=$(sed -n 's/^# event 0: cpu-clock:S (999 Hz), \([0-9,]*\) records$/\1/p' grp.txt)
check "group: the member is read with every leader sample ($leader)" grep -q "^# event 1: page-faults:S, read with $leader leader samples" grp.txt
# Every command reads the member as report does, as many samples as it
# counted (as page-faults/period=1/ would have been sampled).
"$CPROF" flamegraph -i grp.data --event page-faults -o grp.svg
check "group: flamegraph --event page-faults draws what was counted" \
	test "$(sed -n 's/.*<title>all (\([0-9,]*\) samples, 100.00%).*/\1/p' grp.svg | head -1 | tr -d ,)" = "$gpf"
check "group: export --event page-faults: folded stacks that add up to the count" \
	test "$("$CPROF" export -i grp.data --event page-faults -f folded | awk '{ s += $NF } END { print s }')" = "$gpf"
"$CPROF" diff --event page-faults grp.data grp.data >grp.diff
check "group: diff --event page-faults compares the member" grep -q '^# event: page-faults:S' grp.diff
# Which user function the leader's samples (and so the faults read with
# them) land in most depends on the machine's load: annotate that one, and
# its share must be the member's, as report gives it.
read -r gfn gpct <<EOF
$("$CPROF" report -i grp.data --event page-faults --format json --no-findings | python3 -c '
import json, sys
f = [f for f in json.load(sys.stdin)["functions"] if not f["kernel"]][0]
print(f["name"], "%.2f" % f["self_percent"])')
EOF
check "group: annotate --event page-faults $gfn: $gpct % of the faults read, as report says" \
	sh -c "'$CPROF' annotate -i grp.data --event page-faults '$gfn' | grep -qF '$gpct% of all page-faults:S samples'"
if [ -e /sys/bus/event_source/devices/cpu/type ]; then
	echo "hardware PMU present: {cycles,instructions}:S is checked by tests/hw"
else
	"$CPROF" record -e '{cycles,instructions}:S' -o hw.data -- "$W" 1 >/dev/null 2>hw.err
	rc=$?
	check "no PMU: a hardware group fails with one clear line" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < hw.err) -eq 1 ] && grep -q 'not supported here' hw.err"
	check "... and writes no file" test ! -e hw.data
fi

# --- targets -----------------------------------------------------------------
# -p with a list, and -t: only the threads named.
"$W" 100000 >/dev/null & p1=$!
"$W" 100000 >/dev/null & p2=$!
sleep 0.3
"$CPROF" record -q -p $p1,$p2 --duration 1 -o pp.data
"$CPROF" report -i pp.data -s pid --format csv >pp.csv
check "-p A,B: samples of both" sh -c "grep -q ',$p1\$' pp.csv && grep -q ',$p2\$' pp.csv"
"$CPROF" record -q -t $p1 --duration 1 -o tt.data
check "-t TID: that thread only" test "$("$CPROF" report -i tt.data -s tid --format csv | awk -F, 'NR > 1 { print $NF }' | sort -u)" = "$p1"
if [ "$(id -u)" = 0 ]; then
	# -a: every process, those that started before included (their code
	# is read from /proc at the start).
	"$CPROF" record -q -a --duration 1 -o all.data
	"$CPROF" report -i all.data -s comm,pid --format csv >all.csv
	check "-a: the running evmix processes are in it" sh -c "grep -q ',$p1\$' all.csv && grep -q ',$p2\$' all.csv"
	check "-a: their functions are named" sh -c "'$CPROF' report -i all.data --pid $p1 -q --no-findings | grep -q cpu_burn"
	"$CPROF" report -i all.data -s cpu --format csv >cpu.csv
	check "-s cpu: a row per CPU that ran something" test "$(awk -F, 'NR > 1 && $NF ~ /^[0-9]+$/' cpu.csv | wc -l)" -ge 1
	"$CPROF" record -q -C 0 --duration 0.5 -o c0.data
	check "-C 0: CPU 0 only" test "$("$CPROF" report -i c0.data -s cpu --format csv | awk -F, 'NR > 1 { print $NF }' | sort -u)" = 0
	check "-a -- CMD: until CMD ends" sh -c "'$CPROF' record -q -a -o cmd.data -- sleep 0.2 && '$CPROF' report -i cmd.data --header-only | grep -q '^# command: -a -- sleep 0.2'"
else
	echo "-a and -C skipped: not root"
fi
kill $p1 $p2 2>/dev/null
wait 2>/dev/null
"$CPROF" record -a -p 1 -- true 2>ap.err
check "-a with -p is a usage error" sh -c "[ $? -eq 2 ] && grep -q 'not both' ap.err"
finish
