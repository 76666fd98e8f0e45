/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The route stage (route.h): checks in Redis's processCommand order, then
 * where the command runs.  Every check that rejects writes its error into
 * the decision and conn replies it; nothing here touches the connection.
 *
 * The common case is cheap on purpose: a GET is a hash lookup, two
 * compares, and one slot computed from the one key its single
 * "index 1, range 0 step 1" spec names, walked inline as the old
 * first/last/step was (cmd_def.key_simple); only other spec shapes and
 * getkeys functions go through route_keys.
 */
#include <stdio.h>

#include "cfg.h"
#include "conn.h"
#include "route.h"
#include "route_keys.h"
#include "worker_pvt.h"
#include "xcore.h"

#define ROUTE_OOM_ERROR                                                        \
	"OOM command not allowed when used memory > 'maxmemory'."

/* What route reads of the configuration (its cfg view, route_setup). */
struct route_params {
	bool requirepass;
	bool noeviction;
	uint64_t maxmemory; /* 0 = none */
};

static int route_params_id = -1;

static void route_params_build(const struct cfg *c, void *view)
{
	struct route_params *p = view;

	p->requirepass = c->requirepass[0] != '\0';
	p->noeviction = c->maxmemory_policy == CFG_POLICY_NOEVICTION;
	p->maxmemory = (uint64_t)c->maxmemory;
}

static const struct route_params *route_params(void)
{
	return cfg_view(route_params_id);
}

int route_setup(void)
{
	route_params_id =
	    cfg_view_register(sizeof(struct route_params), route_params_build);
	return route_params_id < 0 ? route_params_id : 0;
}

/* Over maxmemory, for a command that may grow memory?  Under noeviction
 * the request itself looks, as Redis does per command, so that a
 * pipeline's CONFIG SET maxmemory is in force for its next request; under
 * an eviction policy only the workers know whether anything is left to
 * evict (worker_mem_oom, their verdict at the end of a turn). */
static bool route_oom(void)
{
	const struct route_params *p = route_params();

	if (caa_likely(!p->maxmemory))
		return false;
	if (p->noeviction)
		return store_used() + conn_mem_bytes() > p->maxmemory;
	return caa_unlikely(worker_mem_oom());
}

static enum route_action route_error(struct route_decision *d,
				     const struct cmd_def *cmd, const char *err)
{
	d->action = ROUTE_ERROR;
	d->cmd = cmd;
	d->err = err;
	return ROUTE_ERROR;
}

static enum route_action route_unknown(struct route_decision *d, int argc,
				       const struct resp_arg *argv)
{
	size_t n, cap = sizeof(d->errbuf);

	n = (size_t)snprintf(
	    d->errbuf, cap,
	    "ERR unknown command '%.*s', with args beginning with: ",
	    (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr);
	for (int i = 1; i < argc && n < cap - 1; i++) {
		int len = (int)(argv[i].len > 128 ? 128 : argv[i].len);
		n += (size_t)snprintf(d->errbuf + n, cap - n, "'%.*s' ", len,
				      argv[i].ptr);
		if (n >= 128 + 64)
			break;
	}
	return route_error(d, NULL, d->errbuf);
}

static enum route_action route_unknown_sub(struct route_decision *d,
					   const struct cmd_def *parent,
					   const struct resp_arg *sub)
{
	char up[32];
	size_t i;

	for (i = 0; parent->name[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(parent->name[i] & ~0x20);
	up[i] = '\0';
	snprintf(d->errbuf, sizeof(d->errbuf),
		 "ERR unknown subcommand '%.*s'. Try %s HELP.",
		 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr, up);
	return route_error(d, NULL, d->errbuf);
}

static enum route_action route_arity(struct route_decision *d,
				     const struct cmd_def *cmd)
{
	char name[64];

	cmd_fullname(cmd, name, sizeof(name));
	snprintf(d->errbuf, sizeof(d->errbuf),
		 "ERR wrong number of arguments for '%s' command", name);
	return route_error(d, cmd, d->errbuf);
}

/* The cores owning cmd's keys in argv: returns how many keys (0: none,
 * or arguments the specs cannot place, which the handler rejects). */
static int route_owners(const struct cmd_def *cmd, int argc,
			const struct resp_arg *argv, uint64_t *mask)
{
	struct route_keys keys;
	int nkeys = 0;

	*mask = 0;
	if (caa_likely(cmd->key_simple)) {
		int first = cmd->first_key, last = cmd->last_key;

		if (first >= argc)
			return 0;
		if (last < 0)
			last += argc;
		if (last >= argc)
			last = argc - 1;
		for (int i = first; i <= last; i += cmd->key_step) {
			*mask |= 1ull << store_owner(
				     slot_of(argv[i].ptr, argv[i].len));
			nkeys++;
		}
		return nkeys;
	}
	if (cmd->nspecs == 0 && !cmd->getkeys)
		return 0;
	route_keys_locate(cmd->specs, cmd->nspecs, cmd->getkeys, argc, argv,
			  &keys);
	for (int r = 0; r < keys.n; r++)
		for (int i = keys.r[r].first; i <= keys.r[r].last;
		     i += keys.r[r].step) {
			*mask |= 1ull << store_owner(
				     slot_of(argv[i].ptr, argv[i].len));
			nkeys++;
		}
	return nkeys;
}

static enum route_action route_here(struct route_decision *d)
{
	d->action = ROUTE_RUN_HERE;
	return ROUTE_RUN_HERE;
}

/* Several cores: run now when holds taken already cover them (inside a
 * granted hold's pipeline), else take them. */
static enum route_action route_hold(struct worker *w, struct route_decision *d,
				    uint64_t mask)
{
	if (xcore_hold_covers(w, mask))
		return route_here(d);
	d->action = ROUTE_HOLD;
	d->mask = mask;
	return ROUTE_HOLD;
}

/* Stage 9: where the command runs (route.h). */
static enum route_action route_place(struct worker *w,
				     const struct route_flight *fl, int argc,
				     const struct resp_arg *argv,
				     struct route_decision *d)
{
	const struct cmd_def *cmd = d->cmd;
	uint64_t mask;
	unsigned owner;

	/* A control command waits for this client's writes, as a keyless
	 * command does. */
	if ((cmd->flags & CMD_CONTROL) && fl->total > 0) {
		d->action = ROUTE_WAIT_FLIGHT;
		return ROUTE_WAIT_FLIGHT;
	}
	if (cmd->flags & CMD_CONTROL) {
		d->action = ROUTE_CONTROL;
		return ROUTE_CONTROL;
	}
	if (w->n == 1 || (cmd->flags & CMD_CLIENT))
		return route_here(d);
	if (cmd->flags & CMD_ALL_SHARDS)
		return route_hold(w, d,
				  w->n == 64 ? ~0ull : (1ull << w->n) - 1);
	if (route_owners(cmd, argc, argv, &mask) == 0) {
		if (fl->total > 0) {
			d->action = ROUTE_WAIT_FLIGHT;
			return ROUTE_WAIT_FLIGHT;
		}
		return route_here(d);
	}
	if (mask & (mask - 1))
		return route_hold(w, d, mask);
	owner = (unsigned)__builtin_ctzll(mask);
	if (owner == w->id && (cmd->flags & CMD_WRITE) &&
	    caa_unlikely(xcore_lent(w))) {
		d->action = ROUTE_WAIT_LENT;
		return ROUTE_WAIT_LENT;
	}
	if (owner == w->id ||
	    (!(cmd->flags & CMD_WRITE) && fl->per_core[owner] == 0))
		return route_here(d);
	d->action = ROUTE_SEND;
	d->owner = owner;
	return ROUTE_SEND;
}

enum route_action route_request(struct worker *w, struct client *cl,
				const struct route_flight *fl, int argc,
				const struct resp_arg *argv,
				struct route_decision *d)
{
	const struct cmd_def *cmd = cmd_lookup(argv[0].ptr, argv[0].len);

	/* 1. lookup */
	if (caa_unlikely(!cmd))
		return route_unknown(d, argc, argv);
	if (cmd->subs && argc >= 2) {
		const struct cmd_def *sub =
		    cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
		if (!sub)
			return route_unknown_sub(d, cmd, &argv[1]);
		cmd = sub;
	}
	/* A control command in flight is a barrier: what it changes
	 * (CONFIG SET maxmemory, requirepass) holds for every check below. */
	if (caa_unlikely(fl->control)) {
		d->cmd = cmd;
		d->action = ROUTE_WAIT_FLIGHT;
		return ROUTE_WAIT_FLIGHT;
	}
	/* 2. arity (a container without its subcommand has no handler) */
	if ((cmd->arity > 0 && argc != cmd->arity) ||
	    (cmd->arity < 0 && argc < -cmd->arity) || !cmd->fn)
		return route_arity(d, cmd);
	/* 3. authentication */
	if (caa_unlikely(!cl->authed) && !(cmd->flags & CMD_NO_AUTH)) {
		if (route_params()->requirepass)
			return route_error(d, cmd,
					   "NOAUTH Authentication required.");
		cl->authed = true;
	}
	/* 4. ACL: the user's command, category and key permissions go here
	 *    (-NOPERM), with the keys from route_keys_get.
	 * 5. Cluster: with cluster mode, the keys' slots (one slot, or
	 *    -CROSSSLOT) and their node go here: -MOVED, -ASK, -TRYAGAIN. */
	/* 6. OOM */
	if ((cmd->flags & CMD_DENYOOM) && route_oom())
		return route_error(d, cmd, ROUTE_OOM_ERROR);
	/* 7. -LOADING (a command without CMD_LOADING while a snapshot
	 *    loads) and -BUSY (without CMD_ALLOW_BUSY while a script runs
	 *    too long) go here.
	 * 8. MULTI queueing goes here: inside MULTI everything but
	 *    EXEC/DISCARD/MULTI/WATCH/QUIT/RESET is queued (+QUEUED), and a
	 *    rejection above flags the transaction (EXECABORT). */
	d->cmd = cmd;
	return route_place(w, fl, argc, argv, d);
}
