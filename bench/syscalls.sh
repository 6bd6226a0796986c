#!/usr/bin/env bash
# System calls per received batch, counted with strace -c -f, for libpsample at a given commit
# (default: 8646e2a, the last one with the eventfd wake-up, before the in-band token) and for this tree, in two regimes: a full queue (COUNT datagrams sent as fast as
# possible) and a paced stream (PACED datagrams at RATE per second, where the receiver keeps up
# and waits for one or two samples at a time: the common case in production).
#
#   bench/syscalls.sh [BASE_COMMIT [COUNT [PACED [RATE]]]]   (host: builds both, then the VM part)
#
# Same receiver (bench/recv_psample.c, blocking psample_recv, defaults) linked against each
# library; datagrams to 127.0.0.1 only, in a fresh namespace whose loopback egress is sampled at
# rate 1. Prints strace's table per library and regime, and one summary line each: receive system
# calls (recvmmsg, poll, ppoll) per psample_recv() call that returned samples.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
base=${1:-8646e2a} count=${2:-200000} paced=${3:-10000} rate=${4:-2000}
out=build/syscalls
if [ -z "${PSAMPLE_IN_VM:-}" ]; then
    rm -rf "$out" && mkdir -p "$out/base-src" "$out/base/lib" "$out/new/lib"
    git archive "$base" | tar -x -C "$out/base-src"
    "$out/base-src/tests/build-cdylib.sh" --target-dir "$root/target/syscalls-base"
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
    exec tests/vm/vm-run "${SERIES:-6.12}" env PSAMPLE_IN_VM=1 "$0" "$base" "$count" "$paced" "$rate"
fi

modprobe -a psample act_sample cls_matchall sch_ingress
run() { # library regime count rate
    local v=$1 regime=$2 dir="$out/$1/$2"
    mkdir -p "$dir"
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare -n sh -c '
        set -e
        ip link set lo up
        tc qdisc add dev lo clsact
        tc filter add dev lo egress matchall action sample rate 1 group 7 trunc 128
        strace -c -f --seccomp-bpf -e trace=recvmmsg,recvmsg,recvfrom,poll,ppoll,read -o "$1/strace.txt" \
            "$2/recv_psample" >"$1/result.txt" &
        for _ in $(seq 100); do grep -q ready "$1/result.txt" 2>/dev/null && break; sleep 0.1; done
        pid=$(sed -n "s/^ready pid=//p" "$1/result.txt")
        "$3" "$4" 100 "$5" >/dev/null
        kill -USR1 "$pid"
        wait' sh "$dir" "$out/$v" "$out/send" "$3" "$4"
    echo "== $v, $regime ($3 datagrams, rate ${4/#0/unpaced})"
    cat "$dir/strace.txt"
    batches=$(sed -n 's/.* calls=\([0-9]*\).*/\1/p' "$dir/result.txt")
    awk -v v="$v" -v r="$regime" -v b="$batches" '$NF == "recvmmsg" || $NF == "poll" || $NF == "ppoll" { n[$NF] = $4 }
        END { printf "%s, %s: batches %d, recvmmsg %d, poll %d, per batch %.3f\n", v, r, b, n["recvmmsg"],
              n["poll"] + n["ppoll"], (n["recvmmsg"] + n["poll"] + n["ppoll"]) / b }' "$dir/strace.txt" |
        tee -a "$out/summary.txt"
    grep result "$dir/result.txt"
}
rm -f "$out/summary.txt"
for v in base new; do
    run "$v" full "$count" 0
    run "$v" paced "$paced" "$rate"
done
echo "== summary (receive system calls per psample_recv call that returned samples)"
cat "$out/summary.txt"
