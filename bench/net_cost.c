/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_cost: the userspace TCP/IP stack (dataplane/net) on its own, for
 * counting its instructions per request under callgrind (bench/net_cost.py).
 *
 * One net_stack with a driver that is a few lines of C (a ring of static
 * buffers; sending records the frame, nothing is copied) and an
 * application that answers every request with "+PONG\r\n" from its recv
 * upcall, as conn does.  A simulated client sends "*1\r\n$4\r\nPING\r\n"
 * carrying the ACK of the previous reply, the way redis-cli and
 * redis-benchmark -P 1 do, and checks each reply on the wire: one frame,
 * the right addresses, sequence and acknowledgement numbers, payload and,
 * without offload, checksums.  Each exchange is one worker turn:
 *
 *   net_set_time; net_rx(request); net_readable; net_timers; net_flush
 *                                                    -> one reply
 *
 * with the clock 50 us further every turn.  Everything the stack costs
 * per request is in that turn; the client's work and the driver's are
 * outside dataplane/net and not counted by net_cost.py.
 *
 * Usage: net_cost [-s] [-n exchanges]
 *   -s  software checksums: the port offers no offload, received frames
 *       carry no NET_RX_*_CSUM_* flags and the stack checks and computes
 *       every checksum itself (default: RX and TX checksum offload on).
 * Prints "exchanges N" and the stack's counters; exits 1 on a wrong
 * reply.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

#define NC_BUFS 64
#define NC_BUF_CAP 2048
#define NC_SERVER_IP 0x0a000001u /* 10.0.0.1 */
#define NC_CLIENT_IP 0x0a000002u
#define NC_PORT 6379
#define NC_CLIENT_PORT 40000
#define NC_TURN_US 50

static const char nc_request[] = "*1\r\n$4\r\nPING\r\n";
static const char nc_reply[] = "+PONG\r\n";
static const uint8_t nc_server_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t nc_client_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

/* ---- the driver -------------------------------------------------------- */

struct net_buf {
	uint8_t d[NC_BUF_CAP];
};

static struct nc_drv {
	struct net_buf bufs[NC_BUFS];
	unsigned next;
	const uint8_t *sent; /* the last frame the stack sent */
	size_t sent_len;
	unsigned sent_flags;
	unsigned nsent;
} nc_drv;

static struct net_buf *nc_alloc(void *drv, uint8_t **data, size_t *cap)
{
	struct nc_drv *d = drv;
	struct net_buf *b = &d->bufs[d->next++ % NC_BUFS];

	*data = b->d;
	*cap = sizeof(b->d);
	return b;
}

static void nc_send(void *drv, struct net_buf *b, size_t len, unsigned flags)
{
	struct nc_drv *d = drv;

	d->sent = b->d;
	d->sent_len = len;
	d->sent_flags = flags;
	d->nsent++;
}

static void nc_free(void *drv, struct net_buf *b) {}

static const struct net_io nc_io = {
    .drv = &nc_drv, .alloc = nc_alloc, .send = nc_send, .free = nc_free};

/* ---- the application ------------------------------------------------- */

static struct tcb *nc_conn;

static void *nc_accept(void *arg, struct tcb *t, uint32_t peer_ip,
		       uint16_t peer_port, uint32_t local_ip,
		       uint16_t local_port)
{
	nc_conn = t;
	return t;
}

static void nc_recv(void *app, const uint8_t *data, size_t len) {}

/* The request runs after the frames, as the DPDK transport runs it. */
static void nc_readable(void *app)
{
	net_tcp_send(app, nc_reply, sizeof(nc_reply) - 1);
}

static size_t nc_pending(void *app)
{
	return 0;
}

static void nc_nop(void *app) {}

static void nc_closed(void *app, int err)
{
	nc_conn = NULL;
}

static const struct net_app_ops nc_app = {.accept = nc_accept,
					  .recv = nc_recv,
					  .readable = nc_readable,
					  .pending = nc_pending,
					  .writable = nc_nop,
					  .eof = nc_nop,
					  .closed = nc_closed};

/* ---- the client ------------------------------------------------------ */

struct nc_client {
	bool soft; /* compute checksums, expect them computed */
	uint32_t seq, ack;
	uint32_t tsval, tsecr;
	uint16_t ip_id;
	struct net_buf rx; /* the frame handed to net_rx */
};

/* RFC 1071, independent of the stack's own (its cost must not count). */
static uint32_t nc_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t nc_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t nc_pseudo(uint32_t src, uint32_t dst, size_t l4len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 +
	       (uint32_t)l4len;
}

static void nc_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void nc_put32(uint8_t *p, uint32_t v)
{
	nc_put16(p, (uint16_t)(v >> 16));
	nc_put16(p + 2, (uint16_t)v);
}

static uint16_t nc_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t nc_get32(const uint8_t *p)
{
	return (uint32_t)nc_get16(p) << 16 | nc_get16(p + 2);
}

/* A client segment: timestamps always, MSS/SACK-permitted/window scale on
 * a SYN, as Linux sends them.  Returns the frame length. */
static size_t nc_segment(struct nc_client *c, uint8_t flags, const char *data)
{
	uint8_t *f = c->rx.d, *ip = f + 14, *th = ip + 20, *o = th + 20;
	size_t dlen = data ? strlen(data) : 0, olen = 0;

	memset(f, 0, 14 + 20 + 60);
	memcpy(f, nc_server_mac, 6);
	memcpy(f + 6, nc_client_mac, 6);
	nc_put16(f + 12, 0x0800);
	if (flags & 0x02) {
		/* MSS 1460, NOP WS 7, NOP NOP SACK-permitted */
		static const uint8_t syn[12] = {2, 4, 0x05, 0xb4, 1, 3,
						3, 7, 1,    1,	  4, 2};

		memcpy(o, syn, sizeof(syn));
		olen = sizeof(syn);
	}
	o[olen] = 1;
	o[olen + 1] = 1;
	o[olen + 2] = 8;
	o[olen + 3] = 10;
	nc_put32(o + olen + 4, c->tsval);
	nc_put32(o + olen + 8, c->tsecr);
	olen += 12;
	size_t l4len = 20 + olen + dlen;

	ip[0] = 0x45;
	nc_put16(ip + 2, (uint16_t)(20 + l4len));
	nc_put16(ip + 4, c->ip_id++);
	nc_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	nc_put32(ip + 12, NC_CLIENT_IP);
	nc_put32(ip + 16, NC_SERVER_IP);
	nc_put16(th, NC_CLIENT_PORT);
	nc_put16(th + 2, NC_PORT);
	nc_put32(th + 4, c->seq);
	nc_put32(th + 8, c->ack);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	nc_put16(th + 14, 502); /* 64 KB at scale 7 */
	if (dlen)
		memcpy(th + 20 + olen, data, dlen);
	if (c->soft) {
		nc_put16(ip + 10, (uint16_t)~nc_fold(nc_sum(0, ip, 20)));
		nc_put16(th + 16,
			 (uint16_t)~nc_fold(nc_sum(
			     nc_pseudo(NC_CLIENT_IP, NC_SERVER_IP, l4len), th,
			     l4len)));
	}
	return 14 + 20 + l4len;
}

static void nc_die(const char *what, unsigned long i)
{
	fprintf(stderr, "net_cost: %s (exchange %lu)\n", what, i);
	exit(1);
}

/* Check the one frame the stack sent and learn its sequence number and
 * TSval; returns its payload length. */
static size_t nc_check_reply(struct nc_client *c, uint8_t flags,
			     unsigned long i)
{
	const uint8_t *f = nc_drv.sent, *ip = f + 14, *th = ip + 20;
	size_t len = nc_drv.sent_len;

	if (nc_drv.nsent != 1)
		nc_die("not one frame sent", i);
	nc_drv.nsent = 0;
	if (len < 14 + 20 + 20 || memcmp(f, nc_client_mac, 6) ||
	    memcmp(f + 6, nc_server_mac, 6) || nc_get16(f + 12) != 0x0800 ||
	    ip[0] != 0x45 || ip[9] != 6 || nc_get16(ip + 2) != len - 14 ||
	    nc_get32(ip + 12) != NC_SERVER_IP ||
	    nc_get32(ip + 16) != NC_CLIENT_IP || nc_get16(th) != NC_PORT ||
	    nc_get16(th + 2) != NC_CLIENT_PORT)
		nc_die("bad headers", i);
	size_t hl = (size_t)(th[12] >> 4) * 4, l4len = len - 14 - 20;

	if (th[13] != flags || nc_get32(th + 8) != c->seq || hl < 32 ||
	    hl > l4len)
		nc_die("bad TCP header", i);
	if (c->soft) {
		if (nc_drv.sent_flags || nc_fold(nc_sum(0, ip, 20)) != 0xffff ||
		    nc_fold(nc_sum(nc_pseudo(NC_SERVER_IP, NC_CLIENT_IP, l4len),
				   th, l4len)) != 0xffff)
			nc_die("bad checksum", i);
	} else {
		/* The NIC finishes from the pseudo-header sum. */
		uint16_t ph =
		    nc_fold(nc_pseudo(NC_SERVER_IP, NC_CLIENT_IP, l4len));

		if (nc_drv.sent_flags != (NET_TX_IP_CSUM | NET_TX_TCP_CSUM) ||
		    nc_get16(th + 16) != ph)
			nc_die("bad offload request", i);
	}
	/* The timestamps option: the last 12 bytes, NOP NOP TS 10. */
	const uint8_t *ts = th + hl - 12;

	if (ts[0] != 1 || ts[1] != 1 || ts[2] != 8 || ts[3] != 10 ||
	    nc_get32(ts + 8) != c->tsval)
		nc_die("bad timestamps", i);
	c->tsecr = nc_get32(ts + 4);
	c->ack = nc_get32(th + 4) + (uint32_t)(l4len - hl);
	return l4len - hl;
}

static void nc_usage(void)
{
	fprintf(stderr, "usage: net_cost [-s] [-n exchanges]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct nc_client c = {.seq = 1000000, .tsval = 5000};
	unsigned long n = 10000;
	unsigned rxflags = NET_RX_IP_CSUM_GOOD | NET_RX_L4_CSUM_GOOD;
	struct net_conf conf;
	int opt;

	while ((opt = getopt(argc, argv, "sn:")) != -1) {
		switch (opt) {
		case 's':
			c.soft = true;
			rxflags = 0;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		default:
			nc_usage();
		}
	}
	if (optind != argc)
		nc_usage();

	net_conf_default(&conf);
	memcpy(conf.mac, nc_server_mac, 6);
	conf.ip = NC_SERVER_IP;
	conf.prefix = 24;
	conf.ports[0] = NC_PORT;
	conf.nports = 1;
	if (!c.soft) {
		conf.tx_offloads = NET_TX_IP_CSUM | NET_TX_TCP_CSUM;
		conf.rx_csum_offload = true;
	}
	memset(conf.secret, 0x5a, sizeof(conf.secret));
	struct net_stack *s = net_new(&conf, &nc_io, &nc_app, NULL);
	uint64_t now = 1000000;

	if (!s) {
		perror("net_new");
		return 1;
	}
	net_set_time(s, now);

	/* The client's ARP request, so the server knows its MAC. */
	uint8_t *f = c.rx.d;

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, nc_client_mac, 6);
	nc_put16(f + 12, 0x0806);
	nc_put16(f + 14, 1);
	nc_put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	nc_put16(f + 20, 1);
	memcpy(f + 22, nc_client_mac, 6);
	nc_put32(f + 28, NC_CLIENT_IP);
	nc_put32(f + 38, NC_SERVER_IP);
	net_rx(s, &c.rx, f, 60, rxflags, 0);
	net_flush(s);
	nc_drv.nsent = 0; /* the ARP reply */

	/* The handshake. */
	size_t len = nc_segment(&c, 0x02, NULL);

	net_rx(s, &c.rx, c.rx.d, len, rxflags, 0);
	net_flush(s);
	c.seq++;
	c.ack = 0;
	if (nc_drv.nsent != 1)
		nc_die("no SYN-ACK", 0);
	c.ack = nc_get32(nc_drv.sent + 14 + 20 + 4) + 1;
	c.tsecr = nc_get32(nc_drv.sent + 14 + 20 + 20 + 4 + 4 + 4);
	nc_drv.nsent = 0;
	c.tsval++;
	len = nc_segment(&c, 0x10, NULL);
	net_rx(s, &c.rx, c.rx.d, len, rxflags, 0);
	net_flush(s);
	if (!nc_conn || nc_drv.nsent)
		nc_die("handshake failed", 0);

	for (unsigned long i = 0; i < n; i++) {
		now += NC_TURN_US;
		c.tsval += (i & 15) == 0; /* a ms tick every 20 turns or so */
		len = nc_segment(&c, 0x18, nc_request);
		c.seq += sizeof(nc_request) - 1;

		net_set_time(s, now);
		net_rx(s, &c.rx, c.rx.d, len, rxflags, 0);
		net_readable(s);
		net_timers(s);
		net_flush(s);

		if (nc_check_reply(&c, 0x18, i) != sizeof(nc_reply) - 1 ||
		    memcmp(nc_drv.sent + nc_drv.sent_len - 7, nc_reply, 7))
			nc_die("bad reply", i);
	}

	const struct net_stats *st = net_stats(s);

	printf("exchanges %lu checksums %s\n", n,
	       c.soft ? "software" : "offload");
	printf(
	    "rx_frames %llu tx_frames %llu tcp_in_segs %llu tcp_out_segs %llu "
	    "tcp_retrans_segs %llu rx_bad_csum %llu\n",
	    (unsigned long long)st->rx_frames,
	    (unsigned long long)st->tx_frames,
	    (unsigned long long)st->tcp_in_segs,
	    (unsigned long long)st->tcp_out_segs,
	    (unsigned long long)st->tcp_retrans_segs,
	    (unsigned long long)st->rx_bad_csum);
	net_free(s);
	return 0;
}
