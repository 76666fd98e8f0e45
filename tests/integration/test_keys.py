# SPDX-License-Identifier: BSD-3-Clause
"""Keyspace commands: DEL UNLINK EXISTS TOUCH TYPE, the EXPIRE family and TTLs, KEYS,
SCAN, RANDOMKEY, RENAME(NX), COPY, MOVE, OBJECT."""

import random
import threading
import time

import pytest

from helpers import err, spread_keys


def test_del_unlink_exists_touch(r):
    keys = spread_keys(20, "d")
    r.mset({k: "v" for k in keys})
    assert r.exists(*keys) == 20
    assert r.exists(keys[0], keys[0], "nokey") == 2  # duplicates count twice
    assert r.touch(*keys[:5], "nokey") == 5
    assert r.delete(*keys[:10], "nokey") == 10
    assert r.exists(*keys) == 10
    assert r.unlink(*keys[10:], "nokey") == 10
    assert r.exists(*keys) == 0
    assert r.delete("nokey") == 0
    assert r.dbsize() == 0


def test_type(r):
    assert r.type("nokey") == "none"
    r.set("s", "v")
    r.set("i", "123")
    assert r.type("s") == "string"
    assert r.type("i") == "string"


def test_dbsize_tracks_writes(r):
    assert r.dbsize() == 0
    keys = spread_keys(300, "db")
    r.mset({k: "1" for k in keys})
    assert r.dbsize() == 300
    r.delete(*keys[:100])
    assert r.dbsize() == 200


# ---- expiry ----------------------------------------------------------------------


def test_ttl_states(r):
    assert r.ttl("nokey") == -2
    assert r.pttl("nokey") == -2
    assert r.expiretime("nokey") == -2
    assert r.pexpiretime("nokey") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    assert r.expiretime("k") == -1
    assert r.pexpiretime("k") == -1


def test_expire_and_ttl(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert 99000 <= r.pttl("k") <= 100000
    now = time.time()
    assert abs(r.expiretime("k") - (now + 100)) <= 2
    assert abs(r.pexpiretime("k") - (now + 100) * 1000) <= 2000
    assert r.pexpire("k", 5000) is True
    assert 4000 <= r.pttl("k") <= 5000
    assert r.expire("nokey", 100) is False
    assert r.pexpire("nokey", 100) is False


def test_expireat_pexpireat(r):
    r.set("k", "v")
    t = int(time.time()) + 1000
    assert r.expireat("k", t) is True
    assert r.expiretime("k") == t
    assert r.pexpireat("k", t * 1000 + 400) is True
    assert r.pexpiretime("k") == t * 1000 + 400
    assert r.expiretime("k") == t  # rounded to the nearest second
    assert r.pexpireat("k", t * 1000 + 600) is True
    assert r.expiretime("k") == t + 1
    # a time in the past deletes the key at once, and reports 1
    assert r.expireat("k", 1) is True
    assert r.exists("k") == 0
    r.set("k2", "v")
    assert r.pexpireat("k2", 1000) is True
    assert r.get("k2") is None


def test_expire_non_positive_deletes(r):
    r.set("a", "v")
    assert r.expire("a", 0) is True
    assert r.exists("a") == 0
    r.set("b", "v")
    assert r.pexpire("b", -100) is True
    assert r.exists("b") == 0


def test_key_expires(r):
    keys = spread_keys(20, "e")
    for k in keys:
        r.set(k, "v", px=150)
    r.set("stay", "v")
    assert r.exists(*keys) == 20
    time.sleep(0.35)
    for k in keys:
        assert r.get(k) is None
        assert r.ttl(k) == -2
    assert r.exists(*keys) == 0
    assert r.keys("*") == ["stay"]
    cur, found = 0, []
    while True:
        cur, batch = r.scan(cur, count=100)
        found += batch
        if cur == 0:
            break
    assert found == ["stay"]
    assert r.delete(*keys) == 0


def test_expired_key_invisible_to_rename_copy_append(r, raw):
    r.set("k", "v", px=50)
    time.sleep(0.15)
    assert err(raw, "RENAME", "k", "x") == "ERR no such key"
    assert r.copy("k", "y") is False
    assert r.append("k", "new") == 3
    assert r.get("k") == "new"
    assert r.ttl("k") == -1
    r.set("c", "5", px=50)
    time.sleep(0.15)
    assert r.incr("c") == 1


def test_expire_options(r, raw):
    r.set("k", "v")
    # no TTL yet: XX fails, GT fails (no TTL counts as infinite), LT succeeds
    assert r.execute_command("EXPIRE", "k", 100, "XX") == 0
    assert r.execute_command("EXPIRE", "k", 100, "GT") == 0
    assert r.ttl("k") == -1
    assert r.execute_command("EXPIRE", "k", 100, "NX") == 1
    assert r.execute_command("EXPIRE", "k", 200, "NX") == 0
    assert r.execute_command("EXPIRE", "k", 50, "GT") == 0
    assert r.execute_command("EXPIRE", "k", 200, "GT") == 1
    assert 198 <= r.ttl("k") <= 200
    assert r.execute_command("EXPIRE", "k", 300, "LT") == 0
    assert r.execute_command("EXPIRE", "k", 100, "LT") == 1
    assert r.execute_command("EXPIRE", "k", 150, "XX") == 1
    assert 148 <= r.ttl("k") <= 150
    assert r.execute_command("PEXPIRE", "k", 500000, "GT") == 1
    assert r.execute_command("EXPIREAT", "k", int(time.time()) + 1000, "LT") == 0
    assert r.execute_command("PEXPIREAT", "k", int(time.time() * 1000) + 100000, "LT") == 1
    r.persist("k")
    assert r.execute_command("EXPIRE", "k", 100, "LT") == 1
    assert err(raw, "EXPIRE", "k", "100", "NX", "XX") == \
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    assert err(raw, "EXPIRE", "k", "100", "NX", "GT") == \
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    assert err(raw, "EXPIRE", "k", "100", "GT", "LT") == \
        "ERR GT and LT options at the same time are not compatible"
    assert err(raw, "EXPIRE", "k", "100", "FOO") == "ERR Unsupported option FOO"
    assert err(raw, "EXPIRE", "k", "abc") == "ERR value is not an integer or out of range"
    assert err(raw, "EXPIRE", "k", "9223372036854775807") == \
        "ERR invalid expire time in 'expire' command"
    assert err(raw, "EXPIREAT", "k", "9223372036854775807") == \
        "ERR invalid expire time in 'expireat' command"
    assert err(raw, "PEXPIRE", "k", "9223372036854775807") == \
        "ERR invalid expire time in 'pexpire' command"
    assert err(raw, "EXPIRE", "k") == "ERR wrong number of arguments for 'expire' command"


def test_persist(r):
    assert r.persist("nokey") is False
    r.set("k", "v")
    assert r.persist("k") is False
    r.expire("k", 100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    time.sleep(0.01)
    assert r.get("k") == "v"


def test_ttl_kept_or_dropped(r):
    r.set("k", "1", ex=100)
    r.incr("k")
    r.append("k", "0")
    r.setrange("k", 0, "3")
    assert 98 <= r.ttl("k") <= 100  # in-place updates keep it
    r.set("k", "x")
    assert r.ttl("k") == -1  # a plain SET drops it
    r.set("k", "1", ex=100)
    r.getset("k", "2")
    assert r.ttl("k") == -1
    r.set("k", "1", ex=100)
    r.mset({"k": "3"})
    assert r.ttl("k") == -1


# ---- KEYS / SCAN / RANDOMKEY -------------------------------------------------------


def test_keys_patterns(r):
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other", "user:1",
             "user:2", "user:10"]
    r.mset({n: "v" for n in names})
    assert sorted(r.keys("*")) == sorted(names)
    assert sorted(r.keys("h?llo")) == ["h*llo", "hallo", "hello", "hxllo"]
    assert sorted(r.keys("h*llo")) == ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]
    assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
    assert sorted(r.keys("h[^e]llo")) == ["h*llo", "hallo", "hxllo"]
    assert sorted(r.keys("h[a-e]llo")) == ["hallo", "hello"]
    assert r.keys("h\\*llo") == ["h*llo"]
    assert sorted(r.keys("user:?")) == ["user:1", "user:2"]
    assert sorted(r.keys("user:*")) == ["user:1", "user:10", "user:2"]
    assert r.keys("nomatch*") == []


def _scan_all(r, **kw):
    cur, out, rounds = 0, [], 0
    while True:
        cur, batch = r.scan(cur, **kw)
        out += batch
        rounds += 1
        assert rounds < 200000, "SCAN does not terminate"
        if cur == 0:
            return out


@pytest.mark.parametrize("count", [None, 1, 7, 10, 100, 1000, 100000])
def test_scan_covers_every_key(r, count):
    keys = spread_keys(3000, "scan")
    pipe = r.pipeline(transaction=False)
    for i in range(0, len(keys), 500):
        pipe.mset({k: "v" for k in keys[i : i + 500]})
    pipe.execute()
    kw = {} if count is None else {"count": count}
    got = _scan_all(r, **kw)
    assert set(got) == set(keys)  # every key at least once, nothing else
    assert len(got) >= len(keys)


def test_scan_match_and_type(r, raw):
    r.mset({"user:%d" % i: "u" for i in range(200)})
    r.mset({"item:%d" % i: "i" for i in range(300)})
    got = _scan_all(r, match="user:*", count=50)
    assert set(got) == {"user:%d" % i for i in range(200)}
    got = _scan_all(r, match="item:1?", count=1000)
    assert set(got) == {"item:%d" % i for i in range(10, 20)}
    got = _scan_all(r, _type="string", count=100)
    assert len(set(got)) == 500
    assert _scan_all(r, _type="list", count=100) == []
    assert _scan_all(r, _type="nosuchtype", count=100) == []
    assert _scan_all(r, match="item:*", _type="string") and \
        set(_scan_all(r, match="item:*", _type="string")) == {"item:%d" % i for i in range(300)}
    # reply shape: [cursor-as-bulk-string, [keys...]]
    reply = raw.cmd("SCAN", "0", "COUNT", "10")
    assert isinstance(reply, list) and len(reply) == 2
    assert isinstance(reply[0], bytes) and reply[0].isdigit()
    assert isinstance(reply[1], list)
    assert err(raw, "SCAN", "abc") == "ERR invalid cursor"
    assert err(raw, "SCAN", "0", "COUNT", "0") == "ERR syntax error"
    assert err(raw, "SCAN", "0", "MATCH") == "ERR syntax error"
    assert err(raw, "SCAN", "0", "FOO", "bar") == "ERR syntax error"


def test_scan_during_writes(server, r):
    """Keys present for the whole iteration are returned at least once even while other
    keys are added and removed."""
    stable = spread_keys(2000, "stable")
    r.mset({k: "v" for k in stable})
    stop = threading.Event()
    churn_err = []

    def churn():
        c = server.client()
        i = 0
        try:
            while not stop.is_set():
                p = c.pipeline(transaction=False)
                for j in range(50):
                    p.set("churn:%d" % (i + j), "x")
                p.delete(*["churn:%d" % (i + j - 100) for j in range(50)])
                p.execute()
                i += 50
        except Exception as e:  # pragma: no cover - reported below
            churn_err.append(e)
        finally:
            c.close()

    t = threading.Thread(target=churn)
    t.start()
    try:
        for count in (5, 50, 500):
            got = set(_scan_all(r, count=count))
            missing = set(stable) - got
            assert not missing, "%d stable keys never returned (COUNT %d)" % (len(missing), count)
    finally:
        stop.set()
        t.join()
    assert not churn_err


def test_randomkey(r):
    assert r.randomkey() is None
    keys = spread_keys(100, "rk")
    r.mset({k: "v" for k in keys})
    seen = {r.randomkey() for _ in range(300)}
    assert seen <= set(keys)
    assert len(seen) > 10
    r.flushall()
    r.set("only", "v")
    assert r.randomkey() == "only"


# ---- RENAME / COPY / MOVE ------------------------------------------------------------


def test_rename(r, raw):
    a, b = spread_keys(2, "rn")  # different slots: may live on different workers
    r.set(a, "v1", ex=100)
    assert r.rename(a, b) is True
    assert r.exists(a) == 0
    assert r.get(b) == "v1"
    assert 98 <= r.ttl(b) <= 100  # the TTL moves with the value
    r.set(a, "v2")
    assert r.rename(a, b) is True  # overwrites, and the old TTL of b goes
    assert r.get(b) == "v2"
    assert r.ttl(b) == -1
    assert raw.cmd("RENAME", b, b) == "OK"
    assert r.get(b) == "v2"
    assert err(raw, "RENAME", "nokey", "x") == "ERR no such key"


def test_renamenx(r, raw):
    a, b = spread_keys(2, "rnx")
    r.set(a, "1")
    r.set(b, "2")
    assert r.renamenx(a, b) is False
    assert r.get(a) == "1" and r.get(b) == "2"
    r.delete(b)
    assert r.renamenx(a, b) is True
    assert r.get(b) == "1" and r.exists(a) == 0
    assert raw.cmd("RENAMENX", b, b) == 0
    assert err(raw, "RENAMENX", "nokey", "x") == "ERR no such key"


def test_copy(r, raw):
    a, b = spread_keys(2, "cp")
    assert r.copy("nokey", b) is False
    r.set(a, "v", ex=100)
    assert r.copy(a, b) is True
    assert r.get(a) == "v" and r.get(b) == "v"
    assert 98 <= r.ttl(b) <= 100
    r.set(a, "w")
    assert r.copy(a, b) is False
    assert r.get(b) == "v"
    assert r.copy(a, b, replace=True) is True
    assert r.get(b) == "w"
    assert r.ttl(b) == -1
    # independent copies
    r.append(a, "x")
    assert r.get(b) == "w"
    assert r.copy(a, b, destination_db=3) is True
    r3 = r.connection_pool.connection_kwargs
    c3 = type(r)(host=r3["host"], port=r3["port"], db=3, decode_responses=True)
    assert c3.get(b) == "wx"
    c3.close()
    assert err(raw, "COPY", a, a) == "ERR source and destination objects are the same"
    assert err(raw, "COPY", a, b, "DB", "16") == "ERR DB index is out of range"
    assert err(raw, "COPY", a, b, "FOO") == "ERR syntax error"


def test_move(server, r, raw):
    r.set("k", "v", ex=100)
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    c1 = server.client(db=1)
    assert c1.get("k") == "v"
    assert 98 <= c1.ttl("k") <= 100
    r.set("k", "other")
    assert r.move("k", 1) is False  # exists in the target db
    assert r.get("k") == "other"
    assert r.move("nokey", 1) is False
    assert err(raw, "MOVE", "k", "0") == "ERR source and destination objects are the same"
    assert err(raw, "MOVE", "k", "16") == "ERR DB index is out of range"
    assert err(raw, "MOVE", "k", "x") == "ERR value is not an integer or out of range"
    c1.close()


# ---- OBJECT --------------------------------------------------------------------------


def test_object_encoding_refcount(r, raw):
    r.set("int", "12345")
    r.set("short", "hello")
    r.set("long", "x" * 100)
    assert r.object("encoding", "int") == "int"
    assert r.object("encoding", "short") in ("embstr", "raw")
    assert r.object("encoding", "long") == "raw"
    assert r.object("encoding", "nokey") is None
    assert r.object("refcount", "long") >= 1
    assert r.object("refcount", "nokey") is None
    assert err(raw, "OBJECT", "foo", "k") == "ERR unknown subcommand 'foo'. Try OBJECT HELP."


def test_object_idletime(r):
    r.set("k", "v")
    assert r.object("idletime", "k") <= 1
    time.sleep(2.1)
    idle = r.object("idletime", "k")
    assert 1 <= idle <= 4  # OBJECT itself does not touch the key
    r.get("k")
    assert r.object("idletime", "k") <= 1
    assert r.object("idletime", "nokey") is None


def test_object_freq(r, raw):
    r.set("k", "v")
    assert err(raw, "OBJECT", "FREQ", "k") == (
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
        "note that when switching between policies at runtime LRU and LFU data will take some "
        "time to adjust.")
    old = r.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        assert r.config_set("maxmemory-policy", "allkeys-lfu")
        r.set("hot", "v")
        for _ in range(200):
            r.get("hot")
        r.set("cold", "v")
        hot = r.object("freq", "hot")
        cold = r.object("freq", "cold")
        assert isinstance(hot, int) and isinstance(cold, int)
        assert hot > cold >= 0
        assert r.object("freq", "nokey") is None
        assert err(raw, "OBJECT", "IDLETIME", "hot") == (
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
            "when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust.")
    finally:
        r.config_set("maxmemory-policy", old)
