#!/bin/bash
# t-diff.sh - `cprof diff` from the command line: exit codes of the CI gate,
# error messages, and the JSON and CSV outputs.
. "${SRCDIR:?set SRCDIR to the source tree}/tests/cli/test-lib.sh"
tmp=$TMP

# Same distribution, three times the samples.
printf 'main;parse 3000\nmain;compute 5000\nmain;io 2000\n' >"$tmp/a.folded"
printf 'main;parse 9000\nmain;compute 15000\nmain;io 6000\n' >"$tmp/same.folded"
# compute doubles its share: 50% -> ~67% (delta ~ +16.7 points).
printf 'main;parse 3000\nmain;compute 10000\nmain;io 2000\nmain;fresh 10\n' >"$tmp/slow.folded"

"$CPROF" diff "$tmp/a.folded" "$tmp/same.folded" --fail-on-regression 5 >"$tmp/out" 2>"$tmp/err"
rc=$?; check "same distribution: exit $rc, expected 0" test $rc -eq 0

"$CPROF" diff "$tmp/a.folded" "$tmp/slow.folded" --fail-on-regression 5 >"$tmp/out" 2>"$tmp/err"
rc=$?; check "2x regression: exit $rc, expected 1" test $rc -eq 1
grep -q compute "$tmp/out" || fail "regression output does not name compute"

# Without a gate, a regression is not an error.
"$CPROF" diff "$tmp/a.folded" "$tmp/slow.folded" >/dev/null 2>&1
rc=$?; check "no gate: exit $rc, expected 0" test $rc -eq 0

# stdin for one side.
"$CPROF" diff - "$tmp/slow.folded" --fail-on-regression 5 <"$tmp/a.folded" >/dev/null 2>&1
rc=$?; check "stdin before: exit $rc, expected 1" test $rc -eq 1

"$CPROF" diff "$tmp/a.folded" "$tmp/missing.folded" >"$tmp/out" 2>"$tmp/err"
rc=$?; check "missing file: exit $rc, expected 2" test $rc -eq 2
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "missing file: error is not one line: $(cat "$tmp/err")"
grep -q "missing.folded" "$tmp/err" || fail "missing file: error does not name the file"

"$CPROF" diff --no-such-option "$tmp/a.folded" "$tmp/slow.folded" >/dev/null 2>"$tmp/err"
rc=$?; check "bad option: exit $rc, expected 2" test $rc -eq 2
"$CPROF" diff "$tmp/a.folded" --sort sideways "$tmp/slow.folded" >/dev/null 2>&1
rc=$?; check "bad sort key: exit $rc, expected 2" test $rc -eq 2
"$CPROF" diff "$tmp/a.folded" >/dev/null 2>&1
rc=$?; check "one input: exit $rc, expected 2" test $rc -eq 2

"$CPROF" diff --help | grep -q fail-on-regression || fail "--help does not describe --fail-on-regression"

# JSON parses and carries the numbers.
"$CPROF" diff -f json "$tmp/a.folded" "$tmp/slow.folded" >"$tmp/out.json" || fail "json: exit $?"
python3 -m json.tool "$tmp/out.json" >/dev/null || fail "json does not parse"
python3 - "$tmp/out.json" <<'PY' || fail "json values"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "cprof-diff/1", d["schema"]
assert d["before"]["samples"] == 10000 and d["after"]["samples"] == 15010
assert d["event"] == "samples" and d["metric"] == "self" and d["alpha"] == 0.01
f = {r["name"]: r for r in d["functions"]}
c = f["compute"]
assert c["samples_before"] == 5000 and c["samples_after"] == 10000
assert abs(c["share_before"] - 0.5) < 1e-9
assert abs(c["delta_pp"] - 100 * (10000 / 15010 - 0.5)) < 1e-6
assert c["significant"] is True and c["p_adjusted"] < 0.01
assert d["functions"][0]["name"] == "compute"  # sorted by delta
assert f["fresh"]["status"] == "new" and f["fresh"]["relative"] is None
assert d["tested"] == len(d["functions"])
PY

# --threshold hides small changes.
"$CPROF" diff -f json --threshold 5 "$tmp/a.folded" "$tmp/slow.folded" >"$tmp/thr.json"
python3 - "$tmp/thr.json" <<'PY' || fail "threshold"
import json, sys
d = json.load(open(sys.argv[1]))
names = [r["name"] for r in d["functions"]]
assert "compute" in names and "fresh" not in names, names
assert all(abs(r["delta_pp"]) >= 5 for r in d["functions"])
PY

# CSV has a header and one row per function with self samples (main has none).
"$CPROF" diff -f csv "$tmp/a.folded" "$tmp/slow.folded" >"$tmp/out.csv" || fail "csv: exit $?"
head -1 "$tmp/out.csv" | grep -q '^function,binary,status,samples_before,samples_after' || fail "csv header"
[ "$(wc -l <"$tmp/out.csv")" -eq 5 ] || fail "csv rows: $(wc -l <"$tmp/out.csv")"

# Real recordings of the hot workload (work 1:2:3 over hot_a, hot_b, hot_c):
# about 1200 samples each. Shares follow the work done, not wall time, so a
# busy machine changes the counts but not the verdicts. The leaves share an
# inlined spin(), so the functions are compared by total samples.
if [ -n "${WORKLOADS:-}" ] && [ -x "$WORKLOADS/hot" ]; then
	rec() { "$CPROF" record -q -g -o "$1" -- "$WORKLOADS/hot" 12 ${2:-} >/dev/null 2>"$tmp/rec.err" ||
		fail "record $1: $(cat "$tmp/rec.err")"; }
	rec "$tmp/r1.data"; rec "$tmp/r2.data"; rec "$tmp/slow.data" slow-b
	# Same program twice: no change larger than 3 points is significant, and
	# the gate passes.
	"$CPROF" diff -f json --metric total "$tmp/r1.data" "$tmp/r2.data" >"$tmp/same.json" --fail-on-regression 5
	rc=$?; [ $rc -eq 0 ] || fail "two runs of the same program: gate exit $rc, expected 0"
	python3 - "$tmp/same.json" <<'PY' || fail "same program: a significant change was reported"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["before"]["samples"] > 500 and d["after"]["samples"] > 500, (d["before"], d["after"])
big = [(r["name"], r["delta_pp"]) for r in d["functions"] if r["significant"] and abs(r["delta_pp"]) > 3]
assert not big, big
PY
	# hot_b does twice the work: 2/6 -> 4/8 of the samples, +16.7 points. It
	# must be the top regression, significant, and fail a 5-point gate.
	"$CPROF" diff -f json --metric total "$tmp/r1.data" "$tmp/slow.data" >"$tmp/slow.json" --fail-on-regression 5
	rc=$?; [ $rc -eq 1 ] || fail "hot_b twice the work: gate exit $rc, expected 1"
	python3 - "$tmp/slow.json" <<'PY' || fail "hot_b regression not reported as expected"
import json, sys
d = json.load(open(sys.argv[1]))
top = d["functions"][0]
assert top["name"] == "hot_b", top
assert top["significant"] is True, top
assert 10 < top["delta_pp"] < 23, top
PY
	# Different events cannot be compared.
	"$CPROF" record -q -g -e task-clock -o "$tmp/task.data" -- "$WORKLOADS/hot" 2 >/dev/null 2>&1 ||
		fail "record -e task-clock"
	"$CPROF" diff "$tmp/r1.data" "$tmp/task.data" >/dev/null 2>"$tmp/err"
	rc=$?; check "different events: exit $rc, expected 2" test $rc -eq 2
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q event "$tmp/err" ||
		fail "different events: error is not one line naming the event: $(cat "$tmp/err")"
	# A file that is not a profile at all.
	head -c 100 /dev/urandom >"$tmp/junk.data"
	"$CPROF" diff "$tmp/r1.data" "$tmp/junk.data" >/dev/null 2>"$tmp/err"
	rc=$?; check "junk input: exit $rc, expected 2" test $rc -eq 2
	grep -q junk.data "$tmp/err" || fail "junk input: error does not name the file"
fi

finish
