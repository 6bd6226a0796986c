/* Memory of one libpsample handle (bench/in-vm.sh, phase "memory"):
 *
 *   memory BATCH        opts.batch = BATCH (0: the default, 16), everything else default
 *
 * Reads this process's VmRSS and VmSize (/proc/self/status) before psample_subscribe(), after
 * it, and after draining the queue (then also AnonHugePages, /proc/self/smaps_rollup); and the socket's kernel memory (SO_MEMINFO on psample_fd()):
 * the receive buffer limit (SK_MEMINFO_RCVBUF) and what the queued samples hold
 * (SK_MEMINFO_RMEM_ALLOC). Protocol: prints "ready pid=N" once subscribed; the script then sends
 * datagrams (sampled at rate 1) and SIGUSR1 when the sender is done; the program reads the
 * queued memory, drains the queue with nonblocking psample_recv() calls of BATCH records, and
 * prints one "memory ..." line. Bounded: it waits at most 300 s for SIGUSR1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "psample.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

static volatile sig_atomic_t sender_done;

static void on_usr1(int sig)
{
    (void)sig;
    sender_done = 1;
}

/* A "Key:   N kB" line of a /proc file, in KiB; -1 when missing. */
static long proc_kib(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long status_kib(const char *key)
{
    return proc_kib("/proc/self/status", key);
}

static int meminfo(int fd, uint32_t mem[9])
{
    socklen_t len = 9 * sizeof mem[0];
    memset(mem, 0, len);
    return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: memory BATCH\n");
        return 2;
    }
    uint32_t batch = (uint32_t)strtoul(argv[1], NULL, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    /* The receive array for the largest batch, touched now so it is in the "before" figures. */
    static struct psample_packet pkts[PSAMPLE_MAX_BATCH];
    memset(pkts, 0, sizeof pkts);
    long rss0 = status_kib("VmRSS"), vsz0 = status_kib("VmSize");
    struct psample_opts opts = { .size = sizeof opts, .flags = PSAMPLE_SUB_NONBLOCK, .batch = batch };
    struct psample_sub *sub = NULL;
    int rc = psample_subscribe(&sub, &opts);
    if (rc != 0) {
        fprintf(stderr, "psample_subscribe: %s\n", psample_strerror(rc));
        return 1;
    }
    long rss1 = status_kib("VmRSS"), vsz1 = status_kib("VmSize");
    int fd = psample_fd(sub);
    uint32_t mem[9];
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
    for (int i = 0; i < 3000 && !sender_done; i++) /* 300 s at most */
        usleep(100000);
    usleep(200000); /* let the last samples land */
    if (meminfo(fd, mem) != 0) {
        perror("SO_MEMINFO");
        return 1;
    }
    uint32_t rmem_queued = mem[0], rcvbuf = mem[1];
    uint64_t received = 0, calls = 0;
    uint32_t n_recv = batch ? batch : PSAMPLE_DEFAULT_BATCH;
    for (;;) {
        int n = psample_recv(sub, pkts, n_recv, sizeof pkts[0]);
        if (n == -EINTR)
            continue;
        if (n < 0) {
            if (n != -EAGAIN)
                fprintf(stderr, "psample_recv: %s\n", psample_strerror(n));
            break;
        }
        calls++;
        received += (uint64_t)n;
    }
    long rss2 = status_kib("VmRSS"), vsz2 = status_kib("VmSize");
    /* Transparent huge pages: one touched byte can make 2 MiB resident. */
    long huge2 = proc_kib("/proc/self/smaps_rollup", "AnonHugePages");
    meminfo(fd, mem);
    struct psample_stats st;
    memset(&st, 0, sizeof st);
    if (psample_stats(sub, &st, sizeof st) != 0)
        fprintf(stderr, "psample_stats failed\n");
    printf("memory batch=%u rss_before_kib=%ld rss_subscribed_kib=%ld rss_drained_kib=%ld vsz_before_kib=%ld "
           "vsz_subscribed_kib=%ld vsz_drained_kib=%ld anon_huge_drained_kib=%ld rcvbuf=%u rmem_queued=%u rmem_after=%u received=%llu calls=%llu "
           "kernel_drops=%llu\n",
           batch, rss0, rss1, rss2, vsz0, vsz1, vsz2, huge2, rcvbuf, rmem_queued, mem[0], (unsigned long long)received,
           (unsigned long long)calls, (unsigned long long)st.kernel_drops);
    psample_close(sub);
    return 0;
}
