/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_util: the helpers every command family shares: Redis's error texts,
 * its number parsers (string2ll, string2ld) and the key lookups that keep
 * keyspace_hits/misses and the LRU clock the way Redis 7.0 does:
 *
 *   lookup      Redis equivalent             hits/misses  access time
 *   cmd_read    lookupKeyRead                counted      updated
 *   cmd_write   lookupKeyWrite               no           updated
 *   cmd_peek    (raw dictFind)               no           no
 *
 * Commands that Redis runs through lookupKeyReadWithFlags(LOOKUP_NOTOUCH)
 * (EXISTS, TYPE, TTL, OBJECT) count hits/misses without touching; they use
 * cmd_peek and count themselves.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "stats.h"

const char *const cmd_err_syntax = "ERR syntax error";
const char *const cmd_err_notint =
    "ERR value is not an integer or out of range";
const char *const cmd_err_notfloat = "ERR value is not a valid float";
const char *const cmd_err_wrongtype =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
const char *const cmd_err_overflow =
    "ERR increment or decrement would overflow";
const char *const cmd_err_nokey = "ERR no such key";
const char *const cmd_err_oom = "ERR out of memory";

/*
 * Redis's string2ll: an optional '-', then either "0" alone or a digit 1-9
 * followed by digits, at most 20 bytes, within long long.  No '+', no
 * spaces, no leading zeros, no "-0".
 */
bool cmd_parse_ll(const struct resp_arg *a, long long *out)
{
	const char *p = a->ptr;
	size_t n = a->len, i = 0;
	unsigned long long v;
	bool neg = false;

	if (n == 0 || n > 20)
		return false;
	if (n == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	if (p[0] == '-') {
		neg = true;
		if (++i == n)
			return false;
	}
	if (p[i] < '1' || p[i] > '9')
		return false;
	v = (unsigned long long)(p[i++] - '0');
	for (; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';

		if (d > 9)
			return false;
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = (long long)(0 - v);
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/* Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are not numbers. */
#define LD_MAX_CHARS (5 * 1024)

/*
 * Redis's string2ld: strtold over the whole argument; a leading space, any
 * byte left over (a NUL included), NaN, or an overflow/underflow to +-inf
 * or zero is refused.  Hex floats and "inf" pass, as strtold takes them.
 */
bool cmd_parse_ld(const struct resp_arg *a, long double *out)
{
	char buf[LD_MAX_CHARS];
	long double v;
	char *end;

	if (a->len == 0 || a->len >= sizeof(buf))
		return false;
	memcpy(buf, a->ptr, a->len);
	buf[a->len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (isspace((unsigned char)buf[0]) || end != buf + a->len || isnan(v))
		return false;
	if (errno == ERANGE &&
	    (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
		return false;
	if (errno == EINVAL)
		return false;
	*out = v;
	return true;
}

struct sobj *cmd_read(struct cmd_ctx *c, unsigned db, const struct skey *k)
{
	struct sobj *o = store_find(db, k, c->now_ms);

	if (o) {
		c->st->keyspace_hits++;
		store_touch(o, c->now_ms);
	} else {
		c->st->keyspace_misses++;
	}
	return o;
}

/* lookupKeyWrite: deletes an expired key, touches, counts nothing. */
struct sobj *cmd_write(struct cmd_ctx *c, unsigned db, const struct skey *k)
{
	struct sobj *o = store_find_w(db, k, c->now_ms);

	if (o)
		store_touch(o, c->now_ms);
	return o;
}

struct sobj *cmd_peek(struct cmd_ctx *c, unsigned db, const struct skey *k)
{
	return store_find(db, k, c->now_ms);
}

struct sobj *cmd_put(struct cmd_ctx *c, unsigned db, struct sobj *o,
		     int64_t expire_ms)
{
	struct sobj *n = store_put_ev(db, o, expire_ms, c->event);

	if (!n)
		resp_error(c->out, cmd_err_oom);
	return n;
}

/* Redis names a subcommand "parent|sub" in this error (its fullname). */
void cmd_reply_arity(struct resp_out *o, const struct cmd_def *d)
{
	if (d->parent)
		resp_errorf(o,
			    "ERR wrong number of arguments for '%s|%s' command",
			    d->parent->name, d->name);
	else
		resp_errorf(o, "ERR wrong number of arguments for '%s' command",
			    d->name);
}
