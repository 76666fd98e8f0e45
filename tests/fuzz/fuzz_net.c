/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the userspace TCP/IP stack (dataplane/net): one
 * stack, a fake driver with exact-size malloc'd buffers (so ASan sees any
 * access past a frame) and an application that accepts and echoes.
 *
 * Every run starts with an ARP request and a three-way handshake from one
 * client, so the input's operations begin in ESTABLISHED.  The input is then
 * a list of operations, each a byte code and its arguments:
 *
 *   raw frame       any bytes as a frame
 *   segment         a well-formed segment of the client's connection (right
 *                   checksums, seq/ack near the real ones, fuzzed flags,
 *                   window, options and payload) so it passes the layers
 *                   below and reaches the state machine
 *   new SYN         from another client port, with fuzzed options
 *   time            advance the clock and run the timers
 *   app             the application consumes, closes or aborts
 *   ARP, ICMP       fuzzed ARP frames and echo requests
 *   corrupt         the last built frame with one byte flipped
 *
 * With the config byte's bit 6 the port is a local virtual device
 * (conf.rx_csum_partial); a segment operation's top bits then give it the
 * checksum field a kernel leaves for an offload (the pseudo-header sum
 * only) and sometimes an IP length beyond the frame, as af_packet delivers
 * a TSO/GSO frame cut at its frame size.
 *
 * Besides memory errors it checks every frame the stack sends: lengths,
 * IPv4 header and TCP checksums, and that buffers all come back.
 *
 * Built two ways (tests/fuzz/meson.build): with -fsanitize=fuzzer by
 * run-fuzz.sh (allocations on libc, mi_libc_shim.c), and with replay.c as
 * a plain program over the corpus.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_pvt.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the fake driver --------------------------------------------------- */

#define TX_CAP 1600
#define POOL_MAX 1024

struct net_buf {
	uint8_t *data;
	size_t cap;
};

static long live;
static bool alloc_fail;
static unsigned tx_flags_ok; /* offloads the config allows */

static struct net_buf *buf_new(size_t cap)
{
	struct net_buf *b = malloc(sizeof(*b));

	CHECK(b);
	b->data = malloc(cap ? cap : 1);
	CHECK(b->data);
	b->cap = cap;
	live++;
	return b;
}

static void fk_free(void *drv, struct net_buf *b)
{
	(void)drv;
	CHECK(b && live > 0);
	live--;
	free(b->data);
	free(b);
}

static struct net_buf *fk_alloc(void *drv, uint8_t **data, size_t *cap)
{
	(void)drv;
#ifndef FUZZ_NET_NO_ALLOC_FAIL
	/* An empty pool, as when the NIC holds every mbuf. */
	if (alloc_fail || live >= POOL_MAX)
		return NULL;
#endif
	struct net_buf *b = buf_new(TX_CAP);

	memset(b->data, 0xa5, TX_CAP);
	*data = b->data;
	*cap = TX_CAP;
	return b;
}

static uint16_t sum16(const uint8_t *p, size_t n, uint32_t start)
{
	uint64_t s = start;

	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       proto + len;
}

/* What the client knows of the server side, from the frames it sends. */
static struct client {
	uint16_t port;
	uint32_t snd_nxt; /* ours */
	uint32_t srv_nxt; /* the server's, highest seen */
	bool synack_seen;
} cli;

#define CLI_IP 0x0a000002u
#define SRV_IP 0x0a000001u
#define SRV_PORT 6379
static const uint8_t cli_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t srv_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void check_tcp_out(const uint8_t *ip, size_t tot, unsigned flags)
{
	size_t l4 = tot - IP4_HLEN;
	const uint8_t *th = ip + IP4_HLEN;
	uint32_t src = get32(ip + 12);
	uint32_t dst = get32(ip + 16);

	CHECK(l4 >= TCP_HLEN);
	size_t off = (th[12] >> 4) * 4u;
	CHECK(off >= TCP_HLEN && off <= l4);
	if (flags & NET_TX_TCP_CSUM)
		CHECK(((th[16] << 8) | th[17]) ==
		      sum16(NULL, 0, pseudo(src, dst, 6, (uint16_t)l4)));
	else
		CHECK(sum16(th, l4, pseudo(src, dst, 6, (uint16_t)l4)) ==
		      0xffff);
	uint16_t dport = (uint16_t)(th[2] << 8 | th[3]);
	if (dst != CLI_IP || dport != cli.port)
		return;
	uint32_t seq = get32(th + 4);
	uint32_t end = seq + (uint32_t)(l4 - off) + !!(th[13] & TCP_SYN) +
		       !!(th[13] & TCP_FIN);
	if ((th[13] & TCP_SYN) && (th[13] & TCP_ACK) && !cli.synack_seen) {
		cli.synack_seen = true;
		cli.srv_nxt = end;
	} else if (cli.synack_seen && (int32_t)(end - cli.srv_nxt) > 0) {
		cli.srv_nxt = end;
	}
}

static void fk_send(void *drv, struct net_buf *b, size_t len, unsigned flags)
{
	CHECK(len >= ETH_HLEN && len <= b->cap);
	CHECK((flags & ~tx_flags_ok) == 0);
	const uint8_t *f = b->data;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	CHECK(memcmp(f + 6, srv_mac, 6) == 0);
	if (type == ETH_TYPE_IPV4) {
		const uint8_t *ip = f + ETH_HLEN;
		size_t tot = (size_t)(ip[2] << 8 | ip[3]);

		CHECK(len >= ETH_HLEN + IP4_HLEN);
		CHECK(ETH_HLEN + tot == len);
		CHECK(tot <= 1500);
		if (!(flags & NET_TX_IP_CSUM))
			CHECK(sum16(ip, (ip[0] & 0xf) * 4u, 0) == 0xffff);
		if (ip[9] == IP4_PROTO_TCP)
			check_tcp_out(ip, tot, flags);
	} else {
		CHECK(type == ETH_TYPE_ARP);
	}
	fk_free(drv, b);
}

static bool fk_steer(void *drv, unsigned to, struct net_buf *b,
		     const uint8_t *frame, size_t len)
{
	CHECK(frame >= b->data && frame + len <= b->data + b->cap);
	if (to == NET_STEER_ALL)
		return true;
	if (alloc_fail)
		return false;
	fk_free(drv, b);
	return true;
}

static const struct net_io io = {
    .alloc = fk_alloc,
    .send = fk_send,
    .free = fk_free,
    .steer = fk_steer,
};

/* ---- the application: accept and echo ------------------------------- */

struct app_conn {
	struct tcb *t;
	uint8_t *buf;
	size_t len, cap;
	bool eof;
	struct app_conn *next, **pprev;
};

static struct app_conn *conns;
static unsigned nconns;
static uint32_t rcvbuf;

static void conn_unlink(struct app_conn *c)
{
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	nconns--;
	free(c->buf);
	free(c);
}

static void *app_accept(void *arg, struct tcb *t, uint32_t pip, uint16_t pp,
			uint32_t lip, uint16_t lp)
{
	(void)arg;
	CHECK(lip == SRV_IP && lp == SRV_PORT && pip == CLI_IP);
	(void)pp;
	if (nconns >= 64)
		return NULL;
	struct app_conn *c = calloc(1, sizeof(*c));

	CHECK(c);
	c->t = t;
	c->next = conns;
	if (conns)
		conns->pprev = &c->next;
	c->pprev = &conns;
	conns = c;
	nconns++;
	return c;
}

static void app_recv(void *app, const uint8_t *data, size_t len)
{
	struct app_conn *c = app;

	CHECK(!c->eof);
	CHECK(len > 0);
	if (c->len + len > c->cap) {
		c->cap = (c->len + len) * 2;
		c->buf = realloc(c->buf, c->cap);
		CHECK(c->buf);
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	/* The window is rcvbuf minus what waits here: more is a bug. */
	CHECK(c->len <= rcvbuf + 65536);
}

static size_t app_pending(void *app)
{
	return ((struct app_conn *)app)->len;
}

static void app_writable(void *app)
{
	(void)app;
}

static void app_eof(void *app)
{
	((struct app_conn *)app)->eof = true;
}

static void app_closed(void *app, int err)
{
	CHECK(err > 0);
	conn_unlink(app);
}

static const struct net_app_ops app = {
    .accept = app_accept,
    .recv = app_recv,
    .pending = app_pending,
    .writable = app_writable,
    .eof = app_eof,
    .closed = app_closed,
};

/* Echo what arrived, as far as the send buffer takes it; close after the
 * peer's FIN once everything went back. */
static void app_turn(struct net_stack *s)
{
	struct app_conn *c = conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->len) {
			size_t n = net_tcp_send(c->t, c->buf, c->len);

			CHECK(n <= c->len);
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
		}
		if (c->eof && !c->len) {
			net_tcp_close(c->t);
			conn_unlink(c);
		}
	}
	(void)s;
}

/* ---- frames the client builds ---------------------------------------- */

static uint8_t last[2048];
static size_t last_len;

static void rx(struct net_stack *s, const uint8_t *f, size_t len,
	       unsigned flags)
{
	struct net_buf *b = buf_new(len);

	memcpy(b->data, f, len);
	if (len <= sizeof(last)) {
		memcpy(last, f, len);
		last_len = len;
	}
	net_rx(s, b, b->data, len, flags, 0);
}

static size_t eth(uint8_t *f, uint16_t type)
{
	memcpy(f, srv_mac, 6);
	memcpy(f + 6, cli_mac, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	return ETH_HLEN;
}

static size_t ip_frame(uint8_t *f, uint8_t proto, const uint8_t *l4,
		       size_t l4len)
{
	uint8_t *ip = f + eth(f, ETH_TYPE_IPV4);
	uint32_t src = htonl(CLI_IP), dst = htonl(SRV_IP);

	memset(ip, 0, IP4_HLEN);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((IP4_HLEN + l4len) >> 8);
	ip[3] = (uint8_t)(IP4_HLEN + l4len);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint16_t c = (uint16_t)~sum16(ip, IP4_HLEN, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	memcpy(ip + IP4_HLEN, l4, l4len);
	return ETH_HLEN + IP4_HLEN + l4len;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* How op_segment wants the next tcp_frame: the checksum field a kernel
 * leaves for CHECKSUM_PARTIAL, and bytes the IP length claims beyond the
 * frame (a cut TSO/GSO frame). */
static bool seg_partial;
static size_t seg_cut;

static void tcp_frame(struct net_stack *s, uint16_t sport, uint32_t seq,
		      uint32_t ack, uint8_t flags, uint16_t win,
		      const uint8_t *opt, size_t optlen, const uint8_t *pay,
		      size_t paylen)
{
	uint8_t seg[1500], f[1600];

	optlen &= ~(size_t)3;
	if (optlen > 40)
		optlen = 40;
	if (TCP_HLEN + optlen + paylen > sizeof(seg) - IP4_HLEN)
		paylen = sizeof(seg) - IP4_HLEN - TCP_HLEN - optlen;
	size_t l4 = TCP_HLEN + optlen + paylen;
	memset(seg, 0, TCP_HLEN);
	seg[0] = sport >> 8;
	seg[1] = sport & 0xff;
	seg[2] = SRV_PORT >> 8;
	seg[3] = SRV_PORT & 0xff;
	put32(seg + 4, seq);
	put32(seg + 8, ack);
	seg[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
	seg[13] = flags;
	seg[14] = win >> 8;
	seg[15] = win & 0xff;
	if (optlen)
		memcpy(seg + TCP_HLEN, opt, optlen);
	if (paylen)
		memcpy(seg + TCP_HLEN + optlen, pay, paylen);
	uint16_t claim = (uint16_t)(l4 + seg_cut);
	uint16_t c =
	    seg_partial ? sum16(NULL, 0, pseudo(CLI_IP, SRV_IP, 6, claim))
			: (uint16_t)~sum16(
			      seg, l4, pseudo(CLI_IP, SRV_IP, 6, (uint16_t)l4));
	seg[16] = c >> 8;
	seg[17] = c & 0xff;
	size_t n = ip_frame(f, IP4_PROTO_TCP, seg, l4);
	if (seg_cut) {
		uint8_t *ip = f + ETH_HLEN;

		ip[2] = (uint8_t)((IP4_HLEN + claim) >> 8);
		ip[3] = (uint8_t)(IP4_HLEN + claim);
		ip[10] = ip[11] = 0;
		c = (uint16_t)~sum16(ip, IP4_HLEN, 0);
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	rx(s, f, n, 0);
}

static void arp_frame(struct net_stack *s, uint16_t op, uint32_t spa,
		      uint32_t tpa, const uint8_t *sha)
{
	uint8_t f[60] = {0};
	struct arp_hdr *a = (struct arp_hdr *)(f + eth(f, ETH_TYPE_ARP));

	a->hw = htons(ARP_HW_ETHER);
	a->proto = htons(ETH_TYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->op = htons(op);
	memcpy(a->sha, sha, 6);
	a->spa = htonl(spa);
	a->tpa = htonl(tpa);
	rx(s, f, sizeof(f), 0);
}

/* ---- the input ---------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	uint16_t hi = u8(in);

	return (uint16_t)(hi << 8 | u8(in));
}

static const uint8_t *bytes(struct in *in, size_t *len)
{
	const uint8_t *p = in->p;

	if (*len > in->n)
		*len = in->n;
	in->p += *len;
	in->n -= *len;
	return p;
}

static void advance(struct net_stack *s, uint64_t us)
{
	net_set_time(s, s->now_us + us);
	net_timers(s);
}

static void handshake(struct net_stack *s)
{
	static const uint8_t opts[20] = {2, 4,	0x05, 0xb4, /* MSS 1460 */
					 1, 3,	3,    7,    /* NOP, WS 7 */
					 4, 2,		    /* SACK ok */
					 8, 10, 0,    0,    0,
					 1, 0,	0,    0,    0}; /* TS */

	arp_frame(s, ARP_OP_REQUEST, CLI_IP, SRV_IP, cli_mac);
	/* A port whose flow stays on this worker. */
	cli.port = 40000;
	while (net_flow_worker(s, CLI_IP, cli.port, SRV_IP, SRV_PORT, 0, 0) !=
	       s->conf.worker)
		cli.port++;
	cli.snd_nxt = 1000;
	tcp_frame(s, cli.port, cli.snd_nxt - 1, 0, TCP_SYN, 65535, opts, 20,
		  NULL, 0);
	net_flush(s);
	uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0};
	tcp_frame(s, cli.port, cli.snd_nxt, cli.srv_nxt, TCP_ACK, 1024, ts, 12,
		  NULL, 0);
	net_flush(s);
}

static void op_segment(struct net_stack *s, struct in *in, uint8_t op)
{
	uint8_t flags = u8(in);
	int16_t dseq = (int16_t)u16(in), dack = (int16_t)u16(in);
	uint16_t win = u16(in);
	size_t optlen = u8(in) % 44, paylen = u8(in);

	if (paylen > 200)
		paylen = (paylen - 200) * 40; /* up to 2200: some big ones */
	const uint8_t *opt = bytes(in, &optlen);
	uint8_t pay[2300];
	size_t have = paylen < 32 ? paylen : 32;
	const uint8_t *src = bytes(in, &have);
	for (size_t i = 0; i < paylen; i++)
		pay[i] = have ? src[i % have] : (uint8_t)i;
	/* Small deltas mostly: in-window and just outside. */
	uint32_t seq = cli.snd_nxt + (uint32_t)(dseq % 3000);
	uint32_t ack = cli.srv_nxt + (uint32_t)(dack % 3000);
	if (!(flags & 0x40)) /* the ECE bit stands for "exact" */
		seq = cli.snd_nxt, ack = cli.srv_nxt;
	seg_partial = op & 0x80;
	seg_cut = (op & 0x40) ? (size_t)u8(in) * 64 + 1 : 0;
	tcp_frame(s, cli.port, seq, ack, flags & ~0x40, win, opt, optlen, pay,
		  paylen);
	seg_partial = false;
	seg_cut = 0;
	/* A cut segment loses its FIN (the stack keeps the part it has). */
	if (seq == cli.snd_nxt && paylen <= 1460)
		cli.snd_nxt +=
		    (uint32_t)paylen + (!!(flags & TCP_FIN) && !(op & 0x40));
}

static void op_syn(struct net_stack *s, struct in *in)
{
	uint16_t port = u16(in);
	uint32_t seq = (uint32_t)u16(in) << 16 | u16(in);
	size_t optlen = u8(in) % 44;
	const uint8_t *opt = bytes(in, &optlen);
	uint8_t fl = u8(in);

	tcp_frame(s, port, seq, 0, TCP_SYN | (fl & 0xc1), 65535, opt, optlen,
		  NULL, 0);
	net_flush(s);
	/* Sometimes complete it with a guessed ACK (a cookie check). */
	if (fl & 2)
		tcp_frame(s, port, seq + 1, (uint32_t)u16(in) << 16 | u16(in),
			  TCP_ACK, 8192, NULL, 0, NULL, 0);
}

static void op_app(struct net_stack *s, struct in *in)
{
	uint8_t what = u8(in);
	struct app_conn *c = conns;

	for (unsigned k = what >> 3; c && k; k--)
		c = c->next;
	if (!c)
		return;
	switch (what & 7) {
	case 0:
		net_tcp_close(c->t);
		conn_unlink(c);
		break;
	case 1:
		net_tcp_abort(c->t);
		conn_unlink(c);
		break;
	case 2: {
		uint8_t junk[4096];
		size_t n = (size_t)u8(in) * 16;

		memset(junk, 'x', n);
		CHECK(net_tcp_send(c->t, junk, n) <= n);
		CHECK(net_tcp_unacked(c->t) <= 16u << 20);
		break;
	}
	default:
		(void)net_tcp_unacked(c->t);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct net_conf conf;
	uint8_t cfg = u8(&in);

	net_conf_default(&conf);
	memcpy(conf.mac, srv_mac, 6);
	conf.ip = SRV_IP;
	conf.prefix = 24;
	conf.gateway = (cfg & 1) ? 0x0a0000feu : 0;
	conf.ports[0] = SRV_PORT;
	conf.nports = 1;
	conf.tx_offloads = (cfg & 2) ? NET_TX_IP_CSUM | NET_TX_TCP_CSUM : 0;
	conf.rcvbuf = (cfg & 4) ? 4096 : 262144;
	conf.sndbuf = (cfg & 4) ? 8192 : 262144;
	conf.syn_backlog = (cfg & 8) ? 2 : 512; /* cookies early */
	conf.max_conns = (cfg & 16) ? 4 : 1024;
	conf.rx_csum_partial = cfg & 64; /* af_packet, tap: a local kernel */
	if (cfg & 32) {
		/* Two workers: some flows are steered away. */
		conf.nworkers = 2;
	}
	for (unsigned i = 0; i < 32; i++)
		conf.secret[i] = (uint8_t)(i * 37 + 1);
	tx_flags_ok = conf.tx_offloads;
	rcvbuf = conf.rcvbuf;
	live = 0;
	alloc_fail = false;
	conns = NULL;
	nconns = 0;
	memset(&cli, 0, sizeof(cli));
	last_len = 0;

	struct net_stack *s = net_new(&conf, &io, &app, NULL);
	CHECK(s);
	net_set_time(s, 1000000000ull);
	net_announce(s);
	handshake(s);
	app_turn(s);
	net_flush(s);
#ifdef FUZZ_NET_TRACE
	fprintf(stderr, "after handshake: %u conn(s), srv_nxt %u, %lu out\n",
		nconns, cli.srv_nxt, (unsigned long)s->st.tcp_out_segs);
#endif

	while (in.n) {
		uint8_t op = u8(&in);

		switch (op % 10) {
		case 0: {
			size_t len = u16(&in) % 1600;
			const uint8_t *f = bytes(&in, &len);

			rx(s, f, len, (op >> 4) & 0x2f);
			break;
		}
		case 1:
		case 2:
		case 3:
			op_segment(s, &in, op);
			break;
		case 4:
			op_syn(s, &in);
			break;
		case 5: {
			uint16_t t = u16(&in);
			/* ms, or seconds to reach RTO backoff, keepalive
			 * and TIME_WAIT ends. */
			advance(s, (op & 0x80) ? (uint64_t)t * 100000
					       : (uint64_t)t * 1000);
			break;
		}
		case 6:
			op_app(s, &in);
			break;
		case 7: {
			uint8_t sha[6] = {0x02, 0, 0, 0, 0, u8(&in)};
			uint16_t opc = u8(&in) & 3;
			uint32_t spa = 0x0a000000u | u8(&in);
			arp_frame(s, opc, spa, (op & 0x80) ? SRV_IP : spa, sha);
			break;
		}
		case 8: {
			uint8_t l4[256];
			size_t len = u8(&in);
			const uint8_t *p = bytes(&in, &len);
			uint8_t f[400];

			memcpy(l4, p, len);
			if (len >= 4) {
				l4[0] = ICMP_ECHO_REQUEST;
				l4[1] = 0;
				l4[2] = l4[3] = 0;
				uint16_t c = (uint16_t)~sum16(l4, len, 0);
				l4[2] = c >> 8;
				l4[3] = c & 0xff;
			}
			rx(s, f, ip_frame(f, IP4_PROTO_ICMP, l4, len), 0);
			break;
		}
		case 9:
			if (last_len) {
				uint8_t f[2048];
				size_t at = u16(&in) % last_len;

				memcpy(f, last, last_len);
				f[at] ^= (uint8_t)(u8(&in) | 1);
				rx(s, f, last_len, 0);
			}
			alloc_fail = op & 0x80;
			break;
		}
		app_turn(s);
		net_flush(s);
	}
	alloc_fail = false;
	/* Let everything time out, then tear down. */
	for (unsigned i = 0; i < 5; i++) {
		advance(s, 30000000);
		app_turn(s);
		net_flush(s);
	}
#ifdef FUZZ_NET_TRACE
	const struct net_stats *st = net_stats(s);
	fprintf(
	    stderr,
	    "rx %lu tx %lu in_segs %lu out_segs %lu rst %lu/%lu "
	    "conns %lu passive %lu partial %lu cut %lu\n",
	    (unsigned long)st->rx_frames, (unsigned long)st->tx_frames,
	    (unsigned long)st->tcp_in_segs, (unsigned long)st->tcp_out_segs,
	    (unsigned long)st->tcp_in_rsts, (unsigned long)st->tcp_out_rsts,
	    (unsigned long)st->tcp_conns, (unsigned long)st->tcp_passive_opens,
	    (unsigned long)st->rx_csum_partial, (unsigned long)st->rx_gso_cut);
#endif
	net_free(s);
	CHECK(conns == NULL && nconns == 0);
	CHECK(live == 0);
	return 0;
}
