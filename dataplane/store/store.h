/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store: the keyspace, cut into per-core shards.
 *
 * Every hash slot (slot.h) belongs to one shard, and shard i belongs to
 * worker i.  A shard keeps, for each logical database (SELECT n), a liburcu
 * lock-free hash table (cds_lfht) of objects, created with its first key.
 * Walks (SCAN, RANDOMKEY, sampling for eviction) follow the table's own
 * split-ordered list, whose order (by reverse hash) no resize changes; each
 * table carries 4096 anchor nodes at fixed positions of that order so a
 * walk can resume anywhere in O(1) lookups.  Per-slot key counts are exact.
 *
 * The rules that make this lock-free:
 *  - Only the owner of a slot mutates it (inserts, replaces, deletes,
 *    changes an expiry).  A core that holds another shard through the
 *    cross-core hold protocol counts as its owner for the duration.
 *  - Any thread registered with urcu-qsbr and online may read any shard.
 *    Objects are immutable once published, except `expire` (owner writes,
 *    anyone reads; one aligned 64-bit word), `access` (relaxed stores
 *    from any reader: LRU/LFU hints only) and a pointer-form object's
 *    body, which only the owner reads or writes (store_obj.h).
 *  - Changing a string means building a new object and store_put() it; the
 *    old one is freed after a grace period (call_rcu, in batches).
 *  - Every change passes through the change door (store_door.h), which
 *    tells the snapshot, the change log and keyspace events about it.
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
#include <string.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "slot.h"
#include "store_door.h"
#include "store_obj.h"

#define STORE_MAX_SHARDS 64

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
	uint64_t expires; /* keys with an expiry */
	/* Objects (usable size), table buckets (16 bytes each), anchors and
	 * expiry heaps. */
	uint64_t used_bytes;
	uint64_t expired_keys; /* deleted because their time passed */
	uint64_t evicted_keys; /* deleted to stay under maxmemory */
	/* Of used_bytes, the tables (buckets, anchors) and expiry heaps. */
	uint64_t table_bytes;
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
 * to leave the bytes for the caller to fill through sobj_val_w()).  ttl:
 * reserve the expiry extension, because it will be published with an
 * expiry (long objects always get it).  Returns NULL on allocation failure.
 * Context: any thread; the object is private until store_put().
 */
struct sobj *sobj_new_string(const struct skey *k, const void *val, size_t vlen,
			     bool ttl);
/**
 * A fresh pointer-form object of type t (not SOBJ_STRING) and encoding enc
 * for key k: its value is body, accounted as body_bytes.  It always carries
 * the expiry extension.  From now on the object owns the body: freeing the
 * object (after its grace period, once published) calls t's destructor on
 * it.  Returns NULL on allocation failure (the body is still the caller's).
 * Context: owner of k->slot.
 */
struct sobj *sobj_new_ptr(const struct skey *k, enum sobj_type t,
			  enum sobj_enc enc, void *body, uint64_t body_bytes);
/** Free an object that was never published (a pointer-form one with its
 * body). */
void sobj_free_unpublished(struct sobj *o);
/**
 * Bytes the allocator gave o itself (for a pointer-form object, its header
 * and key, not the body).  The same for an object's whole life.
 * Context: any thread that may read o.
 */
size_t sobj_alloc_size(const struct sobj *o);
/**
 * Bytes the store accounts for o (used_memory, MEMORY USAGE): its
 * allocation plus, in pointer form, its body's bytes.  Context: any
 * thread for a string; the owner for a pointer-form object.
 */
static inline size_t sobj_usage(const struct sobj *o)
{
	size_t n = sobj_alloc_size(o);

	return sobj_is_ptr(o) ? n + (size_t)sobj_body_bytes(o) : n;
}

/*
 * A type's body destructor.  It runs once the object is unreachable: after
 * the grace period of a retired object, on whichever thread frees it (the
 * owner worker usually, the store's background thread after a flush, the
 * call_rcu thread for threads without a reclaim home), or at once for an
 * object never published.  It must not touch the store.
 */
typedef void (*sobj_body_free_fn)(void *body);
/**
 * Register t's destructor (every type built in pointer form needs one).
 * Returns 0, or -EINVAL for SOBJ_STRING or a type out of range.
 * Context: start-up, before any object of t exists.
 */
int store_type_register(enum sobj_type t, sobj_body_free_fn fn);

/**
 * A published pointer-form object's body grew (delta > 0) or shrank in
 * place by delta bytes: its accounted bytes and its shard's used_bytes
 * follow, so maxmemory and MEMORY USAGE stay exact.
 * Context: owner of o's slot; o is published in db.
 */
void store_obj_resize(unsigned db, struct sobj *o, int64_t delta);

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

/*
 * Changes.  Each of these is a shape of the change door (store_door.h),
 * which raises its consumers' hooks and counts it.
 */

/**
 * Publish o in db with the given expiry, replacing any object with the same
 * key (the old one is reclaimed after a grace period).  Returns the object
 * published: o, or a copy of it when o has no room for the expiry (built
 * without ttl).  NULL when out of memory (for that copy or the db's first
 * table): o is freed and nothing changed.
 * Context: owner of o->slot.
 */
struct sobj *store_put(unsigned db, struct sobj *o, int64_t expire_ms);
/** store_put raising keyspace event `event` ("incrby", ...; NULL: "set"). */
struct sobj *store_put_ev(unsigned db, struct sobj *o, int64_t expire_ms,
			  const char *event);

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

/** Delete an object of db found by store_find_w.  Context: owner. */
void store_delete_obj(unsigned db, struct sobj *o);

/**
 * RENAME / MOVE: o (published in db, found by store_find_w) goes to key
 * dst of dst_db with its value (a pointer form's body moves with it),
 * expiry and access, replacing whatever dst held.  Returns the object now
 * at dst; NULL when out of memory (nothing changed).  dst must differ from
 * o's key when dst_db is db.
 * Context: owner of both keys.
 */
struct sobj *store_rename(unsigned db, struct sobj *o, unsigned dst_db,
			  const struct skey *dst);

/**
 * Set or clear (STORE_NO_EXPIRE) the expiry of a published object of db.
 * Returns the object now in the table: o, or a copy with the expiry
 * extension that replaced it (o is then retired like any overwritten
 * object); NULL when that copy cannot be allocated (nothing changed).
 * Context: owner.
 */
struct sobj *store_set_expire(unsigned db, struct sobj *o, int64_t expire_ms);

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

/*
 * Walks.  They run on any RCU-online thread while owners write: a key
 * present for a whole walk is seen at least once; keys added or deleted
 * meanwhile may or may not be; a key overwritten meanwhile may be seen in
 * both versions.  Logically expired keys are skipped.
 */
typedef void (*store_visit_fn)(const struct sobj *o, void *arg);

/**
 * Call fn for each live key of db in slot: a filtered walk of the owner's
 * whole table, O(keys of the shard).  Returns the number visited.
 * Context: any RCU-online thread.
 */
unsigned store_visit_slot(unsigned db, uint16_t slot, int64_t now_ms,
			  store_visit_fn fn, void *arg);
/** Call fn for each live key of db in every shard.  Context: as above. */
void store_visit_all(unsigned db, int64_t now_ms, store_visit_fn fn, void *arg);

/**
 * Resumable walk of one shard of db in table order (ascending reverse
 * hash, the cds_lfht split order: resizes do not change it).  Calls fn for
 * each live key at position >= *pos and steps over at most about budget
 * keys (live or not).  It stops only between keys whose positions differ
 * in bits 6..63, so a caller may keep *pos >> 6 and still make progress.
 * Returns true when it stopped early, with *pos the position of the first
 * key not stepped on; false at the end of the shard.  *stepped (may be
 * NULL) gets the keys stepped on.
 * Context: any RCU-online thread.
 */
bool store_walk_shard(unsigned shard, unsigned db, uint64_t *pos,
		      uint64_t budget, int64_t now_ms, store_visit_fn fn,
		      void *arg, uint64_t *stepped);

/** A random live key of db or NULL when it is empty: a shard drawn by
 * its share of the keys, then the first live key after a random position.
 * *rng is the caller's xorshift state.  Context: any RCU-online thread. */
const struct sobj *store_random(unsigned db, int64_t now_ms, uint64_t *rng);

/**
 * Up to n live keys of db in one shard, consecutive in table order from a
 * random anchor (wrapping once): in hash order, so unrelated to their age
 * or use.  Returns how many were stored in out[].  (Eviction samples
 * through its own cursors instead: a random anchor start only ever sees
 * the keys just after one of the 4096 anchors.)
 * Context: any RCU-online thread; the objects stay valid until the
 * caller's next quiescent state.
 */
unsigned store_sample(unsigned shard, unsigned db, unsigned n,
		      struct sobj **out, int64_t now_ms, uint64_t *rng);

/** Counters of one shard.  Context: any thread (relaxed). */
void store_shard_stats(unsigned shard, struct store_stats *out);

/** Bytes db's tables (buckets and anchors: *main) and expiry heaps
 * (*expires) take, over all shards (MEMORY STATS).  Context: any thread
 * (relaxed reads; a table being resized may be off by its step). */
void store_db_overhead(unsigned db, uint64_t *main, uint64_t *expires);

/** Bytes the shard's data uses (store_stats.used_bytes, one relaxed load).
 * Context: any thread. */
uint64_t store_shard_used(unsigned shard);
/** The same summed over the shards.  Context: any thread. */
uint64_t store_used(void);

#endif
