/* SPDX-License-Identifier: MIT */
/* What psample prints, byte for byte the original's text format (the kernel's selftests parse
 * it by position), and this tool's JSON lines and statistics. */
#define _GNU_SOURCE /* localtime_r */

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "options.h"
#include "output.h"

int fail(const char *what, int rc)
{
	fprintf(stderr, "psample: %s: %s\n", what, psample_strerror(rc));
	return 1;
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
void print_sample(const struct psample_packet *p)
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
	if (opt.verbose && (p->fields & PSAMPLE_FIELD_DATA)) {
		printf("data len %" PRIu32 "\n", p->data_len);
		hexdump(p->data, p->data_len);
	}
	printf("\n");
}

void print_event(const struct psample_packet *p)
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

void print_json(const struct psample_packet *p)
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
		if (opt.verbose)
			json_hex("data", p->data, p->data_len);
	}
	printf("}\n");
}

/* One line, "psample: name=value ...", written at once (stderr is unbuffered). */
void print_stats(const struct psample_sub *sub)
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
