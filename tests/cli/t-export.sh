#!/bin/bash
# t-export.sh - cprof export, checked by the tools that read each format:
# go tool pprof names the same top functions with the same shares as
# cprof report and reads back its own -proto output; protoc decodes the
# profile against pprof's schema; speedscope's schema accepts the JSON and
# speedscope's own viewer opens it in headless Chromium; the Chrome trace
# is the same file report --timeline writes, with every sample's stack.
# A tool that is not installed skips its checks with a note.
. "$(dirname "$0")/test-lib.sh"
PROTO_DIR=${SRCDIR:-$(dirname "$0")/../..}/tests/data
SPEEDSCOPE_DIR=${SPEEDSCOPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cprof-test/npm/node_modules/speedscope}
note() { echo "note: $*"; }

"$CPROF" record -q -F 999 -g -o rec.data -- "$WORKLOADS/demo" 2 >/dev/null 2>rec.err ||
	skip "cannot record here: $(tail -1 rec.err)"
printf 'main;alpha;beta 10\nmain;alpha;gamma 30\nmain;delta 60\n' >in.folded

# --- pprof ---------------------------------------------------------------
"$CPROF" export -i rec.data -f pprof -o rec.pb.gz
check "pprof: exit 0" test $? -eq 0
check "pprof: the file is gzip" sh -c "gzip -t rec.pb.gz"
"$CPROF" export -i in.folded -f pprof -o folded.pb.gz
check "pprof: folded input exports too" test -s folded.pb.gz
"$CPROF" export -i rec.data -f pprof -o - >stdout.pb.gz
check "pprof: '-o -' writes the same bytes to stdout" cmp -s rec.pb.gz stdout.pb.gz

if command -v protoc >/dev/null; then
	gunzip -c rec.pb.gz | protoc --proto_path="$PROTO_DIR" --decode perftools.profiles.Profile profile.proto >decoded.txt 2>protoc.err
	check "protoc decodes it as perftools.profiles.Profile: $(head -3 protoc.err)" test -s decoded.txt -a ! -s protoc.err
	check "protoc: string_table starts with \"\"" sh -c "grep -m1 '^string_table' decoded.txt | grep -qx 'string_table: \"\"'"
	check "protoc: functions, locations and mappings" sh -c "grep -q '^function {' decoded.txt && grep -q '^location {' decoded.txt && grep -q '^mapping {' decoded.txt"
	check "protoc: the binary's build id is there" grep -qE 'string_table: "[0-9a-f]{40}"' decoded.txt
	gunzip -c folded.pb.gz | protoc --proto_path="$PROTO_DIR" --decode perftools.profiles.Profile profile.proto >/dev/null 2>protoc.err
	check "protoc decodes the folded export" test ! -s protoc.err
else
	note "protoc not installed: decoding checks skipped"
fi

if command -v go >/dev/null && go tool pprof -h >/dev/null 2>&1; then
	export GOCACHE=$TMP/gocache GOPATH=$TMP/gopath PPROF_TMPDIR=$TMP
	go tool pprof -top -nodecount=200 rec.pb.gz >top.txt 2>top.err
	check "go tool pprof -top reads it: $(tail -1 top.err)" grep -q 'flat%' top.txt
	# Same top functions, same shares: pprof's flat% against report's self%.
	"$CPROF" report -i rec.data --format csv | awk -F, 'NR > 1 && NR <= 6 && $1 >= 1 { print $7 "\t" $1 }' >ours.txt
	n=0
	while IFS=$'\t' read -r fn share; do
		theirs=$(awk -v f="$fn" '$6 == f || ($6 == f && $7 == "(inline)") { sub("%", "", $2); print $2; exit }' top.txt)
		echo "pprof: $fn report=$share pprof=${theirs:-absent}"
		check "go tool pprof: $fn within 0.5 points of cprof report" within "${theirs:-nan}" "$share" 0.5
		n=$((n + 1))
	done <ours.txt
	check "go tool pprof: functions compared" test $n -ge 2
	# pprof's header names mapping 1 as the program ("File:"): the one
	# recorded, even where libc holds most of the leaves.
	"$CPROF" record -q --call-graph dwarf -o mw.data -- "$WORKLOADS/memwork" churn 2 200000 >/dev/null 2>&1
	"$CPROF" export -i mw.data -f pprof -o mw.pb.gz
	file=$(go tool pprof -top mw.pb.gz 2>/dev/null | head -n 1)
	check "go tool pprof names the recorded program ($file)" test "$file" = "File: memwork"
	go tool pprof -traces rec.pb.gz >traces.txt 2>&1
	check "go tool pprof -traces shows thread labels" grep -q 'thread_name:' traces.txt
	check "go tool pprof -traces shows inlined frames" grep -q 'transform\|spin' traces.txt
	go tool pprof -proto rec.pb.gz >round.pb.gz 2>/dev/null
	go tool pprof -top -nodecount=200 round.pb.gz >round.txt 2>/dev/null
	check "go tool pprof -proto round trip keeps the top list" \
		bash -c "diff <(grep -A5 flat% top.txt) <(grep -A5 flat% round.txt) >/dev/null"
	go tool pprof -top folded.pb.gz >ftop.txt 2>&1
	check "go tool pprof reads the folded export (delta 60%)" grep -qE '60(\.00)?%.*delta' ftop.txt
else
	note "go tool pprof not available: pprof checks skipped"
fi

# --- speedscope -----------------------------------------------------------
"$CPROF" export -i rec.data -f speedscope -o rec.speedscope.json
check "speedscope: exit 0" test $? -eq 0
threads=$("$CPROF" report -i rec.data --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["threads"]))')
check "speedscope: one sampled profile per thread ($threads)" python3 -c "
import json, sys
d = json.load(open('rec.speedscope.json'))
ps = [p for p in d['profiles'] if p['type'] == 'sampled']
assert len(ps) == $threads, len(ps)
for p in ps:
    assert len(p['samples']) == len(p['weights'])
    assert p['endValue'] == sum(p['weights'])
    assert all(0 <= i < len(d['shared']['frames']) for s in p['samples'] for i in s)
"
schema=$SPEEDSCOPE_DIR/dist/release/file-format-schema.json
validator=
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import jsonschema' 2>/dev/null; then validator=$py; break; fi
done
if [ -f "$schema" ] && [ -n "$validator" ]; then
	for f in rec.speedscope.json; do
		"$validator" -c "import json, jsonschema, sys; jsonschema.validate(json.load(open('$f')), json.load(open('$schema')))" 2>schema.err
		check "speedscope: $f is valid against speedscope's schema: $(tail -1 schema.err)" test $? -eq 0
	done
	"$CPROF" export -i in.folded -f speedscope -o folded.speedscope.json
	"$validator" -c "import json, jsonschema; jsonschema.validate(json.load(open('folded.speedscope.json')), json.load(open('$schema')))" 2>schema.err
	check "speedscope: the folded export is valid too: $(tail -1 schema.err)" test $? -eq 0
else
	note "speedscope's schema ($schema) or python3-jsonschema missing: schema checks skipped"
fi
# speedscope's own viewer, headless: load the file, look for the top frame.
if [ -f "$SPEEDSCOPE_DIR/dist/release/index.html" ] && command -v chromium >/dev/null; then
	top=$("$CPROF" report -i rec.data --format csv | awk -F, 'NR == 2 { print $7 }')
	b64=$(base64 -w0 rec.speedscope.json)
	printf 'speedscope.loadFileFromBase64("rec.speedscope.json", "%s")\n' "$b64" >profile.js
	url="file://$SPEEDSCOPE_DIR/dist/release/index.html#localProfilePath=$TMP/profile.js&view=sandwich"
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--allow-file-access-from-files --user-data-dir="$TMP/chrome" --virtual-time-budget=8000 \
		--dump-dom "$url" >dom.html 2>/dev/null
	check "speedscope's viewer loaded the profile (its thread list)" grep -q '(pid [0-9]*, tid [0-9]*)' dom.html
	check "speedscope's viewer shows the profile's top frame '$top'" grep -qF ">$top<" dom.html
	check "speedscope's viewer reports no import error" sh -c "! grep -qi 'something went wrong\|failed to import\|unrecognized format' dom.html"
else
	note "speedscope app ($SPEEDSCOPE_DIR) or chromium missing: viewer check skipped"
fi

# --- Chrome trace ------------------------------------------------------------
"$CPROF" export -i rec.data -f chrome -o trace.json
check "chrome: exit 0" test $? -eq 0
"$CPROF" report -i rec.data --timeline timeline.json
check "chrome: report --timeline writes the same file" cmp -s trace.json timeline.json
check "chrome: processes and threads named, every sample's stack resolves to the root" python3 -c "
import json
d = json.load(open('trace.json'))
ev = d['traceEvents']
assert any(e.get('name') == 'process_name' for e in ev)
assert any(e.get('name') == 'thread_name' for e in ev)
sf = d['stackFrames']
inst = [e for e in ev if e.get('cat') == 'cpu']
assert inst and all('sf' in e for e in inst)
for e in inst:
    node, depth = e['sf'], 0
    while 'parent' in sf[node]:
        node = sf[node]['parent']; depth += 1
        assert depth < 10000
    assert e['name'].split('_[')[0] in [sf[e['sf']]['name'].split('_[')[0]]
assert len(d['samples']) == len(inst)
"
"$CPROF" export -i in.folded -f chrome -o folded-trace.json 2>chrome.err
rc=$?
check "chrome: folded input is refused (exit 1)" test $rc -eq 1
check "chrome: ... with one line saying why" sh -c "[ \$(wc -l <chrome.err) -eq 1 ] && grep -q 'no time' chrome.err"
check "chrome: ... and no file left" test ! -e folded-trace.json

# --- folded, JSON, CSV: the report's views, complete ---------------------------
"$CPROF" export -i rec.data -f folded -o out.folded
"$CPROF" report -i rec.data --format folded >report.folded
check "folded: same as report --format folded" cmp -s out.folded report.folded
"$CPROF" export -i rec.data -f csv -o out.csv
"$CPROF" report -i rec.data --format csv >report.csv
check "csv: same as report --format csv" cmp -s out.csv report.csv
"$CPROF" export -i rec.data -f json -o out.json
check "json: stacks add up to the total weight" python3 -c "
import json
d = json.load(open('out.json'))
assert sum(s['weight'] for s in d['stacks']) == d['total_weight']
assert all(0 <= i < len(d['frames']) for s in d['stacks'] for i in s['frames'])
"
"$CPROF" report -i rec.data --format json --stacks --no-findings >report.json
check "json: same as report --format json --stacks --no-findings" cmp -s out.json report.json
"$CPROF" report -i rec.data --stacks >/dev/null 2>stacks.err
check "report --stacks without json is a usage error" test $? -eq 2

# --- GPU: a recording synthesized from CUPTI records (GPU_SYNTH) --------------
if [ -n "${GPU_SYNTH:-}" ] && "$GPU_SYNTH" --write gpu.data >/dev/null 2>&1; then
	"$CPROF" export -i gpu.data -f speedscope -o gpu.speedscope.json
	check "gpu: speedscope has an evented profile per stream, events nested" python3 -c "
import json
d = json.load(open('gpu.speedscope.json'))
ev = [p for p in d['profiles'] if p['type'] == 'evented']
assert ev
for p in ev:
    stack, last = [], -1
    for e in p['events']:
        assert e['at'] >= last; last = e['at']
        if e['type'] == 'O': stack.append(e['frame'])
        else: assert stack and stack.pop() == e['frame']
    assert not stack
"
	if [ -f "$schema" ] && [ -n "$validator" ]; then
		"$validator" -c "import json, jsonschema; jsonschema.validate(json.load(open('gpu.speedscope.json')), json.load(open('$schema')))" 2>schema.err
		check "gpu: the speedscope export is valid: $(tail -1 schema.err)" test $? -eq 0
	fi
	"$CPROF" export -i gpu.data -f pprof -o gpu.pb.gz
	if command -v go >/dev/null && go tool pprof -h >/dev/null 2>&1; then
		go tool pprof -sample_index=gpu -top gpu.pb.gz >gtop.txt 2>&1
		check "gpu: go tool pprof -sample_index=gpu names kernelA" grep -q 'kernelA' gtop.txt
	fi
	"$CPROF" export -i gpu.data -f chrome -o gpu-trace.json
	check "gpu: the Chrome trace has GPU stream tracks" grep -q '"GPU [0-9]* stream [0-9]*"' gpu-trace.json
else
	note "no synthesized GPU recording (built without CUPTI): GPU export checks skipped"
fi

# --- errors ------------------------------------------------------------------
"$CPROF" export -i rec.data -o x.out >/dev/null 2>err.txt
check "no --format: exit 2" test $? -eq 2
"$CPROF" export -i rec.data -f svg >/dev/null 2>err.txt
check "unknown format: exit 2" test $? -eq 2
"$CPROF" export -i missing.data -f pprof -o m.pb.gz 2>err.txt
check "missing input: exit 1, no output file" sh -c "[ $? -eq 1 ] && [ ! -e m.pb.gz ]"
mkdir ro && chmod 555 ro
if ! touch ro/probe 2>/dev/null; then
	"$CPROF" export -i rec.data -f pprof -o ro/x.pb.gz 2>err.txt
	check "unwritable output: exit 1" test $? -eq 1
fi
finish
