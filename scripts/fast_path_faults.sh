#!/bin/sh
# Lists the code of libgpa_preload.so that fast mode faults in outside `.text.gpa_fast`, the
# section capi/fast-path.ld gathers the fast path into (docs/performance.md, "Fast mode: peak
# RSS"). Each such fault maps another 64 KiB window of the library (the kernel's fault-around)
# into the program's RSS; a function named here belongs in capi/fast-path.ld.
#
# Builds the release library and the C benchmarks of bench/c/ at a small scale, runs each in
# fast mode under `perf record -e page-faults -d` (a software event: no hardware counters
# needed) and prints the faults whose instruction or data address is in the library's
# executable code but not in the section, as file offsets of the library.
# No output but the header: nothing to add.
#
# Usage: scripts/fast_path_faults.sh [PROGRAM ARGS...]   (from the repository root; without
# arguments, the benchmarks). Needs perf (Debian linux-perf), python3, a C compiler, readelf.
set -eu
cargo build --release -q -p gpa-capi
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
library="$target_dir/release/libgpa_preload.so"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "faults in the code of $library outside .text.gpa_fast:"
run() {
    name=$1
    shift
    GPA_MODE=fast perf record -q -e page-faults -c 1 -d -o "$work/$name.data" \
        env LD_PRELOAD="$library" "$@" >/dev/null 2>&1 || true
    perf script -i "$work/$name.data" --show-mmap-events -F addr 2>/dev/null |
        python3 -c '
import re, subprocess, sys
name, library = sys.argv[1:]
# File offsets of the section (and of .init and .fini, beside it) and of the code segment.
wanted = []
for line in subprocess.run(["readelf", "-SW", library], capture_output=True, text=True).stdout.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] in (".text.gpa_fast", ".init", ".fini"):
        wanted.append((int(f[4], 16), int(f[4], 16) + int(f[5], 16)))
for line in subprocess.run(["readelf", "-lW", library], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if len(f) > 7 and f[0] == "LOAD" and f[6:8] == ["R", "E"]:
        code_lo, code_hi = int(f[1], 16), int(f[1], 16) + int(f[4], 16)
base = None
for line in sys.stdin:
    m = re.search(r"\[0x([0-9a-f]+)\(0x[0-9a-f]+\) @ (0x[0-9a-f]+|0) .*r-xp (\S+)$", line)
    if m and m.group(3) == library and base is None:
        base = int(m.group(1), 16) - int(m.group(2), 16)
        continue
    f = line.split()
    if base is None or len(f) != 1:
        continue
    offset = int(f[0], 16) - base
    if code_lo <= offset < code_hi and not any(lo <= offset < hi for lo, hi in wanted):
        print(f"{name}: fault at file offset {offset:#x}")
' "$name" "$library"
}
if [ $# -gt 0 ]; then
    run program "$@"
    exit 0
fi
cc=${CC:-cc}
for source in bench/c/*.c examples/c/alloc_workload.c; do
    name=$(basename "$source" .c)
    case $name in common | spawn_rss) continue ;; esac
    $cc -O2 -pthread -I bench/c -o "$work/$name" "$source" -lm
    case $name in
    alloc_workload) run "$name" "$work/$name" 1 ;;
    *) run "$name" "$work/$name" 5 2 ;;
    esac
done
