/* SPDX-License-Identifier: MIT */
/*
 * psample: a drop-in for the `psample` tool of Mellanox's libpsample, on this library.
 *
 * Same options and the same output, byte for byte: the kernel's selftests parse it
 * (drivers/net/netdevsim/psample.sh greps "in-ifindex N ", drivers/net/mlxsw/tc_sample.sh takes
 * `cut -d ' ' -f 16` as out-tc-occ). The differences kept are fixes of the original's bugs, listed
 * in psample.8 ("DIFFERENCES FROM LIBPSAMPLE'S PSAMPLE"). On top: --count, --json, --stats,
 * --all-netns, and a pcap writer (LINKTYPE_LINUX_SLL2: direction and interface kept, or Ethernet)
 * with the kernel's timestamps. See psample.8.
 *
 * Built with PSAMPLE_TOOL_PCAP=0 (make PCAP=no), it needs no libpcap and --write fails.
 */
#define _GNU_SOURCE /* ppoll, getopt_long */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef PSAMPLE_TOOL_PCAP
#define PSAMPLE_TOOL_PCAP 1
#endif
#if PSAMPLE_TOOL_PCAP
#include <pcap/pcap.h>
#endif
#include <psample.h>

#include "../common/data_start.h"

#define EXIT_USAGE 64 /* what the original (argp) exits with on a usage error */
#define SNAPLEN 65535

enum mode { MODE_UNSET, MODE_MONITOR, MODE_LIST, MODE_WRITE };

static struct {
	enum mode mode;
	int verbose, no_config, no_sample, json, stats, all_netns;
	uint64_t count; /* 0: no limit */
	const char *write;
	int linktype; /* DLT_* of --write */
} o;

/* The DLT values (pcap/dlt.h), also without libpcap. */
#define LINKTYPE_EN10MB 1
#define LINKTYPE_LINUX_SLL2 276

/* stop_signal: the signal that stopped it, raised again on exit (as the original dies of it). */
static volatile sig_atomic_t stop, stop_signal, want_stats;

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		want_stats = 1;
	} else {
		stop = 1;
		stop_signal = sig;
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: psample [-m|--monitor] [-v|--verbose] [-c|--no-config] [-s|--no-sample]\n"
		"               [-g|--group GROUP]... [--count N] [--json] [--stats] [--all-netns]\n"
		"       psample -l|--list-groups [--json]\n"
		"       psample -w|--write FILE|- [--linktype linux_sll2|en10mb] [-g|--group GROUP]...\n"
		"               [--count N] [--stats] [--all-netns]\n"
		"Tool for monitoring psample packets.\n"
		"  -m, --monitor       monitor sample packets and group events (default)\n"
		"  -c, --no-config     when monitoring, don't show config notifications\n"
		"  -s, --no-sample     when monitoring, don't show sample notifications\n"
		"  -g, --group GROUP   only this group (repeatable)\n"
		"  -v, --verbose       print the packet data\n"
		"  -l, --list-groups   list the current groups\n"
		"  -w, --write FILE    write sampled packets to a pcap file (ns timestamps),\n"
		"                      '-' for standard output\n"
		"      --linktype T    --write's link type: linux_sll2 (default: direction, interface)\n"
		"                      or en10mb (Ethernet)\n"
		"      --count N       exit after N samples (with --no-sample: N group events)\n"
		"      --json          one JSON object per line, every field\n"
		"      --stats         print loss statistics to stderr on exit (and on SIGUSR1)\n"
		"      --all-netns     also samples from other network namespaces, with their nsid\n"
		"  -h, -?, --help      this help\n");
}

static int usage_error(const char *why)
{
	if (why)
		fprintf(stderr, "psample: %s\n", why);
	usage(stderr);
	return EXIT_USAGE;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "psample: %s: %s\n", what, psample_strerror(rc));
	return 1;
}

static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || end == s || *end || strchr(s, '-') || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- the fields: each listed once, for the text and the JSON printers ---- */

/* An unsigned integer member of a struct, read by its size (so the table cannot get a type
 * wrong). */
static uint64_t member_value(const void *base, size_t offset, size_t size)
{
	const unsigned char *at = (const unsigned char *)base + offset;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 1: memcpy(&v8, at, 1); return v8;
	case 2: memcpy(&v16, at, 2); return v16;
	case 4: memcpy(&v32, at, 4); return v32;
	default: memcpy(&v64, at, 8); return v64;
	}
}

#define MEMBER(type, m) offsetof(struct type, m), sizeof(((struct type *)0)->m)

/* How the original's text line shows a value: TEXT_INT is its "%d" of a u32 (2^31 and more
 * print negative, as scripts parsing it have always seen them). */
enum text_style { TEXT_NONE, TEXT_DEC, TEXT_INT, TEXT_HEX, TEXT_ASCTIME };

/* The integer attributes of a sample or group event, in JSON order. */
enum field_id {
	F_GROUP, F_SEQ, F_REFCOUNT, F_RATE, F_IIFINDEX, F_OIFINDEX, F_ORIGSIZE, F_OUT_TC,
	F_OUT_TC_OCC, F_LATENCY, F_TIMESTAMP, F_PROTO, N_FIELDS
};

static const struct field {
	uint64_t bit; /* PSAMPLE_FIELD_*: printed only when present */
	size_t offset, size;
	const char *text; /* key in the original's text line */
	enum text_style style;
	const char *json;
} fields[N_FIELDS] = {
#define FIELD(id, bit, member, text, style, json) \
	[id] = { PSAMPLE_FIELD_##bit, MEMBER(psample_packet, member), text, style, json }
	FIELD(F_GROUP, SAMPLE_GROUP, group, "group", TEXT_INT, "group"),
	FIELD(F_SEQ, GROUP_SEQ, group_seq, "seq", TEXT_INT, "seq"),
	FIELD(F_REFCOUNT, GROUP_REFCOUNT, group_refcount, NULL, TEXT_NONE, "refcount"),
	FIELD(F_RATE, SAMPLE_RATE, rate, "sample-rate", TEXT_INT, "rate"),
	FIELD(F_IIFINDEX, IIFINDEX, iifindex, "in-ifindex", TEXT_DEC, "in_ifindex"),
	FIELD(F_OIFINDEX, OIFINDEX, oifindex, "out-ifindex", TEXT_DEC, "out_ifindex"),
	FIELD(F_ORIGSIZE, ORIGSIZE, orig_size, "origsize", TEXT_INT, "origsize"),
	FIELD(F_OUT_TC, OUT_TC, out_tc, "out-tc", TEXT_DEC, "out_tc"),
	FIELD(F_OUT_TC_OCC, OUT_TC_OCC, out_tc_occ, "out-tc-occ", TEXT_DEC, "out_tc_occ"),
	FIELD(F_LATENCY, LATENCY, latency_ns, "latency", TEXT_DEC, "latency_ns"),
	FIELD(F_TIMESTAMP, TIMESTAMP, timestamp_ns, "timestamp", TEXT_ASCTIME, "timestamp_ns"),
	FIELD(F_PROTO, PROTO, proto, "protocol", TEXT_HEX, "protocol"),
#undef FIELD
};

/* The original's order on a text line: the kernel selftests cut fields by position. */
static const enum field_id text_order[] = {
	F_GROUP, F_IIFINDEX, F_OIFINDEX, F_ORIGSIZE, F_RATE, F_SEQ,
	F_OUT_TC, F_OUT_TC_OCC, F_LATENCY, F_TIMESTAMP, F_PROTO,
};

/* The tunnel key, in JSON order (the text format does not show it). */
enum tunnel_style { TUN_NUM, TUN_IPV4, TUN_IPV6, TUN_FLAG, TUN_HEX };

static const struct tunnel_field {
	uint32_t bit; /* PSAMPLE_TUNNEL_FIELD_* */
	size_t offset, size;
	enum tunnel_style style;
	const char *json;
	size_t len_offset; /* TUN_HEX: the length member */
} tunnel_fields[] = {
#define TUN(bit, member, style, json) { PSAMPLE_TUNNEL_FIELD_##bit, MEMBER(psample_tunnel, member), style, json, 0 }
#define TUN_BYTES(bit, member) \
	{ PSAMPLE_TUNNEL_FIELD_##bit, MEMBER(psample_tunnel, member), TUN_HEX, #member, \
	  offsetof(struct psample_tunnel, member##_len) }
	TUN(ID, id, TUN_NUM, "id"),
	TUN(IPV4_SRC, ipv4_src, TUN_IPV4, "ipv4_src"),
	TUN(IPV4_DST, ipv4_dst, TUN_IPV4, "ipv4_dst"),
	TUN(IPV6_SRC, ipv6_src, TUN_IPV6, "ipv6_src"),
	TUN(IPV6_DST, ipv6_dst, TUN_IPV6, "ipv6_dst"),
	TUN(TOS, tos, TUN_NUM, "tos"),
	TUN(TTL, ttl, TUN_NUM, "ttl"),
	TUN(TP_SRC, tp_src, TUN_NUM, "tp_src"),
	TUN(TP_DST, tp_dst, TUN_NUM, "tp_dst"),
	TUN(DONT_FRAGMENT, fields, TUN_FLAG, "dont_fragment"),
	TUN(CSUM, fields, TUN_FLAG, "csum"),
	TUN(OAM, fields, TUN_FLAG, "oam"),
	TUN(IPV4_INFO_BRIDGE, fields, TUN_FLAG, "ipv4_info_bridge"),
	TUN_BYTES(GENEVE_OPTS, geneve_opts),
	TUN_BYTES(ERSPAN_OPTS, erspan_opts),
#undef TUN
#undef TUN_BYTES
};

/* Every counter of struct psample_stats, in its order: a counter added to the struct takes one
 * line here, and the assertion below fails until it has it. */
#define STATS_COUNTERS(X) \
	X(delivered) X(kernel_drops) X(seq_gaps) X(truncated) X(decode_errors) X(enobufs) \
	X(rejected_userspace) X(config_events) X(family_removed) X(resubscribed) X(rcvbuf) \
	X(groups_tracked) X(joined)

static const struct counter {
	const char *name;
	size_t offset, size;
} counters[] = {
#define COUNTER(m) { #m, MEMBER(psample_stats, m) },
	STATS_COUNTERS(COUNTER)
#undef COUNTER
};

/* The struct is `size` then the counters, without implicit padding. */
#define COUNTER_SIZE(m) +sizeof(((struct psample_stats *)0)->m)
_Static_assert(sizeof(size_t) STATS_COUNTERS(COUNTER_SIZE) == sizeof(struct psample_stats),
	       "struct psample_stats has a counter STATS_COUNTERS does not list");
#undef COUNTER_SIZE

/* ---- the original's text format ---- */

/* 16 bytes a line: offset, hex bytes padded to 16 columns, then printable ASCII. (The original
 * prints the offset with %04hhx, which wraps after 0xf0; this prints the true offset.) */
static void hexdump(const uint8_t *d, uint32_t len)
{
	for (uint32_t off = 0; off < len; off += 16) {
		uint32_t n = len - off < 16 ? len - off : 16, i;

		printf("0x%04" PRIx32 ":  ", off);
		for (i = 0; i < n; i++)
			printf("%02x ", d[off + i]);
		for (; i < 16; i++)
			printf("   ");
		printf(" ");
		for (i = 0; i < n; i++) /* isprint() in the C locale */
			putchar(d[off + i] >= 0x20 && d[off + i] < 0x7f ? d[off + i] : '.');
		printf("\n");
	}
}

/* A nanosecond timestamp as the original prints it: asctime()'s layout ("Tue Nov  4 09:05:01
 * 2025") in local time, then the nanoseconds. */
static void print_asctime(uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char when[64] = "";

	if (localtime_r(&sec, &tm))
		strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	printf("%s %09" PRIu64 " nsec", when, ns % 1000000000u);
}

/* Every value the original prints is followed by a space, the last one too; fields are printed
 * only when the attribute was present, in text_order. */
static void print_sample(const struct psample_packet *p)
{
	for (size_t i = 0; i < sizeof text_order / sizeof text_order[0]; i++) {
		const struct field *d = &fields[text_order[i]];
		uint64_t v = member_value(p, d->offset, d->size);

		if (!(p->fields & d->bit))
			continue;
		printf("%s ", d->text);
		switch (d->style) {
		case TEXT_INT: printf("%" PRId32, (int32_t)(uint32_t)v); break;
		case TEXT_HEX: printf("0x%" PRIx64, v); break;
		case TEXT_ASCTIME: print_asctime(v); break;
		default: printf("%" PRIu64, v); break;
		}
		printf(" ");
	}
	if (p->nsid >= 0) /* only with --all-netns; last, so field positions do not move */
		printf("nsid %" PRId32 " ", p->nsid);
	if (o.verbose && (p->fields & PSAMPLE_FIELD_DATA)) {
		printf("data len %" PRIu32 "\n", p->data_len);
		hexdump(p->data, p->data_len);
	}
	printf("\n");
}

static void print_event(const struct psample_packet *p)
{
	printf(p->kind == PSAMPLE_KIND_GROUP_CREATED ? "created " : "deleted ");
	if (p->fields & PSAMPLE_FIELD_SAMPLE_GROUP)
		printf("group %" PRId32 " ", (int32_t)p->group);
	if (p->fields & PSAMPLE_FIELD_GROUP_SEQ)
		printf("with current seq %" PRId32 " ", (int32_t)p->group_seq);
	printf("\n");
}

/* ---- JSON: one object a line; values present only when their attribute was ---- */

static void json_u64(const char *key, uint64_t v)
{
	printf(",\"%s\":%" PRIu64, key, v);
}

static void json_hex(const char *key, const uint8_t *p, uint32_t len)
{
	printf(",\"%s\":\"", key);
	for (uint32_t i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\"");
}

static void json_addr(const char *key, int af, const void *addr)
{
	char s[INET6_ADDRSTRLEN];

	printf(",\"%s\":\"%s\"", key, inet_ntop(af, addr, s, sizeof s));
}

static void json_tunnel(const struct psample_tunnel *t)
{
	printf(",\"tunnel\":{\"fields\":%" PRIu32, t->fields);
	for (size_t i = 0; i < sizeof tunnel_fields / sizeof tunnel_fields[0]; i++) {
		const struct tunnel_field *d = &tunnel_fields[i];
		const unsigned char *at = (const unsigned char *)t + d->offset;
		const uint8_t *bytes;

		if (!(t->fields & d->bit))
			continue;
		switch (d->style) {
		case TUN_NUM: json_u64(d->json, member_value(t, d->offset, d->size)); break;
		case TUN_IPV4: json_addr(d->json, AF_INET, at); break;
		case TUN_IPV6: json_addr(d->json, AF_INET6, at); break;
		case TUN_FLAG: printf(",\"%s\":true", d->json); break;
		case TUN_HEX:
			memcpy(&bytes, at, sizeof bytes);
			json_hex(d->json, bytes, (uint32_t)member_value(t, d->len_offset, sizeof(uint32_t)));
			break;
		}
	}
	printf("}");
}

static void print_json(const struct psample_packet *p)
{
	static const char *const kinds[] = { "sample", "group-created", "group-deleted" };
	uint64_t f = p->fields;

	printf("{\"kind\":\"%s\"", p->kind < 3 ? kinds[p->kind] : "unknown");
	json_u64("fields", f);
	json_u64("flags", p->flags);
	printf(",\"nsid\":%" PRId32, p->nsid);
	json_u64("sender_portid", p->sender_portid);
	for (int id = 0; id < N_FIELDS; id++) {
		const struct field *d = &fields[id];

		if (f & d->bit)
			json_u64(d->json, member_value(p, d->offset, d->size));
		if (id == F_RATE) { /* what the rate means, next to it */
			if (f & PSAMPLE_FIELD_SAMPLE_RATE)
				json_u64("effective_rate", psample_effective_rate(p));
			if (f & PSAMPLE_FIELD_SAMPLE_PROBABILITY)
				printf(",\"rate_is_probability\":true");
		}
	}
	if (f & PSAMPLE_FIELD_USER_COOKIE)
		json_hex("cookie", p->user_cookie, p->user_cookie_len);
	if (f & PSAMPLE_FIELD_TUNNEL)
		json_tunnel(&p->tunnel);
	if (f & PSAMPLE_FIELD_DATA) {
		json_u64("data_len", p->data_len);
		if (o.verbose)
			json_hex("data", p->data, p->data_len);
	}
	printf("}\n");
}

/* ---- pcap ---- */

#define ETH_HEADER_LEN 14
#define SLL2_HEADER_LEN 20
#define ETH_P_802_3 0x0001 /* SLL's protocol for Novell raw 802.3 (payload starts ff ff) */
#define ETH_P_802_2 0x0004 /* SLL's protocol for 802.2 LLC (an 802.3 length field) */
#define SLL_PACKET_HOST 0
#define SLL_PACKET_OUTGOING 4

static void put_be16(uint8_t *at, uint32_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

/* A LINKTYPE_LINUX_SLL2 header for a sample, in `hdr`; returns how many leading data bytes it
 * replaces (the MAC header). The rule is psample.8's "PCAP LINK TYPES". */
static uint32_t sll2_header(uint8_t hdr[SLL2_HEADER_LEN], const struct psample_packet *p)
{
	int outgoing = (p->fields & PSAMPLE_FIELD_OIFINDEX) != 0;
	uint32_t ifindex = outgoing ? p->oifindex : (p->fields & PSAMPLE_FIELD_IIFINDEX) ? p->iifindex : 0;
	int hatype;
	enum data_start start = sample_data_start(p, ifindex, &hatype);
	uint16_t protocol;

	if (start == START_MAC && p->data_len < ETH_HEADER_LEN)
		start = START_IP; /* too short for a MAC header: written as it is */

	memset(hdr, 0, SLL2_HEADER_LEN);
	hdr[4] = (uint8_t)(ifindex >> 24);
	hdr[5] = (uint8_t)(ifindex >> 16);
	hdr[6] = (uint8_t)(ifindex >> 8);
	hdr[7] = (uint8_t)ifindex;
	hdr[10] = outgoing ? SLL_PACKET_OUTGOING : SLL_PACKET_HOST;
	if (start == START_MAC) {
		protocol = read_be16(p->data + 12);
		if (protocol < 0x0600) /* an 802.3 length: what follows is LLC, or Novell raw */
			protocol = p->data_len >= 16 && read_be16(p->data + 14) == 0xffff ? ETH_P_802_3
											 : ETH_P_802_2;
		put_be16(hdr, protocol);
		put_be16(hdr + 8, hatype >= 0 ? (uint32_t)hatype : ARPHRD_ETHER);
		hdr[11] = 6; /* the source MAC address */
		memcpy(hdr + 12, p->data + 6, 6);
		return ETH_HEADER_LEN;
	}
	protocol = (p->fields & PSAMPLE_FIELD_PROTO) ? p->proto : ip_first_protocol(p);
	if (!protocol && p->data_len)
		protocol = p->data[0] >> 4 == 6 ? ETHERTYPE_IPV6 : p->data[0] >> 4 == 4 ? ETHERTYPE_IPV4 : 0;
	put_be16(hdr, protocol);
	put_be16(hdr + 8, hatype >= 0 ? (uint32_t)hatype : ARPHRD_NONE);
	return 0;
}

#if PSAMPLE_TOOL_PCAP
/* One record per sample: caplen = what was sampled, len = the original length (both with the
 * SLL2 header in place of the MAC header), and the kernel's timestamp (the receive time on
 * kernels before 5.13, which send none). */
static int write_pcap(pcap_dumper_t *d, const struct psample_packet *p)
{
	static uint8_t frame[SNAPLEN]; /* the SLL2 header and the data: no allocation per sample */
	struct pcap_pkthdr h;
	uint64_t ts = p->timestamp_ns;
	uint32_t data_len = p->data ? p->data_len : 0, orig = data_len, skip = 0, head = 0;
	const u_char *bytes = p->data ? p->data : (const u_char *)"";

	if ((p->fields & PSAMPLE_FIELD_ORIGSIZE) && p->orig_size > orig)
		orig = p->orig_size;
	if (!(p->fields & PSAMPLE_FIELD_TIMESTAMP)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		ts = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	}
	h.ts.tv_sec = (time_t)(ts / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(ts % 1000000000u); /* nanoseconds: the file is nano-precision */
	if (o.linktype == LINKTYPE_LINUX_SLL2) {
		struct psample_packet q = *p;

		q.data = bytes;
		q.data_len = data_len;
		head = SLL2_HEADER_LEN;
		skip = sll2_header(frame, &q);
		data_len -= skip;
		orig -= skip;
		if (data_len > SNAPLEN - head)
			data_len = SNAPLEN - head;
		memcpy(frame + head, bytes + skip, data_len);
		bytes = frame;
	} else if (data_len > SNAPLEN) {
		data_len = SNAPLEN;
	}
	h.caplen = head + data_len;
	h.len = head + orig;
	pcap_dump((u_char *)d, &h, bytes);
	return pcap_dump_flush(d); /* each packet reaches a reader (tcpdump -r -) at once */
}
#else
/* Without libpcap there is no writer: main() refuses --write before this is reached. */
typedef struct pcap_dumper pcap_dumper_t;

static int write_pcap(pcap_dumper_t *d, const struct psample_packet *p)
{
	(void)d;
	(void)p;
	(void)sll2_header;
	return -1;
}
#endif

/* ---- commands ---- */

static int list_groups(void)
{
	struct psample_group_info *g = NULL;
	size_t total = 0;
	int n;

	/* Groups can come and go between the calls: retry while the array is too small. */
	for (int tries = 0; tries < 5; tries++) {
		size_t cap = total + 16;
		struct psample_group_info *bigger = realloc(g, cap * sizeof *g);

		if (!bigger) {
			free(g);
			return fail("list groups", -ENOMEM);
		}
		g = bigger;
		n = psample_list_groups(NULL, g, cap, sizeof *g, &total);
		if (n < 0) {
			free(g);
			return fail("list groups", n);
		}
		if (total <= cap)
			break;
	}
	for (int i = 0; i < n; i++) {
		if (o.json)
			printf("{\"group\":%" PRIu32 ",\"refcount\":%" PRIu32 ",\"seq\":%" PRIu32 "}\n",
			       g[i].group, g[i].refcount, g[i].next_seq);
		else {
			if (i == 0) /* as the original: no header when there are no groups */
				printf("%-15s %-15s %-15s\n", "Group Num", "Refcount", "Group Seq");
			printf("%-15" PRId32 " %-15" PRId32 " %-15" PRId32 "\n", (int32_t)g[i].group,
			       (int32_t)g[i].refcount, (int32_t)g[i].next_seq);
		}
	}
	free(g);
	return 0;
}

/* One line, "psample: name=value ...", written at once (stderr is unbuffered). */
static void print_stats(const struct psample_sub *sub)
{
	struct psample_stats st;
	char line[1024];
	size_t used;
	int rc = psample_stats(sub, &st, sizeof st);

	if (rc < 0) {
		fail("stats", rc);
		return;
	}
	used = (size_t)snprintf(line, sizeof line, "psample:");
	for (size_t i = 0; i < sizeof counters / sizeof counters[0] && used < sizeof line; i++)
		used += (size_t)snprintf(line + used, sizeof line - used, " %s=%" PRIu64, counters[i].name,
					 member_value(&st, counters[i].offset, counters[i].size));
	fprintf(stderr, "%s\n", line);
}

/* Monitor or write until a signal, an error, or --count records. */
static int run(const uint32_t *groups, uint32_t n_groups)
{
	/* Like the original: every sender's samples (kernel and userspace producers such as VPP),
	 * and survive a reload of the psample module. */
	struct psample_opts opts = {
		.size = sizeof opts,
		.flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ACCEPT_USERSPACE | PSAMPLE_SUB_RESUBSCRIBE,
		.groups = n_groups ? groups : NULL,
		.n_groups = n_groups,
	};
#if PSAMPLE_TOOL_PCAP
	pcap_t *dead = NULL;
#endif
	pcap_dumper_t *dumper = NULL;
	struct psample_sub *sub;
	int rc;

	if (o.all_netns)
		opts.flags |= PSAMPLE_SUB_ALL_NETNS;
	if (o.mode == MODE_MONITOR && !o.no_config)
		opts.flags |= PSAMPLE_SUB_CONFIG_EVENTS;
	if (o.mode == MODE_MONITOR && o.no_sample)
		opts.flags |= PSAMPLE_SUB_NO_SAMPLES;

	/* The signals are blocked except inside ppoll(): none is lost between a check of `stop`
	 * and the wait. */
	sigset_t handled, wait_mask;
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&handled);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction inherited;

		/* A stop signal ignored by the parent stays ignored, as with the original (which
		 * leaves them alone): `nohup psample` survives SIGHUP, and a shell script's
		 * background psample SIGINT. */
		if (sigs[i] != SIGUSR1 && sigaction(sigs[i], NULL, &inherited) == 0 &&
		    inherited.sa_handler == SIG_IGN)
			continue;
		sigaddset(&handled, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &handled, &wait_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&wait_mask, sigs[i]); /* even if the parent left them blocked */

	rc = psample_subscribe(&sub, &opts);
	if (rc < 0)
		return fail("subscribe", rc);

#if PSAMPLE_TOOL_PCAP
	if (o.mode == MODE_WRITE) {
		dead = pcap_open_dead_with_tstamp_precision(o.linktype, SNAPLEN,
							    PCAP_TSTAMP_PRECISION_NANO);
		dumper = dead ? pcap_dump_open(dead, o.write) : NULL; /* "-": standard output */
		if (!dumper) {
			fprintf(stderr, "psample: %s: %s\n", o.write, dead ? pcap_geterr(dead) : "pcap");
			if (dead)
				pcap_close(dead);
			psample_close(sub);
			return 1;
		}
	}
#endif

	struct psample_packet pkts[64];
	struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
	uint64_t left = o.count;
	int status = 0;

	while (!stop && status == 0) {
		if (want_stats) {
			want_stats = 0;
			print_stats(sub);
		}
		rc = psample_recv(sub, pkts, sizeof pkts / sizeof pkts[0], sizeof pkts[0]);
		if (rc == -EAGAIN || rc == -EINTR) {
			/* EAGAIN also when only messages the library consumed itself were queued. */
			if (ppoll(&pfd, 1, NULL, &wait_mask) < 0 && errno != EINTR) {
				perror("psample: poll");
				status = 1;
			}
			continue;
		}
		if (rc < 0) {
			status = fail("receive", rc);
			break;
		}
		for (int i = 0; i < rc && status == 0; i++) {
			const struct psample_packet *p = &pkts[i];
			int sample = p->kind == PSAMPLE_KIND_SAMPLE;

			if (dumper) {
				if (!sample)
					continue;
				if (write_pcap(dumper, p) < 0) {
					perror("psample: write");
					status = 1;
				}
			} else {
				if (o.json)
					print_json(p);
				else if (sample)
					print_sample(p);
				else
					print_event(p);
				/* One line at a time: readers (and `timeout psample > file`) see every
				 * record as it comes. */
				fflush(stdout);
			}
			/* --count counts samples, or group events when samples are not shown. */
			if (left && sample != (o.mode == MODE_MONITOR && o.no_sample) && --left == 0)
				stop = 1;
			if (stop)
				break;
		}
	}
	if (o.stats)
		print_stats(sub);
#if PSAMPLE_TOOL_PCAP
	if (dumper) {
		pcap_dump_close(dumper);
		pcap_close(dead);
	}
#endif
	psample_close(sub);
	if (ioctl_socket >= 0)
		close(ioctl_socket);
	if (stop_signal) {
		/* Die of the signal, as the original (which does not catch it) does: a shell sees
		 * 128 + signal, `timeout` and init systems see the signal. */
		fflush(stdout);
		signal(stop_signal, SIG_DFL);
		sigprocmask(SIG_SETMASK, &wait_mask, NULL);
		raise(stop_signal);
	}
	return status;
}

static int set_mode(enum mode m)
{
	if (o.mode != MODE_UNSET && o.mode != m)
		return -1;
	o.mode = m;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_COUNT = 256, OPT_JSON, OPT_STATS, OPT_ALL_NETNS, OPT_LINKTYPE, OPT_USAGE };
	static const struct option longopts[] = {
		{ "list-groups", no_argument, NULL, 'l' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "no-config", no_argument, NULL, 'c' },
		{ "no-sample", no_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },
		{ "linktype", required_argument, NULL, OPT_LINKTYPE },
		{ "help", no_argument, NULL, 'h' },
		{ "usage", no_argument, NULL, OPT_USAGE },
		{ 0 }
	};
	static uint32_t groups[PSAMPLE_MAX_GROUPS];
	uint32_t n_groups = 0;
	int linktype_set = 0;
	uint64_t v;
	int opt;

	o.linktype = LINKTYPE_LINUX_SLL2;
	/* -?: the original's (argp's) help option, which getopt cannot tell from its own '?'. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-?")) {
			usage(stdout);
			return 0;
		}

	while ((opt = getopt_long(argc, argv, "lmcsg:vw:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (set_mode(MODE_LIST))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			break;
		case 'm':
			if (set_mode(MODE_MONITOR))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			break;
		case 'w':
			if (set_mode(MODE_WRITE))
				return usage_error("--list-groups, --monitor and --write exclude each other");
			o.write = optarg;
			break;
		case 'c': o.no_config = 1; break;
		case 's': o.no_sample = 1; break;
		case 'v': o.verbose = 1; break;
		case 'g':
			/* Decimal, as the original's atoi() ("010" is 10); but not negative, not
			 * beyond 4294967295 and nothing after the number, which atoi() let through. */
			if (n_groups == PSAMPLE_MAX_GROUPS || parse_u64(optarg, 10, UINT32_MAX, &v))
				return usage_error("bad --group: a number from 0 to 4294967295");
			groups[n_groups++] = (uint32_t)v;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 0, UINT64_MAX, &o.count) || o.count == 0)
				return usage_error("bad --count");
			break;
		case OPT_JSON: o.json = 1; break;
		case OPT_STATS: o.stats = 1; break;
		case OPT_ALL_NETNS: o.all_netns = 1; break;
		case OPT_LINKTYPE:
			if (!strcasecmp(optarg, "linux_sll2"))
				o.linktype = LINKTYPE_LINUX_SLL2;
			else if (!strcasecmp(optarg, "en10mb"))
				o.linktype = LINKTYPE_EN10MB;
			else
				return usage_error("bad --linktype: linux_sll2 or en10mb");
			linktype_set = 1;
			break;
		case 'h':
		case OPT_USAGE: usage(stdout); return 0;
		default: return usage_error(NULL);
		}
	}
	if (optind != argc)
		return usage_error("too many arguments");
	if (o.mode == MODE_UNSET)
		o.mode = MODE_MONITOR;

	/* The original's combinations, plus --json, which has no pcap form. */
	if (o.mode != MODE_MONITOR && (o.no_config || o.no_sample))
		return usage_error("--no-config and --no-sample are for monitor mode");
	if (o.no_config && o.no_sample)
		return usage_error("cannot use both --no-sample and --no-config");
	if (o.mode == MODE_WRITE && (o.verbose || o.json))
		return usage_error("--write takes neither --verbose nor --json");
	if (o.mode != MODE_WRITE && linktype_set)
		return usage_error("--linktype is for --write");
	if (o.mode == MODE_WRITE && !PSAMPLE_TOOL_PCAP) {
		fprintf(stderr, "psample: --write: this psample was built without libpcap (make PCAP=yes)\n");
		return 1;
	}

	if (o.mode == MODE_LIST)
		return list_groups();
	return run(groups, n_groups);
}
