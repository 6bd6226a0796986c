/* SPDX-License-Identifier: MIT */
/* sFlow datagrams being filled, one per sub-agent, and when they go out. */
#ifndef PSAMPLE_SFLOW_DATAGRAMS_H
#define PSAMPLE_SFLOW_DATAGRAMS_H

#include <stddef.h>
#include <stdint.h>

#define FLUSH_MS 1000
#define MAX_SUB_AGENTS 64

/* Datagram header: version, address type, address, sub-agent, sequence, uptime, sample count. */
#define DGRAM_HEADER_V4 (6 * 4 + 4)
#define DGRAM_HEADER_V6 (6 * 4 + 16)

extern uint64_t datagrams_built;

uint64_t now_ms(void);

/* Starts the uptime clock; o.agent_family must be set. */
void datagrams_init(void);

size_t datagram_header_len(void);

/* The sub-agent id of namespace `nsid`'s samples: --sub-agent-id for this namespace (-1), and
 * --sub-agent-id + 1 + nsid for another one (--all-netns), so that data sources of two
 * namespaces never share one (sub-agent, ifIndex). */
uint32_t sub_agent_of(int32_t nsid);

/* Room for one sample of `len` bytes in namespace `nsid`'s datagram, which is sent first when
 * the sample would not fit. The sample counts as added: the caller writes exactly `len` bytes.
 * NULL when more than MAX_SUB_AGENTS namespaces sent samples (or out of memory). */
uint8_t *datagram_reserve(int32_t nsid, uint32_t len);

/* Sends the datagrams whose first sample is FLUSH_MS old; `all`: every non-empty one. */
void datagrams_flush(int all);

/* When the next datagram falls due (now_ms() clock), UINT64_MAX when none is pending. */
uint64_t datagrams_next_due(void);

#endif
