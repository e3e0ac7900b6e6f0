#!/bin/bash
# bench-rust-symbols.sh - symbolizing a large Rust binary: cprof's finishing
# pass (functions, inline frames, source lines, demangled names, all stored
# in the recording) against perf report on the same program, side by side
# in one run, time and memory. Nothing here asserts a time.
#
# The binary is generated: N struct types, each with a trait impl, each
# pushed through one generic function that sorts, hashes and B-tree-maps a
# Vec of it, so every type instantiates its own copy of a good part of
# alloc and core (N = 150: ~6000 functions, 54 MB, 12 MB of .debug_info,
# 1.1 million DIEs; rustc needs 3-4 CPU minutes for it). It is built once
# into BENCH_CACHE and reused.
#
# Usage: bench-rust-symbols.sh [RUNS]  (CPROF, BENCH_CACHE from the environment;
#        N=150, ROUNDS=600 to change the binary and the length of a run)
set -u
: "${CPROF:?}"
RUNS=${1:-3}
N=${N:-150}
ROUNDS=${ROUNDS:-600}
RUSTC=$(command -v rustc) || { echo "rustc is not installed (scripts/setup-deps): skipped"; exit 77; }
command -v perf >/dev/null || { echo "perf is not installed: nothing to compare with"; exit 77; }
CPROF=$(realpath "$CPROF")
CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/cprof-bench-rust}
mkdir -p "$CACHE" || exit 1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export DEBUGINFOD_URLS=

gen() { # N: the program's source
	python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
print("""use std::collections::{BTreeMap, HashMap};
pub trait Score { fn score(&self) -> u64; fn mix(&mut self, k: u64); }
macro_rules! ty { ($name:ident, $k:expr) => {
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
    pub struct $name { a: u64, b: u32, tag: String }
    impl Score for $name {
        #[inline(never)]
        fn score(&self) -> u64 { self.a.wrapping_mul($k).rotate_left((self.b % 63) as u32) ^ self.tag.len() as u64 }
        #[inline(never)]
        fn mix(&mut self, k: u64) {
            self.a = self.a.wrapping_mul(6364136223846793005).wrapping_add(k ^ $k);
            self.b = self.b.wrapping_add(k as u32);
        }
    }
}}""")
for i in range(n):
    print(f"ty!(T{i}, {2 * i + 3});")
print("""
#[inline(never)]
fn churn<T: Score + Clone + Ord + std::hash::Hash + Default + std::fmt::Debug>(seed: u64, rounds: usize) -> u64 {
    let mut v: Vec<T> = (0..64).map(|i| { let mut t = T::default(); t.mix(seed ^ i); t }).collect();
    let mut acc = 0u64;
    for r in 0..rounds {
        v.sort();
        let mut h: HashMap<T, u64> = HashMap::new();
        let mut b: BTreeMap<T, u64> = BTreeMap::new();
        for (i, t) in v.iter_mut().enumerate() {
            t.mix(r as u64 + i as u64);
            acc = acc.wrapping_add(t.score());
            h.insert(t.clone(), acc);
            b.insert(t.clone(), acc);
        }
        acc ^= h.values().fold(0, |x, y| x ^ y) ^ b.values().rev().take(8).sum::<u64>();
        v.dedup();
        v.retain(|t| t.score() & 1 == 0 || acc & 2 == 0);
        while v.len() < 64 { let mut t = T::default(); t.mix(acc ^ v.len() as u64); v.push(t); }
        if r % 16 == 0 { acc ^= format!("{:?}", v[0]).len() as u64; }
    }
    acc
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let mut acc = 0u64;
    for r in 0..rounds {""")
for i in range(n):
    print(f"        acc ^= churn::<T{i}>(r as u64, 3);")
print("""    }
    println!("{}", acc & 1);
}""")
PY
}

BIN="$CACHE/rsbig-$N-$("$RUSTC" --version | tr -c 'A-Za-z0-9.\n' _)"
if [ ! -x "$BIN" ]; then
	echo "building the test binary (N=$N) with $("$RUSTC" --version); this takes minutes, once"
	gen "$N" >"$TMP/rsbig.rs" || exit 1
	"$RUSTC" -C opt-level=2 -g -C force-frame-pointers=yes -o "$BIN.tmp" "$TMP/rsbig.rs" || exit 1
	mv "$BIN.tmp" "$BIN"
fi
cd "$TMP" || exit 1
info=$(readelf -SW "$BIN" | awk '$2 == ".debug_info" { print $6 }')
echo "binary: $(basename "$BIN"), $(($(stat -c %s "$BIN") / 1000000)) MB," \
	"$((0x${info:-0} / 1000000)) MB of .debug_info, $(nm "$BIN" | grep -c ' [tT] ') functions"
echo "workload: $ROUNDS rounds at 999 Hz, -g; $RUNS runs each, medians; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

med() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }
# Wall seconds, CPU seconds and peak RSS (KB) of a command. The CPU time is
# perf stat's task-clock of the command and everything it starts: perf
# report hands source lines and inline frames to addr2line processes, whose
# time its own rusage does not always show. The peak RSS is the largest of
# the command and the children it waited for.
measure() {
	local t0 t1
	t0=$EPOCHREALTIME
	perf stat -x, -e task-clock -o s.out -- /usr/bin/time -f "%M" -o t.out "$@" >/dev/null 2>&1
	t1=$EPOCHREALTIME
	awk -F, -v a="$t0" -v b="$t1" -v rss="$(tail -n 1 t.out)" \
		'$3 == "task-clock" { printf "%.4f %.3f %d\n", b - a, $1 / 1000, rss }' s.out
}
meta() { # FILE KEY -> a number from cprof report's JSON
	"$CPROF" report -i "$1" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'] or 0)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

fin_cpu=() fin_wall=() rec_rss=() c_rep=() c_rss=() p_rep=() p_cpu=() p_rss=() s_rep=() s_cpu=() s_rss=()
for _ in $(seq "$RUNS"); do
	read -r _ _ rss < <(measure "$CPROF" record -g -F 999 -q -o c.data -- "$BIN" "$ROUNDS")
	rec_rss+=("$rss")
	fin_cpu+=("$(meta c.data finish_cpu_ns)")
	fin_wall+=("$(meta c.data finish_wall_ns)")
	read -r w _ rss < <(measure "$CPROF" report -i c.data)
	c_rep+=("$w"); c_rss+=("$rss")
	perf record -g -F 999 -q -o p.data -- "$BIN" "$ROUNDS" >/dev/null 2>&1
	read -r w c rss < <(measure perf report -i p.data --stdio)
	p_rep+=("$w"); p_cpu+=("$c"); p_rss+=("$rss")
	# What cprof's recording holds: the source line of every frame.
	read -r w c rss < <(measure perf report -i p.data --stdio --no-children -F overhead,sym,srcline)
	s_rep+=("$w"); s_cpu+=("$c"); s_rss+=("$rss")
done
m() { printf '%s\n' "$@" | med; }
FC=$(awk -v v="$(m "${fin_cpu[@]}")" 'BEGIN { printf "%.3f", v / 1e9 }')
FW=$(awk -v v="$(m "${fin_wall[@]}")" 'BEGIN { printf "%.3f", v / 1e9 }')
RR=$(m "${rec_rss[@]}"); CR=$(m "${c_rep[@]}"); CRS=$(m "${c_rss[@]}")
PR=$(m "${p_rep[@]}"); PC=$(m "${p_cpu[@]}"); PRS=$(m "${p_rss[@]}")
SR=$(m "${s_rep[@]}"); SC=$(m "${s_cpu[@]}"); SRS=$(m "${s_rss[@]}")
n=$(meta c.data samples); frames=$("$CPROF" report -i c.data --format folded | tr ';' '\n' | wc -l)
echo "samples: $n; cprof stored $(stat -c %s c.data) B"
echo "cprof finishing pass (symbols, inline frames, lines)   ${FC}s CPU (${FW}s wall)  peak RSS of record ${RR} KB"
echo "perf report (symbols only)                             ${PR}s wall, ${PC}s CPU  peak RSS ${PRS} KB"
echo "perf report -F overhead,sym,srcline (lines too)        ${SR}s wall, ${SC}s CPU  peak RSS ${SRS} KB"
echo "cprof report (reads the stored result)                 ${CR}s wall             peak RSS ${CRS} KB"
echo "ratios: finishing pass CPU vs perf report: $(ratio "$FC" "$PC")x (perf/cprof $(ratio "$PC" "$FC")x);" \
	"vs perf report with lines: perf/cprof $(ratio "$SC" "$FC")x CPU, $(ratio "$SR" "$FW")x wall;" \
	"memory perf(lines)/cprof record $(ratio "$SRS" "$RR")x; report time perf/cprof $(ratio "$PR" "$CR")x"
