/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * route: the stage between parse and execute.  It decides, for one parsed
 * request, what happens to it; conn (conn_exec.c) carries the decision
 * out.  In the order Redis's processCommand checks them:
 *
 *   1. lookup: the command, and its subcommand for a container;
 *   2. arity;
 *   3. authentication (NOAUTH);
 *   4. (ACL: not yet, see route.c)
 *   5. (cluster redirects MOVED / ASK / CROSSSLOT: not yet)
 *   6. OOM: a CMD_DENYOOM command while used memory is over maxmemory;
 *   7. (-LOADING, -BUSY: not yet)
 *   8. (MULTI queueing: not yet)
 *   9. where it runs: its keys (key specs, route_keys.h) give the cores
 *      owning them, and with this client's writes in flight that gives one
 *      of the decisions below.
 *
 * Where it runs (the rules cmd.h states for handlers):
 *  - CMD_CONTROL (CONFIG, INFO, later SAVE, SLOWLOG, replication): on the
 *    control thread, once this client's writes in flight are done; every
 *    later request of the client waits for its reply (ROUTE_WAIT_FLIGHT);
 *  - one core, or CMD_CLIENT: here;
 *  - no keys: here, once this client's writes in flight are done (a
 *    keyspace-wide read must see them): ROUTE_WAIT_FLIGHT until then;
 *  - keys on one owner: a write there (ROUTE_SEND; ROUTE_WAIT_LENT when
 *    the owner is this core and it lent its shard away); a read here
 *    under RCU, or on the owner when this client has writes in flight to
 *    it (read-your-writes through the ring's FIFO order);
 *  - keys on several owners, or CMD_ALL_SHARDS: here while holding them
 *    all (ROUTE_HOLD), or at once when holds already taken cover them.
 *
 * Context: the client's own worker; no allocation, no locks.
 */
#ifndef CACHALOT_ROUTE_H
#define CACHALOT_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "resp/resp.h"

struct worker;
struct client;

enum route_action {
	ROUTE_RUN_HERE,	   /* execute now on this core */
	ROUTE_SEND,	   /* execute on core .owner (conn_send_remote) */
	ROUTE_HOLD,	   /* hold the cores in .mask, then execute here */
	ROUTE_WAIT_FLIGHT, /* wait until this client's writes in flight end */
	ROUTE_WAIT_LENT,   /* wait until this core's lent shard comes back */
	ROUTE_CONTROL,	   /* execute on the control thread (CMD_CONTROL) */
	ROUTE_ERROR,	   /* reply .err; nothing runs */
};

/** This client's writes in flight, per owner core and in all. */
struct route_flight {
	const uint16_t *per_core;
	uint32_t total; /* control commands included */
	bool control;	/* a control command is in flight */
};

struct route_decision {
	enum route_action action;
	/* The command (subcommand resolved); NULL for an unknown one.  On
	 * ROUTE_ERROR with cmd set the request was rejected (arity, NOAUTH,
	 * OOM): Redis counts it in rejected_calls. */
	const struct cmd_def *cmd;
	unsigned owner; /* ROUTE_SEND */
	uint64_t mask;	/* ROUTE_HOLD */
	const char *err;
	char errbuf[512]; /* for errors that quote the request */
};

/** Register route's view of the configuration.  Returns 0 or -errno.
 * Context: start-up, after the configuration is loaded. */
int route_setup(void);

/**
 * Decide what to do with the request argv[0..argc).  May mark the client
 * authenticated (no requirepass: every client is).  Fills *d and returns
 * d->action.
 * Context: the client's worker; argc >= 1.
 */
enum route_action route_request(struct worker *w, struct client *cl,
				const struct route_flight *fl, int argc,
				const struct resp_arg *argv,
				struct route_decision *d);

#endif
