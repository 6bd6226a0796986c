/* The psample family and its "packets" multicast group, resolved by hand with
 * CTRL_CMD_GETFAMILY: the minimal receivers' control path (bench/recv_baseline.c,
 * bench/recv_latency.c), written without libpsample on purpose. */
#ifndef PSAMPLE_BENCH_GENL_H
#define PSAMPLE_BENCH_GENL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* CTRL_CMD_GETFAMILY "psample": its family id and the id of its "packets" group. */
static void resolve(uint16_t *family, uint32_t *group)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0)
        die("socket");
    struct {
        struct nlmsghdr nh;
        struct genlmsghdr gh;
        struct nlattr na;
        char name[8];
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = GENL_ID_CTRL;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.nh.nlmsg_seq = 1;
    req.gh.cmd = CTRL_CMD_GETFAMILY;
    req.gh.version = 1;
    req.na.nla_type = CTRL_ATTR_FAMILY_NAME;
    req.na.nla_len = NLA_HDRLEN + sizeof "psample";
    memcpy(req.name, "psample", sizeof "psample");
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        die("sendto");
    static char buf[16384];
    ssize_t len = recv(fd, buf, sizeof buf, 0);
    if (len < 0)
        die("recv");
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(nh, (size_t)len) || nh->nlmsg_type == NLMSG_ERROR) {
        fprintf(stderr, "psample family not found (modprobe psample)\n");
        exit(1);
    }
    *family = 0;
    *group = 0;
    char *p = (char *)NLMSG_DATA(nh) + GENL_HDRLEN, *end = (char *)nh + nh->nlmsg_len;
    while (p + NLA_HDRLEN <= end) {
        struct nlattr *a = (struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
            break;
        int type = a->nla_type & NLA_TYPE_MASK;
        if (type == CTRL_ATTR_FAMILY_ID)
            memcpy(family, p + NLA_HDRLEN, 2);
        if (type == CTRL_ATTR_MCAST_GROUPS) {
            /* nested: one nest per group, each with a name and an id */
            char *g = p + NLA_HDRLEN, *gend = p + a->nla_len;
            while (g + NLA_HDRLEN <= gend) {
                struct nlattr *ga = (struct nlattr *)g;
                if (ga->nla_len < NLA_HDRLEN || g + ga->nla_len > gend)
                    break;
                char *q = g + NLA_HDRLEN, *qend = g + ga->nla_len;
                uint32_t id = 0;
                int is_packets = 0;
                while (q + NLA_HDRLEN <= qend) {
                    struct nlattr *qa = (struct nlattr *)q;
                    if (qa->nla_len < NLA_HDRLEN || q + qa->nla_len > qend)
                        break;
                    if ((qa->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_ID)
                        memcpy(&id, q + NLA_HDRLEN, 4);
                    if ((qa->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_NAME)
                        is_packets = strcmp(q + NLA_HDRLEN, "packets") == 0;
                    q += NLA_ALIGN(qa->nla_len);
                }
                if (is_packets)
                    *group = id;
                g += NLA_ALIGN(ga->nla_len);
            }
        }
        p += NLA_ALIGN(a->nla_len);
    }
    close(fd);
    if (!*family || !*group) {
        fprintf(stderr, "psample family %u / packets group %u not resolved\n", *family, *group);
        exit(1);
    }
}

#endif
