#!/usr/bin/env bash
# Receive benchmark, inside the VM (bench/run starts it with tests/vm/vm-run 6.12).
#
#   bench/in-vm.sh OUTDIR       (settings in the environment, BENCH_*, see bench/run)
#
# Every run gets a fresh network namespace whose loopback egress is sampled by tc (matchall,
# action sample rate 1 group 7 trunc T; the "groups" phase adds a second action, rate 100 group
# 8). The receivers start in it and say "ready"; the sender then sends N UDP datagrams to
# 127.0.0.1 (nowhere else) in the same namespace; SIGUSR1 tells the receivers the sender finished
# and each stops ~1 s after its last sample. tc's counter of the sample action ("Sent B bytes P
# pkt") is what was sampled. One CSV row per receiver and run goes to OUTDIR/raw.csv.
#
# Phases (BENCH_PHASES, in this order):
#   cpu       libpsample defaults ("psample", bench/recv_psample.c) against the minimal receiver
#             with the same socket settings ("baseline", bench/recv_baseline.c -r 32 MiB -n), back
#             to back, BENCH_PAIRS pairs per trunc in BENCH_TRUNCS, the order flipping each pair
#   bindings  the C receiver next to the Go (bench/recv_go) and Python (bench/recv_py.py)
#             receivers, library defaults, trunc 128 and 1500, rotating order
#   latency   paced at BENCH_LAT_RATE datagrams/s for BENCH_LAT_SECONDS: bench/recv_latency.c in
#             its three modes (libpsample blocking, nonblocking under poll, minimal receiver)
#   scale     1, 4 and 16 (BENCH_SCALE) libpsample receivers side by side on the same samples
#   groups    the sender's CPU per datagram with no subscriber, with one subscriber that uses the
#             library's kernel group filter for group 8 (1 % of the samples), and with one
#             subscriber to every group, rotating order
#   memory    bench/memory.c at batch 0 (default) and 1024, with BENCH_MEM_COUNT samples queued
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "bench/in-vm.sh runs inside the VM: use bench/run" >&2; exit 2; }
out=${1:?OUTDIR}
phases=${BENCH_PHASES:-cpu bindings latency scale groups memory}
truncs=${BENCH_TRUNCS:-64 128 1500}
pairs=${BENCH_PAIRS:-10}
count=${BENCH_COUNT:-5000}
bindings=${BENCH_BINDINGS:-go py}
bind_reps=${BENCH_BINDINGS_REPS:-2}
bind_count=${BENCH_BINDINGS_COUNT:-3000}
lat_rate=${BENCH_LAT_RATE:-1000}
lat_seconds=${BENCH_LAT_SECONDS:-5}
lat_reps=${BENCH_LAT_REPS:-1}
scale=${BENCH_SCALE:-1 4 16}
scale_reps=${BENCH_SCALE_REPS:-1}
scale_count=${BENCH_SCALE_COUNT:-2000}
group_reps=${BENCH_GROUP_REPS:-2}
group_count=${BENCH_GROUP_COUNT:-5000}
mem_count=${BENCH_MEM_COUNT:-2000}
bin=$out/bin
ns=psbench
tmp=/tmp/psbench # the guest's own /tmp
mkdir -p "$tmp" "$out"
raw=$out/raw.csv
lib_rcvbuf=33554432 # PSAMPLE_DEFAULT_RCVBUF: the baseline gets the library's socket settings

modprobe -a psample act_sample cls_matchall sch_ingress || { echo "FAIL: modprobe" >&2; exit 1; }
echo "phase,trunc,len,rate,rx,rep,sent,sampled,received,lost,kernel_drops,seq_gaps,enobufs,rcvbuf,cpu_ns,user_ns,calls,rx_wall_ns,send_ns,send_rate,send_cpu_ns,subscribers,p50_ns,p99_ns,max_ns" >"$raw"
: >"$out/memory.txt"
echo "kernel $(uname -r), $(nproc) CPUs, rmem_default $(cat /proc/sys/net/core/rmem_default), rmem_max $(cat /proc/sys/net/core/rmem_max), transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)" >"$out/env.txt"

field() { # key line
    sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# The key=value pairs of a result line into the associative array named by $1, with bash
# builtins only: under TCG every forked sed costs a noticeable share of a run.
parse() { # array line
    local -n into=$1
    local kv
    into=()
    for kv in $2; do
        # shellcheck disable=SC2034 # a nameref: this fills the caller's array
        [[ $kv == *=* ]] && into[${kv%%=*}]=${kv#*=}
    done
    return 0
}

# ready_pid FILE: the pid of a receiver's "ready pid=N" first line in $ready, else "" (builtins
# only, no subshell).
ready_pid() { # file
    local first=""
    ready=""
    read -r first <"$1" 2>/dev/null
    [[ $first == ready\ pid=* ]] && ready=${first#ready pid=}
    return 0
}

payload_for() { # trunc -> UDP payload bytes: the frame is cut at trunc (1400: all of it at 1500)
    if [ "$1" -ge 1500 ]; then echo 1400; else echo 100; fi
}

failures=0
rx_cmd() { # receiver name -> command in the array cmd
    case $1 in
        baseline) cmd=("$bin/recv_baseline" -r "$lib_rcvbuf" -n) ;;
        psample) cmd=("$bin/recv_psample") ;;
        go) cmd=("$bin/recv_go") ;;
        py) cmd=(env PYTHONPATH="$root/bindings/python/src" PSAMPLE_LIBRARY="$out/lib/libpsample.so.0"
            python3 "$root/bench/recv_py.py") ;;
        lat-block) cmd=("$bin/recv_latency" block) ;;
        lat-poll) cmd=("$bin/recv_latency" poll) ;;
        lat-baseline) cmd=("$bin/recv_latency" baseline) ;;
        group8) cmd=("$bin/recv_latency" block -g 8) ;;
        allgroups) cmd=("$bin/recv_latency" block) ;;
        *) echo "unknown receiver $1" >&2; return 1 ;;
    esac
}

# One run: a fresh sampled namespace, the receivers (side by side on the same samples; none: the
# sender alone), the sender, one CSV row per receiver (one row "none" without receivers).
run_one() { # phase trunc rate rep count receiver...
    local phase=$1 trunc=$2 rate=$3 rep=$4 n=$5 i j len
    shift 5
    len=$(payload_for "$trunc")
    local rxs=("$@") bgs=() pids=()
    ip netns del "$ns" 2>/dev/null
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev lo clsact
    if [ "$phase" = groups ]; then
        tc -n "$ns" filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc "$trunc" pipe \
            action sample rate 100 group 8 trunc "$trunc" || return 1
    else
        tc -n "$ns" filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc "$trunc" || return 1
    fi
    for j in "${!rxs[@]}"; do
        rx_cmd "${rxs[$j]}" || return 1
        : >"$tmp/rx$j.out"
        timeout 400 ip netns exec "$ns" "${cmd[@]}" >"$tmp/rx$j.out" 2>"$tmp/rx$j.err" &
        bgs[j]=$!
    done
    for j in "${!rxs[@]}"; do
        pids[j]=""
        for ((i = 0; i < 600; i++)); do # at most 30 s for a receiver to subscribe
            ready_pid "$tmp/rx$j.out"
            pids[j]=$ready
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
    if [ ${#rxs[@]} -gt 0 ]; then
        kill -USR1 "${pids[@]}"
        wait "${bgs[@]}"
    fi
    local sampled
    # The group-7 sample action's counter: packets it saw, all sampled at rate 1 (matchall may
    # print a filter-level "Sent" line too, so the action's own is taken).
    tc -n "$ns" -s filter show dev lo egress >"$out/tc-$phase.txt" # the last run's, for the record
    sampled=$(awk '
        /action order [0-9]+: *sample/ { for (i = 1; i < NF; i++) if ($i == "group") g = $(i + 1) }
        $1 == "Sent" && g != "" { c[g] = $4; g = "" }
        END { print c[7] + 0 }' "$out/tc-$phase.txt")
    ip netns del "$ns"
    local -A S R
    parse S "$s"
    if [ ${#rxs[@]} -eq 0 ]; then
        echo "$phase,$trunc,$len,$rate,none,$rep,${S[count]},$sampled,0,0,0,0,0,0,0,0,0,0,${S[elapsed_ns]},${S[rate]},${S[cpu_ns]},0,,," >>"$raw"
        printf '%-8s trunc %4s rate %5s %-12s rep %s: sent %s sampled %s, sender %s/s, sender CPU %s ns/dgram\n' "$phase" \
            "$trunc" "$rate" none "$rep" "${S[count]}" "$sampled" "${S[rate]}" "$((S[cpu_ns] / S[count]))" >&2
        return 0
    fi
    for j in "${!rxs[@]}"; do
        local r expected rx=${rxs[$j]}
        r=""
        while read -r line; do [[ $line == result* ]] && { r=$line; break; }; done <"$tmp/rx$j.out"
        if [ -z "$r" ] || [ -z "$s" ] || [ -z "$sampled" ]; then
            echo "FAIL: $phase $trunc $rx rep $rep: receiver '$r' sender '$s' sampled '$sampled' $(cat "$tmp/rx$j.err")" >&2
            failures=$((failures + 1)); continue
        fi
        [ -s "$tmp/rx$j.err" ] && echo "note ($rx): $(head -c 500 "$tmp/rx$j.err")" >&2
        parse R "$r"
        expected=$sampled
        # In the groups phase tc's counters count packets the sample actions saw, not the ones
        # they sampled (1 in 100 for group 8): what the socket should have had is what it
        # received plus what it dropped (SO_MEMINFO, exact).
        [ "$phase" = groups ] && expected=$((R[received] + R[kernel_drops]))
        echo "$phase,$trunc,$len,$rate,$rx,$rep,${S[count]},$expected,${R[received]},$((expected - R[received])),${R[kernel_drops]},${R[seq_gaps]},${R[enobufs]},${R[rcvbuf]},${R[cpu_ns]},${R[user_ns]},${R[calls]},${R[wall_ns]},${S[elapsed_ns]},${S[rate]},${S[cpu_ns]},${#rxs[@]},${R[p50_ns]:-},${R[p99_ns]:-},${R[max_ns]:-}" >>"$raw"
        printf '%-8s trunc %4s rate %5s %-12s rep %s (%s rx): sent %s sampled %s received %s drops %s cpu %s ns/sample, %s calls, sender %s/s %s ns/dgram%s\n' \
            "$phase" "$trunc" "$rate" "$rx" "$rep" "${#rxs[@]}" "${S[count]}" "$expected" "${R[received]}" "${R[kernel_drops]}" \
            "$((R[cpu_ns] / (R[received] > 0 ? R[received] : 1)))" "${R[calls]}" "${S[rate]}" \
            "$((S[cpu_ns] / (S[count] > 0 ? S[count] : 1)))" \
            "${R[p99_ns]:+, latency p50 ${R[p50_ns]} p99 ${R[p99_ns]} max ${R[max_ns]} ns}" >&2
    done
}

# Memory of one handle: the program subscribes, COUNT samples are queued, it drains them.
mem_one() { # batch
    local pid i s
    ip netns del "$ns" 2>/dev/null
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev lo clsact
    tc -n "$ns" filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc 128 || return 1
    : >"$tmp/mem.out"
    timeout 400 ip netns exec "$ns" "$bin/memory" "$1" >"$tmp/mem.out" 2>"$tmp/mem.err" &
    local bg=$!
    pid=""
    for ((i = 0; i < 600; i++)); do
        ready_pid "$tmp/mem.out"
        pid=$ready
        [ -n "$pid" ] && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$pid" ]; then
        echo "FAIL: memory $1 did not get ready: $(cat "$tmp/mem.err")" >&2
        kill "$bg" 2>/dev/null; wait; ip netns del "$ns"; failures=$((failures + 1)); return 1
    fi
    s=$(timeout 330 ip netns exec "$ns" "$bin/send" "$mem_count" 100 0)
    kill -USR1 "$pid"
    wait "$bg"
    ip netns del "$ns"
    local m
    m=$(grep -m1 '^memory' "$tmp/mem.out")
    if [ -z "$m" ]; then
        echo "FAIL: memory $1: no result: $(cat "$tmp/mem.err")" >&2; failures=$((failures + 1)); return 1
    fi
    echo "$m sent=$(field count "$s")" | tee -a "$out/memory.txt" >&2
}

t_start=$(date +%s)
phase_start() {
    echo "== phase $1 at $(($(date +%s) - t_start)) s" >&2
    echo "phase_$1_start=$(($(date +%s) - t_start))" >>"$out/env.txt"
}

# Warm-up, not counted: pages the programs, the library and the runtimes in over 9p.
for rx in baseline psample $(for p in $phases; do [ "$p" = bindings ] && echo "$bindings"; done); do
    run_one warmup 128 0 0 2000 "$rx"
done

for phase in $phases; do
    phase_start "$phase"
    case $phase in
        cpu)
            for rep in $(seq 1 "$pairs"); do
                for trunc in $truncs; do
                    # The pair runs back to back; the order flips every pair.
                    if [ $((rep % 2)) -eq 1 ]; then order="baseline psample"; else order="psample baseline"; fi
                    for rx in $order; do run_one cpu "$trunc" 0 "$rep" "$count" "$rx"; done
                done
            done
            ;;
        bindings)
            read -ra rxs <<<"psample $bindings"
            for rep in $(seq 1 "$bind_reps"); do
                for trunc in 128 1500; do
                    for k in "${!rxs[@]}"; do # rotate: each receiver goes first in turn
                        run_one bindings "$trunc" 0 "$rep" "$bind_count" "${rxs[$(((k + rep - 1) % ${#rxs[@]}))]}"
                    done
                done
            done
            ;;
        latency)
            modes=(lat-baseline lat-block lat-poll)
            for rep in $(seq 1 "$lat_reps"); do
                for k in 0 1 2; do
                    run_one latency 128 "$lat_rate" "$rep" "$((lat_rate * lat_seconds))" "${modes[$(((k + rep - 1) % 3))]}"
                done
            done
            ;;
        scale)
            for rep in $(seq 1 "$scale_reps"); do
                for k in $scale; do
                    rxs=()
                    for ((i = 0; i < k; i++)); do rxs+=(psample); done
                    run_one scale 128 0 "$rep" "$scale_count" "${rxs[@]}"
                done
            done
            ;;
        groups)
            trio=(none group8 allgroups)
            for rep in $(seq 1 "$group_reps"); do
                for k in 0 1 2; do
                    rx=${trio[$(((k + rep - 1) % 3))]}
                    if [ "$rx" = none ]; then run_one groups 128 0 "$rep" "$group_count"
                    else run_one groups 128 0 "$rep" "$group_count" "$rx"; fi
                done
            done
            ;;
        memory)
            mem_one 0
            mem_one 1024
            ;;
        *) echo "unknown phase $phase" >&2; failures=$((failures + 1)) ;;
    esac
done
echo "total in VM: $(($(date +%s) - t_start)) s, $failures failed runs" >&2
echo "vm_seconds=$(($(date +%s) - t_start)) failures=$failures" >>"$out/env.txt"
[ "$failures" -eq 0 ]
