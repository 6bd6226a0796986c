/* SPDX-License-Identifier: MIT */
/* The sFlow collectors: their names resolved to addresses, and datagrams sent to each. */
#ifndef PSAMPLE_SFLOW_COLLECTORS_H
#define PSAMPLE_SFLOW_COLLECTORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address: resolved and connected. Returns 0, or -1
 * after printing why. */
int collector_add(const char *arg);

/* Resolves every collector's name again (SIGHUP); a collector that no longer resolves keeps
 * its addresses. */
void collectors_resolve_again(void);

/* Sends one datagram to every collector, never blocking. */
void collectors_send(const uint8_t *buf, size_t len);

/* The source address the kernel picked to reach the first collector: AF_INET or AF_INET6 in
 * *family, 4 or 16 bytes in addr. Returns 0 or -1. */
int collector_source_address(int *family, uint8_t addr[16]);

void collectors_print_stats(FILE *f);

#endif
