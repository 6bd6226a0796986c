/* SPDX-License-Identifier: MIT */
/* sFlow data sources: one per (network namespace, ifIndex), with their sequence numbers, sample
 * pool, drops and counter poll schedule. */
#ifndef PSAMPLE_SFLOW_SOURCES_H
#define PSAMPLE_SFLOW_SOURCES_H

#include <stdint.h>

#define MAX_SOURCES 1024

struct data_source {
	int32_t nsid; /* -1: this namespace */
	uint32_t ifindex;
	int used;
	uint32_t flow_seq, pool, drops; /* sFlow counters: 32 bits, wrapping */
	uint32_t counter_seq;
	uint32_t countdown; /* seconds to the next counter sample; 0: not polled */
};

/* The source of (nsid, ifindex), created on first use; NULL when MAX_SOURCES are in use. */
struct data_source *source_get(int32_t nsid, uint32_t ifindex);

/* Schedules counter samples for `s` every `interval` seconds, the first after 1 to `interval`
 * seconds chosen at random (as hsflowd does), so that sources are not all polled at once. */
void source_start_polling(struct data_source *s, uint32_t interval);

/* One second has passed: calls `poll` for every source whose countdown runs out, and restarts
 * its countdown at `interval`. */
void sources_tick(uint32_t interval, void (*poll)(struct data_source *));

/* Whether any source is polled (the main loop then wakes every second). */
int sources_polled(void);

#endif
