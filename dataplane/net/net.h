/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net: one worker's userspace TCP/IP stack (Ethernet, ARP, IPv4, ICMP echo,
 * TCP), shared-nothing.  A stack owns the TCP connections whose flows are
 * steered to its worker; it never touches another worker's state.
 *
 * The stack knows nothing of DPDK or of conn: a driver gives it frames and
 * transmit buffers through struct net_io (DPDK mbufs in production, plain
 * memory in unit tests and fuzzers), and an application receives bytes and
 * connection events through struct net_app_ops (drivers/dpdk glues them to
 * conn).  That is what lets the TCP state machine be tested segment by
 * segment without a NIC.
 *
 * A worker turn, for the driver:
 *   net_set_time(s, now_us);
 *   for each received frame: net_rx(s, ...);   recv() copies the bytes
 *   net_readable(s);          readable(), eof(): the application runs the
 *                             requests, outside the receive path
 *   net_timers(s);            RTO, delayed ACK, persist, keepalive, TIME_WAIT
 *   ... application writes with net_tcp_send() ...
 *   net_flush(s);             emit pending segments; io->send gets frames
 * and then the driver transmits the frames it collected (one burst).
 *
 * Upcalls made while a segment is being processed (accept, recv,
 * writable, closed) only take note: they must not send, close or abort,
 * except as each one says.  A connection's work (parsing, commands,
 * closing) happens in readable() and eof(), which net_readable() makes
 * after the frames, once per connection and turn, in the order the
 * connections received bytes, when TCP is in no segment: whatever the
 * application does there to any connection is safe.
 *
 * Threading: every function runs on the stack's own worker.
 */
#ifndef CACHALOT_NET_H
#define CACHALOT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_stack;
struct tcb;	/* one TCP connection */
struct net_buf; /* a driver's frame buffer (an rte_mbuf under DPDK) */

/* Checksum state of a received frame, from the NIC (net_rx flags). */
#define NET_RX_IP_CSUM_GOOD (1u << 0)
#define NET_RX_IP_CSUM_BAD (1u << 1)
#define NET_RX_L4_CSUM_GOOD (1u << 2)
#define NET_RX_L4_CSUM_BAD (1u << 3)
#define NET_RX_HASH (1u << 4)	 /* rss_hash is the NIC's Toeplitz hash */
#define NET_RX_STEERED (1u << 5) /* handed over by another worker */

/* Offloads a transmitted frame asks for (io->send flags).  Frames are
 * always Ethernet (14 bytes) + IPv4 without options (20 bytes) + L4. */
#define NET_TX_IP_CSUM (1u << 0)
/* With NET_TX_TCP_CSUM the TCP checksum field holds the pseudo-header sum. */
#define NET_TX_TCP_CSUM (1u << 1)

/* Target of io->steer meaning "a copy to every other worker". */
#define NET_STEER_ALL (~0u)

/** What the driver provides.  All callbacks run on the stack's worker. */
struct net_io {
	void *drv;
	/** A transmit buffer: *data points at cap writable bytes where the
	 * Ethernet header goes.  NULL when the pool is empty (the stack counts
	 * it and retries later, as after a loss). */
	struct net_buf *(*alloc)(void *drv, uint8_t **data, size_t *cap);
	/** Queue len bytes of b for transmission; b now belongs to the
	 * driver.  The driver bursts at the end of the turn. */
	void (*send)(void *drv, struct net_buf *b, size_t len, unsigned flags);
	/** Return a received or unsent buffer. */
	void (*free)(void *drv, struct net_buf *b);
	/** Give a received frame to worker `to` (or a copy to all others
	 * with NET_STEER_ALL, the buffer staying with the caller); the other
	 * worker's driver calls net_rx() with NET_RX_STEERED.  Returns false
	 * if it could not (ring full): the stack then drops and counts. */
	bool (*steer)(void *drv, unsigned to, struct net_buf *b,
		      const uint8_t *frame, size_t len);
};

/**
 * What the application provides (conn, through drivers/dpdk).  `app` is
 * the pointer accept() returned for that connection.
 */
struct net_app_ops {
	/** A passive open completed (ESTABLISHED).  Return the application's
	 * handle; NULL refuses it (the stack resets the connection).  To
	 * refuse with a message instead, net_tcp_send() it and
	 * net_tcp_close(t) before returning (the value returned is then
	 * ignored): the message and a FIN go out, and no upcall follows.
	 * Addresses and ports are in host byte order. */
	void *(*accept)(void *arg, struct tcb *t, uint32_t peer_ip,
			uint16_t peer_port, uint32_t local_ip,
			uint16_t local_port);
	/** In-order bytes arrived, inside the receive path: the application
	 * copies all of them and runs nothing yet (readable() follows).  The
	 * one call it may make is net_tcp_abort(t), when it cannot keep
	 * them. */
	void (*recv)(void *app, const uint8_t *data, size_t len);
	/** recv() was called for app since the last net_readable(): run
	 * what arrived.  Outside the receive path; anything goes. */
	void (*readable)(void *app);
	/** Bytes received and not yet consumed: the advertised window is
	 * the receive buffer minus this. */
	size_t (*pending)(void *app);
	/** The send buffer has room again after it was full (inside the
	 * receive path: take note only). */
	void (*writable)(void *app);
	/** The peer sent FIN: no more bytes will arrive (half-close).  From
	 * net_readable(), after readable() for the bytes before the FIN;
	 * anything goes. */
	void (*eof)(void *app);
	/** The connection died without the application asking (reset by
	 * the peer, retransmissions timed out, stack shut down); t must not
	 * be used again, and no readable() or eof() follows, even for bytes
	 * recv() took this turn.  err is a positive errno: ECONNRESET,
	 * ETIMEDOUT, ESHUTDOWN. */
	void (*closed)(void *app, int err);
};

struct net_conf {
	unsigned worker;   /* this stack's worker id */
	unsigned nworkers; /* stacks in the process (for steering) */
	uint8_t mac[6];
	uint32_t ip;	    /* host byte order */
	uint8_t prefix;	    /* netmask length */
	uint32_t gateway;   /* 0: none (only on-link peers reachable) */
	uint16_t mtu;	    /* IP MTU, e.g. 1500 */
	uint16_t ports[16]; /* TCP listening ports */
	unsigned nports;
	unsigned tx_offloads; /* NET_TX_* the port supports */
	bool rx_csum_offload; /* the port fills NET_RX_*_CSUM_* */
	/* The port is a local virtual device (af_packet, tap ...): its
	 * frames may come straight from a kernel that left the TCP checksum
	 * to an offload (CHECKSUM_PARTIAL) or built 64 KB TSO/GSO frames,
	 * which such a port cuts at its frame size.  Accept both (ipv4.c);
	 * never set it for a NIC on a wire. */
	bool rx_csum_partial;
	/* Steering: with rss, a flow's worker is reta[hash % reta_size]
	 * of the Toeplitz hash with rss_key (what the NIC computes);
	 * without, a software hash of the 4-tuple mod nworkers. */
	bool rss;
	uint8_t rss_key[40];
	uint16_t reta[512];
	unsigned reta_size;
	/* Shared by every worker, fixed at start (ISNs, SYN cookies). */
	uint8_t secret[32];
	/* TCP parameters. */
	unsigned syn_backlog; /* half-open connections before SYN cookies */
	unsigned max_conns;   /* connection table limit */
	uint32_t rcvbuf;      /* receive window, bytes */
	uint32_t sndbuf;      /* send buffer, bytes */
	unsigned keepalive_s; /* 0: off (Redis tcp-keepalive) */
	unsigned time_wait_ms;
	unsigned delack_ms;
	unsigned rto_min_ms;
	unsigned rto_max_ms;
	unsigned syn_retries;  /* SYN-ACK retransmissions */
	unsigned data_retries; /* retransmissions before ETIMEDOUT */
};

/** Defaults for everything but addresses (Linux-like timers). */
void net_conf_default(struct net_conf *conf);

struct net_stack *net_new(const struct net_conf *conf, const struct net_io *io,
			  const struct net_app_ops *app, void *app_arg);
/** Resets every connection (closed() is called for each) and frees. */
void net_free(struct net_stack *s);

/** Announce the port's address with one gratuitous ARP; the driver calls
 * it once the link is up (after a first net_set_time()). */
void net_announce(struct net_stack *s);

/** The clock for this turn, in microseconds (monotonic). */
void net_set_time(struct net_stack *s, uint64_t now_us);
/**
 * One received Ethernet frame.  The stack owns b from here: it frees it,
 * keeps it (out-of-order data) or steers it to another worker.
 */
void net_rx(struct net_stack *s, struct net_buf *b, uint8_t *frame, size_t len,
	    unsigned flags, uint32_t rss_hash);
/** The connections that received bytes or a FIN in the net_rx() calls
 * since the last one: readable() for each that got bytes, then eof() for
 * each that got its FIN, once per connection, in the order they first
 * received.  net_flush() does it too if the driver has not. */
void net_readable(struct net_stack *s);
/** Run due timers. */
void net_timers(struct net_stack *s);
/** Microseconds until the next timer (for an idle sleep), or UINT64_MAX. */
uint64_t net_next_timer_us(const struct net_stack *s);
/** Emit what the turn queued (ACKs, data of net_tcp_send). */
void net_flush(struct net_stack *s);

/* ---- connections, for the application ---------------------------- */

/** Queue up to len bytes for sending; returns how many the send buffer
 * took (0 when full: writable() follows once it drains). */
size_t net_tcp_send(struct tcb *t, const void *data, size_t len);
/** The application is done with t: TCP sends what is queued, then FIN,
 * and finishes the close (and TIME_WAIT) on its own.  No upcall for t
 * follows; data arriving afterwards is answered with RST, as Linux does
 * for a closed socket. */
void net_tcp_close(struct tcb *t);
/** The application is done with t: reset it now (RST).  No upcall. */
void net_tcp_abort(struct tcb *t);
/** Bytes queued and not yet acknowledged (for CLIENT LIST, tests). */
size_t net_tcp_unacked(const struct tcb *t);

/* ---- counters, for INFO ------------------------------------------ */

/* TCP states as INFO names them (TIME_WAIT is tcp_time_wait). */
#define NET_TCP_NSTATES 8
#define NET_TCP_STATE_NAMES                                                    \
	{                                                                      \
		"closed", "syn_rcvd", "established", "close_wait",             \
		    "fin_wait_1", "fin_wait_2", "closing", "last_ack"          \
	}

struct net_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t rx_bad_csum, rx_bad_len, rx_not_mine, rx_frag_dropped;
	uint64_t rx_other; /* protocols not spoken: VLAN, IPv6, UDP ... */
	/* With conf.rx_csum_partial: TCP segments accepted although their
	 * checksum field holds only the pseudo-header sum (the sender's
	 * kernel left the rest to an offload), and, of those, segments
	 * longer than the frame the port delivered (TSO/GSO), kept up to
	 * where the frame was cut. */
	uint64_t rx_csum_partial, rx_gso_cut;
	uint64_t tx_no_route; /* off-link destination, no gateway */
	uint64_t rx_steered_out, rx_steer_drops;
	uint64_t arp_requests_rx, arp_replies_tx, arp_requests_tx,
	    arp_unresolved_drops;
	uint64_t icmp_echo;
	uint64_t tx_alloc_fail;
	/* TCP */
	uint64_t tcp_active_conns;  /* now ESTABLISHED or later */
	uint64_t tcp_passive_opens; /* accepted */
	uint64_t tcp_in_segs, tcp_out_segs;
	uint64_t tcp_retrans_segs, tcp_fast_retrans, tcp_rto_timeouts;
	uint64_t tcp_out_rsts, tcp_in_rsts;
	uint64_t tcp_ooo_segs, tcp_dup_segs, tcp_challenge_acks;
	uint64_t tcp_syncookies_sent, tcp_syncookies_ok, tcp_syncookies_failed;
	uint64_t tcp_syn_drops; /* table full */
	uint64_t tcp_zero_window_probes, tcp_keepalive_probes;
	uint64_t tcp_time_wait; /* now in TIME_WAIT */
	uint64_t tcp_conns;	/* now in the table, any state */
	/* now in each state, indexed like NET_TCP_STATE_NAMES */
	uint64_t tcp_in_state[NET_TCP_NSTATES];
};

const struct net_stats *net_stats(const struct net_stack *s);

/** The worker a TCP flow belongs to (addresses/ports host order). */
unsigned net_flow_worker(const struct net_stack *s, uint32_t peer_ip,
			 uint16_t peer_port, uint32_t local_ip,
			 uint16_t local_port, unsigned flags,
			 uint32_t rss_hash);

#endif
