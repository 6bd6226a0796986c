/* Real-kernel fault cases: no privilege, module reload while subscribed, overload with exact loss
 * accounting, subscribe/close churn. Run by kernel-tests.sh inside the VM. */
#include "common.h"

#include <dirent.h>

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
}

#define TC_ADD "tc filter add dev lo egress pref 10 matchall action sample rate 1 group 7 trunc 128"

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

/* What tc's sample action counted ("Sent B bytes P pkt"): with rate 1, what the kernel sampled. */
static unsigned long long tc_sampled(void)
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
    else if (!strcmp(mode, "reload"))
        test_reload();
    else if (!strcmp(mode, "overload") && n > 0)
        test_overload(n);
    else if (!strcmp(mode, "churn") && n > 0)
        test_churn(n);
    else {
        fprintf(stderr, "usage: faults eperm | reload | overload N | churn N\n");
        return 2;
    }
    return finish(mode);
}
