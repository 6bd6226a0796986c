/* SPDX-License-Identifier: MIT */
/* psample's command line: parsed once by main(), then read by the other parts. */
#ifndef PSAMPLE_TOOL_OPTIONS_H
#define PSAMPLE_TOOL_OPTIONS_H

#include <stdint.h>

#include <psample.h>

/* Built with PSAMPLE_TOOL_PCAP=0 (make PCAP=no), psample needs no libpcap and --write fails. */
#ifndef PSAMPLE_TOOL_PCAP
#define PSAMPLE_TOOL_PCAP 1
#endif

#define EXIT_USAGE 64 /* what the original (argp) exits with on a usage error */

/* The DLT values (pcap/dlt.h), also without libpcap. */
#define LINKTYPE_EN10MB 1
#define LINKTYPE_LINUX_SLL2 276

enum mode { MODE_UNSET, MODE_MONITOR, MODE_LIST, MODE_WRITE };

struct options {
	enum mode mode;
	int verbose, no_config, no_sample, json, stats, all_netns;
	uint64_t count; /* 0: no limit */
	const char *write;
	int linktype; /* DLT_* of --write */
	uint32_t groups[PSAMPLE_MAX_GROUPS];
	uint32_t n_groups;
};

extern struct options opt;

/* Fills `opt` from the command line. Returns -1 when the command is to run, else the exit
 * status to end with: 0 after printing the help, EXIT_USAGE after a usage error (explained on
 * stderr), 1 when this build cannot do what was asked. */
int parse_options(int argc, char **argv);

#endif
