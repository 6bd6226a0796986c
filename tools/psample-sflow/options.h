/* SPDX-License-Identifier: MIT */
/* psample-sflow's command line: what the options say, parsed once at start. */
#ifndef PSAMPLE_SFLOW_OPTIONS_H
#define PSAMPLE_SFLOW_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#define DEFAULT_PORT "6343"
#define DEFAULT_MTU 1400
#define DEFAULT_HEADER_BYTES 128
#define DEFAULT_POLLING_INTERVAL 20
#define MAX_COLLECTORS 8
#define MAX_GROUPS 64
#define MAX_DATAGRAM 65507

/* Which interface a sample of a group belongs to (psample-sflow.8, "DIRECTION"). */
enum direction {
	DIR_BY_SAMPLE, /* plain --group: egress when the sample has an output interface */
	DIR_INGRESS,   /* --ingress-group: the input interface */
	DIR_EGRESS,    /* --egress-group: the output interface */
};

struct options {
	uint32_t groups[3 * MAX_GROUPS]; /* every group named: the subscription's filter */
	uint32_t n_groups;
	uint32_t ingress[MAX_GROUPS], n_ingress;
	uint32_t egress[MAX_GROUPS], n_egress;
	unsigned mtu, header_bytes;
	uint32_t sub_agent;
	uint32_t polling_interval; /* seconds, 0: no counter samples */
	int agent_family;	   /* AF_INET or AF_INET6 */
	uint8_t agent[16];
	uint64_t count;
	int stats, all_netns, expanded;
	int timestamps; /* the timestamp record (1043) in flow samples */
};

extern struct options o;

/* Parses the command line, resolves the collectors and picks the agent address. Returns 0, or
 * -1 after printing what is wrong (exit status 2). */
int parse_args(int argc, char **argv);

enum direction group_direction(uint32_t group);

#endif
