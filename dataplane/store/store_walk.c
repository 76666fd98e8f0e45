/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_walk: read-only traversals, safe on any RCU-online thread while the
 * owners keep writing.  A walk sees once every key that stayed in place for
 * its whole duration; keys added or deleted meanwhile may or may not be
 * seen.  A key overwritten meanwhile is seen once, old or new value, by a
 * slot walk (the new object takes the old one's place in the slot list);
 * a whole-table walk may see both versions (cds_lfht links the new node
 * right after the old one).  Logically expired keys are skipped.
 */
#include "store_pvt.h"

static inline struct sobj *sobj_of_link(struct cds_list_head *p)
{
	return caa_container_of(p, struct sobj, slot_link);
}

unsigned store_visit_slot(unsigned db, uint16_t slot, int64_t now_ms,
			  store_visit_fn fn, void *arg)
{
	struct slot_list *sl = slot_list_of(db, slot & (SLOT_COUNT - 1));
	struct cds_list_head *p = slot_list_first(sl);
	unsigned n = 0;

	for (; p && p != &sl->head; p = rcu_dereference(p->next)) {
		const struct sobj *o = sobj_of_link(p);

		if (sobj_expired(o, now_ms))
			continue;
		fn(o, arg);
		n++;
	}
	return n;
}

void store_visit_all(unsigned db, int64_t now_ms, store_visit_fn fn, void *arg)
{
	unsigned i;

	for (i = 0; i < store_st.nshards; i++) {
		struct shard_db *sd = &store_st.shard[i].db[db];
		struct cds_lfht *ht = rcu_dereference(sd->ht);
		struct cds_lfht_iter iter;
		struct sobj *o;

		cds_lfht_for_each_entry(ht, &iter, o, node)
		{
			if (!sobj_expired(o, now_ms))
				fn(o, arg);
		}
	}
}

static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * A random live key of one slot: start at a random position and take the
 * first live key from there, wrapping once.  The count is a hint (the
 * owner may be changing the list), so the walk is bounded by it, not by
 * reaching a given element.
 */
static const struct sobj *random_in_slot(unsigned db, uint16_t slot,
					 int64_t now_ms, uint64_t *rng)
{
	struct slot_list *sl = slot_list_of(db, slot);
	uint32_t count = st_load(&sl->count);
	struct cds_list_head *first, *p;
	uint32_t skip, i;
	bool wrapped = false;

	if (!count)
		return NULL;
	first = slot_list_first(sl);
	if (!first)
		return NULL;
	skip = (uint32_t)(xorshift64(rng) % count);
	p = first;
	for (i = 0; i < skip + count + 1; i++) {
		if (p == &sl->head) {
			if (wrapped)
				return NULL;
			wrapped = true;
			p = first;
		}
		if (i >= skip && !sobj_expired(sobj_of_link(p), now_ms))
			return sobj_of_link(p);
		p = rcu_dereference(p->next);
	}
	return NULL;
}

const struct sobj *store_random(unsigned db, int64_t now_ms, uint64_t *rng)
{
	const struct sobj *o;
	unsigned i, start;

	if (!store_dbsize(db))
		return NULL;
	/* Most slots hold keys in a populated db: a few draws will do. */
	for (i = 0; i < 16; i++) {
		uint16_t slot = (uint16_t)(xorshift64(rng) % SLOT_COUNT);

		o = random_in_slot(db, slot, now_ms, rng);
		if (o)
			return o;
	}
	/* Sparse db: walk the slots from a random one. */
	start = (unsigned)(xorshift64(rng) % SLOT_COUNT);
	for (i = 0; i < SLOT_COUNT; i++) {
		o = random_in_slot(db, (start + i) % SLOT_COUNT, now_ms, rng);
		if (o)
			return o;
	}
	return NULL;
}
