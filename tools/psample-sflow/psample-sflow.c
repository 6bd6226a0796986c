/* SPDX-License-Identifier: MIT */
/*
 * psample-sflow: exports psample packet samples as sFlow version 5 datagrams
 * (https://sflow.org/sflow_version_5.txt) to one or more UDP collectors.
 *
 * A separate program, so the drop-in psample tool keeps exactly the original's behaviour.
 * Each sample becomes one compact flow sample (enterprise 0, format 1; the expanded format 3 only
 * when an index does not fit the compact encoding) carrying one raw packet header record
 * (enterprise 0, format 1). Mapping (psample-sflow.8 documents it):
 *   data source    ifIndex of the sampled interface: iifindex when present (ingress), else
 *                  oifindex (egress), else 0;
 *   sampling_rate  psample_effective_rate() (1-in-N, also for probability samples);
 *   sample_pool    per data source: the sum of rate x (1 + seq_lost) over its samples;
 *   drops          per data source: the sum of the samples' seq_lost (the per-group sequence
 *                  numbers tell the samples this receiver missed, in the kernel or the socket);
 *   input/output   iifindex / oifindex, 0 (unknown) when the kernel sent none.
 * The receive loop allocates nothing per sample: samples are encoded straight into one datagram
 * buffer, which goes out when the next sample would not fit the MTU, or when its first sample is
 * a second old, or on exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "psample.h"

#include "../common/data_start.h"

#define DEFAULT_PORT "6343"
#define DEFAULT_MTU 1400
#define DEFAULT_HEADER_BYTES 128
#define FLUSH_MS 1000
#define MAX_COLLECTORS 8
#define MAX_GROUPS 64
#define MAX_DATAGRAM 65507

/* sFlow v5 constants (sflow_version_5.txt). */
#define SFLOW_VERSION 5
#define SFLOW_ADDR_IP_V4 1
#define SFLOW_ADDR_IP_V6 2
#define SFLOW_FLOW_SAMPLE 1
#define SFLOW_FLOW_SAMPLE_EXPANDED 3
#define SFLOW_RAW_HEADER 1
#define SFLOW_HEADER_ETHERNET 1
#define SFLOW_HEADER_IPV4 11
#define SFLOW_HEADER_IPV6 12
#define SFLOW_DS_IFINDEX 0

/* Datagram header: version, address type, address, sub-agent, sequence, uptime, sample count. */
#define DGRAM_HEADER_V4 (6 * 4 + 4)
#define DGRAM_HEADER_V6 (6 * 4 + 16)
/* A compact flow sample without its record: tag, length, then 8 words. */
#define FLOW_SAMPLE_FIXED (2 * 4 + 8 * 4)
#define FLOW_SAMPLE_EXPANDED_FIXED (2 * 4 + 11 * 4)
/* The raw packet header record without the header bytes: tag, length, then 4 words. */
#define RAW_HEADER_FIXED (2 * 4 + 4 * 4)

struct collector {
	char name[NI_MAXHOST + NI_MAXSERV + 4];
	int fd;
	uint64_t sent, refused, errors;
	int last_errno;
};

/* Per data source (ifIndex): the flow sample sequence number, pool and drops. */
#define DS_SLOTS 1024
struct data_source {
	uint32_t index;
	int used;
	uint32_t seq;
	uint32_t pool;
	uint32_t drops;
};

static struct {
	struct collector collectors[MAX_COLLECTORS];
	int n_collectors;
	uint32_t groups[MAX_GROUPS];
	uint32_t n_groups;
	unsigned mtu, header_bytes;
	uint32_t sub_agent;
	int agent_family; /* 0: from the first collector's route */
	uint8_t agent[16];
	uint64_t count;
	int stats, all_netns;
} o = { .mtu = DEFAULT_MTU, .header_bytes = DEFAULT_HEADER_BYTES };

static struct {
	uint8_t buf[MAX_DATAGRAM];
	size_t len, header_len;
	uint32_t n_samples, seq;
	uint64_t first_ms, start_ms;
	uint64_t samples, exported, skipped, datagrams;
} d;

static struct data_source sources[DS_SLOTS];
static volatile sig_atomic_t stop, want_stats;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else
		stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *put_opaque(uint8_t *p, const uint8_t *bytes, uint32_t len)
{
	uint32_t padded = (len + 3) & ~3u;

	memcpy(p, bytes, len);
	memset(p + len, 0, padded - len);
	return p + padded;
}

static uint32_t ip_protocol_of(const struct psample_packet *p)
{
	unsigned version = p->data_len ? p->data[0] >> 4 : 0;

	if (version == 4)
		return SFLOW_HEADER_IPV4;
	if (version == 6)
		return SFLOW_HEADER_IPV6;
	return SFLOW_HEADER_ETHERNET;
}

/* What the data starts with: tools/common/data_start.h's rule (psample-sflow.8,
 * "header_protocol"); data that starts with an IP header is IPv4 or IPv6 by its version. */
static uint32_t header_protocol(const struct psample_packet *p, uint32_t ds_ifindex)
{
	int hatype;

	if (sample_data_start(p, ds_ifindex, &hatype) == START_MAC)
		return SFLOW_HEADER_ETHERNET;
	return ip_protocol_of(p);
}

static struct data_source *data_source(uint32_t index)
{
	uint32_t slot = index % DS_SLOTS;

	for (uint32_t i = 0; i < DS_SLOTS; i++, slot = (slot + 1) % DS_SLOTS) {
		struct data_source *s = &sources[slot];

		if (!s->used) {
			s->used = 1;
			s->index = index;
			return s;
		}
		if (s->index == index)
			return s;
	}
	return NULL; /* more than DS_SLOTS interfaces: the sample is skipped and counted */
}

static void send_datagram(void)
{
	uint8_t *p = d.buf;

	if (d.n_samples == 0)
		return;
	p = put32(p, SFLOW_VERSION);
	if (o.agent_family == AF_INET6) {
		p = put32(p, SFLOW_ADDR_IP_V6);
		p = put_opaque(p, o.agent, 16);
	} else {
		p = put32(p, SFLOW_ADDR_IP_V4);
		p = put_opaque(p, o.agent, 4);
	}
	p = put32(p, o.sub_agent);
	p = put32(p, ++d.seq);
	p = put32(p, (uint32_t)(now_ms() - d.start_ms));
	put32(p, d.n_samples);
	for (int i = 0; i < o.n_collectors; i++) {
		struct collector *c = &o.collectors[i];

		/* Never blocks: a full socket buffer or an unreachable collector costs this
		 * datagram, counted, not the samples still queued in the kernel. */
		if (send(c->fd, d.buf, d.len, MSG_DONTWAIT) == (ssize_t)d.len) {
			c->sent++;
		} else if (errno == ECONNREFUSED) {
			c->refused++;
		} else {
			c->errors++;
			c->last_errno = errno;
		}
	}
	d.datagrams++;
	d.len = d.header_len;
	d.n_samples = 0;
}

static void export_sample(const struct psample_packet *p)
{
	uint32_t in = (p->fields & PSAMPLE_FIELD_IIFINDEX) ? p->iifindex : 0;
	uint32_t out = (p->fields & PSAMPLE_FIELD_OIFINDEX) ? p->oifindex : 0;
	uint32_t ds_index = in ? in : out;
	uint32_t rate = psample_effective_rate(p);
	uint32_t hdr_len = p->data_len < o.header_bytes ? p->data_len : o.header_bytes;
	uint32_t record_len = RAW_HEADER_FIXED + ((hdr_len + 3) & ~3u);
	int expanded = ds_index > 0xffffff || in > 0x3fffffff || out > 0x3fffffff;
	uint32_t sample_len = (expanded ? FLOW_SAMPLE_EXPANDED_FIXED : FLOW_SAMPLE_FIXED) + record_len;
	struct data_source *s;
	uint8_t *q;

	d.samples++;
	if (!(p->fields & PSAMPLE_FIELD_DATA) || rate == 0 || !(s = data_source(ds_index))) {
		d.skipped++;
		return;
	}
	s->seq++;
	s->pool += rate * (uint32_t)(1 + p->seq_lost); /* sFlow counters wrap at 32 bits */
	s->drops += (uint32_t)p->seq_lost;

	if (d.len + sample_len > o.mtu)
		send_datagram();
	if (d.n_samples == 0)
		d.first_ms = now_ms();
	q = d.buf + d.len;
	q = put32(q, expanded ? SFLOW_FLOW_SAMPLE_EXPANDED : SFLOW_FLOW_SAMPLE);
	q = put32(q, sample_len - 8);
	q = put32(q, s->seq);
	if (expanded) {
		q = put32(q, SFLOW_DS_IFINDEX);
		q = put32(q, ds_index);
	} else {
		q = put32(q, SFLOW_DS_IFINDEX << 24 | ds_index);
	}
	q = put32(q, rate);
	q = put32(q, s->pool);
	q = put32(q, s->drops);
	if (expanded) {
		q = put32(q, 0); /* format 0: an ifIndex */
		q = put32(q, in);
		q = put32(q, 0);
		q = put32(q, out);
	} else {
		q = put32(q, in);
		q = put32(q, out);
	}
	q = put32(q, 1); /* one record */
	q = put32(q, SFLOW_RAW_HEADER);
	q = put32(q, record_len - 8);
	q = put32(q, header_protocol(p, ds_index));
	/* psample's data has no FCS: nothing stripped, the frame is orig_size bytes. */
	q = put32(q, (p->fields & PSAMPLE_FIELD_ORIGSIZE) ? p->orig_size : p->data_len);
	q = put32(q, 0);
	q = put32(q, hdr_len);
	q = put_opaque(q, p->data, hdr_len);
	d.len = (size_t)(q - d.buf);
	d.n_samples++;
	d.exported++;
}

static void print_stats(const struct psample_sub *sub)
{
	struct psample_stats st;
	int rc = psample_stats(sub, &st, sizeof st);

	if (rc < 0) {
		fprintf(stderr, "psample-sflow: stats: %s\n", psample_strerror(rc));
		return;
	}
	fprintf(stderr,
		"psample-sflow: samples=%" PRIu64 " exported=%" PRIu64 " skipped=%" PRIu64
		" datagrams=%" PRIu64 " delivered=%" PRIu64 " kernel_drops=%" PRIu64
		" seq_gaps=%" PRIu64 " decode_errors=%" PRIu64 "\n",
		d.samples, d.exported, d.skipped, d.datagrams, st.delivered, st.kernel_drops,
		st.seq_gaps, st.decode_errors);
	for (int i = 0; i < o.n_collectors; i++) {
		const struct collector *c = &o.collectors[i];

		fprintf(stderr,
			"psample-sflow: collector %s sent=%" PRIu64 " refused=%" PRIu64
			" errors=%" PRIu64 "%s%s\n",
			c->name, c->sent, c->refused, c->errors, c->errors ? " last_error=" : "",
			c->errors ? strerror(c->last_errno) : "");
	}
}

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
static int add_collector(const char *arg)
{
	char host[NI_MAXHOST];
	const char *port = DEFAULT_PORT;
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	struct collector *c;
	size_t n;
	int rc;

	if (o.n_collectors == MAX_COLLECTORS) {
		fprintf(stderr, "psample-sflow: at most %d collectors\n", MAX_COLLECTORS);
		return -1;
	}
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || (end[1] && end[1] != ':') || end == arg + 1) {
			fprintf(stderr, "psample-sflow: bad collector '%s'\n", arg);
			return -1;
		}
		n = (size_t)(end - arg - 1);
		if (end[1] == ':')
			port = end + 2;
		arg++;
	} else if (colon && strchr(arg, ':') == colon) {
		n = (size_t)(colon - arg);
		port = colon + 1;
	} else {
		n = strlen(arg); /* no port, or a bare IPv6 address */
	}
	if (n == 0 || n >= sizeof host || !*port) {
		fprintf(stderr, "psample-sflow: bad collector '%s'\n", arg);
		return -1;
	}
	memcpy(host, arg, n);
	host[n] = 0;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "psample-sflow: collector %s port %s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	c = &o.collectors[o.n_collectors];
	c->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Connected: the kernel reports an unreachable collector (ECONNREFUSED) on a later send. */
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "psample-sflow: collector %s port %s: %s\n", host, port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, s, sizeof s,
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(c->name, sizeof c->name, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, s);
	else
		snprintf(c->name, sizeof c->name, "%s:%s", host, port);
	freeaddrinfo(ai);
	o.n_collectors++;
	return 0;
}

/* The default agent address: the source address the kernel picked for the first collector. */
static int default_agent(void)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof ss;

	if (getsockname(o.collectors[0].fd, (struct sockaddr *)&ss, &len) < 0) {
		perror("psample-sflow: getsockname");
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			o.agent_family = AF_INET;
			memcpy(o.agent, &a->s6_addr[12], 4);
		} else {
			o.agent_family = AF_INET6;
			memcpy(o.agent, a, 16);
		}
	} else {
		o.agent_family = AF_INET;
		memcpy(o.agent, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	}
	return 0;
}

static int parse_u32(const char *s, const char *what, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "psample-sflow: %s must be a decimal number from %" PRIu32 " to %" PRIu32
				", not '%s'\n", what, min, max, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: psample-sflow --collector HOST[:PORT] [--collector ...] [--group GROUP]...\n"
		"                     [--agent-address ADDR] [--sub-agent-id N] [--mtu BYTES]\n"
		"                     [--header-bytes N] [--all-netns] [--count N] [--stats]\n"
		"Exports psample samples as sFlow version 5 datagrams (default port " DEFAULT_PORT ").\n"
		"  -c, --collector HOST[:PORT]  collector; repeat for more ([V6ADDR]:PORT for IPv6)\n"
		"  -g, --group GROUP            only this psample group; repeat for more (default: all)\n"
		"  -a, --agent-address ADDR     agent address (default: the source address used to\n"
		"                               reach the first collector)\n"
		"  -s, --sub-agent-id N         sub-agent id (default 0)\n"
		"  -m, --mtu BYTES              largest datagram (UDP payload; default %d)\n"
		"  -H, --header-bytes N         packet header bytes per sample (default %d)\n"
		"      --all-netns              samples of every network namespace\n"
		"      --count N                exit after N samples\n"
		"      --stats                  print the counters on exit (always on SIGUSR1)\n"
		"  -h, --help                   this text\n"
		"  -V, --version                the version\n",
		DEFAULT_MTU, DEFAULT_HEADER_BYTES);
}

static int parse_args(int argc, char **argv)
{
	enum { OPT_COUNT = 256, OPT_STATS, OPT_ALL_NETNS };
	static const struct option longopts[] = {
		{ "collector", required_argument, NULL, 'c' },
		{ "group", required_argument, NULL, 'g' },
		{ "agent-address", required_argument, NULL, 'a' },
		{ "sub-agent-id", required_argument, NULL, 's' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "header-bytes", required_argument, NULL, 'H' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *agent = NULL;
	uint32_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:g:a:s:m:H:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (add_collector(optarg) < 0)
				return -1;
			break;
		case 'g':
			if (o.n_groups == MAX_GROUPS) {
				fprintf(stderr, "psample-sflow: at most %d groups\n", MAX_GROUPS);
				return -1;
			}
			if (parse_u32(optarg, "--group", 0, UINT32_MAX, &o.groups[o.n_groups]) < 0)
				return -1;
			o.n_groups++;
			break;
		case 'a': agent = optarg; break;
		case 's':
			if (parse_u32(optarg, "--sub-agent-id", 0, UINT32_MAX, &o.sub_agent) < 0)
				return -1;
			break;
		case 'm':
			if (parse_u32(optarg, "--mtu", 256, MAX_DATAGRAM, &v) < 0)
				return -1;
			o.mtu = v;
			break;
		case 'H':
			if (parse_u32(optarg, "--header-bytes", 0, 65535, &v) < 0)
				return -1;
			o.header_bytes = v;
			break;
		case OPT_COUNT:
			if (parse_u32(optarg, "--count", 1, UINT32_MAX, &v) < 0)
				return -1;
			o.count = v;
			break;
		case OPT_STATS: o.stats = 1; break;
		case OPT_ALL_NETNS: o.all_netns = 1; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("psample-sflow %s\n", psample_version()); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "psample-sflow: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o.n_collectors == 0) {
		fprintf(stderr, "psample-sflow: --collector is required\n");
		usage(stderr);
		return -1;
	}
	if (agent) {
		if (inet_pton(AF_INET, agent, o.agent) == 1) {
			o.agent_family = AF_INET;
		} else if (inet_pton(AF_INET6, agent, o.agent) == 1) {
			o.agent_family = AF_INET6;
		} else {
			fprintf(stderr, "psample-sflow: --agent-address: '%s' is not an IPv4 or IPv6 address\n",
				agent);
			return -1;
		}
	} else if (default_agent() < 0) {
		return -1;
	}
	d.header_len = o.agent_family == AF_INET6 ? DGRAM_HEADER_V6 : DGRAM_HEADER_V4;
	/* One sample with the largest header must fit one datagram. */
	uint32_t largest = (uint32_t)d.header_len + FLOW_SAMPLE_EXPANDED_FIXED + RAW_HEADER_FIXED +
			   ((o.header_bytes + 3) & ~3u);
	if (largest > o.mtu) {
		fprintf(stderr, "psample-sflow: --header-bytes %u does not fit --mtu %u (at most %u)\n",
			o.header_bytes, o.mtu,
			(o.mtu - (unsigned)d.header_len - FLOW_SAMPLE_EXPANDED_FIXED - RAW_HEADER_FIXED) & ~3u);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct psample_opts opts = {
		.size = sizeof opts,
		/* Userspace producers (VPP) too, like the psample tool; follow a module reload. */
		.flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ACCEPT_USERSPACE | PSAMPLE_SUB_RESUBSCRIBE,
	};
	static struct psample_packet pkts[64];
	struct psample_sub *sub;
	int rc, status = 0;

	d.start_ms = now_ms();
	if (parse_args(argc, argv) < 0)
		return 2;
	d.len = d.header_len;
	opts.groups = o.n_groups ? o.groups : NULL;
	opts.n_groups = o.n_groups;
	if (o.all_netns)
		opts.flags |= PSAMPLE_SUB_ALL_NETNS;

	/* Signals are blocked except inside ppoll(): none is lost between a check and the wait. */
	sigset_t handled, wait_mask;
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&handled);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaddset(&handled, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &handled, &wait_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&wait_mask, sigs[i]);

	rc = psample_subscribe(&sub, &opts);
	if (rc < 0) {
		fprintf(stderr, "psample-sflow: subscribe: %s\n", psample_strerror(rc));
		return 1;
	}
	struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };

	while (!stop) {
		if (want_stats) {
			want_stats = 0;
			print_stats(sub);
		}
		if (d.n_samples && now_ms() >= d.first_ms + FLUSH_MS)
			send_datagram();
		rc = psample_recv(sub, pkts, sizeof pkts / sizeof pkts[0], sizeof pkts[0]);
		if (rc == -EAGAIN || rc == -EINTR) {
			struct timespec ts, *timeout = NULL;

			if (d.n_samples) {
				uint64_t due = d.first_ms + FLUSH_MS, now = now_ms();
				uint64_t wait = due > now ? due - now : 0;

				ts.tv_sec = (time_t)(wait / 1000);
				ts.tv_nsec = (long)(wait % 1000) * 1000000;
				timeout = &ts;
			}
			if (ppoll(&pfd, 1, timeout, &wait_mask) < 0 && errno != EINTR) {
				perror("psample-sflow: poll");
				status = 1;
				break;
			}
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "psample-sflow: receive: %s\n", psample_strerror(rc));
			status = 1;
			break;
		}
		for (int i = 0; i < rc; i++) {
			if (pkts[i].kind != PSAMPLE_KIND_SAMPLE)
				continue;
			export_sample(&pkts[i]);
			if (o.count && d.samples >= o.count) {
				stop = 1;
				break;
			}
		}
	}
	send_datagram();
	if (o.stats)
		print_stats(sub);
	psample_close(sub);
	return status;
}
