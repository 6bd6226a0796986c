/* SPDX-License-Identifier: MIT */
/* XDR (RFC 4506) writers for sFlow: big-endian 32- and 64-bit words, opaque bytes padded with
 * zeros to 4. Each returns the position after what it wrote; the caller has sized the buffer. */
#ifndef PSAMPLE_SFLOW_XDR_H
#define PSAMPLE_SFLOW_XDR_H

#include <stdint.h>
#include <string.h>

static inline uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static inline uint32_t xdr_padded(uint32_t len)
{
	return (len + 3) & ~3u;
}

static inline uint8_t *put_opaque(uint8_t *p, const uint8_t *bytes, uint32_t len)
{
	memcpy(p, bytes, len);
	memset(p + len, 0, xdr_padded(len) - len);
	return p + xdr_padded(len);
}

/* An XDR string<>: its length, then its bytes padded. */
static inline uint8_t *put_string(uint8_t *p, const char *s, uint32_t len)
{
	return put_opaque(put32(p, len), (const uint8_t *)s, len);
}

#endif
