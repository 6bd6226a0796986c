/* Benchmark sender: COUNT UDP datagrams of LEN payload bytes to 127.0.0.1:9999, and nowhere
 * else, as fast as possible (sendmmsg, 32 at a time) or paced at RATE datagrams per second.
 * A socket bound to 127.0.0.1:9999 in this process sinks them, so no ICMP port-unreachable
 * replies are sent (and sampled); what overflows the sink is dropped silently.
 *
 *   send COUNT LEN [RATE]     RATE 0 or absent: unpaced
 *
 * Bounded: COUNT datagrams at most, and it gives up after 300 s. Prints one "sent ..." line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT 9999
#define BURST 32
#define MAX_SECONDS 300

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: send COUNT LEN [RATE]\n");
        return 2;
    }
    long count = strtol(argv[1], NULL, 0);
    long len = strtol(argv[2], NULL, 0);
    double rate = argc > 3 ? strtod(argv[3], NULL) : 0;
    if (count <= 0 || count > 10000000 || len < 16 || len > 1472 || rate < 0) {
        fprintf(stderr, "send: COUNT 1..10000000, LEN 16..1472, RATE >= 0\n");
        return 2;
    }
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* the only destination, ever */
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    if (sink < 0 || bind(sink, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("sink bind");
        return 1;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("connect");
        return 1;
    }
    static char payload[BURST][1472];
    static struct iovec iov[BURST];
    static struct mmsghdr msgs[BURST];
    for (int i = 0; i < BURST; i++) {
        memset(payload[i], 'x', sizeof payload[i]);
        iov[i].iov_base = payload[i];
        iov[i].iov_len = (size_t)len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    /* Paced: bursts of about 1 ms worth of datagrams, each at its due time. */
    long burst = BURST;
    if (rate > 0) {
        burst = (long)(rate / 1000);
        if (burst < 1)
            burst = 1;
        if (burst > BURST)
            burst = BURST;
    }
    uint64_t c0 = cpu_ns(), t0 = mono_ns(), deadline = t0 + (uint64_t)MAX_SECONDS * 1000000000u;
    long sent = 0, errors = 0;
    while (sent < count) {
        if (rate > 0) {
            uint64_t due = t0 + (uint64_t)((double)sent * 1e9 / rate);
            if (mono_ns() < due) {
                struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u) };
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
        }
        long want = count - sent < burst ? count - sent : burst;
        for (long i = 0; i < want; i++)
            snprintf(payload[i], 16, "%015ld", sent + i); /* every datagram different */
        int n = sendmmsg(s, msgs, (unsigned)want, 0);
        if (n < 0) {
            if (++errors > 1000) {
                perror("sendmmsg");
                break;
            }
            continue;
        }
        sent += n;
        if ((sent & 1023) < n && mono_ns() > deadline) {
            fprintf(stderr, "send: time limit reached\n");
            break;
        }
    }
    uint64_t el = mono_ns() - t0, cpu = cpu_ns() - c0;
    /* cpu_ns: this process's CPU time, including the tc sampling, the psample message building
     * and the netlink delivery, which run in the sender's context: a reference for how fast the
     * VM ran during this run. */
    printf("sent count=%ld elapsed_ns=%llu rate=%.0f cpu_ns=%llu errors=%ld\n", sent, (unsigned long long)el,
           el ? (double)sent * 1e9 / (double)el : 0.0, (unsigned long long)cpu, errors);
    close(s);
    close(sink);
    return sent == count ? 0 : 1;
}
