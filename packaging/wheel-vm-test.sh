#!/usr/bin/env bash
# Runs inside the VM (tests/vm/vm-run, on this machine's root, which has no libpsample installed):
# the wheel's fresh venv (packaging/wheel.sh made build/pkg/wheel/venv) receives 5 samples of a tc
# sampler on loopback, in a network namespace of its own, with the library the wheel bundles and
# nothing else (no PSAMPLE_LIBRARY, no LD_LIBRARY_PATH). Bounded: 5 datagrams to 127.0.0.1:9999.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/build/pkg/wheel/venv
[ -x "$venv/bin/python" ] || { echo "wheel-vm-test: FAIL: no $venv: run packaging/wheel.sh" >&2; exit 1; }
if ldconfig -p | grep -q 'libpsample\.so'; then
    echo "wheel-vm-test: FAIL: a libpsample is installed on this root" >&2
    exit 1
fi
modprobe -a psample act_sample cls_flower
unset PSAMPLE_LIBRARY LD_LIBRARY_PATH
# The script runs in the namespace's shell, which expands it.
# shellcheck disable=SC2016
unshare -n bash -ec '
    ip link set lo up
    tc qdisc add dev lo clsact
    tc filter add dev lo egress pref 10 protocol ip flower ip_proto udp dst_port 9999 \
        action sample rate 1 group 7 trunc 128
    cd /
    timeout 60 "$1/bin/python" -c "
import socket, sys, threading, time
import psample
with psample.subscribe(groups=[7]) as sub:
    def send():
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sink.bind((\"127.0.0.1\", 9999))
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(5):
            out.sendto(b\"x\" * 64, (\"127.0.0.1\", 9999)); time.sleep(0.02)
    threading.Thread(target=send).start()
    got = []
    for pkt in sub:
        got.append(pkt)
        print(\"wheel-vm-test: group\", pkt.group, \"seq\", pkt.group_seq, \"bytes\", len(pkt.data))
        if len(got) == 5:
            break
maps = [l.split()[-1] for l in open(\"/proc/self/maps\") if \"libpsample\" in l]
print(\"wheel-vm-test: psample\", psample.version(), \"mapped\", sorted(set(maps)))
assert all(p.startswith(sys.prefix) for p in maps) and maps, maps
assert [p.group for p in got] == [7] * 5
print(\"wheel-vm-test: ok: 5 samples through the wheel bundled library\")
"' bash "$venv"
