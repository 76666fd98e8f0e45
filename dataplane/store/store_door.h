/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_door: the one door every owner-side change of the keyspace passes
 * through (DESIGN "One door for every change"), and its three consumers.
 *
 * store_apply() is the door; store_put(), store_delete(), store_rename(),
 * store_set_expire() and store_flush() (store.h) are its usual shapes, and
 * the store's own deletes (lazy and active expiry, eviction) take it too.
 * For each change that has an effect it calls, in this order:
 *
 *  1. pre_image(old), before anything moves, with each object the change
 *     is about to replace, delete or alter (RENAME: the source, then what
 *     the destination held; FLUSH: once, old NULL, before the tables go),
 *     so an active snapshot can keep the version it has not saved yet.
 *     An expiry change alters the object in place: a hook that needs the
 *     old expiry reads it now.  A change that then fails for memory leaves
 *     the keyspace as it was: keeping a current version is harmless.
 *  2. log(change), once the change is published: its deterministic effect
 *     (struct store_change), for the core's change log.
 *  3. event(name, key), the keyspace event(s) of notify-keyspace-events:
 *     "set" (or the put's own name), "del", "expire", "persist",
 *     "expired", "evicted", "rename_from" + "rename_to", "move_from" +
 *     "move_to".  A flush raises none, as in Redis.
 *
 * and then bumps its shard's dirty counter by what Redis's server.dirty
 * (rdb_changes_since_last_save) counts: 1 per put, delete, rename and
 * expiry change, the keys removed for a flush, and 0 for expired and
 * evicted keys.  A change with no effect (DEL of a missing key, SET NX
 * that did not set, PERSIST without a TTL, a flush of empty dbs) never
 * reaches the door or stops at it: no hook, no count.
 *
 * Threading: the door runs on the key's owner (or the core holding its
 * shard), and so do the hooks: they must not block, and must not change
 * the store.  Objects handed to them stay readable until the caller's next
 * quiescent state.
 */
#ifndef CACHALOT_STORE_DOOR_H
#define CACHALOT_STORE_DOOR_H

#include <stdint.h>

#include "store_obj.h"

struct skey;

enum store_chg {
	STORE_CHG_PUT, /* a value set or replaced */
	STORE_CHG_DEL, /* deleted by a command (DEL, GETDEL, EXPIRE <= now) */
	STORE_CHG_RENAME,  /* moved to another name or db (RENAME, MOVE) */
	STORE_CHG_EXPIRE,  /* expiry set or removed (EXPIRE, PERSIST, GETEX) */
	STORE_CHG_EXPIRED, /* deleted because its time passed: logs as DEL */
	STORE_CHG_EVICTED, /* deleted to stay under maxmemory: logs as DEL */
	STORE_CHG_FLUSH,   /* every key of db (UINT32_MAX: of all dbs) */
};

/* Later issues: the Redis command that replays a change whose effect is
 * not one of the kinds (SREM for SPOP, MULTI/EXEC around a script). */
struct store_cmd_form;

/** A change as the consumers see it. */
struct store_change {
	enum store_chg kind;
	unsigned db;
	const char *key; /* NULL for FLUSH */
	uint32_t klen;
	uint16_t slot;
	/* The key's object before the change (NULL: none), and the one in
	 * the table after it (PUT, EXPIRE, RENAME: at the destination; NULL
	 * when the key is gone).  For an expiry changed in place both are
	 * the same object. */
	const struct sobj *old;
	const struct sobj *obj;
	/* The absolute expiry (unix ms) after the change, STORE_NO_EXPIRE
	 * for none: what a PXAT or PERSIST replays, however it was asked. */
	int64_t expire_at;
	/* RENAME: the destination, and what it held (replaced silently). */
	unsigned dst_db;
	const char *dst_key;
	uint32_t dst_klen;
	const struct sobj *dst_old;
	uint64_t keys;			   /* FLUSH: keys removed */
	const struct store_cmd_form *form; /* NULL until later issues */
};

struct store_door_hooks {
	void (*pre_image)(void *arg, const struct store_change *ch,
			  const struct sobj *old);
	void (*log)(void *arg, const struct store_change *ch);
	void (*event)(void *arg, const struct store_change *ch, unsigned db,
		      const char *name, const char *key, uint32_t klen);
	void *arg;
};

/**
 * Register the consumers (h NULL, or any hook NULL: none).  They apply to
 * every shard.  Context: start-up, before workers run (tests: between
 * changes).
 */
void store_door_setup(const struct store_door_hooks *h);

/** A change asked of the door. */
struct store_op {
	enum store_chg kind;
	unsigned db;
	/* PUT: the new, unpublished object (the door takes it, whatever
	 * happens).  DEL, EXPIRE, RENAME, EXPIRED, EVICTED: the published
	 * object (found by store_find_w).  Unused for FLUSH. */
	struct sobj *obj;
	int64_t expire_at; /* PUT, EXPIRE: absolute unix ms or none */
	const char *event; /* PUT: its keyspace event; NULL: "set" */
	unsigned dst_db;   /* RENAME */
	const struct skey *dst;
	struct sobj *result; /* out: the object now in the table */
};

/**
 * Make one change.  Returns 1 when it took effect, 0 when it had none (a
 * PERSIST of a key without expiry, a FLUSH of empty dbs), -ENOMEM when an
 * object or table could not be allocated (nothing changed; a PUT's object
 * is freed).
 * Context: owner of every key involved (FLUSH: holding every shard).
 */
int store_apply(struct store_op *op);

/** The door's count of one shard (relaxed).  Context: any thread. */
uint64_t store_shard_dirty(unsigned shard);
/** The sum over the shards: rdb_changes_since_last_save.  Context: any
 * thread. */
uint64_t store_dirty_total(void);

#endif
