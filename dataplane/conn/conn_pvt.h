/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn internals shared by the conn_*.c files: the connection struct, its
 * reply slots, and the calls one concern makes into another.  Nothing
 * outside dataplane/conn includes this.
 *
 * Context: everything here runs on the connection's own worker.
 */
#ifndef CACHALOT_CONN_PVT_H
#define CACHALOT_CONN_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "conn.h"
#include "stats.h"
#include "timer.h"
#include "worker_pvt.h"
#include "xcore.h"

#define CONN_IBUF_INIT 16384
#define CONN_ARGV_INLINE 16
#define CONN_MAX_INFLIGHT 1024
/* conn_xcore's entries (xcore.h says when each runs). */
void conn_exec_remote(struct worker *w, struct xmsg *m);
void conn_remote_done(struct worker *w, struct xmsg *m);
void conn_kill_local(struct worker *w, uint64_t id);
void conn_holds_granted(struct worker *w, struct xhold *h);
void conn_shard_back(struct worker *w);

/* c->wake: CLIENT UNBLOCK ERROR, answered without running the request. */
#define CONN_WAKE_ERROR CONN_UNBLOCK_ERROR

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

/*
 * A reply slot: a reply that must wait for an earlier one.  A command run
 * here writes into `out`; a remote one's reply stays in its message (m)
 * until the slot reaches the head of the queue, and is copied into the
 * connection's out from there (or its buffer handed over, when large).
 * Slots come from a per-worker free list and keep a small buffer, so a
 * pipeline neither allocates a slot nor grows a buffer per command.
 */
struct rslot {
	struct rslot *next;
	struct resp_out out;
	struct xmsg *m; /* the remote reply, once it came back */
	size_t acct;	/* what c->oslot_mem holds for it */
	bool ready;
	bool discard; /* CLIENT REPLY said no answer */
};

/* Output memory a reply slot holds (CLIENT LIST omem): the slot, its own
 * buffer and the remote reply's buffer it keeps. */
#define CONN_SLOT_MEM(s)                                                       \
	(sizeof(struct rslot) + (s)->out.cap + ((s)->m ? (s)->m->out.cap : 0))

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
	bool ctl_inflight; /* a command of it runs on the control thread */
	bool blocked;	   /* its parked request waits (cmd_block) */
	uint8_t wake;	   /* enum cmd_wake, or CONN_WAKE_ERROR: next run's */
	struct timer block_timer; /* the blocked request's deadline */
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

/* The parameters conn reads: its cfg view (conn_setup), rebuilt with
 * every snapshot, so a CONFIG SET reaches connected clients at their next
 * batch. */
struct conn_params {
	unsigned long long maxclients;
	bool protected_mode;
	bool has_pass; /* requirepass is set */
	long long timeout;
	long long qbuf_limit;	/* client-query-buffer-limit */
	long long max_bulk_len; /* proto-max-bulk-len */
	struct cfg_obuf obuf[CFG_OBUF_CLASSES];
};

/** The current snapshot's view.  Context: as cfg_cur(). */
const struct conn_params *conn_params(void);

/* lifecycle (conn.c) */
void conn_maybe_release(struct conn *c);

/* output limits (conn_obuf.c) */
size_t conn_cron_rbuf(struct conn *c, int64_t now_ms);
size_t conn_obuf_cap(const struct conn *c);
void conn_obuf_check_slow(struct conn *c, int oom, bool async);
void conn_obuf_close(struct conn *c);
void conn_obuf_load(struct conn *c, const struct conn_params *cp);
bool conn_obuf_over(struct conn *c, size_t used);
size_t conn_obuf_room(const struct conn *c);
void conn_rbuf_sent(struct conn *c, size_t before, size_t n);

/* reply slots and output (conn_out.c) */
void conn_count_error(struct wstats *st, const struct resp_out *o,
		      size_t start);
void conn_drain_slots(struct conn *c);
void conn_slot_skip(struct conn *c, struct rslot *s);
void conn_reply_done(struct conn *c, struct rslot *s, struct resp_out *o,
		     size_t start);
void conn_reply_error(struct conn *c, const char *text);
bool conn_reply_suppressed(struct client *cl);
struct resp_out *conn_reply_target(struct conn *c, struct rslot **sp);
struct rslot *conn_slot_new(struct conn *c);
void conn_slots_drop(struct conn *c);

/* running commands (conn_exec.c) */
bool conn_dispatch(struct conn *c, int argc, const struct resp_arg *argv);
bool conn_exec_local(struct conn *c, const struct cmd_def *d, int argc,
		     const struct resp_arg *argv, bool may_block);

/* blocked clients (conn_block.c) */
#define CONN_UNBLOCKED_ERROR "UNBLOCKED client unblocked via CLIENT UNBLOCK"
void conn_block(struct conn *c, int64_t until_ms);
void conn_unblock(struct conn *c, unsigned why); /* cmd_wake or ERROR */
void conn_block_closed(struct conn *c);
void conn_unblock_local(struct worker *w, uint64_t id, unsigned why);

/* clients by id (conn_admin.c) */
struct conn *conn_find(uint64_t id, unsigned *at);
bool conn_admin_send(struct worker *w, unsigned to, uint8_t type, uint64_t id,
		     int arg);
void conn_pause_list_add(struct worker *w, struct conn *c);

/*
 * Client memory, as Redis's getClientMemoryUsage counts it: the struct,
 * the query buffer, the argv array, the reply buffer and the reply slots,
 * each at its capacity.  Buffers grow inside resp_write and shrink in
 * several places, so rather than hooking each, the owner re-adds the sum
 * at the few points that follow any change (end of a parse, a remote
 * reply, a send) and moves its core's gauge by the difference: a few
 * loads per batch, and INFO reads one word per core.
 */
static inline size_t conn_mem(const struct conn *c)
{
	return c->mem_self + c->icap +
	       (size_t)c->argv_big_cap * sizeof(struct resp_arg) + c->out.cap +
	       c->oslot_mem;
}

/* Output produced and not yet taken by the transport. */
static inline size_t conn_pending(const struct conn *c)
{
	return c->out.len - c->opos + c->oslots;
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

/* Re-count what s holds in c->oslot_mem after its buffers changed. */
static inline void conn_slot_acct(struct conn *c, struct rslot *s)
{
	size_t now = CONN_SLOT_MEM(s);

	c->oslot_mem = c->oslot_mem - s->acct + now;
	s->acct = now;
}

static inline bool unlikely_suppress(const struct conn *c)
{
	return __builtin_expect(
	    c->cl.reply != CLIENT_REPLY_ON || c->cl.skip_next, 0);
}

/* After every reply (oom: its buffer's resp_out.oom): one comparison
 * unless something needs a look. */
static inline void conn_obuf_check(struct conn *c, int oom)
{
	if (__builtin_expect(conn_pending(c) > c->otrip || oom, 0))
		conn_obuf_check_slow(c, oom, true);
}

#endif
