/* Minimal psample receiver written for the benchmark, without libpsample: what a careful C
 * programmer would write by hand to count samples as cheaply as possible.
 *
 *   recv_baseline [-r RCVBUF] [-n] [-m] [-d]
 *     -r RCVBUF  SO_RCVBUFFORCE RCVBUF bytes (the kernel doubles it); 0 or absent: do not touch
 *                the receive buffer (kernel default, net.core.rmem_default)
 *     -n         NETLINK_NO_ENOBUFS on; absent: the kernel's default (overruns reported as
 *                ENOBUFS, and the socket drops everything until its queue is empty)
 *     -m         also ask for each datagram's sender address (msg_name) and control messages
 *                (64-byte msg_control), as libpsample does; for the cost analysis only
 *     -d         drain mode (bench/instructions.sh): say "ready", wait for SIGUSR1 (the sender
 *                has filled the queue), then drain it in drain_queue() with
 *                recvmmsg(MSG_DONTWAIT) until EAGAIN, and print the result line
 *
 * Raw AF_NETLINK/NETLINK_GENERIC socket; the "psample" family and its "packets" group are
 * resolved with a hand-written CTRL_CMD_GETFAMILY; NETLINK_ADD_MEMBERSHIP; blocking
 * recvmmsg(MSG_WAITFORONE) into 16 slots of 68 KiB (the library's slot size); a minimal
 * attribute walk for group, sequence number and data; the same data touch as the library
 * receiver (bench.h). Kernel drops from SO_MEMINFO. Same stop rule and output as recv_psample. */
#include "bench.h"
#include "genl.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#define BATCH 16
#define SLOT (68 * 1024)
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static char slots[BATCH][SLOT];
static struct iovec iov[BATCH];
static struct mmsghdr hdrs[BATCH];
static struct sockaddr_nl names[BATCH];
static uint64_t control[BATCH][8];

/* The measured part of drain mode (callgrind --toggle-collect=drain_queue): recvmmsg of up to
 * BATCH datagrams without waiting until the queue is empty, the same walk and touch as the
 * blocking loop. `calls` counts every recvmmsg, the final EAGAIN included. */
__attribute__((noinline)) static uint64_t drain_queue(int fd, uint16_t family, struct touch *t, uint64_t *calls)
{
    uint64_t got = 0;
    for (;;) {
        int n = recvmmsg(fd, hdrs, BATCH, MSG_DONTWAIT, NULL);
        (*calls)++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                perror("recvmmsg");
            return got;
        }
        for (int i = 0; i < n; i++)
            got += baseline_walk(slots[i], hdrs[i].msg_len, family, t);
    }
}

int main(int argc, char **argv)
{
    long rcvbuf = 0;
    int no_enobufs = 0, meta = 0, drain = 0, opt;
    while ((opt = getopt(argc, argv, "r:nmd")) != -1) {
        if (opt == 'r')
            rcvbuf = strtol(optarg, NULL, 0);
        else if (opt == 'n')
            no_enobufs = 1;
        else if (opt == 'm')
            meta = 1;
        else if (opt == 'd')
            drain = 1;
        else {
            fprintf(stderr, "usage: recv_baseline [-r RCVBUF] [-n] [-m] [-d]\n");
            return 2;
        }
    }
    uint16_t family;
    uint32_t group;
    resolve(&family, &group);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0)
        die("socket");
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0)
        die("bind");
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ (int)rcvbuf }, sizeof(int)) != 0)
        die("SO_RCVBUFFORCE");
    if (no_enobufs && setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &(int){ 1 }, sizeof(int)) != 0)
        die("NETLINK_NO_ENOBUFS");
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
        die("NETLINK_ADD_MEMBERSHIP");

    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = slots[i];
        iov[i].iov_len = SLOT;
        hdrs[i].msg_hdr.msg_iov = &iov[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    struct touch t = { 0 };
    uint64_t calls = 0;
    long long enobufs = 0, errors = 0;
    uint64_t user0, user1, cpu0, wall0;
    if (drain) {
        bench_wait_filled();
        cpu0 = cpu_ns(&user0), wall0 = mono_ns();
        drain_marker("begin");
        received = drain_queue(fd, family, &t, &calls);
        drain_marker("end");
    } else {
        bench_signals();
        print_ready();
        cpu0 = cpu_ns(&user0), wall0 = mono_ns();
    }
    while (!drain && !stop) {
        if (meta) {
            for (int i = 0; i < BATCH; i++) {
                hdrs[i].msg_hdr.msg_name = &names[i];
                hdrs[i].msg_hdr.msg_namelen = sizeof names[i];
                hdrs[i].msg_hdr.msg_control = control[i];
                hdrs[i].msg_hdr.msg_controllen = sizeof control[i];
            }
        }
        int n = recvmmsg(fd, hdrs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == ENOBUFS)
                enobufs++;
            else if (errno != EINTR && ++errors < 10)
                perror("recvmmsg");
            continue;
        }
        calls++;
        uint64_t got = 0;
        for (int i = 0; i < n; i++)
            got += baseline_walk(slots[i], hdrs[i].msg_len, family, &t);
        received += got;
    }
    uint64_t cpu = cpu_ns(&user1) - cpu0, user = user1 - user0, wall = mono_ns() - wall0;
    uint32_t mem[9] = { 0 };
    socklen_t mlen = sizeof mem;
    long long drops = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &mlen) == 0 ? (long long)mem[8] : -1;
    int granted = 0;
    socklen_t glen = sizeof granted;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
    char who[64];
    snprintf(who, sizeof who, "baseline%s%s%s%s", rcvbuf > 0 ? "-opt" : "", no_enobufs ? "-noenobufs" : "",
             meta ? "-meta" : "", drain ? "-drain" : "");
    print_result(who, cpu, user, wall, calls, drops, -1, enobufs, granted, &t);
    close(fd);
    return 0;
}
