/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output limits (client-output-buffer-limit, Redis 7.0's semantics): the
 * pending output is what the transport has not taken yet, out's unsent
 * tail plus every slot's bytes.  Redis does not compare that with the
 * limits: a reply goes first into the client's static buffer (16 KB at
 * connect; its cron shrinks it to as little as 1 KB while the client does
 * not use it and doubles it back when a reply fills it), and only what
 * overflows goes to its reply list, whose memory the limits see: nodes of
 * 16 KB, or one node as large as a bigger piece, each at jemalloc's size
 * class plus 40 bytes of list overhead, freed once completely sent.  So
 * with `normal 1 2 3` a PING is served and a 2 KB reply to an idle client
 * is not.  conn models that buffer (the r* fields): rbs and rpeak follow
 * Redis's resizing in conn_cron, rsent is how much of the static buffer
 * went out, and rlist/rfree/rmem describe the list.  The model takes each
 * reply as one piece where Redis writes header, payload and CRLF apart;
 * a GET comes out the same, an array over 16 KB is counted as one node.
 *
 * Each reply ends with one comparison of the pending output against
 * `otrip`: what still fits in the static buffer while the list is empty,
 * 0 while it is not (every reply then updates the model and looks at hard,
 * soft and the soft timer), SIZE_MAX without limits.  The hard limit also
 * caps the buffer a reply is written into (resp_out.limit, past which the
 * list surely counts over it), so GET of a 512 MB value or KEYS on a big
 * keyspace fails as it grows instead of allocating it all first.  A client
 * over its limit is closed at the next safe point (the end of conn_parse,
 * or conn_resume_paused for a reply that came back from another core)
 * without sending more output; conn_cron catches a soft limit kept too
 * long by a client that stopped producing output.
 */
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>

#include "conn_pvt.h"
#include "log.h"
#include "transport.h"

static unsigned long conn_obuf_kills;

unsigned long conn_obuf_disconnections(void)
{
	return __atomic_load_n(&conn_obuf_kills, __ATOMIC_RELAXED);
}

/* Redis getClientType, for limits (a master counts as normal).  Pub/sub
 * subscribers and replicas get their classes when they exist. */
static enum cfg_obuf_class conn_obuf_class(const struct conn *c)
{
	(void)c;
	return CFG_OBUF_NORMAL;
}

static size_t obuf_bytes(unsigned long long v)
{
	return v > SIZE_MAX ? SIZE_MAX : (size_t)v;
}

/* jemalloc's size class for s bytes (s > 64): four classes per power of
 * two, which is what Redis's zmalloc_usable reports. */
static size_t je_size(size_t s)
{
	unsigned lg =
	    63u - (unsigned)__builtin_clzll((unsigned long long)s - 1);
	size_t step = (size_t)1 << (lg - 2);

	return (s + step - 1) & ~(step - 1);
}

/* A full 16 KB list node: the bytes it holds (what it counts is 40 more). */
#define CONN_RNODE_SIZE                                                        \
	(je_size(CONN_RBUF_MAX + CONN_RNODE_HDR) - CONN_RNODE_HDR)

/* Where the static buffer is filled to (Redis's bufpos, sent or not). */
static size_t conn_rbuf_pos(const struct conn *c)
{
	size_t pending = conn_pending(c);

	if (!c->rlist)
		return c->rsent + pending < c->rbs ? c->rsent + pending
						   : c->rbs;
	return pending > c->rlist ? c->rbs : 0;
}

static void conn_obuf_retrip(struct conn *c)
{
	if (!c->ohard && !c->osoft)
		c->otrip = SIZE_MAX;
	else if (c->rlist)
		c->otrip = 0;
	else
		c->otrip = c->rbs - c->rsent;
}

/* Take the class's limits from cfg (at accept and once per parsed batch,
 * so CONFIG SET applies to connected clients too). */
void conn_obuf_load(struct conn *c, const struct conn_params *cp)
{
	const struct cfg_obuf *o = &cp->obuf[conn_obuf_class(c)];

	c->ohard = obuf_bytes(o->hard);
	c->osoft = obuf_bytes(o->soft);
	c->osoft_ms = (int64_t)o->soft_secs * 1000;
	if (!c->osoft)
		c->osoft_since = 0;
	conn_obuf_retrip(c);
}

/*
 * Redis _addReplyToBufferOrList for what was added since the model last
 * looked: the static buffer takes what fits while the list is empty, the
 * last node what fits in its room, and a new node the rest.
 */
static void conn_rbuf_add(struct conn *c)
{
	size_t pending = conn_pending(c), d, node;

	if (!c->rlist) {
		size_t pos = c->rsent + pending;

		if (pos <= c->rbs) {
			if (pos > c->rpeak)
				c->rpeak = pos;
			return;
		}
		c->rpeak = c->rbs;
		c->rseen = pending - (pos - c->rbs);
	}
	d = pending > c->rseen ? pending - c->rseen : 0;
	c->rseen = pending;
	if (d <= c->rfree) {
		c->rfree -= d;
		c->rlist += d;
		return;
	}
	d -= c->rfree;
	c->rlist += c->rfree + d;
	/* A big piece is a bulk's payload: Redis sizes its node for that,
	 * and the CRLF after it goes into the node's slack, or into one
	 * more node when the payload filled it exactly. */
	node = d <= CONN_RBUF_MAX ? CONN_RBUF_MAX : d - 2;
	node = je_size(node + CONN_RNODE_HDR) - CONN_RNODE_HDR;
	c->rmem += node + CONN_RNODE_OVERHEAD;
	if (node >= d) {
		c->rfree = node - d;
	} else {
		c->rmem += CONN_RNODE_SIZE + CONN_RNODE_OVERHEAD;
		c->rfree = CONN_RNODE_SIZE - (d - node);
	}
}

/* The transport took n of the `before` pending bytes: the static buffer
 * goes first, and list nodes are freed once completely sent. */
void conn_rbuf_sent(struct conn *c, size_t before, size_t n)
{
	size_t unsent = before - c->rlist, nodes;

	if (!c->rlist) {
		size_t pos = c->rsent + before;

		pos = pos < c->rbs ? pos : c->rbs;
		if (pos > c->rpeak)
			c->rpeak = pos;
	}
	c->rseen = c->rseen > n ? c->rseen - n : 0;
	if (n < unsent) {
		c->rsent += n;
		n = 0;
	} else {
		c->rsent = 0;
		n -= unsent;
	}
	if (n) {
		c->rlist -= n;
		if (!c->rlist) {
			c->rfree = c->rmem = 0;
		} else {
			/* Every node but the last is full. */
			nodes = (c->rlist + c->rfree + CONN_RNODE_SIZE - 1) /
				CONN_RNODE_SIZE;
			nodes *= CONN_RNODE_SIZE + CONN_RNODE_OVERHEAD;
			if (nodes < c->rmem)
				c->rmem = nodes;
		}
	}
	conn_obuf_retrip(c);
}

/*
 * Redis clientsCronResizeOutputBuffer: shrink the static buffer to the
 * peak when the peak is under half of it, double it when a reply filled
 * it, and forget the peak every 5 s.  Returns the list's memory for INFO's
 * client_recent_max_output_buffer (without limits the list is not
 * modelled, and its memory is estimated from the bytes).  Context: cron.
 */
size_t conn_cron_rbuf(struct conn *c, int64_t now_ms)
{
	size_t pos = conn_rbuf_pos(c), want = 0, over;

	if (pos > c->rpeak)
		c->rpeak = pos;
	if (c->rbs / 2 >= CONN_RBUF_MIN && c->rpeak < c->rbs / 2)
		want =
		    c->rpeak + 1 > CONN_RBUF_MIN ? c->rpeak + 1 : CONN_RBUF_MIN;
	else if (c->rbs < CONN_RBUF_MAX && c->rpeak == c->rbs)
		want = c->rbs * 2 < CONN_RBUF_MAX ? c->rbs * 2 : CONN_RBUF_MAX;
	if (now_ms - c->rpeak_ms >= CONN_RBUF_PEAK_MS) {
		c->rpeak = pos;
		c->rpeak_ms = now_ms;
	}
	if (want) {
		c->rbs = je_size(want);
		conn_obuf_retrip(c);
	}
	if (c->ohard || c->osoft)
		return c->rmem;
	over = c->rsent + conn_pending(c);
	if (over <= c->rbs)
		return 0;
	over -= c->rbs;
	return (over + CONN_RNODE_SIZE - 1) / CONN_RNODE_SIZE *
	       (CONN_RNODE_SIZE + CONN_RNODE_OVERHEAD);
}

/* How much pending output c may reach before its list surely counts the
 * hard limit (resp_out.limit); 0 = no limit.  The slack covers what
 * resp_write reserves beyond a reply's bytes (a header's longest form). */
size_t conn_obuf_cap(const struct conn *c)
{
	return c->ohard ? c->ohard + c->rbs + c->rfree + 64 : 0;
}

/* The room conn_obuf_cap leaves (at least 1, which no reply fits in). */
size_t conn_obuf_room(const struct conn *c)
{
	size_t used = conn_pending(c), cap = conn_obuf_cap(c);

	if (!cap)
		return 0;
	return used < cap - 1 ? cap - used : 1;
}

/* Redis checkClientOutputBufferLimits, on the list's memory: true when c
 * must go. */
bool conn_obuf_over(struct conn *c, size_t used)
{
	int64_t now = c->w->now_ms;

	if (c->ohard && used >= c->ohard)
		return true;
	if (!c->osoft || used < c->osoft) {
		c->osoft_since = 0;
		return false;
	}
	if (!c->osoft_since) {
		c->osoft_since = now ? now : 1;
		return false;
	}
	return now - c->osoft_since > c->osoft_ms;
}

/* Mark c to be closed without more output.  async: Redis's words for a
 * close at the next safe point (the reply path) vs at once (cron). */
static void conn_obuf_kill(struct conn *c, bool async)
{
	char info[1024];

	conn_info(c, c->w->now_ms, info, sizeof(info));
	log_msg(LOG_WARNING, 'W',
		async ? "Client %s scheduled to be closed ASAP for overcoming "
			"of output buffer limits."
		      : "Client %s closed for overcoming of output buffer "
			"limits.",
		info);
	__atomic_add_fetch(&conn_obuf_kills, 1, __ATOMIC_RELAXED);
	c->obuf_kill = true;
	c->rx_stopped = true;
}

/*
 * Slow path of conn_obuf_check.  oom: the resp_out.oom of the buffer the
 * last reply went into; a buffer that refused to grow is over the limit
 * or out of memory, and either way its reply has a hole: c must go.
 * async: false from cron, which closes at once.
 */
void conn_obuf_check_slow(struct conn *c, int oom, bool async)
{
	if (c->obuf_kill || c->closed)
		return;
	if (c->ohard || c->osoft)
		conn_rbuf_add(c);
	conn_obuf_retrip(c);
	if (oom == RESP_OOM_LIMIT || c->out.oom == RESP_OOM_LIMIT ||
	    conn_obuf_over(c, c->rmem)) {
		conn_obuf_kill(c, async);
	} else if (oom || c->out.oom) {
		log_msg(LOG_WARNING, 'W',
			"Closing client out of memory for its output: id=%llu "
			"addr=%s",
			(unsigned long long)c->cl.id, c->cl.addr);
		c->obuf_kill = true;
		c->rx_stopped = true;
	}
}

/* Close a client conn_obuf_kill marked.  Context: a safe point (not
 * inside a command of c). */
void conn_obuf_close(struct conn *c)
{
	if (c->obuf_kill && !c->closed)
		c->w->tp->close(c->w, c);
}
