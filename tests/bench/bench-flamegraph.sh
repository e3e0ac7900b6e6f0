#!/bin/bash
# bench-flamegraph.sh - `cprof flamegraph` on 100k distinct stacks / 1M
# samples of folded input, side by side with FlameGraph's flamegraph.pl on
# the same files in the same run: wall time, CPU time and peak memory of
# each, and the ratios. The input (about 33 MB) comes in two orders: sorted
# and shuffled. Not part of the test suite.
#
# usage: CPROF=build/src/cprof [FLAMEGRAPH_PL=.../flamegraph.pl] [RUNS=3] tests/bench/bench-flamegraph.sh
# flamegraph.pl is looked for in the shared anchors folder beside the
# repository (../shared/anchors/) unless FLAMEGRAPH_PL names it; it is used
# from there, never copied into the project.
set -eu
CPROF=${CPROF:-build/src/cprof}
STACKS=${STACKS:-100000}
SAMPLES=${SAMPLES:-1000000}
RUNS=${RUNS:-3}
if [ -z "${FLAMEGRAPH_PL:-}" ]; then
	top=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/../.." 2>/dev/null && pwd || true)
	for c in "$(dirname "$0")/../../../shared/anchors/flamegraph.pl" "$top/shared/anchors/flamegraph.pl"; do
		[ -f "$c" ] && FLAMEGRAPH_PL=$c && break
	done
fi
command -v /usr/bin/time >/dev/null || { echo "bench-flamegraph: needs /usr/bin/time (GNU time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Deterministic input shaped like a real C++ profile: a made-up program of
# 6000 functions with qualified names ("ns::Class<T>::method(args)", some
# inlined "_[i]"), each calling a few others a level or more below it, so
# that stacks are random walks down a call graph from a few thread roots:
# deep (about 15 frames), sharing prefixes, some ending in libc or kernel
# frames ("_[k]"). Every line is a distinct stack; counts are heavy-tailed
# and sum to SAMPLES exactly. The random numbers are splitmix64's, high bits
# only. ORDER: "sorted" (as stackcollapse-perf.pl writes) or "shuffled".
gen() {
	python3 - "$STACKS" "$SAMPLES" "$1" <<'PY'
import math
import sys
n_stacks, total, order = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
M = (1 << 64) - 1
state = 0x9E3779B97F4A7C15 * 7 & M
def nxt():
    global state
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
def below(n):  # high bits only
    return ((nxt() >> 32) * n) >> 32
def unit():
    return (nxt() >> 11) / float(1 << 53)
def pick(seq):
    return seq[below(len(seq))]
def skewed(n):  # index in [0, n), small ones likelier
    return int(n * unit() ** 2.5)

ns = ['app', 'engine', 'net', 'io', 'db', 'render', 'util', 'core', 'rpc', 'storage', 'http', 'json']
nouns = ['Session', 'Request', 'Buffer', 'Parser', 'Scheduler', 'Worker', 'Index', 'Table', 'Cache', 'Stream',
         'Encoder', 'Decoder', 'Connection', 'Handler', 'Queue', 'Node', 'Tree', 'Map', 'Batch', 'Frame',
         'Context', 'Pool', 'Channel', 'Router', 'Allocator', 'Writer', 'Reader', 'Task', 'Timer', 'Socket']
verbs = ['run', 'process', 'handle', 'dispatch', 'read', 'write', 'flush', 'parse', 'encode', 'decode', 'lookup',
         'insert', 'update', 'visit', 'apply', 'merge', 'split', 'compute', 'emit', 'poll', 'wait', 'resolve',
         'serialize', 'validate', 'commit', 'reserve', 'grow', 'find', 'step', 'drain']
args = ['', '', '', 'int', 'unsigned long', 'char const*', 'std::string const&', 'void*', 'Slice', 'Key&']
libc = ['__memmove_avx_unaligned_erms', 'malloc', 'free', '_int_malloc', '_int_free', 'pthread_mutex_lock',
        '__GI___lll_lock_wait', 'memcmp', '__strlen_avx2', 'operator new(unsigned long)', 'std::_Hash_bytes']
kern = ['entry_SYSCALL_64_after_hwframe_[k]', 'do_syscall_64_[k]', '__x64_sys_write_[k]', 'ksys_write_[k]',
        'vfs_write_[k]', 'asm_exc_page_fault_[k]', 'exc_page_fault_[k]', 'do_user_addr_fault_[k]',
        'handle_mm_fault_[k]', 'clear_page_erms_[k]', 'schedule_[k]', '__schedule_[k]', 'futex_wait_[k]']

LEVELS = 20
funcs, level = [], []
seen = set()
while len(funcs) < 6000:
    lv = below(LEVELS)
    name = '%s%s%s::%s(%s)' % ('' if below(2) else pick(ns) + '::', pick(nouns),
                                '' if below(5) else '<%s>' % pick(nouns), pick(verbs), pick(args))
    if below(8) == 0:
        name = '%s::%s::%s_[i]' % (pick(ns), pick(nouns), pick(verbs))
    if name in seen:
        continue
    seen.add(name)
    funcs.append(name)
    level.append(lv)
by_level = [[i for i in range(len(funcs)) if level[i] == lv] for lv in range(LEVELS)]
callees = []
for i in range(len(funcs)):
    lv = level[i]
    cs = []
    for _ in range(1 + skewed(10)):
        tl = min(LEVELS - 1, lv + 1 + skewed(3))
        if tl > lv:
            cs.append(pick(by_level[tl]))
    callees.append(cs)
threads = [('worker', 'start_thread;clone3'), ('main', '_start;__libc_start_main;main'),
           ('io-poll', 'start_thread;clone3'), ('gc', 'start_thread;clone3')]
roots = by_level[0][:12]

stacks, have = [], set()
while len(stacks) < n_stacks:
    tname, base = threads[skewed(len(threads))]
    fr = [tname] + base.split(';')
    f = roots[skewed(len(roots))]
    while True:
        fr.append(funcs[f])
        cs = callees[f]
        if not cs or below(11) == 0:
            break
        f = cs[skewed(len(cs))]
    r = below(10)
    if r < 3:
        fr.append(pick(libc))
    elif r < 5:
        k = below(len(kern) - 3)
        fr.extend(kern[k:k + 2 + below(3)])
    s = ';'.join(fr)
    if s in have:
        continue
    have.add(s)
    stacks.append(s)

w = [-math.log(1.0 - unit()) ** 2 + 0.05 for _ in stacks]
sw = sum(w)
counts = [max(1, int(x * total / sw)) for x in w]
diff = total - sum(counts)
i = 0
while diff != 0:  # spread the rounding over the stacks, never below 1
    j = i % len(counts)
    if diff > 0:
        counts[j] += 1; diff -= 1
    elif counts[j] > 1:
        counts[j] -= 1; diff += 1
    i += 1
order_ix = list(range(len(stacks)))
if order == 'sorted':
    order_ix.sort(key=lambda k: stacks[k])
out = sys.stdout
for k in order_ix:
    out.write('%s %d\n' % (stacks[k], counts[k]))
PY
}
command -v python3 >/dev/null || { echo "bench-flamegraph: needs python3 to make its input" >&2; exit 1; }
gen sorted >"$tmp/sorted.folded"
gen shuffled >"$tmp/shuffled.folded"

# best of RUNS: "wall cpu rss_kb" with the lowest wall time
measure() {
	local best="" i
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -o "$tmp/t" -f '%e %U %S %M' "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
		local r
		r=$(awk '{printf "%.3f %.3f %d\n", $1, $2 + $3, $4}' "$tmp/t")
		if [ -z "$best" ] || awk -v a="$r" -v b="$best" 'BEGIN {split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1])}'; then
			best=$r
		fi
	done
	echo "$best"
}

printf "%-28s %-14s %9s %9s %10s\n" "input" "tool" "wall s" "CPU s" "peak RSS"
for input in sorted shuffled; do
	f=$tmp/$input.folded
	desc="$input: $(wc -l <"$f") stacks, $(du -m "$f" | cut -f1) MB"
	c=$(measure "$CPROF" flamegraph -i "$f" -o "$tmp/cprof.svg")
	set -- $c
	printf "%-28s %-14s %9s %9s %7d MB\n" "$desc" "cprof" "$1" "$2" $(($3 / 1024))
	if [ -n "${FLAMEGRAPH_PL:-}" ] && [ -f "$FLAMEGRAPH_PL" ]; then
		p=$(measure perl "$FLAMEGRAPH_PL" "$f")
		set -- $c $p
		printf "%-28s %-14s %9s %9s %7d MB\n" "" "flamegraph.pl" "$4" "$5" $(($6 / 1024))
		awk -v cw="$1" -v cc="$2" -v cm="$3" -v pw="$4" -v pc="$5" -v pm="$6" 'BEGIN {
			printf "%-28s ratio flamegraph.pl / cprof: wall %.1fx, CPU %.1fx, memory %.1fx\n", "", pw / cw, pc / cc, pm / cm
		}'
	else
		echo "flamegraph.pl: skipped (not in ../shared/anchors/; set FLAMEGRAPH_PL to its path)"
	fi
done
