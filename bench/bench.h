/* Shared parts of the benchmark receivers (bench/recv_psample.c, bench/recv_baseline.c, and
 * for its stop rule and CPU accounting bench/recv_latency.c):
 * the same stop rule, the same CPU accounting, the same per-sample work and the same output
 * line, so only the receive path differs between them. */
#ifndef PSAMPLE_BENCH_H
#define PSAMPLE_BENCH_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

/* Stop rule. The script sends SIGUSR1 once the sender has finished. A 1 s interval timer
 * (SIGALRM) interrupts a blocked receive and checks progress: the receiver stops at the first
 * tick, after SIGUSR1, that saw no new sample since the tick before (about 1 s without a
 * sample after the sender finished). Hard limit: MAX_SECONDS in all. The timer costs one signal
 * per second: nothing measurable. */
#define MAX_SECONDS 600

static volatile sig_atomic_t sender_done, stop;
static volatile uint64_t received; /* samples handed to the loop so far */
static uint64_t last_tick_received;
static int ticks;

static void on_usr1(int sig)
{
    (void)sig;
    sender_done = 1;
}

static void on_alarm(int sig)
{
    (void)sig;
    uint64_t now = received;
    if ((sender_done && now == last_tick_received) || ++ticks >= MAX_SECONDS)
        stop = 1;
    last_tick_received = now;
}

static inline void bench_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked receive returns EINTR */
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

/* CPU time of this process (user + system), and the user part in *user. */
static inline uint64_t cpu_ns(uint64_t *user)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t u = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
    uint64_t s = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
    *user = u;
    return u + s;
}

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The per-sample work both receivers do: read group, sequence number and data, touch the data. */
struct touch {
    uint64_t bytes;    /* sum of data_len */
    uint64_t sum;      /* sum of the first and last data byte */
    uint64_t seq_xor;  /* xor of the sequence numbers */
    uint64_t other_group;
};

static inline void touch_sample(struct touch *t, uint32_t group, uint32_t seq, const uint8_t *data, uint32_t len)
{
    if (group != 7)
        t->other_group++;
    t->seq_xor ^= seq;
    t->bytes += len;
    if (data && len)
        t->sum += (uint64_t)data[0] + data[len - 1];
}

/* The minimal receiver's decode: walks the messages of one datagram (`len` bytes) and touches
 * every sample of `family` (group, sequence number, data). Returns how many it touched. */
static inline uint64_t baseline_walk(void *buf, size_t len, uint16_t family, struct touch *t)
{
    enum { ATTR_SAMPLE_GROUP = 3, ATTR_GROUP_SEQ = 4, ATTR_DATA = 6 }; /* PSAMPLE_ATTR_* */
    uint64_t got = 0;
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
        if (nh->nlmsg_type != family || nh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
            continue;
        uint32_t grp = 0, seq = 0, dlen = 0;
        const uint8_t *data = NULL;
        char *p = (char *)NLMSG_DATA(nh) + GENL_HDRLEN, *end = (char *)nh + nh->nlmsg_len;
        while (p + NLA_HDRLEN <= end) {
            const struct nlattr *a = (const struct nlattr *)p;
            if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
                break;
            switch (a->nla_type & NLA_TYPE_MASK) {
            case ATTR_SAMPLE_GROUP: memcpy(&grp, p + NLA_HDRLEN, 4); break;
            case ATTR_GROUP_SEQ: memcpy(&seq, p + NLA_HDRLEN, 4); break;
            case ATTR_DATA:
                data = (const uint8_t *)p + NLA_HDRLEN;
                dlen = a->nla_len - NLA_HDRLEN;
                break;
            }
            p += NLA_ALIGN(a->nla_len);
        }
        touch_sample(t, grp, seq, data, dlen);
        got++;
    }
    return got;
}

static inline void print_ready(void)
{
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
}

/* Drain mode (bench/instructions.sh): say "ready", then sleep until SIGUSR1 says the sender has
 * filled the queue. SIGUSR1 is blocked before "ready" is printed, so it cannot slip in between
 * the check and the sleep; alarm() bounds the wait (SIGALRM's default action ends the process). */
static inline void bench_wait_filled(void)
{
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    alarm(MAX_SECONDS);
    print_ready();
    while (!sender_done)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    alarm(0);
}

/* Markers around the drain for strace (bench/instructions.sh counts the system calls between
 * them): stderr is unbuffered, so each is exactly one write(2). */
static inline void drain_marker(const char *what)
{
    fprintf(stderr, "drain %s\n", what);
}

/* One line the script parses: key=value pairs. kernel_drops/seq_gaps are -1 when unknown. */
static inline void print_result(const char *who, uint64_t cpu, uint64_t user, uint64_t wall, uint64_t calls,
                                long long kernel_drops, long long seq_gaps, long long enobufs, long long rcvbuf,
                                const struct touch *t)
{
    printf("result rx=%s received=%llu cpu_ns=%llu user_ns=%llu wall_ns=%llu calls=%llu kernel_drops=%lld seq_gaps=%lld "
           "enobufs=%lld rcvbuf=%lld bytes=%llu other_group=%llu check=%llu\n",
           who, (unsigned long long)received, (unsigned long long)cpu, (unsigned long long)user, (unsigned long long)wall,
           (unsigned long long)calls, kernel_drops, seq_gaps, enobufs, rcvbuf, (unsigned long long)t->bytes,
           (unsigned long long)t->other_group, (unsigned long long)(t->sum ^ t->seq_xor));
    fflush(stdout);
}

#endif
