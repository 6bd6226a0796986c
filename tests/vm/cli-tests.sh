#!/usr/bin/env bash
# Runs inside the VM (tests/vm/vm-run): the psample command-line tool (tools/psample/psample.c)
# against the real kernel. It runs build/tools/psample, which the Makefile builds on the host,
# so build first:
#
#     make all && tests/vm/vm-run 6.12 tests/vm/cli-tests.sh
#
# Most cases run in a fresh network namespace whose loopback egress tc samples into group 7
# (every packet, first 128 bytes); traffic is bounded UDP to 127.0.0.1 in that namespace only.
# Last line: "cli tests on <kernel>: N passed, M failed" (cases). To run some cases only:
# ONLY='^\(h\)' tests/vm/vm-run 6.1 tests/vm/cli-tests.sh (a regex over their names).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/tests/vm/cli-tests.sh"
psample="$root/build/tools/psample"
psample_cli=$psample # for start() in lib.sh
inject="$root/tests/vm/cli-inject.py"
. "$root/tests/vm/lib.sh"
[ -x "$psample" ] || { echo "FAIL: no $psample: run 'make all' on the host first" >&2; exit 2; }

# psample with SIGINT at its default, as an interactive shell starts it: this script's background
# commands start with SIGINT ignored, and psample leaves an ignored stop signal ignored.
sigint_psample=$(mktemp)
printf '#!/bin/sh\nexec env --default-signal=INT "%s" "$@"\n' "$psample" >"$sigint_psample"
chmod +x "$sigint_psample"

SAMPLE_ACTIONS="action sample rate 1 group 7 trunc 128"
read -ra sample_actions <<<"$SAMPLE_ACTIONS" # as separate words for tc
# asctime()'s date and time, then the nanoseconds, as the original prints a timestamp.
TS_RE='(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( [1-9]|[12][0-9]|3[01]) [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4} [0-9]{9} nsec'

# ---- helpers (used inside the cases) ----

bad=0
check() { # message command...: records a failure, goes on
    local msg=$1; shift
    if ! "$@"; then echo "  FAIL: $msg"; bad=1; fi
}

# Bounded: at most 1000 datagrams of at most 8000 bytes, to 127.0.0.1:9999 only, with a bound
# sink so no ICMP port-unreachable replies (sampled too) follow.
send_udp() { # count [payload bytes]
    python3 - "$1" "${2:-64}" <<'EOF'
import socket, sys
count, size = min(int(sys.argv[1]), 1000), min(int(sys.argv[2]), 8000)
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 9999))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    out.sendto(b"x" * size, ("127.0.0.1", 9999))
EOF
}

lines() { wc -l <"$1"; }

# ---- cases: each runs in its own namespace (see the bottom) and returns non-zero on failure ----

# (a) The sample line, field for field: what tc sends on loopback egress. A locally generated
# packet has no input interface (no in-ifindex); software tc sends no out-tc, out-tc-occ or
# latency, and the original prints only the fields that are present.
case_sample_line() {
    local w; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 5 --stats || return 1
    send_udp 5 64
    finish "$bg" 20; check "exit status 0 after --count 5" [ $? -eq 0 ]
    cat "$w/out"
    check "5 lines" [ "$(lines "$w/out")" -eq 5 ]
    # 64 bytes of payload: 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + 64 = 106 bytes.
    local re="^group 7 out-ifindex 1 origsize 106 sample-rate 1 seq [0-9]+ timestamp $TS_RE protocol 0x800 \$"
    check "every line is exactly the original's format" [ "$(grep -cE "$re" "$w/out")" -eq 5 ]
    check "no out-tc-occ (absent: the original prints none)" [ "$(grep -c 'out-tc-occ' "$w/out")" -eq 0 ]
    local seqs; seqs=$(sed -E 's/.* seq ([0-9]+) .*/\1/' "$w/out" | tr '\n' ' ')
    check "seq numbers consecutive: $seqs" python3 -c '
import sys; s = [int(x) for x in sys.argv[1].split()]; assert s == list(range(s[0], s[0] + 5)), s' "$seqs"
    # tc_sample.sh reads field 16 as out-tc-occ. Without in-ifindex, out-tc and out-tc-occ,
    # field 11 is "timestamp" and field 16 falls in the date, as with the original.
    check "field 11 is 'timestamp'" [ "$(cut -d ' ' -f 11 "$w/out" | sort -u)" = timestamp ]
    check "--stats on exit: delivered=5" grep -q '^psample: delivered=5 ' "$w/err"
    return $bad
}

# (b) --list-groups: the original's table, 15-character columns, header only when groups exist.
case_list_groups() {
    local w; w=$(mktemp -d)
    start "$w/json" "$w/err" --group 7 --count 3 --json || return 1
    send_udp 3 64
    finish "$bg" 20
    local last; last=$(python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][-1]["seq"])' <"$w/json")
    "$psample" --list-groups >"$w/list"; check "--list-groups exits 0" [ $? -eq 0 ]
    cat "$w/list"
    check "header" [ "$(sed -n 1p "$w/list")" = "Group Num       Refcount        Group Seq      " ]
    check "group 7: refcount 1, next seq $((last + 1))" \
        [ "$(sed -n 2p "$w/list")" = "$(printf '%-15s %-15s %-15s' 7 1 $((last + 1)))" ]
    check "two lines" [ "$(lines "$w/list")" -eq 2 ]
    "$psample" -l --json >"$w/listjson"
    check "--list-groups --json" python3 -c '
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
assert g == [{"group": 7, "refcount": 1, "seq": int(sys.argv[2])}], g' "$w/listjson" $((last + 1))
    unshare -n "$psample" -l >"$w/none" 2>&1; check "no groups: exit 0" [ $? -eq 0 ]
    check "no groups: no output, no header" [ ! -s "$w/none" ]
    return $bad
}

# (c) Group events: "created"/"deleted" lines when a tc action takes and drops group 9, shown by
# default and with --no-sample, hidden by --no-config.
case_config_events() {
    local w; w=$(mktemp -d)
    start "$w/events" "$w/e1" --no-sample --count 2 || return 1; local events=$bg
    start "$w/samples" "$w/e2" --no-config --count 3 || return 1; local samples=$bg
    start "$w/both" "$w/e3" --count 3 || return 1; local both=$bg
    # pref 5: before the group 7 filter (pref 10); tc stops at the first matching filter.
    tc filter add dev lo egress pref 5 matchall action sample rate 1 group 9 trunc 64
    send_udp 3 64
    tc filter del dev lo egress pref 5
    finish "$events" 30; check "--no-sample --count 2 exits 0" [ $? -eq 0 ]
    finish "$samples" 20; check "--no-config --count 3 exits 0" [ $? -eq 0 ]
    finish "$both" 20; check "default --count 3 exits 0" [ $? -eq 0 ]
    cat "$w/events" "$w/both"
    local first; first=$(sed -nE 's/^created group 9 with current seq ([0-9]+) $/\1/p' "$w/events")
    check "created line" [ -n "$first" ]
    check "deleted line: seq moved by the 3 samples" \
        [ "$(sed -n 2p "$w/events")" = "deleted group 9 with current seq $((${first:-0} + 3)) " ]
    check "--no-sample: only the 2 event lines" [ "$(lines "$w/events")" -eq 2 ]
    check "--no-config: 3 sample lines of group 9" [ "$(grep -c '^group 9 out-ifindex 1 ' "$w/samples")" -eq 3 ]
    check "--no-config: nothing else" [ "$(lines "$w/samples")" -eq 3 ]
    check "default: the created line first" [ "$(sed -n 1p "$w/both")" = "created group 9 with current seq $first " ]
    check "default: then the 3 samples" [ "$(grep -c '^group 9 out-ifindex 1 ' "$w/both")" -eq 3 ]
    return $bad
}

# (d) --json: valid JSON, one object a line, with group, consecutive seq, the cookie (6.11+) and
# the fields bitmask agreeing with the keys.
case_json() {
    local cookie=$1 w; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 5 --json -v || return 1
    local t0; t0=$(date +%s%N)
    send_udp 5 64
    finish "$bg" 20; check "exit 0" [ $? -eq 0 ]
    local t1; t1=$(date +%s%N)
    head -n 1 "$w/out"
    check "valid JSON, 5 objects" python3 -c 'import json,sys; o = [json.loads(l) for l in sys.stdin]; assert len(o) == 5, o' <"$w/out"
    check "fields and values" python3 - "$w/out" "$cookie" "$t0" "$t1" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
cookie, t0, t1 = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
keys = {0: "in_ifindex", 1: "out_ifindex", 2: "origsize", 3: "group", 4: "seq", 5: "rate", 6: "data_len",
        10: "out_tc", 11: "out_tc_occ", 12: "latency_ns", 13: "timestamp_ns", 14: "protocol", 15: "cookie"}
for i, o in enumerate(objs):
    assert o["kind"] == "sample" and o["group"] == 7 and o["seq"] == objs[0]["seq"] + i, o
    assert o["flags"] == 0 and o["nsid"] == -1 and o["sender_portid"] == 0, o
    assert o["out_ifindex"] == 1 and o["origsize"] == 106 and o["data_len"] == 106, o
    assert o["rate"] == 1 and o["effective_rate"] == 1 and o["protocol"] == 0x800, o
    assert t0 <= o["timestamp_ns"] <= t1, (t0, o["timestamp_ns"], t1)
    # lo's Ethernet header (zero addresses, IPv4), then IPv4 to 127.0.0.1
    assert o["data"].startswith("0" * 24 + "0800" + "45") and "7f000001" in o["data"], o["data"]
    for bit, key in keys.items():
        assert ((o["fields"] >> bit) & 1) == (key in o), (bit, key, o)
    if cookie == "none":
        assert "cookie" not in o, o
    else:
        assert o["cookie"] == cookie, o
EOF
    return $bad
}

# (d2) --json with a tunnel key (tc tunnel_key set before the sample action): the nested object.
case_json_tunnel() {
    local w; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 3 --json || return 1
    send_udp 3 64
    finish "$bg" 20; check "exit 0" [ $? -eq 0 ]
    head -n 1 "$w/out"
    check "tunnel object" python3 - "$w/out" <<'EOF2'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) == 3, objs
for o in objs:
    t = o["tunnel"]
    assert (o["fields"] >> 8) & 1, o
    assert (t["id"], t["ipv4_src"], t["ipv4_dst"], t["tp_dst"], t["ttl"], t["tos"]) == \
        (42, "127.0.0.1", "127.0.0.2", 4789, 64, 0x10), t
    assert (t["fields"] & 0x41f) == 0x41f, t  # id, addresses, tos, ttl, tp_dst
EOF2
    return $bad
}

# (e) --write --linktype en10mb: a pcap tcpdump reads, the kernel's timestamps (compared with
# --json of the same samples), caplen = the 128 sampled bytes, len = the frame's, to a file and
# to standard output.
case_pcap() {
    local w; w=$(mktemp -d)
    start "$w/json" "$w/e1" --group 7 --count 5 --json || return 1; local json=$bg
    start /dev/null "$w/e2" --group 7 --count 5 --write "$w/file.pcap" --linktype en10mb || return 1; local file=$bg
    start "$w/stdout.pcap" "$w/e3" --count 5 --linktype EN10MB --write - || return 1; local out=$bg
    send_udp 5 200 # 14 + 20 + 8 + 200 = 242-byte frames, 128 sampled
    finish "$json" 20; finish "$file" 20; check "--write FILE exits 0" [ $? -eq 0 ]
    finish "$out" 20; check "--write - exits 0" [ $? -eq 0 ]
    python3 -c 'import json,sys
for l in sys.stdin:
    t = json.loads(l)["timestamp_ns"]; print("%d.%09d" % (t // 10**9, t % 10**9))' <"$w/json" >"$w/want-ts"
    local f
    for f in file.pcap stdout.pcap; do
        tcpdump -r "$w/$f" -nn --nano -tt >"$w/$f.txt" 2>"$w/$f.err"; check "tcpdump reads $f" [ $? -eq 0 ]
        cat "$w/$f.txt"
        check "$f: 5 packets" [ "$(lines "$w/$f.txt")" -eq 5 ]
        check "$f: each 127.0.0.1.<port> > 127.0.0.1.9999: UDP, length 200" \
            [ "$(grep -cE '^[0-9]+\.[0-9]{9} IP 127\.0\.0\.1\.[0-9]+ > 127\.0\.0\.1\.9999: UDP, length 200$' "$w/$f.txt")" -eq 5 ]
        check "$f: timestamps are the kernel's" diff <(cut -d ' ' -f 1 "$w/$f.txt") "$w/want-ts"
        check "$f: Ethernet, nanosecond pcap, snaplen 65535, caplen 128, len 242" python3 - "$w/$f" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", b)
assert (magic, major, minor, snaplen, linktype) == (0xA1B23C4D, 2, 4, 65535, 1), (hex(magic), snaplen, linktype)
off, n = 24, 0
while off < len(b):
    sec, nsec, caplen, length = struct.unpack_from("<IIII", b, off)
    assert (caplen, length) == (128, 242) and nsec < 10**9, (caplen, length, nsec)
    off += 16 + caplen
    n += 1
assert off == len(b) and n == 5, (off, len(b), n)
EOF
    done
    check "--write -: nothing but the pcap on stdout, nothing on stderr but the readiness counters" \
        [ "$(grep -vc '^psample: delivered=' "$w/e3")" -eq 0 ]
    return $bad
}

# (f) -v: "data len N", the hex dump (16 bytes a line, hex padded to 16 columns, then the
# printable characters), then an empty line.
case_verbose() {
    local w; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 2 -v || return 1
    send_udp 2 64
    finish "$bg" 20; check "exit 0" [ $? -eq 0 ]
    cat "$w/out"
    check "2 samples of 1 + 7 + 1 lines" [ "$(lines "$w/out")" -eq 18 ]
    check "sample lines end with 'data len 106'" \
        [ "$(grep -cE "^group 7 out-ifindex 1 origsize 106 sample-rate 1 seq [0-9]+ timestamp $TS_RE protocol 0x800 data len 106\$" "$w/out")" -eq 2 ]
    check "first dump line: lo's Ethernet header, then IPv4" \
        [ "$(grep -c '^0x0000:  00 00 00 00 00 00 00 00 00 00 00 00 08 00 45 00  \.\.\.\.\.\.\.\.\.\.\.\.\.\.E\.$' "$w/out")" -eq 2 ]
    check "full dump lines" [ "$(grep -cE '^0x00[0-5]0:  ([0-9a-f]{2} ){16} .{16}$' "$w/out")" -eq 12 ]
    check "last dump line: 10 bytes padded to 16 columns" \
        [ "$(grep -cE '^0x0060:  (78 ){10}(   ){6} x{10}$' "$w/out")" -eq 2 ]
    check "an empty line after each dump" [ "$(grep -c '^$' "$w/out")" -eq 2 ]
    return $bad
}

# (g) --help, usage errors.
case_usage() {
    local w opt; w=$(mktemp -d)
    "$psample" --help >"$w/help"; check "--help exits 0" [ $? -eq 0 ]
    for opt in -l --list-groups -m --monitor -c --no-config -s --no-sample -g --group -v --verbose \
               -w --write --count --json --stats --all-netns -h --help; do
        check "--help mentions $opt" grep -qe "$opt\b" "$w/help"
    done
    "$psample" --bogus >"$w/out" 2>"$w/err"; local rc=$?
    check "unknown option: non-zero exit ($rc)" [ "$rc" -ne 0 ]
    check "unknown option: usage on stderr" grep -q '^Usage: psample' "$w/err"
    check "unknown option: nothing on stdout" [ ! -s "$w/out" ]
    # Errors after the options: 1, with the reason (the original: 255 from main's "return -1").
    "$psample" --write /nonexistent/dir/x.pcap >"$w/out" 2>"$w/err"; rc=$?
    check "--write to a directory that does not exist: 1 ($rc)" [ "$rc" -eq 1 ]
    check "... saying which file" grep -q '^psample: /nonexistent/dir/x.pcap: ' "$w/err"
    for opt in '-?' --usage; do
        "$psample" "$opt" >"$w/out" 2>"$w/err"; rc=$?
        check "$opt: help on stdout, exit 0 (argp's options): $rc" [ "$rc" -eq 0 ] && grep -q '^Usage: psample' "$w/out"
    done
    # -g: decimal numbers 0..4294967295 only; the original's atoi() took "-5", "12abc" and "x".
    for opt in "--no-sample --no-config" "-l --no-sample" "-w x -v" "-w x --json" "-l -w x" \
               "--count 0" "--count x" "-g x" "-g -1" "-g -5" "-g 12abc" "-g 4294967296" "-g 0x10" \
               "--linktype en10mb" "-w x --linktype bogus" "extra"; do
        # shellcheck disable=SC2086
        "$psample" $opt >/dev/null 2>&1; rc=$?
        check "'$opt' is a usage error (64, as the original's argp): $rc" [ "$rc" -eq 64 ]
    done
    return $bad
}

# (h) A sample with every hardware attribute (forged by cli-inject.py, as a userspace producer;
# the original showed those too): the whole line, field 16 = out-tc-occ as tc_sample.sh reads
# it, a day of month < 10 (asctime pads it with a space), the -v dump and the JSON.
case_full_line() {
    local w; w=$(mktemp -d)
    export TZ=UTC
    start "$w/out" "$w/e1" --group 7 --count 2 || return 1; local text=$bg
    start "$w/verbose" "$w/e2" --group 7 --count 1 -v || return 1; local verbose=$bg
    start "$w/json" "$w/e3" --group 7 --count 1 --json || return 1; local json=$bg
    python3 "$inject" 7 1700000000123456789; check "inject" [ $? -eq 0 ]
    python3 "$inject" 7 1699488000000000005; check "inject" [ $? -eq 0 ]
    finish "$text" 20; finish "$verbose" 20; finish "$json" 20
    cat "$w/out" "$w/verbose" "$w/json"
    local head='group 7 in-ifindex 5 out-ifindex 6 origsize 1000 sample-rate 100 seq 42 out-tc 3 out-tc-occ 123456 latency 789'
    check "line 1, exactly" [ "$(sed -n 1p "$w/out")" = "$head timestamp Tue Nov 14 22:13:20 2023 123456789 nsec protocol 0x800 " ]
    check "line 2, exactly (day 9: two spaces)" [ "$(sed -n 2p "$w/out")" = "$head timestamp Thu Nov  9 00:00:00 2023 000000005 nsec protocol 0x800 " ]
    check "cut -d ' ' -f 16 is out-tc-occ" [ "$(cut -d ' ' -f 16 "$w/out" | sort -u)" = 123456 ]
    check "cut -d ' ' -f 15 is its name" [ "$(cut -d ' ' -f 15 "$w/out" | sort -u)" = out-tc-occ ]
    printf '%s\n' \
        "$head timestamp Tue Nov 14 22:13:20 2023 123456789 nsec protocol 0x800 data len 43" \
        '0x0000:  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  ................' \
        '0x0010:  10 11 12 13 70 73 61 6d 70 6c 65 20 66 6f 72 67  ....psample forg' \
        '0x0020:  65 64 20 64 61 74 61 21 7f 80 ff                 ed data!...' \
        '' >"$w/want-verbose"
    check "-v output, exactly" cmp "$w/verbose" "$w/want-verbose"
    check "JSON" python3 - "$w/json" <<'EOF'
import json, sys
(o,) = [json.loads(l) for l in open(sys.argv[1])]
want = dict(kind="sample", group=7, seq=42, in_ifindex=5, out_ifindex=6, origsize=1000, rate=100,
            out_tc=3, out_tc_occ=123456, latency_ns=789, timestamp_ns=1700000000123456789,
            protocol=0x800, data_len=43, flags=2, nsid=-1)
assert all(o[k] == v for k, v in want.items()), o
assert o["sender_portid"] != 0, o
EOF
    return $bad
}

# (i) As the kernel's netdevsim/psample.sh uses it: `timeout 2 psample &> file` must leave nothing
# when nothing is sampled, and every line when killed (lines are flushed as they come).
case_killed() {
    local w; w=$(mktemp -d)
    timeout 2 "$psample" &>"$w/quiet"
    check "killed by timeout: 124" [ $? -eq 124 ]
    check "nothing sampled: empty output" [ ! -s "$w/quiet" ]
    start "$w/out" "$w/err" || return 1
    send_udp 3 64
    local i
    for ((i = 0; i < 100 && $(lines "$w/out") < 3; i++)); do sleep 0.1; done
    # As the original, which does not catch it: it dies of the signal (128 + 15 in a shell).
    kill -TERM "$bg"; wait "$bg"; check "SIGTERM: killed by it (143)" [ $? -eq 143 ]
    check "3 lines were there before the kill" [ "$(grep -c '^group 7 out-ifindex 1 ' "$w/out")" -eq 3 ]
    psample_cli=$sigint_psample start "$w/out2" "$w/err2" --stats || return 1
    kill -INT "$bg"; wait "$bg"; check "SIGINT: killed by it (130)" [ $? -eq 130 ]
    check "SIGINT: --stats still printed first" grep -q '^psample: delivered=0 ' "$w/err2"
    # Started with SIGINT ignored (a script's background command, nohup for SIGHUP): it stays
    # ignored, as the original left it.
    start "$w/out3" "$w/err3" || return 1
    kill -INT "$bg"; sleep 1
    check "SIGINT ignored when inherited ignored" kill -0 "$bg"
    nohup "$psample" >"$w/out4" 2>"$w/err4" & local hup=$!
    sleep 1; kill -HUP "$hup"; sleep 1
    check "nohup: SIGHUP ignored" kill -0 "$hup"
    kill -TERM "$bg" "$hup"; wait "$bg"; wait "$hup"
    return $bad
}

# (j) --all-netns, from the VM's own namespace: samples taken in namespace cli-a (id 21 here)
# carry "nsid 21 " at the end of the line and "nsid": 21 in JSON; without it, none arrive.
case_all_netns() {
    local w; w=$(mktemp -d)
    ip netns add cli-a || return 1
    ip netns set cli-a 21
    ip -n cli-a link set lo up
    tc -n cli-a qdisc add dev lo clsact
    tc -n cli-a filter add dev lo egress pref 10 matchall "${sample_actions[@]}"
    start "$w/out" "$w/e1" --all-netns --group 7 --count 3 || return 1; local text=$bg
    start "$w/json" "$w/e2" --all-netns --group 7 --count 3 --json || return 1; local json=$bg
    start "$w/none" "$w/e3" --group 7 || return 1; local none=$bg
    ip netns exec cli-a "$self" --send 3 64
    finish "$text" 20; check "exit 0" [ $? -eq 0 ]
    finish "$json" 20
    kill "$none"; wait "$none"
    ip netns del cli-a
    cat "$w/out"
    check "3 lines ending with 'nsid 21 '" \
        [ "$(grep -cE "^group 7 out-ifindex 1 origsize 106 sample-rate 1 seq [0-9]+ timestamp $TS_RE protocol 0x800 nsid 21 \$" "$w/out")" -eq 3 ]
    check "JSON nsid 21" python3 -c 'import json,sys; o = [json.loads(l) for l in sys.stdin]; assert len(o) == 3 and all(x["nsid"] == 21 for x in o), o' <"$w/json"
    check "without --all-netns: nothing from other namespaces" [ ! -s "$w/none" ]
    return $bad
}

# (k) The psample module unloaded and loaded again under a running psample: it follows (the
# library's PSAMPLE_SUB_RESUBSCRIBE) and prints the samples of the new module too.
case_reload() {
    local w i; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 2 --stats || return 1
    send_udp 1 64
    for ((i = 0; i < 100 && $(lines "$w/out") < 1; i++)); do sleep 0.1; done
    check "a sample before the unload" [ "$(lines "$w/out")" -eq 1 ]
    tc filter del dev lo egress pref 10
    # Namespaces of earlier cases may still hold act_sample for a moment (their cleanup is async).
    for ((i = 0; i < 50; i++)); do rmmod act_sample psample 2>/dev/null && break; sleep 0.2; done
    check "unloaded" [ ! -d /sys/module/psample ]
    modprobe act_sample && tc filter add dev lo egress pref 10 matchall "${sample_actions[@]}"
    check "reloaded" [ -d /sys/module/psample ]
    # Ready again once it has rejoined the new family (its counters say so on SIGUSR1).
    for ((i = 0; i < 50; i++)); do
        kill -USR1 "$bg"; sleep 0.2
        grep -q ' family_removed=1 resubscribed=1 ' "$w/err" && break
    done
    check "resubscribed" grep -q ' family_removed=1 resubscribed=1 ' "$w/err"
    send_udp 1 64
    finish "$bg" 20; check "exit 0 after the second sample" [ $? -eq 0 ]
    cat "$w/out"
    check "2 sample lines" [ "$(grep -c '^group 7 out-ifindex 1 ' "$w/out")" -eq 2 ]
    check "--stats on exit: delivered=2" grep -q '^psample: delivered=2 ' "$w/err"
    return $bad
}

# ---- the differences from libpsample's psample (psample.8, DIFFERENCES...) and what is alike ----

# (l) As the original: u32 values of 2^31 and more print as its "%d" does (negative), in sample
# lines, group events and --list-groups; `-g 010` is group 10 (atoi). A difference: the hex
# dump's offsets go on past 0xf0 (the original's "%04hhx" wraps to 0x0000 at 0x100).
case_compat_values() {
    local w; w=$(mktemp -d)
    export TZ=UTC
    start "$w/big" "$w/e1" --group 7 --count 1 || return 1; local big=$bg
    start "$w/octal" "$w/e2" -g 010 --count 1 || return 1; local octal=$bg
    start "$w/dump" "$w/e3" --group 11 --count 1 -v || return 1; local dump=$bg
    start "$w/events" "$w/e4" --no-sample --count 2 || return 1; local events=$bg
    python3 "$inject" 7 1700000000123456789 --origsize 3000000000 --rate 2147483648 --seq 4294967295 --no-hw
    python3 "$inject" 8 1700000000123456789 --no-hw # not seen: "010" is not octal 8
    python3 "$inject" 10 1700000000123456789 --no-hw
    python3 "$inject" 11 1700000000123456789 --no-hw --data-len 300
    tc filter add dev lo egress pref 5 matchall action sample rate 1 group 3000000000
    "$psample" --list-groups >"$w/list"
    tc filter del dev lo egress pref 5
    finish "$big" 20; finish "$octal" 20; finish "$dump" 20; finish "$events" 20
    cat "$w/big" "$w/octal" "$w/events" "$w/list"
    local ts='timestamp Tue Nov 14 22:13:20 2023 123456789 nsec protocol 0x800 '
    check "origsize, sample-rate, seq as %d" \
        [ "$(cat "$w/big")" = "group 7 in-ifindex 5 out-ifindex 6 origsize -1294967296 sample-rate -2147483648 seq -1 $ts" ]
    check "-g 010: group 10 only" \
        [ "$(cat "$w/octal")" = "group 10 in-ifindex 5 out-ifindex 6 origsize 1000 sample-rate 100 seq 42 $ts" ]
    check "group 3000000000 created, as %d" grep -qx 'created group -1294967296 with current seq 0 ' "$w/events"
    check "group 3000000000 deleted, as %d" grep -qx 'deleted group -1294967296 with current seq 0 ' "$w/events"
    check "--list-groups: group 3000000000 as %d" \
        grep -qx -- "$(printf '%-15s %-15s %-15s' -1294967296 1 0)" "$w/list"
    sed -n '1,2p;17,21p' "$w/dump"
    check "-v: data len 300" grep -q ' data len 300$' "$w/dump"
    check "-v: 19 dump lines" [ "$(grep -c '^0x0' "$w/dump")" -eq 19 ]
    check "offset 0x00f0, then 0x0100 (the original: 0x0000 again)" \
        [ "$(grep -oE '^0x0[0-9a-f]{3}' "$w/dump" | sed -n '16,19p' | tr '\n' ' ')" = "0x00f0 0x0100 0x0110 0x0120 " ]
    check "the line at 0x0100: bytes 256.. counting from 00 again" \
        grep -qx '0x0100:  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  ................' "$w/dump"
    check "the last line: 12 bytes, padded; the first printable is the space 0x20" \
        grep -qE '^0x0120:  20 21 22 23 24 25 26 27 28 29 2a 2b {15}!"#\$%&.\(\)\*\+$' "$w/dump"
    return $bad
}

# (m) A difference: group events are flushed as they come (the original never flushed them, so
# `psample --no-sample >file` showed them only at exit, and lost them when killed).
case_events_flushed() {
    local w i; w=$(mktemp -d)
    psample_cli=$sigint_psample start "$w/out" "$w/err" --no-sample || return 1
    tc filter add dev lo egress pref 5 matchall action sample rate 1 group 9
    for ((i = 0; i < 100 && $(lines "$w/out") < 1; i++)); do sleep 0.1; done
    check "the created line is in the file while psample runs" grep -qx 'created group 9 with current seq 0 ' "$w/out"
    tc filter del dev lo egress pref 5
    for ((i = 0; i < 100 && $(lines "$w/out") < 2; i++)); do sleep 0.1; done
    check "the deleted line too" grep -qx 'deleted group 9 with current seq 0 ' "$w/out"
    kill -INT "$bg"; wait "$bg"; check "SIGINT: killed by it (130)" [ $? -eq 130 ]
    return $bad
}

# (n) A difference: a sample message over 4 KiB (no trunc, 5000-byte datagrams on lo) is shown
# whole, and the next one too; the original's 4 KiB receive buffer failed on it and it exited.
case_big_message() {
    local w; w=$(mktemp -d)
    start "$w/out" "$w/err" --group 7 --count 2 -v --stats || return 1
    send_udp 2 5000
    finish "$bg" 30; check "exit 0 after 2 samples" [ $? -eq 0 ]
    grep -v '^0x' "$w/out"
    check "2 samples of 5042 bytes" [ "$(grep -c ' origsize 5042 .* data len 5042$' "$w/out")" -eq 2 ]
    check "dumped whole: 316 lines each, the last at 0x13b0" [ "$(grep -c '^0x13b0:  ' "$w/out")" -eq 2 ]
    check "632 dump lines" [ "$(grep -c '^0x' "$w/out")" -eq 632 ]
    check "nothing truncated" grep -q ' truncated=0 ' "$w/err"
    return $bad
}

# (o) A difference: an attribute newer than the original's header (USER_COOKIE) does not end
# the line: its parser stopped at the first attribute it did not know and dropped those after
# it. tc's samples carry the cookie late (6.11+), so their lines are whole with both tools; the
# injected sample puts it right after seq, where the original lost sample-rate and the rest.
case_cookie_line() {
    local w; w=$(mktemp -d)
    export TZ=UTC
    start "$w/out" "$w/err" --group 7 --count 3 || return 1
    send_udp 2 64
    python3 "$inject" 7 1700000000123456789 --no-hw --cookie 00112233445566778899aabbccddeeff
    finish "$bg" 20; check "exit 0" [ $? -eq 0 ]
    cat "$w/out"
    check "tc samples: whole lines (timestamp and protocol after seq)" \
        [ "$(grep -cE "^group 7 out-ifindex 1 origsize 106 sample-rate 1 seq [0-9]+ timestamp $TS_RE protocol 0x800 \$" "$w/out")" -eq 2 ]
    check "injected, cookie after seq: the whole line" grep -qx \
        'group 7 in-ifindex 5 out-ifindex 6 origsize 1000 sample-rate 100 seq 42 timestamp Tue Nov 14 22:13:20 2023 123456789 nsec protocol 0x800 ' "$w/out"
    return $bad
}

# (p) --write's default, LINKTYPE_LINUX_SLL2: lo sampled on egress and ingress; tcpdump shows
# Out and In with ifindex 1, the source MAC and the IPv4/UDP inside; each record's SLL2 header
# agrees with --json's view of the same sample.
case_sll2() {
    local w; w=$(mktemp -d)
    tc filter add dev lo ingress pref 10 matchall "${sample_actions[@]}" || return 1
    start "$w/json" "$w/e1" --group 7 --count 6 --json || return 1; local json=$bg
    start /dev/null "$w/e2" --group 7 --count 6 --write "$w/sll2.pcap" || return 1; local file=$bg
    send_udp 3 200
    finish "$json" 20; finish "$file" 20; check "--write exits 0" [ $? -eq 0 ]
    tcpdump -r "$w/sll2.pcap" -nn -e >"$w/e.txt" 2>"$w/err"; check "tcpdump -e reads it" [ $? -eq 0 ]
    cat "$w/err" "$w/e.txt"
    check "tcpdump: link type LINUX_SLL2" grep -q 'link-type LINUX_SLL2' "$w/err"
    check "3 Out, ifindex 1, IPv4 UDP" [ "$(grep -cE ' Out ifindex 1 00:00:00:00:00:00 ethertype IPv4 \(0x0800\), length [0-9]+: 127\.0\.0\.1\.[0-9]+ > 127\.0\.0\.1\.9999: UDP, length 200$' "$w/e.txt")" -eq 3 ]
    check "3 In, ifindex 1, IPv4 UDP" [ "$(grep -cE ' In +ifindex 1 00:00:00:00:00:00 ethertype IPv4 \(0x0800\), length [0-9]+: 127\.0\.0\.1\.[0-9]+ > 127\.0\.0\.1\.9999: UDP, length 200$' "$w/e.txt")" -eq 3 ]
    check "the header of every record, against --json" python3 - "$w/sll2.pcap" "$w/json" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
objs = [json.loads(l) for l in open(sys.argv[2])]
magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", b)
assert (magic, snaplen, linktype) == (0xA1B23C4D, 65535, 276), (hex(magic), snaplen, linktype)
off, recs = 24, []
while off < len(b):
    sec, nsec, caplen, length = struct.unpack_from("<IIII", b, off)
    recs.append((sec * 10**9 + nsec, caplen, length, b[off + 16:off + 16 + caplen]))
    off += 16 + caplen
assert len(recs) == len(objs) == 6, (len(recs), len(objs))
dirs = []
for (ts, caplen, length, d), o in zip(recs, objs):
    proto, zero, ifindex, hatype, pkttype, halen = struct.unpack_from(">HHIHBB", d)
    out = "out_ifindex" in o
    dirs.append(out)
    assert ts == o["timestamp_ns"], (ts, o)
    assert (proto, zero, hatype, halen, d[12:18]) == (0x0800, 0, 772, 6, bytes(6)), d[:20].hex()
    assert ifindex == (o["out_ifindex"] if out else o["in_ifindex"]) == 1, (ifindex, o)
    assert pkttype == (4 if out else 0), (pkttype, o)
    # 128 sampled bytes of 242-byte frames, the 14-byte MAC header replaced by SLL2's 20
    assert (caplen, length) == (134, 248), (caplen, length)
    assert d[20] == 0x45, d[20:24].hex()
assert sorted(dirs) == [False] * 3 + [True] * 3, dirs
EOF
    return $bad
}

# (q) IP-first samples in SLL2: a tun device (no MAC header, ARPHRD_NONE) in this namespace,
# sampled on egress and ingress, its only traffic IPv6 link-local datagrams between its two ends
# (the test holds the tun's file descriptor); and an injected VPP-style sample that starts at the
# IPv6 header, with PROTO set, naming an interface that does not exist here (the data rule).
case_sll2_ip_first() {
    local w; w=$(mktemp -d)
    modprobe tun || return 1
    if [ ! -c /dev/net/tun ]; then # no devtmpfs node: the misc device's fixed number
        mkdir -p /dev/net && mknod /dev/net/tun c 10 200 || return 1
    fi
    start /dev/null "$w/e1" --group 12 --write "$w/tun.pcap" || return 1; local tun=$bg
    start "$w/json" "$w/e2" --group 12 --json --no-config || return 1; local json=$bg
    python3 - 12 >"$w/tun.log" 2>&1 <<'EOF'
import fcntl, os, socket, struct, subprocess, sys, time
group = sys.argv[1]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"pstun0", IFF_TUN | IFF_NO_PI))
def sh(*cmd):
    subprocess.run(cmd, check=True)
sh("ip", "link", "set", "pstun0", "up")
sh("ip", "-6", "addr", "add", "fe80::1/64", "dev", "pstun0", "nodad")
sh("tc", "qdisc", "add", "dev", "pstun0", "clsact")
# UDP only: router solicitations and MLD reports the kernel may send on the tun are not sampled.
for hook in ("egress", "ingress"):
    sh("tc", "filter", "add", "dev", "pstun0", hook, "protocol", "ipv6", "u32", "match", "ip6", "protocol", "17", "0xff",
       "action", "sample", "rate", "1", "group", group, "trunc", "128")
ifindex = socket.if_nametoindex("pstun0")
out = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(3):  # egress: fe80::1 -> fe80::2 into the tun
    out.sendto(b"e" * 32, ("fe80::2", 9999, 0, ifindex))
time.sleep(0.5)
# ingress: one IPv6/UDP datagram fe80::2 -> fe80::1 written into the tun (UDP checksum 0, which
# IPv6 forbids: the stack drops it after tc sampled it, and sends no reply)
src, dst = socket.inet_pton(socket.AF_INET6, "fe80::2"), socket.inet_pton(socket.AF_INET6, "fe80::1")
payload = b"i" * 24
udp = struct.pack(">HHHH", 5000, 9999, 8 + len(payload), 0) + payload
os.write(fd, struct.pack(">IHBB", 6 << 28, len(udp), 17, 64) + src + dst + udp)
time.sleep(2)
print("ifindex", ifindex)
EOF
    check "tun traffic" [ $? -eq 0 ]
    cat "$w/tun.log"
    # The injected one: ::1 -> ::1, UDP 5000 -> 9999, 8 bytes; in-ifindex 999 (no such device).
    local udp6
    udp6=$(python3 -c '
import socket, struct
a = socket.inet_pton(socket.AF_INET6, "::1")
udp = struct.pack(">HHHH", 5000, 9999, 16, 0) + b"vppvppvp"
print((struct.pack(">IHBB", 6 << 28, len(udp), 17, 64) + a + a + udp).hex())')
    python3 "$inject" 12 1700000000123456789 --no-hw --iif 999 --oif 0 --proto 0x86dd --origsize 56 --data-hex "$udp6"
    check "inject" [ $? -eq 0 ]
    sleep 1
    kill -TERM "$tun" "$json"; wait "$tun"; wait "$json"
    tcpdump -r "$w/tun.pcap" -nn -e >"$w/e.txt" 2>"$w/err"; check "tcpdump reads it" [ $? -eq 0 ]
    cat "$w/e.txt"
    local ifx; ifx=$(sed -n 's/^ifindex //p' "$w/tun.log")
    check "3 Out on the tun (ifindex $ifx), IPv6 decoded" \
        [ "$(grep -cE " Out ifindex $ifx ethertype IPv6 \(0x86dd\), length [0-9]+: fe80::1\.[0-9]+ > fe80::2\.9999: UDP, length 32\$" "$w/e.txt")" -eq 3 ]
    check "1 In on the tun, IPv6 decoded" \
        [ "$(grep -cE " In +ifindex $ifx ethertype IPv6 \(0x86dd\), length [0-9]+: fe80::2\.5000 > fe80::1\.9999: UDP" "$w/e.txt")" -eq 1 ]
    check "the injected sample: In, ifindex 999, IPv6 decoded" \
        [ "$(grep -cE ' In +ifindex 999 ethertype IPv6 \(0x86dd\), length [0-9]+: ::1\.5000 > ::1\.9999: UDP, length 8' "$w/e.txt")" -eq 1 ]
    check "5 records in all" [ "$(lines "$w/e.txt")" -eq 5 ]
    check "--json saw the same 5 samples" [ "$(lines "$w/json")" -eq 5 ]
    check "no MAC header in the samples (data_len: IPv6 40 + UDP 8 + payload)" python3 - "$w/json" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(o["data_len"] for o in objs) == [56, 72, 80, 80, 80], [o["data_len"] for o in objs]
EOF
    return $bad
}

# ---- driver ----

if [ "${1:-}" = --send ]; then # traffic in another namespace: ip netns exec NS cli-tests.sh --send
    send_udp "$2" "$3"
    exit
fi

# Re-entered by in_ns inside a new network namespace: loopback up, its egress sampled.
if [ "${1:-}" = --in-ns ]; then
    read -ra action_words <<<"$2"; shift 2
    ip link set lo up && tc qdisc add dev lo clsact &&
        tc filter add dev lo egress pref 10 matchall "${action_words[@]}" || exit 1
    "$@"
    exit
fi

in_ns() { # "tc actions" case-function [args]
    local actions=$1; shift
    unshare -n "$self" --in-ns "$actions" "$@"
}

modprobe -a psample act_sample act_tunnel_key cls_matchall sch_ingress || { echo "FAIL: modprobe"; exit 1; }

cookie=$TC_COOKIE want_cookie=none
kernel_sends_cookie && want_cookie=$TC_COOKIE

run_case "(a) sample line format, out-tc-occ absent, --count, --stats" in_ns "$SAMPLE_ACTIONS" case_sample_line
run_case "(b) --list-groups table" in_ns "$SAMPLE_ACTIONS" case_list_groups
run_case "(c) group created/deleted lines, --no-sample, --no-config" in_ns "$SAMPLE_ACTIONS" case_config_events
run_case "(d) --json (cookie $want_cookie)" in_ns "$SAMPLE_ACTIONS cookie $cookie" case_json "$want_cookie"
run_case "(d2) --json tunnel key" in_ns \
    "action tunnel_key set src_ip 127.0.0.1 dst_ip 127.0.0.2 id 42 dst_port 4789 ttl 64 tos 0x10 $SAMPLE_ACTIONS" \
    case_json_tunnel
run_case "(e) --write pcap read back by tcpdump, kernel timestamps" in_ns "$SAMPLE_ACTIONS" case_pcap
run_case "(f) -v hex dump" in_ns "$SAMPLE_ACTIONS" case_verbose
run_case "(g) --help and usage errors" case_usage
run_case "(h) every attribute: exact line, field 16 = out-tc-occ, -v, JSON" in_ns "$SAMPLE_ACTIONS" case_full_line
run_case "(i) timeout/SIGTERM: empty when idle, flushed lines" in_ns "$SAMPLE_ACTIONS" case_killed
run_case "(j) --all-netns: nsid" case_all_netns
run_case "(l) as the original: %d values, -g 010; true hex dump offsets" in_ns "$SAMPLE_ACTIONS" case_compat_values
run_case "(m) group events flushed at once; SIGINT" in_ns "$SAMPLE_ACTIONS" case_events_flushed
run_case "(n) a sample message over 4 KiB" in_ns "action sample rate 1 group 7" case_big_message
run_case "(o) whole lines with attributes the original did not know (cookie $want_cookie)" in_ns "$SAMPLE_ACTIONS cookie $cookie" case_cookie_line
run_case "(p) --write LINUX_SLL2: In/Out, ifindex, MAC-first" in_ns "$SAMPLE_ACTIONS" case_sll2
run_case "(q) --write LINUX_SLL2: IP-first (tun, injected)" in_ns "$SAMPLE_ACTIONS" case_sll2_ip_first
# Last: it unloads the module.
run_case "(k) module reload under a running psample" in_ns "$SAMPLE_ACTIONS" case_reload

summary cli
