# Sourced by the scripts that run inside the VM (kernel-tests.sh, bindings-tests.sh, cli-tests.sh):
# case bookkeeping, namespaces with sampled loopback, and what the running kernel can send.
# shellcheck shell=bash

[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "${0##*/} runs inside the VM: use tests/vm/vm-run" >&2; exit 2; }

pass=0 fail=0

# Runs one case and counts it. ONLY=REGEX runs just the matching cases (for developers; CI runs
# all); cases left out are not counted.
run_case() { # name, then the command
    local name=$1; shift
    if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return 0; fi
    local t0=$SECONDS rc
    echo "=== $name ($(uname -r))"
    # shellcheck disable=SC2034 # the suites' check() sets it, their cases return it
    bad=0 # a case starts clean, also when it runs in this shell
    "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1)); echo "--- ok $name ($((SECONDS - t0)) s)"
    else
        fail=$((fail + 1)); echo "--- FAIL $name (exit $rc, $((SECONDS - t0)) s)"
    fi
}

# Counts a failure that is not a case of its own (a precondition that did not hold).
fail_outside_case() { # message
    echo "FAIL: $1"; fail=$((fail + 1))
}

# The closing line, and the script's exit status.
summary() { # what
    echo "$1 tests on $(uname -r): $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# Runs a command in a new namespace whose loopback egress has the given tc actions.
in_ns_with() { # "tc actions" command...
    local actions=$1; shift
    unshare -n sh -c '
        set -e
        ip link set lo up
        tc qdisc add dev lo clsact
        tc filter add dev lo egress pref 10 matchall '"$actions"'
        exec "$@"' sh "$@"
}

in_sampled_ns() { # rate trunc command...
    local rate=$1 trunc=$2; shift 2
    in_ns_with "action sample rate $rate group 7 trunc $trunc" "$@"
}

# The tc action cookie the tests set.
export TC_COOKIE=00112233445566778899aabbccddeeff

# What this kernel's psample sends for a tc act_sample sample taken on a software device (lo's
# egress), per kernel of the matrix, keyed by `uname -r`'s MAJOR.MINOR. Each line was checked
# against that version's net/psample/psample.c (psample_sample_packet) and net/sched/act_sample.c:
# - always: OIFINDEX on egress (IIFINDEX on ingress), ORIGSIZE, SAMPLE_GROUP, GROUP_SEQ,
#   SAMPLE_RATE, DATA, and TUNNEL when the skb has tunnel info (since 5.8, so 5.10 has it);
# - timestamp,proto: TIMESTAMP and PROTO, put unconditionally since 5.13 ("psample: Add additional
#   metadata attributes"); v5.10's psample_sample_packet(group, skb, trunc_size, in_ifindex,
#   out_ifindex, sample_rate) puts neither;
# - cookie: USER_COOKIE, act_sample passes the tc action cookie since 6.11 (psample_metadata
#   user_cookie); 5.10 and 6.1 do not;
# - never, on any kernel, from act_sample: OUT_TC, OUT_TC_OCC and LATENCY (psample_metadata's
#   out_tc_valid, out_tc_occ_valid and latency_valid are set only by hardware drivers, mlxsw) and
#   SAMPLE_PROBABILITY (6.11+, set only when rate_as_probability, which only Open vSwitch's
#   psample action sets). The tests assert these absent everywhere.
# The newest (sid) kernel is checked like 6.12 unless a line of its own says otherwise.
kernel_series() {
    local r
    r=$(uname -r)
    [[ $r =~ ^([0-9]+)\.([0-9]+) ]] && echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
}
kernel_expectations() {
    case $(kernel_series) in
    5.10) echo "" ;;
    6.1) echo "timestamp,proto" ;;
    6.12) echo "timestamp,proto,cookie" ;;
    *)
        # Newer than 6.12 (sid): the 6.12 set. Anything else is outside the matrix.
        if [ "$(printf '%s\n' "$(kernel_series)" 6.13 | sort -V | head -n 1)" = 6.13 ]; then
            echo "timestamp,proto,cookie"
        else
            echo "lib.sh: no psample expectations for kernel $(uname -r)" >&2
            return 1
        fi
        ;;
    esac
}
# The C programs read the expectations from the environment (and fail without them).
PSAMPLE_KERNEL_SENDS=$(kernel_expectations) || { echo "FAIL: no expectations for $(uname -r)"; exit 1; }
export PSAMPLE_KERNEL_SENDS
echo "expectations for $(uname -r) (series $(kernel_series)): optional attributes sent: ${PSAMPLE_KERNEL_SENDS:-none}"

kernel_sends() { # timestamp|proto|cookie
    [[ ,$PSAMPLE_KERNEL_SENDS, == *,$1,* ]]
}
kernel_sends_cookie() {
    kernel_sends cookie
}

psample_loaded() {
    lsmod | grep -q '^psample'
}

# The psample CLI tests (cli-tests.sh, ovs-tests.sh) set $psample_cli.

# Starts psample in the background (pid in $bg) and returns once it is subscribed: it handles
# SIGUSR1 only in its wait for samples, after subscribing, by printing its counters to stderr.
start() { # stdout-file stderr-file psample-args...
    local out=$1 err=$2; shift 2
    "${psample_cli:?the sourcing script sets psample_cli}" "$@" >"$out" 2>"$err" &
    bg=$!
    local i cgt
    for ((i = 0; i < 200; i++)); do # handler installed (SIGUSR1 is bit 9 of SigCgt): <= 20 s
        cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$bg/status" 2>/dev/null) || return 1
        [ -n "$cgt" ] && (( 0x$cgt & 0x200 )) && break
        sleep 0.1
    done
    kill -USR1 "$bg" 2>/dev/null || return 1
    for ((i = 0; i < 200; i++)); do
        grep -q '^psample: delivered=' "$err" && return 0
        kill -0 "$bg" 2>/dev/null || return 1
        sleep 0.1
    done
    echo "  psample did not get ready: $(cat "$err")"
    return 1
}

# Waits for a background psample to exit by itself (--count), at most `secs` seconds, then
# kills it. Returns its exit status (124 when it had to be killed).
finish() { # pid secs
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; return; }
        sleep 0.1
    done
    kill "$pid" 2>/dev/null; wait "$pid"
    echo "  psample $pid did not exit by itself in $2 s"
    return 124
}
