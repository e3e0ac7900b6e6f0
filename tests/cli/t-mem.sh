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
	ht_leak() { grep -A1 'leaked over 137 calls from' ht.txt | grep -q leak_blocks; }
	check "heaptrack agrees: 137 leaking calls from leak_blocks" ht_leak
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
# Tick labels are round: 1, 2 or 5 times a power of ten, evenly spaced
# from 0, and the last x label ends inside the image.
round_ticks() { # GROUP-ID
	sed -n "/<g id=\"$1\">/,/<\/g>/s/.*>\([0-9.]*\) [^<]*<\/text>.*/\1/p" heap.svg |
		awk 'NR == 1 && $1 != 0 { bad = 1 } NR == 2 { step = $1; m = step; while (m >= 10) m /= 10; while (m < 1) m *= 10
			if (m != 1 && m != 2 && m != 5) bad = 1 }
			NR > 1 { d = $1 - (NR - 1) * step; if (d > 1e-9 || d < -1e-9) bad = 1 } END { exit bad || NR < 3 }'
}
check "--plot: y ticks on round values" round_ticks yticks
check "--plot: x ticks on round values" round_ticks xticks
last_x=$(sed -n '/<g id="xticks">/,/<\/g>/s/.*<text x="\([0-9.]*\)".*>\([^<]*\)<\/text>.*/\1 \2/p' heap.svg | tail -1)
check "--plot: last x label ($last_x) inside the 1000 px image" \
	awk -v x="${last_x%% *}" -v label="${last_x#* }" 'BEGIN { n = length(label) }
	BEGIN { exit !(x + n * 7 / 2 <= 1000) }'
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

# -- two threads churning at once: each keeps 16 blocks of 8 + (i & 255)
# bytes in turn. Their blocks are in maps of their own arenas, their events
# ordered by one lock: every count exact, and what was live at the peak adds
# up to the peak.
"$CPROF" record -q --mem -o churn.data -- "$W" churn 2 200000 >/dev/null 2>&1
check "record --mem churn 2 threads: exit 0" [ $? -eq 0 ]
churn_bytes=$(python3 -c 'print(2 * sum(8 + (i & 255) for i in range(200000)))')
check "churn_thread: 400000 allocations of $churn_bytes bytes, none leaked" \
	[ "$(site churn.data churn_thread allocations)/$(site churn.data churn_thread bytes)/$(site churn.data churn_thread leaked_blocks)" = "400000/$churn_bytes/0" ]
check "churn: at most 32 churn blocks (2 x 16) live at the peak" [ "$(site churn.data churn_thread peak_blocks)" -le 32 ]
check "churn: what was live at the peak adds up to the peak" \
	[ "$(json churn.data "sum(s['peak_bytes'] for s in d['sites'] if s['kind'] == 'heap') == d['summary']['peak_bytes']")" = True ]
check "churn: no event lost, no unmatched free" [ "$(json churn.data "d['summary']['lost'] + d['summary']['unmatched_frees']")" = 0 ]
locked=$("$CPROF" report -i churn.data --header-only | sed -n 's/^# mem_locked_events: //p')
check "churn: the threads counted most events alone, below the peak ($locked under the lock)" \
	[ "$(json churn.data "10 * $locked < d['summary']['events']")" = True ]
check "churn: every allocation and every free of one is one event" \
	[ "$(json churn.data "d['summary']['events'] == 2 * d['summary']['allocations'] - d['summary']['leaked_blocks']")" = True ]

# -- rounds: three threads churn as above, and at the end of each round
# each holds a block from round_block at a barrier. Between rounds the heap
# is far below its peak and the threads count their events without the
# event lock; a block that could make a new peak orders them all again.
# The peak is when the last thread of the middle round takes its 1 MiB
# block: all three are live then, beside each thread's last 16 churn
# blocks (allocations 20984 to 20999 of 8 + (i & 255) bytes).
"$CPROF" record -q --mem -o rounds.data -- "$W" rounds 3 12 >/dev/null 2>&1
check "record --mem rounds: exit 0" [ $? -eq 0 ]
check "rounds: the three 1 MiB blocks are what round_block had live at the peak" \
	[ "$(site rounds.data round_block peak_bytes)" = $((3 << 20)) ]
round_churn=$(python3 -c 'print(3 * sum(8 + (i & 255) for i in range(20984, 21000)))')
check "rounds: each thread's last 16 churn blocks were live at the peak ($round_churn bytes)" \
	[ "$(site rounds.data rounds_thread peak_bytes)" = "$round_churn" ]
check "rounds: what was live at the peak adds up to the peak" \
	[ "$(json rounds.data "sum(s['peak_bytes'] for s in d['sites'] if s['kind'] == 'heap') == d['summary']['peak_bytes']")" = True ]
check "rounds: every allocation and every free of one is one event" \
	[ "$(json rounds.data "d['summary']['events'] == 2 * d['summary']['allocations'] - d['summary']['leaked_blocks']")" = True ]
check "rounds: the heap at exit is what the sites left live" \
	[ "$(json rounds.data "d['processes'][0]['leaked_bytes'] == d['summary']['leaked_bytes']")" = True ]

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

# -- a known mix, exactly: every count of every site
"$CPROF" record -q --mem -o known.data -- "$W" known >/dev/null 2>&1
check "record --mem known: exit 0" [ $? -eq 0 ]
check "known, exact: small_blocks 200000 allocations, 12800000 bytes" \
	[ "$(site known.data small_blocks allocations)/$(site known.data small_blocks bytes)" = 200000/12800000 ]
check "known, exact: page_blocks 20000 allocations, 81920000 bytes" \
	[ "$(site known.data page_blocks allocations)/$(site known.data page_blocks bytes)" = 20000/81920000 ]
check "known, exact: big_blocks 500 allocations of 1 MiB" \
	[ "$(site known.data big_blocks allocations)/$(site known.data big_blocks bytes)" = 500/524288000 ]
check "known, exact: kept_blocks 10000 blocks, 2560000 bytes live at exit" \
	[ "$(site known.data kept_blocks leaked_blocks)/$(site known.data kept_blocks leaked_bytes)" = 10000/2560000 ]
check "known, exact: kept_blocks is what was live at the peak, with the last big block" \
	[ "$(site known.data kept_blocks peak_bytes)/$(site known.data big_blocks peak_bytes)" = 2560000/0 ]

# -- --mem=sample: unbiased estimates with their error, on the known mix.
# With R = 16 KiB the sites get about 780 (small), 4400 (page), 500 (big)
# and 156 (kept) samples. For each of five fixed seeds (CPROF_MEM_SEED, so a
# failure reproduces), every estimate must lie within 4.5 standard errors of
# the truth, the standard error computed from the truth: sum over the
# allocations of s^2 (1 - p) / p, p = 1 - exp(-s / R). At 4.5 sigma a correct
# estimator fails one of these 40 checks with probability below 1e-3 (normal
# approximation; the smallest site has ~156 samples). The error the report
# states must be within a factor 0.6 .. 1.6 of that standard error.
cat >sample_check.py <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
R = 16384.0
truth = {  # function: (count, size, live at exit)
    'small_blocks': (200000, 64, 0), 'page_blocks': (20000, 4096, 0),
    'big_blocks': (500, 1 << 20, 0), 'kept_blocks': (10000, 256, 10000)}
bad = []
assert d['mode'] == 'sample' and d['sample']['mean_bytes'] == R, 'mode'
seen = {}
for s in d['sites']:
    f = s['stack'][0]['function'] if s['stack'] else ''
    if s['kind'] == 'heap' and f in truth:
        seen[f] = s
for f, (n, size, live) in truth.items():
    s = seen.get(f)
    if s is None:
        bad.append(f + ': no site'); continue
    p = -math.expm1(-size / R)
    for what, est, tv, var, err in (
            ('bytes', s['bytes'], n * size, n * size * size * (1 - p) / p, s['bytes_error95']),
            ('allocations', s['allocations'], n, n * (1 - p) / p, s['allocations_error95']),
            ('live bytes', s['leaked_bytes'], live * size, live * size * size * (1 - p) / p, s['leaked_bytes_error95'])):
        se = math.sqrt(var)
        tol = 4.5 * se + 1 + 1e-6 * tv  # + rounding of the reported integers
        if abs(est - tv) > tol:
            bad.append('%s %s: %s, truth %s, 4.5 SE %.0f' % (f, what, est, tv, 4.5 * se))
        if se > 0.001 * tv and not (0.6 * 1.96 * se <= err <= 1.6 * 1.96 * se):
            bad.append('%s %s: stated error %.0f, expected about %.0f' % (f, what, err, 1.96 * se))
total = sum(n for n, _, _ in truth.values())
if d['sample']['allocations_seen'] < total:
    bad.append('allocations seen %d < %d' % (d['sample']['allocations_seen'], total))
print('; '.join(bad) if bad else 'ok')
PY
for seed in 1 2 3 4 5; do
	CPROF_MEM_SEED=$seed "$CPROF" record -q --mem=sample:16K -o "sample$seed.data" -- "$W" known >/dev/null 2>&1
	check "--mem=sample:16K seed $seed: exit 0" [ $? -eq 0 ]
	"$CPROF" report --mem -i "sample$seed.data" --format json >"sample$seed.json"
	res=$(python3 sample_check.py "sample$seed.json" 2>&1)
	check "--mem=sample seed $seed: estimates within 4.5 SE of the truth, stated errors right ($res)" [ "$res" = ok ]
done
CPROF_MEM_SEED=1 "$CPROF" record -q --mem=sample:16K -o sample1b.data -- "$W" known >/dev/null 2>&1
"$CPROF" report --mem -i sample1b.data --format json >sample1b.json
check "--mem=sample: the same seed gives the same estimates" \
	[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sites'] == json.load(open(sys.argv[2]))['sites'])" \
		sample1.json sample1b.json)" = True ]
"$CPROF" report --mem -i sample1.data >sample.txt
check "sampled text report states the error of its estimates" grep -q '95 %' sample.txt
check "sampled text report says leaks and the peak are not exact" grep -q 'Leaks and the peak are not' sample.txt
live_kept() { grep -A3 '^== Live at exit, by allocation stack (estimated' sample.txt | grep -q kept_blocks; }
check "sampled text report: kept_blocks among the estimated live blocks" live_kept
"$CPROF" report --mem -i sample1.data --format csv >sample.csv
check "sampled csv: error columns" grep -q ',samples,allocations_error95,bytes_error95,' sample.csv
"$CPROF" export -f pprof -i sample1.data -o sample.pb.gz >/dev/null 2>&1
check "export -f pprof of a sampled recording: heap sample types with kept_blocks in them" \
	[ "$(python3 -c "import gzip,sys; b=gzip.open(sys.argv[1]).read(); print(b'alloc_space' in b and b'inuse_space' in b and b'kept_blocks' in b)" sample.pb.gz 2>&1)" = True ]
"$CPROF" record -q --mem=sample:0 -- true >/dev/null 2>err.txt
check "--mem=sample:0: usage error" [ $? -eq 2 ]
"$CPROF" record -q --mem=samples -- true >/dev/null 2>err.txt
check "--mem=samples: usage error naming the value" grep -q "'samples'" err.txt

# -- processes the tracer cannot reach are named, not silently missing
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp "$W" suid-memwork && chown nobody suid-memwork && chmod 4755 suid-memwork
	"$CPROF" record --mem -o suid.data -- ./suid-memwork leak >/dev/null 2>err.txt
	check "set-user-ID workload: record says it was not traced" grep -q 'not traced' err.txt
	check "... and why" grep -q 'set-user-ID' err.txt
	"$CPROF" report --mem -i suid.data >/dev/null 2>err.txt
	check "report --mem on it: exit 1" [ $? -eq 1 ]
	one_line_why() {
		[ "$(wc -l <err.txt)" -eq 1 ] && grep -q 'recorded with --mem, but no process was traced: pid .*set-user-ID' err.txt
	}
	check "... one line: recorded with --mem, no process traced, and why" one_line_why
	printf '#!/bin/sh\n"%s" leak\n./suid-memwork leak\n' "$W" >both.sh
	chmod +x both.sh
	"$CPROF" record -q --mem -o both.data -- ./both.sh >/dev/null 2>&1
	"$CPROF" report --mem -i both.data >both.txt
	check "a traced and a set-user-ID child: the report names the one not traced" \
		grep -q '^# not traced:  1 process' both.txt
	check "... and still has the traced one's leak" [ "$(site both.data leak_blocks leaked_blocks)" = 137 ]
	check "... JSON lists it under not_traced" [ "$(json both.data "len(d['not_traced'])")" = 1 ]
	# A workload that drops its privileges keeps reporting to cprof.
	if command -v runuser >/dev/null && runuser -u nobody -- test -x "$W"; then
		"$CPROF" record -q --mem -o drop.data -- runuser -u nobody -- "$W" leak >/dev/null 2>&1
		check "runuser -u nobody: the unprivileged workload is traced (137 leaked blocks)" \
			[ "$(site drop.data leak_blocks leaked_blocks)" = 137 ]
	else
		echo "runuser, or access to the workload as nobody, missing: privilege-drop check skipped"
	fi
else
	echo "not root: set-user-ID and privilege-drop checks skipped"
fi

# -- cprof killed: the workload stops tracing, nothing is left on disk
mkdir td
TMPDIR=$TMP/td "$CPROF" record -q --mem -o killed.data -- "$W" churn 1 1000000000 >/dev/null 2>&1 &
cpid=$!
wl= held=no
for _ in $(seq 100); do
	wl=$(pgrep -P "$cpid" memwork) && ls -l "/proc/$wl/fd" 2>/dev/null | grep -q socket && { held=yes; break; }
	sleep 0.1
done
check "the workload holds cprof's socket while traced" [ "$held" = yes ]
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
gone=no
for _ in $(seq 200); do
	ls -l "/proc/$wl/fd" 2>/dev/null | grep -q socket || { gone=yes; break; }
	sleep 0.1
done
check "cprof SIGKILLed: the orphaned workload lets its socket go (stops tracing)" [ "$gone" = yes ]
kill "$wl" 2>/dev/null
check "cprof SIGKILLed: nothing left in TMPDIR" [ -z "$(ls -A td)" ]

# -- a traced process that outlives the recording is said to, and stops after
# (the script ends once the background process is traced: its region is mapped)
cat >bg.sh <<EOF
"$W" churn 1 1000000000 &
while ! grep -q memfd:cprof-mem /proc/\$!/maps 2>/dev/null; do sleep 0.05; done
echo \$! >bg.pid
EOF
"$CPROF" record --mem -o bg.data -- sh bg.sh >/dev/null 2>err.txt
check "a traced process still running at the end: record says so" grep -q '1 traced process is still running' err.txt
bg=$(cat bg.pid)
gone=no
for _ in $(seq 200); do
	ls -l "/proc/$bg/fd" 2>/dev/null | grep -q socket || { gone=yes; break; }
	sleep 0.1
done
check "... and once cprof has ended, it stops tracing" [ "$gone" = yes ]
kill "$bg" 2>/dev/null
check "... its data is in the recording so far" [ "$(json bg.data "len(d['processes'])")" -ge 2 ]

# -- forks while threads churn: fork takes the tracer's locks while other
# threads count alone, and their 1-4 MiB blocks close the gate. A child
# starts a region of its own with its one 777-byte block.
timeout 120 "$CPROF" record -q --mem -o forks.data -- "$W" forks 2 40 >/dev/null 2>&1
check "record --mem forks: exit 0, no hang" [ $? -eq 0 ]
check "forks: 40 children traced, each with its 777 bytes live at exit" \
	[ "$(json forks.data "sum(1 for p in d['processes'] if p['leaked_bytes'] == 777 and p['peak_bytes'] == 777)")" = 40 ]
check "forks: every allocation and every free of one is one event" \
	[ "$(json forks.data "d['summary']['events'] == 2 * d['summary']['allocations'] - d['summary']['leaked_blocks']")" = True ]

# -- a workload killed while its threads count events without the event
# lock: what they had not added to the totals yet is in the recording
# all the same. The process's events and heap at its death against its
# churn_thread sites: the same up to memwork's own few blocks and the one
# call each thread was in the middle of.
cat >killwl.sh <<EOF
"$W" churn 2 1000000000 &
while ! grep -q memfd:cprof-mem /proc/\$!/maps 2>/dev/null; do sleep 0.05; done
sleep 0.3
kill -9 \$!
wait \$! 2>/dev/null
exit 0
EOF
"$CPROF" record -q --mem -o killwl.data -- sh killwl.sh >/dev/null 2>&1
churn_sites="[s for s in d['sites'] if s['kind'] == 'heap' and s['stack'] and s['stack'][0]['function'] == 'churn_thread']"
churn_proc="max(d['processes'], key=lambda p: p['events'])"
ev_extra=$(json killwl.data "$churn_proc['events'] - sum(2 * s['allocations'] - s['leaked_blocks'] for s in $churn_sites)")
check "workload killed: its events are its churn calls, up to 16 more ($ev_extra)" [ "$ev_extra" -ge 0 -a "$ev_extra" -le 16 ]
heap_extra=$(json killwl.data "$churn_proc['leaked_bytes'] - sum(s['leaked_bytes'] for s in $churn_sites)")
check "workload killed: its heap at death is its live churn blocks, up to 2 KiB more ($heap_extra)" \
	[ "$heap_extra" -ge 0 -a "$heap_extra" -le 2048 ]

# -- cprof's memory does not grow with the number of events (CPU sampling
# at 1 Hz, so its samples do not count)
rss() { # EVENTS/4: peak RSS in KiB of cprof record --mem on churn
	/usr/bin/time -f %M "$CPROF" record -q -F 1 --mem -o rss.data -- "$W" churn 2 "$1" 2>&1 >/dev/null | tail -1
}
if [ -x /usr/bin/time ]; then
	small=$(rss 100000) big=$(rss 5000000)
	check "cprof's peak RSS: 400k events ${small} KiB, 20M events ${big} KiB: grows by under 16 MiB" \
		[ $((big - small)) -lt 16384 ]
else
	echo "/usr/bin/time missing: RSS check skipped"
fi

# -- the variable the workload inherits is inert outside the recording
"$CPROF" record -q --mem -o env.data -- sh -c 'printf %s "$CPROF_MEM" >env.txt' >/dev/null 2>&1
check "the workload sees CPROF_MEM (how its children find the recording)" [ -s env.txt ]
shim=$(dirname "$CPROF")/libcprof-mem.so
CPROF_MEM=$(cat env.txt) LD_PRELOAD=$shim TMPDIR=$TMP/td "$W" leak >/dev/null 2>&1
check "a process started with it after cprof ended runs normally" [ $? -eq 0 ]
check "... and writes nothing" [ -z "$(ls -A td)" ]

# -- errors
"$CPROF" report --mem -i cpu.data >/dev/null 2>&1
"$CPROF" record -q -o plain.data -- "$WORKLOADS/hot" 1 >/dev/null
"$CPROF" report --mem -i plain.data >/dev/null 2>err.txt
check "report --mem on a recording without --mem: exit 1" [ $? -eq 1 ]
[ "$(wc -l <err.txt)" -eq 1 ] && grep -q plain.data err.txt
check "... with one line naming the file" test $? -eq 0
"$CPROF" record --mem -p 1 >/dev/null 2>err.txt
check "record --mem -p: usage error" [ $? -eq 2 ]
"$CPROF" record --mem -D 100 -o nodelay.data -- "$W" leak >/dev/null 2>err.txt
check "record --mem -D: usage error" [ $? -eq 2 ]
check "... saying why" grep -q -- "-D cannot delay --mem" err.txt
check "... and nothing written" [ ! -e nodelay.data ]
"$CPROF" report --weight count -i leak.data >/dev/null 2>&1
check "--weight without --mem: usage error" [ $? -eq 2 ]
finish
