/* Host-native cost of the user-space part of receiving one sample, without any kernel: the
 * baseline's attribute walk (bench/recv_baseline.c) against libpsample's decode and conversion to
 * struct psample_packet (psample_decode(), the per-sample work psample_recv() does after
 * recvmmsg), each followed by the same touch (bench.h). Messages are laid out as the kernel 6.12
 * sends an egress tc sample, 16 of them in 68 KiB slots as after one recvmmsg.
 *
 *   userspace_cost [ITERATIONS]       (run on the host by bench/run; no privileges needed)
 *
 * Prints ns per sample for both, for data of 128 and 1442 bytes (trunc 128 / trunc 1500 with
 * 1400-byte payloads). */
#include "bench.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "psample.h"

#define BATCH 16
#define SLOT (68 * 1024)

static uint8_t slots[BATCH][SLOT];
static size_t lens[BATCH];

static size_t put(uint8_t *m, size_t at, uint16_t type, const void *p, uint16_t len)
{
    struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };
    memcpy(m + at, &a, sizeof a);
    memcpy(m + at + NLA_HDRLEN, p, len);
    return at + NLA_ALIGN(NLA_HDRLEN + len);
}

/* An egress sample of a UDP datagram on lo, as psample_sample_packet() builds it. */
static size_t build(uint8_t *m, uint16_t family, uint32_t seq, uint32_t data_len)
{
    static uint8_t data[2048];
    size_t at = NLMSG_HDRLEN + GENL_HDRLEN;
    uint16_t oif = 1, proto = 0x0800;
    uint32_t orig = data_len, group = 7, rate = 1;
    uint64_t ts = 1700000000000000000ull + seq;
    memset(data, 'x', sizeof data);
    at = put(m, at, 1, &oif, 2);     /* OIFINDEX */
    at = put(m, at, 2, &orig, 4);    /* ORIGSIZE */
    at = put(m, at, 3, &group, 4);   /* SAMPLE_GROUP */
    at = put(m, at, 4, &seq, 4);     /* GROUP_SEQ */
    at = put(m, at, 5, &rate, 4);    /* SAMPLE_RATE */
    at = put(m, at, 13, &ts, 8);     /* TIMESTAMP */
    at = put(m, at, 14, &proto, 2);  /* PROTO */
    at = put(m, at, 6, data, (uint16_t)data_len); /* DATA */
    struct nlmsghdr nh = { .nlmsg_len = (uint32_t)at, .nlmsg_type = family };
    struct genlmsghdr gh = { .cmd = 0, .version = 1 };
    memcpy(m, &nh, sizeof nh);
    memcpy(m + NLMSG_HDRLEN, &gh, sizeof gh);
    return at;
}

static void baseline(struct touch *t, uint16_t family)
{
    for (int i = 0; i < BATCH; i++)
        baseline_walk(slots[i], lens[i], family, t);
}

static void library(struct touch *t)
{
    static struct psample_packet pkts[64];
    for (int i = 0; i < BATCH; i++)
        if (psample_decode(slots[i], lens[i], &pkts[i], sizeof pkts[i]) != 0)
            abort();
    for (int i = 0; i < BATCH; i++)
        touch_sample(t, pkts[i].group, pkts[i].group_seq, pkts[i].data, pkts[i].data_len);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 2000000;
    uint16_t family = 0x1c;
    for (uint32_t dlen = 128; dlen <= 1442; dlen += 1442 - 128) {
        for (int i = 0; i < BATCH; i++)
            lens[i] = build(slots[i], family, (uint32_t)i, dlen);
        for (int round = 0; round < 2; round++) { /* the first round warms up */
            struct touch tb = { 0 }, tl = { 0 };
            uint64_t t0 = mono_ns();
            for (long k = 0; k < iters / BATCH; k++)
                baseline(&tb, family);
            uint64_t t1 = mono_ns();
            for (long k = 0; k < iters / BATCH; k++)
                library(&tl);
            uint64_t t2 = mono_ns();
            if (tb.sum != tl.sum || tb.seq_xor != tl.seq_xor || tb.bytes != tl.bytes)
                fprintf(stderr, "the two walks disagree\n");
            if (round)
                printf("userspace data %u B: baseline walk %.1f ns/sample, libpsample decode+convert %.1f ns/sample "
                       "(+%.1f ns)\n",
                       dlen, (double)(t1 - t0) / (double)iters, (double)(t2 - t1) / (double)iters,
                       (double)(t2 - t1 - (t1 - t0)) / (double)iters);
        }
    }
    return 0;
}
