#!/usr/bin/env bash
# The demo, inside the VM: sample loopback egress in a new namespace, send ten UDP datagrams to
# 127.0.0.1, and show what psample-dump (the example in examples-c/) decodes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "demo.sh runs inside the VM: use make demo" >&2; exit 2; }
if [ "${1:-}" != --in-ns ]; then
    modprobe -a psample act_sample cls_matchall sch_ingress
    exec unshare -n "$root/tests/vm/demo.sh" --in-ns # the rest, in a new network namespace
fi

ip link set lo up
tc qdisc add dev lo clsact
tc filter add dev lo egress matchall action sample rate 1 group 7 trunc 128 cookie 0123456789abcdef 2>/dev/null ||
    tc filter add dev lo egress matchall action sample rate 1 group 7 trunc 128
echo "# $(uname -r): tc samples every packet leaving lo (group 7, first 128 bytes)"
"$root/build/examples/psample-dump" -c 10 -s &
dump=$!
sleep 1
# Ten datagrams to 127.0.0.1:9999, with a bound sink so no ICMP replies follow.
python3 -c '
import socket
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sink.bind(("127.0.0.1", 9999))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(10):
    out.sendto(b"hello psample %d" % i, ("127.0.0.1", 9999))
'
wait $dump
