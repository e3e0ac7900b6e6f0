# fish completion for cprof. Commands come from 'cprof --list-cmds' and each
# command's options from 'cprof COMMAND --list-opts', with descriptions and
# argument names from 'cprof --describe-opts COMMAND' (its --help), so a new
# command or flag needs no edit here. Only option values are known below.

# The cprof being completed (./build/src/cprof too), else the one on PATH.
function __cprof_bin
    set -l bin (commandline -opc)[1]
    if string match -q -- '*/*' $bin; and test -x $bin
        echo $bin
    else if command -q -- $bin
        echo $bin
    else
        echo cprof
    end
end

# The command word, or nothing while it is still being typed.
function __cprof_cmd
    for t in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $t
            echo $t
            return 0
        end
    end
    return 1
end

function __cprof_needs_cmd
    not __cprof_cmd >/dev/null
end

function __cprof_after_dashdash
    contains -- -- (commandline -opc)[3..-1]
end

# True when the previous word is one of the arguments.
function __cprof_prev_is
    set -l prev (commandline -opc)[-1]
    contains -- $prev $argv
end

# "OPTION<TAB>ARG<TAB>DESCRIPTION" lines of the command's options.
function __cprof_described
    set -l cmd (__cprof_cmd)
    test -n "$cmd"; and test "$cmd" != help; or return
    set -l bin (__cprof_bin)
    $bin --describe-opts $cmd 2>/dev/null
end

# The options of the command that take a value (their argument has a name).
function __cprof_value_opts
    for line in (__cprof_described)
        set -l f (string split \t -- $line)
        test -n "$f[2]"; and printf "%s\n" $f[1]
    end
end

# True when the previous word is an option whose value is being typed. perf's
# 'report -g' may stand alone, so there an option may follow too.
function __cprof_wants_value
    set -l prev (commandline -opc)[-1]
    string match -q -- '-*' $prev; or return 1
    test "$(__cprof_cmd)" = report; and contains -- $prev -g --call-graph; and return 1
    contains -- $prev (__cprof_value_opts)
end

# Options are offered only where no option value or workload is expected.
function __cprof_wants_opt
    __cprof_cmd >/dev/null; or return 1
    __cprof_after_dashdash; and return 1
    string match -q -- '--*=*' (commandline -ct); and return 1
    not __cprof_wants_value
end

# The token is --OPT=... for one of the options given.
function __cprof_cur_is_value_of
    set -l tok (commandline -ct)
    string match -q -- '--*=*' $tok; or return 1
    contains -- (string replace -r '=.*' '' -- $tok) $argv
end

# Files for --OPT=PREFIX, with the --OPT= kept.
function __cprof_eq_files
    set -l tok (commandline -ct)
    set -l opt (string replace -r '=.*' '=' -- $tok)
    for f in (__fish_complete_path (string replace -r '^[^=]*=' '' -- $tok))
        printf "%s\n" $opt$f
    end
end

# Values for --OPT=PREFIX, with the --OPT= kept.
function __cprof_eq_values
    set -l opt (string replace -r '=.*' '=' -- (commandline -ct))
    for v in $argv
        printf "%s\n" $opt$v
    end
end

# cprof annotate: function names from the recording (-i FILE, else cprof.data).
function __cprof_symbols
    set -l tok (commandline -opc)
    set -l input cprof.data
    for i in (seq (count $tok))
        if contains -- $tok[$i] -i --input; and test $i -lt (count $tok)
            set input $tok[(math $i + 1)]
        end
    end
    set -l bin (__cprof_bin)
    $bin annotate --list-symbols -i $input 2>/dev/null
end

# Each option with its description; options --help does not describe
# (aliases) plainly.
function __cprof_opts
    set -l cmd (__cprof_cmd)
    test "$cmd" = help; and return
    set -l bin (__cprof_bin)
    set -l described
    for line in (__cprof_described)
        set -l f (string split \t -- $line)
        printf '%s\t%s\n' $f[1] $f[3]
        set -a described $f[1]
    end
    for o in ($bin $cmd --list-opts 2>/dev/null)
        contains -- $o $described; or printf "%s\n" $o
    end
end

function __cprof_cmds
    set -l bin (__cprof_bin)
    $bin --list-cmds 2>/dev/null
end

function __cprof_events
    set -l bin (__cprof_bin)
    set -l ev ($bin record --list-events 2>/dev/null)
    or set ev cycles instructions cache-misses branch-misses cpu-clock task-clock page-faults context-switches
    printf '%s\n' $ev
end

function __cprof_workload
    set -l tok (commandline -opc) (commandline -ct)
    set -l i (contains -i -- -- $tok)
    set -l rest $tok[(math $i + 1)..-1]
    if test (count $rest) -le 1
        __fish_complete_command
    else
        complete -C (string join -- ' ' (string escape -- $rest))
    end
end

# A value of the command's option: cmd is the command, or * for any.
function __cprof_value_for
    set -l cmd $argv[1]
    set -e argv[1]
    test "$cmd" = '*'; or test "$(__cprof_cmd)" = $cmd; or return 1
    __cprof_after_dashdash; and return 1
    __cprof_prev_is $argv
end

complete -c cprof -f

# cprof COMMAND, cprof help COMMAND
complete -c cprof -n __cprof_needs_cmd -a '(__cprof_cmds)'
complete -c cprof -n __cprof_needs_cmd -a help -d 'Show the help of a command'
complete -c cprof -n __cprof_needs_cmd -l help -d 'Show the commands'
complete -c cprof -n __cprof_needs_cmd -l version -d 'Show the version'
complete -c cprof -n __cprof_needs_cmd -l list-cmds -d 'List the commands'
complete -c cprof -n 'test "$(__cprof_cmd)" = help; and test (count (commandline -opc)) -eq 2' \
    -a '(__cprof_cmds)'

# Each command's options, from the binary.
complete -c cprof -n __cprof_wants_opt -a '(__cprof_opts)'

# Option values.
set -l __cprof_file_opts -i --input -o --output --plot --timeline --diff --export-json
complete -c cprof -n "__cprof_value_for '*' $__cprof_file_opts" -F
complete -c cprof -n "__cprof_cur_is_value_of --input --output --plot --timeline --diff --export-json" -a '(__cprof_eq_files)'
complete -c cprof -n "__cprof_value_for '*' --color" -a 'auto always never'
complete -c cprof -n "__cprof_cur_is_value_of --color" -a '(__cprof_eq_values auto always never)'
complete -c cprof -n "__cprof_value_for '*' --weight" -a 'bytes count'
complete -c cprof -n "__cprof_cur_is_value_of --weight" -a '(__cprof_eq_values bytes count)'
complete -c cprof -n "__cprof_value_for record --call-graph" -a 'fp dwarf dwarf,65528'
complete -c cprof -n "test \"\$(__cprof_cmd)\" = record; and __cprof_cur_is_value_of --call-graph" \
    -a '(__cprof_eq_values fp dwarf dwarf,65528)'
complete -c cprof -n "__cprof_value_for record -C --cpu" -a '(seq 0 (math (getconf _NPROCESSORS_ONLN) - 1))'
complete -c cprof -n "__cprof_value_for report -g --call-graph" -a 'caller callee none'
complete -c cprof -n "__cprof_value_for report -f --format" -a 'text json csv folded'
complete -c cprof -n "__cprof_value_for report -s --sort" \
    -a 'self total line sym dso comm pid tid cpu comm,dso,sym dso,sym comm,sym comm,pid'
complete -c cprof -n "__cprof_value_for export -f --format" -a 'pprof speedscope chrome folded json csv'
complete -c cprof -n "__cprof_value_for record -e --event" -a '(__cprof_events)'
complete -c cprof -n "__cprof_value_for stat -e --event" -a '(__cprof_events)'
complete -c cprof -n "__cprof_value_for stat -f --format" -a 'text json csv'
complete -c cprof -n "__cprof_value_for flamegraph -c --colors" \
    -a 'hot cold mem io rainbow java red green blue yellow purple aqua orange'
complete -c cprof -n "__cprof_value_for diff -f --format" -a 'text json csv'
complete -c cprof -n "__cprof_value_for diff -m --metric" -a 'self total'
complete -c cprof -n "__cprof_value_for diff -s --sort" -a 'delta abs name'
complete -c cprof -n "__cprof_value_for annotate -f --format" -a 'text json'
complete -c cprof -n "__cprof_value_for annotate -M --asm-syntax" -a 'intel att'
complete -c cprof -n "__cprof_value_for record --slow-threshold" -a '100us 1ms 10ms 100ms'
complete -c cprof -n "__cprof_value_for report --classes" -a '1ms,10ms,100ms 100us,1ms,10ms 10ms,100ms,1s'
complete -c cprof -n "__cprof_value_for report --classes-file" -F

# Positional files: diff's BEFORE and AFTER, flamegraph --diff's AFTER.
complete -c cprof -n 'test "$(__cprof_cmd)" = diff; and __cprof_wants_opt; and not string match -q -- "-*" (commandline -ct)' -F
complete -c cprof -n 'test "$(__cprof_cmd)" = flamegraph; and contains -- --diff (commandline -opc); and __cprof_wants_opt; and not string match -q -- "-*" (commandline -ct)' -F

complete -c cprof -n 'test "$(__cprof_cmd)" = annotate; and __cprof_wants_opt; and not string match -q -- "-*" (commandline -ct)' \
    -a '(__cprof_symbols)'
complete -c cprof -n "__cprof_value_for annotate -s --symbol" -a '(__cprof_symbols)'

# --mem takes its value after '=' only: --mem=exact, --mem=sample[:BYTES].
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and not __cprof_after_dashdash; and string match -q -- "--mem=*" (commandline -ct)' \
    -a '--mem=exact --mem=sample --mem=sample:'

# --syscalls takes its value after '=' only: --syscalls=slowest:N.
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and not __cprof_after_dashdash; and string match -q -- "--syscalls=*" (commandline -ct)' \
    -a '--syscalls=slowest:'

# cprof record [OPTIONS] -- CMD ARGS
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and __cprof_after_dashdash' -a '(__cprof_workload)'
complete -c cprof -n 'test "$(__cprof_cmd)" = stat; and __cprof_after_dashdash' -a '(__cprof_workload)'
