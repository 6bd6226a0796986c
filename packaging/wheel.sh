#!/usr/bin/env bash
# Item 4 of make package-test: the Python wheel that bundles libpsample.so.0.
#   packaging/wheel.sh [LIBRARY]      (default: build/lib/libpsample.so.VERSION, from `make lib`)
# A copy of bindings/python with LIBRARY staged as src/psample/libpsample.so.0 is built with
# `python3 -m build` (Debian's python3-build, setuptools and wheel; --no-isolation, so offline):
# the sdist first, then the wheel from that sdist. A wheel built straight from the tree must hold
# the same files, byte for byte. `auditwheel show` must accept the wheel's manylinux tag. Last, a
# fresh venv gets the wheel (pip --no-index) and loads the bundled library on this host, which
# has no libpsample installed; packaging/wheel-vm-test.sh then receives samples with it in a VM.
# Outputs in build/pkg/wheel: dist/ (sdist and wheel), venv/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
lib=${1:-$root/build/lib/libpsample.so.$version}
[ -f "$lib" ] || { echo "wheel: no $lib (make lib)" >&2; exit 1; }
out=$root/build/pkg/wheel
rm -rf "$out"
mkdir -p "$out"
python=/usr/bin/python3 # Debian's, with python3-build, python3-setuptools and python3-wheel

tree=$out/python
cp -a "$root/bindings/python" "$tree"
find "$tree" \( -name __pycache__ -o -name '*.egg-info' -o -name build \) -prune -exec rm -rf {} +
install -m 0755 "$lib" "$tree/src/psample/libpsample.so.0"
echo "wheel: python3 -m build --no-isolation (sdist, then the wheel from it)"
(cd "$tree" && "$python" -m build --no-isolation --outdir "$out/dist" . > "$out/build.log" 2>&1) ||
    { tail -n 30 "$out/build.log" >&2; exit 1; }
(cd "$tree" && "$python" -m build --no-isolation --wheel --outdir "$out/from-tree" . > "$out/build-tree.log" 2>&1) ||
    { tail -n 30 "$out/build-tree.log" >&2; exit 1; }
mapfile -t wheels < <(find "$out/dist" -name '*.whl')
[ ${#wheels[@]} = 1 ] || { echo "wheel: expected one wheel in $out/dist, found ${#wheels[@]}" >&2; exit 1; }
wheel=${wheels[0]}
name=$(basename "$wheel")
echo "wheel: $name, sdist $(cd "$out/dist" && ls ./*.tar.gz)"
case $name in
psample-"$version"-py3-none-manylinux_2_*_"$(uname -m)".whl) ;;
*) echo "wheel: $name: not psample-$version-py3-none-manylinux_2_N_$(uname -m).whl" >&2; exit 1 ;;
esac
[ -f "$out/from-tree/$name" ] || { echo "wheel: the tree built $(ls "$out/from-tree"), the sdist $name" >&2; exit 1; }
"$python" - "$wheel" "$out/from-tree/$name" <<'PY'
import sys, zipfile
def contents(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/RECORD")}
a, b = contents(sys.argv[1]), contents(sys.argv[2])
if a != b:
    sys.exit(f"wheel: the sdist's wheel and the tree's differ: {sorted(set(a) ^ set(b)) or [n for n in a if a[n] != b[n]]}")
assert "psample/libpsample.so.0" in a, sorted(a)
print(f"wheel: the sdist builds the same wheel ({len(a)} files, libpsample.so.0 included)")
PY

echo "wheel: auditwheel show $name"
"$root/build/venv/bin/auditwheel" show "$wheel" | tee "$out/auditwheel.txt"
tag=${name#psample-"$version"-py3-none-}
tag=${tag%.whl}
grep -q "consistent with the following platform tag: \"$tag\"" <(tr -s ' \n' ' ' < "$out/auditwheel.txt") ||
    { echo "wheel: auditwheel does not accept the tag $tag" >&2; exit 1; }

"$python" -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --no-deps "$wheel"
if ldconfig -p | grep -q 'libpsample\.so'; then
    echo "wheel: this host has a libpsample installed (ldconfig -p): the check would not prove the bundling" >&2
    exit 1
fi
(cd / && env -u PSAMPLE_LIBRARY -u LD_LIBRARY_PATH "$out/venv/bin/python" -c '
import psample, sys
v = psample.version()
path = psample._lib()._name
print(f"wheel: fresh venv: psample {v}, library {path}")
assert path.startswith(sys.prefix), f"{path} is not the bundled library"
assert v == sys.argv[1], f"psample_version() {v} != {sys.argv[1]}"
' "$version")
echo "wheel: ok"
