/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store: the keyspace, cut into per-core shards.
 *
 * Every hash slot (slot.h) belongs to one shard, and shard i belongs to
 * worker i.  A shard keeps, for each logical database (SELECT n), a liburcu
 * lock-free hash table (cds_lfht) of objects.  Each database additionally
 * keeps one RCU list per slot so SCAN, KEYS-by-slot and later cluster
 * migration and snapshots can walk one slot at a time.
 *
 * The rules that make this lock-free:
 *  - Only the owner of a slot mutates it (inserts, replaces, deletes,
 *    changes an expiry).  A core that holds another shard through the
 *    cross-core hold protocol counts as its owner for the duration.
 *  - Any thread registered with urcu-qsbr and online may read any shard.
 *    Objects are immutable once published, except `expire` (owner writes,
 *    anyone reads; one aligned 64-bit word) and `access` (relaxed stores
 *    from any reader: LRU/LFU hints only).
 *  - Changing a value means building a new object and store_put() it; the
 *    old one is freed after a grace period (call_rcu).
 *
 * Expiry: lookups never return a logically expired object.  The owner
 * deletes expired keys lazily (store_find_w) and actively from a per-shard
 * min-heap ordered by expiry time (store_active_expire), a bounded number
 * per call so a million keys expiring at once costs no latency spike.
 *
 * Times are unix milliseconds (int64_t); expire -1 means no expiry.
 */
#ifndef CACHALOT_STORE_H
#define CACHALOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>
#include <urcu/rculist.h>

#include "slot.h"

#define STORE_MAX_SHARDS 64
#define STORE_NO_EXPIRE (-1LL)

enum sobj_type {
	SOBJ_STRING = 0,
};

/**
 * A key and its value in one allocation.  Readers on any core see it only
 * through RCU; the fields marked "owner" change only on the owning core.
 */
struct sobj {
	struct cds_lfht_node node;	/* in the shard table of its db */
	struct cds_list_head slot_link; /* in its db's list for its slot */
	struct rcu_head rcu;
	int64_t expire;	   /* owner writes, anyone reads */
	uint32_t heap_idx; /* owner: slot in the expiry heap */
	uint32_t access;   /* LRU clock (s) hint; relaxed */
	uint32_t klen;
	uint32_t vlen;
	uint16_t slot;
	uint8_t db;
	uint8_t type;
	char data[]; /* key bytes, then value bytes */
};

static inline const char *sobj_key(const struct sobj *o)
{
	return o->data;
}
static inline const char *sobj_val(const struct sobj *o)
{
	return o->data + o->klen;
}
/** Writable value bytes: only between sobj_new_*() and store_put(). */
static inline char *sobj_val_w(struct sobj *o)
{
	return o->data + o->klen;
}

/** A key with its slot and table hash computed once per request. */
struct skey {
	const char *ptr;
	uint32_t len;
	uint16_t slot;
	uint64_t hash;
};

void skey_init(struct skey *k, const void *ptr, size_t len);

struct store_conf {
	unsigned nshards; /* one per worker, 1..STORE_MAX_SHARDS */
	unsigned ndbs;	  /* `databases`, 1..256 */
};

/** Per shard counters; read by any core with relaxed loads. */
struct store_stats {
	uint64_t keys;
	uint64_t expires;      /* keys with an expiry */
	uint64_t used_bytes;   /* bytes of objects (usable size) */
	uint64_t expired_keys; /* deleted because their time passed */
};

/**
 * Build the shards; slots are spread in contiguous ranges, slot s going to
 * shard s * nshards / 16384.  Returns 0 or -errno.
 * Context: start-up, before workers run; caller is an RCU-registered thread.
 */
int store_setup(const struct store_conf *conf);
/** Free everything.  Context: after all workers stopped, on an
 * RCU-registered thread. */
void store_teardown(void);

unsigned store_nshards(void);
unsigned store_ndbs(void);
/** Owner shard of a slot.  Context: any thread. */
unsigned store_owner(uint16_t slot);

/**
 * A fresh string object for key k with value val[0..vlen) (val may be NULL
 * to leave the bytes for the caller to fill through sobj_val_w()).  expire is
 * STORE_NO_EXPIRE.  Returns NULL on allocation failure.
 * Context: any thread; the object is private until store_put().
 */
struct sobj *sobj_new_string(const struct skey *k, const void *val,
			     size_t vlen);
/** Free an object that was never published. */
void sobj_free_unpublished(struct sobj *o);

/**
 * Look a key up.  Returns NULL when absent or expired at now_ms.  Does not
 * delete anything.  Context: any RCU-online thread; the result stays valid
 * until the caller's next quiescent state.
 */
struct sobj *store_find(unsigned db, const struct skey *k, int64_t now_ms);

/**
 * Look a key up as its owner: an expired key is deleted (and counted in
 * expired_keys) and NULL returned.  Context: owner of k->slot.
 */
struct sobj *store_find_w(unsigned db, const struct skey *k, int64_t now_ms);

/**
 * Publish o in db with the given expiry, replacing any object with the same
 * key (the old one is reclaimed after a grace period).
 * Context: owner of o->slot.
 */
void store_put(unsigned db, struct sobj *o, int64_t expire_ms);

/** Delete a key; returns 1 if it existed (expired keys count as absent).
 * Context: owner. */
int store_delete(unsigned db, const struct skey *k, int64_t now_ms);

/**
 * Hand this thread's retired objects to RCU reclamation.  Objects replaced
 * or deleted are batched per thread; a worker calls this once per loop
 * turn, and any thread that wrote to the store before it stops.
 * Context: an RCU-registered thread.
 */
void store_retire_flush(void);

/**
 * On: retired objects of this thread come back to it after their grace
 * period and store_retire_flush() frees them here (a worker, once per
 * turn).  Off: flush, wait for every pending batch, and free them; call it
 * before the thread stops.  Returns 0 or -ENOMEM.
 * Context: an RCU-registered, online thread.
 */
int store_reclaim_local(bool on);

/** Delete an object found by store_find_w.  Context: owner. */
void store_delete_obj(struct sobj *o);

/** Set or clear (STORE_NO_EXPIRE) the expiry of a published object.
 * Context: owner. */
void store_set_expire(struct sobj *o, int64_t expire_ms);

/** Record an access for LRU (OBJECT IDLETIME).  Context: any thread. */
void store_touch(struct sobj *o, int64_t now_ms);
/**
 * Switch `access` between an LRU clock and Redis's LFU counter (policy
 * allkeys-lfu / volatile-lfu), with lfu-log-factor and lfu-decay-time.
 * Context: any thread (CONFIG SET); takes effect on the next access.
 */
void store_set_lfu(bool on, unsigned log_factor, unsigned decay_minutes);
/** Give a new, unpublished object its first access time (an LRU stamp,
 * or the LFU counter's initial value).  Context: any thread. */
void store_stamp(struct sobj *o, int64_t now_ms);
/** OBJECT FREQ: the decayed LFU counter, 0..255.  Context: any thread. */
unsigned store_lfu_freq(const struct sobj *o, int64_t now_ms);
/** Seconds since the last access.  Context: any thread. */
uint64_t store_idle_seconds(const struct sobj *o, int64_t now_ms);

/**
 * Delete up to max_keys keys of this shard whose time has passed.  Returns
 * how many it deleted.  Context: owner of the shard.
 */
unsigned store_active_expire(unsigned shard, int64_t now_ms, unsigned max_keys);
/** The earliest expiry in the shard, or STORE_NO_EXPIRE.  Context: owner. */
int64_t store_next_expire(unsigned shard);

/** Keys in db (all shards, relaxed sum).  Context: any thread. */
uint64_t store_dbsize(unsigned db);
/** Keys with an expiry in db.  Context: any thread. */
uint64_t store_db_expires(unsigned db);
/** Keys of db in one slot.  Context: any thread. */
uint32_t store_slot_keys(unsigned db, uint16_t slot);

/**
 * Remove every key of db (or of every db when db == UINT32_MAX) in O(slots):
 * the tables are swapped for empty ones and the old contents reclaimed after
 * a grace period by a helper thread.
 * Context: the caller holds every shard.
 */
void store_flush(unsigned db);

/**
 * Call fn for each live key of db in slot.  Returns the number visited.
 * Context: any RCU-online thread.
 */
typedef void (*store_visit_fn)(const struct sobj *o, void *arg);
unsigned store_visit_slot(unsigned db, uint16_t slot, int64_t now_ms,
			  store_visit_fn fn, void *arg);
/** Call fn for each live key of db in every shard.  Context: as above. */
void store_visit_all(unsigned db, int64_t now_ms, store_visit_fn fn, void *arg);

/** A random live key of db or NULL when it is empty.  *rng is the caller's
 * xorshift state.  Context: any RCU-online thread. */
const struct sobj *store_random(unsigned db, int64_t now_ms, uint64_t *rng);

/** Counters of one shard.  Context: any thread (relaxed). */
void store_shard_stats(unsigned shard, struct store_stats *out);

#endif
