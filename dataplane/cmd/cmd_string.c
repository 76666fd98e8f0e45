/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_string: GET, SET and the rest of Redis's string family.
 *
 * Values are immutable once published, so every write builds a new object
 * (sobj_new_string, filled through sobj_val_w) and store_put()s it; the old
 * one is reclaimed after an RCU grace period.  Where Redis keeps a key's TTL
 * across a change (INCR*, APPEND, SETRANGE, SET KEEPTTL) the old expiry is
 * passed to store_put(); everything else that sets a value clears it.
 *
 * Errors, their order and the lookups that count keyspace hits follow
 * Redis 7.0 (t_string.c) exactly: option syntax, then numeric arguments,
 * then the key.
 *
 * GET, SET and MGET are the hot path: no formatting and no allocation
 * beyond the new object itself.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_pvt.h"

#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_string.def"
#undef CMD
#undef SUB

static inline bool is_string(const struct sobj *o)
{
	return sobj_type(o) == SOBJ_STRING;
}

static inline struct resp_arg val_arg(const struct sobj *o)
{
	return (struct resp_arg){.ptr = sobj_val(o), .len = sobj_vlen(o)};
}

static inline void reply_val(struct resp_out *out, const struct sobj *o)
{
	resp_bulk(out, sobj_val(o), sobj_vlen(o));
}

/*
 * Redis's checkStringLength: a string of size + add bytes must not exceed
 * proto-max-bulk-len.  Replies the error and returns false otherwise.
 */
static bool check_len(struct cmd_ctx *c, unsigned long long size,
		      unsigned long long add)
{
	unsigned long long total = size + add;

	if (total < size ||
	    total > (unsigned long long)cmd_params()->proto_max_bulk_len) {
		resp_error(c->out, "ERR string exceeds maximum allowed size "
				   "(proto-max-bulk-len)");
		return false;
	}
	return true;
}

/*
 * A new object for key k holding val[0..len) (or len bytes to fill when val
 * is NULL), with room for an expiry when it will get one, stamped as
 * accessed now as Redis's createObject does; NULL after replying the OOM
 * error.
 */
static struct sobj *new_obj(struct cmd_ctx *c, const struct skey *k,
			    const void *val, size_t len, int64_t expire)
{
	struct sobj *o =
	    sobj_new_string(k, val, len, expire != STORE_NO_EXPIRE);

	if (!o) {
		resp_error(c->out, cmd_err_oom);
		return NULL;
	}
	store_stamp(o, c->now_ms);
	return o;
}

/* Publish key k = val[0..len) with the given expiry; false (and the OOM
 * reply) when the object cannot be allocated. */
static bool put_value(struct cmd_ctx *c, const struct skey *k, const void *val,
		      size_t len, int64_t expire)
{
	struct sobj *o = new_obj(c, k, val, len, expire);

	return o && cmd_put(c, c->db, o, expire);
}

/* ---- GET ------------------------------------------------------------ */

void cmd_get(struct cmd_ctx *c)
{
	struct skey k;
	const struct sobj *o;

	cmd_key(&k, &c->argv[1]);
	o = cmd_read(c, c->db, &k);
	if (!o)
		resp_null(c->out);
	else if (!is_string(o))
		resp_error(c->out, cmd_err_wrongtype);
	else
		reply_val(c->out, o);
}

/* ---- SET and its options (shared with GETEX) ------------------------ */

enum {
	SO_NX = 1 << 0,
	SO_XX = 1 << 1,
	SO_GET = 1 << 2,
	SO_KEEPTTL = 1 << 3,
	SO_PERSIST = 1 << 4,
	SO_EX = 1 << 5,
	SO_PX = 1 << 6,
	SO_EXAT = 1 << 7,
	SO_PXAT = 1 << 8,
};
#define SO_ANY_EXPIRE (SO_EX | SO_PX | SO_EXAT | SO_PXAT)

/*
 * Redis's parseExtendedStringArgumentsOrReply: the options of SET
 * (is_set) or GETEX from argv[first] on.  Repeating the same expiry option
 * is allowed (the last one wins), mixing two kinds is not.  Returns false
 * after replying "ERR syntax error".
 */
static bool parse_set_opts(struct cmd_ctx *c, int first, bool is_set,
			   unsigned *flags, const struct resp_arg **expire)
{
	for (int j = first; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];
		bool next = j + 1 < c->argc;
		unsigned f = *flags, want = 0, excl = 0;

		if (is_set && cmd_opt_is(a, "nx")) {
			want = SO_NX, excl = SO_XX;
		} else if (is_set && cmd_opt_is(a, "xx")) {
			want = SO_XX, excl = SO_NX;
		} else if (is_set && cmd_opt_is(a, "get")) {
			want = SO_GET;
		} else if (is_set && cmd_opt_is(a, "keepttl")) {
			want = SO_KEEPTTL, excl = SO_PERSIST | SO_ANY_EXPIRE;
		} else if (!is_set && cmd_opt_is(a, "persist")) {
			want = SO_PERSIST, excl = SO_KEEPTTL | SO_ANY_EXPIRE;
		} else if (next && cmd_opt_is(a, "ex")) {
			want = SO_EX;
		} else if (next && cmd_opt_is(a, "px")) {
			want = SO_PX;
		} else if (next && cmd_opt_is(a, "exat")) {
			want = SO_EXAT;
		} else if (next && cmd_opt_is(a, "pxat")) {
			want = SO_PXAT;
		}
		if (want & SO_ANY_EXPIRE)
			excl =
			    (SO_KEEPTTL | SO_PERSIST | SO_ANY_EXPIRE) & ~want;
		if (!want || (f & excl)) {
			resp_error(c->out, cmd_err_syntax);
			return false;
		}
		*flags = f | want;
		if (want & SO_ANY_EXPIRE)
			*expire = &c->argv[++j];
	}
	return true;
}

/*
 * Redis's getExpireMillisecondsOrReply: the absolute expiry in unix ms for
 * an EX/PX (relative) or EXAT/PXAT (absolute) argument.  Zero, negative and
 * overflowing values are "invalid expire time in '<name>' command".
 */
static bool expire_ms(struct cmd_ctx *c, const struct resp_arg *a,
		      unsigned flags, const char *name, int64_t *out)
{
	bool secs = flags & (SO_EX | SO_EXAT);
	long long ms;

	if (!cmd_parse_ll(a, &ms)) {
		resp_error(c->out, cmd_err_notint);
		return false;
	}
	if (ms <= 0 || (secs && ms > LLONG_MAX / 1000))
		goto invalid;
	if (secs)
		ms *= 1000;
	if ((flags & (SO_EX | SO_PX)) &&
	    __builtin_add_overflow(ms, (long long)c->now_ms, &ms))
		goto invalid;
	if (ms <= 0)
		goto invalid;
	*out = ms;
	return true;
invalid:
	resp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
	return false;
}

/*
 * setGenericCommand: flags select NX/XX/GET/KEEPTTL, expire (or NULL) is
 * the raw EX/PX/EXAT/PXAT argument.  nx_reply makes SETNX answer :1/:0
 * instead of +OK / null.  The new object is allocated before anything is
 * replied, so running out of memory is the only reply.
 */
static void set_generic(struct cmd_ctx *c, unsigned flags,
			const struct resp_arg *key, const struct resp_arg *val,
			const struct resp_arg *expire, const char *name,
			bool nx_reply)
{
	int64_t when = STORE_NO_EXPIRE;
	const struct sobj *old = NULL;
	struct sobj *n = NULL;
	struct skey k;
	bool skip;

	if (expire && !expire_ms(c, expire, flags, name, &when))
		return;
	cmd_key(&k, key);
	if (flags & SO_GET) {
		old = cmd_read(c, c->db, &k);
		if (old && !is_string(old)) {
			resp_error(c->out, cmd_err_wrongtype);
			return;
		}
	} else if (flags & (SO_NX | SO_XX | SO_KEEPTTL)) {
		old = cmd_write(c, c->db, &k);
	}
	skip = ((flags & SO_NX) && old) || ((flags & SO_XX) && !old);
	if ((flags & SO_KEEPTTL) && old)
		when = sobj_expire(old);
	/* Publish before any reply so that running out of memory is the only
	 * reply; old stays readable until the end of the turn. */
	if (!skip) {
		n = new_obj(c, &k, val->ptr, val->len, when);
		if (!n || !cmd_put(c, c->db, n, when))
			return;
	}
	if (flags & SO_GET) {
		if (old)
			reply_val(c->out, old);
		else
			resp_null(c->out);
	}
	if (skip) {
		if (nx_reply)
			resp_int(c->out, 0);
		else if (!(flags & SO_GET))
			resp_null(c->out);
		return;
	}
	if (nx_reply)
		resp_int(c->out, 1);
	else if (!(flags & SO_GET))
		resp_ok(c->out);
}

void cmd_set(struct cmd_ctx *c)
{
	const struct resp_arg *expire = NULL;
	unsigned flags = 0;

	if (c->argc > 3 && !parse_set_opts(c, 3, true, &flags, &expire))
		return;
	set_generic(c, flags, &c->argv[1], &c->argv[2], expire, "set", false);
}

void cmd_setnx(struct cmd_ctx *c)
{
	set_generic(c, SO_NX, &c->argv[1], &c->argv[2], NULL, "setnx", true);
}

void cmd_setex(struct cmd_ctx *c)
{
	set_generic(c, SO_EX, &c->argv[1], &c->argv[3], &c->argv[2], "setex",
		    false);
}

void cmd_psetex(struct cmd_ctx *c)
{
	set_generic(c, SO_PX, &c->argv[1], &c->argv[3], &c->argv[2], "psetex",
		    false);
}

/* ---- GETEX, GETDEL, GETSET ------------------------------------------ */

/* The string at argv[1] through cmd_read, or NULL after replying null or
 * WRONGTYPE. */
static struct sobj *read_string_or_reply(struct cmd_ctx *c, struct skey *k)
{
	struct sobj *o;

	cmd_key(k, &c->argv[1]);
	o = cmd_read(c, c->db, k);
	if (!o) {
		resp_null(c->out);
		return NULL;
	}
	if (!is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return NULL;
	}
	return o;
}

void cmd_getex(struct cmd_ctx *c)
{
	const struct resp_arg *expire = NULL;
	int64_t when = 0;
	unsigned flags = 0;
	struct sobj *o;
	struct skey k;

	if (!parse_set_opts(c, 2, false, &flags, &expire))
		return;
	o = read_string_or_reply(c, &k);
	if (!o)
		return;
	/* Redis validates the time only once it knows the key exists. */
	if (expire && !expire_ms(c, expire, flags, "getex", &when))
		return;
	/* Change first (adding an expiry may need memory), then reply from
	 * o, which stays readable until the end of the turn. */
	if ((flags & (SO_EXAT | SO_PXAT)) && when <= c->now_ms) {
		store_delete(c->db, &k, c->now_ms);
	} else if (expire || ((flags & SO_PERSIST) &&
			      sobj_expire(o) != STORE_NO_EXPIRE)) {
		if (!store_set_expire(c->db, o,
				      expire ? when : STORE_NO_EXPIRE)) {
			resp_error(c->out, cmd_err_oom);
			return;
		}
	}
	reply_val(c->out, o);
}

void cmd_getdel(struct cmd_ctx *c)
{
	struct sobj *o;
	struct skey k;

	o = read_string_or_reply(c, &k);
	if (!o)
		return;
	reply_val(c->out, o);
	store_delete(c->db, &k, c->now_ms);
}

void cmd_getset(struct cmd_ctx *c)
{
	const struct resp_arg *v = &c->argv[2];
	struct sobj *old, *n;
	struct skey k;

	cmd_key(&k, &c->argv[1]);
	old = cmd_read(c, c->db, &k);
	if (old && !is_string(old)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	/* Publish before replying so a failure is the only reply. */
	n = new_obj(c, &k, v->ptr, v->len, STORE_NO_EXPIRE);
	if (!n || !cmd_put(c, c->db, n, STORE_NO_EXPIRE))
		return;
	if (old)
		reply_val(c->out, old);
	else
		resp_null(c->out);
}

/* ---- MGET, MSET, MSETNX --------------------------------------------- */

void cmd_mget(struct cmd_ctx *c)
{
	struct skey k;

	resp_array(c->out, c->argc - 1);
	for (int j = 1; j < c->argc; j++) {
		const struct sobj *o;

		cmd_key(&k, &c->argv[j]);
		o = cmd_read(c, c->db, &k);
		if (o && is_string(o))
			reply_val(c->out, o);
		else
			resp_null(c->out);
	}
}

/* Set every pair; false after an allocation failure (and its reply). */
static bool mset_all(struct cmd_ctx *c)
{
	struct skey k;

	for (int j = 1; j < c->argc; j += 2) {
		cmd_key(&k, &c->argv[j]);
		if (!put_value(c, &k, c->argv[j + 1].ptr, c->argv[j + 1].len,
			       STORE_NO_EXPIRE))
			return false;
	}
	return true;
}

void cmd_mset(struct cmd_ctx *c)
{
	if (c->argc % 2 == 0) {
		resp_error(c->out,
			   "ERR wrong number of arguments for 'mset' command");
		return;
	}
	if (mset_all(c))
		resp_ok(c->out);
}

void cmd_msetnx(struct cmd_ctx *c)
{
	struct skey k;

	if (c->argc % 2 == 0) {
		resp_error(
		    c->out,
		    "ERR wrong number of arguments for 'msetnx' command");
		return;
	}
	for (int j = 1; j < c->argc; j += 2) {
		cmd_key(&k, &c->argv[j]);
		if (cmd_write(c, c->db, &k)) {
			resp_int(c->out, 0);
			return;
		}
	}
	if (mset_all(c))
		resp_int(c->out, 1);
}

/* ---- INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT ------------------------ */

/* incrDecrCommand: the key keeps its TTL. */
static void incr_by(struct cmd_ctx *c, long long incr)
{
	char buf[24];
	long long v = 0;
	struct sobj *o;
	struct skey k;

	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (o && !is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	if (o) {
		struct resp_arg a = val_arg(o);

		if (!cmd_parse_ll(&a, &v)) {
			resp_error(c->out, cmd_err_notint);
			return;
		}
	}
	if (__builtin_add_overflow(v, incr, &v)) {
		resp_error(c->out, cmd_err_overflow);
		return;
	}
	c->event = "incrby"; /* Redis's name for all four */
	if (put_value(c, &k, buf, (size_t)resp_ll2str(buf, v),
		      o ? sobj_expire(o) : STORE_NO_EXPIRE))
		resp_int(c->out, v);
}

void cmd_incr(struct cmd_ctx *c)
{
	incr_by(c, 1);
}

void cmd_decr(struct cmd_ctx *c)
{
	incr_by(c, -1);
}

void cmd_incrby(struct cmd_ctx *c)
{
	long long incr;

	if (!cmd_parse_ll(&c->argv[2], &incr)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	incr_by(c, incr);
}

void cmd_decrby(struct cmd_ctx *c)
{
	long long incr;

	if (!cmd_parse_ll(&c->argv[2], &incr)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (incr == LLONG_MIN) {
		resp_error(c->out, "ERR decrement would overflow");
		return;
	}
	incr_by(c, -incr);
}

/* Redis's MAX_LONG_DOUBLE_CHARS: "%.17Lf" of any finite long double fits. */
#define LD_BUF 5120

/*
 * Redis's ld2string(LD_STR_HUMAN): "%.17Lf", then trailing zeros (and a
 * bare '.') trimmed, and "-0" written as "0".  So 10.5 + 0.1 gives "10.6"
 * and 1e20 gives "100000000000000000000", never an exponent.
 */
static size_t ld_to_human(char *buf, size_t size, long double v)
{
	int n = snprintf(buf, size, "%.17Lf", v);
	size_t l;

	if (n < 0 || (size_t)n >= size)
		return 0;
	l = (size_t)n;
	if (memchr(buf, '.', l)) {
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	return l;
}

void cmd_incrbyfloat(struct cmd_ctx *c)
{
	long double v = 0, incr;
	char buf[LD_BUF];
	struct sobj *o;
	struct skey k;
	size_t len;

	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (o && !is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	if (o) {
		struct resp_arg a = val_arg(o);

		if (!cmd_parse_ld(&a, &v)) {
			resp_error(c->out, cmd_err_notfloat);
			return;
		}
	}
	if (!cmd_parse_ld(&c->argv[2], &incr)) {
		resp_error(c->out, cmd_err_notfloat);
		return;
	}
	v += incr;
	if (isnan(v) || isinf(v)) {
		resp_error(c->out,
			   "ERR increment would produce NaN or Infinity");
		return;
	}
	len = ld_to_human(buf, sizeof(buf), v);
	c->event = "incrbyfloat";
	if (put_value(c, &k, buf, len, o ? sobj_expire(o) : STORE_NO_EXPIRE))
		resp_bulk(c->out, buf, len);
}

/* ---- APPEND, STRLEN, GETRANGE, SETRANGE ----------------------------- */

void cmd_append(struct cmd_ctx *c)
{
	const struct resp_arg *add = &c->argv[2];
	struct sobj *o, *n;
	struct skey k;
	size_t total, olen;
	int64_t e;

	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	c->event = "append";
	if (!o) {
		if (put_value(c, &k, add->ptr, add->len, STORE_NO_EXPIRE))
			resp_int(c->out, (long long)add->len);
		return;
	}
	if (!is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	olen = sobj_vlen(o);
	if (!check_len(c, olen, add->len))
		return;
	total = olen + add->len;
	e = sobj_expire(o);
	n = new_obj(c, &k, NULL, total, e);
	if (!n)
		return;
	memcpy(sobj_val_w(n), sobj_val(o), olen);
	memcpy(sobj_val_w(n) + olen, add->ptr, add->len);
	if (cmd_put(c, c->db, n, e))
		resp_int(c->out, (long long)total);
}

void cmd_strlen(struct cmd_ctx *c)
{
	const struct sobj *o;
	struct skey k;

	cmd_key(&k, &c->argv[1]);
	o = cmd_read(c, c->db, &k);
	if (!o)
		resp_int(c->out, 0);
	else if (!is_string(o))
		resp_error(c->out, cmd_err_wrongtype);
	else
		resp_int(c->out, sobj_vlen(o));
}

/* getrangeCommand: negative indexes count from the end, both ends are
 * clamped, an empty range is an empty bulk string. */
void cmd_getrange(struct cmd_ctx *c)
{
	long long start, end, len;
	const struct sobj *o;
	struct skey k;

	if (!cmd_parse_ll(&c->argv[2], &start) ||
	    !cmd_parse_ll(&c->argv[3], &end)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	cmd_key(&k, &c->argv[1]);
	o = cmd_read(c, c->db, &k);
	if (o && !is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	len = o ? (long long)sobj_vlen(o) : 0;
	if (!o || len == 0 || (start < 0 && end < 0 && start > end)) {
		resp_bulk(c->out, "", 0);
		return;
	}
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end)
		resp_bulk(c->out, "", 0);
	else
		resp_bulk(c->out, sobj_val(o) + start,
			  (size_t)(end - start + 1));
}

void cmd_substr(struct cmd_ctx *c)
{
	cmd_getrange(c);
}

/* Key k as old[0..olen), zeros up to off, then v: SETRANGE's value, to
 * be published with expiry e; NULL after the OOM reply. */
static struct sobj *splice(struct cmd_ctx *c, const struct skey *k,
			   const struct sobj *old, size_t off,
			   const struct resp_arg *v, int64_t e)
{
	size_t olen = old ? sobj_vlen(old) : 0;
	size_t len = off + v->len > olen ? off + v->len : olen;
	struct sobj *n = new_obj(c, k, NULL, len, e);
	char *p;

	if (!n)
		return NULL;
	p = sobj_val_w(n);
	if (olen)
		memcpy(p, sobj_val(old), olen);
	if (off > olen)
		memset(p + olen, 0, off - olen);
	memcpy(p + off, v->ptr, v->len);
	return n;
}

void cmd_setrange(struct cmd_ctx *c)
{
	const struct resp_arg *v = &c->argv[3];
	long long off;
	struct sobj *o, *n;
	struct skey k;
	int64_t e;

	if (!cmd_parse_ll(&c->argv[2], &off)) {
		resp_error(c->out, cmd_err_notint);
		return;
	}
	if (off < 0) {
		resp_error(c->out, "ERR offset is out of range");
		return;
	}
	cmd_key(&k, &c->argv[1]);
	o = cmd_write(c, c->db, &k);
	if (o && !is_string(o)) {
		resp_error(c->out, cmd_err_wrongtype);
		return;
	}
	/* Setting nothing answers the current length and creates nothing. */
	if (v->len == 0) {
		resp_int(c->out, o ? (long long)sobj_vlen(o) : 0);
		return;
	}
	if (!check_len(c, (unsigned long long)off, v->len))
		return;
	e = o ? sobj_expire(o) : STORE_NO_EXPIRE;
	n = splice(c, &k, o, (size_t)off, v, e);
	c->event = "setrange";
	if (n && (n = cmd_put(c, c->db, n, e)) != NULL)
		resp_int(c->out, (long long)sobj_vlen(n));
}
