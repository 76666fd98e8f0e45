/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the change door (store_door.c): every kind of change
 * reaches each consumer hook once, in the order pre-image, log, event,
 * with the right old and new objects; changes without effect reach none;
 * the dirty counter counts what Redis's server.dirty counts.
 *
 * The hooks append to one trace; each test compares the trace with what
 * it expects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_pvt.h"

#define T0 1700000000000LL
#define TRACE_MAX 64

struct rec {
	char hook; /* 'P' pre-image, 'L' log, 'E' event */
	enum store_chg kind;
	unsigned db;
	char key[32];
	char name[16];	/* E: the event */
	char value[16]; /* P: the old value, read in the hook */
	const struct sobj *old, *obj, *dst_old;
	int64_t expire_at;
	uint64_t keys;
};

static struct rec trace[TRACE_MAX];
static unsigned ntrace;

static struct rec *rec_add(char hook, const struct store_change *ch)
{
	struct rec *r;

	assert_true(ntrace < TRACE_MAX);
	r = &trace[ntrace++];
	memset(r, 0, sizeof(*r));
	r->hook = hook;
	r->kind = ch->kind;
	r->db = ch->db;
	if (ch->key)
		snprintf(r->key, sizeof(r->key), "%.*s", (int)ch->klen,
			 ch->key);
	r->old = ch->old;
	r->obj = ch->obj;
	r->dst_old = ch->dst_old;
	r->expire_at = ch->expire_at;
	r->keys = ch->keys;
	return r;
}

static void pre_hook(void *arg, const struct store_change *ch,
		     const struct sobj *old)
{
	struct rec *r = rec_add('P', ch);

	assert_ptr_equal(arg, &trace);
	r->old = old;
	if (old)
		snprintf(r->value, sizeof(r->value), "%.*s",
			 (int)sobj_vlen(old), sobj_val(old));
}

static void log_hook(void *arg, const struct store_change *ch)
{
	(void)arg;
	rec_add('L', ch);
}

static void event_hook(void *arg, const struct store_change *ch, unsigned db,
		       const char *name, const char *key, uint32_t klen)
{
	struct rec *r = rec_add('E', ch);

	(void)arg;
	r->db = db;
	snprintf(r->key, sizeof(r->key), "%.*s", (int)klen, key);
	snprintf(r->name, sizeof(r->name), "%s", name);
}

static const struct store_door_hooks hooks = {
    .pre_image = pre_hook, .log = log_hook, .event = event_hook, .arg = &trace};

static int setup(void **state)
{
	struct store_conf conf = {.nshards = 4, .ndbs = 2};

	(void)state;
	ntrace = 0;
	store_evict_conf(STORE_EVICT_NONE, 5);
	if (store_setup(&conf))
		return -1;
	store_door_setup(&hooks);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_door_setup(NULL);
	store_teardown();
	return 0;
}

static struct sobj *mk(struct skey *k, const char *key, const char *val,
		       bool ttl)
{
	struct sobj *o;

	skey_init(k, key, strlen(key));
	o = sobj_new_string(k, val, strlen(val), ttl);
	assert_non_null(o);
	return o;
}

static void expect(unsigned i, char hook, enum store_chg kind, const char *key,
		   const char *name)
{
	assert_true(i < ntrace);
	assert_int_equal(trace[i].hook, hook);
	assert_int_equal(trace[i].kind, kind);
	assert_string_equal(trace[i].key, key);
	if (name)
		assert_string_equal(trace[i].name, name);
}

static void test_put(void **state)
{
	struct sobj *o, *n;
	struct skey k;

	(void)state;
	o = store_put(0, mk(&k, "k", "v1", false), STORE_NO_EXPIRE);
	assert_non_null(o);
	/* A new key: nothing to keep, so no pre-image. */
	assert_int_equal(ntrace, 2);
	expect(0, 'L', STORE_CHG_PUT, "k", NULL);
	assert_null(trace[0].old);
	assert_ptr_equal(trace[0].obj, o);
	assert_int_equal(trace[0].expire_at, STORE_NO_EXPIRE);
	expect(1, 'E', STORE_CHG_PUT, "k", "set");
	assert_int_equal(store_dirty_total(), 1);

	ntrace = 0;
	n = store_put(0, mk(&k, "k", "v2", false), T0 + 100);
	assert_non_null(n);
	assert_int_equal(ntrace, 3);
	expect(0, 'P', STORE_CHG_PUT, "k", NULL);
	assert_ptr_equal(trace[0].old, o);
	assert_string_equal(trace[0].value, "v1"); /* still readable */
	expect(1, 'L', STORE_CHG_PUT, "k", NULL);
	assert_ptr_equal(trace[1].old, o);
	assert_ptr_equal(trace[1].obj, n); /* a copy with the extension */
	assert_int_equal(trace[1].expire_at, T0 + 100);
	expect(2, 'E', STORE_CHG_PUT, "k", "set");
	assert_int_equal(store_dirty_total(), 2);

	/* The door itself, with a put's own event name. */
	ntrace = 0;
	struct store_op op = {.kind = STORE_CHG_PUT,
			      .db = 1,
			      .obj = mk(&k, "k", "7", false),
			      .expire_at = STORE_NO_EXPIRE,
			      .event = "incrby"};
	assert_int_equal(store_apply(&op), 1);
	assert_ptr_equal(store_find(1, &k, T0), op.result);
	assert_int_equal(ntrace, 2);
	expect(1, 'E', STORE_CHG_PUT, "k", "incrby");
	assert_int_equal(trace[1].db, 1);
	assert_int_equal(store_dirty_total(), 3);
}

static void test_delete(void **state)
{
	struct sobj *o;
	struct skey k;

	(void)state;
	o = store_put(0, mk(&k, "d", "v", false), STORE_NO_EXPIRE);
	ntrace = 0;
	assert_int_equal(store_delete(0, &k, T0), 1);
	assert_int_equal(ntrace, 3);
	expect(0, 'P', STORE_CHG_DEL, "d", NULL);
	assert_ptr_equal(trace[0].old, o);
	expect(1, 'L', STORE_CHG_DEL, "d", NULL);
	assert_ptr_equal(trace[1].old, o);
	assert_null(trace[1].obj);
	expect(2, 'E', STORE_CHG_DEL, "d", "del");
	assert_int_equal(store_dirty_total(), 2);

	/* No key, no change. */
	ntrace = 0;
	assert_int_equal(store_delete(0, &k, T0), 0);
	assert_int_equal(ntrace, 0);
	assert_int_equal(store_dirty_total(), 2);
}

static void test_expire(void **state)
{
	struct sobj *o, *n;
	struct skey k;

	(void)state;
	o = store_put(0, mk(&k, "e", "v", false), STORE_NO_EXPIRE);
	/* PERSIST without a TTL: nothing. */
	ntrace = 0;
	assert_ptr_equal(store_set_expire(0, o, STORE_NO_EXPIRE), o);
	assert_int_equal(ntrace, 0);
	assert_int_equal(store_dirty_total(), 1);

	/* EXPIRE: a copy with the extension replaces o. */
	n = store_set_expire(0, o, T0 + 500);
	assert_non_null(n);
	assert_ptr_not_equal(n, o);
	assert_int_equal(ntrace, 3);
	expect(0, 'P', STORE_CHG_EXPIRE, "e", NULL);
	assert_ptr_equal(trace[0].old, o);
	expect(1, 'L', STORE_CHG_EXPIRE, "e", NULL);
	assert_ptr_equal(trace[1].old, o);
	assert_ptr_equal(trace[1].obj, n);
	assert_int_equal(trace[1].expire_at, T0 + 500);
	expect(2, 'E', STORE_CHG_EXPIRE, "e", "expire");
	assert_int_equal(store_dirty_total(), 2);

	/* In place now: old and new are the same object. */
	ntrace = 0;
	assert_ptr_equal(store_set_expire(0, n, T0 + 900), n);
	assert_int_equal(ntrace, 3);
	assert_ptr_equal(trace[1].old, n);
	assert_ptr_equal(trace[1].obj, n);
	assert_int_equal(trace[1].expire_at, T0 + 900);

	ntrace = 0;
	assert_ptr_equal(store_set_expire(0, n, STORE_NO_EXPIRE), n);
	assert_int_equal(ntrace, 3);
	expect(1, 'L', STORE_CHG_EXPIRE, "e", NULL);
	assert_int_equal(trace[1].expire_at, STORE_NO_EXPIRE);
	expect(2, 'E', STORE_CHG_EXPIRE, "e", "persist");
	assert_int_equal(store_dirty_total(), 4);

	ntrace = 0;
	assert_ptr_equal(store_set_expire(0, n, STORE_NO_EXPIRE), n);
	assert_int_equal(ntrace, 0);
	assert_int_equal(store_dirty_total(), 4);
}

static void test_rename_and_move(void **state)
{
	struct sobj *src, *dst, *n;
	struct skey ks, kd;

	(void)state;
	src = store_put(0, mk(&ks, "src", "S", true), T0 + 1000);
	dst = store_put(0, mk(&kd, "dst", "D", false), STORE_NO_EXPIRE);
	ntrace = 0;
	n = store_rename(0, src, 0, &kd);
	assert_non_null(n);
	assert_null(store_find(0, &ks, T0));
	assert_ptr_equal(store_find(0, &kd, T0), n);
	assert_int_equal(sobj_expire(n), T0 + 1000);
	assert_memory_equal(sobj_val(n), "S", 1);
	assert_int_equal(ntrace, 5);
	expect(0, 'P', STORE_CHG_RENAME, "src", NULL);
	assert_ptr_equal(trace[0].old, src);
	assert_string_equal(trace[0].value, "S");
	expect(1, 'P', STORE_CHG_RENAME, "src", NULL);
	assert_ptr_equal(trace[1].old, dst);
	assert_string_equal(trace[1].value, "D");
	expect(2, 'L', STORE_CHG_RENAME, "src", NULL);
	assert_ptr_equal(trace[2].old, src);
	assert_ptr_equal(trace[2].obj, n);
	assert_ptr_equal(trace[2].dst_old, dst);
	assert_int_equal(trace[2].expire_at, T0 + 1000);
	expect(3, 'E', STORE_CHG_RENAME, "src", "rename_from");
	expect(4, 'E', STORE_CHG_RENAME, "dst", "rename_to");
	assert_int_equal(store_dirty_total(), 3);
	assert_int_equal(store_dbsize(0), 1);
	assert_int_equal(store_db_expires(0), 1);

	/* The same name: nothing. */
	ntrace = 0;
	assert_ptr_equal(store_rename(0, n, 0, &kd), n);
	assert_int_equal(ntrace, 0);
	assert_int_equal(store_dirty_total(), 3);

	/* MOVE to db 1, where the key is free. */
	ntrace = 0;
	src = n;
	n = store_rename(0, src, 1, &kd);
	assert_non_null(n);
	assert_null(store_find(0, &kd, T0));
	assert_ptr_equal(store_find(1, &kd, T0), n);
	assert_int_equal(ntrace, 4);
	expect(0, 'P', STORE_CHG_RENAME, "dst", NULL);
	expect(1, 'L', STORE_CHG_RENAME, "dst", NULL);
	assert_null(trace[1].dst_old);
	expect(2, 'E', STORE_CHG_RENAME, "dst", "move_from");
	assert_int_equal(trace[2].db, 0);
	expect(3, 'E', STORE_CHG_RENAME, "dst", "move_to");
	assert_int_equal(trace[3].db, 1);
	assert_int_equal(store_dirty_total(), 4);
	assert_int_equal(store_db_expires(0), 0);
	assert_int_equal(store_db_expires(1), 1);
}

static unsigned bodies_freed;

static void count_free(void *body)
{
	bodies_freed++;
	free(body);
}

/* A renamed pointer-form object takes its body along: the source's grace
 * period does not free it, the destination's delete does, once. */
static void test_rename_moves_body(void **state)
{
	struct sobj *o, *n;
	struct skey ks, kd;
	void *body = malloc(64);
	uint64_t start;
	char dkey[16];
	unsigned i;

	(void)state;
	bodies_freed = 0;
	store_type_register(SOBJ_HASH, count_free);

	skey_init(&ks, "h1", 2);
	/* A destination in the same shard: its table exists already. */
	for (i = 0;; i++) {
		snprintf(dkey, sizeof(dkey), "h2:%u", i);
		skey_init(&kd, dkey, strlen(dkey));
		if (store_owner(kd.slot) == store_owner(ks.slot))
			break;
	}
	o = sobj_new_ptr(&ks, SOBJ_HASH, SOBJ_ENC_LISTPACK, body, 64);
	assert_non_null(store_put(0, o, STORE_NO_EXPIRE));
	start = store_used() - sobj_usage(o);
	n = store_rename(0, o, 0, &kd);
	assert_non_null(n);
	assert_int_equal(sobj_type(n), SOBJ_HASH);
	assert_int_equal(sobj_enc(n), SOBJ_ENC_LISTPACK);
	assert_ptr_equal(sobj_body(n), body);
	assert_int_equal(sobj_body_bytes(n), 64);
	assert_int_equal(store_used(), start + sobj_usage(n));
	store_retire_flush();
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	assert_int_equal(bodies_freed, 0);
	assert_int_equal(store_delete(0, &kd, T0), 1);
	assert_int_equal(store_used(), start);
	store_retire_flush();
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	assert_int_equal(bodies_freed, 1);
	store_type_register(SOBJ_HASH, NULL);
}

static void test_expired_and_evicted(void **state)
{
	struct sobj *o;
	struct skey k;
	uint64_t d0;
	unsigned i, s;

	(void)state;
	o = store_put(0, mk(&k, "lazy", "v", true), T0 + 10);
	d0 = store_dirty_total();
	ntrace = 0;
	assert_null(store_find_w(0, &k, T0 + 10));
	assert_int_equal(ntrace, 3);
	expect(0, 'P', STORE_CHG_EXPIRED, "lazy", NULL);
	assert_ptr_equal(trace[0].old, o);
	expect(1, 'L', STORE_CHG_EXPIRED, "lazy", NULL);
	assert_null(trace[1].obj);
	expect(2, 'E', STORE_CHG_EXPIRED, "lazy", "expired");
	/* Redis counts no expired key in server.dirty. */
	assert_int_equal(store_dirty_total(), d0);

	o = store_put(0, mk(&k, "active", "v", true), T0 + 10);
	s = store_owner(k.slot);
	d0 = store_dirty_total();
	ntrace = 0;
	assert_int_equal(store_active_expire(s, T0 + 10, 10), 1);
	assert_int_equal(ntrace, 3);
	expect(1, 'L', STORE_CHG_EXPIRED, "active", NULL);
	assert_ptr_equal(trace[1].old, o);
	assert_int_equal(store_dirty_total(), d0);

	o = store_put(0, mk(&k, "evictme", "v", false), STORE_NO_EXPIRE);
	s = store_owner(k.slot);
	d0 = store_dirty_total();
	ntrace = 0;
	store_evict_conf(STORE_EVICT_ALLKEYS_RANDOM, 5);
	assert_int_equal(store_evict(s, UINT64_MAX, 1, T0, NULL), 1);
	store_evict_conf(STORE_EVICT_NONE, 5);
	assert_int_equal(ntrace, 3);
	expect(0, 'P', STORE_CHG_EVICTED, "evictme", NULL);
	expect(1, 'L', STORE_CHG_EVICTED, "evictme", NULL);
	assert_ptr_equal(trace[1].old, o);
	expect(2, 'E', STORE_CHG_EVICTED, "evictme", "evicted");
	assert_int_equal(store_dirty_total(), d0);
	for (i = 0; i < store_nshards(); i++) {
		struct store_stats st;

		store_shard_stats(i, &st);
		assert_int_equal(st.evicted_keys, i == s);
	}
}

static void test_flush(void **state)
{
	char key[16];
	struct skey k;
	unsigned i;

	(void)state;
	/* Nothing to remove: no hook, no count. */
	store_flush(UINT32_MAX);
	assert_int_equal(ntrace, 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "f%u", i);
		store_put(i < 7 ? 0 : 1, mk(&k, key, "v", false),
			  STORE_NO_EXPIRE);
	}
	ntrace = 0;
	store_flush(1);
	assert_int_equal(ntrace, 2);
	assert_int_equal(trace[0].hook, 'P');
	assert_int_equal(trace[0].kind, STORE_CHG_FLUSH);
	assert_null(trace[0].old);
	assert_int_equal(trace[0].keys, 3);
	assert_int_equal(trace[0].db, 1);
	assert_int_equal(trace[1].hook, 'L');
	assert_int_equal(trace[1].keys, 3);
	assert_int_equal(store_dirty_total(), 13);

	ntrace = 0;
	store_flush(UINT32_MAX);
	assert_int_equal(ntrace, 2);
	assert_int_equal(trace[1].kind, STORE_CHG_FLUSH);
	assert_int_equal(trace[1].db, UINT32_MAX);
	assert_int_equal(trace[1].keys, 7);
	assert_int_equal(store_dirty_total(), 20);
	assert_int_equal(store_dbsize(0), 0);

	ntrace = 0;
	store_flush(0);
	assert_int_equal(ntrace, 0);
	assert_int_equal(store_dirty_total(), 20);
}

/* The count is per shard, each change on its key's owner. */
static void test_dirty_per_shard(void **state)
{
	uint64_t per[STORE_MAX_SHARDS] = {0};
	char key[16];
	struct skey k;
	unsigned i;

	(void)state;
	store_door_setup(NULL); /* no consumer: the count still runs */
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "s%u", i);
		store_put(0, mk(&k, key, "v", false), STORE_NO_EXPIRE);
		per[store_owner(k.slot)]++;
	}
	for (i = 0; i < store_nshards(); i++) {
		assert_true(per[i] > 0);
		assert_int_equal(store_shard_dirty(i), per[i]);
	}
	assert_int_equal(store_dirty_total(), 200);
	store_flush(UINT32_MAX);
	for (i = 0; i < store_nshards(); i++)
		assert_int_equal(store_shard_dirty(i), 2 * per[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rename_and_move, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rename_moves_body, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expired_and_evicted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirty_per_shard, setup,
					    teardown),
	};
	int ret;

	rcu_register_thread();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_barrier();
	rcu_unregister_thread();
	return ret;
}
