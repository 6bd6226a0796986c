#!/usr/bin/env bash
# The VM side of compare-hsflowd.sh (runs inside tests/vm/vm-run, as root): hsflowd (built from a
# fetched sflow/host-sflow under build/host-sflow, psample module only) and psample-sflow export the
# same sampled stream, each to its own collector on 127.0.0.1, and compare-hsflowd.py compares every
# flow sample and the counter samples field by field.
# The stream, all inside a network namespace this script creates: a bridge br0 with ports va1 and
# vb1, veth peers va0 and vb0; IPv6 off (no stray link-local frames); 40 raw Ethernet frames
# (ethertype 0x88b5, local experimental, sizes 60..1000) sent from va0 to vb0's MAC, so each is
# sampled at va1 ingress (group 5) and at vb1 egress (group 6), as hsflowd's "psample { group=5 }"
# expects (group N ingress, N+1 egress). Rate 1, so neither exporter sub-samples.
# Prints "compare-hsflowd: ..." lines and the differences; exit status 0 only when the comparison
# ran and found no difference beyond those listed in psample-sflow.8 "DIFFERENCES FROM HSFLOWD".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/tools/psample-sflow/compare-hsflowd-vm.sh"
hsflowd_dir="$root/build/host-sflow/src/Linux"
sflow="$root/build/tools/psample-sflow"
collector="$root/tests/vm/sflow-collector.py"
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "${0##*/} runs inside the VM: use compare-hsflowd.sh" >&2; exit 2; }
for f in "$hsflowd_dir/hsflowd" "$hsflowd_dir/mod_psample.so" "$sflow"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "compare-hsflowd: FAIL: no $f" >&2; exit 2; }
done
frames=40

if [ "${1:-}" != --in-ns ]; then
    modprobe -a psample act_sample cls_matchall sch_ingress veth bridge || { echo "compare-hsflowd: FAIL: modprobe"; exit 1; }
    # A mount namespace too, for a sysfs of the new network namespace (both exporters read
    # /sys/class/net).
    exec unshare -n -m "$self" --in-ns
fi
mount -t sysfs sysfs /sys || { echo "compare-hsflowd: FAIL: mounting sysfs"; exit 1; }

w=$(mktemp -d)
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link set lo up
ip link add br0 type bridge
ip link add va0 type veth peer name va1
ip link add vb0 type veth peer name vb1
for p in va1 vb1; do ip link set "$p" master br0; done
for d in br0 va0 va1 vb0 vb1; do ip link set "$d" up; done
if ! { tc qdisc add dev va1 clsact && tc qdisc add dev vb1 clsact &&
    tc filter add dev va1 ingress matchall action sample rate 1 group 5 trunc 128 &&
    tc filter add dev vb1 egress matchall action sample rate 1 group 6 trunc 128; }; then
    echo "compare-hsflowd: FAIL: tc"; exit 1
fi
sleep 1 # the bridge ports forward once up

# hsflowd: sampling 1 everywhere (sampling.bps_ratio=0: no rate from the link speed, which would
# make it sub-sample), counters every 5 s, agent 127.0.0.1, psample groups 5 (in) and 6 (out).
cat >"$w/hsflowd.conf" <<EOF
sflow {
  agentIP = 127.0.0.1
  sampling = 1
  sampling.bps_ratio = 0
  polling = 5
  collector { ip = 127.0.0.1 udpport = 6343 }
  psample { group = 5 ingress = on egress = on }
}
EOF
python3 "$collector" 6343 "$w/hsflowd.pcap" "$w/hsflowd.ready" 120 >"$w/c1.log" 2>&1 &
c1=$!
python3 "$collector" 6344 "$w/sflow.pcap" "$w/sflow.ready" 120 >"$w/c2.log" 2>&1 &
c2=$!
"$hsflowd_dir/hsflowd" -d -P -f "$w/hsflowd.conf" -l "$hsflowd_dir" -p "$w/hsflowd.pid" \
    -o "$w/hsflowd.auto" >"$w/hsflowd.log" 2>&1 &
hs=$!
# psample-sflow: the groups' directions like hsflowd's where it has the options (wt-sflow), else
# by the sample (an output interface means egress).
dir_args=(--group 5 --group 6)
if "$sflow" --help 2>&1 | grep -q -- --ingress-group; then dir_args=(--ingress-group 5 --egress-group 6); fi
# Counters every 5 s like hsflowd's, and the timestamp record (1043), which hsflowd always sends.
poll_args=()
if "$sflow" --help 2>&1 | grep -q -- --polling-interval; then poll_args=(--polling-interval 5 --timestamps); fi
"$sflow" --collector 127.0.0.1:6344 --agent-address 127.0.0.1 "${dir_args[@]}" "${poll_args[@]}" \
    --stats 2>"$w/sflow.err" &
ps=$!
sleep 8 # hsflowd reads the interfaces and joins the groups in its first seconds

# (/sys/class/net shows the namespace /sys was mounted in, not this one: ask ip.)
mac_of() { ip -o link show dev "$1" | sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p'; }
ifindex() { ip -o link show dev "$1" | cut -d: -f1; }
python3 - "$frames" "$(mac_of vb0)" "$(mac_of va0)" <<'EOF'
import socket, sys
n = min(int(sys.argv[1]), 200)
dst, src = sys.argv[2], sys.argv[3]
mac = lambda m: bytes.fromhex(m.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("va0", 0))
for i in range(n):
    size = 60 + (i * 97) % 941
    body = i.to_bytes(4, "big") + bytes((i + j) & 0xFF for j in range(size - 18))
    s.send(mac(dst) + mac(src) + b"\x88\xb5" + body)
EOF
sleep 12 # two polling intervals, and both exporters' flushes
ip -j -s -s link show >"$w/ip-link.json"
kill -TERM "$ps" "$hs" 2>/dev/null
wait "$ps" "$hs" 2>/dev/null
kill "$c1" "$c2"; wait "$c1" "$c2"
# The captures and logs, for a closer look on the host.
keep="$root/build/vm-results/compare-hsflowd"
rm -rf "$keep" && cp -r "$w" "$keep"
echo "compare-hsflowd: captures and logs in $keep"
echo "compare-hsflowd: psample-sflow: $(grep '^psample-sflow: samples=' "$w/sflow.err" | tail -n 1)"
echo "compare-hsflowd: hsflowd log (last lines):"; tail -n 5 "$w/hsflowd.log" | sed 's/^/    /'
for who in hsflowd sflow; do
    tshark -r "$w/$who.pcap" -T fields -e udp.payload 2>/dev/null |
        python3 "$root/tools/psample-sflow/compare-decode.py" >"$w/$who.json" ||
        { echo "compare-hsflowd: FAIL: decoding $who's datagrams"; exit 1; }
done
cp "$w"/*.json "$keep/"
echo "compare-hsflowd: one hsflowd flow sample and one psample-sflow flow sample (tshark -V):"
for who in hsflowd sflow; do
    tshark -r "$w/$who.pcap" -V -O sflow 2>/dev/null | sed -n '/Flow sample/,/Flow sample/p' | head -n 40 | sed 's/^/    /'
done
python3 "$root/tools/psample-sflow/compare-hsflowd.py" "$w/hsflowd.json" "$w/sflow.json" "$w/ip-link.json" \
    "$frames" "va1=$(ifindex va1)" "vb1=$(ifindex vb1)"
