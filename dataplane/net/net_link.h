/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_link: what net.c, ipv4.c, arp.c and icmp.c share below TCP (TCP
 * sees only net_pvt.h).  Every frame handler takes ownership of b.
 *
 * Threading: the stack's worker, like everything in the stack.
 */
#ifndef CACHALOT_NET_LINK_H
#define CACHALOT_NET_LINK_H

#include "net_pvt.h"

#define NET_ETH_MIN 60 /* minimum Ethernet frame without FCS */

/* ---- arp.c ---------------------------------------------------------- */

int arp_init(struct net_stack *s);
/** Drop held frames and free the cache. */
void arp_fini(struct net_stack *s);
void arp_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
	       size_t len, unsigned flags);
/**
 * Send frame (Ethernet header filled but for the destination MAC) to next
 * hop nh: now if its MAC is known, else held while it is resolved.
 */
void arp_output(struct net_stack *s, uint32_t nh, struct net_buf *b,
		uint8_t *frame, size_t len, unsigned txflags);
/**
 * Copy the MAC of next hop nh into mac if the cache has one, and return
 * until when it is trusted without asking again (0: no MAC; past: arp_output
 * would ask).  Any change to the cache bumps s->arp_gen.
 */
uint64_t arp_lookup(struct net_stack *s, uint32_t nh, uint8_t mac[6]);

/* ---- ipv4.c --------------------------------------------------------- */

void ipv4_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		size_t len, unsigned flags, uint32_t rss_hash);

/* What a received TCP segment's checksum field says. */
enum net_csum_verdict {
	NET_CSUM_OK,	  /* the one's complement sum verifies */
	NET_CSUM_PARTIAL, /* the pseudo-header sum only: CHECKSUM_PARTIAL */
	NET_CSUM_BAD,
};

/**
 * Check the checksum of a TCP segment of seglen bytes (the length its IP
 * header gives) of which the first have bytes (>= TCP_HLEN) are in memory
 * at seg; have < seglen when the port cut the frame.  src and dst are host
 * order.  With partial, a field holding the folded pseudo-header sum of
 * seglen, as Linux leaves it for an offload to finish (tcp_v4_send_check),
 * is NET_CSUM_PARTIAL; without, it is BAD like any other wrong sum.  A cut
 * segment cannot be summed: it is PARTIAL or BAD.
 */
enum net_csum_verdict net_tcp_csum_check(uint32_t src, uint32_t dst,
					 const uint8_t *seg, size_t have,
					 size_t seglen, bool partial);

/* ---- icmp.c --------------------------------------------------------- */

/** An ICMP message in a checked IPv4 packet; ip points into frame. */
void icmp_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		struct ip4_hdr *ip, uint8_t *l4, size_t l4len);

/* ---- net.c ---------------------------------------------------------- */

/** The NIC's TCP/IPv4 RSS (Toeplitz) hash of a received segment, over
 * source address, destination address, source port, destination port
 * (host order arguments). */
uint32_t net_rss_hash(const uint8_t key[40], uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport);

/** Hand a finished frame to the driver and count it. */
static inline void net_send_frame(struct net_stack *s, struct net_buf *b,
				  size_t len, unsigned txflags)
{
	s->st.tx_frames++;
	s->io.send(s->io.drv, b, len, txflags);
}

/** Drop a received frame. */
static inline void net_drop(struct net_stack *s, struct net_buf *b)
{
	s->io.free(s->io.drv, b);
}

#endif
