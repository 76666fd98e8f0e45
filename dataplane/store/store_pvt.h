/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store internals shared by store.c, store_expire.c, store_walk.c,
 * store_flush.c and store_bg.c.  Not for use outside dataplane/store/ (unit
 * tests may peek).
 *
 * Threading: every field is tagged with who writes it.  "owner" means the
 * core that owns the shard (or holds it), "any" means any RCU-online thread.
 * Owner-written fields that others read are stored and loaded with relaxed
 * atomics (st_load/st_store) so the compiler cannot tear or cache them.
 */
#ifndef CACHALOT_STORE_PVT_H
#define CACHALOT_STORE_PVT_H

/*
 * Let liburcu inline its small (< 10 lines) helpers such as
 * rcu_dereference(); this is the non-LGPL-safe switch, not _LGPL_SOURCE.
 */
#ifndef URCU_INLINE_SMALL_FUNCTIONS
#define URCU_INLINE_SMALL_FUNCTIONS
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mimalloc.h>

#include "store.h"
#include "store_door.h"
#include "store_evict.h"

/*
 * -DSTORE_SYSTEM_MALLOC routes the store's allocations to libc so that
 * AddressSanitizer and valgrind see objects (use after free, leaks).
 */
#ifdef STORE_SYSTEM_MALLOC
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#define mi_malloc(n) malloc(n)
#define mi_zalloc(n) calloc(1, (n))
#define mi_realloc(p, n) realloc((p), (n))
#define mi_free(p) free(p)
#define mi_usable_size(p) malloc_usable_size(p)
static inline void *store_zalloc_aligned(size_t n, size_t align)
{
	void *p = aligned_alloc(align, n);

	return p ? memset(p, 0, n) : NULL;
}
#define mi_zalloc_aligned(n, a) store_zalloc_aligned((n), (a))
#endif

#define st_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define st_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Owner-only counter update: a plain read-modify-write, published relaxed. */
#define st_add(p, d) st_store((p), st_load(p) + (d))

#define HEAP_NONE UINT32_MAX

/*
 * Anchors per table: bare nodes at reverse hashes p << 52, p = 0..4095,
 * from which walks resume (see store_walk.c).
 */
#define STORE_ANCHOR_BITS 12
#define STORE_ANCHORS (1u << STORE_ANCHOR_BITS)
#define STORE_ANCHOR_SHIFT (64 - STORE_ANCHOR_BITS)

/*
 * Initial and minimum bucket count of each shard table (power of two): as
 * many as anchors, so a bucket chain holds at most one anchor.
 */
#define STORE_HT_INIT STORE_ANCHORS

/* Bytes of one cds_lfht bucket (a dummy node), for accounting. */
#define STORE_BUCKET_BYTES sizeof(struct cds_lfht_node)

/*
 * cds_lfht flags of the shard tables.  Not CDS_LFHT_AUTO_RESIZE: the store
 * sizes its tables itself (table_resize() in store.c, run by store_bg.c).
 * Measured with liburcu 0.13.2, AUTO_RESIZE | ACCOUNTING on its own stops
 * growing a table: inserting 1M 128-byte nodes degrades linearly, to ~8 us
 * per insert at 500k keys, with the resize worker idle (our reading of the
 * code: a lazy resize that completes before its launcher sets
 * resize_initiated leaves the flag set for good).  When it does work it
 * grows only at 8 keys per bucket.  And mixing it with cds_lfht_resize()
 * can deadlock under QSBR: its worker waits online for the resize mutex
 * while the holder waits for a grace period.  With the store as the only
 * resizer, sizes are exact and no thread waits online for another.  Not
 * CDS_LFHT_ACCOUNTING either: it only feeds the automatic resize, and the
 * owner counts its keys exactly.
 */
#define STORE_HT_FLAGS 0

/**
 * A shard table and its anchors.  Anchors are told from objects by address
 * (store_is_anchor); key hashes have bit 63 set so no key shares a reverse
 * hash with an anchor, and key matching never sees one.
 */
struct store_table {
	struct cds_lfht *ht;
	struct cds_lfht_node anchor[STORE_ANCHORS];
};

/** One db of one shard. */
struct shard_db {
	/* NULL until the first key; owner publishes and swaps it (flush),
	 * any: rcu_dereference. */
	struct store_table *tab;
	struct sobj **heap;    /* owner: min-heap on expiry */
	uint32_t heap_len;     /* owner */
	uint32_t heap_cap;     /* owner */
	unsigned long ht_size; /* owner: buckets wanted; bg reads (SC) */
	int resize_pending;    /* owner sets, bg clears (SC) */
	uint64_t keys;	       /* owner writes, any reads (relaxed) */
	uint64_t expires;      /* same */
	uint64_t used_bytes;   /* same */
	uint64_t *shard_used;  /* fixed: &shard.used_bytes of its shard */
};

struct store_evict_state;

struct shard {
	struct shard_db *db;   /* ndbs entries, fixed after setup */
	uint64_t used_bytes;   /* owner writes, any reads: sum of the dbs' */
	uint64_t dirty;	       /* owner writes, any reads: the door's changes */
	uint64_t expired_keys; /* owner writes, any reads (relaxed) */
	uint64_t evicted_keys; /* same */
	unsigned expire_db;    /* owner: where active expiry resumes */
	struct store_evict_state *ev; /* owner: eviction pool and cursors */
} __attribute__((aligned(64)));

struct store_bg;

struct store_state {
	unsigned nshards;
	unsigned ndbs;
	uint64_t seed; /* key hash seed, fixed at setup */
	uint8_t owner[SLOT_COUNT];
	/* Keys per slot, per db: SLOT_COUNT counters mapped zeroed, so unused
	 * dbs cost address space only.  Owner writes, any reads (relaxed). */
	uint32_t *slot_keys[256];
	size_t slots_bytes;
	struct store_bg *bg;
	struct shard shard[STORE_MAX_SHARDS];
	/* Last clock seen (s), for new objects' access; any, relaxed.  On a
	 * line of its own: written about once a second by every core. */
	uint32_t lru_clock __attribute__((aligned(64)));
};

extern struct store_state store_st;

static inline struct shard *shard_of_slot(uint16_t slot)
{
	return &store_st.shard[store_st.owner[slot]];
}

static inline struct shard_db *sdb_of(unsigned db, uint16_t slot)
{
	return &shard_of_slot(slot)->db[db];
}

static inline uint32_t *slot_count_of(unsigned db, uint16_t slot)
{
	return &store_st.slot_keys[db][slot];
}

static inline bool store_is_anchor(const struct store_table *t,
				   const struct cds_lfht_node *n)
{
	return (uintptr_t)n - (uintptr_t)t->anchor < sizeof(t->anchor);
}

static inline struct sobj *sobj_of_node(struct cds_lfht_node *n)
{
	return caa_container_of(n, struct sobj, node);
}

static inline uint64_t store_bitrev64(uint64_t x)
{
	x = ((x >> 1) & 0x5555555555555555ULL) |
	    ((x & 0x5555555555555555ULL) << 1);
	x = ((x >> 2) & 0x3333333333333333ULL) |
	    ((x & 0x3333333333333333ULL) << 2);
	x = ((x >> 4) & 0x0f0f0f0f0f0f0f0fULL) |
	    ((x & 0x0f0f0f0f0f0f0f0fULL) << 4);
	return __builtin_bswap64(x);
}

/* The hash whose reverse (the table position) is anchor p's. */
static inline unsigned long anchor_hash(unsigned p)
{
	return store_bitrev64((uint64_t)p << STORE_ANCHOR_SHIFT);
}

static inline bool expire_set(int64_t expire)
{
	return expire != STORE_NO_EXPIRE;
}

/** Whether o is logically gone at now_ms.  Context: any thread. */
static inline bool sobj_expired(const struct sobj *o, int64_t now_ms)
{
	int64_t e = sobj_expire(o);

	return expire_set(e) && e <= now_ms;
}

/* Redis's LRU clock: seconds, 24 bits (wraps every 194 days). */
static inline uint32_t lru_seconds(int64_t now_ms)
{
	return (uint32_t)((uint64_t)now_ms / 1000) & SOBJ_ACCESS_MASK;
}

/* Owner-side view of the expiry extension (o must have one). */
static inline int64_t sobj_exp_own(const struct sobj *o)
{
	return *sobj_expire_p(o);
}

static inline uint32_t sobj_heap_idx(const struct sobj *o)
{
	return sobj_has_ext(o) ? *sobj_heap_idx_p(o) : HEAP_NONE;
}

static inline void sobj_set_heap_idx(struct sobj *o, uint32_t i)
{
	*sobj_heap_idx_p(o) = i;
}

/* The shard's total moves with its dbs': maxmemory reads one word per
 * shard. */
static inline void st_account(struct shard_db *sd, int64_t delta)
{
	st_add(&sd->used_bytes, (uint64_t)delta);
	st_add(sd->shard_used, (uint64_t)delta);
}

/*
 * store.c: the raw changes.  Only the change door (store_door.c) and the
 * flush call them: they move objects and counters, and call no consumer.
 * Context: owner.
 */
/* The object of k in db, expired or not. */
struct sobj *obj_lookup(unsigned db, const struct skey *k);
/* Publish o (with the extension when expire_ms is set), replacing the
 * object of its key, given back in *old (NULL: none) counted out but not
 * retired.  0, or -ENOMEM for the db's first table (o untouched). */
int obj_put(unsigned db, struct sobj *o, int64_t expire_ms, struct sobj **old);
/* Unpublish o (of db) from its table and the heap and fix the counters;
 * the caller retires it.  False when o was not in the table. */
bool obj_unlink(unsigned db, struct shard_db *sd, struct sobj *o);
/* Free o after a grace period (in batches). */
void sobj_retire(struct sobj *o);
struct sobj *sobj_copy_ext(const struct sobj *o, uint64_t hash);
/* o's type, encoding, value (a pointer form's body pointer with it),
 * expiry room and access, under key k; unpublished. */
struct sobj *sobj_copy_as(const struct sobj *o, const struct skey *k);
/* store_expire.c: set o's expiry; returns the object now in the table (o,
 * or a copy with the extension: o then in *old, to retire); NULL when
 * that copy cannot be allocated. */
struct sobj *obj_set_expire(unsigned db, struct sobj *o, int64_t expire_ms,
			    struct sobj **old);
/* store_flush.c: empty db (UINT32_MAX: all). */
void flush_raw(unsigned db);

/* store_door.c: remove a published o of db through the door (kind DEL,
 * EXPIRED or EVICTED). */
void door_drop(unsigned db, struct sobj *o, enum store_chg kind);

/* store_expire.c: the expiry heap.  Context: owner of the shard. */
void heap_insert(struct shard_db *sd, struct sobj *o);
void heap_remove(struct shard_db *sd, struct sobj *o);
void heap_take_over(struct shard_db *sd, struct sobj *old, struct sobj *o);
void heap_reset(struct shard_db *sd);

/* store_walk.c: cds_lfht match by node address (key: the node). */
int walk_match_ptr(struct cds_lfht_node *node, const void *key);

/* store_walk.c: a resumable sampling walk of one table, for eviction. */
struct walk_cursor {
	uint64_t pos;		    /* position of the next node to take */
	struct cds_lfht_node *hint; /* that node when last seen, or NULL */
	/* While gen equals the caller's current generation, `it` stands on
	 * that node: the caller has stayed in one read-side section since. */
	uint64_t gen;
	struct cds_lfht_iter it;
};
#define WALK_CURSORS_MAX 8
/**
 * Up to n live keys of t in table order from nc cursors taking turns (a
 * key each; more cursors, more cache misses in flight), each wrapping
 * once, stepping over at most 16 expired keys per key asked for (anchors
 * do not count: a sparse table may cost a sweep of its 4096); the cursors
 * move past them.  gen: the caller's read-side section; a caller that
 * passed a quiescent state since its last call must pass a new one.
 * Context: owner (or any RCU-online thread) of t.
 */
unsigned walk_cursor_sample(struct store_table *t, struct walk_cursor *c,
			    unsigned nc, uint64_t gen, unsigned n,
			    struct sobj **out, int64_t now_ms);

/* store_evict.c */
void evict_free(struct shard *sh);

/*
 * store_slab.c: objects of up to SLAB_MAX bytes come from per-thread
 * slabs in classes 8 bytes apart, larger ones from mi_malloc; which one
 * is told by sobj_bytes().  See store_slab.c for the threading rules.
 */
#define SLAB_MAX 512

static inline size_t slab_round(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/** Bytes an object needs: header, lengths, extension, key, value. */
static inline size_t sobj_bytes(const struct sobj *o)
{
	return offsetof(struct sobj, data) + sobj_pre(sobj_flags(o)) +
	       sobj_klen(o) + sobj_vlen(o);
}

/** Room for an object of `bytes` (sobj_bytes of what will be built);
 * NULL and errno ENOMEM.  Context: any thread. */
struct sobj *sobj_alloc(size_t bytes);
/** Free an object from sobj_alloc (its lengths and flags set), not its
 * body: without reading it.  Context: any thread. */
void sobj_free(struct sobj *o);
/** sobj_free, and first a pointer-form object's body (store.c).
 * Context: any thread, once o is unreachable. */
void sobj_destroy(struct sobj *o);
/** size: a multiple of 8, at most SLAB_MAX.  Context: any thread. */
void *slab_alloc(size_t size);
void slab_free(void *p);
/**
 * Take back what other threads freed into this thread's slabs and give a
 * few empty slabs back to the kernel.  Context: once per loop turn
 * (store_retire_flush), on the allocating thread.
 */
void slab_collect(void);
/** Start the purge thread.  Context: store_setup(). */
void slab_setup(void);
/** Unmap every slab, whatever is still allocated.  Context: teardown,
 * no thread using the store. */
void slab_release_all(void);

struct slab_stats {
	uint64_t slabs_used;	/* holding objects (or current for a class) */
	uint64_t slabs_empty;	/* empty, resident */
	uint64_t slabs_purged;	/* empty, given back to the kernel */
	uint64_t slabs_purging; /* handed to the purge thread */
	uint64_t caches;	/* threads' caches, parked ones included */
	uint64_t mapped;	/* bytes of address space */
	uint64_t slab_bytes;	/* bytes per slab */
};
/** Context: any thread (relaxed counters; for tests and INFO). */
void slab_stats(struct slab_stats *out);

/* store_bg.c: the background thread (table resizes, flush reclaim). */
int bg_start(void);
void bg_stop(void);
void reclaim_table(struct store_table *t, struct store_bg *bg);
struct bg_job *bg_reclaim_new(unsigned max_tables);
void bg_reclaim_add(struct bg_job *job, struct store_table *t);
void bg_reclaim_queue(struct bg_job *job);
bool bg_resize(struct shard_db *sd);
/**
 * Wait until every background job queued so far is done (flushed objects
 * freed, requested resizes finished).  Context: RCU-registered thread,
 * online or not; for tests and benchmarks.
 */
void store_bg_wait(void);

#endif
