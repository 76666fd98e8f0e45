/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key-spec evaluation and the getkeys functions, following Redis 7.0's
 * db.c (getKeysUsingKeySpecs, getKeysFromCommandWithSpecs, setGetKeys,
 * sortGetKeys, migrateGetKeys) so that COMMAND GETKEYS answers as
 * redis-server does and routing sees the same keys.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "route_keys.h"

/* An argument compared as Redis's strcasecmp on its C string does. */
static bool route_word_is(const struct resp_arg *a, const char *s)
{
	const char *nul = memchr(a->ptr, '\0', a->len);
	size_t len = nul ? (size_t)(nul - a->ptr) : a->len;

	return strlen(s) == len && strncasecmp(a->ptr, s, len) == 0;
}

/* Redis's string2ll for a key count: canonical, no sign games. */
static bool route_parse_count(const struct resp_arg *a, long long *out)
{
	long long v = 0;
	size_t i = 0;
	bool neg = false;

	if (a->len == 0 || a->len > 20)
		return false;
	if (a->ptr[0] == '-') {
		neg = true;
		i = 1;
		if (a->len == 1)
			return false;
	}
	if (a->ptr[i] == '0' && a->len > i + 1)
		return false;
	for (; i < a->len; i++) {
		if (a->ptr[i] < '0' || a->ptr[i] > '9')
			return false;
		if (v > (LLONG_MAX - (a->ptr[i] - '0')) / 10)
			return false;
		v = v * 10 + (a->ptr[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static void route_keys_add(struct route_keys *out, int first, int last,
			   int step, unsigned flags)
{
	if (out->n < ROUTE_KEYS_MAX)
		out->r[out->n++] = (struct route_keyrange){
		    .first = first,
		    .last = last,
		    .step = step,
		    .flags = (uint16_t)flags,
		};
}

/* Where the keys of s begin: 0 when the keyword is absent. */
static int route_spec_begin(const struct route_keyspec *s, int argc,
			    const struct resp_arg *argv)
{
	int start, end;

	if (s->bs == ROUTE_BS_INDEX)
		return s->bs_pos;
	/* Keyword: searched forward to the next-to-last argument, or
	 * backward down to argv[2] for a negative startfrom. */
	start = s->bs_pos > 0 ? s->bs_pos : argc + s->bs_pos;
	end = s->bs_pos > 0 ? argc - 1 : 1;
	for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
		if (i >= argc || i < 1)
			break;
		if (route_word_is(&argv[i], s->keyword))
			return i + 1;
	}
	return 0;
}

/* One spec: 1 = a range was added, 0 = no keys here, -1 = invalid. */
static int route_spec_eval(const struct route_keyspec *s, int argc,
			   const struct resp_arg *argv, struct route_keys *out)
{
	int first, last, step;
	long long num;

	if (s->bs != ROUTE_BS_INDEX && s->bs != ROUTE_BS_KEYWORD)
		return -1;
	first = route_spec_begin(s, argc, argv);
	if (!first)
		return 0;
	if (s->fk == ROUTE_FK_RANGE) {
		step = s->fk_b;
		if (s->fk_a >= 0)
			last = first + s->fk_a;
		else if (!s->fk_c)
			last = argc + s->fk_a;
		else /* lastkey -1 with a limit: 1/limit of the rest */
			last = first + ((argc - first) / s->fk_c + s->fk_a);
	} else if (s->fk == ROUTE_FK_KEYNUM) {
		step = s->fk_c;
		if (first + s->fk_a >= argc ||
		    !route_parse_count(&argv[first + s->fk_a], &num) ||
		    num < 0 || num > INT_MAX)
			return -1;
		first += s->fk_b;
		last = first + (int)num - 1;
	} else {
		return -1;
	}
	if (last >= argc || last < first || first >= argc)
		return -1;
	route_keys_add(out, first, last, step, s->flags);
	return (s->flags & ROUTE_KS_INCOMPLETE) ? -1 : 1;
}

int route_keys_from_specs(const struct route_keyspec *specs, int nspecs,
			  int argc, const struct resp_arg *argv,
			  unsigned search, struct route_keys *out)
{
	out->n = 0;
	for (int i = 0; i < nspecs; i++) {
		const struct route_keyspec *s = &specs[i];

		if ((s->flags & ROUTE_KS_NOT_KEY) &&
		    !(search & ROUTE_KEYS_NOT_KEYS))
			continue;
		if (route_spec_eval(s, argc, argv, out) < 0 &&
		    !(search & ROUTE_KEYS_PARTIAL)) {
			out->n = 0;
			return -1;
		}
	}
	return route_keys_count(out);
}

unsigned route_keys_all_flags(const struct route_keyspec *specs, int nspecs,
			      bool inv)
{
	unsigned all = 0;

	for (int i = 0; i < nspecs; i++)
		all |= inv ? ~(unsigned)specs[i].flags : specs[i].flags;
	return all;
}

int route_keys_get(const struct route_keyspec *specs, int nspecs,
		   route_getkeys_fn getkeys, int argc,
		   const struct resp_arg *argv, struct route_keys *out)
{
	bool has_spec =
	    route_keys_all_flags(specs, nspecs, true) & ROUTE_KS_NOT_KEY;
	bool varflags = route_keys_all_flags(specs, nspecs, false) &
			ROUTE_KS_VARIABLE_FLAGS;

	out->n = 0;
	if (has_spec && !varflags) {
		int n =
		    route_keys_from_specs(specs, nspecs, argc, argv, 0, out);
		if (n >= 0)
			return n;
	}
	out->n = 0;
	return getkeys ? getkeys(argc, argv, out) : 0;
}

int route_keys_locate(const struct route_keyspec *specs, int nspecs,
		      route_getkeys_fn getkeys, int argc,
		      const struct resp_arg *argv, struct route_keys *out)
{
	int n = route_keys_from_specs(specs, nspecs, argc, argv, 0, out);

	if (n >= 0)
		return n;
	out->n = 0;
	return getkeys ? getkeys(argc, argv, out) : 0;
}

int route_keys_count(const struct route_keys *out)
{
	int n = 0;

	for (int i = 0; i < out->n; i++)
		n += (out->r[i].last - out->r[i].first) / out->r[i].step + 1;
	return n;
}

void route_keys_legacy(const struct route_keyspec *specs, int nspecs,
		       int *first, int *last, int *step)
{
	int lo = INT_MAX, hi = 0, prev = 0;

	*first = *last = *step = 0;
	if (nspecs == 0)
		return;
	if (nspecs == 1 && specs[0].bs == ROUTE_BS_INDEX &&
	    specs[0].fk == ROUTE_FK_RANGE) {
		*first = specs[0].bs_pos;
		*last =
		    specs[0].fk_a >= 0 ? specs[0].fk_a + *first : specs[0].fk_a;
		*step = specs[0].fk_b;
		return;
	}
	for (int i = 0; i < nspecs; i++) {
		const struct route_keyspec *s = &specs[i];
		int abs;

		if (s->bs != ROUTE_BS_INDEX || s->fk != ROUTE_FK_RANGE)
			continue;
		if (s->fk_b != 1 || (prev && prev != s->bs_pos - 1))
			continue;
		if (s->bs_pos < lo)
			lo = s->bs_pos;
		abs = s->fk_a >= 0 ? s->fk_a + s->bs_pos : s->fk_a;
		/* unsigned, as Redis: a negative lastkey wins */
		if ((unsigned)abs > (unsigned)hi)
			hi = abs;
		prev = hi;
	}
	if (lo == INT_MAX)
		return;
	*first = lo;
	*last = hi; /* absolute already, or negative */
	*step = 1;
}

int route_getkeys_set(int argc, const struct resp_arg *argv,
		      struct route_keys *out)
{
	unsigned flags = ROUTE_KS_OW | ROUTE_KS_UPDATE;

	out->n = 0;
	for (int i = 3; i < argc; i++)
		if (route_word_is(&argv[i], "get")) {
			flags = ROUTE_KS_RW | ROUTE_KS_ACCESS | ROUTE_KS_UPDATE;
			break;
		}
	route_keys_add(out, 1, 1, 1, flags);
	return 1;
}

int route_getkeys_sort(int argc, const struct resp_arg *argv,
		       struct route_keys *out)
{
	int store = 0;

	out->n = 0;
	route_keys_add(out, 1, 1, 1, ROUTE_KS_RO | ROUTE_KS_ACCESS);
	/* Options take no argument unless listed; the last STORE wins. */
	for (int i = 2; i < argc; i++) {
		if (route_word_is(&argv[i], "limit"))
			i += 2;
		else if (route_word_is(&argv[i], "get") ||
			 route_word_is(&argv[i], "by"))
			i += 1;
		else if (route_word_is(&argv[i], "store") && i + 1 < argc)
			store = i + 1;
	}
	if (store)
		route_keys_add(out, store, store, 1,
			       ROUTE_KS_OW | ROUTE_KS_UPDATE);
	return route_keys_count(out);
}

int route_getkeys_migrate(int argc, const struct resp_arg *argv,
			  struct route_keys *out)
{
	static const struct {
		const char *name;
		int skip;
	} opts[] = {{"copy", 0}, {"replace", 0}, {"auth", 1}, {"auth2", 2}};
	int first = 3, num = 1;

	out->n = 0;
	/* MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
	 * [AUTH2 user pw] [KEYS key...] */
	for (int i = 6; i < argc; i++) {
		if (route_word_is(&argv[i], "keys")) {
			if (argv[3].len > 0)
				return 0; /* KEYS needs the empty key */
			first = i + 1;
			num = argc - first;
			break;
		}
		for (size_t j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (route_word_is(&argv[i], opts[j].name)) {
				i += opts[j].skip;
				break;
			}
	}
	if (num <= 0)
		return 0;
	route_keys_add(out, first, first + num - 1, 1,
		       ROUTE_KS_RW | ROUTE_KS_ACCESS | ROUTE_KS_DELETE);
	return num;
}
