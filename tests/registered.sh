#!/bin/sh
# registered.sh TESTS_DIR REGISTERED... - name every test file on disk that
# meson does not know: the files matching the patterns below, each given as
# a path relative to TESTS_DIR, against the REGISTERED paths. Prints one
# line per orphan and exits 1 if there is any. Run by tests/meson.build at
# configure time and again as the test 'registered' (a file added after
# configure).
dir=$1
shift
cd "$dir" || exit 2
orphans=0
for f in cli/t-*.sh unit/test-*.c fuzz/fuzz-*.c bench/bench-*.sh \
	gpu/*.sh gpu/*.cu hw/*.sh reliability/*.sh \
	layering/*.c layering/*.sh; do
	[ -e "$f" ] || continue
	case " $* " in
	*" $f "*) ;;
	*) echo "tests/$f"; orphans=$((orphans + 1)) ;;
	esac
done
[ "$orphans" -eq 0 ]
