#!/bin/bash
# t-flamegraph-direct.sh - folded input is drawn straight into the graph,
# read in pieces; the result must be the graph the profile path draws (-e
# samples forces that path), byte for byte, with the same warnings and
# errors: across piece boundaries, CRLF, suffixes, zero counts, malformed
# lines, a NUL far into the input, stdin.
. "${SRCDIR:?set SRCDIR to the source tree}/tests/cli/test-lib.sh"
tmp=$TMP

# About 1 MB: several 256 KiB pieces, lines cut across them, CRLF and lone
# CR endings, kernel/inlined/JIT/waker suffixes, fractions, zero counts,
# empty frames, malformed lines and one line of 15,000 frames (longer than
# a piece).
awk 'BEGIN {
	s = 7
	for (i = 0; i < 12000; i++) {
		s = (s * 69069 + 1) % 4294967296
		d = 1 + s % 12
		l = "main"
		for (k = 0; k < d; k++) {
			s = (s * 69069 + 1) % 4294967296
			sfx = s % 11 == 0 ? "_[k]" : s % 13 == 0 ? "_[i]" : s % 17 == 0 ? "_[j]" : s % 19 == 0 ? "_[w]" : ""
			l = l ";" (s % 23 == 0 ? ";" : "") "fn_" k "_" (s % 37) sfx
		}
		s = (s * 69069 + 1) % 4294967296
		c = s % 29 == 0 ? "0" : s % 31 == 0 ? (s % 50) ".5" : s % 50 + 1
		end = s % 7 == 0 ? "\r\n" : s % 41 == 0 ? "\r" : "\n"
		if (s % 97 == 0)
			printf "not a stack line%s", end
		printf "%s %s%s", l, c, end
		if (i == 6000) {
			l = "deep"
			for (k = 0; k < 15000; k++)
				l = l ";deep_frame_" k % 100
			printf "%s 3\n", l
		}
	}
}' >"$tmp/in.folded"
[ "$(wc -c <"$tmp/in.folded")" -gt 600000 ] || fail "test input smaller than expected"

for opts in "" "--reverse" "--flamechart" "--flamechart --reverse" "--inverted --min-width 0" "--strict"; do
	"$CPROF" flamegraph $opts -i "$tmp/in.folded" >"$tmp/direct.svg" 2>"$tmp/direct.err"
	rd=$?
	"$CPROF" flamegraph $opts -e samples -i "$tmp/in.folded" >"$tmp/profile.svg" 2>"$tmp/profile.err"
	rp=$?
	if [ $rd -ne $rp ] || ! cmp -s "$tmp/direct.svg" "$tmp/profile.svg" || ! cmp -s "$tmp/direct.err" "$tmp/profile.err"; then
		fail "flamegraph $opts: direct path (exit $rd) and profile path (exit $rp) differ"
	else
		ok "flamegraph $opts: same graph, messages and exit code both ways (exit $rd)"
	fi
done
"$CPROF" flamegraph --min-width 0 -i "$tmp/in.folded" >"$tmp/all.svg" 2>"$tmp/all.err"
grep -q "warning: '.*': line [0-9]*: count is not a decimal number, skipping" "$tmp/all.err" \
	|| fail "the malformed lines were not reported"
grep -q '<title>deep (3 samples' "$tmp/all.svg" || fail "the 15,000-frame line is missing"
[ "$(grep -c '<title>deep_frame_' "$tmp/all.svg")" -eq 15000 ] || fail "the 15,000-frame line is not 15,000 frames deep"

# stdin (a pipe) is read the same way
"$CPROF" flamegraph -i "$tmp/in.folded" >"$tmp/file.svg" 2>/dev/null
cat "$tmp/in.folded" | "$CPROF" flamegraph -i - >"$tmp/pipe.svg" 2>/dev/null
cmp -s "$tmp/file.svg" "$tmp/pipe.svg" && ok "a pipe draws what the file draws" || fail "pipe and file differ"

# A NUL byte far into the input (after warnings would have been due): the
# input is binary data, said once, with no warning before it.
{ head -c 700000 "$tmp/in.folded"; printf 'x\0y 1\n'; } >"$tmp/nul.folded"
if "$CPROF" flamegraph -i "$tmp/nul.folded" >"$tmp/nul.svg" 2>"$tmp/nul.err"; then
	fail "input with a NUL byte accepted"
elif [ "$(wc -l <"$tmp/nul.err")" -ne 1 ] || ! grep -q 'binary data' "$tmp/nul.err"; then
	fail "NUL byte: expected one 'binary data' line, got: $(head -3 "$tmp/nul.err")"
else
	ok "a NUL byte 700 kB in is binary data, and nothing else is said"
fi
[ -s "$tmp/nul.svg" ] && fail "output written for binary input"

# Counts that are all zero: the same error both ways.
printf 'a;b 0\nc 0\n' >"$tmp/zero.folded"
"$CPROF" flamegraph -i "$tmp/zero.folded" >/dev/null 2>"$tmp/z1"; r1=$?
"$CPROF" flamegraph -e samples -i "$tmp/zero.folded" >/dev/null 2>"$tmp/z2"; r2=$?
[ $r1 -eq 1 ] && [ $r1 -eq $r2 ] && cmp -s "$tmp/z1" "$tmp/z2" && ok "all-zero counts: same error" \
	|| fail "all-zero counts: exit $r1/$r2, '$(cat "$tmp/z1")' vs '$(cat "$tmp/z2")'"

finish
