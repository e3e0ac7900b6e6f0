#!/bin/sh
# readme-picture.sh README ROW... - README's dependency picture lists the
# same edges as the layering table of src/meson.build. Each ROW is
# "LIBRARY:USE,USE" from the table; the picture is the block under
# "Source tree" that starts with the line "library    may use", one line
# per library ("-" when it uses none), ended by the line for cprof.
readme=$1
shift
# One "LIBRARY:USES" line per library, its uses in sorted order.
norm() {
	while IFS=: read -r lib uses; do
		echo "$lib:$(echo "$uses" | tr ',' '\n' | sort | paste -sd, -)"
	done | sort
}
picture=$(awk '/^library +may use$/ { on = 1; next } on && /^cprof / { exit } on { print }' "$readme" |
	awk '{ printf "%s:", $1; for (i = 2; i <= NF; i++) if ($i != "-") printf "%s%s", (i > 2 ? "," : ""), $i; print "" }' |
	norm)
[ -n "$picture" ] || { echo "$readme: no dependency picture (a line 'library    may use' under Source tree)"; exit 1; }
table=$(for row in "$@"; do echo "$row"; done | norm)
if [ "$picture" != "$table" ]; then
	echo "$readme: the dependency picture differs from the layering table in src/meson.build"
	echo "README:"
	echo "$picture"
	echo "table:"
	echo "$table"
	exit 1
fi
echo "README's picture lists the table's $# libraries and their edges"
