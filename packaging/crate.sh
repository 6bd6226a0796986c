#!/usr/bin/env bash
# Item 5 of make package-test: the crate as crates.io would get it. From the release tarball's
# sources (no build/ scratch folders for cargo to walk, no vendor/ replacement), `cargo publish
# --dry-run` packs the crate (Cargo.toml's include list) and builds the packed crate. The packed
# file list must hold the library's sources and none of the C tools, bindings, benches or tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
tarball=$root/build/dist/psample-$version.tar.xz
[ -f "$tarball" ] || { echo "crate: no $tarball: run make dist" >&2; exit 1; }
work=$root/build/pkg/crate
rm -rf "$work/psample-$version"
mkdir -p "$work"
tar -C "$work" -xJf "$tarball" --exclude="psample-$version/vendor" --exclude="psample-$version/.cargo"
cd "$work/psample-$version"
export CARGO_TARGET_DIR=$work/target
cargo package --list --allow-dirty > "$work/files.txt"
for f in Cargo.toml src/lib.rs src/ffi/mod.rs build.rs cbindgen.toml README.md; do
    grep -qx "$f" "$work/files.txt" || { echo "crate: the packed crate lacks $f" >&2; exit 1; }
done
if grep -E '^(tools|bindings|bench|tests|fuzz|examples-c|debian|packaging|abi)/' "$work/files.txt"; then
    echo "crate: the packed crate holds the files above, which a Rust user does not need" >&2
    exit 1
fi
echo "crate: $(wc -l < "$work/files.txt") files packed"
cargo publish --dry-run --allow-dirty 2>&1 | grep -v '^warning: ignoring \(example\|test\|benchmark\) ' | tail -n 12
echo "crate: ok"
