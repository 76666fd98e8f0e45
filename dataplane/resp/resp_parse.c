/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resp_parse: requests in, read the way redis-server 7.0 reads them.
 *
 * The parser keeps no state between calls.  Each call starts at the first
 * byte of the request and walks it again: header lines ("*<n>", "$<len>")
 * are found and parsed, bulk payloads are stepped over by their length and
 * never read.  A call therefore costs O(arguments), not O(bytes), and a
 * 64 MB SET arriving in 4 KB pieces costs a few header parses per piece.
 * Restarting from scratch is what lets the caller keep nothing but bytes:
 * no half-built argv survives an incomplete request, and nothing is
 * allocated for one.
 *
 * Being stateless does not change what Redis decides, because every rule
 * Redis applies depends only on the bytes from the current header onwards:
 *
 *  - A header line ends at the first '\r'; Redis then needs one more byte
 *    and skips it without checking that it is '\n' (nor does it check the
 *    two bytes after a bulk payload).  We do the same, so "*1\rX" parses.
 *  - Redis finds lines with strchr(), which stops at a NUL byte: a NUL
 *    before the '\r' (or, inline, before the '\n') hides the line, and
 *    Redis waits for more input until the "too big" limit trips.  We use
 *    memchr() and look for a NUL only when a line fails to parse or its
 *    '\r' is the last byte, which keeps the check off the fast path.
 *  - Numbers are read with string2ll()'s rules: no '+', no leading zeros,
 *    no "-0", at most 20 characters.
 *
 * Arguments are stored into req->argv while it has room.  A request with
 * more arguments than argv_cap is scanned to its end first; only when it
 * is complete is grow() called, once, for the exact count, and the headers
 * walked a second time to fill the new array.  So grow() never has to keep
 * old contents, and a client announcing "*2147483647" costs nothing until
 * it has really sent that many arguments.
 *
 * An incomplete request reports in *need where the payload it waits for
 * ends, once that payload's header is in: the caller grows its buffer once
 * for a big bulk.  Nothing is reported for arguments not announced yet: a
 * count of "*1073741824" must not make anyone reserve 6 GB.
 *
 * Two things Redis decides depend on what it did before, and the caller
 * carries them between calls (struct resp_req): req->partial, where Redis
 * would be inside the request (the bytes before it it has consumed; what
 * follows is its query buffer, which client-query-buffer-limit bounds), and
 * req->checked, the previous call's partial: the headers before it were
 * accepted when they arrived, and a limit lowered since does not apply to
 * them (Redis checks a bulk length once, when it reads the header).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "resp.h"

/* Redis: PROTO_INLINE_MAX_SIZE, proto-max-bulk-len, and INT_MAX arguments
 * per request (7.0 no longer stops at 1024*1024; checked on 7.0.15). */
#define RESP_INLINE_MAX (64 * 1024)
#define RESP_BULK_MAX (512LL * 1024 * 1024)
#define RESP_MBULK_MAX INT_MAX
/* string2ll() refuses strings of LONG_STR_SIZE (21) characters or more. */
#define RESP_NUM_MAX 20

static const char err_mbulk_len[] =
    "ERR Protocol error: invalid multibulk length";
static const char err_mbulk_big[] =
    "ERR Protocol error: too big mbulk count string";
static const char err_bulk_len[] = "ERR Protocol error: invalid bulk length";
static const char err_unauth_mbulk[] =
    "ERR Protocol error: unauthenticated multibulk length";
static const char err_unauth_bulk[] =
    "ERR Protocol error: unauthenticated bulk length";
static const char err_bulk_big[] =
    "ERR Protocol error: too big bulk count string";
static const char err_inline_big[] =
    "ERR Protocol error: too big inline request";
static const char err_quotes[] =
    "ERR Protocol error: unbalanced quotes in request";
static const char err_oom[] = "ERR Protocol error: out of memory";

/*
 * "expected '$', got 'X'" for every byte X, built at compile time so the
 * error can be a static string.  Redis formats the message and then maps
 * '\r' and '\n' to spaces; a NUL never gets here (it hides the line).
 */
struct dollar_err {
	char head[39]; /* the prefix below, without its NUL */
	char got;
	char tail[2]; /* "'" and the terminating NUL */
};

#define DOLLAR_GOT(i) ((i) == '\r' || (i) == '\n' ? ' ' : (char)(i))
#define DOLLAR_E(i)                                                            \
	{                                                                      \
		"ERR Protocol error: expected '$', got '", DOLLAR_GOT(i), "'"  \
	}
#define DOLLAR_E4(i)                                                           \
	DOLLAR_E(i), DOLLAR_E((i) + 1), DOLLAR_E((i) + 2), DOLLAR_E((i) + 3)
#define DOLLAR_E16(i)                                                          \
	DOLLAR_E4(i), DOLLAR_E4((i) + 4), DOLLAR_E4((i) + 8),                  \
	    DOLLAR_E4((i) + 12)
#define DOLLAR_E64(i)                                                          \
	DOLLAR_E16(i), DOLLAR_E16((i) + 16), DOLLAR_E16((i) + 32),             \
	    DOLLAR_E16((i) + 48)

static const struct dollar_err err_dollar[256] = {
    DOLLAR_E64(0), DOLLAR_E64(64), DOLLAR_E64(128), DOLLAR_E64(192)};

_Static_assert(sizeof(struct dollar_err) == 42, "dollar_err must be packed");

void resp_limits_default(struct resp_limits *lim)
{
	lim->max_bulk_len = RESP_BULK_MAX;
	lim->max_multibulk = RESP_MBULK_MAX;
	lim->unauth = false;
	lim->max_inline = RESP_INLINE_MAX;
}

/*
 * string2ll(): a decimal long long with nothing around it.  Returns false
 * for an empty string, a '+', leading zeros, "-0", or overflow.
 */
static bool parse_ll(const char *s, size_t n, long long *out)
{
	const char *end = s + n;
	unsigned long long v;
	bool neg = false;

	if (n == 0 || n > RESP_NUM_MAX)
		return false;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (*s == '-') {
		neg = true;
		if (++s == end)
			return false;
	}
	if (*s < '1' || *s > '9')
		return false;
	v = (unsigned long long)(*s++ - '0');
	for (; s < end; s++) {
		unsigned int d = (unsigned int)(unsigned char)*s - '0';

		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
							      : -(long long)v;
	} else {
		if (v > LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/* What Redis does when it cannot see a line's end: wait, or give up
 * once more than max bytes follow the line's start. */
static int no_line(size_t len, size_t pos, size_t max, const char *toobig,
		   const char **err)
{
	if (len - pos > max) {
		*err = toobig;
		return RESP_ERROR;
	}
	return RESP_AGAIN;
}

/* The line [p, cr) is invisible to Redis's strchr() if it holds a NUL. */
static bool nul_hides(const char *p, const char *cr)
{
	return memchr(p, '\0', (size_t)(cr - p)) != NULL;
}

/* The first '\r' in [p, end), or NULL. */
static inline const char *find_cr(const char *p, const char *end)
{
	const char *probe = end - p > 4 ? p + 4 : end;

	/* Header lines are a few bytes: look before paying for a call. */
	for (; p < probe; p++)
		if (*p == '\r')
			return p;
	return p < end ? memchr(p, '\r', (size_t)(end - p)) : NULL;
}

/*
 * The header line starting at buf[pos]: RESP_OK with *cr at its '\r' once
 * the byte after it has arrived too, else what no_line() says.
 */
static inline int header_line(const char *buf, size_t len, size_t pos,
			      size_t max, const char *toobig, const char **cr,
			      const char **err)
{
	const char *p = find_cr(buf + pos, buf + len);

	if (p != NULL && p + 1 < buf + len) {
		*cr = p;
		return RESP_OK;
	}
	/* A '\r' that is the last byte waits for its '\n', unless a NUL
	 * hides it from Redis, which then applies the "too big" limit. */
	if (p != NULL && !nul_hides(buf + pos, p))
		return RESP_AGAIN;
	return no_line(len, pos, max, toobig, err);
}

/* A header line that failed to parse: NUL-hidden or a real error. */
static int bad_header(const char *buf, size_t len, size_t pos, const char *cr,
		      size_t max, const char *toobig, const char *bad,
		      const char **err)
{
	if (nul_hides(buf + pos, cr))
		return no_line(len, pos, max, toobig, err);
	*err = bad;
	return RESP_ERROR;
}

/* Give req room for want arguments; grow() need not keep old contents. */
static int argv_reserve(struct resp_req *req, int want, const char **err)
{
	struct resp_arg *a = NULL;

	if (want <= req->argv_cap)
		return 0;
	if (req->grow != NULL)
		a = req->grow(req->grow_arg, req->argv, want);
	if (a == NULL) {
		*err = err_oom;
		return -1;
	}
	req->argv = a;
	req->argv_cap = want;
	return 0;
}

/* Where a multibulk walk is, so an incomplete one can report its need. */
struct mbulk_walk {
	const char *buf;
	size_t len;
	size_t pos; /* start of the next header or payload */
	int argc;   /* arguments the request announces */
};

/* Where the payload of `more` bytes at w->pos ends, for *need; 0 when it
 * tells the caller nothing. */
static size_t mbulk_need(const struct mbulk_walk *w, size_t more)
{
	uint64_t n = (uint64_t)w->pos + more;

	return n > w->len && n <= SIZE_MAX ? (size_t)n : 0;
}

/*
 * The usual shape of a header's number, 1 to 18 digits without a leading
 * zero followed by '\r' and one more byte, read in the same pass that
 * finds the '\r'.  Returns the value with *cr set, or -1 for anything else
 * (signs, long or malformed numbers, short input): the slow path then
 * decides exactly as Redis would.
 */
static inline long long fast_num(const char *p, const char *end,
				 const char **cr)
{
	const char *s = p;
	unsigned long long v = 0;
	unsigned int d, d1;

	/* One or two digits: nearly every count and length a client sends. */
	if (end - p >= 4) {
		d = (unsigned int)(unsigned char)p[0] - '0';
		d1 = (unsigned int)(unsigned char)p[1] - '0';
		if (d <= 9 && p[1] == '\r') {
			*cr = p + 1;
			return d;
		}
		if (d - 1 <= 8 && d1 <= 9 && p[2] == '\r') {
			*cr = p + 2;
			return d * 10 + d1;
		}
	}
	while (p < end && p - s < 18) {
		d = (unsigned int)(unsigned char)*p - '0';
		if (d > 9)
			break;
		v = v * 10 + d;
		p++;
	}
	if (p == s || end - p < 2 || *p != '\r' || (*s == '0' && p - s > 1))
		return -1;
	*cr = p;
	return (long long)v;
}

/* The "$<len>" line at w->pos: RESP_OK sets *blen and steps past it. */
static int bulk_header(struct mbulk_walk *w, const struct resp_limits *lim,
		       size_t checked, long long *blen, const char **err)
{
	const char *buf = w->buf, *cr;
	size_t pos = w->pos;
	long long n = -1;
	int rc;

	if (pos < w->len && buf[pos] == '$')
		n = fast_num(buf + pos + 1, buf + w->len, &cr);
	if (n < 0) {
		rc = header_line(buf, w->len, pos, lim->max_inline,
				 err_bulk_big, &cr, err);
		if (rc != RESP_OK)
			return rc;
		if (buf[pos] != '$')
			return bad_header(
			    buf, w->len, pos, cr, lim->max_inline, err_bulk_big,
			    (const char *)&err_dollar[(uint8_t)buf[pos]], err);
		if (!parse_ll(buf + pos + 1, (size_t)(cr - buf) - pos - 1, &n))
			n = -1;
	}
	if (n < 0 || (n > lim->max_bulk_len && pos >= checked))
		return bad_header(buf, w->len, pos, cr, lim->max_inline,
				  err_bulk_big, err_bulk_len, err);
	if (lim->unauth && n > RESP_UNAUTH_BULK && pos >= checked)
		return bad_header(buf, w->len, pos, cr, lim->max_inline,
				  err_bulk_big, err_unauth_bulk, err);
	w->pos = (size_t)(cr - buf) + 2;
	*blen = n;
	return RESP_OK;
}

/* One "$<len>\r\n<payload>\r\n" at w->pos, argument number i. */
static int mbulk_arg(struct mbulk_walk *w, int i, const struct resp_limits *lim,
		     struct resp_req *req, size_t *need, const char **err)
{
	long long blen;
	int rc;

	rc = bulk_header(w, lim, req->checked, &blen, err);
	if (rc != RESP_OK) {
		if (rc == RESP_AGAIN)
			req->partial = w->pos;
		return rc;
	}
	if (w->len - w->pos < (uint64_t)blen + 2) {
		*need = mbulk_need(w, (size_t)blen + 2);
		req->partial = w->pos;
		return RESP_AGAIN;
	}
	if (i < req->argv_cap) {
		req->argv[i].ptr = w->buf + w->pos;
		req->argv[i].len = (size_t)blen;
	}
	w->pos += (size_t)blen + 2;
	return RESP_OK;
}

/* All arguments from pos on; RESP_OK leaves w->pos past the request. */
static int mbulk_args(struct mbulk_walk *w, const struct resp_limits *lim,
		      struct resp_req *req, size_t *need, const char **err)
{
	int i, rc;

	for (i = 0; i < w->argc; i++) {
		rc = mbulk_arg(w, i, lim, req, need, err);
		if (rc != RESP_OK)
			return rc;
	}
	return RESP_OK;
}

static int parse_multibulk(const char *buf, size_t len,
			   const struct resp_limits *lim, struct resp_req *req,
			   size_t *consumed, size_t *need, const char **err)
{
	struct mbulk_walk w = {.buf = buf, .len = len};
	long long max = lim->max_multibulk < RESP_MBULK_MAX ? lim->max_multibulk
							    : RESP_MBULK_MAX;
	const char *cr;
	long long n;
	size_t first;
	bool ok;
	int rc;

	n = fast_num(buf + 1, buf + len, &cr);
	ok = n >= 0;
	if (!ok) {
		rc = header_line(buf, len, 0, lim->max_inline, err_mbulk_big,
				 &cr, err);
		if (rc != RESP_OK)
			return rc;
		ok = parse_ll(buf + 1, (size_t)(cr - buf) - 1, &n);
	}
	if (!ok || n > max)
		return bad_header(buf, len, 0, cr, lim->max_inline,
				  err_mbulk_big, err_mbulk_len, err);
	if (lim->unauth && n > RESP_UNAUTH_MBULK && req->checked == 0)
		return bad_header(buf, len, 0, cr, lim->max_inline,
				  err_mbulk_big, err_unauth_mbulk, err);
	first = (size_t)(cr - buf) + 2;
	if (n <= 0) {
		/* Redis reads "*0" and "*-1" as nothing, then carries on. */
		*consumed = first;
		return RESP_OK;
	}
	w.pos = first;
	w.argc = (int)n;
	rc = mbulk_args(&w, lim, req, need, err);
	if (rc != RESP_OK)
		return rc;
	if (w.argc > req->argv_cap) {
		/* Complete, but argv was too small: grow once, walk again. */
		if (argv_reserve(req, w.argc, err) < 0)
			return RESP_ERROR;
		w.pos = first;
		rc = mbulk_args(&w, lim, req, need, err);
		if (rc != RESP_OK)
			return rc;
	}
	req->argc = w.argc;
	*consumed = w.pos;
	return RESP_OK;
}

/* ------------------------------------------------------------------ */
/* Inline requests: sdssplitargs() rules, unquoted in place.           */

/* isspace() in the C locale; Redis skips these between arguments. */
static inline bool is_blank(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The byte at p, or 0 past the end: the line is NUL-free, so 0 plays
 * the part of sdssplitargs()'s terminator. */
static inline int peek(const char *p, const char *end)
{
	return p < end ? (unsigned char)*p : 0;
}

static int unescape(int c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return c;
	}
}

/* A quote closes a token only before a blank or the end of the line. */
static inline bool quote_closes(const char *p, const char *end)
{
	int next = peek(p + 1, end);

	return next == 0 || is_blank(next);
}

/*
 * Scan one double-quoted section at *pp (past the opening quote), writing
 * its bytes at *wp when write is set.  Returns false when unbalanced.
 */
static bool inline_dquote(char **pp, char **wp, const char *end, bool write)
{
	char *p = *pp, *w = *wp;
	int c;

	for (;;) {
		c = peek(p, end);
		if (c == '\\' && peek(p + 1, end) == 'x' &&
		    hex_val(peek(p + 2, end)) >= 0 &&
		    hex_val(peek(p + 3, end)) >= 0) {
			c = hex_val(p[2]) * 16 + hex_val(p[3]);
			p += 4;
		} else if (c == '\\' && peek(p + 1, end) != 0) {
			c = unescape((unsigned char)p[1]);
			p += 2;
		} else if (c == '"') {
			if (!quote_closes(p, end))
				return false;
			break;
		} else if (c == 0) {
			return false;
		} else {
			p++;
		}
		if (write)
			*w = (char)c;
		w++;
	}
	*pp = p + 1;
	*wp = w;
	return true;
}

/* The same for a single-quoted section: only \' is an escape. */
static bool inline_squote(char **pp, char **wp, const char *end, bool write)
{
	char *p = *pp, *w = *wp;
	int c;

	for (;;) {
		c = peek(p, end);
		if (c == '\\' && peek(p + 1, end) == '\'') {
			c = '\'';
			p += 2;
		} else if (c == '\'') {
			if (!quote_closes(p, end))
				return false;
			break;
		} else if (c == 0) {
			return false;
		} else {
			p++;
		}
		if (write)
			*w = (char)c;
		w++;
	}
	*pp = p + 1;
	*wp = w;
	return true;
}

/*
 * One token at *pp (not a blank).  The unquoted bytes go to the token's
 * own start: every output byte consumes at least one input byte, so the
 * writer never overtakes the reader.  Returns the length, or -1.
 */
static long inline_token(char **pp, const char *end, bool write)
{
	char *p = *pp, *w = p, *start = p;
	bool ok;
	int c;

	for (;;) {
		c = peek(p, end);
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0) {
			if (c != 0)
				p++;
			break;
		}
		p++;
		if (c == '"' || c == '\'') {
			/* A closing quote ends the token (a blank follows). */
			ok = c == '"' ? inline_dquote(&p, &w, end, write)
				      : inline_squote(&p, &w, end, write);
			if (!ok)
				return -1;
			break;
		}
		if (write)
			*w = (char)c;
		w++;
	}
	*pp = p;
	return (long)(w - start);
}

/* Split [p, end); stores into argv unless it is NULL (a dry run that
 * only counts and validates, and leaves the bytes alone). */
static int inline_split(char *p, const char *end, struct resp_arg *argv)
{
	int argc = 0;
	char *tok;
	long n;

	for (;;) {
		while (p < end && is_blank((unsigned char)*p))
			p++;
		if (p == end)
			return argc;
		if (argc == INT_MAX)
			return -1;
		tok = p;
		n = inline_token(&p, end, argv != NULL);
		if (n < 0)
			return -1;
		if (argv != NULL) {
			argv[argc].ptr = tok;
			argv[argc].len = (size_t)n;
		}
		argc++;
	}
}

static int parse_inline(char *buf, size_t len, const struct resp_limits *lim,
			struct resp_req *req, size_t *consumed,
			const char **err)
{
	char *nl = memchr(buf, '\n', len);
	char *end;
	int argc;

	if (nl == NULL || nul_hides(buf, nl))
		return no_line(len, 0, lim->max_inline, err_inline_big, err);
	end = nl;
	if (end > buf && end[-1] == '\r')
		end--;
	/* Count first: a failed request must not leave argv half grown, and
	 * grow() is asked once for the exact size. */
	argc = inline_split(buf, end, NULL);
	if (argc < 0) {
		*err = err_quotes;
		return RESP_ERROR;
	}
	if (argv_reserve(req, argc, err) < 0)
		return RESP_ERROR;
	inline_split(buf, end, req->argv);
	req->argc = argc;
	req->is_inline = 1;
	*consumed = (size_t)(nl - buf) + 1;
	return RESP_OK;
}

int resp_parse(char *buf, size_t len, const struct resp_limits *lim,
	       struct resp_req *req, size_t *consumed, size_t *need,
	       const char **err)
{
	*consumed = 0;
	*need = 0;
	*err = NULL;
	req->argc = 0;
	req->is_inline = 0;
	req->partial = 0;
	if (len == 0)
		return RESP_AGAIN;
	if (buf[0] == '*')
		return parse_multibulk(buf, len, lim, req, consumed, need, err);
	return parse_inline(buf, len, lim, req, consumed, err);
}
