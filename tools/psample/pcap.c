/* SPDX-License-Identifier: MIT */
/* psample --write: one pcap record per sample, with the kernel's timestamps, in
 * LINKTYPE_LINUX_SLL2 (direction and interface kept) or as Ethernet frames. */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>

#include "options.h"
#include "pcap.h"

#if PSAMPLE_TOOL_PCAP
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "../common/data_start.h"

#define SNAPLEN 65535

struct pcap_out {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	int linktype; /* LINKTYPE_* */
};

#define ETH_HEADER_LEN 14
#define SLL2_HEADER_LEN 20
#define ETH_P_802_3 0x0001 /* SLL's protocol for Novell raw 802.3 (payload starts ff ff) */
#define ETH_P_802_2 0x0004 /* SLL's protocol for 802.2 LLC (an 802.3 length field) */
#define SLL_PACKET_HOST 0
#define SLL_PACKET_OUTGOING 4

static void put_be16(uint8_t *at, uint32_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

/* A LINKTYPE_LINUX_SLL2 header for a sample, in `hdr`; returns how many leading data bytes it
 * replaces (the MAC header). The rule is psample.8's "PCAP LINK TYPES". */
static uint32_t sll2_header(uint8_t hdr[SLL2_HEADER_LEN], const struct psample_packet *p)
{
	int outgoing = (p->fields & PSAMPLE_FIELD_OIFINDEX) != 0;
	uint32_t ifindex = outgoing ? p->oifindex : (p->fields & PSAMPLE_FIELD_IIFINDEX) ? p->iifindex : 0;
	int hatype;
	enum data_start start = sample_data_start(p, ifindex, &hatype);
	uint16_t protocol;

	if (start == START_MAC && p->data_len < ETH_HEADER_LEN)
		start = START_IP; /* too short for a MAC header: written as it is */

	memset(hdr, 0, SLL2_HEADER_LEN);
	hdr[4] = (uint8_t)(ifindex >> 24);
	hdr[5] = (uint8_t)(ifindex >> 16);
	hdr[6] = (uint8_t)(ifindex >> 8);
	hdr[7] = (uint8_t)ifindex;
	hdr[10] = outgoing ? SLL_PACKET_OUTGOING : SLL_PACKET_HOST;
	if (start == START_MAC) {
		protocol = read_be16(p->data + 12);
		if (protocol < 0x0600) /* an 802.3 length: what follows is LLC, or Novell raw */
			protocol = p->data_len >= 16 && read_be16(p->data + 14) == 0xffff ? ETH_P_802_3
											 : ETH_P_802_2;
		put_be16(hdr, protocol);
		put_be16(hdr + 8, hatype >= 0 ? (uint32_t)hatype : ARPHRD_ETHER);
		hdr[11] = 6; /* the source MAC address */
		memcpy(hdr + 12, p->data + 6, 6);
		return ETH_HEADER_LEN;
	}
	protocol = (p->fields & PSAMPLE_FIELD_PROTO) ? p->proto : ip_first_protocol(p);
	if (!protocol && p->data_len)
		protocol = p->data[0] >> 4 == 6 ? ETHERTYPE_IPV6 : p->data[0] >> 4 == 4 ? ETHERTYPE_IPV4 : 0;
	put_be16(hdr, protocol);
	put_be16(hdr + 8, hatype >= 0 ? (uint32_t)hatype : ARPHRD_NONE);
	return 0;
}

struct pcap_out *pcap_out_open(const char *path, int linktype)
{
	static struct pcap_out out; /* one writer per process */

	out.linktype = linktype;
	out.dead = pcap_open_dead_with_tstamp_precision(linktype, SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	out.dumper = out.dead ? pcap_dump_open(out.dead, path) : NULL; /* "-": standard output */
	if (!out.dumper) {
		fprintf(stderr, "psample: %s: %s\n", path, out.dead ? pcap_geterr(out.dead) : "pcap");
		if (out.dead)
			pcap_close(out.dead);
		return NULL;
	}
	return &out;
}

/* One record per sample: caplen = what was sampled, len = the original length (both with the
 * SLL2 header in place of the MAC header), and the kernel's timestamp (the receive time on
 * kernels before 5.13, which send none). */
int pcap_out_write(struct pcap_out *out, const struct psample_packet *p)
{
	static uint8_t frame[SNAPLEN]; /* the SLL2 header and the data: no allocation per sample */
	struct pcap_pkthdr h;
	uint64_t ts = p->timestamp_ns;
	uint32_t data_len = p->data ? p->data_len : 0, orig = data_len, skip = 0, head = 0;
	const u_char *bytes = p->data ? p->data : (const u_char *)"";

	if ((p->fields & PSAMPLE_FIELD_ORIGSIZE) && p->orig_size > orig)
		orig = p->orig_size;
	if (!(p->fields & PSAMPLE_FIELD_TIMESTAMP)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		ts = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	}
	h.ts.tv_sec = (time_t)(ts / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(ts % 1000000000u); /* nanoseconds: the file is nano-precision */
	if (out->linktype == LINKTYPE_LINUX_SLL2) {
		struct psample_packet q = *p;

		q.data = bytes;
		q.data_len = data_len;
		head = SLL2_HEADER_LEN;
		skip = sll2_header(frame, &q);
		data_len -= skip;
		orig -= skip;
		if (data_len > SNAPLEN - head)
			data_len = SNAPLEN - head;
		memcpy(frame + head, bytes + skip, data_len);
		bytes = frame;
	} else if (data_len > SNAPLEN) {
		data_len = SNAPLEN;
	}
	h.caplen = head + data_len;
	h.len = head + orig;
	pcap_dump((u_char *)out->dumper, &h, bytes);
	return pcap_dump_flush(out->dumper); /* each packet reaches a reader (tcpdump -r -) at once */
}

void pcap_out_close(struct pcap_out *out)
{
	pcap_dump_close(out->dumper);
	pcap_close(out->dead);
	if (ioctl_socket >= 0) /* sll2_header's, for interface types */
		close(ioctl_socket);
	ioctl_socket = -1;
}
#else
/* Without libpcap there is no writer: parse_options() refuses --write before this is reached. */
struct pcap_out *pcap_out_open(const char *path, int linktype)
{
	(void)linktype;
	fprintf(stderr, "psample: %s: this psample was built without libpcap (make PCAP=yes)\n", path);
	return NULL;
}

int pcap_out_write(struct pcap_out *out, const struct psample_packet *p)
{
	(void)out;
	(void)p;
	return -1;
}

void pcap_out_close(struct pcap_out *out)
{
	(void)out;
}
#endif
