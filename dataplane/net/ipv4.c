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
 *
 * Frames from a kernel on the same host.  A Linux peer behind a veth or a
 * tap with its default offloads hands its segments over unfinished: the TCP
 * checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL: the
 * "NIC" was to add the data), and TSO/GSO frames carry up to 64 KB in one
 * segment, which af_packet cuts at its frame size.  Nothing crossed a wire,
 * so the kernel itself trusts such data; on a port that is such a local
 * virtual device (conf.rx_csum_partial) we do too.  A field equal to the
 * folded pseudo-header sum is accepted as unverified (rx_csum_partial), and
 * a cut segment with that field is kept up to the cut, without its FIN:
 * TCP acknowledges what arrived and the peer sends the rest again, the way
 * a segment trimmed to the window would be (slow, and logged by the
 * driver with the ethtool hint).  A random corruption passes this test
 * with the same 2^-16 chance as the real sum, so the rule at most doubles
 * an already small risk, and only where there is no wire.  On a NIC a
 * partial field is never legitimate and stays a bad checksum.
 */
#include <arpa/inet.h>
#include <string.h>

#include "net_link.h"

#define IPV4_TTL 64

/* ---- input ------------------------------------------------------------ */

enum net_csum_verdict net_tcp_csum_check(uint32_t src, uint32_t dst,
					 const uint8_t *seg, size_t have,
					 size_t seglen, bool partial)
{
	const struct tcp_hdr *th = (const struct tcp_hdr *)seg;
	uint32_t ph =
	    net_csum_pseudo(src, dst, IP4_PROTO_TCP, (uint16_t)seglen);

	if (have == seglen &&
	    net_csum_fold(net_csum_add(ph, seg, have)) == 0xffff)
		return NET_CSUM_OK;
	/* Both sides read the field and the sum in memory order: Linux
	 * stores ~csum_fold(), i.e. the folded sum itself, never 0. */
	if (partial && th->csum == net_csum_fold(ph))
		return NET_CSUM_PARTIAL;
	return NET_CSUM_BAD;
}

/* seglen: the TCP length the IP header gives; have: what the frame holds
 * of it (less when the port cut a TSO/GSO frame). */
static void ipv4_tcp(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		     size_t len, unsigned flags, uint32_t rss_hash,
		     uint32_t src, uint32_t dst, uint8_t *seg, size_t seglen,
		     size_t have)
{
	struct tcp_hdr *th = (struct tcp_hdr *)seg;

	if (have < TCP_HLEN) {
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
	if (flags & NET_RX_L4_CSUM_BAD)
		goto bad_csum;
	if (!(flags & NET_RX_L4_CSUM_GOOD) || have < seglen) {
		switch (net_tcp_csum_check(src, dst, seg, have, seglen,
					   s->conf.rx_csum_partial)) {
		case NET_CSUM_OK:
			break;
		case NET_CSUM_PARTIAL:
			s->st.rx_csum_partial++;
			if (have < seglen) {
				/* The FIN, if any, follows bytes we lack. */
				s->st.rx_gso_cut++;
				th->flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
				seglen = have;
			}
			break;
		default:
			/* A cut frame without the mark: just too long. */
			if (have < seglen) {
				s->st.rx_bad_len++;
				net_drop(s, b);
				return;
			}
			goto bad_csum;
		}
	}
	tcp_input(s, b, src, dst, seg, seglen);
	return;
bad_csum:
	s->st.rx_bad_csum++;
	net_drop(s, b);
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
	if (tot < ihl || ETH_HLEN + ihl > len)
		goto bad_len;
	/* Shorter than its IP length: cut by the port.  Only a TSO/GSO
	 * frame of a local kernel may go on (ipv4_tcp checks its mark). */
	if (ETH_HLEN + tot > len &&
	    (!s->conf.rx_csum_partial || ip->proto != IP4_PROTO_TCP))
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
	size_t have = ETH_HLEN + tot > len ? len - ETH_HLEN - ihl : l4len;
	switch (ip->proto) {
	case IP4_PROTO_TCP:
		ipv4_tcp(s, b, frame, len, flags, rss_hash, src, dst, l4, l4len,
			 have);
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
