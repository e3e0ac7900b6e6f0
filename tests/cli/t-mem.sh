#!/bin/bash
# t-mem.sh - `record --mem` and `report --mem` on memwork, whose allocations
# are known exactly: counts and bytes are asserted exactly, and the leak
# verdict is checked against valgrind's and heaptrack's on the same program.
. "$SRCDIR/tests/cli/test-lib.sh"
W=$WORKLOADS/memwork

json() { # FILE PYTHON-EXPR-USING-d -> prints the result
	"$CPROF" report --mem -i "$1" --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
site() { # FILE FUNCTION FIELD: sum of FIELD over heap sites whose leaf is FUNCTION
	json "$1" "sum(s['$3'] for s in d['sites'] if s['kind']=='heap' and s['stack'] and s['stack'][0]['function']=='$2')"
}

# -- leaks: 137 blocks of 48 bytes from leak_blocks, amid 100000 malloc/free pairs.
"$CPROF" record -q --mem -o leak.data -- "$W" leak >/dev/null 2>err.txt
check "record --mem leak: exit 0" [ $? -eq 0 ]
check "leak_blocks: exactly 137 leaked blocks" [ "$(site leak.data leak_blocks leaked_blocks)" = 137 ]
check "leak_blocks: exactly 6576 leaked bytes" [ "$(site leak.data leak_blocks leaked_bytes)" = 6576 ]
check "nothing else leaked" [ "$(json leak.data "d['summary']['leaked_blocks']")" = 137 ]
check "churn_pairs: 100000 allocations, none leaked" \
	[ "$(site leak.data churn_pairs allocations)/$(site leak.data churn_pairs leaked_blocks)" = 100000/0 ]
check "churn_pairs: every allocation is temporary" [ "$(site leak.data churn_pairs temporary)" = 100000 ]
check "no lost events, no unmatched frees" \
	[ "$(json leak.data "d['summary']['lost'], d['summary']['unmatched_frees']")" = "0 0" ]
"$CPROF" report --mem -i leak.data >report.txt
check "text report names the leak in its findings" grep -q '^ - leak: 137 blocks.*leak_blocks' report.txt
check "text report: churn finding for churn_pairs" grep -q '^ - churn: .*churn_pairs' report.txt

if command -v valgrind >/dev/null; then
	valgrind --leak-check=full "$W" leak >/dev/null 2>vg.txt
	check "valgrind agrees: 6,576 bytes in 137 blocks definitely lost" \
		grep -q 'definitely lost: 6,576 bytes in 137 blocks' vg.txt
else
	echo "valgrind not installed: cross-check skipped"
fi
if command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
	heaptrack -o "$TMP/ht" "$W" leak >/dev/null 2>&1
	heaptrack_print -l -f "$TMP"/ht.*zst >ht.txt 2>/dev/null || heaptrack_print -l -f "$TMP"/ht.gz >ht.txt 2>/dev/null
	check "heaptrack agrees: 137 leaking calls from leak_blocks" \
		grep -A1 'leaked over 137 calls from' ht.txt | grep -q leak_blocks
else
	echo "heaptrack not installed: cross-check skipped"
fi

# -- peak: a 64 MiB block held while 200000 small pairs run, then freed.
"$CPROF" record -q --mem -o peak.data -- "$W" peak >/dev/null 2>times.txt
read -r _ t_alloc0 t_alloc1 _ t_free <times.txt
check "peak heap is at least 64 MiB" [ "$(json peak.data "d['summary']['peak_bytes'] >= 64 << 20")" = True ]
check "peak heap is under 64 MiB + 1 KiB" [ "$(json peak.data "d['summary']['peak_bytes'] < (64 << 20) + 1024")" = True ]
peak_ns=$(json peak.data "d['processes'][0]['peak_time_ns']")
check "peak time lies while the block was live ($t_alloc0 <= $peak_ns <= $t_free)" \
	[ "$peak_ns" -ge "$t_alloc0" -a "$peak_ns" -le "$t_free" ]
check "big_block is what was live at the peak" [ "$(site peak.data big_block peak_bytes)" = $((64 << 20)) ]
check "big_block is not a leak nor a temporary" \
	[ "$(site peak.data big_block leaked_blocks)/$(site peak.data big_block temporary)" = 0/0 ]
"$CPROF" report --mem -i peak.data --plot heap.svg >/dev/null
check "--plot writes an SVG" grep -q '<polyline' heap.svg
if command -v xmllint >/dev/null; then
	check "--plot SVG is well-formed XML" xmllint --noout heap.svg
fi

# -- mix: realloc chain, aligned family, cross-thread frees, a forked child.
"$CPROF" record -q --mem -o mix.data -- "$W" mix >/dev/null 2>&1
check "record --mem mix: exit 0" [ $? -eq 0 ]
check "realloc_chain: 20 allocations (malloc + 19 reallocs), 21000 bytes" \
	[ "$(site mix.data realloc_chain allocations)/$(site mix.data realloc_chain bytes)" = 20/21000 ]
check "realloc_chain: nothing leaked" [ "$(site mix.data realloc_chain leaked_blocks)" = 0 ]
check "calloc, posix_memalign, aligned_alloc, memalign, valloc: 5 blocks, 2936 bytes" \
	[ "$(site mix.data aligned_family allocations)/$(site mix.data aligned_family bytes)" = 5/2936 ]
check "producer: 500 blocks, all freed by the consumer thread" \
	[ "$(site mix.data producer allocations)/$(site mix.data producer leaked_blocks)" = 500/0 ]
check "forked child: child_leak leaked 7 blocks of 1000 bytes" \
	[ "$(site mix.data child_leak leaked_blocks)/$(site mix.data child_leak leaked_bytes)" = 7/7000 ]
check "two processes traced" [ "$(json mix.data "len(d['processes'])")" = 2 ]
check "no unmatched frees" [ "$(json mix.data "d['summary']['unmatched_frees']")" = 0 ]

# -- formats
"$CPROF" report --mem -i leak.data --format folded --weight count >count.folded
check "folded by count: leak_blocks weighs 137" grep -q ';leak_blocks 137$' count.folded
"$CPROF" report --mem -i leak.data --format folded >bytes.folded
check "folded by bytes: leak_blocks weighs 6576" grep -q ';leak_blocks 6576$' bytes.folded
"$CPROF" report --mem -i leak.data --format csv >mem.csv
check "csv: header and the leak_blocks row" grep -q '^heap,137,6576,0,0,137,6576,' mem.csv
"$CPROF" flamegraph --mem -i leak.data -o mem.svg 2>/dev/null
check "flamegraph --mem draws allocation stacks" grep -q 'leak_blocks' mem.svg

# -- CPU samples in the same recording
"$CPROF" record -q --mem -g -o cpu.data -- "$WORKLOADS/hot" 3 >/dev/null
check "--mem with CPU sampling: the CPU profile is there too" \
	[ "$(self_share cpu.data spin | cut -d. -f1)" -ge 90 ]
check "--mem with CPU sampling: the memory profile is there" "$CPROF" report --mem -i cpu.data

# -- errors
"$CPROF" report --mem -i cpu.data >/dev/null 2>&1
"$CPROF" record -q -o plain.data -- "$WORKLOADS/hot" 1 >/dev/null
"$CPROF" report --mem -i plain.data >/dev/null 2>err.txt
check "report --mem on a recording without --mem: exit 1" [ $? -eq 1 ]
check "... with one line naming the file" [ "$(wc -l <err.txt)" -eq 1 ] && grep -q plain.data err.txt
"$CPROF" record --mem -p 1 >/dev/null 2>err.txt
check "record --mem -p: usage error" [ $? -eq 2 ]
"$CPROF" report --weight count -i leak.data >/dev/null 2>&1
check "--weight without --mem: usage error" [ $? -eq 2 ]
finish
