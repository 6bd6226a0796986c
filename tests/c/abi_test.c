/* SPDX-License-Identifier: MIT */
/*
 * Calls every libpsample function from C through the shared library, with good and bad
 * arguments, and checks the documented return value and errno of each. Runs on a host without
 * the psample module: subscribing with valid options must then fail with -ENOENT.
 * Prints "N passed, M failed" last; exits 1 on any failure. Built and run by tests/c_abi.rs.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psample.h"

/* The first version ends with `tunnel`; seq_lost was appended after it. */
_Static_assert(offsetof(struct psample_packet, tunnel) + sizeof(struct psample_tunnel) == PSAMPLE_PACKET_SIZE_V1,
	       "psample_packet first version");
_Static_assert(offsetof(struct psample_packet, seq_lost) == PSAMPLE_PACKET_SIZE_V1, "seq_lost appended");
_Static_assert(sizeof(struct psample_packet) == 200 && sizeof(struct psample_packet) % 8 == 0, "psample_packet size");
_Static_assert(sizeof(struct psample_group_stats) == PSAMPLE_GROUP_STATS_SIZE_V1, "psample_group_stats size");
_Static_assert(sizeof(struct psample_stats) >= PSAMPLE_STATS_SIZE_V1, "psample_stats size");
_Static_assert(offsetof(struct psample_stats, joined) == PSAMPLE_STATS_SIZE_V1, "joined is appended after v1");
_Static_assert(sizeof(struct psample_stats) % 8 == 0, "psample_stats size is a multiple of 8");
_Static_assert(sizeof(struct psample_opts) == 40, "psample_opts size");
_Static_assert(sizeof(struct psample_tunnel) == 88, "psample_tunnel size");
_Static_assert(sizeof(struct psample_group_info) == 16, "psample_group_info size");

#include "check.h"

/* `call` must return -err and leave errno == err (the header promises both). */
#define EXPECT_ERR(call, err)                                                                 \
	do {                                                                                  \
		errno = 0;                                                                    \
		int rc_ = (call);                                                             \
		int errno_ = errno;                                                           \
		if (rc_ != -(err) || errno_ != (err))                                         \
			printf("  got rc %d errno %d, want %d\n", rc_, errno_, -(err));        \
		check(rc_ == -(err) && errno_ == (err), __LINE__, #call " == -" #err);        \
	} while (0)

static struct psample_opts opts_ok(void)
{
	struct psample_opts o;
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	return o;
}

/* Subscribe must fail with `err` and leave *out NULL even when it held garbage before. */
static void expect_subscribe(const struct psample_opts *o, int err, int line)
{
	struct psample_sub *sub = (struct psample_sub *)(uintptr_t)0xdeadbeef;
	errno = 0;
	int rc = psample_subscribe(&sub, o);
	int e = errno;
	if (rc != -err || e != err)
		printf("  got rc %d errno %d, want %d\n", rc, e, -err);
	check(rc == -err && e == err, line, "psample_subscribe rc and errno");
	check(sub == NULL, line, "psample_subscribe sets *out = NULL on failure");
	if (rc == 0)
		psample_close(sub); /* not expected here, but do not leak */
}

static void test_version(void)
{
	char want[32];
	snprintf(want, sizeof want, "%d.%d.%d", PSAMPLE_VERSION_MAJOR, PSAMPLE_VERSION_MINOR,
		 PSAMPLE_VERSION_PATCH);
	CHECK(psample_version() != NULL);
	CHECK(strcmp(psample_version(), want) == 0);
}

static void test_strerror(void)
{
	CHECK(strstr(psample_strerror(-ENOENT), "modprobe psample") != NULL);
	CHECK(strstr(psample_strerror(ENOENT), "modprobe psample") != NULL);
	CHECK(strstr(psample_strerror(-EPERM), "CAP_NET_ADMIN") != NULL);
	CHECK(strstr(psample_strerror(-ECANCELED), "psample_wakeup") != NULL);
	int odd[] = { 0, INT_MIN, INT_MAX, -1, 1, 4095, -4095, 123456 };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		const char *s = psample_strerror(odd[i]);
		check(s != NULL && s[0] != '\0', __LINE__, "psample_strerror(odd value) not NULL or empty");
	}
	srand(42);
	int ok = 1;
	for (int i = 0; i < 10000; i++) {
		int v = (int)((unsigned)rand() << 16 ^ (unsigned)rand());
		const char *s = psample_strerror(v);
		ok &= s != NULL && strlen(s) > 0;
	}
	CHECK(ok);
}

static void test_subscribe(void)
{
	struct psample_opts o;
	uint32_t groups[PSAMPLE_MAX_GROUPS + 1] = { 1 };

	EXPECT_ERR(psample_subscribe(NULL, NULL), EINVAL);
	o = opts_ok();
	EXPECT_ERR(psample_subscribe(NULL, &o), EINVAL);

	o = opts_ok(), o.size = 0;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.size = 8; /* below PSAMPLE_OPTS_SIZE_V1 */
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.size = PSAMPLE_OPTS_SIZE_V1 - 1;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.size = (size_t)1 << 40; /* garbage: refused before anything past sizeof is read */
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.size = PSAMPLE_MAX_STRUCT_SIZE + 1;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.flags = 1u << 31;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.flags = PSAMPLE_SUB_WAIT_FAMILY << 1; /* first unused bit */
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.reserved = 1;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.rcvbuf = PSAMPLE_MAX_RCVBUF + 1u;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.batch = PSAMPLE_MAX_BATCH + 1;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.n_groups = 1, o.groups = NULL;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.n_groups = PSAMPLE_MAX_GROUPS + 1, o.groups = groups;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.flags = PSAMPLE_SUB_NO_SAMPLES;
	expect_subscribe(&o, EINVAL, __LINE__);
	o = opts_ok(), o.flags = PSAMPLE_SUB_NETNS_FD, o.netns_fd = -1;
	expect_subscribe(&o, EBADF, __LINE__);

	/* A newer caller's struct: bytes past what the library knows must be zero. */
	struct {
		struct psample_opts o;
		uint8_t tail[24];
	} big;
	memset(&big, 0, sizeof big);
	big.o.size = sizeof big;
	big.tail[5] = 1;
	expect_subscribe(&big.o, EINVAL, __LINE__);

	/* Valid options: this host has no psample, so every valid form ends in -ENOENT. */
	expect_subscribe(NULL, ENOENT, __LINE__);
	o = opts_ok();
	expect_subscribe(&o, ENOENT, __LINE__);
	o = opts_ok(), o.size = PSAMPLE_OPTS_SIZE_V1; /* an old caller; later fields not read */
	o.reserved = 0xffffffff;
	expect_subscribe(&o, ENOENT, __LINE__);
	big.tail[5] = 0;
	expect_subscribe(&big.o, ENOENT, __LINE__);
	o = opts_ok(), o.n_groups = PSAMPLE_MAX_GROUPS, o.groups = groups;
	o.rcvbuf = PSAMPLE_MAX_RCVBUF, o.batch = PSAMPLE_MAX_BATCH;
	o.flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ENOBUFS | PSAMPLE_SUB_ACCEPT_USERSPACE |
		  PSAMPLE_SUB_CONFIG_EVENTS | PSAMPLE_SUB_NO_SAMPLES | PSAMPLE_SUB_RESUBSCRIBE;
	expect_subscribe(&o, ENOENT, __LINE__);
	o = opts_ok(), o.n_groups = 0, o.groups = NULL;
	expect_subscribe(&o, ENOENT, __LINE__);
}

static void test_handle_functions(void)
{
	struct psample_packet pkts[2];
	struct psample_stats st;
	struct psample_group_stats gs[2];
	size_t total = 12345;

	EXPECT_ERR(psample_recv(NULL, pkts, 1, sizeof pkts[0]), EINVAL);
	EXPECT_ERR(psample_recv(NULL, pkts, 0, sizeof pkts[0]), EINVAL);
	EXPECT_ERR(psample_recv(NULL, NULL, 1, sizeof pkts[0]), EINVAL);
	EXPECT_ERR(psample_fd(NULL), EINVAL);
	EXPECT_ERR(psample_poll_fd(NULL), EINVAL);
	EXPECT_ERR(psample_wakeup(NULL), EINVAL);
	EXPECT_ERR(psample_stats(NULL, &st, sizeof st), EINVAL);
	EXPECT_ERR(psample_stats(NULL, NULL, sizeof st), EINVAL);
	EXPECT_ERR(psample_group_stats(NULL, gs, 2, sizeof gs[0], &total), EINVAL);
	EXPECT_ERR(psample_group_stats(NULL, NULL, 0, sizeof gs[0], NULL), EINVAL);
	CHECK(total == 12345); /* not written on failure */
	errno = EILSEQ;
	psample_close(NULL); /* documented no-op: not even errno changes */
	CHECK(errno == EILSEQ);
}

/* --- psample_decode ------------------------------------------------------------------------ */

enum { NL_HDR = 16, ATTRS = 20 };

static size_t put_attr(uint8_t *buf, size_t off, uint16_t type, const void *payload, uint16_t len)
{
	uint16_t nla_len = (uint16_t)(4 + len);
	memcpy(buf + off, &nla_len, 2);
	memcpy(buf + off + 2, &type, 2);
	memcpy(buf + off + 4, payload, len);
	size_t end = off + 4 + len;
	while (end % 4)
		buf[end++] = 0;
	return end;
}

static size_t put_u16(uint8_t *b, size_t off, uint16_t t, uint16_t v) { return put_attr(b, off, t, &v, 2); }
static size_t put_u32(uint8_t *b, size_t off, uint16_t t, uint32_t v) { return put_attr(b, off, t, &v, 4); }
static size_t put_u64(uint8_t *b, size_t off, uint16_t t, uint64_t v) { return put_attr(b, off, t, &v, 8); }

/* nlmsghdr + genlmsghdr in host order, as the kernel sends them; nlmsg_len set by finish(). */
static size_t put_headers(uint8_t *b, uint16_t nl_type, uint8_t cmd)
{
	uint16_t zero16 = 0;
	uint32_t zero32 = 0;
	memcpy(b + 4, &nl_type, 2);
	memcpy(b + 6, &zero16, 2); /* flags */
	memcpy(b + 8, &zero32, 4); /* seq */
	memcpy(b + 12, &zero32, 4); /* pid */
	b[16] = cmd;
	b[17] = 1; /* genl version */
	memcpy(b + 18, &zero16, 2);
	return ATTRS;
}

static size_t finish(uint8_t *b, size_t len)
{
	uint32_t l = (uint32_t)len;
	memcpy(b, &l, 4);
	return len;
}

/* The PSAMPLE_ATTR_* numbers of the kernel uapi. */
enum { A_IIF = 0, A_OIF = 1, A_ORIGSIZE = 2, A_GROUP = 3, A_SEQ = 4, A_RATE = 5, A_DATA = 6,
       A_REFCOUNT = 7, A_TS = 13, A_PROTO = 14, A_COOKIE = 15 };

static uint8_t payload[60];
static size_t data_off; /* offset of DATA's payload in the sample message */

static size_t build_sample(uint8_t *b)
{
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	size_t off = put_headers(b, 0x1c, 0 /* PSAMPLE_CMD_SAMPLE */);
	off = put_u16(b, off, A_IIF, 7);
	off = put_u16(b, off, A_OIF, 9);
	off = put_u32(b, off, A_RATE, 100);
	off = put_u32(b, off, A_ORIGSIZE, 1514);
	off = put_u32(b, off, A_GROUP, 42);
	off = put_u32(b, off, A_SEQ, 12345);
	off = put_u64(b, off, A_TS, UINT64_C(1700000000123456789));
	off = put_u16(b, off, A_PROTO, 0x0800);
	data_off = off + 4;
	off = put_attr(b, off, A_DATA, payload, sizeof payload);
	return finish(b, off);
}

static void test_decode(void)
{
	uint8_t msg[512], bad[512];
	size_t len = build_sample(msg);
	struct psample_packet p;
	const uint64_t want_fields = PSAMPLE_FIELD_IIFINDEX | PSAMPLE_FIELD_OIFINDEX |
		PSAMPLE_FIELD_SAMPLE_RATE | PSAMPLE_FIELD_ORIGSIZE | PSAMPLE_FIELD_SAMPLE_GROUP |
		PSAMPLE_FIELD_GROUP_SEQ | PSAMPLE_FIELD_TIMESTAMP | PSAMPLE_FIELD_PROTO |
		PSAMPLE_FIELD_DATA;

	CHECK(len == 20 + 6 * 8 + 12 + 8 + 64); /* headers, six 4-byte slots, u64, u16, data */
	memset(&p, 0x5a, sizeof p);
	CHECK(psample_decode(msg, len, &p, sizeof p) == 0);
	CHECK(p.fields == want_fields);
	CHECK(p.kind == PSAMPLE_KIND_SAMPLE);
	CHECK(p.iifindex == 7);
	CHECK(p.oifindex == 9);
	CHECK(p.rate == 100);
	CHECK(p.orig_size == 1514);
	CHECK(p.group == 42);
	CHECK(p.group_seq == 12345);
	CHECK(p.timestamp_ns == UINT64_C(1700000000123456789));
	CHECK(p.proto == 0x0800);
	CHECK(p.data == msg + data_off); /* points into the caller's message, no copy */
	CHECK(p.data_len == sizeof payload);
	CHECK(p.data && memcmp(p.data, payload, sizeof payload) == 0);
	/* Absent values are zero, transport fields at their "none" values. */
	CHECK(p.latency_ns == 0 && p.out_tc_occ == 0 && p.out_tc == 0 && p.group_refcount == 0);
	CHECK(p.user_cookie == NULL && p.user_cookie_len == 0);
	CHECK(p.tunnel.fields == 0 && p.tunnel.geneve_opts == NULL && p.tunnel.erspan_opts == NULL);
	CHECK(p.flags == 0 && p.sender_portid == 0 && p.nsid == -1);
	CHECK(p.seq_lost == 0); /* no handle, no previous sample */
	CHECK(psample_effective_rate(&p) == 100);

	/* pkt_size: V1 is enough and nothing past it is written; a larger one (a newer header) gets
	 * its bytes past the library's struct zeroed; smaller is refused. */
	struct {
		struct psample_packet p;
		uint8_t tail[64];
	} big;
	memset(&big, 0xAA, sizeof big);
	CHECK(psample_decode(msg, len, &big.p, sizeof big) == 0);
	CHECK(big.p.group == 42 && big.p.fields == want_fields && big.p.seq_lost == 0);
	int zeroed = 1;
	for (size_t i = 0; i < sizeof big.tail; i++)
		zeroed &= big.tail[i] == 0;
	CHECK(zeroed);
	memset(&big, 0xAA, sizeof big);
	CHECK(psample_decode(msg, len, &big.p, PSAMPLE_PACKET_SIZE_V1) == 0);
	CHECK(big.p.group == 42);
	int untouched = 1;
	for (size_t i = PSAMPLE_PACKET_SIZE_V1; i < sizeof big; i++)
		untouched &= ((const uint8_t *)&big)[i] == 0xAA;
	CHECK(untouched); /* a V1 caller's memory ends at V1: nothing written past it */
	CHECK(psample_decode(msg, len, &p, PSAMPLE_PACKET_SIZE_V1) == 0);
	EXPECT_ERR(psample_decode(msg, len, &p, PSAMPLE_PACKET_SIZE_V1 - 1), EINVAL);
	EXPECT_ERR(psample_decode(msg, len, &p, 0), EINVAL);
	EXPECT_ERR(psample_decode(NULL, len, &p, sizeof p), EINVAL);
	EXPECT_ERR(psample_decode(msg, len, NULL, sizeof p), EINVAL);

	/* Malformed messages. */
	EXPECT_ERR(psample_decode(msg, 10, &p, sizeof p), EBADMSG);
	EXPECT_ERR(psample_decode(msg, 0, &p, sizeof p), EBADMSG);
	EXPECT_ERR(psample_decode(msg, len - 1, &p, sizeof p), EBADMSG); /* nlmsg_len > len */
	memcpy(bad, msg, len);
	uint16_t past = (uint16_t)(4 + sizeof payload + 100);
	memcpy(bad + data_off - 4, &past, 2); /* DATA's nla_len runs past the end */
	EXPECT_ERR(psample_decode(bad, len, &p, sizeof p), EBADMSG);
	memcpy(bad, msg, len);
	uint16_t tiny = 2;
	memcpy(bad + ATTRS, &tiny, 2); /* nla_len below the attribute header */
	EXPECT_ERR(psample_decode(bad, len, &p, sizeof p), EBADMSG);

	size_t off = put_headers(bad, 0x1c, 0);
	off = put_attr(bad, off, A_ORIGSIZE, "\x01\x02", 2); /* u32 attribute with 2 bytes */
	EXPECT_ERR(psample_decode(bad, finish(bad, off), &p, sizeof p), EBADMSG);
	off = put_headers(bad, 0x1c, 0);
	off = put_attr(bad, off, A_TS, "\x01\x02\x03\x04", 4); /* u64 attribute with 4 bytes */
	EXPECT_ERR(psample_decode(bad, finish(bad, off), &p, sizeof p), EBADMSG);

	/* Well-formed netlink that is not a sample or group event. */
	memcpy(bad, msg, len);
	bad[NL_HDR] = 9; /* genl cmd */
	EXPECT_ERR(psample_decode(bad, len, &p, sizeof p), ENOMSG);
	memcpy(bad, msg, len);
	uint16_t nlmsg_error = 2;
	memcpy(bad + 4, &nlmsg_error, 2);
	EXPECT_ERR(psample_decode(bad, len, &p, sizeof p), ENOMSG);

	/* Trailing bytes after nlmsg_len are ignored; unknown attributes are skipped. */
	memcpy(bad, msg, len);
	memset(bad + len, 0xff, 16);
	CHECK(psample_decode(bad, len + 16, &p, sizeof p) == 0 && p.group == 42);
	off = put_headers(bad, 0x1c, 0);
	off = put_u32(bad, off, 200, 1);
	off = put_u32(bad, off, A_GROUP, 5);
	CHECK(psample_decode(bad, finish(bad, off), &p, sizeof p) == 0 && p.group == 5 &&
	      p.fields == PSAMPLE_FIELD_SAMPLE_GROUP);

	/* A group event (PSAMPLE_CMD_NEW_GROUP = 2). */
	off = put_headers(bad, 0x1c, 2);
	off = put_u32(bad, off, A_GROUP, 3);
	off = put_u32(bad, off, A_REFCOUNT, 1);
	CHECK(psample_decode(bad, finish(bad, off), &p, sizeof p) == 0);
	CHECK(p.kind == PSAMPLE_KIND_GROUP_CREATED && p.group == 3 && p.group_refcount == 1);
}

static void test_effective_rate(void)
{
	struct psample_packet p;

	memset(&p, 0, sizeof p);
	CHECK(psample_effective_rate(NULL) == 0);
	p.rate = 10;
	p.fields = PSAMPLE_FIELD_SAMPLE_RATE;
	CHECK(psample_effective_rate(&p) == 10);
	p.fields |= PSAMPLE_FIELD_SAMPLE_PROBABILITY;
	p.rate = UINT32_MAX / 4; /* 1073741823: 4.000000004 rounds to 4 */
	CHECK(psample_effective_rate(&p) == 4);
	p.rate = UINT32_MAX / 4 + 1; /* 3.99999999 rounds to 4 too */
	CHECK(psample_effective_rate(&p) == 4);
	p.rate = UINT32_MAX;
	CHECK(psample_effective_rate(&p) == 1);
	p.rate = 0;
	CHECK(psample_effective_rate(&p) == 0);
}

static void test_ovs_cookie(void)
{
	/* OVS's psample action: the cookie is obs_domain_id then obs_point_id, big-endian. */
	static const uint8_t ovs[8] = { 0x00, 0x00, 0x00, 0x2a, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t other[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint8_t msg[256];
	struct psample_packet p;
	uint32_t domain = 7, point = 7;

	size_t off = put_headers(msg, 0x1c, 0);
	off = put_u32(msg, off, A_GROUP, 10);
	off = put_attr(msg, off, A_COOKIE, ovs, sizeof ovs);
	CHECK(psample_decode(msg, finish(msg, off), &p, sizeof p) == 0);
	CHECK(p.user_cookie_len == 8);
	CHECK(psample_ovs_cookie(&p, &domain, &point) == 0);
	CHECK(domain == 42 && point == UINT32_C(0xdeadbeef));

	memset(&p, 0, sizeof p);
	domain = point = 7;
	EXPECT_ERR(psample_ovs_cookie(&p, &domain, &point), ENOENT); /* no cookie */
	p.user_cookie = other;
	p.user_cookie_len = sizeof other;
	EXPECT_ERR(psample_ovs_cookie(&p, &domain, &point), ENOENT); /* a 16-byte tc cookie */
	p.user_cookie_len = 4;
	EXPECT_ERR(psample_ovs_cookie(&p, &domain, &point), ENOENT);
	CHECK(domain == 7 && point == 7); /* not written on failure */
	p.user_cookie_len = 8;
	CHECK(psample_ovs_cookie(&p, &domain, &point) == 0 && domain == 0x01020304 && point == 0x05060708);
	EXPECT_ERR(psample_ovs_cookie(NULL, &domain, &point), EINVAL);
	EXPECT_ERR(psample_ovs_cookie(&p, NULL, &point), EINVAL);
	EXPECT_ERR(psample_ovs_cookie(&p, &domain, NULL), EINVAL);
	p.user_cookie = NULL;
	EXPECT_ERR(psample_ovs_cookie(&p, &domain, &point), EINVAL);
}

static void test_list_groups(void)
{
	struct psample_group_info g[4];
	size_t total = 12345;
	struct psample_opts o = opts_ok();

	EXPECT_ERR(psample_list_groups(NULL, g, 4, sizeof g[0], &total), ENOENT);
	EXPECT_ERR(psample_list_groups(&o, g, 4, sizeof g[0], NULL), ENOENT);
	EXPECT_ERR(psample_list_groups(NULL, NULL, 0, sizeof g[0], &total), ENOENT);
	CHECK(total == 12345); /* not written on failure */
	EXPECT_ERR(psample_list_groups(NULL, g, 4, sizeof g[0] - 1, &total), EINVAL);
	EXPECT_ERR(psample_list_groups(NULL, g, 4, 0, &total), EINVAL);
	EXPECT_ERR(psample_list_groups(NULL, NULL, 1, sizeof g[0], &total), EINVAL);
	o.size = 8;
	EXPECT_ERR(psample_list_groups(&o, g, 4, sizeof g[0], &total), EINVAL);
	o = opts_ok(), o.flags = PSAMPLE_SUB_NETNS_FD, o.netns_fd = -1;
	EXPECT_ERR(psample_list_groups(&o, g, 4, sizeof g[0], &total), EBADF);
}

static int poll_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/*
 * psample_wakeup() on a live, blocking handle (PSAMPLE_SUB_WAIT_FAMILY opens one without the
 * psample module, and no sample can arrive): the next psample_recv() returns -ECANCELED at once,
 * once per wake-up, and psample_poll_fd() is readable while one is pending. alarm() turns a
 * psample_recv() that blocks into a failed run.
 */
static void test_live_wakeup(void)
{
	struct psample_opts o = opts_ok();
	struct psample_sub *sub = NULL;
	struct psample_packet pkts[2];

	o.flags = PSAMPLE_SUB_WAIT_FAMILY | PSAMPLE_SUB_RESUBSCRIBE;
	CHECK(psample_subscribe(&sub, &o) == 0);
	if (!sub)
		return;
	int fd = psample_poll_fd(sub);
	CHECK(fd >= 0);
	CHECK(fd == psample_fd(sub));
	CHECK(!poll_readable(fd));
	CHECK(psample_wakeup(sub) == 0);
	CHECK(psample_wakeup(sub) == 0);
	CHECK(poll_readable(fd));
	alarm(10);
	EXPECT_ERR(psample_recv(sub, pkts, 2, sizeof pkts[0]), ECANCELED);
	EXPECT_ERR(psample_recv(sub, pkts, 2, sizeof pkts[0]), ECANCELED);
	alarm(0);
	struct psample_stats st;
	CHECK(psample_stats(sub, &st, sizeof st) == 0);
	CHECK(st.delivered == 0 && st.decode_errors == 0 && st.kernel_drops == 0);
	psample_close(sub);
}

int main(void)
{
	test_version();
	test_strerror();
	test_subscribe();
	test_handle_functions();
	test_decode();
	test_effective_rate();
	test_ovs_cookie();
	test_list_groups();
	test_live_wakeup();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
