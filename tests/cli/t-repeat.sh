#!/bin/bash
# t-repeat.sh - record --repeat cuts an attached process's profile into one
# complete data file per interval, ends when the process exits, and each
# file reports the process's work.
. "$(dirname "$0")/test-lib.sh"
"$WORKLOADS/threads" 40 >/dev/null &
pid=$!
sleep 0.2
"$CPROF" record -q -F 999 -g -p "$pid" --duration 0.5 --repeat -o svc.data 2>rec.err
rc=$?
wait "$pid"
check "record --repeat exits 0 when the process ends (rc=$rc: $(tail -1 rec.err))" test $rc -eq 0
files=(svc.data.*)
echo "files: ${files[*]}"
check "several intervals were written (${#files[@]})" test "${#files[@]}" -ge 2
# Complete: the reader takes the whole file. The last interval can hold no
# sample (the process ended as it began), and report exits 1 on a recording
# with no samples (cprof(1), EMPTY INPUT), so the header is what is read.
bad=
for f in "${files[@]}"; do
	"$CPROF" report -i "$f" --header-only >/dev/null 2>"$f.err" || bad="$bad $f: $(cat "$f.err")"
	"$CPROF" report -i "$f" --format csv >"$f.csv" 2>/dev/null
done
check "every interval file is a complete recording${bad:+ (not:$bad)}" test -z "$bad"
check "an interval file shows the workers' work" grep -q ',spin,\|,heavy_work,\|,light_work,' "${files[0]}.csv"
check "no temporary file is left" sh -c "! ls | grep -q tmp"
"$CPROF" record --repeat --duration 1 -- true 2>err.txt
check "--repeat without -p is a usage error" test $? -eq 2
"$CPROF" record --repeat -p "$$" 2>err.txt
check "--repeat without --duration is a usage error" test $? -eq 2
finish
