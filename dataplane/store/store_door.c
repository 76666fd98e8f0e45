/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_door: every owner-side change of the keyspace, and its consumers
 * (see store_door.h for the contract).
 *
 * Each change runs the same four steps: work out whether it has an effect
 * (none: return before any hook), hand the pre-images to the snapshot hook,
 * make the change with the raw functions of store.c (which move objects and
 * counters and know nothing of consumers), then log, raise the events and
 * count it.  Objects the change took out are retired last, after every hook
 * saw them, so a hook never meets a freed object even on the rare path
 * where retiring frees at once (no batch could be allocated).
 *
 * The hooks cost a string SET three predictable loads and branches when no
 * consumer is set; the snapshot hook's lookup of the old object is only
 * made when that hook is set.
 */
#include "store_pvt.h"

#include <errno.h>

static struct store_door_hooks door_hooks;
/* Any hook set: without one a put skips building its change. */
static bool door_any;

void store_door_setup(const struct store_door_hooks *h)
{
	if (h)
		door_hooks = *h;
	else
		memset(&door_hooks, 0, sizeof(door_hooks));
	door_any = door_hooks.pre_image || door_hooks.log || door_hooks.event;
}

static inline void door_pre(const struct store_change *ch,
			    const struct sobj *old)
{
	if (caa_unlikely(door_hooks.pre_image != NULL) && old)
		door_hooks.pre_image(door_hooks.arg, ch, old);
}

static inline void door_event(const struct store_change *ch, unsigned db,
			      const char *name, const char *key, uint32_t klen)
{
	if (caa_unlikely(door_hooks.event != NULL))
		door_hooks.event(door_hooks.arg, ch, db, name, key, klen);
}

/* Steps 2 and 3 for a change of one key, and the count. */
static void door_done(const struct store_change *ch, const char *name,
		      uint64_t dirty)
{
	if (caa_unlikely(door_hooks.log != NULL))
		door_hooks.log(door_hooks.arg, ch);
	door_event(ch, ch->db, name, ch->key, ch->klen);
	if (dirty)
		st_add(&shard_of_slot(ch->slot)->dirty, dirty);
}

static void change_init(struct store_change *ch, enum store_chg kind,
			unsigned db, const struct sobj *o)
{
	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	ch->db = db;
	ch->key = sobj_key(o);
	ch->klen = sobj_klen(o);
	ch->slot = o->slot;
	ch->expire_at = STORE_NO_EXPIRE;
}

static int door_put(struct store_op *op)
{
	struct sobj *o = op->obj, *old = NULL;
	struct store_change ch;

	if (caa_unlikely(expire_set(op->expire_at) && !sobj_has_ext(o))) {
		struct sobj *n = sobj_copy_ext(o, o->node.reverse_hash);

		sobj_free(o); /* a string: pointer forms have the extension */
		if (!n)
			return -ENOMEM;
		o = n;
	}
	if (caa_likely(!door_any)) {
		/* No consumer: the same change, minus telling anyone. */
		if (caa_unlikely(obj_put(op->db, o, op->expire_at, &old))) {
			sobj_destroy(o);
			return -ENOMEM;
		}
		st_add(&shard_of_slot(o->slot)->dirty, 1);
		if (old)
			sobj_retire(old);
		op->result = o;
		return 1;
	}
	change_init(&ch, STORE_CHG_PUT, op->db, o);
	if (caa_unlikely(door_hooks.pre_image != NULL)) {
		struct skey k = {.ptr = ch.key,
				 .len = ch.klen,
				 .slot = o->slot,
				 .hash = o->node.reverse_hash};

		door_pre(&ch, obj_lookup(op->db, &k));
	}
	if (caa_unlikely(obj_put(op->db, o, op->expire_at, &old) != 0)) {
		sobj_destroy(o);
		return -ENOMEM;
	}
	ch.old = old;
	ch.obj = o;
	ch.expire_at = op->expire_at;
	door_done(&ch, op->event ? op->event : "set", 1);
	if (old)
		sobj_retire(old);
	op->result = o;
	return 1;
}

void door_drop(unsigned db, struct sobj *o, enum store_chg kind)
{
	static const char *const names[] = {
	    [STORE_CHG_DEL] = "del",
	    [STORE_CHG_EXPIRED] = "expired",
	    [STORE_CHG_EVICTED] = "evicted",
	};
	struct store_change ch;

	change_init(&ch, kind, db, o);
	ch.old = o;
	door_pre(&ch, o);
	if (!obj_unlink(db, sdb_of(db, o->slot), o))
		return;
	/* Redis's server.dirty counts no expired or evicted key. */
	door_done(&ch, names[kind], kind == STORE_CHG_DEL);
	sobj_retire(o);
}

static int door_expire(struct store_op *op)
{
	struct sobj *o = op->obj, *old, *n;
	struct store_change ch;

	if (!expire_set(op->expire_at) && !expire_set(sobj_expire(o)))
		return 0;
	change_init(&ch, STORE_CHG_EXPIRE, op->db, o);
	door_pre(&ch, o);
	n = obj_set_expire(op->db, o, op->expire_at, &old);
	if (!n)
		return -ENOMEM;
	ch.old = o;
	ch.obj = n;
	ch.expire_at = op->expire_at;
	door_done(&ch, expire_set(op->expire_at) ? "expire" : "persist", 1);
	if (old)
		sobj_retire(old);
	op->result = n;
	return 1;
}

static int door_rename(struct store_op *op)
{
	struct sobj *o = op->obj, *n, *dold = NULL;
	bool move = op->dst_db != op->db;
	struct store_change ch;

	if (!move && sobj_klen(o) == op->dst->len &&
	    memcmp(sobj_key(o), op->dst->ptr, op->dst->len) == 0)
		return 0; /* RENAME k k: Redis changes and counts nothing */
	change_init(&ch, STORE_CHG_RENAME, op->db, o);
	ch.old = o;
	ch.dst_db = op->dst_db;
	ch.dst_key = op->dst->ptr;
	ch.dst_klen = op->dst->len;
	ch.dst_old = obj_lookup(op->dst_db, op->dst);
	door_pre(&ch, o);
	door_pre(&ch, ch.dst_old);
	n = sobj_copy_as(o, op->dst);
	if (!n)
		return -ENOMEM;
	if (obj_put(op->dst_db, n, sobj_expire(o), &dold)) {
		sobj_free(n); /* the body, if any, is still o's */
		return -ENOMEM;
	}
	obj_unlink(op->db, sdb_of(op->db, o->slot), o);
	/* The body is n's now: o's grace period must not free it. */
	if (sobj_is_ptr(o))
		sobj_set_body(o, NULL);
	ch.obj = n;
	ch.expire_at = sobj_expire(n);
	if (caa_unlikely(door_hooks.log != NULL))
		door_hooks.log(door_hooks.arg, &ch);
	door_event(&ch, ch.db, move ? "move_from" : "rename_from", ch.key,
		   ch.klen);
	door_event(&ch, ch.dst_db, move ? "move_to" : "rename_to", ch.dst_key,
		   ch.dst_klen);
	st_add(&shard_of_slot(ch.slot)->dirty, 1);
	sobj_retire(o);
	if (dold)
		sobj_retire(dold);
	op->result = n;
	return 1;
}

/* Keys of db (UINT32_MAX: all) in shard i. */
static uint64_t flush_keys(unsigned i, unsigned db)
{
	const struct shard *sh = &store_st.shard[i];
	uint64_t n = 0;

	for (unsigned d = 0; d < store_st.ndbs; d++)
		if (db == UINT32_MAX || d == db)
			n += sh->db[d].keys;
	return n;
}

static int door_flush(struct store_op *op)
{
	uint64_t per[STORE_MAX_SHARDS], total = 0;
	struct store_change ch = {.kind = STORE_CHG_FLUSH,
				  .db = op->db,
				  .expire_at = STORE_NO_EXPIRE};
	unsigned i;

	for (i = 0; i < store_st.nshards; i++)
		total += per[i] = flush_keys(i, op->db);
	if (!total) {
		/* Still drop the empty tables and heaps: their bytes. */
		flush_raw(op->db);
		return 0;
	}
	ch.keys = total;
	if (caa_unlikely(door_hooks.pre_image != NULL))
		door_hooks.pre_image(door_hooks.arg, &ch, NULL);
	flush_raw(op->db);
	if (caa_unlikely(door_hooks.log != NULL))
		door_hooks.log(door_hooks.arg, &ch);
	/* The flusher holds every shard: it may count in each. */
	for (i = 0; i < store_st.nshards; i++)
		st_add(&store_st.shard[i].dirty, per[i]);
	return 1;
}

int store_apply(struct store_op *op)
{
	switch (op->kind) {
	case STORE_CHG_PUT:
		return door_put(op);
	case STORE_CHG_DEL:
	case STORE_CHG_EXPIRED:
	case STORE_CHG_EVICTED:
		door_drop(op->db, op->obj, op->kind);
		return 1;
	case STORE_CHG_EXPIRE:
		return door_expire(op);
	case STORE_CHG_RENAME:
		return door_rename(op);
	case STORE_CHG_FLUSH:
		return door_flush(op);
	}
	return -EINVAL;
}

/* ---- the usual shapes (store.h) -------------------------------------- */

struct sobj *store_put_ev(unsigned db, struct sobj *o, int64_t expire_ms,
			  const char *event)
{
	struct store_op op = {.kind = STORE_CHG_PUT,
			      .db = db,
			      .obj = o,
			      .expire_at = expire_ms,
			      .event = event};

	return store_apply(&op) > 0 ? op.result : NULL;
}

struct sobj *store_put(unsigned db, struct sobj *o, int64_t expire_ms)
{
	return store_put_ev(db, o, expire_ms, NULL);
}

int store_delete(unsigned db, const struct skey *k, int64_t now_ms)
{
	struct sobj *o = store_find_w(db, k, now_ms);

	if (!o)
		return 0;
	store_delete_obj(db, o);
	return 1;
}

void store_delete_obj(unsigned db, struct sobj *o)
{
	struct store_op op = {.kind = STORE_CHG_DEL, .db = db, .obj = o};

	store_apply(&op);
}

struct sobj *store_set_expire(unsigned db, struct sobj *o, int64_t expire_ms)
{
	struct store_op op = {.kind = STORE_CHG_EXPIRE,
			      .db = db,
			      .obj = o,
			      .expire_at = expire_ms};
	int ret = store_apply(&op);

	if (ret == 0)
		return o;
	return ret > 0 ? op.result : NULL;
}

struct sobj *store_rename(unsigned db, struct sobj *o, unsigned dst_db,
			  const struct skey *dst)
{
	struct store_op op = {.kind = STORE_CHG_RENAME,
			      .db = db,
			      .obj = o,
			      .dst_db = dst_db,
			      .dst = dst};

	int ret = store_apply(&op);

	if (ret == 0)
		return o;
	return ret > 0 ? op.result : NULL;
}

void store_flush(unsigned db)
{
	struct store_op op = {.kind = STORE_CHG_FLUSH, .db = db};

	store_apply(&op);
}

uint64_t store_shard_dirty(unsigned shard)
{
	return st_load(&store_st.shard[shard].dirty);
}

uint64_t store_dirty_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < store_st.nshards; i++)
		n += store_shard_dirty(i);
	return n;
}
