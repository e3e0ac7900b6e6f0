#!/bin/bash
# t-annotate.sh - cprof annotate on a workload whose hot instruction is
# known: a chain of dependent divisions next to cheap adds. The division
# (or, by skid, the instruction after it) must carry most of the samples,
# and perf annotate must agree on the hottest instruction within one. Then
# annotate after the binary was deleted and after it was replaced, the
# line-level report, the report's hint, and the completion of symbols.
. "$(dirname "$0")/test-lib.sh"
"$CPROF" annotate --help | grep -q 'without libcapstone' && skip "cprof was built without libcapstone"

# Our own copy, so it can be deleted and replaced.
cp "$WORKLOADS/divchain" ./divchain
# 200M divisions: about 800 samples at 999 Hz on this machine's CPU time.
"$CPROF" record -q -F 999 -o div.data -- ./divchain 200 >/dev/null 2>record.err
check "record the division chain" test -s div.data

"$CPROF" annotate -i div.data divchain --format json >div.json 2>ann.err
check "annotate divchain exits 0" test $? -eq 0
check "annotate divchain says nothing on stderr: $(cat ann.err)" test ! -s ann.err

# Instructions as "index address samples text" lines, from the JSON.
python3 - div.json >insns.txt <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["functions"][0]
for i, x in enumerate(f["instructions"]):
    print(i, int(x["address"], 16), x["samples"], x["text"].split()[0])
print("hottest", int(f["hottest_address"], 16), f["samples"], f["code_from"])
PY
read -r _ hot_addr fsamples code_from < <(grep '^hottest' insns.txt)
div_idx=$(awk '$4 ~ /^div/ { print $1; exit }' insns.txt)
hot_idx=$(awk -v a="$hot_addr" '$1 ~ /^[0-9]+$/ && $2 == a { print $1 }' insns.txt)
echo "division at #$div_idx, hottest #$hot_idx, $fsamples samples, code from the $code_from"
check "the code comes from the recording" test "$code_from" = recording
check "divchain has a div instruction" test -n "$div_idx"
check "divchain has over 200 samples ($fsamples)" test "${fsamples:-0}" -gt 200
check "the hottest instruction is the division or the next one (skid)" \
	test -n "$hot_idx" -a "${hot_idx:-99}" -ge "${div_idx:-0}" -a "${hot_idx:-99}" -le $((${div_idx:-0} + 1))
pair=$(awk -v d="$div_idx" '$1 == d || $1 == d + 1 { s += $3 } END { print s + 0 }' insns.txt)
check "the division and the next instruction carry over half of the samples ($pair of $fsamples)" \
	test $((pair * 2)) -gt "${fsamples:-0}"

# The same workload under perf: its hottest instruction within one of ours.
if command -v perf >/dev/null && perf record -q -F 999 -e cpu-clock -o perf.data -- ./divchain 200 >/dev/null 2>perf.err; then
	perf annotate -i perf.data --stdio -s divchain 2>/dev/null >perf.txt
	phot=$(awk -F: '$1 ~ /^ *[0-9]+\.[0-9]+ *$/ && $2 ~ /^ *[0-9a-f]+ *$/ { p = $1 + 0; if (p > best) { best = p; addr = $2 } }
		END { gsub(/ /, "", addr); print addr }' perf.txt)
	pidx=$(awk -v a="$((16#${phot:-0}))" '$1 ~ /^[0-9]+$/ && $2 == a { print $1 }' insns.txt)
	echo "perf's hottest: ${phot:-none} (#${pidx:-?})"
	check "perf annotate's hottest instruction is ours or adjacent" \
		test -n "$pidx" -a $((${pidx:-99} - ${hot_idx:-0})) -ge -1 -a $((${pidx:-99} - ${hot_idx:-0})) -le 1
else
	echo "note: perf cannot record here, its comparison is skipped"
fi

# Text view: source interleaved, loop and division marked, plain when piped.
"$CPROF" annotate -i div.data divchain >div.txt 2>&1
check "the source line of the division is shown" grep -q 'x = (x + c) / (i | 3)' div.txt
check "the loop's back-edge is marked" grep -q '\^ loop' div.txt
check "the loop head is marked as a jump target" grep -qE '^ +([0-9.]+ +[0-9]+)? +> +[0-9a-f]+  ' div.txt
check "piped output has no colour" test -z "$(grep -P '\033' div.txt)"
"$CPROF" annotate -i div.data divchain --color always >color.txt
check "--color always colours" grep -qP '\033\[1;31m' color.txt
"$CPROF" annotate -i div.data divchain -M att --no-source >att.txt
check "--asm-syntax att" grep -qE 'divq +%r' att.txt
check "--no-source shows no source text" test -z "$(grep 'x = (x + c)' att.txt)"
check "--no-source keeps file:line markers" grep -q 'divchain.c:[0-9]' att.txt

# No SYMBOL: the top functions one after another, like perf annotate --stdio.
"$CPROF" annotate -i div.data >all.txt 2>all.err
check "annotate without SYMBOL exits 0" test $? -eq 0
check "annotate without SYMBOL shows divchain" grep -q '^divchain  \[divchain\]' all.txt
check "--list-symbols lists divchain first" test "$("$CPROF" annotate -i div.data --list-symbols | head -1)" = divchain

# perf's spelling: perf annotate --stdio -s SYMBOL shows what SYMBOL alone does.
"$CPROF" annotate -i div.data --stdio -s divchain >s.txt 2>&1
check "annotate --stdio -s divchain: the same as annotate divchain" cmp -s s.txt div.txt
"$CPROF" annotate -i div.data --symbol=divchain --stdio2 -s no_such_function >s2.txt 2>s2.err
rc=$?
check "--symbol and -s add up: divchain shown, the unknown one named, exit 1 ($rc)" \
	eval '[ $rc -eq 1 ] && grep -q "^divchain  \[divchain\]" s2.txt && grep -q no_such_function s2.err'

# A name without samples: one line, exit 1.
"$CPROF" annotate -i div.data no_such_function >out.txt 2>err.txt
check "an unknown symbol exits 1" test $? -eq 1
check "an unknown symbol is one line on stderr" test "$(wc -l <err.txt)" -eq 1
check "the line names the symbol and the file" grep -q "no function 'no_such_function' with samples in 'div.data'" err.txt

# Folded stacks have no addresses.
printf 'main;divchain 10\n' >f.folded
"$CPROF" annotate -i f.folded >out.txt 2>err.txt
check "folded input is refused (exit 1)" test $? -eq 1
check "folded input: one clear line" grep -q 'folded stacks carry no addresses' err.txt

# The binary deleted: the saved code is shown, and the header says why.
rm ./divchain
"$CPROF" annotate -i div.data divchain >gone.txt 2>gone.err
check "annotate after the binary was deleted exits 0" test $? -eq 0
check "after deletion the instructions are still shown" grep -qE ' div +r' gone.txt
check "after deletion the header says the binary is gone" grep -q 'no longer on disk' gone.txt

# The binary replaced by another build: the mismatch is said.
cp "$WORKLOADS/hot" ./divchain
"$CPROF" annotate -i div.data divchain >changed.txt 2>changed.err
check "annotate after a rebuild exits 0" test $? -eq 0
check "a rebuild is said on stderr" grep -q "'.*/divchain' has changed since the recording (build-id [0-9a-f]* recorded, [0-9a-f]* now)" changed.err
check "a rebuild is said once" test "$(grep -c 'has changed' changed.err)" -eq 1
check "after a rebuild the recorded code is shown" grep -qE ' div +r' changed.txt
check "after a rebuild the header says CHANGED" grep -q 'CHANGED on disk' changed.txt
"$CPROF" annotate -i div.data divchain -f json | grep -q '"state": "changed"'
check "JSON says the binary changed" test $? -eq 0

# Line-level report: the division's line is the hottest line.
"$CPROF" report -i div.data --sort line --no-children >lines.txt
check "report --sort line puts divchain.c:19 first" \
	test "$(awk '/^ +[0-9.]+%/ { print $3; exit }' lines.txt)" = "divchain.c:19"
"$CPROF" report -i div.data >report.txt
check "the function report shows the hottest line and says so" grep -q 'Hottest line' report.txt
check "report's Hottest line column shows divchain.c:19 and its share" grep -qE 'divchain.c:19 [0-9]+% +divchain +divchain$' report.txt
check "report ends with a hint to annotate its top function" \
	grep -q "cprof annotate -i div.data divchain" <(tail -2 report.txt)
"$CPROF" report -i div.data --lines --format csv >lines.csv
check "report --lines --format csv has a row per line" grep -q '^[0-9.]*,[0-9.]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*,.*divchain.c,19,divchain,' lines.csv
"$CPROF" report -i div.data --lines --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
top = r["lines"][0]
assert top["line"] == 19 and top["file"].endswith("divchain.c") and top["function"] == "divchain", top
'
check "report --lines --format json lists lines" test $? -eq 0
"$CPROF" report -i div.data --lines --format folded >lines.folded
check "report --lines --format folded puts lines in frames" grep -q 'divchain \[divchain.c:19\]' lines.folded

# Flame graph tooltips name each function's hottest line.
"$CPROF" flamegraph -i div.data -o div.svg
check "the flame graph tooltip of divchain names its hottest line" \
	grep -qE '<title>divchain \([0-9,]+ samples, [0-9.]+%; hottest line divchain.c:19\)</title>' div.svg

# Completion offers the functions of the data file.
mkdir -p bin && ln -sf "$(realpath "$CPROF")" bin/cprof
if [ -f /usr/share/bash-completion/bash_completion ]; then
	out=$(PATH="$PWD/bin:$PATH" bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion; source "$1"
		COMP_WORDS=(cprof annotate -i div.data d); COMP_CWORD=4; COMP_LINE="cprof annotate -i div.data d"
		COMP_POINT=${#COMP_LINE}; _cprof cprof d div.data; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRCDIR/completions/bash/cprof")
	# (Other sampled functions starting with d, a kernel one say, may be
	# offered too.)
	check "bash completes 'cprof annotate -i div.data d' with divchain" \
		sh -c 'printf "%s\n" "$1" | grep -qx divchain && ! printf "%s\n" "$1" | grep -qv "^d"' _ "$out"
	out=$(PATH="$PWD/bin:$PATH" bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion; source "$1"
		COMP_WORDS=(cprof annotate -i div.data -s d); COMP_CWORD=5; COMP_LINE="cprof annotate -i div.data -s d"
		COMP_POINT=${#COMP_LINE}; _cprof cprof d -s; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRCDIR/completions/bash/cprof")
	check "bash completes 'cprof annotate -i div.data -s d' with divchain" \
		sh -c 'printf "%s\n" "$1" | grep -qx divchain' _ "$out"
fi
if command -v fish >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # $argv is for fish
	out=$(PATH="$PWD/bin:$PATH" fish --no-config -c 'source $argv[1]; complete -C "cprof annotate -i div.data -s d"' \
		"$SRCDIR/completions/fish/cprof.fish" 2>&1)
	check "fish completes 'cprof annotate -i div.data -s d' with divchain: $out" \
		sh -c 'printf "%s\n" "$1" | grep -qx divchain' _ "$out"
fi
finish
