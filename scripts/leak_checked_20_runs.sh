#!/bin/sh
# Runs the leak-checked test binary (tests/leak_checked.rs) 20 times in a row with libtest's
# default (parallel) test threads and stops at the first wrong verdict: a clean test reported
# as leaking, or a deliberately leaking (`should_panic`) test that passed the check.
# Usage: scripts/leak_checked_20_runs.sh [runs] [test target]   (from the repository root;
# the target defaults to leak_checked, leak_checked_fast is the same cases over Config::fast)
set -eu
runs=${1:-20}
target=${2:-leak_checked}
cargo test --test "$target" --no-run >/dev/null 2>&1
binary=$(cargo test --test "$target" --no-run --message-format=json 2>/dev/null |
    sed -n "s/.*\"executable\":\"\\([^\"]*\/$target-[^\"]*\\)\".*/\\1/p" | tail -n 1)
passed=0
i=1
while [ "$i" -le "$runs" ]; do
    if output=$("$binary" 2>&1); then
        summary=$(printf '%s\n' "$output" | grep '^test result:')
        echo "run $i: $summary"
        passed=$((passed + 1))
    else
        printf '%s\n' "$output"
        echo "run $i: WRONG VERDICT (see above)"
        exit 1
    fi
    i=$((i + 1))
done
echo "$passed/$runs runs without a wrong verdict"
