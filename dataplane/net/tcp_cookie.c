/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keyed hashes of the 4-tuple: RFC 6528 initial sequence numbers, RFC 7323
 * per-connection timestamp offsets and SYN cookies, all with SipHash-2-4
 * keyed by conf.secret (the same in every worker, so a flow steered to
 * another worker still validates).
 *
 * A SYN cookie is our ISN when the half-open table is full: nothing is
 * stored, the client's ACK (ack - 1) brings it back.  Like Linux:
 *
 *   bits 31..24  a 64 s period counter (now_us >> 26), so a cookie ages out
 *   bits 23..22  an MSS index: one of four common MSS values
 *   bits 21..0   H(4-tuple, client ISN, counter)
 *
 * (Linux adds the index to the hash instead; kept apart, a cookie off by
 * one fails rather than decoding as a neighbouring MSS.)  When the
 * client sent timestamps, its window scale rides in the low 4 bits of our
 * SYN-ACK's TSval (0xf: none) and SACK-permitted in bit 4, which the
 * client echoes in TSecr; without timestamps the connection gets no window
 * scaling and no SACK.
 */
#include <errno.h>
#include <string.h>

#include "tcp_pvt.h"

/* ---- SipHash-2-4 (Aumasson & Bernstein) ---------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, end = len - (len % 8);

	for (i = 0; i < end; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < len - end; j++)
		b |= (uint64_t)in[end + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The 4-tuple (+ extra words) as hashed; padding-free. */
struct tcp_hkey {
	uint32_t rip, lip;
	uint16_t rport, lport;
	uint32_t x, y;
};

static uint64_t tuple_hash(const uint8_t key[16], uint32_t rip, uint16_t rport,
			   uint32_t lip, uint16_t lport, uint32_t x, uint32_t y)
{
	struct tcp_hkey k = {rip, lip, rport, lport, x, y};

	return tcp_siphash(key, &k, sizeof(k));
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a 4 us clock. */
uint32_t tcp_isn(struct net_stack *s, const struct tcp_seg *sg)
{
	struct tcp_state *ts = s->tcp;
	uint32_t f = (uint32_t)tuple_hash(ts->isn_key, sg->src, sg->sport,
					  sg->dst, sg->dport, 0, 0);

	return f + (uint32_t)(s->now_us >> 2);
}

/* RFC 7323 (5.4): a per-connection random offset keeps TSval from
 * telling the peer our uptime or relating connections. */
uint32_t tcp_ts_offset(struct net_stack *s, uint32_t rip, uint16_t rport,
		       uint32_t lip, uint16_t lport)
{
	return (uint32_t)tuple_hash(s->tcp->cookie_key, rip, rport, lip, lport,
				    0x7473u, 0);
}

/* ---- SYN cookies ---------------------------------------------------- */

static const uint16_t cookie_mss[4] = {536, 1300, 1440, 1460};

static uint32_t cookie_period(const struct net_stack *s)
{
	return (uint32_t)(s->now_us >> 26); /* ~67 s */
}

static uint32_t cookie_hash(struct net_stack *s, const struct tcp_seg *sg,
			    uint32_t peer_isn, uint32_t period)
{
	return (uint32_t)tuple_hash(s->tcp->cookie_key, sg->src, sg->sport,
				    sg->dst, sg->dport, peer_isn, period);
}

uint32_t tcp_cookie_make(struct net_stack *s, const struct tcp_seg *sg,
			 uint16_t *mss)
{
	uint32_t period = cookie_period(s);
	uint16_t want = sg->has_mss ? sg->mss : TCP_DEFAULT_MSS;
	uint32_t idx = 0;

	for (uint32_t i = 1; i < 4; i++)
		if (cookie_mss[i] <= want)
			idx = i;
	*mss = cookie_mss[idx];
	uint32_t h = cookie_hash(s, sg, sg->seq, period);

	return (period << 24) | (idx << 22) | (h & 0x3fffff);
}

/* 0 and *mss if sg (a bare ACK) carries a valid cookie, -EINVAL if not. */
int tcp_cookie_check(struct net_stack *s, const struct tcp_seg *sg,
		     uint16_t *mss)
{
	uint32_t cookie = sg->ack - 1, now = cookie_period(s);
	uint32_t age = (now - (cookie >> 24)) & 0xff;

	if (age > TCP_COOKIE_MAXAGE)
		return -EINVAL;
	uint32_t h = cookie_hash(s, sg, sg->seq - 1, now - age);
	if ((cookie ^ h) & 0x3fffff)
		return -EINVAL;
	*mss = cookie_mss[(cookie >> 22) & 3];
	return 0;
}

/* Answer a SYN with a cookie, keeping no state. */
void tcp_cookie_synack(struct net_stack *s, const struct tcp_seg *sg)
{
	struct tcp_state *ts = s->tcp;
	uint16_t mss;
	uint32_t iss = tcp_cookie_make(s, sg, &mss);
	uint32_t tsval = 0;

	if (sg->has_ts) {
		uint32_t off =
		    tcp_ts_offset(s, sg->src, sg->sport, sg->dst, sg->dport);
		uint32_t ws = sg->has_ws ? sg->ws : 0xf;

		if (ws != 0xf && ws > TCP_MAX_WSCALE)
			ws = TCP_MAX_WSCALE;
		/* The options ride in the low bits, so the clock is rounded
		 * down a whole step first: a TSval above the connection's
		 * next ones would have the peer drop those by PAWS. */
		tsval = (((tcp_ts_now(s) + off) & ~0x1fu) - 0x20u) |
			(sg->sack_ok ? 0x10u : 0) | ws;
	}
	ts->cookie_last = cookie_period(s);
	ts->cookie_sent = true;
	s->st.tcp_syncookies_sent++;
	tcp_send_cookie_synack(s, sg, iss, tsval, mss);
}

/*
 * A bare ACK for no connection while cookies are in use: if it carries a
 * valid cookie, build the ESTABLISHED connection its SYN would have
 * created.  NULL if not a cookie (or no room); the caller answers RST.
 */
struct tcb *tcp_cookie_accept(struct net_stack *s, const struct tcp_seg *sg)
{
	struct tcp_state *ts = s->tcp;
	struct tcp_seg syn = *sg;
	uint16_t mss;

	if (!ts->cookie_sent ||
	    ((cookie_period(s) - ts->cookie_last) & 0xff) > TCP_COOKIE_MAXAGE)
		return NULL;
	if (tcp_cookie_check(s, sg, &mss) < 0) {
		s->st.tcp_syncookies_failed++;
		return NULL;
	}
	/* Rebuild the SYN's options from the cookie and the TS echo. */
	syn.seq = sg->seq - 1;
	syn.has_mss = true;
	syn.mss = mss;
	syn.has_ws = false;
	if (sg->has_ts && sg->tsecr) {
		uint32_t ws = sg->tsecr & 0xf;

		syn.has_ws = ws != 0xf;
		syn.ws = (uint8_t)ws;
		syn.sack_ok = sg->tsecr & 0x10;
	} else {
		syn.has_ts = false;
		syn.sack_ok = false;
	}
	struct tcb *t = tcb_new(s, &syn);

	if (!t)
		return NULL;
	s->st.tcp_syncookies_ok++;
	/* Our SYN-ACK is already acknowledged: the caller processes this ACK
	 * in SYN_RCVD, which establishes the connection. */
	t->iss = sg->ack - 1;
	t->snd_una = t->iss;
	t->snd_nxt = t->snd_max = sg->ack;
	return t;
}
