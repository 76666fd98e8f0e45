/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn: one client connection above the byte-stream seam.
 *
 * A transport (kernel socket today, the userspace TCP stack later) moves
 * bytes; conn turns them into requests, routes each request to the core
 * that must run it (cmd.h explains the rules), and keeps replies in request
 * order.  Replies go straight into the output buffer while nothing is
 * outstanding; once a command runs on another core, every later reply gets
 * a slot in a FIFO that is flushed as its prefix becomes ready.
 *
 * Output is bounded by client-output-buffer-limit (the class's hard and
 * soft limits, as Redis 7.0 applies them): a client whose output piles up
 * unread is closed and counted; conn_obuf.c's top comment says how.
 *
 * Threading: a connection belongs to the worker that accepted it; only
 * that worker touches it, except that CLIENT LIST on any core reads the
 * public struct client fields racily under RCU (they are hints there).
 */
#ifndef CACHALOT_CONN_H
#define CACHALOT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <urcu-qsbr.h>
#include <urcu/rculist.h>

#include "resp/resp.h"

struct worker;
struct xmsg;
struct cmd_def;

enum client_reply { CLIENT_REPLY_ON = 0, CLIENT_REPLY_OFF, CLIENT_REPLY_SKIP };

/** The part of a connection that commands (HELLO, CLIENT, ...) see. */
struct client {
	uint64_t id;
	unsigned db;
	uint8_t proto; /* 2 or 3 */
	bool authed;
	uint8_t reply;	/* enum client_reply */
	bool skip_next; /* CLIENT REPLY SKIP: drop the next reply */
	bool no_evict;
	bool close_after_reply; /* QUIT, protocol error, CLIENT KILL */
	int64_t ctime_ms;
	int64_t last_ms; /* last interaction, for `timeout` and idle */
	const struct cmd_def *last_cmd;
	int fd;
	unsigned worker;
	char name[64];
	char addr[64];	/* "ip:port" of the peer */
	char laddr[64]; /* "ip:port" of our side */
};

/** Register conn's view of the configuration.  Returns 0 or -errno.
 * Context: start-up, after the configuration is loaded. */
int conn_setup(void);

/**
 * Create a connection for an accepted socket.  Returns NULL with errno
 * EMFILE at `maxclients`, EACCES when protected mode refuses the peer, or
 * ENOMEM; the transport then sends kernel_reject()'s message and closes.
 * Context: the accepting worker.
 */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local);

/** Where the transport may write received bytes: at least min bytes. */
char *conn_rx_space(struct conn *c, size_t *avail);
/** n bytes arrived in the space conn_rx_space gave: parse and run them. */
void conn_rx_done(struct conn *c, size_t n);
/** n bytes arrived there, to run later with conn_rx_done(c, 0): for a
 * transport that takes a whole receive burst before any request runs
 * (DPDK).  Context: owner. */
void conn_rx_add(struct conn *c, size_t n);
/** Bytes a paused connection holds unparsed (0 while it is parsing, even
 * mid-request): a transport with flow control advertises its window minus
 * this. */
size_t conn_rx_pending(const struct conn *c);
/**
 * Whether the transport should stop reading c: it is paused (waiting for
 * its commands on other cores) and holds CONN_RX_HOLD bytes it has not
 * parsed.  A transport that stops calls tp->rx_resume() when conn asks
 * (once c parses again), so a fast pipelining client is held back by
 * TCP's flow control instead of growing its query buffer.
 * Context: owner, after conn_rx_done().
 */
bool conn_rx_hold(struct conn *c);
/** How many bytes c takes at most in the next read before it must be held
 * (SIZE_MAX while it parses): a transport that reads into conn_rx_space()
 * itself caps its read with it, so the query buffer does not grow past
 * the hold by a big read's worth.  Context: owner. */
size_t conn_rx_room(const struct conn *c);

/** Output waiting to be sent, and how much of it went out. */
const char *conn_tx_data(struct conn *c, size_t *len);
void conn_tx_done(struct conn *c, size_t n);
/** The transport's flush visited c (it leaves the turn's dirty list). */
void conn_flushed(struct conn *c);
/** The next connection on the worker's dirty list after c. */
struct conn *conn_next_dirty(const struct conn *c);
/** True when the transport should close after sending what is queued. */
bool conn_tx_close(const struct conn *c);

/** The transport's per-connection state (fd, io_uring buffers...). */
void *conn_tp(struct conn *c);
void conn_set_tp(struct conn *c, void *tp);

/** The peer closed or the socket failed: forget the connection (freed
 * once no command of it is running on another core).  Context: owner. */
void conn_closed(struct conn *c);

/** Public fields of c. */
struct client *conn_client(struct conn *c);
struct conn *client_conn(struct client *cl);

/* ---- for xcore.c ------------------------------------------------- */
/** What xcore calls on a receiving core (worker.c registers it). */
extern const struct xcore_handlers conn_xcore;
/** Free w's pool of reply slots.  Context: shutdown, w's connections
 * released. */
void conn_slots_teardown(struct worker *w);

/* ---- for worker.c ------------------------------------------------ */
/** Connections that paused (too many commands in flight): resume them. */
void conn_resume_paused(struct worker *w);
/** Close idle clients (`timeout`).  Context: owner worker cron. */
void conn_cron(struct worker *w);
/** Close every connection of w (shutdown). */
void conn_close_all(struct worker *w);

/** Total clients connected now (all workers).  Context: any thread. */
unsigned conn_count(void);
/**
 * Bytes every normal client holds, all workers: the connection struct,
 * query buffer, argv array, reply buffer and reply slots at their
 * capacities, plus the transport's per-connection state (INFO
 * mem_clients_normal; counted against maxmemory).  A relaxed sum of the
 * cores' gauges, updated by each owner after a parse, a send or a remote
 * reply.  Context: any thread.
 */
uint64_t conn_mem_bytes(void);

/**
 * Visit every client of every worker (CLIENT LIST, INFO clients).
 * Context: RCU-online worker thread; fields are racy hints.
 */
typedef void (*conn_visit_fn)(const struct client *cl, const struct conn *c,
			      void *arg);
void conn_visit_all(conn_visit_fn fn, void *arg);
/**
 * c as a CLIENT LIST line without the newline ("id=7 addr=... resp=2"),
 * written as snprintf does; returns snprintf's result.  The buffer
 * fields (qbuf, rbs, obl, oll, omem, tot-mem) are the real sizes.
 * Context: RCU-online worker; another worker's client gives racy hints.
 */
int conn_info(const struct conn *c, int64_t now_ms, char *buf, size_t size);
/** INFO client_recent_max_input_buffer / _output_buffer: the largest
 * query buffer and reply list (as Redis counts it, conn_obuf.c) any client had
 * in the last few seconds, sampled by each worker's cron.  Context: any
 * thread. */
void conn_recent_max(uint64_t *in, uint64_t *out);
/** Clients closed for their output buffer limit since start (INFO
 * client_output_buffer_limit_disconnections).  Context: any thread. */
unsigned long conn_obuf_disconnections(void);
/** Ask the owning worker to close client id after its pending replies.
 * Returns true if such a client exists.  Context: worker thread. */
bool conn_kill(struct worker *w, uint64_t id);
/** CLIENT UNBLOCK: wake client id if it is blocked (cmd_block), why
 * CMD_WAKE_TIMEOUT or CONN_UNBLOCK_ERROR.  Returns whether it was blocked.
 * Context: worker thread. */
#define CONN_UNBLOCK_ERROR 255
bool conn_unblock_id(struct worker *w, uint64_t id, unsigned why);
/** Clients blocked now (INFO blocked_clients).  Context: any thread. */
unsigned conn_blocked_count(void);

#endif
