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

# The tc action cookie the tests set, and whether this kernel passes it on (6.11 and later).
# shellcheck disable=SC2034 # read by the scripts that source this file
TC_COOKIE=00112233445566778899aabbccddeeff
kernel_sends_cookie() {
    case $(uname -r) in 6.1.*) return 1 ;; *) return 0 ;; esac
}

psample_loaded() {
    lsmod | grep -q '^psample'
}
