/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * route_keys: key-spec evaluation and the getkeys functions, with the real
 * specs of commands whose keys first/last/step cannot describe.  Those
 * commands are not implemented yet, so their specs live here, copied from
 * redis-server 7.0.15's COMMAND INFO; the expected keys and flags are what
 * its COMMAND GETKEYSANDFLAGS answers to the same arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "route/route_keys.h"
#include "route/route_ks_names.h"

struct spec_cmd {
	const char *name;
	struct route_keyspec specs[ROUTE_MAX_SPECS];
	int nspecs;
	route_getkeys_fn getkeys;
};

static const struct spec_cmd cmd_eval = {
    "eval",
    {KSN("We cannot tell how the keys will be used so we assume the worst, "
	 "RW and UPDATE",
	 RW | ACCESS | UPDATE, INDEX(2), KEYNUM(0, 1, 1))},
    1,
    NULL};
static const struct spec_cmd cmd_zunionstore = {
    "zunionstore",
    {KS(OW | UPDATE, INDEX(1), RANGE(0, 1, 0)),
     KS(RO | ACCESS, INDEX(2), KEYNUM(0, 1, 1))},
    2,
    NULL};
static const struct spec_cmd cmd_xread = {
    "xread",
    {KS(RO | ACCESS, KEYWORD("STREAMS", 1), RANGE(-1, 1, 2))},
    1,
    NULL};
static const struct spec_cmd cmd_sort = {
    "sort",
    {KS(RO | ACCESS, INDEX(1), RANGE(0, 1, 0)),
     KSN("For the optional BY/GET keyword.", RO | ACCESS, UNKNOWN_BEGIN,
	 UNKNOWN_FIND),
     KSN("For the optional STORE keyword.", OW | UPDATE, UNKNOWN_BEGIN,
	 UNKNOWN_FIND)},
    3,
    route_getkeys_sort};
static const struct spec_cmd cmd_lmpop = {
    "lmpop", {KS(RW | ACCESS | DELETE, INDEX(1), KEYNUM(0, 1, 1))}, 1, NULL};
static const struct spec_cmd cmd_migrate = {
    "migrate",
    {KS(RW | ACCESS | DELETE, INDEX(3), RANGE(0, 1, 0)),
     KS(RW | ACCESS | DELETE | INCOMPLETE, KEYWORD("KEYS", -2),
	RANGE(-1, 1, 0))},
    2,
    route_getkeys_migrate};
static const struct spec_cmd cmd_georadius = {
    "georadius",
    {KS(RO | ACCESS, INDEX(1), RANGE(0, 1, 0)),
     KS(OW | UPDATE, KEYWORD("STORE", 6), RANGE(0, 1, 0)),
     KS(OW | UPDATE, KEYWORD("STOREDIST", 6), RANGE(0, 1, 0))},
    3,
    NULL};
static const struct spec_cmd cmd_set = {
    "set",
    {KSN("RW and ACCESS due to the optional `GET` argument",
	 RW | ACCESS | UPDATE | VARIABLE_FLAGS, INDEX(1), RANGE(0, 1, 0))},
    1,
    route_getkeys_set};
static const struct spec_cmd cmd_mset = {
    "mset", {KS(OW | UPDATE, INDEX(1), RANGE(-1, 2, 0))}, 1, NULL};

/* Split "a b c" into argv (no quoting; "" stands for an empty argument). */
static int split(char *line, struct resp_arg *argv, int cap)
{
	int argc = 0;

	for (char *t = strtok(line, " "); t && argc < cap;
	     t = strtok(NULL, " ")) {
		argv[argc].ptr = t;
		argv[argc].len = strcmp(t, "\"\"") == 0 ? 0 : strlen(t);
		argc++;
	}
	return argc;
}

/* "k:RW|access" per key, space separated, as GETKEYSANDFLAGS lists them;
 * "-" when Redis answers "Invalid arguments specified". */
static void render(const struct route_keys *k, const struct resp_arg *argv,
		   int n, char *out, size_t size)
{
	static const char *const names[ROUTE_KS_NFLAGS] = {"RO",
							   "RW",
							   "OW",
							   "RM",
							   "access",
							   "update",
							   "insert",
							   "delete",
							   "not_key",
							   "incomplete",
							   "variable_flags"};
	size_t len = 0;

	out[0] = '\0';
	if (n <= 0) {
		snprintf(out, size, "-");
		return;
	}
	for (int r = 0; r < k->n; r++)
		for (int i = k->r[r].first; i <= k->r[r].last;
		     i += k->r[r].step) {
			const char *sep = "";
			len += (size_t)snprintf(out + len, size - len,
						"%s%.*s:", len ? " " : "",
						(int)argv[i].len, argv[i].ptr);
			for (int f = 0; f < ROUTE_KS_NFLAGS; f++)
				if (k->r[r].flags & (1u << f)) {
					len += (size_t)snprintf(
					    out + len, size - len, "%s%s", sep,
					    names[f]);
					sep = "|";
				}
		}
}

static void check(const struct spec_cmd *c, const char *args, const char *want)
{
	char line[256], got[512];
	struct resp_arg argv[32];
	struct route_keys k;
	int argc, n;

	snprintf(line, sizeof(line), "%s", args);
	argc = split(line, argv, 32);
	n = route_keys_get(c->specs, c->nspecs, c->getkeys, argc, argv, &k);
	assert_int_equal(n, route_keys_count(&k));
	render(&k, argv, n, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", args, got, want);
}

static void test_eval(void **state)
{
	(void)state;
	check(&cmd_eval, "eval s 2 a b c",
	      "a:RW|access|update b:RW|access|update");
	check(&cmd_eval, "eval s 0", "-"); /* NO_MANDATORY_KEYS: empty */
	check(&cmd_eval, "eval s x a", "-");
	check(&cmd_eval, "eval s 3 a b", "-");
}

static void test_zunionstore(void **state)
{
	(void)state;
	check(&cmd_zunionstore, "zunionstore d 2 a b weights 1 2",
	      "d:OW|update a:RO|access b:RO|access");
	check(&cmd_zunionstore, "zunionstore d 5 a b", "-");
}

static void test_xread(void **state)
{
	(void)state;
	check(&cmd_xread, "xread count 2 streams a b 0 0",
	      "a:RO|access b:RO|access");
	check(&cmd_xread, "xread streams a b 0", "a:RO|access");
	check(&cmd_xread, "xread count 2 block 0", "-");
}

static void test_sort_store(void **state)
{
	(void)state;
	check(&cmd_sort, "sort k by p get g store d",
	      "k:RO|access d:OW|update");
	check(&cmd_sort, "sort k limit 0 store", "k:RO|access");
	check(&cmd_sort, "sort k store a store b", "k:RO|access b:OW|update");
	check(&cmd_sort, "sort k get store", "k:RO|access");
}

static void test_lmpop(void **state)
{
	(void)state;
	check(&cmd_lmpop, "lmpop 2 a b left",
	      "a:RW|access|delete b:RW|access|delete");
	check(&cmd_lmpop, "lmpop x a b left", "-");
}

static void test_migrate(void **state)
{
	(void)state;
	check(&cmd_migrate, "migrate h p k 0 5", "k:RW|access|delete");
	check(&cmd_migrate, "migrate h p \"\" 0 5 KEYS a b",
	      "a:RW|access|delete b:RW|access|delete");
	check(&cmd_migrate, "migrate h p \"\" 0 5 copy auth keys x keys b",
	      "b:RW|access|delete");
	check(&cmd_migrate, "migrate h p k 0 5 KEYS a b", "-");
}

static void test_georadius_store(void **state)
{
	(void)state;
	check(&cmd_georadius, "georadius k 1 2 3 m store d storedist e",
	      "k:RO|access d:OW|update e:OW|update");
	check(&cmd_georadius, "georadius k 1 2 3 m storedist e",
	      "k:RO|access e:OW|update");
	check(&cmd_georadius, "georadius k 1 2 3 m", "k:RO|access");
}

static void test_set_variable_flags(void **state)
{
	(void)state;
	check(&cmd_set, "set k v", "k:OW|update");
	check(&cmd_set, "set k v ex 10 GET", "k:RW|access|update");
}

static void test_mset_step(void **state)
{
	(void)state;
	check(&cmd_mset, "mset a 1 b 2 c 3",
	      "a:OW|update b:OW|update c:OW|update");
}

/* Routing places the keys from the specs even when GETKEYS prefers the
 * getkeys function (SET: the flags vary, not the positions). */
static void test_locate(void **state)
{
	char line[] = "set k v get";
	struct resp_arg argv[8];
	struct route_keys k;
	int argc = split(line, argv, 8);

	(void)state;
	assert_int_equal(route_keys_locate(cmd_set.specs, 1, cmd_set.getkeys,
					   argc, argv, &k),
			 1);
	assert_int_equal(k.r[0].first, 1);
}

/* COMMAND INFO's first/last/step (Redis's legacy range). */
static void test_legacy(void **state)
{
	static const struct {
		const struct spec_cmd *c;
		int first, last, step;
	} want[] = {
	    {&cmd_eval, 0, 0, 0},      {&cmd_zunionstore, 1, 1, 1},
	    {&cmd_xread, 0, 0, 0},     {&cmd_sort, 1, 1, 1},
	    {&cmd_lmpop, 0, 0, 0},     {&cmd_migrate, 3, 3, 1},
	    {&cmd_georadius, 1, 1, 1}, {&cmd_mset, 1, -1, 2},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int f, l, s;
		route_keys_legacy(want[i].c->specs, want[i].c->nspecs, &f, &l,
				  &s);
		if (f != want[i].first || l != want[i].last ||
		    s != want[i].step)
			fail_msg("%s: %d %d %d", want[i].c->name, f, l, s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eval),
	    cmocka_unit_test(test_zunionstore),
	    cmocka_unit_test(test_xread),
	    cmocka_unit_test(test_sort_store),
	    cmocka_unit_test(test_lmpop),
	    cmocka_unit_test(test_migrate),
	    cmocka_unit_test(test_georadius_store),
	    cmocka_unit_test(test_set_variable_flags),
	    cmocka_unit_test(test_mset_step),
	    cmocka_unit_test(test_locate),
	    cmocka_unit_test(test_legacy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
