#!/bin/bash
# t-report-layout.sh - the text report's table: Function is the last column,
# the others are as wide as their widest cell (so a long name or source
# file never pushes Binary), nothing is shortened when piped, and on a
# terminal every line fits its width, long C++ names shortened in steps
# (return type, template arguments, argument list, middle) unless
# --full-names.
. "$(dirname "$0")/test-lib.sh"
command -v script >/dev/null || skip "no script(1) to give cprof a terminal"
command -v python3 >/dev/null || skip "no python3 to measure columns"

"$CPROF" record -q -o cxx.data -- "$WORKLOADS/cxx" >/dev/null 2>&1
check "record the C++ workload" test -s cxx.data
long='unsigned long engine::accumulate<unsigned long>(unsigned long)'

# The function table of a report: from its header to the first blank line.
table() { tr -d '\r' <"$1" | sed -n '/^ *Self /,/^$/p' | sed '/^$/d'; }
not() { ! "$@"; }
# on_tty COLS ARGS...: the report as a terminal of COLS columns shows it.
# The program's own samples only (--dso cxx): a stray sample in the kernel
# or ld.so would widen the Binary column and move where names are folded.
on_tty() {
	local c=$1
	shift
	script -qc "stty cols $c; '$CPROF' report -i cxx.data --dso cxx --color never $*" /dev/null
}
# widest COLS FILE: every table line fits in COLS characters.
fits() {
	table "$2" | python3 -c 'import sys
w = max(len(l.rstrip("\n")) for l in sys.stdin)
sys.exit(0 if w <= int(sys.argv[1]) else 1)' "$1"
}
# Each row's cells start where the header's column names do.
aligned() {
	table "$1" | python3 -c 'import sys
rows = [l.rstrip("\n") for l in sys.stdin]
h = rows[0]
starts = [h.index(n) for n in sys.argv[1:]]
for r in rows[1:]:
    for s in starts:
        if r[s - 2:s] != "  " or (r[s] == " " and s != starts[0]):
            sys.exit("misaligned at %d: %r" % (s, r))' "${@:2}"
}

"$CPROF" report -i cxx.data >piped.txt
check "piped: Function is the last column" test "$(table piped.txt | head -1 | awk '{ print $NF }')" = Function
check "piped: the long C++ name is whole" grep -qF "  $long" piped.txt
check "piped: nothing is cut" not grep -q '…' piped.txt
check "piped: Hottest line, Binary and Function aligned on every row" aligned piped.txt "Hottest line" Binary Function
"$CPROF" report -i cxx.data --sort line >lines.txt
check "--sort line: Function last, columns aligned" aligned lines.txt Line Binary Function

for c in 80 90 100 120; do
	on_tty "$c" >"tty$c.txt"
	check "a $c-column terminal: every line of the table fits" fits "$c" "tty$c.txt"
	check "a $c-column terminal: columns aligned" aligned "tty$c.txt" "Hottest line" Binary Function
done
check "100 columns: the return type goes first" \
	sh -c "grep -qF 'engine::accumulate<unsigned long>(unsigned long)' tty100.txt && ! grep -qF 'long engine::' tty100.txt"
check "90 columns: then template arguments" grep -qF 'engine::accumulate<…>(unsigned long)' tty90.txt
check "80 columns: argument lists folded too" grep -qF 'engine::Solver::step(…)' tty80.txt
# Which line of step's loop is hottest depends on the CPU (where the
# samples skid to); the narrow table keeps the one the wide table shows.
hot=$(grep -oE 'cxx\.cc:[0-9]+ [0-9]+%' piped.txt | head -1)
check "80 columns: the hottest line keeps its line number (${hot:-none in the wide table})" \
	grep -qF "${hot:-no hottest line in the wide table}" tty80.txt
on_tty 80 --full-names >full.txt
check "--full-names on a terminal: the name is whole" grep -qF "$long" full.txt
finish
