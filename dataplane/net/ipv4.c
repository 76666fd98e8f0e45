/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipv4: input checks and dispatch to TCP and ICMP; output of TCP's
 * segments with the Ethernet and IPv4 headers in front.
 *
 * No fragments either way: we send with DF and segments sized to the MTU,
 * and a peer has no reason to fragment toward a TCP server that announces
 * its MSS, so fragments are dropped and counted rather than reassembled.
 *
 * Output goes through a struct net_path (net_pvt.h): TCP keeps one per
 * connection, so a segment's headers are a copy of a template and a few
 * stores, and the next hop's MAC is looked up only when the ARP cache
 * changed.
 */
#include <arpa/inet.h>
#include <string.h>

#include "net_link.h"

#define IPV4_TTL 64

/* ---- input ------------------------------------------------------------ */

static void ipv4_tcp(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		     size_t len, unsigned flags, uint32_t rss_hash,
		     uint32_t src, uint32_t dst, uint8_t *seg, size_t seglen)
{
	const struct tcp_hdr *th = (const struct tcp_hdr *)seg;

	if (seglen < TCP_HLEN) {
		s->st.rx_bad_len++;
		net_drop(s, b);
		return;
	}
	if (!(flags & NET_RX_STEERED) && s->conf.nworkers > 1) {
		unsigned w = net_flow_worker(s, src, ntohs(th->sport), dst,
					     ntohs(th->dport), flags, rss_hash);

		if (w != s->conf.worker) {
			/* The owner verifies the checksum: the work is its. */
			if (s->io.steer &&
			    s->io.steer(s->io.drv, w, b, frame, len)) {
				s->st.rx_steered_out++;
			} else {
				s->st.rx_steer_drops++;
				net_drop(s, b);
			}
			return;
		}
	}
	if (flags & NET_RX_L4_CSUM_BAD) {
		s->st.rx_bad_csum++;
		net_drop(s, b);
		return;
	}
	if (!(flags & NET_RX_L4_CSUM_GOOD)) {
		uint32_t sum =
		    net_csum_pseudo(src, dst, IP4_PROTO_TCP, (uint16_t)seglen);

		if (net_csum_fold(net_csum_add(sum, seg, seglen)) != 0xffff) {
			s->st.rx_bad_csum++;
			net_drop(s, b);
			return;
		}
	}
	tcp_input(s, b, src, dst, seg, seglen);
}

/* Sources no TCP peer can have: answering them would be abuse. */
static bool ipv4_martian(const struct net_stack *s, uint32_t src)
{
	/* 0, multicast, class E, limited broadcast: src - 1 wraps for 0 */
	return src - 1 >= 0xe0000000u - 1 || (src >> 24) == 127 ||
	       src == s->conf.ip || src == s->bcast;
}

void ipv4_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		size_t len, unsigned flags, uint32_t rss_hash)
{
	struct ip4_hdr *ip = (struct ip4_hdr *)(frame + ETH_HLEN);

	if (len < ETH_HLEN + IP4_HLEN)
		goto bad_len;
	size_t ihl = (ip->ver_ihl & 0xf) * 4u;
	size_t tot = ntohs(ip->len);
	if (ip->ver_ihl != 0x45 && ((ip->ver_ihl >> 4) != 4 || ihl < IP4_HLEN))
		goto bad_len;
	if (tot < ihl || ETH_HLEN + tot > len)
		goto bad_len;
	if (flags & NET_RX_IP_CSUM_BAD)
		goto bad_csum;
	if (!(flags & NET_RX_IP_CSUM_GOOD) &&
	    net_csum_fold(net_csum_add(0, ip, ihl)) != 0xffff)
		goto bad_csum;
	uint32_t dst = ntohl(ip->dst), src = ntohl(ip->src);
	if (dst != s->conf.ip) {
		s->st.rx_not_mine++;
		goto drop;
	}
	if (ntohs(ip->frag) & (IP4_FLAG_MF | IP4_FRAG_OFF)) {
		s->st.rx_frag_dropped++;
		goto drop;
	}
	if (ipv4_martian(s, src)) {
		s->st.rx_other++;
		goto drop;
	}
	/* Options (ihl > 5) are skipped, padding after tot ignored. */
	uint8_t *l4 = (uint8_t *)ip + ihl;
	size_t l4len = tot - ihl;
	switch (ip->proto) {
	case IP4_PROTO_TCP:
		ipv4_tcp(s, b, frame, len, flags, rss_hash, src, dst, l4,
			 l4len);
		return;
	case IP4_PROTO_ICMP:
		icmp_input(s, b, frame, ip, l4, l4len);
		return;
	default:
		s->st.rx_other++;
		goto drop;
	}
bad_len:
	s->st.rx_bad_len++;
	goto drop;
bad_csum:
	s->st.rx_bad_csum++;
drop:
	net_drop(s, b);
}

/* ---- output ----------------------------------------------------------- */

uint8_t *net_ip_alloc_fail(struct net_stack *s, struct net_buf *b)
{
	if (b)
		s->io.free(s->io.drv, b);
	s->st.tx_alloc_fail++;
	return NULL;
}

void net_path_init(struct net_stack *s, struct net_path *p, uint32_t dst,
		   uint8_t proto)
{
	struct eth_hdr *eth = (struct eth_hdr *)p->hdr;
	struct ip4_hdr *ip = (struct ip4_hdr *)(p->hdr + ETH_HLEN);

	memset(p, 0, sizeof(*p));
	memcpy(eth->src, s->conf.mac, 6);
	eth->type = htons(ETH_TYPE_IPV4);
	ip->ver_ihl = 0x45;
	ip->frag = htons(IP4_FLAG_DF);
	ip->ttl = IPV4_TTL;
	ip->proto = proto;
	ip->src = htonl(s->conf.ip);
	ip->dst = htonl(dst);
	p->proto = proto;
	p->ip_sum = net_csum_add(0, ip, IP4_HLEN);
	p->ph_sum = net_csum_add(htons(proto), &ip->src, 8);
	p->nh = dst;
	if (((dst ^ s->conf.ip) & s->netmask) != 0)
		p->nh = s->conf.gateway;
	p->no_route = !p->nh || dst == s->conf.ip; /* no loopback */
}

/* Reload the next hop's MAC into the template if the cache trusts one. */
static bool ipv4_path_resolve(struct net_stack *s, struct net_path *p)
{
	uint64_t until = arp_lookup(s, p->nh, p->hdr);

	if (s->now_us >= until) {
		p->arp_gen = 0;
		return false;
	}
	p->arp_gen = s->arp_gen;
	p->arp_until_us = until;
	return true;
}

void net_path_send_slow(struct net_stack *s, struct net_path *p,
			struct net_buf *b, uint8_t *l4, size_t l4len)
{
	uint8_t *frame = l4 - ETH_HLEN - IP4_HLEN;
	struct ip4_hdr *ip = (struct ip4_hdr *)(frame + ETH_HLEN);
	size_t len = ETH_HLEN + IP4_HLEN + l4len;
	unsigned txflags = 0;
	bool resolved = p->arp_gen == s->arp_gen && s->now_us < p->arp_until_us;

	if (p->no_route || IP4_HLEN + l4len > s->conf.mtu) {
		/* Overfilled is a caller's bug. */
		if (p->no_route)
			s->st.tx_no_route++;
		s->io.free(s->io.drv, b);
		return;
	}
	if (!resolved)
		resolved = ipv4_path_resolve(s, p);
	memcpy(frame, p->hdr, ETH_HLEN + IP4_HLEN);

	uint16_t tot = htons((uint16_t)(IP4_HLEN + l4len));
	uint16_t id = htons(s->ip_id++);

	ip->len = tot;
	ip->id = id;
	if (s->conf.tx_offloads & NET_TX_IP_CSUM)
		txflags |= NET_TX_IP_CSUM;
	else
		ip->csum = ~net_csum_fold(p->ip_sum + tot + id);

	if (p->proto == IP4_PROTO_TCP && l4len >= TCP_HLEN) {
		struct tcp_hdr *th = (struct tcp_hdr *)l4;
		uint32_t sum = p->ph_sum + htons((uint16_t)l4len);

		if (s->conf.tx_offloads & NET_TX_TCP_CSUM) {
			/* The NIC finishes what the pseudo header starts. */
			th->csum = net_csum_fold(sum);
			txflags |= NET_TX_TCP_CSUM;
		} else {
			th->csum = 0;
			th->csum = ~net_csum_fold(net_csum_add(sum, l4, l4len));
		}
	}
	if (resolved)
		net_send_frame(s, b, len, txflags);
	else
		arp_output(s, p->nh, b, frame, len, txflags);
}

void net_ip_send(struct net_stack *s, struct net_buf *b, uint8_t *l4,
		 uint32_t dst, uint8_t proto, size_t l4len)
{
	struct net_path p;

	net_path_init(s, &p, dst, proto);
	net_path_send(s, &p, b, l4, l4len);
}
