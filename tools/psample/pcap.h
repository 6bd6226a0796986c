/* SPDX-License-Identifier: MIT */
/* psample --write: samples as pcap records (nanosecond timestamps), LINKTYPE_LINUX_SLL2 or
 * Ethernet. Without libpcap (PSAMPLE_TOOL_PCAP=0) opening fails. */
#ifndef PSAMPLE_TOOL_PCAP_H
#define PSAMPLE_TOOL_PCAP_H

#include <psample.h>

struct pcap_out;

/* Opens `path` ("-": standard output) for records of `linktype` (LINKTYPE_*). NULL after
 * explaining the failure on stderr. */
struct pcap_out *pcap_out_open(const char *path, int linktype);

/* Writes one sample and flushes it, so a reader (tcpdump -r -) sees it at once; < 0 on error
 * (errno set). */
int pcap_out_write(struct pcap_out *out, const struct psample_packet *p);

void pcap_out_close(struct pcap_out *out);

#endif
