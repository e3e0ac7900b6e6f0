#!/bin/bash
# t-output.sh - where output goes. Devices, FIFOs and stdout are written in
# place and never replaced (record -o - sends the workload's stdout to
# stderr); symbolic links are followed (the link stays);
# a directory is refused; a path that cannot be written fails before the
# workload starts; a killed command leaves no temporary file; cprof.data is
# replaced without a moment in which it is missing; data files are 0600.
# Devices are private (mknod in the test directory, or a private /dev in a
# mount namespace), so the machine's /dev/null is never at risk.
. "$(dirname "$0")/test-lib.sh"
umask 022
HOT=$WORKLOADS/hot

"$CPROF" record -q -o base.data -- "$HOT" 1 >/dev/null
check "a recording to draw from" test -s base.data
no_tmp() { ! ls -a | grep -q '\.tmp\.'; }
one_line() { [ "$(wc -l < "$1")" -eq 1 ]; }
is_null() { [ -c "$1" ] && [ "$(stat -c %t,%T "$1")" = 1,3 ]; }

# -- Character devices: written in place, never renamed or replaced.
if mknod null c 1 3 2>/dev/null && echo probe > null 2>/dev/null; then
	"$CPROF" record -q -o null -- true
	check "record -o CHARDEV: exit 0" [ $? -eq 0 ]
	check "record -o CHARDEV: still the device, nothing kept as .old" eval 'is_null null && [ ! -e null.old ]'
	"$CPROF" flamegraph -i base.data -o null; rc=$?
	check "flamegraph -o CHARDEV: exit 0, still the device" eval '[ $rc -eq 0 ] && is_null null'
	"$CPROF" report -i base.data --timeline null; rc=$?
	check "report --timeline CHARDEV: exit 0, still the device" eval '[ $rc -eq 0 ] && is_null null'
	"$CPROF" record -q --mem -o mem.data -- "$WORKLOADS/memwork" leak >/dev/null
	"$CPROF" report --mem -i mem.data --plot null >/dev/null; rc=$?
	check "report --mem --plot CHARDEV: exit 0, still the device" eval '[ $rc -eq 0 ] && is_null null'
	check "no temporary files left" no_tmp
else
	echo "skipped: device checks (mknod not permitted here)"
fi

# -- The same with the real names, in a private /dev (root, mount namespace).
# The && chain runs nothing unless the private /dev is in place.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	unshare -m bash -c 'mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 &&
		ln -s /proc/self/fd/1 /dev/stdout && [ ! -e /dev/sda ] || exit 99
		"$0" record -q -o /dev/null -- true; echo $? > ns-record.rc
		"$0" flamegraph -i base.data -o /dev/null; echo $? > ns-fg.rc
		"$0" flamegraph -i base.data -o /dev/stdout | wc -c > ns-stdout.bytes
		stat -c %t,%T /dev/null > ns-null.stat
		readlink /dev/stdout > ns-stdout.link
		ls /dev > ns-dev.ls' "$CPROF"
	if [ $? -eq 0 ]; then
		check "private /dev: record and flamegraph -o /dev/null exit 0" \
			[ "$(cat ns-record.rc ns-fg.rc)" = "$(printf '0\n0')" ]
		check "private /dev: /dev/null is still the device, no /dev/null.old" \
			eval '[ "$(cat ns-null.stat)" = 1,3 ] && ! grep -q null.old ns-dev.ls'
		check "private /dev: flamegraph -o /dev/stdout | wc -c is the SVG ($(cat ns-stdout.bytes) bytes)" \
			[ "$(cat ns-stdout.bytes)" -gt 1000 ]
		check "private /dev: /dev/stdout is still a link to /proc/self/fd/1" \
			[ "$(cat ns-stdout.link)" = /proc/self/fd/1 ]
	else
		echo "skipped: private /dev (no mount namespace)"
	fi
else
	echo "skipped: private /dev (needs root and unshare)"
fi

# -- Standard output by another name: what /dev/stdout is, privately.
ln -s /proc/self/fd/1 stdout-link
n=$("$CPROF" flamegraph -i base.data -o stdout-link | wc -c)
check "flamegraph -o LINK-TO-STDOUT | wc -c: the SVG ($n bytes)" [ "$n" -gt 1000 ]
check "... and the link is still a link to /proc/self/fd/1" \
	eval '[ -L stdout-link ] && [ "$(readlink stdout-link)" = /proc/self/fd/1 ]'
echo first > appended.txt
"$CPROF" flamegraph -i base.data -o stdout-link >> appended.txt
check "flamegraph -o LINK-TO-STDOUT >> FILE appends, as the shell asked" \
	eval '[ "$(head -n 1 appended.txt)" = first ] && tail -n 1 appended.txt | grep -q "</svg>"'
"$CPROF" flamegraph -i base.data -o - > dash.svg
check "flamegraph -o - writes stdout" grep -q '</svg>' dash.svg

# -- record to standard output (perf record -o -): the recording alone goes
# there, the workload's own output goes to stderr, as in perf's pipe mode.
"$CPROF" record -o - -- sh -c "echo workload-output; exec '$HOT' 1" 2>dash.err | "$CPROF" report -i - --format csv > dash.csv
rcs="${PIPESTATUS[*]}"
check "record -o - | report -i -: both exit 0 ($rcs)" [ "$rcs" = "0 0" ]
check "record -o - | report -i -: the report has the workload's function" grep -q hot_c dash.csv
check "record -o -: the workload's stdout went to stderr" grep -qx workload-output dash.err
check "record -o -: the summary says where it wrote" grep -q "wrote standard output" dash.err
"$CPROF" record -q -o stdout-link -- sh -c "echo workload-output; exec '$HOT' 1" 2>/dev/null | cat > via-link.data
check "record -o LINK-TO-STDOUT | cat > FILE: a recording with the workload's samples" \
	sh -c "'$CPROF' report -i via-link.data --format csv | grep -q hot_c"
check "... and the link is still a link" eval '[ -L stdout-link ] && [ "$(readlink stdout-link)" = /proc/self/fd/1 ]'
# Without -i, report, export and annotate read the pipe, as perf report
# does: here a cprof.data of another program is beside them, and is what
# they read when nothing is piped in.
mkdir pipe-in && cd pipe-in || exit 1
"$CPROF" record -q -o cprof.data -- "$WORKLOADS/threads" 2 >/dev/null
"$CPROF" record -q -o - -- "$HOT" 1 2>/dev/null | "$CPROF" report --format csv > piped.csv
check "record -o - | report (no -i): the piped recording, not ./cprof.data" \
	eval 'grep -q hot_c piped.csv && ! grep -q workloads/threads piped.csv'
"$CPROF" record -q -o - -- "$HOT" 1 2>/dev/null | "$CPROF" export -f folded > piped.folded
check "record -o - | export (no -i): the piped recording" grep -q hot_c piped.folded
"$CPROF" record -q -o - -- "$HOT" 1 2>/dev/null | "$CPROF" annotate --list-symbols > piped.syms
check "record -o - | annotate (no -i): the piped recording" grep -q hot_c piped.syms
"$CPROF" report --format csv < /dev/null > null.csv
check "report < /dev/null: ./cprof.data" eval 'grep -q workloads/threads null.csv && ! grep -q hot_c null.csv'
: | "$CPROF" report --format csv > empty.csv
check "report from a pipe that closes empty: ./cprof.data" grep -q workloads/threads empty.csv
cd .. || exit 1
rm -f marker
"$CPROF" record -q -o - -- touch "$TMP/marker" > merged.out 2>&1
rc=$?
check "record -o - 2>&1: refused (exit $rc, one line naming 2>&1), workload not run" \
	eval '[ $rc -eq 1 ] && one_line merged.out && grep -q "2>&1" merged.out && [ ! -e marker ]'
"$CPROF" record -q -o /dev/stderr -- touch "$TMP/marker" 2>err.txt | cat > /dev/null
rc=${PIPESTATUS[0]}
check "record -o STDERR: refused (exit $rc, one line), workload not run" \
	eval '[ $rc -eq 1 ] && one_line err.txt && [ ! -e marker ]'
"$CPROF" record -q -o - -p 1 --duration 1 --repeat > /dev/null 2> err.txt
rc=$?
check "record -o - --repeat: refused, a usage error (exit $rc; one file per interval)" \
	eval '[ $rc -eq 2 ] && grep -q "repeat" err.txt'
# On a terminal: refused, nothing run (a pseudo-terminal from python).
if command -v python3 >/dev/null; then
	python3 - "$CPROF" "$TMP/marker" > tty.out <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], ["cprof", "record", "-q", "-o", "-", "--", "touch", sys.argv[2]])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write("rc=%d %s" % (os.waitstatus_to_exitcode(st), out.decode(errors="replace")))
PY
	check "record -o - on a terminal: refused, workload not run ($(head -c 80 tty.out))" \
		eval 'grep -q "^rc=1 .*terminal" tty.out && [ ! -e marker ]'
fi

# -- FIFOs: written in place for a reader.
# The readers open the FIFO under timeout: a FIFO renamed away has no writer.
mkfifo fifo
timeout 30 cat fifo > fifo.data &
reader=$!
"$CPROF" record -q -o fifo -- "$HOT" 1 >/dev/null
check "record -o FIFO: exit 0" [ $? -eq 0 ]
wait $reader
check "record -o FIFO: the reader got the recording" \
	sh -c "'$CPROF' report -i fifo.data --format csv | grep -q hot_c"
check "record -o FIFO: still a FIFO, nothing kept as .old" eval '[ -p fifo ] && [ ! -e fifo.old ]'
timeout 30 cat fifo > fifo.svg &
reader=$!
"$CPROF" flamegraph -i base.data -o fifo
check "flamegraph -o FIFO: exit 0" [ $? -eq 0 ]
wait $reader
check "flamegraph -o FIFO: the reader got the SVG, FIFO stays" eval 'grep -q "</svg>" fifo.svg && [ -p fifo ]'

# -- Symbolic links: followed; the target is replaced, the link stays.
mkdir sub
echo old > sub/target.svg
ln -s sub/target.svg link.svg
"$CPROF" flamegraph -i base.data -o link.svg
check "flamegraph -o LINK: the link stays a link" eval '[ -L link.svg ] && [ "$(readlink link.svg)" = sub/target.svg ]'
check "flamegraph -o LINK: the target holds the SVG" grep -q '</svg>' sub/target.svg
ln -s sub/new.data link.data
"$CPROF" record -q -o link.data -- true
check "record -o DANGLING-LINK: the link stays, its target is created" eval '[ -L link.data ] && [ -f sub/new.data ]'
"$CPROF" record -q -o link.data -- true
check "record -o LINK again: the old target is kept beside it as .old" \
	eval '[ -f sub/new.data.old ] && [ -L link.data ] && [ ! -e link.data.old ]'

# -- Paths that cannot be written fail before the workload runs.
early_fail() { # DESCRIPTION PATH PATTERN [cprof in another namespace: CMD...]
	local what=$1 path=$2 pat=$3; shift 3
	rm -f marker
	"${@:-$CPROF}" record -o "$path" -- touch "$TMP/marker" > out.txt 2> err.txt
	local rc=$?
	if [ -e marker ]; then fail "$what: the workload ran (exit $rc)"
	elif [ $rc -ne 1 ]; then fail "$what: exit $rc, expected 1"
	elif ! one_line err.txt; then fail "$what: expected one line, got: $(cat err.txt)"
	elif ! grep -qi "$pat" err.txt; then fail "$what: message: $(cat err.txt)"
	else ok "$what: $(cat err.txt)"
	fi
}
early_fail "missing directory" nodir/x.data "no such file"
mkdir ro
if [ "$(id -u)" = 0 ]; then
	# root writes through permissions: a read-only mount, privately.
	if unshare -m true 2>/dev/null; then
		cat > ro-record.sh <<-'EOF'
		mount -t tmpfs -o ro tmpfs ro || exit 99
		exec "$CPROF" "$@"
		EOF
		early_fail "read-only directory" ro/x.data "read-only" unshare -m bash ro-record.sh
	else
		echo "skipped: read-only directory (no mount namespace)"
	fi
else
	chmod 555 ro
	early_fail "read-only directory" ro/x.data "permission denied"
fi
mkdir outdir
echo keep > outdir/file
early_fail "record -o DIRECTORY" outdir "directory"
check "record -o DIRECTORY: the directory is untouched, no DIR.old" \
	eval '[ "$(cat outdir/file)" = keep ] && [ ! -e outdir.old ]'
"$CPROF" flamegraph -i base.data -o outdir 2> err.txt; rc=$?
check "flamegraph -o DIRECTORY: exit 1, one line" eval '[ $rc -eq 1 ] && one_line err.txt && grep -q directory err.txt'
cp base.data kept.data
mkdir kept.data.old
early_fail "record over a file whose .old is a directory" kept.data "directory"
check "... the file and the directory are untouched" eval 'cmp -s base.data kept.data && [ -d kept.data.old ]'
# flamegraph and report open their output before reading the input: with an
# input FIFO nobody writes, a bad output path must still fail at once.
mkfifo never.fifo
timeout 20 "$CPROF" flamegraph -i never.fifo -o nodir/x.svg 2> err.txt
rc=$?
check "flamegraph -o MISSING-DIR fails before reading its input (exit $rc, one line)" \
	eval '[ $rc -eq 1 ] && one_line err.txt && grep -q nodir/x.svg err.txt'
timeout 20 "$CPROF" report --mem -i never.fifo --plot outdir 2> err.txt
rc=$?
check "report --plot DIRECTORY fails before reading its input (exit $rc, one line)" \
	eval '[ $rc -eq 1 ] && one_line err.txt && grep -q directory err.txt'
timeout 20 "$CPROF" report -i never.fifo --timeline nodir/t.json 2> err.txt
rc=$?
check "report --timeline MISSING-DIR fails before reading its input (exit $rc, one line)" \
	eval '[ $rc -eq 1 ] && one_line err.txt && grep -q nodir/t.json err.txt'
check "no temporary files left" no_tmp

# -- Signals: the temporary file goes with the command.
# The output is opened before the input is read, so a flamegraph waiting on
# an input FIFO that nobody writes has its temporary file: kill it there.
mkfifo in.fifo
for sig in TERM INT HUP; do
	# Background jobs of a script ignore SIGINT unless told otherwise.
	env --default-signal=INT,TERM,HUP "$CPROF" flamegraph -i in.fifo -o sig.svg 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do ls sig.svg.tmp.* >/dev/null 2>&1 && break; sleep 0.05; done
	seen=no; ls sig.svg.tmp.* >/dev/null 2>&1 && seen=yes
	kill -$sig $pid
	wait $pid
	rc=$?
	check "SIG$sig: the temporary file existed while it ran ($seen), exit $rc is death by the signal" \
		eval '[ $seen = yes ] && [ $rc -gt 128 ]'
	check "SIG$sig: no temporary file left, no output" eval 'no_tmp && [ ! -e sig.svg ]'
done
# A big flame graph killed while it works: stopped as soon as its temporary
# file is seen, then killed. A run that ended before it could be stopped
# proves nothing and is tried again.
awk 'BEGIN { for (i = 0; i < 200000; i++) { s = "main"; for (d = 0; d < 12; d++) s = s ";f" (i * 7 + d * 13) % (50 + d * 997); print s, 1 + i % 5 } }' > big.folded
for attempt in 1 2 3; do
	rm -f big.svg
	env --default-signal=TERM "$CPROF" flamegraph -i big.folded -o big.svg &
	pid=$!
	for _ in $(seq 1000); do ls big.svg.tmp.* >/dev/null 2>&1 && break; sleep 0.01; done
	kill -STOP $pid 2>/dev/null
	seen=no; ls big.svg.tmp.* >/dev/null 2>&1 && seen=yes
	kill -TERM $pid 2>/dev/null; kill -CONT $pid 2>/dev/null
	wait $pid
	rc=$?
	[ $seen = yes ] && break
done
check "big flamegraph: stopped with its temporary file there ($seen, try $attempt), killed by SIGTERM (exit $rc)" \
	eval '[ $seen = yes ] && [ $rc -eq 143 ]'
check "big flamegraph: no temporary file left, no output" eval 'no_tmp && [ ! -e big.svg ]'
rm -f big.folded

# -- Replacing cprof.data: the old one gets a second name (.old) first, then
# the new one is renamed over it; never a moment without the file.
cp base.data rep.data
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace (the ASan build of the suite).
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -qq -o trace.txt -e trace=link,linkat,rename,renameat,renameat2,unlink,unlinkat,fsync \
		"$CPROF" record -q -o rep.data -- true
	rc=$?
	check "replace: record exit 0, the previous file kept as .old" \
		eval '[ $rc -eq 0 ] && cmp -s base.data rep.data.old'
	check "replace: rep.data is never renamed away" \
		eval '! grep -Eq "rename[a-z0-9]*\(.*\"rep\.data\", .*\"rep\.data\.old\"" trace.txt'
	l_link=$(grep -nE 'link(at)?\(.*"rep\.data", .*"rep\.data\.old"' trace.txt | cut -d: -f1 | head -n 1)
	l_ren=$(grep -nE 'rename[a-z0-9]*\(.*"rep\.data\.tmp\.[^"]*", .*"rep\.data"' trace.txt | cut -d: -f1 | head -n 1)
	check "replace: link(rep.data, rep.data.old) (line ${l_link:-none}) before rename(tmp, rep.data) (line ${l_ren:-none})" \
		eval '[ -n "$l_link" ] && [ -n "$l_ren" ] && [ "$l_link" -lt "$l_ren" ]'
	check "replace: the file is synced before the rename and the directory after" \
		eval 'head -n "$l_ren" trace.txt | grep -q "fsync(" && tail -n "+$l_ren" trace.txt | grep -q "fsync("'
else
	echo "skipped: syscall order of the replacement (no strace)"
fi
# A reader checking all along never finds the file missing.
( for _ in $(seq 20); do "$CPROF" record -q -o rep.data -- true || exit 1; done; touch writer.done ) &
writer=$!
missing=0
while [ ! -e writer.done ]; do
	[ -e rep.data ] || missing=$((missing + 1))
	kill -0 $writer 2>/dev/null || break
done
wait $writer
rc=$?
check "replace: 20 replacements, writer exit 0, reader never found rep.data missing ($missing)" \
	eval '[ $rc -eq 0 ] && [ $missing -eq 0 ]'

# -- Data files hold exact kernel addresses: private to their owner.
check "data file is created 0600 under umask 022" [ "$(stat -c %a base.data)" = 600 ]
check "a replaced data file is 0600 too" [ "$(stat -c %a rep.data)" = 600 ]
"$CPROF" flamegraph -i base.data -o mode.svg
check "other outputs keep 0666 less the umask (0644)" [ "$(stat -c %a mode.svg)" = 644 ]

finish
