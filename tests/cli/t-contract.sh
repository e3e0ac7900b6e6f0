#!/bin/bash
# t-contract.sh - the command-line contract, checked for every command that
# 'cprof --list-cmds' prints. The checks are generated, so a new command or
# flag is covered without an edit; commands and options are named only where
# the contract is with someone else: perf's flag spellings, and the option
# values the completions know.
#
# For each command: --help exits 0 on stdout within 80 columns, 'cprof help
# CMD' prints the same, an unknown option exits 2 with the usage on stderr
# (and is named, also inside a cluster of short options),
# --list-opts lists well-formed options, and every option appears in the
# --help text, in man/cprof-CMD.1.scd and in each shell completion (or the
# completion asks --list-opts itself). Then each shell loads its completion
# and offers the commands and options. A shell that is not installed is
# skipped with a note.
#
# Environment: CPROF (the binary), SRCDIR (the source tree).
: "${SRCDIR:?set SRCDIR to the source tree}"
. "$SRCDIR/tests/cli/test-lib.sh"
tmp=$TMP

# A check that passed, counted without a line of its own (there are hundreds).
pass() { checks=$((checks + 1)); }
note() { echo "note: $*"; }
# check DESCRIPTION COMMAND...: test-lib's check, quiet when it passes.
check() {
	local what=$1
	shift
	if "$@"; then pass; else fail "$what"; fi
}

completions=(
	"$SRCDIR/completions/bash/cprof"
	"$SRCDIR/completions/zsh/_cprof"
	"$SRCDIR/completions/fish/cprof.fish"
)

# --- the global contract --------------------------------------------------

mapfile -t cmds < <("$CPROF" --list-cmds)
check "'cprof --list-cmds' prints at least one command" test ${#cmds[@]} -gt 0

"$CPROF" --help >"$tmp/out" 2>"$tmp/err"
check "'cprof --help' exits 0" test $? -eq 0
check "'cprof --help' writes nothing to stderr" test ! -s "$tmp/err"
for cmd in "${cmds[@]}"; do
	check "'cprof --help' lists '$cmd'" grep -qE "^  $cmd( |$)" "$tmp/out"
done

"$CPROF" >"$tmp/out" 2>"$tmp/err"
check "'cprof' without a command exits 2" test $? -eq 2
check "'cprof' without a command prints the usage on stderr" grep -q '^usage: cprof' "$tmp/err"

"$CPROF" no-such-command >"$tmp/out" 2>"$tmp/err"
check "an unknown command exits 2" test $? -eq 2
check "an unknown command prints nothing on stdout" test ! -s "$tmp/out"
check "an unknown command is named on stderr" grep -q "'no-such-command' is not a cprof command" "$tmp/err"

"$CPROF" help no-such-command >"$tmp/out" 2>"$tmp/err"
check "'cprof help' of an unknown command exits 2" test $? -eq 2

"$CPROF" --no-such-option >"$tmp/out" 2>"$tmp/err"
check "an unknown global option exits 2" test $? -eq 2

"$CPROF" help --help >"$tmp/out" 2>"$tmp/err"
check "'cprof help --help' exits 0" test $? -eq 0
check "'cprof help --help' prints the commands" grep -q '^usage: cprof' "$tmp/out"

# scdoc joins a definition that follows an indented paragraph without a
# blank line to that paragraph: every "*item*" line needs one before it.
for man in "$SRCDIR"/man/*.scd; do
	glued=$(awk '/^\*/ && prev ~ /^\t/ { print NR ": " $0 } { prev = $0 }' "$man")
	check "${man#"$SRCDIR"/}: a blank line before each item${glued:+: $glued}" test -z "$glued"
done

"$CPROF" --version >"$tmp/out" 2>"$tmp/err"
check "'cprof --version' exits 0" test $? -eq 0
check "'cprof --version' prints 'cprof VERSION'" grep -qE '^cprof [0-9]' "$tmp/out"

# --- per command ------------------------------------------------------------

# has_word FILE OPT: OPT occurs in FILE, not as part of a longer option.
has_word() {
	grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" "$1"
}

declare -A cmd_opts
for cmd in "${cmds[@]}"; do
	"$CPROF" "$cmd" --help >"$tmp/help" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'not implemented' "$tmp/err"; then
		note "skipping '$cmd': not implemented yet"
		continue
	fi
	check "'cprof $cmd --help' exits 0 (got $rc)" test $rc -eq 0
	check "'cprof $cmd --help' writes to stdout" test -s "$tmp/help"
	check "'cprof $cmd --help' writes nothing to stderr" test ! -s "$tmp/err"
	check "'cprof $cmd --help' starts with 'usage: cprof $cmd'" \
		grep -q "^usage: cprof $cmd" <(head -n 1 "$tmp/help")
	wide=$(awk 'length($0) > 80 { printf "%d: %s\n", length($0), $0 }' "$tmp/help")
	check "'cprof $cmd --help' fits in 80 columns${wide:+:
$wide}" test -z "$wide"
	check "'cprof $cmd --help' has no tabs" test -z "$(grep -P '\t' "$tmp/help")"

	"$CPROF" help "$cmd" >"$tmp/help2" 2>"$tmp/err"
	check "'cprof help $cmd' exits 0" test $? -eq 0
	check "'cprof help $cmd' prints the same as 'cprof $cmd --help'" cmp -s "$tmp/help" "$tmp/help2"

	"$CPROF" "$cmd" --no-such-option >"$tmp/out" 2>"$tmp/err"
	check "'cprof $cmd --no-such-option' exits 2" test $? -eq 2
	check "'cprof $cmd --no-such-option' prints nothing on stdout" test ! -s "$tmp/out"
	check "'cprof $cmd --no-such-option' names the option on stderr" grep -q -- '--no-such-option' "$tmp/err"
	check "'cprof $cmd --no-such-option' prints the usage on stderr" grep -q "^usage: cprof $cmd" "$tmp/err"
	# A short one inside a cluster is named, not the word before it.
	"$CPROF" "$cmd" -Z9 >"$tmp/out" 2>"$tmp/err"
	check "'cprof $cmd -Z9' exits 2" test $? -eq 2
	check "'cprof $cmd -Z9' names -Z: $(head -n 1 "$tmp/err")" grep -q -- "option '-Z' (in '-Z9')" "$tmp/err"

	"$CPROF" "$cmd" --list-opts >"$tmp/opts" 2>"$tmp/err"
	check "'cprof $cmd --list-opts' exits 0" test $? -eq 0
	check "'cprof $cmd --list-opts' lists options" test -s "$tmp/opts"
	bad=$(grep -vE '^(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*)$' "$tmp/opts")
	check "'cprof $cmd --list-opts' prints one -x or --long option a line${bad:+, not: $bad}" test -z "$bad"
	mapfile -t opts <"$tmp/opts"
	cmd_opts[$cmd]="${opts[*]}"

	for opt in "${opts[@]}"; do
		check "'cprof $cmd --help' mentions $opt" has_word "$tmp/help" "$opt"
	done

	man=$SRCDIR/man/cprof-$cmd.1.scd
	if [ -f "$man" ]; then
		for opt in "${opts[@]}"; do
			check "man/cprof-$cmd.1.scd documents $opt" has_word "$man" "$opt"
		done
		check "man/cprof.1.scd lists '$cmd'" grep -q "^\*$cmd\*" "$SRCDIR/man/cprof.1.scd"
		check "man/cprof.1.scd refers to cprof-$cmd(1)" grep -qF "*cprof-$cmd*(1)" "$SRCDIR/man/cprof.1.scd"
	else
		note "no man/cprof-$cmd.1.scd yet; its option checks are skipped"
	fi

	for comp in "${completions[@]}"; do
		name=${comp#"$SRCDIR"/}
		if grep -q -- '--list-opts' "$comp"; then
			pass # the completion asks the binary, so it cannot fall behind
		else
			for opt in "${opts[@]}"; do
				check "$name completes $opt for '$cmd'" has_word "$comp" "$opt"
			done
		fi
	done
done

# --- perf's spellings -------------------------------------------------------

# The one place options are named: what a perf user types must be an option
# of the same command (so the checks above hold it to --help, the man page
# and the completions). Several events, -a, -C, stat, annotate and export
# are not in this list.
declare -A perf_spellings=(
	[record]="-o -F -c -e -g -p -m -q -T -N -z -D --output --freq --count --event --call-graph --pid
		--mmap-pages --quiet --no-inherit --delay --timestamp --no-buildid-cache --compression-level"
	[report]="-i -s -n -G -g -T -q -v -e --input --sort --show-nr-samples --children --no-children
		--call-graph --inverted --threads --max-stack --symbol-filter --symbols --stdio --quiet
		--verbose --header-only --percent-limit --comm --tid --pid --dso --event"
	[diff]="--event"
)
for cmd in "${!perf_spellings[@]}"; do
	[ -n "${cmd_opts[$cmd]:-}" ] || { fail "perf's spellings: no command '$cmd'"; continue; }
	for opt in ${perf_spellings[$cmd]}; do
		check "'cprof $cmd' takes perf's $opt" has_word <(printf '%s\n' ${cmd_opts[$cmd]}) "$opt"
	done
done

# Descriptions for the completions come from --help through --describe-opts:
# every option it names is a real option, and most have a description.
for cmd in "${!cmd_opts[@]}"; do
	"$CPROF" --describe-opts "$cmd" >"$tmp/desc" 2>"$tmp/err"
	check "'cprof --describe-opts $cmd' exits 0" test $? -eq 0
	bad=$(cut -f1 "$tmp/desc" | while read -r o; do has_word <(printf '%s\n' ${cmd_opts[$cmd]}) "$o" || echo "$o"; done)
	check "'cprof --describe-opts $cmd' names only options of $cmd${bad:+: $bad}" test -z "$bad"
	check "'cprof --describe-opts $cmd' describes options" test "$(awk -F'\t' '$3 != ""' "$tmp/desc" | wc -l)" -ge 3
done

# --- the completions load and offer commands and options ------------------

# A directory whose 'cprof' is the binary under test, for the shells' PATH.
mkdir "$tmp/bin"
ln -s "$(realpath "$CPROF")" "$tmp/bin/cprof"
export PATH="$tmp/bin:$PATH"

# The palettes the binary takes, from its own error message.
palettes() {
	"$CPROF" flamegraph -c no-such-palette 2>&1 | sed -n 's/.*expected one of: //p' | tr -d ',' | tr ' ' '\n'
}

# No completion may ask the binary for something it does not have.
check "'cprof record --list-events' lists the events" sh -c "'$CPROF' record --list-events | grep -qx cpu-clock"

# bash: COMPREPLY for the words given, one per line.
bash_complete() {
	bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion || exit 1
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_cprof cprof "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$SRCDIR/completions/bash/cprof" "$@"
}

# offers NAME FILE WORD...: FILE (one candidate a line) holds every WORD.
offers() {
	local what=$1 file=$2 w
	shift 2
	for w in "$@"; do
		check "$what offers '$w'" grep -qxF -- "$w" "$file"
	done
}

if [ -f /usr/share/bash-completion/bash_completion ]; then
	bash_complete cprof "" >"$tmp/c"
	offers "bash: 'cprof '" "$tmp/c" "${cmds[@]}"
	bash_complete cprof help "" >"$tmp/c"
	offers "bash: 'cprof help '" "$tmp/c" "${cmds[@]}"
	for cmd in "${!cmd_opts[@]}"; do
		bash_complete cprof "$cmd" -- >"$tmp/c"
		# shellcheck disable=SC2046,SC2086 # the options are words
		offers "bash: 'cprof $cmd --'" "$tmp/c" $(printf '%s\n' ${cmd_opts[$cmd]} | grep '^--')
	done
	if [ -n "${cmd_opts[report]:-}" ]; then
		bash_complete cprof report --format "" >"$tmp/c"
		offers "bash: 'cprof report --format '" "$tmp/c" text json csv folded
	fi
	# Option values, where the binary knows them.
	(cd "$tmp" && touch prof.data && bash_complete cprof report --plot "") >"$tmp/c"
	offers "bash: files after 'report --plot '" "$tmp/c" prof.data
	(cd "$tmp" && bash_complete cprof report --timeline "") >"$tmp/c"
	offers "bash: files after 'report --timeline '" "$tmp/c" prof.data
	(cd "$tmp" && bash_complete cprof flamegraph --diff "") >"$tmp/c"
	offers "bash: files after 'flamegraph --diff '" "$tmp/c" prof.data
	(cd "$tmp" && bash_complete cprof diff "") >"$tmp/c"
	offers "bash: files for 'cprof diff '" "$tmp/c" prof.data
	bash_complete cprof record --call-graph "" >"$tmp/c"
	offers "bash: 'record --call-graph '" "$tmp/c" fp dwarf
	bash_complete cprof record -e "" >"$tmp/c"
	# shellcheck disable=SC2046 # events are words
	offers "bash: 'record -e '" "$tmp/c" $("$CPROF" record --list-events)
	bash_complete cprof flamegraph -c "" >"$tmp/c"
	# shellcheck disable=SC2046 # palettes are words
	offers "bash: 'flamegraph -c '" "$tmp/c" $(palettes)
	bash_complete cprof diff --format "" >"$tmp/c"
	offers "bash: 'diff --format '" "$tmp/c" text json csv
	bash_complete cprof diff --metric "" >"$tmp/c"
	offers "bash: 'diff --metric '" "$tmp/c" self total
	bash_complete cprof diff --sort "" >"$tmp/c"
	offers "bash: 'diff --sort '" "$tmp/c" delta abs name
	bash_complete cprof report --weight "" >"$tmp/c"
	offers "bash: 'report --weight '" "$tmp/c" bytes count
	bash_complete cprof report -s "" >"$tmp/c"
	offers "bash: 'report -s '" "$tmp/c" self total line comm pid tid dso sym
else
	note "bash completion skipped: /usr/share/bash-completion/bash_completion not installed"
fi

if command -v zsh >/dev/null 2>&1; then
	out=$(zsh -n "$SRCDIR/completions/zsh/_cprof" 2>&1)
	check "zsh: _cprof parses${out:+: $out}" test -z "$out"
	out=$(zsh -fc '
		fpath=("$1" $fpath)
		autoload -U compinit && compinit -u -D || exit 1
		[[ $_comps[cprof] == _cprof ]] || { print "compinit did not bind _cprof to cprof"; exit 1; }
		autoload +X _cprof || exit 1
		print -r -- loaded
	' _ "$SRCDIR/completions/zsh" 2>&1)
	check "zsh: compinit loads _cprof for cprof: $out" test "$out" = loaded
else
	note "zsh completion skipped: zsh not installed"
fi

# fish: candidates for a command line, one per line.
# shellcheck disable=SC2016 # $argv is for fish
fish_complete() {
	fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2] | string replace -r "\t.*" ""' \
		"$SRCDIR/completions/fish/cprof.fish" "$1" 2>"$tmp/fish-err"
}

if command -v fish >/dev/null 2>&1; then
	fish_complete "cprof " >"$tmp/c"
	check "fish: cprof.fish loads without errors: $(cat "$tmp/fish-err")" test ! -s "$tmp/fish-err"
	offers "fish: 'cprof '" "$tmp/c" "${cmds[@]}"
	for cmd in "${!cmd_opts[@]}"; do
		fish_complete "cprof $cmd --" >"$tmp/c"
		# shellcheck disable=SC2046,SC2086 # the options are words
		offers "fish: 'cprof $cmd --'" "$tmp/c" $(printf '%s\n' ${cmd_opts[$cmd]} | grep '^--')
	done
	# Descriptions, and values (not options) after options that take one.
	out=$(fish --no-config -c 'source $argv[1]; complete -C "cprof report --inp"' "$SRCDIR/completions/fish/cprof.fish")
	check "fish: options come with their description: $out" grep -qP '^--input\t.+' <<<"$out"
	for words in "report --plot " "report --timeline " "flamegraph -c " "flamegraph --diff " "record -e "; do
		fish_complete "cprof $words" >"$tmp/c"
		check "fish: 'cprof $words' offers no options" sh -c "! grep -q '^-' '$tmp/c'"
	done
	(cd "$tmp" && fish_complete "cprof report --input=") >"$tmp/c"
	offers "fish: 'cprof report --input='" "$tmp/c" --input=prof.data
	fish_complete "cprof flamegraph -c " >"$tmp/c"
	# shellcheck disable=SC2046 # palettes are words
	offers "fish: 'flamegraph -c '" "$tmp/c" $(palettes)
	fish_complete "cprof record --call-graph " >"$tmp/c"
	offers "fish: 'record --call-graph '" "$tmp/c" fp dwarf
else
	note "fish completion skipped: fish not installed"
fi

finish
