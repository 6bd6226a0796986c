/* Wake-up and system-call cases on a real kernel (tests/vm/kernel-tests.sh), in a namespace whose
 * loopback egress tc samples at rate 1 into group 7. Traffic: bounded UDP to 127.0.0.1 only.
 *
 *   wakeup flood N     N samples sent as fast as possible to ONE blocking receiver thread that
 *                      spends 1 ms per batch, so the socket's queue stays full. Once it has
 *                      delivered WAKE_AT samples and the kernel has dropped some (the queue is
 *                      full), another thread calls psample_wakeup(): -ECANCELED must come at the
 *                      receiver's next call, at most one batch later (pcap_breakloop). The
 *                      receiver then drains; delivered before + after + kernel drops must equal
 *                      tc's sample count, exactly.
 *   wakeup paced N R   N samples at R per second to one blocking receiver; prints how many
 *                      psample_recv() calls returned samples, for the system-call count that
 *                      kernel-tests.sh takes with strace -c.
 *
 * Last line: "N passed, M failed".
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

#define WAKE_AT 5000
#define FLOOD_BATCH 16

static struct psample_sub *sub;
static atomic_ullong delivered_now;  /* samples the receiver got so far */
static atomic_ullong batches_now;    /* psample_recv() calls that returned samples so far */
static atomic_int receiver_done;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static struct psample_stats stats_now(void)
{
    struct psample_stats st;
    if (psample_stats(sub, &st, sizeof st) != 0)
        memset(&st, 0, sizeof st);
    return st;
}

/* ---- flood ---------------------------------------------------------------------------------- */

static int flood_count;

static void *flood_sender(void *arg)
{
    (void)arg;
    send_datagrams(flood_count, 60);
    return NULL;
}

struct flood_result {
    unsigned long long before, after, batches_at_wake, batches_at_cancel;
    unsigned long long after_first_batch; /* samples of the batch that ended after the wake-up */
    int cancels;
};

static struct flood_result flood;
static atomic_ullong wake_batches = ~0ULL; /* batches_now when the waker called psample_wakeup() */

static void *flood_receiver(void *arg)
{
    (void)arg;
    struct psample_packet batch[FLOOD_BATCH];
    int phase = 0; /* 0: before the wake-up's -ECANCELED, 1: draining, 2: done */
    while (phase < 2) {
        int n = psample_recv(sub, batch, FLOOD_BATCH, sizeof batch[0]);
        if (n == -ECANCELED) {
            flood.cancels++;
            if (phase == 0)
                flood.batches_at_cancel = atomic_load(&batches_now);
            phase++;
            continue;
        }
        if (n == -EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
            break;
        }
        if (phase == 0) {
            flood.before += (unsigned long long)n;
            if (atomic_load(&batches_now) == atomic_load(&wake_batches))
                flood.after_first_batch = (unsigned long long)n;
        } else {
            flood.after += (unsigned long long)n;
        }
        atomic_fetch_add(&delivered_now, (unsigned long long)n);
        atomic_fetch_add(&batches_now, 1);
        if (phase == 0)
            sleep_ms(1); /* a slow consumer: the queue stays full */
    }
    atomic_store(&receiver_done, 1);
    return NULL;
}

static void test_flood(int count)
{
    struct psample_opts opts = { .size = sizeof opts, .rcvbuf = 262144 }; /* blocking */
    CHECK(psample_subscribe(&sub, &opts) == 0, "subscribe");
    if (!sub)
        return;
    flood_count = count;
    pthread_t rx, tx;
    pthread_create(&rx, NULL, flood_receiver, NULL);
    pthread_create(&tx, NULL, flood_sender, NULL);

    /* The waker: once WAKE_AT samples arrived and the kernel has dropped some (bounded: 60 s). */
    unsigned long long drops_at_wake = 0, sampled_at_wake = 0;
    for (int i = 0; i < 6000; i++) {
        struct psample_stats st = stats_now();
        if (st.delivered >= WAKE_AT && st.kernel_drops > 0) {
            drops_at_wake = st.kernel_drops;
            break;
        }
        sleep_ms(10);
    }
    unsigned long long delivered_at_wake = atomic_load(&delivered_now);
    flood.batches_at_wake = atomic_load(&batches_now);
    atomic_store(&wake_batches, flood.batches_at_wake);
    CHECK(psample_wakeup(sub) == 0, "psample_wakeup");
    pthread_join(tx, NULL);
    sampled_at_wake = tc_sampled();

    /* The end: everything tc sampled is delivered or counted as dropped (bounded: 60 s); then a
     * second wake-up ends the receiver. */
    unsigned long long sampled = 0;
    struct psample_stats st;
    for (int i = 0; i < 600; i++) {
        sampled = tc_sampled();
        st = stats_now();
        if (st.delivered + st.kernel_drops == sampled)
            break;
        sleep_ms(100);
    }
    CHECK(psample_wakeup(sub) == 0, "psample_wakeup to end");
    for (int i = 0; i < 500 && !atomic_load(&receiver_done); i++)
        sleep_ms(10);
    CHECK(atomic_load(&receiver_done), "the receiver ended on the second wake-up");
    if (!atomic_load(&receiver_done)) {
        printf("flood: the receiver did not end; figures below are partial\n");
        pthread_cancel(rx);
    }
    pthread_join(rx, NULL);
    st = stats_now();
    sampled = tc_sampled();
    unsigned long long latency = flood.batches_at_cancel - flood.batches_at_wake;
    printf("flood: sent %d, tc sampled %llu (%llu by the wake-up's end of sending); delivered %llu before the "
           "wake-up's -ECANCELED + %llu after = %llu; kernel drops %llu (%llu when woken); "
           "wake-up after %llu delivered, answered after %llu more batch(es) (%llu samples); %d -ECANCELED\n",
           count, sampled, sampled_at_wake, flood.before, flood.after, flood.before + flood.after,
           (unsigned long long)st.kernel_drops, drops_at_wake, delivered_at_wake, latency,
           latency ? flood.after_first_batch : 0ULL, flood.cancels);
    CHECK(drops_at_wake > 0, "the queue was full when woken (kernel drops > 0): the case proves nothing");
    CHECK(latency <= 1, "-ECANCELED within one batch of the wake-up: %llu batches", latency);
    CHECK(flood.after > 0, "samples were still queued at the wake-up and delivered after it");
    CHECK(flood.cancels == 2, "one -ECANCELED per wake-up: %d", flood.cancels);
    CHECK(sampled == (unsigned long long)count, "tc sampled %llu of %d", sampled, count);
    CHECK(flood.before + flood.after == st.delivered, "counted %llu, stats delivered %llu",
          flood.before + flood.after, (unsigned long long)st.delivered);
    CHECK(flood.before + flood.after + st.kernel_drops == sampled, "before + after + drops = %llu, sampled %llu",
          flood.before + flood.after + (unsigned long long)st.kernel_drops, sampled);
    CHECK(st.decode_errors == 0 && st.rejected_userspace == 0, "tokens are neither decode errors (%llu) nor "
          "rejected samples (%llu)", (unsigned long long)st.decode_errors, (unsigned long long)st.rejected_userspace);
    psample_close(sub);
}

/* ---- paced ---------------------------------------------------------------------------------- */

static int paced_count, paced_rate;

static void *paced_sender(void *arg)
{
    (void)arg;
    /* Bursts of 10 at the rate asked for, on an absolute clock so the rate holds. */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long step_ns = 10L * 1000000000L / paced_rate;
    for (int sent = 0; sent < paced_count; sent += 10) {
        send_datagrams(10, 60);
        next.tv_nsec += step_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

static void *paced_receiver(void *arg)
{
    (void)arg;
    struct psample_packet batch[64];
    for (;;) {
        int n = psample_recv(sub, batch, 64, sizeof batch[0]);
        if (n == -EINTR)
            continue;
        if (n < 0) {
            if (n != -ECANCELED)
                fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
            break;
        }
        atomic_fetch_add(&delivered_now, (unsigned long long)n);
        atomic_fetch_add(&batches_now, 1);
        if (atomic_load(&delivered_now) >= (unsigned long long)paced_count)
            break;
    }
    atomic_store(&receiver_done, 1);
    return NULL;
}

static void test_paced(int count, int rate)
{
    struct psample_opts opts = { .size = sizeof opts }; /* blocking, defaults */
    CHECK(psample_subscribe(&sub, &opts) == 0, "subscribe");
    if (!sub)
        return;
    paced_count = count - count % 10;
    paced_rate = rate;
    pthread_t rx, tx;
    pthread_create(&rx, NULL, paced_receiver, NULL);
    pthread_create(&tx, NULL, paced_sender, NULL);
    pthread_join(tx, NULL);
    /* Bounded: at most 10 s after the last send, a wake-up ends the receiver. */
    for (int i = 0; i < 1000 && !atomic_load(&receiver_done); i++)
        sleep_ms(10);
    if (!atomic_load(&receiver_done))
        psample_wakeup(sub);
    pthread_join(rx, NULL);
    struct psample_stats st = stats_now();
    unsigned long long calls = atomic_load(&batches_now);
    printf("paced: sent %d at %d/s; delivered %llu in %llu psample_recv calls that returned samples "
           "(%.2f per call); kernel drops %llu\n",
           paced_count, rate, (unsigned long long)st.delivered, calls,
           calls ? (double)st.delivered / (double)calls : 0.0, (unsigned long long)st.kernel_drops);
    printf("psample_recv calls that returned samples: %llu\n", calls);
    CHECK(st.delivered == (unsigned long long)paced_count, "delivered %llu of %d", (unsigned long long)st.delivered,
          paced_count);
    psample_close(sub);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "flood") && argc > 2 && atoi(argv[2]) > 0) {
        test_flood(atoi(argv[2]));
    } else if (!strcmp(mode, "paced") && argc > 3 && atoi(argv[2]) > 0 && atoi(argv[3]) > 0) {
        test_paced(atoi(argv[2]), atoi(argv[3]));
    } else {
        fprintf(stderr, "usage: wakeup flood N | paced N RATE\n");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
