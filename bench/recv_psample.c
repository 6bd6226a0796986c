/* Benchmark receiver using libpsample.
 *
 *   recv_psample            library defaults: psample_subscribe(&sub, NULL)
 *   recv_psample RCVBUF     opts.rcvbuf = RCVBUF bytes (the kernel doubles it), all else default
 *   recv_psample -d         drain mode (bench/instructions.sh): a PSAMPLE_SUB_NONBLOCK handle,
 *                           otherwise defaults; says "ready", waits for SIGUSR1 (the sender has
 *                           filled the queue), then drains the queue in drain_queue() until
 *                           -EAGAIN, and prints the result line
 *
 * Blocking psample_recv(sub, pkts, 64, sizeof) in a loop (the handle's default batch is 16, so a
 * call returns at most 16); every packet's group, sequence number and data are read and the data
 * touched (bench.h). Stops about 1 s after the last sample once SIGUSR1 says the sender finished.
 * Prints "ready pid=N" once subscribed, then one "result ..." line. */
#include "bench.h"

#include <errno.h>

#include "psample.h"

static struct psample_packet pkts[64];

/* The measured part of drain mode (callgrind --toggle-collect=drain_queue): nonblocking
 * psample_recv() until the queue is empty, with the same per-sample touch as the loop below.
 * `calls` counts every psample_recv(), the final -EAGAIN included. */
__attribute__((noinline)) static uint64_t drain_queue(struct psample_sub *sub, struct touch *t, uint64_t *calls)
{
    uint64_t got = 0;
    for (;;) {
        int n = psample_recv(sub, pkts, 64, sizeof pkts[0]);
        (*calls)++;
        if (n == -EINTR)
            continue;
        if (n < 0) {
            if (n != -EAGAIN)
                fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
            return got;
        }
        for (int i = 0; i < n; i++)
            touch_sample(t, pkts[i].group, pkts[i].group_seq, pkts[i].data, pkts[i].data_len);
        got += (uint64_t)n;
    }
}

int main(int argc, char **argv)
{
    int drain = argc > 1 && strcmp(argv[1], "-d") == 0;
    unsigned long rcvbuf = argc > 1 && !drain ? strtoul(argv[1], NULL, 0) : 0;
    struct psample_opts opts = { .size = sizeof opts, .rcvbuf = (uint32_t)rcvbuf };
    if (drain)
        opts.flags = PSAMPLE_SUB_NONBLOCK;
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, rcvbuf || drain ? &opts : NULL);
    if (rc != 0) {
        fprintf(stderr, "psample_subscribe: %s\n", psample_strerror(rc));
        return 1;
    }
    struct touch t = { 0 };
    uint64_t calls = 0;
    long long errors = 0;
    uint64_t user0, user1, cpu0, wall0;
    if (drain) {
        bench_wait_filled();
        cpu0 = cpu_ns(&user0), wall0 = mono_ns();
        drain_marker("begin");
        received = drain_queue(sub, &t, &calls);
        drain_marker("end");
    } else {
        bench_signals();
        print_ready();
        cpu0 = cpu_ns(&user0), wall0 = mono_ns();
        while (!stop) {
            int n = psample_recv(sub, pkts, 64, sizeof pkts[0]);
            if (n < 0) {
                if (n != -EINTR && n != -EAGAIN && ++errors < 10)
                    fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
                continue;
            }
            calls++;
            for (int i = 0; i < n; i++)
                touch_sample(&t, pkts[i].group, pkts[i].group_seq, pkts[i].data, pkts[i].data_len);
            received += (uint64_t)n;
        }
    }
    uint64_t cpu = cpu_ns(&user1) - cpu0, user = user1 - user0, wall = mono_ns() - wall0;
    struct psample_stats st;
    memset(&st, 0, sizeof st);
    if (psample_stats(sub, &st, sizeof st) != 0)
        fprintf(stderr, "psample_stats failed\n");
    if (st.delivered != received)
        fprintf(stderr, "stats.delivered %llu != received %llu\n", (unsigned long long)st.delivered,
                (unsigned long long)received);
    print_result(drain ? "psample-drain" : rcvbuf ? "psample-opt" : "psample", cpu, user, wall, calls,
                 (long long)st.kernel_drops, (long long)st.seq_gaps, (long long)st.enobufs, (long long)st.rcvbuf, &t);
    psample_close(sub);
    return 0;
}
