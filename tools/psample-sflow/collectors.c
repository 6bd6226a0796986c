/* SPDX-License-Identifier: MIT */
/*
 * Collectors. Each name may resolve to several addresses: the first one a connected UDP socket
 * can be made to (there is a route) is used, and a send that fails for want of a route moves to
 * the next one. The sockets are connected, so the kernel reports a collector that is down
 * (ICMP port unreachable) as ECONNREFUSED on the next send; that send has then cleared the
 * error and carried nothing, so it is made again at once: a refusal is counted, and costs no
 * datagram.
 */
#define _GNU_SOURCE
#include "collectors.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "options.h"

#define MAX_ADDRESSES 8

struct collector {
	char host[NI_MAXHOST], port[NI_MAXSERV];
	struct sockaddr_storage addr[MAX_ADDRESSES];
	socklen_t addr_len[MAX_ADDRESSES];
	int n_addr, current; /* current: the address fd is connected to */
	int fd;
	char name[NI_MAXHOST + NI_MAXSERV + 4];
	uint64_t sent, refused, errors, address_changes;
	int last_errno;
};

static struct collector collectors[MAX_COLLECTORS];
static int n_collectors;

static void name_current(struct collector *c)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];
	const struct sockaddr *sa = (const struct sockaddr *)&c->addr[c->current];

	if (getnameinfo(sa, c->addr_len[c->current], h, sizeof h, s, sizeof s,
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(c->name, sizeof c->name, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, s);
	else
		snprintf(c->name, sizeof c->name, "%s:%s", c->host, c->port);
}

/* Connects a socket to the first usable address from `from` on, in the resolver's order.
 * Returns 0, or -errno of the last address tried. */
static int connect_from(struct collector *c, int from)
{
	int err = -ENOENT;

	for (int k = 0; k < c->n_addr; k++) {
		int i = (from + k) % c->n_addr;
		const struct sockaddr *sa = (const struct sockaddr *)&c->addr[i];
		int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, sa, c->addr_len[i]) < 0) {
			err = -errno;
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (c->fd >= 0)
			close(c->fd);
		c->fd = fd;
		c->current = i;
		name_current(c);
		return 0;
	}
	return err;
}

/* Resolves c->host/c->port into c->addr. Returns 0, or -1 with the resolver's message. */
static int resolve(struct collector *c, const char **why)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG }, *ai, *a;
	int rc = getaddrinfo(c->host, c->port, &hints, &ai);

	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) { /* AI_ADDRCONFIG hides loopback-only hosts */
		hints.ai_flags = 0;
		rc = getaddrinfo(c->host, c->port, &hints, &ai);
	}
	if (rc != 0) {
		*why = gai_strerror(rc);
		return -1;
	}
	c->n_addr = 0;
	for (a = ai; a && c->n_addr < MAX_ADDRESSES; a = a->ai_next) {
		if (a->ai_addrlen > sizeof c->addr[0])
			continue;
		memcpy(&c->addr[c->n_addr], a->ai_addr, a->ai_addrlen);
		c->addr_len[c->n_addr++] = a->ai_addrlen;
	}
	freeaddrinfo(ai);
	return 0;
}

int collector_add(const char *arg)
{
	const char *port = DEFAULT_PORT;
	const char *colon = strrchr(arg, ':');
	struct collector *c;
	const char *why;
	size_t n;
	int rc;

	if (n_collectors == MAX_COLLECTORS) {
		fprintf(stderr, "psample-sflow: at most %d collectors\n", MAX_COLLECTORS);
		return -1;
	}
	c = &collectors[n_collectors];
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || (end[1] && end[1] != ':') || end == arg + 1) {
			fprintf(stderr, "psample-sflow: bad collector '%s'\n", arg);
			return -1;
		}
		n = (size_t)(end - arg - 1);
		if (end[1] == ':')
			port = end + 2;
		arg++;
	} else if (colon && strchr(arg, ':') == colon) {
		n = (size_t)(colon - arg);
		port = colon + 1;
	} else {
		n = strlen(arg); /* no port, or a bare IPv6 address */
	}
	if (n == 0 || n >= sizeof c->host || !*port || strlen(port) >= sizeof c->port) {
		fprintf(stderr, "psample-sflow: bad collector '%s'\n", arg);
		return -1;
	}
	memcpy(c->host, arg, n);
	c->host[n] = 0;
	strcpy(c->port, port);
	if (resolve(c, &why) < 0) {
		fprintf(stderr, "psample-sflow: collector %s port %s: %s\n", c->host, c->port, why);
		return -1;
	}
	rc = connect_from(c, 0);
	if (rc < 0) {
		fprintf(stderr, "psample-sflow: collector %s port %s: none of its %d addresses is reachable: %s\n",
			c->host, c->port, c->n_addr, strerror(-rc));
		return -1;
	}
	n_collectors++;
	return 0;
}

void collectors_resolve_again(void)
{
	for (int i = 0; i < n_collectors; i++) {
		struct collector *c = &collectors[i], fresh = *c;
		const char *why;
		int rc;

		fresh.fd = -1;
		if (resolve(&fresh, &why) < 0) {
			fprintf(stderr, "psample-sflow: SIGHUP: collector %s port %s: %s; keeping %s\n",
				c->host, c->port, why, c->name);
			continue;
		}
		rc = connect_from(&fresh, 0);
		if (rc < 0) {
			fprintf(stderr, "psample-sflow: SIGHUP: collector %s port %s: no address reachable (%s); keeping %s\n",
				c->host, c->port, strerror(-rc), c->name);
			continue;
		}
		close(c->fd);
		*c = fresh;
		fprintf(stderr, "psample-sflow: SIGHUP: collector %s port %s: %d address%s, sending to %s\n",
			c->host, c->port, c->n_addr, c->n_addr == 1 ? "" : "es", c->name);
	}
}

/* Errors that say this address cannot be reached from here: another address may be. */
static int no_route(int err)
{
	return err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL || err == ENETDOWN ||
	       err == EAFNOSUPPORT;
}

void collectors_send(const uint8_t *buf, size_t len)
{
	for (int i = 0; i < n_collectors; i++) {
		struct collector *c = &collectors[i];
		int tries = 2 + c->n_addr; /* a refusal, then each other address once */

		while (tries-- > 0) {
			/* Never blocks: a full socket buffer costs this datagram, counted, not the
			 * samples still queued in the kernel. */
			if (send(c->fd, buf, len, MSG_DONTWAIT) == (ssize_t)len) {
				c->sent++;
				break;
			}
			if (errno == ECONNREFUSED) {
				c->refused++; /* an earlier datagram's; the error is now cleared */
				continue;
			}
			c->last_errno = errno;
			if (no_route(errno) && c->n_addr > 1 && connect_from(c, c->current + 1) == 0) {
				c->address_changes++;
				continue;
			}
			c->errors++;
			break;
		}
		if (tries < 0)
			c->errors++;
	}
}

int collector_source_address(int *family, uint8_t addr[16])
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof ss;

	if (n_collectors == 0 || getsockname(collectors[0].fd, (struct sockaddr *)&ss, &len) < 0) {
		perror("psample-sflow: getsockname");
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			*family = AF_INET;
			memcpy(addr, &a->s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, a, 16);
		}
	} else {
		*family = AF_INET;
		memcpy(addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	}
	return 0;
}

void collectors_print_stats(FILE *f)
{
	for (int i = 0; i < n_collectors; i++) {
		const struct collector *c = &collectors[i];

		fprintf(f,
			"psample-sflow: collector %s sent=%" PRIu64 " refused=%" PRIu64 " errors=%" PRIu64
			" address_changes=%" PRIu64 "%s%s\n",
			c->name, c->sent, c->refused, c->errors, c->address_changes,
			c->errors ? " last_error=" : "", c->errors ? strerror(c->last_errno) : "");
	}
}
