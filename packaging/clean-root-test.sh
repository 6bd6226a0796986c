#!/bin/bash
# Runs inside the VM booted on the clean root (packaging/clean-root.sh): only what the .deb
# packages installed (and what apt took from the archive) is used. Each check runs in a network
# namespace of its own whose loopback egress tc samples UDP to 127.0.0.1:9999 into group 7;
# traffic is bounded (at most 50 datagrams per check). Last line: "clean-root: N passed, M failed".
# The single-quoted scripts run in the namespace's shell, which expands them.
# shellcheck disable=SC2016
set -u
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # message command...
    local msg=$1; shift
    if "$@"; then pass "$msg"; else fail "$msg"; fi
}

# A namespace with the sampler, running the command given (bash -c SCRIPT).
in_sampled_ns() {
    unshare -n bash -c '
        set -e
        ip link set lo up
        tc qdisc add dev lo clsact
        tc filter add dev lo egress pref 10 protocol ip flower ip_proto udp dst_port 9999 \
            action sample rate 1 group 7 trunc 128
        '"$1"
}
# Sends N (at most 50) datagrams to 127.0.0.1:9999, a bound sink, 20 ms apart.
export SEND='python3 -c "
import socket, sys, time
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sink.bind((\"127.0.0.1\", 9999))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(min(int(sys.argv[1]), 50)):
    out.sendto(b\"x\" * 64, (\"127.0.0.1\", 9999)); time.sleep(0.02)
"'

# The root is written to (--rw): no ready file of an earlier boot may stand in for this one's.
rm -f /tmp/collector.ready /tmp/py.ready
echo "clean-root: kernel $(uname -r), root $(sed -n "s/^PRETTY_NAME=//p" /etc/os-release)"
check "no LD_LIBRARY_PATH" [ -z "${LD_LIBRARY_PATH:-}" ]
check "libpsample.so.0 is libpsample0's" dpkg -S "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/libpsample.so.0"
dpkg-query -W libpsample0 libpsample-dev psample-tools python3-psample
check "modprobe psample act_sample cls_flower" modprobe -a psample act_sample cls_flower

# psample --count 10: ten sample lines of group 7, exit 0.
out=$(in_sampled_ns '
    timeout 30 psample --group 7 --count 10 > /tmp/psample.out 2> /tmp/psample.err & p=$!
    sleep 2; eval "$SEND" 10; rc=0; wait $p || rc=$?; echo "rc=$rc"; cat /tmp/psample.out /tmp/psample.err')
echo "$out"
check "psample --count 10 exits 0" grep -qx 'rc=0' <<<"$out"
check "psample printed 10 samples of group 7" [ "$(grep -c '^group 7 ' <<<"$out")" -eq 10 ]

# psample-sflow --count 10 to a collector on 127.0.0.1:6343 (not sampled: other port): the
# collector receives sFlow version 5 datagrams that carry 10 flow samples in all.
out=$(in_sampled_ns '
    timeout 30 python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", 6343)); s.settimeout(20)
open(\"/tmp/collector.ready\", \"w\").close()
samples = 0
while samples < 10:
    d = s.recv(65535)
    version, = struct.unpack(\"!I\", d[:4])
    n = struct.unpack(\"!I\", d[24:28] if d[4:8] == b\"\\0\\0\\0\\1\" else d[36:40])[0]
    samples += n
    print(\"collector: sFlow version\", version, \"samples\", n)
" > /tmp/collector.out 2>&1 & c=$!
    while [ ! -e /tmp/collector.ready ]; do sleep 0.1; done
    timeout 30 psample-sflow --collector 127.0.0.1:6343 --group 7 --count 10 2> /tmp/sflow.err & p=$!
    sleep 2; eval "$SEND" 10; rc=0; wait $p || rc=$?; echo "sflow rc=$rc"; rc=0; wait $c || rc=$?; echo "collector rc=$rc"
    cat /tmp/collector.out /tmp/sflow.err')
echo "$out"
check "psample-sflow --count 10 exits 0" grep -qx 'sflow rc=0' <<<"$out"
check "the collector received sFlow v5 datagrams with the 10 samples" grep -qx 'collector rc=0' <<<"$out"
check "every datagram is sFlow version 5" [ "$(grep -c '^collector: sFlow version 5 ' <<<"$out")" -ge 1 ]

# A C program compiled here against the installed header and library, through pkg-config.
check "pkg-config --modversion psample" pkg-config --modversion psample
check "cc psample-dump.c \$(pkg-config --cflags --libs psample)" \
    sh -c 'gcc -std=c11 -Wall -Werror -o /tmp/psample-dump /opt/psample-test/psample-dump.c $(pkg-config --cflags --libs psample)'
out=$(in_sampled_ns '
    timeout 30 /tmp/psample-dump -g 7 -c 5 > /tmp/dump.out 2>&1 & p=$!
    sleep 2; eval "$SEND" 5; rc=0; wait $p || rc=$?; echo "rc=$rc"; cat /tmp/dump.out')
echo "$out"
check "the C program exits 0" grep -qx 'rc=0' <<<"$out"
check "the C program printed 5 samples of group 7" [ "$(grep -c 'group=7' <<<"$out")" -eq 5 ]
check "the C program uses the installed library" sh -c 'ldd /tmp/psample-dump | grep -Eq "libpsample.so.0 => (/usr)?/lib/[a-z0-9_-]+/libpsample.so.0 "'

# python3-psample: import psample, receive 5 samples.
out=$(in_sampled_ns '
    timeout 30 python3 -c "
import psample
print(\"python: psample\", psample.version(), \"from\", psample.__file__)
with psample.subscribe(groups=[7]) as sub:
    open(\"/tmp/py.ready\", \"w\").close()
    got = 0
    for pkt in sub:
        print(\"python: group\", pkt.group, \"seq\", pkt.group_seq, \"bytes\", len(pkt.data))
        got += 1
        if got == 5:
            break
" > /tmp/py.out 2>&1 & p=$!
    while [ ! -e /tmp/py.ready ] && kill -0 $p 2>/dev/null; do sleep 0.1; done
    eval "$SEND" 5; rc=0; wait $p || rc=$?; echo "rc=$rc"; cat /tmp/py.out')
echo "$out"
check "python3 -c 'import psample' receives and exits 0" grep -qx 'rc=0' <<<"$out"
check "python received 5 samples of group 7" [ "$(grep -c '^python: group 7 ' <<<"$out")" -eq 5 ]
check "psample_version() is the package's version" grep -q "^python: psample $(dpkg-query -W -f='${source:Upstream-Version}' libpsample0) from" <<<"$out"
check "python imported the packaged module" grep -q 'from /usr/lib/python3/dist-packages/psample/' <<<"$out"

echo "clean-root: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
