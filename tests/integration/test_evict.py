# SPDX-License-Identifier: BSD-3-Clause
"""maxmemory and every maxmemory-policy, as Redis 7.0: fill past the limit and check what
was evicted, the OOM error when nothing may be, and CONFIG SET maxmemory halved under load.

Limits are set a few MB above the server's memory at the start (used_memory differs
between servers), so the same test runs against redis-server and cachalot."""

import threading
import time

import pytest
import redis

OOM = "OOM command not allowed when used memory > 'maxmemory'."
VALUE = b"v" * 100
ROOM = 3 << 20  # bytes of data allowed above the start
# Redis evicts before each command, down to the limit; what arrives with the command
# (its query buffer) may sit just above it.
SLACK = 64 << 10


def _used(c):
    return int(c.info("memory")["used_memory"])


def _evicted(c):
    return int(c.info("stats")["evicted_keys"])


def _fill(c, prefix, n, ex=None, start=0, batch=1000):
    """SET prefix:i for i in [start, start+n), with EX ex(i) when given."""
    p = c.pipeline(transaction=False)
    for i in range(start, start + n):
        p.set("%s:%d" % (prefix, i), VALUE, ex=ex(i) if ex else None)
        if (i - start + 1) % batch == 0:
            p.execute()
    p.execute()


def _present(c, prefix, n):
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.exists("%s:%d" % (prefix, i))
    return sum(p.execute())


def _limit(c, policy, room=ROOM):
    """Set the policy and a maxmemory `room` bytes above what is used now."""
    c.config_set("maxmemory-policy", policy)
    limit = _used(c) + room
    c.config_set("maxmemory", str(limit))
    return limit


def _settle(c, limit, timeout=5.0):
    """Wait until used_memory is back under the limit (cachalot evicts on its loop)."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if _used(c) <= limit + SLACK:
            return
        time.sleep(0.05)
    raise AssertionError("used_memory %d stays over maxmemory %d" % (_used(c), limit))


@pytest.fixture
def srv(make_server):
    s = make_server()
    c = s.client()
    yield c
    c.close()
    c.connection_pool.disconnect()


def test_maxmemory_units_and_info(srv):
    c = srv
    c.config_set("maxmemory", "1mb")
    assert c.config_get("maxmemory") == {"maxmemory": "1048576"}
    c.config_set("maxmemory", "2gb")
    assert c.info("memory")["maxmemory"] == 2 << 30
    assert c.info("memory")["maxmemory_human"] == "2.00G"
    c.config_set("maxmemory-policy", "allkeys-lru")
    assert c.info("memory")["maxmemory_policy"] == "allkeys-lru"
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("maxmemory", "12zz")
    assert "argument must be a memory value" in str(e.value)
    c.config_set("maxmemory", "0")
    assert "evicted_keys" in c.info("stats")


def test_noeviction_refuses_writes_reads_and_del_work(srv):
    c = srv
    limit = _limit(c, "noeviction")
    err = None
    for i in range(200):
        try:
            _fill(c, "k", 500, start=i * 500)
        except redis.ResponseError as e:
            err = e
            break
    assert err is not None and str(err).endswith(OOM), err
    n = c.dbsize()
    assert n > 1000
    assert _evicted(c) == 0
    # Further writes fail.  Not at once, maybe: client buffers count in used_memory and
    # shrink as replies go out, so a few writes may fit again, until the keys alone
    # reach the limit; from then on every one is refused.
    streak = 0
    for i in range(5000):
        try:
            c.set("another:%d" % i, VALUE)
            streak = 0
        except redis.ResponseError as e:
            assert str(e) == OOM
            streak += 1
            if streak == 50:
                break
    assert streak == 50
    n = c.dbsize()
    # reads and deletes work
    assert c.get("k:0") == VALUE.decode()
    assert c.delete("k:0", "k:1") == 2
    assert c.dbsize() == n - 2
    # below the limit again, writes are accepted
    c.config_set("maxmemory", str(limit * 4))
    time.sleep(0.2)
    assert c.set("another", "x")


def test_allkeys_lru_keeps_recent_keys(srv):
    c = srv
    _limit(c, "allkeys-lru", 4 << 20)
    _fill(c, "cold", 20000)
    time.sleep(2.1)  # LRU clocks tick in seconds
    _fill(c, "hot", 2000)
    before = _evicted(c)
    _fill(c, "new", 15000)
    _settle(c, int(c.config_get("maxmemory")["maxmemory"]))
    assert _evicted(c) - before > 5000
    hot = _present(c, "hot", 2000)
    cold = _present(c, "cold", 20000)
    assert hot >= 1900, hot
    assert cold < 15000, cold


def test_allkeys_lfu_keeps_frequent_keys(srv):
    c = srv
    _limit(c, "allkeys-lfu", 4 << 20)
    _fill(c, "hot", 2000)
    p = c.pipeline(transaction=False)
    for _ in range(30):
        for i in range(2000):
            p.get("hot:%d" % i)
        p.execute()
    assert int(c.object("freq", "hot:0")) > 5
    _fill(c, "cold", 40000)
    _settle(c, int(c.config_get("maxmemory")["maxmemory"]))
    assert _evicted(c) > 5000
    assert _present(c, "hot", 2000) >= 1900


def test_allkeys_random_evicts_old_and_new(srv):
    c = srv
    limit = _limit(c, "allkeys-random")
    _fill(c, "a", 20000)
    _fill(c, "b", 20000)
    _settle(c, limit)
    assert _evicted(c) > 5000
    a, b = _present(c, "a", 20000), _present(c, "b", 20000)
    assert 0 < a < 20000 and 0 < b < 20000, (a, b)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random"])
def test_volatile_policies_only_evict_keys_with_ttl(srv, policy):
    c = srv
    limit = _limit(c, policy)
    _fill(c, "keep", 8000)
    _fill(c, "ttl", 30000, ex=lambda i: 100000)
    _settle(c, limit)
    assert _evicted(c) > 5000
    assert _present(c, "keep", 8000) == 8000
    assert _present(c, "ttl", 30000) < 30000 - 5000


def test_volatile_ttl_evicts_nearest_expiry_first(srv):
    c = srv
    limit = _limit(c, "volatile-ttl")
    n = 40000
    _fill(c, "t", n, ex=lambda i: 10000 + i)  # t:0 expires first
    _settle(c, limit)
    gone = n - _present(c, "t", n)
    assert gone > 5000
    # Redis samples, cachalot takes the heap's root: either way the nearest go first
    first = _present(c, "t", gone // 2)
    p = c.pipeline(transaction=False)
    for i in range(n - gone // 2, n):
        p.exists("t:%d" % i)
    last = sum(p.execute())
    assert first < 0.2 * (gone // 2), first
    assert last > 0.9 * (gone // 2), last


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-ttl"])
def test_volatile_without_ttl_keys_is_oom(srv, policy):
    c = srv
    _limit(c, policy)
    with pytest.raises(redis.ResponseError) as e:
        for i in range(200):
            _fill(c, "k", 500, start=i * 500)
    assert str(e.value).endswith(OOM)
    assert _evicted(c) == 0


def test_config_set_maxmemory_halved_under_load(srv, server_kind):
    c = srv
    limit = _limit(c, "allkeys-lru", 16 << 20)
    _fill(c, "pre", 200000)  # well past the limit
    _settle(c, limit)
    errors, done = [], threading.Event()
    writes = [0]

    def load():
        w = srv.__class__(connection_pool=redis.ConnectionPool(
            **c.connection_pool.connection_kwargs))
        i = 0
        while not done.is_set():
            try:
                _fill(w, "load", 500, start=i, batch=500)
                writes[0] += 500
            except redis.RedisError as e:  # pragma: no cover - reported below
                errors.append(e)
                return
            i += 500
        w.connection_pool.disconnect()

    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(0.5)
        used = _used(c)
        half = limit - (16 << 20) + (8 << 20)
        c.config_set("maxmemory", str(half))
        t0 = time.monotonic()
        _settle(c, int(half * 1.02), timeout=10)
        took = time.monotonic() - t0
        # the server kept answering while it evicted
        w0 = writes[0]
        assert c.ping()
        time.sleep(0.5)
        assert writes[0] > w0
    finally:
        done.set()
        t.join(10)
    assert not errors, errors[:1]
    assert used > half and took < 10
