/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_flush: FLUSHDB / FLUSHALL in O(slots).
 *
 * The flushing core holds every shard, so it acts as the owner of all of
 * them: it swaps each affected table for an empty one, resets the slot
 * lists, heaps and counters, and hands the old tables to the background
 * thread (store_bg.c), which frees them after a grace period.  Readers that
 * were already inside an old table or an old slot list finish their walk
 * undisturbed: the old chains still end at the same list heads.
 */
#include "store_pvt.h"

/* No table to swap in: delete the keys one by one instead, O(keys). */
static void flush_slow(struct shard_db *sd)
{
	struct cds_lfht_iter iter;
	struct sobj *o;

	cds_lfht_for_each_entry(sd->ht, &iter, o, node) store_obj_unlink(sd, o);
}

/* Reset the slot lists of db; never used lists stay untouched. */
static void flush_slots(unsigned db)
{
	struct slot_list *sl = store_st.slots[db];
	unsigned s;

	for (s = 0; s < SLOT_COUNT; s++) {
		if (!sl[s].head.next)
			continue;
		sl[s].head.prev = &sl[s].head;
		rcu_set_pointer(&sl[s].head.next, &sl[s].head);
		st_store(&sl[s].count, 0);
	}
}

static void flush_db(unsigned db, struct bg_job *job)
{
	unsigned i;

	/* An empty db has empty slot lists too: FLUSHALL skips it whole. */
	if (!store_dbsize(db))
		return;
	for (i = 0; i < store_st.nshards; i++) {
		struct shard_db *sd = &store_st.shard[i].db[db];
		struct cds_lfht *ht;

		if (!st_load(&sd->keys))
			continue;
		ht = job ? store_ht_new() : NULL;
		if (!ht) {
			flush_slow(sd);
			continue;
		}
		bg_reclaim_add(job, sd->ht);
		rcu_set_pointer(&sd->ht, ht);
		__atomic_store_n(&sd->ht_size, STORE_HT_INIT, __ATOMIC_RELAXED);
		heap_reset(sd);
		st_store(&sd->keys, 0);
		st_store(&sd->expires, 0);
		st_store(&sd->used_bytes, 0);
	}
	flush_slots(db);
}

void store_flush(unsigned db)
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
