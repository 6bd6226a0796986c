#!/usr/bin/env bash
# Builds, on the host, what tests/vm/bindings-tests.sh runs in the VM, all under
# build/vm/bindings/: the library (debug build) with its SONAME link, a psample.pc pointing at it
# and at include/, and the Go package's test binary linked through that .pc. Then checks the
# Python package's types (mypy --strict) and installs it into build/vm/bindings/python and
# build/venv. Nothing is downloaded: Go uses only its standard library
# (GOPROXY=off), and the Python package builds with setuptools and wheel from build/venv
# (--no-index --no-build-isolation).
#
#   bindings/build.sh && tests/vm/vm-run 6.12 tests/vm/bindings-tests.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/build/vm/bindings
mkdir -p "$out/pkgconfig"

# The bindings' constants and structs are generated from include/psample.h: refuse stale ones.
python3 bindings/gen.py --check

# The C API (`capi` feature) as a cdylib: the crate itself is an rlib only.
tests/build-cdylib.sh
target=${CARGO_TARGET_DIR:-$root/target}
tests/stage-lib.sh "$target/debug/libpsample.so" "$out/lib"

# The rpath lets the Go test binary find the library on the host and in the VM (same paths).
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > "$out/pkgconfig/psample.pc" <<PC
libdir=$out/lib
includedir=$root/include

Name: psample
Description: libpsample staged for the binding tests
Version: $version
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lpsample
Cflags: -I\${includedir}
PC

export PKG_CONFIG_PATH=$out/pkgconfig GOPROXY=off GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=1
# Go does not hash C headers outside the package directory (nor pkg-config's output) into its
# build cache keys, so a cache shared across versions of psample.h could keep a stale build: one
# cache per header version.
header_hash=$(sha256sum include/psample.h | cut -c1-16)
export GOCACHE=$root/target/go-cache/$header_hash
# -race: the VM runs the tests under the race detector (Close during Recv, cancels).
(cd bindings/go && go vet . && go test -race -c -o "$out/psample-go.test.new" .)
mv -f "$out/psample-go.test.new" "$out/psample-go.test"

# The Python package: type-checked (mypy --strict, py.typed in the wheel), then installed twice:
# into build/vm/bindings/python, which the VM tests import (PYTHONPATH), so they run this tree's
# package even when build/venv is shared with other checkouts; and into build/venv for users.
(cd bindings/python && "$root/build/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_typing.py)
pip=("$root/build/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --no-deps --no-build-isolation)
rm -rf "$out/python"
"${pip[@]}" --target "$out/python" ./bindings/python
"${pip[@]}" --force-reinstall ./bindings/python
echo "bindings/build.sh: staged in ${out#"$root"/}; python package installed in build/venv"
