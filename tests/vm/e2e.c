/* Real-kernel end-to-end checks of libpsample, run inside the VM in a namespace whose loopback
 * egress is sampled by tc (see kernel-tests.sh). Sends a bounded number of UDP datagrams to
 * 127.0.0.1 and checks every sample through the C API. Last line: "N passed, M failed". */
#include "common.h"

/* Every field of one egress loopback sample of datagram `index` (payload `len` bytes). */
static void check_sample(const struct seen *s, uint32_t rate, uint32_t trunc, size_t len,
                         uint64_t t0, uint64_t t1, int expect_index)
{
    const struct psample_packet *p = &s->pkt;
    uint32_t frame = 14 + 20 + 8 + (uint32_t)len;
    uint32_t want_len = frame < trunc ? frame : trunc;
    /* Presence and absence: exactly this kernel's set (lib.sh's table). */
    const uint64_t want = tc_sample_fields(0);
    CHECK(p->fields == want, "fields 0x%llx, want exactly 0x%llx on this kernel", (unsigned long long)p->fields,
          (unsigned long long)want);
    CHECK(p->kind == PSAMPLE_KIND_SAMPLE, "kind %u", p->kind);
    CHECK(p->group == 7, "group %u", p->group);
    CHECK(p->rate == rate, "rate %u, want %u", p->rate, rate);
    CHECK(p->oifindex == if_nametoindex("lo"), "oifindex %u", p->oifindex);
    CHECK(p->orig_size == frame, "orig_size %u, want %u", p->orig_size, frame);
    CHECK(p->data_len == want_len, "data_len %u, want %u", p->data_len, want_len);
    if (want & PSAMPLE_FIELD_PROTO)
        CHECK(p->proto == 0x0800, "proto 0x%x", p->proto);
    else
        CHECK(p->proto == 0, "proto 0x%x without PSAMPLE_ATTR_PROTO", p->proto);
    if (want & PSAMPLE_FIELD_TIMESTAMP)
        CHECK(p->timestamp_ns >= t0 && p->timestamp_ns <= t1, "timestamp %llu outside [%llu, %llu]",
              (unsigned long long)p->timestamp_ns, (unsigned long long)t0, (unsigned long long)t1);
    else
        CHECK(p->timestamp_ns == 0, "timestamp %llu without PSAMPLE_ATTR_TIMESTAMP",
              (unsigned long long)p->timestamp_ns);
    CHECK(p->out_tc == 0 && p->out_tc_occ == 0 && p->latency_ns == 0 && p->user_cookie_len == 0 &&
              p->user_cookie == NULL && p->iifindex == 0,
          "values of absent attributes: out_tc %u occ %llu latency %llu cookie %u iif %u", p->out_tc,
          (unsigned long long)p->out_tc_occ, (unsigned long long)p->latency_ns, p->user_cookie_len, p->iifindex);
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
    return finish(mode);
}
