#!/usr/bin/env bash
# Builds the C API as a plain cdylib, target/<profile>/libpsample.so, for the programs that run
# from the tree (VM tests, binding tests, C ABI tests; tests/stage-lib.sh stages it). The crate is
# an rlib, so the cdylib is asked for with the `capi` feature; rustc sets no DT_SONAME on a cdylib
# (rust-lang/cargo#5045), so it is passed here. (`make` builds the versioned library instead.)
#
#   tests/build-cdylib.sh [CARGO RUSTC OPTIONS...]    e.g. --release, --target-dir DIR
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(sed -n 's/^version = "\([0-9]*\)\..*"/\1/p' Cargo.toml | head -1)
[ -n "$major" ] || { echo "build-cdylib.sh: cannot read the version from Cargo.toml" >&2; exit 1; }
exec "${CARGO:-cargo}" rustc --quiet --lib --features capi --crate-type cdylib "$@" -- -C "link-arg=-Wl,-soname,libpsample.so.$major"
