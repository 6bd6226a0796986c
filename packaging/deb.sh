#!/usr/bin/env bash
# Item 2 of make package-test: the Debian packages, from the release tarball, with networking off
# and Debian's own Rust toolchain (cargo-web, rustc-web; debian/rules names /usr/bin/cargo): the
# tarball is the .orig.tar.xz, unpacked under build/pkg/deb, built with dpkg-buildpackage -us -uc
# (source and binary packages; dpkg-gensymbols -c4 checks the symbols file made from
# abi/libpsample.map), then lintian must report no error and no warning.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
tarball=$root/build/dist/psample-$version.tar.xz
[ -f "$tarball" ] || { echo "deb: no $tarball: run make dist" >&2; exit 1; }
work=$root/build/pkg/deb
rm -rf "$work"
mkdir -p "$work"
cp "$tarball" "$work/psample_$version.orig.tar.xz"
tar -C "$work" -xJf "$work/psample_$version.orig.tar.xz"
cd "$work/psample-$version"
echo "deb: unshare -n dpkg-buildpackage -us -uc (log: build/pkg/deb/build.log)"
unshare -n env -u CARGO_HOME -u RUSTUP_TOOLCHAIN -u CARGO_TARGET_DIR PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    dpkg-buildpackage -us -uc > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
grep -E '^dpkg-(gensymbols|shlibdeps): ' "$work/build.log" || true
grep -E '^(rustc|cargo) [0-9]' "$work/build.log" || true
echo "deb: built $(find "$work" -maxdepth 1 -name '*.deb' -printf '%f ')"
echo "deb: the symbols file (debian/libpsample0/DEBIAN/symbols):"
cat debian/libpsample0/DEBIAN/symbols
echo "deb: lintian --fail-on error,warning psample_${version}-*_$(dpkg --print-architecture).changes"
cd "$work"
lintian --fail-on error,warning ./psample_"$version"-*_"$(dpkg --print-architecture)".changes
echo "deb: lintian: no error, no warning"
