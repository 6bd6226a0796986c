/* SPDX-License-Identifier: MIT */
/*
 * Interface counters and state over rtnetlink: RTM_GETLINK for one ifindex gives its name,
 * flags and 64-bit statistics (IFLA_STATS64) in one message, also for another namespace
 * (IFLA_TARGET_NETNSID, the namespace id psample reported). Only the counter polls call this,
 * at most a few times a second, never the sample path.
 */
#define _GNU_SOURCE
#include "interfaces.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IFLA_TARGET_NETNSID
#define IFLA_TARGET_NETNSID 46
#endif

#define IFTYPE_OTHER 1
#define IFTYPE_ETHERNET 6
#define IFTYPE_LOOPBACK 24

static int rtnl_fd = -1;
static uint32_t rtnl_seq;
static char reply[65536] __attribute__((aligned(NLMSG_ALIGNTO)));

static int rtnl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	if (rtnl_fd >= 0)
		return 0;
	rtnl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (rtnl_fd < 0)
		return -errno;
	/* Errors arrive as NLMSG_ERROR; strict checking makes the kernel honour the ifindex. */
	setsockopt(rtnl_fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
	if (bind(rtnl_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = -errno;

		close(rtnl_fd);
		rtnl_fd = -1;
		return err;
	}
	return 0;
}

/* Sends a RTM_GETLINK request; `dump` for every interface. */
static int request_link(int32_t nsid, uint32_t ifindex, int dump)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		struct rtattr nsid_attr;
		int32_t nsid;
		struct rtattr mask_attr;
		uint32_t mask;
	} req = {
		.nh.nlmsg_type = RTM_GETLINK,
		.nh.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0),
		.nh.nlmsg_seq = ++rtnl_seq,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_index = (int)ifindex,
		.nsid_attr = { .rta_len = RTA_LENGTH(sizeof(int32_t)), .rta_type = IFLA_TARGET_NETNSID },
		.nsid = nsid,
		/* No per-VF statistics: a switch port's message stays small. */
		.mask_attr = { .rta_len = RTA_LENGTH(sizeof(uint32_t)), .rta_type = IFLA_EXT_MASK },
		.mask = 0,
	};
	size_t len = sizeof req;

	if (nsid < 0) { /* this namespace: the mask attribute moves up over the nsid one */
		memmove(&req.nsid_attr, &req.mask_attr, sizeof req.mask_attr + sizeof req.mask);
		len -= sizeof req.nsid_attr + sizeof req.nsid;
	}
	req.nh.nlmsg_len = (uint32_t)len;
	if (send(rtnl_fd, &req, len, 0) < 0)
		return -errno;
	return 0;
}

static void read_ethtool(const char *name, struct interface *out)
{
	static int fd = -1;
	struct ethtool_cmd cmd = { .cmd = ETHTOOL_GSET };
	struct ifreq ifr;

	if (fd < 0)
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_data = (char *)&cmd;
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return;
	uint32_t mbps = ethtool_cmd_speed(&cmd);

	if (mbps != 0 && mbps != (uint32_t)SPEED_UNKNOWN)
		out->speed = (uint64_t)mbps * 1000000;
	if (cmd.duplex == DUPLEX_FULL)
		out->direction = 1;
	else if (cmd.duplex == DUPLEX_HALF)
		out->direction = 2;
}

static void parse_link(const struct nlmsghdr *nh, struct interface *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)IFLA_PAYLOAD(nh);

	memset(out, 0, sizeof *out);
	out->if_type = ifi->ifi_type == ARPHRD_ETHER	? IFTYPE_ETHERNET
		       : ifi->ifi_type == ARPHRD_LOOPBACK ? IFTYPE_LOOPBACK
							  : IFTYPE_OTHER;
	out->status = ((ifi->ifi_flags & IFF_UP) ? 1u : 0u) | ((ifi->ifi_flags & IFF_RUNNING) ? 2u : 0u);
	out->promiscuous = (ifi->ifi_flags & IFF_PROMISC) ? 1 : 0;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t n = RTA_PAYLOAD(a);

		if (a->rta_type == IFLA_IFNAME) {
			if (n >= sizeof out->name)
				n = sizeof out->name - 1;
			memcpy(out->name, RTA_DATA(a), n);
			out->name[n] = 0;
		} else if (a->rta_type == IFLA_STATS64) {
			memcpy(&out->stats, RTA_DATA(a), n < sizeof out->stats ? n : sizeof out->stats);
		}
	}
}

/* Reads replies to request `seq` until done; calls parse_link for RTM_NEWLINK messages into
 * `out` (one interface) or tracks the largest index into `*max_index` (a dump). */
static int read_replies(uint32_t seq, struct interface *out, int64_t *max_index)
{
	int found = 0;

	for (;;) {
		ssize_t n = recv(rtnl_fd, reply, sizeof reply, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)reply; NLMSG_OK(nh, (uint32_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue; /* a late answer to an earlier request */
			if (nh->nlmsg_type == NLMSG_DONE)
				return found ? 0 : -ENODEV;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				return e->error ? e->error : (found ? 0 : -ENODEV);
			}
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			found = 1;
			if (max_index) {
				const struct ifinfomsg *ifi = NLMSG_DATA(nh);

				if (ifi->ifi_index > *max_index)
					*max_index = ifi->ifi_index;
			} else {
				parse_link(nh, out);
				if (!(nh->nlmsg_flags & NLM_F_MULTI))
					return 0;
			}
		}
	}
}

int interface_read(int32_t nsid, uint32_t ifindex, struct interface *out)
{
	int rc = rtnl_open();

	if (rc == 0)
		rc = request_link(nsid, ifindex, 0);
	if (rc == 0)
		rc = read_replies(rtnl_seq, out, NULL);
	if (rc == 0 && nsid < 0)
		read_ethtool(out->name, out);
	return rc;
}

int64_t interfaces_max_index(void)
{
	int64_t max_index = 0;
	int rc = rtnl_open();

	if (rc == 0)
		rc = request_link(-1, 0, 1);
	if (rc == 0)
		rc = read_replies(rtnl_seq, NULL, &max_index);
	return rc < 0 ? rc : max_index;
}
