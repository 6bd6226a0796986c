/* SPDX-License-Identifier: MIT */
/* The kernel's interface table: one interface's counters and state, for counter samples. */
#ifndef PSAMPLE_SFLOW_INTERFACES_H
#define PSAMPLE_SFLOW_INTERFACES_H

#include <linux/if_link.h>
#include <net/if.h>
#include <stdint.h>

struct interface {
	char name[IF_NAMESIZE];
	uint32_t if_type;   /* IANA ifType: 6 ethernetCsmacd, 24 softwareLoopback, 1 other */
	uint64_t speed;	    /* bits per second, 0: unknown */
	uint32_t direction; /* 1 full duplex, 2 half duplex, 0 unknown */
	uint32_t status;    /* bit 0 admin up, bit 1 operationally up */
	uint32_t promiscuous;
	struct rtnl_link_stats64 stats;
};

/* Reads interface `ifindex` of namespace `nsid` (-1: this one; else the id psample gave, read
 * through IFLA_TARGET_NETNSID) with RTM_GETLINK. Returns 0, or -errno (-ENODEV: no such
 * interface). Speed and duplex come from ethtool, in this namespace only. */
int interface_read(int32_t nsid, uint32_t ifindex, struct interface *out);

/* The largest interface index in this namespace (RTM_GETLINK dump), or -errno. */
int64_t interfaces_max_index(void);

#endif
