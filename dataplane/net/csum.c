/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum (RFC 1071).
 *
 * Sums are over the bytes as they lie in memory, read as native 16-bit
 * words: the one's complement sum does not care about byte order (RFC 1071
 * 2.B), so the complement of a folded sum is stored into a header field as
 * is, without htons, and a received header verifies when the sum over it
 * folds to 0xffff.  The pseudo-header sum is built the same way from
 * network-order values.
 *
 * Words are loaded through memcpy, so any alignment (odd offsets) is
 * fine.  Only the last piece of a chained sum may have an odd length.
 */
#include <arpa/inet.h>
#include <string.h>

#include "net_pvt.h"

static inline uint64_t csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t a = sum, b = 0;
	uint32_t w[4];

	/* 32-bit words into two 64-bit accumulators: 2^32 words before
	 * either can overflow, far beyond any frame. */
	while (len >= 16) {
		memcpy(w, p, 16);
		a += (uint64_t)w[0] + w[1];
		b += (uint64_t)w[2] + w[3];
		p += 16;
		len -= 16;
	}
	a += b;
	while (len >= 4) {
		memcpy(w, p, 4);
		a += w[0];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		a += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the first of a word padded with zero. */
		uint16_t h = 0;

		memcpy(&h, p, 1);
		a += h;
	}
	a = csum_fold64(a);
	return net_csum_fold((uint32_t)a);
}

uint32_t net_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
			 uint16_t l4len)
{
	uint32_t ns = htonl(src), nd = htonl(dst);
	uint64_t a = 0;

	a += (ns & 0xffff) + (ns >> 16);
	a += (nd & 0xffff) + (nd >> 16);
	a += htons(proto);
	a += htons(l4len);
	return net_csum_fold((uint32_t)csum_fold64(a));
}
