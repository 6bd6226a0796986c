#!/usr/bin/env bash
# Runs inside the VM (tests/vm/vm-run): the Go and Python bindings against the real kernel. Build
# first on the host with bindings/build.sh (the Go test binary, the staged library, the Python
# package in build/venv). Each case that needs samples gets a fresh network namespace whose
# loopback egress is sampled by tc; the tests send UDP to 127.0.0.1 only, bounded in count and
# time. Last line: "bindings tests on <kernel>: N passed, M failed" (cases).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/vm/bindings"
gotest="$out/psample-go.test"
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "bindings-tests.sh runs inside the VM: use tests/vm/vm-run" >&2; exit 2; }
[ -x "$gotest" ] || { echo "FAIL: $gotest missing: run bindings/build.sh on the host" >&2; exit 1; }
# The root filesystem is read-only here: no bytecode, no pytest cache.
export PSAMPLE_LIBRARY="$out/lib/libpsample.so.0" PYTHONDONTWRITEBYTECODE=1
pytest=("$root/build/venv/bin/python" -m pytest -p no:cacheprovider -v -rs)
pass=0 fail=0

# name, then "strict" or "lenient", then the command. A strict case also fails when a test was
# skipped: the real-kernel tests skip themselves outside the VM, and must run here.
run_case() {
    local name=$1 mode=$2; shift 2
    echo "=== $name ($(uname -r))"
    local log=/tmp/bindings-case.log
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ] && { [ "$mode" = lenient ] || ! grep -qE -- '--- SKIP|SKIPPED|[0-9]+ skipped' "$log"; }; then
        pass=$((pass + 1)); echo "--- ok $name"
    else
        fail=$((fail + 1)); echo "--- FAIL $name (exit $rc)"
    fi
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

# First, psample absent: the host tests see ENOENT as on a machine without it (the real-kernel
# tests skip: PSAMPLE_IN_VM is removed for these two).
if lsmod | grep -q '^psample'; then
    echo "psample is already loaded: cannot test its absence"; fail=$((fail + 1))
else
    run_case "go: host tests, psample absent" lenient \
        unshare -n env -u PSAMPLE_IN_VM -C "$root/bindings/go" "$gotest" -test.v
    run_case "python: host tests, psample absent" lenient \
        unshare -n env -u PSAMPLE_IN_VM -C "$root/bindings/python" "${pytest[@]}" tests/test_psample.py
fi

modprobe -a psample act_sample cls_matchall sch_ingress || { echo "FAIL: modprobe"; exit 1; }

run_case "go: loopback egress, rate 10, group 7, trunc 1500" strict \
    in_ns_with "action sample rate 10 group 7 trunc 1500" \
    env -C "$root/bindings/go" "$gotest" -test.v -test.run '^TestVM'

# The user cookie reaches psample from 6.11 on; before, tc takes it but the kernel sends none.
cookie=00112233445566778899aabbccddeeff
case $(uname -r) in
    6.1.*) want_cookie= ;;
    *) want_cookie=$cookie ;;
esac
run_case "python: loopback egress, rate 1, group 7, trunc 128, cookie '$want_cookie'" strict \
    in_ns_with "action sample rate 1 group 7 trunc 128 cookie $cookie" \
    env -C "$root/bindings/python" PSAMPLE_TEST_COOKIE="$want_cookie" "${pytest[@]}" tests/test_vm.py

echo "bindings tests on $(uname -r): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
