/* SPDX-License-Identifier: MIT */
/* Data sources in a fixed open-addressing table: nothing is allocated per sample. */
#define _DEFAULT_SOURCE
#include "sources.h"

#include <stdlib.h>

static struct data_source table[MAX_SOURCES];
static uint16_t polled[MAX_SOURCES]; /* slots of the polled sources, in start order */
static uint32_t n_polled;

struct data_source *source_get(int32_t nsid, uint32_t ifindex)
{
	uint32_t slot = (ifindex * 2654435761u ^ (uint32_t)nsid) % MAX_SOURCES;

	for (uint32_t i = 0; i < MAX_SOURCES; i++, slot = (slot + 1) % MAX_SOURCES) {
		struct data_source *s = &table[slot];

		if (!s->used) {
			s->used = 1;
			s->nsid = nsid;
			s->ifindex = ifindex;
			return s;
		}
		if (s->ifindex == ifindex && s->nsid == nsid)
			return s;
	}
	return NULL;
}

void source_start_polling(struct data_source *s, uint32_t interval)
{
	if (s->countdown || interval == 0 || s->ifindex == 0)
		return;
	s->countdown = 1 + (uint32_t)random() % interval;
	polled[n_polled++] = (uint16_t)(s - table);
}

void sources_tick(uint32_t interval, void (*poll)(struct data_source *))
{
	for (uint32_t i = 0; i < n_polled; i++) {
		struct data_source *s = &table[polled[i]];

		if (--s->countdown == 0) {
			s->countdown = interval;
			poll(s);
		}
	}
}

int sources_polled(void)
{
	return n_polled > 0;
}
