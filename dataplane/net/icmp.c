/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * icmp: echo replies, built in the request's own buffer.  The reply goes
 * back to the MAC the request came from, which is the right next hop
 * whether the pinger is on-link or behind the gateway, so no ARP lookup.
 * Other ICMP messages are ignored: the stack does no path MTU discovery
 * (it sends segments sized to the link MTU).
 */
#include <arpa/inet.h>
#include <string.h>

#include "net_link.h"

void icmp_input(struct net_stack *s, struct net_buf *b, uint8_t *frame,
		struct ip4_hdr *ip, uint8_t *l4, size_t l4len)
{
	struct icmp_hdr *ic = (struct icmp_hdr *)l4;

	if (l4len < sizeof(*ic)) {
		s->st.rx_bad_len++;
		net_drop(s, b);
		return;
	}
	if (net_csum_fold(net_csum_add(0, l4, l4len)) != 0xffff) {
		s->st.rx_bad_csum++;
		net_drop(s, b);
		return;
	}
	if (ic->type != ICMP_ECHO_REQUEST || ic->code != 0) {
		s->st.rx_other++;
		net_drop(s, b);
		return;
	}
	s->st.icmp_echo++;

	struct eth_hdr *eth = (struct eth_hdr *)frame;
	memcpy(eth->dst, eth->src, 6);
	memcpy(eth->src, s->conf.mac, 6);

	/* IP: back to the sender, options (if any) kept as they came. */
	size_t ihl = (ip->ver_ihl & 0xf) * 4u;
	uint32_t src = ip->src;
	ip->src = ip->dst;
	ip->dst = src;
	ip->ttl = 64;
	ip->tos = 0;
	ip->id = htons(s->ip_id++);
	ip->frag = 0;
	ip->csum = 0;
	ip->csum = ~net_csum_fold(net_csum_add(0, ip, ihl));

	ic->type = ICMP_ECHO_REPLY;
	ic->csum = 0;
	ic->csum = ~net_csum_fold(net_csum_add(0, l4, l4len));

	net_send_frame(s, b, ETH_HLEN + ntohs(ip->len), 0);
}
