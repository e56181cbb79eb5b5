#!/bin/sh
# Builds gpa (release) and runs the C benchmark suite: every program of bench/c/ (and the C
# mixed workload of examples/c/) under glibc, mimalloc, jemalloc, gpa --fast, gpa check mode
# and Valgrind memcheck, interleaved; prints a markdown report. Arguments go to gpa-cbench
# (`--help` lists them), e.g.:
#
#   bench/c/run.sh                                   # the full run (about 25 minutes on 2 cores)
#   bench/c/run.sh --quick                           # a smoke run with tiny inputs
#   bench/c/run.sh --filter cfrac,espresso --rounds 3 --suite fast
#   bench/c/run.sh --json results.json > results.md
#
# Needs a C compiler, and for all columns: apt-get install libmimalloc2.0 libjemalloc2 valgrind
set -eu
cd "$(dirname "$0")/../.."
# Two builds: `--bin` would also filter gpa-capi's targets, leaving its cdylib unbuilt.
cargo build --release -q -p gpa-capi
cargo build --release -q -p gpa-bench --bin gpa-cbench
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "$target_dir/release/gpa-cbench" "$@"
