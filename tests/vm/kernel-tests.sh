#!/usr/bin/env bash
# Runs inside the VM (tests/vm/vm-run): each case gets a fresh network namespace whose loopback
# egress is sampled by tc, and runs tests/vm/e2e (built on the host) inside it.
# Last line: "N passed, M failed" (cases).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
e2e="$root/build/vm/e2e"
export LD_LIBRARY_PATH="$root/build/vm/lib"
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "kernel-tests.sh runs inside the VM: use tests/vm/vm-run" >&2; exit 2; }
pass=0 fail=0

run_case() { # name, then the command
    local name=$1; shift
    echo "=== $name ($(uname -r))"
    if "$@"; then pass=$((pass + 1)); echo "--- ok $name"; else fail=$((fail + 1)); echo "--- FAIL $name"; fi
}

# Sample loopback egress inside a new namespace, then run the rest of the command there.
in_sampled_ns() { # rate trunc command...
    local rate=$1 trunc=$2; shift 2
    unshare -n sh -c '
        set -e
        ip link set lo up
        tc qdisc add dev lo clsact
        tc filter add dev lo egress matchall action sample rate '"$rate"' group 7 trunc '"$trunc"'
        exec "$@"' sh "$@"
}

# psample absent: a clear ENOENT (before anything loads the module).
if lsmod | grep -q '^psample'; then
    echo "psample is already loaded: cannot test its absence"; fail=$((fail + 1))
else
    run_case "module missing gives ENOENT" unshare -n "$e2e" enoent
fi

modprobe -a psample act_sample cls_matchall sch_ingress || { echo "FAIL: modprobe"; exit 1; }

run_case "rate 1: every datagram sampled, every field" in_sampled_ns 1 128 "$e2e" every 1000 200
run_case "rate 1: short datagrams (frame < trunc)" in_sampled_ns 1 128 "$e2e" every 500 20
run_case "rate 10: about a tenth, every field" in_sampled_ns 10 128 "$e2e" rate 3000 10

echo "kernel tests on $(uname -r): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
