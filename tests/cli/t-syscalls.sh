#!/bin/bash
# t-syscalls.sh - `record --syscalls` and `report --syscalls` on the
# syscalls workload, whose calls are known: counts and errors asserted
# exactly, per thread, and against `strace -c -f` on the same program; the
# 5 ms sleeps' latency within a stated tolerance; the slowest calls' stacks.
. "$SRCDIR/tests/cli/test-lib.sh"
W=$WORKLOADS/syscalls
# The dynamic loader's own calls are counted too: searching a library path
# adds failing openat and newfstatat calls, so none is set.
unset LD_LIBRARY_PATH

json() { # FILE PYTHON-EXPR-USING-d -> prints the result
	"$CPROF" report --syscalls -i "$1" --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
calls() { # FILE SYSCALL [FIELD]
	json "$1" "sum(s['${3:-calls}'] for s in d['syscalls'] if s['name']=='$2')"
}

"$CPROF" record -q --syscalls -g -o sc.data -- "$W" >out.txt 2>err.txt
rc=$?
if [ $rc -ne 0 ] && grep -qE 'no permission|tracefs|raw_syscalls' err.txt && [ "$(id -u)" != 0 ]; then
	skip "syscall tracepoints not allowed here: $(cat err.txt)"
fi
check "record --syscalls: exit 0" [ $rc -eq 0 ]

# -- what the program itself issues (tests/workloads/syscalls.c).
check "getpid: 1000 + 300 calls" [ "$(calls sc.data getpid)" = 1300 ]
check "write: 200 + 100 calls, and the line printed at the end" [ "$(calls sc.data write)" = 301 ]
check "nanosleep: 20 calls" [ "$(calls sc.data nanosleep)" = 20 ]
check "openat: 50 + 30 fail with ENOENT" \
	[ "$(json sc.data "[s['errors_by_errno'].get('ENOENT') for s in d['syscalls'] if s['name']=='openat']")" = "[80]" ]
check "getpid, write, nanosleep: no errors" \
	[ "$(calls sc.data getpid errors)$(calls sc.data write errors)$(calls sc.data nanosleep errors)" = 000 ]
check "per thread: parent 1000 getpid, child 300" \
	[ "$(json sc.data "sorted(t['calls'] for s in d['syscalls'] if s['name']=='getpid' for t in s['threads'])")" = "[300, 1000]" ]
check "per thread: the child's 30 openat all failed" \
	[ "$(json sc.data "sorted((t['calls'], t['errors']) for s in d['syscalls'] if s['name']=='openat' for t in s['threads'])[0]")" = "(30, 30)" ]
check "two exit_group, neither returns" \
	[ "$(calls sc.data exit_group)/$(calls sc.data exit_group unfinished)" = 2/2 ]
check "no records lost" [ "$(json sc.data "d['lost']")" = 0 ]
# The exec's return (its entry came before the events were on) and the
# forked child's return from clone (its entry is the parent's).
check "two returns without their entry" [ "$(json sc.data "d['unpaired_returns']")" = 2 ]

# -- latency: nanosleep asks for 5 ms and never returns sooner. The
# program times its sleeps itself, around each call: each of those times
# holds the traced one plus two clock reads and the syscall's way in and
# out, so the traced median is at most the program's, and no more than
# 0.2 ms below it (a thread preempted right after its sleep would widen the
# gap for that call alone, not for the median of 20). Against the 5 ms
# asked for: within 10 % where the program saw its own median within 10 %
# (a busy machine wakes sleepers late, and then both see it).
p50=$(calls sc.data nanosleep p50_ns)
mn=$(calls sc.data nanosleep min_ns)
own=$(awk '$1 == "sleep_p50_ns" { print $2 }' out.txt)
check "nanosleep: min >= 5 ms ($mn ns)" [ "$mn" -ge 5000000 ]
[ "$p50" -le "$own" ] && [ "$p50" -ge $((own - 200000)) ]
check "nanosleep: p50 $p50 ns within [-0.2 ms, 0] of the program's own $own ns" test $? -eq 0
if within "$own" 5250000 250000; then
	check "nanosleep: p50 within 10 % of 5 ms ($p50 ns)" within "$p50" 5250000 250000
else
	echo "the program's own median sleep was $own ns (machine busy): 5 ms +10 % check skipped"
fi
# --- I/O per file descriptor ----------------------------------------------------
io() { # FILE PYTHON-EXPR over the rows r
	json "$1" "$2"
}
pp=$(json sc.data "[t['pid'] for s in d['syscalls'] if s['name']=='nanosleep' for t in s['threads']][0]")
check "I/O: the parent read 10 x 4096 bytes of /dev/zero, named" \
	[ "$(io sc.data "[(r['read_calls'], r['read_bytes'], r['write_calls']) for r in d['io'] if r['pid']==$pp and r['path']=='/dev/zero']")" = "[(10, 40960, 0)]" ]
check "I/O: the parent wrote 200 bytes in 200 calls to /dev/null, named" \
	[ "$(io sc.data "[(r['write_calls'], r['write_bytes'], r['read_calls']) for r in d['io'] if r['pid']==$pp and r['path']=='/dev/null']")" = "[(200, 200, 0)]" ]
check "I/O: the child's 100 one-byte writes on its own row" \
	[ "$(io sc.data "[(r['write_calls'], r['write_bytes']) for r in d['io'] if r['pid']!=$pp and r['write_calls']==100]")" = "[(100, 100)]" ]
check "I/O: time only with calls, and the write time within write's total" \
	[ "$(io sc.data "sum(r['write_ns'] for r in d['io']) <= sum(s['total_ns'] for s in d['syscalls'] if s['name']=='write') and all(r['read_ns']>0 for r in d['io'] if r['read_calls'])")" = True ]
check "percentiles in order" [ "$(json sc.data "all(s['min_ns']<=s['p50_ns']<=s['p90_ns']<=s['p95_ns']<=s['p99_ns']<=s['p999_ns']<=s['max_ns'] for s in d['syscalls'])")" = True ]
check "total time is at least calls x min" [ "$(json sc.data "all(s['total_ns']>=(s['calls']-s['unfinished'])*s['min_ns'] for s in d['syscalls'])")" = True ]

# -- the slowest calls: 5 per syscall by default, with their stacks (-g).
check "5 slowest nanosleeps kept, slowest first" \
	[ "$(json sc.data "[len(s['slowest']) == 5 and s['slowest'][0]['dur_ns'] == s['max_ns'] for s in d['syscalls'] if s['name']=='nanosleep']")" = "[True]" ]
# By frame pointers the caller of libc's syscall() is skipped (syscall()
# makes no frame, so the walk starts at its caller's saved frame): the
# stack reads syscall, main.
check "the slowest nanosleep: from syscall() in main()" \
	[ "$(json sc.data "[s['slowest'][0]['stack'][:2] for s in d['syscalls'] if s['name']=='nanosleep']")" = "[['syscall', 'main']]" ]
"$CPROF" record -q --syscalls=slowest:2 -o sc2.data -- "$W" >/dev/null 2>&1
check "--syscalls=slowest:2 keeps 2, without -g no stacks" \
	[ "$(json sc2.data "[(len(s['slowest']), s['slowest'][0]['stack']) for s in d['syscalls'] if s['name']=='getpid']")" = "[(2, [])]" ]

# -- strace -c -f on the same program: the same count for every syscall it
# lists, and the same errors, except what differs by design: execve (the
# events start at the exec, so its entry is not seen; strace counts it),
# restart_syscall and nanosleep's errors (strace's stops interrupt a sleep,
# which the kernel restarts), exit_group (never returns: strace leaves it out).
if command -v strace >/dev/null; then
	# Its output to a file, as under record (stdio asks a terminal, or
	# /dev/null, whether it is one: an ioctl more).
	strace -c -f -o strace.txt "$W" >strace-out.txt 2>&1
	awk '$NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $NF != "syscall" && $NF != "execve" && $NF != "restart_syscall" {
		err = (NF == 6) ? $5 : 0; if ($NF == "nanosleep") err = 0; print $NF, $4, err }' strace.txt | sort >strace.rows
	json sc.data "'\n'.join('%s %d %d' % (s['name'], s['calls'], s['errors']) for s in d['syscalls'] if s['name'] != 'exit_group')" |
		sort >cprof.rows
	check "strace -c -f: $(wc -l <strace.rows) syscalls listed" [ "$(wc -l <strace.rows)" -ge 15 ]
	check "strace -c -f agrees on every count and error count" diff strace.rows cprof.rows
else
	echo "strace not installed: cross-check skipped"
fi

# -- lost records: rings of 4 pages (-m 1) for 300,000 calls. What the
# kernel drops is counted and printed, and the counts fall short of the
# calls made by no more than the records lost (none lost: exact).
"$CPROF" record --syscalls -m 1 -o lost.data -- "$W" 50 >/dev/null 2>lost.txt
check "record --syscalls -m 1: exit 0" [ $? -eq 0 ]
lost=$(json lost.data "d['lost']")
short=$(json lost.data "(65000 - sum(s['calls'] for s in d['syscalls'] if s['name']=='getpid')) + (15001 - sum(s['calls'] for s in d['syscalls'] if s['name']=='write'))")
[ "$short" -ge 0 ] && [ "$short" -le "$lost" ]
check "-m 1: $lost records lost, counts short by $short, 0 <= short <= lost" test $? -eq 0
if [ "$lost" -gt 0 ]; then
	check "-m 1: the loss is printed" grep -q "syscalls: the kernel dropped $lost tracepoint records" lost.txt
else
	echo "no records lost with -m 1 here: the printed-loss check skipped"
fi

# -- the other formats say the same.
"$CPROF" report --syscalls -i sc.data --format csv >sc.csv
check "csv: the all-threads getpid row has 1300 calls" \
	[ "$(awk -F, '$1=="getpid" && $4=="all" { print $5 }' sc.csv)" = 1300 ]
"$CPROF" report --syscalls -i sc.data >sc.txt
check "text: the nanosleep row and the ENOENT errors" \
	grep -qE '^nanosleep +20 ' sc.txt
check "text: openat ENOENT 80" grep -qE '^ +openat +ENOENT +80$' sc.txt
check "text: /dev/zero's row, 40.0 KiB read in 10 calls" grep -qE '^ +[0-9]+ +[0-9]+ +40.0 KiB +0 B +10 .* /dev/zero$' sc.txt
# -- time by stack: folded stacks (and the flame graph) of the time in the
# calls, the syscall a kernel frame under the stack that made it. Each
# folded row rounds to a microsecond, so a syscall's rows add up to its
# total within one microsecond a row.
"$CPROF" report --syscalls -i sc.data --format folded >sc.folded
fsum() { # SYSCALL -> "ROWS MICROSECONDS" of its folded rows
	awk -v leaf="$1_[k]" '{ n = split($1, f, ";"); if (f[n] == leaf) { r++; s += $2 } } END { print r + 0, s + 0 }' sc.folded
}
read -r nrows nus <<<"$(fsum nanosleep)"
ntot=$(calls sc.data nanosleep total_ns)
check "folded: nanosleep's $nrows rows, $nus us, its total $ntot ns within a microsecond a row" \
	within "$nus" $((ntot / 1000)) $((nrows > 0 ? nrows : -1))
check "folded: every nanosleep made from syscall() in main()" \
	[ "$(grep -c ';main;syscall;nanosleep_\[k\] ' sc.folded)" = "$nrows" ]
read -r grows gus <<<"$(fsum getpid)"
gtot=$(calls sc.data getpid total_ns)
check "folded: getpid's $grows rows, $gus us, its total $gtot ns within a microsecond a row" \
	within "$gus" $((gtot / 1000)) $((grows > 0 ? grows : -1))
"$CPROF" flamegraph --syscalls -i sc.data -o sc.svg 2>fg.err
check "flamegraph --syscalls: an SVG titled for syscalls, nanosleep in main's stack" \
	eval "grep -q 'Syscall Time Flame Graph' sc.svg && grep -q '<title>nanosleep ([0-9,]* ns in syscalls' sc.svg &&
	      grep -q '<title>main ([0-9,]* ns in syscalls' sc.svg"
"$CPROF" report --syscalls -i sc2.data --format folded >sc2.folded
check "folded without -g: one [no stack] row a syscall, getpid's among them" \
	[ "$(grep -c '^\[no stack\];getpid_\[k\] ' sc2.folded)/$(grep -vc '^\[no stack\];[a-z_0-9]*_\[k\] [0-9]*$' sc2.folded)" = 1/0 ]

# -- self time: the part of each call on a CPU, from the threads' switches.
# A sleep is off a CPU all but the way in and out: under a tenth of its
# 100 ms. getpid never waits; preemption aside every call is on a CPU
# throughout, so at least half its calls' minimum each.
check "self: nanosleep on a CPU under 10 % of its time" \
	[ "$(json sc.data "[s['self_ns'] * 10 < s['total_ns'] for s in d['syscalls'] if s['name']=='nanosleep']")" = "[True]" ]
check "self: getpid on a CPU at least half its calls x min" \
	[ "$(json sc.data "[s['self_ns'] * 2 >= (s['calls'] - s['unfinished']) * s['min_ns'] > 0 for s in d['syscalls'] if s['name']=='getpid']")" = "[True]" ]
check "self: never more than the total, the threads' adding up to all threads'" \
	[ "$(json sc.data "all(s['self_ns'] <= s['total_ns'] and s['self_ns'] == sum(t['self_ns'] for t in s['threads']) for s in d['syscalls'])")" = True ]
check "csv: the all-threads getpid row's self_ns as in JSON" \
	[ "$(awk -F, 'NR==1 { for (i = 1; i <= NF; i++) if ($i == "self_ns") c = i } $1=="getpid" && $4=="all" { print $c }' sc.csv)" = \
	  "$(json sc.data "[s['self_ns'] for s in d['syscalls'] if s['name']=='getpid'][0]")" ]
check "text: a self column" grep -qE '^syscall +calls +errors +total +self ' sc.txt
"$CPROF" report -i sc.data --timeline tl.json >/dev/null 2>tl.err
check "timeline: the 5 kept nanosleeps are slices of at least 5 ms, made from syscall()" \
	[ "$(python3 -c "
import json
t = json.load(open('tl.json'))['traceEvents']
n = [e for e in t if e.get('cat') == 'syscall' and e['name'] == 'nanosleep']
print(len(n), all(e['dur'] >= 5000 and e['args']['from'] == 'syscall' for e in n))")" = "5 True" ]

# -- -D: the tracer starts with the samples, after the delay. The program
# runs once before it ends (1,300 getpid, over in well under the 700 ms even
# on a loaded machine), then, after a 1.5 s sleep, twice as much: only the
# second run's 2,600 are counted, and the sleep under way when the tracer
# started returns without its entry.
"$CPROF" record -q --syscalls -D 700 -o delay.data -- sh -c "'$W' >/dev/null; sleep 1.5; '$W' 2 >/dev/null" 2>err.txt
check "record --syscalls -D 700: exit 0" [ $? -eq 0 ]
check "-D: only the getpid after the delay (2 x 1,300)" [ "$(calls delay.data getpid)" = 2600 ]
check "-D: the sleep under way at the start returns without its entry" \
	[ "$(json delay.data "d['unpaired_returns']")" -ge 1 ]

# -- rt_sigreturn's return carries no syscall number (it restores the
# interrupted code's registers, orig_ax -1 among them): it is the return of
# the thread's open call. 50 signals sent and caught, 50 rt_sigreturn timed.
"$CPROF" record -q --syscalls -o sig.data -- "$W" signals 50 >/dev/null 2>&1
check "record --syscalls of 50 caught signals: exit 0" [ $? -eq 0 ]
check "rt_sigreturn: 50 calls, every one returned (none unfinished), no error" \
	[ "$(json sig.data "[(s['calls'], s['unfinished'], s['errors'], s['total_ns'] > 0) for s in d['syscalls'] if s['name'] == 'rt_sigreturn']")" = "[(50, 0, 0, True)]" ]
check "no record taken for malformed" sh -c "! '$CPROF' report -i sig.data --header-only | grep -q syscalls_malformed"

# -- bad input: one line, exit code, nothing written.
"$CPROF" record --syscalls=slowest:x -o bad.data -- "$W" >/dev/null 2>err.txt
[ $? -eq 2 ] && [ ! -e bad.data ]
check "bad --syscalls value: usage error, no file" test $? -eq 0
check "bad --syscalls value: says what it takes" grep -q 'takes slowest:N' err.txt
"$CPROF" record -q -o plain.data -- "$W" >/dev/null 2>&1
"$CPROF" report --syscalls -i plain.data >/dev/null 2>err.txt
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <err.txt)" = 1 ]
check "report --syscalls without a trace: exit 1, one line" test $? -eq 0
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null &&
	[ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 0 ]; then
	chmod 777 "$TMP"
	runuser -u nobody -- "$CPROF" record --syscalls -o "$TMP/nobody.data" -- "$W" >/dev/null 2>err.txt
	rc=$?
	[ $rc -eq 1 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qE 'tracefs|perf_event_paranoid|CAP_PERFMON' err.txt
	check "not permitted: exit 1, one line naming what to change" test $? -eq 0
	check "not permitted: nothing written" [ ! -e "$TMP/nobody.data" ]
else
	echo "not root, or no nobody user: permission check skipped"
fi

# -- latency classes, counted from the distribution the file keeps. A
# nanosleep of 5 ms never returns sooner, and one 2 s late would be a
# broken machine: 1ms,2ms,3ms puts all 20 in critical, 4ms,4500us,2s all
# in very slow, 2s,3s,4s all in fast.
export XDG_CONFIG_HOME="$TMP/noconf" # no default file
cls() { # FILE ARGS... -> nanosleep's classes fast/slow/very_slow/critical
	"$CPROF" report --syscalls -i "$1" --format json "${@:2}" | python3 -c "
import json,sys
d = json.load(sys.stdin)
c = [s['classes'] for s in d['syscalls'] if s['name']=='nanosleep'][0]
print('%d/%d/%d/%d' % (c['fast'], c['slow'], c['very_slow'], c['critical']))"
}
check "classes 1ms,2ms,3ms: 20 nanosleeps critical" [ "$(cls sc.data --classes 1ms,2ms,3ms)" = 0/0/0/20 ]
check "classes 4ms,4500us,2s: 20 nanosleeps very slow" [ "$(cls sc.data --classes 4ms,4500us,2s)" = 0/0/20/0 ]
check "classes 2s,3s,4s: 20 nanosleeps fast" [ "$(cls sc.data --classes 2s,3s,4s)" = 20/0/0/0 ]
check "default classes 1ms,10ms,100ms, said so; no nanosleep fast" \
	[ "$(json sc.data "d['class_limits_ns'], d['class_limits_from'], [s['classes']['fast'] for s in d['syscalls'] if s['name']=='nanosleep']")" = "[1000000, 10000000, 100000000] default [0]" ]
check "every syscall's classes add up to its returned calls, shares to 1" \
	[ "$(json sc.data "all(sum(s['classes'][k] for k in ('fast','slow','very_slow','critical')) == s['calls'] - s['unfinished'] and abs(sum(s['classes'][k + '_share'] for k in ('fast','slow','very_slow','critical')) - (1 if s['calls'] > s['unfinished'] else 0)) < 1e-5 for s in d['syscalls'])")" = True ]
"$CPROF" report --syscalls -i sc.data --format csv --classes 1ms,2ms,3ms >cls.csv
check "csv: the all-threads nanosleep row: 20 critical, share 1" \
	[ "$(python3 -c "
import csv
r = [r for r in csv.DictReader(open('cls.csv')) if r['syscall']=='nanosleep' and r['tid']=='all'][0]
print(r['fast'], r['critical'], r['critical_share'])")" = "0 20 1.000000" ]
"$CPROF" report --syscalls -i sc.data --classes 1ms,2ms,3ms >cls.txt
check "text: the classes table, nanosleep 20 critical" grep -qE '^nanosleep +0 +0\.0% +0 +0\.0% +0 +0\.0% +20 100\.0%$' cls.txt

# The limits from a file: the default one under XDG_CONFIG_HOME, one given
# with --classes-file, and --classes over both.
mkdir -p xdg/cprof
printf '# the web tier\nslow 4ms   # above 4 ms\n\nvery-slow 4500us\ncritical 2s\n' >xdg/cprof/latency-classes
check "default file: 20 very slow" [ "$(XDG_CONFIG_HOME=$TMP/xdg cls sc.data)" = 0/0/20/0 ]
check "default file: named as where the limits came from" \
	[ "$(XDG_CONFIG_HOME=$TMP/xdg json sc.data "d['class_limits_from']")" = "$TMP/xdg/cprof/latency-classes" ]
printf 'critical 3ms\nvery-slow 2ms\nslow 1ms\n' >mine.cls
check "--classes-file over the default file: 20 critical" \
	[ "$(XDG_CONFIG_HOME=$TMP/xdg cls sc.data --classes-file mine.cls)" = 0/0/0/20 ]
check "--classes over --classes-file: 20 fast" \
	[ "$(XDG_CONFIG_HOME=$TMP/xdg cls sc.data --classes-file mine.cls --classes 2s,3s,4s)" = 20/0/0/0 ]
printf 'slow 9ms\n' >part.cls
check "a file with one limit keeps the other defaults (9ms,10ms,100ms)" \
	[ "$("$CPROF" report --syscalls -i sc.data --format json --classes-file part.cls | python3 -c "import json,sys; print(json.load(sys.stdin)['class_limits_ns'])")" = "[9000000, 10000000, 100000000]" ]

# Bad limits: one line naming the file and line, exit 1, nothing on stdout;
# a bad --classes is a usage error.
bad_classes() { # DESCRIPTION FILE-CONTENT EXPECTED-STDERR
	printf "$2" >bad.cls
	"$CPROF" report --syscalls -i sc.data --classes-file bad.cls >bad.out 2>bad.err
	rc=$?
	[ $rc -eq 1 ] && [ ! -s bad.out ] && [ "$(wc -l <bad.err)" = 1 ] && grep -qF "$3" bad.err
	check "$1: exit 1, nothing printed, one line: $3" test $? -eq 0
}
bad_classes "not a duration" 'slow 1ms\nvery-slow soon\n' "bad.cls:2: 'soon' is not a duration"
bad_classes "unknown class" '# x\nslower 1ms\n' "bad.cls:2: unknown class 'slower'"
bad_classes "two durations" 'slow 1ms 2ms\n' "bad.cls:1: expected 'NAME DURATION'"
bad_classes "limits out of order" 'slow 20ms\nvery-slow 10ms\n' "bad.cls: the limits must increase"
"$CPROF" report --syscalls -i sc.data --classes-file nonesuch.cls >bad.out 2>bad.err
[ $? -eq 1 ] && grep -qF "cannot open 'nonesuch.cls'" bad.err
check "a missing --classes-file: exit 1, named" test $? -eq 0
mkdir -p badxdg/cprof && printf 'critical\n' >badxdg/cprof/latency-classes
XDG_CONFIG_HOME=$TMP/badxdg "$CPROF" report --syscalls -i sc.data >bad.out 2>bad.err
[ $? -eq 1 ] && grep -qF "badxdg/cprof/latency-classes:1:" bad.err
check "a bad default file: exit 1, its line named" test $? -eq 0
for v in 1ms,2ms 3ms,2ms,1ms 1ms,2ms,3ms,4ms 1ms,x,3ms; do
	"$CPROF" report --syscalls -i sc.data --classes "$v" >bad.out 2>bad.err
	[ $? -eq 2 ] && grep -qF "not '$v'" bad.err
	check "--classes $v: usage error (exit 2)" test $? -eq 0
done

# -- past the exact cap (4 Mi durations a syscall; 100 here) percentiles
# come from the histogram: marked, in order, the minimum and maximum still
# exact (the slowest call kept is the maximum), the counts unchanged.
CPROF_EXACT_CAP=100 "$CPROF" record -q --syscalls -o cap.data -- "$W" >/dev/null 2>&1
check "cap 100: getpid (1300 calls) from the histogram, nanosleep (20) exact" \
	[ "$(json cap.data "[s['percentiles'] for s in d['syscalls'] if s['name'] in ('getpid', 'nanosleep')]")" = "['exact', 'histogram']" ]
check "cap 100: getpid still 1300 calls, all in its classes" \
	[ "$(json cap.data "[(s['calls'], sum(s['classes'][k] for k in ('fast','slow','very_slow','critical'))) for s in d['syscalls'] if s['name']=='getpid']")" = "[(1300, 1300)]" ]
check "cap 100: percentiles in order, per thread too, max the slowest call" \
	[ "$(json cap.data "all(r['min_ns']<=r['p50_ns']<=r['p90_ns']<=r['p95_ns']<=r['p99_ns']<=r['p999_ns']<=r['max_ns'] for s in d['syscalls'] for r in [s] + s['threads']) and all(s['slowest'][0]['dur_ns'] == s['max_ns'] for s in d['syscalls'] if s['slowest'])")" = True ]
"$CPROF" report --syscalls -i cap.data --top 40 >cap.txt
check "cap 100: text marks getpid and says why" \
	grep -qE '^getpid +\*' cap.txt && grep -q 'percentiles from the histogram' cap.txt

finish
