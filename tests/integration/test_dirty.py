# SPDX-License-Identifier: BSD-3-Clause
"""rdb_changes_since_last_save counts writes by their effect, as Redis's server.dirty does.

Each step is a command and the change it must make to the counter; the expectations were
read off redis-server 7.0.15 and the same test runs against both servers. No-op writes (DEL
of a missing key, SET NX that did not set, EXPIRE of a missing key, PERSIST without a TTL)
count nothing; a key that expires or is evicted counts nothing either.
"""

import time

from helpers import info_text


def dirty(raw):
    return int(info_text(raw, "persistence")["rdb_changes_since_last_save"])


def run_steps(raw, steps):
    for args, want in steps:
        before = dirty(raw)
        raw.cmd(*args)
        got = dirty(raw) - before
        assert got == want, (args, got, want)


def test_dirty_strings(raw):
    run_steps(raw, [
        (("SET", "a", "1"), 1),
        (("SET", "a", "2", "NX"), 0),
        (("SET", "zz", "2", "XX"), 0),
        (("SET", "a", "3", "XX"), 1),
        (("SET", "a", "4", "GET"), 1),
        (("SETNX", "a", "1"), 0),
        (("SETNX", "nx1", "1"), 1),
        (("SETEX", "se", "100", "v"), 1),
        (("PSETEX", "pe", "100000", "v"), 1),
        (("MSET", "x", "1", "y", "2", "z", "3"), 3),
        (("MSETNX", "x", "1", "q", "2"), 0),
        (("MSETNX", "q", "1", "w", "2"), 2),
        (("INCR", "n"), 1),
        (("INCRBY", "n", "5"), 1),
        (("INCRBYFLOAT", "f", "1.5"), 1),
        (("INCR", "a"), 1),  # "4" is an integer
        (("SET", "str", "abc"), 1),
        (("INCR", "str"), 0),  # not an integer: an error, no change
        (("APPEND", "n", "5"), 1),
        (("APPEND", "n", ""), 1),
        (("SETRANGE", "n", "0", ""), 0),
        (("SETRANGE", "nokey", "0", ""), 0),
        (("SETRANGE", "nokey", "3", ""), 0),
        (("SETRANGE", "n", "1", "z"), 1),
        (("GETSET", "x", "5"), 1),
        (("GETDEL", "missing"), 0),
        (("GETDEL", "n"), 1),
        (("GETEX", "x"), 0),
        (("GETEX", "x", "PERSIST"), 0),
        (("GETEX", "x", "EX", "100"), 1),
        (("GETEX", "x", "PERSIST"), 1),
        (("GETEX", "missing", "EX", "100"), 0),
    ])


def test_dirty_keys(raw):
    run_steps(raw, [
        (("DEL", "missing"), 0),
        (("SET", "a", "1"), 1),
        (("SET", "b", "1"), 1),
        (("DEL", "a", "b", "missing"), 2),
        (("UNLINK", "a"), 0),
        (("EXPIRE", "missing", "10"), 0),
        (("SET", "k", "v"), 1),
        (("EXPIRE", "k", "100"), 1),
        (("EXPIRE", "k", "100"), 1),
        (("EXPIRE", "k", "50", "GT"), 0),
        (("EXPIRE", "k", "50", "LT"), 1),
        (("EXPIRE", "k", "60", "NX"), 0),
        (("PERSIST", "k"), 1),
        (("PERSIST", "k"), 0),
        (("PERSIST", "missing"), 0),
        (("EXPIRE", "k", "10", "XX"), 0),
        (("PEXPIREAT", "k", str(int(time.time() * 1000) + 100000)), 1),
        (("EXPIRE", "k", "0"), 1),  # deletes it
        (("SET", "k", "v"), 1),
        (("PEXPIRE", "k", "-5"), 1),
        (("SET", "k", "v"), 1),
        (("EXPIREAT", "k", "1"), 1),
        (("SET", "r", "1"), 1),
        (("RENAME", "r", "r"), 0),
        (("RENAME", "r", "r2"), 1),
        (("SET", "x", "1"), 1),
        (("RENAMENX", "r2", "x"), 0),
        (("RENAMENX", "r2", "r3"), 1),
        (("RENAME", "r3", "x"), 1),  # replaces x
        (("MOVE", "x", "1"), 1),
        (("MOVE", "missing", "1"), 0),
        (("SET", "c", "1"), 1),
        (("COPY", "c", "c2"), 1),
        (("COPY", "c", "c2"), 0),
        (("COPY", "c", "c2", "REPLACE"), 1),
        (("TOUCH", "c"), 0),
        (("GET", "c"), 0),
    ])


def test_dirty_flush(raw):
    run_steps(raw, [
        (("FLUSHALL",), 0),
        (("FLUSHDB",), 0),
        (("MSET", "a", "1", "b", "2", "c", "3"), 3),
        (("FLUSHDB",), 3),  # the keys it removed
        (("FLUSHDB",), 0),
        (("SET", "a", "1"), 1),
        (("MOVE", "a", "1"), 1),
        (("SET", "b", "1"), 1),
        (("FLUSHALL",), 2),
        (("FLUSHALL",), 0),
    ])


def test_dirty_expired_keys_count_nothing(raw):
    before = dirty(raw)
    raw.cmd("SET", "lazy", "v", "PX", "30")
    raw.cmd("SET", "active", "v", "PX", "30")
    assert dirty(raw) - before == 2
    time.sleep(0.3)
    assert raw.cmd("GET", "lazy") is None  # deleted on access
    deadline = time.time() + 5
    while raw.cmd("DBSIZE") != 0 and time.time() < deadline:
        time.sleep(0.05)  # the other one by active expiry
    assert raw.cmd("DBSIZE") == 0
    assert dirty(raw) - before == 2
