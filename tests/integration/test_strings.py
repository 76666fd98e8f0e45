# SPDX-License-Identifier: BSD-3-Clause
"""String commands, driven with redis-py (values) and raw RESP (exact error text)."""

import time

import pytest

from helpers import err, spread_keys


# ---- GET / SET ---------------------------------------------------------------------


def test_get_set_basic(r):
    assert r.get("nokey") is None
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.set("k", "w") is True
    assert r.get("k") == "w"


def test_binary_safe_values(server, r):
    c = server.client(decode_responses=False)
    val = bytes(range(256)) + b"\r\n\x00$*-+:\r\n" * 3
    assert c.set(b"bin\x00\r\nkey", val)
    assert c.get(b"bin\x00\r\nkey") == val
    assert c.get(b"bin") is None
    big = b"x" * (1 << 20) + b"end"
    c.set("big", big)
    assert c.get("big") == big
    assert c.strlen("big") == len(big)
    c.set("empty", b"")
    assert c.get("empty") == b""
    assert c.exists("empty") == 1
    c.close()


def test_set_ex_px(r):
    assert r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100
    assert r.set("k", "v", px=100000)
    assert 99000 <= r.pttl("k") <= 100000
    # a plain SET drops the TTL
    assert r.set("k", "v2")
    assert r.ttl("k") == -1


def test_set_exat_pxat(r):
    now = int(time.time())
    assert r.set("k", "v", exat=now + 100)
    assert 98 <= r.ttl("k") <= 100
    assert r.expiretime("k") == now + 100
    assert r.set("k2", "v", pxat=(now + 200) * 1000 + 123)
    assert r.pexpiretime("k2") == (now + 200) * 1000 + 123
    # an absolute time in the past: the key does not survive
    assert r.set("k3", "v", exat=1)
    assert r.exists("k3") == 0
    assert r.get("k3") is None


def test_set_nx_xx(r):
    assert r.set("k", "a", xx=True) is None
    assert r.get("k") is None
    assert r.set("k", "a", nx=True) is True
    assert r.set("k", "b", nx=True) is None
    assert r.get("k") == "a"
    assert r.set("k", "c", xx=True) is True
    assert r.get("k") == "c"


def test_set_keepttl(r):
    r.set("k", "a", ex=100)
    assert r.set("k", "b", keepttl=True)
    assert r.get("k") == "b"
    assert 98 <= r.ttl("k") <= 100
    r.set("k", "c")
    assert r.ttl("k") == -1


def test_set_get_option(r, raw):
    assert r.set("k", "a", get=True) is None
    assert r.get("k") == "a"
    assert r.set("k", "b", get=True) == "a"
    assert r.get("k") == "b"
    # NX + GET (allowed since 7.0): returns the old value and does not set
    assert raw.cmd("SET", "k", "c", "NX", "GET") == b"b"
    assert r.get("k") == "b"
    assert raw.cmd("SET", "new", "c", "NX", "GET") is None
    assert r.get("new") == "c"
    # XX + GET on a missing key
    assert raw.cmd("SET", "missing", "c", "XX", "GET") is None
    assert r.exists("missing") == 0
    assert raw.cmd("SET", "new", "d", "XX", "GET") == b"c"
    assert r.get("new") == "d"


def test_set_errors(raw):
    assert err(raw, "SET", "k", "v", "NX", "XX") == "ERR syntax error"
    assert err(raw, "SET", "k", "v", "EX", "10", "PX", "100") == "ERR syntax error"
    assert err(raw, "SET", "k", "v", "KEEPTTL", "EX", "10") == "ERR syntax error"
    assert err(raw, "SET", "k", "v", "EX") == "ERR syntax error"
    assert err(raw, "SET", "k", "v", "FOO") == "ERR syntax error"
    assert err(raw, "SET", "k", "v", "EX", "0") == "ERR invalid expire time in 'set' command"
    assert err(raw, "SET", "k", "v", "PX", "-5") == "ERR invalid expire time in 'set' command"
    assert err(raw, "SET", "k", "v", "EX", "9999999999999999") == \
        "ERR invalid expire time in 'set' command"
    assert err(raw, "SET", "k", "v", "EX", "abc") == "ERR value is not an integer or out of range"
    assert err(raw, "SET", "k") == "ERR wrong number of arguments for 'set' command"
    assert err(raw, "GET") == "ERR wrong number of arguments for 'get' command"
    assert err(raw, "GET", "a", "b") == "ERR wrong number of arguments for 'get' command"
    assert raw.cmd("EXISTS", "k") == 0


def test_setnx_setex_psetex(r, raw):
    assert r.setnx("k", "a") is True
    assert r.setnx("k", "b") is False
    assert r.get("k") == "a"
    assert r.setex("e", 100, "v") is True
    assert r.get("e") == "v"
    assert 98 <= r.ttl("e") <= 100
    assert r.psetex("p", 100000, "v") is True
    assert 98000 <= r.pttl("p") <= 100000
    assert err(raw, "SETEX", "k", "0", "v") == "ERR invalid expire time in 'setex' command"
    assert err(raw, "PSETEX", "k", "-1", "v") == "ERR invalid expire time in 'psetex' command"
    assert err(raw, "SETEX", "k", "x", "v") == "ERR value is not an integer or out of range"
    assert err(raw, "SETNX", "k") == "ERR wrong number of arguments for 'setnx' command"


# ---- GETEX / GETDEL / GETSET -----------------------------------------------------------


def test_getex(r, raw):
    assert r.getex("nokey", ex=10) is None
    assert r.exists("nokey") == 0
    r.set("k", "v")
    assert r.getex("k") == "v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == "v"
    assert 98 <= r.ttl("k") <= 100
    assert r.getex("k", px=50000) == "v"
    assert 48000 <= r.pttl("k") <= 50000
    now = int(time.time())
    assert r.getex("k", exat=now + 300) == "v"
    assert r.expiretime("k") == now + 300
    assert r.getex("k", pxat=(now + 400) * 1000) == "v"
    assert r.pexpiretime("k") == (now + 400) * 1000
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1
    assert err(raw, "GETEX", "k", "PERSIST", "EX", "10") == "ERR syntax error"
    assert err(raw, "GETEX", "k", "FOO") == "ERR syntax error"
    assert err(raw, "GETEX", "k", "EX", "0") == "ERR invalid expire time in 'getex' command"
    # an absolute time in the past deletes the key, returning the value
    assert r.getex("k", exat=1) == "v"
    assert r.exists("k") == 0


def test_getdel_getset(r):
    assert r.getdel("nokey") is None
    r.set("k", "v")
    assert r.getdel("k") == "v"
    assert r.exists("k") == 0
    assert r.getset("g", "1") is None
    assert r.getset("g", "2") == "1"
    assert r.get("g") == "2"
    r.expire("g", 100)
    assert r.getset("g", "3") == "2"
    assert r.ttl("g") == -1


# ---- MGET / MSET / MSETNX --------------------------------------------------------------


def test_mget_mset(r, raw):
    keys = spread_keys(50, "m")
    mapping = {k: "val-%d" % i for i, k in enumerate(keys)}
    assert r.mset(mapping) is True
    assert r.mget(keys) == [mapping[k] for k in keys]
    assert r.mget(keys[0], "nokey", keys[1]) == [mapping[keys[0]], None, mapping[keys[1]]]
    # the same key twice: last one wins
    assert raw.cmd("MSET", "d", "1", "d", "2") == "OK"
    assert r.get("d") == "2"
    assert err(raw, "MSET", "a") == "ERR wrong number of arguments for 'mset' command"
    assert err(raw, "MSET", "a", "1", "b") == "ERR wrong number of arguments for 'mset' command"
    assert err(raw, "MGET") == "ERR wrong number of arguments for 'mget' command"


def test_mset_clears_ttl(r):
    r.set("a", "1", ex=100)
    r.mset({"a": "2", "b": "3"})
    assert r.ttl("a") == -1


def test_msetnx(r, raw):
    keys = spread_keys(10, "nx")
    assert r.msetnx({k: "x" for k in keys}) is True
    assert r.mget(keys) == ["x"] * 10
    # one existing key makes the whole command a no-op
    assert r.msetnx({"fresh1": "y", keys[5]: "y", "fresh2": "y"}) is False
    assert r.exists("fresh1", "fresh2") == 0
    assert r.get(keys[5]) == "x"
    assert err(raw, "MSETNX", "a", "1", "b") == "ERR wrong number of arguments for 'msetnx' command"


# ---- INCR family -----------------------------------------------------------------------


def test_incr_decr(r):
    assert r.incr("n") == 1
    assert r.incr("n") == 2
    assert r.decr("n") == 1
    assert r.incrby("n", 100) == 101
    assert r.decrby("n", 1000) == -899
    assert r.incrby("n", -1) == -900
    assert r.get("n") == "-900"
    assert r.decr("neg") == -1
    r.set("s", "41")
    assert r.incr("s") == 42
    r.set("t", "7", ex=100)
    assert r.incr("t") == 8
    assert 98 <= r.ttl("t") <= 100  # INCR keeps the TTL


def test_incr_limits_and_errors(r, raw):
    r.set("max", "9223372036854775807")
    assert err(raw, "INCR", "max") == "ERR increment or decrement would overflow"
    assert err(raw, "INCRBY", "max", "1") == "ERR increment or decrement would overflow"
    r.set("min", "-9223372036854775808")
    assert err(raw, "DECR", "min") == "ERR increment or decrement would overflow"
    assert err(raw, "DECRBY", "x", "-9223372036854775808") == "ERR decrement would overflow"
    assert r.get("max") == "9223372036854775807"
    for bad in ("abc", "1.5", " 1", "1 ", "0012", "", "9223372036854775808"):
        r.set("bad", bad)
        assert err(raw, "INCR", "bad") == "ERR value is not an integer or out of range", bad
    assert r.get("bad") == "9223372036854775808"
    assert err(raw, "INCRBY", "n", "abc") == "ERR value is not an integer or out of range"
    assert err(raw, "INCRBY", "n", "1.0") == "ERR value is not an integer or out of range"
    assert err(raw, "INCR", "a", "b") == "ERR wrong number of arguments for 'incr' command"


def test_incrbyfloat(r, raw):
    assert raw.cmd("INCRBYFLOAT", "f", "10.5") == b"10.5"
    assert raw.cmd("INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert raw.cmd("INCRBYFLOAT", "f", "-5") == b"5.6"
    assert raw.cmd("SET", "g", "5.0e3") == "OK"
    assert raw.cmd("INCRBYFLOAT", "g", "2.0e2") == b"5200"
    assert raw.cmd("SET", "h", "1.1") == "OK"
    assert raw.cmd("INCRBYFLOAT", "h", "2.2") == b"3.3"
    assert raw.cmd("INCRBYFLOAT", "i", "3") == b"3"
    assert raw.cmd("INCR", "i") == 4
    assert err(raw, "INCRBYFLOAT", "f", "abc") == "ERR value is not a valid float"
    raw.cmd("SET", "s", "notanumber")
    assert err(raw, "INCRBYFLOAT", "s", "1") == "ERR value is not a valid float"
    assert err(raw, "INCRBYFLOAT", "f", "inf") == "ERR increment would produce NaN or Infinity"
    assert raw.cmd("GET", "f") == b"5.6"


# ---- APPEND / STRLEN / GETRANGE / SETRANGE ---------------------------------------------


def test_append_strlen(r):
    assert r.strlen("nokey") == 0
    assert r.append("a", "Hello") == 5
    assert r.append("a", " World") == 11
    assert r.get("a") == "Hello World"
    assert r.strlen("a") == 11
    r.set("n", "12")
    assert r.append("n", "34") == 4
    assert r.incr("n") == 1235
    r.set("t", "x", ex=100)
    r.append("t", "y")
    assert r.ttl("t") > 0


def test_getrange(r, raw):
    r.set("s", "This is a string")
    assert r.getrange("s", 0, 3) == "This"
    assert r.getrange("s", -3, -1) == "ing"
    assert r.getrange("s", 0, -1) == "This is a string"
    assert r.getrange("s", 10, 100) == "string"
    assert r.getrange("s", 5, 3) == ""
    assert r.getrange("s", -100, 3) == "This"
    assert r.getrange("s", 100, 200) == ""
    assert r.getrange("nokey", 0, -1) == ""
    r.set("n", "12345")
    assert r.getrange("n", 1, 2) == "23"
    assert err(raw, "GETRANGE", "s", "a", "b") == "ERR value is not an integer or out of range"


def test_setrange(r, raw):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == "Hello Redis"
    assert r.setrange("pad", 5, "ab") == 7
    assert r.get("pad") == "\x00\x00\x00\x00\x00ab"
    assert r.setrange("k", 20, "!") == 21
    assert r.get("k") == "Hello Redis" + "\x00" * 9 + "!"
    # an empty value on a missing key creates nothing
    assert r.setrange("none", 0, "") == 0
    assert r.exists("none") == 0
    assert r.setrange("k", 100, "") == 21
    assert err(raw, "SETRANGE", "k", "-1", "x") == "ERR offset is out of range"
    assert err(raw, "SETRANGE", "k", "536870912", "x") == \
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    r.set("n", "100")
    assert r.setrange("n", 1, "5") == 3
    assert r.incr("n") == 151


@pytest.mark.parametrize("size", [0, 1, 43, 44, 45, 100, 4096, 65536, 300000])
def test_value_sizes(r, size):
    v = "".join(chr(ord("a") + i % 26) for i in range(size))
    r.set("k", v)
    assert r.get("k") == v
    assert r.strlen("k") == size
    assert r.append("k", "Z") == size + 1
    assert r.getrange("k", size, size) == "Z"
