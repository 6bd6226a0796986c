/* SPDX-License-Identifier: MIT */
/*
 * The sFlow v5 samples (https://sflow.org/sflow_version_5.txt; psample-sflow.8, "SFLOW MAPPING"):
 * a flow sample per psample sample, with a raw packet header record and the records hsflowd
 * makes of the hardware attributes; a counter sample per polled data source, with the generic
 * interface counters and the port name. Compact encodings (formats 1 and 2) unless the run is
 * expanded (3 and 4): one encoding per run, as the specification asks.
 */
#define _GNU_SOURCE
#include "samples.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/data_start.h"
#include "datagrams.h"
#include "interfaces.h"
#include "options.h"
#include "xdr.h"

#define SFLOW_FLOW_SAMPLE 1
#define SFLOW_COUNTER_SAMPLE 2
#define SFLOW_FLOW_SAMPLE_EXPANDED 3
#define SFLOW_COUNTER_SAMPLE_EXPANDED 4
#define SFLOW_DS_IFINDEX 0

/* Flow records (enterprise 0). */
#define SFLOW_RAW_HEADER 1
#define SFLOW_EX_EGRESS_QUEUE 1036
#define SFLOW_EX_TRANSIT 1039
#define SFLOW_EX_QUEUE 1040
#define SFLOW_EX_TIMESTAMP 1043
#define SFLOW_HEADER_ETHERNET 1
#define SFLOW_HEADER_IPV4 11
#define SFLOW_HEADER_IPV6 12
/* The frame check sequence an Ethernet frame had on the wire: not in psample's data. */
#define ETHERNET_FCS 4

/* Counter records (enterprise 0). */
#define SFLOW_GENERIC_COUNTERS 1
#define SFLOW_PORT_NAME 1005
#define SFLOW_COUNTER_UNKNOWN 0xffffffffu

/* Sizes in bytes, each with its tag and length words. */
#define FLOW_SAMPLE_FIXED (8 + 8 * 4)
#define FLOW_SAMPLE_EXPANDED_FIXED (8 + 11 * 4)
#define RAW_HEADER_FIXED (8 + 4 * 4)
#define U32_RECORD (8 + 4)
#define U64_RECORD (8 + 8)
#define HW_RECORDS_MAX (3 * U32_RECORD + U64_RECORD)
#define COUNTER_SAMPLE_FIXED (8 + 3 * 4)
#define COUNTER_SAMPLE_EXPANDED_FIXED (8 + 4 * 4)
#define GENERIC_COUNTERS_RECORD (8 + 88)
#define PORT_NAME_RECORD_MAX (8 + 4 + IF_NAMESIZE)

struct export_stats xs;
static int expanded_warned;

uint32_t largest_flow_sample(void)
{
	return FLOW_SAMPLE_EXPANDED_FIXED + RAW_HEADER_FIXED + xdr_padded(o.header_bytes) + HW_RECORDS_MAX;
}

void samples_forget_interfaces(void)
{
	memset(if_cache, 0, sizeof if_cache);
}

/* What the data starts with, by tools/common/data_start.h's rule looked up on the data source's
 * interface (psample-sflow.8, "header_protocol"); an IP header is IPv4 or IPv6 by its version. */
static uint32_t header_protocol(const struct psample_packet *p, uint32_t ds_ifindex)
{
	int hatype;
	unsigned version;

	if (sample_data_start(p, ds_ifindex, &hatype) == START_MAC)
		return SFLOW_HEADER_ETHERNET;
	version = p->data_len ? p->data[0] >> 4 : 0;
	if (version == 4)
		return SFLOW_HEADER_IPV4;
	if (version == 6)
		return SFLOW_HEADER_IPV6;
	return SFLOW_HEADER_ETHERNET;
}

/* The data source's ifIndex by the sample's group (psample-sflow.8, "DIRECTION"). */
static uint32_t source_index(const struct psample_packet *p, uint32_t in, uint32_t out)
{
	switch (group_direction(p->group)) {
	case DIR_INGRESS:
		return in;
	case DIR_EGRESS:
		return out;
	default:
		return out ? out : in;
	}
}

/* The delay and depth records hold 32 bits: a larger value is sent as 0xffffffff, which the
 * specification defines as "this value or more". */
static uint32_t saturated(uint64_t v)
{
	return v > 0xffffffffu ? 0xffffffffu : (uint32_t)v;
}

static uint8_t *put_u32_record(uint8_t *q, uint32_t format, uint32_t v)
{
	return put32(put32(put32(q, format), 4), v);
}

void export_flow_sample(const struct psample_packet *p)
{
	uint32_t in = (p->fields & PSAMPLE_FIELD_IIFINDEX) ? p->iifindex : 0;
	uint32_t out = (p->fields & PSAMPLE_FIELD_OIFINDEX) ? p->oifindex : 0;
	uint32_t ds_index = source_index(p, in, out);
	uint32_t rate = psample_effective_rate(p);
	uint32_t hdr_len = p->data_len < o.header_bytes ? p->data_len : o.header_bytes;
	uint32_t header_record = RAW_HEADER_FIXED + xdr_padded(hdr_len);
	uint32_t n_records = 1, records_len = header_record;
	int fits_compact = ds_index <= 0xffffff && in <= 0x3fffffff && out <= 0x3fffffff;
	struct data_source *s;
	uint8_t *q;

	xs.samples++;
	if (!(p->fields & PSAMPLE_FIELD_DATA) || rate == 0 || !(s = source_get(p->nsid, ds_index))) {
		xs.skipped++;
		return;
	}
	if (!o.expanded && !fits_compact) {
		if (!expanded_warned++)
			fprintf(stderr, "psample-sflow: a sample's interface index (%" PRIu32 ", %" PRIu32
					") needs the expanded encoding: skipped; restart with --expanded\n",
				in, out);
		xs.skipped++;
		return;
	}
	if (p->fields & PSAMPLE_FIELD_OUT_TC)
		n_records++, records_len += U32_RECORD;
	if (p->fields & PSAMPLE_FIELD_LATENCY)
		n_records++, records_len += U32_RECORD;
	if (p->fields & PSAMPLE_FIELD_OUT_TC_OCC)
		n_records++, records_len += U32_RECORD;
	if (o.timestamps && (p->fields & PSAMPLE_FIELD_TIMESTAMP))
		n_records++, records_len += U64_RECORD;

	uint32_t sample_len = (o.expanded ? FLOW_SAMPLE_EXPANDED_FIXED : FLOW_SAMPLE_FIXED) + records_len;

	q = datagram_reserve(p->nsid, sample_len);
	if (!q) {
		xs.skipped++;
		return;
	}
	s->flow_seq++;
	s->pool += rate * (uint32_t)(1 + p->seq_lost); /* sFlow counters wrap at 32 bits */
	s->drops += (uint32_t)p->seq_lost;
	source_start_polling(s, o.polling_interval);

	q = put32(q, o.expanded ? SFLOW_FLOW_SAMPLE_EXPANDED : SFLOW_FLOW_SAMPLE);
	q = put32(q, sample_len - 8);
	q = put32(q, s->flow_seq);
	if (o.expanded) {
		q = put32(q, SFLOW_DS_IFINDEX);
		q = put32(q, ds_index);
	} else {
		q = put32(q, SFLOW_DS_IFINDEX << 24 | ds_index);
	}
	q = put32(q, rate);
	q = put32(q, s->pool);
	q = put32(q, s->drops);
	if (o.expanded) {
		q = put32(q, 0); /* format 0: an ifIndex */
		q = put32(q, in);
		q = put32(q, 0);
		q = put32(q, out);
	} else {
		q = put32(q, in);
		q = put32(q, out);
	}
	q = put32(q, n_records);

	uint32_t proto = header_protocol(p, ds_index);
	uint32_t size = (p->fields & PSAMPLE_FIELD_ORIGSIZE) ? p->orig_size : p->data_len;
	uint32_t fcs = proto == SFLOW_HEADER_ETHERNET ? ETHERNET_FCS : 0;

	q = put32(q, SFLOW_RAW_HEADER);
	q = put32(q, header_record - 8);
	q = put32(q, proto);
	q = put32(q, size + fcs); /* an Ethernet frame_length counts its FCS, stripped here */
	q = put32(q, fcs);
	q = put32(q, hdr_len);
	q = put_opaque(q, p->data, hdr_len);
	/* Hardware attributes, as hsflowd's mod_psample turns them into records. */
	if (p->fields & PSAMPLE_FIELD_OUT_TC)
		q = put_u32_record(q, SFLOW_EX_EGRESS_QUEUE, p->out_tc);
	if (p->fields & PSAMPLE_FIELD_LATENCY)
		q = put_u32_record(q, SFLOW_EX_TRANSIT, saturated(p->latency_ns));
	if (p->fields & PSAMPLE_FIELD_OUT_TC_OCC)
		q = put_u32_record(q, SFLOW_EX_QUEUE, saturated(p->out_tc_occ));
	/* Off by default: Wireshark 4.0 (Debian 12) cannot skip a record it does not know and calls
	 * every datagram after one malformed; the kernel stamps every sample since 5.13. */
	if (o.timestamps && (p->fields & PSAMPLE_FIELD_TIMESTAMP))
		put64(put32(put32(q, SFLOW_EX_TIMESTAMP), 8), p->timestamp_ns);
	xs.exported++;
}

void export_counter_sample(struct data_source *s)
{
	struct interface ifc;
	const struct rtnl_link_stats64 *st = &ifc.stats;
	uint32_t name_len, sample_len;
	uint8_t *q;

	if (interface_read(s->nsid, s->ifindex, &ifc) < 0) {
		xs.poll_errors++; /* gone, or not readable: polled again next interval */
		return;
	}
	name_len = (uint32_t)strlen(ifc.name);
	sample_len = (o.expanded ? COUNTER_SAMPLE_EXPANDED_FIXED : COUNTER_SAMPLE_FIXED) +
		     GENERIC_COUNTERS_RECORD + 8 + 4 + xdr_padded(name_len);
	q = datagram_reserve(s->nsid, sample_len);
	if (!q) {
		xs.poll_errors++;
		return;
	}
	s->counter_seq++;
	q = put32(q, o.expanded ? SFLOW_COUNTER_SAMPLE_EXPANDED : SFLOW_COUNTER_SAMPLE);
	q = put32(q, sample_len - 8);
	q = put32(q, s->counter_seq);
	if (o.expanded) {
		q = put32(q, SFLOW_DS_IFINDEX);
		q = put32(q, s->ifindex);
	} else {
		q = put32(q, SFLOW_DS_IFINDEX << 24 | s->ifindex);
	}
	q = put32(q, 2); /* records */
	q = put32(q, SFLOW_GENERIC_COUNTERS);
	q = put32(q, GENERIC_COUNTERS_RECORD - 8);
	q = put32(q, s->ifindex);
	q = put32(q, ifc.if_type);
	q = put64(q, ifc.speed);
	q = put32(q, ifc.direction);
	q = put32(q, ifc.status);
	/* The 32-bit counters wrap, as in the MIB. Packets in count unicast and broadcast: the
	 * kernel counts multicast apart, but not broadcast, which is sent as unknown. */
	q = put64(q, st->rx_bytes);
	q = put32(q, (uint32_t)(st->rx_packets - st->multicast));
	q = put32(q, (uint32_t)st->multicast);
	q = put32(q, SFLOW_COUNTER_UNKNOWN);
	q = put32(q, (uint32_t)(st->rx_dropped + st->rx_missed_errors));
	q = put32(q, (uint32_t)st->rx_errors);
	q = put32(q, (uint32_t)st->rx_nohandler);
	q = put64(q, st->tx_bytes);
	q = put32(q, (uint32_t)st->tx_packets);
	q = put32(q, SFLOW_COUNTER_UNKNOWN);
	q = put32(q, SFLOW_COUNTER_UNKNOWN);
	q = put32(q, (uint32_t)st->tx_dropped);
	q = put32(q, (uint32_t)st->tx_errors);
	q = put32(q, ifc.promiscuous);
	q = put32(q, SFLOW_PORT_NAME);
	q = put32(q, 4 + xdr_padded(name_len));
	put_string(q, ifc.name, name_len);
	xs.counter_samples++;
}
