/* Shared helpers of the VM test programs: checks, bounded UDP traffic to 127.0.0.1, receiving. */
#ifndef PSAMPLE_VM_COMMON_H
#define PSAMPLE_VM_COMMON_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "psample.h"

#define MAGIC "psample-e2e"
#define PORT 9999
#define MAX_SAMPLES 20000

static int passed, failed;


#define CHECK(cond, ...)                                       \
    do {                                                       \
        if (cond) {                                            \
            passed++;                                          \
        } else {                                               \
            failed++;                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                      \
            fputc('\n', stderr);                               \
        }                                                      \
    } while (0)

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One recorded sample: copies of what is needed after the buffers are reused. */
struct seen {
    struct psample_packet pkt;
    uint8_t head[128];
};

static struct seen seen[MAX_SAMPLES];

/* Sends `count` datagrams of `len` payload bytes carrying MAGIC and their index. */
static inline void send_datagrams(int count, size_t len)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    char buf[2048];
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* the only destination, ever */
    /* A bound sink, so no ICMP port-unreachable replies (sampled too) follow the datagrams;
     * what overflows its buffer is dropped silently. */
    static int sink = -1;
    if (sink < 0) {
        sink = socket(AF_INET, SOCK_DGRAM, 0);
        if (bind(sink, (struct sockaddr *)&to, sizeof to) != 0) {
            perror("bind");
            exit(2);
        }
    }
    for (int i = 0; i < count; i++) {
        memset(buf, 'x', sizeof buf);
        int n = snprintf(buf, sizeof buf, MAGIC " %06d", i);
        buf[n] = ' ';
        if (sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len) {
            perror("sendto");
            exit(2);
        }
    }
    close(s);
}

/* Receives until `want` samples arrived or `idle_ms` pass with nothing new. */
static inline int receive(struct psample_sub *sub, int want, int idle_ms)
{
    struct psample_packet batch[64];
    int got = 0;
    struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
    while (got < want && poll(&pfd, 1, idle_ms) > 0) {
        int n = psample_recv(sub, batch, 64, sizeof batch[0]);
        if (n == -EAGAIN)
            continue;
        if (n < 0) {
            fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
            return got;
        }
        for (int i = 0; i < n && got < MAX_SAMPLES; i++, got++) {
            seen[got].pkt = batch[i];
            memcpy(seen[got].head, batch[i].data, batch[i].data_len < 128 ? batch[i].data_len : 128);
        }
    }
    return got;
}

/* Whether this kernel sends the optional attribute `what` ("timestamp", "proto", "cookie") for a tc
 * act_sample sample: the per-kernel table in lib.sh, passed as PSAMPLE_KERNEL_SENDS. Without it
 * the program cannot know what to expect, and stops. */
static inline int kernel_sends(const char *what)
{
    const char *list = getenv("PSAMPLE_KERNEL_SENDS");
    if (list == NULL) {
        fprintf(stderr, "PSAMPLE_KERNEL_SENDS is not set: run through tests/vm/lib.sh\n");
        exit(2);
    }
    size_t n = strlen(what);
    for (const char *p = list; (p = strstr(p, what)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

/* Exactly the fields a tc act_sample sample on lo's egress carries on this kernel, plus `extra`
 * (TUNNEL, USER_COOKIE when the test set them up). Every other bit must be clear: IIFINDEX (an
 * egress sample), OUT_TC, OUT_TC_OCC, LATENCY (hardware only), SAMPLE_PROBABILITY (Open vSwitch
 * only), GROUP_REFCOUNT (group events only), and TIMESTAMP/PROTO before 5.13. */
static inline uint64_t tc_sample_fields(uint64_t extra)
{
    uint64_t f = PSAMPLE_FIELD_OIFINDEX | PSAMPLE_FIELD_ORIGSIZE | PSAMPLE_FIELD_SAMPLE_GROUP |
                 PSAMPLE_FIELD_GROUP_SEQ | PSAMPLE_FIELD_SAMPLE_RATE | PSAMPLE_FIELD_DATA;
    if (kernel_sends("timestamp"))
        f |= PSAMPLE_FIELD_TIMESTAMP;
    if (kernel_sends("proto"))
        f |= PSAMPLE_FIELD_PROTO;
    return f | extra;
}

/* What tc's sample action counted ("Sent B bytes P pkt"): with rate 1, what the kernel sampled. */
static inline unsigned long long tc_sampled(void)
{
    FILE *f = popen("tc -s filter show dev lo egress", "r");
    char line[512];
    unsigned long long bytes, pkts = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, " Sent %llu bytes %llu pkt", &bytes, &pkts) == 2)
            break;
    if (f)
        pclose(f);
    return pkts;
}

static inline struct psample_sub *subscribe(uint32_t flags)
{
    struct psample_opts opts = { .size = sizeof opts, .flags = flags | PSAMPLE_SUB_NONBLOCK };
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, &opts);
    CHECK(rc == 0, "psample_subscribe: %s", psample_strerror(rc));
    if (rc != 0)
        exit(1);
    return sub;
}


static inline int finish(const char *what)
{
    printf("%s: %d passed, %d failed\n", what, passed, failed);
    return failed ? 1 : 0;
}

#endif
