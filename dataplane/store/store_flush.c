/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_flush: FLUSHDB / FLUSHALL in O(slots).
 *
 * The flushing core holds every shard, so it acts as the owner of all of
 * them: it unpublishes each affected table (the next key makes a new one),
 * resets the per-slot counts, heaps and counters, and hands the old tables
 * to the background thread (store_bg.c), which frees them after a grace
 * period.  Readers that were already inside an old table finish their walk
 * undisturbed.
 */
#include "store_pvt.h"

/* No job to hand the table to: delete the keys one by one, O(keys). */
static void flush_slow(unsigned db, struct shard_db *sd)
{
	struct store_table *t = sd->tab;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_first(t->ht, &iter);
	while ((node = cds_lfht_iter_get_node(&iter)) != NULL) {
		cds_lfht_next(t->ht, &iter);
		if (!store_is_anchor(t, node) &&
		    obj_unlink(db, sd, sobj_of_node(node)))
			sobj_retire(sobj_of_node(node));
	}
}

/* Zero the slot counts of db; untouched pages stay unmapped. */
static void flush_slots(unsigned db)
{
	uint32_t *n = store_st.slot_keys[db];
	unsigned s;

	for (s = 0; s < SLOT_COUNT; s++)
		if (n[s])
			st_store(&n[s], 0);
}

static void flush_db(unsigned db, struct bg_job *job)
{
	bool any = false;
	unsigned i;

	for (i = 0; i < store_st.nshards; i++) {
		struct shard_db *sd = &store_st.shard[i].db[db];

		if (!sd->tab)
			continue;
		any = true;
		if (!job) {
			flush_slow(db, sd);
			continue;
		}
		bg_reclaim_add(job, sd->tab);
		rcu_set_pointer(&sd->tab, NULL);
		__atomic_store_n(&sd->ht_size, STORE_HT_INIT, __ATOMIC_SEQ_CST);
		heap_reset(sd);
		st_store(&sd->keys, 0);
		st_store(&sd->expires, 0);
		st_account(sd, -(int64_t)sd->used_bytes);
	}
	if (any)
		flush_slots(db);
}

void flush_raw(unsigned db)
{
	unsigned lo = db, hi = db + 1, d;
	struct bg_job *job;

	if (db == UINT32_MAX) {
		lo = 0;
		hi = store_st.ndbs;
	}
	job = bg_reclaim_new((hi - lo) * store_st.nshards);
	for (d = lo; d < hi; d++)
		flush_db(d, job);
	if (job)
		bg_reclaim_queue(job);
}
