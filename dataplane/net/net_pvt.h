/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack's insides, shared by its files.  net.c, ipv4.c, arp.c, icmp.c
 * and csum.c are the link and network layers; tcp_*.c is TCP.  The two
 * meet only through the functions below.
 */
#ifndef CACHALOT_NET_PVT_H
#define CACHALOT_NET_PVT_H

#include "net.h"
#include "proto.h"
#include "timer.h"

struct arp_table;
struct ipv4_state;
struct tcp_state;

struct net_stack {
	struct net_conf conf;
	struct net_io io;
	struct net_app_ops app;
	void *app_arg;
	struct net_stats st;
	uint64_t now_us;
	struct timer_wheel *tw;
	struct arp_table *arp;	/* arp.c */
	struct ipv4_state *ip4; /* ipv4.c */
	struct tcp_state *tcp;	/* tcp_*.c */
	uint32_t netmask;	/* host order, from conf.prefix */
	uint16_t ip_id;
};

/* ---- link and network layers, for TCP ---------------------------- */

/**
 * A transmit buffer for an IPv4 packet to dst: returns where the L4
 * header goes and *room, the bytes available for L4 header + payload
 * (MTU - 20).  NULL if no buffer (counted in tx_alloc_fail).
 */
uint8_t *net_ip_alloc(struct net_stack *s, struct net_buf **b, size_t *room);
/**
 * Fill the Ethernet and IPv4 headers in front of l4len bytes of L4 data
 * (TCP: checksum field left 0, filled here in software or by offload) and
 * send, or hold it while the next hop's MAC is being resolved.  b belongs
 * to the layer below from here.
 */
void net_ip_send(struct net_stack *s, struct net_buf *b, uint32_t dst,
		 uint8_t proto, size_t l4len);

/** RFC 1071 sum of len bytes folded into 16 bits, not complemented;
 * start with the previous partial sum (0 first). */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t net_csum_fold(uint32_t sum);
/** The TCP/UDP pseudo-header sum (addresses host order). */
uint32_t net_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
			 uint16_t l4len);

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

#endif
