#!/bin/bash
# The guard-mode cost figures of docs/performance.md: three workloads, each run under glibc
# malloc, gpa fast mode, check mode, guard mode, and sampled guard mode (one block in 1000,
# over check mode and over fast mode). Each configuration runs ROUNDS times (default 3),
# interleaved (round r runs every configuration once, in turn), and the table shows the
# median wall-clock seconds, the median CPU seconds (user + system: steadier than wall time
# on a shared machine) and the largest peak RSS in MiB.
# Needs gcc, sqlite3, python3 (with its test package) and GNU time (/usr/bin/time).
set -u
ROUNDS=${ROUNDS:-3}
cd "$(dirname "$0")/../.."
cargo build --release -p gpa-capi -p gpa-cli >/dev/null 2>&1 || exit 1
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
G=$target_dir/release/gpa
work=$(mktemp -d)
gcc -O2 -g examples/c/alloc_workload.c -o "$work/alloc_workload"
PY=$(python3 -c 'import sys; print(sys.executable)')
SQL="drop table if exists t; create table t(id integer primary key, name text, score real); with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) insert into t(name, score) select 'name' || x, x * 0.5 from c; create index t_score on t(score); select count(*), sum(score) from t;"
MODES=("glibc" "gpa --fast" "gpa check" "gpa --guard" "gpa --guard-sample 1000" "gpa --fast --guard-sample 1000")
options() {
    case $1 in
        "glibc") ;;
        "gpa --fast") echo "$G run --fast --" ;;
        "gpa check") echo "$G run --" ;;
        "gpa --guard") echo "$G run --guard --" ;;
        "gpa --guard-sample 1000") echo "$G run --guard-sample 1000 --" ;;
        "gpa --fast --guard-sample 1000") echo "$G run --fast --guard-sample 1000 --" ;;
    esac
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
measure() {
    local name=$1; shift
    rm -f "$work"/samples.*
    for round in $(seq "$ROUNDS"); do
        for index in "${!MODES[@]}"; do
            rm -f "$work/m.db"
            /usr/bin/time -o "$work/time" -f "%e %U %S %M" $(options "${MODES[$index]}") "$@" >/dev/null 2>&1
            tail -1 "$work/time" >>"$work/samples.$index"
        done
    done
    for index in "${!MODES[@]}"; do
        local wall cpu rss
        wall=$(awk '{ print $1 }' "$work/samples.$index" | median)
        cpu=$(awk '{ print $2 + $3 }' "$work/samples.$index" | median)
        rss=$(awk '{ print $4 }' "$work/samples.$index" | sort -g | tail -1)
        printf "| %s | %s | %.2f | %.2f | %.0f |\n" "$name" "${MODES[$index]}" "$wall" "$cpu" "$(echo "$rss / 1024" | bc)"
    done
}
echo "| workload | allocator | wall s (median) | CPU s (median) | peak RSS MiB |"
echo "|---|---|---:|---:|---:|"
measure alloc_workload "$work/alloc_workload" 3
measure sqlite3 sqlite3 "$work/m.db" "$SQL"
measure python-tests "$PY" -m test test_json test_collections -q
rm -rf "$work"
