#!/usr/bin/env bash
# System calls per received batch, counted with strace -c -f, for libpsample at a given commit
# (default: the parent of the commit that added psample_wakeup's eventfd wait) and for this tree.
#
#   bench/syscalls.sh [BASE_COMMIT [COUNT]]      (host: builds both, then runs the VM part)
#
# Same receiver (bench/recv_psample.c, blocking psample_recv, defaults) linked against each
# library; COUNT datagrams to 127.0.0.1 only, in a fresh namespace whose loopback egress is
# sampled at rate 1. Prints strace's table per library and one summary line each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
base=${1:-05afd2d^} count=${2:-200000}
out=build/syscalls
if [ -z "${PSAMPLE_IN_VM:-}" ]; then
    rm -rf "$out" && mkdir -p "$out/base-src" "$out/base/lib" "$out/new/lib"
    git archive "$base" | tar -x -C "$out/base-src"
    cargo build --quiet --lib --manifest-path "$out/base-src/Cargo.toml" --target-dir "$root/target/syscalls-base"
    tests/build-cdylib.sh
    cp "$root/target/syscalls-base/debug/libpsample.so" "$out/base/lib/"
    cp "${CARGO_TARGET_DIR:-$root/target}/debug/libpsample.so" "$out/new/lib/"
    for v in base new; do
        inc=include
        [ $v = new ] || inc=$out/base-src/include
        ln -sf libpsample.so "$out/$v/lib/libpsample.so.0"
        cc -O2 -D_GNU_SOURCE -I "$inc" bench/recv_psample.c -L "$out/$v/lib" -lpsample -Wl,-rpath,"$root/$out/$v/lib" -o "$out/$v/recv_psample"
    done
    cc -O2 -D_GNU_SOURCE bench/send.c -o "$out/send"
    exec tests/vm/vm-run "${SERIES:-6.12}" env PSAMPLE_IN_VM=1 "$0" "$base" "$count"
fi

modprobe -a psample act_sample cls_matchall sch_ingress
for v in base new; do
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare -n sh -c '
        set -e
        ip link set lo up
        tc qdisc add dev lo clsact
        tc filter add dev lo egress matchall action sample rate 1 group 7 trunc 128
        strace -c -f -o "$1/strace.txt" "$1/recv_psample" >"$1/result.txt" &
        for _ in $(seq 100); do grep -q ready "$1/result.txt" 2>/dev/null && break; sleep 0.1; done
        pid=$(sed -n "s/^ready pid=//p" "$1/result.txt")
        "$2" "$3" 100 >/dev/null
        kill -USR1 "$pid"
        wait' sh "$out/$v" "$out/send" "$count"
    echo "== $v"
    cat "$out/$v/strace.txt"
    batches=$(sed -n 's/.* calls=\([0-9]*\).*/\1/p' "$out/$v/result.txt")
    awk -v v="$v" -v b="$batches" '$NF == "recvmmsg" || $NF == "poll" || $NF == "ppoll" { n[$NF] = $4 }
        END { printf "%s: batches %d, recvmmsg %d, poll %d, per batch %.3f\n", v, b, n["recvmmsg"],
              n["poll"] + n["ppoll"], (n["recvmmsg"] + n["poll"] + n["ppoll"]) / b }' "$out/$v/strace.txt"
    grep result "$out/$v/result.txt"
done
