#!/bin/sh
# Builds gpa's preload library and command, compiles the planted-bug example with debug info,
# and runs it under `gpa run` (check mode): the report names the overflow and the leak with
# the functions and lines that allocated the blocks.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p gpa-capi -p gpa-cli
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
"${CC:-cc}" -O0 -g examples/c/planted_bug.c -o "$target_dir/planted_bug"
exec "$target_dir/release/gpa" run -- "$target_dir/planted_bug" "$@"
