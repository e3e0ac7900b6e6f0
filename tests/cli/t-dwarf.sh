#!/bin/bash
# t-dwarf.sh - --call-graph dwarf on code without frame pointers: whole call
# chains, stacks through libc and libm, deep recursion and truncation.
. "$(dirname "$0")/test-lib.sh"
NOFP="$WORKLOADS/nofp"

# share of samples whose folded stack contains PATTERN, among those containing LEAF
share_with() { # FILE LEAF PATTERN
	"$CPROF" report -i "$1" --format folded | awk -v leaf="$2" -v pat="$3" '
		index($0, leaf) { n = $NF; tot += n; if (index($0, pat)) hit += n }
		END { if (tot) printf "%.1f", 100 * hit / tot; else print "nan" }'
}

"$CPROF" record -q --call-graph dwarf -o chain.data -- "$NOFP" chain 5 >/dev/null
s=$(share_with chain.data leaf_work "main;stage1;stage2;stage3;stage4;leaf_work")
echo "whole chain in $s% of leaf samples"
check "whole chain main..leaf_work in >= 90% of leaf samples" within "$s" 100 10
check "frame pointers alone miss it (control)" sh -c "'$CPROF' record -q -g -o fp.data -- '$NOFP' chain 2 >/dev/null; ! '$CPROF' report -i fp.data --format folded | grep -q 'stage1;stage2;stage3'"

"$CPROF" record -q --call-graph dwarf -o libc.data -- "$NOFP" libc 3 >/dev/null
s=$(share_with libc.data cmp_hot "sort_data;")
echo "qsort comparator reached from sort_data in $s%"
check "comparator called through qsort unwinds to sort_data" within "$s" 100 10
check "qsort frame present between" sh -c "'$CPROF' report -i libc.data --format folded | grep -q 'sort_data;.*qsort.*;cmp_hot'"
s=$(share_with libc.data "sin" "sine_loop;")
check "sin() samples unwind into sine_loop" within "$s" 100 10

"$CPROF" record -q --call-graph dwarf,65528 -o deep.data -- "$NOFP" deep 300 2 >/dev/null
s=$(share_with deep.data leaf_work "main;recurse")
echo "deep recursion reaching main: $s%"
check "300-deep recursion complete with SIZE 65528" within "$s" 100 10
"$CPROF" record -q --call-graph dwarf,2048 -o shallow.data -- "$NOFP" deep 300 2 >/dev/null
check "small SIZE: truncation reported" sh -c "'$CPROF' report -i shallow.data | grep -q 'truncated stacks'"
t=$("$CPROF" report -i shallow.data --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(100*d["truncated_samples"]/d["samples"])')
check "small SIZE: most samples marked truncated ($t%)" within "$t" 100 15

# The same callers as perf's own DWARF unwinding, where perf is available.
if command -v perf >/dev/null && perf record -q --call-graph dwarf -F 499 -o perf.data -- "$NOFP" chain 2 >/dev/null 2>&1; then
	p=$(perf report -i perf.data --stdio --no-children -G --percent-limit 5 2>/dev/null | grep -c 'stage[1-4]')
	check "perf's DWARF report shows the same stage callers" test "$p" -ge 4
else
	echo "perf --call-graph dwarf unavailable: comparison skipped"
fi
finish
