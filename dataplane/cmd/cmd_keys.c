/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_keys: the generic keyspace commands (DEL, EXPIRE, RENAME, SCAN,
 * OBJECT, ...) plus DBSIZE / FLUSHDB / FLUSHALL.
 *
 * The dispatcher has already routed each command so that every key it
 * names is owned (or held) by the executing core; KEYS, SCAN and RANDOMKEY
 * name no key and read every shard under RCU from the client's core, so
 * their replies are built in a scratch buffer first: other cores may add or
 * remove keys while we walk, and an array header must match its elements.
 *
 * An object embeds its key, so RENAME, MOVE and COPY publish a new object
 * under the new name (carrying the expiry, and for RENAME/MOVE the access
 * time, as Redis moves the same robj) and then delete the old one.
 *
 * SCAN's cursor is a position in the store: the shard in its top 6 bits,
 * and in the low 58 the table position (reverse hash, store_walk_shard)
 * to resume at, shifted right by 6 (0 = start, 0 returned = done).  A
 * call steps over about COUNT keys, matching or not, as Redis's does.
 * Table positions survive resizes and mean the same on every core, so a
 * cursor stays valid whichever core serves the next call, and a key
 * present for the whole iteration is returned at least once; the 6 bits
 * dropped only ever move the resume point back, so a key may come twice
 * (as in Redis after a rehash).  The cursor is only valid on the server
 * that issued it (its hash seed is random per process).
 *
 * Errors, their order and hit/miss counting follow Redis 7.0 (db.c,
 * expire.c, object.c).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_pvt.h"
#include "glob.h"
#include "stats.h"

#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_keys.def"
#undef CMD
#undef SUB

static const char err_same[] =
    "ERR source and destination objects are the same";
static const char err_dbrange[] = "ERR DB index is out of range";

static inline bool same_arg(const struct resp_arg *a, const struct resp_arg *b)
{
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static const char *type_name(const struct sobj *o)
{
	switch (sobj_type(o)) {
	case SOBJ_STRING:
		return "string";
	case SOBJ_LIST:
		return "list";
	case SOBJ_SET:
		return "set";
	case SOBJ_ZSET:
		return "zset";
	case SOBJ_HASH:
		return "hash";
	case SOBJ_STREAM:
		return "stream";
	default:
		return "unknown";
	}
}

/* lookupKeyReadWithFlags(LOOKUP_NOTOUCH): counts a hit or a miss but
 * leaves the access time alone (EXISTS, TYPE, TTL, OBJECT). */
static struct sobj *lookup_notouch(struct cmd_ctx *c, const struct resp_arg *a)
{
	struct sobj *o;
	struct skey k;

	cmd_key(&k, a);
	o = cmd_peek(c, c->db, &k);
	if (o)
		c->st->keyspace_hits++;
	else
		c->st->keyspace_misses++;
	return o;
}

/* getIntFromObjectOrReply, then the database range check. */
static bool parse_db(struct cmd_ctx *c, const struct resp_arg *a, unsigned *db)
{
	long long v;

	if (!cmd_parse_ll(a, &v)) {
		resp_error(c->out, cmd_err_notint);
		return false;
	}
	if (v < INT_MIN || v > INT_MAX) {
		resp_error(c->out,
			   "ERR value is out of range, value must between "
			   "-2147483648 and 2147483647");
		return false;
	}
	if (v < 0 || v >= (long long)store_ndbs()) {
		resp_error(c->out, err_dbrange);
		return false;
	}
	*db = (unsigned)v;
	return true;
}

/* COPY: a string like o named k, accessed now, with room for o's expiry
 * if it has one; NULL after the OOM reply.  (RENAME and MOVE move the
 * object instead: store_rename.)  A pointer-form value will need its
 * type's deep copy here. */
static struct sobj *clone_as(struct cmd_ctx *c, const struct skey *k,
			     const struct sobj *o)
{
	struct sobj *n = sobj_new_string(k, sobj_val(o), sobj_vlen(o),
					 sobj_expire(o) != STORE_NO_EXPIRE);

	if (!n) {
		resp_error(c->out, cmd_err_oom);
		return NULL;
	}
	store_stamp(n, c->now_ms);
	return n;
}

/* ---- DEL, UNLINK, EXISTS, TOUCH, TYPE ------------------------------- */

void cmd_del(struct cmd_ctx *c)
{
	long long n = 0;
	struct skey k;

	for (int j = 1; j < c->argc; j++) {
		cmd_key(&k, &c->argv[j]);
		n += store_delete(c->db, &k, c->now_ms);
	}
	resp_int(c->out, n);
}

/* Memory is always reclaimed after a grace period: UNLINK is DEL. */
void cmd_unlink(struct cmd_ctx *c)
{
	cmd_del(c);
}

void cmd_exists(struct cmd_ctx *c)
{
	long long n = 0;

	for (int j = 1; j < c->argc; j++)
		n += lookup_notouch(c, &c->argv[j]) != NULL;
	resp_int(c->out, n);
}

void cmd_touch(struct cmd_ctx *c)
{
	long long n = 0;
	struct skey k;

	for (int j = 1; j < c->argc; j++) {
		cmd_key(&k, &c->argv[j]);
		n += cmd_read(c, c->db, &k) != NULL;
	}
	resp_int(c->out, n);
}

void cmd_type(struct cmd_ctx *c)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[1]);

	resp_simple(c->out, o ? type_name(o) : "none");
}

/* ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT ---------------------------- */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* parseExtendedExpireArgumentsOrReply: unknown words first, then the
 * incompatible combinations. */
static bool parse_expire_opts(struct cmd_ctx *c, unsigned *flags)
{
	unsigned f = 0;

	for (int j = 3; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];

		if (cmd_opt_is(a, "nx")) {
			f |= EXP_NX;
		} else if (cmd_opt_is(a, "xx")) {
			f |= EXP_XX;
		} else if (cmd_opt_is(a, "gt")) {
			f |= EXP_GT;
		} else if (cmd_opt_is(a, "lt")) {
			f |= EXP_LT;
		} else {
			resp_errorf(c->out, "ERR Unsupported option %.*s",
				    (int)cmd_word_len(a), a->ptr);
			return false;
		}
	}
	if ((f & EXP_NX) && (f & (EXP_XX | EXP_GT | EXP_LT))) {
		resp_error(c->out,
			   "ERR NX and XX, GT or LT options at the same "
			   "time are not compatible");
		return false;
	}
	if ((f & EXP_GT) && (f & EXP_LT)) {
		resp_error(c->out, "ERR GT and LT options at the same time are "
				   "not compatible");
		return false;
	}
	*flags = f;
	return true;
}

/* Whether NX/XX/GT/LT let `when` replace the current expiry cur (-1 =
 * none, which GT treats as infinite). */
static bool expire_allowed(unsigned f, int64_t cur, long long when)
{
	if ((f & EXP_NX) && cur != STORE_NO_EXPIRE)
		return false;
	if ((f & EXP_XX) && cur == STORE_NO_EXPIRE)
		return false;
	if ((f & EXP_GT) && (cur == STORE_NO_EXPIRE || when <= cur))
		return false;
	if ((f & EXP_LT) && cur != STORE_NO_EXPIRE && when >= cur)
		return false;
	return true;
}

/*
 * expireGenericCommand: base is now (EXPIRE, PEXPIRE) or 0 (the AT forms).
 * Negative times are allowed; only overflow is an error.  A time not in
 * the future deletes the key.
 */
static void expire_generic(struct cmd_ctx *c, long long base, bool secs,
			   const char *name)
{
	unsigned flags;
	long long when;
	struct sobj *o;
	struct skey k;

	if (!parse_expire_opts(c, &flags))
		return;
	if (!cmd_parse_ll(&c->argv[2], &when)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (secs) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
			goto invalid;
		when *= 1000;
	}
	if (when > LLONG_MAX - base)
		goto invalid;
	when += base;

	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (!o || !expire_allowed(flags, sobj_expire(o), when)) {
		resp_int(c->out, 0);
		return;
	}
	if (when <= c->now_ms) {
		store_delete(c->db, &k, c->now_ms);
	} else if (!store_set_expire(c->db, o, when)) {
		resp_error(c->out, cmd_err_oom);
		return;
	}
	resp_int(c->out, 1);
	return;
invalid:
	resp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
}

void cmd_expire(struct cmd_ctx *c)
{
	expire_generic(c, c->now_ms, true, "expire");
}

void cmd_pexpire(struct cmd_ctx *c)
{
	expire_generic(c, c->now_ms, false, "pexpire");
}

void cmd_expireat(struct cmd_ctx *c)
{
	expire_generic(c, 0, true, "expireat");
}

void cmd_pexpireat(struct cmd_ctx *c)
{
	expire_generic(c, 0, false, "pexpireat");
}

/* ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST --------------------- */

/*
 * ttlGenericCommand: -2 no key, -1 no expiry; seconds are rounded to the
 * nearest.  The rounding is done unsigned, as Redis's compiled code does,
 * so an expiry near LLONG_MAX ms still answers a positive number.
 */
static void ttl_generic(struct cmd_ctx *c, bool ms, bool abs)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[1]);
	long long expire, ttl;

	if (!o) {
		resp_int(c->out, -2);
		return;
	}
	/* The owner may change it while we read on another core (relaxed). */
	expire = sobj_expire(o);
	if (expire == STORE_NO_EXPIRE) {
		resp_int(c->out, -1);
		return;
	}
	ttl = abs ? expire : expire - c->now_ms;
	if (ttl < 0)
		ttl = 0;
	if (!ms)
		ttl = (long long)(((unsigned long long)ttl + 500) / 1000);
	resp_int(c->out, ttl);
}

void cmd_ttl(struct cmd_ctx *c)
{
	ttl_generic(c, false, false);
}

void cmd_pttl(struct cmd_ctx *c)
{
	ttl_generic(c, true, false);
}

void cmd_expiretime(struct cmd_ctx *c)
{
	ttl_generic(c, false, true);
}

void cmd_pexpiretime(struct cmd_ctx *c)
{
	ttl_generic(c, true, true);
}

void cmd_persist(struct cmd_ctx *c)
{
	struct sobj *o;
	struct skey k;

	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (!o || sobj_expire(o) == STORE_NO_EXPIRE) {
		resp_int(c->out, 0);
		return;
	}
	store_set_expire(c->db, o, STORE_NO_EXPIRE); /* in place: no memory */
	resp_int(c->out, 1);
}

/* ---- KEYS, SCAN, RANDOMKEY ------------------------------------------ */

/* What a walk collects: matching keys as RESP bulks in a scratch buffer. */
struct key_walk {
	struct cmd_ctx *c;
	const char *pat;
	size_t patlen;
	bool all;		     /* no pattern, or "*" */
	const struct resp_arg *type; /* SCAN TYPE, or NULL */
	struct resp_out buf;
	long n;
};

static void walk_init(struct key_walk *w, struct cmd_ctx *c,
		      const struct resp_arg *pat)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->all = !pat || (pat->len == 1 && pat->ptr[0] == '*');
	if (pat) {
		w->pat = pat->ptr;
		w->patlen = pat->len;
	}
	resp_out_init(&w->buf, c->out->proto);
	/* The client's output limit holds for the scratch too: KEYS on a big
	 * keyspace stops growing it at the limit (see walk_reply). */
	if (c->out->limit)
		w->buf.limit = c->out->limit > c->out->len
				   ? c->out->limit - c->out->len
				   : 1;
}

static void walk_visit(const struct sobj *o, void *arg)
{
	struct key_walk *w = arg;

	if (!w->all &&
	    !glob_match(w->pat, w->patlen, sobj_key(o), sobj_klen(o), false))
		return;
	if (w->type) {
		/* Redis 7.0 looks each candidate up (a keyspace hit) to
		 * learn its type; an unknown type name matches nothing. */
		w->c->st->keyspace_hits++;
		if (!cmd_opt_is(w->type, type_name(o)))
			return;
	}
	resp_bulk(&w->buf, sobj_key(o), sobj_klen(o));
	w->n++;
}

/* Reply the collected keys as one array (or OOM); frees the buffer. */
static void walk_reply(struct key_walk *w, struct resp_out *out)
{
	if (w->buf.oom == RESP_OOM_LIMIT) {
		resp_out_fail(out, RESP_OOM_LIMIT); /* conn closes the client */
	} else if (w->buf.oom) {
		resp_error(out, cmd_err_oom);
	} else {
		resp_array(out, w->n);
		resp_out_raw(out, w->buf.buf, w->buf.len);
	}
	resp_out_free(&w->buf);
}

void cmd_keys(struct cmd_ctx *c)
{
	struct key_walk w;

	walk_init(&w, c, &c->argv[1]);
	store_visit_all(c->db, c->now_ms, walk_visit, &w);
	walk_reply(&w, c->out);
}

/*
 * parseScanCursorOrReply: strtoul rules, as Redis applies them: no leading
 * space, an optional sign ("-1" wraps), decimal digits to the end (or to a
 * NUL byte); "" is 0.  Anything else is "invalid cursor".
 */
static bool parse_cursor(const struct resp_arg *a, unsigned long long *out)
{
	const char *p = a->ptr, *end = a->ptr + a->len;
	const char *nul = memchr(p, '\0', a->len);
	unsigned long long v = 0;
	bool neg = false;

	if (nul)
		end = nul;
	if (p == end) {
		*out = 0;
		return true;
	}
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (p != end)
		return false;
	*out = neg ? 0 - v : v;
	return true;
}

/* scanGenericCommand's options; the last MATCH / COUNT / TYPE wins. */
static bool parse_scan_opts(struct cmd_ctx *c, long long *count,
			    const struct resp_arg **pat,
			    const struct resp_arg **type)
{
	for (int j = 2; j < c->argc; j += 2) {
		const struct resp_arg *a = &c->argv[j];

		if (j + 1 >= c->argc)
			goto syntax;
		if (cmd_opt_is(a, "count")) {
			if (!cmd_parse_ll(&c->argv[j + 1], count)) {
				resp_error(c->out, cmd_err_notint);
				return false;
			}
			if (*count < 1)
				goto syntax;
		} else if (cmd_opt_is(a, "match")) {
			*pat = &c->argv[j + 1];
		} else if (cmd_opt_is(a, "type")) {
			*type = &c->argv[j + 1];
		} else {
			goto syntax;
		}
	}
	return true;
syntax:
	resp_error(c->out, cmd_err_syntax);
	return false;
}

#define SCAN_SHARD_SHIFT 58
#define SCAN_POS_MASK ((1ULL << SCAN_SHARD_SHIFT) - 1)

/*
 * Walk from cursor, stepping over about count keys; returns the next
 * cursor.  A walk that ends a shard with budget left goes on with the
 * next one.  Shard 0 cannot stop at a position below 64 after stepping on
 * a key (store_walk_shard's stop rule), so 0 means done and nothing else.
 */
static uint64_t scan_walk(struct cmd_ctx *c, uint64_t cursor, uint64_t count,
			  struct key_walk *w)
{
	unsigned shard = (unsigned)(cursor >> SCAN_SHARD_SHIFT);
	uint64_t pos = (cursor & SCAN_POS_MASK) << 6, stepped;

	while (shard < store_nshards()) {
		if (store_walk_shard(shard, c->db, &pos, count, c->now_ms,
				     walk_visit, w, &stepped))
			return (uint64_t)shard << SCAN_SHARD_SHIFT | pos >> 6;
		shard++;
		pos = 0;
		if (stepped >= count)
			break;
		count -= stepped;
	}
	return shard < store_nshards() ? (uint64_t)shard << SCAN_SHARD_SHIFT
				       : 0;
}

void cmd_scan(struct cmd_ctx *c)
{
	const struct resp_arg *pat = NULL, *type = NULL;
	unsigned long long cursor, next;
	long long count = 10;
	struct key_walk w;
	char buf[24];

	if (!parse_cursor(&c->argv[1], &cursor)) {
		resp_error(c->out, "ERR invalid cursor");
		return;
	}
	if (!parse_scan_opts(c, &count, &pat, &type))
		return;
	walk_init(&w, c, pat);
	w.type = type;
	next = scan_walk(c, cursor, (uint64_t)count, &w);
	if (w.buf.oom) {
		walk_reply(&w, c->out);
		return;
	}
	resp_array(c->out, 2);
	resp_bulk(c->out, buf,
		  (size_t)snprintf(buf, sizeof(buf), "%llu", next));
	walk_reply(&w, c->out);
}

void cmd_randomkey(struct cmd_ctx *c)
{
	const struct sobj *o = store_random(c->db, c->now_ms, c->rng);

	if (o)
		resp_bulk(c->out, sobj_key(o), sobj_klen(o));
	else
		resp_null(c->out);
}

/* ---- RENAME, RENAMENX, MOVE, COPY ----------------------------------- */

/* renameGenericCommand: a missing source is an error even when both
 * names are the same; the same name is then a no-op. */
static void rename_generic(struct cmd_ctx *c, bool nx)
{
	struct sobj *o;
	struct skey src, dst;

	cmd_key(&src, &c->argv[1]);
	o = cmd_write(c, c->db, &src);
	if (!o) {
		resp_error(c->out, cmd_err_nokey);
		return;
	}
	if (same_arg(&c->argv[1], &c->argv[2])) {
		if (nx)
			resp_int(c->out, 0);
		else
			resp_ok(c->out);
		return;
	}
	cmd_key(&dst, &c->argv[2]);
	if (cmd_write(c, c->db, &dst) && nx) {
		resp_int(c->out, 0);
		return;
	}
	if (!store_rename(c->db, o, c->db, &dst)) {
		resp_error(c->out, cmd_err_oom);
		return;
	}
	if (nx)
		resp_int(c->out, 1);
	else
		resp_ok(c->out);
}

void cmd_rename(struct cmd_ctx *c)
{
	rename_generic(c, false);
}

void cmd_renamenx(struct cmd_ctx *c)
{
	rename_generic(c, true);
}

void cmd_move(struct cmd_ctx *c)
{
	struct sobj *o;
	unsigned dstdb;
	struct skey k;

	if (!parse_db(c, &c->argv[2], &dstdb))
		return;
	if (dstdb == c->db) {
		resp_error(c->out, err_same);
		return;
	}
	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (!o || cmd_write(c, dstdb, &k)) {
		resp_int(c->out, 0);
		return;
	}
	if (!store_rename(c->db, o, dstdb, &k)) {
		resp_error(c->out, cmd_err_oom);
		return;
	}
	resp_int(c->out, 1);
}

void cmd_copy(struct cmd_ctx *c)
{
	unsigned dstdb = c->db;
	bool replace = false;
	struct sobj *o, *n;
	struct skey src, dst;

	for (int j = 3; j < c->argc; j++) {
		if (cmd_opt_is(&c->argv[j], "replace")) {
			replace = true;
		} else if (cmd_opt_is(&c->argv[j], "db") && j + 1 < c->argc) {
			if (!parse_db(c, &c->argv[++j], &dstdb))
				return;
		} else {
			resp_error(c->out, cmd_err_syntax);
			return;
		}
	}
	if (dstdb == c->db && same_arg(&c->argv[1], &c->argv[2])) {
		resp_error(c->out, err_same);
		return;
	}
	cmd_key(&src, &c->argv[1]);
	o = cmd_read(c, c->db, &src);
	cmd_key(&dst, &c->argv[2]);
	if (!o || (cmd_write(c, dstdb, &dst) && !replace)) {
		resp_int(c->out, 0);
		return;
	}
	n = clone_as(c, &dst, o);
	c->event = "copy_to";
	if (!n || !cmd_put(c, dstdb, n, sobj_expire(o)))
		return;
	resp_int(c->out, 1);
}

/* ---- OBJECT --------------------------------------------------------- */

/*
 * Redis keeps a string as a long ("int") when it is a canonical integer,
 * else embedded in its header up to 44 bytes ("embstr"), else "raw".
 * Integers 0..9999 are one shared object (refcount INT_MAX) unless an
 * LRU/LFU policy with a maxmemory needs per-key access times.
 */
static bool value_ll(const struct sobj *o, long long *v)
{
	struct resp_arg a = {.ptr = sobj_val(o), .len = sobj_vlen(o)};

	return cmd_parse_ll(&a, v);
}

/* A collection's encoding is in its header (store_obj.h). */
static const char *const enc_names[SOBJ_NENCS] = {
    [SOBJ_ENC_LISTPACK] = "listpack", [SOBJ_ENC_QUICKLIST] = "quicklist",
    [SOBJ_ENC_INTSET] = "intset",     [SOBJ_ENC_HASHTABLE] = "hashtable",
    [SOBJ_ENC_SKIPLIST] = "skiplist", [SOBJ_ENC_STREAM] = "stream",
};

void cmd_object_encoding(struct cmd_ctx *c)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[2]);
	long long v;

	if (!o)
		resp_null(c->out);
	else if (sobj_is_ptr(o))
		resp_bulk_str(c->out, enc_names[sobj_enc(o)]
					  ? enc_names[sobj_enc(o)]
					  : "unknown");
	else if (value_ll(o, &v))
		resp_bulk_str(c->out, "int");
	else
		resp_bulk_str(c->out, sobj_vlen(o) <= 44 ? "embstr" : "raw");
}

void cmd_object_refcount(struct cmd_ctx *c)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[2]);
	const struct cmd_params *p;
	long long v;

	if (!o) {
		resp_null(c->out);
		return;
	}
	p = cmd_params();
	if (value_ll(o, &v) && v >= 0 && v < 10000 &&
	    (p->maxmemory == 0 || !(p->policy_lru || p->policy_lfu)))
		resp_int(c->out, INT_MAX);
	else
		resp_int(c->out, 1);
}

void cmd_object_idletime(struct cmd_ctx *c)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[2]);

	if (!o) {
		resp_null(c->out);
		return;
	}
	if (cmd_params()->policy_lfu) {
		resp_error(c->out,
			   "ERR An LFU maxmemory policy is selected, "
			   "idle time not tracked. Please note that when "
			   "switching between policies at runtime LRU and LFU "
			   "data will take some time to adjust.");
		return;
	}
	resp_int(c->out, (long long)store_idle_seconds(o, c->now_ms));
}

void cmd_object_freq(struct cmd_ctx *c)
{
	const struct sobj *o = lookup_notouch(c, &c->argv[2]);

	if (!o) {
		resp_null(c->out);
		return;
	}
	if (!cmd_params()->policy_lfu) {
		resp_error(
		    c->out,
		    "ERR An LFU maxmemory policy is not selected, "
		    "access frequency not tracked. Please note that when "
		    "switching between policies at runtime LRU and LFU "
		    "data will take some time to adjust.");
		return;
	}
	resp_int(c->out, store_lfu_freq(o, c->now_ms));
}

static const char *const object_help[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the "
    "value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer "
    "is",
    "    proportional to the logarithm of the recent access frequency of the "
    "key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the "
    "specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

void cmd_object_help(struct cmd_ctx *c)
{
	size_t n = sizeof(object_help) / sizeof(object_help[0]);

	resp_array(c->out, (long)n);
	for (size_t i = 0; i < n; i++)
		resp_simple(c->out, object_help[i]);
}

/* ---- DBSIZE, FLUSHDB, FLUSHALL -------------------------------------- */

void cmd_dbsize(struct cmd_ctx *c)
{
	resp_int(c->out, (long long)store_dbsize(c->db));
}

/* getFlushCommandFlags: nothing, SYNC or ASYNC.  Both modes are the same
 * here: the store swaps in empty tables and reclaims in the background. */
static bool flush_args_ok(struct cmd_ctx *c)
{
	if (c->argc > 2 || (c->argc == 2 && !cmd_opt_is(&c->argv[1], "sync") &&
			    !cmd_opt_is(&c->argv[1], "async"))) {
		resp_error(c->out, cmd_err_syntax);
		return false;
	}
	return true;
}

void cmd_flushdb(struct cmd_ctx *c)
{
	if (!flush_args_ok(c))
		return;
	store_flush(c->db);
	resp_ok(c->out);
}

void cmd_flushall(struct cmd_ctx *c)
{
	if (!flush_args_ok(c))
		return;
	store_flush(UINT32_MAX);
	resp_ok(c->out);
}
