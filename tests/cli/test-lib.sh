# test-lib.sh - shared helpers for cprof's shell tests. Source it first.
# Environment: CPROF (the binary), WORKLOADS (built workloads), SRCDIR.
set -u
: "${CPROF:?CPROF must point at the cprof binary}"
WORKLOADS=${WORKLOADS:-$(dirname "$CPROF")/../tests/workloads}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
export NO_COLOR=1 DEBUGINFOD_URLS=

failures=0
checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); echo "ok: $*"; }

check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# self% of FUNC in a report, from the CSV view (empty if absent).
self_share() { # FILE FUNC
	"$CPROF" report -i "$1" --format csv | awk -F, -v f="$2" 'NR > 1 && $7 == f { print $1; exit }'
}
total_share() {
	"$CPROF" report -i "$1" --format csv | awk -F, -v f="$2" 'NR > 1 && $7 == f { print $2; exit }'
}

# within VALUE EXPECTED TOLERANCE: |VALUE - EXPECTED| <= TOLERANCE
within() {
	awk -v v="${1:-nan}" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(v != "nan" && v != "" && d <= t) }'
}

skip() { echo "skipped: $*"; exit 77; }

# sample_twice COMPARE: run COMPARE (0: all agree, 1: some do not, 2: perf
# cannot record here, its error in perf.err; it leaves its rows in cmp.txt)
# and, on a disagreement, once more: the second run is the one checked.
# For the comparisons with perf report that two runs of the suite parted
# for a cause not found (t-rust, t-go); one of cprof's own making fails
# both. Returns COMPARE's last answer.
sample_twice() {
	"$1"
	local r=$?
	if [ "$r" -eq 1 ]; then
		echo "first run disagrees, sampled again:"
		sed 's/^/  /' cmp.txt
		"$1"
		r=$?
	fi
	[ "$r" -eq 2 ] && echo "perf cannot record here: comparison skipped ($(tail -1 perf.err 2>/dev/null))"
	return "$r"
}

finish() {
	echo "$checks checks passed, $failures failed"
	[ "$failures" -eq 0 ]
	exit $?
}
