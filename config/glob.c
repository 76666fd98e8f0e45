// SPDX-License-Identifier: BSD-3-Clause
/*
 * glob: Redis's stringmatchlen(), byte for byte in behaviour.
 *
 * Clients rely on the corner cases (an unterminated '[' matching literally,
 * reversed ranges "[z-a]", '\' escaping inside brackets, a trailing '\'
 * matching itself), so the algorithm follows Redis rather than fnmatch(3).
 * Two differences in mechanics, none in results:
 *  - the pattern is bounded by its length, never by a NUL: patterns come
 *    straight from RESP buffers and are not terminated;
 *  - case folding is ASCII only (what tolower() does in the C locale Redis
 *    runs in), so the result does not depend on the process locale.
 *
 * Performance guard: "a*a*a*a*...b" against "aaaa...": after a star fails
 * to place the rest of the pattern anywhere in the remaining string, no
 * earlier star can succeed by consuming more, so every enclosing star stops
 * at once (skip_longer).  Recursion depth is capped as Redis does, so a
 * hostile pattern cannot exhaust the stack.
 */
#include <stdbool.h>
#include <stddef.h>

#include "glob.h"

#define GLOB_MAX_NESTING 1000

struct glob_ctx {
	bool nocase;
	bool skip_longer;
};

static int fold(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool same(int a, int b, bool nocase)
{
	return nocase ? fold(a) == fold(b) : a == b;
}

/*
 * One "[...]" class.  *pp / *plen point just past '['; on return they point
 * at the closing ']' (or at the last byte of an unterminated class, as in
 * Redis, so that the caller's common advance consumes it).  Returns true
 * when c is in the class.  Comparisons use plain char values, as Redis does.
 */
static bool match_class(const char **pp, size_t *plen, char c, bool nocase)
{
	const char *p = *pp;
	size_t len = *plen;
	bool not = false, match = false;

	if (len && p[0] == '^') {
		not = true;
		p++;
		len--;
	}
	for (;;) {
		if (len == 0) {
			p--;
			len++;
			break;
		}
		if (p[0] == '\\' && len >= 2) {
			p++;
			len--;
			if (p[0] == c)
				match = true;
		} else if (p[0] == ']') {
			break;
		} else if (len >= 3 && p[1] == '-') {
			int start = p[0], end = p[2], x = c;

			if (start > end) {
				int t = start;

				start = end;
				end = t;
			}
			if (nocase) {
				start = fold(start);
				end = fold(end);
				x = fold(x);
			}
			p += 2;
			len -= 2;
			if (x >= start && x <= end)
				match = true;
		} else if (same(p[0], c, nocase)) {
			match = true;
		}
		p++;
		len--;
	}
	*pp = p;
	*plen = len;
	return not ? !match : match;
}

static bool match_impl(const char *p, size_t plen, const char *s, size_t slen,
		       struct glob_ctx *ctx, int nesting)
{
	if (nesting > GLOB_MAX_NESTING)
		return false;

	while (plen && slen) {
		switch (p[0]) {
		case '*':
			while (plen > 1 && p[1] == '*') {
				p++;
				plen--;
			}
			if (plen == 1)
				return true;
			while (slen) {
				if (match_impl(p + 1, plen - 1, s, slen, ctx,
					       nesting + 1))
					return true;
				if (ctx->skip_longer)
					return false;
				s++;
				slen--;
			}
			ctx->skip_longer = true;
			return false;
		case '?':
			s++;
			slen--;
			break;
		case '[':
			p++;
			plen--;
			if (!match_class(&p, &plen, s[0], ctx->nocase))
				return false;
			s++;
			slen--;
			break;
		case '\\':
			if (plen >= 2) {
				p++;
				plen--;
			}
			/* fall through */
		default:
			if (!same(p[0], s[0], ctx->nocase))
				return false;
			s++;
			slen--;
			break;
		}
		p++;
		plen--;
		if (slen == 0) {
			/* Trailing stars match the empty rest of the string. */
			while (plen && p[0] == '*') {
				p++;
				plen--;
			}
			break;
		}
	}
	return plen == 0 && slen == 0;
}

bool glob_match(const char *pat, size_t patlen, const char *s, size_t slen,
		bool nocase)
{
	struct glob_ctx ctx = {.nocase = nocase, .skip_longer = false};

	return match_impl(pat, patlen, s, slen, &ctx, 0);
}
