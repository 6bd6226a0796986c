/* SPDX-License-Identifier: MIT */
/*
 * The handle functions on a live handle, on a host without the psample module:
 * PSAMPLE_SUB_WAIT_FAMILY gives a real handle (a netlink socket joined to nlctrl's notify group,
 * waiting for psample) where plain options give -ENOENT. Checks psample_fd, psample_stats,
 * psample_group_stats, psample_wakeup with psample_recv's -ECANCELED (queued, and while another
 * thread is blocked inside psample_recv), psample_poll_fd's readiness for a wake-up, -EAGAIN on a
 * nonblocking handle, and psample_close.
 * Prints "N passed, M failed" last; exits 1 on any failure. Built and run by tests/c_abi.rs.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "psample.h"

#include "check.h"

static struct psample_sub *open_waiting(uint32_t extra_flags)
{
	struct psample_opts o;
	struct psample_sub *sub = NULL;
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	o.flags = PSAMPLE_SUB_WAIT_FAMILY | extra_flags;
	int rc = psample_subscribe(&sub, &o);
	if (rc != 0)
		printf("  psample_subscribe(WAIT_FAMILY): %d %s\n", rc, psample_strerror(rc));
	check(rc == 0 && sub != NULL, __LINE__, "psample_subscribe with PSAMPLE_SUB_WAIT_FAMILY gives a handle");
	return rc == 0 ? sub : NULL;
}

static int sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

static void test_fd_and_stats(struct psample_sub *sub)
{
	int fd = psample_fd(sub);
	CHECK(fd >= 0);
	CHECK(psample_fd(sub) == fd); /* fixed for the handle's life */
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN) == AF_NETLINK);
	CHECK(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL) == NETLINK_GENERIC);

	struct psample_stats st;
	memset(&st, 0xaa, sizeof st);
	CHECK(psample_stats(sub, &st, sizeof st) == 0);
	CHECK(st.size == sizeof st);
	CHECK(st.delivered == 0 && st.kernel_drops == 0 && st.seq_gaps == 0 && st.decode_errors == 0);
	CHECK(st.joined == 0); /* waiting for psample, which this host does not have */
	CHECK(st.rcvbuf > 0);
	CHECK(st.groups_tracked == 0);

	/* A caller built against a newer header: the library fills what it knows, zeroes the rest. */
	struct {
		struct psample_stats st;
		uint8_t tail[16];
	} big;
	memset(&big, 0xaa, sizeof big);
	CHECK(psample_stats(sub, &big.st, sizeof big) == 0);
	CHECK(big.st.size == sizeof big.st);
	uint8_t zero[sizeof big.tail] = { 0 };
	CHECK(memcmp(big.tail, zero, sizeof zero) == 0);
	/* An older caller: only the first version's bytes are written. */
	union {
		struct psample_stats st;
		uint8_t bytes[sizeof(struct psample_stats) + 8];
	} old;
	memset(&old, 0xaa, sizeof old);
	CHECK(psample_stats(sub, &old.st, PSAMPLE_STATS_SIZE_V1) == 0);
	CHECK(old.bytes[PSAMPLE_STATS_SIZE_V1] == 0xaa && old.bytes[sizeof old.bytes - 1] == 0xaa);
	CHECK(old.st.size == PSAMPLE_STATS_SIZE_V1);
	errno = 0;
	CHECK(psample_stats(sub, &st, PSAMPLE_STATS_SIZE_V1 - 1) == -EINVAL && errno == EINVAL);

	struct psample_group_stats gs[2];
	size_t total = 12345;
	CHECK(psample_group_stats(sub, gs, 2, sizeof gs[0], &total) == 0);
	CHECK(total == 0); /* nothing received */
	CHECK(psample_group_stats(sub, NULL, 0, sizeof gs[0], NULL) == 0);
	errno = 0;
	CHECK(psample_group_stats(sub, gs, 2, PSAMPLE_GROUP_STATS_SIZE_V1 - 1, &total) == -EINVAL && errno == EINVAL);
}

static int recv_one(struct psample_sub *sub)
{
	struct psample_packet pkts[4];
	return psample_recv(sub, pkts, 4, sizeof pkts[0]);
}

static void test_nonblocking(void)
{
	struct psample_sub *sub = open_waiting(PSAMPLE_SUB_NONBLOCK);
	if (!sub)
		return;
	CHECK(fcntl(psample_fd(sub), F_GETFL) & O_NONBLOCK);
	errno = 0;
	CHECK(recv_one(sub) == -EAGAIN && errno == EAGAIN);
	/* A wake-up answers before -EAGAIN, once per call. */
	CHECK(psample_wakeup(sub) == 0);
	CHECK(psample_wakeup(sub) == 0);
	CHECK(recv_one(sub) == -ECANCELED);
	CHECK(recv_one(sub) == -ECANCELED);
	CHECK(recv_one(sub) == -EAGAIN);
	struct psample_packet pkt;
	CHECK(psample_recv(sub, &pkt, 0, sizeof pkt) == 0); /* n == 0: nothing to do */

	/* psample_poll_fd: readable for a pending wake-up, quiet again once it was answered. */
	errno = 0;
	CHECK(psample_poll_fd(NULL) == -EINVAL && errno == EINVAL);
	struct pollfd pfd = { .fd = psample_poll_fd(sub), .events = POLLIN };
	CHECK(pfd.fd >= 0);
	CHECK(poll(&pfd, 1, 0) == 0); /* nothing queued, nothing pending */
	CHECK(psample_wakeup(sub) == 0);
	CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN));
	CHECK(recv_one(sub) == -ECANCELED);
	CHECK(recv_one(sub) == -EAGAIN); /* the wake-up's token is not a record */
	pfd.revents = 0;
	CHECK(poll(&pfd, 1, 0) == 0); /* and it is gone: no busy loop on a stale readiness */
	psample_close(sub);
}

struct waker {
	struct psample_sub *sub;
	int rc;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	w->rc = psample_wakeup(w->sub);
	return NULL;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_blocking(void)
{
	struct psample_sub *sub = open_waiting(0);
	if (!sub)
		return;
	CHECK(!(fcntl(psample_fd(sub), F_GETFL) & O_NONBLOCK));
	test_fd_and_stats(sub);

	/* Pending before the call: the blocking receive returns at once. */
	CHECK(psample_wakeup(sub) == 0);
	errno = 0;
	CHECK(recv_one(sub) == -ECANCELED && errno == ECANCELED);

	/* From another thread while this one is blocked inside psample_recv. */
	struct waker w = { sub, -1 };
	pthread_t t;
	double start = now();
	CHECK(pthread_create(&t, NULL, wake_later, &w) == 0);
	int rc = recv_one(sub);
	double waited = now() - start;
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(w.rc == 0);
	CHECK(rc == -ECANCELED);
	if (rc != -ECANCELED)
		printf("  psample_recv: %d %s\n", rc, psample_strerror(rc));
	CHECK(waited >= 0.09 && waited < 10.0); /* it did block until the wake-up */

	struct psample_stats st;
	CHECK(psample_stats(sub, &st, sizeof st) == 0);
	CHECK(st.delivered == 0);

	/* Close frees the socket: its descriptor is closed (nothing else opens one meanwhile). */
	int fd = psample_fd(sub);
	psample_close(sub);
	errno = 0;
	CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/* PSAMPLE_SUB_NETNS_FD: the library uses the caller's descriptor during the call only, and
 * neither keeps nor closes it. Entering a namespace needs CAP_SYS_ADMIN: run as root. */
static void test_netns_fd(void)
{
	struct psample_opts o;
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	o.flags = PSAMPLE_SUB_WAIT_FAMILY | PSAMPLE_SUB_NETNS_FD;
	o.netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(o.netns_fd >= 0);
	struct psample_sub *sub = NULL;
	int rc = psample_subscribe(&sub, &o);
	if (rc != 0)
		printf("  psample_subscribe(NETNS_FD): %d %s\n", rc, psample_strerror(rc));
	CHECK(rc == 0 && sub != NULL);
	CHECK(fcntl(o.netns_fd, F_GETFD) == FD_CLOEXEC); /* still the caller's, still open */
	psample_close(sub);
	CHECK(fcntl(o.netns_fd, F_GETFD) == FD_CLOEXEC);
	CHECK(close(o.netns_fd) == 0);
	/* A descriptor closed before the call is refused, not used. */
	struct psample_sub *none = NULL;
	errno = 0;
	CHECK(psample_subscribe(&none, &o) == -EBADF && errno == EBADF && none == NULL);
}

int main(void)
{
	alarm(60); /* a receive that never wakes kills the test (SIGALRM) instead of hanging it */
	test_nonblocking();
	test_blocking();
	test_netns_fd();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
