/* Real-kernel fault cases: no privilege, module reload while subscribed, overload with exact loss
 * accounting, subscribe/close churn. Run by kernel-tests.sh inside the VM. */
#include "common.h"

#include <dirent.h>
#include <limits.h>

/* Run without CAP_NET_ADMIN (setpriv): joining "packets" is refused with a clear text. */
static void test_eperm(void)
{
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, NULL);
    CHECK(rc == -EPERM && sub == NULL, "unprivileged subscribe gave %d", rc);
    CHECK(strstr(psample_strerror(rc), "CAP_NET_ADMIN") != NULL, "strerror: %s", psample_strerror(rc));
    /* Listing groups needs no privilege. */
    size_t total = 99;
    CHECK(psample_list_groups(NULL, NULL, 0, sizeof(struct psample_group_info), &total) == 0 && total == 1,
          "unprivileged list_groups: total %zu", total);
    /* Group events need no privilege, but the waker's connect() does: psample_wakeup() says
     * -EPERM, and the wake-up still counts at the next psample_recv(). */
    struct psample_opts o = { .size = sizeof o,
                              .flags = PSAMPLE_SUB_CONFIG_EVENTS | PSAMPLE_SUB_NO_SAMPLES | PSAMPLE_SUB_NONBLOCK };
    rc = psample_subscribe(&sub, &o);
    CHECK(rc == 0, "unprivileged group-events subscribe: %s", psample_strerror(rc));
    if (rc == 0) {
        struct psample_packet pkt;
        rc = psample_wakeup(sub);
        CHECK(rc == -EPERM, "unprivileged psample_wakeup gave %d", rc);
        rc = psample_recv(sub, &pkt, 1, sizeof pkt);
        CHECK(rc == -ECANCELED, "the wake-up counts: psample_recv gave %d", rc);
        rc = psample_recv(sub, &pkt, 1, sizeof pkt);
        CHECK(rc == -EAGAIN, "once: psample_recv gave %d", rc);
        psample_close(sub);
    }
}

/* Hostile callers: one row per misuse of the C API on a live handle, each with its documented
 * result. Rows run in order against the same handle; none may crash. */
static struct psample_sub *live;
static unsigned char big[4][sizeof(struct psample_packet) + 64];

static int row_null_handle(void) { struct psample_packet p; return psample_recv(NULL, &p, 1, sizeof p); }
static int row_null_array(void) { return psample_recv(live, NULL, 4, sizeof(struct psample_packet)); }
static int row_zero_n(void) { return psample_recv(live, NULL, 0, sizeof(struct psample_packet)); }
static int row_small_pkt_size(void)
{
    struct psample_packet p[2];
    return psample_recv(live, p, 1, PSAMPLE_PACKET_SIZE_V1 - 8);
}
static int row_huge_n(void) { struct psample_packet p; return psample_recv(live, &p, SIZE_MAX / 2, sizeof p); }
/* True when bytes [from, to) of `p` are all `v`. */
static int all_bytes(const void *p, size_t from, size_t to, unsigned char v)
{
    for (size_t i = from; i < to; i++)
        if (((const unsigned char *)p)[i] != v)
            return 0;
    return 1;
}

/* A newer caller's bigger struct: the library fills its own size and zeroes the rest of the
 * element, so fields it does not know read 0; elements past the count are not written. */
static int row_bigger_pkt_size(void)
{
    memset(big, 0xAA, sizeof big);
    send_datagrams(1, 60);
    struct pollfd pfd = { .fd = psample_fd(live), .events = POLLIN };
    if (poll(&pfd, 1, 2000) != 1)
        return -ETIMEDOUT;
    int n = psample_recv(live, (struct psample_packet *)(void *)big, 4, sizeof big[0]);
    if (n != 1)
        return n;
    if (!all_bytes(big[0], sizeof(struct psample_packet), sizeof big[0], 0))
        return -EFAULT; /* tail not zeroed */
    if (!all_bytes(big[1], 0, sizeof big[1], 0xAA))
        return -EFAULT; /* an element beyond the count written */
    struct psample_packet p;
    memcpy(&p, big[0], sizeof p);
    return p.group == 7 && p.data_len == 102 ? 1 : -EBADMSG;
}
/* The other output structs from a newer caller: the same zeroed tail. */
static int row_bigger_stats_size(void)
{
    unsigned char st[sizeof(struct psample_stats) + 64];
    memset(st, 0xAA, sizeof st);
    int rc = psample_stats(live, (struct psample_stats *)(void *)st, sizeof st);
    if (rc != 0)
        return rc;
    size_t filled;
    memcpy(&filled, st, sizeof filled);
    if (filled != sizeof(struct psample_stats))
        return -EBADMSG;
    return all_bytes(st, sizeof(struct psample_stats), sizeof st, 0) ? 0 : -EFAULT;
}
static int row_bigger_group_stats_size(void)
{
    unsigned char gs[2][sizeof(struct psample_group_stats) + 64];
    size_t total = 0;
    memset(gs, 0xAA, sizeof gs);
    int n = psample_group_stats(live, (struct psample_group_stats *)(void *)gs, 2, sizeof gs[0], &total);
    if (n != 1 || total != 1)
        return n < 0 ? n : -ERANGE;
    struct psample_group_stats g;
    memcpy(&g, gs[0], sizeof g);
    if (g.group != 7 || g.nsid != -1 || g.delivered < 1)
        return -EBADMSG;
    if (!all_bytes(gs[0], sizeof g, sizeof gs[0], 0) || !all_bytes(gs[1], 0, sizeof gs[1], 0xAA))
        return -EFAULT;
    return n;
}
static int row_bigger_group_info_size(void)
{
    unsigned char gi[2][sizeof(struct psample_group_info) + 64];
    size_t total = 0;
    memset(gi, 0xAA, sizeof gi);
    int n = psample_list_groups(NULL, (struct psample_group_info *)(void *)gi, 2, sizeof gi[0], &total);
    if (n != 1 || total != 1)
        return n < 0 ? n : -ERANGE;
    struct psample_group_info g;
    memcpy(&g, gi[0], sizeof g);
    if (g.group != 7)
        return -EBADMSG;
    if (!all_bytes(gi[0], sizeof g, sizeof gi[0], 0) || !all_bytes(gi[1], 0, sizeof gi[1], 0xAA))
        return -EFAULT;
    return n;
}
static int row_group_stats_null_array(void)
{
    return psample_group_stats(live, NULL, 2, sizeof(struct psample_group_stats), NULL);
}
static int row_group_stats_small(void)
{
    struct psample_group_stats g[2];
    return psample_group_stats(live, g, 2, PSAMPLE_GROUP_STATS_SIZE_V1 - 8, NULL);
}
/* tc's sample action here has no cookie: not an OVS sample. */
static int row_ovs_cookie_absent(void)
{
    struct psample_packet p;
    uint32_t domain, point;
    memcpy(&p, big[0], sizeof p);
    return psample_ovs_cookie(&p, &domain, &point);
}
static int row_ovs_cookie_null(void)
{
    uint32_t domain, point;
    return psample_ovs_cookie(NULL, &domain, &point);
}
static int row_stats_small(void) { struct psample_stats st; return psample_stats(live, &st, 16); }
static int row_stats_null(void) { return psample_stats(live, NULL, sizeof(struct psample_stats)); }
static int row_fd_null(void) { return psample_fd(NULL); }
static int row_close_null(void) { psample_close(NULL); return 0; }
static int sub_with(struct psample_opts o)
{
    struct psample_sub *s = NULL;
    int rc = psample_subscribe(&s, &o);
    psample_close(s);
    return rc;
}
static int row_opts_size_0(void) { return sub_with((struct psample_opts){ .size = 0 }); }
static int row_opts_size_8(void) { return sub_with((struct psample_opts){ .size = 8 }); }
static int row_opts_size_huge(void) { return sub_with((struct psample_opts){ .size = (size_t)1 << 40 }); }
static int row_huge_pkt_size(void)
{
    struct psample_packet p;
    return psample_recv(live, &p, 1, PSAMPLE_MAX_STRUCT_SIZE + 1);
}
static int row_opts_v1_size(void) { return sub_with((struct psample_opts){ .size = PSAMPLE_OPTS_SIZE_V1 }); }
static int row_unknown_flags(void) { return sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .flags = 1u << 30 }); }
static int row_reserved(void) { return sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .reserved = 1 }); }
static int row_huge_rcvbuf(void) { return sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .rcvbuf = UINT32_MAX }); }
static int row_max_rcvbuf(void) { return sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .rcvbuf = PSAMPLE_MAX_RCVBUF }); }
static int row_huge_batch(void) { return sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .batch = PSAMPLE_MAX_BATCH + 1 }); }
static int row_bad_netns_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = sub_with((struct psample_opts){ .size = sizeof(struct psample_opts), .flags = PSAMPLE_SUB_NETNS_FD, .netns_fd = fd });
    close(fd);
    return rc;
}
static int row_strerror_any(void)
{
    for (long e = -100000; e <= 100000; e += 7) {
        const char *t = psample_strerror((int)e);
        if (!t || !*t)
            return -EFAULT;
    }
    const int odd[] = { INT_MIN, INT_MIN + 1, INT_MAX, -1, 0, 1 };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        if (!psample_strerror(odd[i]) || !*psample_strerror(odd[i]))
            return -EFAULT;
    return 0;
}

static void test_hostile(void)
{
    static const struct {
        const char *name;
        int (*call)(void);
        int want;
    } rows[] = {
        { "psample_recv with a NULL handle", row_null_handle, -EINVAL },
        { "psample_recv with a NULL array and n > 0", row_null_array, -EINVAL },
        { "psample_recv with n == 0", row_zero_n, 0 },
        { "psample_recv with pkt_size below the first struct", row_small_pkt_size, -EINVAL },
        { "psample_recv with n * pkt_size overflowing", row_huge_n, -EINVAL },
        { "psample_recv with pkt_size larger than ours (tail zeroed)", row_bigger_pkt_size, 1 },
        { "psample_stats with a size larger than ours (tail zeroed)", row_bigger_stats_size, 0 },
        { "psample_group_stats with a size larger than ours (tail zeroed)", row_bigger_group_stats_size, 1 },
        { "psample_list_groups with a size larger than ours (tail zeroed)", row_bigger_group_info_size, 1 },
        { "psample_group_stats with a NULL array and n > 0", row_group_stats_null_array, -EINVAL },
        { "psample_group_stats with a small size", row_group_stats_small, -EINVAL },
        { "psample_ovs_cookie of a sample without a cookie", row_ovs_cookie_absent, -ENOENT },
        { "psample_ovs_cookie with NULL", row_ovs_cookie_null, -EINVAL },
        { "psample_stats with a small size", row_stats_small, -EINVAL },
        { "psample_stats with NULL", row_stats_null, -EINVAL },
        { "psample_fd with NULL", row_fd_null, -EINVAL },
        { "psample_close with NULL", row_close_null, 0 },
        { "opts.size 0", row_opts_size_0, -EINVAL },
        { "opts.size 8", row_opts_size_8, -EINVAL },
        { "opts.size 2^40 (garbage): refused, not read", row_opts_size_huge, -EINVAL },
        { "psample_recv with pkt_size above PSAMPLE_MAX_STRUCT_SIZE", row_huge_pkt_size, -EINVAL },
        { "opts.size of the first version (old caller)", row_opts_v1_size, 0 },
        { "unknown flags", row_unknown_flags, -EINVAL },
        { "non-zero reserved bytes", row_reserved, -EINVAL },
        { "rcvbuf UINT32_MAX", row_huge_rcvbuf, -EINVAL },
        { "rcvbuf PSAMPLE_MAX_RCVBUF", row_max_rcvbuf, 0 },
        { "batch above PSAMPLE_MAX_BATCH", row_huge_batch, -EINVAL },
        { "netns_fd that is not a namespace", row_bad_netns_fd, -EBADF },
        { "psample_strerror of any integer", row_strerror_any, 0 },
    };
    live = subscribe(0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = rows[i].call();
        printf("  %-62s %5d (want %d)\n", rows[i].name, got, rows[i].want);
        CHECK(got == rows[i].want, "%s: got %d, want %d", rows[i].name, got, rows[i].want);
    }
    psample_close(live);
}

/* psample absent, then loaded: first a clear -ENOENT, then success without restarting. */
static void test_late_load(void)
{
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, NULL);
    CHECK(rc == -ENOENT && sub == NULL, "before loading: %d", rc);
    CHECK(system("modprobe psample") == 0, "modprobe psample");
    rc = psample_subscribe(&sub, NULL);
    CHECK(rc == 0 && sub != NULL, "after loading: %s", psample_strerror(rc));
    psample_close(sub);
}

#define TC_ADD "tc filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc 128"

static uint64_t joined(struct psample_sub *sub)
{
    struct psample_stats st = { 0 };
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "psample_stats");
    return st.joined;
}

/* PSAMPLE_SUB_WAIT_FAMILY, started before psample is loaded (in a namespace with a clsact qdisc on
 * lo): joins when the module appears, gets every sample sent once the sampler is added, and
 * (with PSAMPLE_SUB_RESUBSCRIBE) follows an unload and load. Leaves psample unloaded. */
static void test_wait_family(void)
{
    struct psample_sub *sub = NULL;
    struct psample_packet pkt;
    struct psample_opts opts = {
        .size = sizeof opts,
        .flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_WAIT_FAMILY | PSAMPLE_SUB_RESUBSCRIBE,
    };
    int rc = psample_subscribe(&sub, &opts);
    CHECK(rc == 0, "subscribe before psample is loaded: %s", psample_strerror(rc));
    if (rc != 0)
        return;
    CHECK(psample_recv(sub, &pkt, 1, sizeof pkt) == -EAGAIN, "waiting: -EAGAIN");
    CHECK(joined(sub) == 0, "not joined before the module loads");
    CHECK(system("modprobe psample") == 0, "modprobe psample");
    sleep(2);
    CHECK(psample_recv(sub, &pkt, 1, sizeof pkt) == -EAGAIN, "family appeared: still nothing queued");
    CHECK(joined(sub) == 1, "joined once the family appeared");
    CHECK(system("modprobe act_sample && " TC_ADD) == 0, "add the sampler");
    send_datagrams(500, 60);
    int got = receive(sub, 500, 2000);
    struct psample_stats st = { 0 };
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "psample_stats");
    printf("wait-family: got %d of 500, delivered %llu, kernel_drops %llu, seq_gaps %llu\n", got,
           (unsigned long long)st.delivered, (unsigned long long)st.kernel_drops, (unsigned long long)st.seq_gaps);
    CHECK(got == 500 && st.delivered == 500, "every sample after the sampler arrives: got %d", got);
    CHECK(st.kernel_drops + st.seq_gaps == 0, "nothing lost");
    CHECK(st.resubscribed == 0 && st.family_removed == 0, "a first join is not a resubscription");

    /* Unload and load twice: the handle follows each time. */
    for (int round = 1; round <= 2; round++) {
        CHECK(system("tc filter del dev lo egress pref 10 && rmmod act_sample psample") == 0, "unload %d", round);
        usleep(200000);
        CHECK(psample_recv(sub, &pkt, 1, sizeof pkt) == -EAGAIN, "unloaded %d: waiting", round);
        CHECK(joined(sub) == 0, "unloaded %d: not joined", round);
        CHECK(system("modprobe act_sample && " TC_ADD) == 0, "load %d", round);
        usleep(200000);
        CHECK(psample_recv(sub, &pkt, 1, sizeof pkt) == -EAGAIN, "loaded %d: nothing queued yet", round);
        CHECK(joined(sub) == 1, "loaded %d: joined", round);
        send_datagrams(10, 60);
        got = receive(sub, 10, 2000);
        CHECK(got == 10, "after load %d: got %d of 10", round, got);
    }
    CHECK(psample_stats(sub, &st, sizeof st) == 0 && st.family_removed == 2 && st.resubscribed == 2 &&
              st.delivered == 520,
          "stats: removed %llu resubscribed %llu delivered %llu", (unsigned long long)st.family_removed,
          (unsigned long long)st.resubscribed, (unsigned long long)st.delivered);
    psample_close(sub);
    CHECK(system("tc filter del dev lo egress pref 10 && rmmod act_sample psample") == 0, "leave psample unloaded");
}

/* psample unloaded and loaded again under two handles: one follows, one reports ENODEV. */
static void test_reload(void)
{
    struct psample_sub *follow = subscribe(PSAMPLE_SUB_RESUBSCRIBE);
    struct psample_sub *plain = subscribe(0);
    struct psample_packet pkt;
    send_datagrams(10, 60);
    CHECK(receive(follow, 10, 2000) == 10, "before reload: following handle");
    CHECK(receive(plain, 10, 2000) == 10, "before reload: plain handle");
    CHECK(system("tc filter del dev lo egress pref 10 && rmmod act_sample psample") == 0, "unload");
    usleep(200000);
    CHECK(psample_recv(plain, &pkt, 1, sizeof pkt) == -ENODEV, "plain handle after unload");
    CHECK(psample_recv(plain, &pkt, 1, sizeof pkt) == -ENODEV, "ENODEV is sticky");
    CHECK(strstr(psample_strerror(-ENODEV), "RESUBSCRIBE") != NULL, "ENODEV text");
    CHECK(psample_recv(follow, &pkt, 1, sizeof pkt) == -EAGAIN, "following handle waits");
    CHECK(system("modprobe act_sample && " TC_ADD) == 0, "reload");
    usleep(200000);
    CHECK(psample_recv(follow, &pkt, 1, sizeof pkt) == -EAGAIN, "following handle sees the new family");
    send_datagrams(10, 60);
    int got = receive(follow, 10, 2000);
    CHECK(got == 10, "after reload the following handle got %d of 10", got);
    struct psample_stats st;
    CHECK(psample_stats(follow, &st, sizeof st) == 0 && st.family_removed == 1 && st.resubscribed == 1 &&
              st.delivered == 20,
          "stats: removed %llu resubscribed %llu delivered %llu", (unsigned long long)st.family_removed,
          (unsigned long long)st.resubscribed, (unsigned long long)st.delivered);
    psample_close(follow);
    psample_close(plain);
}

/* Sends `count` datagrams while not reading through a small buffer: what arrives plus what the
 * kernel counts as dropped is exactly what was sampled. */
static void test_overload(int count)
{
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK, .rcvbuf = 65536 };
    struct psample_sub *sub = NULL;
    CHECK(psample_subscribe(&sub, &opts) == 0, "subscribe");
    unsigned long long delivered = 0;
    for (int sent = 0; sent < count; sent += 10000) {
        send_datagrams(10000, 60);
        delivered += (unsigned long long)receive(sub, MAX_SAMPLES, 50); /* read a little now and then */
    }
    delivered += (unsigned long long)receive(sub, MAX_SAMPLES, 500);
    /* One more sample once the queue is empty: its sequence number reveals the drops at the end. */
    send_datagrams(1, 60);
    delivered += (unsigned long long)receive(sub, 1, 2000);
    count += 1;
    struct psample_stats st;
    CHECK(psample_stats(sub, &st, sizeof st) == 0, "stats");
    unsigned long long sampled = tc_sampled();
    printf("overload: sent %d, tc sampled %llu, delivered %llu, kernel drops %llu, seq gaps %llu, rcvbuf %u\n",
           count, sampled, (unsigned long long)st.delivered, (unsigned long long)st.kernel_drops,
           (unsigned long long)st.seq_gaps, st.rcvbuf);
    CHECK(sampled == (unsigned long long)count, "tc sampled %llu of %d", sampled, count);
    CHECK(st.delivered == delivered, "delivered %llu, counted %llu", (unsigned long long)st.delivered, delivered);
    CHECK(st.kernel_drops > 0, "the small buffer never overflowed: the test proves nothing");
    CHECK(st.delivered + st.kernel_drops == sampled, "delivered + dropped = %llu, sampled %llu",
          (unsigned long long)(st.delivered + st.kernel_drops), sampled);
    CHECK(st.seq_gaps == st.kernel_drops, "seq gaps %llu != kernel drops %llu", (unsigned long long)st.seq_gaps,
          (unsigned long long)st.kernel_drops);
    psample_close(sub);
}

/* PSAMPLE_SUB_ENOBUFS: an overrun is reported once as -ENOBUFS (after the queue drains), the
 * handle keeps working, and the accounting stays exact. */
static void test_enobufs(void)
{
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ENOBUFS, .rcvbuf = 65536 };
    struct psample_sub *sub = NULL;
    struct psample_packet pkts[64];
    CHECK(psample_subscribe(&sub, &opts) == 0, "subscribe");
    send_datagrams(20000, 60);
    int enobufs = 0, rc;
    unsigned long long delivered = 0;
    while ((rc = psample_recv(sub, pkts, 64, sizeof pkts[0])) != -EAGAIN) {
        if (rc == -ENOBUFS)
            enobufs++;
        else if (rc > 0)
            delivered += (unsigned long long)rc;
        else
            break;
    }
    CHECK(enobufs == 1, "-ENOBUFS reported %d times, want once", enobufs);
    send_datagrams(10, 60);
    int got = receive(sub, 10, 2000);
    CHECK(got == 10, "after -ENOBUFS the handle received %d of 10", got);
    struct psample_stats st;
    CHECK(psample_stats(sub, &st, sizeof st) == 0 && st.enobufs == 1, "stats.enobufs %llu", (unsigned long long)st.enobufs);
    unsigned long long sampled = tc_sampled();
    CHECK(st.delivered + st.kernel_drops == sampled && st.delivered == delivered + 10,
          "delivered %llu + dropped %llu != sampled %llu", (unsigned long long)st.delivered,
          (unsigned long long)st.kernel_drops, sampled);
    psample_close(sub);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static long rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* subscribe / receive / close many times: descriptors and memory stay flat. */
static void test_churn(int cycles)
{
    int fds_early = 0;
    long rss_early = 0;
    for (int i = 1; i <= cycles; i++) {
        struct psample_sub *sub = subscribe(0);
        struct psample_packet pkt;
        if (i % 100 == 0) {
            send_datagrams(1, 60);
            CHECK(receive(sub, 1, 2000) == 1, "cycle %d: no sample", i);
        } else {
            CHECK(psample_recv(sub, &pkt, 1, sizeof pkt) == -EAGAIN, "cycle %d: unexpected record", i);
        }
        psample_close(sub);
        if (i == 100) {
            fds_early = open_fds();
            rss_early = rss_kib();
        }
    }
    int fds_end = open_fds();
    long rss_end = rss_kib();
    printf("churn: %d cycles; fds %d -> %d; rss %ld -> %ld KiB\n", cycles, fds_early, fds_end, rss_early, rss_end);
    CHECK(fds_end == fds_early, "descriptors leaked: %d -> %d", fds_early, fds_end);
    CHECK(rss_end - rss_early <= 512, "memory grew by %ld KiB", rss_end - rss_early);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(mode, "eperm"))
        test_eperm();
    else if (!strcmp(mode, "hostile"))
        test_hostile();
    else if (!strcmp(mode, "enobufs"))
        test_enobufs();
    else if (!strcmp(mode, "late-load"))
        test_late_load();
    else if (!strcmp(mode, "wait-family"))
        test_wait_family();
    else if (!strcmp(mode, "reload"))
        test_reload();
    else if (!strcmp(mode, "overload") && n > 0)
        test_overload(n);
    else if (!strcmp(mode, "churn") && n > 0)
        test_churn(n);
    else {
        fprintf(stderr, "usage: faults eperm | hostile | enobufs | late-load | wait-family | reload | overload N | churn N\n");
        return 2;
    }
    return finish(mode);
}
