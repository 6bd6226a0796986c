/* SPDX-License-Identifier: MIT */
/* psample-sflow's command line (psample-sflow.8, "OPTIONS"). */
#define _GNU_SOURCE
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "collectors.h"
#include "datagrams.h"
#include "psample.h"
#include "samples.h"
#include "xdr.h"

struct options o = {
	.mtu = DEFAULT_MTU,
	.header_bytes = DEFAULT_HEADER_BYTES,
	.polling_interval = DEFAULT_POLLING_INTERVAL,
};

static int listed(const uint32_t *list, uint32_t n, uint32_t group)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == group)
			return 1;
	return 0;
}

enum direction group_direction(uint32_t group)
{
	if (listed(o.ingress, o.n_ingress, group))
		return DIR_INGRESS;
	if (listed(o.egress, o.n_egress, group))
		return DIR_EGRESS;
	return DIR_BY_SAMPLE;
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

/* Adds a group to a direction's list (NULL: plain --group) and to the subscription's. */
static int add_group(const char *arg, const char *what, uint32_t *list, uint32_t *n)
{
	uint32_t g;

	if (parse_u32(arg, what, 0, UINT32_MAX, &g) < 0)
		return -1;
	if (list) {
		if (*n == MAX_GROUPS) {
			fprintf(stderr, "psample-sflow: at most %d groups per %s\n", MAX_GROUPS, what);
			return -1;
		}
		list[(*n)++] = g;
	}
	if (listed(o.ingress, o.n_ingress, g) && listed(o.egress, o.n_egress, g)) {
		fprintf(stderr, "psample-sflow: group %" PRIu32 " cannot be both --ingress-group and --egress-group\n", g);
		return -1;
	}
	if (!listed(o.groups, o.n_groups, g)) {
		if (o.n_groups == sizeof o.groups / sizeof o.groups[0]) {
			fprintf(stderr, "psample-sflow: too many groups\n");
			return -1;
		}
		o.groups[o.n_groups++] = g;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: psample-sflow --collector HOST[:PORT] [--collector ...] [--group GROUP]...\n"
		"                     [--ingress-group GROUP]... [--egress-group GROUP]...\n"
		"                     [--agent-address ADDR] [--sub-agent-id N] [--mtu BYTES]\n"
		"                     [--header-bytes N] [--polling-interval SECONDS] [--expanded]\n"
		"                     [--timestamps]\n"
		"                     [--all-netns] [--count N] [--stats]\n"
		"Exports psample samples as sFlow version 5 datagrams (default port " DEFAULT_PORT ").\n"
		"  -c, --collector HOST[:PORT]  collector; repeat for more ([V6ADDR]:PORT for IPv6)\n"
		"  -g, --group GROUP            only this psample group; repeat for more (default: all);\n"
		"                               a sample with an output interface is egress\n"
		"  -i, --ingress-group GROUP    this group samples ingress: data source = input interface\n"
		"  -e, --egress-group GROUP     this group samples egress: data source = output interface\n"
		"  -a, --agent-address ADDR     agent address (default: the source address used to\n"
		"                               reach the first collector)\n"
		"  -s, --sub-agent-id N         sub-agent id (default 0)\n"
		"  -m, --mtu BYTES              largest datagram (UDP payload; default %d)\n"
		"  -H, --header-bytes N         packet header bytes per sample (default %d)\n"
		"  -p, --polling-interval SECS  counter samples of each data source every SECS seconds\n"
		"                               (default %d; 0: none)\n"
		"      --expanded               expanded flow and counter samples (default: compact)\n"
		"      --timestamps             the sample's timestamp record (1043) in flow samples\n"
		"      --all-netns              samples of every network namespace\n"
		"      --count N                exit after N samples\n"
		"      --stats                  print the counters on exit (always on SIGUSR1)\n"
		"  -h, --help                   this text\n"
		"  -V, --version                the version\n"
		"SIGHUP resolves the collectors again and re-reads the interface table.\n",
		DEFAULT_MTU, DEFAULT_HEADER_BYTES, DEFAULT_POLLING_INTERVAL);
}

/* Loopback or link-local: not an address a collector can tell this host by. */
static const char *local_only(int family, const uint8_t *a)
{
	if (family == AF_INET) {
		if (a[0] == 127)
			return "loopback";
		if (a[0] == 169 && a[1] == 254)
			return "link-local";
		return NULL;
	}
	static const uint8_t loopback6[16] = { [15] = 1 };

	if (!memcmp(a, loopback6, 16))
		return "loopback";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	return NULL;
}

/* The agent address: --agent-address, else the source address towards the first collector. */
static int set_agent(const char *agent)
{
	char text[INET6_ADDRSTRLEN];
	const char *kind;

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
	} else if (collector_source_address(&o.agent_family, o.agent) < 0) {
		return -1;
	}
	kind = local_only(o.agent_family, o.agent);
	if (kind && inet_ntop(o.agent_family, o.agent, text, sizeof text))
		fprintf(stderr,
			"psample-sflow: warning: the agent address %s is %s: collectors cannot tell this host "
			"from another by it; set --agent-address to an address of this host%s\n",
			text, kind, agent ? "" : " (it was taken from the route to the first collector)");
	return 0;
}

int parse_args(int argc, char **argv)
{
	enum { OPT_COUNT = 256, OPT_STATS, OPT_ALL_NETNS, OPT_EXPANDED, OPT_TIMESTAMPS };
	static const struct option longopts[] = {
		{ "collector", required_argument, NULL, 'c' },
		{ "group", required_argument, NULL, 'g' },
		{ "ingress-group", required_argument, NULL, 'i' },
		{ "egress-group", required_argument, NULL, 'e' },
		{ "agent-address", required_argument, NULL, 'a' },
		{ "sub-agent-id", required_argument, NULL, 's' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "header-bytes", required_argument, NULL, 'H' },
		{ "polling-interval", required_argument, NULL, 'p' },
		{ "expanded", no_argument, NULL, OPT_EXPANDED },
		{ "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *agent = NULL;
	int n_collectors = 0;
	uint32_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:g:i:e:a:s:m:H:p:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (collector_add(optarg) < 0)
				return -1;
			n_collectors++;
			break;
		case 'g':
			if (add_group(optarg, "--group", NULL, NULL) < 0)
				return -1;
			break;
		case 'i':
			if (add_group(optarg, "--ingress-group", o.ingress, &o.n_ingress) < 0)
				return -1;
			break;
		case 'e':
			if (add_group(optarg, "--egress-group", o.egress, &o.n_egress) < 0)
				return -1;
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
		case 'p':
			if (parse_u32(optarg, "--polling-interval", 0, 86400, &o.polling_interval) < 0)
				return -1;
			break;
		case OPT_EXPANDED: o.expanded = 1; break;
		case OPT_TIMESTAMPS: o.timestamps = 1; break;
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
	if (n_collectors == 0) {
		fprintf(stderr, "psample-sflow: --collector is required\n");
		usage(stderr);
		return -1;
	}
	if (set_agent(agent) < 0)
		return -1;
	/* One flow sample with the largest header and every record must fit one datagram (a
	 * counter sample is smaller). */
	uint32_t fixed = (uint32_t)datagram_header_len() + largest_flow_sample() - xdr_padded(o.header_bytes);

	if (fixed + xdr_padded(o.header_bytes) > o.mtu) {
		fprintf(stderr, "psample-sflow: --header-bytes %u does not fit --mtu %u (at most %u)\n",
			o.header_bytes, o.mtu, o.mtu > fixed ? (o.mtu - fixed) & ~3u : 0);
		return -1;
	}
	return 0;
}
