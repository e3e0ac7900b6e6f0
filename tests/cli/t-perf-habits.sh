#!/bin/bash
# t-perf-habits.sh - what a perf user types works and gives right results:
# perf's flag spellings for record, report and diff; diffs of renamed and
# rebuilt programs; folded output; thread filters; flamegraph's input and
# output rules; the small things of the output. Shares are from sampling
# and get stated tolerances; the rest is exact.
. "$SRCDIR/tests/cli/test-lib.sh"

HOT=$WORKLOADS/hot
THREADS=$WORKLOADS/threads

# --- recordings used below --------------------------------------------------

"$CPROF" record -q -g -o thr.data -- "$THREADS" 2 >/dev/null
"$CPROF" record -q --call-graph dwarf -o demo.data -- "$WORKLOADS/demo" >/dev/null
cp "$HOT" app-old
cp "$HOT" app-new
"$CPROF" record -q -g -o before.data -- ./app-old 6 >/dev/null
"$CPROF" record -q -g -o after.data -- ./app-new 6 slow-b >/dev/null

csv_col() { # FILE ARGS... -> the report's CSV
	local f=$1; shift
	"$CPROF" report -i "$f" --format csv "$@"
}

# --- wrong results ------------------------------------------------------------

# Folded output: one line per distinct stack (frames of one function at
# different addresses or lines used to print the same line several times).
"$CPROF" report -i demo.data --format folded >demo.folded
dups=$(awk '{ $NF = ""; print }' demo.folded | sort | uniq -d | head -3)
check "folded: no stack printed twice${dups:+: $dups}" test -z "$dups"
total=$("$CPROF" report -i demo.data --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])')
check "folded: the counts add up to the samples ($total)" \
	test "$(awk '{ s += $NF } END { print s }' demo.folded)" = "$total"
stacks=$("$CPROF" report -i demo.data --header-only | sed -n 's/^# distinct stacks: \([0-9,]*\),.*/\1/p' | tr -d ,)
echo "demo: $stacks distinct data stacks, $(wc -l <demo.folded) folded lines"

# diff: the README's example, the same program built as app-old and app-new
# (app-new's hot_b does twice the work). The time is spent in the inlined
# spin, so hot_b's own change is in its total: 33% -> 50%, which ~600
# samples a run tell from noise with p(adj) well under 0.01 (~200 samples
# gave p(adj) 0.0005-0.002, too close to the line on a busy machine).
"$CPROF" diff --metric total before.data after.data >d.txt 2>&1
# Unmatched, every function of the program would be new or vanished with
# its whole share; matched, only a function seen in a sample or two of one
# run can be (a startup frame, by chance), so the check is for shares of 1%
# and more.
unmatched() { # SECTION -> its functions of app-old/app-new with >= 1%
	sed -n "/^# $1 functions/,/^\$/p" d.txt | awk '/app-/ && $1 + 0 >= 1'
}
check "diff: the renamed executable's functions match (none new)" test -z "$(unmatched new)"
check "diff: none vanished" test -z "$(unmatched vanished)"
check "diff: hot_b is in both runs, and grew" grep -qE '^ +[1-9][0-9.]*% +[0-9.]+% +\+[0-9.]+pp .* hot_b \[app-new\]$' d.txt
"$CPROF" diff --metric total --fail-on-regression 5 before.data before.data >/dev/null
check "diff: a run against itself passes the gate" test $? -eq 0
"$CPROF" diff --metric total --fail-on-regression 5 before.data after.data >/dev/null
check "diff: the real regression (hot_b doubled) trips the gate" test $? -eq 1
"$CPROF" diff --metric total --ignore-binary before.data after.data | grep -qE '^ +[1-9].* hot_b \[app-new\]$'
check "diff --ignore-binary: still matched" test $? -eq 0
"$CPROF" diff --map-binary nonsense before.data after.data >/dev/null 2>err.txt
check "diff --map-binary without '=': usage error" test $? -eq 2
# flamegraph --diff matches as diff does: hot_b's box has both runs' samples.
"$CPROF" flamegraph --diff before.data after.data -o d.svg
check "flamegraph --diff: written" test -s d.svg
# Unmatched, every box would have grown by its whole share; matched, spin
# under hot_c (3/6 of the work before, 3/8 after) shrank.
check "flamegraph --diff: the before run is matched (a box shrank)" \
	grep -qE '<title>spin \([0-9,]+ samples, [0-9.]+%; self [0-9.]+% before, [0-9.]+% after: -[0-9.]*[1-9][0-9.]* pp' d.svg

# --sort total with --no-children sorted by a hidden column.
"$CPROF" report -i thr.data --sort total --no-children >/dev/null 2>err.txt
check "--sort total --no-children: usage error" test $? -eq 2
check "... that says why" grep -q 'hides' err.txt
"$CPROF" report -i thr.data --children --format csv >ch.csv
check "--children orders by total" sh -c "tail -n +2 ch.csv | cut -d, -f2 | sort -rn -c"

# --comm: names the kernel truncated or numbered are found by prefix or glob.
heavy=$("$CPROF" report -i thr.data -s comm --format csv | awk -F, '$7 == "heavy" { print $1 }')
check "--comm prefix 'hea' is heavy" test "$(csv_col thr.data --comm hea | awk -F, 'NR > 1 { s += $1 } END { printf "%.0f", s }')" = 100
check "--comm glob 'l*' is light" sh -c "'$CPROF' report -i thr.data --comm 'l*' -s comm | grep -qw light"
check "--comm glob 'l*' leaves heavy out" sh -c "! '$CPROF' report -i thr.data --comm 'l*' -s comm | grep -qw heavy"
# perf's spellings: -c and --comms for --comm, -S for --symbols.
check "-c hea is --comm hea" test "$(csv_col thr.data -c hea)" = "$(csv_col thr.data --comm hea)"
check "--comms hea is --comm hea" test "$(csv_col thr.data --comms hea)" = "$(csv_col thr.data --comm hea)"
check "-S heavy_work lists heavy_work alone" \
	sh -c "'$CPROF' report -i thr.data --format csv -S heavy_work | awk -F, 'NR > 1 { print \$7 }' | grep -qx heavy_work &&
		[ \$('$CPROF' report -i thr.data --format csv -S heavy_work | wc -l) -eq 2 ]"
"$CPROF" report -i thr.data --threads --comm worker >out.txt 2>err.txt
check "--comm of no thread: exit 1" test $? -eq 1
check "--comm of no thread: one line" test "$(wc -l <err.txt)" -eq 1
check "--comm of no thread: lists the names there are" \
	sh -c "grep -q 'threads named .*heavy' err.txt && grep -q 'threads named .*light' err.txt"
check "--comm of no thread: nothing on stdout" test ! -s out.txt

# flamegraph: cprof.data unless a pipe brings input; options before AFTER.
cp thr.data cprof.data
"$CPROF" flamegraph -o a.svg </dev/null
check "flamegraph: stdin /dev/null is not input (cprof.data is)" grep -q heavy_work a.svg
true | "$CPROF" flamegraph -o b.svg
check "flamegraph: an empty pipe is not input" grep -q heavy_work b.svg
printf 'main;from_the_pipe 5\n' | "$CPROF" flamegraph -o c.svg
check "flamegraph: folded stacks on a pipe are" grep -q from_the_pipe c.svg
printf 'main;from_the_file 5\n' >in.folded
"$CPROF" flamegraph -o c2.svg <in.folded
check "flamegraph: a file on stdin is" grep -q from_the_file c2.svg
"$CPROF" flamegraph --diff before.data -o e.svg after.data </dev/null
check "flamegraph --diff BEFORE -o X AFTER: -o is the output" test -s e.svg -a ! -e after.data.svg
check "... and AFTER the second input" grep -q hot_b e.svg
"$CPROF" flamegraph --diff before.data -o f.svg </dev/null
check "flamegraph --diff BEFORE alone: AFTER is cprof.data" grep -q heavy_work f.svg
: | "$CPROF" flamegraph -i - -o g.svg 2>err.txt
check "flamegraph -i - on an empty pipe: an error" test $? -ne 0

# -F 100000: what the overhead line leaves out is said, high rates warned.
"$CPROF" record -F 20000 -o fast.data -- "$HOT" 1 >/dev/null 2>err.txt
check "record -F 20000 warns about the rate" grep -q 'warning: -F 20000' err.txt
"$CPROF" report -i fast.data >out.txt
check "report: the overhead line says the kernel's sampling is not in it" grep -q "not counted: the kernel's work" out.txt
check "report: a 20000 Hz recording is warned about" grep -q "warning: at 20000 Hz" out.txt
"$CPROF" report -i thr.data | grep -q "warning: at"
check "report: no rate warning at 999 Hz" test $? -ne 0

# --- perf's flags ---------------------------------------------------------------

"$CPROF" report -i thr.data >plain.txt
"$CPROF" report -i thr.data --stdio >stdio.txt
check "report --stdio: the same report" cmp -s plain.txt stdio.txt
"$CPROF" report -i thr.data -n >n.txt
check "report -n: the same report (samples are always shown)" cmp -s plain.txt n.txt
"$CPROF" report -i thr.data -n 20 >/dev/null 2>err.txt
check "report -n 20: usage error" test $? -eq 2
check "... that points to --top" grep -q -- '--top N' err.txt
check "report --top 1: one function" test "$("$CPROF" report -i thr.data --top 1 -q --no-findings | wc -l)" -eq 2

# -s with perf's keys: one row per combination.
check "-s dso: the workload's binary has ~all self time" \
	within "$("$CPROF" report -i thr.data -s dso --format csv | awk -F, '$7 == "threads" { print $1 }')" 100 5
check "-s comm: heavy is 3/4 of the work" within "$heavy" 75 10
check "-s pid: one process" test "$("$CPROF" report -i thr.data -s pid --format csv | tail -n +2 | wc -l)" -eq 1
check "-s tid: a row per thread" \
	test "$("$CPROF" report -i thr.data -s tid --format csv | tail -n +2 | wc -l)" -eq "$("$CPROF" report -i thr.data -T | grep -cE '^ +[0-9.]+% +[0-9]+ +[0-9]+ +[0-9]+  ')"
check "-s comm,sym: perf's titles" sh -c "'$CPROF' report -i thr.data -s comm,sym | head -1 | grep -q 'Command  Symbol'"
"$CPROF" report -i thr.data -s comm,dso,sym --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["schema"] == "cprof-report-groups/1" and d["keys"] == ["comm", "dso", "sym"], d
assert abs(sum(r["self_percent"] for r in d["rows"]) - 100) < 0.01
assert {"heavy", "light"} <= {r["comm"] for r in d["rows"]}'
check "-s comm,dso,sym --format json: rows add up to 100%" test $? -eq 0
"$CPROF" report -i thr.data -s bogus >/dev/null 2>err.txt
check "-s bogus: usage error naming it" sh -c "test $? -eq 2 && grep -q \"'bogus'\" err.txt"

# Call graphs: -G (perf's --inverted) is callers first, -g callee leaves first.
"$CPROF" report -i thr.data -G -q >G.txt
"$CPROF" report -i thr.data -g caller -q >gc.txt
check "-g caller is -G" cmp -s G.txt gc.txt
check "-G: start_thread above heavy_work above spin" \
	sh -c "grep -A2 -- '- start_thread' G.txt | grep -q heavy_work && grep -A1 -- '- heavy_work' G.txt | grep -q spin"
"$CPROF" report -i thr.data -g callee -q >gcl.txt
check "-g callee: spin first, its callers below" \
	sh -c "awk '/^Call tree/ { getline; print; exit }' gcl.txt | grep -q -- '- spin' && grep -A1 -- '- spin' gcl.txt | grep -q _work"
"$CPROF" report -i thr.data -g >/dev/null
check "-g alone: accepted" test $? -eq 0
"$CPROF" report -i thr.data -g graph,0.5,caller -q >gg.txt
check "-g graph,0.5,caller: perf's full form" cmp -s G.txt gg.txt

# --max-stack 1: only the innermost frame, so total is self.
csv_col thr.data --max-stack 1 >ms.csv
check "--max-stack 1: total = self for every function" \
	test -z "$(awk -F, 'NR > 1 && $3 != $4' ms.csv)"
check "--max-stack 1: no caller left" sh -c "! grep -q heavy_work ms.csv"

# --symbols and --symbol-filter: rows, not shares.
spin=$(csv_col thr.data | awk -F, '$7 == "spin" { print $1 }')
check "--symbols spin: one row, the same share" \
	test "$(csv_col thr.data --symbols spin | tail -n +2 | cut -d, -f1,7)" = "$spin,spin"
# (Kernel functions such as task_work_run match too when they were sampled.)
csv_col thr.data --symbol-filter _work | tail -n +2 | cut -d, -f7 >sf.txt
check "--symbol-filter _work: the two workers, and only names with _work" \
	sh -c 'grep -qx heavy_work sf.txt && grep -qx light_work sf.txt && ! grep -v _work sf.txt'
check "--percent-limit 50: spin alone" test "$(csv_col thr.data --percent-limit 50 | tail -n +2 | cut -d, -f7)" = spin

# -q, -v, --header-only.
check "-q: no header lines" sh -c "! '$CPROF' report -i thr.data -q | grep -q '^#'"
"$CPROF" report -i thr.data -v >v.txt
check "-v: the recording's metadata above the report" sh -c "grep -q '^# exe: .*/threads$' v.txt && grep -q '^ *Self' v.txt"
"$CPROF" report -i thr.data --header-only >h.txt
check "--header-only: metadata, no table" sh -c "grep -q '^# command: ' h.txt && ! grep -q Self h.txt"

# --tid, --pid lists.
tids=$("$CPROF" report -i thr.data -s tid --format csv | tail -n +2 | cut -d, -f7 | tr '\n' ,)
check "--tid A,B,...: all those threads" \
	test "$(csv_col thr.data --tid "${tids%,}" -s tid | tail -n +2 | wc -l)" -eq "$(echo "${tids%,}" | tr , '\n' | wc -l)"
first_tid=${tids%%,*}
check "--tid A: that thread alone" test "$(csv_col thr.data --tid "$first_tid" -s tid | tail -n +2 | cut -d, -f7)" = "$first_tid"
pid=$("$CPROF" report -i thr.data -s pid --format csv | tail -n +2 | cut -d, -f7)
check "--pid P,1: the process" test "$(csv_col thr.data --pid "$pid,1" -s pid | tail -n +2 | cut -d, -f7)" = "$pid"
"$CPROF" report -i thr.data --tid 1 >/dev/null 2>err.txt
check "--tid of no thread: exit 1 listing the threads" sh -c "test $? -eq 1 && grep -q 'heavy $pid/' err.txt"

# record: -F max, -m SIZE, --no-inherit, -T -N -z, -D.
max=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
"$CPROF" record -q -F max -o max.data -- true
check "record -F max: kernel.perf_event_max_sample_rate ($max Hz)" \
	sh -c "'$CPROF' report -i max.data | grep -q '($max Hz)'"
"$CPROF" record -q -m 16M -o m.data -- true
check "record -m 16M: $((16 * 1024 * 1024 / $(getconf PAGESIZE))) pages" \
	sh -c "'$CPROF' report -i m.data --header-only | grep -qx '# mmap_pages: $((16 * 1024 * 1024 / $(getconf PAGESIZE)))'"
# DWARF's default: 512 pages, doubled until the rings hold 8 MiB together
# (for root, whom no locked memory limit holds back; test-ring has the rest).
if [ "$(id -u)" = 0 ]; then
	pages=512
	while [ $((pages * $(getconf PAGESIZE) * $(getconf _NPROCESSORS_ONLN))) -lt $((8 << 20)) ]; do pages=$((pages * 2)); done
	"$CPROF" record -q --call-graph dwarf -o m.data -- true
	check "record --call-graph dwarf: $pages pages a ring on $(getconf _NPROCESSORS_ONLN) CPUs" \
		sh -c "'$CPROF' report -i m.data --header-only | grep -qx '# mmap_pages: $pages'"
fi
"$CPROF" record -q -m 3X -o m.data -- true 2>/dev/null
check "record -m 3X: usage error" test $? -eq 2
"$CPROF" record -q -T -N -z -o tnz.data -- "$HOT" 1 >/dev/null
check "record -T -N -z: accepted" sh -c "'$CPROF' report -i tnz.data -q | grep -q hot_c"
"$CPROF" record -q -o inh.data -- "$WORKLOADS/forkexec" "$HOT" 1 >/dev/null
"$CPROF" record -q --no-inherit -o noinh.data -- "$WORKLOADS/forkexec" "$HOT" 1 >/dev/null
check "record: children are followed" test "$("$CPROF" report -i inh.data -s pid --format csv | tail -n +2 | wc -l)" -ge 2
check "record --no-inherit: only the first process" \
	test "$("$CPROF" report -i noinh.data -s pid --format csv | tail -n +2 | wc -l)" -eq 1
check "record --no-inherit: its own work is there" sh -c "'$CPROF' report -i noinh.data -q | grep -q parent_work"
"$CPROF" record -D 60000 -o late.data -- "$HOT" 1 >/dev/null 2>err.txt
check "record -D longer than the workload: no samples" grep -q '^cprof record: 0 samples of' err.txt
"$CPROF" record -D 50 -o early.data -- "$HOT" 2 >/dev/null 2>err.txt
check "record -D 50: sampling starts" test "$("$CPROF" report -i early.data --format csv | tail -n +2 | wc -l)" -gt 0

# record -p A,B -- sleep: perf's attach idiom, several processes.
"$HOT" 1 forever >/dev/null &
a=$!
"$HOT" 1 forever >/dev/null &
b=$!
sleep 0.3
"$CPROF" record -q -p "$a,$b" -o two.data -- sleep 1; rc=$?
alive=0
kill -0 $a 2>/dev/null && kill -0 $b 2>/dev/null && alive=1
kill $a $b; wait $a $b 2>/dev/null
check "record -p A,B -- sleep 1: exit 0" test "$rc" -eq 0
check "... the processes keep running" test "$alive" -eq 1
check "... both are recorded" test "$("$CPROF" report -i two.data -s pid --format csv | tail -n +2 | cut -d, -f7 | sort | tr '\n' ' ')" = "$(printf '%s\n' $a $b | sort | tr '\n' ' ')"
dur=$("$CPROF" report -i two.data | sed -n 's/^# duration: \([0-9.]*\) s$/\1/p')
check "... for as long as the command ran (~1 s, got $dur)" within "$dur" 1.05 0.5
check "... the header names both command lines" \
	sh -c "'$CPROF' report -i two.data | grep -q \"^# command:  pid $a: $HOT 1 forever; pid $b: $HOT 1 forever\""

# An attached process's header shows its command line, not '-p PID'.
"$HOT" 1 forever >/dev/null &
a=$!
sleep 0.2
"$CPROF" record -q -p $a -o att.data --duration 0.5
kill $a; wait $a 2>/dev/null
check "attach header: the process's command line" \
	sh -c "'$CPROF' report -i att.data | grep -qx '# command:  $HOT 1 forever'"

# diff with no arguments: cprof.data.old against cprof.data.
"$CPROF" record -q -g -- "$HOT" 1 >/dev/null
"$CPROF" record -q -g -- "$HOT" 1 >/dev/null
"$CPROF" diff >d0.txt
check "diff without arguments: cprof.data.old vs cprof.data" \
	sh -c "grep -q '^# before: cprof.data.old' d0.txt && grep -q '^# after:  cprof.data' d0.txt"
"$CPROF" diff cprof.data.old >d1.txt
check "diff with one argument: it against cprof.data" cmp -s d0.txt d1.txt

# --- small things ---------------------------------------------------------------

printf 'main;f 1\n' | "$CPROF" report -i - >one.txt
check "report: '1 sample', not '1 samples'" grep -q ', 1 sample$' one.txt
printf 'main;f 1\n' >one.folded
"$CPROF" diff one.folded one.folded >one-diff.txt
check "diff: '(1 sample)'" grep -q '(1 sample)$' one-diff.txt
"$CPROF" record -o k.data -- "$HOT" 2 >/dev/null 2>err.txt
check "record: the summary is the only line (no PMU notice): $(head -c 300 err.txt)" test "$(wc -l <err.txt)" -eq 1
check "record: the summary names the event" grep -qE '^cprof record: [0-9,]+ samples? of (cpu-clock|cycles)' err.txt
check "record: the size is in the unit that fits" grep -qE "wrote 'k.data' \([0-9.]+ (bytes|KiB|MiB)\)$" err.txt
"$CPROF" record -o x.data -- ./no-such-command 2>err.txt
check "record: an error is one line" test "$(wc -l <err.txt)" -eq 1
"$CPROF" diff -f csv k.data k.data >/dev/null
"$CPROF" diff k.data before.data | grep -q '\[\['
check "diff: no doubled brackets around [kernel.kallsyms]" test $? -ne 0
printf 'main;parse 3000\nmain;compute 5000\nmain;io 2000\n' >a.folded
printf 'main;parse 3000\nmain;compute 10000\nmain;io 2000\n' >b.folded
esc=$(printf '\033')
"$CPROF" diff --color always a.folded b.folded >col.txt
check "diff --color always: the growth is red" grep -q "$esc\[31m *+16.67pp" col.txt
check "... the shrinkage green" grep -q "$esc\[32m *-10.00pp" col.txt
"$CPROF" diff --color never a.folded b.folded >col.txt
check "diff --color never: no escapes" sh -c "! grep -q '$esc' col.txt"
"$CPROF" diff a.folded b.folded >col.txt
check "diff --color: NO_COLOR and a file mean none" sh -c "! grep -q '$esc' col.txt"
"$CPROF" diff --color sometimes a.folded b.folded >/dev/null 2>&1
check "diff --color sometimes: usage error" test $? -eq 2

# flamegraph on a terminal without -o: a file, not SVG on the screen.
if command -v script >/dev/null; then
	rm -f flamegraph.svg
	script -qec "'$CPROF' flamegraph -i thr.data" /dev/null </dev/null >tty.txt
	check "flamegraph on a terminal writes flamegraph.svg" grep -q heavy_work flamegraph.svg
	check "... and says so, without SVG on the terminal" \
		sh -c "grep -q \"wrote 'flamegraph.svg'\" tty.txt && ! grep -q '<svg' tty.txt"
else
	echo "note: script(1) missing; the terminal check of flamegraph is skipped"
fi

# --- docs ------------------------------------------------------------------------

check "record -m's default is the same in --help and the man page (512 with dwarf, 8 MiB in all)" \
	sh -c "'$CPROF' record --help | tr -s ' \n' ' ' | grep -q '512 with --call-graph dwarf and at least 8 MiB over all CPUs' &&
		tr -s '\t\n' '  ' <'$SRCDIR/man/cprof-record.1.scd' | grep -q '512 and at least 8 MiB over all the CPUs'"
check "README's exit codes include diff's 2 for every error" \
	sh -c "sed -n '/^## Exit codes/,/^## /p' '$SRCDIR/README.md' | tr '\\n' ' ' | grep -q 'cprof diff.*2 any error'"
for cmd in record report; do
	check "man cprof-$cmd: the synopsis has --mem" grep -q '^\*cprof '$cmd'\*.*\*--mem\*' "$SRCDIR/man/cprof-$cmd.1.scd"
done
check "man cprof(1): SEE ALSO names every command's page" \
	sh -c "for c in \$('$CPROF' --list-cmds); do sed -n '/^# SEE ALSO/,\$p' '$SRCDIR/man/cprof.1.scd' | grep -q \"cprof-\$c\\*(1)\" || exit 1; done"

finish
