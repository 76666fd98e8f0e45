/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK transport: each worker polls its own RX queue, runs its own
 * TCP/IP stack (dataplane/net) over DPDK mbufs, and glues the stack's
 * connections to conn.
 *
 * A turn: wait() takes a first burst (and, when nothing came and the
 * worker may idle, naps dpdk-idle-sleep-us); dispatch() hands every frame
 * to net_rx(), keeps polling until the queue runs dry or a bound is hit,
 * takes the frames other workers steered here, and after each burst runs
 * the requests of every connection that received bytes in it
 * (net_readable), then the stack's timers.  flush() moves every dirty
 * connection's output into TCP, lets TCP emit, and sends the turn's frames in
 * bursts: TX is batched until the RX queue ran dry, never held on a timer, and
 * the ACK of a request rides on its reply.
 *
 * Parse after receive, as the kernel transports do: their kernel runs TCP
 * input for the whole softirq batch, and the worker reads and parses once
 * it returns.  Here recv() only copies a segment's bytes into the
 * connection's input buffer (conn_rx_space, conn_rx_add); the stack keeps
 * a readable list of the connections it delivered to, and net_readable()
 * hands each one back once, after the burst's frames, where conn parses
 * and runs its requests (conn_rx_done(c, 0)), then hears of its FIN (eof).
 * After each burst of NIC_BURST frames, not once after the up to
 * DPDK_RX_ROUNDS bursts of a turn: a connection's unparsed input is then
 * at most a burst's worth (46 KB), so a pipelining client's query buffer,
 * which counts against maxmemory, grows to 64 KB rather than to the
 * window's 256 KB (test_evict's volatile-ttl test saw the difference as
 * keys evicted too many).  Replies still leave together at the flush.  So no
 * command, hold or close ever runs while TCP is inside a segment: a QUIT,
 * a protocol error or CLIENT KILL closes with net_tcp_close() at once, and
 * the list of deferred closes this file used to keep is gone.
 *
 * Why copy in recv() rather than leave the bytes in TCP until readable():
 * the stack does not queue in-order data (tcp_in.c), and keeping the
 * frames would hold pool mbufs -- a paused connection's up to a window's
 * worth (rcvbuf, 256 KB: some 180 mbufs) -- for as long as it waits, where
 * the copy into the input buffer is the one copy conn needs anyway (it
 * parses contiguous bytes).  Same copies as before, frames freed at once.
 *
 * Flow control is as before: a paused connection (its commands wait for
 * other cores) parses nothing, and pending() (conn_rx_pending) closes the
 * advertised window by what it holds unparsed, so it buffers at most the
 * window it had advertised; there is no rx_resume (conn_rx_hold stays
 * false here), TCP's window is the hold.
 *
 * Nothing here allocates or makes a syscall per packet; the idle nap is the
 * one syscall, and only when the operator asked for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "clock.h"
#include "cfg.h"
#include "conn.h"
#include "dpdk.h"
#include "log.h"
#include "net/net.h"
#include "nic.h"
#include "transport.h"
#include "worker_pvt.h"

#define DPDK_RX_ROUNDS 8    /* bursts per dispatch after the first */
#define DPDK_STEER_ROUNDS 8 /* steering bursts per dispatch */
#define DPDK_TX_TRIES 4
#define DPDK_CHECK_US 1000000ull       /* drop counters looked at */
#define DPDK_WARN_US (60 * 1000000ull) /* one warning of a kind a minute */
#define DPDK_WARN_BAD_CSUM 8	       /* bad checksums before a warning */

/* Per-queue counters; the owner writes, INFO reads racily. */
struct dpdk_qstats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t tx_dropped;  /* the PMD did not take them */
	uint64_t rx_multiseg; /* frames larger than one mbuf: dropped */
	uint64_t steered_in;  /* frames other workers handed here */
	uint64_t steered_out, steer_full, steer_nombuf;
	uint64_t idle_naps;
	uint64_t rejected; /* refused by conn_new (maxclients...) */
	/* What the port's offloads did (frames as received, not steered). */
	uint64_t rx_csum_ok;	  /* L4 checksum vouched for by the port */
	uint64_t rx_csum_bad;	  /* IP or L4 checksum flagged bad */
	uint64_t rx_hash;	  /* came with the port's RSS hash */
	uint64_t tx_csum_offload; /* the port computes their checksums */
};

struct dpdk_worker {
	struct worker *w;
	struct net_stack *s;
	struct rte_mempool *mp;
	struct rte_ring *steer_in;
	struct rte_ring **steer; /* every worker's, by id */
	struct nic_fault *fault;
	uint16_t port, q;
	unsigned nworkers;
	bool rx_csum;
	uint64_t now_us;
	/* Drops the log has not explained yet (dpdk_check_drops). */
	uint64_t check_us, told_bad_csum, told_gso_cut;
	unsigned nrx, ntx;
	struct rte_mbuf *rx[NIC_BURST];
	struct rte_mbuf *tx[NIC_BURST];
	struct rte_mbuf *txf[3 * NIC_BURST + 2]; /* after the faults */
	struct dpdk_qstats st __rte_cache_aligned;
} __rte_cache_aligned;

struct dpdk_ctx {
	struct nic_port port;
	struct net_conf net; /* every worker's, but for .worker */
	struct cfg_fault fault;
	unsigned nworkers;
	char ip_text[24], gw_text[16];
	struct dpdk_worker *w[NIC_MAX_QUEUES]; /* for INFO; freed last */
};

static struct dpdk_ctx *dpdk;
/* dpdk-idle-sleep-us, as the transport's cfg view (dpdk_setup). */
static int dpdk_params_id = -1;
static __thread struct dpdk_worker *dpdk_self;

static inline uint64_t dpdk_now_us(void)
{
	return (uint64_t)clock_mono_us(); /* vDSO: no syscall */
}

/* ---- transmit ------------------------------------------------------- */

static void dpdk_tx_flush(struct dpdk_worker *dw)
{
	struct rte_mbuf **pkts = dw->tx;
	unsigned n = dw->ntx, sent = 0;
	uint64_t bytes = 0;

	if (dw->fault)
		n = nic_fault_tx(dw->fault, dw->tx, dw->ntx, pkts = dw->txf,
				 RTE_DIM(dw->txf), dw->now_us);
	dw->ntx = 0;
	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	for (int tries = 0; sent < n && tries < DPDK_TX_TRIES; tries++)
		sent += rte_eth_tx_burst(dw->port, dw->q, pkts + sent,
					 (uint16_t)(n - sent));
	for (unsigned i = sent; i < n; i++) {
		bytes -= rte_pktmbuf_pkt_len(pkts[i]);
		rte_pktmbuf_free(pkts[i]);
	}
	dw->st.tx_dropped += n - sent;
	dw->st.tx_packets += sent;
	dw->st.tx_bytes += bytes;
}

/* ---- struct net_io over mbufs --------------------------------------- */

static struct net_buf *dpdk_alloc(void *drv, uint8_t **data, size_t *cap)
{
	struct dpdk_worker *dw = drv;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dw->mp);

	if (unlikely(!m))
		return NULL;
	*data = rte_pktmbuf_mtod(m, uint8_t *);
	*cap = rte_pktmbuf_tailroom(m);
	return (struct net_buf *)m;
}

static void dpdk_send(void *drv, struct net_buf *b, size_t len, unsigned flags)
{
	struct dpdk_worker *dw = drv;
	struct rte_mbuf *m = (struct rte_mbuf *)b;

	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	if (flags) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(struct rte_ipv4_hdr);
		m->ol_flags |= RTE_MBUF_F_TX_IPV4;
		if (flags & NET_TX_IP_CSUM)
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		if (flags & NET_TX_TCP_CSUM)
			m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		dw->st.tx_csum_offload++;
	}
	dw->tx[dw->ntx++] = m;
	if (dw->ntx == NIC_BURST)
		dpdk_tx_flush(dw);
}

static void dpdk_free(void *drv, struct net_buf *b)
{
	rte_pktmbuf_free((struct rte_mbuf *)b);
}

/* A copy of frame for every other worker (ARP: each one transmits). */
static bool dpdk_steer_all(struct dpdk_worker *dw, const struct rte_mbuf *m,
			   const uint8_t *frame, size_t len)
{
	bool ok = true;

	for (unsigned i = 0; i < dw->nworkers; i++) {
		struct rte_mbuf *c;
		char *p;

		if (i == dw->q)
			continue;
		c = rte_pktmbuf_alloc(dw->mp);
		p = c ? rte_pktmbuf_append(c, (uint16_t)len) : NULL;
		if (!p) {
			rte_pktmbuf_free(c);
			dw->st.steer_nombuf++;
			ok = false;
			continue;
		}
		memcpy(p, frame, len);
		c->ol_flags = m->ol_flags;
		c->hash.rss = m->hash.rss;
		if (rte_ring_enqueue(dw->steer[i], c)) {
			rte_pktmbuf_free(c);
			dw->st.steer_full++;
			ok = false;
			continue;
		}
		dw->st.steered_out++;
	}
	return ok;
}

static bool dpdk_steer(void *drv, unsigned to, struct net_buf *b,
		       const uint8_t *frame, size_t len)
{
	struct dpdk_worker *dw = drv;
	struct rte_mbuf *m = (struct rte_mbuf *)b;

	if (to == NET_STEER_ALL)
		return dpdk_steer_all(dw, m, frame, len);
	if (to >= dw->nworkers)
		return false;
	/* The frame as the stack saw it is what the other worker gets. */
	m->data_off = (uint16_t)(frame - (const uint8_t *)m->buf_addr);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	if (rte_ring_enqueue(dw->steer[to], m)) {
		dw->st.steer_full++;
		return false;
	}
	dw->st.steered_out++;
	return true;
}

/* ---- the application side: conn ----------------------------------- */

/*
 * A connection's tcb is conn_tp(c) while it is open; the stack's app
 * pointer for it is c.  Both go together: dpdk_close() and the OOM exit of
 * dpdk_recv() clear the first and close or abort the tcb (its app becomes
 * NULL), and closed() comes only when the stack already cleared its own.
 * So every upcall below is for a conn that is open.
 */
static void dpdk_close(struct worker *w, struct conn *c)
{
	struct tcb *t = conn_tp(c);

	(void)w;
	if (!t)
		return;
	conn_set_tp(c, NULL);
	conn_closed(c);
	net_tcp_close(t); /* never inside a segment: see the top */
}

static void *dpdk_accept(void *arg, struct tcb *t, uint32_t peer_ip,
			 uint16_t peer_port, uint32_t local_ip,
			 uint16_t local_port)
{
	struct dpdk_worker *dw = arg;
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(peer_port),
				   .sin_addr.s_addr = htonl(peer_ip)};
	struct sockaddr_in local = {.sin_family = AF_INET,
				    .sin_port = htons(local_port),
				    .sin_addr.s_addr = htonl(local_ip)};
	struct conn *c = conn_new(dw->w, -1, (struct sockaddr *)&peer,
				  (struct sockaddr *)&local);
	const char *msg;
	size_t len;

	if (c) {
		conn_set_tp(c, t);
		return c;
	}
	dw->st.rejected++;
	msg = transport_reject_text(errno, &len);
	if (!msg)
		return NULL; /* the stack resets it */
	/* The kernel transports' message, then FIN (net.h: accept). */
	net_tcp_send(t, msg, len);
	net_tcp_close(t);
	return NULL;
}

/* Inside the segment: copy only (the top says why); readable() runs it. */
static void dpdk_recv(void *app, const uint8_t *data, size_t len)
{
	struct conn *c = app;

	while (len) {
		size_t avail, n;
		char *p = conn_rx_space(c, &avail);

		if (!p || !avail) {
			/* No memory for its input: a hole in the stream
			 * would follow, so it goes now (RST), the one thing
			 * recv() may do to TCP. */
			struct tcb *t = conn_tp(c);

			conn_set_tp(c, NULL);
			conn_closed(c);
			net_tcp_abort(t);
			return;
		}
		n = avail < len ? avail : len;
		memcpy(p, data, n);
		conn_rx_add(c, n);
		data += n;
		len -= n;
	}
}

/* After the frames: parse and run what this turn's segments brought.  The
 * commands may close c (QUIT, a protocol error, its output limit) or other
 * connections, and may take holds: TCP is in no segment now. */
static void dpdk_readable(void *app)
{
	conn_rx_done(app, 0);
}

/* What shrinks the advertised window: the bytes a paused connection (too
 * many commands in flight) holds unparsed, so a client pipelining faster
 * than the shard owners answer is slowed by TCP, not by memory. */
static size_t dpdk_pending(void *app)
{
	return conn_rx_pending(app);
}

static void dpdk_writable(void *app)
{
	worker_mark_dirty(dpdk_self->w, app);
}

/*
 * The peer will send nothing more.  Replies to what it sent before its FIN
 * still go out (the kernel transports send them in the turn before they
 * read the end of file), then the connection closes as on read() == 0.
 * From net_readable(), after readable() ran the bytes before the FIN.
 */
static void dpdk_eof(void *app)
{
	struct conn *c = app;

	conn_client(c)->close_after_reply = true;
	worker_mark_dirty(dpdk_self->w, c);
}

static void dpdk_closed(void *app, int err)
{
	struct conn *c = app;

	(void)err;
	conn_set_tp(c, NULL);
	conn_closed(c);
}

static const struct net_app_ops dpdk_app_ops = {
    .accept = dpdk_accept,
    .recv = dpdk_recv,
    .readable = dpdk_readable,
    .pending = dpdk_pending,
    .writable = dpdk_writable,
    .eof = dpdk_eof,
    .closed = dpdk_closed,
};

/* ---- receive -------------------------------------------------------- */

/*
 * The port's verdict on a frame as the stack's flags.  _NONE means the
 * port vouches for the data although the checksum field is not filled in
 * (virtio passes the kernel's CHECKSUM_PARTIAL frames that way): for the
 * stack that is a good checksum, as verifying the field would reject
 * sound frames.  _UNKNOWN leaves the check to the stack.
 */
static inline unsigned dpdk_rx_flags(const struct dpdk_worker *dw,
				     const struct rte_mbuf *m)
{
	uint64_t of = m->ol_flags;
	unsigned f = 0;

	if (dw->rx_csum) {
		uint64_t ip = of & RTE_MBUF_F_RX_IP_CKSUM_MASK;
		uint64_t l4 = of & RTE_MBUF_F_RX_L4_CKSUM_MASK;

		if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
		    ip == RTE_MBUF_F_RX_IP_CKSUM_NONE)
			f |= NET_RX_IP_CSUM_GOOD;
		else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
			f |= NET_RX_IP_CSUM_BAD;
		if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ||
		    l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE)
			f |= NET_RX_L4_CSUM_GOOD;
		else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
			f |= NET_RX_L4_CSUM_BAD;
	}
	if (of & RTE_MBUF_F_RX_RSS_HASH)
		f |= NET_RX_HASH;
	return f;
}

static void dpdk_input(struct dpdk_worker *dw, struct rte_mbuf *m,
		       unsigned flags)
{
	unsigned f;

	if (unlikely(m->nb_segs != 1)) {
		dw->st.rx_multiseg++;
		rte_pktmbuf_free(m);
		return;
	}
	f = dpdk_rx_flags(dw, m);
	if (!(flags & NET_RX_STEERED)) {
		dw->st.rx_csum_ok += !!(f & NET_RX_L4_CSUM_GOOD);
		dw->st.rx_csum_bad +=
		    !!(f & (NET_RX_IP_CSUM_BAD | NET_RX_L4_CSUM_BAD));
		dw->st.rx_hash += !!(f & NET_RX_HASH);
	}
	net_rx(dw->s, (struct net_buf *)m, rte_pktmbuf_mtod(m, uint8_t *),
	       m->data_len, flags | f, m->hash.rss);
}

static unsigned dpdk_rx_burst(struct dpdk_worker *dw)
{
	unsigned n;

	if (dw->fault)
		n = nic_fault_rx(dw->fault, dw->port, dw->q, dw->rx, NIC_BURST,
				 dw->now_us);
	else
		n = rte_eth_rx_burst(dw->port, dw->q, dw->rx, NIC_BURST);
	for (unsigned i = 0; i < n; i++) {
		dw->st.rx_bytes += rte_pktmbuf_pkt_len(dw->rx[i]);
		rte_prefetch0(rte_pktmbuf_mtod(dw->rx[i], void *));
	}
	dw->st.rx_packets += n;
	return n;
}

static bool dpdk_busy(const struct dpdk_worker *dw)
{
	return rte_ring_count(dw->steer_in) ||
	       (dw->fault && nic_fault_holding(dw->fault));
}

static int dpdk_wait(struct worker *w, int timeout_ms)
{
	struct dpdk_worker *dw = w->tpd;
	long long idle;
	uint64_t nap, next;

	dw->now_us = dpdk_now_us();
	dw->nrx = dpdk_rx_burst(dw);
	if (dw->nrx || timeout_ms == 0)
		return (int)dw->nrx;
	idle = *(const long long *)cfg_view(dpdk_params_id);
	if (idle <= 0 || dpdk_busy(dw))
		return 0;
	nap = (uint64_t)idle;
	if (timeout_ms > 0 && (uint64_t)timeout_ms * 1000 < nap)
		nap = (uint64_t)timeout_ms * 1000;
	next = net_next_timer_us(dw->s);
	if (next < nap)
		nap = next;
	if (nap) {
		struct timespec ts = {.tv_sec = (time_t)(nap / 1000000),
				      .tv_nsec = (long)(nap % 1000000) * 1000};
		nanosleep(&ts, NULL);
		dw->st.idle_naps++;
		dw->now_us = dpdk_now_us();
	}
	dw->nrx = dpdk_rx_burst(dw);
	return (int)dw->nrx;
}

/* ---- telling the operator why frames are dropped ------------------- */

/* Process-wide, so that N workers do not say the same thing N times. */
static uint64_t dpdk_warned_csum_us, dpdk_warned_gso_us;

static bool dpdk_warn_due(uint64_t *last, uint64_t now)
{
	uint64_t prev = __atomic_load_n(last, __ATOMIC_RELAXED);

	if (prev && now - prev < DPDK_WARN_US)
		return false;
	return __atomic_compare_exchange_n(last, &prev, now, false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * Once a second: a peer whose frames the stack keeps dropping gets no
 * connection and no error, so the log says what is happening and what to
 * change on the peer, at most once a minute for each kind.  The one
 * syscall (the log's write) happens only then.
 */
static __attribute__((noinline)) void dpdk_check_drops(struct dpdk_worker *dw)
{
	const struct net_stats *st = net_stats(dw->s);
	const struct nic_port *p = &dpdk->port;
	const char *ifn = p->ifname[0] ? p->ifname : "the port's interface";
	uint64_t bad = st->rx_bad_csum - dw->told_bad_csum;
	uint64_t cut = st->rx_gso_cut - dw->told_gso_cut;

	dw->check_us = dw->now_us + DPDK_CHECK_US;
	if (bad >= DPDK_WARN_BAD_CSUM &&
	    dpdk_warn_due(&dpdk_warned_csum_us, dw->now_us)) {
		dw->told_bad_csum = st->rx_bad_csum;
		if (p->local)
			log_msg(LOG_WARNING, 'W',
				"DPDK port %u (%s on %s): worker %u dropped "
				"%llu IPv4/TCP frames with bad checksums "
				"(INFO network: net_rx_bad_csum). Unfinished "
				"checksums of a kernel on this host are "
				"accepted on this virtual port "
				"(net_rx_csum_partial), so these are corrupt. "
				"If the peer is a veth or tap with checksum "
				"offload on, switch it off there: ethtool -K "
				"<peer of %s> tx off",
				p->port_id, p->driver, ifn, dw->q,
				(unsigned long long)bad, ifn);
		else
			log_msg(LOG_WARNING, 'W',
				"DPDK port %u (%s): worker %u dropped %llu "
				"IPv4/TCP frames with bad checksums (INFO "
				"network: net_rx_bad_csum): corrupted on the "
				"way (cable, switch, NIC), or a sender that "
				"leaves its checksums to an offload; for a "
				"Linux sender: ethtool -K <its interface> tx "
				"off",
				p->port_id, p->driver, dw->q,
				(unsigned long long)bad);
	}
	if (cut && dpdk_warn_due(&dpdk_warned_gso_us, dw->now_us)) {
		dw->told_gso_cut = st->rx_gso_cut;
		log_msg(LOG_WARNING, 'W',
			"DPDK port %u (%s on %s): worker %u got %llu TCP "
			"segments longer than the port's frames (TSO/GSO of "
			"a kernel on this host, cut at the frame size; INFO "
			"network: net_rx_gso_cut): only their first bytes "
			"are kept and the peer sends the rest again, which "
			"is slow. Switch its segmentation and checksum "
			"offloads off: ethtool -K <peer of %s> tx off",
			p->port_id, p->driver, ifn, dw->q,
			(unsigned long long)cut, ifn);
	}
}

static void dpdk_dispatch(struct worker *w)
{
	struct dpdk_worker *dw = w->tpd;
	struct rte_mbuf *in[NIC_BURST];
	unsigned n = dw->nrx;

	dw->now_us = dpdk_now_us();
	net_set_time(dw->s, dw->now_us);
	for (int round = 0;; round++) {
		for (unsigned i = 0; i < n; i++)
			dpdk_input(dw, dw->rx[i], 0);
		net_readable(dw->s); /* the burst went through TCP: run it */
		if (n < NIC_BURST || round == DPDK_RX_ROUNDS)
			break;
		n = dpdk_rx_burst(dw);
	}
	dw->nrx = 0;
	for (int round = 0; round < DPDK_STEER_ROUNDS; round++) {
		n = rte_ring_dequeue_burst(dw->steer_in, (void **)in, NIC_BURST,
					   NULL);
		dw->st.steered_in += n;
		for (unsigned i = 0; i < n; i++)
			dpdk_input(dw, in[i], NET_RX_STEERED);
		net_readable(dw->s);
		if (n < NIC_BURST)
			break;
	}
	net_timers(dw->s);
	if (unlikely(dw->now_us >= dw->check_us))
		dpdk_check_drops(dw);
}

/* ---- flush ---------------------------------------------------------- */

static void dpdk_send_conn(struct worker *w, struct conn *c)
{
	struct tcb *t = conn_tp(c);
	const char *p;
	size_t len, n;

	if (!t)
		return;
	while ((p = conn_tx_data(c, &len)), len > 0) {
		n = net_tcp_send(t, p, len);
		if (n)
			conn_tx_done(c, n);
		if (n < len)
			return; /* send buffer full: writable() re-dirties */
	}
	if (conn_tx_close(c))
		dpdk_close(w, c);
}

static void dpdk_flush(struct worker *w)
{
	struct dpdk_worker *dw = w->tpd;
	struct conn *c = w->dirty;

	w->dirty = NULL;
	while (c) {
		struct conn *next = conn_next_dirty(c);

		dpdk_send_conn(w, c);
		conn_flushed(c);
		c = next;
	}
	net_flush(dw->s);
	if (dw->ntx || (dw->fault && nic_fault_holding(dw->fault)))
		dpdk_tx_flush(dw);
}

/* ---- per-worker set-up ---------------------------------------------- */

static int dpdk_attach(struct worker *w)
{
	struct dpdk_ctx *x = dpdk;
	unsigned q = w->id;
	struct net_conf conf = x->net;
	struct net_io io = {
	    .alloc = dpdk_alloc,
	    .send = dpdk_send,
	    .free = dpdk_free,
	    .steer = dpdk_steer,
	};
	struct dpdk_worker *dw;
	int cpu = -1;

	/* The EAL lcore's CPUs, not worker.c's guess (-l 2-3 means 2, 3). */
	if (pthread_setaffinity_np(pthread_self(), sizeof(x->port.cpus[q]),
				   &x->port.cpus[q]) == 0) {
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &x->port.cpus[q]))
				break;
		w->cpu = cpu < CPU_SETSIZE ? cpu : -1;
	}
	/* An lcore id, so the mempool's per-lcore caches serve this thread. */
	if (rte_thread_register() != 0) {
		log_warning("worker %u: rte_thread_register: %s", q,
			    rte_strerror(rte_errno));
		return -rte_errno;
	}
	dw = rte_zmalloc_socket("dpdk_worker", sizeof(*dw), RTE_CACHE_LINE_SIZE,
				(int)rte_socket_id());
	if (!dw) {
		rte_thread_unregister();
		return -ENOMEM;
	}
	dw->w = w;
	dw->q = (uint16_t)q;
	dw->port = x->port.port_id;
	dw->mp = x->port.pool[q];
	dw->steer_in = x->port.steer[q];
	dw->steer = x->port.steer;
	dw->nworkers = x->nworkers;
	dw->rx_csum = x->port.rx_csum;
	dw->now_us = dpdk_now_us();
	dpdk_self = dw;
	if (x->fault.on) {
		dw->fault = nic_fault_new(&x->fault, q, dw->mp);
		if (!dw->fault)
			goto fail;
	}
	conf.worker = q;
	io.drv = dw;
	dw->s = net_new(&conf, &io, &dpdk_app_ops, dw);
	if (!dw->s)
		goto fail;
	net_set_time(dw->s, dw->now_us);
	w->tpd = dw;
	__atomic_store_n(&x->w[q], dw, __ATOMIC_RELEASE);
	log_worker("worker %u: queue %u, lcore %u, CPU %d", q, q,
		   rte_lcore_id(), w->cpu);
	if (q == 0) {
		net_announce(dw->s);
		net_flush(dw->s);
		dpdk_tx_flush(dw);
	}
	return 0;
fail:
	nic_fault_free(dw->fault);
	rte_free(dw);
	dpdk_self = NULL;
	rte_thread_unregister();
	return -ENOMEM;
}

static void dpdk_detach(struct worker *w)
{
	struct dpdk_worker *dw = w->tpd;
	struct net_stack *s;

	if (!dw)
		return;
	s = dw->s;
	__atomic_store_n(&dw->s, NULL, __ATOMIC_RELEASE);
	net_free(s); /* resets what is left; may emit RSTs */
	dpdk_tx_flush(dw);
	for (unsigned i = 0; i < dw->nrx; i++)
		rte_pktmbuf_free(dw->rx[i]);
	dw->nrx = 0;
	nic_fault_free(dw->fault);
	dw->fault = NULL;
	/* dw itself stays for INFO readers; dpdk_teardown frees it. */
	w->tpd = NULL;
	dpdk_self = NULL;
	rte_thread_unregister();
}

/* ---- INFO ----------------------------------------------------------- */

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void dpdk_sum_net(struct net_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned q = 0; q < dpdk->nworkers; q++) {
		struct dpdk_worker *dw =
		    __atomic_load_n(&dpdk->w[q], __ATOMIC_ACQUIRE);
		struct net_stack *s =
		    dw ? __atomic_load_n(&dw->s, __ATOMIC_ACQUIRE) : NULL;
		const uint64_t *src;
		uint64_t *dst = (uint64_t *)sum;

		if (!s)
			continue;
		src = (const uint64_t *)net_stats(s);
		for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
			dst[i] += RD(src[i]);
	}
}

/* Segments with a partial checksum this queue's worker accepted: the
 * stack counts them, as only it tells a partial sum from a bad one. */
static uint64_t dpdk_queue_partial(const struct dpdk_worker *dw)
{
	const struct net_stack *s = __atomic_load_n(&dw->s, __ATOMIC_ACQUIRE);

	return s ? RD(net_stats(s)->rx_csum_partial) : 0;
}

static void dpdk_info(void (*emit)(void *arg, const char *line), void *arg)
{
	struct dpdk_ctx *x = dpdk;
	struct nic_port *p = &x->port;
	struct rte_eth_stats es;
	struct net_stats ns;
	char line[768];

#define EMIT(...)                                                              \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		emit(arg, line);                                               \
	} while (0)
#define U(v) ((unsigned long long)(v))
	EMIT("dpdk_port:%u", p->port_id);
	EMIT("dpdk_device:%s", p->name);
	EMIT("dpdk_driver:%s", p->driver);
	EMIT("dpdk_mac:%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0], p->mac[1],
	     p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
	EMIT("dpdk_ip:%s", x->ip_text);
	EMIT("dpdk_gateway:%s", x->gw_text);
	EMIT("dpdk_mtu:%u", p->mtu);
	EMIT("dpdk_queues:%u", p->nqueues);
	EMIT("dpdk_rss:%d", p->rss);
	EMIT("dpdk_rx_csum_offload:%d", p->rx_csum);
	EMIT("dpdk_rx_csum_partial:%d", p->local);
	EMIT("dpdk_tx_ip_csum_offload:%d", !!(p->tx_offloads & NET_TX_IP_CSUM));
	EMIT("dpdk_tx_tcp_csum_offload:%d",
	     !!(p->tx_offloads & NET_TX_TCP_CSUM));
	EMIT("dpdk_mbufs_per_queue:%u", p->mbufs);
	EMIT("dpdk_fault_injection:%d", x->fault.on);
	memset(&es, 0, sizeof(es));
	rte_eth_stats_get(p->port_id, &es);
	EMIT("port_rx_packets:%llu", U(es.ipackets));
	EMIT("port_tx_packets:%llu", U(es.opackets));
	EMIT("port_rx_bytes:%llu", U(es.ibytes));
	EMIT("port_tx_bytes:%llu", U(es.obytes));
	EMIT("port_rx_missed:%llu", U(es.imissed));
	EMIT("port_rx_errors:%llu", U(es.ierrors));
	EMIT("port_tx_errors:%llu", U(es.oerrors));
	EMIT("port_rx_nombuf:%llu", U(es.rx_nombuf));
	for (unsigned q = 0; q < x->nworkers; q++) {
		struct dpdk_worker *dw =
		    __atomic_load_n(&x->w[q], __ATOMIC_ACQUIRE);
		const struct dpdk_qstats *st;
		int n;

		if (!dw)
			continue;
		st = &dw->st;
		n = snprintf(
		    line, sizeof(line),
		    "queue%u:rx_packets=%llu,rx_bytes=%llu,tx_packets=%llu,"
		    "tx_bytes=%llu,tx_dropped=%llu,rx_dropped=%llu,"
		    "rx_multiseg_dropped=%llu,steered_in=%llu,"
		    "steered_out=%llu,steer_dropped=%llu,mbufs_free=%u,"
		    "idle_naps=%llu,refused=%llu,rx_csum_ok=%llu,"
		    "rx_csum_bad=%llu,rx_csum_partial=%llu,rx_hash=%llu,"
		    "tx_csum_offload=%llu",
		    q, U(RD(st->rx_packets)), U(RD(st->rx_bytes)),
		    U(RD(st->tx_packets)), U(RD(st->tx_bytes)),
		    U(RD(st->tx_dropped)),
		    U(q < RTE_ETHDEV_QUEUE_STAT_CNTRS ? es.q_errors[q] : 0),
		    U(RD(st->rx_multiseg)), U(RD(st->steered_in)),
		    U(RD(st->steered_out)),
		    U(RD(st->steer_full) + RD(st->steer_nombuf)),
		    rte_mempool_avail_count(p->pool[q]), U(RD(st->idle_naps)),
		    U(RD(st->rejected)), U(RD(st->rx_csum_ok)),
		    U(RD(st->rx_csum_bad)), U(dpdk_queue_partial(dw)),
		    U(RD(st->rx_hash)), U(RD(st->tx_csum_offload)));
		if (dw->fault && n > 0 && (size_t)n < sizeof(line)) {
			const struct nic_fault_stats *r =
			    nic_fault_rx_stats(dw->fault);
			const struct nic_fault_stats *t =
			    nic_fault_tx_stats(dw->fault);

			snprintf(line + n, sizeof(line) - (size_t)n,
				 ",fault_dropped=%llu,fault_duplicated=%llu,"
				 "fault_reordered=%llu,fault_corrupted=%llu,"
				 "fault_delayed=%llu",
				 U(RD(r->dropped) + RD(t->dropped)),
				 U(RD(r->duplicated) + RD(t->duplicated)),
				 U(RD(r->reordered) + RD(t->reordered)),
				 U(RD(r->corrupted) + RD(t->corrupted)),
				 U(RD(r->delayed) + RD(t->delayed)));
		}
		emit(arg, line);
	}
	dpdk_sum_net(&ns);
	EMIT("net_rx_frames:%llu", U(ns.rx_frames));
	EMIT("net_tx_frames:%llu", U(ns.tx_frames));
	EMIT("net_rx_bad_csum:%llu", U(ns.rx_bad_csum));
	EMIT("net_rx_csum_partial:%llu", U(ns.rx_csum_partial));
	EMIT("net_rx_gso_cut:%llu", U(ns.rx_gso_cut));
	EMIT("net_rx_bad_len:%llu", U(ns.rx_bad_len));
	EMIT("net_rx_not_mine:%llu", U(ns.rx_not_mine));
	EMIT("net_rx_frag_dropped:%llu", U(ns.rx_frag_dropped));
	EMIT("net_rx_steered_out:%llu", U(ns.rx_steered_out));
	EMIT("net_rx_steer_drops:%llu", U(ns.rx_steer_drops));
	EMIT("net_arp_requests_rx:%llu", U(ns.arp_requests_rx));
	EMIT("net_arp_replies_tx:%llu", U(ns.arp_replies_tx));
	EMIT("net_arp_requests_tx:%llu", U(ns.arp_requests_tx));
	EMIT("net_arp_unresolved_drops:%llu", U(ns.arp_unresolved_drops));
	EMIT("net_icmp_echo:%llu", U(ns.icmp_echo));
	EMIT("net_tx_alloc_fail:%llu", U(ns.tx_alloc_fail));
	EMIT("tcp_active_conns:%llu", U(ns.tcp_active_conns));
	EMIT("tcp_passive_opens:%llu", U(ns.tcp_passive_opens));
	EMIT("tcp_in_segs:%llu", U(ns.tcp_in_segs));
	EMIT("tcp_out_segs:%llu", U(ns.tcp_out_segs));
	EMIT("tcp_retrans_segs:%llu", U(ns.tcp_retrans_segs));
	EMIT("tcp_fast_retrans:%llu", U(ns.tcp_fast_retrans));
	EMIT("tcp_rto_timeouts:%llu", U(ns.tcp_rto_timeouts));
	EMIT("tcp_out_rsts:%llu", U(ns.tcp_out_rsts));
	EMIT("tcp_in_rsts:%llu", U(ns.tcp_in_rsts));
	EMIT("tcp_ooo_segs:%llu", U(ns.tcp_ooo_segs));
	EMIT("tcp_dup_segs:%llu", U(ns.tcp_dup_segs));
	EMIT("tcp_challenge_acks:%llu", U(ns.tcp_challenge_acks));
	EMIT("tcp_syncookies_sent:%llu", U(ns.tcp_syncookies_sent));
	EMIT("tcp_syncookies_ok:%llu", U(ns.tcp_syncookies_ok));
	EMIT("tcp_syncookies_failed:%llu", U(ns.tcp_syncookies_failed));
	EMIT("tcp_syn_drops:%llu", U(ns.tcp_syn_drops));
	EMIT("tcp_zero_window_probes:%llu", U(ns.tcp_zero_window_probes));
	EMIT("tcp_keepalive_probes:%llu", U(ns.tcp_keepalive_probes));
	EMIT("tcp_time_wait:%llu", U(ns.tcp_time_wait));
	EMIT("tcp_conns:%llu", U(ns.tcp_conns));
	{
		static const char *const names[] = NET_TCP_STATE_NAMES;

		for (unsigned i = 1; i < NET_TCP_NSTATES; i++)
			EMIT("tcp_state_%s:%llu", names[i],
			     U(ns.tcp_in_state[i]));
	}
#undef U
#undef EMIT
}

static const struct transport_ops dpdk_ops = {
    .name = "dpdk",
    .polls = true,
    .attach = dpdk_attach,
    .wait = dpdk_wait,
    .dispatch = dpdk_dispatch,
    .flush = dpdk_flush,
    .close = dpdk_close,
    .detach = dpdk_detach,
    .info = dpdk_info,
};

/* ---- start and stop (control thread) ------------------------------- */

static int dpdk_addresses(struct dpdk_ctx *x, const struct cfg *cfg)
{
	struct net_conf *n = &x->net;
	uint32_t mask;

	if (!cfg->ip[0]) {
		log_warning("transport dpdk needs the server's address: set "
			    "ip, e.g. --ip 10.0.0.5/24");
		return -EINVAL;
	}
	if (cfg_parse_ipv4_prefix(cfg->ip, &n->ip, &n->prefix)) {
		log_warning("ip '%s' is not an IPv4 address/prefix", cfg->ip);
		return -EINVAL;
	}
	snprintf(x->ip_text, sizeof(x->ip_text), "%s", cfg->ip);
	mask = n->prefix >= 32 ? ~0u : ~(~0u >> n->prefix);
	if (cfg->gateway[0]) {
		if (cfg_parse_ipv4(cfg->gateway, &n->gateway) ||
		    (n->gateway & mask) != (n->ip & mask) ||
		    n->gateway == n->ip) {
			log_warning("gateway '%s' is not another address on "
				    "the network of ip %s",
				    cfg->gateway, cfg->ip);
			return -EINVAL;
		}
		snprintf(x->gw_text, sizeof(x->gw_text), "%s", cfg->gateway);
	}
	if (cfg->port <= 0) {
		log_warning("transport dpdk serves TCP only: port must not "
			    "be 0");
		return -EINVAL;
	}
	return 0;
}

static void dpdk_net_conf(struct dpdk_ctx *x, const struct cfg *cfg)
{
	struct net_conf *n = &x->net;
	const struct nic_port *p = &x->port;
	uint32_t ip = n->ip, gw = n->gateway;
	uint8_t prefix = n->prefix;

	net_conf_default(n);
	n->ip = ip;
	n->prefix = prefix;
	n->gateway = gw;
	n->nworkers = p->nqueues;
	memcpy(n->mac, p->mac, sizeof(n->mac));
	n->mtu = p->mtu;
	n->ports[0] = (uint16_t)cfg->port;
	n->nports = 1;
	n->tx_offloads = p->tx_offloads;
	n->rx_csum_offload = p->rx_csum;
	n->rx_csum_partial = p->local;
	n->rss = p->rss;
	if (p->rss) {
		memcpy(n->rss_key, p->rss_key, sizeof(n->rss_key));
		memcpy(n->reta, p->reta, sizeof(n->reta));
		n->reta_size = p->reta_size;
	}
	if (getrandom(n->secret, sizeof(n->secret), 0) !=
	    (ssize_t)sizeof(n->secret)) {
		uint64_t v = dpdk_now_us() ^ (uint64_t)getpid() << 32;

		for (size_t i = 0; i < sizeof(n->secret);
		     i++, v *= 6364136223846793005ull)
			n->secret[i] = (uint8_t)(v >> 56);
	}
	n->syn_backlog = cfg->tcp_backlog > 0 ? (unsigned)cfg->tcp_backlog : 1;
	n->keepalive_s = (unsigned)cfg->tcp_keepalive;
}

static void dpdk_params_build(const struct cfg *c, void *view)
{
	*(long long *)view = c->dpdk_idle_sleep_us;
}

int dpdk_setup(const struct cfg *cfg, unsigned *nworkers,
	       const struct transport_ops **tp)
{
	struct dpdk_ctx *x = calloc(1, sizeof(*x));
	struct nic_conf nc = {
	    .port = cfg->dpdk_port,
	    .workers = (unsigned)cfg->workers,
	    .mtu = (unsigned)cfg->mtu,
	    .mbufs = (unsigned)cfg->dpdk_mbufs,
	};
	char err[512], why[160];
	int rc;

	if (!x)
		return -ENOMEM;
	dpdk_params_id =
	    cfg_view_register(sizeof(long long), dpdk_params_build);
	if (dpdk_params_id < 0) {
		free(x);
		return dpdk_params_id;
	}
	x->port.port_id = RTE_MAX_ETHPORTS;
	snprintf(x->gw_text, sizeof(x->gw_text), "none");
	if ((rc = dpdk_addresses(x, cfg)))
		goto fail;
	if (cfg_parse_fault(cfg->dpdk_fault, &x->fault, why, sizeof(why))) {
		log_warning("dpdk-fault '%s': %s", cfg->dpdk_fault, why);
		rc = -EINVAL;
		goto fail;
	}
	rc = nic_eal_init(cfg->dpdk_args, err, sizeof(err));
	if (rc) {
		log_warning("%s", err);
		goto fail;
	}
	dpdk = x;
	rc = nic_port_open(&x->port, &nc, err, sizeof(err));
	if (rc) {
		log_warning("%s", err);
		goto fail_port;
	}
	x->nworkers = x->port.nqueues;
	dpdk_net_conf(x, cfg);
	log_notice("DPDK: serving %s, TCP port %lld, gateway %s, %u worker%s "
		   "(one per queue), fault injection %s",
		   x->ip_text, cfg->port, x->gw_text, x->nworkers,
		   x->nworkers == 1 ? "" : "s",
		   x->fault.on ? cfg->dpdk_fault : "off");
	if (cfg->protected_mode && !cfg->requirepass[0])
		log_warning("protected-mode is on and requirepass is empty: "
			    "every DPDK client is refused (none comes from "
			    "loopback); set protected-mode no or requirepass");
	*nworkers = x->nworkers;
	*tp = &dpdk_ops;
	return 0;
fail_port:
	nic_port_close(&x->port);
	nic_eal_cleanup();
	dpdk = NULL;
fail:
	free(x);
	return rc < 0 ? rc : -EINVAL;
}

void dpdk_teardown(void)
{
	struct dpdk_ctx *x = dpdk;

	if (!x)
		return;
	nic_port_close(&x->port);
	for (unsigned q = 0; q < NIC_MAX_QUEUES; q++)
		rte_free(x->w[q]);
	nic_eal_cleanup();
	dpdk = NULL;
	free(x);
}
