/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_expire: the per-(shard, db) expiry heap and active expiry.
 *
 * A binary min-heap of objects ordered by expiry; each object keeps its
 * index in its expiry extension (HEAP_NONE when not in the heap) so it can
 * be moved or removed in O(log n) when its expiry changes, it is deleted,
 * or a new version replaces it.  Only objects with the extension are ever
 * in a heap.  Only the owner touches the heap; other cores only ever read
 * the expiry itself, with relaxed loads.  The array counts in used_bytes.
 *
 * If the heap cannot grow (out of memory) the object keeps its expiry
 * without a heap entry: lookups still treat it as expired on time and the
 * owner deletes it lazily (store_find_w); only active expiry misses it.
 */
#include "store_pvt.h"

static inline int64_t heap_key(const struct shard_db *sd, uint32_t i)
{
	return sobj_exp_own(sd->heap[i]);
}

static inline void heap_set(struct shard_db *sd, uint32_t i, struct sobj *o)
{
	sd->heap[i] = o;
	sobj_set_heap_idx(o, i);
}

static void heap_up(struct shard_db *sd, uint32_t i)
{
	struct sobj *o = sd->heap[i];
	int64_t e = sobj_exp_own(o);

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (heap_key(sd, parent) <= e)
			break;
		heap_set(sd, i, sd->heap[parent]);
		i = parent;
	}
	heap_set(sd, i, o);
}

static void heap_down(struct shard_db *sd, uint32_t i)
{
	struct sobj *o = sd->heap[i];
	int64_t e = sobj_exp_own(o);
	uint32_t n = sd->heap_len;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && heap_key(sd, c + 1) < heap_key(sd, c))
			c++;
		if (e <= heap_key(sd, c))
			break;
		heap_set(sd, i, sd->heap[c]);
		i = c;
	}
	heap_set(sd, i, o);
}

/* Restore order around index i after its key changed either way. */
static void heap_fix(struct shard_db *sd, uint32_t i)
{
	if (i > 0 && heap_key(sd, (i - 1) / 2) > heap_key(sd, i))
		heap_up(sd, i);
	else
		heap_down(sd, i);
}

static bool heap_grow(struct shard_db *sd)
{
	uint32_t cap = sd->heap_cap ? sd->heap_cap * 2 : 64;
	struct sobj **h;

	if (sd->heap_cap >= UINT32_MAX / 2)
		return false;
	size_t before = sd->heap ? mi_usable_size(sd->heap) : 0;

	h = mi_realloc(sd->heap, (size_t)cap * sizeof(*h));
	if (!h)
		return false;
	st_account(sd, (int64_t)mi_usable_size(h) - (int64_t)before);
	sd->heap = h;
	sd->heap_cap = cap;
	return true;
}

void heap_insert(struct shard_db *sd, struct sobj *o)
{
	if (sd->heap_len == sd->heap_cap && !heap_grow(sd)) {
		sobj_set_heap_idx(o, HEAP_NONE);
		return;
	}
	heap_set(sd, sd->heap_len, o);
	heap_up(sd, sd->heap_len++);
}

void heap_remove(struct shard_db *sd, struct sobj *o)
{
	uint32_t i = sobj_heap_idx(o);
	struct sobj *last = sd->heap[--sd->heap_len];

	sobj_set_heap_idx(o, HEAP_NONE);
	if (i == sd->heap_len)
		return;
	heap_set(sd, i, last);
	heap_fix(sd, i);
}

/* o, with an expiry, replaces old, which is in the heap. */
void heap_take_over(struct shard_db *sd, struct sobj *old, struct sobj *o)
{
	uint32_t i = sobj_heap_idx(old);

	sobj_set_heap_idx(old, HEAP_NONE);
	heap_set(sd, i, o);
	heap_fix(sd, i);
}

/* Forget every entry (their objects are being flushed) and the array;
 * the caller resets used_bytes. */
void heap_reset(struct shard_db *sd)
{
	mi_free(sd->heap);
	sd->heap = NULL;
	sd->heap_len = 0;
	sd->heap_cap = 0;
}

/*
 * An object without the extension gets a copy with it, published like any
 * overwrite (readers on other cores see the old or the new one, both
 * whole).  PERSIST keeps the extension, set to no expiry.
 */
struct sobj *obj_set_expire(unsigned db, struct sobj *o, int64_t expire_ms,
			    struct sobj **oldp)
{
	struct shard_db *sd = sdb_of(db, o->slot);
	bool had, has = expire_set(expire_ms);
	struct sobj *n;

	*oldp = NULL;
	if (!sobj_has_ext(o)) {
		if (!has)
			return o;
		n = sobj_copy_ext(o, store_bitrev64(o->node.reverse_hash));
		if (n && obj_put(db, n, expire_ms, oldp)) {
			sobj_free(
			    n); /* a string (pointer forms have the ext) */
			n = NULL;
		}
		return n;
	}
	had = expire_set(sobj_exp_own(o));
	st_store(sobj_expire_p(o), expire_ms);
	if (sobj_heap_idx(o) != HEAP_NONE) {
		if (has)
			heap_fix(sd, sobj_heap_idx(o));
		else
			heap_remove(sd, o);
	} else if (has) {
		heap_insert(sd, o);
	}
	if (had != has)
		st_add(&sd->expires, has ? 1 : -1);
	return o;
}

unsigned store_active_expire(unsigned shard, int64_t now_ms, unsigned max_keys)
{
	struct shard *sh = &store_st.shard[shard];
	unsigned ndbs = store_st.ndbs, n = 0, i;

	/*
	 * Databases take turns: when the budget runs out in one, the next
	 * call starts with the one after it, so a db with a flood of
	 * expiring keys cannot starve the others.
	 */
	for (i = 0; i < ndbs && n < max_keys; i++) {
		unsigned d = (sh->expire_db + i) % ndbs;
		struct shard_db *sd = &sh->db[d];

		while (n < max_keys && sd->heap_len &&
		       heap_key(sd, 0) <= now_ms) {
			door_drop(d, sd->heap[0], STORE_CHG_EXPIRED);
			n++;
		}
		if (n == max_keys) {
			sh->expire_db = (d + 1) % ndbs;
			break;
		}
	}
	if (n)
		st_add(&sh->expired_keys, n);
	return n;
}

int64_t store_next_expire(unsigned shard)
{
	const struct shard *sh = &store_st.shard[shard];
	int64_t best = STORE_NO_EXPIRE;
	unsigned d;

	for (d = 0; d < store_st.ndbs; d++) {
		const struct shard_db *sd = &sh->db[d];

		if (sd->heap_len &&
		    (best == STORE_NO_EXPIRE || heap_key(sd, 0) < best))
			best = heap_key(sd, 0);
	}
	return best;
}
