/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for resp: the parser against redis-server 7.0's behaviour
 * (every expectation here was checked against a live 7.0.15 by sending it
 * the same bytes), the writer byte for byte in RESP2 and RESP3, and round
 * trips from one to the other.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "resp/resp.h"

/* ------------------------------------------------------------------ */
/* Parser harness                                                      */

struct grow_ctx {
	struct resp_arg *small; /* the caller's own array: never freed */
	int calls;
	int last_want;
	int fail;
};

static struct resp_arg *test_grow(void *arg, struct resp_arg *old, int want)
{
	struct grow_ctx *g = arg;

	g->calls++;
	g->last_want = want;
	if (g->fail)
		return NULL;
	if (old != g->small)
		free(old);
	return calloc((size_t)want, sizeof(*old));
}

/* One parse of a private copy of the input, sized exactly so that
 * sanitizers catch any read past its end. */
struct parsed {
	int rc;
	size_t consumed;
	size_t need;
	const char *err;
	char *buf;
	struct resp_arg small[2];
	struct grow_ctx g;
	struct resp_req req;
};

static void parsed_init(struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->g.small = p->small;
	p->req.argv = p->small;
	p->req.argv_cap = 2;
	p->req.grow = test_grow;
	p->req.grow_arg = &p->g;
}

static void parsed_free(struct parsed *p)
{
	if (p->req.argv != p->small)
		free(p->req.argv);
	free(p->buf);
	p->buf = NULL;
}

static int parse_lim(struct parsed *p, const void *data, size_t len,
		     const struct resp_limits *lim)
{
	free(p->buf);
	p->buf = malloc(len ? len : 1);
	assert_non_null(p->buf);
	memcpy(p->buf, data, len);
	p->rc = resp_parse(p->buf, len, lim, &p->req, &p->consumed, &p->need,
			   &p->err);
	if (p->rc != RESP_OK)
		assert_int_equal(p->consumed, 0);
	if (p->rc == RESP_ERROR)
		assert_non_null(p->err);
	else
		assert_null(p->err);
	return p->rc;
}

static const struct resp_limits *default_lim(void)
{
	static struct resp_limits lim;

	resp_limits_default(&lim);
	return &lim;
}

static int parse(struct parsed *p, const void *data, size_t len)
{
	return parse_lim(p, data, len, default_lim());
}

/* Expected arguments, a NULL-terminated list; "\x01" cannot mark a
 * length, so binary arguments use assert_arg() directly. */
static void assert_args(const struct parsed *p, const char *const *want)
{
	int n = 0;

	while (want[n] != NULL)
		n++;
	assert_int_equal(p->req.argc, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(p->req.argv[i].len, strlen(want[i]));
		assert_memory_equal(p->req.argv[i].ptr, want[i],
				    strlen(want[i]));
	}
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})
#define S(lit) lit, sizeof(lit) - 1

static void expect_ok(const char *in, size_t len, size_t consumed,
		      const char *const *want)
{
	struct parsed p;

	parsed_init(&p);
	assert_int_equal(parse(&p, in, len), RESP_OK);
	assert_int_equal(p.consumed, consumed);
	assert_args(&p, want);
	parsed_free(&p);
}

static void expect_again(const char *in, size_t len)
{
	struct parsed p;

	parsed_init(&p);
	assert_int_equal(parse(&p, in, len), RESP_AGAIN);
	parsed_free(&p);
}

static void expect_err(const char *in, size_t len, const char *err)
{
	struct parsed p;

	parsed_init(&p);
	assert_int_equal(parse(&p, in, len), RESP_ERROR);
	assert_string_equal(p.err, err);
	parsed_free(&p);
}

/* ------------------------------------------------------------------ */
/* Parser: valid input                                                 */

static void test_parse_get(void **state)
{
	struct parsed p;

	parsed_init(&p);
	assert_int_equal(parse(&p, S("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")),
			 RESP_OK);
	assert_int_equal(p.consumed, 22);
	assert_int_equal(p.req.is_inline, 0);
	assert_args(&p, ARGS("GET", "foo"));
	/* Zero copy: the arguments point into the input. */
	assert_ptr_equal(p.req.argv[0].ptr, p.buf + 8);
	assert_ptr_equal(p.req.argv[1].ptr, p.buf + 17);
	assert_int_equal(p.g.calls, 0);
	parsed_free(&p);
}

static void test_parse_binary_bulk(void **state)
{
	static const char in[] = "*1\r\n$5\r\na\0\r\nb\r\n";
	struct parsed p;

	parsed_init(&p);
	assert_int_equal(parse(&p, in, sizeof(in) - 1), RESP_OK);
	assert_int_equal(p.req.argc, 1);
	assert_int_equal(p.req.argv[0].len, 5);
	assert_memory_equal(p.req.argv[0].ptr, "a\0\r\nb", 5);
	parsed_free(&p);
}

static void test_parse_empty_multibulk(void **state)
{
	/* Redis skips these and reads on. */
	expect_ok(S("*0\r\n"), 4, NOARGS);
	expect_ok(S("*-1\r\n"), 5, NOARGS);
	expect_ok(S("*-5\r\n*1\r\n$4\r\nPING\r\n"), 5, NOARGS);
	expect_ok(S("*1\r\n$0\r\n\r\n"), 10, ARGS(""));
}

static void test_parse_crlf_not_checked(void **state)
{
	/* Redis skips the byte after '\r' and the two after a payload without
	 * looking at them: "*1\rX$4\r\nPINGxx" is a PING to redis-server. */
	expect_ok(S("*1\rX$4\r\nPINGxx*1"), 14, ARGS("PING"));
	expect_ok(S("*1\r\n$4\r\nPING\n\n"), 14, ARGS("PING"));
}

static void test_parse_again(void **state)
{
	expect_again("", 0);
	expect_again(S("*"));
	expect_again(S("*2"));
	expect_again(S("*2\r"));    /* '\r' without its '\n' */
	expect_again(S("*1\r\nX")); /* no '$' error before the line */
	expect_again(S("*1\r\n$4\r\nPIN"));
	expect_again(S("*1\r\n$4\r\nPING\r"));
	expect_again(S("GET foo"));
	expect_again(S("GET foo\r"));
}

static void test_parse_nul_hides_line(void **state)
{
	/* redis-server finds lines with strchr(): a NUL before the line's end
	 * makes it wait rather than reject the line. */
	expect_again(S("*1\r\n$4\0\r\nPING\r\n"));
	expect_again(S("*1\0\r\n"));
	expect_again(S("*1\r\n\0\r\n"));
	expect_again(S("GET a\0b\r\n"));
	expect_again(S("\0PING\r\n"));
}

/* ------------------------------------------------------------------ */
/* Parser: errors, with Redis's text                                   */

#define E_MBULK "ERR Protocol error: invalid multibulk length"
#define E_BULK "ERR Protocol error: invalid bulk length"

static void test_parse_err_multibulk_len(void **state)
{
	expect_err(S("*x\r\n"), E_MBULK);
	expect_err(S("*\r\n"), E_MBULK);
	expect_err(S("*01\r\n"), E_MBULK);
	expect_err(S("*-0\r\n"), E_MBULK);
	expect_err(S("*+1\r\n"), E_MBULK);
	expect_err(S("*1 \r\n"), E_MBULK);
	expect_err(S("*2147483648\r\n"), E_MBULK);
	expect_err(S("*99999999999999999999\r\n"), E_MBULK);
	/* string2ll() refuses 21 characters even when they are a number. */
	expect_err(S("*-00000000000000000001\r\n"), E_MBULK);
	/* What 7.0 accepts: up to INT_MAX arguments. */
	expect_again(S("*2147483647\r\n"));
	expect_again(S("*1048577\r\n"));
}

static void test_parse_err_bulk_len(void **state)
{
	expect_err(S("*1\r\n$-1\r\n"), E_BULK);
	expect_err(S("*1\r\n$+4\r\nPING\r\n"), E_BULK);
	expect_err(S("*1\r\n$00\r\n\r\n"), E_BULK);
	expect_err(S("*1\r\n$\r\n"), E_BULK);
	expect_err(S("*1\r\n$4x\r\n"), E_BULK);
	expect_err(S("*1\r\n$536870913\r\n"), E_BULK);
	expect_err(S("*1\r\n$9223372036854775808\r\n"), E_BULK);
	expect_again(S("*1\r\n$536870912\r\n"));
	/* The second argument is checked even when the first is fine. */
	expect_err(S("*2\r\n$1\r\na\r\n$x\r\n"), E_BULK);
}

static void test_parse_err_expected_dollar(void **state)
{
	expect_err(S("*1\r\nX\r\n"),
		   "ERR Protocol error: expected '$', got 'X'");
	expect_err(S("*2\r\n$1\r\na\r\n:1\r\n"),
		   "ERR Protocol error: expected '$', got ':'");
	expect_err(S("*1\r\n\xff\r\n"),
		   "ERR Protocol error: expected '$', got '\xff'");
	/* Redis maps CR and LF in an error to spaces. */
	expect_err(S("*1\r\n\r\n"),
		   "ERR Protocol error: expected '$', got ' '");
	expect_err(S("*1\r\n\n\r\n"),
		   "ERR Protocol error: expected '$', got ' '");
}

static void test_parse_err_limits(void **state)
{
	struct resp_limits lim;
	struct parsed p;

	resp_limits_default(&lim);
	assert_int_equal(lim.max_bulk_len, 512LL * 1024 * 1024);
	assert_int_equal(lim.max_multibulk, INT_MAX);
	assert_int_equal(lim.max_inline, 64 * 1024);

	lim.max_multibulk = 2;
	lim.max_bulk_len = 3;
	parsed_init(&p);
	assert_int_equal(parse_lim(&p, S("*3\r\n"), &lim), RESP_ERROR);
	assert_string_equal(p.err, E_MBULK);
	assert_int_equal(parse_lim(&p, S("*2\r\n$4\r\n"), &lim), RESP_ERROR);
	assert_string_equal(p.err, E_BULK);
	assert_int_equal(
	    parse_lim(&p, S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), &lim), RESP_OK);
	parsed_free(&p);
}

/* prefix, then a line of n bytes without '\r' or '\n'
 * ("$111..." after a complete "*1" line, "111..." otherwise). */
static void expect_long_line(const char *prefix, size_t n, int rc,
			     const char *err)
{
	size_t plen = strlen(prefix);
	char *in = malloc(plen + n);
	struct parsed p;

	memcpy(in, prefix, plen);
	memset(in + plen, '1', n);
	if (prefix[plen - 1] == '\n')
		in[plen] = '$';
	parsed_init(&p);
	assert_int_equal(parse(&p, in, plen + n), rc);
	if (err != NULL)
		assert_string_equal(p.err, err);
	parsed_free(&p);
	free(in);
}

static void test_parse_err_too_big(void **state)
{
	/* Redis gives up once more than 64 KB follow a line's start. */
	expect_long_line("*", 65536, RESP_ERROR,
			 "ERR Protocol error: too big mbulk count string");
	expect_long_line("*", 65535, RESP_AGAIN, NULL);
	expect_long_line("*1\r\n", 65537, RESP_ERROR,
			 "ERR Protocol error: too big bulk count string");
	expect_long_line("*1\r\n", 65536, RESP_AGAIN, NULL);
	expect_long_line("G", 65536, RESP_ERROR,
			 "ERR Protocol error: too big inline request");
	expect_long_line("G", 65535, RESP_AGAIN, NULL);
}

static void test_parse_err_too_big_nul(void **state)
{
	/* A line hidden by a NUL trips the same limit. */
	size_t n = 70000;
	char *in = calloc(1, n);

	memcpy(in, "*1\r\n$4\0\r\n", 9);
	expect_err(in, n, "ERR Protocol error: too big bulk count string");
	memcpy(in, "GET\0\r\n", 6);
	expect_err(in, n, "ERR Protocol error: too big inline request");
	free(in);
}

/* Found by fuzzing: a NUL before a '\r' that is the last byte hides the
 * line from Redis, so the "too big" limit applies instead of a wait. */
static void test_fuzz_nul_before_final_cr(void **state)
{
	static const char in[] = "*lllllll\0lllllllll1$4\r";
	struct resp_limits lim;
	struct parsed p;

	resp_limits_default(&lim);
	lim.max_inline = 16;
	parsed_init(&p);
	assert_int_equal(parse_lim(&p, in, sizeof(in) - 1, &lim), RESP_ERROR);
	assert_string_equal(p.err,
			    "ERR Protocol error: too big mbulk count string");
	/* Without the NUL it is an ordinary wait for the '\n'. */
	assert_int_equal(parse_lim(&p, S("*llllllllllllllllll1$4\r"), &lim),
			 RESP_AGAIN);
	parsed_free(&p);
}

static void test_parse_inline_long_line_ok(void **state)
{
	/* A newline anywhere makes the line acceptable, however long. */
	size_t n = 70000;
	char *in = malloc(n);
	struct parsed p;

	memcpy(in, "ECHO ", 5);
	memset(in + 5, 'a', n - 6);
	in[n - 1] = '\n';
	parsed_init(&p);
	assert_int_equal(parse(&p, in, n), RESP_OK);
	assert_int_equal(p.req.argc, 2);
	assert_int_equal(p.req.argv[1].len, n - 6);
	parsed_free(&p);
	free(in);
}

/* ------------------------------------------------------------------ */
/* Parser: inline                                                      */

struct inline_case {
	const char *in;
	const char *const *args; /* NULL: unbalanced quotes */
};

static void test_parse_inline_quoting(void **state)
{
	const struct inline_case cases[] = {
	    {"GET foo\r\n", ARGS("GET", "foo")},
	    {"GET foo\n", ARGS("GET", "foo")},
	    {"  SET\t k \t v  \r\n", ARGS("SET", "k", "v")},
	    {"\v\fECHO x\r\n", ARGS("ECHO", "x")},
	    /* \v and \f separate arguments only at their start. */
	    {"ECHO a\vb\r\n", ARGS("ECHO", "a\vb")},
	    {"ECHO a\rb\n", ARGS("ECHO", "a", "b")},
	    {"ECHO \"a\\x41\\n\\q\"\r\n", ARGS("ECHO", "aA\nq")},
	    {"ECHO \"\\x4\"\n", ARGS("ECHO", "x4")},
	    {"ECHO \"\\t\\r\\b\\a\\\\\\\"\"\n", ARGS("ECHO", "\t\r\b\a\\\"")},
	    {"ECHO \"a\rb\"\n", ARGS("ECHO", "a\rb")},
	    {"ECHO a\"b c\"\r\n", ARGS("ECHO", "ab c")},
	    {"ECHO \"\"\n", ARGS("ECHO", "")},
	    {"ECHO ''\n", ARGS("ECHO", "")},
	    {"ECHO 'a\\'b'\n", ARGS("ECHO", "a'b")},
	    {"ECHO 'a\\nb'\n", ARGS("ECHO", "a\\nb")},
	    {"ECHO \"x\"\v\n", ARGS("ECHO", "x")},
	    {"ECHO \"x\"\r\n", ARGS("ECHO", "x")},
	    {"ECHO \xff\xfe\n", ARGS("ECHO", "\xff\xfe")},
	    {"ECHO \"\\xfF\"\n", ARGS("ECHO", "\xff")},
	    {"ECHO \"abc\r\n", NULL},
	    {"ECHO \"a\"b\r\n", NULL},
	    {"ECHO 'a'b\n", NULL},
	    {"ECHO 'a\n", NULL},
	    {"ECHO \"\\\"\n", NULL},
	    {"ECHO \"\\\n", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;
		struct parsed p;

		parsed_init(&p);
		if (cases[i].args == NULL) {
			expect_err(
			    in, strlen(in),
			    "ERR Protocol error: unbalanced quotes in request");
			continue;
		}
		assert_int_equal(parse(&p, in, strlen(in)), RESP_OK);
		assert_int_equal(p.consumed, strlen(in));
		assert_int_equal(p.req.is_inline, 1);
		assert_args(&p, cases[i].args);
		/* Unquoted in place, inside the request. */
		for (int a = 0; a < p.req.argc; a++) {
			assert_true(p.req.argv[a].ptr >= p.buf);
			assert_true(p.req.argv[a].ptr + p.req.argv[a].len <=
				    p.buf + p.consumed);
		}
		parsed_free(&p);
	}
}

static void test_parse_inline_empty(void **state)
{
	expect_ok(S("\r\n"), 2, NOARGS);
	expect_ok(S("\n"), 1, NOARGS);
	expect_ok(S(" \t \r\n"), 5, NOARGS);
	expect_ok(S("\r\r\n"), 3, NOARGS);
}

/* ------------------------------------------------------------------ */
/* Parser: split input, pipelines, need, grow                          */

static void check_every_split(const char *in, size_t len)
{
	struct parsed whole, part;

	parsed_init(&whole);
	assert_int_equal(parse(&whole, in, len), RESP_OK);
	assert_int_equal(whole.consumed, len);
	for (size_t cut = 0; cut < len; cut++) {
		parsed_init(&part);
		assert_int_equal(parse(&part, in, cut), RESP_AGAIN);
		assert_true(part.need == 0 || part.need > cut);
		assert_true(part.need <= len);
		/* Then the whole request: the same arguments. */
		assert_int_equal(parse(&part, in, len), RESP_OK);
		assert_int_equal(part.consumed, len);
		assert_int_equal(part.req.argc, whole.req.argc);
		for (int a = 0; a < whole.req.argc; a++) {
			assert_int_equal(part.req.argv[a].len,
					 whole.req.argv[a].len);
			assert_memory_equal(part.req.argv[a].ptr,
					    whole.req.argv[a].ptr,
					    whole.req.argv[a].len);
		}
		parsed_free(&part);
	}
	parsed_free(&whole);
}

static void test_parse_every_split(void **state)
{
	check_every_split(S("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"));
	check_every_split(
	    S("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$10\r\n0123456789\r\n"));
	check_every_split(S("*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
			    "$1\r\ne\r\n"));
	check_every_split(S("*1\r\n$4\r\n\r\n\r\n\r\n"));
	check_every_split(S("*0\r\n"));
	check_every_split(S("SET k \"v a\\x41\"\r\n"));
	check_every_split(S("PING\n"));
}

static void test_parse_pipeline(void **state)
{
	static const char in[] = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
				 "*0\r\n"
				 "PING\r\n"
				 "\r\n"
				 "*1\r\n$4\r\nPING\r\n"
				 "ECHO 'x y'\n"
				 "*1\r\n$4\r\nPI";
	static const int argcs[] = {2, 0, 1, 0, 1, 2};
	struct parsed p;
	size_t off = 0;
	char *buf = malloc(sizeof(in) - 1);
	int n = 0, rc;

	memcpy(buf, in, sizeof(in) - 1);
	parsed_init(&p);
	for (;;) {
		rc = resp_parse(buf + off, sizeof(in) - 1 - off, default_lim(),
				&p.req, &p.consumed, &p.need, &p.err);
		if (rc != RESP_OK)
			break;
		assert_true(n < 6);
		assert_int_equal(p.req.argc, argcs[n]);
		off += p.consumed;
		n++;
	}
	assert_int_equal(rc, RESP_AGAIN);
	assert_int_equal(n, 6);
	assert_int_equal(sizeof(in) - 1 - off, 10);
	assert_memory_equal(buf + off, "*1\r\n$4\r\nPI", 10);
	parsed_free(&p);
	free(buf);
}

/* Where Redis would be inside an incomplete request (resp_req.partial). */
static void test_parse_partial(void **state)
{
	static const char in[] =
	    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
	static const struct {
		size_t cut, partial;
	} at[] = {
	    {0, 0},   {3, 0},	{4, 4},	  {6, 4},   {8, 8},   {10, 8},
	    {13, 13}, {17, 17}, {20, 20}, {22, 20}, {25, 24}, {30, 24},
	};
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		parsed_init(&p);
		assert_int_equal(parse(&p, in, at[i].cut), RESP_AGAIN);
		assert_int_equal(p.req.partial, at[i].partial);
		parsed_free(&p);
	}
	parsed_init(&p);
	assert_int_equal(parse(&p, "SET k v", 7), RESP_AGAIN);
	assert_int_equal(p.req.partial, 0);
	parsed_free(&p);
}

/* A huge announced count waits for its arguments and asks for nothing. */
static void test_parse_huge_count_waits(void **state)
{
	struct parsed p;

	(void)state;
	parsed_init(&p);
	assert_int_equal(parse(&p, S("*2147483647\r\n")), RESP_AGAIN);
	assert_int_equal(p.need, 0);
	assert_int_equal(p.req.partial, 13);
	assert_int_equal(parse(&p, S("*1073741824\r\n$1\r\na\r\n")),
			 RESP_AGAIN);
	assert_int_equal(p.need, 0);
	assert_int_equal(p.req.partial, 20);
	assert_int_equal(p.g.calls, 0);
	parsed_free(&p);
}

/* A bulk header accepted by an earlier call is not refused by a limit
 * lowered since (req.checked); a later header is. */
static void test_parse_checked_header_not_rechecked(void **state)
{
	static const char in[] = "*3\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n"
				 "$10\r\n0123456789\r\n";
	struct resp_limits lim;
	struct parsed p;

	(void)state;
	resp_limits_default(&lim);
	parsed_init(&p);
	assert_int_equal(parse_lim(&p, in, 20, &lim), RESP_AGAIN);
	assert_int_equal(p.req.partial, 19);
	lim.max_bulk_len = 5;
	p.req.checked = p.req.partial;
	assert_int_equal(parse_lim(&p, in, 30, &lim), RESP_AGAIN);
	assert_int_equal(p.req.partial, 19);
	/* The second $10 is new: the lowered limit applies to it. */
	p.req.checked = p.req.partial;
	assert_int_equal(parse_lim(&p, in, sizeof(in) - 1, &lim), RESP_ERROR);
	assert_string_equal(p.err, "ERR Protocol error: invalid bulk length");
	/* Without the memory of the earlier call, the first one is refused. */
	p.req.checked = 0;
	assert_int_equal(parse_lim(&p, in, 30, &lim), RESP_ERROR);
	parsed_free(&p);
}

static void test_parse_need_big_bulk(void **state)
{
	/* SET k <64 MB>: once the big header is in, need is the total. */
	const size_t big = 64u << 20;
	const char hdr[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108864\r\n";
	size_t total = sizeof(hdr) - 1 + big + 2;
	char *buf = malloc(total);
	struct parsed p;
	struct timespec t0, t1;
	size_t len;
	int calls = 0;

	memcpy(buf, hdr, sizeof(hdr) - 1);
	memset(buf + sizeof(hdr) - 1, 'v', big);
	memcpy(buf + total - 2, "\r\n", 2);
	parsed_init(&p);
	/* Before the big header is in, nothing is known. */
	p.rc = resp_parse(buf, 20, default_lim(), &p.req, &p.consumed, &p.need,
			  &p.err);
	assert_int_equal(p.rc, RESP_AGAIN);
	assert_int_equal(p.need, 0);
	assert_int_equal(p.req.partial, 20);

	/* Fed 4 KB at a time: each call is O(1) in the payload, so 16k calls
	 * over 64 MB finish at once (re-scanning would take minutes). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (len = sizeof(hdr) - 1; len < total; len += 4096, calls++) {
		p.rc = resp_parse(buf, len, default_lim(), &p.req, &p.consumed,
				  &p.need, &p.err);
		assert_int_equal(p.rc, RESP_AGAIN);
		assert_int_equal(p.need, total);
	}
	p.rc = resp_parse(buf, total, default_lim(), &p.req, &p.consumed,
			  &p.need, &p.err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(p.rc, RESP_OK);
	assert_int_equal(p.consumed, total);
	assert_int_equal(p.req.argc, 3);
	assert_int_equal(p.req.argv[2].len, big);
	assert_true(calls > 16000);
	assert_true((t1.tv_sec - t0.tv_sec) < 2);
	free(buf);
	parsed_free(&p);
}

static void test_parse_grow(void **state)
{
	static const char in[] =
	    "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n";
	struct parsed p;

	/* Incomplete: nothing allocated even though argv is too small. */
	parsed_init(&p);
	assert_int_equal(parse(&p, in, sizeof(in) - 2), RESP_AGAIN);
	assert_int_equal(p.g.calls, 0);
	/* Complete: grown once, to the exact count. */
	assert_int_equal(parse(&p, in, sizeof(in) - 1), RESP_OK);
	assert_int_equal(p.g.calls, 1);
	assert_int_equal(p.g.last_want, 5);
	assert_int_equal(p.req.argv_cap, 5);
	assert_args(&p, ARGS("a", "b", "c", "d", "e"));
	/* Big enough now: no more calls. */
	assert_int_equal(parse(&p, in, sizeof(in) - 1), RESP_OK);
	assert_int_equal(p.g.calls, 1);
	parsed_free(&p);

	parsed_init(&p);
	assert_int_equal(parse(&p, S("a b c d e f\r\n")), RESP_OK);
	assert_int_equal(p.g.calls, 1);
	assert_int_equal(p.g.last_want, 6);
	assert_args(&p, ARGS("a", "b", "c", "d", "e", "f"));
	parsed_free(&p);
}

static void test_parse_grow_fails(void **state)
{
	struct parsed p;

	parsed_init(&p);
	p.g.fail = 1;
	assert_int_equal(
	    parse(&p, S("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")),
	    RESP_ERROR);
	assert_string_equal(p.err, "ERR Protocol error: out of memory");
	assert_int_equal(parse(&p, S("a b c\n")), RESP_ERROR);
	assert_string_equal(p.err, "ERR Protocol error: out of memory");
	p.req.grow = NULL;
	assert_int_equal(parse(&p, S("a b c\n")), RESP_ERROR);
	parsed_free(&p);
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

static void expect_out(struct resp_out *o, const char *want, size_t n)
{
	assert_false(o->oom);
	assert_int_equal(o->len, n);
	assert_memory_equal(o->buf, want, n);
	o->len = 0;
}

#define OUT(o, lit) expect_out((o), lit, sizeof(lit) - 1)

static void test_write_simple(void **state)
{
	struct resp_out o;

	for (int proto = 2; proto <= 3; proto++) {
		resp_out_init(&o, proto);
		resp_ok(&o);
		OUT(&o, "+OK\r\n");
		resp_simple(&o, "PONG");
		OUT(&o, "+PONG\r\n");
		resp_simple_len(&o, "QUEUEDxx", 6);
		OUT(&o, "+QUEUED\r\n");
		resp_int(&o, 0);
		OUT(&o, ":0\r\n");
		resp_int(&o, -42);
		OUT(&o, ":-42\r\n");
		resp_int(&o, LLONG_MIN);
		OUT(&o, ":-9223372036854775808\r\n");
		resp_int(&o, LLONG_MAX);
		OUT(&o, ":9223372036854775807\r\n");
		resp_bulk(&o, "bar", 3);
		OUT(&o, "$3\r\nbar\r\n");
		resp_bulk(&o, NULL, 0);
		OUT(&o, "$0\r\n\r\n");
		resp_bulk_str(&o, "hello world");
		OUT(&o, "$11\r\nhello world\r\n");
		resp_bulk_ll(&o, 12345);
		OUT(&o, "$5\r\n12345\r\n");
		resp_bulk_ll(&o, LLONG_MIN);
		OUT(&o, "$20\r\n-9223372036854775808\r\n");
		resp_array(&o, 3);
		OUT(&o, "*3\r\n");
		resp_array(&o, 0);
		OUT(&o, "*0\r\n");
		resp_out_raw(&o, "+RAW\r\n", 6);
		OUT(&o, "+RAW\r\n");
		resp_out_free(&o);
	}
}

static void test_write_resp2(void **state)
{
	struct resp_out o;

	resp_out_init(&o, 2);
	resp_null(&o);
	OUT(&o, "$-1\r\n");
	resp_bulk_str(&o, NULL);
	OUT(&o, "$-1\r\n");
	resp_null_array(&o);
	OUT(&o, "*-1\r\n");
	resp_map(&o, 3);
	OUT(&o, "*6\r\n");
	resp_set(&o, 4);
	OUT(&o, "*4\r\n");
	resp_push(&o, 3);
	OUT(&o, "*3\r\n");
	resp_bool(&o, 1);
	OUT(&o, ":1\r\n");
	resp_bool(&o, 0);
	OUT(&o, ":0\r\n");
	resp_verbatim(&o, "line1\nline2", 11);
	OUT(&o, "$11\r\nline1\nline2\r\n");
	resp_double(&o, 1.5);
	OUT(&o, "$3\r\n1.5\r\n");
	resp_double(&o, 0.1);
	OUT(&o, "$19\r\n0.10000000000000001\r\n");
	resp_double(&o, INFINITY);
	OUT(&o, "$3\r\ninf\r\n");
	resp_double(&o, -INFINITY);
	OUT(&o, "$4\r\n-inf\r\n");
	resp_double(&o, 3);
	OUT(&o, "$1\r\n3\r\n");
	resp_out_free(&o);
}

static void test_write_resp3(void **state)
{
	struct resp_out o;

	resp_out_init(&o, 3);
	resp_null(&o);
	OUT(&o, "_\r\n");
	resp_bulk_str(&o, NULL);
	OUT(&o, "_\r\n");
	resp_null_array(&o);
	OUT(&o, "_\r\n");
	resp_map(&o, 3);
	OUT(&o, "%3\r\n");
	resp_set(&o, 4);
	OUT(&o, "~4\r\n");
	resp_push(&o, 3);
	OUT(&o, ">3\r\n");
	resp_bool(&o, 7);
	OUT(&o, "#t\r\n");
	resp_bool(&o, 0);
	OUT(&o, "#f\r\n");
	resp_verbatim(&o, "line1\nline2", 11);
	OUT(&o, "=15\r\ntxt:line1\nline2\r\n");
	resp_verbatim(&o, "", 0);
	OUT(&o, "=4\r\ntxt:\r\n");
	resp_double(&o, 1.5);
	OUT(&o, ",1.5\r\n");
	resp_double(&o, 0.1);
	OUT(&o, ",0.10000000000000001\r\n");
	resp_double(&o, 1e17);
	OUT(&o, ",1e+17\r\n");
	resp_double(&o, 1e16);
	OUT(&o, ",10000000000000000\r\n");
	resp_double(&o, 1.0000000000000001e-05);
	OUT(&o, ",1.0000000000000001e-05\r\n");
	resp_double(&o, -0.0);
	OUT(&o, ",-0\r\n");
	resp_double(&o, INFINITY);
	OUT(&o, ",inf\r\n");
	resp_double(&o, -INFINITY);
	OUT(&o, ",-inf\r\n");
	resp_double(&o, NAN);
	OUT(&o, ",nan\r\n");
	resp_out_free(&o);
}

static void test_write_errors(void **state)
{
	char big[600];
	struct resp_out o;

	resp_out_init(&o, 3);
	resp_error(&o, "ERR syntax error");
	OUT(&o, "-ERR syntax error\r\n");
	resp_error(&o, "-WRONGTYPE Operation");
	OUT(&o, "-WRONGTYPE Operation\r\n");
	resp_error(&o, "ERR a\r\nb\nc\r\n");
	OUT(&o, "-ERR a  b c\r\n");
	resp_errorf(&o, "ERR unknown command '%s'", "x\ny");
	OUT(&o, "-ERR unknown command 'x y'\r\n");
	resp_errorf(&o, "ERR %d", 42);
	OUT(&o, "-ERR 42\r\n");

	/* Longer than errorf's stack buffer. */
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	resp_errorf(&o, "ERR %s", big);
	assert_int_equal(o.len, 1 + 4 + 599 + 2);
	assert_memory_equal(o.buf, "-ERR eee", 8);
	assert_memory_equal(o.buf + o.len - 3, "e\r\n", 3);
	resp_out_free(&o);
}

static void test_write_ll2str(void **state)
{
	static const long long vals[] = {
	    0,
	    1,
	    -1,
	    9,
	    10,
	    99,
	    100,
	    999,
	    1000,
	    9999,
	    10000,
	    12345678,
	    -100,
	    4294967296LL,
	    999999999999999999LL,
	    1000000000000000000LL,
	    LLONG_MAX,
	    LLONG_MIN,
	    LLONG_MIN + 1,
	};
	char got[32], want[32];
	long long v;
	int n;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		n = resp_ll2str(got, vals[i]);
		assert_int_equal(n,
				 snprintf(want, sizeof(want), "%lld", vals[i]));
		assert_string_equal(got, want);
	}
	/* Every power of ten and its neighbours. */
	for (v = 1; v <= LLONG_MAX / 10; v *= 10) {
		for (long long d = -1; d <= 1; d++) {
			n = resp_ll2str(got, v + d);
			snprintf(want, sizeof(want), "%lld", v + d);
			assert_string_equal(got, want);
			assert_int_equal(n, strlen(want));
			resp_ll2str(got, -(v + d));
			snprintf(want, sizeof(want), "%lld", -(v + d));
			assert_string_equal(got, want);
		}
	}
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: reproducible without libc's rand() state. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void check_double(struct resp_out *o, double v)
{
	char want[64];
	int n = snprintf(want + 1, sizeof(want) - 3, "%.17g", v);

	if (isinf(v))
		n = snprintf(want + 1, sizeof(want) - 3,
			     v > 0 ? "inf" : "-inf");
	want[0] = ',';
	memcpy(want + 1 + n, "\r\n", 2);
	resp_double(o, v);
	expect_out(o, want, (size_t)n + 3);
}

static void test_write_double_matches_printf(void **state)
{
	static const double vals[] = {
	    0,
	    1,
	    -1,
	    0.5,
	    1e15,
	    9007199254740992.0,
	    9007199254740993.0,
	    -9007199254740992.0,
	    1e300,
	    -1e-300,
	    5e-324,
	    123456789.125,
	    3.0000000000000004,
	    1e21,
	    -2.2250738585072014e-308,
	};
	struct resp_out o;
	uint64_t s = 0x9e3779b97f4a7c15ULL, bits;
	double v;

	resp_out_init(&o, 3);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		check_double(&o, vals[i]);
	for (int i = 0; i < 20000; i++) {
		bits = rnd(&s);
		memcpy(&v, &bits, sizeof(v));
		check_double(&o, v);
		/* Integers, where the fast path applies. */
		check_double(&o, (double)((int64_t)rnd(&s) >> (i % 64)));
	}
	resp_out_free(&o);
}

static void test_write_reserve_and_growth(void **state)
{
	struct resp_out o;
	char *p;

	resp_out_init(&o, 2);
	assert_null(o.buf);
	p = resp_out_reserve(&o, 5);
	assert_non_null(p);
	memcpy(p, "+OK\r\n", 5);
	OUT(&o, "+OK\r\n");

	/* 1 MB of small bulks: geometric growth, contents intact. */
	for (int i = 0; i < 100000; i++)
		resp_bulk_ll(&o, i);
	assert_false(o.oom);
	assert_true(o.cap >= o.len);
	for (int i = 0, off = 0; i < 100000; i++) {
		char want[40];
		int n = snprintf(want, sizeof(want), "$%d\r\n%d\r\n",
				 snprintf(NULL, 0, "%d", i), i);

		assert_memory_equal(o.buf + off, want, (size_t)n);
		off += n;
	}
	resp_out_free(&o);
	assert_null(o.buf);
}

static void test_write_oom_sticky(void **state)
{
	struct resp_out o;

	resp_out_init(&o, 2);
	resp_ok(&o);
	assert_null(resp_out_reserve(&o, SIZE_MAX - 1));
	assert_true(o.oom);
	assert_int_equal(o.len, 5);
	/* Dropped from now on: no reply may follow a hole. */
	resp_ok(&o);
	resp_bulk(&o, "x", 1);
	resp_double(&o, 2.5);
	assert_int_equal(o.len, 5);
	assert_memory_equal(o.buf, "+OK\r\n", 5);
	resp_out_free(&o);
}

/* ------------------------------------------------------------------ */
/* Round trips: compose with the writer, parse back                    */

static void round_trip(struct resp_out *o, struct resp_arg *args, int argc)
{
	struct parsed p;

	o->len = 0;
	resp_array(o, argc);
	for (int i = 0; i < argc; i++)
		resp_bulk(o, args[i].ptr, args[i].len);
	assert_false(o->oom);
	parsed_init(&p);
	assert_int_equal(parse(&p, o->buf, o->len), RESP_OK);
	assert_int_equal(p.consumed, o->len);
	assert_int_equal(p.req.argc, argc);
	for (int i = 0; i < argc; i++) {
		assert_int_equal(p.req.argv[i].len, args[i].len);
		assert_memory_equal(p.req.argv[i].ptr, args[i].ptr,
				    args[i].len);
	}
	parsed_free(&p);
}

static void test_round_trip(void **state)
{
	static char pool[4096];
	struct resp_arg args[40];
	struct resp_out o;
	uint64_t s = 42;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (char)rnd(&s);
	resp_out_init(&o, 2);
	for (int iter = 0; iter < 2000; iter++) {
		int argc = 1 + (int)(rnd(&s) % 40);

		for (int i = 0; i < argc; i++) {
			size_t len = rnd(&s) % 300;

			args[i].ptr = pool + rnd(&s) % (sizeof(pool) - len);
			args[i].len = len;
		}
		round_trip(&o, args, argc);
	}
	resp_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_get),
	    cmocka_unit_test(test_parse_binary_bulk),
	    cmocka_unit_test(test_parse_empty_multibulk),
	    cmocka_unit_test(test_parse_crlf_not_checked),
	    cmocka_unit_test(test_parse_again),
	    cmocka_unit_test(test_parse_nul_hides_line),
	    cmocka_unit_test(test_parse_err_multibulk_len),
	    cmocka_unit_test(test_parse_err_bulk_len),
	    cmocka_unit_test(test_parse_err_expected_dollar),
	    cmocka_unit_test(test_parse_err_limits),
	    cmocka_unit_test(test_parse_err_too_big),
	    cmocka_unit_test(test_parse_err_too_big_nul),
	    cmocka_unit_test(test_fuzz_nul_before_final_cr),
	    cmocka_unit_test(test_parse_inline_long_line_ok),
	    cmocka_unit_test(test_parse_inline_quoting),
	    cmocka_unit_test(test_parse_inline_empty),
	    cmocka_unit_test(test_parse_every_split),
	    cmocka_unit_test(test_parse_pipeline),
	    cmocka_unit_test(test_parse_partial),
	    cmocka_unit_test(test_parse_huge_count_waits),
	    cmocka_unit_test(test_parse_checked_header_not_rechecked),
	    cmocka_unit_test(test_parse_need_big_bulk),
	    cmocka_unit_test(test_parse_grow),
	    cmocka_unit_test(test_parse_grow_fails),
	    cmocka_unit_test(test_write_simple),
	    cmocka_unit_test(test_write_resp2),
	    cmocka_unit_test(test_write_resp3),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_write_ll2str),
	    cmocka_unit_test(test_write_double_matches_printf),
	    cmocka_unit_test(test_write_reserve_and_growth),
	    cmocka_unit_test(test_write_oom_sticky),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
