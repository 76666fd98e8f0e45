/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the link and network layers of dataplane/net: a real
 * net_stack with a fake struct net_io that captures every frame sent or
 * steered and counts the buffers, so leaks show.  ARP (responder, cache,
 * resolution, retries, expiry), ICMP echo, IPv4 input checks, checksums,
 * the Toeplitz hash and flow steering.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_link.h"

/* ---- the fake driver ------------------------------------------------- */

#define FB_CAP 2048
#define MAXF 64

struct net_buf {
	uint8_t data[FB_CAP];
};

struct frame {
	uint8_t d[FB_CAP];
	size_t len;
	unsigned flags;
	unsigned to; /* steered: the target worker */
};

static struct fake {
	long live; /* buffers allocated and not yet freed */
	unsigned nsent, nsteer;
	struct frame sent[MAXF], steer[MAXF];
	bool steer_ok;
	bool alloc_fail;
} fk;

static struct net_buf *fk_alloc(void *drv, uint8_t **data, size_t *cap)
{
	(void)drv;
	if (fk.alloc_fail)
		return NULL;
	struct net_buf *b = malloc(sizeof(*b));

	assert_non_null(b);
	memset(b->data, 0xa5, FB_CAP); /* garbage, as a pool gives */
	fk.live++;
	*data = b->data;
	*cap = FB_CAP;
	return b;
}

static void fk_free(void *drv, struct net_buf *b)
{
	(void)drv;
	assert_non_null(b);
	fk.live--;
	free(b);
}

static void fk_send(void *drv, struct net_buf *b, size_t len, unsigned flags)
{
	assert_true(fk.nsent < MAXF);
	assert_true(len <= FB_CAP);
	struct frame *f = &fk.sent[fk.nsent++];

	memcpy(f->d, b->data, len);
	f->len = len;
	f->flags = flags;
	fk_free(drv, b);
}

static bool fk_steer(void *drv, unsigned to, struct net_buf *b,
		     const uint8_t *frame, size_t len)
{
	if (!fk.steer_ok)
		return false;
	assert_true(fk.nsteer < MAXF);
	struct frame *f = &fk.steer[fk.nsteer++];

	memcpy(f->d, frame, len);
	f->len = len;
	f->to = to;
	if (to != NET_STEER_ALL)
		fk_free(drv, b); /* handed over: the other worker frees */
	return true;
}

static const struct net_io fk_io = {
    .drv = &fk,
    .alloc = fk_alloc,
    .send = fk_send,
    .free = fk_free,
    .steer = fk_steer,
};

/* ---- addresses and frame builders ------------------------------------ */

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
static const uint8_t my_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t gw_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define MY_IP IP(10, 0, 0, 1)
#define PEER_IP IP(10, 0, 0, 2)
#define GW_IP IP(10, 0, 0, 254)

static struct net_stack *s;

static void conf_for(struct net_conf *c, unsigned worker, unsigned nworkers)
{
	net_conf_default(c);
	memcpy(c->mac, my_mac, 6);
	c->ip = MY_IP;
	c->prefix = 24;
	c->gateway = GW_IP;
	c->ports[0] = 6379;
	c->nports = 1;
	c->worker = worker;
	c->nworkers = nworkers;
}

static void stack_with(const struct net_conf *c)
{
	memset(&fk, 0, sizeof(fk));
	fk.steer_ok = true;
	s = net_new(c, &fk_io, NULL, NULL);
	assert_non_null(s);
	net_set_time(s, 1000000000ull);
}

static int setup(void **state)
{
	(void)state;
	struct net_conf c;

	conf_for(&c, 0, 1);
	stack_with(&c);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	net_free(s);
	s = NULL;
	assert_int_equal(fk.live, 0); /* every buffer came back */
	return 0;
}

/* Hand a copy of frame to the stack in a fresh driver buffer. */
static void rx(const uint8_t *frame, size_t len, unsigned flags, uint32_t hash)
{
	uint8_t *data = NULL;
	size_t cap;
	struct net_buf *b = fk_alloc(&fk, &data, &cap);

	memcpy(data, frame, len);
	net_rx(s, b, data, len, flags, hash);
}

static void advance(uint64_t us)
{
	net_set_time(s, s->now_us + us);
	net_timers(s);
}

static size_t put_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		      uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	return ETH_HLEN;
}

static size_t arp_frame(uint8_t *f, uint16_t op, const uint8_t *eth_dst,
			const uint8_t *sha, uint32_t spa, const uint8_t *tha,
			uint32_t tpa)
{
	struct arp_hdr *a = (struct arp_hdr *)(f + ETH_HLEN);

	put_eth(f, eth_dst, sha, ETH_TYPE_ARP);
	a->hw = htons(1);
	a->proto = htons(0x0800);
	a->hlen = 6;
	a->plen = 4;
	a->op = htons(op);
	memcpy(a->sha, sha, 6);
	a->spa = htonl(spa);
	memcpy(a->tha, tha, 6);
	a->tpa = htonl(tpa);
	memset(f + 42, 0, 18);
	return 60;
}

/* Reference RFC 1071 sum, big-endian words, one byte at a time. */
static uint16_t ref_sum(const uint8_t *p, size_t n, uint32_t start)
{
	uint64_t sum = start;

	for (size_t i = 0; i < n; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t ref_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
			   uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       proto + len;
}

/* An IPv4 packet (no options) with the L4 bytes given; returns the frame
 * length.  Header checksum correct. */
static size_t ip_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
		       const uint8_t *l4, size_t l4len)
{
	put_eth(f, my_mac, peer_mac, ETH_TYPE_IPV4);
	uint8_t *ip = f + ETH_HLEN;
	memset(ip, 0, IP4_HLEN);
	ip[0] = 0x45;
	ip[2] = (IP4_HLEN + l4len) >> 8;
	ip[3] = (IP4_HLEN + l4len) & 0xff;
	ip[4] = 0x12;
	ip[5] = 0x34;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = proto;
	uint32_t ns = htonl(src), nd = htonl(dst);
	memcpy(ip + 12, &ns, 4);
	memcpy(ip + 16, &nd, 4);
	uint16_t c = ~ref_sum(ip, IP4_HLEN, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	memcpy(ip + IP4_HLEN, l4, l4len);
	return ETH_HLEN + IP4_HLEN + l4len;
}

/* A bare TCP SYN with a correct checksum. */
static size_t syn_frame(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst,
			uint16_t dport)
{
	uint8_t th[TCP_HLEN] = {0};

	th[0] = sport >> 8;
	th[1] = sport & 0xff;
	th[2] = dport >> 8;
	th[3] = dport & 0xff;
	th[4] = 0x11; /* seq */
	th[12] = 5 << 4;
	th[13] = TCP_SYN;
	th[14] = 0xff;
	th[15] = 0xff;
	uint16_t c = ~ref_sum(th, TCP_HLEN,
			      ref_pseudo(src, dst, IP4_PROTO_TCP, TCP_HLEN));
	th[16] = c >> 8;
	th[17] = c & 0xff;
	return ip_frame(f, src, dst, IP4_PROTO_TCP, th, TCP_HLEN);
}

/* Have the stack send an IPv4 TCP-like packet to dst through
 * net_ip_alloc/net_ip_send, with a recognisable payload. */
static void ip_out(uint32_t dst, uint8_t tag)
{
	struct net_buf *b;
	size_t room;
	uint8_t *p = net_ip_alloc(s, &b, &room);

	assert_non_null(p);
	assert_int_equal(room, 1480);
	memset(p, 0, TCP_HLEN);
	p[0] = 0x18; /* sport 6379 */
	p[1] = 0xeb;
	p[2] = 0x9c;
	p[3] = 0x40;
	p[12] = 5 << 4;
	p[13] = TCP_ACK;
	memset(p + TCP_HLEN, tag, 10);
	net_ip_send(s, b, p, dst, IP4_PROTO_TCP, TCP_HLEN + 10);
}

/* Checks a frame ip_out() produced. */
static void check_ip_out(const struct frame *f, const uint8_t *dmac,
			 uint32_t dst, uint8_t tag)
{
	const uint8_t *ip = f->d + ETH_HLEN;

	assert_int_equal(f->len, ETH_HLEN + IP4_HLEN + TCP_HLEN + 10);
	assert_memory_equal(f->d, dmac, 6);
	assert_memory_equal(f->d + 6, my_mac, 6);
	assert_int_equal(f->d[12], 0x08);
	assert_int_equal(f->d[13], 0x00);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[2] << 8 | ip[3], IP4_HLEN + TCP_HLEN + 10);
	assert_int_equal(ip[6], 0x40); /* DF, no offset */
	assert_int_equal(ip[7], 0);
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], IP4_PROTO_TCP);
	assert_int_equal(ref_sum(ip, IP4_HLEN, 0), 0xffff);
	uint32_t a, d;
	memcpy(&a, ip + 12, 4);
	memcpy(&d, ip + 16, 4);
	assert_int_equal(ntohl(a), MY_IP);
	assert_int_equal(ntohl(d), dst);
	assert_int_equal(ref_sum(ip + IP4_HLEN, TCP_HLEN + 10,
				 ref_pseudo(MY_IP, dst, 6, TCP_HLEN + 10)),
			 0xffff);
	assert_int_equal(ip[IP4_HLEN + TCP_HLEN], tag);
	assert_int_equal(f->flags, 0);
}

/* ---- ARP -------------------------------------------------------------- */

static void test_arp_reply_exact(void **state)
{
	(void)state;
	uint8_t f[60];
	static const uint8_t zero[6] = {0};

	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	static const uint8_t want[60] = {
	    /* Ethernet */
	    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
	    0x01, 0x08, 0x06,
	    /* ARP reply */
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	    /* sha, spa */
	    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 1,
	    /* tha, tpa */
	    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 10, 0, 0, 2,
	    /* padding: 18 zero bytes */
	};
	assert_int_equal(fk.nsent, 1);
	assert_int_equal(fk.sent[0].len, 60);
	assert_memory_equal(fk.sent[0].d, want, 60);
	assert_int_equal(s->st.arp_requests_rx, 1);
	assert_int_equal(s->st.arp_replies_tx, 1);
	assert_int_equal(s->st.tx_frames, 1);
	assert_int_equal(fk.nsteer, 0); /* one worker: nobody to tell */

	/* The requester was learnt: no ARP needed to answer it. */
	ip_out(PEER_IP, 0x77);
	assert_int_equal(fk.nsent, 2);
	check_ip_out(&fk.sent[1], peer_mac, PEER_IP, 0x77);
	assert_int_equal(s->st.arp_requests_tx, 0);

	/* A request for someone else: no reply, no entry. */
	static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 0x09};
	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, other_mac, IP(10, 0, 0, 9), zero,
		     IP(10, 0, 0, 7)),
	   0, 0);
	assert_int_equal(fk.nsent, 2);
	ip_out(IP(10, 0, 0, 9), 1);
	assert_int_equal(fk.nsent, 3);
	assert_memory_equal(fk.sent[2].d, bcast, 6); /* a request instead */
	assert_int_equal(fk.sent[2].d[21], ARP_OP_REQUEST);
}

static void test_arp_truncated(void **state)
{
	(void)state;
	uint8_t f[60];
	static const uint8_t zero[6] = {0};

	arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP);
	rx(f, 41, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 1);
	f[ETH_HLEN + 4] = 16; /* hlen */
	rx(f, 60, 0, 0);
	assert_int_equal(s->st.rx_other, 1);
	assert_int_equal(fk.nsent, 0);
}

static void test_gratuitous_arp(void **state)
{
	(void)state;
	static const uint8_t want[42] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
	    0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10,   0,    0,	  1,	0,
	    0,	  0,	0,    0,    0,	  10,	0,    0,    1};

	net_announce(s);
	assert_int_equal(fk.nsent, 1);
	assert_int_equal(fk.sent[0].len, 60);
	assert_memory_equal(fk.sent[0].d, want, 42);
	for (unsigned i = 42; i < 60; i++)
		assert_int_equal(fk.sent[0].d[i], 0);
}

static void test_arp_resolve(void **state)
{
	(void)state;
	uint8_t f[60];

	ip_out(PEER_IP, 0x11);
	ip_out(PEER_IP, 0x22);
	/* Held: only one ARP request on the wire. */
	assert_int_equal(fk.nsent, 1);
	const uint8_t *req = fk.sent[0].d;
	assert_memory_equal(req, bcast, 6);
	const struct arp_hdr *a = (const struct arp_hdr *)(req + ETH_HLEN);
	assert_int_equal(ntohs(a->op), ARP_OP_REQUEST);
	assert_int_equal(ntohl(a->tpa), PEER_IP);
	assert_int_equal(ntohl(a->spa), MY_IP);
	assert_int_equal(s->st.arp_requests_tx, 1);

	/* The reply releases both, in order. */
	rx(f,
	   arp_frame(f, ARP_OP_REPLY, my_mac, peer_mac, PEER_IP, my_mac, MY_IP),
	   0, 0);
	assert_int_equal(fk.nsent, 3);
	check_ip_out(&fk.sent[1], peer_mac, PEER_IP, 0x11);
	check_ip_out(&fk.sent[2], peer_mac, PEER_IP, 0x22);
	/* IP ids increment. */
	uint16_t id1 = fk.sent[1].d[18] << 8 | fk.sent[1].d[19];
	uint16_t id2 = fk.sent[2].d[18] << 8 | fk.sent[2].d[19];
	assert_int_equal((uint16_t)(id1 + 1), id2);
	/* No more retries once resolved. */
	advance(5000000);
	assert_int_equal(fk.nsent, 3);
	assert_int_equal(s->st.arp_unresolved_drops, 0);
}

static void test_arp_gateway(void **state)
{
	(void)state;
	uint8_t f[60];

	ip_out(IP(192, 168, 7, 7), 0x33);
	assert_int_equal(fk.nsent, 1);
	const struct arp_hdr *a =
	    (const struct arp_hdr *)(fk.sent[0].d + ETH_HLEN);
	assert_int_equal(ntohl(a->tpa), GW_IP);
	rx(f, arp_frame(f, ARP_OP_REPLY, my_mac, gw_mac, GW_IP, my_mac, MY_IP),
	   0, 0);
	assert_int_equal(fk.nsent, 2);
	check_ip_out(&fk.sent[1], gw_mac, IP(192, 168, 7, 7), 0x33);
}

static void test_no_route(void **state)
{
	(void)state;
	struct net_conf c;

	net_free(s);
	conf_for(&c, 0, 1);
	c.gateway = 0;
	stack_with(&c);
	ip_out(IP(192, 168, 7, 7), 1);
	assert_int_equal(fk.nsent, 0);
	assert_int_equal(s->st.tx_no_route, 1);
	assert_int_equal(fk.live, 0);
}

static void test_arp_retry_drop(void **state)
{
	(void)state;
	uint32_t dst = IP(10, 0, 0, 3);

	ip_out(dst, 1);
	assert_int_equal(fk.nsent, 1);
	advance(999000);
	assert_int_equal(fk.nsent, 1);
	advance(1000);
	assert_int_equal(fk.nsent, 2); /* second request after 1 s */
	advance(1000000);
	assert_int_equal(fk.nsent, 3); /* third */
	assert_int_equal(s->st.arp_requests_tx, 3);
	assert_int_equal(fk.live, 1); /* still held */
	advance(1000000);
	assert_int_equal(fk.nsent, 3); /* given up: no fourth */
	assert_int_equal(s->st.arp_unresolved_drops, 1);
	assert_int_equal(fk.live, 0);
	for (unsigned i = 0; i < 3; i++) {
		const struct arp_hdr *a =
		    (const struct arp_hdr *)(fk.sent[i].d + ETH_HLEN);

		assert_int_equal(ntohs(a->op), ARP_OP_REQUEST);
		assert_int_equal(ntohl(a->tpa), dst);
	}
	advance(60000000);
	assert_int_equal(fk.nsent, 3);
	/* A later send starts over. */
	ip_out(dst, 2);
	assert_int_equal(fk.nsent, 4);
	assert_int_equal(s->st.arp_requests_tx, 4);
}

static void test_arp_hold_limit(void **state)
{
	(void)state;
	uint8_t f[60];

	for (uint8_t i = 1; i <= 6; i++)
		ip_out(PEER_IP, i);
	assert_int_equal(fk.nsent, 1);
	assert_int_equal(s->st.arp_unresolved_drops, 2);
	rx(f,
	   arp_frame(f, ARP_OP_REPLY, my_mac, peer_mac, PEER_IP, my_mac, MY_IP),
	   0, 0);
	/* The newest four were kept. */
	assert_int_equal(fk.nsent, 5);
	for (unsigned i = 0; i < 4; i++)
		check_ip_out(&fk.sent[1 + i], peer_mac, PEER_IP, 3 + i);
}

static void test_arp_expiry(void **state)
{
	(void)state;
	uint8_t f[60];
	static const uint8_t zero[6] = {0};

	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	assert_int_equal(fk.nsent, 1); /* the reply */
	advance(299000000);
	ip_out(PEER_IP, 1);
	assert_int_equal(fk.nsent, 2); /* fresh: straight out */
	assert_int_equal(s->st.arp_requests_tx, 0);
	advance(2000000);
	/* Past 5 minutes: still sent, and asked again. */
	ip_out(PEER_IP, 2);
	assert_int_equal(fk.nsent, 4);
	check_ip_out(&fk.sent[2], peer_mac, PEER_IP, 2);
	assert_memory_equal(fk.sent[3].d, bcast, 6);
	assert_int_equal(s->st.arp_requests_tx, 1);
	/* Unanswered three times: no longer trusted, frames are held. */
	advance(1000000);
	advance(1000000);
	advance(1000000);
	assert_int_equal(s->st.arp_requests_tx, 3);
	unsigned n = fk.nsent;
	ip_out(PEER_IP, 3);
	assert_int_equal(fk.nsent, n + 1); /* a request, not the frame */
	assert_memory_equal(fk.sent[n].d, bcast, 6);
	assert_int_equal(fk.live, 1);
	/* The answer refreshes it. */
	rx(f,
	   arp_frame(f, ARP_OP_REPLY, my_mac, peer_mac, PEER_IP, my_mac, MY_IP),
	   0, 0);
	assert_int_equal(fk.nsent, n + 2);
	check_ip_out(&fk.sent[n + 1], peer_mac, PEER_IP, 3);
}

/* ---- ICMP ------------------------------------------------------------- */

static void test_icmp_echo(void **state)
{
	(void)state;
	uint8_t l4[8 + 37], f[200];

	l4[0] = ICMP_ECHO_REQUEST;
	l4[1] = 0;
	l4[2] = l4[3] = 0;
	l4[4] = 0xbe; /* id */
	l4[5] = 0xef;
	l4[6] = 0x00; /* seq */
	l4[7] = 0x07;
	for (unsigned i = 8; i < sizeof(l4); i++)
		l4[i] = (uint8_t)(i * 7);
	uint16_t c = ~ref_sum(l4, sizeof(l4), 0); /* odd length */
	l4[2] = c >> 8;
	l4[3] = c & 0xff;
	size_t n = ip_frame(f, PEER_IP, MY_IP, IP4_PROTO_ICMP, l4, sizeof(l4));
	memset(f + n, 0, 10); /* Ethernet padding after the packet */
	rx(f, n + 10, 0, 0);

	assert_int_equal(s->st.icmp_echo, 1);
	assert_int_equal(fk.nsent, 1);
	const struct frame *r = &fk.sent[0];
	assert_int_equal(r->len, n);
	assert_memory_equal(r->d, peer_mac, 6);
	assert_memory_equal(r->d + 6, my_mac, 6);
	assert_int_equal(r->d[12] << 8 | r->d[13], ETH_TYPE_IPV4);
	const uint8_t *ip = r->d + ETH_HLEN;
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[2] << 8 | ip[3], IP4_HLEN + sizeof(l4));
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], IP4_PROTO_ICMP);
	assert_int_equal(ref_sum(ip, IP4_HLEN, 0), 0xffff);
	assert_memory_equal(ip + 12, f + ETH_HLEN + 16, 4); /* swapped */
	assert_memory_equal(ip + 16, f + ETH_HLEN + 12, 4);
	const uint8_t *ic = ip + IP4_HLEN;
	assert_int_equal(ic[0], ICMP_ECHO_REPLY);
	assert_int_equal(ic[1], 0);
	assert_int_equal(ref_sum(ic, sizeof(l4), 0), 0xffff);
	assert_memory_equal(ic + 4, l4 + 4, sizeof(l4) - 4);

	/* A corrupt request is not answered; nor is an echo reply. */
	f[n - 1] ^= 0x40;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_csum, 1);
	f[n - 1] ^= 0x40;
	f[ETH_HLEN + IP4_HLEN] = ICMP_ECHO_REPLY;
	f[ETH_HLEN + IP4_HLEN + 2] += 8; /* keep the checksum right */
	rx(f, n, 0, 0);
	assert_int_equal(fk.nsent, 1);
	assert_int_equal(s->st.icmp_echo, 1);
}

/* ---- IPv4 input checks ------------------------------------------------ */

static size_t good_syn(uint8_t *f)
{
	return syn_frame(f, PEER_IP, 40000, MY_IP, 6379);
}

static void ip_fix_csum(uint8_t *f)
{
	uint8_t *ip = f + ETH_HLEN;
	size_t ihl = (ip[0] & 0xf) * 4;

	ip[10] = ip[11] = 0;
	uint16_t c = ~ref_sum(ip, ihl, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
}

static void test_ipv4_drops(void **state)
{
	(void)state;
	uint8_t f[200];
	size_t n;

	/* Bad header checksum. */
	n = good_syn(f);
	f[ETH_HLEN + 10] ^= 1;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_csum, 1);
	/* ... unless the NIC vouches for it, then it is not checked (the
	 * TCP checksum still is, and is fine: nothing else counts). */
	n = good_syn(f);
	f[ETH_HLEN + 10] ^= 1;
	f[ETH_HLEN + 9] = 99; /* unknown protocol: stops before TCP */
	rx(f, n, NET_RX_IP_CSUM_GOOD, 0);
	assert_int_equal(s->st.rx_bad_csum, 1);
	assert_int_equal(s->st.rx_other, 1);
	n = good_syn(f);
	rx(f, n, NET_RX_IP_CSUM_BAD, 0);
	assert_int_equal(s->st.rx_bad_csum, 2);

	/* Total length beyond the frame. */
	n = good_syn(f);
	f[ETH_HLEN + 3] += 1;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 1);
	/* Total length below the header. */
	n = good_syn(f);
	f[ETH_HLEN + 2] = 0;
	f[ETH_HLEN + 3] = 19;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 2);
	/* Truncated frames. */
	n = good_syn(f);
	rx(f, ETH_HLEN + 19, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 3);
	rx(f, 10, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 4);
	rx(f, n - 1, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 5);
	/* ihl < 5, version 6. */
	n = good_syn(f);
	f[ETH_HLEN] = 0x44;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 6);
	n = good_syn(f);
	f[ETH_HLEN] = 0x65;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 7);
	/* TCP header cut short by the IP length. */
	uint8_t short_tcp[12] = {0};
	n = ip_frame(f, PEER_IP, MY_IP, IP4_PROTO_TCP, short_tcp, 12);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 8);

	/* Fragments: more-fragments, or an offset. */
	n = good_syn(f);
	f[ETH_HLEN + 6] = 0x20;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	n = good_syn(f);
	f[ETH_HLEN + 6] = 0x00;
	f[ETH_HLEN + 7] = 0x10;
	ip_fix_csum(f);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_frag_dropped, 2);

	/* Not for us: another IP, another MAC. */
	n = syn_frame(f, PEER_IP, 40000, IP(10, 0, 0, 99), 6379);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_not_mine, 1);
	n = good_syn(f);
	f[5] = 0x77;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_not_mine, 2);

	/* A TCP checksum error, in software and from the NIC. */
	n = good_syn(f);
	f[n - 1] ^= 0x10;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_bad_csum, 3);
	n = good_syn(f);
	rx(f, n, NET_RX_L4_CSUM_BAD, 0);
	assert_int_equal(s->st.rx_bad_csum, 4);

	/* Martian source, VLAN tag, our own frame echoed. */
	n = syn_frame(f, IP(127, 0, 0, 1), 40000, MY_IP, 6379);
	rx(f, n, 0, 0);
	n = syn_frame(f, IP(10, 0, 0, 255), 40000, MY_IP, 6379);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_other, 3);
	n = good_syn(f);
	f[12] = 0x81;
	f[13] = 0x00;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_other, 4);
	n = good_syn(f);
	memcpy(f + 6, my_mac, 6);
	rx(f, n, 0, 0);

	assert_int_equal(fk.nsent, 0);
	assert_int_equal(s->st.rx_frames, 21);
	assert_int_equal(fk.live, 0);
	assert_int_equal(s->st.tcp_in_segs, 0);
}

/* ---- checksums -------------------------------------------------------- */

static void test_csum_vectors(void **state)
{
	(void)state;
	/* RFC 1071 section 3's example. */
	static const uint8_t ex[8] = {0x00, 0x01, 0xf2, 0x03,
				      0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(ntohs(net_csum_fold(net_csum_add(0, ex, 8))), 0xddf2);
	/* Odd length: the last byte is a high byte. */
	static const uint8_t odd[3] = {0x12, 0x34, 0x56};
	assert_int_equal(ntohs(net_csum_fold(net_csum_add(0, odd, 3))),
			 0x1234 + 0x5600);
	assert_int_equal(net_csum_add(0, odd, 0), 0);

	/* Every length and alignment against the reference. */
	static uint8_t buf[1600 + 8];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 3) * 17);
	for (unsigned off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 1600; len += (len < 80 ? 1 : 37)) {
			uint16_t got = ntohs(
			    net_csum_fold(net_csum_add(0, buf + off, len)));
			assert_int_equal(got, ref_sum(buf + off, len, 0));
		}
	}
	/* All ones: the carries. */
	memset(buf, 0xff, 1600);
	assert_int_equal(net_csum_fold(net_csum_add(0, buf, 1600)), 0xffff);
	/* Chaining: an even head, then an odd tail. */
	for (unsigned i = 0; i < 301; i++)
		buf[i] = (uint8_t)(i * 29 + 3);
	uint32_t part = net_csum_add(0, buf, 100);
	assert_int_equal(
	    ntohs(net_csum_fold(net_csum_add(part, buf + 100, 201))),
	    ref_sum(buf, 301, 0));
	/* The pseudo header. */
	uint32_t src = IP(192, 168, 1, 10), dst = IP(10, 200, 3, 255);
	uint16_t want = ref_sum(NULL, 0, ref_pseudo(src, dst, 6, 1234));
	assert_int_equal(
	    ntohs(net_csum_fold(net_csum_pseudo(src, dst, 6, 1234))), want);
	/* And a whole segment verified through it. */
	uint8_t f[100];
	size_t n = syn_frame(f, src, 1, dst, 2);
	assert_int_equal(
	    net_csum_fold(net_csum_add(net_csum_pseudo(src, dst, 6, TCP_HLEN),
				       f + n - TCP_HLEN, TCP_HLEN)),
	    0xffff);
}

/* ---- Toeplitz and steering -------------------------------------------- */

/* Microsoft's RSS verification suite key and TCP/IPv4 vectors. */
static const uint8_t ms_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

static const struct {
	uint32_t dst, src;
	uint16_t dport, sport;
	uint32_t hash;
} ms_vec[] = {
    {IP(161, 142, 100, 80), IP(66, 9, 149, 187), 1766, 2794, 0x51ccc178},
    {IP(65, 69, 140, 83), IP(199, 92, 111, 2), 4739, 14230, 0xc626b0ea},
    {IP(12, 22, 207, 184), IP(24, 19, 198, 95), 38024, 12898, 0x5c2b394a},
    {IP(209, 142, 163, 6), IP(38, 27, 205, 30), 2217, 48228, 0xafc7327f},
    {IP(202, 188, 127, 2), IP(153, 39, 163, 191), 1303, 44251, 0x10e828a2},
};

static void test_toeplitz(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(ms_vec) / sizeof(ms_vec[0]); i++)
		assert_int_equal(net_rss_hash(ms_key, ms_vec[i].src,
					      ms_vec[i].dst, ms_vec[i].sport,
					      ms_vec[i].dport),
				 ms_vec[i].hash);
}

static void test_flow_worker_rss(void **state)
{
	(void)state;
	struct net_conf c;

	net_free(s);
	conf_for(&c, 1, 4);
	c.rss = true;
	memcpy(c.rss_key, ms_key, 40);
	c.reta_size = 128;
	for (unsigned i = 0; i < 128; i++)
		c.reta[i] = (uint16_t)((i * 3) % 4);
	stack_with(&c);
	for (unsigned i = 0; i < 5; i++) {
		unsigned want = c.reta[ms_vec[i].hash % 128];

		/* peer = the packet's source, local = its destination */
		assert_int_equal(net_flow_worker(s, ms_vec[i].src,
						 ms_vec[i].sport, ms_vec[i].dst,
						 ms_vec[i].dport, 0, 0),
				 want);
		/* The NIC's hash is taken as is. */
		assert_int_equal(net_flow_worker(s, ms_vec[i].src,
						 ms_vec[i].sport, ms_vec[i].dst,
						 ms_vec[i].dport, NET_RX_HASH,
						 5),
				 c.reta[5]);
	}
}

/* A client port whose flow belongs to worker w. */
static uint16_t port_for(unsigned w)
{
	for (uint16_t p = 30000; p < 40000; p++)
		if (net_flow_worker(s, PEER_IP, p, MY_IP, 6379, 0, 0) == w)
			return p;
	fail();
	return 0;
}

static void test_steering(void **state)
{
	(void)state;
	struct net_conf c;
	uint8_t f[100];
	static const uint8_t zero[6] = {0};

	net_free(s);
	conf_for(&c, 0, 2);
	stack_with(&c);

	/* Software hash: both workers get flows, each flow one worker. */
	unsigned hits[2] = {0};
	for (uint16_t p = 1000; p < 3000; p++) {
		unsigned w = net_flow_worker(s, PEER_IP, p, MY_IP, 6379, 0, 0);

		assert_true(w < 2);
		hits[w]++;
		assert_int_equal(
		    w, net_flow_worker(s, PEER_IP, p, MY_IP, 6379, 0, 0));
	}
	assert_true(hits[0] > 800 && hits[1] > 800);

	/* A foreign flow's segment goes to its owner, unchecked. */
	size_t n = syn_frame(f, PEER_IP, port_for(1), MY_IP, 6379);
	rx(f, n, 0, 0);
	assert_int_equal(fk.nsteer, 1);
	assert_int_equal(fk.steer[0].to, 1);
	assert_int_equal(fk.steer[0].len, n);
	assert_memory_equal(fk.steer[0].d, f, n);
	assert_int_equal(s->st.rx_steered_out, 1);
	assert_int_equal(fk.live, 0);
	/* The ring is full: dropped and counted. */
	fk.steer_ok = false;
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_steer_drops, 1);
	assert_int_equal(fk.live, 0);
	fk.steer_ok = true;
	/* Already steered here: kept (a corrupt checksum shows it reached
	 * the TCP checks instead of being handed on again). */
	f[n - 1] ^= 1;
	rx(f, n, NET_RX_STEERED, 0);
	assert_int_equal(fk.nsteer, 1);
	assert_int_equal(s->st.rx_bad_csum, 1);

	/* ARP: answered here and copied to every worker. */
	n = arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP);
	rx(f, n, 0, 0);
	assert_int_equal(fk.nsteer, 2);
	assert_int_equal(fk.steer[1].to, NET_STEER_ALL);
	assert_memory_equal(fk.steer[1].d, f, n);
	assert_int_equal(fk.nsent, 1);
	assert_int_equal(s->st.arp_replies_tx, 1);
	assert_int_equal(fk.live, 0);
}

/* The other side: a worker receiving ARP copies learns, never answers. */
static void test_steered_arp(void **state)
{
	(void)state;
	struct net_conf c;
	uint8_t f[100];
	static const uint8_t zero[6] = {0};

	net_free(s);
	conf_for(&c, 1, 2);
	stack_with(&c);
	size_t n =
	    arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP);
	rx(f, n, NET_RX_STEERED, 0);
	assert_int_equal(fk.nsteer, 0);
	assert_int_equal(fk.nsent, 0);
	assert_int_equal(s->st.arp_replies_tx, 0);
	ip_out(PEER_IP, 9);
	assert_int_equal(fk.nsent, 1);
	check_ip_out(&fk.sent[0], peer_mac, PEER_IP, 9);
}

static void test_tx_offload_flags(void **state)
{
	(void)state;
	struct net_conf c;
	uint8_t f[60];
	static const uint8_t zero[6] = {0};

	net_free(s);
	conf_for(&c, 0, 1);
	c.tx_offloads = NET_TX_IP_CSUM | NET_TX_TCP_CSUM;
	stack_with(&c);
	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	ip_out(PEER_IP, 5);
	assert_int_equal(fk.nsent, 2);
	const struct frame *o = &fk.sent[1];
	assert_int_equal(o->flags, NET_TX_IP_CSUM | NET_TX_TCP_CSUM);
	const uint8_t *ip = o->d + ETH_HLEN;
	assert_int_equal(ip[10] | ip[11], 0); /* left to the NIC */
	/* The TCP field holds the pseudo-header sum, not complemented. */
	uint16_t ps = ref_sum(NULL, 0, ref_pseudo(MY_IP, PEER_IP, 6, 30));
	assert_int_equal(ip[IP4_HLEN + 16] << 8 | ip[IP4_HLEN + 17], ps);
}

static void test_next_timer(void **state)
{
	(void)state;
	assert_int_equal(net_next_timer_us(s), UINT64_MAX);
	ip_out(PEER_IP, 1); /* arms the ARP retry */
	uint64_t t = net_next_timer_us(s);
	assert_true(t > 0 && t <= 1000000);
	for (unsigned i = 0; i < 5; i++)
		advance(1000000);
	assert_int_equal(net_next_timer_us(s), UINT64_MAX);
}

/* The layers together with TCP: a SYN from a known peer is answered by a
 * SYN-ACK whose headers and checksums this layer filled. */
static void test_syn_reaches_tcp(void **state)
{
	(void)state;
	uint8_t f[100];
	static const uint8_t zero[6] = {0};

	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	assert_int_equal(fk.nsent, 1);
	size_t n = good_syn(f);
	rx(f, n, 0, 0);
	net_flush(s);
	assert_int_equal(s->st.rx_bad_csum, 0);
	assert_int_equal(fk.nsent, 2);
	const struct frame *o = &fk.sent[1];
	const uint8_t *ip = o->d + ETH_HLEN;
	assert_memory_equal(o->d, peer_mac, 6);
	assert_int_equal(ip[9], IP4_PROTO_TCP);
	assert_int_equal(ref_sum(ip, IP4_HLEN, 0), 0xffff);
	size_t l4 = (ip[2] << 8 | ip[3]) - IP4_HLEN;
	assert_int_equal(o->len, ETH_HLEN + IP4_HLEN + l4);
	assert_int_equal(
	    ref_sum(ip + IP4_HLEN, l4, ref_pseudo(MY_IP, PEER_IP, 6, l4)),
	    0xffff);
	const uint8_t *th = ip + IP4_HLEN;
	assert_int_equal(th[0] << 8 | th[1], 6379);
	assert_int_equal(th[2] << 8 | th[3], 40000);
	assert_int_equal(th[13], TCP_SYN | TCP_ACK);
}

/* ---- frames of a kernel peer with its offloads on (issue 11) ------------ */

/* A TCP segment of seglen bytes (header + payload of 'p's) from the peer,
 * its checksum field as Linux leaves it for CHECKSUM_PARTIAL: the folded
 * pseudo-header sum, not complemented, nothing of the data. */
static size_t partial_frame(uint8_t *f, uint16_t dport, uint8_t flags,
			    size_t seglen)
{
	uint8_t th[3000] = {0};

	assert_true(seglen >= TCP_HLEN && seglen <= sizeof(th));
	th[0] = 40000 >> 8;
	th[1] = 40000 & 0xff;
	th[2] = dport >> 8;
	th[3] = dport & 0xff;
	th[4] = 0x11; /* seq 0x11000000 */
	th[12] = 5 << 4;
	th[13] = flags;
	th[14] = 0xff;
	th[15] = 0xff;
	memset(th + TCP_HLEN, 'p', seglen - TCP_HLEN);
	uint16_t c =
	    ref_sum(NULL, 0, ref_pseudo(PEER_IP, MY_IP, IP4_PROTO_TCP, seglen));
	th[16] = c >> 8;
	th[17] = c & 0xff;
	return ip_frame(f, PEER_IP, MY_IP, IP4_PROTO_TCP, th, seglen);
}

static void set_partial(bool on)
{
	struct net_conf c;

	net_free(s);
	conf_for(&c, 0, 1);
	c.rx_csum_partial = on;
	stack_with(&c);
}

/* The verdicts, on their own: what is summed, what is only recognised. */
static void test_csum_partial_verdict(void **state)
{
	(void)state;
	uint8_t f[3100];
	uint8_t *seg = f + ETH_HLEN + IP4_HLEN;

	/* A full checksum verifies with or without the rule. */
	good_syn(f);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, TCP_HLEN, TCP_HLEN, false),
	    NET_CSUM_OK);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, TCP_HLEN, TCP_HLEN, true),
	    NET_CSUM_OK);
	/* The pseudo-header sum only: partial where allowed, else bad. */
	partial_frame(f, 6379, TCP_ACK, 100);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 100, 100, true),
	    NET_CSUM_PARTIAL);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 100, 100, false),
	    NET_CSUM_BAD);
	/* The mark must be the sum of these addresses and this length. */
	assert_int_equal(net_tcp_csum_check(PEER_IP, MY_IP, seg, 99, 99, true),
			 NET_CSUM_BAD);
	assert_int_equal(net_tcp_csum_check(GW_IP, MY_IP, seg, 100, 100, true),
			 NET_CSUM_BAD);
	/* Complemented (a finished sum of nothing) is not the mark. */
	uint8_t save16 = seg[16], save17 = seg[17];
	seg[16] = (uint8_t)~save16;
	seg[17] = (uint8_t)~save17;
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 100, 100, true),
	    NET_CSUM_BAD);
	seg[16] = save16;
	seg[17] = save17;
	/* Cut: 1500 of 3000 bytes.  The mark of the full length passes, a
	 * sum that would verify the part does not: a cut frame is never
	 * summed. */
	partial_frame(f, 6379, TCP_ACK, 3000);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 1500, 3000, true),
	    NET_CSUM_PARTIAL);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 1500, 3000, false),
	    NET_CSUM_BAD);
	seg[16] = seg[17] = 0;
	uint16_t c = ~ref_sum(seg, 1500,
			      ref_pseudo(PEER_IP, MY_IP, IP4_PROTO_TCP, 1500));
	seg[16] = c >> 8;
	seg[17] = c & 0xff;
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 1500, 1500, true),
	    NET_CSUM_OK);
	assert_int_equal(
	    net_tcp_csum_check(PEER_IP, MY_IP, seg, 1500, 3000, true),
	    NET_CSUM_BAD);
}

/* Issue 11: a SYN from a veth peer with its default offloads opens a
 * connection on a virtual port, and stays a bad checksum on a NIC. */
static void test_issue11_partial_syn(void **state)
{
	(void)state;
	uint8_t f[200];
	size_t n;

	n = partial_frame(f, 6379, TCP_SYN, TCP_HLEN);
	rx(f, n, 0, 0); /* a PCI NIC: the default */
	net_flush(s);
	assert_int_equal(s->st.rx_bad_csum, 1);
	assert_int_equal(s->st.rx_csum_partial, 0);
	assert_int_equal(s->st.tcp_in_segs, 0);

	set_partial(true);
	rx(f, n, 0, 0);
	net_flush(s);
	assert_int_equal(s->st.rx_bad_csum, 0);
	assert_int_equal(s->st.rx_csum_partial, 1);
	assert_int_equal(s->st.tcp_in_segs, 1);
	assert_int_equal(s->st.tcp_in_state[1], 1); /* SYN_RCVD */
	/* The port's own verdict still wins: flagged bad is bad. */
	rx(f, n, NET_RX_L4_CSUM_BAD, 0);
	assert_int_equal(s->st.rx_bad_csum, 1);
	/* A full checksum is not counted as partial. */
	n = syn_frame(f, PEER_IP, 40001, MY_IP, 6379);
	rx(f, n, 0, 0);
	assert_int_equal(s->st.rx_csum_partial, 1);
	assert_int_equal(s->st.tcp_in_segs, 2);
}

/* A TSO/GSO frame cut by the port: with the mark on a virtual port, TCP
 * gets the part that arrived, without the FIN that follows the rest.
 * Seen from outside through the reset a closed port answers with: it
 * acknowledges exactly the bytes kept. */
static void test_gso_cut_kept(void **state)
{
	(void)state;
	static const uint8_t zero[6] = {0};
	uint8_t f[3100];
	size_t cut = ETH_HLEN + IP4_HLEN + 1480; /* what af_packet kept */

	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	fk.nsent = 0;
	partial_frame(f, 7000, TCP_FIN | TCP_PSH, 3000);
	rx(f, cut, 0, 0); /* a NIC: too short for its IP length */
	assert_int_equal(s->st.rx_bad_len, 1);
	assert_int_equal(s->st.tcp_in_segs, 0);

	set_partial(true);
	rx(f,
	   arp_frame(f, ARP_OP_REQUEST, bcast, peer_mac, PEER_IP, zero, MY_IP),
	   0, 0);
	fk.nsent = 0;
	partial_frame(f, 7000, TCP_FIN | TCP_PSH, 3000);
	rx(f, cut, 0, 0);
	net_flush(s);
	assert_int_equal(s->st.rx_bad_len, 0);
	assert_int_equal(s->st.rx_csum_partial, 1);
	assert_int_equal(s->st.rx_gso_cut, 1);
	assert_int_equal(s->st.tcp_in_segs, 1);
	assert_int_equal(fk.nsent, 1);
	const uint8_t *th = fk.sent[0].d + ETH_HLEN + IP4_HLEN;
	uint32_t ack =
	    (uint32_t)th[8] << 24 | th[9] << 16 | th[10] << 8 | th[11];
	assert_int_equal(th[13], TCP_RST | TCP_ACK);
	assert_int_equal(ack, 0x11000000u + 1480 - TCP_HLEN);

	/* Cut without the mark (a jumbo frame with a real sum), or not TCP:
	 * too short, as before. */
	partial_frame(f, 7000, TCP_ACK, 3000);
	f[ETH_HLEN + IP4_HLEN + 16] ^= 0x40;
	rx(f, cut, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 1);
	partial_frame(f, 7000, TCP_ACK, 3000);
	f[ETH_HLEN + 9] = IP4_PROTO_ICMP;
	ip_fix_csum(f);
	rx(f, cut, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 2);
	/* Not even the TCP header arrived. */
	partial_frame(f, 7000, TCP_ACK, 3000);
	rx(f, ETH_HLEN + IP4_HLEN + 10, 0, 0);
	assert_int_equal(s->st.rx_bad_len, 3);
	assert_int_equal(s->st.tcp_in_segs, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_arp_reply_exact),
	    T(test_arp_truncated),
	    T(test_gratuitous_arp),
	    T(test_arp_resolve),
	    T(test_arp_gateway),
	    T(test_no_route),
	    T(test_arp_retry_drop),
	    T(test_arp_hold_limit),
	    T(test_arp_expiry),
	    T(test_icmp_echo),
	    T(test_ipv4_drops),
	    T(test_csum_vectors),
	    T(test_toeplitz),
	    T(test_flow_worker_rss),
	    T(test_steering),
	    T(test_steered_arp),
	    T(test_tx_offload_flags),
	    T(test_next_timer),
	    T(test_syn_reaches_tcp),
	    T(test_csum_partial_verdict),
	    T(test_issue11_partial_syn),
	    T(test_gso_cut_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
