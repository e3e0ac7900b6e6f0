#!/bin/bash
# t-bad-input.sh - every kind of bad data file gives one line naming the file
# and the problem, a non-zero exit, and never a crash.
. "$(dirname "$0")/test-lib.sh"

"$CPROF" record -q -o good.data -- "$WORKLOADS/hot" 1 >/dev/null

expect_error() { # NAME FILE PATTERN
	"$CPROF" report -i "$2" > out.txt 2> err.txt; rc=$?
	if [ "$rc" -ne 1 ]; then fail "$1: exit $rc, expected 1"; return; fi
	if [ "$(wc -l < err.txt)" -ne 1 ]; then fail "$1: expected one line, got: $(cat err.txt)"; return; fi
	if ! grep -q "$2" err.txt || ! grep -qi "$3" err.txt; then fail "$1: message '$(cat err.txt)'"; return; fi
	ok "$1: $(cat err.txt)"
}

expect_error "missing file" missing.data "no such file"
: > empty.data
expect_error "empty file" empty.data "empty"
head -c 1000 good.data > trunc.data
expect_error "truncated file" trunc.data "truncated"
size=$(stat -c %s good.data)
for off in 20 100 $((size / 2)) $((size - 30)); do
	cp good.data flip.data
	printf '\xff' | dd of=flip.data bs=1 seek=$off conv=notrunc status=none
	if cmp -s good.data flip.data; then printf '\x00' | dd of=flip.data bs=1 seek=$off conv=notrunc status=none; fi
	expect_error "bit flip at $off" flip.data "corrupt\|checksum\|version\|truncated\|bounds"
done
printf 'PERFILE2' > perf.data; head -c 200 /dev/urandom >> perf.data
expect_error "perf.data file" perf.data "perf.data"
head -c 4096 /dev/urandom > random.data
expect_error "random bytes" random.data "not a cprof data file\|neither"
echo "not a profile" > text.data
"$CPROF" report -i text.data > /dev/null 2> err.txt; rc=$?
check "text without counts is rejected or warned" sh -c "grep -q 'line 1' err.txt"
mkdir dir.data
expect_error "a directory" dir.data "directory"

# Output to a closed pipe ends quietly.
"$CPROF" report -i good.data --format folded 2> pipe.err | head -c 10 > /dev/null
check "closed pipe: no error" test ! -s pipe.err

# Colour only when asked for or on a terminal, and never with NO_COLOR.
has_escape() { grep -q "$(printf '\033')" "$1"; }
"$CPROF" report -i good.data > plain.txt
"$CPROF" report -i good.data --color always > forced.txt
check "no colour into a pipe" sh -c "! grep -q \"\$(printf '\\033')\" plain.txt"
check "--color always colours" has_escape forced.txt
if command -v script >/dev/null; then
	env -u NO_COLOR TERM=xterm script -qc "'$CPROF' report -i good.data" /dev/null > tty.txt
	NO_COLOR=1 script -qc "'$CPROF' report -i good.data" /dev/null > notty.txt
	check "colour on a terminal" has_escape tty.txt
	check "NO_COLOR turns it off on a terminal" sh -c "! grep -q \"\$(printf '\\033')\" notty.txt"
fi

# Usage errors exit 2.
"$CPROF" report --format xml -i good.data 2>/dev/null; rc=$?
check "bad --format exits 2" test "$rc" -eq 2
"$CPROF" record -F 0 -- true 2>/dev/null; rc=$?
check "bad -F exits 2" test "$rc" -eq 2
"$CPROF" nosuchcmd 2>/dev/null; rc=$?
check "unknown command exits 2" test "$rc" -eq 2
finish
