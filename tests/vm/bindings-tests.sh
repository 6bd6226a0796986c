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
. "$root/tests/vm/lib.sh"
[ -x "$gotest" ] || { echo "FAIL: $gotest missing: run bindings/build.sh on the host" >&2; exit 1; }
[ -f "$out/python/psample/py.typed" ] || { echo "FAIL: $out/python missing: run bindings/build.sh" >&2; exit 1; }
# The root filesystem is read-only here: no bytecode, no pytest cache.
# The Python package is the copy bindings/build.sh installed from this tree.
export PSAMPLE_LIBRARY="$out/lib/libpsample.so.0" PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$out/python"
pytest=("$root/build/venv/bin/python" -m pytest -p no:cacheprovider -v -rs)
# The real-kernel tests skip themselves outside the VM; here they must run, so a skip fails.
no_skips() { # command...
    local log=/tmp/bindings-case.log rc
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || return "$rc"
    ! grep -qE -- '--- SKIP|SKIPPED|[0-9]+ skipped' "$log"
}

# First, psample absent: the host tests see ENOENT as on a machine without it (the real-kernel
# tests skip: PSAMPLE_IN_VM is removed for these two).
if psample_loaded; then
    fail_outside_case "psample is already loaded: cannot test its absence"
else
    run_case "go: host tests, psample absent" \
        unshare -n env -u PSAMPLE_IN_VM -C "$root/bindings/go" "$gotest" -test.v
    run_case "python: host tests, psample absent" \
        unshare -n env -u PSAMPLE_IN_VM -C "$root/bindings/python" "${pytest[@]}" tests/test_psample.py tests/test_abi.py tests/test_semantics.py
fi

modprobe -a psample act_sample cls_matchall sch_ingress || { echo "FAIL: modprobe"; exit 1; }

run_case "go: loopback egress, rate 10, group 7, trunc 1500" \
    no_skips in_ns_with "action sample rate 10 group 7 trunc 1500" \
    env -C "$root/bindings/go" "$gotest" -test.v -test.run '^TestVM'

want_cookie=
kernel_sends_cookie && want_cookie=$TC_COOKIE
run_case "python: loopback egress, rate 1, group 7, trunc 128, cookie '$want_cookie'" \
    no_skips in_ns_with "action sample rate 1 group 7 trunc 128 cookie $TC_COOKIE" \
    env -C "$root/bindings/python" PSAMPLE_TEST_COOKIE="$want_cookie" "${pytest[@]}" tests/test_vm.py

summary bindings
