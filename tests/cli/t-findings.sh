#!/bin/bash
# t-findings.sh - the findings at the end of `cprof report`, on real
# recordings: each rule has a findwork mode that triggers it, and the
# balanced mode must trigger none. Rules that need what this machine cannot
# record (hardware counters, lost samples, unknown frames) are covered by
# tests/unit/test-findings.c on synthetic profiles.
# The recordings use DWARF stacks, so callers through libc (a write(2)
# wrapper, pthread_mutex_lock) are complete.
. "$(dirname "$0")/test-lib.sh"
W=$WORKLOADS/findwork

# rules FILE: the rules of a JSON report's findings, one per line
rules() {
	python3 -c 'import json, sys; [print(f["rule"]) for f in json.load(open(sys.argv[1])).get("findings", [])]' "$1"
}
# not COMMAND...: succeeds when COMMAND fails
not() { ! "$@"; }
# has RULE FILE [SEVERITY]
has() {
	python3 -c '
import json, sys
f = [x for x in json.load(open(sys.argv[1]))["findings"] if x["rule"] == sys.argv[2]]
sys.exit(not f or (len(sys.argv) > 3 and f[0]["severity"] != sys.argv[3]))' "$2" "$1" ${3:+"$3"}
}

for m in hot balanced alloc lock yield syscall fault fault-phase recurse; do
	"$CPROF" record -q --call-graph dwarf -F 999 -o $m.data -- "$W" $m 1.5 || fail "record $m"
	# The quality rule for few samples depends on how busy the machine is;
	# it has its own checks below.
	"$CPROF" report -i $m.data --format json --finding quality.min-samples=0 >$m.json || fail "report $m"
	echo "$m: $(rules $m.json | tr '\n' ' ')"
done

behaviour="hot-function allocator locks yield syscalls page-faults recursion truncated-stacks lost-samples"
for r in $behaviour; do
	check "balanced triggers no '$r' finding" not has "$r" balanced.json
done
check "balanced has no finding at all" test -z "$(rules balanced.json)"
[ -z "$(rules balanced.json)" ] || python3 -c 'import json, sys; [print(f) for f in json.load(open(sys.argv[1]))["findings"]]' balanced.json

check "hot: a high hot-function finding" has hot-function hot.json high
check "hot: it names hot_main" grep -q '"summary": "hot_main takes' hot.json
check "alloc: an allocator finding" has allocator alloc.json
check "alloc: the caller is alloc_churn" grep -q 'called from alloc_churn' alloc.json
check "lock: a locks finding" has locks lock.json
check "lock: the caller is lock_fight" grep -q 'from lock_fight' lock.json
check "yield: a yield finding" has yield yield.json
check "yield: the caller is yield_loop" grep -q 'from yield_loop' yield.json
check "syscall: a syscalls finding" has syscalls syscall.json
check "syscall: through the write wrapper, from tiny_writes" grep -q 'called from tiny_writes' syscall.json
check "fault: a page-faults finding" has page-faults fault.json
check "fault: faulting in touch_fresh" grep -q 'faulting in touch_fresh' fault.json
check "fault: evenly spread, so no phase" not grep -q 'page-fault-heavy phase' fault.json
check "fault-phase: a page-fault-heavy phase" grep -q 'page-fault-heavy phase' fault-phase.json
check "recurse: a recursion finding" has recursion recurse.json
check "recurse: descend is named" grep -q 'descend is on the stack up to' recurse.json

# Frame pointers stop at kernel.perf_event_max_stack (127): truncated.
"$CPROF" record -q -g -F 999 -o recfp.data -- "$W" recurse 0.5
"$CPROF" report -i recfp.data --format json >recfp.json
check "recurse -g: truncated stacks are a finding" has truncated-stacks recfp.json

# Profile quality from the recording itself.
"$CPROF" record -q -F 999 -o nocg.data -- "$W" balanced 0.3
"$CPROF" report -i nocg.data --format json >nocg.json
check "no -g: a no-call-graph finding" has no-call-graph nocg.json info
check "with stacks: none" not has no-call-graph balanced.json
"$CPROF" record -q -g -F 99 -o few.data -- "$W" balanced 0.2
"$CPROF" report -i few.data --format json >few.json
check "a 0.2 s recording at 99 Hz has too few samples" has few-samples few.json
"$CPROF" report -i few.data --format json --finding quality.min-samples=1 >few1.json
check "... unless the threshold says otherwise" not has few-samples few1.json

# Text view, thresholds from flags and a config file.
"$CPROF" report -i hot.data >hot.txt
check "text: a Findings section" grep -q '^Findings' hot.txt
check "text: severity, summary, evidence and next step" \
	grep -qE '^  \[high\] hot_main takes .* \(hot-function\)' hot.txt
check "text: evidence line" grep -qE '^      evidence: .* samples .* are in hot_main itself' hot.txt
check "text: next line" grep -qE '^      next: +make hot_main cheaper' hot.txt
"$CPROF" report -i hot.data --no-findings >nof.txt
check "--no-findings drops the section" not grep -q '^Findings' nof.txt
"$CPROF" report -i hot.data --format json --no-findings >nof.json
check "--no-findings drops the JSON key" not grep -q '"findings"' nof.json
"$CPROF" report -i hot.data --format json --finding hot-function.high=95 >hf.json
check "--finding hot-function.high=95 makes it medium" has hot-function hf.json medium
mkdir -p cfg/cprof
printf '# stricter\nhot-function.high = 99\nhot-function.medium = 98\n' >cfg/cprof/findings.conf
XDG_CONFIG_HOME=$PWD/cfg "$CPROF" report -i hot.data --format json >cfg.json
check "the config file raises the thresholds" not has hot-function cfg.json
"$CPROF" report -i hot.data --format json --findings-config cfg/cprof/findings.conf --finding hot-function.medium=50 >cfg2.json
check "--finding overrides the config file" has hot-function cfg2.json medium
printf 'hot-function.high = 99\nbogus = 1\n' >bad.conf
"$CPROF" report -i hot.data --findings-config bad.conf >/dev/null 2>bad.err
check "a bad config file exits 1" test $? -eq 1
check "... naming the file and line" grep -q "bad.conf': line 2: unknown finding threshold 'bogus'" bad.err
"$CPROF" report -i hot.data --findings-config missing.conf >/dev/null 2>miss.err
check "a missing --findings-config exits 1" test $? -eq 1
"$CPROF" report -i hot.data --finding nope=3 >/dev/null 2>nope.err
check "an unknown --finding key exits 2" test $? -eq 2
check "... listing the known ones" grep -q 'known: hot-function.high' nope.err
"$CPROF" report -i hot.data --format csv >hot.csv
check "csv has no findings" not grep -qi 'finding' hot.csv
finish
