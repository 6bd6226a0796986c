#!/usr/bin/env bash
# Deterministic receive cost: user-space instructions and system calls per received sample, for
# libpsample (bench/recv_psample.c -d) and the minimal receiver (bench/recv_baseline.c -d), on a
# pre-filled queue in a VM. Unlike CPU time under TCG, both figures repeat exactly from run to run.
#
#   bench/instructions.sh [COUNT [TRUNCS]]       host: builds, then boots tests/vm/vm-run
#
#   COUNT   datagrams per run [10000]: all of them are queued before the receiver reads one
#   TRUNCS  tc sample truncation sizes, quoted list ["64 128 1500"]; payloads are trunc - 28
#           bytes (IPv4 + UDP headers), so the sampled data is the whole frame up to trunc
# Environment:
#   INSTR_KERNEL [6.12]  kernel series for vm-run
#   INSTR_BASE           a commit: also measures libpsample built from it (receiver psample-base),
#                        for before/after figures
#   INSTR_OUT [build/instructions]  where binaries, callgrind and strace files go
#
# Method, per (trunc, receiver): a fresh network namespace inside the VM, its loopback's egress
# sampled by tc (matchall, sample rate 1 group 7). The receiver subscribes (32 MiB receive buffer,
# NETLINK_NO_ENOBUFS, 16 datagrams per recvmmsg for both), says "ready" and sleeps; the sender
# (bench/send.c) sends COUNT UDP datagrams to 127.0.0.1 only; SIGUSR1 then makes the receiver drain
# the queue without waiting (until EAGAIN) in its function drain_queue(), which touches every sample
# the same way (bench.h). Two runs each:
#   - under valgrind --tool=callgrind --toggle-collect='drain_queue*' (GCC may rename it to a clone,
#     drain_queue.constprop.0): only instructions executed inside
#     drain_queue() and what it calls (the library included) are counted, not start-up;
#   - under strace -f: the system calls between the receiver's "drain begin" and "drain end"
#     markers (one write(2) each, not counted).
# A run whose receiver did not get all COUNT samples fails the script (exit 1).
#
# Output on stdout, one line per figure (key=value, machine-readable):
#   instructions_per_sample receiver=R trunc=T value=V samples=N instructions=I
#   syscalls_per_sample receiver=R trunc=T value=V samples=N syscalls=S batch=16
#   instructions_ratio receiver=R trunc=T value=V        (R's instructions / the baseline's)
#   syscalls_ratio receiver=R trunc=T value=V            (R's system calls / the baseline's)
# with R one of baseline, psample (this tree), psample-base (INSTR_BASE). Callgrind profiles stay
# in INSTR_OUT/callgrind.R.T.out (callgrind_annotate them for the functions where the cost is).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
count=${1:-10000} truncs=${2:-64 128 1500}
out=${INSTR_OUT:-build/instructions}
case $out in /*) ;; *) out=$root/$out ;; esac
rcvbuf=$((32 << 20))

if [ -z "${PSAMPLE_IN_VM:-}" ]; then
    rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
    CFLAGS=(-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror)
    tests/build-cdylib.sh --release
    tests/stage-lib.sh "${CARGO_TARGET_DIR:-$root/target}/release/libpsample.so" "$out/lib"
    cc "${CFLAGS[@]}" -I include bench/recv_psample.c -L "$out/lib" -lpsample -Wl,-rpath,"$out/lib" \
        -o "$out/bin/recv_psample"
    cc "${CFLAGS[@]}" bench/recv_baseline.c -o "$out/bin/recv_baseline"
    cc "${CFLAGS[@]}" bench/send.c -o "$out/bin/send"
    if [ -n "${INSTR_BASE:-}" ]; then
        mkdir -p "$out/base-src" "$out/base-lib"
        git archive "$INSTR_BASE" | tar -x -C "$out/base-src"
        cargo build --quiet --release --lib --manifest-path "$out/base-src/Cargo.toml" \
            --target-dir "$root/target/instructions-base"
        tests/stage-lib.sh "$root/target/instructions-base/release/libpsample.so" "$out/base-lib"
        cc "${CFLAGS[@]}" -I "$out/base-src/include" bench/recv_psample.c -L "$out/base-lib" -lpsample \
            -Wl,-rpath,"$out/base-lib" -o "$out/bin/recv_psample_base"
    fi
    exec env VM_TIMEOUT="${VM_TIMEOUT:-1800}" tests/vm/vm-run "${INSTR_KERNEL:-6.12}" \
        env INSTR_OUT="$out" INSTR_BASE="${INSTR_BASE:-}" "$0" "$count" "$truncs"
fi

modprobe -a psample act_sample cls_matchall || { echo "FAIL: modprobe" >&2; exit 1; }
ns=psinstr
tmp=/tmp/psinstr # the guest's own /tmp
mkdir -p "$tmp"
receivers=(baseline psample)
[ -n "${INSTR_BASE:-}" ] && receivers+=(psample-base)

rx_cmd() { # receiver -> the command in the array cmd
    case $1 in
        baseline) cmd=("$out/bin/recv_baseline" -d -r "$rcvbuf" -n) ;;
        psample) cmd=("$out/bin/recv_psample" -d) ;;
        psample-base) cmd=("$out/bin/recv_psample_base" -d) ;;
    esac
}

field() { # key line
    sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# One drain run: fresh namespace, the receiver under WRAPPER (valgrind or strace), COUNT datagrams,
# SIGUSR1, wait. Prints the receiver's result line; fails unless it received COUNT samples.
drain_run() { # trunc receiver wrapper...
    local trunc=$1 rx=$2 i pid="" bg r
    shift 2
    rx_cmd "$rx"
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev lo clsact
    tc -n "$ns" filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc "$trunc"
    : >"$tmp/rx.out"
    timeout 900 ip netns exec "$ns" "$@" "${cmd[@]}" >"$tmp/rx.out" 2>"$tmp/rx.err" &
    bg=$!
    for ((i = 0; i < 1200; i++)); do # valgrind under TCG starts slowly: at most 120 s
        pid=$(field pid " $(grep -m1 '^ready' "$tmp/rx.out" || true)")
        [ -n "$pid" ] && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$pid" ]; then
        echo "FAIL: $rx trunc $trunc did not get ready: $(head -c 2000 "$tmp/rx.err")" >&2
        kill "$bg" 2>/dev/null || true
        wait "$bg" || true
        ip netns del "$ns"
        return 1
    fi
    timeout 300 ip netns exec "$ns" "$out/bin/send" "$count" $((trunc > 28 ? trunc - 28 : 1)) >/dev/null
    kill -USR1 "$pid"
    wait "$bg" || true
    ip netns del "$ns"
    r=$(grep -m1 '^result' "$tmp/rx.out" || true)
    if [ "$(field received "$r")" != "$count" ]; then
        echo "FAIL: $rx trunc $trunc: received $(field received "$r") of $count: $r $(head -c 2000 "$tmp/rx.err")" >&2
        return 1
    fi
    echo "$r"
}

declare -A instr sys
failures=0
for trunc in $truncs; do
    for rx in "${receivers[@]}"; do
        cg=$out/callgrind.$rx.$trunc.out
        if ! drain_run "$trunc" "$rx" valgrind --tool=callgrind --toggle-collect='drain_queue*' \
            --callgrind-out-file="$cg" >/dev/null; then
            failures=$((failures + 1))
            continue
        fi
        # "totals:" (or "summary:") holds the event counts; Ir is the first.
        ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$cg")
        instr[$rx.$trunc]=$ir
        printf 'instructions_per_sample receiver=%s trunc=%s value=%.1f samples=%s instructions=%s\n' \
            "$rx" "$trunc" "$(bc -l <<<"$ir / $count")" "$count" "$ir"
        st=$out/strace.$rx.$trunc.txt
        if ! drain_run "$trunc" "$rx" strace -f -qq -o "$st" >/dev/null; then
            failures=$((failures + 1))
            continue
        fi
        # System calls after the "drain begin" marker's write and before the "drain end" one's.
        calls=$(awk '/write\(2, "drain begin/ { on = 1; next } /write\(2, "drain end/ { on = 0 }
            on && !/resumed>/ && !/^[0-9]+ +\+\+\+/ && !/^[0-9]+ +---/ { n++ } END { print n + 0 }' "$st")
        sys[$rx.$trunc]=$calls
        printf 'syscalls_per_sample receiver=%s trunc=%s value=%.4f samples=%s syscalls=%s batch=16\n' \
            "$rx" "$trunc" "$(bc -l <<<"$calls / $count")" "$count" "$calls"
    done
    for rx in "${receivers[@]}"; do
        [ "$rx" = baseline ] && continue
        if [ -n "${instr[$rx.$trunc]:-}" ] && [ -n "${instr[baseline.$trunc]:-}" ]; then
            printf 'instructions_ratio receiver=%s trunc=%s value=%.3f\n' "$rx" "$trunc" \
                "$(bc -l <<<"${instr[$rx.$trunc]} / ${instr[baseline.$trunc]}")"
        fi
        if [ -n "${sys[$rx.$trunc]:-}" ] && [ -n "${sys[baseline.$trunc]:-}" ]; then
            printf 'syscalls_ratio receiver=%s trunc=%s value=%.3f\n' "$rx" "$trunc" \
                "$(bc -l <<<"${sys[$rx.$trunc]} / ${sys[baseline.$trunc]}")"
        fi
    done
done
[ "$failures" -eq 0 ] || { echo "FAIL: $failures runs failed" >&2; exit 1; }
