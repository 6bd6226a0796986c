/* SPDX-License-Identifier: MIT */
/* What psample prints: the original's text lines, JSON lines, loss statistics and errors. */
#ifndef PSAMPLE_TOOL_OUTPUT_H
#define PSAMPLE_TOOL_OUTPUT_H

#include <psample.h>

/* "psample: WHAT: psample_strerror(rc)" on stderr; returns the exit status 1. */
int fail(const char *what, int rc);

/* One sample as the original's text line (with --verbose, its data as a hex dump). */
void print_sample(const struct psample_packet *p);

/* One group event ("created group N ...") as the original prints it. */
void print_event(const struct psample_packet *p);

/* One sample or group event as a JSON object on a line of its own, every field present. */
void print_json(const struct psample_packet *p);

/* The subscription's counters on one line of stderr: "psample: name=value ...". */
void print_stats(const struct psample_sub *sub);

#endif
