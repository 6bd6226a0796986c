#!/usr/bin/env bash
# Receive benchmark, inside the VM (bench/run starts it with tests/vm/vm-run 6.12).
#
#   bench/in-vm.sh OUTDIR COUNT REPS SWEEP_SECONDS "SWEEP_RATES" [DIAG_REPS [DIAG_COUNT]]
#
# Every run gets a fresh network namespace whose loopback egress is sampled by tc (matchall,
# sample rate 1 group 7 trunc T). The receiver starts in it and says "ready"; the sender then
# sends COUNT UDP datagrams to 127.0.0.1 (nowhere else) in the same namespace; SIGUSR1 tells the
# receiver the sender finished and it stops ~1 s after its last sample. tc's counter of the sample
# action ("Sent B bytes P pkt") is what was sampled. One CSV row per run goes to OUTDIR/raw.csv.
#
# Main cases: trunc 128 (100-byte payloads) and trunc 1500 (1400-byte payloads) x receivers:
#   baseline      recv_baseline, kernel default receive buffer, kernel default ENOBUFS behaviour
#   baseline-8m   recv_baseline -r 8 MiB (SO_RCVBUFFORCE) -n (NETLINK_NO_ENOBUFS)
#   psample       recv_psample, library defaults (opts NULL: 32 MiB, NO_ENOBUFS, batch 16)
#   psample-8m    recv_psample with opts.rcvbuf = 8 MiB (everything else default)
# REPS repetitions; each libpsample run is next to its baseline, the order flipping each time.
# Sweep: trunc 128, paced at each of SWEEP_RATES datagrams/s for SWEEP_SECONDS (at most COUNT
# datagrams), baseline and psample; the unpaced point is the main trunc-128 case.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "bench/in-vm.sh runs inside the VM: use bench/run" >&2; exit 2; }
out=${1:?OUTDIR} count=${2:?COUNT} reps=${3:?REPS} sweep_seconds=${4:?SWEEP_SECONDS} sweep_rates=${5-} diag_reps=${6:-0} diag_count=${7:-100000}
bin=$root/build/bench/bin
ns=psbench
tmp=/tmp/psbench # the guest's own /tmp
mkdir -p "$tmp" "$out"
raw=$out/raw.csv
MiB8=$((8 << 20))

modprobe -a psample act_sample cls_matchall sch_ingress || { echo "FAIL: modprobe" >&2; exit 1; }
echo "phase,trunc,len,rate,rx,rep,sent,sampled,received,lost,kernel_drops,seq_gaps,enobufs,rcvbuf,cpu_ns,user_ns,calls,rx_wall_ns,send_ns,send_rate,send_cpu_ns" >"$raw"
echo "kernel $(uname -r), $(nproc) CPUs, rmem_default $(cat /proc/sys/net/core/rmem_default), rmem_max $(cat /proc/sys/net/core/rmem_max)" >"$out/env.txt"

field() { # key line
    sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"
}

failures=0
rx_cmd() { # receiver name -> command in the array cmd
    case $1 in
        baseline) cmd=("$bin/recv_baseline") ;;
        baseline-8m) cmd=("$bin/recv_baseline" -r "$MiB8" -n) ;;
        baseline-8m-meta) cmd=("$bin/recv_baseline" -r "$MiB8" -n -m) ;;
        psample) cmd=("$bin/recv_psample") ;;
        psample-8m) cmd=("$bin/recv_psample" "$MiB8") ;;
        go) cmd=("$bin/recv_go") ;;
        *) echo "unknown receiver $1" >&2; return 1 ;;
    esac
}

# One run: a fresh sampled namespace, the receiver(s) (several would run side by side on the same
# samples), the sender, one CSV row per receiver.
run_one() { # phase trunc len rate rep count receiver...
    local phase=$1 trunc=$2 len=$3 rate=$4 rep=$5 n=$6 i j rx
    shift 6
    local rxs=("$@") bgs=() pids=()
    ip netns del "$ns" 2>/dev/null
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev lo clsact
    tc -n "$ns" filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc "$trunc" || return 1
    for j in "${!rxs[@]}"; do
        rx_cmd "${rxs[$j]}" || return 1
        : >"$tmp/rx$j.out"
        timeout 400 ip netns exec "$ns" "${cmd[@]}" >"$tmp/rx$j.out" 2>"$tmp/rx$j.err" &
        bgs[j]=$!
    done
    for j in "${!rxs[@]}"; do
        pids[j]=""
        for ((i = 0; i < 600; i++)); do # at most 30 s for a receiver to subscribe
            pids[j]=$(field pid "$(grep -m1 '^ready' "$tmp/rx$j.out")")
            [ -n "${pids[$j]}" ] && break
            kill -0 "${bgs[$j]}" 2>/dev/null || break
            sleep 0.05
        done
        if [ -z "${pids[$j]}" ]; then
            echo "FAIL: ${rxs[$j]} did not get ready: $(cat "$tmp/rx$j.err")" >&2
            kill "${bgs[@]}" 2>/dev/null; wait; ip netns del "$ns"; failures=$((failures + 1)); return 1
        fi
    done
    local s
    s=$(timeout 330 ip netns exec "$ns" "$bin/send" "$n" "$len" "$rate")
    kill -USR1 "${pids[@]}"
    wait "${bgs[@]}"
    local sampled
    sampled=$(tc -n "$ns" -s filter show dev lo egress | awk '$1 == "Sent" { print $4; exit }')
    ip netns del "$ns"
    for j in "${!rxs[@]}"; do
        local r received sent rx=${rxs[$j]}
        r=$(grep -m1 '^result' "$tmp/rx$j.out")
        if [ -z "$r" ] || [ -z "$s" ] || [ -z "$sampled" ]; then
            echo "FAIL: $phase $trunc $rx rep $rep: receiver '$r' sender '$s' sampled '$sampled' $(cat "$tmp/rx$j.err")" >&2
            failures=$((failures + 1)); continue
        fi
        [ -s "$tmp/rx$j.err" ] && echo "note ($rx): $(head -c 500 "$tmp/rx$j.err")" >&2
        received=$(field received "$r") sent=$(field count "$s")
        echo "$phase,$trunc,$len,$rate,$rx,$rep,$sent,$sampled,$received,$((sampled - received)),$(field kernel_drops "$r"),$(field seq_gaps "$r"),$(field enobufs "$r"),$(field rcvbuf "$r"),$(field cpu_ns "$r"),$(field user_ns "$r"),$(field calls "$r"),$(field wall_ns "$r"),$(field elapsed_ns "$s"),$(field rate "$s"),$(field cpu_ns "$s")" >>"$raw"
        printf '%-6s trunc %4s rate %6s %-16s rep %s: sent %s sampled %s received %s drops %s cpu %s ns/sample (user %s) %s calls, sender %s/s\n' \
            "$phase" "$trunc" "$rate" "$rx" "$rep" "$sent" "$sampled" "$received" "$(field kernel_drops "$r")" \
            "$(($(field cpu_ns "$r") / (received > 0 ? received : 1)))" \
            "$(($(field user_ns "$r") / (received > 0 ? received : 1)))" "$(field calls "$r")" "$(field rate "$s")" >&2
    done
}

t_start=$(date +%s)
# Bindings only (bench/run with BENCH_BINDINGS=1): each binding's receiver next to the C
# receiver (recv_psample), library defaults, trunc 128 and 1500, the order flipping each time.
if [ -n "${BENCH_BINDINGS:-}" ]; then
    for rx in psample $BENCH_BINDINGS; do
        run_one warmup 128 100 0 0 20000 "$rx"
    done
    for rep in $(seq 1 "$reps"); do
        for tl in "128 100" "1500 1400"; do
            read -r tl_trunc tl_payload <<<"$tl"
            order="psample $BENCH_BINDINGS"
            [ $((rep % 2)) -eq 0 ] && order="$BENCH_BINDINGS psample"
            for rx in $order; do
                run_one bindings "$tl_trunc" "$tl_payload" 0 "$rep" "$count" "$rx"
            done
        done
    done
    echo "bindings runs in VM: $(($(date +%s) - t_start)) s, $failures failed runs" >&2
    [ "$failures" -eq 0 ]
    exit
fi
receivers=(baseline psample baseline-8m psample-8m)
# The user-space part alone under TCG (no kernel): what the decode and conversion cost here.
for i in 1 2 3; do "$bin/userspace_cost" 300000; done >"$out/userspace-vm.txt" 2>&1
# Warm-up, not counted: pages the programs and the library in over 9p.
for rx in "${receivers[@]}"; do
    run_one warmup 128 100 0 0 20000 "$rx"
done
for rep in $(seq 1 "$reps"); do
    for tl in "128 100" "1500 1400"; do
        read -r tl_trunc tl_payload <<<"$tl"
        # Each library receiver runs right next to the baseline it is compared with; the order
        # flips every repetition so neither always goes first.
        if [ $((rep % 2)) -eq 1 ]; then order="baseline psample baseline-8m psample-8m"
        else order="psample-8m baseline-8m psample baseline"; fi
        for rx in $order; do
            run_one main "$tl_trunc" "$tl_payload" 0 "$rep" "$count" "$rx"
        done
    done
done
echo "main cases: $(($(date +%s) - t_start)) s" >&2
for rep in $(seq 1 "$reps"); do
    for rate in $sweep_rates; do
        n=$((rate * sweep_seconds))
        [ "$n" -gt "$count" ] && n=$count
        if [ $((rep % 2)) -eq 1 ]; then order="baseline psample"; else order="psample baseline"; fi
        for rx in $order; do
            run_one sweep 128 100 "$rate" "$rep" "$n" "$rx"
        done
    done
done
# Cost analysis (DIAG_REPS > 0), trunc 128, unpaced, DIAG_COUNT datagrams: the baseline also
# asking for msg_name/msg_control like the library, back to back with the library and the plain
# baseline (rotating order).
for rep in $(seq 1 "$diag_reps"); do
    # bench/run must stay under 25 minutes: skip what is left of the analysis past 19 minutes here.
    if [ $(($(date +%s) - t_start)) -gt 1140 ]; then
        echo "analysis runs from repetition $rep on skipped: time budget" >&2
        echo "analysis_skipped_from_rep=$rep" >>"$out/env.txt"
        break
    fi
    trio=(baseline-8m baseline-8m-meta psample-8m)
    for k in 0 1 2; do
        run_one diag 128 100 0 "$rep" "$diag_count" "${trio[$(((k + rep - 1) % 3))]}"
    done
done
echo "total in VM: $(($(date +%s) - t_start)) s, $failures failed runs" >&2
echo "vm_seconds=$(($(date +%s) - t_start)) failures=$failures" >>"$out/env.txt"
[ "$failures" -eq 0 ]
