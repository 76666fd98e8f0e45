/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcp_pvt: TCP's insides, shared by tcp_in.c (receive path and state
 * machine), tcp_out.c (segment output, flush), tcp_timer.c (RTO, persist,
 * delayed ACK, keepalive, TIME_WAIT), tcp_conn.c (connection table, TCB
 * pool, send buffer, the net_tcp_* API) and tcp_cookie.c (SipHash, ISNs,
 * SYN cookies).
 *
 * Threading: a struct tcp_state and its TCBs belong to one stack, hence
 * to one worker; nothing here is shared.
 */
#ifndef CACHALOT_TCP_PVT_H
#define CACHALOT_TCP_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_pvt.h"

/* Sequence-space comparisons (RFC 9293 modular arithmetic). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

#define TCP_OOO_SEGS 256	 /* out-of-order frames kept per TCB */
#define TCP_OOO_FRAMES 2048	 /* ... and per stack (the driver's pool) */
#define TCP_RCV_RNG 4		 /* out-of-order ranges: SACK blocks we send */
#define TCP_SND_RNG 8		 /* SACK scoreboard ranges */
#define TCP_SACK_MAXBLK 4	 /* SACK blocks one segment can carry */
#define TCP_DUPTHRESH 3		 /* RFC 5681, RFC 6675 */
#define TCP_TLP_MIN_US 10000	 /* RFC 8985 PTO floor beyond 2 SRTT */
#define TCP_TLP_DELACK_US 40000	 /* ... with one segment in flight */
#define TCP_TLP_MAX 2		 /* probes before the RTO may fire */
#define TCP_DEFAULT_MSS 536	 /* RFC 9293 when the peer sends no MSS */
#define TCP_IW_SEGS 10		 /* RFC 6928 initial window */
#define TCP_RTO_INIT_US 1000000	 /* RFC 6298 (2.1) */
#define TCP_KA_PROBES 3		 /* keepalive probes before ETIMEDOUT */
#define TCP_CHALLENGE_PER_S 1000 /* RFC 5961 (7) challenge ACKs per stack */
#define TCP_SB_MIN 4096		 /* first send buffer, grown by doubling */
#define TCP_TS_OPTLEN 12	 /* NOP NOP TS */
#define TCP_MAX_WSCALE 14
#define TCP_COOKIE_MAXAGE 2 /* 64 s periods a SYN cookie stays valid */

enum tcp_st {
	TCPS_CLOSED, /* freed, waiting for the end of the turn */
	TCPS_SYN_RCVD,
	TCPS_ESTABLISHED,
	TCPS_CLOSE_WAIT,
	TCPS_FIN_WAIT_1,
	TCPS_FIN_WAIT_2,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_TIME_WAIT, /* a struct tcp_tw, never a TCB */
};

/* tcb.flags */
#define TF_QUEUED (1u << 0)	 /* on the flush list */
#define TF_ACKNOW (1u << 1)	 /* an ACK is owed this turn */
#define TF_DELACK (1u << 2)	 /* an ACK is owed, delayed */
#define TF_TS (1u << 3)		 /* RFC 7323 timestamps negotiated */
#define TF_WS (1u << 4)		 /* RFC 7323 window scaling negotiated */
#define TF_APP_GONE (1u << 5)	 /* net_tcp_close()d: no more upcalls */
#define TF_FIN_PENDING (1u << 6) /* send FIN after the queued data */
#define TF_FIN_ACKED (1u << 7)
#define TF_RECOVERY (1u << 8) /* NewReno fast recovery */
#define TF_SB_FULL (1u << 9)  /* net_tcp_send() refused: writable() owed */
#define TF_RTT (1u << 10)     /* timing rtt_seq (no timestamps) */
#define TF_PERSIST (1u << 11) /* rtx timer is the persist timer */
#define TF_WLOW (1u << 12)    /* on the small-window list */
#define TF_RCVD_FIN (1u << 13)
#define TF_SRTT (1u << 14)     /* srtt_us holds a measurement */
#define TF_SACK (1u << 15)     /* RFC 2018 SACK permitted both ways */
#define TF_TLP (1u << 16)      /* a tail loss probe is scheduled (tlp_at) */
#define TF_TLP_SENT (1u << 17) /* a probe went out: its SACK marks losses */
#define TF_RLIST (1u << 18)    /* on the readable list (tcp_readable) */
#define TF_READABLE (1u << 19) /* recv() was called: readable() owed */
#define TF_EOF_OWED (1u << 20) /* the FIN arrived: eof() owed */

/* A range of sequence space [start, end). */
struct tcp_rng {
	uint32_t start, end;
};

/*
 * One out-of-order segment.  Its bytes stay in the received frame, and so
 * does this record: it is written over the frame's headers, which are no
 * longer needed, just below the payload (tcp_in.c).  No allocation, no
 * copy, and no memory at all in a TCB that has nothing out of order.
 */
struct tcp_ooo {
	struct tcp_ooo *next, *prev; /* sorted by seq */
	struct net_buf *b;
	uint32_t seq;
	uint16_t len;
	uint16_t doff; /* the payload is at (uint8_t *)this + doff */
	bool fin;
};

struct tcb {
	struct tcb *hnext; /* connection table chain */
	struct tcb *qnext; /* flush list / zombie list / pool free list */
	struct tcb *wnext; /* small-window list */
	struct tcb *rnext; /* readable list */
	struct net_stack *s;
	void *app;
	uint32_t rip, lip; /* host order */
	uint16_t rport, lport;
	uint8_t state;
	uint8_t snd_ws, rcv_ws; /* shift counts (0 when not negotiated) */
	uint8_t retries;	/* RTO / SYN-ACK / persist back-off count */
	uint8_t ka_probes;
	uint8_t tlp_probes; /* tail loss probes since snd_una last moved */
	uint8_t dupacks;
	uint8_t nrcv_rng, nsnd_rng;
	uint16_t nooo; /* frames on the out-of-order list */
	uint32_t flags;

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_sndwnd, snd_wl1, snd_wl2;
	uint32_t smss; /* payload bytes per segment (MSS minus options) */
	uint32_t cwnd, ssthresh, recover, ca_acked;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq;   /* timed sequence number; with TS, last TSecr */
	uint32_t rtt_tick;  /* with TS: the tick of the last sample */
	uint32_t sacked;    /* bytes the scoreboard holds */
	uint32_t high_rxt;  /* SACK recovery: holes below were resent */
	uint32_t tlp_lost;  /* holes below: lost (the probe's SACK showed) */
	uint32_t rxt_fence; /* snd_max when the holes were last resent */
	uint64_t rto_at;    /* when the RTO is due (the timer may be earlier) */
	uint64_t tlp_at;    /* when the tail loss probe is due (TF_TLP) */
	uint64_t rtt_start_us;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv, rcv_unacked;
	uint32_t last_ack_sent;
	uint32_t ts_recent, ts_off;
	uint64_t last_rx_us;

	/* send buffer: a ring of sb_cap (a power of two) bytes; sb_len
	 * bytes from snd_una (acked bytes leave it), at offset sb_off. */
	uint8_t *sb;
	uint32_t sb_cap, sb_off, sb_len;

	struct net_path path; /* the headers below TCP, the next hop's MAC */

	struct timer rtx;    /* RTO, SYN-ACK retransmission or persist */
	struct timer delack; /* delayed ACK */
	struct timer ka;     /* keepalive, FIN_WAIT_2 and TIME_WAIT expiry */

	/* out-of-order data: the frames, and the ranges they cover in
	 * most-recently-changed order (the SACK blocks, RFC 2018 4) */
	struct tcp_ooo *ooo_head, *ooo_tail;
	struct tcp_rng rcv_rng[TCP_RCV_RNG];
	/* the scoreboard: what the peer SACKed, sorted, above snd_una */
	struct tcp_rng snd_rng[TCP_SND_RNG];
};

/*
 * A connection in TIME_WAIT.  The TCB goes when TIME_WAIT starts; this is
 * all that answering the peer's late segments (an ACK for a retransmitted
 * FIN), RFC 1337 and RFC 6191 reuse need: 64 bytes instead of a TCB, and
 * no timer of its own -- every record lives time_wait_ms, so they expire
 * in the order they were made, from one FIFO and one timer per stack.
 */
struct tcp_tw {
	struct tcp_tw *hnext;	    /* TIME_WAIT table chain */
	struct tcp_tw *next, *prev; /* expiry FIFO; free list (next) */
	uint64_t expire_us;
	uint32_t rip, lip; /* host order */
	uint16_t rport, lport;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent, ts_off;
	uint8_t rcv_ws;
	bool ts;
};

#define tcb_of(ptr, member)                                                    \
	((struct tcb *)((char *)(ptr)-offsetof(struct tcb, member)))

struct tcp_slab;
struct tcp_tw_slab;

struct tcp_state {
	struct tcb **ht;
	uint32_t ht_mask;
	uint64_t hseed;
	struct tcb *pool;	    /* free TCBs */
	struct tcp_slab *slabs;	    /* where TCBs come from */
	struct tcb *qhead, **qtail; /* flush list */
	struct tcb *zombies;	    /* freed this turn */
	struct tcb *wlow;	    /* advertised a small window */
	struct tcb *rhead, **rtail; /* readable list: upcalls owed */
	struct net_stack *s;
	struct tcp_tw **tw_ht;		  /* TIME_WAIT table (ht_mask) */
	struct tcp_tw *tw_head, *tw_tail; /* oldest first */
	struct tcp_tw *tw_pool;
	struct tcp_tw_slab *tw_slabs;
	struct timer tw_timer; /* the oldest record's expiry */
	unsigned half_open;
	unsigned ooo_frames; /* kept by all TCBs */
	uint32_t chal_count;
	uint64_t chal_start_us;
	uint32_t cookie_last; /* 64 s period a cookie was last sent */
	bool cookie_sent;
	uint8_t rcv_ws;	  /* our window scale when the peer scales */
	uint16_t our_mss; /* mtu - 40 */
	uint8_t isn_key[16], cookie_key[16];
};

/* Parsed view of a received segment. */
struct tcp_seg {
	uint32_t src, dst; /* host order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win; /* raw field, unscaled */
	uint8_t flags;
	bool has_mss, has_ws, has_ts, sack_ok;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct tcp_rng sack[TCP_SACK_MAXBLK];
	const uint8_t *data;
	uint32_t len;  /* payload bytes */
	bool had_data; /* len > 0 before a zero window trimmed it */
	struct net_buf *b;
	bool kept; /* b now belongs to the out-of-order queue */
};

static inline uint32_t tcp_ts_now(const struct net_stack *s)
{
	return (uint32_t)(s->now_us >> 10); /* ~1 ms ticks, no division */
}

static inline bool tcp_st_active(uint8_t st)
{
	return st >= TCPS_ESTABLISHED && st != TCPS_TIME_WAIT;
}

/* Bytes sent and not acknowledged. */
static inline uint32_t tcp_flight(const struct tcb *t)
{
	return t->snd_max - t->snd_una;
}

/* tcp_conn.c; the small per-segment helpers are inline (no call on the
 * request/reply path for a hash lookup or a list append). */
static inline uint32_t tcb_hash(const struct tcp_state *ts, uint32_t rip,
				uint16_t rport, uint32_t lip, uint16_t lport)
{
	uint64_t k = ((uint64_t)rip << 32 | (uint32_t)rport << 16 | lport);

	k = (k ^ ts->hseed) * 0x9e3779b97f4a7c15ULL;
	k ^= lip;
	k *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(k >> 32) & ts->ht_mask;
}

static inline struct tcb *tcb_lookup(struct tcp_state *ts, uint32_t rip,
				     uint16_t rport, uint32_t lip,
				     uint16_t lport)
{
	struct tcb *t = ts->ht[tcb_hash(ts, rip, rport, lip, lport)];

	while (t && (t->rip != rip || t->rport != rport || t->lport != lport ||
		     t->lip != lip))
		t = t->hnext;
	return t;
}

/* Put t on the flush list (tcp_flush will run tcp_output for it). */
static inline void tcb_queue(struct tcb *t)
{
	struct tcp_state *ts = t->s->tcp;

	if (t->flags & TF_QUEUED)
		return;
	t->flags |= TF_QUEUED;
	t->qnext = NULL;
	*ts->qtail = t;
	ts->qtail = &t->qnext;
}

/* t owes the application readable() (what) or eof() (TF_EOF_OWED) from
 * tcp_readable, after the frames: upcalls that may do anything wait there
 * until TCP is out of the segment. */
static inline void tcb_readable(struct tcb *t, uint32_t what)
{
	struct tcp_state *ts = t->s->tcp;

	t->flags |= what;
	if (t->flags & TF_RLIST)
		return;
	t->flags |= TF_RLIST;
	t->rnext = NULL;
	*ts->rtail = t;
	ts->rtail = &t->rnext;
}

/* An ACK is owed but may wait: a reply sent this turn will carry it, else
 * tcp_output starts the timer (tcp_start_delack). */
static inline void tcp_arm_delack(struct tcb *t)
{
	t->flags |= TF_DELACK;
	tcb_queue(t);
}

/* n bytes at the front of the send buffer were acknowledged. */
static inline void tcb_sb_acked(struct tcb *t, uint32_t n)
{
	t->sb_len -= n;
	t->sb_off = (t->sb_off + n) & (t->sb_cap - 1);
	if (!t->sb_len)
		t->sb_off = 0;
}

void tcb_free_zombies(struct tcp_state *ts);
/* The TCBs freed this turn go back to the pool. */
static inline void tcb_release_zombies(struct tcp_state *ts)
{
	if (ts->zombies)
		tcb_free_zombies(ts);
}

struct tcb *tcb_new(struct net_stack *s, const struct tcp_seg *sg);
void tcb_set_state(struct tcb *t, uint8_t st);
void tcb_destroy(struct tcb *t, int err);
void tcb_ooo_clear(struct tcb *t);
void tcb_sb_release(struct tcb *t);
struct tcp_tw *tcp_tw_lookup(struct tcp_state *ts, uint32_t rip, uint16_t rport,
			     uint32_t lip, uint16_t lport);
void tcp_tw_enter(struct tcb *t);
void tcp_tw_restart(struct tcp_state *ts, struct tcp_tw *tw);
void tcp_tw_free(struct tcp_state *ts, struct tcp_tw *tw);
bool tcp_listening(const struct net_stack *s, uint16_t port);

/* tcp_in.c */
void tcp_apply_syn_opts(struct tcb *t, const struct tcp_seg *sg);
uint32_t tcp_sack_lost_to(const struct tcb *t);

/* tcp_out.c */
void tcp_send_ack(struct tcb *t);
void tcp_send_synack(struct tcb *t);
void tcp_send_probe(struct tcb *t);
void tcp_send_rst_tcb(struct tcb *t);
void tcp_send_rst(struct net_stack *s, const struct tcp_seg *sg);
void tcp_send_cookie_synack(struct net_stack *s, const struct tcp_seg *sg,
			    uint32_t iss, uint32_t tsval, uint16_t mss);
bool tcp_challenge_ok(struct net_stack *s);
void tcp_retransmit_una(struct tcb *t);
void tcp_resend(struct tcb *t, uint32_t seq, uint32_t n);
void tcp_send_tlp(struct tcb *t);
bool tcp_sack_output(struct tcb *t);
void tcp_tw_send_ack(struct net_stack *s, const struct tcp_tw *tw);

/* tcp_timer.c */
void tcp_rtt_sample(struct tcb *t, uint32_t rtt_us);
void tcp_arm_rto(struct tcb *t);
void tcp_arm_persist(struct tcb *t);
void tcp_start_delack(struct tcb *t);
void tcp_arm_keepalive(struct tcb *t);
void tcp_enter_time_wait(struct tcb *t);
void tcp_arm_fin_wait_2(struct tcb *t);

/* tcp_cookie.c */
uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_isn(struct net_stack *s, const struct tcp_seg *sg);
uint32_t tcp_ts_offset(struct net_stack *s, uint32_t rip, uint16_t rport,
		       uint32_t lip, uint16_t lport);
uint32_t tcp_cookie_make(struct net_stack *s, const struct tcp_seg *sg,
			 uint16_t *mss);
int tcp_cookie_check(struct net_stack *s, const struct tcp_seg *sg,
		     uint16_t *mss);
void tcp_cookie_synack(struct net_stack *s, const struct tcp_seg *sg);
struct tcb *tcp_cookie_accept(struct net_stack *s, const struct tcp_seg *sg);

#endif
