#!/usr/bin/env bash
# Runs inside the VM (tests/vm/vm-run): psample-sflow (tools/psample-sflow) against the real
# kernel, with tshark and pmacct's sfacctd as collectors. Build on the host first:
#
#     make all && tests/vm/vm-run 6.12 tests/vm/suites.sh sflow
#
# Every case runs in a fresh network namespace: loopback up, a flower filter on its egress samples
# the test's UDP traffic only (source port 40000, to 127.0.0.1), so the sFlow datagrams, also on
# loopback, are not sampled themselves. Collectors listen on 127.0.0.1. Traffic loops are bounded
# (at most 3000 datagrams per case). Last line: "sflow tests on <kernel>: N passed, M failed".
# ONLY=REGEX runs the matching cases only.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/tests/vm/sflow-tests.sh"
sflow="$root/build/tools/psample-sflow"
psample="$root/build/tools/psample"
# shellcheck disable=SC2034 # read by start() in lib.sh
psample_cli=$psample
bg="" # set by start() in lib.sh
collector="$root/tests/vm/sflow-collector.py"
# shellcheck source=/dev/null # lib.sh: shellchecked on its own
. "$root/tests/vm/lib.sh"
for prog in "$sflow" "$psample"; do
    [ -x "$prog" ] || { echo "FAIL: no $prog: run 'make all' on the host first" >&2; exit 2; }
done
for tool in tshark sfacctd pmacct; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool missing: run .ci/install-deps as root" >&2; exit 2; }
done

SRC_PORT=40000

bad=0
check() { # message command...: records a failure, goes on
    local msg=$1; shift
    if ! "$@"; then echo "  FAIL: $msg"; bad=1; fi
}

# Sends UDP datagrams from 127.0.0.1:40000 to 127.0.0.1 (bounded: at most 3000 datagrams of at most
# 1400 bytes). Each argument is COUNTxSIZE@PORT; sinks are bound on every port so no ICMP follows.
send_flows() { # COUNTxSIZE@PORT...
    python3 - "$SRC_PORT" "$@" <<'EOF'
import socket, sys
src, flows = int(sys.argv[1]), []
for arg in sys.argv[2:]:
    spec, port = arg.split("@")
    count, size = (int(x) for x in spec.split("x"))
    flows.append((min(count, 3000), min(size, 1400), int(port)))
assert sum(f[0] for f in flows) <= 3000
sinks = []
for port in sorted({f[2] for f in flows}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", port))
    sinks.append(s)
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out.bind(("127.0.0.1", src))
for count, size, port in flows:
    for i in range(count):
        out.sendto(b"s" * size, ("127.0.0.1", port))
EOF
}

# Starts psample-sflow in the background (pid in $bg_sflow); returns once it is subscribed: its
# SIGUSR1 handler runs only after psample_subscribe() returned.
start_sflow() { # stderr-file args...
    local err=$1; shift
    "$sflow" "$@" 2>"$err" &
    bg_sflow=$!
    local i cgt
    for ((i = 0; i < 200; i++)); do
        cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$bg_sflow/status" 2>/dev/null) || return 1
        [ -n "$cgt" ] && (( 0x$cgt & 0x200 )) && break
        sleep 0.1
    done
    kill -USR1 "$bg_sflow" 2>/dev/null || return 1
    for ((i = 0; i < 200; i++)); do
        grep -q '^psample-sflow: samples=' "$err" && return 0
        kill -0 "$bg_sflow" 2>/dev/null || { echo "  psample-sflow exited: $(cat "$err")"; return 1; }
        sleep 0.1
    done
    echo "  psample-sflow did not get ready: $(cat "$err")"
    return 1
}

start_collector() { # port pcap
    rm -f "$2.ready"
    python3 "$collector" "$1" "$2" "$2.ready" 120 >"$2.log" 2>&1 &
    bg_collector=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [ -e "$2.ready" ] && return 0
        sleep 0.1
    done
    echo "  the collector did not start: $(cat "$2.log")"
    return 1
}

stop_collector() { # pcap
    kill "$bg_collector" 2>/dev/null
    wait "$bg_collector"
    cat "$1.log"
}

# The last stats line's value of a counter: psample-sflow: ... NAME=VALUE ...
stat_of() { # file name
    grep '^psample-sflow: samples=' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
collector_stat_of() { # file name
    grep '^psample-sflow: collector ' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---- cases (each in its own namespace, see the bottom) ----

# (a) tshark decodes every datagram; each flow sample equals what psample --json -v printed for the
# same sample: rate, frame length = origsize, interfaces, data source, header bytes (up to 128 of
# the 256 the sampler keeps), per-source sequence numbers, pool and drops; datagram sequence
# numbers, agent address, packing up to the MTU.
case_tshark() {
    local w n=60; w=$(mktemp -d)
    start_collector 6343 "$w/sflow.pcap" || return 1
    start "$w/json" "$w/psample.err" --group 7 --count "$n" --json -v || return 1
    local bg_psample=$bg
    start_sflow "$w/sflow.err" --collector 127.0.0.1 --group 7 --count "$n" --stats || return 1
    # Sizes from 16 to 1216 bytes: headers shorter and longer than 128 bytes.
    local sizes=() i
    for ((i = 0; i < n; i++)); do sizes+=("1x$((16 + (i * 97) % 1200))@9999"); done
    send_flows "${sizes[@]}"
    finish "$bg_psample" 30; check "psample --count $n exits 0" [ $? -eq 0 ]
    finish "$bg_sflow" 30; check "psample-sflow --count $n exits 0" [ $? -eq 0 ]
    cat "$w/sflow.err"
    stop_collector "$w/sflow.pcap"
    check "psample-sflow exported $n samples" [ "$(stat_of "$w/sflow.err" exported)" = "$n" ]
    check "no sequence gap, no kernel drop" [ "$(stat_of "$w/sflow.err" seq_gaps)/$(stat_of "$w/sflow.err" kernel_drops)" = 0/0 ]
    # tshark is slow to start under TCG: one run for every field, one for the verbose decode.
    echo "  tshark's decode of the first datagram (verbose):"
    tshark -r "$w/sflow.pcap" -V -c 1 -O sflow 2>/dev/null | sed -n '/InMon sFlow/,$p' | head -n 60 | sed 's/^/    /'
    tshark -r "$w/sflow.pcap" -T fields -E separator='|' -E aggregator=',' \
        -e frame.len -e sflow_245.version -e sflow_245.agent -e sflow_245.sub_agent_id \
        -e sflow_245.sequence_number -e sflow_245.sysuptime -e sflow_245.numsamples \
        -e sflow.flow_sample.sequence_number -e sflow.flow_sample.source_id_class \
        -e sflow.flow_sample.index -e sflow.flow_sample.sampling_rate \
        -e sflow.flow_sample.sample_pool -e sflow.flow_sample.dropped_packets \
        -e sflow.flow_sample.input_interface -e sflow.flow_sample.output_interface_value \
        -e sflow_245.header_protocol -e sflow_245.header.frame_length \
        -e sflow_245.header.payload_stripped -e sflow_245.header.sampled_header_length \
        -e sflow_245.header -e _ws.malformed -e _ws.expert.severity >"$w/fields" 2>"$w/tshark.err" ||
        { echo "  tshark failed: $(cat "$w/tshark.err")"; bad=1; }
    check "tshark printed the fields" [ -s "$w/fields" ]
    check "tshark decodes every datagram; every flow sample equals psample --json" \
        python3 - "$w/fields" "$w/json" "$n" "$(stat_of "$w/sflow.err" datagrams)" <<'EOF'
import json, sys
fields_path, json_path, n, datagrams = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
samples = [json.loads(line) for line in open(json_path)]
assert len(samples) == n, f"psample printed {len(samples)} samples, not {n}"
flows, dgram_seqs, ok = [], [], True
for line in open(fields_path):
    (flen, version, agent, sub, dseq, uptime, nsamp, fseq, dstype, dsidx, rate, pool, drops, iif, oif,
     hproto, framelen, stripped, hlen, header, malformed, severity) = line.rstrip("\n").split("|")
    assert version == "5", f"datagram {len(dgram_seqs) + 1}: version {version!r} (not decoded as sFlow v5?)"
    assert not malformed, f"datagram {dseq}: malformed"
    # Expert severities: 0x00800000 is an error (a warning is 0x00600000).
    assert all(int(x, 0) < 0x00800000 for x in severity.split(",") if x), f"datagram {dseq}: expert {severity}"
    assert agent == "127.0.0.1", f"agent {agent}"
    assert sub == "0", sub
    assert int(flen) - 28 <= 1400, f"datagram of {int(flen) - 28} bytes > --mtu 1400"
    dgram_seqs.append(int(dseq))
    cols = [c.split(",") for c in (fseq, dstype, dsidx, rate, pool, drops, iif, oif, hproto,
                                    framelen, stripped, hlen, header)]
    assert all(len(c) == int(nsamp) for c in cols), f"datagram {dseq}: {nsamp} samples, fields {cols}"
    flows += list(zip(*cols))
assert dgram_seqs == list(range(1, len(dgram_seqs) + 1)), f"datagram sequence numbers {dgram_seqs}"
assert len(dgram_seqs) > 1, "one datagram only: packing up to the MTU not exercised"
assert len(dgram_seqs) == datagrams, f"tshark read {len(dgram_seqs)} datagrams, psample-sflow sent {datagrams}"
assert len(flows) == n, f"tshark decoded {len(flows)} flow samples in {len(dgram_seqs)} datagrams, not {n}"
print(f"  {len(dgram_seqs)} datagrams, {len(flows)} flow samples")
pool = 0
for i, (s, f) in enumerate(zip(samples, flows)):
    fseq, dstype, dsidx, rate, pool_s, drops, iif, oif, hproto, framelen, stripped, hlen, header = f
    header = header.replace(":", "")
    # tshark shows the header with its XDR padding to 4 bytes, which must be zeros.
    pad = (4 - int(hlen) % 4) % 4
    if header.endswith("00" * pad) and len(header) == 2 * (int(hlen) + pad):
        header = header[:2 * int(hlen)]
    data = s["data"].replace(":", "").replace(" ", "").lower()
    pool += s["effective_rate"]
    want_hlen = min(s["data_len"], 128)
    want = {
        "sequence_number": (int(fseq), i + 1),
        "source_id_type": (int(dstype), 0),
        "source_id_index": (int(dsidx), s.get("in_ifindex") or s.get("out_ifindex", 0)),
        "sampling_rate": (int(rate), s["effective_rate"]),
        "sample_pool": (int(pool_s), pool),
        "drops": (int(drops), 0),
        "input": (int(iif, 0), s.get("in_ifindex", 0)),
        "output": (int(oif, 0), s.get("out_ifindex", 0)),
        "header_protocol": (int(hproto), 1),  # lo: ARPHRD_LOOPBACK, the data starts with a MAC header
        "frame_length": (int(framelen), s["origsize"]),
        "stripped": (int(stripped), 0),
        "header_length": (int(hlen), want_hlen),
        "header_bytes": (header, data[:2 * want_hlen]),
    }
    for name, (got, exp) in want.items():
        if got != exp:
            print(f"  sample {i} (psample seq {s['seq']}): {name} {got!r} != {exp!r}")
            ok = False
print(f"  first sample: psample {json.dumps({k: v for k, v in samples[0].items() if k != 'data'})}")
print(f"  first flow sample (tshark): {flows[0][:12]}")
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# sfacctd with the memory plugin, aggregated per flow; its counters are renormalised by the
# sampling rate (sfacctd_renormalize). Waits until its totals stop changing (at most 30 s) and
# prints the client's table.
sfacctd_table() { # dir port
    local w=$1 port=$2
    cat >"$w/sfacctd.conf" <<EOF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $port
sfacctd_renormalize: true
plugins: memory
aggregate: src_host, dst_host, src_port, dst_port, proto
imt_path: $w/imt.pipe
pidfile: $w/sfacctd.pid
EOF
    sfacctd -f "$w/sfacctd.conf" >"$w/sfacctd.log" 2>&1 &
    bg_sfacctd=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [ -p "$w/imt.pipe" ] || [ -S "$w/imt.pipe" ] && break
        sleep 0.2
    done
    [ -e "$w/imt.pipe" ] || { echo "  sfacctd did not start: $(cat "$w/sfacctd.log")"; return 1; }
}

pmacct_table() { # dir
    timeout 20 pmacct -p "$1/imt.pipe" -s -O csv 2>&1
}

stop_sfacctd() {
    kill "$bg_sfacctd" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$bg_sfacctd" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$bg_sfacctd" 2>/dev/null
    wait "$bg_sfacctd" 2>/dev/null
}

# Waits until the table has a row for the test's source port whose totals equal the previous read
# twice in a row (stable), at most 30 s; leaves it in $1/table.
wait_table_stable() { # dir
    local prev="" cur i same=0
    local t0=$SECONDS
    for ((i = 0; i < 60 && SECONDS - t0 < 60; i++)); do
        cur=$(pmacct_table "$1" | grep ",$SRC_PORT,")
        echo "  $((SECONDS - t0)) s: sfacctd: ${cur:-no row yet}" | tr '\n' ' '; echo
        if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then
            same=$((same + 1)); [ "$same" -ge 3 ] && break
        else
            same=0
        fi
        prev=$cur
        sleep 0.5
    done
    pmacct_table "$1" >"$1/table"
}

# (b) rate 1: sfacctd's per-flow packets and bytes equal the generated traffic exactly. Two flows
# from 127.0.0.1:40000: 300 datagrams of 100 bytes to port 9999 and 200 of 400 bytes to 9998. On
# loopback a frame is payload + 8 (UDP) + 20 (IPv4) + 14 (the Ethernet header lo carries), and
# psample-sflow sends frame_length = origsize, which sfacctd counts as the bytes.
case_sfacctd_rate1() {
    local w; w=$(mktemp -d)
    sfacctd_table "$w" 6343 || return 1
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6343 --group 7 --count 500 --stats || return 1
    send_flows 300x100@9999 200x400@9998
    finish "$bg_sflow" 30; check "psample-sflow --count 500 exits 0" [ $? -eq 0 ]
    cat "$w/sflow.err"
    wait_table_stable "$w"
    stop_sfacctd
    echo "  sfacctd's log:"; grep -v -e '^INFO' "$w/sfacctd.log" | head -n 20 | sed 's/^/    /'
    echo "  sfacctd's table (pmacct -s -O csv):"; sed 's/^/    /' "$w/table"
    echo "  generated: 300 packets x 142 bytes = 42600 to port 9999, 200 x 442 = 88400 to port 9998"
    check "sfacctd: exactly the generated packets and bytes per flow" python3 - "$w/table" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = {}
for r in rows:
    if r.get("SRC_PORT") == "40000":
        got[int(r["DST_PORT"])] = (int(r["PACKETS"]), int(r["BYTES"]), r["SRC_IP"], r["DST_IP"], r["PROTOCOL"])
want = {9999: (300, 300 * 142), 9998: (200, 200 * 442)}
ok = True
for port, (pk, by) in want.items():
    g = got.get(port)
    if g is None or g[:2] != (pk, by) or g[2:4] != ("127.0.0.1", "127.0.0.1") or g[4].lower() not in ("udp", "17"):
        print(f"  port {port}: sfacctd {g}, generated {pk} packets, {by} bytes")
        ok = False
if set(got) != set(want):
    print(f"  flows seen {sorted(got)}, generated {sorted(want)}")
    ok = False
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# (c) rate 10: act_sample takes each packet with probability 1/10, so the number of samples k of
# N = 2000 packets is Binomial(N, 0.1) and sfacctd's estimate is 10 k: mean N, standard deviation
# 10 * sqrt(N * 0.1 * 0.9) = 134.2. Bound: 5 sigma, |10 k - N| <= 670 (fails by chance with
# probability below 1e-6). Exact on top: packets = 10 x the samples psample-sflow exported, and
# bytes = packets x 242 (200-byte payloads).
case_sfacctd_rate10() {
    local w; w=$(mktemp -d)
    sfacctd_table "$w" 6343 || return 1
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6343 --group 7 --stats || return 1
    send_flows 2000x200@9999
    sleep 1.5 # psample-sflow flushes within a second
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    cat "$w/sflow.err"
    wait_table_stable "$w"
    stop_sfacctd
    echo "  sfacctd's log:"; grep -v -e '^INFO' "$w/sfacctd.log" | head -n 20 | sed 's/^/    /'
    echo "  sfacctd's table (pmacct -s -O csv):"; sed 's/^/    /' "$w/table"
    local k; k=$(stat_of "$w/sflow.err" exported)
    echo "  generated: 2000 packets x 242 bytes = 484000; samples exported: $k"
    check "no sequence gap" [ "$(stat_of "$w/sflow.err" seq_gaps)" = 0 ]
    check "sfacctd: within 5 sigma of the generated traffic, exact against the samples" \
        python3 - "$w/table" "$k" <<'EOF'
import csv, math, sys
k = int(sys.argv[2])
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("SRC_PORT") == "40000"]
assert len(rows) == 1, rows
pk, by = int(rows[0]["PACKETS"]), int(rows[0]["BYTES"])
n, rate = 2000, 10
bound = 5 * rate * math.sqrt(n * (1 / rate) * (1 - 1 / rate))
print(f"  sfacctd: {pk} packets, {by} bytes; generated {n}; |{pk} - {n}| = {abs(pk - n)}, bound {bound:.1f}")
ok = abs(pk - n) <= bound and pk == rate * k and by == pk * 242
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# (d) collector down: nothing listens on 127.0.0.1:6399, so sends fail with ECONNREFUSED (the
# kernel reports the ICMP port unreachable on the next send of the connected socket). Every sample
# is still received and exported (no sequence gap, no kernel drop), the refusals are counted, and
# psample --json on the same sampler receives the same number.
case_collector_down() {
    local w n=400; w=$(mktemp -d)
    start "$w/json" "$w/psample.err" --group 7 --count "$n" --json || return 1
    local bg_psample=$bg
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6399 --group 7 --count "$n" --stats || return 1
    send_flows "${n}x64@9999"
    finish "$bg_psample" 30; check "psample --count $n exits 0" [ $? -eq 0 ]
    finish "$bg_sflow" 30; check "psample-sflow --count $n exits 0" [ $? -eq 0 ]
    cat "$w/sflow.err"
    check "psample received $n" [ "$(wc -l <"$w/json")" -eq "$n" ]
    check "psample-sflow received and exported $n" [ "$(stat_of "$w/sflow.err" samples)/$(stat_of "$w/sflow.err" exported)" = "$n/$n" ]
    check "no receive-side loss" [ "$(stat_of "$w/sflow.err" seq_gaps)/$(stat_of "$w/sflow.err" kernel_drops)" = 0/0 ]
    local dg sent refused errors
    dg=$(stat_of "$w/sflow.err" datagrams)
    sent=$(collector_stat_of "$w/sflow.err" sent)
    refused=$(collector_stat_of "$w/sflow.err" refused)
    errors=$(collector_stat_of "$w/sflow.err" errors)
    check "refusals counted (refused=$refused)" [ "${refused:-0}" -ge 1 ]
    check "every datagram accounted for: sent $sent + refused $refused + errors $errors = $dg" \
        [ $((sent + refused + errors)) -eq "$dg" ]
    return $bad
}

# (e) usage errors: exit 2 and a message naming the problem.
case_usage() {
    local out rc
    out=$("$sflow" 2>&1); rc=$?
    check "no --collector: exit 2" [ "$rc" -eq 2 ]
    check "no --collector: says so" grep -q -- '--collector is required' <<<"$out"
    out=$("$sflow" --collector 127.0.0.1 --header-bytes 2000 2>&1); rc=$?
    check "--header-bytes beyond --mtu: exit 2 ($out)" [ "$rc" -eq 2 ]
    out=$("$sflow" --collector 127.0.0.1 --mtu 100 2>&1); rc=$?
    check "--mtu 100: exit 2 ($out)" [ "$rc" -eq 2 ]
    out=$("$sflow" --collector 127.0.0.1 --agent-address nonsense 2>&1); rc=$?
    check "bad --agent-address: exit 2 ($out)" [ "$rc" -eq 2 ]
    out=$("$sflow" --collector '[::1' 2>&1); rc=$?
    check "bad collector: exit 2 ($out)" [ "$rc" -eq 2 ]
    return $bad
}

# ---- (n) hardware records from netdevsim (6.12 only) ----
# netdevsim's psample reporter (drivers/net/netdevsim/psample.c) is the only software producer of
# OUT_TC, OUT_TC_OCC and LATENCY. Debian does not build it: tests/vm/netdevsim-build.sh builds it
# out of tree for the 6.12 kernel only (linux-source-6.12 against that image's headers), so this
# case is in 6.12's list and in no other kernel's; on 5.10, 6.1 and sid the injector case covers
# the records. On 6.12 a missing or mismatched module is a failure, not a skip.
# The reporter sends one sample every 100 ms of a 142-byte UDP/IPv4 frame it builds in the kernel
# (never sent anywhere), in the psample group of its devlink's namespace: the device is created
# from inside the case's namespace, so its samples stay there. OUT_TC is the debugfs value,
# OUT_TC_OCC and LATENCY are random below out_tc_occ_max and latency_max (powers of two: the
# driver masks with max - 1), so each flow sample is checked against psample --json -v of the same
# sample (matched by header bytes: random MACs and ports), and against the debugfs settings.
nsim_ko="$root/build/vm/netdevsim/netdevsim.ko"
nsim_id=7311 # the bus device id, also the debugfs folder's number
case_netdevsim() {
    local w n=20 d=/sys/kernel/debug/netdevsim/netdevsim$nsim_id/psample
    w=$(mktemp -d)
    lsmod | grep -q '^netdevsim ' || insmod "$nsim_ko" || { echo "  insmod $nsim_ko failed"; return 1; }
    mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || return 1
    echo "$nsim_id 1" >/sys/bus/netdevsim/new_device || { echo "  new_device failed"; return 1; }
    local port="" i
    for ((i = 0; i < 50; i++)); do
        # The namespace had only lo: its other device is the port (ip -o: "N: NAME: <...").
        port=$(ip -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2; exit }')
        [ -n "$port" ] && break
        sleep 0.1
    done
    check "netdevsim's port is in the case's namespace ($port)" ip link show dev "${port:-none}"
    # (/sys/class/net shows the namespace /sys was mounted in, not this one: ask ip.)
    local ifindex; ifindex=$(ip -o link show dev "$port" | cut -d: -f1)
    ip link set "$port" up
    # Group 33, 1 in 50, OUT_TC 5, occupancy below 4096 bytes, latency below 65536 ns; input lo,
    # output the netdevsim port (an Ethernet device: header_protocol 1).
    local knob
    for knob in group_num=33 rate=50 out_tc=5 out_tc_occ_max=4096 latency_max=65536 in_ifindex=1 \
        out_ifindex="$ifindex" trunc_size=0; do
        echo "${knob#*=}" >"$d/${knob%%=*}" || { echo "  netdevsim debugfs $knob failed"; return 1; }
    done
    start_collector 6343 "$w/sflow.pcap" || return 1
    start "$w/json" "$w/psample.err" --group 33 --count "$n" --json -v || return 1
    local bg_psample=$bg
    start_sflow "$w/sflow.err" --collector 127.0.0.1 --group 33 --count "$n" --stats || return 1
    echo 1 >"$d/enable" || { echo "  enable failed"; return 1; }
    finish "$bg_psample" 30; check "psample --count $n exits 0" [ $? -eq 0 ]
    finish "$bg_sflow" 30; check "psample-sflow --count $n exits 0" [ $? -eq 0 ]
    echo 0 >"$d/enable"
    echo "$nsim_id" >/sys/bus/netdevsim/del_device
    rmmod netdevsim # psample cannot be unloaded before the next suite while netdevsim holds it
    cat "$w/sflow.err"
    stop_collector "$w/sflow.pcap"
    echo "  first sample (psample -v):"; head -n 1 "$w/json" | sed 's/^/    /'
    # tshark 4.0 reads the records it does not know (1036, 1039, 1040) wrongly and calls the
    # datagram Malformed: it gives the datagrams and the flow samples' fixed fields; sflow-decode.py
    # decodes the records, and must agree with tshark on the fixed fields.
    tshark -r "$w/sflow.pcap" -T fields -E separator='|' -E aggregator=',' \
        -e sflow.flow_sample.sequence_number -e sflow.flow_sample.sampling_rate \
        -e sflow.flow_sample.source_id_index -e udp.payload >"$w/fields" 2>"$w/tshark.err" ||
        { echo "  tshark failed: $(cat "$w/tshark.err")"; bad=1; }
    cut -d '|' -f 4 "$w/fields" | python3 "$root/tests/vm/sflow-decode.py" >"$w/decoded" ||
        { echo "  sflow-decode.py failed"; bad=1; }
    echo "  first flow sample (sflow-decode.py):"; head -n 1 "$w/decoded" | sed 's/^/    /'
    check "every flow sample carries 1036/1039/1040 with the sample's values" \
        python3 - "$w/fields" "$w/decoded" "$w/json" "$n" "$ifindex" <<'EOF'
import json, sys
fields_path, decoded_path, json_path, n, ifindex = sys.argv[1:6]
n, ifindex = int(n), int(ifindex)
samples = [s for s in map(json.loads, open(json_path)) if s.get("kind") == "sample"]
flows = [json.loads(line) for line in open(decoded_path)]
flows = [f for f in flows if f["kind"] == "flow"]
assert len(samples) == n, f"psample printed {len(samples)} samples, not {n}"
assert len(flows) == n, f"{len(flows)} flow samples decoded, not {n}"
# tshark's fixed fields, in the same order, agree with the decoder's.
tshark = []
for line in open(fields_path):
    seq, rate, idx = (c.split(",") for c in line.rstrip("\n").split("|")[:3])
    tshark += list(zip(seq, rate, idx))
mine = [(str(f["sequence"]), str(f["sampling_rate"]), str(f["ds_index"])) for f in flows]
assert tshark[:len(mine)] == mine, f"tshark {tshark[:3]} vs sflow-decode {mine[:3]}"
by_header = {s["data"].replace(":", "").lower(): s for s in samples}
assert len(by_header) == n, "two samples with the same header bytes"
ok = True
for i, f in enumerate(flows):
    rec = f["records"]
    hdr = rec.get("1", {})
    s = by_header.get(hdr.get("header", ""))
    if s is None:
        print(f"  flow sample {i}: no psample sample with its header bytes"); ok = False; continue
    want = {
        "records": (sorted(rec), ["1", "1036", "1039", "1040"]),
        "1036 (queue)": (rec.get("1036"), s.get("out_tc")),
        "1039 (delay, ns)": (rec.get("1039"), s.get("latency_ns", -1) & 0xFFFFFFFF),
        "1040 (depth, bytes)": (rec.get("1040"), s.get("out_tc_occ", -1) & 0xFFFFFFFF),
        "out_tc = debugfs": (s.get("out_tc"), 5),
        "out_tc_occ < out_tc_occ_max": (0 <= s.get("out_tc_occ", -1) < 4096, True),
        "latency < latency_max": (0 <= s.get("latency_ns", -1) < 65536, True),
        "data source (egress: the output)": ((f["ds_type"], f["ds_index"]), (0, ifindex)),
        "input": (f["input"], 1),
        "output": (f["output"], ifindex),
        "sampling_rate": (f["sampling_rate"], 50),
        "header_protocol": (hdr.get("header_protocol"), 1),
        "frame_length (FCS included)": (hdr.get("frame_length"), s["origsize"] + 4),
        "stripped": (hdr.get("stripped"), 4),
    }
    for name, (got, exp) in want.items():
        if got != exp:
            print(f"  flow sample {i} (psample seq {s['seq']}): {name} {got!r} != {exp!r}"); ok = False
occ = sorted({s["out_tc_occ"] for s in samples}); lat = sorted({s["latency_ns"] for s in samples})
print(f"  {n} flow samples; out_tc_occ {len(occ)} distinct in [{occ[0]}, {occ[-1]}], latency {len(lat)} distinct in [{lat[0]}, {lat[-1]}]")
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# Re-entered inside a new network namespace: loopback up, the test traffic on its egress sampled.
if [ "${1:-}" = --in-ns ]; then
    rate=$2; shift 2
    ip link set lo up && tc qdisc add dev lo clsact &&
        tc filter add dev lo egress pref 10 protocol ip flower ip_proto udp src_port "$SRC_PORT" \
            action sample rate "$rate" group 7 trunc 256 || exit 1
    "$@"
    exit
fi

in_ns() { # rate case-function
    local rate=$1; shift
    unshare -n "$self" --in-ns "$rate" "$@"
}

modprobe -a psample act_sample cls_flower sch_ingress || { echo "FAIL: modprobe"; exit 1; }

run_case "(a) tshark decodes every datagram; flow samples equal psample --json" in_ns 1 case_tshark
run_case "(b) sfacctd at rate 1: exact packets and bytes per flow" in_ns 1 case_sfacctd_rate1
run_case "(c) sfacctd at rate 10: within 5 sigma" in_ns 10 case_sfacctd_rate10
run_case "(d) collector down: no receive-side loss, refusals counted" in_ns 1 case_collector_down
run_case "(e) usage errors" case_usage

# (n) netdevsim: 6.12 only (see case_netdevsim)
if [ "$(kernel_series)" = 6.12 ]; then
    if [ "$(cut -d ' ' -f 1 "$root/build/vm/netdevsim/release" 2>/dev/null)" = "$(uname -r)" ] && [ -f "$nsim_ko" ]; then
        run_case "(n) hardware records from netdevsim: 1036/1039/1040 carry the sample's values" in_ns 1 case_netdevsim
    else
        fail_outside_case "no $nsim_ko for $(uname -r): run tests/vm/build.sh (netdevsim-build.sh) on the host"
    fi
fi

summary sflow
