/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store: the sharded keyspace (see store.h for the contract).
 *
 * Design
 * ------
 * One writer per key, many readers.  Every slot has exactly one owner core,
 * so every key has exactly one thread that may change it.  That single rule
 * is what keeps the rest simple: the shard tables are liburcu's lock-free
 * hash (cds_lfht), but in practice only one thread ever writes each one, so
 * its cmpxchg loops never contend; the expiry heap and the counters need no
 * atomics beyond relaxed stores that let other cores read them untorn.  Readers
 * on any core need nothing at all: with the QSBR flavour an RCU read-side
 * section is "being online", which a polling worker always is between two
 * rcu_quiescent_state() calls.
 *
 * Objects are immutable once published.  A write builds a new object (key
 * and value in one allocation) and swaps it in with
 * cds_lfht_add_replace(); a reader that already holds the old one keeps a
 * consistent value until its next quiescent state, after which it is freed
 * (sobj_retire: batches through call_rcu).  The only mutable words are the
 * expiry (owner, relaxed) and the access bits (anyone, a hint).
 *
 * Memory per key is the point of the object layout (store.h): a 24-byte
 * header, no per-object rcu_head (retired objects go in batches), no db
 * field (callers know it), the 12-byte expiry extension only on objects
 * that may expire, and one or two keys per bucket.  A 16-byte key with a
 * 32-byte value is 72 bytes in a 72-byte slab class (store_slab.c) plus
 * ~8 bytes of buckets, where Redis spends about 136.
 *
 * Walks need no structure of their own.  cds_lfht keeps every node of a
 * table on one list sorted by reverse hash (its split order), and a resize
 * only adds or removes bucket nodes in it, so "the position of a key" is a
 * 64-bit number that means the same before and after any resize.  Each
 * table gets 4096 anchors, bare nodes at positions p << 52, inserted when
 * the table is made; a walk resumes at position R by looking up anchor
 * R >> 52 (an exact-hash lookup, O(1)) and stepping to R.  SCAN cursors,
 * RANDOMKEY and eviction sampling all use it (store_walk.c); slot walks
 * (rare) filter a whole shard, and the store keeps exact per-slot counts.
 *
 * Why a heap for expiry: active expiry must find "everything whose time has
 * passed" without scanning, and must stop after a bounded amount of work.
 * A binary min-heap per (shard, db) on the expiry time gives the earliest
 * key in O(1) and removal in O(log n); each object remembers its index, so
 * EXPIRE, PERSIST, DEL and overwrite adjust the heap in O(log n) too.  One
 * heap per db (rather than per shard) lets FLUSHDB drop a db's heap whole.
 *
 * FLUSHALL / FLUSHDB swap each table for an empty one and reset the lists,
 * the heaps and the counters: O(slots), whatever the number of keys.  The
 * old tables go to the store's background thread (store_bg.c) which waits
 * for a grace period and frees the objects; cds_lfht_destroy() waits for
 * the table's resize worker, which itself waits for grace periods, so it
 * must not run on a worker or in a call_rcu callback.
 *
 * Table size is the owner's call too (see STORE_HT_FLAGS for why not
 * cds_lfht's automatic resize): the owner counts its keys exactly and asks
 * the background thread to double a table when its keys pass twice its
 * bucket count, and to halve it when they fall under an eighth of it, so a
 * lookup probes one or two nodes (16 bytes per bucket: one key per bucket
 * would cost 16 bytes per key).  cds_lfht_resize() runs concurrently with
 * lookups and updates, so the owner never waits for it.  A table is made
 * with the first key of its (shard, db), so empty databases cost nothing.
 *
 * Memory accounting uses sobj_alloc_size(), so used_bytes is what the
 * allocator really handed out for objects (store_slab.c), plus the tables
 * (buckets as the owner sized them, anchors) and the expiry heaps.  It drops
 * when an object is unpublished, not when the grace period ends: the memory is
 * committed to be freed.
 */
#include "store_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

struct store_state store_st;

/*
 * Key hash: a 64x64->128 multiply folded to 64 bits ("mum") is a strong
 * mixer at one multiply per 16 bytes.  Short keys, the common case, are read
 * as two possibly overlapping words and mixed once more with the length.
 * The secret seed (random per process) keeps an attacker from choosing keys
 * that collide in a bucket chain.
 */
#define HK1 0x9e3779b97f4a7c15ULL
#define HK2 0xbf58476d1ce4e5b9ULL
#define HK3 0x94d049bb133111ebULL

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t key_hash(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	uint64_t s = seed, k = seed ^ HK1, a, b;
	size_t n = len;

	if (n <= 16) {
		if (n >= 8) {
			a = rd64(p);
			b = rd64(p + n - 8);
		} else if (n >= 4) {
			a = rd32(p) << 32 | rd32(p + n - 4);
			b = 0;
		} else if (n > 0) {
			a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 |
			    p[n - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		while (n > 16) {
			s = mum(rd64(p) ^ k, rd64(p + 8) ^ s);
			p += 16;
			n -= 16;
		}
		a = rd64(p + n - 16);
		b = rd64(p + n - 8);
	}
	/* Bit 63 set: a key's position (reverse hash) is odd, an anchor's is
	 * not, so key matching never meets an anchor. */
	return mum(mum(a ^ k, b ^ s ^ HK2) ^ HK3, (uint64_t)len ^ HK2) |
	       1ULL << 63;
}

void skey_init(struct skey *k, const void *ptr, size_t len)
{
	k->ptr = ptr;
	k->len = (uint32_t)len;
	k->slot = slot_of(ptr, len);
	k->hash = key_hash(ptr, len, store_st.seed);
}

/* cds_lfht match: node is a published sobj, key a struct skey. */
static int match_key(struct cds_lfht_node *node, const void *key)
{
	const struct sobj *o = sobj_of_node(node);
	const struct skey *k = key;

	return sobj_klen(o) == k->len &&
	       memcmp(sobj_key(o), k->ptr, k->len) == 0;
}

/*
 * A table with its anchors, private until published.  4096 inserts, one
 * per bucket, when a (shard, db) gets its first key.
 * Context: RCU-online thread.
 */
static struct store_table *table_new(void)
{
	struct store_table *t = mi_malloc(sizeof(*t));
	unsigned p;

	if (!t)
		return NULL;
	t->ht =
	    cds_lfht_new(STORE_HT_INIT, STORE_HT_INIT, 0, STORE_HT_FLAGS, NULL);
	if (!t->ht) {
		mi_free(t);
		return NULL;
	}
	for (p = 0; p < STORE_ANCHORS; p++)
		cds_lfht_add(t->ht, anchor_hash(p), &t->anchor[p]);
	return t;
}

/* The table of sd, made on first use.  Context: owner. */
static struct store_table *table_for_put(struct shard_db *sd)
{
	struct store_table *t = sd->tab;

	if (caa_likely(t != NULL))
		return t;
	t = table_new();
	if (!t)
		return NULL;
	__atomic_store_n(&sd->ht_size, STORE_HT_INIT, __ATOMIC_SEQ_CST);
	st_account(sd, (int64_t)(mi_usable_size(t) +
				 STORE_BUCKET_BYTES * STORE_HT_INIT));
	rcu_assign_pointer(sd->tab, t);
	return t;
}

static uint64_t seed_new(void)
{
	uint64_t s;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == sizeof(s))
		return s;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mum((uint64_t)ts.tv_nsec ^ HK1, (uint64_t)ts.tv_sec ^ HK2);
}

static inline uint32_t access_initial(void);
static void retire_spare_free(void);

static void lru_clock_note(uint32_t s)
{
	if (st_load(&store_st.lru_clock) != s)
		st_store(&store_st.lru_clock, s);
}

/* ---- setup / teardown ------------------------------------------------ */

static int setup_shards(void)
{
	unsigned i, d;
	size_t sz = store_st.ndbs * sizeof(struct shard_db);

	for (i = 0; i < store_st.nshards; i++) {
		struct shard *sh = &store_st.shard[i];

		sh->db = mi_zalloc_aligned((sz + 63) & ~(size_t)63, 64);
		if (!sh->db)
			return -ENOMEM;
		for (d = 0; d < store_st.ndbs; d++) {
			sh->db[d].ht_size = STORE_HT_INIT;
			sh->db[d].shard_used = &sh->used_bytes;
		}
	}
	return 0;
}

static int setup_slots(void)
{
	unsigned d;

	store_st.slots_bytes = SLOT_COUNT * sizeof(uint32_t);
	for (d = 0; d < store_st.ndbs; d++) {
		void *p =
		    mmap(NULL, store_st.slots_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			return -errno;
		store_st.slot_keys[d] = p;
	}
	return 0;
}

/*
 * Free what setup built.  Context: online, no reader left (workers
 * stopped); reclaim_table() empties and destroys each table.
 */
static void store_free_all(void)
{
	unsigned i, d;

	synchronize_rcu();
	for (i = 0; i < STORE_MAX_SHARDS; i++) {
		struct shard *sh = &store_st.shard[i];

		if (!sh->db)
			continue;
		for (d = 0; d < store_st.ndbs; d++) {
			if (sh->db[d].tab)
				reclaim_table(sh->db[d].tab, NULL);
			mi_free(sh->db[d].heap);
		}
		mi_free(sh->db);
		evict_free(sh);
	}
	for (d = 0; d < 256; d++)
		if (store_st.slot_keys[d])
			munmap(store_st.slot_keys[d], store_st.slots_bytes);
	memset(&store_st, 0, sizeof(store_st));
}

int store_setup(const struct store_conf *conf)
{
	unsigned s;
	int ret;

	if (!conf || conf->nshards < 1 || conf->nshards > STORE_MAX_SHARDS ||
	    conf->ndbs < 1 || conf->ndbs > 256)
		return -EINVAL;
	memset(&store_st, 0, sizeof(store_st));
	store_st.nshards = conf->nshards;
	store_st.ndbs = conf->ndbs;
	store_st.seed = seed_new();
	for (s = 0; s < SLOT_COUNT; s++)
		store_st.owner[s] = (uint8_t)(s * conf->nshards / SLOT_COUNT);

	ret = setup_slots();
	if (!ret)
		ret = setup_shards();
	if (!ret)
		ret = bg_start();
	if (!ret) {
		/* Threads made now inherit this thread's CPUs; made later from
		 * a worker they would share its CPU (see
		 * worker_isolate_helpers). */
		slab_setup();
		(void)get_default_call_rcu_data();
	}
	if (ret) {
		bool online = rcu_read_ongoing();

		if (!online)
			rcu_thread_online();
		store_free_all();
		if (!online)
			rcu_thread_offline();
	}
	return ret;
}

void store_teardown(void)
{
	bool online = rcu_read_ongoing();

	if (!store_st.nshards)
		return;
	if (!online)
		rcu_thread_online();
	bg_stop();
	store_retire_flush();
	store_free_all();
	/* Objects deleted before teardown may still wait in call_rcu. */
	rcu_barrier();
	retire_spare_free();
	slab_release_all();
	if (!online)
		rcu_thread_offline();
}

unsigned store_nshards(void)
{
	return store_st.nshards;
}

unsigned store_ndbs(void)
{
	return store_st.ndbs;
}

unsigned store_owner(uint16_t slot)
{
	return store_st.owner[slot & (SLOT_COUNT - 1)];
}

/* ---- objects --------------------------------------------------------- */

/* An object of k with room for vlen value bytes (filled when val is not
 * NULL); flags: type, encoding and SOBJ_F_EXT when wanted. */
static struct sobj *sobj_build(const struct skey *k, unsigned flags,
			       const void *val, size_t vlen)
{
	bool lng = k->len > SOBJ_SHORT_MAX || vlen > SOBJ_SHORT_MAX;
	struct sobj *o;
	char *p;

	if (vlen > UINT32_MAX || (size_t)k->len + vlen > UINT32_MAX) {
		errno = E2BIG;
		return NULL;
	}
	/* A long value always carries the extension: copying it later to
	 * add one would cost more than the 12 bytes. */
	if (lng)
		flags |= SOBJ_F_LONG | SOBJ_F_EXT;
	o = sobj_alloc(offsetof(struct sobj, data) + sobj_pre(flags) + k->len +
		       vlen);
	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * Until store_put() the node's reverse_hash carries the plain key
	 * hash: cds_lfht_add_replace() wants it and rewrites the field.
	 */
	o->node.next = NULL;
	o->node.reverse_hash = k->hash;
	o->meta = (uint32_t)flags << 24 | access_initial();
	o->slot = k->slot;
	p = o->data;
	if (lng) {
		uint32_t kl = k->len, vl = (uint32_t)vlen;

		o->klen8 = 0;
		o->vlen8 = 0;
		memcpy(p, &kl, 4);
		memcpy(p + 4, &vl, 4);
		p += 8;
	} else {
		o->klen8 = (uint8_t)k->len;
		o->vlen8 = (uint8_t)vlen;
	}
	if (flags & SOBJ_F_EXT) {
		int64_t none = STORE_NO_EXPIRE;
		uint32_t idx = HEAP_NONE;

		memcpy(p, &none, 8);
		memcpy(p + 8, &idx, 4);
		p += 12;
	}
	memcpy(p, k->ptr, k->len);
	if (val && vlen)
		memcpy(p + k->len, val, vlen);
	return o;
}

struct sobj *sobj_new_string(const struct skey *k, const void *val, size_t vlen,
			     bool ttl)
{
	return sobj_build(k, SOBJ_STRING | (ttl ? SOBJ_F_EXT : 0), val, vlen);
}

struct sobj *sobj_new_ptr(const struct skey *k, enum sobj_type t,
			  enum sobj_enc enc, void *body, uint64_t body_bytes)
{
	struct sobj_ptr v = {.body = body, .bytes = body_bytes};

	if (t == SOBJ_STRING || (unsigned)t >= SOBJ_NTYPES ||
	    (unsigned)enc >= SOBJ_NENCS) {
		errno = EINVAL;
		return NULL;
	}
	return sobj_build(
	    k, (unsigned)t | (unsigned)enc << SOBJ_F_ENC_SHIFT | SOBJ_F_EXT, &v,
	    sizeof(v));
}

static sobj_body_free_fn body_free[SOBJ_NTYPES];

int store_type_register(enum sobj_type t, sobj_body_free_fn fn)
{
	if (t == SOBJ_STRING || (unsigned)t >= SOBJ_NTYPES)
		return -EINVAL;
	body_free[t] = fn;
	return 0;
}

/* Free o and, in pointer form, its body.  Reads o: for objects still warm
 * (see retire_free for the cold ones). */
void sobj_destroy(struct sobj *o)
{
	if (sobj_is_ptr(o)) {
		sobj_body_free_fn fn = body_free[sobj_type(o)];
		void *body = sobj_body(o);

		if (body && fn)
			fn(body);
	}
	sobj_free(o);
}

/*
 * o again, with room for an expiry, its type and access bits; hash is its
 * key hash (not the reverse).  Only for strings: a pointer-form object
 * always has the extension, so its body never gets a second header.
 * Context: owner, or any for an unpublished o.
 */
struct sobj *sobj_copy_ext(const struct sobj *o, uint64_t hash)
{
	struct skey k = {.ptr = sobj_key(o),
			 .len = sobj_klen(o),
			 .slot = o->slot,
			 .hash = hash};
	struct sobj *n = sobj_new_string(&k, sobj_val(o), sobj_vlen(o), true);
	uint32_t keep = ((SOBJ_F_TYPE | SOBJ_F_ENC) << 24) | SOBJ_ACCESS_MASK;

	if (n)
		n->meta = (n->meta & ~keep) | (st_load(&o->meta) & keep);
	return n;
}

struct sobj *sobj_copy_as(const struct sobj *o, const struct skey *k)
{
	unsigned flags = sobj_flags(o) & (SOBJ_F_TYPE | SOBJ_F_ENC);
	struct sobj *n;

	if (sobj_is_ptr(o) || expire_set(sobj_expire(o)))
		flags |= SOBJ_F_EXT;
	n = sobj_build(k, flags, sobj_val(o), sobj_vlen(o));
	if (n)
		sobj_copy_access(n, o);
	return n;
}

void sobj_free_unpublished(struct sobj *o)
{
	sobj_destroy(o);
}

/*
 * Retired objects are handed to call_rcu in batches: one call_rcu per
 * object cost ~14% of a pipelined SET under perf (its queue and the wakes
 * of the call_rcu thread), and it would need a 16-byte rcu_head in every
 * object.  Calling it later than the unpublish is safe: the grace period
 * then starts later still.
 *
 * On a worker (store_reclaim_local) the grace period's callback does not
 * free: it hands the batch back to the worker, which frees it on its next
 * turn.  Frees then stay local to the allocating heap, and the call_rcu
 * thread never runs a long free loop on a worker's CPU, which showed as
 * p99 spikes of pipelined SETs.
 *
 * When no batch can be allocated, a worker takes its spare, allocated
 * ahead and refilled on a later turn; a thread without one (or a worker
 * out of memory twice in a row) waits for a grace period itself and frees
 * the object: slow, but never unsafe and never a leak.
 */
#define RETIRE_BATCH 256

struct retire_home {
	struct retire_batch *ready; /* LIFO pushed by the call_rcu thread */
};

struct retire_batch {
	struct rcu_head rcu;
	struct retire_batch *next;
	struct retire_home *home; /* NULL: free in the callback */
	unsigned n;
	struct sobj *objs[RETIRE_BATCH];
};

static __thread struct retire_batch *retire_cur;
static __thread struct retire_batch *retire_spare;
static __thread struct retire_home *retire_home;

/*
 * Entries of a batch are tagged (RETIRE_PTR) when the object has a body to
 * destroy, so freeing a string reads nothing of it: a retired object is
 * cold by then (see sobj_free).
 */
#define RETIRE_PTR ((uintptr_t)1)

static void retire_free(struct retire_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		uintptr_t p = (uintptr_t)b->objs[i];

		if (caa_unlikely(p & RETIRE_PTR))
			sobj_destroy((struct sobj *)(p & ~RETIRE_PTR));
		else
			sobj_free((struct sobj *)p);
	}
	mi_free(b);
}

static void retire_done_rcu(struct rcu_head *head)
{
	struct retire_batch *b =
	    caa_container_of(head, struct retire_batch, rcu);
	struct retire_home *h = b->home;
	struct retire_batch *old;

	if (!h) {
		retire_free(b);
		return;
	}
	old = __atomic_load_n(&h->ready, __ATOMIC_RELAXED);
	do {
		b->next = old;
	} while (!__atomic_compare_exchange_n(
	    &h->ready, &old, b, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

static void retire_drain_ready(struct retire_home *h)
{
	struct retire_batch *b =
	    __atomic_exchange_n(&h->ready, NULL, __ATOMIC_ACQUIRE);

	while (b) {
		struct retire_batch *next = b->next;
		retire_free(b);
		b = next;
	}
}

static void retire_spare_free(void)
{
	mi_free(retire_spare);
	retire_spare = NULL;
}

void store_retire_flush(void)
{
	struct retire_batch *b = retire_cur;

	if (b) {
		retire_cur = NULL;
		b->home = retire_home;
		call_rcu(&b->rcu, retire_done_rcu);
	}
	if (retire_home) {
		retire_drain_ready(retire_home);
		if (caa_unlikely(!retire_spare))
			retire_spare = mi_malloc(sizeof(*retire_spare));
	}
	slab_collect();
}

int store_reclaim_local(bool on)
{
	if (on) {
		if (retire_home)
			return 0;
		retire_home = mi_zalloc(sizeof(*retire_home));
		if (!retire_home)
			return -ENOMEM;
		retire_spare = mi_malloc(sizeof(*retire_spare));
		return 0;
	}
	if (!retire_home)
		return 0;
	store_retire_flush();
	/* Batches still in a grace period come back here: wait for them. */
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	retire_drain_ready(retire_home);
	mi_free(retire_home);
	retire_home = NULL;
	retire_spare_free();
	return 0;
}

void sobj_retire(struct sobj *o)
{
	struct retire_batch *b = retire_cur;

	if (caa_unlikely(!b)) {
		b = mi_malloc(sizeof(*b));
		if (!b) {
			b = retire_spare;
			retire_spare = NULL;
		}
		if (!b) {
			synchronize_rcu();
			sobj_destroy(o);
			return;
		}
		b->n = 0;
		retire_cur = b;
	}
	b->objs[b->n++] =
	    (struct sobj *)((uintptr_t)o | (sobj_is_ptr(o) ? RETIRE_PTR : 0));
	if (b->n == RETIRE_BATCH)
		store_retire_flush();
}

/* ---- lookups --------------------------------------------------------- */

static inline struct sobj *lookup(unsigned db, const struct skey *k)
{
	struct store_table *t = rcu_dereference(sdb_of(db, k->slot)->tab);
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	if (caa_unlikely(!t))
		return NULL;
	cds_lfht_lookup(t->ht, k->hash, match_key, k, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? sobj_of_node(node) : NULL;
}

/* For the door; the read paths below keep lookup() inlined. */
struct sobj *obj_lookup(unsigned db, const struct skey *k)
{
	return lookup(db, k);
}

struct sobj *store_find(unsigned db, const struct skey *k, int64_t now_ms)
{
	struct sobj *o = lookup(db, k);

	if (o && sobj_expired(o, now_ms))
		return NULL;
	return o;
}

struct sobj *store_find_w(unsigned db, const struct skey *k, int64_t now_ms)
{
	struct sobj *o = lookup(db, k);

	lru_clock_note(lru_seconds(now_ms));
	if (o && sobj_expired(o, now_ms)) {
		door_drop(db, o, STORE_CHG_EXPIRED);
		st_add(&shard_of_slot(k->slot)->expired_keys, 1);
		return NULL;
	}
	return o;
}

/* ---- writes ---------------------------------------------------------- */

/*
 * Want a table of `size` buckets and wake the background thread, unless
 * a request is already pending: it reads the latest wanted size when it
 * gets to it.  The store to ht_size and the load of resize_pending pair
 * with the background thread's clear-then-read (all sequentially
 * consistent), so a change is never missed.  If the request cannot be
 * allocated, ht_size is left as it was so the next key retries.  The
 * buckets are accounted at the size wanted.
 * Context: owner.
 */
static void table_resize(struct shard_db *sd, unsigned long size)
{
	unsigned long old = sd->ht_size;

	__atomic_store_n(&sd->ht_size, size, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&sd->resize_pending, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&sd->resize_pending, 1, __ATOMIC_SEQ_CST);
		if (!bg_resize(sd)) {
			__atomic_store_n(&sd->resize_pending, 0,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&sd->ht_size, old, __ATOMIC_SEQ_CST);
			return;
		}
	}
	st_account(sd, ((int64_t)size - (int64_t)old) *
			   (int64_t)STORE_BUCKET_BYTES);
}

/* At most 2 keys per bucket after a key was added.  Context: owner. */
static inline void table_check_grow(struct shard_db *sd)
{
	if (sd->keys > 2 * sd->ht_size)
		table_resize(sd, sd->ht_size * 2);
}

/* At least 1 key per 8 buckets after a key left.  Context: owner. */
static inline void table_check_shrink(struct shard_db *sd)
{
	if (sd->ht_size > STORE_HT_INIT && sd->keys < sd->ht_size / 8)
		table_resize(sd, sd->ht_size / 2);
}

bool obj_unlink(unsigned db, struct shard_db *sd, struct sobj *o)
{
	int ret;

	ret = cds_lfht_del(sd->tab->ht, &o->node);
	if (ret) /* not in the table: a double delete, keep going */
		return false;
	st_add(slot_count_of(db, o->slot), -1);
	if (sobj_heap_idx(o) != HEAP_NONE)
		heap_remove(sd, o);
	if (expire_set(sobj_expire(o)))
		st_add(&sd->expires, -1);
	st_add(&sd->keys, -1);
	st_account(sd, -(int64_t)sobj_usage(o));
	table_check_shrink(sd);
	return true;
}

/* o takes old's place in the heap and the counters. */
static void put_replace(struct shard_db *sd, struct sobj *old, struct sobj *o)
{
	bool had = expire_set(sobj_expire(old));
	bool has = expire_set(sobj_expire(o));

	if (sobj_heap_idx(old) != HEAP_NONE && has)
		heap_take_over(sd, old, o);
	else if (sobj_heap_idx(old) != HEAP_NONE)
		heap_remove(sd, old);
	else if (has)
		heap_insert(sd, o);
	if (had != has)
		st_add(&sd->expires, has ? 1 : -1);
	st_account(sd, (int64_t)sobj_usage(o) - (int64_t)sobj_usage(old));
}

int obj_put(unsigned db, struct sobj *o, int64_t expire_ms, struct sobj **oldp)
{
	struct shard_db *sd = sdb_of(db, o->slot);
	unsigned long hash = o->node.reverse_hash;
	struct cds_lfht_node *old;
	struct store_table *t;
	struct skey k;

	t = table_for_put(sd);
	if (caa_unlikely(!t))
		return -ENOMEM;
	if (sobj_has_ext(o)) {
		*sobj_expire_p(o) = expire_ms;
		sobj_set_heap_idx(o, HEAP_NONE);
	}
	k.ptr = sobj_key(o);
	k.len = sobj_klen(o);
	k.slot = o->slot;
	old = cds_lfht_add_replace(t->ht, hash, match_key, &k, &o->node);
	if (old) {
		*oldp = sobj_of_node(old);
		put_replace(sd, *oldp, o);
		return 0;
	}
	*oldp = NULL;
	st_add(slot_count_of(db, o->slot), 1);
	if (expire_set(expire_ms)) {
		heap_insert(sd, o);
		st_add(&sd->expires, 1);
	}
	st_add(&sd->keys, 1);
	st_account(sd, (int64_t)sobj_usage(o));
	table_check_grow(sd);
	return 0;
}

void store_obj_resize(unsigned db, struct sobj *o, int64_t delta)
{
	uint64_t n = sobj_body_bytes(o) + (uint64_t)delta;

	memcpy(sobj_val_w(o) + offsetof(struct sobj_ptr, bytes), &n, sizeof(n));
	st_account(sdb_of(db, o->slot), delta);
}

/* ---- counters -------------------------------------------------------- */

uint64_t store_dbsize(unsigned db)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < store_st.nshards; i++)
		n += st_load(&store_st.shard[i].db[db].keys);
	return n;
}

uint64_t store_db_expires(unsigned db)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < store_st.nshards; i++)
		n += st_load(&store_st.shard[i].db[db].expires);
	return n;
}

uint32_t store_slot_keys(unsigned db, uint16_t slot)
{
	return st_load(slot_count_of(db, slot & (SLOT_COUNT - 1)));
}

/* The part of sd's used_bytes that is not objects, as table_for_put,
 * table_resize and heap_grow account it; racy reads of owner fields. */
static void sdb_overhead(const struct shard_db *sd, uint64_t *main,
			 uint64_t *expires)
{
	uint32_t cap = st_load(&sd->heap_cap);

	if (__atomic_load_n(&sd->tab, __ATOMIC_RELAXED))
		*main += mi_good_size(sizeof(struct store_table)) +
			 st_load(&sd->ht_size) * STORE_BUCKET_BYTES;
	if (cap)
		*expires += mi_good_size((size_t)cap * sizeof(struct sobj *));
}

void store_db_overhead(unsigned db, uint64_t *main, uint64_t *expires)
{
	*main = *expires = 0;
	for (unsigned i = 0; i < store_st.nshards; i++)
		sdb_overhead(&store_st.shard[i].db[db], main, expires);
}

void store_shard_stats(unsigned shard, struct store_stats *out)
{
	const struct shard *sh = &store_st.shard[shard];
	uint64_t main = 0, expires = 0;
	unsigned d;

	memset(out, 0, sizeof(*out));
	for (d = 0; d < store_st.ndbs; d++) {
		out->keys += st_load(&sh->db[d].keys);
		out->expires += st_load(&sh->db[d].expires);
		out->used_bytes += st_load(&sh->db[d].used_bytes);
		sdb_overhead(&sh->db[d], &main, &expires);
	}
	out->table_bytes = main + expires;
	out->expired_keys = st_load(&sh->expired_keys);
	out->evicted_keys = st_load(&sh->evicted_keys);
}

uint64_t store_shard_used(unsigned shard)
{
	return st_load(&store_st.shard[shard].used_bytes);
}

uint64_t store_used(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < store_st.nshards; i++)
		n += store_shard_used(i);
	return n;
}

/* ---- LRU / LFU hints ------------------------------------------------ */

/*
 * The access bits are an LRU clock in seconds (24 bits, as Redis's), or
 * under an LFU policy Redis's LFU word: minutes of the last decrement in
 * bits 8..23 and a logarithmic access counter in bits 0..7.  The mode is global
 * and changes only with CONFIG SET; a key stamped in the other mode reads oddly
 * until touched, exactly as in Redis.
 */
#define LFU_INIT_VAL 5

static struct {
	int on;
	int log_factor;
	int decay_minutes;
} store_lfu;

void store_set_lfu(bool on, unsigned log_factor, unsigned decay_minutes)
{
	__atomic_store_n(&store_lfu.log_factor, (int)log_factor,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&store_lfu.decay_minutes, (int)decay_minutes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&store_lfu.on, on, __ATOMIC_RELEASE);
}

static inline bool lfu_on(void)
{
	return __atomic_load_n(&store_lfu.on, __ATOMIC_RELAXED);
}

static inline uint32_t lfu_minutes(int64_t now_ms)
{
	return (uint32_t)(now_ms / 60000) & 0xffff;
}

static unsigned lfu_decayed(uint32_t access, int64_t now_ms)
{
	uint32_t ldt = (access >> 8) & 0xffff, now = lfu_minutes(now_ms);
	unsigned counter = access & 0xff;
	int decay = __atomic_load_n(&store_lfu.decay_minutes, __ATOMIC_RELAXED);
	uint32_t elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
	uint32_t periods = decay ? elapsed / (uint32_t)decay : 0;

	return periods >= counter ? 0 : counter - periods;
}

static unsigned lfu_log_incr(unsigned counter)
{
	static __thread uint64_t rng = 0x2545F4914F6CDD1Dull;
	int factor = __atomic_load_n(&store_lfu.log_factor, __ATOMIC_RELAXED);
	double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
	double r;

	if (counter >= 255)
		return 255;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	r = (double)(rng >> 11) / (double)(1ull << 53);
	return r < 1.0 / (base * factor + 1) ? counter + 1 : counter;
}

static inline uint32_t access_initial(void)
{
	if (lfu_on()) {
		struct timespec ts;

		/* Minutes only: the coarse clock is plenty and costs nothing.
		 */
		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		return (lfu_minutes((int64_t)ts.tv_sec * 1000) << 8) |
		       LFU_INIT_VAL;
	}
	return st_load(&store_st.lru_clock);
}

/*
 * Any core may store the whole meta word: the flags in it never change
 * after publish, so writing back the ones read cannot clobber anything.
 */
void store_touch(struct sobj *o, int64_t now_ms)
{
	uint32_t m = st_load(&o->meta), s, old = m & SOBJ_ACCESS_MASK;

	if (lfu_on()) {
		unsigned c = lfu_log_incr(lfu_decayed(old, now_ms));
		s = (lfu_minutes(now_ms) << 8) | c;
	} else {
		s = lru_seconds(now_ms);
		lru_clock_note(s);
	}
	/* Skip the store when unchanged: hot keys stay shared in caches. */
	if (old != s)
		st_store(&o->meta, (m & ~SOBJ_ACCESS_MASK) | s);
}

void store_stamp(struct sobj *o, int64_t now_ms)
{
	uint32_t s;

	if (lfu_on())
		s = (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL;
	else
		s = lru_seconds(now_ms);
	o->meta = (o->meta & ~SOBJ_ACCESS_MASK) | s;
}

unsigned store_lfu_freq(const struct sobj *o, int64_t now_ms)
{
	return lfu_decayed(sobj_access(o), now_ms);
}

uint64_t store_idle_seconds(const struct sobj *o, int64_t now_ms)
{
	uint32_t idle =
	    (lru_seconds(now_ms) - sobj_access(o)) & SOBJ_ACCESS_MASK;

	/*
	 * An access stamped by a core whose clock ran ahead is "now"; the
	 * price is that idle times past 97 days (half the 24-bit clock)
	 * read as 0.
	 */
	return idle >= 1u << 23 ? 0 : idle;
}
