#!/usr/bin/env bash
# make package-test: the release and its packages, as issue 20 lists them, in order:
#   1. make dist, and the tarball's offline build and tests (check-dist.sh);
#   2. the Debian packages from the tarball, networking off, and lintian (deb.sh);
#   4. the wheel bundling the Debian build's library (no second release build), auditwheel, a
#      fresh venv (wheel.sh), receiving samples in a VM with no system library (wheel-vm-test.sh);
#   3. the packages on a clean debootstrapped bookworm, booted with the 6.12 kernel (clean-root.sh);
#   5. the publishable crate (crate.sh);
#   6. the artifacts' versions (versions.sh).
# Needs what .ci/install-deps installs, root (unshare, debootstrap, chroot), and the network to
# Debian's archive (the clean root) and crates.io (cargo publish --dry-run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
start=$(date +%s)
step() { echo "== package-test: $* ($(( ($(date +%s) - start) / 60 )) min so far)"; }

step "1. make dist"
packaging/dist.sh
step "1. the tarball offline"
packaging/check-dist.sh
step "2. Debian packages and lintian"
packaging/deb.sh
step "4. the wheel"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
packaging/wheel.sh "build/pkg/deb/psample-$version/debian/libpsample0/usr/lib/$multiarch/libpsample.so.$version"
step "4. the wheel in a VM, no system library"
flock /tmp/psample-vm.lock tests/vm/vm-run 6.12 packaging/wheel-vm-test.sh
step "3. the packages on a clean root, in a VM"
packaging/clean-root.sh build/pkg/deb
step "5. the crate"
packaging/crate.sh
step "6. one version"
packaging/versions.sh
step "ok: $(( $(date +%s) - start )) s in all"
