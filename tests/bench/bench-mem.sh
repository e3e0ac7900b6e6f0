#!/bin/bash
# bench-mem.sh - slowdown of a malloc-heavy workload (memwork churn: THREADS
# threads doing ITERS small malloc/free each) under `cprof record --mem`,
# heaptrack, valgrind memcheck and perf uprobes on malloc/free, side by side
# in one run; medians of 3, ratios against the bare run. Output sizes too.
# Not part of the test suite: `meson test --benchmark` or run it directly.
set -u
CPROF=${CPROF:-build/src/cprof}
WORKLOADS=${WORKLOADS:-build/tests/workloads}
THREADS=${THREADS:-2}
ITERS=${ITERS:-2000000}
W=$WORKLOADS/memwork
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; perf probe -q -d "probe_libc:*" >/dev/null 2>&1' EXIT
export DEBUGINFOD_URLS=

median_s() { # cmd... -> median wall seconds of 3 runs
	local i t0 t1 times=()
	for i in 1 2 3; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		times+=("$((t1 - t0))")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | awk '{ printf "%.3f", $1 / 1e9 }'
}
row() { # label seconds
	awk -v l="$1" -v s="$2" -v b="$bare" 'BEGIN { printf "%-34s %8.3f s  %6.1fx\n", l, s, s / b }'
}

echo "== memwork churn $THREADS threads x $ITERS malloc/free ($(nproc) CPUs)"
bare=$(median_s "$W" churn "$THREADS" "$ITERS")
row "bare" "$bare"
row "cprof record --mem" "$(median_s "$CPROF" record -q --mem -o "$tmp/c.data" -- "$W" churn "$THREADS" "$ITERS")"
if command -v heaptrack >/dev/null; then
	row "heaptrack" "$(median_s heaptrack -o "$tmp/ht" "$W" churn "$THREADS" "$ITERS")"
else
	echo "heaptrack: not installed"
fi
if command -v perf >/dev/null && perf probe -q -x "$(ldd "$W" | awk '/libc.so/ { print $3 }')" malloc >/dev/null 2>&1 &&
	perf probe -q -x "$(ldd "$W" | awk '/libc.so/ { print $3 }')" free >/dev/null 2>&1; then
	row "perf record uprobes malloc+free -g" \
		"$(median_s perf record -q -g -e probe_libc:malloc -e probe_libc:free -o "$tmp/p.data" -- "$W" churn "$THREADS" "$ITERS")"
else
	echo "perf uprobes: not available here"
fi
if command -v valgrind >/dev/null; then
	# memcheck is slow: a tenth of the work, scaled back up.
	small=$((ITERS / 10))
	vb=$(median_s "$W" churn "$THREADS" "$small")
	vg=$(median_s valgrind --leak-check=full "$W" churn "$THREADS" "$small")
	awk -v v="$vg" -v b="$vb" 'BEGIN { printf "%-34s %8s    %6.1fx  (on a tenth of the work)\n", "valgrind memcheck", "", v / b }'
fi
echo "== output size"
ls -l "$tmp"/c.data "$tmp"/ht* 2>/dev/null | awk '{ printf "%-34s %10d bytes\n", $9, $5 }' | sed "s|$tmp/||"
