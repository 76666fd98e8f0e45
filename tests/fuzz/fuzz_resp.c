/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for resp.
 *
 * Besides crashing on memory errors (under ASan/UBSan) it checks that the
 * parser agrees with a reference model: a deliberately naive, stateless
 * retelling of redis-server 7.0's processMultibulkBuffer(),
 * processInlineBuffer() and sdssplitargs(), working on a NUL-terminated
 * copy with strchr() the way Redis does.  The model is slow and obvious;
 * the parser is fast and clever; they must give the same status, error
 * text, size and arguments on every input, with Redis's limits and with
 * tiny ones that reach the "too big" paths.  It also checks that every
 * prefix of a request is incomplete, that `need` is a true lower bound,
 * that requests survive a trip through the writer, and that the writer's
 * errors and doubles come out as Redis would send them.
 *
 * Built two ways (tests/fuzz/meson.build): with -fsanitize=fuzzer by
 * run-fuzz.sh, and with replay.c as a plain program over the corpus.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "resp/resp.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------ */
/* Reference model                                                     */

struct ref_arg {
	char *p;
	size_t len;
};

struct ref_req {
	int rc;
	const char *err; /* static or errbuf */
	char errbuf[64];
	size_t consumed;
	int argc;
	struct ref_arg *argv;
};

static void ref_free(struct ref_req *r)
{
	for (int i = 0; i < r->argc; i++)
		free(r->argv[i].p);
	free(r->argv);
	r->argv = NULL;
	r->argc = 0;
}

static void ref_push(struct ref_req *r, const char *p, size_t len)
{
	r->argv = realloc(r->argv, sizeof(*r->argv) * (size_t)(r->argc + 1));
	CHECK(r->argv != NULL);
	r->argv[r->argc].p = malloc(len + 1);
	CHECK(r->argv[r->argc].p != NULL);
	memcpy(r->argv[r->argc].p, p, len);
	r->argv[r->argc].len = len;
	r->argc++;
}

/* string2ll() by another road: shape first, then strtoll(). */
static int ref_str2ll(const char *s, size_t n, long long *v)
{
	char tmp[32];
	size_t i = 0;

	if (n == 0 || n >= 21)
		return 0;
	if (n == 1 && s[0] == '0') {
		*v = 0;
		return 1;
	}
	if (s[0] == '-')
		i++;
	if (i == n || s[i] < '1' || s[i] > '9')
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*v = strtoll(tmp, NULL, 10);
	return errno == 0;
}

static int ref_ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int ref_hex(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int ref_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* sdssplitargs() on a C string, one byte at a time. */
static int ref_split(const char *p, struct ref_req *r)
{
	char *cur = malloc(strlen(p) + 1);
	size_t n;

	CHECK(cur != NULL);
	for (;;) {
		int inq = 0, insq = 0, done = 0;

		while (*p && ref_isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		n = 0;
		while (!done) {
			if (inq) {
				if (p[0] == '\\' && p[1] == 'x' &&
				    ref_ishex(p[2]) && ref_ishex(p[3])) {
					cur[n++] = (char)(ref_hex(p[2]) * 16 +
							  ref_hex(p[3]));
					p += 3;
				} else if (p[0] == '\\' && p[1]) {
					p++;
					cur[n++] = *p == 'n'   ? '\n'
						   : *p == 'r' ? '\r'
						   : *p == 't' ? '\t'
						   : *p == 'b' ? '\b'
						   : *p == 'a' ? '\a'
							       : *p;
				} else if (*p == '"') {
					if (p[1] &&
					    !ref_isspace((unsigned char)p[1]))
						goto err;
					done = 1;
				} else if (!*p) {
					goto err;
				} else {
					cur[n++] = *p;
				}
			} else if (insq) {
				if (p[0] == '\\' && p[1] == '\'') {
					p++;
					cur[n++] = '\'';
				} else if (*p == '\'') {
					if (p[1] &&
					    !ref_isspace((unsigned char)p[1]))
						goto err;
					done = 1;
				} else if (!*p) {
					goto err;
				} else {
					cur[n++] = *p;
				}
			} else if (*p == ' ' || *p == '\n' || *p == '\r' ||
				   *p == '\t' || *p == '\0') {
				done = 1;
			} else if (*p == '"') {
				inq = 1;
			} else if (*p == '\'') {
				insq = 1;
			} else {
				cur[n++] = *p;
			}
			if (*p)
				p++;
		}
		ref_push(r, cur, n);
	}
	free(cur);
	return 0;
err:
	free(cur);
	ref_free(r);
	return -1;
}

static int ref_inline(const char *s, size_t len, const struct resp_limits *lim,
		      struct ref_req *r)
{
	const char *nl = strchr(s, '\n');
	size_t lf = 1, qlen;
	char *line;
	int rc;

	if (nl == NULL) {
		if (len > lim->max_inline) {
			r->err = "ERR Protocol error: too big inline request";
			return RESP_ERROR;
		}
		return RESP_AGAIN;
	}
	if (nl != s && nl[-1] == '\r')
		nl--, lf++;
	qlen = (size_t)(nl - s);
	line = malloc(qlen + 1);
	CHECK(line != NULL);
	memcpy(line, s, qlen);
	line[qlen] = '\0';
	rc = ref_split(line, r);
	free(line);
	if (rc < 0) {
		r->err = "ERR Protocol error: unbalanced quotes in request";
		return RESP_ERROR;
	}
	r->consumed = qlen + lf;
	return RESP_OK;
}

/* The line at s + pos: 1 found (*nl), 0 wait, -1 too big. */
static int ref_line(const char *s, size_t len, size_t pos, size_t max,
		    const char **nl)
{
	*nl = strchr(s + pos, '\r');
	if (*nl == NULL)
		return len - pos > max ? -1 : 0;
	if (*nl - (s + pos) > (ssize_t)(len - pos - 2))
		return 0;
	return 1;
}

static int ref_multibulk(const char *s, size_t len,
			 const struct resp_limits *lim, struct ref_req *r)
{
	long long n, ll, max = lim->max_multibulk;
	const char *nl;
	size_t pos;
	int rc;

	if (max > INT_MAX)
		max = INT_MAX;
	rc = ref_line(s, len, 0, lim->max_inline, &nl);
	if (rc <= 0) {
		r->err = "ERR Protocol error: too big mbulk count string";
		return rc < 0 ? RESP_ERROR : RESP_AGAIN;
	}
	if (!ref_str2ll(s + 1, (size_t)(nl - s - 1), &n) || n > max) {
		r->err = "ERR Protocol error: invalid multibulk length";
		return RESP_ERROR;
	}
	pos = (size_t)(nl - s) + 2;
	for (long long i = 0; i < n; i++) {
		rc = ref_line(s, len, pos, lim->max_inline, &nl);
		if (rc <= 0) {
			r->err =
			    "ERR Protocol error: too big bulk count string";
			goto incomplete;
		}
		if (s[pos] != '$') {
			snprintf(r->errbuf, sizeof(r->errbuf),
				 "ERR Protocol error: expected '$', got '%c'",
				 s[pos]);
			for (char *c = r->errbuf; *c; c++)
				if (*c == '\r' || *c == '\n')
					*c = ' ';
			r->err = r->errbuf;
			rc = -1;
			goto incomplete;
		}
		if (!ref_str2ll(s + pos + 1, (size_t)(nl - s) - pos - 1, &ll) ||
		    ll < 0 || ll > lim->max_bulk_len) {
			r->err = "ERR Protocol error: invalid bulk length";
			rc = -1;
			goto incomplete;
		}
		pos = (size_t)(nl - s) + 2;
		if (len - pos < (size_t)ll + 2) {
			rc = 0;
			goto incomplete;
		}
		ref_push(r, s + pos, (size_t)ll);
		pos += (size_t)ll + 2;
	}
	r->consumed = pos;
	return RESP_OK;
incomplete:
	ref_free(r);
	return rc < 0 ? RESP_ERROR : RESP_AGAIN;
}

/* s is NUL-terminated at len, as Redis's query buffer is. */
static void ref_parse(const char *s, size_t len, const struct resp_limits *lim,
		      struct ref_req *r)
{
	memset(r, 0, sizeof(*r));
	if (len == 0)
		r->rc = RESP_AGAIN;
	else if (s[0] == '*')
		r->rc = ref_multibulk(s, len, lim, r);
	else
		r->rc = ref_inline(s, len, lim, r);
	if (r->rc != RESP_ERROR)
		r->err = NULL;
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

static struct resp_arg *fuzz_grow(void *arg, struct resp_arg *old, int want)
{
	struct resp_arg *small = arg;

	if (old != small)
		free(old);
	return calloc((size_t)want, sizeof(*old));
}

struct fuzz_req {
	struct resp_arg small[1];
	struct resp_req req;
};

static void fuzz_req_init(struct fuzz_req *f)
{
	memset(f, 0, sizeof(*f));
	f->req.argv = f->small;
	f->req.argv_cap = 1;
	f->req.grow = fuzz_grow;
	f->req.grow_arg = f->small;
}

static void fuzz_req_free(struct fuzz_req *f)
{
	if (f->req.argv != f->small)
		free(f->req.argv);
}

/* Every shorter prefix of a complete request is incomplete, and its
 * `need` never overshoots the request. */
static void check_prefixes(const uint8_t *data, size_t total,
			   const struct resp_limits *lim)
{
	struct fuzz_req f;
	size_t consumed, need;
	const char *err;
	char *buf;

	if (total > 300)
		return;
	fuzz_req_init(&f);
	for (size_t cut = 0; cut < total; cut++) {
		buf = malloc(cut + 1);
		CHECK(buf != NULL);
		memcpy(buf, data, cut);
		CHECK(resp_parse(buf, cut, lim, &f.req, &consumed, &need,
				 &err) == RESP_AGAIN);
		CHECK(need == 0 || (need > cut && need <= total));
		free(buf);
	}
	fuzz_req_free(&f);
}

/* Compose the request with the writer and parse it back. */
static void check_round_trip(const struct resp_req *req,
			     const struct resp_limits *lim)
{
	struct resp_out o;
	struct fuzz_req f;
	size_t consumed, need;
	const char *err;

	if (req->argc == 0)
		return;
	resp_out_init(&o, 2);
	resp_array(&o, req->argc);
	for (int i = 0; i < req->argc; i++)
		resp_bulk(&o, req->argv[i].ptr, req->argv[i].len);
	CHECK(!o.oom);
	fuzz_req_init(&f);
	if (resp_parse(o.buf, o.len, lim, &f.req, &consumed, &need, &err) ==
	    RESP_OK) {
		CHECK(consumed == o.len);
		CHECK(f.req.argc == req->argc);
		for (int i = 0; i < req->argc; i++) {
			CHECK(f.req.argv[i].len == req->argv[i].len);
			CHECK(memcmp(f.req.argv[i].ptr, req->argv[i].ptr,
				     req->argv[i].len) == 0);
		}
	} else {
		/* Only tiny limits may refuse what the input had. */
		CHECK(lim->max_bulk_len < 512LL * 1024 * 1024);
	}
	fuzz_req_free(&f);
	resp_out_free(&o);
}

static void check_same(const struct resp_req *req, int rc, size_t consumed,
		       const char *err, const struct ref_req *ref)
{
	CHECK(rc == ref->rc);
	if (rc == RESP_ERROR)
		CHECK(strcmp(err, ref->err) == 0);
	if (rc != RESP_OK)
		return;
	CHECK(consumed == ref->consumed);
	CHECK(req->argc == ref->argc);
	for (int i = 0; i < req->argc; i++) {
		CHECK(req->argv[i].len == ref->argv[i].len);
		CHECK(memcmp(req->argv[i].ptr, ref->argv[i].p,
			     req->argv[i].len) == 0);
	}
}

/* Parse the input as a pipeline, request after request. */
static void check_pipeline(const uint8_t *data, size_t size,
			   const struct resp_limits *lim)
{
	char *buf = malloc(size + 1), *ref_buf = malloc(size + 1);
	size_t off = 0, consumed, need, left;
	struct ref_req ref;
	struct fuzz_req f;
	const char *err;
	int rc;

	CHECK(buf != NULL && ref_buf != NULL);
	memcpy(buf, data, size);
	fuzz_req_init(&f);
	for (;;) {
		left = size - off;
		/* The model reads a pristine NUL-terminated copy: the parser
		 * may rewrite inline requests in place. */
		memcpy(ref_buf, data + off, left);
		ref_buf[left] = '\0';
		ref_parse(ref_buf, left, lim, &ref);
		rc = resp_parse(buf + off, left, lim, &f.req, &consumed, &need,
				&err);
		check_same(&f.req, rc, consumed, err, &ref);
		ref_free(&ref);
		if (rc != RESP_OK) {
			CHECK(consumed == 0);
			CHECK(rc != RESP_AGAIN || need == 0 || need > left);
			break;
		}
		CHECK(consumed > 0 && consumed <= left);
		for (int i = 0; i < f.req.argc; i++)
			CHECK(f.req.argv[i].ptr >= buf + off &&
			      f.req.argv[i].ptr + f.req.argv[i].len <=
				  buf + off + consumed);
		if (off == 0 && lim->max_inline >= 300)
			check_prefixes(data, consumed, lim);
		check_round_trip(&f.req, lim);
		off += consumed;
	}
	fuzz_req_free(&f);
	free(ref_buf);
	free(buf);
}

/* The writer on fuzzed text: one error line, doubles as "%.17g". */
static void check_writer(const uint8_t *data, size_t size)
{
	struct resp_out o;
	char *text = malloc(size + 1), want[64];
	double d = 0;
	int n;

	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	for (int proto = 2; proto <= 3; proto++) {
		resp_out_init(&o, proto);
		resp_error(&o, text);
		CHECK(!o.oom && o.len >= 3 && o.buf[0] == '-');
		CHECK(memcmp(o.buf + o.len - 2, "\r\n", 2) == 0);
		for (size_t i = 1; i < o.len - 2; i++)
			CHECK(o.buf[i] != '\r' && o.buf[i] != '\n');
		o.len = 0;
		resp_verbatim(&o, text, size);
		resp_bulk(&o, data, size);
		resp_simple_len(&o, text, strlen(text));
		CHECK(!o.oom);
		o.len = 0;
		if (size >= sizeof(d)) {
			memcpy(&d, data, sizeof(d));
			resp_double(&o, d);
			n = snprintf(want, sizeof(want), "%.17g", d);
			if (d > 1e308 * 10)
				n = snprintf(want, sizeof(want), "inf");
			else if (d < -1e308 * 10)
				n = snprintf(want, sizeof(want), "-inf");
			CHECK(o.len >= (size_t)n + 3);
			CHECK(memcmp(o.buf + o.len - 2 - n, want, (size_t)n) ==
			      0);
		}
		resp_out_free(&o);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_limits lim;

	resp_limits_default(&lim);
	check_pipeline(data, size, &lim);
	/* Tiny limits reach the "too big" and "invalid length" paths. */
	lim.max_inline = 16;
	lim.max_bulk_len = 8;
	lim.max_multibulk = 4;
	check_pipeline(data, size, &lim);
	check_writer(data, size);
	return 0;
}
