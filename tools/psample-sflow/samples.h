/* SPDX-License-Identifier: MIT */
/* sFlow flow samples (from psample samples) and counter samples (from the interface table). */
#ifndef PSAMPLE_SFLOW_SAMPLES_H
#define PSAMPLE_SFLOW_SAMPLES_H

#include <stdint.h>

#include "psample.h"
#include "sources.h"

struct export_stats {
	uint64_t samples, exported, skipped, counter_samples, poll_errors;
};
extern struct export_stats xs;

/* The largest flow sample, in bytes, with --header-bytes of header: what --mtu must hold. */
uint32_t largest_flow_sample(void);

/* Encodes psample sample `p` as a flow sample into its namespace's datagram. */
void export_flow_sample(const struct psample_packet *p);

/* Reads data source `s`'s interface and encodes a counter sample for it (sources_tick's poll). */
void export_counter_sample(struct data_source *s);

/* Forgets what was learnt of the interfaces (SIGHUP): their hardware types are looked up again. */
void samples_forget_interfaces(void);

#endif
