#!/bin/bash
# t-json.sh - every JSON output is JSON: it decodes as strict UTF-8 and
# parses with no NaN or Infinity, whatever bytes the names it carries hold.
# Names come from command lines, binaries, files and the GPU driver: any
# bytes at all. The outputs: report (with findings, and of two events), report --mem (exact
# and sampled), report --gpu, the --timeline trace, diff, export (json,
# speedscope, chrome), annotate and stat (report, runs, baseline), on real
# recordings whose command line holds the byte 0xE9 (Latin-1 'é'), on
# folded stacks with such names, and on a synthesized recording (MKDATA)
# with memory and GPU sections whose every string holds bytes that are
# not UTF-8.
. "$(dirname "$0")/test-lib.sh"

bad=$(printf 'caf\xe9')

strict_json() { # FILE [PYTHON ASSERTION about the parsed value v]
	python3 - "$@" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
def no_constants(name):
    raise ValueError("not JSON: " + name)
try:
    text = raw.decode("utf-8", errors="strict")
    v = json.loads(text, parse_constant=no_constants)
except Exception as e:
    print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
if len(sys.argv) > 2 and not eval(sys.argv[2]):
    print(f"{sys.argv[1]}: {sys.argv[2]} is false", file=sys.stderr)
    sys.exit(1)
PY
}

# A real recording, the command line with a Latin-1 byte in it.
"$CPROF" record -q -g -o cpu.data -- "$WORKLOADS/hot" 1 "$bad" > /dev/null
"$CPROF" report -i cpu.data --format json > cpu.json
check "report --format json: strict UTF-8 JSON" strict_json cpu.json
check "... the byte 0xE9 became U+FFFD" strict_json cpu.json "v['command'].endswith('caf\ufffd')"
# Two events: the per-event table ("events", "ipc", "event_functions") too.
"$CPROF" record -q -e cpu-clock,page-faults -o two.data -- "$WORKLOADS/hot" 1 "$bad" > /dev/null
"$CPROF" report -i two.data --format json > two.json
check "report --format json, two events: strict UTF-8 JSON with the per-event table" strict_json two.json \
	"len(v['events']) == 2 and v['ipc'] is None and all(len(f['self_percent']) == 2 for f in v['event_functions'])"
"$CPROF" record -q --mem -o mem.data -- "$WORKLOADS/memwork" leak "$bad" > /dev/null
"$CPROF" report --mem -i mem.data --format json > mem.json
check "report --mem --format json: strict UTF-8 JSON" strict_json mem.json
"$CPROF" record -q --mem=sample -o mems.data -- "$WORKLOADS/memwork" leak "$bad" > /dev/null
"$CPROF" report --mem -i mems.data --format json > mems.json
check "report --mem --format json, sampled: strict UTF-8 JSON" strict_json mems.json
"$CPROF" diff --format json cpu.data cpu.data > diff.json
check "diff --format json: strict UTF-8 JSON" strict_json diff.json

# Folded stacks with such names, through report and diff.
printf 'main;caf\xe9;x\xff\xfe 10\nmain;ok 5\n' > bad.folded
printf 'main;caf\xe9;x\xff\xfe 3\nmain;ok 12\n' > bad2.folded
"$CPROF" report -i bad.folded --format json > folded.json
check "report json of folded stacks: strict UTF-8 JSON" strict_json folded.json
check "... with U+FFFD for each bad byte" strict_json folded.json \
	"any(f['name'] == 'x\ufffd\ufffd' for f in v['functions'])"
"$CPROF" diff --format json bad.folded bad2.folded > folded-diff.json
check "diff json of folded stacks: strict UTF-8 JSON" strict_json folded-diff.json

# Every string of a recording with memory and GPU sections, invalid.
"$MKDATA" utf8 all.data
"$CPROF" report -i all.data --format json > all.json
check "synthesized: report json" strict_json all.json "v['samples'] == 9"
"$CPROF" report -i all.data --format json --call-tree --threads > all-tree.json
check "synthesized: report json --call-tree --threads" strict_json all-tree.json
"$CPROF" report --mem -i all.data --format json > all-mem.json
check "synthesized: report --mem json" strict_json all-mem.json "len(v['sites']) == 2"
"$CPROF" report --gpu -i all.data --format json > all-gpu.json
check "synthesized: report --gpu json" strict_json all-gpu.json "len(v['kernels']) == 1"
check "... the kernel's name kept its valid part" strict_json all-gpu.json "v['kernels'][0]['name'].startswith('kern<int>\ufffd')"
"$CPROF" report --timeline trace.json -i all.data
check "synthesized: --timeline trace" strict_json trace.json "len(v['traceEvents']) > 12"
"$CPROF" diff --format json all.data all.data > all-diff.json
check "synthesized: diff json" strict_json all-diff.json

# cprof export's JSON formats, and annotate's.
for fmt in json speedscope chrome; do
	"$CPROF" export -f $fmt -i all.data -o all-export.$fmt
	check "synthesized: export -f $fmt" strict_json all-export.$fmt
	"$CPROF" export -f $fmt -i cpu.data -o cpu-export.$fmt
	check "recording: export -f $fmt" strict_json cpu-export.$fmt
done
"$CPROF" export -f json -i bad.folded -o folded-export.json
check "folded stacks: export -f json" strict_json folded-export.json
if "$CPROF" annotate -i cpu.data --format json > ann.json 2> ann.err; then
	check "annotate --format json: strict UTF-8 JSON" strict_json ann.json "len(v['functions']) > 0"
else
	grep -q "without libcapstone" ann.err && echo "note: built without capstone, annotate not checked" ||
		fail "annotate --format json failed: $(cat ann.err)"
fi

# cprof stat: its report, every run's values, a saved baseline, a comparison.
if "$CPROF" stat -r 2 --format json -o stat.json --export-json stat-runs.json --save-baseline ./base.stat \
	-- "$WORKLOADS/hot" 1 "$bad" > /dev/null 2> stat.err; then
	check "stat --format json" strict_json stat.json "v['command'].endswith('caf\ufffd')"
	check "stat --export-json" strict_json stat-runs.json
	check "stat --save-baseline" strict_json base.stat
	"$CPROF" stat -r 2 --baseline ./base.stat --format json -o cmp.json -- "$WORKLOADS/hot" 1 "$bad" 2>/dev/null
	check "stat --baseline --format json" strict_json cmp.json
else
	fail "cprof stat failed: $(cat stat.err)"
fi

# The well-formed multi-byte names pass through unchanged.
printf 'main;Gr\xc3\xbc\xc3\x9fe;\xe6\x97\xa5\xe6\x9c\xac;\xf0\x9f\x94\xa5 7\n' > good.folded
"$CPROF" report -i good.folded --format json > good.json
check "valid UTF-8 is kept as it is" strict_json good.json \
	"sorted(f['name'] for f in v['functions']) == sorted(['main', 'Grüße', '日本', '\U0001f525'])"
finish
