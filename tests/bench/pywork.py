# pywork.py - a CPU-bound Python workload for the DWARF benchmarks, run by a
# debug build of CPython (python3.11-dbg: -Og, no frame pointers, 14 MB of
# DWARF). A fixed amount of work: ROUNDS rounds of pure-Python recursion,
# string formatting and dicts, and recursion that passes through C builtins
# (sum, map, sorted with a key), which is what makes C stacks deep.
# With WORKLOAD_TIMING set it prints "elapsed SECONDS" on stderr.
import os
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def text(n):
    words = {}
    for i in range(n):
        w = "w%d" % (i * 7919 % 1000)
        words[w] = words.get(w, 0) + len(w.upper())
    return sorted(words.items(), key=lambda kv: kv[1])[:3]


def tree(depth):
    if depth == 0:
        return sum(sorted(range(40), key=lambda v: -v))
    return sum(map(tree, [depth - 1] * 2)) if depth % 4 else sum(tree(d) for d in [depth - 1])


rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 12
t0 = time.monotonic()
for _ in range(rounds):
    fib(27)
    text(60000)
    tree(18)
if os.environ.get("WORKLOAD_TIMING"):
    print("elapsed %.6f" % (time.monotonic() - t0), file=sys.stderr)
