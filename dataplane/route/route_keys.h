/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * route_keys: where a command's keys are, from Redis 7's key
 * specifications.
 *
 * A key spec says where the search for keys begins (an argument index, or
 * the argument after a keyword searched from a position) and how keys are
 * found from there (a range up to lastkey with a step, or a count taken
 * from an argument), with flags saying what the command does to those keys
 * (RW/RO/OW/RM, access/update/insert/delete...).  Commands whose keys no
 * spec can describe (SORT ... STORE, MIGRATE ... KEYS) also have a getkeys
 * function, as in Redis; so do commands whose key flags depend on the
 * arguments (SET ... GET, the VARIABLE_FLAGS spec flag).
 *
 * The result is a short list of ranges, not one entry per key: every spec
 * and every getkeys function yields at most a few ranges, so evaluation
 * needs no allocation, however many keys an MSET carries.
 *
 * Pure functions: no threads, no store, no globals; callable anywhere.
 */
#ifndef CACHALOT_ROUTE_KEYS_H
#define CACHALOT_ROUTE_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "resp/resp.h"

/* Key spec flags, in the order COMMAND INFO lists them. */
#define ROUTE_KS_RO (1u << 0)
#define ROUTE_KS_RW (1u << 1)
#define ROUTE_KS_OW (1u << 2)
#define ROUTE_KS_RM (1u << 3)
#define ROUTE_KS_ACCESS (1u << 4)
#define ROUTE_KS_UPDATE (1u << 5)
#define ROUTE_KS_INSERT (1u << 6)
#define ROUTE_KS_DELETE (1u << 7)
#define ROUTE_KS_NOT_KEY (1u << 8)
#define ROUTE_KS_INCOMPLETE (1u << 9)
#define ROUTE_KS_VARIABLE_FLAGS (1u << 10)
#define ROUTE_KS_NFLAGS 11

/* begin_search types; 0 ends a command's list of specs. */
#define ROUTE_BS_END 0
#define ROUTE_BS_INDEX 1
#define ROUTE_BS_KEYWORD 2
#define ROUTE_BS_UNKNOWN 3
/* find_keys types */
#define ROUTE_FK_RANGE 1
#define ROUTE_FK_KEYNUM 2
#define ROUTE_FK_UNKNOWN 3

/* Specs per command: Redis 7.0's most is 3 (GEORADIUS, SORT). */
#define ROUTE_MAX_SPECS 4

struct route_keyspec {
	uint8_t bs, fk;	     /* ROUTE_BS_*, ROUTE_FK_* */
	uint16_t flags;	     /* ROUTE_KS_* */
	int bs_pos;	     /* index: the position; keyword: startfrom */
	int fk_a;	     /* range: lastkey;  keynum: keynumidx */
	int fk_b;	     /* range: keystep;  keynum: firstkey */
	int fk_c;	     /* range: limit;    keynum: keystep */
	const char *keyword; /* keyword search only */
	const char *notes;   /* or NULL */
};

/*
 * Spelling of specs in the .def lines (cmd_table.c maps the short names):
 *   KS(RW | ACCESS, INDEX(1), RANGE(0, 1, 0))
 *   KS(RO | ACCESS, KEYWORD("STREAMS", 1), RANGE(-1, 1, 2))
 *   KS(RW | ACCESS | DELETE, INDEX(1), KEYNUM(0, 1, 1))
 *   KSN("notes", RO | ACCESS, UNKNOWN_BEGIN, UNKNOWN_FIND)
 * (route_ks_names.h gives the flags their short names.)
 */
#define ROUTE_KS(fl, b, f)                                                     \
	{                                                                      \
		.flags = (uint16_t)(fl), ROUTE_##b, ROUTE_##f                  \
	}
#define ROUTE_KSN(note, fl, b, f)                                              \
	{                                                                      \
		.notes = note, .flags = (uint16_t)(fl), ROUTE_##b, ROUTE_##f   \
	}
#define ROUTE_INDEX(p) .bs = ROUTE_BS_INDEX, .bs_pos = (p)
#define ROUTE_KEYWORD(k, from)                                                 \
	.bs = ROUTE_BS_KEYWORD, .keyword = (k), .bs_pos = (from)
#define ROUTE_UNKNOWN_BEGIN .bs = ROUTE_BS_UNKNOWN
#define ROUTE_RANGE(last, step, limit)                                         \
	.fk = ROUTE_FK_RANGE, .fk_a = (last), .fk_b = (step), .fk_c = (limit)
#define ROUTE_KEYNUM(idx, first, step)                                         \
	.fk = ROUTE_FK_KEYNUM, .fk_a = (idx), .fk_b = (first), .fk_c = (step)
#define ROUTE_UNKNOWN_FIND .fk = ROUTE_FK_UNKNOWN

/** Keys at argv[first], argv[first + step], ... up to argv[last]. */
struct route_keyrange {
	int first, last, step;
	uint16_t flags; /* ROUTE_KS_* of these keys */
};

/* Ranges one command yields at most: a range per spec, and no more from
 * a getkeys function. */
#define ROUTE_KEYS_MAX 8

struct route_keys {
	int n; /* ranges used */
	struct route_keyrange r[ROUTE_KEYS_MAX];
};

/**
 * A getkeys function (Redis's getkeys_proc): fills out and returns the
 * number of keys, 0 when the arguments name none (or are invalid).
 * argv[0] is the command name.
 */
typedef int (*route_getkeys_fn)(int argc, const struct resp_arg *argv,
				struct route_keys *out);

/* route_keys_from_specs search flags, as Redis's GET_KEYSPEC_* */
#define ROUTE_KEYS_NOT_KEYS 1u /* include NOT_KEY specs */
#define ROUTE_KEYS_PARTIAL 2u  /* skip a bad spec rather than fail */

/**
 * Evaluate nspecs specs over argv as Redis's getKeysUsingKeySpecs does.
 * Returns the number of keys, or -1 when a spec cannot be evaluated
 * (an unknown or INCOMPLETE spec, a bad key count, keys past the end) and
 * ROUTE_KEYS_PARTIAL was not given; out->n is then 0.
 */
int route_keys_from_specs(const struct route_keyspec *specs, int nspecs,
			  int argc, const struct resp_arg *argv,
			  unsigned search, struct route_keys *out);

/**
 * The keys COMMAND GETKEYS reports, as Redis's getKeysFromCommandWithSpecs:
 * the specs when they are complete and their flags fixed, else getkeys.
 * Returns the number of keys (0: none, or invalid arguments).
 */
int route_keys_get(const struct route_keyspec *specs, int nspecs,
		   route_getkeys_fn getkeys, int argc,
		   const struct resp_arg *argv, struct route_keys *out);

/**
 * The keys a command must be routed by: the specs when they evaluate
 * (flags do not matter for where a command runs), else getkeys.  Returns
 * the number of keys; 0 when there are none or the arguments are invalid
 * (the command's handler then replies the error).
 */
int route_keys_locate(const struct route_keyspec *specs, int nspecs,
		      route_getkeys_fn getkeys, int argc,
		      const struct resp_arg *argv, struct route_keys *out);

/** Number of keys in out. */
int route_keys_count(const struct route_keys *out);

/** OR of every spec's flags (inverted first when inv: Redis's
 * getAllKeySpecsFlags). */
unsigned route_keys_all_flags(const struct route_keyspec *specs, int nspecs,
			      bool inv);

/**
 * COMMAND INFO's first/last/step, derived from the specs as Redis 7.0's
 * populateCommandLegacyRangeSpec does (last is absolute, or negative from
 * the end).
 */
void route_keys_legacy(const struct route_keyspec *specs, int nspecs,
		       int *first, int *last, int *step);

/* getkeys functions of the commands whose specs do not tell everything
 * (Redis's db.c).  Exposed for the table and the tests. */
int route_getkeys_set(int argc, const struct resp_arg *argv,
		      struct route_keys *out);
int route_getkeys_sort(int argc, const struct resp_arg *argv,
		       struct route_keys *out);
int route_getkeys_migrate(int argc, const struct resp_arg *argv,
			  struct route_keys *out);

#endif
