#!/bin/bash
# The speed figures of docs/c_abi.md: three workloads, each run once under glibc malloc, gpa
# fast mode, gpa check mode (gpa's caching unwinder, then libgcc's) and Valgrind memcheck.
# Wall-clock seconds. Needs gcc, sqlite3, python3 (with its test package) and valgrind.
set -u
cd "$(dirname "$0")/../.."
cargo build --release -p gpa-capi -p gpa-cli >/dev/null 2>&1 || exit 1
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
G=$target_dir/release/gpa
work=$(mktemp -d)
gcc -O2 -g examples/c/alloc_workload.c -o "$work/alloc_workload"
PY=$(python3 -c 'import sys; print(sys.executable)')
SQL="drop table if exists t; create table t(id integer primary key, name text, score real); with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) insert into t(name, score) select 'name' || x, x * 0.5 from c; create index t_score on t(score); select count(*), sum(score) from t;"
t() {
    local label=$1; shift
    local start end
    start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
    printf "%-45s %8.2f\n" "$label" "$(echo "$end - $start" | bc)"
}
four_ways() {
    local name=$1; shift
    t "$name glibc" "$@"
    t "$name gpa --fast" "$G" run --fast -- "$@"
    t "$name gpa check" "$G" run -- "$@"
    GPA_UNWINDER=libgcc t "$name gpa check, libgcc unwinder" "$G" run -- "$@"
    t "$name valgrind memcheck" valgrind --tool=memcheck --trace-children=yes "$@"
}
four_ways alloc_workload "$work/alloc_workload" 3
four_ways sqlite3 sqlite3 "$work/m.db" "$SQL"
four_ways python-tests "$PY" -m test test_json test_collections -q
rm -rf "$work"
