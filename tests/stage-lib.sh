#!/usr/bin/env bash
# Stages a built libpsample.so for programs that run from the tree (VM tests, binding tests,
# benchmark, C ABI tests): a private copy DIR/libpsample.so plus the SONAME link
# DIR/libpsample.so.MAJOR that programs linked with -lpsample look up through their rpath.
#
#   tests/stage-lib.sh LIBRARY DIR       e.g. tests/stage-lib.sh target/debug/libpsample.so build/vm/lib
#
# The copy replaces the old one by rename: a VM or test may still be running the previous copy
# while target/ is rebuilt.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: tests/stage-lib.sh LIBRARY DIR" >&2; exit 2; }
lib=$1 dir=$2
root=$(cd "$(dirname "$0")/.." && pwd)
major=$(sed -n 's/^version = "\([0-9]*\)\..*"/\1/p' "$root/Cargo.toml" | head -1)
[ -n "$major" ] || { echo "stage-lib.sh: no version in $root/Cargo.toml" >&2; exit 1; }
[ -f "$lib" ] || { echo "stage-lib.sh: no $lib (build it first)" >&2; exit 1; }
mkdir -p "$dir"
cp "$lib" "$dir/libpsample.so.new.$$"
mv -f "$dir/libpsample.so.new.$$" "$dir/libpsample.so"
ln -sfn libpsample.so "$dir/libpsample.so.$major"
