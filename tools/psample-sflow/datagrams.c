/* SPDX-License-Identifier: MIT */
/*
 * Datagrams: one buffer per sub-agent, filled with samples in place and sent when the next sample
 * would not fit --mtu, when its first sample is FLUSH_MS old, or on exit. A buffer is allocated
 * when its namespace sends its first sample, never per sample.
 */
#define _GNU_SOURCE
#include "datagrams.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "collectors.h"
#include "options.h"
#include "xdr.h"

#define SFLOW_VERSION 5
#define SFLOW_ADDR_IP_V4 1
#define SFLOW_ADDR_IP_V6 2

struct datagram {
	int32_t nsid;
	uint32_t sub_agent;
	uint8_t *buf;
	size_t len;
	uint32_t n_samples, seq;
	uint64_t first_ms;
};

static struct datagram dgrams[MAX_SUB_AGENTS];
static int n_dgrams;
static uint64_t start_ms;
uint64_t datagrams_built;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void datagrams_init(void)
{
	start_ms = now_ms();
}

size_t datagram_header_len(void)
{
	return o.agent_family == AF_INET6 ? DGRAM_HEADER_V6 : DGRAM_HEADER_V4;
}

uint32_t sub_agent_of(int32_t nsid)
{
	return nsid < 0 ? o.sub_agent : o.sub_agent + 1 + (uint32_t)nsid;
}

static void send_datagram(struct datagram *g)
{
	uint8_t *p = g->buf;

	if (g->n_samples == 0)
		return;
	p = put32(p, SFLOW_VERSION);
	if (o.agent_family == AF_INET6) {
		p = put32(p, SFLOW_ADDR_IP_V6);
		p = put_opaque(p, o.agent, 16);
	} else {
		p = put32(p, SFLOW_ADDR_IP_V4);
		p = put_opaque(p, o.agent, 4);
	}
	p = put32(p, g->sub_agent);
	p = put32(p, ++g->seq);
	p = put32(p, (uint32_t)(now_ms() - start_ms));
	put32(p, g->n_samples);
	collectors_send(g->buf, g->len);
	datagrams_built++;
	g->len = datagram_header_len();
	g->n_samples = 0;
}

static struct datagram *datagram_of(int32_t nsid)
{
	for (int i = 0; i < n_dgrams; i++)
		if (dgrams[i].nsid == nsid)
			return &dgrams[i];
	if (n_dgrams == MAX_SUB_AGENTS)
		return NULL;
	struct datagram *g = &dgrams[n_dgrams];

	g->buf = malloc(o.mtu);
	if (!g->buf)
		return NULL;
	g->nsid = nsid;
	g->sub_agent = sub_agent_of(nsid);
	g->len = datagram_header_len();
	n_dgrams++;
	return g;
}

uint8_t *datagram_reserve(int32_t nsid, uint32_t len)
{
	struct datagram *g = datagram_of(nsid);
	uint8_t *at;

	if (!g)
		return NULL;
	if (g->len + len > o.mtu)
		send_datagram(g);
	if (g->n_samples == 0)
		g->first_ms = now_ms();
	at = g->buf + g->len;
	g->len += len;
	g->n_samples++;
	return at;
}

void datagrams_flush(int all)
{
	uint64_t now = now_ms();

	for (int i = 0; i < n_dgrams; i++)
		if (dgrams[i].n_samples && (all || now >= dgrams[i].first_ms + FLUSH_MS))
			send_datagram(&dgrams[i]);
}

uint64_t datagrams_next_due(void)
{
	uint64_t due = UINT64_MAX;

	for (int i = 0; i < n_dgrams; i++)
		if (dgrams[i].n_samples && dgrams[i].first_ms + FLUSH_MS < due)
			due = dgrams[i].first_ms + FLUSH_MS;
	return due;
}
