#!/bin/bash
# t-bad-input.sh - every kind of bad data file gives one line naming the file
# and the problem, a non-zero exit, and never a crash.
. "$(dirname "$0")/test-lib.sh"

"$CPROF" record -q -o good.data -- "$WORKLOADS/hot" 1 >/dev/null

expect_error() { # NAME FILE PATTERN [REPORT OPTIONS...]
	"$CPROF" report -i "$2" "${@:4}" > out.txt 2> err.txt; rc=$?
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

# Nothing that is not a profile reads as an empty one.
for n in 1 3 7; do
	head -c $n good.data > prefix$n.data
	expect_error "first $n bytes of a data file" prefix$n.data "truncated cprof data file"
done
# 64 bytes once drawn from /dev/urandom (no NUL, so they are read as text).
printf '\x6e\xf2\x57\xbd\x6c\x17\x99\xa0\x35\x7a\x98\xcf\xbe\xf7\x66\x1c\xcc\xbb\x6b\x39\x86\xfc\x79\x31\xe8\xe8' > random64.data
printf '\xcb\x30\x7c\x5b\x14\x7e\xeb\x78\x64\xda\x7a\xe1\x5d\x6f\xf6\xc7\xb8\x7f\x25\xd5\x01\xfd\x53\xc2\x79\x56' >> random64.data
printf '\x0f\xd9\x07\xb9\x4b\x3c\x17\x43\x6e\x2b\xe4\x13' >> random64.data
expect_error "64 random bytes" random64.data "not a cprof data file, perf.data or folded stacks"
expect_error "a line of text" text.data "not a cprof data file, perf.data or folded stacks (line 1:"
printf '\n\n\n' > newlines.data
expect_error "only newlines" newlines.data "not a cprof data file, perf.data or folded stacks (only empty lines)"
printf ';; 5\n' > noframes.data
expect_error "';; 5': no frames" noframes.data "line 1: no frame names"
printf 'a;b 0\n' > zero.data
expect_error "every count 0" zero.data "no samples (every count is 0)"
expect_error "a filter that leaves nothing" good.data "no thread matches --comm" --comm no-such-thread

# The same convention in every view: flamegraph exits 1, diff 2 (1 is its gate).
printf 'main;work 100\n' > good.txt
: > empty.txt
for f in empty.txt zero.data text.data prefix3.data; do
	"$CPROF" flamegraph -i $f > fg.svg 2> err.txt; rc=$?
	check "flamegraph on $f: exit 1, one line" test "$rc" -eq 1 -a "$(wc -l < err.txt)" -eq 1
	"$CPROF" diff --fail-on-regression 1 good.txt $f > /dev/null 2> err.txt; rc=$?
	check "diff gate with $f as AFTER: exit 2 ($(cat err.txt))" test "$rc" -eq 2 -a "$(wc -l < err.txt)" -eq 1
	"$CPROF" diff $f good.txt > /dev/null 2> err.txt; rc=$?
	check "diff with $f as BEFORE: exit 2" test "$rc" -eq 2
done
for fmt in folded json csv; do
	"$CPROF" export -f $fmt -i zero.data -o zero.$fmt 2> err.txt; rc=$?
	check "export -f $fmt of an empty profile: exit 1, one line, no file" \
		test "$rc" -eq 1 -a "$(wc -l < err.txt)" -eq 1 -a ! -e zero.$fmt
done
"$CPROF" flamegraph --diff zero.data good.txt > fg.svg 2> err.txt; rc=$?
check "flamegraph --diff from an empty BEFORE: exit 1" test "$rc" -eq 1

# Counts are decimal integers; a total past 2^64-1 is an error, not a wrap.
printf 'a;b 010\nc;d 0x10\ne;f 1e20\ng;h 2.5\n' > counts.txt
"$CPROF" report -i counts.txt --format folded > out.txt 2> err.txt
check "010 is ten, 2.5 rounds to 3" test "$(sort out.txt | tr '\n' ' ')" = "a;b 10 g;h 3 "
check "0x10 and 1e20 are malformed lines" test "$(grep -c 'line [23]: count is not a decimal number' err.txt)" -eq 2
printf 'a;b 18446744073709551615\nc;d 2\n' > overflow.txt
expect_error "counts adding up past 2^64-1" overflow.txt "line 2: the counts add up to more than 18446744073709551615"
printf 'a;b 5\rc;d 3\r' > cr.txt
"$CPROF" report -i cr.txt --format folded > out.txt 2> err.txt
check "CR-only line endings: two stacks" test "$(sort out.txt | tr '\n' ' ')" = "a;b 5 c;d 3 "

# The reader checks meaning, not only structure (mkdata: tests/cli/mkdata.c).
"$MKDATA" periods periods.data
expect_error "sample periods adding up past 2^64-1" periods.data "the periods of event 'cpu-clock' add up to more than"
"$MKDATA" gpu-forever gpu.data
expect_error "a GPU copy ending at 2^64-1" gpu.data "GPU activity 1 lasts .* ns, longer than the recording"
"$MKDATA" leak leak.data
expect_error "16 EiB leaked in 0 blocks" leak.data "memory site 0 has more bytes live than a process can hold"

# Decompression is bounded by the file's size: a 35 KiB file that inflates
# to 1 GiB is refused before anything is allocated...
maxrss_kb() { python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open("err.txt", "w"))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"; }
"$MKDATA" inflate inflate.data $((1 << 30))
expect_error "1 GiB from $(($(stat -c %s inflate.data) / 1024)) KiB" inflate.data \
	"claim 1024.0 MiB decompressed, more than 64 times the file's .* allow it with CPROF_MAX_INFLATE="
rss=$(maxrss_kb "$CPROF" report -i inflate.data)
check "... using $rss KiB of memory, not a GiB" test "$rss" -lt 200000
# ... unless CPROF_MAX_INFLATE allows it (here 64 MiB, at 2000 times the size).
"$MKDATA" inflate inflate64.data $((64 << 20))
CPROF_MAX_INFLATE=1 "$CPROF" report -i inflate64.data > /dev/null 2> err.txt; rc=$?
check "CPROF_MAX_INFLATE=1: 64 MiB still allowed (the floor)" test "$rc" -eq 0
"$MKDATA" inflate inflate65.data $((65 << 20))
expect_error "65 MiB from a small file" inflate65.data "more than 64 times"
CPROF_MAX_INFLATE=20000 "$CPROF" report -i inflate65.data > out.txt 2> err.txt; rc=$?
check "CPROF_MAX_INFLATE=20000 reads it" test "$rc" -eq 0 -a ! -s err.txt
CPROF_MAX_INFLATE=lots "$CPROF" report -i good.data > /dev/null 2> err.txt; rc=$?
check "a bad CPROF_MAX_INFLATE is an error" sh -c "test $rc -eq 1 && grep -q \"CPROF_MAX_INFLATE='lots'\" err.txt"
# A frame that claims 8 GiB, and one that claims more than any memory: an
# error line, never an abort (SIGABRT was 'out of memory' in xmalloc).
"$MKDATA" claim claim8g.data $((8 << 30))
expect_error "8 GiB claimed by a 3 KiB file" claim8g.data "claim 8192.0 MiB decompressed"
CPROF_MAX_INFLATE=4000000 "$CPROF" report -i claim8g.data > /dev/null 2> err.txt; rc=$?
check "... allowed: an error, not a crash ($(cat err.txt))" test "$rc" -eq 1 -a "$(wc -l < err.txt)" -eq 1
"$MKDATA" claim claim1p.data $((1 << 50))
ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1" CPROF_MAX_INFLATE=400000000000000 \
	"$CPROF" report -i claim1p.data > /dev/null 2> err.txt; rc=$?
check "a PiB: 'needs ... MiB to decompress', exit 1 ($(cat err.txt))" \
	sh -c "test $rc -eq 1 && grep -q \"section 'strings' needs 1073741824 MiB to decompress\" err.txt"

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

# The data sources' views (report/flamegraph --NAME) are checked by the
# commands from their rows: each refusal is one line and exit 2, before the
# input is read (no such input here).
view_usage() { # EXPECTED-FIRST-LINE CPROF-ARGS...
	local want=$1
	shift
	"$CPROF" "$@" -i no-such.data 2>err.txt >/dev/null; rc=$?
	check "'$*' exits 2 ($(head -n 1 err.txt))" test "$rc" -eq 2
	check "'$*' says: $want" grep -qxF "cprof ${1}: $want" err.txt
}
view_usage "--weight goes with --mem" report --weight count
view_usage "--plot goes with --mem" report --plot x.svg
view_usage "--mem and --gpu are separate reports; pick one" report --mem --gpu
view_usage "--mem and --gpu draw different graphs; pick one" flamegraph --gpu --mem
view_usage "--gpu has no folded format" report --gpu --format folded
view_usage "unknown weight 'kilos'; expected bytes or count" report --mem --weight kilos
view_usage "unknown weight 'kilos'; expected bytes or count" flamegraph --mem --weight kilos
view_usage "--gpu cannot be combined with --diff, --flamechart, --per-thread or --reverse" flamegraph --gpu --reverse
view_usage "--mem cannot be combined with --diff, --flamechart or --per-thread" flamegraph --mem --per-thread
view_usage "--lines and --sort line go with the CPU profile, not --mem" report --mem --lines
finish
