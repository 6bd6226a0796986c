/* SPDX-License-Identifier: MIT */
/*
 * psample-dump: prints every psample sample as one line of key=value pairs.
 *
 *   cc -std=c11 -o psample-dump psample-dump.c $(pkg-config --cflags --libs psample)
 *
 * Needs the psample module (modprobe psample) and CAP_NET_ADMIN.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, getopt, poll */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <psample.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: psample-dump [-g GROUP]... [-c COUNT] [-n] [-a] [-s]\n"
		"  -g GROUP  only this psample group (repeatable)\n"
		"  -c COUNT  exit after COUNT samples\n"
		"  -n        nonblocking handle, wait with poll()\n"
		"  -a        also samples from other network namespaces\n"
		"  -s        print statistics to stderr on exit\n");
}

static int fail(int rc)
{
	fprintf(stderr, "psample-dump: %s\n", psample_strerror(rc));
	return 1;
}

static void print_hex(const char *key, const uint8_t *p, uint32_t len)
{
	printf(" %s=", key);
	for (uint32_t i = 0; i < len; i++)
		printf("%02x", p[i]);
}

static void print_tunnel(const struct psample_tunnel *t)
{
	char addr[INET6_ADDRSTRLEN];
	uint32_t f = t->fields;

	if (f & PSAMPLE_TUNNEL_FIELD_ID)
		printf(" tun_id=%" PRIu64, t->id);
	if (f & PSAMPLE_TUNNEL_FIELD_IPV4_SRC)
		printf(" tun_src=%s", inet_ntop(AF_INET, t->ipv4_src, addr, sizeof addr));
	if (f & PSAMPLE_TUNNEL_FIELD_IPV4_DST)
		printf(" tun_dst=%s", inet_ntop(AF_INET, t->ipv4_dst, addr, sizeof addr));
	if (f & PSAMPLE_TUNNEL_FIELD_IPV6_SRC)
		printf(" tun_src=%s", inet_ntop(AF_INET6, t->ipv6_src, addr, sizeof addr));
	if (f & PSAMPLE_TUNNEL_FIELD_IPV6_DST)
		printf(" tun_dst=%s", inet_ntop(AF_INET6, t->ipv6_dst, addr, sizeof addr));
	if (f & PSAMPLE_TUNNEL_FIELD_TOS)
		printf(" tun_tos=%u", t->tos);
	if (f & PSAMPLE_TUNNEL_FIELD_TTL)
		printf(" tun_ttl=%u", t->ttl);
	if (f & PSAMPLE_TUNNEL_FIELD_TP_SRC)
		printf(" tun_sport=%u", t->tp_src);
	if (f & PSAMPLE_TUNNEL_FIELD_TP_DST)
		printf(" tun_dport=%u", t->tp_dst);
	if (f & PSAMPLE_TUNNEL_FIELD_DONT_FRAGMENT)
		printf(" tun_df");
	if (f & PSAMPLE_TUNNEL_FIELD_CSUM)
		printf(" tun_csum");
	if (f & PSAMPLE_TUNNEL_FIELD_OAM)
		printf(" tun_oam");
	if (f & PSAMPLE_TUNNEL_FIELD_IPV4_INFO_BRIDGE)
		printf(" tun_bridge");
	if (f & PSAMPLE_TUNNEL_FIELD_GENEVE_OPTS)
		print_hex("tun_geneve", t->geneve_opts, t->geneve_opts_len);
	if (f & PSAMPLE_TUNNEL_FIELD_ERSPAN_OPTS)
		print_hex("tun_erspan", t->erspan_opts, t->erspan_opts_len);
}

static void print_packet(const struct psample_packet *p)
{
	uint64_t f = p->fields;

	switch (p->kind) {
	case PSAMPLE_KIND_GROUP_CREATED: printf("group-created"); break;
	case PSAMPLE_KIND_GROUP_DELETED: printf("group-deleted"); break;
	default: printf("sample"); break;
	}
	if (f & PSAMPLE_FIELD_SAMPLE_GROUP)
		printf(" group=%" PRIu32, p->group);
	if (f & PSAMPLE_FIELD_GROUP_SEQ)
		printf(" seq=%" PRIu32, p->group_seq);
	if (f & PSAMPLE_FIELD_GROUP_REFCOUNT)
		printf(" refcount=%" PRIu32, p->group_refcount);
	if (f & PSAMPLE_FIELD_SAMPLE_RATE) {
		printf(" rate=%" PRIu32, p->rate);
		if (f & PSAMPLE_FIELD_SAMPLE_PROBABILITY) /* rate is a probability: show 1-in-N too */
			printf(" eff_rate=%" PRIu32, psample_effective_rate(p));
	}
	if (f & PSAMPLE_FIELD_IIFINDEX)
		printf(" iif=%" PRIu32, p->iifindex);
	if (f & PSAMPLE_FIELD_OIFINDEX)
		printf(" oif=%" PRIu32, p->oifindex);
	if (f & PSAMPLE_FIELD_ORIGSIZE)
		printf(" origsize=%" PRIu32, p->orig_size);
	if (f & PSAMPLE_FIELD_DATA)
		printf(" datalen=%" PRIu32, p->data_len);
	if (f & PSAMPLE_FIELD_PROTO)
		printf(" proto=0x%04x", p->proto);
	if (f & PSAMPLE_FIELD_TIMESTAMP)
		printf(" timestamp_ns=%" PRIu64, p->timestamp_ns);
	if (f & PSAMPLE_FIELD_LATENCY)
		printf(" latency_ns=%" PRIu64, p->latency_ns);
	if (f & PSAMPLE_FIELD_OUT_TC)
		printf(" out_tc=%u", p->out_tc);
	if (f & PSAMPLE_FIELD_OUT_TC_OCC)
		printf(" out_tc_occ=%" PRIu64, p->out_tc_occ);
	if (f & PSAMPLE_FIELD_USER_COOKIE)
		print_hex("cookie", p->user_cookie, p->user_cookie_len);
	if (f & PSAMPLE_FIELD_TUNNEL)
		print_tunnel(&p->tunnel);
	if (p->nsid >= 0) /* -1: our own namespace */
		printf(" nsid=%" PRId32, p->nsid);
	if (p->flags & PSAMPLE_PKT_F_USERSPACE)
		printf(" portid=%" PRIu32, p->sender_portid);
	if (p->flags)
		printf(" flags=0x%" PRIx32, p->flags);
	putchar('\n');
	fflush(stdout); /* one line per sample, visible at once through pipes */
}

static void print_stats(const struct psample_sub *sub)
{
	struct psample_stats st;
	int rc = psample_stats(sub, &st, sizeof st);

	if (rc < 0) {
		fail(rc);
		return;
	}
	fprintf(stderr,
		"delivered=%" PRIu64 " kernel_drops=%" PRIu64 " seq_gaps=%" PRIu64 " truncated=%" PRIu64
		" decode_errors=%" PRIu64 " enobufs=%" PRIu64 " rejected_userspace=%" PRIu64
		" config_events=%" PRIu64 " family_removed=%" PRIu64 " resubscribed=%" PRIu64
		" rcvbuf=%" PRIu32 " groups_tracked=%" PRIu32 "\n",
		st.delivered, st.kernel_drops, st.seq_gaps, st.truncated, st.decode_errors, st.enobufs,
		st.rejected_userspace, st.config_events, st.family_removed, st.resubscribed, st.rcvbuf,
		st.groups_tracked);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static uint32_t groups[PSAMPLE_MAX_GROUPS];
	struct psample_opts opts = { .size = sizeof opts };
	uint64_t count = 0, v; /* count 0: no limit */
	int show_stats = 0, opt;

	while ((opt = getopt(argc, argv, "g:c:nash")) != -1) {
		switch (opt) {
		case 'g':
			if (opts.n_groups == PSAMPLE_MAX_GROUPS || parse_u64(optarg, UINT32_MAX, &v)) {
				usage(stderr);
				return 2;
			}
			groups[opts.n_groups++] = (uint32_t)v;
			break;
		case 'c':
			if (parse_u64(optarg, UINT64_MAX, &count) || count == 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'n': opts.flags |= PSAMPLE_SUB_NONBLOCK; break;
		case 'a': opts.flags |= PSAMPLE_SUB_ALL_NETNS; break;
		case 's': show_stats = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	opts.groups = opts.n_groups ? groups : NULL;

	/* No SA_RESTART: a signal must interrupt the blocking psample_recv() (it returns -EINTR). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct psample_sub *sub;
	int rc = psample_subscribe(&sub, &opts);
	if (rc < 0)
		return fail(rc);

	struct psample_packet pkts[64];
	int fd = psample_fd(sub);
	while (!stop) {
		size_t n = sizeof pkts / sizeof pkts[0];
		if (count && count < n)
			n = (size_t)count;
		if (opts.flags & PSAMPLE_SUB_NONBLOCK) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, -1) < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				break;
			}
		}
		rc = psample_recv(sub, pkts, n, sizeof pkts[0]);
		/* EAGAIN: readable, but only messages the library consumed itself. */
		if (rc == -EINTR || rc == -EAGAIN) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		for (int i = 0; i < rc; i++)
			print_packet(&pkts[i]);
		if (count && (count -= (uint64_t)rc) == 0) {
			rc = 0;
			break;
		}
		rc = 0;
	}
	if (show_stats)
		print_stats(sub);
	psample_close(sub);
	return rc < 0 ? fail(rc) : 0;
}
