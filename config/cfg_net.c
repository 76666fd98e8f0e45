// SPDX-License-Identifier: BSD-3-Clause
/*
 * cfg_net: the value syntaxes of the DPDK transport's parameters (ip,
 * gateway, dpdk-args, dpdk-fault).  They live here, not in drivers/, so
 * that a bad value is refused while the file is read, with the same kind of
 * message as every other parameter, and so that they are unit tested
 * without DPDK.  The driver parses the stored strings again at start-up
 * with the same functions.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mimalloc.h>

#include "cfg.h"

/* One decimal number 0..max, no sign, no leading zeros but "0" itself. */
static const char *parse_dec(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return NULL;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return NULL;
	}
	*out = v;
	return p;
}

int cfg_parse_ipv4(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned b;

		s = parse_dec(s, 255, &b);
		if (!s)
			return -EINVAL;
		v = v << 8 | b;
		if (i < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*ip = v;
	return 0;
}

int cfg_parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix)
{
	const char *slash = strchr(s, '/');
	char addr[16];
	unsigned len;
	size_t n;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (cfg_parse_ipv4(addr, ip))
		return -EINVAL;
	s = parse_dec(slash + 1, 32, &len);
	if (!s || *s || len == 0)
		return -EINVAL;
	*prefix = (uint8_t)len;
	return 0;
}

/*
 * Shell words: blanks separate, '...' is literal, "..." keeps blanks and
 * honours \" \\ \$ \` and \newline, a backslash outside quotes escapes the
 * next character.  No expansion of any kind.  One allocation holds the
 * vector and the words.
 */
int cfg_split_args(const char *s, char ***argv)
{
	size_t len = strlen(s), max = len / 2 + 2;
	char **vec = mi_malloc(max * sizeof(*vec) + len + 1);
	char *out;
	int n = 0;

	if (!vec)
		return -ENOMEM;
	out = (char *)(vec + max);
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		vec[n++] = out;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			if (*s == '\'') {
				const char *e = strchr(s + 1, '\'');
				if (!e)
					goto bad;
				memcpy(out, s + 1, (size_t)(e - s - 1));
				out += e - s - 1;
				s = e + 1;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && s[1] &&
					    strchr("\"\\$`\n", s[1]))
						s++;
					*out++ = *s;
				}
				if (*s++ != '"')
					goto bad;
			} else if (*s == '\\') {
				if (!s[1])
					goto bad;
				*out++ = s[1];
				s += 2;
			} else {
				*out++ = *s++;
			}
		}
		*out++ = '\0';
	}
	vec[n] = NULL;
	*argv = vec;
	return n;
bad:
	mi_free(vec);
	return -EINVAL;
}

/* "1%" -> 0.01, "0.25" -> 0.25; within [0, 1]. */
static int parse_prob(const char *s, const char *end, double *out)
{
	char buf[32], *e;
	size_t n = (size_t)(end - s);
	bool pct;
	double v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	pct = buf[n - 1] == '%';
	if (pct)
		buf[--n] = '\0';
	if (n == 0 || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	v = strtod(buf, &e);
	if (*e)
		return -EINVAL;
	if (pct)
		v /= 100.0;
	if (!(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*out = v;
	return 0;
}

/* "500us", "2ms", "1s", "300" (microseconds); 1 us to 10 s. */
static int parse_duration(const char *s, const char *end, uint64_t *us)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {{"", 1}, {"us", 1}, {"ms", 1000}, {"s", 1000000}};
	uint64_t v = 0;
	const char *p = s;

	if (p == end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > 10000000)
			return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t ul = strlen(units[i].unit);

		if ((size_t)(end - p) == ul &&
		    !strncasecmp(p, units[i].unit, ul)) {
			v *= units[i].mul;
			if (v == 0 || v > 10000000)
				return -EINVAL;
			*us = v;
			return 0;
		}
	}
	return -EINVAL;
}

static int fault_fail(char *err, size_t errlen, const char *item, size_t n,
		      const char *why)
{
	if (err)
		snprintf(err, errlen, "%s '%.*s'", why, (int)n, item);
	return -EINVAL;
}

int cfg_parse_fault(const char *s, struct cfg_fault *f, char *err,
		    size_t errlen)
{
	static const char *const probs[] = {"drop", "dup", "reorder",
					    "corrupt"};
	double *pv[] = {&f->drop, &f->dup, &f->reorder, &f->corrupt};

	memset(f, 0, sizeof(*f));
	f->seed = 1;
	while (*s) {
		const char *end = s + strcspn(s, ","), *eq;
		size_t n = (size_t)(end - s), klen;
		bool done = false;

		eq = memchr(s, '=', n);
		if (!eq)
			return fault_fail(err, errlen, s, n,
					  "expected name=value, got");
		klen = (size_t)(eq - s);
		for (size_t i = 0; i < 4 && !done; i++) {
			if (klen != strlen(probs[i]) ||
			    strncmp(s, probs[i], klen))
				continue;
			if (parse_prob(eq + 1, end, pv[i]))
				return fault_fail(
				    err, errlen, s, n,
				    "probability must be 0% to 100% in");
			done = true;
		}
		if (!done && klen == 5 && !strncmp(s, "delay", 5)) {
			const char *colon =
			    memchr(eq + 1, ':', (size_t)(end - eq - 1));

			if (!colon || parse_prob(eq + 1, colon, &f->delay) ||
			    parse_duration(colon + 1, end, &f->delay_us))
				return fault_fail(
				    err, errlen, s, n,
				    "delay must be P:TIME "
				    "(like 1%:2ms, TIME 1us to 10s) in");
			done = true;
		} else if (!done && klen == 4 && !strncmp(s, "seed", 4)) {
			char buf[24], *e;
			size_t vl = (size_t)(end - eq - 1);

			if (vl == 0 || vl >= sizeof(buf) || eq[1] < '0' ||
			    eq[1] > '9')
				return fault_fail(err, errlen, s, n,
						  "seed must be an unsigned "
						  "integer in");
			memcpy(buf, eq + 1, vl);
			buf[vl] = '\0';
			errno = 0;
			f->seed = strtoull(buf, &e, 10);
			if (*e || errno)
				return fault_fail(err, errlen, s, n,
						  "seed must be an unsigned "
						  "integer in");
			done = true;
		}
		if (!done)
			return fault_fail(err, errlen, s, klen,
					  "unknown fault (allowed: drop, dup, "
					  "reorder, corrupt, delay, seed):");
		if (*end == ',' && !end[1])
			return fault_fail(err, errlen, s, n + 1,
					  "nothing after the comma in");
		s = *end ? end + 1 : end;
	}
	f->on = f->drop > 0 || f->dup > 0 || f->reorder > 0 || f->corrupt > 0 ||
		f->delay > 0;
	return 0;
}
