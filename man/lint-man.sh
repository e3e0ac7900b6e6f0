#!/bin/bash
# lint-man.sh PAGE... - check generated man pages for roff errors and warnings,
# and for a section heading given twice (what a bad merge of two versions
# of a page leaves). Uses groff (-ww: all warnings) or, failing that, mandoc
# -Tlint; exits 77 (skipped) when neither is installed. Any diagnostic fails
# the test.
set -u

if command -v groff >/dev/null 2>&1; then
	lint() { groff -man -ww -z "$1" 2>&1; }
elif command -v mandoc >/dev/null 2>&1; then
	lint() { mandoc -man -Tlint -W warning "$1" 2>&1; }
else
	echo "skipped: neither groff nor mandoc is installed"
	exit 77
fi

fail=0
for page in "$@"; do
	out=$(lint "$page")
	twice=$(grep '^\.SH' "$page" | sort | uniq -d)
	[ -z "$twice" ] || out="${out:+$out
}section twice: $twice"
	if [ -n "$out" ]; then
		echo "FAIL: ${page##*/}"
		printf '%s\n' "$out"
		fail=1
	else
		echo "ok: ${page##*/}"
	fi
done
exit $fail
