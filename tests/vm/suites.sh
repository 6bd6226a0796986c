#!/usr/bin/env bash
# Runs several VM suites in one boot (a boot under TCG costs a minute or more), each as on a fresh
# boot: psample and the modules that use it are unloaded first. Runs inside the VM:
#   tests/vm/vm-run 6.12 tests/vm/suites.sh kernel bindings cli ovs sflow
# Last line: "vm: N passed, M failed", the sum of the suites' closing lines; the exit status is
# non-zero when any suite failed or did not reach its closing line.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "${0##*/} runs inside the VM: use tests/vm/vm-run" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: suites.sh kernel|bindings|cli|ovs|sflow..." >&2; exit 2; }

# Users of psample first: a module is unloaded only after those that depend on it.
unload_psample() {
    local m
    for m in netdevsim openvswitch act_sample act_tunnel_key cls_matchall nlmon psample; do
        if lsmod | grep -q "^$m "; then
            for _ in 1 2 3 4 5 6 7 8 9 10; do modprobe -r "$m" 2>/dev/null && break; sleep 0.5; done
        fi
    done
    ! lsmod | grep -q '^psample '
}

pass=0 fail=0 bad=()
for suite in "$@"; do
    script="$root/tests/vm/$suite-tests.sh"
    [ -x "$script" ] || { echo "FAIL: no suite $suite ($script)"; fail=$((fail + 1)); bad+=("$suite"); continue; }
    if ! unload_psample; then
        echo "FAIL: psample still loaded before the $suite suite"; fail=$((fail + 1)); bad+=("$suite"); continue
    fi
    log=$(mktemp)
    t0=$SECONDS
    "$script" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    closing=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    rm -f "$log"
    if [[ $closing =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        pass=$((pass + BASH_REMATCH[1])); fail=$((fail + BASH_REMATCH[2]))
    else
        echo "FAIL: the $suite suite printed no closing line"; fail=$((fail + 1))
    fi
    [ "$rc" -eq 0 ] || bad+=("$suite")
    echo "=== suite $suite on $(uname -r): exit $rc in $((SECONDS - t0)) s"
done
[ ${#bad[@]} -eq 0 ] || echo "failed suites on $(uname -r): ${bad[*]}"
echo "vm: $pass passed, $fail failed"
[ ${#bad[@]} -eq 0 ] && [ "$fail" -eq 0 ]
