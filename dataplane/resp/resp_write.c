/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resp_write: replies out, byte for byte what redis-server 7.0 sends.
 *
 * Every reply is one capacity check and straight stores: the check is
 * inlined and fails only when the buffer must grow (geometrically, through
 * mimalloc), integers are formatted two digits at a time, and fixed replies
 * are constant-size memcpy()s the compiler turns into a few moves.  Only
 * doubles that are not small integers and printf-style errors go through
 * libc's formatter, as Redis's "%.17g" needs it.
 *
 * When growth fails, or would take len past o->limit, the write is dropped
 * and o->oom is set.  oom is sticky (the logical capacity is clamped so
 * every later write takes the slow path and is dropped too): a reply stream
 * with a hole in the middle must never reach a client.  The caller checks
 * oom and closes the connection.  The limit costs nothing on the fast
 * path: it is only looked at when the buffer grows.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>

#include "resp.h"

#define OUT_MIN_CAP 64
/* "$" or ":" + "-9223372036854775808" + "\r\n" */
#define HDR_MAX 23
/* "%.17g" needs at most 24 bytes ("-2.2250738585072014e-308"). */
#define DBL_STR_MAX 32

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* ------------------------------------------------------------------ */
/* Buffer                                                              */

void resp_out_init(struct resp_out *o, int proto)
{
	o->buf = NULL;
	o->len = 0;
	o->cap = 0;
	o->limit = 0;
	o->proto = (uint8_t)proto;
	o->oom = 0;
}

void resp_out_fail(struct resp_out *o, int why)
{
	o->oom = (uint8_t)why;
	o->cap = o->len;
}

void resp_out_free(struct resp_out *o)
{
	mi_free(o->buf);
	o->buf = NULL;
	o->len = 0;
	o->cap = 0;
}

/* Slow path of out_room(): grow to hold n more bytes, or fail sticky. */
static __attribute__((noinline)) char *out_grow(struct resp_out *o, size_t n)
{
	size_t want, cap;
	char *b;

	if (o->oom)
		goto fail;
	if (n > SIZE_MAX / 2 - o->len)
		goto fail_alloc;
	want = o->len + n;
	if (o->limit && want > o->limit) {
		resp_out_fail(o, RESP_OOM_LIMIT);
		return NULL;
	}
	cap = o->cap > OUT_MIN_CAP ? o->cap : OUT_MIN_CAP;
	while (cap < want)
		cap *= 2;
	if (o->limit && cap > o->limit)
		cap = o->limit; /* doubling must not overshoot it either */
	b = mi_realloc(o->buf, cap);
	if (b == NULL)
		goto fail_alloc;
	o->buf = b;
	o->cap = mi_usable_size(b);
	if (o->limit && o->cap > o->limit)
		o->cap = o->limit;
	return b + o->len;
fail_alloc:
	o->oom = RESP_OOM_ALLOC;
fail:
	o->cap = o->len;
	return NULL;
}

/*
 * Room for n > 0 bytes after o->len, not yet claimed; NULL when out of
 * memory.  An empty buffer has cap 0, so it always takes the slow path.
 */
static inline char *out_room(struct resp_out *o, size_t n)
{
	if (__builtin_expect(o->cap - o->len >= n, 1))
		return o->buf + o->len;
	return out_grow(o, n);
}

char *resp_out_reserve(struct resp_out *o, size_t n)
{
	char *p;

	if (n == 0)
		return NULL;
	p = out_room(o, n);
	if (p != NULL)
		o->len += n;
	return p;
}

void resp_out_raw(struct resp_out *o, const void *p, size_t n)
{
	char *d;

	if (n == 0)
		return;
	d = out_room(o, n);
	if (d == NULL)
		return;
	memcpy(d, p, n);
	o->len += n;
}

/* A fixed reply; n is a constant at every call site. */
static inline void out_lit(struct resp_out *o, const char *s, size_t n)
{
	char *d = out_room(o, n);

	if (d == NULL)
		return;
	memcpy(d, s, n);
	o->len += n;
}

#define OUT_LIT(o, s) out_lit((o), (s), sizeof(s) - 1)

/* ------------------------------------------------------------------ */
/* Integers                                                            */

static inline int u64_digits(uint64_t v)
{
	int n = 1;

	for (;;) {
		if (v < 10)
			return n;
		if (v < 100)
			return n + 1;
		if (v < 1000)
			return n + 2;
		if (v < 10000)
			return n + 3;
		v /= 10000;
		n += 4;
	}
}

/* Decimal v at dst, no terminator; returns the length (at most 20). */
static inline int u64_str(char *dst, uint64_t v)
{
	int n = u64_digits(v), i = n - 1;
	unsigned int k;

	while (v >= 100) {
		k = (unsigned int)(v % 100) * 2;
		v /= 100;
		dst[i] = digit_pairs[k + 1];
		dst[i - 1] = digit_pairs[k];
		i -= 2;
	}
	if (v < 10) {
		dst[i] = (char)('0' + v);
	} else {
		k = (unsigned int)v * 2;
		dst[i] = digit_pairs[k + 1];
		dst[i - 1] = digit_pairs[k];
	}
	return n;
}

static inline int ll_str(char *dst, long long v)
{
	if (v < 0) {
		*dst = '-';
		return 1 + u64_str(dst + 1, 0ULL - (unsigned long long)v);
	}
	return u64_str(dst, (uint64_t)v);
}

/* dst needs 21 bytes: up to 20 characters and a NUL. */
int resp_ll2str(char *dst, long long v)
{
	int n = ll_str(dst, v);

	dst[n] = '\0';
	return n;
}

/* "<type><v>\r\n" at p; returns the end. */
static inline char *put_hdr(char *p, char type, long long v)
{
	*p++ = type;
	p += ll_str(p, v);
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

static inline void out_hdr(struct resp_out *o, char type, long long v)
{
	char *p = out_room(o, HDR_MAX);

	if (p == NULL)
		return;
	o->len = (size_t)(put_hdr(p, type, v) - o->buf);
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */

void resp_simple_len(struct resp_out *o, const char *s, size_t n)
{
	char *p = out_room(o, n + 3);

	if (p == NULL)
		return;
	p[0] = '+';
	if (n != 0)
		memcpy(p + 1, s, n);
	p[n + 1] = '\r';
	p[n + 2] = '\n';
	o->len += n + 3;
}

void resp_simple(struct resp_out *o, const char *s)
{
	resp_simple_len(o, s, strlen(s));
}

void resp_ok(struct resp_out *o)
{
	OUT_LIT(o, "+OK\r\n");
}

/*
 * "-<text>\r\n".  Like Redis's addReplyErrorFormat(), CR and LF are trimmed
 * from both ends and replaced by spaces inside: one stray newline would
 * end the error early and desynchronise the client.  A text that already
 * starts with '-' keeps its own.
 */
static void error_len(struct resp_out *o, const char *s, size_t n)
{
	char *p, *d;
	size_t i;

	while (n != 0 && (*s == '\r' || *s == '\n'))
		s++, n--;
	while (n != 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n != 0 && *s == '-')
		s++, n--;
	p = out_room(o, n + 3);
	if (p == NULL)
		return;
	p[0] = '-';
	d = p + 1;
	for (i = 0; i < n; i++)
		d[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
	d[n] = '\r';
	d[n + 1] = '\n';
	o->len += n + 3;
}

void resp_error(struct resp_out *o, const char *text)
{
	error_len(o, text, strlen(text));
}

void resp_errorf(struct resp_out *o, const char *fmt, ...)
{
	char small[256], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		error_len(o, small, (size_t)n);
		return;
	}
	big = mi_malloc((size_t)n + 1);
	if (big == NULL) {
		o->oom = 1;
		o->cap = o->len;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	error_len(o, big, (size_t)n);
	mi_free(big);
}

void resp_int(struct resp_out *o, long long v)
{
	out_hdr(o, ':', v);
}

/* "$n\r\n" + n bytes + "\r\n", with pre (npre bytes) before the bytes. */
static inline void out_bulk(struct resp_out *o, char type, const char *pre,
			    size_t npre, const void *s, size_t n)
{
	char *p, *start;

	if (n > SIZE_MAX / 2) {
		out_grow(o, SIZE_MAX); /* fails and marks oom */
		return;
	}
	start = p = out_room(o, HDR_MAX + npre + n + 2);
	if (p == NULL)
		return;
	p = put_hdr(p, type, (long long)(npre + n));
	/* memcpy() must not see the NULL of resp_bulk(o, NULL, 0). */
	if (npre != 0)
		memcpy(p, pre, npre);
	p += npre;
	if (n != 0)
		memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	o->len += (size_t)(p - start);
}

void resp_bulk(struct resp_out *o, const void *p, size_t n)
{
	out_bulk(o, '$', NULL, 0, p, n);
}

void resp_bulk_str(struct resp_out *o, const char *s)
{
	/* addReplyBulkCString(NULL) is a null reply in Redis too. */
	if (s == NULL) {
		resp_null(o);
		return;
	}
	out_bulk(o, '$', NULL, 0, s, strlen(s));
}

void resp_bulk_ll(struct resp_out *o, long long v)
{
	char *p = out_room(o, HDR_MAX + 22), *start = p;
	char digits[24];
	int n;

	if (p == NULL)
		return;
	/* The length has one or two digits: write it by hand. */
	n = ll_str(digits, v);
	*p++ = '$';
	if (n >= 10)
		*p++ = (char)('0' + n / 10);
	*p++ = (char)('0' + n % 10);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, digits, (size_t)n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	o->len += (size_t)(p - start);
}

/*
 * Redis 7.0 prints doubles with "%.17g", which writes every integer below
 * 2^53 digit for digit: those (scores and counters are often integers)
 * skip the libc formatter.  -0.0 prints as "-0" and NaN as "nan" or
 * "-nan", exactly as snprintf() does for Redis.
 */
static int fmt_double(char *buf, double v)
{
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 &&
	    v == (double)(long long)v && !(v == 0 && signbit(v)))
		return ll_str(buf, (long long)v);
	return snprintf(buf, DBL_STR_MAX, "%.17g", v);
}

void resp_double(struct resp_out *o, double v)
{
	char tmp[DBL_STR_MAX + 3];
	int n;

	if (isinf(v)) {
		/* Redis spells these out rather than trust libc's "inf". */
		if (o->proto == 3) {
			if (v > 0)
				OUT_LIT(o, ",inf\r\n");
			else
				OUT_LIT(o, ",-inf\r\n");
		} else {
			if (v > 0)
				OUT_LIT(o, "$3\r\ninf\r\n");
			else
				OUT_LIT(o, "$4\r\n-inf\r\n");
		}
		return;
	}
	if (o->proto != 3) {
		n = fmt_double(tmp, v);
		out_bulk(o, '$', NULL, 0, tmp, (size_t)n);
		return;
	}
	tmp[0] = ',';
	n = 1 + fmt_double(tmp + 1, v);
	tmp[n++] = '\r';
	tmp[n++] = '\n';
	out_lit(o, tmp, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* Aggregates and RESP3 types                                          */

void resp_null(struct resp_out *o)
{
	if (o->proto == 3)
		OUT_LIT(o, "_\r\n");
	else
		OUT_LIT(o, "$-1\r\n");
}

void resp_null_array(struct resp_out *o)
{
	if (o->proto == 3)
		OUT_LIT(o, "_\r\n");
	else
		OUT_LIT(o, "*-1\r\n");
}

void resp_array(struct resp_out *o, long n)
{
	out_hdr(o, '*', n);
}

void resp_map(struct resp_out *o, long pairs)
{
	if (o->proto == 3)
		out_hdr(o, '%', pairs);
	else
		out_hdr(o, '*', 2 * (long long)pairs);
}

void resp_set(struct resp_out *o, long n)
{
	out_hdr(o, o->proto == 3 ? '~' : '*', n);
}

void resp_push(struct resp_out *o, long n)
{
	out_hdr(o, o->proto == 3 ? '>' : '*', n);
}

void resp_bool(struct resp_out *o, int v)
{
	if (o->proto == 3) {
		if (v)
			OUT_LIT(o, "#t\r\n");
		else
			OUT_LIT(o, "#f\r\n");
	} else {
		if (v)
			OUT_LIT(o, ":1\r\n");
		else
			OUT_LIT(o, ":0\r\n");
	}
}

void resp_verbatim(struct resp_out *o, const char *p, size_t n)
{
	if (o->proto == 3)
		out_bulk(o, '=', "txt:", 4, p, n);
	else
		out_bulk(o, '$', NULL, 0, p, n);
}
