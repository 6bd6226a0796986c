/* Latency receiver (bench/in-vm.sh, phases "latency" and "groups"): for every sample, the time
 * from the kernel's PSAMPLE_ATTR_TIMESTAMP (CLOCK_REALTIME, taken in psample_sample_packet())
 * to the moment the receive call that returned it came back (CLOCK_REALTIME, one reading per
 * call), in three ways of receiving:
 *
 *   recv_latency block    [-g GROUP]   libpsample defaults, blocking psample_recv()
 *   recv_latency poll     [-g GROUP]   libpsample PSAMPLE_SUB_NONBLOCK: poll(2) on psample_fd(),
 *                                      then psample_recv() until -EAGAIN
 *   recv_latency baseline              raw netlink socket with the library's socket settings
 *                                      (32 MiB SO_RCVBUFFORCE, NETLINK_NO_ENOBUFS), blocking
 *                                      recvmmsg(MSG_WAITFORONE) of 16, walking four attributes
 *                                      (group, sequence number, data, timestamp)
 *   -g GROUP   the library's kernel group filter (opts.groups = { GROUP }): only that group's
 *              samples reach the socket
 *
 * The family is resolved as bench/recv_baseline.c does (bench/genl.h); the stop rule and CPU
 * accounting are bench/bench.h's: after SIGUSR1 (the sender finished), the first 1 s tick that
 * saw no new sample ends the run; 600 s at most. The result line adds lat_n, p50_ns,
 * p99_ns, max_ns. Latencies go into a static array (no allocation per sample); at most
 * MAX_SAMPLES are kept, the rest only counted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "psample.h"

#include "bench.h"
#include "genl.h"

#define MAX_SAMPLES (1u << 20)
#define BATCH 16
#define SLOT (68 * 1024)
#define LIB_RCVBUF (32 << 20) /* PSAMPLE_DEFAULT_RCVBUF */
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static uint64_t latency[MAX_SAMPLES];
static uint64_t lat_n;
static uint64_t bytes, seq_xor, other_group, no_timestamp;

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One sample: the same touch as bench.h, and its latency against `now`. */
static void take(uint32_t group, uint32_t seq, uint32_t len, uint64_t timestamp_ns, uint64_t now)
{
    if (group != 7)
        other_group++;
    seq_xor ^= seq;
    bytes += len;
    if (!timestamp_ns) {
        no_timestamp++;
        return;
    }
    if (lat_n < MAX_SAMPLES)
        latency[lat_n++] = now > timestamp_ns ? now - timestamp_ns : 0;
}

/* The minimal receiver, now reading PSAMPLE_ATTR_TIMESTAMP too. Returns the SO_MEMINFO drops. */
static long long run_baseline(uint64_t *calls, long long *rcvbuf)
{
    enum { ATTR_SAMPLE_GROUP = 3, ATTR_GROUP_SEQ = 4, ATTR_DATA = 6, ATTR_TIMESTAMP = 13 };
    uint16_t family;
    uint32_t mcast;
    resolve(&family, &mcast);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0)
        die("socket");
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0)
        die("bind");
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ LIB_RCVBUF }, sizeof(int)) != 0)
        die("SO_RCVBUFFORCE");
    if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &(int){ 1 }, sizeof(int)) != 0)
        die("NETLINK_NO_ENOBUFS");
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &mcast, sizeof mcast) != 0)
        die("NETLINK_ADD_MEMBERSHIP");
    static char slots[BATCH][SLOT];
    static struct iovec iov[BATCH];
    static struct mmsghdr hdrs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = slots[i];
        iov[i].iov_len = SLOT;
        hdrs[i].msg_hdr.msg_iov = &iov[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
    while (!stop) {
        int n = recvmmsg(fd, hdrs, BATCH, MSG_WAITFORONE, NULL);
        uint64_t now = clock_ns(CLOCK_REALTIME);
        if (n < 0) {
            if (errno != EINTR)
                perror("recvmmsg");
            continue;
        }
        (*calls)++;
        for (int i = 0; i < n; i++) {
            size_t len = hdrs[i].msg_len;
            for (struct nlmsghdr *nh = (struct nlmsghdr *)slots[i]; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
                if (nh->nlmsg_type != family || nh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
                    continue;
                uint32_t grp = 0, seq = 0, dlen = 0;
                uint64_t ts = 0;
                char *p = (char *)NLMSG_DATA(nh) + GENL_HDRLEN, *end = (char *)nh + nh->nlmsg_len;
                while (p + NLA_HDRLEN <= end) {
                    const struct nlattr *a = (const struct nlattr *)p;
                    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
                        break;
                    switch (a->nla_type & NLA_TYPE_MASK) {
                    case ATTR_SAMPLE_GROUP: memcpy(&grp, p + NLA_HDRLEN, 4); break;
                    case ATTR_GROUP_SEQ: memcpy(&seq, p + NLA_HDRLEN, 4); break;
                    case ATTR_DATA: dlen = a->nla_len - NLA_HDRLEN; break;
                    case ATTR_TIMESTAMP: memcpy(&ts, p + NLA_HDRLEN, 8); break;
                    }
                    p += NLA_ALIGN(a->nla_len);
                }
                take(grp, seq, dlen, ts, now);
                received++;
            }
        }
    }
    uint32_t mem[9] = { 0 };
    socklen_t mlen = sizeof mem;
    long long drops = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &mlen) == 0 ? (long long)mem[8] : -1;
    int granted = 0;
    socklen_t glen = sizeof granted;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
    *rcvbuf = granted;
    close(fd);
    return drops;
}

/* libpsample, blocking or nonblocking under poll(2). Fills *st. */
static void run_library(int nonblocking, uint32_t group, uint64_t *calls, struct psample_stats *st)
{
    struct psample_opts opts = { .size = sizeof opts };
    if (nonblocking)
        opts.flags |= PSAMPLE_SUB_NONBLOCK;
    if (group) {
        opts.groups = &group;
        opts.n_groups = 1;
    }
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, &opts);
    if (rc != 0) {
        fprintf(stderr, "psample_subscribe: %s\n", psample_strerror(rc));
        exit(1);
    }
    static struct psample_packet pkts[BATCH];
    struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
    while (!stop) {
        if (nonblocking && poll(&pfd, 1, -1) < 0) {
            if (errno != EINTR)
                perror("poll");
            continue;
        }
        for (;;) {
            int n = psample_recv(sub, pkts, BATCH, sizeof pkts[0]);
            uint64_t now = clock_ns(CLOCK_REALTIME);
            if (n < 0) {
                if (n != -EINTR && n != -EAGAIN)
                    fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
                break;
            }
            (*calls)++;
            for (int i = 0; i < n; i++)
                take(pkts[i].group, pkts[i].group_seq, pkts[i].data_len,
                     (pkts[i].fields & PSAMPLE_FIELD_TIMESTAMP) ? pkts[i].timestamp_ns : 0, now);
            received += (uint64_t)n;
            if (!nonblocking)
                break;
        }
    }
    memset(st, 0, sizeof *st);
    if (psample_stats(sub, st, sizeof *st) != 0)
        fprintf(stderr, "psample_stats failed\n");
    psample_close(sub);
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The value at quantile q (nearest rank) of the sorted latencies. */
static uint64_t quantile(double q)
{
    if (!lat_n)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)lat_n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > lat_n)
        rank = lat_n;
    return latency[rank - 1];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: recv_latency block|poll|baseline [-g GROUP]\n");
        return 2;
    }
    const char *mode = argv[1];
    uint32_t group = 0;
    if (argc == 4 && strcmp(argv[2], "-g") == 0)
        group = (uint32_t)strtoul(argv[3], NULL, 0);
    else if (argc != 2) {
        fprintf(stderr, "usage: recv_latency block|poll|baseline [-g GROUP]\n");
        return 2;
    }
    bench_signals();
    uint64_t calls = 0, user0, user1, cpu0 = cpu_ns(&user0), wall0 = clock_ns(CLOCK_MONOTONIC);
    long long drops, seq_gaps = -1, enobufs = 0, rcvbuf = 0;
    if (strcmp(mode, "baseline") == 0 && !group) {
        drops = run_baseline(&calls, &rcvbuf);
    } else if (strcmp(mode, "block") == 0 || strcmp(mode, "poll") == 0) {
        struct psample_stats st;
        run_library(mode[0] == 'p', group, &calls, &st);
        drops = (long long)st.kernel_drops;
        seq_gaps = (long long)st.seq_gaps;
        enobufs = (long long)st.enobufs;
        rcvbuf = (long long)st.rcvbuf;
        if (st.delivered != received)
            fprintf(stderr, "stats.delivered %llu != received %llu\n", (unsigned long long)st.delivered,
                    (unsigned long long)received);
    } else {
        fprintf(stderr, "recv_latency: unknown mode %s (block, poll, baseline; -g only with the library)\n", mode);
        return 2;
    }
    uint64_t cpu = cpu_ns(&user1) - cpu0, wall = clock_ns(CLOCK_MONOTONIC) - wall0;
    if (no_timestamp)
        fprintf(stderr, "%llu samples without PSAMPLE_ATTR_TIMESTAMP\n", (unsigned long long)no_timestamp);
    qsort(latency, lat_n, sizeof latency[0], by_value);
    printf("result rx=latency-%s received=%llu cpu_ns=%llu user_ns=%llu wall_ns=%llu calls=%llu kernel_drops=%lld "
           "seq_gaps=%lld enobufs=%lld rcvbuf=%lld bytes=%llu other_group=%llu check=%llu lat_n=%llu p50_ns=%llu "
           "p99_ns=%llu max_ns=%llu\n",
           mode, (unsigned long long)received, (unsigned long long)cpu, (unsigned long long)(user1 - user0),
           (unsigned long long)wall, (unsigned long long)calls, drops, seq_gaps, enobufs, rcvbuf,
           (unsigned long long)bytes, (unsigned long long)other_group, (unsigned long long)seq_xor,
           (unsigned long long)lat_n, (unsigned long long)quantile(0.50), (unsigned long long)quantile(0.99),
           (unsigned long long)(lat_n ? latency[lat_n - 1] : 0));
    return 0;
}
