#!/usr/bin/env bash
# shellcheck disable=SC2317 # the cases and their helpers run through run_case (lib.sh)
# Runs inside the VM (tests/vm/vm-run): Open vSwitch's kernel datapath as a psample producer (the
# OVS_ACTION_ATTR_PSAMPLE action, kernel 6.11+), driven over generic netlink by ovs_dp.py, no OVS
# daemon. Build first on the host (make all && tests/vm/build.sh), then:
#
#     tests/vm/vm-run 6.12 tests/vm/ovs-tests.sh
#
# Everything happens in a network namespace made here: two veth pairs, ovs-a0|ovs-a1 and
# ovs-b0|ovs-b1, IPv6 off (no addresses at all); a datapath with ports 1 = ovs-a1 and 2 = ovs-b1;
# a flow for EtherType 0x88b5 frames entering port 1 whose actions sample them into psample group
# GROUP and output them to port 2. Traffic: a bounded number of raw frames sent on ovs-a0 through
# an AF_PACKET socket (ovs-samples send), which come out on ovs-b0.
# Kernels before 6.11 have no such action: there the datapath must refuse the flow (a pass only if
# it does). Last line: "ovs tests on <kernel>: N passed, M failed". ONLY=REGEX runs some cases.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/tests/vm/ovs-tests.sh"
# The psample CLI (its path is set here only).
psample_cli=${PSAMPLE_CLI:-$root/build/tools/psample}
samples="$root/build/vm/ovs-samples"
. "$root/tests/vm/lib.sh"

NS=psample-ovs
DP=psdp
GROUP=23
DOMAIN=1001 POINT=2002 # the cookie: observation domain and point ids, big-endian u32 each
COOKIE=$(printf '%08x%08x' "$DOMAIN" "$POINT")
ALWAYS=4294967295       # UINT32_MAX: every packet
FIFTH=858993459         # UINT32_MAX / 5: one in five
FRAME_LEN=114
TS_RE='(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( [1-9]|[12][0-9]|3[01]) [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4} [0-9]{9} nsec'

# -S: no site module; Python's start-up is most of a case's time under TCG.
dpctl() { python3 -S "$root/tests/vm/ovs_dp.py" "$@"; }

# The kernel has OVS_ACTION_ATTR_PSAMPLE from 6.11 (aae0b82b46cb).
kernel_has_ovs_psample() {
    local major minor
    IFS=. read -r major minor _ <<<"$(uname -r)"
    [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 11 ]; }
}

bad=0
check() { # message command...: records a failure, goes on
    local msg=$1; shift
    if ! "$@"; then echo "  FAIL: $msg"; bad=1; fi
}

# ---- cases (run inside the namespace) ----

add_flow() { # ovs_dp.py add-flow options after the datapath
    dpctl add-flow "$DP" --in-port 1 --out-port 2 "$@"
}

# Installs a flow, checks every sample it produces through the C API, removes the flow.
library_case() { # probability one-in-n frames [add-flow options]
    local prob=$1 one_in=$2 frames=$3; shift 3
    add_flow "$@" || return 1
    "$samples" check "$GROUP" "$DOMAIN" "$POINT" "$prob" "$one_in" ovs-a0 ovs-a1 ovs-b0 "$frames"
    local rc=$?
    dpctl del-flows "$DP" # prints the datapath's counters first
    return "$rc"
}

# The CLI on the same stream: --json -v and the default text, every frame (sample, probability
# UINT32_MAX), then --json with one in five.
case_cli() {
    local w in_ifindex; w=$(mktemp -d)
    in_ifindex=$(cat /sys/class/net/ovs-a1/ifindex)
    add_flow --psample "$GROUP" "$COOKIE" --probability "$ALWAYS" || return 1
    start "$w/json" "$w/e1" --group "$GROUP" --count 5 --json -v --stats || return 1; local json=$bg
    start "$w/text" "$w/e2" --group "$GROUP" --count 5 || return 1; local text=$bg
    local t0; t0=$(date +%s%N)
    "$samples" send ovs-a0 5
    finish "$json" 20; check "--json exits 0 after --count 5" [ $? -eq 0 ]
    finish "$text" 20; check "text exits 0 after --count 5" [ $? -eq 0 ]
    local t1; t1=$(date +%s%N)
    dpctl del-flows "$DP"
    cat "$w/text"; head -n 1 "$w/json"
    local i
    for i in 0 1 2 3 4; do "$samples" frame "$i"; done >"$w/frames"
    check "--json: every field as OVS sends it" python3 -S - "$w/json" "$w/frames" "$GROUP" "$COOKIE" "$ALWAYS" 1 \
        "$in_ifindex" "$t0" "$t1" "$FRAME_LEN" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
frames = open(sys.argv[2]).read().split()
group, cookie, rate, one_in, iif, t0, t1, flen = sys.argv[3], sys.argv[4], *map(int, sys.argv[5:])
group = int(group)
assert len(objs) == 5, len(objs)
keys = {"kind", "fields", "flags", "nsid", "sender_portid", "group", "seq", "rate", "effective_rate",
        "rate_is_probability", "in_ifindex", "origsize", "timestamp_ns", "protocol", "cookie", "data_len", "data"}
# IIFINDEX ORIGSIZE GROUP SEQ RATE DATA TIMESTAMP PROTO USER_COOKIE SAMPLE_PROBABILITY
fields = sum(1 << b for b in (0, 2, 3, 4, 5, 6, 13, 14, 15, 16))
for i, o in enumerate(objs):
    assert set(o) == keys, sorted(set(o) ^ keys)
    assert (o["kind"], o["fields"], o["flags"], o["nsid"], o["sender_portid"]) == ("sample", fields, 0, -1, 0), o
    assert (o["group"], o["seq"], o["rate"], o["effective_rate"]) == (group, 0, rate, one_in), o
    assert o["rate_is_probability"] is True and o["in_ifindex"] == iif and o["protocol"] == 0x88B5, o
    assert (o["origsize"], o["data_len"], o["cookie"]) == (flen, flen, cookie), o
    assert o["data"] == frames[i], (i, o["data"], frames[i])
    assert t0 <= o["timestamp_ns"] <= t1, (t0, o["timestamp_ns"], t1)
EOF
    check "--stats: delivered=5 seq_gaps=0 (OVS sends seq 0)" grep -q '^psample: delivered=5 kernel_drops=0 seq_gaps=0 ' "$w/e1"
    check "text: 5 lines" [ "$(wc -l <"$w/text")" -eq 5 ]
    # The original's %d: UINT32_MAX prints as -1.
    local re="^group $GROUP in-ifindex $in_ifindex origsize $FRAME_LEN sample-rate $((ALWAYS - 4294967296)) seq 0 timestamp $TS_RE protocol 0x88b5 \$"
    check "text: every line exactly the original's format, no out-ifindex" [ "$(grep -cE "$re" "$w/text")" -eq 5 ]

    add_flow --psample "$GROUP" "$COOKIE" --probability "$FIFTH" || return 1
    start "$w/json5" "$w/e3" --group "$GROUP" --json || return 1; local json5=$bg
    "$samples" send ovs-a0 500
    local n
    for ((i = 0; i < 30; i++)); do # until the count stops moving (at most 3 s)
        n=$(wc -l <"$w/json5"); sleep 0.1; [ "$(wc -l <"$w/json5")" -eq "$n" ] && [ "$n" -gt 0 ] && break
    done
    # psample dies of SIGTERM as the original did (wt-compat): a shell sees 128 + 15.
    kill -TERM "$json5"; wait "$json5"; check "--json (one in five): SIGTERM, killed by it (143)" [ $? -eq 143 ]
    dpctl del-flows "$DP"
    echo "  one in five: $(wc -l <"$w/json5") samples of 500 frames"
    check "--json, one in five: rate $FIFTH, effective_rate 5, seq 0, 50..150 of 500" python3 -S - "$w/json5" "$FIFTH" <<'EOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert 50 <= len(objs) <= 150, len(objs)  # mean 100, standard deviation 9
for o in objs:
    assert (o["rate"], o["effective_rate"], o["rate_is_probability"], o["seq"]) == (int(sys.argv[2]), 5, True, 0), o
EOF
    return "$bad"
}

# A cookie longer than OVS_PSAMPLE_COOKIE_MAX_SIZE (16): the action's netlink policy (NLA_BINARY,
# len 16) refuses it with ERANGE. Shows that ovs_dp.py reports a refusal the way case (r) expects.
case_long_cookie() {
    local out
    out=$(add_flow --psample "$GROUP" "${COOKIE}${COOKIE}00"); local rc=$?
    echo "  $out"
    check "17-byte cookie refused" [ "$rc" -eq 3 ]
    check "the reason is ERANGE" grep -q 'errno 34 (ERANGE)' <<<"$out"
    return "$bad"
}

# Before 6.11: the datapath refuses a flow with the psample action, bare or inside sample; the
# same flow without it is accepted and forwards, and no sample arrives.
case_refused() {
    local out rc
    out=$(add_flow --psample "$GROUP" "$COOKIE"); rc=$?
    echo "  psample action: $out"
    check "flow with OVS_ACTION_ATTR_PSAMPLE refused with EINVAL" [ "$rc" -eq 3 ]
    check "the reason is EINVAL" grep -q 'errno 22 (EINVAL)' <<<"$out"
    out=$(add_flow --psample "$GROUP" "$COOKIE" --probability "$ALWAYS"); rc=$?
    echo "  sample(psample): $out"
    check "flow with sample(psample) refused with EINVAL" [ "$rc" -eq 3 ]
    check "the reason is EINVAL" grep -q 'errno 22 (EINVAL)' <<<"$out"
    echo "  $(uname -r): the datapath refuses OVS_ACTION_ATTR_PSAMPLE (EINVAL), as a kernel before 6.11 must"
    library_case 0 0 50 || bad=1 # the control: output only
    return "$bad"
}

# ---- driver ----

# In the namespace: ports, datapath, then the cases this kernel calls for.
run_inside() {
    ip link set lo up
    for pair in a b; do
        ip link add "ovs-${pair}0" type veth peer name "ovs-${pair}1" || exit 1
    done
    for dev in ovs-a0 ovs-a1 ovs-b0 ovs-b1; do # no IPv6: no addresses, no neighbour discovery
        if ! { sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" && ip link set "$dev" up; }; then exit 1; fi
    done
    if ! { dpctl add-dp "$DP" && dpctl add-port "$DP" ovs-a1 1 && dpctl add-port "$DP" ovs-b1 2; }; then
        fail_outside_case "datapath $DP with ports ovs-a1 (1), ovs-b1 (2) not created"
        summary ovs
        return
    fi
    echo "datapath $DP: port 1 ovs-a1 (ifindex $(cat /sys/class/net/ovs-a1/ifindex)), port 2 ovs-b1;" \
        "group $GROUP, cookie $COOKIE (domain $DOMAIN, point $POINT)"
    if kernel_has_ovs_psample; then
        run_case "(a) psample action: every frame sampled (rate UINT32_MAX)" \
            library_case "$ALWAYS" 1 200 --psample "$GROUP" "$COOKIE"
        run_case "(b) sample(probability UINT32_MAX, psample): every frame" \
            library_case "$ALWAYS" 1 200 --psample "$GROUP" "$COOKIE" --probability "$ALWAYS"
        run_case "(c) sample(probability UINT32_MAX/5, psample): one in five" \
            library_case "$FIFTH" 5 1000 --psample "$GROUP" "$COOKIE" --probability "$FIFTH"
        run_case "(d) the CLI: --json -v, text, --stats, one in five" case_cli
        run_case "(e) a 17-byte cookie is refused" case_long_cookie
    else
        run_case "(r) the datapath refuses the psample action" case_refused
    fi
    dpctl del-dp "$DP" || fail_outside_case "datapath $DP not deleted"
    summary ovs
}

if [ "${1:-}" = --inside ]; then # re-entered in the namespace
    run_inside
    exit
fi

[ -x "$samples" ] || { echo "FAIL: no $samples: run tests/vm/build.sh on the host first" >&2; exit 2; }
[ -x "$psample_cli" ] || { echo "FAIL: no $psample_cli: run 'make all' on the host first" >&2; exit 2; }
modprobe -a openvswitch veth psample || { echo "FAIL: modprobe openvswitch veth psample"; exit 1; }
ip netns add "$NS" || { echo "FAIL: ip netns add $NS"; exit 1; }
ip netns exec "$NS" "$self" --inside
rc=$?
ip netns del "$NS"
exit $rc
