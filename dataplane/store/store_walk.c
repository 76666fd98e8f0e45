/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_walk: read-only traversals, safe on any RCU-online thread while the
 * owners keep writing (see store.h for what a walk sees).
 *
 * They follow a table's split-ordered list: every node, in ascending
 * reverse hash (its "position").  A resize inserts or removes bucket nodes
 * only, which cds_lfht_next() skips, so positions and their order hold
 * across resizes.  To start at position R, look up the anchor of R >> 52
 * (an exact-hash lookup of a node that is always there, so O(1) and exact)
 * and step forward; each anchor is followed by about keys/4096 keys.
 * Anchors are skipped by address.  A key replaced meanwhile is linked
 * next to its old version, so a walk may meet both.
 */
#include "rng.h"
#include "store_pvt.h"

int walk_match_ptr(struct cds_lfht_node *node, const void *key)
{
	return node == key;
}

/* it at anchor p of t (or at the end, were it ever missing). */
static void seek_anchor(struct store_table *t, unsigned p,
			struct cds_lfht_iter *it)
{
	cds_lfht_lookup(t->ht, anchor_hash(p), walk_match_ptr, &t->anchor[p],
			it);
}

/* it at the first node at or after position pos (or at the end). */
static void seek_pos(struct store_table *t, uint64_t pos,
		     struct cds_lfht_iter *it)
{
	struct cds_lfht_node *node;

	seek_anchor(t, (unsigned)(pos >> STORE_ANCHOR_SHIFT), it);
	while ((node = cds_lfht_iter_get_node(it)) != NULL &&
	       node->reverse_hash < pos)
		cds_lfht_next(t->ht, it);
}

static inline struct store_table *table_of(unsigned shard, unsigned db)
{
	return rcu_dereference(store_st.shard[shard].db[db].tab);
}

/* Visit every live key of t with fn, those of one slot when slot >= 0. */
static unsigned walk_table(struct store_table *t, int slot, int64_t now_ms,
			   store_visit_fn fn, void *arg)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	unsigned n = 0;

	cds_lfht_first(t->ht, &it);
	for (; (node = cds_lfht_iter_get_node(&it)) != NULL;
	     cds_lfht_next(t->ht, &it)) {
		const struct sobj *o;

		if (store_is_anchor(t, node))
			continue;
		o = sobj_of_node(node);
		if ((slot >= 0 && o->slot != slot) || sobj_expired(o, now_ms))
			continue;
		fn(o, arg);
		n++;
	}
	return n;
}

unsigned store_visit_slot(unsigned db, uint16_t slot, int64_t now_ms,
			  store_visit_fn fn, void *arg)
{
	struct store_table *t;

	slot &= SLOT_COUNT - 1;
	if (!store_slot_keys(db, slot))
		return 0;
	t = table_of(store_owner(slot), db);
	return t ? walk_table(t, slot, now_ms, fn, arg) : 0;
}

void store_visit_all(unsigned db, int64_t now_ms, store_visit_fn fn, void *arg)
{
	unsigned i;

	for (i = 0; i < store_st.nshards; i++) {
		struct store_table *t = table_of(i, db);

		if (t)
			walk_table(t, -1, now_ms, fn, arg);
	}
}

/*
 * The stop rule (only between keys whose positions differ above bit 5)
 * makes a resume at (*pos >> 6) << 6 land after the last key stepped on,
 * so a SCAN cursor that keeps 58 bits never loops, however keys cluster.
 */
bool store_walk_shard(unsigned shard, unsigned db, uint64_t *pos,
		      uint64_t budget, int64_t now_ms, store_visit_fn fn,
		      void *arg, uint64_t *stepped)
{
	struct store_table *t = table_of(shard, db);
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	uint64_t n = 0, last = 0, from = *pos;
	bool more = false;

	if (t)
		seek_pos(t, from, &it);
	for (; t && (node = cds_lfht_iter_get_node(&it)) != NULL;
	     cds_lfht_next(t->ht, &it)) {
		uint64_t rh = node->reverse_hash;
		const struct sobj *o;

		if (store_is_anchor(t, node))
			continue;
		if (n >= budget && (rh >> 6) != (last >> 6)) {
			*pos = rh;
			more = true;
			break;
		}
		last = rh;
		n++;
		o = sobj_of_node(node);
		if (!sobj_expired(o, now_ms))
			fn(o, arg);
	}
	if (stepped)
		*stepped = n;
	return more;
}

/*
 * The first live key at or after a random position of one shard, wrapping
 * once.  A key's chance is the gap before it, not exactly uniform (neither
 * is Redis's), but every key has one.  Costs about keys/8192 steps.
 */
static const struct sobj *random_in_shard(unsigned shard, unsigned db,
					  int64_t now_ms, uint64_t *rng)
{
	struct store_table *t = table_of(shard, db);
	uint64_t pos = rng_next(rng);
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	bool wrapped = false;

	if (!t)
		return NULL;
	seek_pos(t, pos, &it);
	for (;;) {
		node = cds_lfht_iter_get_node(&it);
		if (!node) {
			if (wrapped)
				return NULL;
			wrapped = true;
			cds_lfht_first(t->ht, &it);
			continue;
		}
		if (wrapped && node->reverse_hash >= pos)
			return NULL; /* a full turn: nothing live */
		if (!store_is_anchor(t, node) &&
		    !sobj_expired(sobj_of_node(node), now_ms))
			return sobj_of_node(node);
		cds_lfht_next(t->ht, &it);
	}
}

const struct sobj *store_random(unsigned db, int64_t now_ms, uint64_t *rng)
{
	uint64_t keys[STORE_MAX_SHARDS], total = 0, r;
	unsigned i, s, n = store_st.nshards;
	const struct sobj *o;

	for (i = 0; i < n; i++) {
		keys[i] = st_load(&store_st.shard[i].db[db].keys);
		total += keys[i];
	}
	if (!total)
		return NULL;
	r = rng_next(rng) % total;
	for (s = 0; s + 1 < n && r >= keys[s]; s++)
		r -= keys[s];
	for (i = 0; i < n; i++) {
		o = random_in_shard((s + i) % n, db, now_ms, rng);
		if (o)
			return o;
	}
	return NULL;
}

/* Steps over dead keys a sample may take per key asked for. */
#define SAMPLE_STEPS_PER_KEY 16

unsigned store_sample(unsigned shard, unsigned db, unsigned n,
		      struct sobj **out, int64_t now_ms, uint64_t *rng)
{
	struct store_table *t = table_of(shard, db);
	unsigned p = (unsigned)(rng_next(rng) % STORE_ANCHORS), got = 0;
	uint64_t start = (uint64_t)p << STORE_ANCHOR_SHIFT, steps = 0;
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	bool wrapped = false;

	if (!t || !n)
		return 0;
	seek_anchor(t, p, &it);
	while (got < n) {
		node = cds_lfht_iter_get_node(&it);
		if (!node) {
			if (wrapped)
				break;
			wrapped = true;
			cds_lfht_first(t->ht, &it);
			continue;
		}
		if (wrapped && node->reverse_hash >= start)
			break;
		if (!store_is_anchor(t, node)) {
			struct sobj *o = sobj_of_node(node);

			if (!sobj_expired(o, now_ms))
				out[got++] = o;
			else if (++steps > (uint64_t)n * SAMPLE_STEPS_PER_KEY)
				break;
		}
		cds_lfht_next(t->ht, &it);
	}
	return got;
}

/*
 * Eviction samples keys in table order from where the last sample
 * stopped, so over time every key is looked at equally often (sampling
 * from a random anchor would favour the keys just after the 4096 anchors
 * and never see the others).  Within one read-side section the cursor
 * keeps its iterator: removals meanwhile are only concurrent removals to
 * cds_lfht, and the node it stands on stays readable.  Later it resumes
 * in O(1) through the node it stopped at (an exact lookup by address: a
 * stale pointer is only compared, never read) and, when that key has
 * gone, from the anchor before its position.
 */
static void cursor_seek(struct store_table *t, struct walk_cursor *c,
			uint64_t gen)
{
	struct cds_lfht_iter *it = &c->it;

	if (c->gen == gen)
		return;
	c->gen = gen;
	if (c->hint) {
		cds_lfht_lookup(t->ht, store_bitrev64(c->pos), walk_match_ptr,
				c->hint, it);
		if (cds_lfht_iter_get_node(it))
			return;
	}
	seek_pos(t, c->pos, it);
}

/*
 * Every step of a walk is a cache miss that depends on the one before, so
 * nc cursors take turns, one node each, and each prefetches the node it
 * goes to next: up to nc misses are in flight instead of one.
 */
unsigned walk_cursor_sample(struct store_table *t, struct walk_cursor *c,
			    unsigned nc, uint64_t gen, unsigned n,
			    struct sobj **out, int64_t now_ms)
{
	uint64_t steps = 0, max_steps = (uint64_t)n * SAMPLE_STEPS_PER_KEY;
	uint8_t wrapped[WALK_CURSORS_MAX] = {0};
	unsigned got = 0, live = nc, k;

	if (nc > WALK_CURSORS_MAX)
		nc = live = WALK_CURSORS_MAX;
	for (k = 0; k < nc; k++)
		cursor_seek(t, &c[k], gen);
	for (k = 0; got < n && steps < max_steps && live; k = (k + 1) % nc) {
		struct cds_lfht_iter *it = &c[k].it;
		struct cds_lfht_node *node;

		if (wrapped[k] == 2)
			continue;
		node = cds_lfht_iter_get_node(it);
		if (!node) {
			if (wrapped[k]++)
				live--;
			else
				cds_lfht_first(t->ht, it);
			continue;
		}
		if (!store_is_anchor(t, node)) {
			struct sobj *o = sobj_of_node(node);

			/* deleted since the iterator stepped on it */
			if (cds_lfht_is_node_deleted(node))
				;
			else if (!sobj_expired(o, now_ms))
				out[got++] = o;
			else
				steps++;
		}
		cds_lfht_next(t->ht, it);
		__builtin_prefetch(
		    (void *)((uintptr_t)it->next & ~(uintptr_t)7));
	}
	for (k = 0; k < nc; k++) {
		struct cds_lfht_node *node = cds_lfht_iter_get_node(&c[k].it);

		c[k].pos = node ? node->reverse_hash : 0;
		c[k].hint = node;
	}
	return got;
}
