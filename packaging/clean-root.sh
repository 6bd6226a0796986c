#!/usr/bin/env bash
# Item 3 of make package-test: the .deb packages on a clean Debian 12. A minimal bookworm
# (debootstrap --variant=minbase, from the archive this machine's apt sources name) is made once
# into build/pkg/base-root, with what the checks need that the packages do not bring: iproute2 (tc,
# ip), kmod, gcc, libc6-dev, pkg-config and python3-venv (the wheel's venv). Each run copies it to build/pkg/root, installs the
# packages there with `apt-get install ./*.deb` (their dependencies come from the archive), then
# boots Debian's 6.12 kernel on that root with virtme-ng (--root) and runs
# packaging/clean-root-test.sh inside. Nothing of the build tree is reachable there.
#
#   packaging/clean-root.sh DEB_DIR      (DEB_DIR holds the four packages' .deb files)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
debs=$(cd "${1:?usage: clean-root.sh DEB_DIR}" && pwd)
pkg=$root/build/pkg
base=$pkg/base-root
target=$pkg/root
archive=$("$root/packaging/archive-uri.sh")

if [ ! -f "$base/.psample-base-done" ]; then
    rm -rf "$base" "$base.tmp"
    echo "clean-root: debootstrap --variant=minbase bookworm from $archive"
    # In a mount namespace of its own: whatever debootstrap leaves mounted (proc) goes with it.
    unshare -m --propagation private debootstrap --variant=minbase --include=iproute2,kmod,gcc,libc6-dev,pkg-config,python3-venv \
        bookworm "$base.tmp" "$archive" > "$pkg/debootstrap.log" 2>&1 ||
        { tail -n 20 "$pkg/debootstrap.log" >&2; exit 1; }
    touch "$base.tmp/.psample-base-done"
    mv "$base.tmp" "$base"
fi

if grep -q " $base/" /proc/mounts; then
    echo "clean-root: something is mounted under $base: not copying it" >&2
    exit 1
fi
rm -rf "$target"
cp -ax "$base" "$target"
rm -f "$target/.psample-base-done"
mkdir -p "$target/opt/psample-test/debs"
for p in libpsample0 libpsample-dev psample-tools python3-psample; do
    f=$(find "$debs" -maxdepth 1 -name "${p}_*.deb" | sort | tail -n 1)
    [ -n "$f" ] || { echo "clean-root: no ${p}_*.deb in $debs" >&2; exit 1; }
    cp "$f" "$target/opt/psample-test/debs/"
done
cp "$root/packaging/clean-root-test.sh" "$root/examples-c/psample-dump.c" "$target/opt/psample-test/"
# No service starts while packages install in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$target/usr/sbin/policy-rc.d"
chmod +x "$target/usr/sbin/policy-rc.d"
echo "clean-root: apt-get install ./*.deb in the clean root"
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -ec '
    mount -t proc proc "$1/proc"
    mount --rbind /dev "$1/dev"
    chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -ec "apt-get update -q >/dev/null && cd /opt/psample-test/debs &&
                apt-get install -y -q --no-install-recommends ./*.deb systemd man-db"
' bash "$target" > "$pkg/clean-root-apt.log" 2>&1 || { tail -n 30 "$pkg/clean-root-apt.log" >&2; exit 1; }
grep -E '^(Get|Setting up)' "$pkg/clean-root-apt.log" | sed 's/^/  /'
rm -f "$target/usr/sbin/policy-rc.d"

# The unit as installed, with the clean root's own systemd (252) and man-db (systemd and man-db
# are installed above for this, as on any Debian 12 system): systemd-analyze verify, then the
# exposure score of systemd-analyze security.
unit=/lib/systemd/system/psample-sflow.service
[ -f "$target$unit" ] || { echo "clean-root: psample-tools installed no $unit" >&2; exit 1; }
echo "clean-root: systemctl is-enabled psample-sflow: $(chroot "$target" systemctl is-enabled psample-sflow.service || true)"
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -ec '
    mount -t proc proc "$1/proc"
    echo "clean-root: systemd-analyze verify $2"
    chroot "$1" systemd-analyze verify "$2"
    echo "clean-root: systemd-analyze security --offline=true $2"
    chroot "$1" systemd-analyze security --offline=true "$2" | tail -n 1
' bash "$target" "$unit"

# (The VM runs under the lock the project's VM runs share, so two VMs do not fight for the CPUs.)
# The 6.12 kernel's modules, where virtme-ng makes the guest look for them with --root: the
# guest's own /lib/modules (hard links: same file system, no copy).
kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-6.12.*' | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "clean-root: FAIL: no /boot/vmlinuz-6.12.*; run .ci/install-deps" >&2; exit 1; }
release=${kernel#/boot/vmlinuz-}
mkdir -p "$target/usr/lib/modules"
cp -al "/usr/lib/modules/$release" "$target/usr/lib/modules/$release" 2>/dev/null ||
    cp -a "/usr/lib/modules/$release" "$target/usr/lib/modules/$release"

rc_file=$target/opt/psample-test/rc
rm -f "$rc_file" "$target/opt/psample-test/out.log"
echo "clean-root: booting $(basename "$kernel") on build/pkg/root"
set +e
PATH="$root/build/venv/bin:$PATH" flock /tmp/psample-vm.lock timeout "${VM_TIMEOUT:-900}" "$root/build/venv/bin/vng" --run "$kernel" --root "$target" --rw \
    --disable-kvm --force-9p --memory "${VM_MEMORY:-2G}" --cpus 2 \
    --exec '/opt/psample-test/clean-root-test.sh > /opt/psample-test/out.log 2>&1; echo $? > /opt/psample-test/rc' </dev/null 2>&1 | cat
vng_rc=${PIPESTATUS[0]}
set -e
cat "$target/opt/psample-test/out.log" 2>/dev/null || true
[ -s "$rc_file" ] || { echo "clean-root: FAIL: the VM did not run the checks to the end (vng exit $vng_rc)" >&2; exit 1; }
rc=$(cat "$rc_file")
[ "$rc" = 0 ] || { echo "clean-root: FAIL: checks in the clean root failed (exit $rc)" >&2; exit 1; }
echo "clean-root: ok"
