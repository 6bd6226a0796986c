#!/usr/bin/env bash
# Item 6 of make package-test, on the built artifacts: every one carries Cargo.toml's version —
# the tarball's name, the .deb packages' upstream version, the library's file name and SONAME in
# libpsample0, psample.pc's Version in libpsample-dev, the wheel's and the sdist's names, and
# psample_version() (checked where the library runs: wheel.sh and the clean root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
v=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
pkg=$root/build/pkg
bad=0
expect() { # what command...
    local what=$1; shift
    if "$@"; then echo "versions: $what: $v"; else echo "versions: FAIL: $what is not $v" >&2; bad=1; fi
}
expect "tarball" test -f "$root/build/dist/psample-$v.tar.xz"
for p in libpsample0 libpsample-dev psample-tools python3-psample; do
    deb=$(find "$pkg/deb" -maxdepth 1 -name "${p}_*.deb" | head -n 1)
    expect "$p's upstream version" test "$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" = "$v"
done
lib_deb=$(find "$pkg/deb" -maxdepth 1 -name 'libpsample0_*.deb' | head -n 1)
expect "libpsample0's library file" sh -c "dpkg-deb -c '$lib_deb' | grep '/libpsample.so.$v\$' >/dev/null"
dev_deb=$(find "$pkg/deb" -maxdepth 1 -name 'libpsample-dev_*.deb' | head -n 1)
tmp=$(mktemp -d)
dpkg-deb -x "$dev_deb" "$tmp"
expect "psample.pc's Version" sh -c "grep -qx 'Version: $v' '$tmp'/usr/lib/*/pkgconfig/psample.pc"
rm -rf "$tmp"
expect "the wheel" sh -c "ls '$pkg/wheel/dist/'psample-$v-py3-none-manylinux_*.whl >/dev/null"
expect "the sdist" test -f "$pkg/wheel/dist/psample-$v.tar.gz"
exit "$bad"
