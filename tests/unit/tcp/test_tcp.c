/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP state machine tests in the style of packetdrill: a real net_stack
 * (net_new) with a fake driver that captures every frame it sends, a fake
 * application, and a scripted peer.  Each test injects complete Ethernet +
 * IPv4 + TCP frames with correct checksums (inject / peer) and checks the
 * segments the stack answers with (expect: flags, seq, ack, window,
 * options), moving the clock with net_set_time + net_timers.  The peer's
 * MAC is taught first by an ARP request, as on a wire.
 *
 * Buffers are counted: every test ends with all of them freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_pvt.h"

/* ---- fake driver ----------------------------------------------------------
 */

#define FB_CAP 2048
#define MAXCAP 512

struct net_buf {
	uint8_t d[FB_CAP];
};

struct topt {
	bool mss_on, ws_on, ts_on, sack;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	unsigned nsb;	   /* SACK blocks */
	uint32_t sb[4][2]; /* start, end */
};

/* A captured TCP segment from the stack. */
struct cap {
	uint16_t dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	struct topt o;
	size_t len;
	uint8_t data[FB_CAP];
};

static const uint8_t my_mac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 2};
#define MY_IP 0x0a000001u   /* 10.0.0.1 */
#define PEER_IP 0x0a000002u /* 10.0.0.2 */
#define PORT 6379
#define PPORT 40000
#define PEER_ISS 1000000u

static struct {
	long live;		 /* buffers not freed */
	struct cap caps[MAXCAP]; /* TCP segments sent, a queue */
	unsigned chead, ctail;
	unsigned narp;
	bool alloc_fail;
	const uint8_t *dst_mac; /* where TCP frames must go (peer_mac) */
} fk;

static struct net_buf *fk_alloc(void *drv, uint8_t **data, size_t *cap)
{
	if (fk.alloc_fail)
		return NULL;
	struct net_buf *b = malloc(sizeof(*b));

	assert_non_null(b);
	memset(b->d, 0xa5, FB_CAP);
	fk.live++;
	*data = b->d;
	*cap = FB_CAP;
	return b;
}

static void fk_free(void *drv, struct net_buf *b)
{
	assert_non_null(b);
	fk.live--;
	free(b);
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void parse_topts(struct topt *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] == 0)
			break;
		if (p[i] == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < n && p[i + 1] >= 2 && i + p[i + 1] <= n);
		if (p[i] == 2) {
			o->mss_on = true;
			o->mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
		} else if (p[i] == 3) {
			o->ws_on = true;
			o->ws = p[i + 2];
		} else if (p[i] == 4) {
			o->sack = true;
		} else if (p[i] == 5) {
			o->nsb = (p[i + 1] - 2u) / 8u;
			assert_int_equal(p[i + 1], 2 + 8 * o->nsb);
			for (unsigned j = 0; j < o->nsb; j++) {
				o->sb[j][0] = rd32(p + i + 2 + 8 * j);
				o->sb[j][1] = rd32(p + i + 6 + 8 * j);
			}
		} else if (p[i] == 8) {
			o->ts_on = true;
			o->tsval = rd32(p + i + 2);
			o->tsecr = rd32(p + i + 6);
		}
		i += p[i + 1];
	}
}

/* Every frame the stack sends must be a valid Ethernet/IPv4/TCP frame
 * with good checksums (or an ARP frame). */
static void fk_send(void *drv, struct net_buf *b, size_t len, unsigned flags)
{
	const uint8_t *f = b->d;

	assert_true(len >= 14);
	if (f[12] == 0x08 && f[13] == 0x06) {
		fk.narp++;
		fk_free(drv, b);
		return;
	}
	assert_memory_equal(f, fk.dst_mac, 6);
	assert_memory_equal(f + 6, my_mac, 6);
	const uint8_t *ip = f + 14, *th = ip + 20;
	size_t tot = (size_t)ip[2] << 8 | ip[3];

	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[9], 6);
	assert_int_equal(len, 14 + tot);
	assert_int_equal(csum(0, ip, 20), 0xffff);
	uint32_t ps = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
		      (MY_IP & 0xffff) + 6 + (uint32_t)(tot - 20);

	assert_int_equal(csum(ps, th, tot - 20), 0xffff);
	assert_true(fk.ctail - fk.chead < MAXCAP);
	struct cap *c = &fk.caps[fk.ctail++ % MAXCAP];
	size_t hl = (size_t)(th[12] >> 4) * 4;

	memset(c, 0, sizeof(*c));
	assert_int_equal(th[0] << 8 | th[1], PORT);
	c->dport = (uint16_t)(th[2] << 8 | th[3]);
	c->seq = rd32(th + 4);
	c->ack = rd32(th + 8);
	c->flags = th[13];
	c->win = (uint16_t)(th[14] << 8 | th[15]);
	parse_topts(&c->o, th + 20, hl - 20);
	c->len = tot - 20 - hl;
	memcpy(c->data, th + hl, c->len);
	fk_free(drv, b);
}

static const struct net_io fk_io = {NULL, fk_alloc, fk_send, fk_free, NULL};

/* ---- fake application ------------------------------------------------------
 */

struct app {
	struct tcb *t;
	uint8_t rx[1 << 16];
	size_t nrx;
	size_t pending;
	int eof, writable, closed, err;
	int readable;	   /* readable() upcalls */
	int readable_at;   /* rd_seq at the last one */
	size_t nrx_eof;	   /* nrx when eof() came */
	const char *reply; /* sent from readable() */
	bool close_in_readable, close_on_eof, abort_in_recv;
	bool close_other; /* readable() closes apps[1] (apps[0] only) */
};

static struct app apps[4];
static unsigned napps;
static int rd_seq; /* readable() upcalls, all apps */
static bool refuse;

static void *app_accept(void *arg, struct tcb *t, uint32_t pip, uint16_t pport,
			uint32_t lip, uint16_t lport)
{
	assert_int_equal(pip, PEER_IP);
	assert_int_equal(lip, MY_IP);
	assert_int_equal(lport, PORT);
	if (refuse || napps == 4)
		return NULL;
	struct app *a = &apps[napps++];

	a->t = t;
	return a;
}

static void app_recv(void *p, const uint8_t *d, size_t n)
{
	struct app *a = p;

	assert_false(a->closed);
	assert_true(a->nrx + n <= sizeof(a->rx));
	memcpy(a->rx + a->nrx, d, n);
	a->nrx += n;
	assert_int_equal(a->eof, 0);
	if (a->abort_in_recv)
		net_tcp_abort(a->t);
}

static void app_readable(void *p)
{
	struct app *a = p;

	assert_false(a->closed);
	a->readable++;
	a->readable_at = ++rd_seq;
	if (a->reply)
		assert_int_equal(net_tcp_send(a->t, a->reply, strlen(a->reply)),
				 strlen(a->reply));
	if (a->close_in_readable)
		net_tcp_close(a->t);
	if (a->close_other && apps[1].t) {
		net_tcp_close(apps[1].t);
		apps[1].t = NULL;
	}
}

static size_t app_pending(void *p)
{
	return ((struct app *)p)->pending;
}

static void app_writable(void *p)
{
	((struct app *)p)->writable++;
}

static void app_eof(void *p)
{
	struct app *a = p;

	a->eof++;
	a->nrx_eof = a->nrx;
	if (a->close_on_eof)
		net_tcp_close(a->t);
}

static void app_closed(void *p, int err)
{
	struct app *a = p;

	a->closed++;
	a->err = err;
}

static const struct net_app_ops app_ops = {
    .accept = app_accept,
    .recv = app_recv,
    .readable = app_readable,
    .pending = app_pending,
    .writable = app_writable,
    .eof = app_eof,
    .closed = app_closed,
};

/* ---- harness ---------------------------------------------------------------
 */

static struct {
	struct net_stack *s;
	struct net_conf conf;
	uint64_t now;
	/* the peer's view of the connection */
	uint32_t pseq; /* our next sequence number */
	uint32_t sseq; /* the server's next (what we ACK) */
	uint32_t siss;
	uint16_t pwin;	 /* the window we advertise (raw) */
	bool ts;	 /* timestamps on the connection */
	uint32_t ptsval; /* our clock */
	uint32_t stsval; /* last TSval seen from the server */
	uint16_t sport;
	bool sack;	   /* the peer offers SACK in its SYN */
	unsigned nsb;	   /* SACK blocks on the peer's next segment */
	uint32_t sb[4][2]; /* (peer_rx clears them) */
} H;

#define ST (H.s->st)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void rx_frame(const uint8_t *f, size_t len)
{
	struct net_buf *b = malloc(sizeof(*b));

	assert_non_null(b);
	fk.live++;
	memcpy(b->d, f, len);
	net_rx(H.s, b, b->d, len, 0, 0);
}

/* A segment from the peer (port sport) to the stack; no flush. */
static void rx_seg(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
		   uint16_t win, const struct topt *o, const void *data,
		   size_t len)
{
	uint8_t f[FB_CAP] = {0}, *ip = f + 14, *th = ip + 20;
	size_t ol = 0;

	memcpy(f, my_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0800);
	if (o && o->mss_on) {
		th[20 + ol] = 2;
		th[21 + ol] = 4;
		put16(th + 22 + ol, o->mss);
		ol += 4;
	}
	if (o && o->sack) {
		th[20 + ol] = 1;
		th[21 + ol] = 1;
		th[22 + ol] = 4;
		th[23 + ol] = 2;
		ol += 4;
	}
	if (o && o->ts_on) {
		th[20 + ol] = 1;
		th[21 + ol] = 1;
		th[22 + ol] = 8;
		th[23 + ol] = 10;
		put32(th + 24 + ol, o->tsval);
		put32(th + 28 + ol, o->tsecr);
		ol += 12;
	}
	if (o && o->ws_on) {
		th[20 + ol] = 1;
		th[21 + ol] = 3;
		th[22 + ol] = 3;
		th[23 + ol] = o->ws;
		ol += 4;
	}
	if (o && o->nsb) {
		th[20 + ol] = 1;
		th[21 + ol] = 1;
		th[22 + ol] = 5;
		th[23 + ol] = (uint8_t)(2 + 8 * o->nsb);
		for (unsigned j = 0; j < o->nsb; j++) {
			put32(th + 24 + ol + 8 * j, o->sb[j][0]);
			put32(th + 28 + ol + 8 * j, o->sb[j][1]);
		}
		ol += 4 + 8 * o->nsb;
	}
	size_t tl = 20 + ol + len;

	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + tl));
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, PEER_IP);
	put32(ip + 16, MY_IP);
	put16(ip + 10, (uint16_t)~csum(0, ip, 20));
	put16(th, sport);
	put16(th + 2, PORT);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)(((20 + ol) / 4) << 4);
	th[13] = flags;
	put16(th + 14, win);
	if (len)
		memcpy(th + 20 + ol, data, len);
	uint32_t ps = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
		      (MY_IP & 0xffff) + 6 + (uint32_t)tl;

	put16(th + 16, (uint16_t)~csum(ps, th, tl));
	rx_frame(f, 14 + 20 + tl);
}

/* inject: one received frame, then the end of the turn (flush). */
static void inject(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		   const struct topt *o, const void *data, size_t len)
{
	rx_seg(H.sport, flags, seq, ack, win, o, data, len);
	net_flush(H.s);
}

/* The peer's next segment on the connection: fields from H. */
static void peer_rx(uint8_t flags, const void *data, size_t len)
{
	struct topt o = {.ts_on = H.ts, .tsval = ++H.ptsval, .tsecr = H.stsval};

	o.nsb = H.nsb;
	memcpy(o.sb, H.sb, sizeof(o.sb));
	H.nsb = 0;
	rx_seg(H.sport, flags, H.pseq, H.sseq, H.pwin, &o, data, len);
	H.pseq += (uint32_t)len + !!(flags & (TCP_SYN | TCP_FIN));
}

static void peer(uint8_t flags, const void *data, size_t len)
{
	peer_rx(flags, data, len);
	net_flush(H.s);
}

static void advance_ms(uint64_t ms)
{
	H.now += ms * 1000;
	net_set_time(H.s, H.now);
	net_timers(H.s);
	net_flush(H.s);
}

static unsigned ncaps(void)
{
	return fk.ctail - fk.chead;
}

static struct cap *next_seg(void)
{
	assert_true(ncaps() > 0);
	struct cap *c = &fk.caps[fk.chead++ % MAXCAP];

	if (c->o.ts_on)
		H.stsval = c->o.tsval;
	return c;
}

/* The next segment the stack sent must have these flags, seq and ack. */
static struct cap *expect_seg(uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct cap *c = next_seg();

	if (c->flags != flags || c->seq != seq || c->ack != ack)
		fail_msg("segment: flags %#x seq %u ack %u len %zu, expected "
			 "flags %#x seq %u ack %u",
			 c->flags, c->seq, c->ack, c->len, flags, seq, ack);
	return c;
}

static void expect_none(void)
{
	if (ncaps()) {
		struct cap *c = &fk.caps[fk.chead % MAXCAP];

		fail_msg("unexpected segment: flags %#x seq %u ack %u len %zu",
			 c->flags, c->seq, c->ack, c->len);
	}
}

static void drain(void)
{
	while (ncaps())
		next_seg();
}

static struct tcb *conn(void)
{
	return tcb_lookup(H.s->tcp, PEER_IP, H.sport, MY_IP, PORT);
}

/* The connection's TIME_WAIT record (TIME_WAIT has no TCB). */
static struct tcp_tw *tw_conn(void)
{
	return tcp_tw_lookup(H.s->tcp, PEER_IP, H.sport, MY_IP, PORT);
}

/* An ARP request from the peer, now at mac, for our address. */
static void peer_arp(const uint8_t *mac)
{
	uint8_t f[60] = {0};

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 1);
	memcpy(f + 22, mac, 6);
	put32(f + 28, PEER_IP);
	put32(f + 38, MY_IP);
	rx_frame(f, sizeof(f));
}

static void start(void)
{
	H.s = net_new(&H.conf, &fk_io, &app_ops, NULL);
	assert_non_null(H.s);
	net_set_time(H.s, H.now);
	peer_arp(peer_mac); /* teaches the peer's MAC; answered */
	assert_int_equal(fk.narp, 1);
}

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	fk.dst_mac = peer_mac;
	memset(&H, 0, sizeof(H));
	memset(apps, 0, sizeof(apps));
	napps = 0;
	refuse = false;
	net_conf_default(&H.conf);
	memcpy(H.conf.mac, my_mac, 6);
	H.conf.ip = MY_IP;
	H.conf.prefix = 24;
	H.conf.ports[0] = PORT;
	H.conf.nports = 1;
	for (int i = 0; i < 32; i++)
		H.conf.secret[i] = (uint8_t)(i * 7 + 1);
	H.conf.keepalive_s = 0;
	H.conf.rcvbuf = 262144; /* scale 3: 32768 in the field */
	H.conf.sndbuf = 262144;
	H.conf.delack_ms = 40;
	H.conf.rto_min_ms = 200;
	H.conf.rto_max_ms = 120000;
	H.conf.time_wait_ms = 60000;
	H.conf.syn_retries = 5;
	H.conf.data_retries = 15;
	H.now = 1000000;
	H.sport = PPORT;
	H.pwin = 65535;
	return 0;
}

static int teardown(void **state)
{
	if (H.s)
		net_free(H.s);
	H.s = NULL;
	assert_int_equal(fk.live, 0);
	return 0;
}

#define WIN_FULL (262144 >> 3)

/* SYN (MSS 1460, WS 7, TS) / SYN-ACK / ACK.  Leaves the SYN-ACK checked. */
static struct app *handshake_opts(bool ts, bool ws, uint16_t mss)
{
	struct topt o = {.mss_on = mss != 0,
			 .mss = mss,
			 .ws_on = ws,
			 .ws = 7,
			 .ts_on = ts,
			 .tsval = 100,
			 .sack = H.sack};

	if (!H.s)
		start();
	H.ts = ts;
	H.ptsval = 100;
	H.pseq = PEER_ISS;
	inject(TCP_SYN, H.pseq, 0, 65535, &o, NULL, 0);
	H.pseq++;
	struct cap *c = next_seg();

	assert_int_equal(c->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(c->ack, PEER_ISS + 1);
	assert_int_equal(c->win, 65535);
	assert_true(c->o.mss_on);
	assert_int_equal(c->o.mss, 1460);
	assert_int_equal(c->o.ws_on, ws);
	if (ws)
		assert_int_equal(c->o.ws, 3);
	assert_int_equal(c->o.ts_on, ts);
	if (ts)
		assert_int_equal(c->o.tsecr, 100);
	assert_int_equal(c->o.sack, H.sack); /* offered back if offered */
	H.siss = c->seq;
	H.sseq = c->seq + 1;
	unsigned n0 = napps;

	peer(TCP_ACK, NULL, 0);
	assert_int_equal(napps, n0 + 1);
	expect_none();
	return &apps[napps - 1];
}

static struct app *handshake(void)
{
	return handshake_opts(true, true, 1460);
}

/* ---- handshake -------------------------------------------------------------
 */

static void test_handshake(void **state)
{
	handshake();
	struct tcb *t = conn();

	assert_non_null(t);
	assert_int_equal(t->state, TCPS_ESTABLISHED);
	assert_int_equal(t->snd_ws, 7);
	assert_int_equal(t->rcv_ws, 3);
	assert_int_equal(t->smss, 1448);
	assert_int_equal(t->cwnd, 10 * 1448);
	assert_int_equal(ST.tcp_passive_opens, 1);
	assert_int_equal(ST.tcp_active_conns, 1);
	assert_int_equal(ST.tcp_conns, 1);
	assert_int_equal(t->s->tcp->half_open, 0);
}

static void test_handshake_no_options(void **state)
{
	struct app *a = handshake_opts(false, false, 0);
	char buf[600];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(net_tcp_send(a->t, buf, sizeof(buf)), 600);
	net_flush(H.s);
	/* Default MSS 536, no scaling: the window field is unscaled. */
	struct cap *c = expect_seg(TCP_ACK, H.sseq, H.pseq);

	assert_int_equal(c->len, 536);
	assert_false(c->o.ts_on);
	assert_int_equal(c->win, 65535);
	c = expect_seg(TCP_ACK | TCP_PSH, H.sseq + 536, H.pseq);
	assert_int_equal(c->len, 64);
}

static void test_isn_differs_per_tuple(void **state)
{
	struct topt o = {.mss_on = true, .mss = 1460};

	start();
	inject(TCP_SYN, 1, 0, 65535, &o, NULL, 0);
	uint32_t a = next_seg()->seq;

	H.sport = PPORT + 1;
	inject(TCP_SYN, 1, 0, 65535, &o, NULL, 0);
	uint32_t b = next_seg()->seq;

	assert_int_not_equal(a, b);
	assert_int_equal(H.s->tcp->half_open, 2);
}

static void test_synack_retransmit_and_give_up(void **state)
{
	struct topt o = {.mss_on = true, .mss = 1460};

	H.conf.syn_retries = 2;
	start();
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	uint32_t iss = next_seg()->seq;

	advance_ms(999);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_SYN | TCP_ACK, iss, PEER_ISS + 1);
	advance_ms(1999);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_SYN | TCP_ACK, iss, PEER_ISS + 1);
	assert_int_equal(ST.tcp_retrans_segs, 2);
	/* A retransmitted SYN gets the SYN-ACK again. */
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	expect_seg(TCP_SYN | TCP_ACK, iss, PEER_ISS + 1);
	advance_ms(4000);
	expect_none();
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(napps, 0);
}

static void test_refused_by_app(void **state)
{
	refuse = true;
	start();
	struct topt o = {.mss_on = true, .mss = 1460};

	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	uint32_t iss = next_seg()->seq;

	inject(TCP_ACK, PEER_ISS + 1, iss + 1, 65535, NULL, NULL, 0);
	expect_seg(TCP_RST | TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(ST.tcp_active_conns, 0);
}

/* ---- data
 * --------------------------------------------------------------------- */

static void test_data_in_delayed_ack(void **state)
{
	struct app *a = handshake();

	peer(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	assert_int_equal(a->nrx, 6);
	assert_memory_equal(a->rx, "PING\r\n", 6);
	expect_none();
	advance_ms(39);
	expect_none();
	advance_ms(1);
	struct cap *c = expect_seg(TCP_ACK, H.sseq, H.pseq);

	assert_int_equal(c->win, WIN_FULL);
	assert_int_equal(c->o.tsecr, H.ptsval);
	advance_ms(100);
	expect_none();
}

static void test_data_in_ack_every_second_segment(void **state)
{
	struct app *a = handshake();
	static char buf[1448];

	peer(TCP_ACK, buf, sizeof(buf));
	expect_none();
	peer(TCP_ACK, buf, sizeof(buf));
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(a->nrx, 2 * sizeof(buf));
}

static void test_reply_piggybacks_ack(void **state)
{
	struct app *a = handshake();

	a->reply = "+PONG\r\n";
	peer(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	struct cap *c = expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);

	assert_int_equal(c->len, 7);
	assert_memory_equal(c->data, "+PONG\r\n", 7);
	H.sseq += 7;
	advance_ms(100); /* no separate delayed ACK */
	expect_none();
	assert_int_equal(net_tcp_unacked(a->t), 7);
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(net_tcp_unacked(a->t), 0);
	advance_ms(5000); /* everything acked: no retransmission */
	expect_none();
	assert_int_equal(ST.tcp_retrans_segs, 0);
}

/* A connection keeps its next hop's MAC (struct net_path) rather than
 * looking it up per segment: a peer that moves to another MAC gets the
 * very next segment there, and a MAC older than the ARP cache trusts is
 * still used but asked for again, as without the copy. */
static void test_path_follows_arp(void **state)
{
	static const uint8_t new_mac[6] = {2, 0, 0, 0, 0, 9};
	struct app *a = handshake();

	a->reply = "+PONG\r\n";
	peer(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	H.sseq += 7;
	peer_arp(new_mac);
	net_flush(H.s);
	assert_int_equal(fk.narp, 2); /* our ARP reply */
	fk.dst_mac = new_mac;	      /* fk_send checks every frame */
	peer(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	H.sseq += 7;
	peer(TCP_ACK, NULL, 0);
	advance_ms(301 * 1000); /* past ARP_REACHABLE_US */
	drain();
	assert_int_equal(fk.narp, 2);
	peer(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(fk.narp, 3); /* the stale MAC is asked for */
	assert_int_equal(ST.tx_no_route + ST.arp_unresolved_drops, 0);
}

static void test_data_out_iw_and_slow_start(void **state)
{
	struct app *a = handshake();
	static uint8_t buf[40000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(net_tcp_send(a->t, buf, sizeof(buf)), sizeof(buf));
	net_flush(H.s);
	for (int i = 0; i < 10; i++) {
		struct cap *c = expect_seg(TCP_ACK, H.sseq + i * 1448, H.pseq);

		assert_int_equal(c->len, 1448);
		assert_memory_equal(c->data, buf + i * 1448, 1448);
	}
	expect_none(); /* cwnd = IW = 10 segments */
	/* ACK 2 segments: slow start adds one MSS per ACK; 2 freed + 1. */
	H.sseq += 2 * 1448;
	peer(TCP_ACK, NULL, 0);
	for (int i = 0; i < 3; i++)
		expect_seg(TCP_ACK, H.sseq + (8 + i) * 1448, H.pseq);
	expect_none();
	assert_int_equal(a->t->cwnd, 11 * 1448);
}

static void test_send_buffer_full_writable(void **state)
{
	H.conf.sndbuf = 8192;
	struct app *a = handshake();
	static char buf[10000];

	assert_int_equal(net_tcp_send(a->t, buf, sizeof(buf)), 8192);
	assert_int_equal(net_tcp_send(a->t, buf, 1), 0);
	net_flush(H.s);
	drain();
	assert_int_equal(a->writable, 0);
	H.sseq += 1448;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(a->writable, 1);
	assert_int_equal(net_tcp_send(a->t, buf, 2000), 1448);
}

/* ---- retransmission ---------------------------------------------------------
 */

static void test_rto_backoff(void **state)
{
	struct app *a = handshake();

	net_tcp_send(a->t, "hello", 5);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	/* RTT from the handshake (0 ms): RTO = rto_min. */
	advance_ms(199);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 1);
	advance_ms(399); /* doubled */
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(799);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_retrans_segs, 3);
	assert_int_equal(ST.tcp_rto_timeouts, 3);
	assert_int_equal(a->t->cwnd, 1448);
	H.sseq += 5;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(net_tcp_unacked(a->t), 0);
	advance_ms(10000);
	expect_none();
	assert_int_equal(ST.tcp_retrans_segs, 3);
}

/* The RTO restarts with each ACK of new data (RFC 6298 5.3), even though
 * the timer is moved lazily: no early retransmission. */
static void test_rto_restarts_on_ack(void **state)
{
	struct app *a = handshake();

	net_tcp_send(a->t, "one", 3);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(150);
	H.sseq += 3;
	peer(TCP_ACK, NULL, 0);
	net_tcp_send(a->t, "two", 3);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(100); /* the first segment's deadline passes */
	expect_none();
	advance_ms(99);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_retrans_segs, 1);
}

/* Without timestamps, Karn: no RTT sample from a retransmitted segment,
 * the backed-off RTO stays for the next one. */
static void test_karn_without_timestamps(void **state)
{
	struct app *a = handshake_opts(false, true, 1460);

	net_tcp_send(a->t, "a", 1);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(1000); /* initial RTO 1 s: no sample yet */
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(300);
	H.sseq += 1;
	peer(TCP_ACK, NULL, 0);
	assert_false(a->t->flags & TF_SRTT);
	net_tcp_send(a->t, "b", 1);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(1999);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	/* A segment sent once is timed: 50 ms. */
	H.sseq += 1;
	peer(TCP_ACK, NULL, 0);
	net_tcp_send(a->t, "c", 1);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(50);
	H.sseq += 1;
	peer(TCP_ACK, NULL, 0);
	assert_true(a->t->flags & TF_SRTT);
	assert_int_equal(a->t->srtt_us, 50000);
	assert_int_equal(a->t->rto_us, 200000); /* 50 + 4*25 -> min 200 */
}

static void test_rtt_from_timestamps(void **state)
{
	H.conf.rto_min_ms = 10;
	struct app *a = handshake();

	net_tcp_send(a->t, "a", 1);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(100);
	H.sseq += 1;
	peer(TCP_ACK, NULL, 0);
	/* The handshake measured 0: srtt = 100/8 ms, rttvar = 100/4 ms
	 * (TS ticks are 1.024 ms). */
	assert_in_range(a->t->srtt_us, 11500, 13000);
	assert_in_range(a->t->rto_us, 110000, 115000);
}

static void test_retries_exhausted(void **state)
{
	H.conf.data_retries = 3;
	struct app *a = handshake();

	net_tcp_send(a->t, "x", 1);
	net_flush(H.s);
	drain();
	for (int i = 0; i < 3; i++) {
		advance_ms(200u << i);
		expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	}
	assert_int_equal(a->closed, 0);
	advance_ms(1600);
	assert_int_equal(a->closed, 1);
	assert_int_equal(a->err, ETIMEDOUT);
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(ST.tcp_active_conns, 0);
	expect_none();
}

static void test_fast_retransmit_newreno(void **state)
{
	struct app *a = handshake();
	static uint8_t buf[10 * 1448];

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	assert_int_equal(ncaps(), 10);
	drain();
	uint32_t base = H.sseq;

	/* Segment 2 (index 1) and 5 are lost: ACK 1, then dups. */
	H.sseq = base + 1448;
	peer(TCP_ACK, NULL, 0);
	peer(TCP_ACK, NULL, 0);
	peer(TCP_ACK, NULL, 0);
	expect_none();
	peer(TCP_ACK, NULL, 0); /* third duplicate */
	expect_seg(TCP_ACK, base + 1448, H.pseq);
	assert_int_equal(ST.tcp_fast_retrans, 1);
	assert_int_equal(ST.tcp_retrans_segs, 1);
	assert_true(a->t->flags & TF_RECOVERY);
	/* Partial ACK up to the second hole: retransmit it at once. */
	H.sseq = base + 4 * 1448;
	peer(TCP_ACK, NULL, 0);
	expect_seg(TCP_ACK, base + 4 * 1448, H.pseq);
	assert_true(a->t->flags & TF_RECOVERY);
	/* Full ACK: recovery over, cwnd = ssthresh. */
	H.sseq = base + 10 * 1448;
	peer(TCP_ACK, NULL, 0);
	assert_false(a->t->flags & TF_RECOVERY);
	/* RFC 6582: min(ssthresh, max(FlightSize, SMSS) + SMSS), flight 0 */
	assert_int_equal(a->t->ssthresh, 9 * 1448 / 2);
	assert_int_equal(a->t->cwnd, 2 * 1448);
	assert_int_equal(ST.tcp_retrans_segs, 2);
}

/* ---- reassembly -------------------------------------------------------------
 */

static void test_out_of_order_reassembly(void **state)
{
	struct app *a = handshake();
	uint32_t s0 = H.pseq;

	/* Segments 2 and 3 arrive before 1. */
	H.pseq = s0 + 10;
	peer(TCP_ACK, "bbbbbbbbbb", 10);
	expect_seg(TCP_ACK, H.sseq, s0); /* duplicate ACK, immediately */
	peer(TCP_ACK, "cccccccccc", 10);
	expect_seg(TCP_ACK, H.sseq, s0);
	/* The same one again is a duplicate, still acked. */
	H.pseq = s0 + 10;
	peer(TCP_ACK, "bbbbbbbbbb", 10);
	expect_seg(TCP_ACK, H.sseq, s0);
	assert_int_equal(a->nrx, 0);
	assert_int_equal(a->t->nooo, 2);
	assert_int_equal(ST.tcp_ooo_segs, 3);
	H.pseq = s0;
	peer(TCP_ACK, "aaaaaaaaaa", 10);
	assert_int_equal(a->nrx, 30);
	assert_memory_equal(a->rx, "aaaaaaaaaabbbbbbbbbbcccccccccc", 30);
	expect_seg(TCP_ACK, H.sseq, s0 + 30); /* the hole filled: ACK now */
	assert_int_equal(a->t->nooo, 0);
}

static void test_ooo_overlap_and_fin(void **state)
{
	struct app *a = handshake();
	uint32_t s0 = H.pseq;

	/* Overlapping out-of-order data, the last with FIN. */
	H.pseq = s0 + 4;
	peer(TCP_ACK, "efghij", 6);
	H.pseq = s0 + 8;
	peer(TCP_ACK | TCP_FIN, "ijkl", 4);
	drain();
	H.pseq = s0;
	peer(TCP_ACK, "abcdef", 6);
	assert_int_equal(a->nrx, 12);
	assert_memory_equal(a->rx, "abcdefghijkl", 12);
	assert_int_equal(a->eof, 1);
	assert_int_equal(a->t->state, TCPS_CLOSE_WAIT);
	expect_seg(TCP_ACK, H.sseq, s0 + 13);
}

static void test_ooo_limit(void **state)
{
	struct app *a = handshake();
	uint32_t s0 = H.pseq;

	/* Far more than a few segments after a hole are all kept. */
	for (int i = 1; i <= 100; i++) {
		H.pseq = s0 + 2 * i;
		peer(TCP_ACK, "zz", 2);
	}
	drain();
	assert_int_equal(a->t->nooo, 100);
	assert_int_equal(H.s->tcp->ooo_frames, 100);
	assert_int_equal(a->t->nrcv_rng, 1);
	/* A fifth separate range is one more than the SACK blocks: dropped,
	 * and so is anything past the per-connection bound. */
	for (int i = 0; i < 4; i++) {
		H.pseq = s0 + 1000 + 100 * i;
		peer(TCP_ACK, "yy", 2);
	}
	drain();
	assert_int_equal(a->t->nooo, 103);
	assert_int_equal(a->t->nrcv_rng, TCP_RCV_RNG);
	H.pseq = s0;
	peer(TCP_ACK, "zz", 2);
	assert_int_equal(a->nrx, 2 + 2 * 100);
	assert_int_equal(a->t->nooo, 3);
	assert_int_equal(a->t->nrcv_rng, 3);
	assert_int_equal(H.s->tcp->ooo_frames, 3);
}

static void test_ooo_many_segments_bounded(void **state)
{
	struct app *a = handshake();
	uint32_t s0 = H.pseq;

	for (int i = 1; i <= TCP_OOO_SEGS + 10; i++) {
		H.pseq = s0 + 2 * i;
		peer(TCP_ACK, "zz", 2);
	}
	drain();
	assert_int_equal(a->t->nooo, TCP_OOO_SEGS);
	H.pseq = s0;
	peer(TCP_ACK, "zz", 2);
	assert_int_equal(a->nrx, 2 + 2 * TCP_OOO_SEGS);
	assert_int_equal(a->t->nooo, 0);
	assert_int_equal(H.s->tcp->ooo_frames, 0);
}

/* ---- SACK (RFC 2018, RFC 6675), tail loss probe (RFC 8985) ---------------
 */

#define SEG(k) (base + (uint32_t)(k)*1448u) /* start of segment k (0-based) */

/* The peer's next ACK carries these SACK blocks (pairs of start, end). */
static void sack(unsigned n, ...)
{
	va_list ap;

	va_start(ap, n);
	H.nsb = n;
	for (unsigned i = 0; i < n; i++) {
		H.sb[i][0] = va_arg(ap, uint32_t);
		H.sb[i][1] = va_arg(ap, uint32_t);
	}
	va_end(ap);
	peer(TCP_ACK, NULL, 0);
}

static struct app *sack_handshake(void)
{
	H.sack = true;
	struct app *a = handshake();

	assert_true(a->t->flags & TF_SACK);
	return a;
}

static void test_sack_not_without_offer(void **state)
{
	struct app *a = handshake();

	assert_false(a->t->flags & TF_SACK);
	H.pseq += 10; /* a hole: the dup ACK has no SACK option */
	peer(TCP_ACK, "bbbbbbbbbb", 10);
	struct cap *c = expect_seg(TCP_ACK, H.sseq, H.pseq - 20);

	assert_int_equal(c->o.nsb, 0);
}

static void test_sack_blocks_sent(void **state)
{
	struct app *a = sack_handshake();
	uint32_t s0 = H.pseq;
	struct cap *c;

	H.pseq = s0 + 10;
	peer(TCP_ACK, "bbbbbbbbbb", 10);
	c = expect_seg(TCP_ACK, H.sseq, s0);
	assert_int_equal(c->o.nsb, 1);
	assert_int_equal(c->o.sb[0][0], s0 + 10);
	assert_int_equal(c->o.sb[0][1], s0 + 20);
	H.pseq = s0 + 30;
	peer(TCP_ACK, "dddddddddd", 10);
	c = expect_seg(TCP_ACK, H.sseq, s0);
	assert_int_equal(c->o.nsb, 2); /* the most recent first */
	assert_int_equal(c->o.sb[0][0], s0 + 30);
	assert_int_equal(c->o.sb[0][1], s0 + 40);
	assert_int_equal(c->o.sb[1][0], s0 + 10);
	assert_int_equal(c->o.sb[1][1], s0 + 20);
	H.pseq = s0 + 50;
	peer(TCP_ACK, "ffffffffff", 10);
	H.pseq = s0 + 70;
	peer(TCP_ACK, "hhhhhhhhhh", 10);
	drain();
	/* Four ranges: with timestamps three blocks fit, newest first. */
	H.pseq = s0 + 20;
	peer(TCP_ACK, "cccccccccc", 10); /* joins the first two */
	c = expect_seg(TCP_ACK, H.sseq, s0);
	assert_int_equal(c->o.nsb, 3);
	assert_int_equal(c->o.sb[0][0], s0 + 10);
	assert_int_equal(c->o.sb[0][1], s0 + 40);
	assert_int_equal(c->o.sb[1][0], s0 + 70);
	assert_int_equal(c->o.sb[2][0], s0 + 50);
	assert_true(c->o.ts_on);
	H.pseq = s0;
	peer(TCP_ACK, "aaaaaaaaaa", 10);
	c = expect_seg(TCP_ACK, H.sseq, s0 + 40);
	assert_int_equal(c->o.nsb, 2);
	assert_int_equal(c->o.sb[0][0], s0 + 70);
	assert_int_equal(a->nrx, 40);
	H.pseq = s0 + 40;
	peer(TCP_ACK, "eeeeeeeeee", 10);
	c = expect_seg(TCP_ACK, H.sseq, s0 + 60);
	assert_int_equal(c->o.nsb, 1);
	assert_int_equal(c->o.sb[0][0], s0 + 70);
	H.pseq = s0 + 60;
	peer(TCP_ACK, "gggggggggg", 10);
	c = expect_seg(TCP_ACK, H.sseq, s0 + 80);
	assert_int_equal(c->o.nsb, 0); /* nothing out of order any more */
	assert_int_equal(a->nrx, 80);
	assert_memory_equal(a->rx + 70, "hhhhhhhhhh", 10);
}

/* Two holes in one window: both are resent in the same round trip, as
 * soon as three segments above each are SACKed (NewReno: one per RTT). */
static void test_sack_recovery_every_hole(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[10 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	assert_int_equal(ncaps(), 10);
	drain();
	base = H.sseq;
	/* segments 1 and 4 lost */
	H.sseq = SEG(1);
	peer(TCP_ACK, NULL, 0);
	sack(1, SEG(2), SEG(3));
	sack(1, SEG(2), SEG(4));
	expect_none(); /* two SACKed above: may be reordering */
	sack(2, SEG(5), SEG(6), SEG(2), SEG(4));
	expect_seg(TCP_ACK, SEG(1), H.pseq); /* three: lost */
	expect_none();
	assert_true(a->t->flags & TF_RECOVERY);
	assert_int_equal(a->t->cwnd, 9 * 1448 / 2);
	sack(2, SEG(5), SEG(7), SEG(2), SEG(4));
	expect_none();
	sack(2, SEG(5), SEG(8), SEG(2), SEG(4));
	expect_seg(TCP_ACK, SEG(4), H.pseq); /* the second hole, same RTT */
	expect_none();
	assert_int_equal(ST.tcp_fast_retrans, 1);
	assert_int_equal(ST.tcp_retrans_segs, 2);
	H.sseq = SEG(4);
	sack(1, SEG(5), SEG(8));
	expect_none();
	H.sseq = SEG(10);
	peer(TCP_ACK, NULL, 0);
	assert_false(a->t->flags & TF_RECOVERY);
	assert_int_equal(a->t->nsnd_rng, 0);
	assert_int_equal(ST.tcp_retrans_segs, 2);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
}

/* A network that duplicates an ACK does not fake duplicate ACKs: only an
 * ACK with new SACK information counts (RFC 6675 2). */
static void test_sack_duplicated_ack_not_counted(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[10 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	drain();
	base = H.sseq;
	for (int i = 0; i < 4; i++)
		sack(1, SEG(1), SEG(2));
	expect_none();
	assert_int_equal(a->t->dupacks, 1);
	assert_false(a->t->flags & TF_RECOVERY);
	sack(1, SEG(1), SEG(3));
	sack(1, SEG(1), SEG(4));
	expect_seg(TCP_ACK, SEG(0), H.pseq);
	assert_true(a->t->flags & TF_RECOVERY);
}

/* Reordering by one segment (what the reorder fault does) is not a loss. */
static void test_sack_reordering_no_retransmit(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[10 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	drain();
	base = H.sseq;
	sack(1, SEG(1), SEG(2)); /* segment 0 arrives after segment 1 */
	H.sseq = SEG(2);
	peer(TCP_ACK, NULL, 0);
	for (int k = 3; k <= 10; k++) {
		H.sseq = SEG(k);
		peer(TCP_ACK, NULL, 0);
	}
	assert_int_equal(ST.tcp_retrans_segs, 0);
	assert_false(a->t->flags & TF_RECOVERY);
	advance_ms(2000);
	expect_none();
}

/* The last segments of a reply are lost: no SACK can arrive, a tail loss
 * probe a PTO later brings one, and recovery follows, long before the
 * 200 ms RTO. */
static void test_tlp_tail_loss(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[4 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	drain();
	base = H.sseq;
	H.sseq = SEG(2); /* segments 2 and 3 lost */
	peer(TCP_ACK, NULL, 0);
	advance_ms(9);
	expect_none();
	advance_ms(1); /* PTO = 2 SRTT (0 here) + 10 ms */
	expect_seg(TCP_ACK | TCP_PSH, SEG(3), H.pseq);
	expect_none();
	sack(1, SEG(3), SEG(4));
	expect_seg(TCP_ACK, SEG(2), H.pseq);
	expect_none();
	H.sseq = SEG(4);
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
	assert_int_equal(ST.tcp_retrans_segs, 2);
	assert_int_equal(net_tcp_unacked(a->t), 0);
}

/* One small reply lost: the probe waits for the peer's delayed ACK too. */
static void test_tlp_single_segment(void **state)
{
	struct app *a = sack_handshake();

	net_tcp_send(a->t, "+PONG\r\n", 7);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(39);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	H.sseq += 7;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
	advance_ms(1000);
	expect_none();
}

/* A lost probe (or its ACK) does not cost the RTO: a second probe after
 * twice the PTO, then the RTO. */
static void test_tlp_second_probe(void **state)
{
	struct app *a = sack_handshake();

	net_tcp_send(a->t, "+PONG\r\n", 7);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(40);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(79);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
	advance_ms(199);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 1);
	assert_int_equal(ST.tcp_retrans_segs, 3);
}

/* Without SACK there is no probe: the RTO as before. */
static void test_no_tlp_without_sack(void **state)
{
	struct app *a = handshake();

	net_tcp_send(a->t, "+PONG\r\n", 7);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	advance_ms(199);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 1);
}

/* Early retransmit (RFC 5827): two segments out, the first lost, the
 * second SACKed -- one duplicate ACK is all there will be. */
static void test_sack_early_retransmit(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[2 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	drain();
	base = H.sseq;
	sack(1, SEG(1), SEG(2));
	expect_seg(TCP_ACK, SEG(0), H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
}

/* The retransmission of a hole is lost as well: data sent after it is
 * SACKed while the hole stays, so it goes again, without waiting for the
 * RTO. */
static void test_sack_lost_retransmission(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[30 * 1448];
	uint32_t base, top = 0;
	unsigned nrxt = 0;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	assert_int_equal(ncaps(), 10); /* the initial window */
	drain();
	base = H.sseq;
	/* Segment 0 is lost; SACKs for the rest of the window: limited
	 * transmit, recovery (segment 0 again, lost as well), new data as
	 * pipe allows. */
	for (int k = 2; k <= 10; k++) {
		sack(1, SEG(1), SEG(k));
		while (ncaps()) {
			struct cap *c = next_seg();

			if (c->seq == SEG(0))
				nrxt++;
			else
				assert_true(c->seq >= SEG(10)); /* new data */
			if (c->seq + c->len > top)
				top = c->seq + (uint32_t)c->len;
		}
	}
	assert_int_equal(nrxt, 1);
	assert_true(a->t->flags & TF_RECOVERY);
	assert_true(top >= SEG(14));
	/* Data sent after the retransmission arrives, segment 0 does not. */
	sack(1, SEG(1), top);
	expect_seg(TCP_ACK, SEG(0), H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
}

/* ... and when nothing after it arrives either: a PTO without progress
 * in recovery resends the holes. */
static void test_sack_recovery_probe(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[5 * 1448];
	uint32_t base;

	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	drain();
	base = H.sseq;
	for (int k = 2; k <= 4; k++)
		sack(1, SEG(1), SEG(k));
	expect_seg(TCP_ACK, SEG(0), H.pseq);
	expect_none();
	advance_ms(9);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK, SEG(0), H.pseq); /* no progress: again */
	expect_none();
	H.sseq = SEG(5);
	peer(TCP_ACK, NULL, 0);
	assert_false(a->t->flags & TF_RECOVERY);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
}

/* A hole, two segments SACKed after it and the peer's window allows no
 * more: the probe resends a segment the peer already has; its D-SACK
 * answer still shows what is missing. */
static void test_tlp_dsack_answer(void **state)
{
	struct app *a = sack_handshake();
	static uint8_t buf[30 * 1448];
	uint32_t base;

	a->t->cwnd = 3 * 1448;
	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	assert_int_equal(ncaps(), 3);
	drain();
	base = H.sseq;
	H.pwin = 34; /* 34 << 7: no room for more, not even limited transmit */
	sack(1, SEG(1), SEG(2));
	sack(1, SEG(1), SEG(3));
	expect_none();
	advance_ms(10);
	expect_seg(TCP_ACK, SEG(2), H.pseq);	 /* the probe */
	sack(2, SEG(2), SEG(3), SEG(1), SEG(3)); /* D-SACK first */
	expect_seg(TCP_ACK, SEG(0), H.pseq);
	assert_int_equal(ST.tcp_rto_timeouts, 0);
}

/* RFC 6298 (5.7): after a backoff, the next RTT sample sets the RTO from
 * SRTT again. */
static void test_rto_restored_after_backoff(void **state)
{
	struct app *a = handshake();

	net_tcp_send(a->t, "hello", 5);
	net_flush(H.s);
	drain();
	advance_ms(200);
	advance_ms(400);
	assert_int_equal(ST.tcp_rto_timeouts, 2);
	assert_int_equal(a->t->rto_us, 800000);
	drain();
	H.sseq += 5;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(a->t->rto_us, 200000);
	assert_int_equal(a->t->retries, 0);
	net_tcp_send(a->t, "again", 5);
	net_flush(H.s);
	drain();
	advance_ms(199);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
}

/* ---- windows ----------------------------------------------------------------
 */

static void test_zero_window_advertised(void **state)
{
	struct app *a = handshake();

	a->pending = 262144; /* the application holds a full buffer */
	peer(TCP_ACK | TCP_PSH, "abcd", 4);
	advance_ms(40);
	struct cap *c = expect_seg(TCP_ACK, H.sseq, H.pseq);

	/* The SYN-ACK offered 65535: that edge stays (no shrinking). */
	assert_int_equal(c->win, (65535 - 4 + 7) / 8);
	/* The peer fills what is left of the window. */
	uint32_t left = (uint32_t)c->win * 8;
	static char big[262144];

	peer_rx(TCP_ACK, big, left > 1448 ? 1448 : left);
	net_flush(H.s);
	assert_int_equal(a->nrx, 4 + 1448);
	/* Data in a zero window: not taken, ACKed with window 0. */
	a->pending = 262144 + 10000;
	H.pseq = H.pseq + (left - 1448); /* pretend it filled it */
	a->t->rcv_nxt = H.pseq;		 /* (white box: skip the bytes) */
	peer(TCP_ACK, "x", 1);
	c = expect_seg(TCP_ACK, H.sseq, H.pseq - 1);
	assert_int_equal(c->win, 0);
	assert_int_equal(a->nrx, 4 + 1448);
	/* The application drains: a window update goes out by itself. */
	a->pending = 0;
	net_flush(H.s);
	c = expect_seg(TCP_ACK, H.sseq, H.pseq - 1);
	assert_int_equal(c->win, WIN_FULL);
}

static void test_persist_probes(void **state)
{
	struct app *a = handshake();

	H.pwin = 0;
	peer(TCP_ACK, NULL, 0); /* the peer closes its window */
	assert_int_equal(a->t->snd_wnd, 0);
	net_tcp_send(a->t, "data", 4);
	net_flush(H.s);
	expect_none();
	advance_ms(200);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq); /* probe */
	advance_ms(399);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq); /* backed off */
	assert_int_equal(ST.tcp_zero_window_probes, 2);
	peer(TCP_ACK, NULL, 0); /* the answer: still zero */
	expect_none();
	H.pwin = 100;
	peer(TCP_ACK, NULL, 0); /* window update */
	struct cap *c = expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);

	assert_int_equal(c->len, 4);
	assert_int_equal(a->closed, 0);
}

static void test_window_scaling_applied(void **state)
{
	struct app *a = handshake();
	static char buf[4000];

	H.pwin = 10; /* scaled by 2^7: 1280 bytes */
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(a->t->snd_wnd, 1280);
	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	struct cap *c = expect_seg(TCP_ACK, H.sseq, H.pseq);

	assert_int_equal(c->len, 1280);
	expect_none();
}

/* ---- closing ----------------------------------------------------------------
 */

static void test_peer_closes_half_close(void **state)
{
	struct app *a = handshake();

	peer(TCP_ACK | TCP_FIN, NULL, 0);
	assert_int_equal(a->eof, 1);
	assert_int_equal(a->t->state, TCPS_CLOSE_WAIT);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	/* Half-closed: we still send. */
	assert_int_equal(net_tcp_send(a->t, "bye", 3), 3);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_PSH, H.sseq, H.pseq);
	H.sseq += 3;
	peer(TCP_ACK, NULL, 0);
	net_tcp_close(a->t);
	assert_int_equal(a->t->state, TCPS_LAST_ACK);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_FIN, H.sseq, H.pseq);
	H.sseq++;
	peer(TCP_ACK, NULL, 0);
	assert_null(conn());
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(ST.tcp_active_conns, 0);
	assert_int_equal(ST.tcp_time_wait, 0);
	assert_int_equal(a->closed, 0);
}

static void test_last_ack_fin_retransmitted(void **state)
{
	struct app *a = handshake();

	a->close_on_eof = true;
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	expect_seg(TCP_ACK | TCP_FIN, H.sseq, H.pseq);
	advance_ms(200);
	expect_seg(TCP_ACK | TCP_FIN, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_retrans_segs, 1);
	H.sseq++;
	peer(TCP_ACK, NULL, 0);
	assert_null(conn());
}

static void test_active_close_time_wait(void **state)
{
	struct app *a = handshake();

	net_tcp_send(a->t, "data", 4);
	net_tcp_close(a->t);
	net_flush(H.s);
	struct cap *c = expect_seg(TCP_ACK | TCP_PSH | TCP_FIN, H.sseq, H.pseq);

	assert_int_equal(c->len, 4);
	struct tcb *t = conn();

	assert_int_equal(t->state, TCPS_FIN_WAIT_1);
	H.sseq += 5;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(t->state, TCPS_FIN_WAIT_2);
	/* The peer still sends?  It may not: we closed.  Its FIN: */
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	c = expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_true(c->o.ts_on);
	assert_int_equal(c->win, WIN_FULL);
	assert_null(conn()); /* the TCB is gone, a small record remains */
	assert_non_null(tw_conn());
	assert_int_equal(ST.tcp_time_wait, 1);
	assert_int_equal(ST.tcp_conns, 1);
	assert_int_equal(ST.tcp_active_conns, 0);
	/* A retransmitted FIN is ACKed again, and restarts 2MSL. */
	advance_ms(30000);
	H.pseq--;
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	c = expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(c->o.tsecr, H.ptsval);
	advance_ms(59999);
	assert_non_null(tw_conn());
	advance_ms(1);
	assert_null(tw_conn());
	assert_int_equal(ST.tcp_time_wait, 0);
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(a->closed, 0);
}

static void test_simultaneous_close(void **state)
{
	struct app *a = handshake();

	net_tcp_close(a->t);
	net_flush(H.s);
	expect_seg(TCP_ACK | TCP_FIN, H.sseq, H.pseq);
	struct tcb *t = conn();

	/* The peer's FIN crosses ours: it does not ACK our FIN yet. */
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	assert_int_equal(t->state, TCPS_CLOSING);
	expect_seg(TCP_ACK, H.sseq + 1, H.pseq);
	H.sseq++;
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(t->state, TCPS_CLOSED); /* freed at the flush */
	assert_non_null(tw_conn());
	assert_int_equal(ST.tcp_time_wait, 1);
}

static void test_fin_wait_2_timeout(void **state)
{
	H.conf.time_wait_ms = 1000;
	struct app *a = handshake();

	net_tcp_close(a->t);
	net_flush(H.s);
	H.sseq++;
	drain();
	peer(TCP_ACK, NULL, 0);
	assert_int_equal(conn()->state, TCPS_FIN_WAIT_2);
	advance_ms(1000);
	assert_null(conn());
}

static void test_data_after_close_rst(void **state)
{
	struct app *a = handshake();

	net_tcp_close(a->t);
	net_flush(H.s);
	drain();
	H.sseq++;
	peer(TCP_ACK, NULL, 0); /* FIN_WAIT_2 */
	peer(TCP_ACK, "more", 4);
	expect_seg(TCP_RST | TCP_ACK, H.sseq, H.pseq - 4);
	assert_null(conn());
	assert_int_equal(a->closed, 0);
}

static void test_close_from_readable(void **state)
{
	struct app *a = handshake();

	a->reply = "-ERR\r\n";
	a->close_in_readable = true;
	peer(TCP_ACK | TCP_PSH, "bad", 3);
	struct cap *c = expect_seg(TCP_ACK | TCP_PSH | TCP_FIN, H.sseq, H.pseq);

	assert_int_equal(c->len, 6);
}

static void test_abort_from_recv(void **state)
{
	struct app *a = handshake();

	a->abort_in_recv = true;
	peer(TCP_ACK | TCP_PSH, "bad", 3);
	expect_seg(TCP_RST | TCP_ACK, H.sseq, H.pseq);
	assert_null(conn());
	assert_int_equal(a->closed, 0);
	assert_int_equal(ST.tcp_out_rsts, 1);
}

/* ---- the application's turn (net_readable) -------------------------------
 */

/* A burst of segments for two connections: recv() copies during the
 * frames, readable() runs after them, once per connection, in the order
 * they first received; eof() after the readable() of the bytes before the
 * FIN, however they arrived. */
static void test_readable_after_the_frames(void **state)
{
	struct app *a = handshake_opts(false, true, 1460);
	uint32_t a_seq = H.pseq, a_ack = H.sseq;

	H.sport = PPORT + 1;
	struct app *b = handshake_opts(false, true, 1460);

	peer_rx(TCP_ACK | TCP_PSH, "b1", 2);
	H.sport = PPORT;
	rx_seg(H.sport, TCP_ACK | TCP_PSH, a_seq, a_ack, H.pwin, NULL, "a1", 2);
	rx_seg(H.sport, TCP_ACK | TCP_PSH | TCP_FIN, a_seq + 2, a_ack, H.pwin,
	       NULL, "a2", 2);
	assert_int_equal(a->nrx, 4);
	assert_int_equal(b->nrx, 2);
	assert_int_equal(a->readable + b->readable + a->eof, 0);
	expect_none(); /* ACKs wait for the flush, replies with them */
	b->reply = "+B\r\n";
	net_readable(H.s);
	assert_int_equal(a->readable, 1);
	assert_int_equal(b->readable, 1);
	assert_true(b->readable_at < a->readable_at); /* b received first */
	assert_int_equal(a->eof, 1);
	assert_int_equal(a->nrx_eof, 4);
	net_readable(H.s); /* nothing new: no upcall */
	assert_int_equal(a->readable + b->readable, 2);
	net_flush(H.s);
	assert_int_equal(ncaps(), 2); /* one segment each: the ACK and B's
					 reply in one */
	drain();
}

/* readable() may close its connection and another: no upcall follows for
 * the other, although it received bytes in the same burst. */
static void test_close_other_from_readable(void **state)
{
	struct app *a = handshake_opts(false, true, 1460);
	uint32_t a_seq = H.pseq, a_ack = H.sseq;

	H.sport = PPORT + 1;
	struct app *b = handshake_opts(false, true, 1460);

	H.sport = PPORT;
	rx_seg(H.sport, TCP_ACK | TCP_PSH, a_seq, a_ack, H.pwin, NULL, "KILL",
	       4);
	H.sport = PPORT + 1;
	peer_rx(TCP_ACK | TCP_PSH, "GET", 3);
	a->close_other = true;
	a->close_in_readable = true;
	net_flush(H.s); /* runs net_readable itself */
	assert_int_equal(a->readable, 1);
	assert_int_equal(b->readable, 0);
	assert_int_equal(b->nrx, 3);
	assert_int_equal(b->closed, 0);
	assert_int_equal(conn()->state, TCPS_FIN_WAIT_1);
	H.sport = PPORT;
	assert_int_equal(conn()->state, TCPS_FIN_WAIT_1);
	drain();
}

/* A hole filled in the same burst as a close: the out-of-order bytes
 * reach recv() before readable() closes, and the FIN follows them. */
static void test_close_from_readable_after_ooo(void **state)
{
	struct app *a = handshake();
	uint32_t s0 = H.pseq;

	H.pseq = s0 + 3;
	peer_rx(TCP_ACK | TCP_PSH, "def", 3);
	H.pseq = s0;
	peer_rx(TCP_ACK | TCP_PSH, "abc", 3);
	assert_int_equal(a->nrx, 6);
	drain(); /* the duplicate ACK for the hole went at once */
	a->reply = "-ERR\r\n";
	a->close_in_readable = true;
	net_readable(H.s);
	net_flush(H.s);
	struct cap *c = expect_seg(TCP_ACK | TCP_PSH | TCP_FIN, H.sseq, s0 + 6);

	assert_int_equal(c->len, 6);
	assert_int_equal(a->readable, 1);
}

/* A reset after data in the same burst: closed(), and no readable(). */
static void test_reset_in_burst_no_readable(void **state)
{
	struct app *a = handshake_opts(false, true, 1460);

	peer_rx(TCP_ACK | TCP_PSH, "PING\r\n", 6);
	rx_seg(H.sport, TCP_RST, H.pseq, 0, 0, NULL, NULL, 0);
	assert_int_equal(a->closed, 1);
	net_readable(H.s);
	net_flush(H.s);
	assert_int_equal(a->readable, 0);
	assert_int_equal(a->eof, 0);
	assert_null(conn());
	expect_none();
}

/* accept() may refuse with a message: the message and a FIN go out, no
 * upcall follows, and data after it draws a RST. */
static bool refuse_with_msg;

static void *app_accept_msg(void *arg, struct tcb *t, uint32_t pip,
			    uint16_t pport, uint32_t lip, uint16_t lport)
{
	if (!refuse_with_msg)
		return app_accept(arg, t, pip, pport, lip, lport);
	assert_int_equal(net_tcp_send(t, "-ERR max\r\n", 10), 10);
	net_tcp_close(t);
	return NULL;
}

static void test_refused_with_message(void **state)
{
	struct net_app_ops ops = app_ops;

	ops.accept = app_accept_msg;
	refuse_with_msg = true;
	H.s = net_new(&H.conf, &fk_io, &ops, NULL);
	assert_non_null(H.s);
	net_set_time(H.s, H.now);
	peer_arp(peer_mac);
	net_flush(H.s);
	struct topt o = {.mss_on = true, .mss = 1460};

	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	uint32_t iss = next_seg()->seq;

	inject(TCP_ACK, PEER_ISS + 1, iss + 1, 65535, NULL, NULL, 0);
	struct cap *c =
	    expect_seg(TCP_ACK | TCP_PSH | TCP_FIN, iss + 1, PEER_ISS + 1);

	assert_int_equal(c->len, 10);
	assert_memory_equal(c->data, "-ERR max\r\n", 10);
	assert_int_equal(napps, 0);
	assert_int_equal(conn()->state, TCPS_FIN_WAIT_1);
	assert_int_equal(ST.tcp_passive_opens, 1);
	inject(TCP_ACK | TCP_PSH, PEER_ISS + 1, iss + 12, 65535, NULL, "x", 1);
	expect_seg(TCP_RST | TCP_ACK, iss + 12, PEER_ISS + 1);
	assert_null(conn());
	refuse_with_msg = false;
}

/* ---- resets
 * ------------------------------------------------------------------ */

static void test_rst_established(void **state)
{
	struct app *a = handshake();

	/* In the window but not at rcv_nxt: a challenge ACK (RFC 5961). */
	inject(TCP_RST, H.pseq + 100, 0, 0, NULL, NULL, 0);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_challenge_acks, 1);
	/* Outside the window: nothing. */
	inject(TCP_RST, H.pseq + 1000000, 0, 0, NULL, NULL, 0);
	expect_none();
	assert_int_equal(a->closed, 0);
	/* Exactly rcv_nxt: reset. */
	inject(TCP_RST, H.pseq, 0, 0, NULL, NULL, 0);
	expect_none();
	assert_int_equal(a->closed, 1);
	assert_int_equal(a->err, ECONNRESET);
	assert_null(conn());
	assert_int_equal(ST.tcp_in_rsts, 3);
	assert_int_equal(ST.tcp_active_conns, 0);
}

static void test_rst_syn_rcvd(void **state)
{
	struct topt o = {.mss_on = true, .mss = 1460};

	start();
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	drain();
	assert_int_equal(H.s->tcp->half_open, 1);
	inject(TCP_RST, PEER_ISS + 1, 0, 0, NULL, NULL, 0);
	assert_null(conn());
	assert_int_equal(H.s->tcp->half_open, 0);
	assert_int_equal(napps, 0);
	expect_none();
}

static void test_rst_close_wait(void **state)
{
	struct app *a = handshake();

	peer(TCP_ACK | TCP_FIN, NULL, 0);
	drain();
	inject(TCP_RST, H.pseq, 0, 0, NULL, NULL, 0);
	assert_int_equal(a->closed, 1);
	assert_int_equal(a->err, ECONNRESET);
	assert_null(conn());
}

static void test_rst_after_app_close(void **state)
{
	/* FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, CLOSING: freed, no upcall. */
	static const int steps[] = {0, 1, 2, 3};

	for (unsigned i = 0; i < 4; i++) {
		H.sport = (uint16_t)(PPORT + i);
		struct app *a = handshake();

		if (steps[i] == 2) {
			peer(TCP_ACK | TCP_FIN, NULL, 0);
			net_tcp_close(a->t);
		} else {
			net_tcp_close(a->t);
		}
		net_flush(H.s);
		drain();
		if (steps[i] == 1) {
			H.sseq++;
			peer(TCP_ACK, NULL, 0);
		}
		if (steps[i] == 3)
			peer(TCP_ACK | TCP_FIN, NULL, 0);
		drain();
		static const uint8_t want[] = {TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2,
					       TCPS_LAST_ACK, TCPS_CLOSING};

		assert_int_equal(conn()->state, want[i]);
		inject(TCP_RST, H.pseq, 0, 0, NULL, NULL, 0);
		assert_null(conn());
		assert_int_equal(a->closed, 0);
	}
	assert_int_equal(ST.tcp_conns, 0);
	assert_int_equal(ST.tcp_active_conns, 0);
}

static void test_rst_time_wait_ignored(void **state)
{
	struct app *a = handshake();

	net_tcp_close(a->t);
	net_flush(H.s);
	H.sseq++;
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	drain();
	assert_non_null(tw_conn());
	inject(TCP_RST, H.pseq, 0, 0, NULL, NULL, 0);
	assert_non_null(tw_conn()); /* RFC 1337 */
	expect_none();
}

static void test_syn_in_established_challenge(void **state)
{
	struct app *a = handshake();
	struct topt o = {.mss_on = true, .mss = 1460};

	inject(TCP_SYN, 12345, 0, 65535, &o, NULL, 0);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(ST.tcp_challenge_acks, 1);
	assert_int_equal(a->t->state, TCPS_ESTABLISHED);
	assert_int_equal(a->closed, 0);
	/* Rate limit: 1000 a second per stack. */
	for (int i = 0; i < 1100; i++)
		rx_seg(H.sport, TCP_SYN, 12345, 0, 65535, &o, NULL, 0);
	net_flush(H.s);
	drain();
	assert_int_equal(ST.tcp_challenge_acks, 1000);
	advance_ms(1000);
	inject(TCP_SYN, 12345, 0, 65535, &o, NULL, 0);
	assert_int_equal(ST.tcp_challenge_acks, 1001);
}

static void test_ack_acceptability(void **state)
{
	struct app *a = handshake();

	/* ACK of data never sent: ACK back, the data is dropped. */
	inject(TCP_ACK, H.pseq, H.sseq + 1000, 65535, NULL, "xx", 2);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(a->nrx, 0);
	/* ACK far below snd_una - max window: challenge ACK, dropped. */
	inject(TCP_ACK, H.pseq, H.sseq - 0x40000000u, 65535, NULL, "xx", 2);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(a->nrx, 0);
	assert_int_equal(ST.tcp_challenge_acks, 1);
}

static void test_paws(void **state)
{
	struct app *a = handshake();
	struct topt o = {.ts_on = true, .tsval = 50, .tsecr = 0};

	/* An older timestamp than seen: an old duplicate. */
	inject(TCP_ACK, H.pseq, H.sseq, 65535, &o, "old", 3);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(a->nrx, 0);
	assert_int_equal(ST.tcp_dup_segs, 1);
}

static void test_rst_for_unknown(void **state)
{
	struct topt o = {.mss_on = true, .mss = 1460};

	start();
	/* ACK for no connection (no cookies sent): RST seq = ack. */
	inject(TCP_ACK, 5000, 777, 65535, NULL, NULL, 0);
	expect_seg(TCP_RST, 777, 0);
	/* SYN to a closed port: RST|ACK ack = seq + 1. */
	rx_seg(H.sport, TCP_SYN, 5000, 0, 65535, &o, NULL, 0);
	/* (different port: build by hand) */
	drain();
	H.conf.ports[0] = 1;
	net_free(H.s);
	H.s = NULL;
	fk.narp = 0;
	start();
	inject(TCP_SYN, 5000, 0, 65535, &o, NULL, 0);
	expect_seg(TCP_RST | TCP_ACK, 0, 5001);
	inject(TCP_ACK | TCP_FIN, 5000, 99, 65535, NULL, "ab", 2);
	expect_seg(TCP_RST, 99, 0);
	/* Never a RST for a RST. */
	inject(TCP_RST, 5000, 0, 0, NULL, NULL, 0);
	inject(TCP_RST | TCP_ACK, 5000, 1, 0, NULL, NULL, 0);
	expect_none();
	assert_int_equal(ST.tcp_out_rsts, 2);
}

/* ---- SYN cookies
 * ------------------------------------------------------------- */

static void test_syn_cookies(void **state)
{
	H.conf.syn_backlog = 0;
	start();
	struct topt o = {.mss_on = true,
			 .mss = 1300,
			 .ws_on = true,
			 .ws = 7,
			 .ts_on = true,
			 .tsval = 100};

	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	struct cap *c = next_seg();

	assert_int_equal(c->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(c->ack, PEER_ISS + 1);
	assert_int_equal(ST.tcp_syncookies_sent, 1);
	assert_int_equal(ST.tcp_conns, 0); /* no state kept */
	assert_int_equal(c->o.mss, 1300);
	assert_true(c->o.ws_on);
	assert_true(c->o.ts_on);
	assert_int_equal(c->o.tsval & 0xf, 7); /* the peer's scale */
	uint32_t iss = c->seq, cookie_tsval = c->o.tsval;

	/* A bad cookie: RST, counted. */
	struct topt e = {.ts_on = true, .tsval = 101, .tsecr = c->o.tsval};

	inject(TCP_ACK, PEER_ISS + 1, iss + 2, 65535, &e, NULL, 0);
	expect_seg(TCP_RST, iss + 2, 0);
	assert_int_equal(ST.tcp_syncookies_failed, 1);
	/* The right one, with data: the connection exists. */
	inject(TCP_ACK | TCP_PSH, PEER_ISS + 1, iss + 1, 100, &e, "PING", 4);
	assert_int_equal(ST.tcp_syncookies_ok, 1);
	assert_int_equal(napps, 1);
	assert_int_equal(apps[0].nrx, 4);
	struct tcb *t = conn();

	assert_int_equal(t->state, TCPS_ESTABLISHED);
	assert_int_equal(t->smss, 1300 - 12);
	assert_int_equal(t->snd_ws, 7);
	assert_int_equal(t->snd_wnd, 100 << 7);
	assert_true(t->flags & TF_TS);
	H.ts = true;
	H.pseq = PEER_ISS + 5;
	H.sseq = iss + 1;
	static char buf[3000];

	net_tcp_send(t, buf, sizeof(buf));
	net_flush(H.s);
	c = expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(c->len, 1288);
	/* The clock never runs back from the cookie's TSval (PAWS). */
	assert_true(SEQ_GEQ(c->o.tsval, cookie_tsval));
}

/* Whatever the clock's low bits, the TSvals after a cookie handshake never
 * fall below the SYN-ACK's, or the peer would drop them by PAWS (RFC 7323
 * 5.3) and the connection would hang after its handshake. */
static void test_syn_cookie_ts_monotonic(void **state)
{
	H.conf.syn_backlog = 0;
	start();
	struct topt o = {.mss_on = true,
			 .mss = 1460,
			 .ws_on = true,
			 .ws = 14,
			 .sack = true,
			 .ts_on = true,
			 .tsval = 100};

	for (unsigned i = 0; i < 64; i++) {
		H.sport = (uint16_t)(PPORT + i);
		inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
		struct cap *c = next_seg();
		uint32_t iss = c->seq, cookie_tsval = c->o.tsval;
		struct topt e = {
		    .ts_on = true, .tsval = 101, .tsecr = cookie_tsval};

		inject(TCP_ACK, PEER_ISS + 1, iss + 1, 1000, &e, NULL, 0);
		struct tcb *t = conn();

		assert_non_null(t);
		net_tcp_send(t, "+PONG\r\n", 7);
		net_flush(H.s);
		c = expect_seg(TCP_ACK | TCP_PSH, iss + 1, PEER_ISS + 1);
		assert_true(SEQ_GEQ(c->o.tsval, cookie_tsval));
		net_tcp_abort(t);
		napps = 0;
		advance_ms(7); /* another position of the low bits */
		drain();
	}
}

static void test_syn_cookie_no_ts_no_wscale(void **state)
{
	H.conf.syn_backlog = 0;
	start();
	struct topt o = {.mss_on = true, .mss = 1460, .ws_on = true, .ws = 7};

	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	struct cap *c = next_seg();

	assert_false(c->o.ws_on); /* cannot be remembered */
	assert_false(c->o.ts_on);
	inject(TCP_ACK, PEER_ISS + 1, c->seq + 1, 1000, NULL, NULL, 0);
	struct tcb *t = conn();

	assert_non_null(t);
	assert_int_equal(t->snd_ws, 0);
	assert_int_equal(t->rcv_ws, 0);
	assert_int_equal(t->smss, 1460);
	assert_int_equal(t->snd_wnd, 1000);
}

static void test_syn_cookie_when_backlog_full(void **state)
{
	H.conf.syn_backlog = 2;
	start();
	struct topt o = {.mss_on = true, .mss = 1460};

	for (int i = 0; i < 3; i++) {
		H.sport = (uint16_t)(PPORT + i);
		inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
		drain();
	}
	assert_int_equal(ST.tcp_conns, 2);
	assert_int_equal(ST.tcp_syncookies_sent, 1);
	/* A cookie expires after two ~67 s periods. */
	uint32_t iss;

	H.sport = PPORT + 9;
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	iss = next_seg()->seq;
	advance_ms(210000);
	drain();
	inject(TCP_ACK, PEER_ISS + 1, iss + 1, 1000, NULL, NULL, 0);
	expect_seg(TCP_RST, iss + 1, 0);
	assert_null(conn());
}

static void test_max_conns(void **state)
{
	H.conf.max_conns = 1;
	start();
	struct topt o = {.mss_on = true, .mss = 1460};

	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	H.sport = PPORT + 1;
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	assert_int_equal(ncaps(), 1);
	assert_int_equal(ST.tcp_syn_drops, 1);
	drain();
}

/* ---- TIME_WAIT reuse, keepalive
 * ------------------------------------------------ */

static struct tcp_tw *to_time_wait(void)
{
	struct app *a = handshake();

	net_tcp_close(a->t);
	net_flush(H.s);
	H.sseq++;
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	drain();
	assert_null(conn());
	assert_non_null(tw_conn());
	return tw_conn();
}

static void test_time_wait_reuse(void **state)
{
	to_time_wait();
	struct topt o = {
	    .mss_on = true, .mss = 1460, .ts_on = true, .tsval = H.ptsval - 5};

	/* An older timestamp: not a new incarnation, challenge ACK. */
	inject(TCP_SYN, H.pseq + 1000, 0, 65535, &o, NULL, 0);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	assert_non_null(tw_conn());
	/* Newer: the pair is reused. */
	o.tsval = H.ptsval + 100;
	inject(TCP_SYN, H.pseq + 1000, 0, 65535, &o, NULL, 0);
	struct cap *c = next_seg();

	assert_int_equal(c->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(c->ack, H.pseq + 1001);
	assert_int_equal(conn()->state, TCPS_SYN_RCVD);
	assert_null(tw_conn());
	assert_int_equal(ST.tcp_time_wait, 0);
}

/* Many connections closed by the server (QUIT) cost a small record each,
 * in a few slabs, and no TCB; they expire in order. */
static void test_time_wait_compact(void **state)
{
	H.conf.time_wait_ms = 1000;
	for (unsigned i = 0; i < 1000; i++) {
		H.sport = (uint16_t)(PPORT + i);
		napps = 0;
		struct app *a = handshake();

		net_tcp_close(a->t);
		net_flush(H.s);
		H.sseq++;
		peer(TCP_ACK | TCP_FIN, NULL, 0);
		drain();
		if (i == 499)
			advance_ms(500);
	}
	assert_int_equal(ST.tcp_time_wait, 1000);
	assert_int_equal(ST.tcp_conns, 1000);
	/* no TCB left, no timer per connection: the stack's one */
	assert_int_equal(ST.tcp_active_conns, 0);
	assert_true(timer_count(H.s->tw) <= 2);
	assert_true(sizeof(struct tcp_tw) <= 64);
	advance_ms(500); /* the first 500 expire */
	assert_int_equal(ST.tcp_time_wait, 500);
	H.sport = PPORT;
	assert_null(tw_conn());
	H.sport = PPORT + 999;
	assert_non_null(tw_conn());
	advance_ms(500);
	assert_int_equal(ST.tcp_time_wait, 0);
	assert_int_equal(ST.tcp_conns, 0);
	assert_false(timer_armed(&H.s->tcp->tw_timer));
}

static void test_time_wait_reuse_no_ts(void **state)
{
	struct topt o = {.mss_on = true, .mss = 1460};

	H.conf.time_wait_ms = 60000;
	handshake_opts(false, false, 1460);
	net_tcp_close(apps[0].t);
	net_flush(H.s);
	H.sseq++;
	peer(TCP_ACK | TCP_FIN, NULL, 0);
	drain();
	inject(TCP_SYN, H.pseq - 10, 0, 65535, &o, NULL, 0);
	expect_seg(TCP_ACK, H.sseq, H.pseq);
	inject(TCP_SYN, H.pseq + 10, 0, 65535, &o, NULL, 0);
	struct cap *c = next_seg();

	assert_int_equal(c->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(c->ack, H.pseq + 11);
}

static void test_congestion_avoidance(void **state)
{
	struct app *a = handshake();
	static uint8_t buf[200000];

	a->t->ssthresh = 4 * 1448; /* as after a loss */
	a->t->cwnd = 4 * 1448;
	net_tcp_send(a->t, buf, sizeof(buf));
	net_flush(H.s);
	assert_int_equal(ncaps(), 4);
	/* One cwnd of ACKs grows cwnd by one segment, not by each ACK. */
	for (int i = 0; i < 4; i++) {
		drain();
		H.sseq += 1448;
		peer(TCP_ACK, NULL, 0);
	}
	assert_int_equal(a->t->cwnd, 5 * 1448);
	assert_int_equal(ncaps(), 2); /* the last ACK: one freed, one grown */
}

static void test_time_wait_evicted_when_full(void **state)
{
	H.conf.max_conns = 1;
	to_time_wait();
	struct topt o = {.mss_on = true, .mss = 1460};

	H.sport = PPORT + 1;
	inject(TCP_SYN, PEER_ISS, 0, 65535, &o, NULL, 0);
	struct cap *c = next_seg();

	assert_int_equal(c->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(c->dport, PPORT + 1);
	assert_int_equal(ST.tcp_time_wait, 0);
	assert_int_equal(ST.tcp_conns, 1);
	assert_int_equal(ST.tcp_syn_drops, 0);
}

static void test_keepalive(void **state)
{
	H.conf.keepalive_s = 9;
	struct app *a = handshake();

	advance_ms(8999);
	expect_none();
	advance_ms(1);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq); /* probe */
	assert_int_equal(ST.tcp_keepalive_probes, 1);
	peer(TCP_ACK, NULL, 0); /* alive */
	advance_ms(3000);
	expect_none();
	advance_ms(6000);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq);
	/* No answer: probes every 3 s, then RST and ETIMEDOUT. */
	advance_ms(3000);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq);
	advance_ms(3000);
	expect_seg(TCP_ACK, H.sseq - 1, H.pseq);
	assert_int_equal(a->closed, 0);
	advance_ms(3000);
	expect_seg(TCP_RST | TCP_ACK, H.sseq, H.pseq);
	assert_int_equal(a->closed, 1);
	assert_int_equal(a->err, ETIMEDOUT);
	assert_int_equal(ST.tcp_keepalive_probes, 4);
}

/* With the interval as long as the idle time (tcp-keepalive 1), each
 * answered probe is followed by the next one: answers must keep counting
 * as signs of life, or a live peer is reset after three rounds. */
static void test_keepalive_short_answered(void **state)
{
	H.conf.keepalive_s = 1;
	struct app *a = handshake();

	for (int i = 0; i < 10; i++) {
		advance_ms(1000);
		expect_seg(TCP_ACK, H.sseq - 1, H.pseq); /* probe */
		advance_ms(1);
		peer(TCP_ACK, NULL, 0); /* alive */
	}
	assert_int_equal(a->closed, 0);
	assert_int_equal(ST.tcp_keepalive_probes, 10);
	assert_int_equal(ST.tcp_out_rsts, 0);
}

static void test_keepalive_traffic_postpones(void **state)
{
	H.conf.keepalive_s = 9;
	handshake();
	for (int i = 0; i < 5; i++) {
		advance_ms(5000);
		peer(TCP_ACK | TCP_PSH, "x", 1);
		advance_ms(40);
		drain();
	}
	assert_int_equal(ST.tcp_keepalive_probes, 0);
}

static void test_shutdown_resets(void **state)
{
	struct app *a = handshake();

	net_free(H.s);
	H.s = NULL;
	assert_int_equal(a->closed, 1);
	assert_int_equal(a->err, ESHUTDOWN);
	expect_seg(TCP_RST | TCP_ACK, H.sseq, H.pseq);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_handshake),
	    T(test_handshake_no_options),
	    T(test_isn_differs_per_tuple),
	    T(test_synack_retransmit_and_give_up),
	    T(test_refused_by_app),
	    T(test_data_in_delayed_ack),
	    T(test_data_in_ack_every_second_segment),
	    T(test_reply_piggybacks_ack),
	    T(test_data_out_iw_and_slow_start),
	    T(test_send_buffer_full_writable),
	    T(test_rto_backoff),
	    T(test_rto_restarts_on_ack),
	    T(test_karn_without_timestamps),
	    T(test_rtt_from_timestamps),
	    T(test_retries_exhausted),
	    T(test_fast_retransmit_newreno),
	    T(test_out_of_order_reassembly),
	    T(test_ooo_overlap_and_fin),
	    T(test_ooo_limit),
	    T(test_ooo_many_segments_bounded),
	    T(test_sack_not_without_offer),
	    T(test_sack_blocks_sent),
	    T(test_sack_recovery_every_hole),
	    T(test_sack_duplicated_ack_not_counted),
	    T(test_sack_reordering_no_retransmit),
	    T(test_tlp_tail_loss),
	    T(test_tlp_single_segment),
	    T(test_tlp_second_probe),
	    T(test_no_tlp_without_sack),
	    T(test_sack_early_retransmit),
	    T(test_sack_lost_retransmission),
	    T(test_rto_restored_after_backoff),
	    T(test_tlp_dsack_answer),
	    T(test_sack_recovery_probe),
	    T(test_zero_window_advertised),
	    T(test_persist_probes),
	    T(test_window_scaling_applied),
	    T(test_peer_closes_half_close),
	    T(test_last_ack_fin_retransmitted),
	    T(test_active_close_time_wait),
	    T(test_simultaneous_close),
	    T(test_fin_wait_2_timeout),
	    T(test_data_after_close_rst),
	    T(test_close_from_readable),
	    T(test_readable_after_the_frames),
	    T(test_close_other_from_readable),
	    T(test_close_from_readable_after_ooo),
	    T(test_reset_in_burst_no_readable),
	    T(test_refused_with_message),
	    T(test_abort_from_recv),
	    T(test_rst_established),
	    T(test_rst_syn_rcvd),
	    T(test_rst_close_wait),
	    T(test_rst_after_app_close),
	    T(test_rst_time_wait_ignored),
	    T(test_syn_in_established_challenge),
	    T(test_ack_acceptability),
	    T(test_paws),
	    T(test_rst_for_unknown),
	    T(test_syn_cookies),
	    T(test_syn_cookie_ts_monotonic),
	    T(test_syn_cookie_no_ts_no_wscale),
	    T(test_syn_cookie_when_backlog_full),
	    T(test_max_conns),
	    T(test_time_wait_reuse),
	    T(test_time_wait_reuse_no_ts),
	    T(test_time_wait_compact),
	    T(test_congestion_avoidance),
	    T(test_time_wait_evicted_when_full),
	    T(test_keepalive),
	    T(test_keepalive_short_answered),
	    T(test_keepalive_traffic_postpones),
	    T(test_shutdown_resets),
	    T(test_path_follows_arp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
