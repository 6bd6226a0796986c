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
decoder_dir="$root/tests/vm" # sflow_decode.py: an sFlow decoder of the tests' own
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
# SEND_PACE=N: a 0.1 s pause after every N datagrams (the sfacctd cases: a burst of psample-sflow's
# datagrams can overrun sfacctd's socket under TCG, which would be sfacctd's loss, not ours).
send_flows() { # COUNTxSIZE@PORT...
    python3 - "$SRC_PORT" "${SEND_PACE:-0}" "$@" <<'EOF'
import socket, sys, time
src, pace, flows = int(sys.argv[1]), int(sys.argv[2]), []
for arg in sys.argv[3:]:
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
sent = 0
for count, size, port in flows:
    for i in range(count):
        out.sendto(b"s" * size, ("127.0.0.1", port))
        sent += 1
        if pace and sent % pace == 0:
            time.sleep(0.1)
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

stop_collector() { # pcap [pid; default $bg_collector]
    local pid=${2:-$bg_collector}
    kill "$pid" 2>/dev/null
    wait "$pid"
    cat "$1.log"
}

# Asks a running psample-sflow for its counters (SIGUSR1) and waits for its Nth stats line.
stats_now() { # stderr-file n [pid; default $bg_sflow]
    local i
    kill -USR1 "${3:-$bg_sflow}" || return 1
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c '^psample-sflow: samples=' "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "  no stats line $2 from psample-sflow"
    return 1
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
    start_sflow "$w/sflow.err" --collector 127.0.0.1 --group 7 --count "$n" --polling-interval 0 --stats || return 1
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
        # Plain --group: a sample with an output interface is egress, its source the output.
        "source_id_index": (int(dsidx), s.get("out_ifindex") or s.get("in_ifindex", 0)),
        "sampling_rate": (int(rate), s["effective_rate"]),
        "sample_pool": (int(pool_s), pool),
        "drops": (int(drops), 0),
        "input": (int(iif, 0), s.get("in_ifindex", 0)),
        "output": (int(oif, 0), s.get("out_ifindex", 0)),
        "header_protocol": (int(hproto), 1),  # lo: ARPHRD_LOOPBACK, the data starts with a MAC header
        "frame_length": (int(framelen), s["origsize"] + 4),  # Ethernet: the FCS counts
        "stripped": (int(stripped), 4),
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
# loopback a frame is payload + 8 (UDP) + 20 (IPv4) + 14 (the Ethernet header lo carries) + 4 (the
# FCS an Ethernet frame_length counts), and sfacctd counts frame_length as the bytes.
case_sfacctd_rate1() {
    local w; w=$(mktemp -d)
    sfacctd_table "$w" 6343 || return 1
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6343 --group 7 --count 500 --polling-interval 0 --stats || return 1
    SEND_PACE=50 send_flows 300x100@9999 200x400@9998
    finish "$bg_sflow" 30; check "psample-sflow --count 500 exits 0" [ $? -eq 0 ]
    cat "$w/sflow.err"
    wait_table_stable "$w"
    stop_sfacctd
    echo "  sfacctd's log:"; grep -v -e '^INFO' "$w/sfacctd.log" | head -n 20 | sed 's/^/    /'
    echo "  sfacctd's table (pmacct -s -O csv):"; sed 's/^/    /' "$w/table"
    echo "  generated: 300 packets x 146 bytes = 43800 to port 9999, 200 x 446 = 89200 to port 9998 (with FCS)"
    check "sfacctd: exactly the generated packets and bytes per flow" python3 - "$w/table" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = {}
for r in rows:
    if r.get("SRC_PORT") == "40000":
        got[int(r["DST_PORT"])] = (int(r["PACKETS"]), int(r["BYTES"]), r["SRC_IP"], r["DST_IP"], r["PROTOCOL"])
want = {9999: (300, 300 * 146), 9998: (200, 200 * 446)}
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
# bytes = packets x 246 (200-byte payloads, and the FCS).
case_sfacctd_rate10() {
    local w; w=$(mktemp -d)
    sfacctd_table "$w" 6343 || return 1
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6343 --group 7 --polling-interval 0 --stats || return 1
    SEND_PACE=200 send_flows 2000x200@9999
    sleep 1.5 # psample-sflow flushes within a second
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    cat "$w/sflow.err"
    wait_table_stable "$w"
    stop_sfacctd
    echo "  sfacctd's log:"; grep -v -e '^INFO' "$w/sfacctd.log" | head -n 20 | sed 's/^/    /'
    echo "  sfacctd's table (pmacct -s -O csv):"; sed 's/^/    /' "$w/table"
    local k; k=$(stat_of "$w/sflow.err" exported)
    echo "  generated: 2000 packets x 246 bytes = 492000 (with FCS); samples exported: $k"
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
ok = abs(pk - n) <= bound and pk == rate * k and by == pk * 246
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# (d) collector down, then up. Nothing listens on 127.0.0.1:6399 at first: the kernel reports each
# datagram's ICMP port unreachable as ECONNREFUSED on the next send of the connected socket, and
# psample-sflow counts that refusal and sends the datagram again, so every datagram leaves the host
# (sent = datagrams) and none is lost for an earlier one's refusal. Then a collector starts on that
# port: it receives every datagram built after it started, the first one included (a refusal for
# the last datagram before is still pending then). The receive side loses nothing meanwhile.
case_collector_down() {
    local w n=400; w=$(mktemp -d)
    start "$w/json" "$w/psample.err" --group 7 --count $((2 * n)) --json || return 1
    local bg_psample=$bg
    start_sflow "$w/sflow.err" --collector 127.0.0.1:6399 --group 7 --polling-interval 0 --stats || return 1
    send_flows "${n}x64@9999"
    sleep 1.5 # the last datagram flushed, its refusal pending
    stats_now "$w/sflow.err" 2 || return 1
    local before; before=$(stat_of "$w/sflow.err" datagrams)
    echo "  collector down: $before datagrams built, refused=$(collector_stat_of "$w/sflow.err" refused)"
    start_collector 6399 "$w/sflow.pcap" || return 1
    send_flows "${n}x64@9999"
    sleep 1.5
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    finish "$bg_psample" 30; check "psample --count $((2 * n)) exits 0" [ $? -eq 0 ]
    stop_collector "$w/sflow.pcap"
    cat "$w/sflow.err"
    check "psample received $((2 * n))" [ "$(wc -l <"$w/json")" -eq $((2 * n)) ]
    check "psample-sflow received and exported $((2 * n))" \
        [ "$(stat_of "$w/sflow.err" samples)/$(stat_of "$w/sflow.err" exported)" = "$((2 * n))/$((2 * n))" ]
    check "no receive-side loss" [ "$(stat_of "$w/sflow.err" seq_gaps)/$(stat_of "$w/sflow.err" kernel_drops)" = 0/0 ]
    local dg sent refused errors
    dg=$(stat_of "$w/sflow.err" datagrams)
    sent=$(collector_stat_of "$w/sflow.err" sent)
    refused=$(collector_stat_of "$w/sflow.err" refused)
    errors=$(collector_stat_of "$w/sflow.err" errors)
    check "refusals counted (refused=$refused)" [ "${refused:-0}" -ge 1 ]
    check "every datagram left the host: sent $sent = datagrams $dg, errors $errors = 0" \
        [ "$sent/$errors" = "$dg/0" ]
    check "the collector received every datagram built after it started ($((before + 1)) to $dg)" \
        python3 - "$decoder_dir" "$w/sflow.pcap" "$before" "$dg" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_pcap, datagram
before, total = int(sys.argv[3]), int(sys.argv[4])
seqs = [datagram(p)[0]["dgram_seq"] for _, p in read_pcap(sys.argv[2])]
print(f"  collector: datagrams {seqs[:3]}...{seqs[-3:]} ({len(seqs)})")
sys.exit(0 if seqs == list(range(before + 1, total + 1)) else 1)
EOF
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

# ---- forwarded traffic: a bridge with two veth ports (cases f and g) ----

# A bridge br0 with two veth ports, va1 and vb1, whose peers va0 and vb0 stay outside it: frames
# sent on va0 enter the bridge at va1 and leave it at vb1 for vb0. IPv6 is off in the namespace (no
# address, no neighbour discovery), so the only frames are the test's own: raw Ethernet frames of
# the local experimental ethertype 0x88b5, no IP at all. Samplers, rate 1, for that ethertype
# only: group 11 on va1's ingress, group 12 on vb1's egress.
bridge_setup() {
    # /sys/class/net of this network namespace (in_ns made a private mount namespace).
    mount -t sysfs sysfs /sys || return 1
    sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
    ip link add br0 type bridge forward_delay 0 || return 1
    ip link add va0 type veth peer name va1 || return 1
    ip link add vb0 type veth peer name vb1 || return 1
    ip link set va1 master br0 && ip link set vb1 master br0 || return 1
    local dev i
    for dev in lo br0 va0 va1 vb0 vb1; do ip link set "$dev" up || return 1; done
    tc qdisc add dev va1 clsact &&
        tc filter add dev va1 ingress pref 10 protocol 0x88b5 matchall \
            action sample rate 1 group 11 trunc 256 || return 1
    tc qdisc add dev vb1 clsact &&
        tc filter add dev vb1 egress pref 10 protocol 0x88b5 matchall \
            action sample rate 1 group 12 trunc 256 || return 1
    for ((i = 0; i < 100; i++)); do # both ports forwarding (3), carriers up
        [ "$(cat /sys/class/net/va1/brport/state)/$(cat /sys/class/net/vb1/brport/state)" = 3/3 ] &&
            [ "$(cat /sys/class/net/vb1/operstate)" = up ] && return 0
        sleep 0.1
    done
    echo "  the bridge ports did not come up: states $(cat /sys/class/net/va1/brport/state)" \
        "$(cat /sys/class/net/vb1/brport/state), operstates $(cat /sys/class/net/{va0,va1,vb0,vb1,br0}/operstate | tr '\n' ' ')"
    ip -d link show >&2
    return 1
}

ifindex_of() { cat "/sys/class/net/$1/ifindex"; }

# Sends raw Ethernet frames on a veth end (AF_PACKET): to DST_MAC from the interface's own MAC,
# ethertype 0x88b5, frame i filled with byte i. Bounded: at most 500 frames of 60 to 1514 bytes.
send_frames() { # interface dst-mac size...
    python3 - "$@" <<'EOF'
import socket, sys
iface, dst, sizes = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), [int(x) for x in sys.argv[3:]]
assert len(sizes) <= 500 and all(60 <= n <= 1514 for n in sizes), sizes
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src = s.getsockname()[4]
for i, n in enumerate(sizes):
    s.send(dst + src + b"\x88\xb5" + bytes([i & 0xFF]) * (n - 14))
EOF
}

# The first datagram of a capture, verbose, as tshark decodes it.
tshark_verbose() { # pcap lines [filter]
    echo "  tshark's decode (verbose) of the first datagram${3:+ matching $3}:"
    # -c counts packets read, not shown: with a filter, the first shown is cut by head instead.
    if [ -n "${3:-}" ]; then
        tshark -r "$1" -d udp.port==6344,sflow -V -O sflow -Y "$3" 2>/dev/null
    else
        tshark -r "$1" -d udp.port==6344,sflow -V -O sflow -c 1 2>/dev/null
    fi | sed -n '/InMon sFlow/,$p' | head -n "$2" | sed 's/^/    /'
}

# tshark decodes every datagram of a capture without a malformed packet or an error.
tshark_clean() { # pcap
    local out
    out=$(tshark -r "$1" -d udp.port==6344,sflow -T fields -e sflow_245.version -e _ws.malformed -e _ws.expert.severity 2>"$1.tshark.err") ||
        { echo "  tshark failed: $(cat "$1.tshark.err")"; return 1; }
    python3 -c '
import sys
n = 0
for line in sys.stdin:
    version, malformed, severity = (line.rstrip("\n").split("\t") + ["", ""])[:3]
    n += 1
    assert version == "5", f"datagram {n}: version {version!r}"
    assert not malformed, f"datagram {n}: malformed"
    assert all(int(x, 0) < 0x00800000 for x in severity.split(",") if x), f"datagram {n}: expert {severity}"
assert n > 0, "no datagram"
print(f"  tshark: {n} datagrams decoded, none malformed")' <<<"$out"
}

# (f) Forwarded frames: 40 frames of 60 to 1459 bytes sent on va0 cross the bridge from va1 to vb1,
# sampled at va1's ingress (group 11) and at vb1's egress (group 12). The kernel gives egress
# samples both interfaces (in = va1, the frame's skb_iif; out = vb1), ingress samples the input
# only. Two exporters on the same samples: A declares the directions (--ingress-group 11
# --egress-group 12) and sends compact samples; B has plain --group 11 --group 12 (egress is a
# sample with an output interface) and --expanded. For every sample of each: data source (va1 for
# ingress, vb1 for egress), input, output, sequence number and pool per source, frame_length =
# frame + 4 (the FCS) and stripped = 4, Ethernet header_protocol, the header bytes; and every
# sample in the run's one encoding (A: formats 1, B: formats 3).
case_forwarded() {
    local w n=40; w=$(mktemp -d)
    bridge_setup || return 1
    local va1 vb1 dst sizes=() i
    va1=$(ifindex_of va1); vb1=$(ifindex_of vb1); dst=$(cat /sys/class/net/vb0/address)
    for ((i = 0; i < n; i++)); do sizes+=($((60 + (i * 97) % 1400))); done
    start_collector 6343 "$w/a.pcap" || return 1; local col_a=$bg_collector
    start_collector 6344 "$w/b.pcap" || return 1; local col_b=$bg_collector
    start_sflow "$w/a.err" --collector 127.0.0.1:6343 --ingress-group 11 --egress-group 12 \
        --count $((2 * n)) --polling-interval 0 --stats || return 1; local sflow_a=$bg_sflow
    start_sflow "$w/b.err" --collector 127.0.0.1:6344 --group 11 --group 12 --expanded \
        --count $((2 * n)) --polling-interval 0 --stats || return 1; local sflow_b=$bg_sflow
    send_frames va0 "$dst" "${sizes[@]}"
    finish "$sflow_a" 30; check "A exits 0 after $((2 * n)) samples" [ $? -eq 0 ]
    finish "$sflow_b" 30; check "B exits 0 after $((2 * n)) samples" [ $? -eq 0 ]
    stop_collector "$w/a.pcap" "$col_a"; stop_collector "$w/b.pcap" "$col_b"
    cat "$w/a.err" "$w/b.err"
    echo "  va1 = $va1, vb1 = $vb1; frame sizes ${sizes[*]}"
    tshark_verbose "$w/a.pcap" 110 "sflow.flow_sample.output_interface_value == $vb1"
    check "tshark decodes A's datagrams" tshark_clean "$w/a.pcap"
    check "tshark decodes B's datagrams" tshark_clean "$w/b.pcap"
    local run name fmt
    for run in "a 1 ingress-group/egress-group, compact" "b 3 plain --group, expanded"; do
        read -r name fmt _ <<<"$run"
        check "exporter ${run}: every sample" python3 - "$decoder_dir" "$w/$name.pcap" "$fmt" "$va1" "$vb1" "$dst" "${sizes[@]}" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_samples
path, fmt, va1, vb1, dst = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
sizes = [int(x) for x in sys.argv[7:]]
samples = read_samples(path)
assert samples, "no sample"
bad = [s for s in samples if s["format"] != fmt]
assert not bad, f"{len(bad)} samples not in format {fmt} (one encoding per run): {bad[0]}"
ok = True
for name, ds, want_in, want_out in (("ingress", va1, va1, 0), ("egress", vb1, va1, vb1)):
    got = [s for s in samples if s["ds_index"] == ds]
    if len(got) != len(sizes):
        print(f"  {name}: {len(got)} samples with data source {ds}, sent {len(sizes)}")
        ok = False
        continue
    for i, (s, size) in enumerate(zip(got, sizes)):
        h = s["records"][1]
        frame_start = dst.replace(":", "")
        want = {"ds_class": 0, "seq": i + 1, "rate": 1, "pool": i + 1, "drops": 0, "input": want_in,
                "output": want_out, "header_protocol": 1, "frame_length": size + 4, "stripped": 4,
                "header_length": min(size, 128), "records": [1]}
        have = {"ds_class": s["ds_class"], "seq": s["seq"], "rate": s["rate"], "pool": s["pool"],
                "drops": s["drops"], "input": s["input"], "output": s["output"],
                "header_protocol": h["header_protocol"], "frame_length": h["frame_length"],
                "stripped": h["stripped"], "header_length": h["header_length"], "records": sorted(s["records"])}
        header = bytes.fromhex(h["header"])
        if not (h["header"].startswith(frame_start) and header[12:14] == b"\x88\xb5"
                and header[14:] == bytes([i & 0xFF]) * (len(header) - 14)):
            print(f"  {name} sample {i}: header {h['header'][:40]}...")
            ok = False
        for k in want:
            if want[k] != have[k]:
                print(f"  {name} sample {i} (frame of {size} bytes): {k} {have[k]} != {want[k]}")
                ok = False
    print(f"  {name}: {len(got)} samples, data source {ds}, input {want_in}, output {want_out}"
          f" (first: {({k: v for k, v in got[0].items() if k != 'records'})})")
sys.exit(0 if ok else 1)
EOF
    done
    return $bad
}

# The kernel's counters of an interface (sysfs, the same 64-bit statistics rtnetlink gives).
kernel_counters() { # interface...
    local dev
    for dev in "$@"; do
        echo "$dev $(cat /sys/class/net/"$dev"/statistics/{rx_bytes,rx_packets,multicast,tx_bytes,tx_packets} | tr '\n' ' ')"
    done
}

# (g) Counter samples at --polling-interval 1. After 30 forwarded frames have made va1 and vb1
# data sources (and the namespace is quiet again), the kernel's counters are read (r1), 3.5 s
# pass, and they are read again (r2). For each source, the last counter sample that arrived at
# least a second after r1 (so was taken after r1: datagrams wait at most a second) and before r2
# was taken between the reads: its octets and packets, in and out, must lie between r1 and r2. Only frames between the two reads
# could move them, and none are sent then (r1 = r2 is printed); so the check is exact here, and a
# stray frame would be tolerated only if it fell between the reads. Also: ifIndex and the data
# source, port name, status up/up, veth's 10 Gb/s full duplex (ethtool), per-source sequence
# numbers 1, 2, 3..., a poll about every second, compact encoding (format 2).
case_counters() {
    local w n=30; w=$(mktemp -d)
    bridge_setup || return 1
    local va1 vb1 dst sizes=() i
    va1=$(ifindex_of va1); vb1=$(ifindex_of vb1); dst=$(cat /sys/class/net/vb0/address)
    for ((i = 0; i < n; i++)); do sizes+=($((100 + i * 10))); done
    start_collector 6343 "$w/c.pcap" || return 1
    start_sflow "$w/c.err" --collector 127.0.0.1:6343 --group 11 --group 12 --polling-interval 1 --stats || return 1
    send_frames va0 "$dst" "${sizes[@]}"
    sleep 1
    local t1 t2
    t1=$(date +%s.%N); kernel_counters va1 vb1 >"$w/r1"
    sleep 3.5
    kernel_counters va1 vb1 >"$w/r2"; t2=$(date +%s.%N)
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    stop_collector "$w/c.pcap"
    cat "$w/c.err"
    echo "  r1 (at $t1): $(tr '\n' ';' <"$w/r1")"; echo "  r2 (at $t2): $(tr '\n' ';' <"$w/r2")"
    tshark_verbose "$w/c.pcap" 70 "sflow.counters_sample.sequence_number && !sflow.flow_sample.sequence_number"
    check "tshark decodes every datagram" tshark_clean "$w/c.pcap"
    check "counter samples against the kernel's counters" \
        python3 - "$decoder_dir" "$w/c.pcap" "$t1" "$t2" "$w/r1" "$w/r2" "va1=$va1" "vb1=$vb1" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_samples
path, t1, t2 = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def counters(p):
    out = {}
    for line in open(p):
        dev, *v = line.split()
        out[dev] = dict(zip(["rx_bytes", "rx_packets", "multicast", "tx_bytes", "tx_packets"], map(int, v)))
    return out
r1, r2 = counters(sys.argv[5]), counters(sys.argv[6])
devs = dict(a.split("=") for a in sys.argv[7:])
samples = read_samples(path)
assert all(s["format"] in (1, 2) for s in samples), "not one (compact) encoding"
ok = True
for dev, idx in devs.items():
    idx = int(idx)
    cs = [s for s in samples if s["kind"] == "counters" and s["ds_index"] == idx]
    print(f"  {dev} (ifIndex {idx}): {len(cs)} counter samples, arrived at {[round(s['time'] - t1, 2) for s in cs]} s after r1")
    if len(cs) < 3:
        print(f"  {dev}: fewer than 3 counter samples in about 4.5 s at a 1 s interval"); ok = False; continue
    if [s["seq"] for s in cs] != list(range(1, len(cs) + 1)):
        print(f"  {dev}: sequence numbers {[s['seq'] for s in cs]}"); ok = False
    # Taken between the reads: arrived at least a second after r1 (a datagram waits at most a
    # second), and before r2.
    between = [s for s in cs if t1 + 1.0 <= s["time"] <= t2]
    if not between:
        print(f"  {dev}: no counter sample arrived between r1 + 1 s and r2"); ok = False; continue
    last = between[-1]
    g, name = last["records"][1], last["records"][1005]["name"]
    print(f"  {dev}: last: {g}, port name {name!r}")
    got = {"ifIndex": g["ifIndex"], "name": name, "ifStatus": g["ifStatus"], "ifSpeed": g["ifSpeed"],
           "ifDirection": g["ifDirection"], "ifType": g["ifType"]}
    want = {"ifIndex": idx, "name": dev, "ifStatus": 3, "ifSpeed": 10_000_000_000, "ifDirection": 1, "ifType": 6}
    for k in want:
        if got[k] != want[k]:
            print(f"  {dev}: {k} {got[k]!r} != {want[k]!r}"); ok = False
    pairs = {"ifInOctets": (g["ifInOctets"], "rx_bytes"),
             "ifInUcastPkts + ifInMulticastPkts": (g["ifInUcastPkts"] + g["ifInMulticastPkts"], "rx_packets"),
             "ifInMulticastPkts": (g["ifInMulticastPkts"], "multicast"),
             "ifOutOctets": (g["ifOutOctets"], "tx_bytes"), "ifOutUcastPkts": (g["ifOutUcastPkts"], "tx_packets")}
    for k, (v, kern) in pairs.items():
        lo, hi = r1[dev][kern], r2[dev][kern]
        if not lo <= v <= hi:
            print(f"  {dev}: {k} = {v}, kernel {kern} {lo} (r1) .. {hi} (r2)"); ok = False
    if r1[dev]["rx_packets"] + r1[dev]["tx_packets"] < 30:
        print(f"  {dev}: the kernel counted fewer than the 30 frames: {r1[dev]}"); ok = False
    # Earlier samples never exceed the later kernel reading, and never go down.
    for a, b in zip(cs, cs[1:]):
        if b["records"][1]["ifInOctets"] < a["records"][1]["ifInOctets"] or b["records"][1]["ifOutOctets"] < a["records"][1]["ifOutOctets"]:
            print(f"  {dev}: octets went down"); ok = False
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# (h) --all-netns: two namespaces, sfa (id 31 here) and sfb (id 32), sample their loopback's
# egress (ifIndex 1 in both), 10 and 20 UDP datagrams on their own loopback. The exporter runs in
# this case's namespace: each namespace's samples go out under a sub-agent of its own (31 + 1 and
# 32 + 1 past --sub-agent-id 0), with their own sequence numbers (1..10 and 1..20, not merged),
# pools and datagram sequence numbers; and each namespace's counter sample (read through its
# namespace id) counts that namespace's packets.
case_all_netns() {
    local w ns; w=$(mktemp -d)
    for ns in sfa sfb; do
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up && tc -n "$ns" qdisc add dev lo clsact &&
            tc -n "$ns" filter add dev lo egress pref 10 protocol ip flower ip_proto udp src_port "$SRC_PORT" \
                action sample rate 1 group 7 trunc 128 || return 1
    done
    ip netns set sfa 31 && ip netns set sfb 32 || return 1
    start_collector 6343 "$w/n.pcap" || return 1
    start_sflow "$w/n.err" --collector 127.0.0.1:6343 --all-netns --group 7 --polling-interval 1 --stats || return 1
    ip netns exec sfa "$self" --send 10x64@9999
    ip netns exec sfb "$self" --send 20x64@9999
    sleep 2.5 # a counter poll of each after the traffic, and its datagram flushed
    local tx_a tx_b
    tx_a=$(ip netns exec sfa cat /sys/class/net/lo/statistics/tx_packets)
    tx_b=$(ip netns exec sfb cat /sys/class/net/lo/statistics/tx_packets)
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    stop_collector "$w/n.pcap"
    ip netns del sfa; ip netns del sfb
    cat "$w/n.err"
    echo "  lo tx_packets: sfa $tx_a, sfb $tx_b"
    check "tshark decodes every datagram" tshark_clean "$w/n.pcap"
    check "one sub-agent per namespace, sources never merged" \
        python3 - "$decoder_dir" "$w/n.pcap" "$tx_a" "$tx_b" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_samples, read_pcap, datagram
samples = read_samples(sys.argv[2])
tx = {32: int(sys.argv[3]), 33: int(sys.argv[4])}
ok = True
for sub, n in ((32, 10), (33, 20)):
    flows = [s for s in samples if s["sub_agent"] == sub and s["kind"] == "flow"]
    counters = [s for s in samples if s["sub_agent"] == sub and s["kind"] == "counters"]
    seqs = [s["seq"] for s in flows]
    print(f"  sub-agent {sub}: {len(flows)} flow samples (seq {seqs[:3]}..{seqs[-3:]}), {len(counters)} counter samples")
    if seqs != list(range(1, n + 1)) or any(s["ds_index"] != 1 or s["pool"] != s["seq"] for s in flows):
        print(f"  sub-agent {sub}: flow samples {[(s['ds_index'], s['seq'], s['pool']) for s in flows]}"); ok = False
    if not counters or counters[-1]["records"][1]["ifOutUcastPkts"] != tx[sub] or counters[-1]["records"][1005]["name"] != "lo":
        print(f"  sub-agent {sub}: last counter sample {counters[-1] if counters else None}, kernel tx_packets {tx[sub]}"); ok = False
other = {s["sub_agent"] for s in samples} - {32, 33}
if other:
    print(f"  samples under other sub-agents {other}"); ok = False
for sub in (32, 33):
    d = [datagram(p)[0]["dgram_seq"] for _, p in read_pcap(sys.argv[2]) if datagram(p)[0]["sub_agent"] == sub]
    if d != list(range(1, len(d) + 1)):
        print(f"  sub-agent {sub}: datagram sequence numbers {d}"); ok = False
sys.exit(0 if ok else 1)
EOF
    return $bad
}

# (i) SIGHUP: the exporter re-resolves its collector and re-reads the interface table, says so,
# and keeps running: samples sent after the signal are exported too (20 before, 20 after).
case_sighup() {
    local w; w=$(mktemp -d)
    start_collector 6343 "$w/h.pcap" || return 1
    start_sflow "$w/h.err" --collector 127.0.0.1:6343 --group 7 --polling-interval 0 --stats || return 1
    send_flows 20x64@9999
    kill -HUP "$bg_sflow"
    sleep 1
    check "still running after SIGHUP" kill -0 "$bg_sflow"
    check "SIGHUP re-resolved and re-read" grep -q 'SIGHUP: collectors resolved, interface table read again' "$w/h.err"
    send_flows 20x64@9999
    sleep 1.5
    kill -TERM "$bg_sflow"; wait "$bg_sflow"; check "psample-sflow exits 0 on SIGTERM" [ $? -eq 0 ]
    stop_collector "$w/h.pcap"
    cat "$w/h.err"
    check "40 samples exported, 20 of them after SIGHUP" \
        python3 - "$decoder_dir" "$w/h.pcap" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_samples
seqs = [s["seq"] for s in read_samples(sys.argv[2]) if s["kind"] == "flow"]
print(f"  collector: {len(seqs)} flow samples")
sys.exit(0 if seqs == list(range(1, 41)) else 1)
EOF
    return $bad
}

# (j) Hardware records, from psample samples injected as a switch driver's would be
# (tests/vm/cli-inject.py; psample-sflow accepts userspace producers): OUT_TC -> extended_egress_queue
# (1036, the queue), LATENCY -> extended_transit (1039, ns), OUT_TC_OCC -> extended_queue (1040,
# bytes), and with --timestamps TIMESTAMP -> timestamp (1043, ns), as hsflowd's mod_psample makes them. Values beyond
# 32 bits are sent as 0xffffffff ("this or more"); a sample without them has none of 1036-1040.
# Also: in 5, out 6 and plain --group: data source 6; PROTO 1 (Ethernet): frame_length 1004.
case_hw_records() {
    local w; w=$(mktemp -d)
    start_collector 6343 "$w/r.pcap" || return 1
    start_sflow "$w/r.err" --collector 127.0.0.1:6343 --group 9 --count 3 --polling-interval 0 --timestamps \
        --stats || return 1
    local inject="$root/tests/vm/cli-inject.py" common=(--iif 5 --oif 6 --proto 1 --data-len 64 --origsize 1000 --rate 100)
    python3 "$inject" 9 1700000000123456789 "${common[@]}" --seq 42 --out-tc 3 --out-tc-occ 123456 --latency 789 || return 1
    python3 "$inject" 9 1700000000123456790 "${common[@]}" --seq 43 --out-tc 7 --out-tc-occ $((1 << 40)) --latency $((1 << 33)) || return 1
    python3 "$inject" 9 1700000000123456791 "${common[@]}" --seq 44 --no-hw || return 1
    finish "$bg_sflow" 30; check "psample-sflow exits 0 after 3 samples" [ $? -eq 0 ]
    stop_collector "$w/r.pcap"
    cat "$w/r.err"
    # Wireshark 4.0 (Debian 12) knows none of 1036-1043 and misreads what follows one, so only the
    # tests' decoder checks these records; tshark's view is printed for the record.
    tshark_verbose "$w/r.pcap" 45
    check "the hardware records" python3 - "$decoder_dir" "$w/r.pcap" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from sflow_decode import read_samples
flows = [s for s in read_samples(sys.argv[2]) if s["kind"] == "flow"]
want = [
    {1036: {"queue": 3}, 1039: {"delay": 789}, 1040: {"depth": 123456}, 1043: {"nanoseconds": 1700000000123456789}},
    {1036: {"queue": 7}, 1039: {"delay": 0xFFFFFFFF}, 1040: {"depth": 0xFFFFFFFF}, 1043: {"nanoseconds": 1700000000123456790}},
    {1043: {"nanoseconds": 1700000000123456791}},
]
ok = len(flows) == 3
for s, w in zip(flows, want):
    ext = {k: v for k, v in s["records"].items() if k != 1}
    h = s["records"][1]
    print(f"  sample {s['seq']}: ds {s['ds_index']} in {s['input']} out {s['output']} rate {s['rate']} "
          f"frame_length {h['frame_length']} stripped {h['stripped']} records {ext}")
    if ext != w or (s["ds_index"], s["input"], s["output"], s["rate"]) != (6, 5, 6, 100) \
            or (h["header_protocol"], h["frame_length"], h["stripped"], h["header_length"]) != (1, 1004, 4, 64):
        print(f"  wanted records {w}, ds 6, in 5, out 6, rate 100, Ethernet, 1004, 4, 64"); ok = False
sys.exit(0 if ok else 1)
EOF
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
    echo "  first sample (psample -v):"; grep -m 1 '"kind":"sample"' "$w/json" | sed 's/^/    /'
    # tshark 4.0 misreads records it does not know (1036, 1039, 1040) and stops at the first flow
    # sample of a datagram (Malformed): it gives that sample's fixed fields, sflow_decode.py (the
    # suite's decoder) the records, and the two must agree on those fields.
    tshark -r "$w/sflow.pcap" -T fields -E separator='|' -E aggregator=',' -e sflow_245.sequence_number \
        -e sflow.flow_sample.sequence_number -e sflow.flow_sample.sampling_rate \
        -e sflow.flow_sample.index >"$w/fields" 2>"$w/tshark.err" ||
        { echo "  tshark failed: $(cat "$w/tshark.err")"; bad=1; }
    python3 "$decoder_dir/sflow_decode.py" "$w/sflow.pcap" >"$w/decoded" || { echo "  sflow_decode.py failed"; bad=1; }
    echo "  first flow sample (sflow_decode.py):"; head -n 1 "$w/decoded" | sed 's/^/    /'
    check "every flow sample carries 1036/1039/1040 with the sample's values" \
        python3 - "$w/fields" "$w/decoded" "$w/json" "$n" "$ifindex" <<'EOF'
import json, sys
fields_path, decoded_path, json_path, n, ifindex = sys.argv[1:6]
n, ifindex = int(n), int(ifindex)
samples = [s for s in map(json.loads, open(json_path)) if s.get("kind") == "sample"]
flows = [f for f in map(json.loads, open(decoded_path)) if f["kind"] == "flow"]
assert len(samples) == n, f"psample printed {len(samples)} samples, not {n}"
assert len(flows) == n, f"{len(flows)} flow samples decoded, not {n}"
# Each datagram's first flow sample: tshark's fixed fields equal the decoder's.
first = {}
for f in flows:
    first.setdefault(f["dgram_seq"], (str(f["seq"]), str(f["rate"]), str(f["ds_index"])))
tshark = {}
for line in open(fields_path):
    dseq, seq, rate, idx = (c.split(",")[0] for c in line.rstrip("\n").split("|")[:4])
    tshark[int(dseq)] = (seq, rate, idx)
assert tshark == first, f"tshark {tshark} vs sflow_decode {first}"
print(f"  tshark agrees with sflow_decode.py on the first flow sample of each of {len(first)} datagrams")
# psample-sflow keeps the first 128 bytes (--header-bytes) of the 142-byte frames.
by_header = {s["data"].replace(":", "").lower()[:256]: s for s in samples}
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
        "1036 (queue)": (rec.get("1036", {}).get("queue"), s.get("out_tc")),
        "1039 (delay, ns)": (rec.get("1039", {}).get("delay"), s.get("latency_ns", -1) & 0xFFFFFFFF),
        "1040 (depth, bytes)": (rec.get("1040", {}).get("depth"), s.get("out_tc_occ", -1) & 0xFFFFFFFF),
        "out_tc = debugfs": (s.get("out_tc"), 5),
        "out_tc_occ < out_tc_occ_max": (0 <= s.get("out_tc_occ", -1) < 4096, True),
        "latency < latency_max": (0 <= s.get("latency_ns", -1) < 65536, True),
        "data source (egress: the output)": ((f["ds_class"], f["ds_index"]), (0, ifindex)),
        "input": (f["input"], 1),
        "output": (f["output"], ifindex),
        "sampling_rate": (f["rate"], 50),
        "header_protocol": (hdr.get("header_protocol"), 1),
        "frame_length (FCS included)": (hdr.get("frame_length"), s["origsize"] + 4),
        "stripped": (hdr.get("stripped"), 4),
        "header_length": (hdr.get("header_length"), min(s["data_len"], 128)),
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
if [ "${1:-}" = --send ]; then # COUNTxSIZE@PORT...: send_flows, run in another namespace
    shift; send_flows "$@"; exit
fi
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
    # A mount namespace too: bridge_setup mounts this network namespace's sysfs there.
    unshare -n -m "$self" --in-ns "$rate" "$@"
}

modprobe -a psample act_sample cls_flower cls_matchall sch_ingress veth bridge || { echo "FAIL: modprobe"; exit 1; }

run_case "(a) tshark decodes every datagram; flow samples equal psample --json" in_ns 1 case_tshark
run_case "(b) sfacctd at rate 1: exact packets and bytes per flow" in_ns 1 case_sfacctd_rate1
run_case "(c) sfacctd at rate 10: within 5 sigma" in_ns 10 case_sfacctd_rate10
run_case "(d) collector down, then up: refusals counted, no datagram lost" in_ns 1 case_collector_down
run_case "(e) usage errors" case_usage
run_case "(f) forwarded frames: data source, input, output, FCS per sample; one encoding" in_ns 1 case_forwarded
run_case "(g) counter samples every second against the kernel's counters" in_ns 1 case_counters
run_case "(h) --all-netns: one sub-agent per namespace, same ifIndex never merged" in_ns 1 case_all_netns
run_case "(i) SIGHUP re-resolves and keeps exporting" in_ns 1 case_sighup
run_case "(j) hardware records 1036, 1039, 1040 and 1043 (injected)" in_ns 1 case_hw_records

# (n) netdevsim: 6.12 only (see case_netdevsim)
if [ "$(kernel_series)" = 6.12 ]; then
    if [ "$(cut -d ' ' -f 1 "$root/build/vm/netdevsim/release" 2>/dev/null)" = "$(uname -r)" ] && [ -f "$nsim_ko" ]; then
        run_case "(n) hardware records from netdevsim: 1036/1039/1040 carry the sample's values" in_ns 1 case_netdevsim
    else
        fail_outside_case "no $nsim_ko for $(uname -r): run tests/vm/build.sh (netdevsim-build.sh) on the host"
    fi
fi

summary sflow
