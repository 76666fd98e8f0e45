/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn: from bytes to commands and back, in order.
 *
 * Input: received bytes accumulate in ib[0..ilen); requests are parsed
 * from ipos in place (resp_parse puts its cursor back when a request is
 * incomplete).  A large bulk announces its size, so the buffer grows once
 * to hold it.  `client-query-buffer-limit` bounds what Redis would hold in
 * its query buffer: Redis turns every complete argument into an object as
 * it arrives, so only the part of a request after ipart (the incomplete
 * argument, resp_req.partial) counts, checked after each read as Redis
 * does; an MSET of three 400 MB values passes a 1 GB limit.
 *
 * Routing (the rules are in cmd.h): dispatch() finds the command, checks
 * arity and authentication, computes the owners of its keys and then runs
 * it here, sends it to its owner, or holds several owners and runs it
 * here.  Local reads stay lock-free under RCU; a client with writes in
 * flight to an owner sends its next commands for that owner there too, so
 * the ring's FIFO order gives read-your-writes.
 *
 * Output: while no reply slot is pending, replies are written straight
 * into `out`.  A command sent to another core takes a slot; so does every
 * command after it until the slot queue drains.  When a slot at the head
 * becomes ready its bytes move to `out`.
 *
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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mimalloc.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "conn.h"
#include "log.h"
#include "transport.h"
#include "worker_pvt.h"
#include "xcore.h"

#define CONN_IBUF_INIT 16384
#define CONN_ARGV_INLINE 16
#define CONN_MAX_INFLIGHT 1024
#define CONN_OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."
#define CONN_OBUF_KEEP (64 * 1024)
/* Redis 7.0's static reply buffer: PROTO_REPLY_CHUNK_BYTES, and what its
 * cron shrinks it to at least (PROTO_REPLY_MIN_BYTES); how often the peak
 * it resizes by is reset (reply-buffer-peak-reset-time); a reply list
 * node's header and list overhead (clientReplyBlock, listNode). */
#define CONN_RBUF_MAX 16384
#define CONN_RBUF_MIN 1024
#define CONN_RBUF_PEAK_MS 5000
#define CONN_RNODE_HDR 16
#define CONN_RNODE_OVERHEAD 40
/* Unparsed input a paused connection holds before its transport stops
 * reading (conn_rx_hold). */
#define CONN_RX_HOLD (256 * 1024)

struct rslot {
	struct rslot *next;
	struct resp_out out;
	bool ready;
	bool discard; /* CLIENT REPLY said no answer */
};

/* Output memory a reply slot holds (CLIENT LIST omem). */
#define CONN_SLOT_MEM(s) (sizeof(struct rslot) + (s)->out.cap)

struct conn {
	struct client cl;
	struct worker *w;
	void *tp;
	char *ib;
	size_t ilen, icap, ipos;
	/* Of the request at ipos, the bytes Redis would have consumed
	 * already (resp_req.partial of its last parse; 0 = none). */
	size_t ipart;
	struct resp_out out;
	size_t opos;
	struct rslot *qhead, *qtail;
	/* Slots: bytes of ready ones, memory (CONN_SLOT_MEM), count.  Plain
	 * counters so CLIENT LIST on another core never walks the list. */
	size_t oslots, oslot_mem, nslots;
	/* client-output-buffer-limit of the client's class (conn_obuf_load):
	 * bytes, 0 = none; otrip as explained at the top. */
	size_t ohard, osoft, otrip;
	int64_t osoft_ms;
	int64_t osoft_since; /* when output went over soft; 0 = it is not */
	/* Redis's reply buffer, modelled (top comment): static buffer size
	 * and peak fill since rpeak_ms, bytes of it sent; pending bytes in the
	 * list, room in its last node, its memory, and the pending output
	 * the list has accounted for. */
	size_t rbs, rpeak, rsent;
	int64_t rpeak_ms;
	size_t rlist, rfree, rmem, rseen;
	uint32_t inflight_total;
	bool obuf_kill; /* over its limit: close, send nothing more */
	bool closed;	/* transport gone; free when nothing in flight */
	bool in_dirty;
	bool paused;  /* stopped parsing: too much in flight */
	bool rx_held; /* the transport stopped reading (conn_rx_hold) */
	bool in_paused;
	bool rx_stopped;   /* protocol error: ignore further input */
	bool in_hold;	   /* its parked request waits for holds (xh) */
	bool in_lent_wait; /* its parked request waits for my shard back */
	struct conn *next_dirty;
	struct conn *next_paused;
	struct conn *next_lent;
	struct xhold xh;
	const struct cmd_def *hold_cmd;
	struct cds_list_head link;
	struct rcu_head rcu;
	struct resp_arg argv_inline[CONN_ARGV_INLINE];
	struct resp_arg *argv_big;
	int argv_big_cap;
	struct resp_arg *parked_argv; /* a parsed request waiting to run */
	int parked_argc;
	size_t parked_used;
	uint16_t inflight[STORE_MAX_SHARDS];
	/* Memory: the struct as allocated, and what w->st.mem_clients holds
	 * for c (conn_mem_sync). */
	size_t mem_self, mem_acct;
};

static uint64_t conn_next_id = 1;
static unsigned conn_total;

unsigned conn_count(void)
{
	return __atomic_load_n(&conn_total, __ATOMIC_RELAXED);
}

/*
 * Client memory, as Redis's getClientMemoryUsage counts it: the struct,
 * the query buffer, the argv array, the reply buffer and the reply slots,
 * each at its capacity.  Buffers grow inside resp_write and shrink in
 * several places, so rather than hooking each, the owner re-adds the sum
 * at the few points that follow any change (end of a parse, a remote
 * reply, a send) and moves its core's gauge by the difference: a few
 * loads per batch, and INFO reads one word per core.
 */
static size_t conn_mem(const struct conn *c)
{
	return c->mem_self + c->icap +
	       (size_t)c->argv_big_cap * sizeof(struct resp_arg) + c->out.cap +
	       c->oslot_mem;
}

/* Context: owner; a closed connection keeps its last figure until
 * conn_release takes it back. */
static inline void conn_mem_sync(struct conn *c)
{
	size_t now = conn_mem(c);

	if (now != c->mem_acct && !c->closed) {
		stats_gauge_add(&c->w->st.mem_clients,
				(int64_t)now - (int64_t)c->mem_acct);
		c->mem_acct = now;
	}
}

uint64_t conn_mem_bytes(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum +=
		    __atomic_load_n(&worker_stats(worker_get(i))->mem_clients,
				    __ATOMIC_RELAXED);
	return sum;
}

struct client *conn_client(struct conn *c)
{
	return &c->cl;
}
struct conn *client_conn(struct client *cl)
{
	return (struct conn *)cl;
}
void *conn_tp(struct conn *c)
{
	return c->tp;
}
void conn_set_tp(struct conn *c, void *tp)
{
	c->tp = tp;
}

/* ---- output limits --------------------------------------------------- */

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

/* Output produced and not yet taken by the transport. */
static inline size_t conn_pending(const struct conn *c)
{
	return c->out.len - c->opos + c->oslots;
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
static void conn_obuf_load(struct conn *c, const struct cfg *cfg)
{
	const struct cfg_obuf *o = &cfg->client_obuf[conn_obuf_class(c)];

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
static void conn_rbuf_sent(struct conn *c, size_t before, size_t n)
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
static size_t conn_cron_rbuf(struct conn *c, int64_t now_ms)
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
static size_t conn_obuf_cap(const struct conn *c)
{
	return c->ohard ? c->ohard + c->rbs + c->rfree + 64 : 0;
}

/* The room conn_obuf_cap leaves (at least 1, which no reply fits in). */
static size_t conn_obuf_room(const struct conn *c)
{
	size_t used = conn_pending(c), cap = conn_obuf_cap(c);

	if (!cap)
		return 0;
	return used < cap - 1 ? cap - used : 1;
}

/* Redis checkClientOutputBufferLimits, on the list's memory: true when c
 * must go. */
static bool conn_obuf_over(struct conn *c, size_t used)
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
static void conn_obuf_check_slow(struct conn *c, int oom, bool async)
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

/* After every reply (oom: its buffer's resp_out.oom): one comparison
 * unless something needs a look. */
static inline void conn_obuf_check(struct conn *c, int oom)
{
	if (__builtin_expect(conn_pending(c) > c->otrip || oom, 0))
		conn_obuf_check_slow(c, oom, true);
}

/* Close a client conn_obuf_kill marked.  Context: a safe point (not
 * inside a command of c). */
static void conn_obuf_close(struct conn *c)
{
	if (c->obuf_kill && !c->closed)
		c->w->tp->close(c->w, c);
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%d", ip, port);
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return in6->sin6_addr.s6_addr[12] == 127;
	}
	return sa->sa_family == AF_UNIX;
}

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local)
{
	const struct cfg *cfg = cfg_cur();
	unsigned n = __atomic_add_fetch(&conn_total, 1, __ATOMIC_RELAXED);
	struct conn *c;

	if (n > (unsigned)cfg->maxclients) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		w->st.rejected_connections++;
		errno = EMFILE;
		return NULL;
	}
	if (cfg->protected_mode && cfg->requirepass[0] == '\0' &&
	    !addr_is_loopback(peer)) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		w->st.rejected_connections++;
		errno = EACCES;
		return NULL;
	}
	c = mi_zalloc_aligned(sizeof(*c), 64);
	if (!c) {
		__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	c->w = w;
	c->cl.id = __atomic_fetch_add(&conn_next_id, 1, __ATOMIC_RELAXED);
	c->cl.proto = 2;
	c->cl.authed = cfg->requirepass[0] == '\0';
	c->cl.ctime_ms = c->cl.last_ms = w->now_ms;
	c->cl.fd = fd;
	c->cl.worker = w->id;
	addr_str(peer, c->cl.addr, sizeof(c->cl.addr));
	addr_str(local, c->cl.laddr, sizeof(c->cl.laddr));
	resp_out_init(&c->out, 2);
	c->rbs = CONN_RBUF_MAX;
	c->rpeak_ms = w->now_ms;
	conn_obuf_load(c, cfg);
	cds_list_add_rcu(&c->link, &w->clients);
	w->st.total_connections++;
	c->mem_self = mi_usable_size(c);
	conn_mem_sync(c);
	return c;
}

static void conn_free_rcu(struct rcu_head *h)
{
	struct conn *c = caa_container_of(h, struct conn, rcu);

	mi_free(c);
}

static void conn_release(struct conn *c)
{
	struct rslot *s, *next;

	for (s = c->qhead; s; s = next) {
		next = s->next;
		resp_out_free(&s->out);
		mi_free(s);
	}
	c->qhead = c->qtail = NULL;
	resp_out_free(&c->out);
	mi_free(c->ib);
	mi_free(c->argv_big);
	c->ib = NULL;
	c->argv_big = NULL;
	stats_gauge_add(&c->w->st.mem_clients, -(int64_t)c->mem_acct);
	c->mem_acct = 0;
	/* CLIENT LIST on other cores may still be reading it. */
	call_rcu(&c->rcu, conn_free_rcu);
}

void conn_closed(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	cds_list_del_rcu(&c->link);
	__atomic_sub_fetch(&conn_total, 1, __ATOMIC_RELAXED);
	if (c->inflight_total == 0 && !c->in_dirty && !c->in_paused &&
	    !c->in_hold && !c->in_lent_wait)
		conn_release(c);
}

/* A closed connection leaves the dirty or paused list before it goes. */
static void conn_maybe_release(struct conn *c)
{
	if (c->closed && c->inflight_total == 0 && !c->in_dirty &&
	    !c->in_paused && !c->in_hold && !c->in_lent_wait)
		conn_release(c);
}

void worker_mark_dirty(struct worker *w, struct conn *c)
{
	if (c->in_dirty || c->closed)
		return;
	c->in_dirty = true;
	c->next_dirty = w->dirty;
	w->dirty = c;
}

/* ---- output --------------------------------------------------------- */

/*
 * A pipeline of multi-core commands runs one command per hold, over as
 * many loop turns: sending each reply as it comes would cost a send (and
 * the client a read) per command where redis-server sends the batch at
 * once.  While the next command waits for its holds, replies so far stay
 * queued, up to this much; they go with the reply that ends the run.
 */
#define CONN_HOLD_TX_BATCH (16 * 1024)

const char *conn_tx_data(struct conn *c, size_t *len)
{
	size_t n = c->out.len - c->opos;

	/* Redis sends nothing more to a client it is closing for its
	 * output: it may be a reply with a hole. */
	if (c->obuf_kill || (c->in_hold && n < CONN_HOLD_TX_BATCH))
		n = 0;
	*len = n;
	return c->out.buf + c->opos;
}

void conn_tx_done(struct conn *c, size_t n)
{
	conn_rbuf_sent(c, conn_pending(c), n);
	c->opos += n;
	c->w->st.net_output_bytes += n;
	/* A client still reading a long reply is not idle (`timeout`). */
	c->cl.last_ms = c->w->now_ms;
	if (c->opos == c->out.len) {
		c->opos = c->out.len = 0;
		if (c->out.cap > CONN_OBUF_KEEP || c->out.oom) {
			int proto = c->out.proto;
			resp_out_free(&c->out);
			resp_out_init(&c->out, proto);
		}
	} else if (c->opos >= CONN_OBUF_KEEP && c->opos >= c->out.len / 2) {
		/* A reader that keeps up only just would otherwise keep every
		 * byte it was sent: the buffer empties only when it drains. */
		c->out.len -= c->opos;
		memmove(c->out.buf, c->out.buf + c->opos, c->out.len);
		c->opos = 0;
	}
	conn_mem_sync(c);
}

bool conn_tx_close(const struct conn *c)
{
	return c->obuf_kill ||
	       (c->cl.close_after_reply && !c->qhead && c->inflight_total == 0);
}

/* Move the ready prefix of the slot queue into out.  The bytes were
 * counted as pending already: moving them needs no limit. */
static void conn_drain_slots(struct conn *c)
{
	struct rslot *s;

	c->out.limit = 0;
	while ((s = c->qhead) != NULL && s->ready) {
		if (s->out.len)
			resp_out_raw(&c->out, s->out.buf, s->out.len);
		c->qhead = s->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->oslots -= s->out.len;
		c->oslot_mem -= CONN_SLOT_MEM(s);
		c->nslots--;
		resp_out_free(&s->out);
		mi_free(s);
	}
	worker_mark_dirty(c->w, c);
}

static struct rslot *conn_slot_new(struct conn *c)
{
	struct rslot *s = mi_malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->next = NULL;
	s->ready = false;
	s->discard = false;
	resp_out_init(&s->out, c->cl.proto);
	s->out.limit = conn_obuf_room(c);
	c->oslot_mem += CONN_SLOT_MEM(s);
	c->nslots++;
	if (c->qtail)
		c->qtail->next = s;
	else
		c->qhead = s;
	c->qtail = s;
	return s;
}

/* Where the next reply goes: out, or a fresh slot behind pending ones. */
static struct resp_out *conn_reply_target(struct conn *c, struct rslot **sp)
{
	*sp = NULL;
	if (!c->qhead) {
		c->out.proto = c->cl.proto;
		c->out.limit = c->ohard ? c->opos + conn_obuf_cap(c) : 0;
		return &c->out;
	}
	*sp = conn_slot_new(c);
	return *sp ? &(*sp)->out : &c->out;
}

static inline bool unlikely_suppress(const struct conn *c)
{
	return __builtin_expect(
	    c->cl.reply != CLIENT_REPLY_ON || c->cl.skip_next, 0);
}

/* CLIENT REPLY: whether the command just run (or just sent) answers.
 * SKIP silences itself and the command after it. */
static bool conn_reply_suppressed(struct client *cl)
{
	if (cl->reply == CLIENT_REPLY_OFF)
		return true;
	if (cl->reply == CLIENT_REPLY_SKIP) {
		cl->reply = CLIENT_REPLY_ON;
		cl->skip_next = true;
		return true;
	}
	if (cl->skip_next) {
		cl->skip_next = false;
		return true;
	}
	return false;
}

static void conn_reply_done(struct conn *c, struct rslot *s, struct resp_out *o,
			    size_t start)
{
	int oom = o->oom; /* o may be a slot that the drain frees */

	if (unlikely_suppress(c) && conn_reply_suppressed(&c->cl))
		o->len = start;
	if (s) {
		s->ready = true;
		c->oslots += s->out.len;
		c->oslot_mem += s->out.cap;
		if (c->qhead == s)
			conn_drain_slots(c);
	} else {
		worker_mark_dirty(c->w, c);
	}
	conn_obuf_check(c, oom);
}

static void conn_count_error(struct wstats *st, const struct resp_out *o,
			     size_t start)
{
	const char *p = o->buf + start + 1;
	size_t n = o->len - start - 1;

	st->total_error_replies++;
	stats_error(st, p, n);
}

/* An error produced by conn itself (unknown command, arity, auth...). */
static void conn_reply_error(struct conn *c, const char *text)
{
	struct rslot *s;
	struct resp_out *o = conn_reply_target(c, &s);
	size_t start = o->len;

	resp_error(o, text);
	conn_count_error(&c->w->st, o, start);
	conn_reply_done(c, s, o, start);
}

/* ---- execution ------------------------------------------------------ */

/* Command timing for commandstats.  clock_gettime() cost ~10% of a
 * pipelined GET under perf; the TSC, scaled once at start-up, does not. */
static double tsc_ns_per_tick = 1.0;
static bool tsc_usable;

void conn_clock_setup(void)
{
#if defined(__x86_64__)
	struct timespec a, b, pause = {.tv_nsec = 20 * 1000 * 1000};
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __builtin_ia32_rdtsc();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = __builtin_ia32_rdtsc();
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 +
		    (double)(b.tv_nsec - a.tv_nsec);
	if (t1 > t0 && ns > 0) {
		tsc_ns_per_tick = ns / (double)(t1 - t0);
		tsc_usable = true;
	}
#endif
}

static inline uint64_t clock_ticks(void)
{
#if defined(__x86_64__)
	if (tsc_usable)
		return __builtin_ia32_rdtsc();
#endif
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks_to_ns(uint64_t t)
{
	return tsc_usable ? (uint64_t)((double)t * tsc_ns_per_tick) : t;
}

static void conn_account(struct wstats *st, const struct cmd_def *d,
			 const struct resp_out *o, size_t start, uint64_t ns)
{
	struct cmdstat *cs = &st->cmd[d->id];

	cs->calls++;
	cs->nsec += ns;
	st->total_commands++;
	if (o->len > start && o->buf[start] == '-') {
		cs->failed_calls++;
		conn_count_error(st, o, start);
	} else if (d->flags & CMD_WRITE) {
		st->dirty++;
	}
}

static void conn_exec_local(struct conn *c, const struct cmd_def *d, int argc,
			    const struct resp_arg *argv)
{
	struct worker *w = c->w;
	struct rslot *s;
	struct resp_out *o = conn_reply_target(c, &s);
	size_t start = o->len;
	struct cmd_ctx ctx = {
	    .w = w,
	    .cl = &c->cl,
	    .st = &w->st,
	    .db = c->cl.db,
	    .argc = argc,
	    .argv = argv,
	    .out = o,
	    .now_ms = w->now_ms,
	    .rng = &w->rng,
	};
	uint64_t t0 = clock_ticks();

	d->fn(&ctx);
	conn_account(&w->st, d, o, start, ticks_to_ns(clock_ticks() - t0));
	conn_reply_done(c, s, o, start);
}

static void conn_send_remote(struct conn *c, const struct cmd_def *d, int argc,
			     const struct resp_arg *argv, unsigned owner)
{
	size_t bytes = (size_t)argc * sizeof(struct resp_arg);
	struct xmsg *m;
	struct rslot *s;
	char *p;

	for (int i = 0; i < argc; i++)
		bytes += argv[i].len;
	m = xcore_msg_new(bytes);
	s = m ? conn_slot_new(c) : NULL;
	if (!s) {
		if (m)
			xcore_msg_free(m);
		conn_reply_error(c, CONN_OOM_ERROR);
		return;
	}
	m->type = XM_EXEC;
	m->proto = c->cl.proto;
	m->db = (uint8_t)c->cl.db;
	m->cmd = d;
	m->conn = c;
	m->slot = s;
	m->arg64 = s->out.limit; /* the reply's room, see conn_exec_remote */
	m->argc = argc;
	m->argv = (struct resp_arg *)m->data;
	p = m->data + (size_t)argc * sizeof(struct resp_arg);
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].ptr, argv[i].len);
		m->argv[i].ptr = p;
		m->argv[i].len = argv[i].len;
		p += argv[i].len;
	}
	if (unlikely_suppress(c))
		s->discard = conn_reply_suppressed(&c->cl);
	c->inflight[owner]++;
	c->inflight_total++;
	xcore_send(c->w, owner, m);
}

void conn_exec_remote(struct worker *w, struct xmsg *m)
{
	const struct cmd_def *d = m->cmd;
	struct cmd_ctx ctx = {
	    .w = w,
	    .cl = NULL,
	    .st = &w->st,
	    .db = m->db,
	    .argc = m->argc,
	    .argv = m->argv,
	    .out = &m->out,
	    .now_ms = w->now_ms,
	    .rng = &w->rng,
	};
	uint64_t t0 = clock_ticks();

	resp_out_init(&m->out, m->proto);
	/* The client's output limit, as its own core computed it. */
	m->out.limit = (size_t)m->arg64;
	d->fn(&ctx);
	conn_account(&w->st, d, &m->out, 0, ticks_to_ns(clock_ticks() - t0));
	m->type = XM_DONE;
	xcore_send(w, m->from, m);
}

static void conn_pause_list_add(struct worker *w, struct conn *c)
{
	if (c->in_paused)
		return;
	c->in_paused = true;
	c->next_paused = w->paused;
	w->paused = c;
}

void conn_remote_done(struct worker *w, struct xmsg *m)
{
	struct conn *c = m->conn;
	struct rslot *s = m->slot;
	unsigned from = m->from;
	int oom = m->out.oom;

	/* The reply buffer moves into the slot; nothing is copied here. */
	resp_out_free(&s->out);
	c->oslot_mem += m->out.cap;
	s->out = m->out;
	m->out.buf = NULL;
	m->out.len = m->out.cap = 0;
	xcore_msg_free(m);
	s->ready = true;
	c->inflight[from]--;
	c->inflight_total--;
	if (c->closed) {
		conn_maybe_release(c);
		return;
	}
	if (s->discard)
		s->out.len = 0;
	c->oslots += s->out.len;
	if (c->qhead == s)
		conn_drain_slots(c);
	conn_mem_sync(c);
	conn_obuf_check(c, oom);
	/* Over its limit: closed from conn_resume_paused, a safe point. */
	if (c->obuf_kill ||
	    (c->paused && (c->inflight_total < CONN_MAX_INFLIGHT / 2 ||
			   c->inflight_total == 0)))
		conn_pause_list_add(w, c);
}

/* The owners of d's keys: returns how many keys; *mask gets their cores. */
static int conn_key_owners(const struct cmd_def *d, int argc,
			   const struct resp_arg *argv, uint64_t *mask)
{
	int last, nkeys = 0;

	*mask = 0;
	if (d->first_key <= 0 || d->first_key >= argc)
		return 0;
	last = d->last_key < 0 ? argc + d->last_key : d->last_key;
	if (last >= argc)
		last = argc - 1;
	for (int i = d->first_key; i <= last; i += d->key_step) {
		uint16_t slot = slot_of(argv[i].ptr, argv[i].len);
		*mask |= 1ull << store_owner(slot);
		nkeys++;
		if (d->key_step <= 0)
			break;
	}
	return nkeys;
}

/* Keys on several cores, or every shard: park the request until its
 * holds are granted (conn_holds_granted runs it). */
static bool conn_hold_start(struct conn *c, const struct cmd_def *d, int argc,
			    const struct resp_arg *argv, uint64_t mask)
{
	c->xh.mask = mask;
	if (xcore_hold(c->w, &c->xh)) { /* the other cores were idle */
		conn_exec_local(c, d, argc, argv);
		xcore_release(c->w, mask);
		return true;
	}
	c->in_hold = true;
	c->hold_cmd = d;
	return false;
}

/* A write for my own shard while another core borrows it: park the
 * request until the shard comes back (conn_shard_back). */
static bool conn_wait_shard(struct conn *c)
{
	struct worker *w = c->w;

	c->in_lent_wait = true;
	c->next_lent = w->lent_wait;
	w->lent_wait = c;
	return false;
}

/* Returns false when the command has to wait: a keyless command that
 * reads the whole keyspace (DBSIZE, KEYS, SCAN, INFO...) must see this
 * client's writes that are still running on other cores; a command over
 * several shards waits for its holds; a write for my shard waits while
 * another core borrows it. */
static bool conn_route(struct conn *c, const struct cmd_def *d, int argc,
		       const struct resp_arg *argv)
{
	struct worker *w = c->w;
	uint64_t mask;
	unsigned owner;

	if (w->n == 1 || (d->flags & CMD_CLIENT)) {
		conn_exec_local(c, d, argc, argv);
		return true;
	}
	if (d->flags & CMD_ALL_SHARDS) {
		mask = w->n == 64 ? ~0ull : (1ull << w->n) - 1;
		if (xcore_hold_covers(w, mask)) {
			conn_exec_local(c, d, argc, argv);
			return true;
		}
		return conn_hold_start(c, d, argc, argv, mask);
	}
	if (conn_key_owners(d, argc, argv, &mask) == 0) {
		if (c->inflight_total > 0)
			return false;
		conn_exec_local(c, d, argc, argv);
		return true;
	}
	if (mask & (mask - 1)) {
		if (xcore_hold_covers(w, mask)) {
			conn_exec_local(c, d, argc, argv);
			return true;
		}
		return conn_hold_start(c, d, argc, argv, mask);
	}
	owner = (unsigned)__builtin_ctzll(mask);
	if (owner == w->id && (d->flags & CMD_WRITE) &&
	    caa_unlikely(xcore_lent(w)))
		return conn_wait_shard(c);
	if (owner == w->id ||
	    (!(d->flags & CMD_WRITE) && c->inflight[owner] == 0))
		conn_exec_local(c, d, argc, argv);
	else
		conn_send_remote(c, d, argc, argv, owner);
	return true;
}

static void conn_unknown_command(struct conn *c, int argc,
				 const struct resp_arg *argv)
{
	char msg[512];
	size_t n;

	n = (size_t)snprintf(
	    msg, sizeof(msg),
	    "ERR unknown command '%.*s', with args beginning with: ",
	    (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr);
	for (int i = 1; i < argc && n < sizeof(msg) - 1; i++) {
		size_t room = sizeof(msg) - n;
		int len = (int)(argv[i].len > 128 ? 128 : argv[i].len);
		n += (size_t)snprintf(msg + n, room, "'%.*s' ", len,
				      argv[i].ptr);
		if (n >= 128 + 64)
			break;
	}
	conn_reply_error(c, msg);
}

/* Returns false when the request must be run again later (see
 * conn_route); everything else, errors included, consumes it. */
static bool conn_dispatch(struct conn *c, int argc, const struct resp_arg *argv)
{
	const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len);
	char msg[256];

	if (!d) {
		conn_unknown_command(c, argc, argv);
		return true;
	}
	if (d->subs && argc >= 2) {
		const struct cmd_def *sub =
		    cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
		if (!sub) {
			char up[32];
			size_t i;
			for (i = 0; d->name[i] && i < sizeof(up) - 1; i++)
				up[i] = (char)(d->name[i] & ~0x20);
			up[i] = '\0';
			snprintf(msg, sizeof(msg),
				 "ERR unknown subcommand '%.*s'. Try %s HELP.",
				 (int)(argv[1].len > 128 ? 128 : argv[1].len),
				 argv[1].ptr, up);
			conn_reply_error(c, msg);
			return true;
		}
		d = sub;
	}
	if ((d->arity > 0 && argc != d->arity) ||
	    (d->arity < 0 && argc < -d->arity) || !d->fn) {
		char name[64];
		cmd_fullname(d, name, sizeof(name));
		snprintf(msg, sizeof(msg),
			 "ERR wrong number of arguments for '%s' command",
			 name);
		c->w->st.cmd[d->id].rejected_calls++;
		conn_reply_error(c, msg);
		return true;
	}
	if (!c->cl.authed && !(d->flags & CMD_NO_AUTH)) {
		if (cfg_cur()->requirepass[0] != '\0') {
			c->w->st.cmd[d->id].rejected_calls++;
			conn_reply_error(c, "NOAUTH Authentication required.");
			return true;
		}
		c->cl.authed = true;
	}
	if ((d->flags & CMD_DENYOOM) && caa_unlikely(worker_mem_oom())) {
		c->w->st.cmd[d->id].rejected_calls++;
		conn_reply_error(c, CONN_OOM_ERROR);
		return true;
	}
	c->cl.last_cmd = d;
	return conn_route(c, d, argc, argv);
}

/* ---- input ---------------------------------------------------------- */

static struct resp_arg *conn_argv_grow(void *arg, struct resp_arg *old,
				       int want)
{
	struct conn *c = arg;
	struct resp_arg *n;
	int cap = want < 64 ? 64 : want;

	(void)old;
	if (c->argv_big_cap >= want)
		return c->argv_big;
	n = mi_realloc(c->argv_big, (size_t)cap * sizeof(*n));
	if (!n)
		return NULL;
	c->argv_big = n;
	c->argv_big_cap = cap;
	return n;
}

char *conn_rx_space(struct conn *c, size_t *avail)
{
	if (!c->ib) {
		c->ib = mi_malloc(CONN_IBUF_INIT);
		if (!c->ib) {
			*avail = 0;
			return NULL;
		}
		c->icap = CONN_IBUF_INIT;
	}
	if (c->icap - c->ilen < 1024 && c->ipos > 0) {
		memmove(c->ib, c->ib + c->ipos, c->ilen - c->ipos);
		c->ilen -= c->ipos;
		c->ipos = 0;
	}
	if (c->icap - c->ilen < 1024) {
		size_t cap = c->icap * 2;
		char *n = mi_realloc(c->ib, cap);
		if (!n) {
			*avail = 0;
			return NULL;
		}
		c->ib = n;
		c->icap = cap;
	}
	*avail = c->icap - c->ilen;
	return c->ib + c->ilen;
}

/* Redis readQueryFromClient's check: its query buffer holds the
 * unparsed input from the incomplete argument on.  Context: after a read,
 * before parsing. */
static bool conn_qbuf_over(struct conn *c)
{
	long long limit = cfg_cur()->client_query_buffer_limit;

	if ((long long)(c->ilen - c->ipos - c->ipart) <= limit)
		return false;
	log_msg(LOG_WARNING, 'W',
		"Closing client that reached max query buffer length: "
		"id=%llu addr=%s",
		(unsigned long long)c->cl.id, c->cl.addr);
	return true;
}

/*
 * The request at ipos waits for a bulk that ends at need: grow once to
 * hold it, as Redis sizes its buffer for a big argument when it reads the
 * header.  The part past ipart is bounded by the query buffer limit, so
 * the buffer never grows further than that limit allows.
 */
static bool conn_grow_for(struct conn *c, size_t need)
{
	long long limit = cfg_cur()->client_query_buffer_limit;
	size_t pending = c->ilen - c->ipos;
	size_t most = c->ipart + (size_t)limit + 1;

	if (need > most)
		need = most;
	if (c->ipos > 0) {
		memmove(c->ib, c->ib + c->ipos, pending);
		c->ilen = pending;
		c->ipos = 0;
	}
	if (need + 1024 > c->icap) {
		char *n = mi_realloc(c->ib, need + 1024);
		if (!n)
			return false;
		c->ib = n;
		c->icap = need + 1024;
	}
	return true;
}

/* A request that had to wait (conn_route) is kept parsed: parsing again
 * is not possible because inline requests are unquoted in place.  Its
 * arguments are stored as offsets from ipos, which survive the buffer
 * moving or growing while the connection waits. */
static void conn_park(struct conn *c, int argc, struct resp_arg *argv,
		      size_t used)
{
	for (int i = 0; i < argc; i++)
		argv[i].ptr =
		    (const char *)(uintptr_t)(argv[i].ptr - (c->ib + c->ipos));
	c->parked_argv = argv;
	c->parked_argc = argc;
	c->parked_used = used;
	c->paused = true;
}

static struct resp_arg *conn_parked_args(struct conn *c)
{
	struct resp_arg *argv = c->parked_argv;

	for (int i = 0; i < c->parked_argc; i++)
		argv[i].ptr = c->ib + c->ipos + (uintptr_t)argv[i].ptr;
	return argv;
}

static bool conn_unpark(struct conn *c)
{
	struct resp_arg *argv = conn_parked_args(c);
	int argc = c->parked_argc;

	if (!conn_dispatch(c, argc, argv)) {
		conn_park(c, argc, argv, c->parked_used);
		return false;
	}
	c->ipos += c->parked_used;
	c->parked_argv = NULL;
	return true;
}

static void conn_parse_batch(struct conn *c)
{
	struct worker *w = c->w;
	struct resp_req req = {
	    .argv = c->argv_inline,
	    .argv_cap = CONN_ARGV_INLINE,
	    .grow = conn_argv_grow,
	    .grow_arg = c,
	};

	if (c->in_hold || c->in_lent_wait)
		return; /* the parked request is not ready to run */
	if (c->parked_argv && !conn_unpark(c))
		return;
	w->lim.max_bulk_len = cfg_cur()->proto_max_bulk_len;
	while (c->ipos < c->ilen && !c->rx_stopped && !c->closed) {
		size_t used = 0, need = 0;
		const char *err = NULL;
		int rc;

		if (c->inflight_total >= CONN_MAX_INFLIGHT) {
			c->paused = true;
			return;
		}
		req.argv = c->argv_inline;
		req.argv_cap = CONN_ARGV_INLINE;
		req.checked = c->ipart;
		w->lim.unauth = !c->cl.authed && cfg_cur()->requirepass[0];
		rc = resp_parse(c->ib + c->ipos, c->ilen - c->ipos, &w->lim,
				&req, &used, &need, &err);
		if (rc == RESP_AGAIN) {
			c->ipart = req.partial;
			if (need > c->icap - c->ipos && !conn_grow_for(c, need))
				goto fatal;
			break;
		}
		c->ipart = 0;
		if (rc == RESP_ERROR) {
			conn_reply_error(c, err);
			c->cl.close_after_reply = true;
			c->rx_stopped = true;
			break;
		}
		if (req.argc > 0 && !conn_dispatch(c, req.argc, req.argv)) {
			conn_park(c, req.argc, req.argv, used);
			return;
		}
		c->ipos += used;
		if (c->cl.close_after_reply)
			c->rx_stopped = true;
	}
	c->paused = false;
	if (c->ipos == c->ilen)
		c->ipos = c->ilen = 0;
	return;
fatal:
	c->rx_stopped = true;
	c->ipos = c->ilen = c->ipart = 0;
	c->w->tp->close(c->w, c);
}

/* Parse and run what arrived; close c here if its output went over the
 * limit meanwhile (no command of it is running any more). */
static void conn_parse(struct conn *c)
{
	conn_obuf_load(c, cfg_cur());
	if (!c->obuf_kill)
		conn_parse_batch(c);
	conn_mem_sync(c);
	conn_obuf_close(c);
}

void conn_rx_add(struct conn *c, size_t n)
{
	c->ilen += n;
	c->cl.last_ms = c->w->now_ms;
	c->w->st.net_input_bytes += n;
}

void conn_rx_done(struct conn *c, size_t n)
{
	conn_rx_add(c, n);
	if (c->rx_stopped) {
		c->ipos = c->ilen = 0;
		conn_mem_sync(c); /* conn_rx_space may have grown ib */
		return;
	}
	if (conn_qbuf_over(c)) {
		c->rx_stopped = true;
		c->ipos = c->ilen = c->ipart = 0;
		c->w->tp->close(c->w, c);
		return;
	}
	conn_parse(c); /* syncs the memory gauge after the batch */
}

bool conn_rx_hold(struct conn *c)
{
	if (!c->paused || c->ilen - c->ipos < CONN_RX_HOLD ||
	    !c->w->tp->rx_resume)
		return false;
	c->rx_held = true;
	return true;
}

size_t conn_rx_room(const struct conn *c)
{
	size_t pending = c->ilen - c->ipos;

	if (!c->paused)
		return SIZE_MAX;
	return pending < CONN_RX_HOLD ? CONN_RX_HOLD - pending : 1;
}

size_t conn_rx_pending(const struct conn *c)
{
	/* A request still arriving (a 64 MB value) is being consumed: only
	 * a paused connection holds bytes it will not take yet. */
	return c->paused ? c->ilen - c->ipos : 0;
}

void conn_resume_paused(struct worker *w)
{
	struct conn *c = w->paused;

	w->paused = NULL;
	while (c) {
		struct conn *next = c->next_paused;
		c->in_paused = false;
		if (c->closed)
			conn_maybe_release(c);
		else if (c->paused || c->obuf_kill)
			conn_parse(c);
		if (c->rx_held && !c->paused && !c->closed) {
			c->rx_held = false;
			w->tp->rx_resume(w, c);
		}
		c = next;
	}
}

/*
 * The holds of c's parked request are all granted: run it now, while
 * every shard it touches is held (xcore lets them go afterwards).  A
 * client that went away meanwhile gets nothing run: nobody saw that
 * request acknowledged.  Context: called by xcore from the worker loop's
 * xcore_poll (or xcore_quiesce), outside any command.
 */
void conn_holds_granted(struct worker *w, struct xhold *h)
{
	struct conn *c = caa_container_of(h, struct conn, xh);

	c->in_hold = false;
	if (!c->closed)
		conn_exec_local(c, c->hold_cmd, c->parked_argc,
				conn_parked_args(c));
	c->ipos += c->parked_used;
	c->parked_argv = NULL;
	if (c->closed) {
		conn_maybe_release(c);
		return;
	}
	/* Go on with its pipeline now, while the cores are held: commands
	 * over them run at once (xcore_hold_covers). */
	conn_parse(c);
	if (!c->closed)
		conn_pause_list_add(w, c);
}

void conn_shard_back(struct worker *w)
{
	struct conn *c = w->lent_wait;

	w->lent_wait = NULL;
	while (c) {
		struct conn *next = c->next_lent;

		c->in_lent_wait = false;
		if (c->closed)
			conn_maybe_release(c);
		else
			conn_pause_list_add(w, c);
		c = next;
	}
}

/* ---- management ----------------------------------------------------- */

void conn_kill_local(struct worker *w, uint64_t id)
{
	struct conn *c;

	cds_list_for_each_entry(c, &w->clients, link)
	{
		if (c->cl.id == id) {
			c->cl.close_after_reply = true;
			c->rx_stopped = true;
			worker_mark_dirty(w, c);
			return;
		}
	}
}

bool conn_kill(struct worker *w, uint64_t id)
{
	for (unsigned i = 0; i < worker_count(); i++) {
		struct worker *o = worker_get(i);
		struct conn *c;

		cds_list_for_each_entry_rcu(c, &o->clients, link)
		{
			if (c->cl.id != id)
				continue;
			if (o == w) {
				conn_kill_local(w, id);
			} else {
				struct xmsg *m = xcore_msg_new(0);
				if (!m)
					return false;
				m->type = XM_KILL;
				m->arg64 = id;
				xcore_send(w, i, m);
			}
			return true;
		}
	}
	return false;
}

/* Redis clientsCron's output check: a client over its soft limit that
 * produces nothing more, or over a limit CONFIG SET just lowered. */
static void conn_cron_obuf(struct conn *c, const struct cfg *cfg)
{
	conn_obuf_load(c, cfg);
	if (conn_pending(c) > c->otrip)
		conn_obuf_check_slow(c, 0, false);
	else if (c->osoft_since)
		conn_obuf_over(c, c->rmem);
	if (c->obuf_kill)
		c->w->tp->close(c->w, c);
}

/*
 * As Redis's clientsCronResizeQueryBuffer: a client idle for 2 s with
 * nothing buffered gives its query buffer back (a 16 KB one, or whatever
 * a big request grew it to); the next read allocates a fresh one.  The
 * transports copy into it synchronously, so nothing else points there.
 */
static void conn_cron_qbuf(struct conn *c, int64_t now_ms)
{
	if (!c->ib || c->ipos != c->ilen || c->paused || c->parked_argv ||
	    now_ms - c->cl.last_ms < 2000)
		return;
	mi_free(c->ib);
	c->ib = NULL;
	c->icap = c->ilen = c->ipos = 0;
	conn_mem_sync(c);
}

/* Redis clientsCronTrackExpansiveClients: c's query buffer (with its
 * argv array) and reply list into this second's peaks. */
static void conn_cron_peaks(struct conn *c, unsigned slot, size_t out_mem)
{
	size_t in_mem =
	    c->icap + (size_t)c->argv_big_cap * sizeof(struct resp_arg);

	stats_peak(&c->w->st.peak_in[slot], in_mem);
	stats_peak(&c->w->st.peak_out[slot], out_mem);
}

void conn_cron(struct worker *w)
{
	const struct cfg *cfg = cfg_cur();
	long long timeout = cfg->timeout;
	unsigned slot = (unsigned)((w->now_ms / 1000) % STATS_PEAK_SLOTS);
	unsigned zero = (slot + 1) % STATS_PEAK_SLOTS;
	struct conn *c, *tmp;

	__atomic_store_n(&w->st.peak_in[zero], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&w->st.peak_out[zero], 0, __ATOMIC_RELAXED);
	cds_list_for_each_entry_safe(c, tmp, &w->clients, link)
	{
		if (timeout > 0 && c->inflight_total == 0 &&
		    w->now_ms - c->cl.last_ms > timeout * 1000)
			w->tp->close(w, c);
		else
			conn_cron_obuf(c, cfg);
		if (c->closed)
			continue;
		conn_cron_peaks(c, slot, conn_cron_rbuf(c, w->now_ms));
		conn_cron_qbuf(c, w->now_ms);
	}
}

void conn_recent_max(uint64_t *in, uint64_t *out)
{
	*in = *out = 0;
	for (unsigned i = 0; i < worker_count(); i++) {
		const struct wstats *st = worker_stats(worker_get(i));

		for (unsigned j = 0; j < STATS_PEAK_SLOTS; j++) {
			uint64_t a =
			    __atomic_load_n(&st->peak_in[j], __ATOMIC_RELAXED);
			uint64_t b =
			    __atomic_load_n(&st->peak_out[j], __ATOMIC_RELAXED);
			*in = a > *in ? a : *in;
			*out = b > *out ? b : *out;
		}
	}
}

void conn_close_all(struct worker *w)
{
	struct conn *c, *tmp;

	cds_list_for_each_entry_safe(c, tmp, &w->clients, link)
	    w->tp->close(w, c);
}

void conn_visit_all(conn_visit_fn fn, void *arg)
{
	for (unsigned i = 0; i < worker_count(); i++) {
		struct worker *o = worker_get(i);
		struct conn *c;

		cds_list_for_each_entry_rcu(c, &o->clients, link)
		    fn(&c->cl, c, arg);
	}
}

/*
 * Redis's fields, mapped onto our buffers: `out` plays Redis's reply
 * buffer (rbs its size, obl its unsent bytes), the reply slots its reply
 * list (oll); omem is all the memory output holds, out included, so a
 * slow reader shows what it costs.  Only counters are read: another core
 * may be changing them, never a pointer it may free.
 */
static size_t conn_diff(size_t a, size_t b)
{
	return a > b ? a - b : 0; /* racy reads may see b moved first */
}

int conn_info(const struct conn *c, int64_t now_ms, char *buf, size_t size)
{
	const struct client *cl = &c->cl;
	size_t qbuf = conn_diff(c->ilen, c->ipos);
	size_t qfree = conn_diff(c->icap, c->ilen);
	size_t obl = conn_diff(c->out.len, c->opos);
	size_t omem = c->out.cap + c->oslot_mem;
	size_t argv_mem = (size_t)c->argv_big_cap * sizeof(struct resp_arg);
	char cmd[64] = "NULL";

	if (cl->last_cmd)
		cmd_fullname(cl->last_cmd, cmd, sizeof(cmd));
	return snprintf(
	    buf, size,
	    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
	    "flags=%s db=%u sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu "
	    "qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu "
	    "oll=%zu omem=%zu tot-mem=%zu events=r cmd=%s user=default "
	    "redir=-1 resp=%u",
	    (unsigned long long)cl->id, cl->addr, cl->laddr, cl->fd, cl->name,
	    (long long)((now_ms - cl->ctime_ms) / 1000),
	    (long long)((now_ms - cl->last_ms) / 1000),
	    cl->no_evict ? "e" : "N", cl->db, qbuf, qfree, c->rbs, c->rpeak,
	    obl, c->nslots, omem, sizeof(*c) + c->icap + argv_mem + omem, cmd,
	    cl->proto);
}

void conn_flushed(struct conn *c)
{
	c->in_dirty = false;
	conn_maybe_release(c);
}

struct conn *conn_next_dirty(const struct conn *c)
{
	return c->next_dirty;
}
