/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd: the command table and what a command handler sees.
 *
 * Every command is one line in a family's .def file (cmd_string.def,
 * cmd_keys.def, cmd_server.def) plus its handler in cmd_<family>.c.  The
 * line carries Redis's metadata: arity (positive = exact, negative = at
 * least), flags, ACL categories, tips, key specs and getkeys function,
 * and the documentation that COMMAND INFO/DOCS return (the argument lists
 * are in cmd_docs.c); gen_meta.py copies them from redis-server 7.0.
 *
 * Where a handler runs is decided before it is called (route.h decides,
 * conn_exec.c carries it out):
 *  - no keys, or CMD_CLIENT: on the client's own core;
 *  - keys all owned by one shard: a write on that owner; a read on the
 *    client's core under RCU (or on the owner, when the client has writes
 *    in flight there: read-your-writes);
 *  - keys on several shards, or CMD_ALL_SHARDS: on the client's core while
 *    it holds every involved shard (xcore.h), so the command is atomic and
 *    isolated as in Redis.
 * A handler therefore just reads (cmd_read) and writes (cmd_write,
 * store_put) the store and writes exactly one reply to c->out.
 *
 * Threading: handlers run on a worker thread, RCU-online.
 */
#ifndef CACHALOT_CMD_H
#define CACHALOT_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "resp/resp.h"
#include "route/route_keys.h"
#include "store/store.h"

struct worker;
struct client;
struct wstats;

/* Redis command flags, in the order COMMAND INFO lists them */
#define CMD_WRITE (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_MODULE (1u << 3)
#define CMD_ADMIN (1u << 4)
#define CMD_PUBSUB (1u << 5)
#define CMD_NOSCRIPT (1u << 6)
#define CMD_BLOCKING (1u << 7)
#define CMD_LOADING (1u << 8)
#define CMD_STALE (1u << 9)
#define CMD_SKIP_MONITOR (1u << 10)
#define CMD_SKIP_SLOWLOG (1u << 11)
#define CMD_ASKING (1u << 12)
#define CMD_FAST (1u << 13)
#define CMD_NO_AUTH (1u << 14)
#define CMD_NO_MANDATORY_KEYS (1u << 15)
#define CMD_NO_ASYNC_LOADING (1u << 16)
#define CMD_NO_MULTI (1u << 17)
#define CMD_MOVABLE_KEYS (1u << 18)
#define CMD_ALLOW_BUSY (1u << 19)
#define CMD_NFLAGS 20
/* cachalot routing flags (not shown by COMMAND INFO) */
#define CMD_CLIENT (1u << 24)	  /* touches the client: run on its core */
#define CMD_ALL_SHARDS (1u << 25) /* hold every shard (FLUSHALL, ...) */
#define CMD_HAS_SUBS (1u << 26)	  /* dispatch on argv[1] */
#define CMD_CONTROL (1u << 27)	  /* runs on the control thread */

/* ACL categories, declared per command in the .def lines, in the order
 * COMMAND INFO lists them (Redis's ACLCommandCategories). */
#define CMD_ACL_KEYSPACE (1u << 0)
#define CMD_ACL_READ (1u << 1)
#define CMD_ACL_WRITE (1u << 2)
#define CMD_ACL_SET (1u << 3)
#define CMD_ACL_SORTEDSET (1u << 4)
#define CMD_ACL_LIST (1u << 5)
#define CMD_ACL_HASH (1u << 6)
#define CMD_ACL_STRING (1u << 7)
#define CMD_ACL_BITMAP (1u << 8)
#define CMD_ACL_HYPERLOGLOG (1u << 9)
#define CMD_ACL_GEO (1u << 10)
#define CMD_ACL_STREAM (1u << 11)
#define CMD_ACL_PUBSUB (1u << 12)
#define CMD_ACL_ADMIN (1u << 13)
#define CMD_ACL_FAST (1u << 14)
#define CMD_ACL_SLOW (1u << 15)
#define CMD_ACL_BLOCKING (1u << 16)
#define CMD_ACL_DANGEROUS (1u << 17)
#define CMD_ACL_CONNECTION (1u << 18)
#define CMD_ACL_TRANSACTION (1u << 19)
#define CMD_ACL_SCRIPTING (1u << 20)
#define CMD_ACL_N 21

/* COMMAND DOCS: argument flags, doc flags */
#define CMD_ARG_OPTIONAL (1u << 0)
#define CMD_ARG_MULTIPLE (1u << 1)
#define CMD_ARG_MULTIPLE_TOKEN (1u << 2)
#define CMD_DOC_DEPRECATED (1u << 0)
#define CMD_DOC_SYSCMD (1u << 1)

/** One argument of a command's documentation (Redis's redisCommandArg). */
struct cmd_arg {
	const char *name;
	const char *type;   /* "key", "string", "oneof", "pure-token", ... */
	int key_spec_index; /* -1: not a key */
	const char *token, *summary, *since, *deprecated_since; /* or NULL */
	unsigned flags;						/* CMD_ARG_* */
	const struct cmd_arg *args; /* of a block or oneof */
	int nargs;
};

/** COMMAND DOCS beyond summary/since/group/complexity (cmd_docs.c). */
struct cmd_doc {
	unsigned doc_flags; /* CMD_DOC_* */
	const char *deprecated_since, *replaced_by;
	const char *const *history; /* version, text, version, text... */
	int nhistory;
	const struct cmd_arg *args;
	int nargs;
};

/* Why a blocked request runs again (cmd_block). */
enum cmd_wake {
	CMD_WAKE_NONE,	  /* not a rerun */
	CMD_WAKE_TIMEOUT, /* its deadline passed, or CLIENT UNBLOCK TIMEOUT */
};

/** What a handler is given. */
struct cmd_ctx {
	struct worker *w;  /* the executing core */
	struct client *cl; /* the client, or NULL when run remotely */
	struct wstats *st; /* the executing core's counters */
	unsigned db;	   /* the client's selected database */
	int argc;
	const struct resp_arg *argv;
	struct resp_out *out; /* exactly one reply goes here */
	int64_t now_ms;	      /* unix ms, fixed for the whole command */
	uint64_t *rng;	      /* the core's xorshift64 state */
	/* The keyspace event its puts raise (cmd_put: "incrby", "append",
	 * ...); NULL for "set".  Deletes, renames and expiries are named by
	 * the store's change door itself. */
	const char *event;
	/* Blocking (cmd_block): why this run is a rerun, whether the client
	 * may wait at all (not inside a hold: Redis's commands in MULTI
	 * never block), and what the handler asked. */
	enum cmd_wake wake;
	bool may_block;
	bool block;
	int64_t block_until_ms;
};

#define CMD_BLOCK_FOREVER INT64_MAX

/**
 * Make the client wait instead of replying (WAIT; BLPOP and the other
 * blocking commands with the collections): the handler writes nothing,
 * the client reads no further requests, counts in blocked_clients and
 * shows flag b in CLIENT LIST, and the same request runs again, with
 * c->wake set, once until_ms (unix ms, or CMD_BLOCK_FOREVER) passes or
 * CLIENT UNBLOCK TIMEOUT asks; that run must reply.  CLIENT UNBLOCK ERROR
 * answers -UNBLOCKED without running it.  Returns false when the client
 * may not wait (c->may_block false): the handler replies as on a timeout.
 * The blocking list, set and stream commands will add a third wake, a
 * change of one of the request's keys on its owner (the change door's
 * event), and the owner-side wait for clients on other cores.
 * Context: a handler run on the client's core (c->cl set).
 */
static inline bool cmd_block(struct cmd_ctx *c, int64_t until_ms)
{
	if (!c->may_block)
		return false;
	c->block = true;
	c->block_until_ms = until_ms;
	return true;
}

typedef void (*cmd_fn)(struct cmd_ctx *c);

/*
 * One command, as its .def line declares it.  The fields route reads for
 * every request come first.  Key positions are Redis 7's key specs
 * (route_keys.h) plus a getkeys function where Redis has one; first_key,
 * last_key and key_step are derived from the specs at setup as Redis
 * derives COMMAND INFO's legacy triple, and key_simple marks the common
 * one-spec "index N, range" shape route evaluates inline.
 */
struct cmd_def {
	const char *name; /* lower case */
	int arity;
	uint32_t flags;
	cmd_fn fn;
	uint16_t id;	 /* dense index for per-command stats */
	uint8_t nspecs;	 /* key specs used in specs[] */
	bool key_simple; /* keys are first_key..last_key by key_step */
	int first_key, last_key, key_step;
	route_getkeys_fn getkeys;     /* or NULL */
	const struct cmd_def *parent; /* for subcommands */
	const struct cmd_def **subs;  /* NULL-terminated, or NULL */
	uint32_t acl;		      /* CMD_ACL_* */
	const char *const *tips;      /* NULL-terminated, or NULL */
	const char *group;	      /* "string", "generic", "server", ... */
	const char *since;
	const char *summary;
	const char *complexity;
	const struct cmd_doc *doc;
	struct route_keyspec specs[ROUTE_MAX_SPECS];
};

/** Build the lookup tables and register the families' cfg view.  Returns
 * 0 or -errno.  Context: start-up, after cfg_setup and cfg_load_args. */
int cmd_setup(void);
void cmd_teardown(void);

/**
 * The command named name[0..len) (any case), or NULL.  For a command with
 * subcommands this returns the container; use cmd_lookup_sub().
 * Context: any thread; no allocation; not a linear scan.
 */
const struct cmd_def *cmd_lookup(const char *name, size_t len);
/** The subcommand of parent named by name[0..len), or NULL. */
const struct cmd_def *cmd_lookup_sub(const struct cmd_def *parent,
				     const char *name, size_t len);
/** Number of entries (commands and subcommands); ids are below it. */
unsigned cmd_count(void);
/** The entry with the given id. */
const struct cmd_def *cmd_by_id(unsigned id);
/** Top-level commands, for COMMAND LIST/COUNT/INFO. */
unsigned cmd_top_count(void);
const struct cmd_def *cmd_top(unsigned i);
/** "get" or "config|get", as INFO commandstats and COMMAND name them. */
void cmd_fullname(const struct cmd_def *d, char *buf, size_t size);

/** Periodic sampling for INFO (instantaneous_ops_per_sec).
 * Context: worker 0's cron. */
void cmd_cron(int64_t now_ms);
/** Server start time for INFO/LASTSAVE.  Context: start-up. */
void cmd_set_start_time(int64_t ms);

/**
 * INFO's used_memory: the shards' data (objects, tables, expiry heaps) and
 * every client's buffers (conn_mem_bytes), the figure maxmemory limits.
 * One relaxed load per shard and per worker.  Context: any thread.
 */
uint64_t cmd_used_memory(void);

/* ---- helpers for handlers (cmd_util.c) ---------------------------- */

extern const char *const cmd_err_syntax; /* "ERR syntax error" */
extern const char
    *const cmd_err_notint; /* "ERR value is not an integer or out of range" */
extern const char
    *const cmd_err_notfloat; /* "ERR value is not a valid float" */
extern const char
    *const cmd_err_wrongtype; /* "WRONGTYPE Operation against a key holding the
				 wrong kind of value" */
extern const char
    *const cmd_err_overflow; /* "ERR increment or decrement would overflow" */
extern const char *const cmd_err_nokey; /* "ERR no such key" */
extern const char *const cmd_err_oom;	/* "ERR out of memory" */

/** Case-insensitive compare of an argument with a C string. */
static inline bool cmd_arg_is(const struct resp_arg *a, const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/** The length of an option word as Redis sees it: as a C string (a NUL
 * byte ends the word). */
static inline size_t cmd_word_len(const struct resp_arg *a)
{
	const char *nul = memchr(a->ptr, '\0', a->len);

	return nul ? (size_t)(nul - a->ptr) : a->len;
}

/** An option word compared as Redis does: C string, case-insensitive. */
static inline bool cmd_opt_is(const struct resp_arg *a, const char *s)
{
	struct resp_arg w = {.ptr = a->ptr, .len = cmd_word_len(a)};

	return cmd_arg_is(&w, s);
}

/** The key in argument a, with its slot and hash. */
static inline void cmd_key(struct skey *k, const struct resp_arg *a)
{
	skey_init(k, a->ptr, a->len);
}

/** Redis's string2ll: the whole argument must be a canonical integer. */
bool cmd_parse_ll(const struct resp_arg *a, long long *out);
/** Redis's string2ld / strtold rules for INCRBYFLOAT and friends. */
bool cmd_parse_ld(const struct resp_arg *a, long double *out);

/**
 * Key lookups that count keyspace_hits/misses and record the access.
 * cmd_read: any core, never deletes.  cmd_write: owner (or holder), deletes
 * an expired key first.  Both return NULL when the key does not exist.
 */
struct sobj *cmd_read(struct cmd_ctx *c, unsigned db, const struct skey *k);
struct sobj *cmd_write(struct cmd_ctx *c, unsigned db, const struct skey *k);
/** Lookup without touching hits/misses (EXISTS, TYPE, ...), owner or not. */
struct sobj *cmd_peek(struct cmd_ctx *c, unsigned db, const struct skey *k);

/**
 * store_put() o in db; when that runs out of memory (o is then freed),
 * reply the OOM error and return NULL.  Old objects a command read stay
 * valid until the end of the turn (RCU), so it may reply from them after.
 * Context: owner of o's slot.
 */
struct sobj *cmd_put(struct cmd_ctx *c, unsigned db, struct sobj *o,
		     int64_t expire_ms);

/** Reply "ERR wrong number of arguments for '<name>' command". */
void cmd_reply_arity(struct resp_out *o, const struct cmd_def *d);

#endif
