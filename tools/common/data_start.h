/* What a sample's data starts with, a MAC header or an IP header: one rule for psample's pcap
 * (psample.8, "PCAP LINK TYPES") and psample-sflow's header records (psample-sflow.8,
 * "header_protocol"). Header-only, for the tools in tools/; each includes it once. */
#ifndef PSAMPLE_TOOLS_DATA_START_H
#define PSAMPLE_TOOLS_DATA_START_H

#include <net/if.h>
#include <net/if_arp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <psample.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
/* PSAMPLE_ATTR_PROTO of userspace producers (VPP) whose data starts with an Ethernet header. */
#define PSAMPLE_PROTO_ETHERNET 1
/* linux/if_arp.h's, which glibc's net/if_arp.h lacks */
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif
#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif

/* The hardware type (ARPHRD_*) of the interfaces samples name, looked up by ifindex and kept
 * for a second, so a renumbered or recreated interface is seen again soon and a busy sampler
 * costs two ioctls per interface and second, not per sample. */
#define IF_CACHE_SLOTS 64

static struct if_type {
	uint32_t ifindex; /* 0: empty slot */
	int hatype;	  /* -1: no such interface here */
	time_t checked;	  /* CLOCK_MONOTONIC seconds */
} if_cache[IF_CACHE_SLOTS];

static int ioctl_socket = -1;

/* The interface's hardware type in this network namespace, -1 when there is none. */
static int interface_hatype(uint32_t ifindex)
{
	struct if_type *slot = &if_cache[ifindex % IF_CACHE_SLOTS];
	struct timespec now;
	struct ifreq ifr;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (slot->ifindex == ifindex && slot->checked == now.tv_sec)
		return slot->hatype;
	slot->ifindex = ifindex;
	slot->checked = now.tv_sec;
	slot->hatype = -1;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_ifindex = (int)ifindex;
	if (ioctl_socket < 0)
		ioctl_socket = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ioctl_socket >= 0 && ioctl(ioctl_socket, SIOCGIFNAME, &ifr) == 0 &&
	    ioctl(ioctl_socket, SIOCGIFHWADDR, &ifr) == 0)
		slot->hatype = ifr.ifr_hwaddr.sa_family;
	return slot->hatype;
}

enum data_start { START_UNKNOWN, START_MAC, START_IP };

/* By the interface's hardware type: act_sample gives the packet from its MAC header on
 * Ethernet-like devices, and from the IP header on those without one (the types for which it
 * does not push a MAC header back at ingress, and raw-IP ones). */
static enum data_start start_by_hatype(int hatype)
{
	switch (hatype) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		return START_MAC;
	case ARPHRD_NONE:
	case ARPHRD_VOID:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
		return START_IP;
	default:
		return START_UNKNOWN;
	}
}

static uint16_t read_be16(const uint8_t *at)
{
	return (uint16_t)(at[0] << 8 | at[1]);
}

/* The ethertype of an IP header the data starts with, 0 if it does not look like one: the
 * version, a sane header, a length that accounts for the whole original packet, and the PROTO
 * attribute, when sent, agreeing. */
static uint16_t ip_first_protocol(const struct psample_packet *p)
{
	uint32_t size = (p->fields & PSAMPLE_FIELD_ORIGSIZE) ? p->orig_size : p->data_len;
	uint16_t proto = 0;

	if (p->data_len >= 20 && p->data[0] >> 4 == 4 && (p->data[0] & 0xf) >= 5 &&
	    read_be16(p->data + 2) == size)
		proto = ETHERTYPE_IPV4;
	else if (p->data_len >= 40 && p->data[0] >> 4 == 6 && read_be16(p->data + 4) + 40u == size)
		proto = ETHERTYPE_IPV6;
	if (proto && (p->fields & PSAMPLE_FIELD_PROTO) && p->proto != proto)
		return 0;
	return proto;
}

/* Where the data of sample `p`, taken on interface `ifindex` (0: none), starts. `*hatype` gets
 * the interface's hardware type, -1 when it was not looked up or not found. The rule:
 * 1. a userspace producer's PROTO says it: 1 (VPP) a MAC header, 0x0800 or 0x86dd an IP header;
 * 2. the interface's hardware type, when it is in this namespace and of a known kind;
 * 3. else an IP header when the data reads as one that accounts for the whole packet
 *    (ip_first_protocol), else a MAC header. */
static enum data_start sample_data_start(const struct psample_packet *p, uint32_t ifindex, int *hatype)
{
	enum data_start start;

	*hatype = -1;
	if ((p->flags & PSAMPLE_PKT_F_USERSPACE) && (p->fields & PSAMPLE_FIELD_PROTO)) {
		if (p->proto == PSAMPLE_PROTO_ETHERNET)
			return START_MAC;
		if (p->proto == ETHERTYPE_IPV4 || p->proto == ETHERTYPE_IPV6)
			return START_IP;
	}
	/* Interfaces of other namespaces (--all-netns) cannot be looked up from here. */
	if (ifindex && p->nsid < 0) {
		*hatype = interface_hatype(ifindex);
		start = start_by_hatype(*hatype);
		if (start != START_UNKNOWN)
			return start;
	}
	return ip_first_protocol(p) ? START_IP : START_MAC;
}

#endif
