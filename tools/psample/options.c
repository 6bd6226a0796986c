/* SPDX-License-Identifier: MIT */
/* psample's command line: the original's options (argp's exit codes and help options) and
 * this tool's own. */
#define _GNU_SOURCE /* getopt_long */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"

struct options opt;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: psample [-m|--monitor] [-v|--verbose] [-c|--no-config] [-s|--no-sample]\n"
		"               [-g|--group GROUP]... [--count N] [--json] [--stats] [--all-netns]\n"
		"       psample -l|--list-groups [--json]\n"
		"       psample -w|--write FILE|- [--linktype linux_sll2|en10mb] [-g|--group GROUP]...\n"
		"               [--count N] [--stats] [--all-netns]\n"
		"Tool for monitoring psample packets.\n"
		"  -m, --monitor       monitor sample packets and group events (default)\n"
		"  -c, --no-config     when monitoring, don't show config notifications\n"
		"  -s, --no-sample     when monitoring, don't show sample notifications\n"
		"  -g, --group GROUP   only this group (repeatable)\n"
		"  -v, --verbose       print the packet data\n"
		"  -l, --list-groups   list the current groups\n"
		"  -w, --write FILE    write sampled packets to a pcap file (ns timestamps),\n"
		"                      '-' for standard output\n"
		"      --linktype T    --write's link type: linux_sll2 (default: direction, interface)\n"
		"                      or en10mb (Ethernet)\n"
		"      --count N       exit after N samples (with --no-sample: N group events)\n"
		"      --json          one JSON object per line, every field\n"
		"      --stats         print loss statistics to stderr on exit (and on SIGUSR1)\n"
		"      --all-netns     also samples from other network namespaces, with their nsid\n"
		"  -h, -?, --help      this help\n");
}

static int usage_error(const char *why)
{
	if (why)
		fprintf(stderr, "psample: %s\n", why);
	usage(stderr);
	return EXIT_USAGE;
}

static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || end == s || *end || strchr(s, '-') || v > max)
		return -1;
	*out = v;
	return 0;
}

static int set_mode(enum mode m)
{
	if (opt.mode != MODE_UNSET && opt.mode != m)
		return -1;
	opt.mode = m;
	return 0;
}

int parse_options(int argc, char **argv)
{
	enum { OPT_COUNT = 256, OPT_JSON, OPT_STATS, OPT_ALL_NETNS, OPT_LINKTYPE, OPT_USAGE };
	static const struct option longopts[] = {
		{ "list-groups", no_argument, NULL, 'l' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "no-config", no_argument, NULL, 'c' },
		{ "no-sample", no_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
		{ "linktype", required_argument, NULL, OPT_LINKTYPE },
		{ "help", no_argument, NULL, 'h' },
		{ "usage", no_argument, NULL, OPT_USAGE },
		{ 0 }
	};
	int linktype_set = 0;
	uint64_t v;
	int ch;

	opt.linktype = LINKTYPE_LINUX_SLL2;
	/* -?: the original's (argp's) help option, which getopt cannot tell from its own '?'. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-?")) {
			usage(stdout);
			return 0;
		}

	while ((ch = getopt_long(argc, argv, "lmcsg:vw:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (set_mode(MODE_LIST))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			break;
		case 'm':
			if (set_mode(MODE_MONITOR))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			break;
		case 'w':
			if (set_mode(MODE_WRITE))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			opt.write = optarg;
			break;
		case 'c': opt.no_config = 1; break;
		case 's': opt.no_sample = 1; break;
		case 'v': opt.verbose = 1; break;
		case 'g':
			/* Decimal, as the original's atoi() ("010" is 10); but not negative, not
			 * beyond 4294967295 and nothing after the number, which atoi() let through. */
			if (opt.n_groups == PSAMPLE_MAX_GROUPS || parse_u64(optarg, 10, UINT32_MAX, &v))
				return usage_error("bad --group: a number from 0 to 4294967295");
			opt.groups[opt.n_groups++] = (uint32_t)v;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 0, UINT64_MAX, &opt.count) || opt.count == 0)
				return usage_error("bad --count");
			break;
		case OPT_JSON: opt.json = 1; break;
		case OPT_STATS: opt.stats = 1; break;
		case OPT_ALL_NETNS: opt.all_netns = 1; break;
		case OPT_LINKTYPE:
			if (!strcasecmp(optarg, "linux_sll2"))
				opt.linktype = LINKTYPE_LINUX_SLL2;
			else if (!strcasecmp(optarg, "en10mb"))
				opt.linktype = LINKTYPE_EN10MB;
			else
				return usage_error("bad --linktype: linux_sll2 or en10mb");
			linktype_set = 1;
			break;
		case 'h':
		case OPT_USAGE: usage(stdout); return 0;
		default: return usage_error(NULL);
		}
	}
	if (optind != argc)
		return usage_error("too many arguments");
	if (opt.mode == MODE_UNSET)
		opt.mode = MODE_MONITOR;

	/* The original's combinations, plus --json, which has no pcap form. */
	if (opt.mode != MODE_MONITOR && (opt.no_config || opt.no_sample))
		return usage_error("--no-config and --no-sample are for monitor mode");
	if (opt.no_config && opt.no_sample)
		return usage_error("cannot use both --no-sample and --no-config");
	if (opt.mode == MODE_WRITE && (opt.verbose || opt.json))
		return usage_error("--write takes neither --verbose nor --json");
	if (opt.mode != MODE_WRITE && linktype_set)
		return usage_error("--linktype is for --write");
	if (opt.mode == MODE_WRITE && !PSAMPLE_TOOL_PCAP) {
		fprintf(stderr, "psample: --write: this psample was built without libpcap (make PCAP=yes)\n");
		return 1;
	}	return -1;
}
