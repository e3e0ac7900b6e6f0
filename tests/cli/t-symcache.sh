#!/bin/bash
# t-symcache.sh - the symbol cache from the command line: a second
# recording of the same program takes its symbols from the cache (and,
# verified, they are libdw's) and the hottest function's code for
# annotate, a damaged cache is ignored without harm, and CPROF_CACHE_DIR=
# turns the cache off.
. "$(dirname "$0")/test-lib.sh"
NOFP="$WORKLOADS/nofp"
export CPROF_CACHE_DIR="$TMP/cache"

meta() { # FILE KEY -> value from report --header-only
	"$CPROF" report -i "$1" --header-only | sed -n "s/^# $2: //p"
}
num() { # the first number of a value
	echo "${1:-}" | awk '{ print $1 + 0 }'
}

"$CPROF" record -q --call-graph dwarf -o one.data -- "$NOFP" chain 2 >/dev/null
check "first run: no hits, addresses resolved and saved" sh -c "[ '$(meta one.data symcache_hits)' = 0 ] && [ $(num "$(meta one.data symcache_misses)") -gt 0 ]"
written=$(meta one.data symcache_files | sed -n 's/.* \([0-9]*\) written/\1/p')
check "first run wrote cache files ($written)" test "${written:-0}" -gt 0
check "cache files are the user's alone (0600)" sh -c "[ -z \"\$(find '$CPROF_CACHE_DIR/symbols' -type f ! -perm 600)\" ]"

CPROF_SYMCACHE_VERIFY=1 "$CPROF" record -q --call-graph dwarf -o two.data -- "$NOFP" chain 2 >/dev/null
hits=$(num "$(meta two.data symcache_hits)")
echo "second run: $hits addresses from the cache, $(meta two.data symcache_misses) resolved anew"
check "second run: addresses come from the cache" test "$hits" -gt 0
check "second run: verified against libdw, no disagreement" test "$(meta two.data symcache_verify_mismatches)" = 0
check "second run: same call chains" sh -c "'$CPROF' report -i two.data --format folded | grep -q 'main;stage1;stage2;stage3;stage4;leaf_work'"
check "second run: source lines from the cache" sh -c "'$CPROF' report -i two.data --lines --format csv | grep -q 'nofp.c'"

# The hottest function's code: read through libdw and kept the first time
# (its instructions resolved ahead), taken from the cache the second, and
# annotate shows the same code, lines and inline ranges either way.
code1=$(meta one.data symcache_code)
code2=$(meta two.data symcache_code)
echo "symcache_code: first run '$code1', second run '$code2'"
check "first run: hot code kept, its instructions resolved ahead" sh -c "echo '$code1' | grep -Eq '^0 from the cache, [1-9][0-9]* kept, [1-9][0-9]* addresses'"
# (It may keep a colder function whose samples missed the cache: start-up
# code sampled for the first time.)
check "second run: hot code from the cache" sh -c "echo '$code2' | grep -Eq '^[1-9][0-9]* from the cache'"
listing() { # annotate's listing without sample counts
	"$CPROF" annotate -i "$1" --no-source leaf_work | grep -v -e samples -e hottest |
		sed -E 's/^ *[0-9]+\.[0-9]+ +[0-9]+ //; s/^ +//'
}
listing one.data > one.asm
listing two.data > two.asm
check "annotate lists instructions" grep -q 'work.h:9' one.asm
check "annotate: same code from the cache as from libdw" cmp one.asm two.asm

# Every cache file damaged: ignored, rebuilt, and the recording is whole.
for f in "$CPROF_CACHE_DIR"/symbols/*; do
	head -c 100 /dev/urandom > "$f"
done
"$CPROF" record -q --call-graph dwarf -o three.data -- "$NOFP" chain 2 >/dev/null
check "damaged cache: recording still written" test -s three.data
files=$(meta three.data symcache_files)
echo "damaged cache: $files"
check "damaged cache: files rejected" sh -c "echo '$files' | grep -qv ' 0 rejected'"
check "damaged cache: same call chains" sh -c "'$CPROF' report -i three.data --format folded | grep -q 'main;stage1;stage2;stage3;stage4;leaf_work'"
CPROF_SYMCACHE_VERIFY=1 "$CPROF" record -q --call-graph dwarf -o four.data -- "$NOFP" chain 2 >/dev/null
check "damaged cache: rebuilt, used again" test "$(num "$(meta four.data symcache_hits)")" -gt 0
check "damaged cache: rebuilt files agree with libdw" test "$(meta four.data symcache_verify_mismatches)" = 0

# Cache files a stamp may vouch for (the per-binary files, the debug
# copies, the kernel's symbols) are fsynced before they are renamed into
# place, so that no stamp vouches for a file a crash left torn; the stamps
# and the hot kernel cache are not (their readers check them whole).
if command -v strace >/dev/null; then
	CPROF_CACHE_DIR="$TMP/fresh-cache" strace -f -qq -y -o sync.txt -e trace=fsync \
		"$CPROF" record -q --call-graph dwarf -o synced.data -- "$NOFP" chain 1 >/dev/null
	check "cache files were written" sh -c "ls '$TMP/fresh-cache/symbols' | grep -q ."
	check "the data file is fsynced" grep -q 'synced.data' sync.txt
	check "the per-binary cache files are fsynced when made" grep -q '/[0-9a-f]\{16\}\.tmp\.' sync.txt
	check "stamps and the hot kernel cache are not fsynced" sh -c "! grep 'fresh-cache' sync.txt | grep '\.ok\.tmp\.\|/kallsyms\.hot\.tmp\.'"
	# and each is made once, though both finishing threads may need it
	# (ld.so's was made twice)
	check "each debug copy is made once" sh -c "test -z \"\$(grep -o '[0-9a-f]\{16\}\.debug\.tmp' sync.txt | sort | uniq -d)\""
else
	echo "skipped: fsync of cache files (no strace)"
fi

CPROF_CACHE_DIR= "$CPROF" record -q --call-graph dwarf -o off.data -- "$NOFP" chain 1 >/dev/null
check "CPROF_CACHE_DIR= turns the cache off" test "$(meta off.data symcache_hits)" = off
finish
