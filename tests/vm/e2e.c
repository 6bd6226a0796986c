/* Real-kernel end-to-end checks of libpsample, run inside the VM in a namespace whose loopback
 * egress is sampled by tc (see kernel-tests.sh). Sends a bounded number of UDP datagrams to
 * 127.0.0.1 and checks every sample through the C API. Last line: "N passed, M failed". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

static uint64_t now_ns(void)
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
static void send_datagrams(int count, size_t len)
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
static int receive(struct psample_sub *sub, int want, int idle_ms)
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

static struct psample_sub *subscribe(uint32_t flags)
{
    struct psample_opts opts = { .size = sizeof opts, .flags = flags | PSAMPLE_SUB_NONBLOCK };
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, &opts);
    CHECK(rc == 0, "psample_subscribe: %s", psample_strerror(rc));
    if (rc != 0)
        exit(1);
    return sub;
}

/* Every field of one egress loopback sample of datagram `index` (payload `len` bytes). */
static void check_sample(const struct seen *s, uint32_t rate, uint32_t trunc, size_t len,
                         uint64_t t0, uint64_t t1, int expect_index)
{
    const struct psample_packet *p = &s->pkt;
    uint32_t frame = 14 + 20 + 8 + (uint32_t)len;
    uint32_t want_len = frame < trunc ? frame : trunc;
    const uint64_t must = PSAMPLE_FIELD_OIFINDEX | PSAMPLE_FIELD_ORIGSIZE | PSAMPLE_FIELD_SAMPLE_GROUP |
                          PSAMPLE_FIELD_GROUP_SEQ | PSAMPLE_FIELD_SAMPLE_RATE | PSAMPLE_FIELD_DATA |
                          PSAMPLE_FIELD_TIMESTAMP | PSAMPLE_FIELD_PROTO;
    CHECK((p->fields & must) == must, "fields 0x%llx lack 0x%llx", (unsigned long long)p->fields,
          (unsigned long long)must);
    CHECK(!(p->fields & PSAMPLE_FIELD_IIFINDEX), "egress sample of a local packet has an iifindex");
    CHECK(p->kind == PSAMPLE_KIND_SAMPLE, "kind %u", p->kind);
    CHECK(p->group == 7, "group %u", p->group);
    CHECK(p->rate == rate, "rate %u, want %u", p->rate, rate);
    CHECK(p->oifindex == if_nametoindex("lo"), "oifindex %u", p->oifindex);
    CHECK(p->orig_size == frame, "orig_size %u, want %u", p->orig_size, frame);
    CHECK(p->data_len == want_len, "data_len %u, want %u", p->data_len, want_len);
    CHECK(p->proto == 0x0800, "proto 0x%x", p->proto);
    CHECK(p->timestamp_ns >= t0 && p->timestamp_ns <= t1, "timestamp %llu outside [%llu, %llu]",
          (unsigned long long)p->timestamp_ns, (unsigned long long)t0, (unsigned long long)t1);
    CHECK(p->nsid == -1 && p->sender_portid == 0 && p->flags == 0, "nsid %d portid %u flags %u", p->nsid,
          p->sender_portid, p->flags);
    /* lo's Ethernet header: zero MACs, IPv4 ethertype; then IPv4/UDP to 127.0.0.1:PORT */
    static const uint8_t eth[14] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00 };
    const uint8_t *h = s->head;
    CHECK(memcmp(h, eth, 14) == 0, "Ethernet header differs");
    CHECK(h[14] == 0x45 && h[23] == 17, "not IPv4/UDP: %02x proto %u", h[14], h[23]);
    CHECK(h[30] == 127 && h[31] == 0 && h[32] == 0 && h[33] == 1, "destination is not 127.0.0.1");
    CHECK(h[36] == (PORT >> 8) && h[37] == (PORT & 0xff), "UDP destination port");
    if (expect_index >= 0) {
        char want[32];
        int n = snprintf(want, sizeof want, MAGIC " %06d", expect_index);
        CHECK(memcmp(h + 42, want, (size_t)n) == 0, "sample %d carries another datagram", expect_index);
    }
}

/* rate 1: one sample per datagram, in order, with consecutive sequence numbers. */
static void test_every_packet(int count, size_t len, uint32_t trunc)
{
    struct psample_sub *sub = subscribe(0);
    uint64_t t0 = now_ns();
    send_datagrams(count, len);
    uint64_t t1 = now_ns();
    int got = receive(sub, count, 2000);
    CHECK(got == count, "received %d samples for %d datagrams", got, count);
    for (int i = 0; i < got; i++) {
        check_sample(&seen[i], 1, trunc, len, t0, t1, i);
        if (i > 0)
            CHECK(seen[i].pkt.group_seq == seen[i - 1].pkt.group_seq + 1, "seq %u after %u",
                  seen[i].pkt.group_seq, seen[i - 1].pkt.group_seq);
    }
    struct psample_stats st;
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "psample_stats");
    CHECK(st.delivered == (uint64_t)got && st.kernel_drops == 0 && st.seq_gaps == 0,
          "stats delivered %llu drops %llu gaps %llu", (unsigned long long)st.delivered,
          (unsigned long long)st.kernel_drops, (unsigned long long)st.seq_gaps);
    psample_close(sub);
}

/* rate 10: about a tenth arrive; each is right. */
static void test_rate(int count, size_t len, uint32_t rate, uint32_t trunc)
{
    struct psample_sub *sub = subscribe(0);
    uint64_t t0 = now_ns();
    send_datagrams(count, len);
    uint64_t t1 = now_ns();
    int got = receive(sub, count, 2000);
    int expect = count / (int)rate;
    CHECK(got > expect / 2 && got < expect * 3 / 2, "rate %u: %d samples of %d datagrams", rate, got, count);
    for (int i = 0; i < got; i++) {
        check_sample(&seen[i], rate, trunc, len, t0, t1, -1);
        if (i > 0) /* the group counts samples taken, not packets seen */
            CHECK(seen[i].pkt.group_seq == seen[i - 1].pkt.group_seq + 1, "seq %u after %u",
                  seen[i].pkt.group_seq, seen[i - 1].pkt.group_seq);
    }
    printf("rate %u: %d samples of %d datagrams\n", rate, got, count);
    psample_close(sub);
}

/* psample not loaded: a clear -ENOENT. */
static void test_enoent(void)
{
    struct psample_sub *sub = (struct psample_sub *)&sub;
    int rc = psample_subscribe(&sub, NULL);
    CHECK(rc == -ENOENT && errno == ENOENT && sub == NULL, "subscribe without psample: %d", rc);
    CHECK(strstr(psample_strerror(rc), "modprobe psample") != NULL, "strerror: %s", psample_strerror(rc));
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "every"))
        test_every_packet(argc > 2 ? atoi(argv[2]) : 1000, argc > 3 ? (size_t)atoi(argv[3]) : 200, 128);
    else if (!strcmp(mode, "rate"))
        test_rate(argc > 2 ? atoi(argv[2]) : 3000, 200, argc > 3 ? (uint32_t)atoi(argv[3]) : 10, 128);
    else if (!strcmp(mode, "enoent"))
        test_enoent();
    else {
        fprintf(stderr, "usage: e2e every|rate|enoent ...\n");
        return 2;
    }
    printf("e2e %s: %d passed, %d failed\n", mode, passed, failed);
    return failed ? 1 : 0;
}
