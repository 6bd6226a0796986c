/* The threading contract under ThreadSanitizer: a receiver thread blocked in psample_recv(), a
 * stats thread and a wake-up thread on one handle during a real sample stream (the caller runs it
 * in a namespace whose loopback egress is sampled at rate 1).
 *   threads SAMPLES WAKEUPS
 * Asserts: every psample_wakeup() made exactly one psample_recv() return -ECANCELED, the counters
 * the stats thread saw never went back, and what the receiver got equals `delivered`, with
 * delivered + kernel_drops = samples sent. A hang (a lost wake-up) fails by alarm(). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "common.h"

static struct psample_sub *sub;
static atomic_int done;
static atomic_long wakeups_sent;
static long received, canceled;
static long stats_reads;
/* Failures seen by the threads (CHECK's counters are the main thread's only). */
static atomic_int thread_errors;

static void thread_fail(const char *what, int rc)
{
    fprintf(stderr, "FAIL threads: %s: %s\n", what, psample_strerror(rc));
    atomic_fetch_add(&thread_errors, 1);
}

static void *receiver(void *arg)
{
    long total_wakeups = (long)(intptr_t)arg;
    struct psample_packet batch[64];
    for (;;) {
        int n = psample_recv(sub, batch, 64, sizeof batch[0]);
        if (n > 0) {
            received += n;
        } else if (n == -ECANCELED) {
            canceled++;
            if (atomic_load(&done) && canceled == total_wakeups)
                break;
        } else if (n != -EINTR) {
            thread_fail("psample_recv", n);
            break;
        }
    }
    return NULL;
}

static void *stats_reader(void *arg)
{
    (void)arg;
    struct psample_stats last = { 0 }, st;
    while (!atomic_load(&done)) {
        int rc = psample_stats(sub, &st, sizeof st);
        if (rc != 0) {
            thread_fail("psample_stats", rc);
            break;
        }
        if (st.delivered < last.delivered || st.kernel_drops < last.kernel_drops || st.seq_gaps < last.seq_gaps) {
            fprintf(stderr, "counters went back: delivered %llu -> %llu\n", (unsigned long long)last.delivered,
                    (unsigned long long)st.delivered);
            thread_fail("monotonic counters", 0);
            break;
        }
        last = st;
        stats_reads++;
    }
    return NULL;
}

static void *waker(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        int rc = psample_wakeup(sub);
        if (rc != 0)
            thread_fail("psample_wakeup", rc);
        atomic_fetch_add(&wakeups_sent, 1);
        usleep((useconds_t)(i % 7) * 300);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long samples = argc > 2 ? atol(argv[1]) : 0, wakeups = argc > 2 ? atol(argv[2]) : 0;
    if (samples <= 0 || samples > 200000 || wakeups <= 0) {
        fprintf(stderr, "usage: threads SAMPLES WAKEUPS\n");
        return 2;
    }
    alarm(120);
    struct psample_opts opts = { .size = sizeof opts };
    int rc = psample_subscribe(&sub, &opts);
    CHECK(rc == 0, "psample_subscribe: %s", psample_strerror(rc));
    if (rc != 0)
        return finish("threads");

    pthread_t rx, st, wk;
    /* One more wake-up than the waker sends: the last one ends the receiver. */
    pthread_create(&rx, NULL, receiver, (void *)(intptr_t)(wakeups + 1));
    pthread_create(&st, NULL, stats_reader, NULL);
    pthread_create(&wk, NULL, waker, (void *)(intptr_t)wakeups);
    for (long sent = 0; sent < samples; sent += 500) {
        send_datagrams(samples - sent < 500 ? (int)(samples - sent) : 500, 60);
        usleep(2000);
    }
    pthread_join(wk, NULL);

    /* Every sample is either delivered or counted as dropped by the kernel (bounded wait). */
    struct psample_stats s = { 0 };
    for (int i = 0; i < 3000; i++) {
        CHECK(psample_stats(sub, &s, sizeof s) == 0, "psample_stats");
        if (s.delivered + s.kernel_drops >= (uint64_t)samples)
            break;
        usleep(10000);
    }
    atomic_store(&done, 1);
    CHECK(psample_wakeup(sub) == 0, "last psample_wakeup");
    pthread_join(rx, NULL);
    pthread_join(st, NULL);
    CHECK(psample_stats(sub, &s, sizeof s) == 0, "psample_stats");

    printf("threads: sent %ld, received %ld, delivered %llu, kernel_drops %llu, seq_gaps %llu, wakeups %ld, "
           "ECANCELED %ld, stats reads %ld\n",
           samples, received, (unsigned long long)s.delivered, (unsigned long long)s.kernel_drops,
           (unsigned long long)s.seq_gaps, atomic_load(&wakeups_sent) + 1, canceled, stats_reads);
    CHECK(canceled == wakeups + 1, "ECANCELED %ld times for %ld wake-ups", canceled, wakeups + 1);
    CHECK((uint64_t)received == s.delivered, "received %ld, delivered %llu", received,
          (unsigned long long)s.delivered);
    CHECK(s.delivered + s.kernel_drops == (uint64_t)samples, "delivered + kernel_drops = %llu, sent %ld",
          (unsigned long long)(s.delivered + s.kernel_drops), samples);
    CHECK(stats_reads > 0, "the stats thread ran");
    CHECK(atomic_load(&thread_errors) == 0, "%d failures in the threads", atomic_load(&thread_errors));
    CHECK(s.joined == 1, "joined");
    psample_close(sub);
    return finish("threads");
}
