#!/bin/bash
# t-graphs.sh - every kind of graph cprof draws, opened in headless Chromium:
# flame graph (long names, kinds of frame), icicle, reversed, cold palette,
# differential, flame chart of several threads, heap plot. The page is
# driven like a user would (mouse, Ctrl-F, prompt answers) through
# browser.js, what matters is measured in the page with the browser's own
# layout (graph-checks.js), and a screenshot of each state is kept in
# ARTIFACTS (the build tree: tests/cli/artifacts/graphs) to be looked at.
. "$(dirname "$0")/test-lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
chromium=$(command -v chromium || command -v chromium-browser)
[ -n "$chromium" ] || skip "no chromium (Debian: apt-get install chromium; scripts/setup-deps installs it)"
command -v node >/dev/null || skip "no node to drive chromium (Debian: apt-get install nodejs)"
shots=${ARTIFACTS:-$TMP/artifacts}/graphs
mkdir -p "$shots" || exit 1
rm -f "$shots"/*.png

# browse NAME FILE WIDTH HEIGHT [STEPS...]: open FILE, run the steps (one
# per argument, words separated by tabs), screenshot as NAME.png; the
# output is the eval results, NAME=VALUE a line.
browse() {
	local name=$1 file=$2 w=$3 h=$4
	shift 4
	{
		printf 'open\tfile://%s\t%s\t%s\n' "$TMP/$file" "$w" "$h"
		printf 'script\t%s\n' "$here/graph-checks.js"
		printf '%s\n' "$@"
		printf 'shot\t%s\n' "$shots/$name.png"
	} | node "$here/browser.js" "$chromium" >"$name.out" 2>&1
	cat "$name.out"
}
val() { sed -n "s/^$2=//p" "$1.out" | head -1; } # NAME KEY
empty() { # DESCRIPTION NAME KEY: the check printed nothing
	local v
	v=$(val "$2" "$3")
	if grep -q '^error:' "$2.out"; then fail "$1: $(grep '^error:' "$2.out")"
	elif ! grep -q "^$3=" "$2.out"; then fail "$1: no result"
	elif [ -n "$v" ]; then fail "$1: $v"
	else ok "$1"; fi
}
is() { # DESCRIPTION NAME KEY EXPECTED
	local v
	v=$(val "$2" "$3")
	if [ "$v" = "$4" ]; then ok "$1"; else fail "$1: '$v', want '$4'"; fi
}
svg_attr() { sed -n "s/.*<svg [^>]*$2=\"\([^\"]*\)\".*/\1/p" "$1" | head -1; }
# Centre of the frame NAME in FILE, "X<tab>Y" (the SVG is at the page's origin).
centre() {
	sed -n "s/.*<title>$2[^<]*<\/title><rect x=\"\([0-9.]*\)\" y=\"\([0-9.]*\)\" width=\"\([0-9.]*\)\" height=\"\([0-9.]*\)\".*/\1 \2 \3 \4/p" "$1" |
		head -1 | awk '{ printf "%d\t%d", $1 + $3 / 2, $2 + $4 / 2 }'
}

# -- A flame graph of C++ with long names, inlined, kernel and unknown frames.
long='std::vector<std::pair<std::basic_string<char, std::char_traits<char>, std::allocator<char> >, std::map<int, std::shared_ptr<engine::Node<double> > > >, std::allocator<std::pair<std::basic_string<char, std::char_traits<char>, std::allocator<char> > > > >::_M_realloc_insert(iterator, value_type&&) const'
{
	echo "main;engine::run();$long 60"
	echo "main;engine::run();engine::step()_[i] 20"
	echo "main;read_[k];vfs_read_[k] 10"
	echo "main;[unknown] 10"
} >cxx.folded
"$CPROF" flamegraph -i cxx.folded -o cxx.svg || fail "flamegraph of long names"
xy=$(centre cxx.svg 'std::vector&lt;std::pair')
[ -n "$xy" ] || fail "the long frame is in the SVG"
browse cxx-hover cxx.svg 1200 200 \
	"move	$xy" \
	"eval	-	window.aqua = function (f) { var c = graphChecks.rgb(f); return c[0] < 120 && c[1] >= 165 && c[1] === c[2]; }; ''" \
	"eval	details	document.getElementById('details').textContent" \
	"eval	clip	graphChecks.inside(document.getElementById('details'))" \
	"eval	legend	graphChecks.legend()" \
	"eval	legendtext	document.getElementById('legend').textContent.replace(/\s+/g, ' ')" \
	"eval	inlinedswatch	aqua(Array.from(document.querySelectorAll('#legend rect')).find((r) => r.nextElementSibling.textContent.startsWith('inlined')).getAttribute('fill'))" \
	"eval	inlinedframe	aqua(graphChecks.frame('engine::step()').querySelector('rect').getAttribute('fill'))" \
	"eval	labels	graphChecks.labels()" \
	"eval	searchop	getComputedStyle(document.getElementById('search')).opacity + ' ' + getComputedStyle(document.getElementById('ignorecase')).opacity" \
	"eval	searchcontrast	graphChecks.contrast(graphChecks.rgb(getComputedStyle(document.getElementById('search')).fill), [238,238,238]) >= 4.5 && graphChecks.contrast(graphChecks.rgb(getComputedStyle(document.getElementById('ignorecase')).fill), [238,238,238]) >= 4.5" \
	"eval	ictitle	document.querySelector('#ignorecase title').textContent" >/dev/null
d=$(val cxx-hover details)
case $d in
"Function: std::vector<std::pair<"*…*"%)") ok "hovering a long name: details show both ends, cut in the middle" ;;
*) fail "hovering a long name: details '$d'" ;;
esac
empty "the details line ends inside the image" cxx-hover clip
empty "the legend's entries do not overlap and fit" cxx-hover legend
case $(val cxx-hover legendtext) in
*inlined*kernel*unknown*) ok "the legend explains inlined, kernel and unknown frames" ;;
*) fail "legend: '$(val cxx-hover legendtext)'" ;;
esac
is "the inlined swatch is aqua" cxx-hover inlinedswatch true
is "the inlined frame is aqua" cxx-hover inlinedframe true
empty "frame labels readable (contrast >= 4.5:1)" cxx-hover labels
is "Search and ic at full opacity" cxx-hover searchop "1 1"
is "Search and ic readable on the background" cxx-hover searchcontrast true
is "ic says what it does" cxx-hover ictitle "case-insensitive search (Ctrl-I): off"

# An invalid regular expression, typed as a user would (Ctrl-F, prompt).
browse cxx-badregex cxx.svg 1200 200 \
	"answer	[unclosed" "key	ctrl-f" \
	"eval	shown	!document.getElementById('matched').classList.contains('hide')" \
	"eval	text	document.getElementById('matched').textContent" \
	"eval	colour	getComputedStyle(document.getElementById('matched')).fill" \
	"eval	clip	graphChecks.inside(document.getElementById('matched'))" \
	"shot	$shots/cxx-badregex-message.png" \
	"answer	vector" "key	ctrl-f" \
	"eval	after	document.getElementById('matched').textContent + ' ' + getComputedStyle(document.getElementById('matched')).fill" >/dev/null
is "invalid regex: the message is shown" cxx-badregex shown true
case $(val cxx-badregex text) in
"Not a regular expression: "*) ok "invalid regex: it says so ($(val cxx-badregex text))" ;;
*) fail "invalid regex: '$(val cxx-badregex text)'" ;;
esac
is "invalid regex: in red" cxx-badregex colour "rgb(190, 0, 0)"
empty "invalid regex: the message fits" cxx-badregex clip
is "a valid search afterwards clears it" cxx-badregex after "Matched: 60.00% rgb(0, 0, 0)"

# -- Titles of the other layouts.
"$CPROF" flamegraph -i cxx.folded --reverse -o rev.svg && "$CPROF" flamegraph -i cxx.folded --reverse --inverted -o revi.svg &&
	"$CPROF" flamegraph -i cxx.folded --inverted -o icicle.svg || fail "flamegraph --reverse/--inverted"
browse reverse rev.svg 1200 200 "eval	title	document.getElementById('title').textContent" \
	"eval	legend	document.getElementById('legend').textContent.replace(/\s+/g, ' ')" >/dev/null
is "--reverse: titled so" reverse title "Reverse Flame Graph"
case $(val reverse legend) in *"reversed:"*) ok "--reverse: the legend says what it shows" ;; *) fail "--reverse legend" ;; esac
browse reverse-icicle revi.svg 1200 200 "eval	title	document.getElementById('title').textContent" >/dev/null
is "--reverse --inverted: titled so" reverse-icicle title "Reverse Icicle Graph"
browse icicle icicle.svg 1200 200 "eval	title	document.getElementById('title').textContent" >/dev/null
is "--inverted: titled so" icicle title "Icicle Graph"

# -- Palettes: black text must stay readable on every frame.
awk 'BEGIN { for (i = 0; i < 200; i++) printf "main;f%03d;g%03d %d\n", i, (i * 7) % 200, 1 + i % 9 }' >many.folded
for pal in cold rainbow hot io; do
	"$CPROF" flamegraph -i many.folded -c "$pal" --width 2400 -o "pal-$pal.svg" || fail "-c $pal"
	browse "palette-$pal" "pal-$pal.svg" 2400 140 "eval	labels	graphChecks.labels()" >/dev/null
	empty "-c $pal: every label readable (contrast >= 4.5:1)" "palette-$pal" labels
done

# -- Differential: legend, what was compared, points in the tooltips.
printf 'main;alpha;beta 20\nmain;alpha;gamma 30\nmain;delta 40\nmain;work_[k] 10\n' >before.folded
printf 'main;alpha;beta 10\nmain;alpha;gamma 30\nmain;delta 50\nmain;work_[k] 10\n' >after.folded
"$CPROF" flamegraph --diff before.folded after.folded -o diff.svg || fail "flamegraph --diff"
xy=$(centre diff.svg delta)
browse diff diff.svg 1200 160 \
	"move	$xy" \
	"eval	legend	graphChecks.legend()" \
	"eval	before	document.getElementById('before').textContent" \
	"eval	after	document.getElementById('after').textContent" \
	"eval	details	document.getElementById('details').textContent" \
	"eval	grew	Array.from(document.querySelectorAll('#legend rect'))[0].getAttribute('fill')" \
	"eval	labels	graphChecks.labels()" >/dev/null
empty "--diff: the legend fits" diff legend
is "--diff: the legend names before" diff before "before: before.folded"
is "--diff: the legend names after" diff after "after: after.folded (widths)"
is "--diff: delta's tooltip in percentage points" diff details \
	"Function: delta (50 samples, 50.00%; self 40.00% before, 50.00% after: +10.00 pp)"
is "--diff: the 'grew' swatch is red" diff grew "rgb(255,100,100)"
empty "--diff: every label readable" diff labels

# -- A flame chart of a recording with two busy threads: one lane each,
# side by side in time, on a time axis with round ticks.
"$CPROF" record -q -o thr.data "$WORKLOADS/threads" >/dev/null 2>&1 || fail "record threads"
"$CPROF" flamegraph --flamechart --inverted -i thr.data -o chart.svg || fail "flamegraph --flamechart"
span=$(svg_attr chart.svg data-span)
check "flame chart: the time span is set ($span s)" awk -v s="${span:-0}" 'BEGIN { exit !(s > 0.5 && s < 60) }'
heavy=$(sed -n 's/.*<title>\(heavy-[0-9]*\) (.*/\1/p' chart.svg | head -1)
light=$(sed -n 's/.*<title>\(light-[0-9]*\) (.*/\1/p' chart.svg | head -1)
browse chart chart.svg 1200 600 \
	"eval	ticks	graphChecks.ticks('#axis text')" \
	"eval	first	document.querySelector('#axis text').textContent" \
	"eval	lanes	(function () { var h = graphChecks.frame('$heavy').querySelector('rect'), l = graphChecks.frame('$light').querySelector('rect'); var hx = +h.getAttribute('x'), lx = +l.getAttribute('x'), hw = +h.getAttribute('width'), lw = +l.getAttribute('width'); return (h.getAttribute('y') !== l.getAttribute('y')) + ' ' + (Math.max(hx, lx) < Math.min(hx + hw, lx + lw)); })()" \
	"eval	labels	graphChecks.labels()" >/dev/null
is "flame chart: the threads are lanes overlapping in time" chart lanes "true true"
empty "flame chart: time ticks on round values" chart ticks
case $(val chart first) in 0*" s"|0*" ms") ok "flame chart: the axis starts at 0 ($(val chart first))" ;; *) fail "axis starts at '$(val chart first)'" ;; esac
empty "flame chart: every label readable" chart labels
# Zoom into the light thread's lane: the axis follows, both lanes stay.
xy=$(centre chart.svg "$light")
browse chart-zoom chart.svg 1200 600 \
	"click	$xy" \
	"eval	zoom	document.documentElement.getAttribute('data-zoom-width')" \
	"eval	ticks	graphChecks.ticks('#axis text')" \
	"eval	heavy	graphChecks.frame('$heavy').classList.contains('hide')" >/dev/null
is "flame chart: a click zooms to the frame" chart-zoom zoom "1180.000"
empty "flame chart: zoomed ticks still round" chart-zoom ticks
is "flame chart: the other lane stays in view when zoomed" chart-zoom heavy false

# -- The heap plot: round ticks, and its last label inside the image.
"$CPROF" record -q --mem -o mem.data "$WORKLOADS/memwork" >/dev/null 2>&1 || fail "record --mem"
"$CPROF" report --mem -i mem.data --plot heap.svg >/dev/null || fail "report --mem --plot"
browse heap heap.svg 1000 400 \
	"eval	xticks	graphChecks.ticks('#xticks text')" \
	"eval	yticks	graphChecks.ticks('#yticks text')" \
	"eval	last	graphChecks.inside(document.querySelector('#xticks text:last-of-type'))" >/dev/null
empty "heap plot: time ticks on round values" heap xticks
empty "heap plot: byte ticks on round values" heap yticks
empty "heap plot: the last time label inside the image" heap last

n=$(ls "$shots"/*.png 2>/dev/null | wc -l)
check "screenshots kept in $shots ($n)" test "$n" -ge 12
finish
