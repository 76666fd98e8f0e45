/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resp: the Redis serialization protocol, both directions.
 *
 * Parsing is zero-copy and restartable: resp_parse() looks at the bytes a
 * connection has buffered, and either returns one complete request whose
 * arguments point into that buffer, or says how many bytes it still needs and
 * consumes nothing (the caller keeps the bytes and calls again when more
 * arrive).  It accepts multibulk requests ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
 * and inline requests ("GET k\r\n", as telnet and redis-cli send), and
 * rejects malformed input with Redis's exact protocol error text.
 *
 * Writing appends RESP2 or RESP3 to a growable resp_out; the protocol
 * version lives in the buffer so command handlers never branch on it.
 *
 * Threading: no shared state; every object belongs to the caller's thread.
 */
#ifndef CACHALOT_RESP_H
#define CACHALOT_RESP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One argument of a request; points into the caller's input buffer. */
struct resp_arg {
	const char *ptr;
	size_t len;
};

/* What a client that still owes AUTH may announce, as Redis 7.0 limits. */
#define RESP_UNAUTH_MBULK 10
#define RESP_UNAUTH_BULK 16384

/** Limits the parser enforces (from config: proto-max-bulk-len). */
struct resp_limits {
	int64_t max_bulk_len;  /* proto-max-bulk-len, default 512 MB */
	int64_t max_multibulk; /* arguments per request, Redis 7.0: INT_MAX */
	size_t max_inline;     /* an inline request without "\n", 64 KB */
	bool unauth;	       /* client not authenticated: tight limits */
};

/** Redis's defaults for resp_limits. */
void resp_limits_default(struct resp_limits *lim);

enum resp_status {
	RESP_ERROR = -1, /* malformed: reply *err and close the connection */
	RESP_AGAIN = 0,	 /* incomplete: keep the bytes, call again later */
	RESP_OK = 1,	 /* one request parsed (argc may be 0: empty line) */
};

/**
 * A parsed request.  The caller owns argv (capacity argv_cap) and may pass
 * a small array; when a request has more arguments than argv_cap the parser
 * calls grow() to get a larger array (returning NULL makes it fail with
 * RESP_ERROR and err "ERR Protocol error: out of memory").
 */
struct resp_req {
	int argc;
	struct resp_arg *argv;
	int argv_cap;
	struct resp_arg *(*grow)(void *arg, struct resp_arg *old, int want);
	void *grow_arg;
	/* Inline requests have their arguments unquoted into scratch space:
	 * the parser rewrites the input buffer in place (it only shrinks). */
	uint8_t is_inline;
	/* In: headers that start before this offset were accepted by an
	 * earlier call (the previous RESP_AGAIN's partial) and are not
	 * checked against the limits again: Redis checks a "$<len>" once,
	 * when it reads it, so a CONFIG SET proto-max-bulk-len never
	 * refuses a bulk already announced.  0 for a new request. */
	size_t checked;
	/* Out, on RESP_AGAIN: the bytes of the request Redis would have
	 * consumed already (the "*<n>" line, every complete argument, and
	 * the "$<len>" line of a payload still arriving); the rest is what
	 * Redis holds in its query buffer, which client-query-buffer-limit
	 * bounds.  0 for an inline request and otherwise. */
	size_t partial;
};

/**
 * Parse one request from buf[0..len).
 *
 * Returns RESP_OK with *consumed set to the request's size in bytes;
 * RESP_AGAIN with *consumed = 0, req->partial set (see struct resp_req) and
 * *need set to the end of the bulk payload being waited for, when its
 * header has arrived and it is not in buf yet (0 otherwise), so the caller
 * can grow its buffer once for a large bulk; RESP_ERROR with *err set to a
 * static string holding Redis's error text without the leading '-' or trailing
 * CRLF (e.g. "ERR Protocol error: invalid bulk length").
 *
 * buf is writable because inline requests are unquoted in place.
 * Context: any thread; no allocation except through req->grow.
 */
int resp_parse(char *buf, size_t len, const struct resp_limits *lim,
	       struct resp_req *req, size_t *consumed, size_t *need,
	       const char **err);

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* Why a resp_out stopped taking writes (resp_out.oom). */
#define RESP_OOM_ALLOC 1 /* the allocator failed */
#define RESP_OOM_LIMIT 2 /* len would pass limit */

/**
 * A growable output buffer with the client's protocol version.  limit
 * (0 = none) caps len: the owner sets it so that one huge reply is refused
 * while it grows, not after it was built (client-output-buffer-limit).
 */
struct resp_out {
	char *buf;
	size_t len;
	size_t cap;
	size_t limit;  /* most bytes len may reach; 0 = no limit */
	uint8_t proto; /* 2 or 3 */
	uint8_t oom;   /* RESP_OOM_*: growth failed; contents truncated */
};

/** Initialise empty (no allocation until the first write), no limit. */
void resp_out_init(struct resp_out *o, int proto);
/** Refuse every later write to o, as a failed growth does (why:
 * RESP_OOM_*), e.g. when a reply built elsewhere was over the limit. */
void resp_out_fail(struct resp_out *o, int why);
/** Free the storage. */
void resp_out_free(struct resp_out *o);
/** Make room for n more bytes; returns a pointer to write them or NULL. */
char *resp_out_reserve(struct resp_out *o, size_t n);
/** Append raw bytes (already RESP encoded). */
void resp_out_raw(struct resp_out *o, const void *p, size_t n);

void resp_simple(struct resp_out *o, const char *s); /* +s */
void resp_simple_len(struct resp_out *o, const char *s, size_t n);
void resp_ok(struct resp_out *o); /* +OK */
/** -<text>: text is the whole error, e.g. "ERR syntax error". */
void resp_error(struct resp_out *o, const char *text);
void resp_errorf(struct resp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_int(struct resp_out *o, long long v);		     /* :v */
void resp_bulk(struct resp_out *o, const void *p, size_t n); /* $n */
void resp_bulk_str(struct resp_out *o, const char *s);
void resp_bulk_ll(struct resp_out *o, long long v);
/** A double as Redis formats it: RESP3 ",v", RESP2 a bulk string
 * ("%.17g"-style shortest round-trip, "inf", "-inf"). */
void resp_double(struct resp_out *o, double v);
void resp_null(struct resp_out *o);	       /* RESP2 $-1, RESP3 _ */
void resp_null_array(struct resp_out *o);      /* RESP2 *-1, RESP3 _ */
void resp_array(struct resp_out *o, long n);   /* *n */
void resp_map(struct resp_out *o, long pairs); /* RESP3 %n, RESP2 *2n */
void resp_set(struct resp_out *o, long n);     /* RESP3 ~n, RESP2 *n */
void resp_bool(struct resp_out *o, int v);     /* RESP3 #t/#f, RESP2 :1/:0 */
/** RESP3 "=len\r\ntxt:..." verbatim string, RESP2 a bulk string. */
void resp_verbatim(struct resp_out *o, const char *p, size_t n);
/** RESP3 push ">n" (RESP2: "*n"). */
void resp_push(struct resp_out *o, long n);

/** Bytes needed for the decimal form of v (helper for fast paths). */
int resp_ll2str(char *dst, long long v);

#endif
