/* nlmon round trip: psample_decode() on real captures. Run by kernel-tests.sh inside the VM, in a
 * namespace whose loopback egress is sampled by tc (group 7, trunc 128, a tunnel key and, on 6.11+,
 * a cookie) and which has an up nlmon device. Starts tcpdump on that device, receives the samples
 * of a bounded burst of datagrams to 127.0.0.1 through a subscription, stops tcpdump, then feeds
 * every psample message of the capture to psample_decode() and checks it equals the record the
 * subscription delivered, field for field. Usage: nlmon_roundtrip NLMON_DEV PCAP_FILE COUNT.
 * Last line: "N passed, M failed". */
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"

/* LINKTYPE_NETLINK: a 16-byte pseudo-header (the layout of LINKTYPE_LINUX_SLL: packet type,
 * ARPHRD_NETLINK, address length, address, netlink protocol) precedes the netlink message. */
#define NETLINK_COOKED_HEADER 16
#define ARPHRD_NETLINK_TYPE 824

/* A delivered record with deep copies of what its pointers point to. */
struct kept {
    struct psample_packet pkt;
    uint8_t data[256];
    uint8_t cookie[64];
    uint8_t geneve[256];
    uint8_t erspan[256];
};

#define MAX_KEPT 2000
static struct kept kept[MAX_KEPT];
static char compared[MAX_KEPT];

static void keep(struct kept *k, const struct psample_packet *p)
{
    k->pkt = *p;
    CHECK(p->data_len <= sizeof k->data && p->user_cookie_len <= sizeof k->cookie &&
              p->tunnel.geneve_opts_len <= sizeof k->geneve && p->tunnel.erspan_opts_len <= sizeof k->erspan,
          "record larger than the test keeps: data %u cookie %u", p->data_len, p->user_cookie_len);
    if (p->data_len && p->data_len <= sizeof k->data)
        memcpy(k->data, p->data, p->data_len);
    if (p->user_cookie_len && p->user_cookie_len <= sizeof k->cookie)
        memcpy(k->cookie, p->user_cookie, p->user_cookie_len);
    if (p->tunnel.geneve_opts_len && p->tunnel.geneve_opts_len <= sizeof k->geneve)
        memcpy(k->geneve, p->tunnel.geneve_opts, p->tunnel.geneve_opts_len);
    if (p->tunnel.erspan_opts_len && p->tunnel.erspan_opts_len <= sizeof k->erspan)
        memcpy(k->erspan, p->tunnel.erspan_opts, p->tunnel.erspan_opts_len);
}

/* Pointer-valued fields are compared by what they point to; everything else by value. */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t len)
{
    return len == 0 || (a != NULL && b != NULL && memcmp(a, b, len) == 0);
}

static void compare(int i, const struct kept *k, const struct psample_packet *d)
{
    const struct psample_packet *s = &k->pkt;
    const struct psample_tunnel *st = &s->tunnel, *dt = &d->tunnel;
#define SAME(field)                                                                                        \
    CHECK(s->field == d->field, "message %d: " #field " delivered %llu, decoded %llu", i,                \
          (unsigned long long)s->field, (unsigned long long)d->field)
#define SAME_TUN(field)                                                                                    \
    CHECK(st->field == dt->field, "message %d: tunnel." #field " delivered %llu, decoded %llu", i,       \
          (unsigned long long)st->field, (unsigned long long)dt->field)
    SAME(fields);
    SAME(timestamp_ns);
    SAME(latency_ns);
    SAME(out_tc_occ);
    SAME(kind);
    SAME(flags);
    SAME(group);
    SAME(group_seq);
    SAME(rate);
    SAME(orig_size);
    SAME(data_len);
    SAME(iifindex);
    SAME(oifindex);
    SAME(user_cookie_len);
    SAME(group_refcount);
    SAME(sender_portid);
    SAME(nsid);
    SAME(out_tc);
    SAME(proto);
    SAME_TUN(id);
    SAME_TUN(fields);
    SAME_TUN(geneve_opts_len);
    SAME_TUN(erspan_opts_len);
    SAME_TUN(tp_src);
    SAME_TUN(tp_dst);
    SAME_TUN(tos);
    SAME_TUN(ttl);
#undef SAME
#undef SAME_TUN
    CHECK(!memcmp(st->ipv4_src, dt->ipv4_src, 4) && !memcmp(st->ipv4_dst, dt->ipv4_dst, 4) &&
              !memcmp(st->ipv6_src, dt->ipv6_src, 16) && !memcmp(st->ipv6_dst, dt->ipv6_dst, 16),
          "message %d: tunnel addresses differ", i);
    CHECK(same_bytes(k->data, d->data, d->data_len), "message %d: data bytes differ", i);
    CHECK(same_bytes(k->cookie, d->user_cookie, d->user_cookie_len), "message %d: cookie bytes differ", i);
    CHECK(same_bytes(k->geneve, dt->geneve_opts, dt->geneve_opts_len) &&
              same_bytes(k->erspan, dt->erspan_opts, dt->erspan_opts_len),
          "message %d: tunnel option bytes differ", i);
}

/* The psample generic netlink family's id, from the controller (what the messages carry). */
static int psample_family_id(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    struct {
        struct nlmsghdr nh;
        struct genlmsghdr gh;
        char attrs[64];
    } req = { 0 };
    char reply[8192];
    if (fd < 0)
        return -errno;
    struct nlattr *name = (struct nlattr *)req.attrs;
    name->nla_type = CTRL_ATTR_FAMILY_NAME;
    name->nla_len = NLA_HDRLEN + sizeof "psample";
    memcpy((char *)name + NLA_HDRLEN, "psample", sizeof "psample");
    req.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(name->nla_len);
    req.nh.nlmsg_type = GENL_ID_CTRL;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.gh.cmd = CTRL_CMD_GETFAMILY;
    req.gh.version = 1;
    int id = -ENOENT;
    ssize_t n = -1;
    if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len)
        n = recv(fd, reply, sizeof reply, 0);
    const struct nlmsghdr *nh = (const struct nlmsghdr *)reply;
    if (n >= (ssize_t)NLMSG_LENGTH(GENL_HDRLEN) && NLMSG_OK(nh, n) && nh->nlmsg_type == GENL_ID_CTRL) {
        int left = (int)nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
        const struct nlattr *a = (const struct nlattr *)((const char *)NLMSG_DATA(nh) + GENL_HDRLEN);
        while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
            if (a->nla_type == CTRL_ATTR_FAMILY_ID && a->nla_len >= NLA_HDRLEN + 2) {
                uint16_t v;
                memcpy(&v, (const char *)a + NLA_HDRLEN, 2);
                id = v;
            }
            left -= NLA_ALIGN(a->nla_len);
            a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
        }
    }
    close(fd);
    return id;
}

/* tcpdump's standard error: read for its "listening on" line, and at the end for its counts. */
static int tcpdump_stderr = -1;

/* Starts tcpdump writing the device's traffic to `file`; returns once it is listening. */
static pid_t start_tcpdump(const char *dev, const char *file)
{
    int err[2];
    if (pipe(err) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], STDERR_FILENO);
        close(err[0]);
        close(err[1]);
        /* --immediate-mode: each packet leaves the capture ring at once (not when a block fills
         * or times out), -U: and is written at once, so nothing is left behind when SIGINT
         * ends it. -Z root: Debian's tcpdump would otherwise drop to its own user before
         * opening `file`. */
        /* -s 4096 (above nlmon's MTU, 3776) and -B: the capture ring holds thousands of
         * messages; with the default snap length (256 KiB frames) it holds eight, and drops. */
        execlp("tcpdump", "tcpdump", "-i", dev, "--immediate-mode", "-U", "-s", "4096", "-B", "16384", "-Z", "root",
               "-w", file, (char *)NULL);
        _exit(127);
    }
    close(err[1]);
    tcpdump_stderr = err[0];
    /* tcpdump says "listening on DEV" on stderr once its capture is open; wait at most 30 s. */
    char line[512];
    size_t used = 0;
    struct pollfd pfd = { .fd = err[0], .events = POLLIN };
    int ready = 0;
    line[0] = 0;
    for (int waited = 0; !ready && waited < 300 && used < sizeof line - 1; waited++) {
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(err[0], line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = 0;
        ready = strstr(line, "listening on") != NULL;
    }
    if (!ready) {
        fprintf(stderr, "tcpdump did not start: %s\n", line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* Ends tcpdump with SIGINT (it then closes the file) and shows its closing counts. */
static int stop_tcpdump(pid_t pid)
{
    int status = 0;
    kill(pid, SIGINT);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    char text[1024];
    ssize_t n = read(tcpdump_stderr, text, sizeof text - 1);
    if (n > 0) {
        text[n] = 0;
        printf("tcpdump: %s", text);
    }
    close(tcpdump_stderr);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: nlmon_roundtrip NLMON_DEV PCAP_FILE COUNT\n");
        return 2;
    }
    const char *dev = argv[1], *file = argv[2];
    int count = atoi(argv[3]);
    if (count <= 0 || count > MAX_KEPT) {
        fprintf(stderr, "COUNT must be 1..%d\n", MAX_KEPT);
        return 2;
    }
    int family = psample_family_id();
    CHECK(family > GENL_ID_CTRL, "psample family id: %d", family);

    pid_t dump = start_tcpdump(dev, file);
    CHECK(dump > 0, "tcpdump -i %s -w %s", dev, file);
    if (dump <= 0)
        return finish("nlmon round trip");

    /* The subscription's samples, kept with deep copies. */
    struct psample_sub *sub = subscribe(0);
    send_datagrams(count, 100);
    struct psample_packet batch[64];
    int got = 0;
    struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
    while (got < count && poll(&pfd, 1, 2000) > 0) {
        int n = psample_recv(sub, batch, 64, sizeof batch[0]);
        if (n == -EAGAIN)
            continue;
        CHECK(n >= 0, "psample_recv: %s", psample_strerror(n));
        if (n < 0)
            break;
        for (int i = 0; i < n && got < MAX_KEPT; i++)
            keep(&kept[got++], &batch[i]);
    }
    CHECK(got == count, "subscription received %d samples for %d datagrams", got, count);
    psample_close(sub);
    /* tcpdump reads and writes each message as it comes (immediate mode, -U): give it time to
     * catch up with the last, under TCG. */
    usleep(1500 * 1000);
    CHECK(stop_tcpdump(dump) == 0, "tcpdump did not exit cleanly");

    /* The capture: every message of the psample family, in order, against the records. */
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(file, errbuf);
    CHECK(pc != NULL, "pcap_open_offline %s: %s", file, errbuf);
    if (!pc)
        return finish("nlmon round trip");
    CHECK(pcap_datalink(pc) == DLT_NETLINK, "link type %d, want DLT_NETLINK (%d)", pcap_datalink(pc), DLT_NETLINK);
    struct pcap_pkthdr *h;
    const u_char *bytes;
    int records = 0, matched = 0, other = 0, truncated = 0;
    while (pcap_next_ex(pc, &h, &bytes) == 1) {
        records++;
        if (h->caplen != h->len) {
            truncated++;
            continue;
        }
        uint16_t arphrd, proto;
        if (h->caplen < NETLINK_COOKED_HEADER + NLMSG_HDRLEN) {
            other++;
            continue;
        }
        memcpy(&arphrd, bytes + 2, 2);
        memcpy(&proto, bytes + 14, 2);
        const struct nlmsghdr *nh = (const struct nlmsghdr *)(bytes + NETLINK_COOKED_HEADER);
        size_t len = h->caplen - NETLINK_COOKED_HEADER;
        if (ntohs(arphrd) != ARPHRD_NETLINK_TYPE || ntohs(proto) != NETLINK_GENERIC || nh->nlmsg_type != family) {
            other++;
            continue;
        }
        CHECK(nh->nlmsg_len == len, "record %d: nlmsg_len %u in a %zu-byte message", records, nh->nlmsg_len, len);
        struct psample_packet d;
        int rc = psample_decode(nh, len, &d, sizeof d);
        CHECK(rc == 0, "record %d: psample_decode: %s", records, psample_strerror(rc));
        if (rc != 0)
            continue;
        /* The delivered record with the same sequence number (a lost capture shows as a
         * missing match below, not as every later message differing). */
        int k = 0;
        while (k < got && kept[k].pkt.group_seq != d.group_seq)
            k++;
        CHECK(k < got, "record %d: group_seq %u was not delivered", records, d.group_seq);
        if (k == got)
            continue;
        CHECK(!compared[k], "record %d: group_seq %u captured twice", records, d.group_seq);
        compare(k, &kept[k], &d);
        compared[k] = 1;
        matched++;
    }
    pcap_close(pc);
    CHECK(truncated == 0, "%d captured records truncated", truncated);
    CHECK(matched == got, "%d psample messages captured, %d records delivered", matched, got);
    printf("nlmon round trip: %d records in the capture, %d psample messages decoded and compared, %d other\n",
           records, matched, other);
    return finish("nlmon round trip");
}
