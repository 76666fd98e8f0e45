/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack's insides, shared by its files.  net.c, ipv4.c, arp.c, icmp.c
 * and csum.c are the link and network layers; tcp_*.c is TCP.  The two
 * meet only through the functions below.
 */
#ifndef CACHALOT_NET_PVT_H
#define CACHALOT_NET_PVT_H

#include <arpa/inet.h>
#include <string.h>

#include "net.h"
#include "proto.h"
#include "timer.h"

struct arp_table;
struct tcp_state;

struct net_stack {
	struct net_conf conf;
	struct net_io io;
	struct net_app_ops app;
	void *app_arg;
	struct net_stats st;
	uint64_t now_us;
	struct timer_wheel *tw;
	struct arp_table *arp; /* arp.c */
	struct tcp_state *tcp; /* tcp_*.c */
	uint32_t netmask;      /* host order, from conf.prefix */
	uint32_t bcast;	       /* the subnet's broadcast address, or 0 */
	uint32_t arp_gen;      /* bumped by any change of the ARP cache */
	uint16_t ip_id;
};

/*
 * memcpy for the few bytes of a small request or reply, where the call to
 * memcpy costs more than the copy: 4 to 16 bytes are two loads and two
 * stores that may overlap.  dst and src must not overlap.
 */
static inline void net_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n >= 8 && n <= 16) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		memcpy(d, s, n);
	}
}

/* ---- link and network layers, for TCP ---------------------------- */

/*
 * The way out to one destination, for a connection to keep: the Ethernet
 * and IPv4 headers of its packets prebuilt (length, id and checksum left
 * zero), the partial checksums of their fixed fields, and the next hop's
 * MAC as the ARP cache had it.  The MAC is trusted while arp_gen equals
 * the stack's (the cache bumps it whenever an entry changes) and until
 * arp_until_us (when the cache would ask again), so the per-packet check
 * is two comparisons and no lookup; otherwise the packet takes the ARP
 * path (arp_output) and the MAC is reloaded from the cache.
 */
struct net_path {
	uint8_t hdr[ETH_HLEN + IP4_HLEN];
	uint8_t proto;
	bool no_route;	       /* off-link without a gateway, or ourselves */
	uint32_t nh;	       /* next hop, host order */
	uint32_t ip_sum;       /* the IPv4 header template's sum */
	uint32_t ph_sum;       /* the L4 pseudo-header sum, length left out */
	uint32_t arp_gen;      /* s->arp_gen when hdr got the MAC; 0: none */
	uint64_t arp_until_us; /* the MAC is not trusted from then on */
};

/** Set up p for packets of protocol proto to dst (host order). */
void net_path_init(struct net_stack *s, struct net_path *p, uint32_t dst,
		   uint8_t proto);

/** RFC 1071 sum of len bytes folded into 16 bits, not complemented;
 * start with the previous partial sum (0 first). */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
static inline uint16_t net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
/** The TCP/UDP pseudo-header sum (addresses host order). */
uint32_t net_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
			 uint16_t l4len);

/* Output, inline: per packet, a call is a good part of what it costs. */

/** net_ip_alloc without a buffer, or with one too small (freed). */
uint8_t *net_ip_alloc_fail(struct net_stack *s, struct net_buf *b);

/**
 * A transmit buffer for an IPv4 packet: returns where the L4 header goes
 * (ETH_HLEN + IP4_HLEN bytes into the buffer) and *room, the bytes
 * available for L4 header + payload (at most MTU - 20).  NULL if no buffer
 * (counted in tx_alloc_fail).
 */
static inline uint8_t *net_ip_alloc(struct net_stack *s, struct net_buf **b,
				    size_t *room)
{
	uint8_t *data;
	size_t cap, r;
	struct net_buf *nb = s->io.alloc(s->io.drv, &data, &cap);

	*b = nb;
	if (!nb || cap < ETH_HLEN + IP4_HLEN + TCP_HLEN + 40) {
		/* Too small is a driver bug: not even a bare segment fits. */
		*b = NULL;
		*room = 0;
		return net_ip_alloc_fail(s, nb);
	}
	r = cap - ETH_HLEN - IP4_HLEN;
	if (r > (size_t)s->conf.mtu - IP4_HLEN)
		r = (size_t)s->conf.mtu - IP4_HLEN;
	*room = r;
	return data + ETH_HLEN + IP4_HLEN;
}

/** net_path_send for every case but a TCP segment on a resolved path. */
void net_path_send_slow(struct net_stack *s, struct net_path *p,
			struct net_buf *b, uint8_t *l4, size_t l4len);

/**
 * Put the Ethernet and IPv4 headers of p in front of the l4len bytes at
 * l4 (what net_ip_alloc returned for b) and send, or hold the frame while
 * the next hop's MAC is being resolved.  TCP's checksum field is filled
 * here, in software or as the pseudo-header sum the NIC finishes
 * (NET_TX_TCP_CSUM); the caller leaves it 0.  b belongs to the layer below
 * from here.
 */
static inline void net_path_send(struct net_stack *s, struct net_path *p,
				 struct net_buf *b, uint8_t *l4, size_t l4len)
{
	uint8_t *frame = l4 - ETH_HLEN - IP4_HLEN;
	struct ip4_hdr *ip = (struct ip4_hdr *)(frame + ETH_HLEN);
	struct tcp_hdr *th = (struct tcp_hdr *)l4;
	uint16_t tot, id;
	uint32_t sum;
	unsigned txflags =
	    s->conf.tx_offloads & (NET_TX_IP_CSUM | NET_TX_TCP_CSUM);

	/* No route never resolves: arp_until_us stays 0. */
	if (p->arp_gen != s->arp_gen || s->now_us >= p->arp_until_us ||
	    p->proto != IP4_PROTO_TCP || l4len < TCP_HLEN ||
	    l4len > (size_t)s->conf.mtu - IP4_HLEN) {
		net_path_send_slow(s, p, b, l4, l4len);
		return;
	}
	memcpy(frame, p->hdr, ETH_HLEN + IP4_HLEN);
	tot = htons((uint16_t)(IP4_HLEN + l4len));
	id = htons(s->ip_id++);
	ip->len = tot;
	ip->id = id;
	if (!(txflags & NET_TX_IP_CSUM))
		ip->csum = ~net_csum_fold(p->ip_sum + tot + id);
	sum = p->ph_sum + htons((uint16_t)l4len);
	if (txflags & NET_TX_TCP_CSUM)
		th->csum = net_csum_fold(sum); /* the NIC finishes it */
	else
		th->csum = ~net_csum_fold(net_csum_add(sum, l4, l4len));
	s->st.tx_frames++;
	s->io.send(s->io.drv, b, ETH_HLEN + IP4_HLEN + l4len, txflags);
}

/** net_path_send through a path made for this one packet. */
void net_ip_send(struct net_stack *s, struct net_buf *b, uint8_t *l4,
		 uint32_t dst, uint8_t proto, size_t l4len);

/* ---- TCP, for the layers below ------------------------------------ */

int tcp_init(struct net_stack *s);
/** Reset every connection (closed() for each) and free TCP's state. */
void tcp_fini(struct net_stack *s);
/**
 * A TCP segment for this host and worker, checksum already verified.
 * src/dst in host order; seg points at the TCP header.  TCP owns b: it
 * frees it or keeps it while the data waits out of order.
 */
void tcp_input(struct net_stack *s, struct net_buf *b, uint32_t src,
	       uint32_t dst, uint8_t *seg, size_t len);
/** Emit the segments the turn queued (net_flush). */
void tcp_flush(struct net_stack *s);
/* The readable list's upcalls (net_readable). */
void tcp_readable(struct tcp_state *ts);

#endif
