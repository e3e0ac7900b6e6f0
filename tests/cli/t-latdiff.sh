#!/bin/bash
# t-latdiff.sh - `cprof diff --latency` on recordings whose latencies are
# known: the naps workload sleeps N times for USEC microseconds in nap().
# Fast is 150 naps of 1 ms, slow 150 of 15 ms: every slow nap is longer
# than the fast run's p99 unless a busy machine delays a 1 ms sleep's
# wake-up by 14 ms, so the test of the tail must find the growth, and only
# in the direction it happened; a recording against itself changes nothing.
# As root the recordings also trace syscalls and probe nap(): the same
# naps are then clock_nanosleep calls and nap() calls, and each source's
# rows must say the same.
. "$SRCDIR/tests/cli/test-lib.sh"
N=$WORKLOADS/naps

sources=(--offcpu)
[ "$(id -u)" = 0 ] && sources+=(--syscalls --latency nap)
"$CPROF" record -q "${sources[@]}" -g -o fast.data -- "$N" 150 1000 2>err.txt
check "record ${sources[*]} of 150 naps of 1 ms: exit 0" [ $? -eq 0 ]
"$CPROF" record -q "${sources[@]}" -g -o slow.data -- "$N" 150 15000 2>>err.txt
check "record ${sources[*]} of 150 naps of 15 ms: exit 0" [ $? -eq 0 ]

row() { # JSON-FILE NAME FIELD [SOURCE]
	python3 -c "import json,sys; d=json.load(open('$1')); print([r['$3'] for r in d['rows'] if r['source']=='${4:-offcpu}' and r['name']=='$2'][0])"
}

# -- a recording against itself: nothing moved, nothing significant.
"$CPROF" diff --latency fast.data fast.data --fail-on-p99 0 --format json >same.json
check "itself: exit 0 under --fail-on-p99 0" [ $? -eq 0 ]
check "itself: blocked p99 unchanged" [ "$(row same.json blocked p99_change)" = 0 ]
check "itself: the tails are equal" [ "$(row same.json blocked tail_before)" = "$(row same.json blocked tail_after)" ]
check "itself: tested, not significant" [ "$(row same.json blocked tested) $(row same.json blocked significant)" = "True False" ]
check "itself: the nap's own wait is a row" [ "$(row same.json 'blocked in clock_nanosleep' calls_before)" -ge 150 ]

# -- slower: the tail grew, significantly, and the gate fails. A busy
# machine wakes the 1 ms naps late (p99 4.9 ms measured at load 3), never
# the 15 ms ones early: the slow run's p99 is at least 15 ms, so a 10 %
# gate and a grown p99 hold while the fast run's p99 stays under 13 ms.
"$CPROF" diff --latency fast.data slow.data --fail-on-p99 10 --format json >slow.json
check "slower: exit 1 under --fail-on-p99 10" [ $? -eq 1 ]
check "slower: blocked tail grew significantly" \
	[ "$(row slow.json blocked significant) $(python3 -c "print($(row slow.json blocked z) > 0)")" = "True True" ]
check "slower: at least the 150 naps above the fast run's p99" [ "$(row slow.json blocked tail_after)" -ge 150 ]
check "slower: p50 at least 15 ms after" [ "$(row slow.json blocked p50_after_ns)" -ge 15000000 ]
check "slower: p99 grew, to at least 15 ms" \
	[ "$(python3 -c "print($(row slow.json blocked p99_change) > 0.1 and $(row slow.json blocked p99_after_ns) >= 15000000)")" = True ]
"$CPROF" diff --latency fast.data slow.data --fail-on-p99 100000 >/dev/null
check "slower: exit 0 when the gate's percentage is above the growth" [ $? -eq 0 ]
"$CPROF" diff --latency fast.data slow.data >/dev/null
check "slower: exit 0 without a gate" [ $? -eq 0 ]

# -- the syscall and the probed function tell the same story.
if [ "$(id -u)" = 0 ]; then
	for sn in "syscalls clock_nanosleep" "latency nap"; do
		set -- $sn
		check "$1 $2: 150 calls each side, itself unchanged" \
			[ "$(row same.json "$2" calls_before "$1") $(row same.json "$2" calls_after "$1") $(row same.json "$2" significant "$1")" = "150 150 False" ]
		check "$1 $2: slower, significantly, every call above the fast p99" \
			[ "$(row slow.json "$2" significant "$1") $(row slow.json "$2" tail_after "$1")" = "True 150" ]
		check "$1 $2: p50 at least 15 ms after" [ "$(row slow.json "$2" p50_after_ns "$1")" -ge 15000000 ]
	done
	# report --latency draws nap()'s calls by power of two: 150 in all,
	# the slow run's every one at 15 ms or more.
	"$CPROF" report --latency -i slow.data >lat.txt
	rows=$(awk '/^nap: calls by latency/ { on = 1; next } on && /\|/ { print } on && !/\|/ { exit }' lat.txt)
	check "report --latency: nap's calls by latency add up to 150" \
		[ "$(echo "$rows" | awk '{ n += count() } END { print n }
		function count(  i) { for (i = 1; i <= NF; i++) if ($i ~ /^\|/) return $(i - 1) }')" = 150 ]
	check "... all in rows from 8.39 ms up" [ "$(echo "$rows" | awk '{
		lo = $1 * ($2 == "s" ? 1e9 : $2 == "ms" ? 1e6 : $2 == "us" ? 1e3 : 1)
		for (i = 1; i <= NF; i++) if ($i ~ /^\|/) break
		if (lo < 8e6 && $(i - 1) > 0) bad++
	} END { print bad + 0 }')" = 0 ]
else
	echo "not root: syscalls and uprobes not traced, their rows not checked"
fi

# -- faster: significant, but no regression.
"$CPROF" diff --latency slow.data fast.data --fail-on-p99 0 --format json >fast.json
check "faster: exit 0 under --fail-on-p99 0" [ $? -eq 0 ]
check "faster: significant, the tail shrank" \
	[ "$(row fast.json blocked significant) $(python3 -c "print($(row fast.json blocked z) < 0)")" = "True True" ]

# -- the other formats say the same.
"$CPROF" diff --latency fast.data slow.data --format csv >slow.csv
check "csv: one line per JSON row, and a header" \
	[ "$(($(wc -l <slow.csv) - 1))" = "$(python3 -c "import json; print(len(json.load(open('slow.json'))['rows']))")" ]
check "csv: the blocked row is significant" grep -q '^offcpu,blocked,both,.*,1$' slow.csv
"$CPROF" diff --latency fast.data slow.data --color always >slow.txt
check "text: the blocked row, marked significant" grep -E -q '^ .*\* .*offcpu blocked$' slow.txt
check "text: says what was tested" grep -q 'slower than the lower' slow.txt

# -- what it refuses.
"$CPROF" record -q -o cpu.data -- "$N" 3 1000 2>/dev/null
"$CPROF" diff --latency cpu.data fast.data 2>err.txt
check "a recording without distributions: exit 2" [ $? -eq 2 ]
check "... naming the file and what to record" grep -q "'cpu.data': no latency distributions.*--offcpu" err.txt
"$CPROF" diff --fail-on-p99 10 fast.data slow.data 2>err.txt
check "--fail-on-p99 without --latency: exit 2" [ $? -eq 2 ]
"$CPROF" diff --latency --metric total fast.data slow.data 2>err.txt
check "--latency with --metric: exit 2" [ $? -eq 2 ]
"$CPROF" diff --latency --fail-on-p99 x fast.data slow.data 2>err.txt
check "--fail-on-p99 x: exit 2" [ $? -eq 2 ]
"$CPROF" diff --latency fast.data missing.data 2>err.txt
[ $? -eq 2 ] && grep -q missing.data err.txt
check "a missing file: exit 2, named" test $? -eq 0

finish
