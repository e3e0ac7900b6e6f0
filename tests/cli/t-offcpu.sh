#!/bin/bash
# t-offcpu.sh - `record --offcpu` and `report|flamegraph --offcpu` on the
# offcpu workload, whose waits are known: 40 sleeps of 5 ms in sleeper(),
# 5 waits in lock_waiter() on a mutex holder() keeps for 40 ms in another
# thread. The program times each wait itself and prints the totals; the
# blocked time found under each function must be within 10 % of what this
# run really waited (a busy machine wakes sleepers late, and then both see
# it), with the right functions on the stacks: by frame pointers, and by
# DWARF on the same program built without them.
. "$SRCDIR/tests/cli/test-lib.sh"
W=$WORKLOADS/offcpu

json() { # FILE PYTHON-EXPR-USING-d -> prints the result
	"$CPROF" report --offcpu -i "$1" --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
func() { # FILE FUNCTION FIELD
	json "$1" "sum(f['$3'] for f in d['functions'] if f['name']=='$2')"
}

"$CPROF" record -q -g --offcpu -o oc.data -- "$W" >out.txt 2>err.txt
check "record -g --offcpu: exit 0" [ $? -eq 0 ]
slept=$(awk '$1 == "sleep_total_ns" { print $2 }' out.txt)
waited=$(awk '$1 == "lock_wait_total_ns" { print $2 }' out.txt)
check "the program ran its waits ($slept ns asleep, $waited ns on the lock)" [ "${slept:-0}" -ge 200000000 ]

# -- blocked time by function, against the program's own clock. Each of its
# times holds the wait plus the way in and out of the call (microseconds).
s=$(func oc.data sleeper blocked_ns)
l=$(func oc.data lock_waiter blocked_ns)
check "sleeper: blocked $s ns within 10 % of the $slept ns it slept" within "$s" "$slept" $((slept / 10))
check "lock_waiter: blocked $l ns within 10 % of the $waited ns it waited" within "$l" "$waited" $((waited / 10))
check "sleeper: 40 intervals, one a sleep" [ "$(func oc.data sleeper intervals)" = 40 ]
check "lock_waiter: 5 waits or more (one a lock, unless woken early)" [ "$(func oc.data lock_waiter intervals)" -ge 5 ]
h=$(func oc.data holder blocked_ns)
check "holder: asleep at least 5 x 40 ms while holding the lock ($h ns)" [ "${h:-0}" -ge 200000000 ]
check "the sleeps' stack: clock_nanosleep from sleeper from main" \
	[ "$(json oc.data "[s['frames'][-3:] for s in d['stacks'] if 'sleeper' in s['frames']][0][:1] == ['sleeper'] and 'main' in [s for s in d['stacks'] if 'sleeper' in s['frames']][0]['frames']")" = True ]
check "the lock wait's stack holds lock_waiter, not sleeper or holder" \
	[ "$(json oc.data "all('sleeper' not in s['frames'] and 'holder' not in s['frames'] for s in d['stacks'] if 'lock_waiter' in s['frames'])")" = True ]
check "two threads, the main one named offcpu" \
	[ "$(json oc.data "sorted(t['comm'] for t in d['threads'])[-1]") $(json oc.data "len(d['threads'])")" = "offcpu 2" ]
check "no records lost" [ "$(json oc.data "d['lost']")" = 0 ]

# -- percentiles: of the blocked intervals, in order; most are 5 ms sleeps.
check "percentiles in order" \
	[ "$(json oc.data "[d['blocked'][k + '_ns'] for k in ('min', 'p50', 'p90', 'p95', 'p99', 'p999', 'max')] == sorted(d['blocked'][k + '_ns'] for k in ('min', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'))")" = True ]
check "blocked p50 is a sleep: at least 5 ms" [ "$(json oc.data "d['blocked']['p50_ns']")" -ge 5000000 ]
check "blocked max is a lock wait or a hold: at least 30 ms" [ "$(json oc.data "d['blocked']['max_ns']")" -ge 30000000 ]
check "preempted time is kept apart: the blocked total is the sum of the stacks'" \
	[ "$(json oc.data "d['blocked']['total_ns'] == sum(s['blocked_ns'] for s in d['stacks'])")" = True ]
check "the longest waits come with their stacks, longest first" \
	[ "$(json oc.data "all(w['stack'] for w in d['longest']) and [w['dur_ns'] for w in d['longest']] == sorted((w['dur_ns'] for w in d['longest']), reverse=True) and d['longest'][0]['dur_ns'] == d['blocked']['max_ns']")" = True ]

# -- latency classes, from every wait: sleeper's 40 sleeps of 5 ms are
# critical over 1ms,2ms,3ms; the classes add up to the blocked and the
# preempted intervals, and per stack to its intervals.
export XDG_CONFIG_HOME="$TMP/noconf" # no default file
ocj() { # PYTHON-EXPR-USING-d, with --classes 1ms,2ms,3ms
	"$CPROF" report --offcpu -i oc.data --format json --classes 1ms,2ms,3ms |
		python3 -c "import json,sys; d=json.load(sys.stdin); K=('fast','slow','very_slow','critical'); print($1)"
}
check "classes 1ms,2ms,3ms: sleeper's 40 waits all critical" \
	[ "$(ocj "[(s['intervals'], s['classes']['critical']) for s in d['stacks'] if 'sleeper' in s['frames']]")" = "[(40, 40)]" ]
check "classes add up: blocked, preempted and each stack" \
	[ "$(ocj "all(sum(x['classes'][k] for k in K) == x['intervals'] for x in [d['blocked'], d['preempted']] + d['stacks'])")" = True ]
check "classes: the limits and where they came from" [ "$(ocj "d['class_limits_ns'], d['class_limits_from']")" = "[1000000, 2000000, 3000000] --classes" ]
"$CPROF" report --offcpu -i oc.data --classes 1ms,2ms,3ms >cls.txt
check "text: the classes of blocked and preempted waits" \
	grep -q '^Latency classes of the intervals (fast <= 1.00 ms' cls.txt && grep -qE '^blocked +[0-9,]+ +[0-9.]+%' cls.txt
"$CPROF" report --offcpu -i oc.data --classes 1ms >bad.out 2>bad.err
check "--classes 1ms: usage error" [ $? -eq 2 ]

# -- the other formats.
"$CPROF" report --offcpu -i oc.data >text.txt
check "text: the percentiles' table, per thread, the longest waits" \
	grep -q '^blocked ' text.txt && grep -q '^Per thread:' text.txt && grep -q '^Longest waits:' text.txt
check "text: preempted time on its own line" grep -q '^preempted ' text.txt
"$CPROF" export -i oc.data -f speedscope -o oc.speedscope.json 2>ss.err
check "speedscope: an evented profile per waiting thread, frames nested, blocked time the report's" \
	[ "$(python3 -c "
import json
d = json.load(open('oc.speedscope.json'))
names = [f['name'] for f in d['shared']['frames']]
blocked = 0
ok = True
ev = [p for p in d['profiles'] if p['type'] == 'evented' and p['name'].startswith('off-CPU')]
for p in ev:
    open_ = []
    for e in p['events']:
        if e['type'] == 'O':
            open_.append((e['frame'], e['at']))
        else:
            f, at = open_.pop()
            ok = ok and f == e['frame'] and e['at'] >= at and e['at'] <= p['endValue']
            if names[f] == '[blocked]':
                blocked += e['at'] - at
    ok = ok and not open_
print(len(ev) == 2 and ok and blocked == $(json oc.data "d['blocked']['total_ns']"))")" = True ]
SPEEDSCOPE_SCHEMA=${SPEEDSCOPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cprof-test/npm/node_modules/speedscope}/dist/release/file-format-schema.json
if [ -f "$SPEEDSCOPE_SCHEMA" ] && python3 -c 'import jsonschema' 2>/dev/null; then
	python3 -c "import json, jsonschema; jsonschema.validate(json.load(open('oc.speedscope.json')), json.load(open('$SPEEDSCOPE_SCHEMA')))" 2>schema.err
	check "speedscope: valid against speedscope's schema: $(tail -1 schema.err)" test $? -eq 0
fi
"$CPROF" report -i oc.data --timeline tl.json >/dev/null 2>tl.err
check "timeline: the waits are slices, blocked ones summing to the blocked total, sleeper's named" \
	[ "$(python3 -c "
import json
t = json.load(open('tl.json'))['traceEvents']
w = [e for e in t if e.get('cat') == 'offcpu']
b = sum(e['dur'] for e in w if e['name'] == 'blocked')
print(abs(b * 1000 - $(json oc.data "d['blocked']['total_ns']")) <= len(w) and any(e.get('args', {}).get('in') == 'clock_nanosleep' for e in w))")" = True ]
"$CPROF" report --offcpu -i oc.data --format folded >f.txt
fs=$(awk '/;sleeper;/ { s += $NF } END { print s + 0 }' f.txt)
check "folded: sleeper's lines weigh its blocked microseconds ($fs us)" within "$fs" $((s / 1000)) $((s / 100000 + 2))
check "folded: every line root first, ending in a weight" \
	awk '!/^[^ ].* [0-9]+$/ { exit 1 }' f.txt
"$CPROF" report --offcpu -i oc.data --format csv >c.csv
check "csv: a header and one row per stack" \
	[ "$(head -1 c.csv)" = "blocked_ns,blocked_intervals,preempted_ns,preempted_intervals,fast,slow,very_slow,critical,fast_share,slow_share,very_slow_share,critical_share,stack" ]
check "csv: sleeper's row holds its blocked time" \
	[ "$(awk -F, '/;sleeper;/ { s += $1 } END { print s + 0 }' c.csv)" = "$s" ]

"$CPROF" flamegraph --offcpu -i oc.data -o oc.svg
check "flamegraph --offcpu: exit 0" [ $? -eq 0 ]
check "flamegraph --offcpu: titled, weighted in blocked ns, with sleeper and lock_waiter" \
	grep -q 'Off-CPU Flame Graph' oc.svg && grep -q 'ns blocked' oc.svg && grep -q '>sleeper<' oc.svg && grep -q 'lock_waiter' oc.svg
check "flamegraph --offcpu: in blues" grep -qE 'fill="rgb\(([0-9]+),\1,2[0-9][0-9]\)"' oc.svg

# -- the wall-clock graph: CPU samples and time off a CPU in one, the
# latter under [blocked] and [preempted].
"$CPROF" flamegraph --offcpu --wall -i oc.data -o wall.svg
check "flamegraph --offcpu --wall: exit 0" [ $? -eq 0 ]
check "--wall: titled, with [blocked] under sleeper" \
	grep -q 'Wall-Clock Flame Graph' wall.svg && grep -q '<title>\[blocked\] (' wall.svg && grep -q '>sleeper<' wall.svg
all_wall=$(grep -o '<title>all ([0-9,]*' wall.svg | tr -dc 0-9)
off=$(json oc.data "d['blocked']['total_ns'] + d['preempted']['total_ns']")
cpu=$("$CPROF" report -i oc.data --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['total_weight'])" 2>/dev/null)
check "--wall: the whole is the time off a CPU ($off ns) and the CPU samples' (${cpu:-?} ns)" \
	[ "$all_wall" = $((off + ${cpu:-0})) ]
"$CPROF" flamegraph --wall -i oc.data -o nowall.svg 2>err.txt
[ $? -eq 2 ] && [ ! -e nowall.svg ]
check "--wall without --offcpu: a usage error" test $? -eq 0

# -- without -g: the intervals, without stacks.
"$CPROF" record -q --offcpu -o nog.data -- "$W" >out2.txt 2>&1
check "record --offcpu without -g: exit 0" [ $? -eq 0 ]
ns=$(json nog.data "sum(s['blocked_ns'] for s in d['stacks'] if s['frames'] == [])")
both=$(awk '$1 ~ /_total_ns$/ { s += $2 } END { print s }' out2.txt)
check "without -g: the main thread's waits ($both ns) are all there, stack-less ($ns ns)" \
	[ "$ns" -ge $((both * 9 / 10)) ]

# -- --call-graph dwarf, on the same program built without frame pointers
# (offcpu-nofp): the switch samples' stack copies unwound. The waits must
# land in the same functions, with the same durations, as by frame pointers
# above; the frame pointer walk of this build must not find them.
WN=$WORKLOADS/offcpu-nofp
"$CPROF" record -q --call-graph dwarf,8192 --offcpu -o dw.data -- "$WN" >dwout.txt 2>dwerr.txt
[ $? -eq 0 ] && [ ! -s dwerr.txt ]
check "record --call-graph dwarf --offcpu: exit 0, nothing said ($(head -1 dwerr.txt))" test $? -eq 0
slept=$(awk '$1 == "sleep_total_ns" { print $2 }' dwout.txt)
waited=$(awk '$1 == "lock_wait_total_ns" { print $2 }' dwout.txt)
s=$(func dw.data sleeper blocked_ns)
l=$(func dw.data lock_waiter blocked_ns)
check "dwarf: sleeper blocked $s ns within 10 % of the $slept ns it slept" within "$s" "${slept:-0}" $((${slept:-0} / 10))
check "dwarf: lock_waiter blocked $l ns within 10 % of the $waited ns it waited" \
	within "$l" "${waited:-0}" $((${waited:-0} / 10))
check "dwarf: sleeper: 40 intervals" [ "$(func dw.data sleeper intervals)" = 40 ]
check "dwarf: the sleeps' stack, leaf first: nap, then sleeper, then main" \
	[ "$(json dw.data "[s['frames'][s['frames'].index('nap'):s['frames'].index('main') + 1] for s in d['stacks'] if 'sleeper' in s['frames']][0] == ['nap', 'sleeper', 'main']")" = True ]
check "dwarf: the lock wait's stack: take_lock under lock_waiter under main, holder's on its own thread" \
	[ "$(json dw.data "any(s['frames'][s['frames'].index('take_lock'):][:3] == ['take_lock', 'lock_waiter', 'main'] for s in d['stacks'] if 'take_lock' in s['frames']) and any('holder' in s['frames'] and 'main' not in s['frames'] for s in d['stacks'])")" = True ]
[ "$(json dw.data "d['stack_mode']")" = dwarf ] && "$CPROF" report --offcpu -i dw.data | grep -q '^Stacks: DWARF'
check "dwarf: the stack mode is dwarf, and the text says so" test $? -eq 0
check "dwarf: no records lost" [ "$(json dw.data "d['lost']")" = 0 ]
"$CPROF" record -q -g --offcpu -o fpn.data -- "$WN" >/dev/null 2>&1
check "frame pointers on the same build: no stack reaches main through sleeper" \
	[ "$(json fpn.data "any('sleeper' in s['frames'] and 'main' in s['frames'] for s in d['stacks'])")" = False ]

# -- what it refuses.
"$CPROF" record -q -o cpu.data -- "$WORKLOADS/hot" 1 >/dev/null 2>&1
"$CPROF" report --offcpu -i cpu.data >/dev/null 2>err.txt
[ $? -ne 0 ] && grep -q 'no off-CPU intervals' err.txt
check "report --offcpu on a CPU-only recording: one-line error" test $? -eq 0

# -- an ordinary user at kernel.perf_event_paranoid 2 may not have the switch
# samples (the switch happens in the kernel), only the switch records: the
# intervals without their stacks, and record says so.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 2 ] &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$CPROF"; then
	chmod 711 "$TMP" && mkdir -m 777 nobody
	HOME=$TMP/nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$CPROF" record -g --offcpu -o nobody/n.data -- "$W" >nobody/out.txt 2>nobody/err.txt
	[ $? -eq 0 ] && grep -q 'without their stacks' nobody/err.txt
	check "as an ordinary user: exit 0, and a line saying the stacks were refused" test $? -eq 0
	check "as an ordinary user: the waits are there" \
		[ "$(json nobody/n.data "d['blocked']['total_ns']")" -ge 400000000 ]
else
	echo "not root, no setpriv, or paranoid below 2: the ordinary user's case not checked"
fi
finish
