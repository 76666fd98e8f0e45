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
#include <stdint.h>

#include <mimalloc.h>

#include "store.h"

/*
 * -DSTORE_SYSTEM_MALLOC routes the store's allocations to libc so that
 * AddressSanitizer and valgrind see objects (use after free, leaks).
 */
#ifdef STORE_SYSTEM_MALLOC
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#define mi_malloc(n) malloc(n)
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

/* Initial and minimum bucket count of each shard table (power of two). */
#define STORE_HT_INIT 256

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

/** One db of one shard. */
struct shard_db {
	struct cds_lfht *ht;   /* owner swaps (flush); any: rcu_dereference */
	struct sobj **heap;    /* owner: min-heap on sobj.expire */
	uint32_t heap_len;     /* owner */
	uint32_t heap_cap;     /* owner */
	unsigned long ht_size; /* owner: buckets wanted; bg reads (SC) */
	int resize_pending;    /* owner sets, bg clears (SC) */
	uint64_t keys;	       /* owner writes, any reads (relaxed) */
	uint64_t expires;      /* same */
	uint64_t used_bytes;   /* same */
};

struct shard {
	struct shard_db *db;   /* ndbs entries, fixed after setup */
	uint64_t expired_keys; /* owner writes, any reads (relaxed) */
	unsigned expire_db;    /* owner: where active expiry resumes */
} __attribute__((aligned(64)));

/**
 * The keys of one slot in one db.  The array of them is mapped zeroed and
 * a list is initialised by its owner on first use, so 16 (or 256) dbs cost
 * no memory until they hold keys; readers treat head.next == NULL as empty.
 */
struct slot_list {
	struct cds_list_head head; /* owner: *_rcu ops; any: traverse */
	uint32_t count;		   /* owner writes, any reads */
};

struct store_bg;

struct store_state {
	unsigned nshards;
	unsigned ndbs;
	uint64_t seed; /* key hash seed, fixed at setup */
	uint8_t owner[SLOT_COUNT];
	struct slot_list *slots[256]; /* per db, SLOT_COUNT entries */
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

static inline struct slot_list *slot_list_of(unsigned db, uint16_t slot)
{
	return &store_st.slots[db][slot];
}

static inline bool expire_set(int64_t expire)
{
	return expire != STORE_NO_EXPIRE;
}

/** Whether o is logically gone at now_ms.  Context: any thread. */
static inline bool sobj_expired(const struct sobj *o, int64_t now_ms)
{
	int64_t e = st_load(&o->expire);

	return expire_set(e) && e <= now_ms;
}

static inline uint32_t lru_seconds(int64_t now_ms)
{
	return (uint32_t)((uint64_t)now_ms / 1000);
}

/* First element of a slot list or NULL when it is empty.  Context: any. */
static inline struct cds_list_head *slot_list_first(struct slot_list *sl)
{
	struct cds_list_head *p = rcu_dereference(sl->head.next);

	return p == &sl->head ? NULL : p;
}

/* store.c */
struct cds_lfht *store_ht_new(void);
void store_obj_unlink(struct shard_db *sd, struct sobj *o);

/* store_expire.c: the expiry heap.  Context: owner of the shard. */
void heap_insert(struct shard_db *sd, struct sobj *o);
void heap_remove(struct shard_db *sd, struct sobj *o);
void heap_take_over(struct shard_db *sd, struct sobj *old, struct sobj *o);
void heap_reset(struct shard_db *sd);

/* store_bg.c: the background thread (table resizes, flush reclaim). */
int bg_start(void);
void bg_stop(void);
void reclaim_table(struct cds_lfht *ht, struct store_bg *bg);
struct bg_job *bg_reclaim_new(unsigned max_tables);
void bg_reclaim_add(struct bg_job *job, struct cds_lfht *ht);
void bg_reclaim_queue(struct bg_job *job);
bool bg_resize(struct shard_db *sd);
/**
 * Wait until every background job queued so far is done (flushed objects
 * freed, requested resizes finished).  Context: RCU-registered thread,
 * online or not; for tests and benchmarks.
 */
void store_bg_wait(void);

#endif
