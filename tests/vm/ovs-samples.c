/* Open vSwitch's kernel datapath as a psample producer, checked through the C API. Run by
 * ovs-tests.sh inside the VM, in the namespace holding the datapath (ports: IN_DEV and the port
 * frames leave by; frames are sent on SEND_DEV, the peer of IN_DEV, and arrive on OUT_DEV).
 *
 *   ovs-samples frame INDEX          prints test frame INDEX in hex (for the CLI checks)
 *   ovs-samples send DEV COUNT       sends COUNT test frames on DEV through an AF_PACKET socket
 *   ovs-samples check GROUP DOMAIN POINT PROBABILITY ONE_IN_N SEND_DEV IN_DEV OUT_DEV COUNT
 *       sends COUNT frames and checks every sample the flow's psample action produced: group,
 *       cookie (DOMAIN and POINT, big-endian u32 each), rate = PROBABILITY as a probability and
 *       psample_effective_rate() = ONE_IN_N, group_seq 0 with no seq_gaps, in-ifindex = IN_DEV,
 *       no out-ifindex, the frame's bytes; and the count: every frame when PROBABILITY is
 *       UINT32_MAX, about COUNT * PROBABILITY / 2^32 otherwise, none when PROBABILITY is 0 (a
 *       flow without the action). Every frame must come out on OUT_DEV.
 * Last line: "N passed, M failed" (checks). */
#include "common.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <math.h>

#define ETHERTYPE_TEST 0x88b5 /* IEEE 802 local experimental: nothing on the ports answers it */
#define FRAME_LEN 114
#define FRAME_MAGIC "psample-ovs"
#define MAX_FRAMES 2000

static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* Frame `index`: the addresses the flow's key names, the test EtherType, the magic and the index,
 * then bytes that depend on the index, so a sample of another frame cannot match. */
static void build_frame(int index, uint8_t frame[FRAME_LEN])
{
    memcpy(frame, dst_mac, 6);
    memcpy(frame + 6, src_mac, 6);
    frame[12] = ETHERTYPE_TEST >> 8;
    frame[13] = ETHERTYPE_TEST & 0xff;
    int n = snprintf((char *)frame + 14, FRAME_LEN - 14, FRAME_MAGIC " %06d", index);
    for (int i = 14 + n; i < FRAME_LEN; i++)
        frame[i] = (uint8_t)(index * 7 + i);
}

static int frame_index(const uint8_t *data, uint32_t len)
{
    const size_t at = 14 + sizeof FRAME_MAGIC; /* after the magic and its space */
    int index = 0;
    if (len < at + 6 || memcmp(data + 14, FRAME_MAGIC " ", sizeof FRAME_MAGIC) != 0)
        return -1;
    for (size_t i = at; i < at + 6; i++) {
        if (data[i] < '0' || data[i] > '9')
            return -1;
        index = index * 10 + (data[i] - '0');
    }
    return index;
}

static int ifindex_of(const char *dev)
{
    int ifindex = (int)if_nametoindex(dev);
    if (ifindex == 0) {
        fprintf(stderr, "no interface %s\n", dev);
        exit(2);
    }
    return ifindex;
}

static void send_frames(const char *dev, int count)
{
    int s = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: this socket receives nothing */
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex_of(dev), .sll_halen = 6 };
    uint8_t frame[FRAME_LEN];
    if (s < 0) {
        perror("socket(AF_PACKET)");
        exit(2);
    }
    memcpy(to.sll_addr, dst_mac, 6);
    for (int i = 0; i < count && i < MAX_FRAMES; i++) {
        build_frame(i, frame);
        if (sendto(s, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof frame) {
            perror("sendto(AF_PACKET)");
            exit(2);
        }
    }
    close(s);
}

/* A socket that sees the test frames arriving on `dev`. */
static int open_frame_sink(const char *dev)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETHERTYPE_TEST));
    struct sockaddr_ll at = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_TEST),
                              .sll_ifindex = ifindex_of(dev) };
    int rcvbuf = 8 << 20;
    if (s < 0 || bind(s, (struct sockaddr *)&at, sizeof at) != 0) {
        perror("AF_PACKET sink");
        exit(2);
    }
    setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    return s;
}

/* Counts distinct test frames arriving at the sink, until `want` or `idle_ms` pass without one. */
static int count_forwarded(int s, int want, int idle_ms)
{
    static uint8_t seen_frame[MAX_FRAMES];
    uint8_t buf[2048];
    struct pollfd pfd = { .fd = s, .events = POLLIN };
    int got = 0, foreign = 0;
    while (got < want && poll(&pfd, 1, idle_ms) > 0) {
        ssize_t n;
        while ((n = recv(s, buf, sizeof buf, 0)) > 0) {
            int index = frame_index(buf, (uint32_t)n);
            if (index < 0 || index >= MAX_FRAMES || seen_frame[index]) {
                foreign++;
                continue;
            }
            seen_frame[index] = 1;
            got++;
        }
    }
    CHECK(foreign == 0, "%d unexpected or repeated frames on the output port", foreign);
    return got;
}

static void check_sample(const struct psample_packet *p, const uint8_t *head, uint32_t group, uint32_t domain,
                         uint32_t point, uint32_t probability, uint32_t one_in_n, int in_ifindex, uint64_t t0,
                         uint64_t t1, int want_index)
{
    /* What execute_psample() (net/openvswitch/actions.c, 6.11+) makes psample_sample_packet() send:
     * in_ifindex of the input vport, no out_ifindex, rate as a probability, the user cookie; and
     * what psample always adds: origsize, group, seq, timestamp, protocol, data. */
    const uint64_t want_fields = PSAMPLE_FIELD_IIFINDEX | PSAMPLE_FIELD_ORIGSIZE | PSAMPLE_FIELD_SAMPLE_GROUP |
                                 PSAMPLE_FIELD_GROUP_SEQ | PSAMPLE_FIELD_SAMPLE_RATE | PSAMPLE_FIELD_DATA |
                                 PSAMPLE_FIELD_TIMESTAMP | PSAMPLE_FIELD_PROTO | PSAMPLE_FIELD_USER_COOKIE |
                                 PSAMPLE_FIELD_SAMPLE_PROBABILITY;
    uint8_t frame[FRAME_LEN];
    build_frame(want_index, frame);

    CHECK(p->kind == PSAMPLE_KIND_SAMPLE, "kind %u", p->kind);
    CHECK(p->fields == want_fields, "fields 0x%llx, want 0x%llx", (unsigned long long)p->fields,
          (unsigned long long)want_fields);
    CHECK(p->group == group, "group %u, want %u", p->group, group);
    CHECK(p->group_seq == 0, "group_seq %u: OVS samples on a stack group whose seq starts at 0", p->group_seq);
    CHECK(p->rate == probability, "rate %u, want the probability %u", p->rate, probability);
    CHECK(psample_effective_rate(p) == one_in_n, "psample_effective_rate %u, want 1 in %u", psample_effective_rate(p),
          one_in_n);
    CHECK((int)p->iifindex == in_ifindex, "iifindex %u, want %d (the input vport)", p->iifindex, in_ifindex);
    CHECK(p->oifindex == 0, "oifindex %u", p->oifindex);
    CHECK(p->proto == ETHERTYPE_TEST, "proto 0x%x", p->proto);
    CHECK(p->orig_size == FRAME_LEN && p->data_len == FRAME_LEN, "orig_size %u data_len %u, want %d", p->orig_size,
          p->data_len, FRAME_LEN);
    CHECK(memcmp(head, frame, FRAME_LEN) == 0, "sample data is not frame %d", want_index);
    uint32_t ids[2] = { 0, 0 };
    if (p->user_cookie && p->user_cookie_len == 8)
        memcpy(ids, p->user_cookie, 8);
    CHECK(p->user_cookie_len == 8 && ntohl(ids[0]) == domain && ntohl(ids[1]) == point,
          "cookie of %u bytes, ids %u/%u, want 8 bytes %u/%u", p->user_cookie_len, ntohl(ids[0]), ntohl(ids[1]),
          domain, point);
    CHECK(p->timestamp_ns >= t0 && p->timestamp_ns <= t1, "timestamp %llu outside [%llu, %llu]",
          (unsigned long long)p->timestamp_ns, (unsigned long long)t0, (unsigned long long)t1);
    CHECK(p->nsid == -1 && p->sender_portid == 0 && p->flags == 0, "nsid %d portid %u flags %u", p->nsid,
          p->sender_portid, p->flags);
}

static int check(char **argv)
{
    uint32_t group = (uint32_t)strtoul(argv[0], NULL, 0), domain = (uint32_t)strtoul(argv[1], NULL, 0);
    uint32_t point = (uint32_t)strtoul(argv[2], NULL, 0), probability = (uint32_t)strtoul(argv[3], NULL, 0);
    uint32_t one_in_n = (uint32_t)strtoul(argv[4], NULL, 0);
    const char *send_dev = argv[5], *out_dev = argv[7];
    int in_ifindex = ifindex_of(argv[6]), count = atoi(argv[8]);
    if (count <= 0 || count > MAX_FRAMES) {
        fprintf(stderr, "COUNT must be 1..%d\n", MAX_FRAMES);
        return 2;
    }

    struct psample_sub *sub = subscribe(0);
    int sink = open_frame_sink(out_dev);
    uint64_t t0 = now_ns();
    send_frames(send_dev, count);
    int got = receive(sub, count, 2000);
    uint64_t t1 = now_ns();
    int forwarded = count_forwarded(sink, count, 2000);

    double expect = (double)count * ((double)probability + 1) / 4294967296.0;
    if (probability == 0)
        expect = 0;
    double sigma = sqrt(expect * (1 - expect / count));
    printf("ovs: sent %d frames, %d samples (expected %.1f), %d forwarded\n", count, got, expect, forwarded);
    CHECK(forwarded == count, "%d of %d frames came out of the output port", forwarded, count);
    if (probability == UINT32_MAX || probability == 0)
        CHECK(got == (int)expect, "%d samples for %d frames, want %.0f", got, count, expect);
    else /* binomial: 6 standard deviations, and neither all nor none */
        CHECK(got > 0 && got < count && fabs(got - expect) <= 6 * sigma, "%d samples, want %.1f +- %.1f", got,
              expect, 6 * sigma);

    int last = -1;
    for (int i = 0; i < got; i++) {
        int index = frame_index(seen[i].head, seen[i].pkt.data_len);
        /* every frame: in order, one sample each; fewer: in order, no repeats */
        CHECK(probability == UINT32_MAX ? index == i : index > last, "sample %d is of frame %d after %d", i, index,
              last);
        if (index < 0)
            index = 0;
        check_sample(&seen[i].pkt, seen[i].head, group, domain, point, probability, one_in_n, in_ifindex, t0, t1,
                     index);
        last = index;
    }
    if (got > 0)
        printf("ovs: first sample: group %u seq %u rate %u (1 in %u) in-ifindex %u origsize %u proto 0x%x "
               "cookie %u bytes\n",
               seen[0].pkt.group, seen[0].pkt.group_seq, seen[0].pkt.rate, psample_effective_rate(&seen[0].pkt),
               seen[0].pkt.iifindex, seen[0].pkt.orig_size, seen[0].pkt.proto, seen[0].pkt.user_cookie_len);

    struct psample_stats st;
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "psample_stats");
    CHECK(st.delivered == (uint64_t)got && st.kernel_drops == 0 && st.seq_gaps == 0 && st.decode_errors == 0,
          "stats delivered %llu drops %llu seq_gaps %llu decode_errors %llu", (unsigned long long)st.delivered,
          (unsigned long long)st.kernel_drops, (unsigned long long)st.seq_gaps,
          (unsigned long long)st.decode_errors);
    printf("ovs: stats delivered %llu seq_gaps %llu kernel_drops %llu\n", (unsigned long long)st.delivered,
           (unsigned long long)st.seq_gaps, (unsigned long long)st.kernel_drops);
    psample_close(sub);
    close(sink);
    return finish("ovs-samples");
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "frame")) {
        uint8_t frame[FRAME_LEN];
        build_frame(atoi(argv[2]), frame);
        for (int i = 0; i < FRAME_LEN; i++)
            printf("%02x", frame[i]);
        printf("\n");
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "send")) {
        send_frames(argv[2], atoi(argv[3]));
        return 0;
    }
    if (argc == 11 && !strcmp(argv[1], "check"))
        return check(argv + 2);
    fprintf(stderr, "usage: ovs-samples frame INDEX | send DEV COUNT | check GROUP DOMAIN POINT PROBABILITY "
                    "ONE_IN_N SEND_DEV IN_DEV OUT_DEV COUNT\n");
    return 2;
}
