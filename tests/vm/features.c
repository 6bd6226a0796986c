/* Real-kernel checks of the subscription model: user cookie, tunnel key, kernel-side group filter,
 * group listing, group events, other namespaces, sender policy. Run by kernel-tests.sh inside the
 * VM; every mode prints "N passed, M failed" last. */

#include "common.h"

static void drain_expect_none(struct psample_sub *sub, const char *who)
{
    int got = receive(sub, 1, 500);
    CHECK(got == 0, "%s received %d samples, expected none", who, got);
}

/* `hex` is the cookie tc was given, or "none" when the kernel cannot send one (before 6.11). */
static void test_cookie(const char *hex)
{
    struct psample_sub *sub = subscribe(0);
    send_datagrams(20, 100);
    int got = receive(sub, 20, 2000);
    CHECK(got == 20, "received %d of 20", got);
    for (int i = 0; i < got; i++) {
        const struct psample_packet *p = &seen[i].pkt;
        uint64_t want = tc_sample_fields(strcmp(hex, "none") ? PSAMPLE_FIELD_USER_COOKIE : 0);
        CHECK(p->fields == want, "fields 0x%llx, want exactly 0x%llx", (unsigned long long)p->fields,
              (unsigned long long)want);
        if (!strcmp(hex, "none")) {
            CHECK(!(p->fields & PSAMPLE_FIELD_USER_COOKIE) && p->user_cookie == NULL, "unexpected cookie");
            continue;
        }
        char text[64] = "";
        for (uint32_t j = 0; j < p->user_cookie_len && j < 16; j++)
            sprintf(text + 2 * j, "%02x", p->user_cookie[j]);
        CHECK((p->fields & PSAMPLE_FIELD_USER_COOKIE) && !strcmp(text, hex), "cookie %s, want %s", text, hex);
    }
    psample_close(sub);
}

/* tc tunnel_key set ... id 42 src 127.0.0.1 dst 127.0.0.2 dst_port 4789 ttl 64 tos 0x10 before sample. */
static void test_tunnel(void)
{
    struct psample_sub *sub = subscribe(0);
    send_datagrams(10, 100);
    int got = receive(sub, 10, 2000);
    CHECK(got == 10, "received %d of 10", got);
    for (int i = 0; i < got; i++) {
        const struct psample_packet *p = &seen[i].pkt;
        const struct psample_tunnel *t = &p->tunnel;
        const uint8_t src[4] = { 127, 0, 0, 1 }, dst[4] = { 127, 0, 0, 2 };
        uint32_t must = PSAMPLE_TUNNEL_FIELD_ID | PSAMPLE_TUNNEL_FIELD_IPV4_SRC | PSAMPLE_TUNNEL_FIELD_IPV4_DST |
                        PSAMPLE_TUNNEL_FIELD_TTL | PSAMPLE_TUNNEL_FIELD_TOS | PSAMPLE_TUNNEL_FIELD_TP_DST;
        CHECK(p->fields == tc_sample_fields(PSAMPLE_FIELD_TUNNEL), "fields 0x%llx, want exactly 0x%llx",
              (unsigned long long)p->fields, (unsigned long long)tc_sample_fields(PSAMPLE_FIELD_TUNNEL));
        CHECK((t->fields & must) == must, "tunnel fields 0x%x lack 0x%x", t->fields, must);
        CHECK(t->id == 42, "tunnel id %llu", (unsigned long long)t->id);
        CHECK(!memcmp(t->ipv4_src, src, 4) && !memcmp(t->ipv4_dst, dst, 4), "tunnel addresses");
        CHECK(t->tp_dst == 4789, "tunnel dst port %u", t->tp_dst);
        CHECK(t->ttl == 64 && t->tos == 0x10, "ttl %u tos 0x%x", t->ttl, t->tos);
    }
    psample_close(sub);
}

/* Two sample actions (group 7 trunc 128, group 8 trunc 64) on every packet. */
static void test_group_filter(void)
{
    uint32_t only8[] = { 8 };
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK, .groups = only8, .n_groups = 1 };
    struct psample_sub *filtered = NULL;
    CHECK(psample_subscribe(&filtered, &opts) == 0, "subscribe with a group filter");
    struct psample_sub *all = subscribe(0);
    send_datagrams(200, 100);
    int got = receive(filtered, 400, 1000);
    CHECK(got == 200, "filtered subscriber got %d, want 200", got);
    int wrong = 0;
    for (int i = 0; i < got; i++)
        wrong += seen[i].pkt.group != 8 || seen[i].pkt.data_len != 64;
    CHECK(wrong == 0, "%d samples of another group or size", wrong);
    struct psample_stats st;
    CHECK(psample_stats(filtered, &st, sizeof st) == 0 && st.delivered == 200 && st.kernel_drops == 0,
          "filtered stats: delivered %llu", (unsigned long long)st.delivered);
    got = receive(all, 400, 1000);
    int g7 = 0, g8 = 0;
    for (int i = 0; i < got; i++) {
        g7 += seen[i].pkt.group == 7;
        g8 += seen[i].pkt.group == 8;
    }
    CHECK(g7 == 200 && g8 == 200, "unfiltered subscriber: %d of group 7, %d of group 8", g7, g8);

    /* The dump: both groups, one user each, next sequence number = samples taken so far. */
    struct psample_group_info info[8];
    size_t total = 0;
    int n = psample_list_groups(NULL, info, 8, sizeof info[0], &total);
    CHECK(n == 2 && total == 2, "list_groups gave %d (total %zu)", n, total);
    for (int i = 0; i < n; i++)
        CHECK((info[i].group == 7 || info[i].group == 8) && info[i].refcount == 1 && info[i].next_seq == 200,
              "group %u refcount %u next_seq %u", info[i].group, info[i].refcount, info[i].next_seq);
    n = psample_list_groups(NULL, info, 1, sizeof info[0], &total);
    CHECK(n == 1 && total == 2, "a short array: %d filled, total %zu", n, total);
    psample_close(filtered);
    psample_close(all);
}

/* What the test itself saw of one group, from the packets alone. */
struct group_seen {
    uint64_t delivered, seq_lost_sum, seq_lost_recomputed;
    uint32_t last_seq;
};

/* Receives until `idle_ms` pass with nothing new, or until `stop_group` has `stop_count`
 * samples; adds each packet to its group's tally (groups 7 and 8). */
static void take(struct psample_sub *sub, struct group_seen g[2], int idle_ms, uint32_t stop_group, uint64_t stop_count)
{
    struct psample_packet batch[64];
    struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
    while (poll(&pfd, 1, idle_ms) > 0) {
        int n = psample_recv(sub, batch, 64, sizeof batch[0]);
        if (n == -EAGAIN)
            continue;
        if (n < 0) {
            CHECK(0, "psample_recv: %s", psample_strerror(n));
            return;
        }
        for (int i = 0; i < n; i++) {
            const struct psample_packet *p = &batch[i];
            CHECK(p->group == 7 || p->group == 8, "a sample of group %u", p->group);
            if (p->group != 7 && p->group != 8)
                continue;
            struct group_seen *s = &g[p->group - 7];
            /* The test's own count of the gap, from group_seq: must equal the library's. */
            if (s->delivered > 0)
                s->seq_lost_recomputed += p->group_seq - s->last_seq - 1;
            else
                CHECK(p->group_seq == 0, "group %u: first sample has seq %u, not 0", p->group, p->group_seq);
            s->delivered++;
            s->seq_lost_sum += p->seq_lost;
            s->last_seq = p->group_seq;
        }
        if (stop_group && g[stop_group - 7].delivered >= stop_count)
            return;
    }
}

/* Two groups at different rates (group 7 every packet, group 8 about one in 3) through a 64 KiB
 * receive buffer that overflows while the receiver sleeps. Per group: the packets' seq_lost add up
 * to psample_group_stats()'s seq_lost, and to the kernel's count (next_seq from the group dump)
 * minus what was delivered. The first and the last sample of each group are taken one at a time,
 * so the kernel's count starts and ends with a delivered sample. */
static void test_group_loss(int flood)
{
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK, .rcvbuf = 64 * 1024 };
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, &opts);
    CHECK(rc == 0, "subscribe: %s", psample_strerror(rc));
    if (rc != 0)
        return;
    struct group_seen g[2] = { { 0 } };
    /* First samples: one datagram at a time until group 8 (1 in 3) has one too. */
    for (int i = 0; i < 200 && g[1].delivered == 0; i++) {
        send_datagrams(1, 100);
        take(sub, g, 200, 8, 1);
    }
    CHECK(g[0].delivered > 0 && g[1].delivered > 0, "no first sample: %llu of 7, %llu of 8",
          (unsigned long long)g[0].delivered, (unsigned long long)g[1].delivered);
    /* The flood, with nobody reading: the socket's buffer overflows. */
    send_datagrams(flood, 100);
    take(sub, g, 500, 0, 0);
    /* Last samples: one datagram at a time until group 8 has one more after the flood. */
    uint64_t g8_before = g[1].delivered;
    for (int i = 0; i < 200 && g[1].delivered == g8_before; i++) {
        send_datagrams(1, 100);
        take(sub, g, 200, 8, g8_before + 1);
    }
    take(sub, g, 200, 0, 0);

    struct psample_group_stats gs[4];
    size_t total = 0;
    int n = psample_group_stats(sub, gs, 4, sizeof gs[0], &total);
    CHECK(n == 2 && total == 2, "psample_group_stats: %d entries (total %zu), want 2", n, total);
    struct psample_group_info info[4];
    size_t ginfo_total = 0;
    int ng = psample_list_groups(NULL, info, 4, sizeof info[0], &ginfo_total);
    CHECK(ng == 2, "psample_list_groups: %d", ng);
    struct psample_stats st;
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "psample_stats");
    uint64_t lost_total = 0;
    for (uint32_t group = 7; group <= 8; group++) {
        const struct group_seen *s = &g[group - 7];
        const struct psample_group_stats *e = NULL;
        for (int i = 0; i < n; i++)
            if (gs[i].group == group)
                e = &gs[i];
        uint32_t next_seq = 0;
        for (int i = 0; i < ng; i++)
            if (info[i].group == group)
                next_seq = info[i].next_seq;
        uint64_t kernel_lost = next_seq - s->delivered;
        printf("group %u: kernel next_seq %u, delivered %llu, sum of seq_lost %llu, recomputed from group_seq "
               "%llu, psample_group_stats delivered %llu seq_lost %llu last_seq %u, kernel count - delivered %llu\n",
               group, next_seq, (unsigned long long)s->delivered, (unsigned long long)s->seq_lost_sum,
               (unsigned long long)s->seq_lost_recomputed, e ? (unsigned long long)e->delivered : 0ULL,
               e ? (unsigned long long)e->seq_lost : 0ULL, e ? e->last_seq : 0, (unsigned long long)kernel_lost);
        CHECK(e != NULL && e->nsid == -1 && e->reserved == 0, "group %u: no psample_group_stats entry", group);
        if (!e)
            continue;
        CHECK(s->seq_lost_sum > 0, "group %u lost nothing: the buffer did not overflow, the test shows nothing",
              group);
        CHECK(s->seq_lost_sum == s->seq_lost_recomputed, "group %u: seq_lost sum %llu, from group_seq %llu", group,
              (unsigned long long)s->seq_lost_sum, (unsigned long long)s->seq_lost_recomputed);
        CHECK(e->delivered == s->delivered && e->seq_lost == s->seq_lost_sum && e->last_seq == s->last_seq,
              "group %u: psample_group_stats disagrees with the packets", group);
        CHECK(s->last_seq + 1 == next_seq, "group %u: last sample %u is not the kernel's last (next_seq %u)", group,
              s->last_seq, next_seq);
        CHECK(s->seq_lost_sum == kernel_lost, "group %u: seq_lost %llu, kernel count - delivered %llu", group,
              (unsigned long long)s->seq_lost_sum, (unsigned long long)kernel_lost);
        lost_total += s->seq_lost_sum;
    }
    printf("psample_stats: delivered %llu, seq_gaps %llu, kernel_drops %llu, rcvbuf %u\n",
           (unsigned long long)st.delivered, (unsigned long long)st.seq_gaps, (unsigned long long)st.kernel_drops,
           st.rcvbuf);
    CHECK(st.seq_gaps == lost_total, "seq_gaps %llu, sum over groups %llu", (unsigned long long)st.seq_gaps,
          (unsigned long long)lost_total);
    CHECK(st.delivered == g[0].delivered + g[1].delivered, "delivered %llu", (unsigned long long)st.delivered);
    CHECK(st.kernel_drops == lost_total, "kernel_drops %llu, lost by sequence %llu",
          (unsigned long long)st.kernel_drops, (unsigned long long)lost_total);
    psample_close(sub);
}

/* Group events: a tc action with a new group creates it, deleting the filter deletes it. Its
 * filter comes first (pref 5): tc stops at the first matching filter. */
static void test_config_events(void)
{
    struct psample_sub *sub = subscribe(PSAMPLE_SUB_CONFIG_EVENTS | PSAMPLE_SUB_NO_SAMPLES);
    /* Since 6.11 a group's sequence only advances while someone listens to samples. */
    struct psample_sub *listener = subscribe(0);
    CHECK(system("tc filter add dev lo egress pref 5 matchall action sample rate 1 group 9") == 0, "tc add");
    send_datagrams(5, 50);
    int got = receive(sub, 1, 2000);
    CHECK(got == 1 && seen[0].pkt.kind == PSAMPLE_KIND_GROUP_CREATED && seen[0].pkt.group == 9 &&
              (seen[0].pkt.fields & PSAMPLE_FIELD_GROUP_REFCOUNT),
          "creation event: got %d kind %u group %u", got, seen[0].pkt.kind, seen[0].pkt.group);
    CHECK(system("tc filter del dev lo egress pref 5") == 0, "tc del");
    got = receive(sub, 1, 3000);
    CHECK(got == 1 && seen[0].pkt.kind == PSAMPLE_KIND_GROUP_DELETED && seen[0].pkt.group == 9 &&
              seen[0].pkt.group_seq == 5,
          "deletion event: got %d kind %u group %u seq %u", got, seen[0].pkt.kind, seen[0].pkt.group,
          seen[0].pkt.group_seq);
    psample_close(listener);
    psample_close(sub);
}

static void netns_id(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/thread-self/ns/net", buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
}

/* Subscribe in namespace psa (sampled) from the root namespace (not sampled). */
static void test_netns_fd(const char *self)
{
    char before[64], after[64], cmd[512];
    netns_id(before, sizeof before);
    int fd = open("/run/netns/psa", O_RDONLY | O_CLOEXEC);
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_NETNS_FD, .netns_fd = fd };
    struct psample_sub *sub = NULL;
    CHECK(psample_subscribe(&sub, &opts) == 0, "subscribe in psa");
    netns_id(after, sizeof after);
    CHECK(!strcmp(before, after), "the thread moved from %s to %s", before, after);
    snprintf(cmd, sizeof cmd, "ip netns exec psa %s send 100 80", self);
    CHECK(system(cmd) == 0, "send in psa");
    int got = receive(sub, 100, 2000);
    CHECK(got == 100, "received %d of 100 from psa", got);
    struct psample_group_info info[4];
    size_t total = 0;
    CHECK(psample_list_groups(&opts, info, 4, sizeof info[0], &total) == 1 && info[0].group == 7,
          "groups of psa: total %zu", total);
    CHECK(psample_list_groups(NULL, info, 4, sizeof info[0], &total) == 0 && total == 0,
          "root namespace lists psa's groups (total %zu)", total);
    psample_close(sub);
    close(fd);
}

/* Samplers in psa (nsid 11) and psb (nsid 12), one listener in the root namespace. */
static void test_all_netns(const char *self)
{
    char cmd[512];
    struct psample_sub *all = subscribe(PSAMPLE_SUB_ALL_NETNS);
    struct psample_sub *local = subscribe(0);
    snprintf(cmd, sizeof cmd, "ip netns exec psa %s send 50 80 && ip netns exec psb %s send 70 80", self, self);
    CHECK(system(cmd) == 0, "send in psa and psb");
    int got = receive(all, 120, 2000), in_a = 0, in_b = 0;
    for (int i = 0; i < got; i++) {
        in_a += seen[i].pkt.nsid == 11;
        in_b += seen[i].pkt.nsid == 12;
    }
    CHECK(got == 120 && in_a == 50 && in_b == 70, "all-netns: %d samples, %d from nsid 11, %d from nsid 12", got,
          in_a, in_b);
    drain_expect_none(local, "a listener without PSAMPLE_SUB_ALL_NETNS");
    psample_close(all);
    psample_close(local);
}

/* A forged sample from a userspace process: rejected by default, delivered and marked on request. */
static void test_userspace_sender(const char *injector)
{
    struct psample_sub *kernel_only = subscribe(0);
    struct psample_sub *any = subscribe(PSAMPLE_SUB_ACCEPT_USERSPACE);
    int rc = system(injector);
    CHECK(rc == 0, "injector failed (%d)", rc);
    int got = receive(any, 1, 2000);
    const struct psample_packet *p = &seen[0].pkt;
    CHECK(got == 1 && (p->flags & PSAMPLE_PKT_F_USERSPACE) && p->sender_portid != 0, "accepting subscriber: %d", got);
    CHECK(got == 1 && p->iifindex == 5 && p->oifindex == 6 && p->proto == 1 && p->data_len == 14 &&
              !memcmp(seen[0].head, "forged-sample!", 14),
          "forged sample decoded wrong");
    drain_expect_none(kernel_only, "the default subscriber");
    struct psample_stats st;
    CHECK(psample_stats(kernel_only, &st, sizeof st) == 0 && st.rejected_userspace == 1 && st.delivered == 0,
          "rejected %llu", (unsigned long long)st.rejected_userspace);
    psample_close(kernel_only);
    psample_close(any);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "send")) { /* helper: traffic from another namespace */
        send_datagrams(argc > 2 ? atoi(argv[2]) : 10, argc > 3 ? (size_t)atoi(argv[3]) : 80);
        return 0;
    }
    if (!strcmp(mode, "cookie"))
        test_cookie(argc > 2 ? argv[2] : "none");
    else if (!strcmp(mode, "tunnel"))
        test_tunnel();
    else if (!strcmp(mode, "groups"))
        test_group_filter();
    else if (!strcmp(mode, "grouploss"))
        test_group_loss(argc > 2 ? atoi(argv[2]) : 3000);
    else if (!strcmp(mode, "config"))
        test_config_events();
    else if (!strcmp(mode, "netns"))
        test_netns_fd(argv[0]);
    else if (!strcmp(mode, "allnetns"))
        test_all_netns(argv[0]);
    else if (!strcmp(mode, "userspace") && argc > 2)
        test_userspace_sender(argv[2]);
    else {
        fprintf(stderr, "usage: features cookie HEX|none | tunnel | groups | grouploss [N] | config | netns | allnetns | userspace INJECTOR\n");
        return 2;
    }
    return finish(mode);
}
