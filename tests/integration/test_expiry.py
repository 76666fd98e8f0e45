# SPDX-License-Identifier: BSD-3-Clause
"""Mass expiry: 100k keys with a 500 ms TTL vanish (active expiry), are never read after
their deadline, are never lost before it, and are counted in INFO expired_keys."""

import random
import threading
import time

import resp
from helpers import info_text, send_in_thread

N_KEYS = 100000
CHUNK = 1000
TTL_MS = 500
EPS = 0.010  # the server's clock and ours are the same clock; allow ms rounding


def _load(conn, keys, ttl_ms, chunk=CHUNK, with_pexpire=True):
    """Pipeline SET + PEXPIRE for keys in chunks; return per-chunk (t_sent, t_acked)."""
    chunks = [keys[i : i + chunk] for i in range(0, len(keys), chunk)]
    sent = [None] * len(chunks)
    errors = []

    def sender():
        try:
            for j, ch in enumerate(chunks):
                if with_pexpire:
                    data = b"".join(resp.encode("SET", k, "v") + resp.encode("PEXPIRE", k, ttl_ms)
                                    for k in ch)
                else:
                    data = b"".join(resp.encode("SET", k, "v", "PX", ttl_ms) for k in ch)
                sent[j] = time.monotonic()
                conn.sock.sendall(data)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    acked = []
    per = b"+OK\r\n:1\r\n" if with_pexpire else b"+OK\r\n"
    for ch in chunks:
        want = per * len(ch)
        assert conn.read_raw(len(want), timeout=60) == want
        acked.append(time.monotonic())
    t.join(10)
    assert not errors
    return chunks, list(zip(sent, acked))


def test_100k_keys_expire(server, r):
    c = server.raw()
    base = int(info_text(c, "stats")["expired_keys"])
    keys = ["exp:%d" % i for i in range(N_KEYS)]
    chunks, times = _load(c, keys, TTL_MS)
    last_ack = times[-1][1]
    assert last_ack - times[0][0] < 20, "loading 100k keys took too long"

    # read random chunks during the expiry window and check each answer against the
    # bounds we know for that chunk's deadline: [t_sent + ttl, t_acked + ttl]
    reader = server.raw()
    ttl = TTL_MS / 1000.0
    checked_late = checked_early = 0
    end = last_ack + ttl + 0.5
    while time.monotonic() < end:
        j = random.randrange(len(chunks))
        sample = random.sample(chunks[j], 50)
        t_req = time.monotonic()
        vals = reader.cmd("MGET", *sample)
        t_resp = time.monotonic()
        assert set(vals) <= {b"v", None}, vals
        t_sent, t_acked = times[j]
        if t_req > t_acked + ttl + EPS:
            assert vals == [None] * 50, "expired keys returned %.3fs after their deadline" % (
                t_req - t_acked - ttl)
            checked_late += 1
        elif t_resp < t_sent + ttl - EPS:
            assert None not in vals, "keys gone %.3fs before their deadline" % (
                t_sent + ttl - t_resp)
            checked_early += 1
    print("load %.3fs, early checks %d, late checks %d" % (last_ack - times[0][0], checked_early, checked_late))
    assert checked_late > 10

    # active expiry must remove the rest without anyone touching them
    deadline = last_ack + 2.5
    while time.monotonic() < deadline and r.dbsize() != 0:
        time.sleep(0.05)
    assert r.dbsize() == 0, "%d keys left %.1fs after the last deadline" % (
        r.dbsize(), time.monotonic() - last_ack - ttl)
    assert int(info_text(c, "stats")["expired_keys"]) - base == N_KEYS
    assert "db0" not in info_text(c, "keyspace")
    assert r.get(keys[0]) is None and r.get(keys[-1]) is None
    c.close()
    reader.close()


def test_expiry_keeps_longer_ttls(server, r):
    c = server.raw()
    base = int(info_text(c, "stats")["expired_keys"])
    short = ["short:%d" % i for i in range(10000)]
    long_ = ["long:%d" % i for i in range(10000)]
    plain = ["plain:%d" % i for i in range(1000)]
    _load(c, short, 200, with_pexpire=False)
    _load(c, long_, 30000, with_pexpire=False)
    send_in_thread(c, b"".join(resp.encode("SET", k, "v") for k in plain))
    assert c.read_raw(5 * len(plain)) == b"+OK\r\n" * len(plain)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and r.dbsize() != 11000:
        time.sleep(0.05)
    assert r.dbsize() == 11000
    assert int(info_text(c, "stats")["expired_keys"]) - base == 10000
    assert r.exists(*long_) == 10000 and r.exists(*plain) == 1000
    assert r.exists(*short[:1000]) == 0
    ks = info_text(c, "keyspace")["db0"]
    assert ks.startswith("keys=11000,expires=10000,")
    c.close()
