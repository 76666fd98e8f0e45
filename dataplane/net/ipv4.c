/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ipv4: input checks and dispatch to TCP and ICMP; output of TCP's
 * segments with the Ethernet and IPv4 headers in front.
 *
 * No fragments either way: we send with DF and segments sized to the MTU,
 * and a peer has no reason to fragment toward a TCP server that announces
 * its MSS, so fragments are dropped and counted rather than reassembled.
 *
 * net_ip_send() is given the buffer but not where its data starts (a
 * net_buf is the driver's), so net_ip_alloc() remembers the pair in a
 * small ring, searched newest first: TCP sends what it allocates at once,
 * and the search ends at the first entry.  A buffer allocated and never
 * sent just ages out of the ring.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <mimalloc.h>

#include "net_link.h"

#define IPV4_TTL 64
#define IPV4_TXQ 32 /* allocated buffers not yet sent, at most */

struct ipv4_state {
	unsigned head; /* next slot to fill */
	struct {
		struct net_buf *b;
		uint8_t *data;
		size_t cap;
	} tx[IPV4_TXQ];
};

int ipv4_init(struct net_stack *s)
{
	s->ip4 = mi_zalloc(sizeof(*s->ip4));
	return s->ip4 ? 0 : -ENOMEM;
}

void ipv4_fini(struct net_stack *s)
{
	mi_free(s->ip4);
	s->ip4 = NULL;
}

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
	if (src == 0 || src == 0xffffffffu || src >= 0xe0000000u ||
	    (src >> 24) == 127 || src == s->conf.ip)
		return true;
	/* The subnet's broadcast address. */
	return s->netmask && s->netmask != 0xffffffffu &&
	       ((src ^ s->conf.ip) & s->netmask) == 0 &&
	       (src | s->netmask) == 0xffffffffu;
}

void ipv4_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		size_t len, unsigned flags, uint32_t rss_hash)
{
	struct ip4_hdr *ip = (struct ip4_hdr *)(frame + ETH_HLEN);

	if (len < ETH_HLEN + IP4_HLEN)
		goto bad_len;
	size_t ihl = (ip->ver_ihl & 0xf) * 4u;
	size_t tot = ntohs(ip->len);
	if ((ip->ver_ihl >> 4) != 4 || ihl < IP4_HLEN || tot < ihl ||
	    ETH_HLEN + tot > len)
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

uint8_t *net_ip_alloc(struct net_stack *s, struct net_buf **b, size_t *room)
{
	struct ipv4_state *st = s->ip4;
	uint8_t *data;
	size_t cap;

	*b = s->io.alloc(s->io.drv, &data, &cap);
	if (!*b) {
		s->st.tx_alloc_fail++;
		return NULL;
	}
	if (cap < ETH_HLEN + IP4_HLEN + TCP_HLEN + 40) {
		/* A driver bug: not even a bare segment fits. */
		s->io.free(s->io.drv, *b);
		*b = NULL;
		s->st.tx_alloc_fail++;
		return NULL;
	}
	size_t r = cap - ETH_HLEN - IP4_HLEN;
	if (r > (size_t)s->conf.mtu - IP4_HLEN)
		r = (size_t)s->conf.mtu - IP4_HLEN;
	*room = r;
	unsigned i = st->head;
	st->tx[i].b = *b;
	st->tx[i].data = data;
	st->tx[i].cap = cap;
	st->head = (i + 1) % IPV4_TXQ;
	return data + ETH_HLEN + IP4_HLEN;
}

/* The data pointer net_ip_alloc() returned for b, forgotten after. */
static uint8_t *ipv4_tx_data(struct net_stack *s, struct net_buf *b,
			     size_t *cap)
{
	struct ipv4_state *st = s->ip4;

	for (unsigned k = 1; k <= IPV4_TXQ; k++) {
		unsigned i = (st->head + IPV4_TXQ - k) % IPV4_TXQ;

		if (st->tx[i].b == b) {
			st->tx[i].b = NULL;
			*cap = st->tx[i].cap;
			return st->tx[i].data;
		}
	}
	return NULL;
}

void net_ip_send(struct net_stack *s, struct net_buf *b, uint32_t dst,
		 uint8_t proto, size_t l4len)
{
	size_t cap;
	uint8_t *frame = ipv4_tx_data(s, b, &cap);
	unsigned txflags = 0;

	if (!frame || ETH_HLEN + IP4_HLEN + l4len > cap ||
	    IP4_HLEN + l4len > s->conf.mtu) {
		/* Not from net_ip_alloc, or overfilled: a caller's bug. */
		s->io.free(s->io.drv, b);
		return;
	}
	struct ip4_hdr *ip = (struct ip4_hdr *)(frame + ETH_HLEN);
	uint8_t *l4 = (uint8_t *)ip + IP4_HLEN;

	ip->ver_ihl = 0x45;
	ip->tos = 0;
	ip->len = htons((uint16_t)(IP4_HLEN + l4len));
	ip->id = htons(s->ip_id++);
	ip->frag = htons(IP4_FLAG_DF);
	ip->ttl = IPV4_TTL;
	ip->proto = proto;
	ip->csum = 0;
	ip->src = htonl(s->conf.ip);
	ip->dst = htonl(dst);
	if (s->conf.tx_offloads & NET_TX_IP_CSUM)
		txflags |= NET_TX_IP_CSUM;
	else
		ip->csum = ~net_csum_fold(net_csum_add(0, ip, IP4_HLEN));

	if (proto == IP4_PROTO_TCP && l4len >= TCP_HLEN) {
		struct tcp_hdr *th = (struct tcp_hdr *)l4;
		uint32_t sum =
		    net_csum_pseudo(s->conf.ip, dst, proto, (uint16_t)l4len);

		if (s->conf.tx_offloads & NET_TX_TCP_CSUM) {
			/* The NIC finishes what the pseudo header starts. */
			th->csum = net_csum_fold(sum);
			txflags |= NET_TX_TCP_CSUM;
		} else {
			th->csum = 0;
			th->csum = ~net_csum_fold(net_csum_add(sum, l4, l4len));
		}
	}

	struct eth_hdr *eth = (struct eth_hdr *)frame;
	memcpy(eth->src, s->conf.mac, 6);
	eth->type = htons(ETH_TYPE_IPV4);

	uint32_t nh = dst;
	if (((dst ^ s->conf.ip) & s->netmask) != 0) {
		nh = s->conf.gateway;
		if (!nh) {
			s->st.tx_no_route++;
			s->io.free(s->io.drv, b);
			return;
		}
	}
	if (dst == s->conf.ip) {
		s->st.tx_no_route++; /* no loopback */
		s->io.free(s->io.drv, b);
		return;
	}
	arp_output(s, nh, b, frame, ETH_HLEN + IP4_HLEN + l4len, txflags);
}
