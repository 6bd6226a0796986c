#!/usr/bin/env bash
# sFlow export benchmark: does psample-sflow keep up with the receive benchmark's full rate (the
# unpaced sender of bench/send.c, trunc 128, 100-byte payloads) with no loss beyond the plain
# receiver's (bench/recv_psample.c), and what does it cost per sample? Runs on the host, boots
# the 6.12 VM (tests/vm/vm-run) and writes build/bench/sflow.md.
#
#   bench/sflow.sh                 SFLOW_BENCH_COUNT [200000] datagrams per run, SFLOW_BENCH_REPS [3]
#
# Each run: a fresh namespace whose loopback egress samples IPv4 (tc matchall, protocol ip, rate 1,
# group 7, trunc 128); one receiver; COUNT datagrams to 127.0.0.1:9999; tc's counter is what was
# sampled. psample-sflow exports to a sink on [::1]:6343 in the same namespace (IPv6, so its
# datagrams are not sampled). Its CPU time is the kernel's per-task runtime (/proc/PID/schedstat).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != --in-vm ]; then
    cd "$root"
    count=${SFLOW_BENCH_COUNT:-200000} reps=${SFLOW_BENCH_REPS:-3}
    make --no-print-directory lib sflow >/dev/null
    bin=build/bench/sflow-bin
    mkdir -p "$bin" build/bench
    cflags=(-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror)
    cc "${cflags[@]}" -I include bench/recv_psample.c -L build/lib -lpsample -Wl,-rpath,"$root/build/lib" \
        -o "$bin/recv_psample"
    cc "${cflags[@]}" bench/send.c -o "$bin/send"
    VM_TIMEOUT=${VM_TIMEOUT:-1500} tests/vm/vm-run "${SFLOW_BENCH_KERNEL:-6.12}" bench/sflow.sh --in-vm \
        "$root/build/bench" "$count" "$reps" 2>&1 | tee build/bench/sflow-vm.log
    [ -s build/bench/sflow.md ] || { echo "bench/sflow.sh: no results" >&2; exit 1; }
    cat build/bench/sflow.md
    exit 0
fi

# ---- inside the VM ----
[ -n "${PSAMPLE_IN_VM:-}" ] || { echo "bench/sflow.sh --in-vm runs inside the VM" >&2; exit 2; }
out=$2 count=$3 reps=$4
bin=$root/build/bench/sflow-bin
sflow=$root/build/tools/psample-sflow
ns=psflow tmp=/tmp/psflow
mkdir -p "$tmp"
raw=$out/sflow.csv
modprobe -a psample act_sample cls_matchall sch_ingress
echo "receiver,rep,sent,sampled,received,lost,kernel_drops,seq_gaps,cpu_ns,datagrams,sink_datagrams" >"$raw"

field() { # key line
    sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"
}

setup_ns() {
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev lo clsact
    tc -n "$ns" filter add dev lo egress pref 10 protocol ip matchall action sample rate 1 group 7 trunc 128
}

sampled_count() {
    tc -n "$ns" -s filter show dev lo egress | awk '$1 == "Sent" { print $4; exit }'
}

run_psample() { # rep
    setup_ns
    ip netns exec "$ns" "$bin/recv_psample" >"$tmp/rx.out" 2>"$tmp/rx.err" &
    local bgp=$! pid="" i
    for ((i = 0; i < 600; i++)); do
        pid=$(field pid "$(grep -m1 '^ready' "$tmp/rx.out" || true)")
        [ -n "$pid" ] && break
        sleep 0.05
    done
    [ -n "$pid" ] || { echo "recv_psample did not start: $(cat "$tmp/rx.err")" >&2; return 1; }
    local s; s=$(timeout 330 ip netns exec "$ns" "$bin/send" "$count" 100)
    kill -USR1 "$pid"; wait "$bgp"
    local sampled r received
    sampled=$(sampled_count); r=$(grep -m1 '^result' "$tmp/rx.out")
    received=$(field received "$r")
    echo "psample,$1,$(field count "$s"),$sampled,$received,$((sampled - received)),$(field kernel_drops "$r"),$(field seq_gaps "$r"),$(field cpu_ns "$r"),," >>"$raw"
    ip netns del "$ns"
}

sflow_stats() { # pid err-file: asks for the counters, prints the newest line
    local before; before=$(grep -c '^psample-sflow: samples=' "$2" || true)
    kill -USR1 "$1"
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c '^psample-sflow: samples=' "$2" || true)" -gt "$before" ] && break
        sleep 0.05
    done
    grep '^psample-sflow: samples=' "$2" | tail -n 1
}

run_sflow() { # rep
    setup_ns
    rm -f "$tmp/sink.ready"
    ip netns exec "$ns" python3 - "$tmp/sink.ready" >"$tmp/sink.out" <<'EOF' &
import select, signal, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("::1", 6343))
open(sys.argv[1], "w").write("ready\n")
n = 0
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    try:
        r, _, _ = select.select([s], [], [], 0.2)
    except InterruptedError:
        continue
    if r:
        s.recv(65535); n += 1
print(f"sink datagrams={n}")
EOF
    local bgs=$! i
    for ((i = 0; i < 100; i++)); do [ -e "$tmp/sink.ready" ] && break; sleep 0.1; done
    ip netns exec "$ns" "$sflow" --collector '[::1]:6343' --group 7 2>"$tmp/sflow.err" &
    local bgf=$! cgt
    for ((i = 0; i < 200; i++)); do # its SIGUSR1 handler first (bit 9 of SigCgt)
        cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$bgf/status" 2>/dev/null) || break
        [ -n "$cgt" ] && (( 0x$cgt & 0x200 )) && break
        sleep 0.1
    done
    # Subscribed once it answers SIGUSR1 (it handles signals only after subscribing).
    [ -n "$(sflow_stats "$bgf" "$tmp/sflow.err")" ] || { echo "psample-sflow did not start: $(cat "$tmp/sflow.err")" >&2; return 1; }
    local cpu0 s line prev=""
    cpu0=$(cut -d' ' -f1 "/proc/$bgf/schedstat")
    s=$(timeout 330 ip netns exec "$ns" "$bin/send" "$count" 100)
    for ((i = 0; i < 100; i++)); do # until its counters stop moving (at most 20 s)
        sleep 0.2
        line=$(sflow_stats "$bgf" "$tmp/sflow.err")
        [ "$(field samples "$line")" = "$(field samples "$prev")" ] && break
        prev=$line
    done
    local cpu sampled received
    cpu=$(($(cut -d' ' -f1 "/proc/$bgf/schedstat") - cpu0))
    kill -TERM "$bgf"; wait "$bgf" || true
    sleep 0.5; kill -TERM "$bgs"; wait "$bgs" || true
    sampled=$(sampled_count); received=$(field samples "$line")
    echo "sflow,$1,$(field count "$s"),$sampled,$received,$((sampled - received)),$(field kernel_drops "$line"),$(field seq_gaps "$line"),$cpu,$(field datagrams "$line"),$(sed -n 's/.*datagrams=//p' "$tmp/sink.out")" >>"$raw"
    ip netns del "$ns"
}

for ((rep = 1; rep <= reps; rep++)); do
    run_psample "$rep"
    run_sflow "$rep"
    tail -n 2 "$raw" >&2
done

# Medians per receiver: lost samples, CPU per received sample.
{
    echo "## sFlow export (psample-sflow)"
    echo
    echo "$(uname -r), $(nproc) vCPUs (TCG). $count datagrams of 100 bytes per run, unpaced (bench/send.c), sampled at"
    echo "rate 1 with trunc 128; $reps runs per receiver; medians. psample-sflow packs up to 1400 bytes"
    echo "(7 samples of 128 header bytes per datagram) and sends to a sink on [::1]:6343 in the namespace."
    echo "recv_psample is the receive benchmark's receiver (library defaults, touches each sample)."
    echo
    echo "| receiver | sampled | received | lost | kernel drops | CPU ns/sample | datagrams sent | sink received |"
    echo "|---|---|---|---|---|---|---|---|"
    awk -F, 'NR > 1 { n[$1]++; k = $1 SUBSEP n[$1]; sa[k] = $4; rc[k] = $5; lo[k] = $6; kd[k] = $7
                       cpu[k] = ($5 > 0) ? $9 / $5 : 0; dg[k] = $10; sk[k] = $11 }
        function med(a, r, m,   i, j, t, v) { m = n[r]; for (i = 1; i <= m; i++) v[i] = a[r SUBSEP i] + 0
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2 }
        END { for (r in n) printf "| %s | %d | %d | %d | %d | %.0f | %s | %s |\n", r, med(sa, r), med(rc, r),
                  med(lo, r), med(kd, r), med(cpu, r), (r == "sflow") ? med(dg, r) : "-", (r == "sflow") ? med(sk, r) : "-" }' "$raw" | sort
    echo
    echo "Every run (build/bench/sflow.csv):"
    echo
    echo '```'
    cat "$raw"
    echo '```'
} >"$out/sflow.md"
cat "$out/sflow.md"
