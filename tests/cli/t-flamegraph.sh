#!/bin/bash
# t-flamegraph.sh - `cprof flamegraph` end to end: inputs, valid XML, warnings,
# --strict, no partial output file, and (with chromium) the page's own
# search and zoom code run headless.
. "${SRCDIR:?set SRCDIR to the source tree}/tests/cli/test-lib.sh"
tmp=$TMP

# xmllint FILE...: libxml2's verdict where it is installed (libxml2-utils);
# without it every well-formedness check says it was skipped.
if ! command -v xmllint >/dev/null; then
	echo "note: xmllint not installed (libxml2-utils): well-formedness checks skipped"
	xmllint() { return 0; }
fi

cat >"$tmp/in.folded" <<'EOF'
main;alpha;beta 10
main;alpha;gamma 30
main;delta 50
main;work_[k] 10
EOF
# 100 samples: gamma 30%, alpha 40%.

# stdin (not a tty) is the default input
if "$CPROF" flamegraph <"$tmp/in.folded" >"$tmp/stdin.svg" 2>"$tmp/err"; then
	ok "stdin"
else
	fail "stdin input: $(cat "$tmp/err")"
fi
grep -q '<title>gamma (30 samples, 30.00%)</title>' "$tmp/stdin.svg" || fail "stdin: gamma tooltip missing"
grep -q '<title>work (10 samples, 10.00%)</title>' "$tmp/stdin.svg" || fail "stdin: kernel suffix not stripped"
xmllint --noout "$tmp/stdin.svg" || fail "stdin: xmllint rejects the SVG"

# a file with -i, written with -o
"$CPROF" flamegraph -i "$tmp/in.folded" -o "$tmp/file.svg" --title 'T & <x>' --subtitle sub --countname ms \
	|| fail "-i/-o run failed"
xmllint --noout "$tmp/file.svg" || fail "-o: xmllint rejects the SVG"
grep -q '<title>delta (50 ms, 50.00%)</title>' "$tmp/file.svg" || fail "--countname not used"
grep -q 'T &amp; &lt;x&gt;' "$tmp/file.svg" || fail "title not escaped"
ls "$tmp" | grep -q '\.tmp\.' && fail "temporary file left behind"
cmp -s "$tmp/stdin.svg" <("$CPROF" flamegraph -i - <"$tmp/in.folded") || fail "-i - differs from stdin default"

# --html wraps a well-formed page
"$CPROF" flamegraph --html -i "$tmp/in.folded" >"$tmp/page.html" || fail "--html run failed"
head -c 15 "$tmp/page.html" | grep -q '<!DOCTYPE html>' || fail "--html: no doctype"
grep -q '<svg ' "$tmp/page.html" && grep -q '</html>' "$tmp/page.html" || fail "--html: no svg/html"
# The SVG inside the page is well-formed XML, and the page is HTML that
# libxml2 parses without an error; its HTML 4 parser does not know SVG's
# elements, so only its "Tag svg invalid" kind of message is expected.
sed -n '/<svg /,/<\/svg>/p' "$tmp/page.html" | xmllint --noout - || fail "--html: the SVG in the page is not well-formed"
xmllint --html --noout "$tmp/page.html" 2>"$tmp/html.err" || fail "--html: xmllint --html exit $?"
grep 'error :' "$tmp/html.err" | grep -v 'error : Tag [a-zA-Z]* invalid$' >"$tmp/html.bad"
[ -s "$tmp/html.bad" ] && fail "--html: xmllint --html: $(head -3 "$tmp/html.bad")"

# other options produce valid SVG
for opts in "--inverted" "--reverse" "--colors cold" "--colors rainbow --hash" "--colors java" \
	"--colors mem" "--colors io" "--width 600 --frame-height 20 --min-width 5"; do
	# shellcheck disable=SC2086
	"$CPROF" flamegraph $opts -i "$tmp/in.folded" >"$tmp/opt.svg" && xmllint --noout "$tmp/opt.svg" \
		|| fail "options $opts"
done
"$CPROF" flamegraph --reverse -i "$tmp/in.folded" | grep -q '<title>main (10 samples, 10.00%)</title>' \
	|| fail "--reverse: leaves not merged first"

# malformed line: warned with its line number, the rest still renders
printf 'main;a 5\nthis is not folded\nmain;b 5\n' >"$tmp/bad.folded"
"$CPROF" flamegraph -i "$tmp/bad.folded" >"$tmp/bad.svg" 2>"$tmp/err" || fail "malformed line made it fail"
grep -q "line 2" "$tmp/err" || fail "warning does not name line 2: $(cat "$tmp/err")"
grep -q '<title>b (5 samples' "$tmp/bad.svg" || fail "lines after the malformed one were lost"
xmllint --noout "$tmp/bad.svg" || fail "bad input: invalid SVG"

# --strict fails, and -o leaves no file (final or temporary)
if "$CPROF" flamegraph --strict -i "$tmp/bad.folded" -o "$tmp/strict.svg" 2>"$tmp/err"; then
	fail "--strict accepted a malformed line"
fi
grep -q "line 2" "$tmp/err" || fail "--strict error does not name line 2"
[ -e "$tmp/strict.svg" ] && fail "--strict left an output file"
ls "$tmp" | grep -q '\.tmp\.' && fail "--strict left a temporary file"

# empty input: an error, no output file
: >"$tmp/empty.folded"
"$CPROF" flamegraph -i "$tmp/empty.folded" -o "$tmp/empty.svg" 2>"$tmp/err" && fail "empty input accepted"
[ -e "$tmp/empty.svg" ] && fail "empty input left an output file"
grep -q "cprof flamegraph: " "$tmp/err" || fail "error message lacks the prefix"

# usage errors exit 2
"$CPROF" flamegraph --colors nope -i "$tmp/in.folded" >/dev/null 2>&1; check "bad palette: exit 2" test $? -eq 2
"$CPROF" flamegraph --flamechart --diff "$tmp/in.folded" "$tmp/in.folded" >/dev/null 2>&1; [ $? -eq 2 ] \
	|| fail "--flamechart --diff not a usage error"
"$CPROF" flamegraph --help | grep -q -- "--flamechart" || fail "--help does not mention --flamechart"

# flame chart: input order kept, a frame split where other stacks come between
printf 'm;a 1\nm;b 2\nm;a 1\n' >"$tmp/chart.folded"
"$CPROF" flamegraph --flamechart -i "$tmp/chart.folded" >"$tmp/chart.svg" || fail "--flamechart failed"
xmllint --noout "$tmp/chart.svg" || fail "--flamechart: invalid SVG"
[ "$(grep -c '<title>a (1 sample, 25.00%)</title>' "$tmp/chart.svg")" = 2 ] || fail "--flamechart: a not split in two"
grep -q '<title>b (2 samples, 50.00%)</title><rect x="305.000"' "$tmp/chart.svg" || fail "--flamechart: b not second"
grep -q '>Flame Chart<' "$tmp/chart.svg" || fail "--flamechart: title"
"$CPROF" flamegraph --list-opts | grep -qx -- "--diff" || fail "--list-opts lacks --diff"

# differential
printf 'm;grow 10\nm;shrink 40\nm;same 50\n' >"$tmp/before.folded"
printf 'm;grow 20\nm;shrink 20\nm;same 60\n' >"$tmp/after.folded"
"$CPROF" flamegraph --diff "$tmp/before.folded" "$tmp/after.folded" >"$tmp/diff.svg" || fail "--diff failed"
xmllint --noout "$tmp/diff.svg" || fail "--diff: invalid SVG"
grep -q '<title>grow (20 samples, 20.00%; self 10.00% before, 20.00% after: +10.00 pp)</title><rect [^>]*fill="rgb(255,' "$tmp/diff.svg" \
	|| fail "--diff: grown frame not red"
grep -q '<title>shrink (20 samples, 20.00%; self 40.00% before, 20.00% after: -20.00 pp)</title><rect [^>]*fill="rgb([0-9]*,[0-9]*,255)"' "$tmp/diff.svg" \
	|| fail "--diff: shrunk frame not blue"

[ "$failures" -eq 0 ] || finish

# The page's own script, in a real browser: ?s= searches, ?f= zooms, and the
# results land in data-* attributes of the <svg> element.
command -v chromium >/dev/null 2>&1 || skip "no chromium"
dump() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" --virtual-time-budget=3000 --dump-dom "$1" 2>/dev/null
}
attr() { sed -n "s/.*<svg [^>]*$1=\"\([^\"]*\)\".*/\1/p" | head -1; }

for page in stdin.svg page.html; do
	out=$(dump "file://$tmp/$page?s=^gamma\$")
	[ "$(attr data-ready <<<"$out")" = 1 ] || fail "$page: script did not run"
	[ -z "$(attr data-error <<<"$out")" ] || fail "$page: script error: $(attr data-error <<<"$out")"
	[ "$(attr data-matched <<<"$out")" = "30.00" ] || fail "$page: search ^gamma\$ matched '$(attr data-matched <<<"$out")', want 30.00"
	# nested matches count once: "a" matches main and everything under it
	out=$(dump "file://$tmp/$page?s=a")
	[ "$(attr data-matched <<<"$out")" = "100.00" ] || fail "$page: search 'a' matched '$(attr data-matched <<<"$out")', want 100.00"
	out=$(dump "file://$tmp/$page?s=^(beta|delta)\$")
	[ "$(attr data-matched <<<"$out")" = "60.00" ] || fail "$page: search beta|delta matched '$(attr data-matched <<<"$out")', want 60.00"
	# zoom on alpha: it spans the full width, its children scale with it
	out=$(dump "file://$tmp/$page?f=alpha")
	[ -z "$(attr data-error <<<"$out")" ] || fail "$page: zoom error: $(attr data-error <<<"$out")"
	[ "$(attr data-zoom-width <<<"$out")" = "1180.000" ] || fail "$page: zoomed width '$(attr data-zoom-width <<<"$out")', want 1180.000"
	grep -q '<title>gamma (30 samples, 30.00%)</title><rect x="305.000" y="[0-9.]*" width="885.000"' <<<"$out" \
		|| fail "$page: gamma not scaled to 3/4 of the zoomed width"
	grep -q '<g class="hide"><title>delta' <<<"$out" || fail "$page: sibling delta not hidden when zoomed"
	grep -q '<g class="parent"><title>main' <<<"$out" || fail "$page: caller main not marked as parent"
	# the same zoom by position, as the page writes it into the URL
	y=$(sed -n 's/.*<title>alpha ([^<]*<\/title><rect x="[^"]*" y="\([^"]*\)".*/\1/p' "$tmp/stdin.svg")
	out=$(dump "file://$tmp/$page?x=10.000&y=$y")
	[ "$(attr data-zoom-width <<<"$out")" = "1180.000" ] || fail "$page: zoom by ?x=&y=$y failed"
	# case-insensitive search
	out=$(dump "file://$tmp/$page?s=GAMMA&ic=1")
	[ "$(attr data-matched <<<"$out")" = "30.00" ] || fail "$page: ?ic=1 search matched '$(attr data-matched <<<"$out")'"
done

finish
