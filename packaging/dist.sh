#!/usr/bin/env bash
# make dist: writes build/dist/psample-VERSION.tar.xz, the release tarball: the tracked sources
# (the generated include/psample.h is one of them), every crate dependency vendored with
# `cargo vendor`, and the .cargo/config.toml that points cargo at vendor/, so it builds offline.
# Files not yet committed but not ignored are included too (git ls-files -co), so a working tree
# can be checked before its commit. Reproducible: sorted, owner 0, mtime of the last commit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || { echo "dist: no version in Cargo.toml" >&2; exit 1; }
name=psample-$version
out=$root/build/dist
stage=$out/stage/$name
rm -rf "$out/stage" "$out/$name.tar.xz"
mkdir -p "$stage/.cargo"

git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
done | tar -C "$root" --null -T - -cf - | tar -C "$stage" -xf -

# Every package of Cargo.lock (normal, build and dev dependencies, all platforms), as cargo
# vendor resolves it; --locked: the tarball builds what Cargo.lock says.
(cd "$stage" && cargo vendor --locked --versioned-dirs vendor) > "$stage/.cargo/config.toml.new" 2> "$out/vendor.log" ||
    { cat "$out/vendor.log" >&2; exit 1; }
{
    echo "# Written by make dist (packaging/dist.sh): crates.io is replaced by the vendored crates,"
    echo "# so the tarball builds offline (cargo build --offline --frozen)."
    cat "$stage/.cargo/config.toml.new"
} > "$stage/.cargo/config.toml"
rm "$stage/.cargo/config.toml.new"
grep -q 'directory = "vendor"' "$stage/.cargo/config.toml" ||
    { echo "dist: cargo vendor printed no vendor/ stanza" >&2; exit 1; }

# Prebuilt Windows import libraries (winapi-*-pc-windows-gnu: 100 MiB of .a files a Linux build
# never links) and generated reports are not sources: Debian's policy (lintian source-is-missing,
# unpack errors) and the tarball's size say drop them, as Debian's own Rust packages do. Each
# crate's .cargo-checksum.json loses their entries, so cargo still verifies every file left.
python3 - "$stage/vendor" <<'PY'
import json, os, re, sys
drop = re.compile(r"(^|/)(lib/[^/]+\.(a|lib|dll)|tarpaulin-report\.html)$")
vendor = sys.argv[1]
for crate in sorted(os.listdir(vendor)):
    path = os.path.join(vendor, crate, ".cargo-checksum.json")
    with open(path) as f:
        sums = json.load(f)
    kept = {}
    for name, digest in sums["files"].items():
        if drop.search(name):
            os.remove(os.path.join(vendor, crate, name))
        else:
            kept[name] = digest
    if len(kept) != len(sums["files"]):
        sums["files"] = kept
        with open(path, "w") as f:
            json.dump(sums, f, sort_keys=True)
PY

mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar -C "$out/stage" --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner \
    -cf - "$name" | xz -T0 -6 > "$out/$name.tar.xz.tmp"
mv "$out/$name.tar.xz.tmp" "$out/$name.tar.xz"
rm -rf "$out/stage"
echo "dist: wrote build/dist/$name.tar.xz ($(du -h "$out/$name.tar.xz" | cut -f1))"
