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

finish() {
	echo "$checks checks passed, $failures failed"
	[ "$failures" -eq 0 ]
	exit $?
}
