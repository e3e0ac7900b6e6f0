#!/bin/bash
# t-readme.sh - every example in README.md runs, so the README cannot drift
# from the program again. Each ```sh block is taken apart into commands
# (a line, lines joined by '\', or a for loop to its 'done') and run in
# README order in one directory, where the README's programs are the
# bundled workloads:
#
#   ./myprog        the pool workload (threads worker-0..2; --input FILE)
#   ./app, ./app-old, ./app-new, ./cuda_app, ./server, ./bench   copies of
#                   the pool workload
#   ./naps          the naps workload (N sleeps of USEC)
#   mysvc           a copy of hot that keeps running in the background, one
#                   process after another (pidof finds it), under a name of
#                   this run's own; 3 s into the --repeat example it is
#                   stopped, which ends that example, and the next starts
#   make -j8        a Makefile that runs ./app
#   a Pyroscope server   a local HTTP server that takes the upload
#
# and a few values are made small or local: -p 1234 is mysvc's pid, 30 and
# 60 second durations are 1 s, 'sleep 10' is 'sleep 1', /var/tmp is this
# directory, parse_block (a function of the reader's program) is crunch,
# baseline.data and current.data are the two recordings just made.
#
# A command that needs a tool that is not installed (flamegraph.pl, jq,
# perf, go, ...) or hardware counters the machine lacks is skipped and
# named, as is switching the reader's git branch; a block the suite cannot
# run (it builds, fuzzes or installs cprof itself, or needs a GPU) is skipped with
# its reason. Everything else must exit 0. Baselines of cprof stat go to
# this directory (XDG_DATA_HOME).
. "$SRCDIR/tests/cli/test-lib.sh"

README=$SRCDIR/README.md

# Stand-ins for the README's programs.
# Another run of this suite on the machine must not find our service.
svc_name=mysvc$$
for p in myprog app app-old app-new cuda_app server bench; do
	cp "$WORKLOADS/pool" "$p"
done
cp "$WORKLOADS/naps" naps
cp "$WORKLOADS/hot" "$svc_name"
seq 1 100000 >big.txt
printf 'all:\n\t./app\n' >Makefile
mkdir bin
ln -s "$(realpath "$CPROF")" bin/cprof
export PATH="$PWD/bin:$PATH" XDG_DATA_HOME="$PWD/xdg"

# mysvc: when one process ends, the next starts.
(while [ ! -e "$TMP/stop" ]; do timeout 120 "./$svc_name" 1 forever >/dev/null; done) &
svc_loop=$!

# A local stand-in for the Pyroscope server: accepts the pprof upload.
port_file=$TMP/port
python3 - "$port_file" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.path.startswith("/ingest?") and b"\x1f\x8b" in body  # a gzipped pprof in the form
        self.send_response(200 if ok else 400)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
PY
server=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file" 2>/dev/null)
cleanup() {
	touch "$TMP/stop"
	kill "$server" 2>/dev/null
	# shellcheck disable=SC2046 # pids are words
	kill $(pidof "$svc_name") 2>/dev/null
	wait "$svc_loop" "$server" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# Recordings the flame graph example of the folded-stacks block diffs,
# before the diff block records them anew.
"$CPROF" record -q -g -o before.data -- ./app-old >/dev/null
"$CPROF" record -q -g -o after.data -- ./app-new >/dev/null

# Tools the examples use beside cprof.
have() {
	case $1 in
	perf) perf record -q -o "$TMP/perf-probe.data" -- true >/dev/null 2>&1 ;;
	go) command -v go >/dev/null && go tool pprof -h >/dev/null 2>&1 ;;
	annotate) ! "$CPROF" annotate --help | grep -q 'built without libcapstone' ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# Blocks the suite does not run, by their first line.
skip_reason() {
	case $1 in
	"scripts/try"*) echo "builds cprof and runs this suite" ;;
	"meson setup build"*) echo "builds and installs cprof (sudo)" ;;
	"CC=clang-14 meson setup build-fuzz"*) echo "builds cprof for fuzzing (scripts/test runs these targets)" ;;
	"git worktree add ../before"*) echo "builds the previous commit to compare against" ;;
	CARGO_PROFILE_RELEASE_DEBUG=*) echo "needs the reader's Cargo project (t-rust.sh records the bundled Rust workload)" ;;
	"cprof record --gpu"*)
		command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || echo "needs an NVIDIA GPU" ;;
	esac
}

# The README's placeholders made runnable here.
localize() {
	sed -e "s/mysvc/$svc_name/g" \
		-e 's/-p 1234/-p "$(pidof '"$svc_name"')"/g' \
		-e 's/--duration 30/--duration 1/g; s/--duration 60/--duration 1/g' \
		-e 's/sleep 10/sleep 1/g' \
		-e "s|/var/tmp/|$PWD/|g" \
		-e "s|http://pyroscope:4040|http://127.0.0.1:$port|g" \
		-e 's/parse_block/crunch/g' \
		-e 's/baseline\.data/before.data/g; s/current\.data/after.data/g'
}

# The commands a line runs (first words of its pipeline stages).
tools_of() {
	printf '%s\n' "$1" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
		sed -e "s/'[^']*'/Q/g" -e 's/"[^"]*"/Q/g' -e 's/#.*//' -e 's/\$((/ /g' -e 's/\$(/\n/g' -e 's/&&/\n/g; s/||/\n/g; s/[|;]/\n/g' |
		awk '{ sub(/^[ \t]*/, ""); while ($1 ~ /=/ && $1 !~ /^-/) { $1 = ""; sub(/^ /, "") }
		       if ($1 == "for" || $1 == "do" || $1 == "done" || $1 == "until" || $1 == "then") next
		       if ($1 != "") print $1 }' | sort -u
}

ran=0
skipped_cmds=0
run_command() { # BLOCK_LINE TEXT
	local at=$1 cmd=$2 t missing=
	for t in $(tools_of "$cmd"); do
		case $t in
		cprof) [ "$(printf '%s' "$cmd" | grep -c 'cprof annotate')" -gt 0 ] && ! have annotate && missing="$missing annotate" ;;
		./*) [ -x "$t" ] || missing="$missing $t" ;;
		*) have "$t" || missing="$missing $t" ;;
		esac
	done
	# Hardware counters: not on most virtual machines.
	if [[ $cmd =~ instructions|cycles|cpu/event ]] && [ ! -e /sys/bus/event_source/devices/cpu ] &&
		[ ! -e /sys/bus/event_source/devices/cpu_core ]; then
		missing="$missing a-hardware-PMU"
	fi
	[[ $cmd == "git checkout"* ]] && missing="$missing the-reader's-git-repository"
	# perf's files come from perf.
	if [[ $cmd == *perf.data* || $cmd == *"perf record"* ]] && ! have perf; then
		missing="$missing perf"
	fi
	if [ -n "$missing" ]; then
		echo "skip (README line $at, needs$missing): $cmd"
		skipped_cmds=$((skipped_cmds + 1))
		return
	fi
	local run
	run=$(printf '%s\n' "$cmd" | localize)
	echo "run (README line $at): $run"
	# --repeat records interval after interval until the process exits.
	[[ $cmd == *--repeat* ]] && (sleep 3; kill "$(pidof -s "$svc_name")") &
	bash -o pipefail -c "$run" </dev/null >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	check "README line $at exits 0 (got $rc): $cmd$( [ $rc -ne 0 ] && printf '\n%s' "$(tail -n 5 "$TMP/err")")" test $rc -eq 0
	ran=$((ran + 1))
}

# Walk the blocks: (line number, text) of each command.
in_block=0 block_first='' cmd='' cmd_at='' depth=0 block_skip=''
lineno=0
while IFS= read -r line; do
	lineno=$((lineno + 1))
	if [ $in_block -eq 0 ]; then
		[ "$line" = '```sh' ] && { in_block=1; block_first=; block_skip=; }
		continue
	fi
	if [ "$line" = '```' ]; then
		in_block=0
		continue
	fi
	if [ -z "$block_first" ] && [ -n "${line//[[:space:]]/}" ] && [[ $line != \#* ]]; then
		block_first=$line
		block_skip=$(skip_reason "$line")
		[ -n "$block_skip" ] && echo "skip block at README line $lineno: $block_skip"
	fi
	[ -n "$block_skip" ] && continue
	stripped=${line%%#*}
	if [ -z "$cmd" ]; then
		[ -z "${stripped//[[:space:]]/}" ] && continue
		cmd_at=$lineno
	fi
	cmd="${cmd:+$cmd
}$line"
	case $stripped in
	for\ * | while\ *) depth=$((depth + 1)) ;;
	esac
	case $stripped in
	*done*) depth=$((depth - 1)) ;;
	esac
	[[ $stripped == *'\' ]] && continue
	[[ $stripped =~ (\&\&|\|)[[:space:]]*$ ]] && continue
	[ $depth -gt 0 ] && continue
	run_command "$cmd_at" "$cmd"
	cmd=
done <"$README"

echo "$ran README commands run, $skipped_cmds skipped for missing tools"
check "most README commands ran ($ran)" test "$ran" -ge 30
finish
