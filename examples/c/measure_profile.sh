#!/bin/bash
# The cost of heap profiling (docs/profile.md, README): each workload under glibc malloc, under
# `gpa run --fast --profile` (gpa's profiler, the profile written in DHAT's format at exit),
# under `gpa run --profile` (check mode and profile) and under Valgrind's DHAT
# (`valgrind --tool=dhat`). The variants of a workload run interleaved, ROUNDS times (the
# machine is shared: one slow moment then hits every variant alike), and the median of each
# is reported, in CPU seconds (user + system, of the process and its children: what the
# profile costs, less sensitive than wall time to other work on the machine) and in wall
# seconds.
#
#   sh examples/c/measure_profile.sh [ROUNDS]      # default 5
#
# Needs gcc, sqlite3, python3 and valgrind.
set -u
cd "$(dirname "$0")/../.."
rounds=${1:-5}
cargo build --release -p gpa-capi -p gpa-cli >/dev/null 2>&1 || exit 1
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
G=$target_dir/release/gpa
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
times=$work/times
mkdir "$times"
gcc -O2 -g examples/c/alloc_workload.c -o "$work/alloc_workload"
PY=$(python3 -c 'import sys; print(sys.executable)')
SQL="drop table if exists t; create table t(id integer primary key, name text, score real); with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) insert into t(name, score) select 'name' || x, x * 0.5 from c; create index t_score on t(score); select count(*), sum(score) from t;"
SCRIPT="import json
rows = [{'id': i, 'name': 'n%d' % i, 'tags': ['a'] * (i % 5)} for i in range(200000)]
text = json.dumps(rows)
back = json.loads(text)
del rows
print(len(back), len(text))"

# run LABEL CMD...: one timed run; appends "cpu wall" to $times/LABEL.
run() {
    local label=$1; shift
    rm -f "$work/m.db" "$work"/*.dhat*
    /usr/bin/time -f "%U %S %e" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
        echo "failed: $label" >&2; tail -3 "$work/stderr" >&2; }
    awk '{printf "%.3f %.3f\n", $1 + $2, $3}' "$work/time" >> "$times/$label"
}

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# workload NAME CMD...: every variant, ROUNDS times, interleaved.
workload() {
    local name=$1; shift
    for _ in $(seq "$rounds"); do
        run "$name.glibc" "$@"
        run "$name.profile" "$G" run --fast --profile "$work/p.dhat" -- "$@"
        run "$name.check" "$G" run --profile "$work/c.dhat" -- "$@"
        run "$name.dhat" valgrind --tool=dhat --dhat-out-file="$work/v.dhat" "$@"
    done
}

workload alloc_workload "$work/alloc_workload" 3
workload sqlite3 sqlite3 "$work/m.db" "$SQL"
workload cpython "$PY" -c "$SCRIPT"

echo "CPU seconds (user + system), median of $rounds interleaved runs; wall seconds in brackets"
echo
echo "| workload | glibc | gpa --fast --profile | gpa --profile (check) | valgrind --tool=dhat | profile / glibc | DHAT / glibc | DHAT / profile |"
echo "|---|---|---|---|---|---|---|---|"
for name in alloc_workload sqlite3 cpython; do
    cpu() { cut -d' ' -f1 "$times/$name.$1" | median; }
    wall() { cut -d' ' -f2 "$times/$name.$1" | median; }
    g=$(cpu glibc); p=$(cpu profile); c=$(cpu check); d=$(cpu dhat)
    printf "| %s | %.2f s (%.2f) | %.2f s (%.2f) | %.2f s (%.2f) | %.2f s (%.2f) | **%.1fx** | %.1fx | %.1fx |\n" \
        "$name" "$g" "$(wall glibc)" "$p" "$(wall profile)" "$c" "$(wall check)" "$d" "$(wall dhat)" \
        "$(echo "$p / $g" | bc -l)" "$(echo "$d / $g" | bc -l)" "$(echo "$d / $p" | bc -l)"
done
