# fish completion for cprof. Commands come from 'cprof --list-cmds' and each
# command's options from 'cprof COMMAND --list-opts', so a new command or
# flag needs no edit here. Only option values are known below.

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

# Options are offered only where no option value or workload is expected.
function __cprof_wants_opt
    __cprof_cmd >/dev/null; or return 1
    __cprof_after_dashdash; and return 1
    not __cprof_prev_is -i --input -o --output -f --format -s --sort -e --event --color --call-graph -M --asm-syntax --percent-limit
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

function __cprof_opts
    set -l cmd (__cprof_cmd)
    test "$cmd" = help; and return
    set -l bin (__cprof_bin)
    $bin $cmd --list-opts 2>/dev/null
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
complete -c cprof -n 'not __cprof_after_dashdash; and __cprof_prev_is -i --input -o --output' -F
complete -c cprof -n 'not __cprof_after_dashdash; and __cprof_prev_is --color' -a 'auto always never'
complete -c cprof -n 'not __cprof_after_dashdash; and __cprof_prev_is --call-graph' -a fp
complete -c cprof -n 'test "$(__cprof_cmd)" = report; and not __cprof_after_dashdash; and __cprof_prev_is -f --format' \
    -a 'text json csv folded'
complete -c cprof -n 'test "$(__cprof_cmd)" = export; and not __cprof_after_dashdash; and __cprof_prev_is -f --format' \
    -a 'pprof speedscope chrome folded json csv'
complete -c cprof -n 'test "$(__cprof_cmd)" = report; and not __cprof_after_dashdash; and __cprof_prev_is -s --sort' \
    -a 'self total line'
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and not __cprof_after_dashdash; and __cprof_prev_is -e --event' \
    -a '(__cprof_events)'
complete -c cprof -n 'test "$(__cprof_cmd)" = stat; and not __cprof_after_dashdash; and __cprof_prev_is -e --event' \
    -a '(__cprof_events)'
complete -c cprof -n 'test "$(__cprof_cmd)" = stat; and not __cprof_after_dashdash; and __cprof_prev_is -f --format' \
    -a 'text json csv'

complete -c cprof -n 'test "$(__cprof_cmd)" = annotate; and __cprof_prev_is -f --format' -a 'text json'
complete -c cprof -n 'test "$(__cprof_cmd)" = annotate; and __cprof_prev_is -M --asm-syntax' -a 'intel att'
complete -c cprof -n 'test "$(__cprof_cmd)" = annotate; and __cprof_wants_opt; and not string match -q -- "-*" (commandline -ct)' \
    -a '(__cprof_symbols)'

# --mem takes its value after '=' only: --mem=exact, --mem=sample[:BYTES].
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and not __cprof_after_dashdash; and string match -q -- "--mem=*" (commandline -ct)' \
    -a '--mem=exact --mem=sample --mem=sample:'

# cprof record [OPTIONS] -- CMD ARGS
complete -c cprof -n 'test "$(__cprof_cmd)" = record; and __cprof_after_dashdash' -a '(__cprof_workload)'
complete -c cprof -n 'test "$(__cprof_cmd)" = stat; and __cprof_after_dashdash' -a '(__cprof_workload)'
