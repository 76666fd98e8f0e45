/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_evict: which keys go when the data outgrows maxmemory.
 *
 * Each owner evicts from its own shard only, so eviction needs no locks
 * and no cross-core traffic; the caller (the worker loop) decides how many
 * bytes each shard gives back.  Keys are spread over shards by hash, so
 * per-shard choices approximate a global one closely.
 *
 * The LRU, LFU and TTL choices follow Redis's approximation: sample
 * `maxmemory-samples` keys, keep the best candidates seen so far in a
 * 16-entry pool sorted by score (idle seconds, 255 - LFU counter, or the
 * time left to live), and evict the best.  The pool carries good
 * candidates over from one eviction to the next, which is what makes 5
 * samples nearly as good as an exact LRU.  Two things differ:
 *  - allkeys samples come from a cursor that sweeps the table in hash
 *    order (store_walk.c), which is uniform over time and costs one node
 *    per sample; volatile samples are random entries of the expiry heap,
 *    which holds exactly the keys with a TTL.
 *  - volatile-ttl takes the root of the expiry heap: the key nearest its
 *    expiry, exactly, in O(1).
 * Pool entries are object pointers kept across quiescent states, so they
 * may dangle: one is only used after an exact lookup by address (and hash)
 * finds it still in its table, which compares the pointer without reading
 * through it.
 */
#include "rng.h"
#include "store_pvt.h"

#include <errno.h>

#define EVPOOL_SIZE 16
#define EVICT_SAMPLES_MAX 64
/* Cursors per db taking turns (walk_cursor_sample): their cache misses
 * overlap. */
#define EVICT_CURSORS 4

struct evict_entry {
	struct sobj *o;
	uint64_t hash;	/* the key hash, to find o again */
	uint64_t score; /* higher goes first */
	uint64_t gen;	/* the store_evict() call that sampled it */
	unsigned db;
};

struct store_evict_state {
	enum store_policy policy; /* the pool's scores are in its terms */
	unsigned n;		  /* entries in pool, ascending score */
	struct evict_entry pool[EVPOOL_SIZE];
	unsigned next_db; /* random policies take dbs in turn */
	uint64_t rng;
	uint64_t gen; /* store_evict() calls: one read-side section each */
	struct walk_cursor cur[]; /* EVICT_CURSORS per db */
};

static struct {
	int policy;
	int samples;
} evict_conf = {STORE_EVICT_NONE, 5};

void store_evict_conf(enum store_policy policy, unsigned samples)
{
	if (samples < 1)
		samples = 1;
	if (samples > EVICT_SAMPLES_MAX)
		samples = EVICT_SAMPLES_MAX;
	__atomic_store_n(&evict_conf.samples, (int)samples, __ATOMIC_RELAXED);
	__atomic_store_n(&evict_conf.policy, (int)policy, __ATOMIC_RELAXED);
}

static struct store_evict_state *ev_of(struct shard *sh, unsigned shard)
{
	struct store_evict_state *ev = sh->ev;

	if (caa_likely(ev != NULL))
		return ev;
	ev = mi_zalloc(sizeof(*ev) +
		       store_st.ndbs * EVICT_CURSORS * sizeof(ev->cur[0]));
	if (!ev)
		return NULL;
	ev->rng = store_st.seed ^ (0x9e3779b97f4a7c15ULL * (shard + 1));
	/* Evenly spaced: cursors move at one pace, so they stay apart and
	 * never sample the same keys twice in a row. */
	for (unsigned d = 0; d < store_st.ndbs; d++) {
		uint64_t base = rng_next(&ev->rng);

		for (unsigned k = 0; k < EVICT_CURSORS; k++)
			ev->cur[d * EVICT_CURSORS + k].pos =
			    base + k * (UINT64_MAX / EVICT_CURSORS);
	}
	sh->ev = ev;
	return ev;
}

void evict_free(struct shard *sh)
{
	mi_free(sh->ev);
	sh->ev = NULL;
}

static inline uint64_t obj_hash(const struct sobj *o)
{
	return store_bitrev64(o->node.reverse_hash);
}

static bool policy_volatile(enum store_policy p)
{
	return p >= STORE_EVICT_VOLATILE_LRU;
}

static uint64_t score_of(enum store_policy p, const struct sobj *o,
			 int64_t now_ms)
{
	if (p == STORE_EVICT_ALLKEYS_LFU || p == STORE_EVICT_VOLATILE_LFU)
		return 255 - store_lfu_freq(o, now_ms);
	return store_idle_seconds(o, now_ms);
}

/*
 * Redis's evictionPoolPopulate insert: the pool is sorted by ascending
 * score; a candidate worse than all of a full pool is dropped, otherwise
 * the worst entry makes room.  A key already pooled is not added twice.
 */
static void pool_insert(struct store_evict_state *ev, struct sobj *o,
			unsigned db, uint64_t score)
{
	struct evict_entry *p = ev->pool;
	unsigned k = 0, i;

	for (i = 0; i < ev->n; i++)
		if (p[i].o == o)
			return;
	while (k < ev->n && p[k].score < score)
		k++;
	if (k == 0 && ev->n == EVPOOL_SIZE)
		return;
	if (ev->n < EVPOOL_SIZE) {
		memmove(&p[k + 1], &p[k], (ev->n - k) * sizeof(*p));
		ev->n++;
	} else {
		k--;
		memmove(&p[0], &p[1], k * sizeof(*p));
	}
	p[k] = (struct evict_entry){.o = o,
				    .hash = obj_hash(o),
				    .score = score,
				    .gen = ev->gen,
				    .db = db};
}

static unsigned sample_db(struct store_evict_state *ev, struct shard_db *sd,
			  unsigned db, bool vol, unsigned n, struct sobj **out,
			  int64_t now_ms)
{
	unsigned got = 0;

	if (!vol)
		return sd->tab ? walk_cursor_sample(
				     sd->tab, &ev->cur[db * EVICT_CURSORS],
				     EVICT_CURSORS, ev->gen, n, out, now_ms)
			       : 0;
	while (got < n && sd->heap_len)
		out[got++] = sd->heap[rng_next(&ev->rng) % sd->heap_len];
	return got;
}

static void pool_populate(struct shard *sh, struct store_evict_state *ev,
			  enum store_policy p, unsigned samples, int64_t now_ms)
{
	struct sobj *out[EVICT_SAMPLES_MAX];
	bool vol = policy_volatile(p);

	for (unsigned d = 0; d < store_st.ndbs; d++) {
		struct shard_db *sd = &sh->db[d];
		unsigned n, i;

		if (!(vol ? sd->expires : sd->keys))
			continue;
		n = sample_db(ev, sd, d, vol, samples, out, now_ms);
		for (i = 0; i < n; i++)
			pool_insert(ev, out[i], d, score_of(p, out[i], now_ms));
	}
}

/*
 * The best pooled key still in its table, or NULL.  One sampled in this
 * call is: only this thread deletes, and it took it out of the pool.
 * Context: owner.
 */
static struct sobj *pool_take(struct shard *sh, struct store_evict_state *ev,
			      unsigned *db)
{
	while (ev->n) {
		struct evict_entry e = ev->pool[--ev->n];
		struct store_table *t = sh->db[e.db].tab;
		struct cds_lfht_iter it;

		if (e.gen == ev->gen) {
			*db = e.db;
			return e.o;
		}
		if (!t)
			continue;
		cds_lfht_lookup(t->ht, e.hash, walk_match_ptr, &e.o->node, &it);
		if (cds_lfht_iter_get_node(&it)) {
			*db = e.db;
			return e.o;
		}
	}
	return NULL;
}

/* The key nearest its expiry over all dbs of the shard. */
static struct sobj *pick_ttl(struct shard *sh, unsigned *db)
{
	struct sobj *best = NULL;

	for (unsigned d = 0; d < store_st.ndbs; d++) {
		struct shard_db *sd = &sh->db[d];

		if (sd->heap_len &&
		    (!best || sobj_exp_own(sd->heap[0]) < sobj_exp_own(best))) {
			best = sd->heap[0];
			*db = d;
		}
	}
	return best;
}

static struct sobj *pick_random(struct shard *sh, struct store_evict_state *ev,
				bool vol, unsigned *db, int64_t now_ms)
{
	for (unsigned i = 0; i < store_st.ndbs; i++) {
		unsigned d = (ev->next_db + i) % store_st.ndbs;
		struct shard_db *sd = &sh->db[d];
		struct sobj *o;

		if (!(vol ? sd->expires : sd->keys) ||
		    !sample_db(ev, sd, d, vol, 1, &o, now_ms))
			continue;
		ev->next_db = (d + 1) % store_st.ndbs;
		*db = d;
		return o;
	}
	return NULL;
}

static struct sobj *pick(struct shard *sh, struct store_evict_state *ev,
			 enum store_policy p, unsigned samples, unsigned *db,
			 int64_t now_ms)
{
	switch (p) {
	case STORE_EVICT_NONE:
		return NULL;
	case STORE_EVICT_VOLATILE_TTL:
		return pick_ttl(sh, db);
	case STORE_EVICT_ALLKEYS_RANDOM:
	case STORE_EVICT_VOLATILE_RANDOM:
		return pick_random(sh, ev, policy_volatile(p), db, now_ms);
	default:
		pool_populate(sh, ev, p, samples, now_ms);
		return pool_take(sh, ev, db);
	}
}

int store_evict(unsigned shard, uint64_t bytes, unsigned max_keys,
		int64_t now_ms, uint64_t *freed)
{
	struct shard *sh = &store_st.shard[shard];
	enum store_policy p = (enum store_policy)__atomic_load_n(
	    &evict_conf.policy, __ATOMIC_RELAXED);
	unsigned samples =
	    (unsigned)__atomic_load_n(&evict_conf.samples, __ATOMIC_RELAXED);
	uint64_t start = sh->used_bytes, gone = 0;
	struct store_evict_state *ev = ev_of(sh, shard);
	int n = 0;

	if (!ev || p == STORE_EVICT_NONE) {
		if (freed)
			*freed = 0;
		return -1;
	}
	if (ev->policy != p) {
		ev->policy = p;
		ev->n = 0;
	}
	ev->gen++;
	while ((unsigned)n < max_keys && gone < bytes) {
		unsigned db = 0;
		struct sobj *o = pick(sh, ev, p, samples, &db, now_ms);

		if (!o)
			break;
		door_drop(db, o, STORE_CHG_EVICTED);
		n++;
		gone = start > sh->used_bytes ? start - sh->used_bytes : 0;
	}
	if (n)
		st_add(&sh->evicted_keys, (uint64_t)n);
	if (freed)
		*freed = gone;
	return n || !bytes || !max_keys ? n : -1;
}
