#!/usr/bin/env bash
# Item 1 of make package-test: the release tarball builds and passes the crate's tests offline.
# It is unpacked under build/pkg/offline and, with networking off (unshare -n) and an empty
# CARGO_HOME (no registry cache to fall back on), runs the crate's test command as the project
# runs it: cargo test --offline --frozen --features capi (without capi, tests/capi_feature.rs
# fails on purpose). The target dir stays inside the unpacked tree: tests/dependency.rs builds a
# scratch crate under it, which must see the tarball's .cargo/config.toml too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
tarball=$root/build/dist/psample-$version.tar.xz
[ -f "$tarball" ] || { echo "check-dist: no $tarball: run make dist" >&2; exit 1; }
work=$root/build/pkg/offline
rm -rf "$work"
mkdir -p "$work/cargo-home"
tar -C "$work" -xJf "$tarball"
cd "$work/psample-$version"
[ ! -e .git ] || { echo "check-dist: the tarball holds .git" >&2; exit 1; }
echo "check-dist: cargo test --offline --frozen --features capi in $(pwd), networking off"
unshare -n env -u CARGO_TARGET_DIR CARGO_HOME="$work/cargo-home" \
    cargo test --offline --frozen --no-fail-fast --features capi
echo "check-dist: ok: the tarball builds and passes its tests offline"
