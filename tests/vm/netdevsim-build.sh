#!/usr/bin/env bash
# Builds netdevsim.ko out of tree into build/vm/netdevsim/ for the installed Debian 6.12 kernel:
# netdevsim's psample reporter is the only software producer of OUT_TC, OUT_TC_OCC and LATENCY
# (sflow-tests.sh, "hardware records from netdevsim"), and Debian kernels do not build it.
# Sources: drivers/net/netdevsim/ from /usr/src/linux-source-6.12.tar.xz (linux-source-6.12), built
# against /usr/src/linux-headers-RELEASE (linux-headers-RELEASE); .ci/install-deps installs both.
# Runs on the host. Without those packages or a 6.12 image it builds nothing and says why: the VM
# suite then has no netdevsim case on any kernel, and the injector case covers the records.
# Usage: tests/vm/netdevsim-build.sh [--require]   (--require: a missing piece is an error)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/vm/netdevsim
require=${1:-}

missing() { # reason
    rm -f "$out/netdevsim.ko" "$out/release"
    if [ "$require" = --require ]; then
        echo "netdevsim-build: $1" >&2
        exit 1
    fi
    echo "netdevsim-build: $1; the sflow suite runs without its netdevsim case" >&2
    exit 0
}

# The newest 6.12 image in /boot: the VM boots it (vm-run 6.12).
release=$(find /boot -maxdepth 1 -name 'vmlinuz-6.12.*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$release" ] || missing "no /boot/vmlinuz-6.12.* kernel image"
headers=/usr/src/linux-headers-$release
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$headers/Makefile" ] || missing "no $headers (package linux-headers-$release)"
[ -f "$tarball" ] || missing "no $tarball (package linux-source-6.12)"
config=$headers/.config
# psample.o is built only with CONFIG_PSAMPLE; without it netdevsim produces no samples.
grep -qE '^CONFIG_PSAMPLE=(m|y)$' "$config" || missing "$release is built without CONFIG_PSAMPLE"
grep -qE '^CONFIG_NET_DEVLINK=y$' "$config" || missing "$release is built without CONFIG_NET_DEVLINK"

# Up to date: the same kernel release and the same source tarball.
stamp="$release $(stat -c %Y "$tarball")"
if [ -f "$out/netdevsim.ko" ] && [ "$(cat "$out/release" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi

src=$root/build/netdevsim/src
rm -rf "$src" && mkdir -p "$src"
# Only the driver's folder, out of the whole kernel's source.
tar -xJf "$tarball" -C "$src" --strip-components=4 --wildcards 'linux-source-6.12/drivers/net/netdevsim/*'
[ -f "$src/psample.c" ] || missing "$tarball has no drivers/net/netdevsim/psample.c"
# The kernel's own compiler (the headers package depends on it): a module must match its flags.
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT=".*\(gcc-[0-9][0-9]*\) .*/\1/p' "$config")
command -v "${cc:-gcc}" >/dev/null || missing "no ${cc:-gcc}, the compiler of $release"
# CONFIG_NETDEVSIM is the only symbol the kernel's config lacks; the driver's Makefile takes
# CONFIG_PSAMPLE, CONFIG_BPF_SYSCALL, CONFIG_XFRM_OFFLOAD and CONFIG_MACSEC from the headers'
# include/config/auto.conf, as for an in-tree build of the same kernel.
make -s -C "$headers" M="$src" CC="${cc:-gcc}" CONFIG_NETDEVSIM=m -j"$(nproc)" modules
[ -f "$src/psample.o" ] || { echo "netdevsim-build: psample.o was not built" >&2; exit 1; }
mkdir -p "$out"
cp "$src/netdevsim.ko" "$out/netdevsim.ko"
echo "$stamp" >"$out/release"
echo "netdevsim-build: $out/netdevsim.ko for $release"
