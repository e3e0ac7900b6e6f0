# gpu-lib.sh - shared by the checks that need a GPU (run.sh, hw-checks.sh):
# nvcc, skipping (77) where nothing can run, building CUDA programs for the
# device here, and checking a build for launching frames lost to tail
# calls. Source it; needs CPROF (the cprof binary).
: "${CPROF:?CPROF must point at the cprof binary}"
GPU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${CUDA_HOME:-}" ]; then
	for d in /usr/local/cuda-13.0 /usr/local/cuda; do [ -d "$d" ] && { CUDA_HOME=$d; break; }; done
fi
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=${NVCC:-$(command -v nvcc || echo "$CUDA_HOME/bin/nvcc")}

need_nvcc() { [ -x "$NVCC" ] || { echo "skipped: no nvcc (set NVCC or CUDA_HOME)"; exit 77; }; }

have_gpu() { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }

# cprof record needs perf events; where they are not permitted (paranoid
# setting, container) there is nothing to check: skip, saying why.
need_perf() { # DIR
	"$CPROF" record -q -o "$1/perf-probe.data" -- true 2>"$1/perf-probe.err" && return 0
	if grep -Eq "no permission|not supported here|perf_event" "$1/perf-probe.err"; then
		echo "skipped: cprof record cannot use perf events here: $(head -n 1 "$1/perf-probe.err")"
		exit 77
	fi
	echo "FAIL: 'cprof record -- true' fails:"
	cat "$1/perf-probe.err"
	exit 1
}

# Built for this machine's GPU (-arch=native; nvcc falls back to its
# default without one) and with every launching frame kept: at -O2 a
# function whose last statement is a launch (kernel<<<...>>>(...)) ends in
# a jump to nvcc's device stub, so its frame is gone when CUPTI calls
# back; -fno-optimize-sibling-calls keeps the call a call.
cuda_build() { # OUT SRC [NVCC ARGS...]
	local out=$1 src=$2
	shift 2
	"$NVCC" -O2 -g -lineinfo -arch=native -Xcompiler -fno-omit-frame-pointer,-fno-optimize-sibling-calls \
		-o "$out" "$src" "$@"
}

# Prints "func -> target" for each of the functions (plain C++ names) that
# ends in a jump to another function, and fails if there is one or if a
# function is not in the binary at all.
tail_calls() { # BINARY FUNC...
	python3 - "$@" <<'PY'
import re, subprocess, sys
binary, funcs = sys.argv[1], sys.argv[2:]
out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", binary],
                     capture_output=True, text=True, check=True).stdout
cur, seen, bad = None, set(), []
for line in out.splitlines():
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        cur = next((f for f in funcs if m.group(1).startswith(f + "(")), None)
        if cur:
            seen.add(cur)
        continue
    m = re.search(r"\sjmp\s+[0-9a-f]+ <(.*)>$", line) if cur else None
    if m and not m.group(1).startswith(cur + "("):
        bad.append(f"{cur} -> {m.group(1)}")
bad += [f"{f}: not in {binary}" for f in funcs if f not in seen]
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
}
