#!/usr/bin/env bash
# hsflowd side by side with psample-sflow (make hsflowd-compare): builds hsflowd with only its psample
# module from a fetched copy of github sflow/host-sflow in build/host-sflow (never committed: get it
# with `git clone` or `git archive` into build/host-sflow), then boots the 6.12 VM and runs
# compare-hsflowd-vm.sh there. Without build/host-sflow it says so and exits 0: the comparison is a
# developer's check, not part of make test. Needs `make all` first (build/tools/psample-sflow).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
src=build/host-sflow
if [ ! -f "$src/Makefile" ]; then
    echo "compare-hsflowd: no $src (a copy of github sflow/host-sflow): nothing compared"
    exit 0
fi
if [ ! -x "$src/src/Linux/hsflowd" ] || [ ! -f "$src/src/Linux/mod_psample.so" ]; then
    # FEATURES=PSAMPLE: hsflowd plus mod_psample.so only (its Makefile, src/Linux/Makefile).
    make -C "$src" FEATURES="PSAMPLE" >"$root/build/host-sflow.log" 2>&1 ||
        { echo "compare-hsflowd: building hsflowd failed, see build/host-sflow.log" >&2; exit 1; }
fi
[ -x build/tools/psample-sflow ] || { echo "compare-hsflowd: no build/tools/psample-sflow: run make all" >&2; exit 1; }
flock /tmp/psample-vm.lock tests/vm/vm-run 6.12 tools/psample-sflow/compare-hsflowd-vm.sh
