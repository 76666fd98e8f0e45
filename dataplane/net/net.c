/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: the stack's entry points, Ethernet demultiplexing and flow
 * steering.
 *
 * Steering.  A TCP connection lives on one worker, the one its flow hashes
 * to.  With RSS the NIC already put the frame on that worker's queue and
 * the hash check is a formality; the software Toeplitz hash reproduces the
 * NIC's choice for frames that arrive without a hash (a PMD that does not
 * report it).  Without RSS (af_packet, tap) frames land on any queue and
 * the software hash picks the owner; a frame on the wrong worker is handed
 * over through io->steer.  ARP is learnt by every worker, since each one
 * transmits, so every ARP frame is also copied to the others.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <mimalloc.h>

#include "net_link.h"

void net_conf_default(struct net_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->nworkers = 1;
	conf->prefix = 24;
	conf->mtu = 1500;
	conf->syn_backlog = 512;
	conf->max_conns = 65536;
	conf->rcvbuf = 262144;
	conf->sndbuf = 262144;
	conf->keepalive_s = 300;
	conf->time_wait_ms = 60000;
	conf->delack_ms = 40;
	conf->rto_min_ms = 200;
	conf->rto_max_ms = 120000;
	conf->syn_retries = 5;
	conf->data_retries = 15;
}

struct net_stack *net_new(const struct net_conf *conf, const struct net_io *io,
			  const struct net_app_ops *app, void *app_arg)
{
	struct net_stack *s = mi_zalloc(sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->conf = *conf;
	if (s->conf.nworkers == 0)
		s->conf.nworkers = 1;
	if (s->conf.mtu < 576 || s->conf.mtu > 9000)
		s->conf.mtu = 1500;
	s->io = *io;
	if (app)
		s->app = *app;
	s->app_arg = app_arg;
	s->netmask = conf->prefix == 0	  ? 0
		     : conf->prefix >= 32 ? 0xffffffffu
					  : ~0u << (32 - conf->prefix);
	if (s->netmask && s->netmask != 0xffffffffu)
		s->bcast = conf->ip | ~s->netmask;
	s->tw = timer_wheel_new(0);
	if (!s->tw)
		goto fail;
	s->arp_gen = 1;
	int rc = arp_init(s);
	if (rc == 0)
		rc = tcp_init(s);
	if (rc) {
		arp_fini(s);
		timer_wheel_free(s->tw);
		mi_free(s);
		errno = -rc;
		return NULL;
	}
	return s;
fail:
	mi_free(s);
	errno = ENOMEM;
	return NULL;
}

void net_free(struct net_stack *s)
{
	if (!s)
		return;
	tcp_fini(s);
	arp_fini(s);
	timer_wheel_free(s->tw);
	mi_free(s);
}

/* The wheel was born at time 0; start it at the real clock, or timers
 * armed before the first net_timers() land in far slots. */
static __attribute__((noinline)) void net_clock_start(struct net_stack *s,
						      uint64_t now_us)
{
	if (timer_count(s->tw) == 0) {
		struct timer_wheel *tw = timer_wheel_new(now_us);

		if (tw) {
			timer_wheel_free(s->tw);
			s->tw = tw;
		}
	}
}

void net_set_time(struct net_stack *s, uint64_t now_us)
{
	if (s->now_us == 0 && now_us)
		net_clock_start(s, now_us);
	/* The clock never goes back, whatever the driver says. */
	if (now_us > s->now_us)
		s->now_us = now_us;
}

void net_readable(struct net_stack *s)
{
	tcp_readable(s->tcp);
}

void net_timers(struct net_stack *s)
{
	timer_run(s->tw, s->now_us);
}

uint64_t net_next_timer_us(const struct net_stack *s)
{
	uint64_t t = timer_next(s->tw);

	if (t == UINT64_MAX)
		return UINT64_MAX;
	return t > s->now_us ? t - s->now_us : 0;
}

void net_flush(struct net_stack *s)
{
	tcp_flush(s);
}

const struct net_stats *net_stats(const struct net_stack *s)
{
	return &s->st;
}

/* The Toeplitz hash as NICs compute it: for each set bit of the input,
 * xor in the 32 key bits starting at that bit's position. */
static uint32_t net_toeplitz(const uint8_t *key, const uint8_t *in, size_t n)
{
	uint32_t h = 0;
	uint32_t v = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
		     (uint32_t)key[2] << 8 | key[3];

	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			if (in[i] & (0x80u >> bit))
				h ^= v;
			v <<= 1;
			if (key[i + 4] & (0x80u >> bit))
				v |= 1;
		}
	}
	return h;
}

uint32_t net_rss_hash(const uint8_t key[40], uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport)
{
	uint8_t in[12];
	uint32_t a = htonl(src), b = htonl(dst);
	uint16_t p = htons(sport), q = htons(dport);

	memcpy(in, &a, 4);
	memcpy(in + 4, &b, 4);
	memcpy(in + 8, &p, 2);
	memcpy(in + 10, &q, 2);
	return net_toeplitz(key, in, sizeof(in));
}

unsigned net_flow_worker(const struct net_stack *s, uint32_t peer_ip,
			 uint16_t peer_port, uint32_t local_ip,
			 uint16_t local_port, unsigned flags, uint32_t rss_hash)
{
	const struct net_conf *c = &s->conf;
	uint32_t h;

	if (c->nworkers <= 1)
		return 0;
	if (c->rss && c->reta_size) {
		if (flags & NET_RX_HASH)
			h = rss_hash;
		else
			h = net_rss_hash(c->rss_key, peer_ip, local_ip,
					 peer_port, local_port);
		return c->reta[h % c->reta_size] % c->nworkers;
	}
	/* A multiplicative mix; only the owner's choice must be stable. */
	uint64_t x =
	    (uint64_t)peer_ip << 32 | (uint32_t)peer_port << 16 | local_port;
	x ^= local_ip;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (unsigned)(x % c->nworkers);
}

void net_rx(struct net_stack *s, struct net_buf *b, uint8_t *frame, size_t len,
	    unsigned flags, uint32_t rss_hash)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const struct eth_hdr *eth = (const struct eth_hdr *)frame;

	s->st.rx_frames++;
	if (len < ETH_HLEN) {
		s->st.rx_bad_len++;
		net_drop(s, b);
		return;
	}
	/* Our own frames looped back by a promiscuous port. */
	if (memcmp(eth->src, s->conf.mac, 6) == 0) {
		net_drop(s, b);
		return;
	}
	if (memcmp(eth->dst, s->conf.mac, 6) != 0 &&
	    memcmp(eth->dst, bcast, 6) != 0) {
		s->st.rx_not_mine++;
		net_drop(s, b);
		return;
	}
	switch (ntohs(eth->type)) {
	case ETH_TYPE_IPV4:
		ipv4_input(s, b, frame, len, flags, rss_hash);
		return;
	case ETH_TYPE_ARP:
		arp_input(s, b, frame, len, flags);
		return;
	default:
		/* VLAN tags included: the port strips ours, if any. */
		s->st.rx_other++;
		net_drop(s, b);
		return;
	}
}
