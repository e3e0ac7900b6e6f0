#!/bin/sh
# file-size.sh SRC - no file in src/ is over 500 lines unless its opening
# comment says why it is one file ("One file").
status=0
for f in $(find "$1" -name '*.c' -o -name '*.h' -o -name '*.js' | sort); do
	n=$(wc -l <"$f")
	[ "$n" -le 500 ] && continue
	if ! awk 'NR == 1, /\*\// { print } ' "$f" | grep -q 'One file'; then
		echo "${f#"$1"/}: $n lines, and its opening comment does not say why it is one file"
		status=1
	fi
done
[ $status = 0 ] && echo "every file over 500 lines says why"
exit $status
