# SPDX-License-Identifier: BSD-3-Clause
"""Load and connection churn over the veth: redis-benchmark, 1000 concurrent connections,
10k connect/close cycles, large values checked by digest, clients killed in the middle of
a request or of a reply. After each, the server must still serve, its client count must
come back and no TCP connection may be left behind in its stack.

Sizes (smaller for the fault-injection runs, where a lost segment costs a retransmission
timeout):
  E2E_BENCH_REQUESTS (100000), E2E_BENCH_CLIENTS (50), E2E_CONNS (1000),
  E2E_CYCLES (10000), E2E_BIG_SIZES ("1m 64m")
"""

import asyncio
import hashlib
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import resp
from e2e import OP_TIMEOUT, bench_rows, info, num, queue_sum, stack_conns, wait_for

BENCH_REQUESTS = int(os.environ.get("E2E_BENCH_REQUESTS", "100000"))
BENCH_CLIENTS = int(os.environ.get("E2E_BENCH_CLIENTS", "50"))
CONNS = int(os.environ.get("E2E_CONNS", "1000"))
CYCLES = int(os.environ.get("E2E_CYCLES", "10000"))


def _size(s):
    m = re.fullmatch(r"(\d+)([km]?)", s.strip().lower())
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20}[m.group(2)]


BIG_SIZES = [_size(s) for s in os.environ.get("E2E_BIG_SIZES", "1m 64m").split()]


def clients(server, conn=None):
    return int(info(server, "clients", conn=conn)["connected_clients"])


def settle(server, want_clients, timeout=15.0):
    """Wait until at most want_clients clients are connected (the connection that asks
    included) and the stack holds no more connections than that; fail otherwise. One
    connection asks throughout: a fresh one per poll would always find its predecessor
    still closing."""
    with server.raw(timeout=OP_TIMEOUT) as conn:
        def ok():
            c = clients(server, conn)
            s = stack_conns(server, conn)
            return c <= want_clients and (s is None or s <= want_clients)

        wait_for(ok, timeout=timeout, interval=0.1)
        c, s = clients(server, conn), stack_conns(server, conn)
        states = " ".join("%s=%s" % (k[len("tcp_state_"):], v)
                          for k, v in info(server, conn=conn).items()
                          if k.startswith("tcp_state_") and str(v) != "0")
        if c > want_clients:
            listing = conn.cmd("CLIENT", "LIST").decode()
            raise AssertionError("connected_clients stays at %d (want <= %d) after %.0fs; "
                                 "the stack holds %s connections (%s); CLIENT LIST:\n%s"
                                 % (c, want_clients, timeout, s, states, listing))
        assert s is None or s <= want_clients, \
            "the server's TCP stack still holds %d connections (want <= %d): %s" \
            % (s, want_clients, states)
    return c, s


def mbufs_free(server):
    """Free mbufs over all queues (DPDK), None on the kernel transport."""
    inf = info(server)
    return queue_sum(inf, "mbufs_free") if "queue0" in inf else None


def assert_no_mbuf_leak(server, before, slack=256):
    """Every mbuf the churn took came back (slack: what bursts and per-core caches may
    hold at any moment, and frames the fault wrapper holds back)."""
    if before is None:
        return
    wait_for(lambda: mbufs_free(server) >= before - slack, timeout=10, interval=0.1)
    now = mbufs_free(server)
    assert now >= before - slack, "mbufs free: %d before, %d after" % (before, now)


def assert_serving(server):
    with server.raw(timeout=OP_TIMEOUT) as c:
        assert c.cmd("PING") == "PONG"
        assert c.cmd("SET", "alive", "yes") == "OK"
        assert c.cmd("GET", "alive") == b"yes"


# ---- redis-benchmark ----------------------------------------------------------------------


def test_redis_benchmark(srv, r):
    t0 = time.monotonic()
    p = subprocess.run(
        ["redis-benchmark", "-h", srv.host, "-p", str(srv.port), "-c", str(BENCH_CLIENTS),
         "-n", str(BENCH_REQUESTS), "-r", "10000", "-d", "64", "-t", "set,get,incr,mset",
         "--csv"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, (p.stdout, p.stderr)
    rows = bench_rows(p.stdout)
    assert set(rows) >= {"SET", "GET", "INCR", "MSET"}, p.stdout
    assert all(v > 0 for v in rows.values()), rows
    assert not re.search(r"error|closed|refused|reset", p.stdout + p.stderr, re.I), \
        (p.stdout, p.stderr)
    sys.stderr.write("redis-benchmark -c %d -n %d in %.1fs: %s\n"
                     % (BENCH_CLIENTS, BENCH_REQUESTS, time.monotonic() - t0, rows))
    # what it wrote is there: 10000 random keys of 64 bytes and the INCR counter
    assert r.dbsize() > 1000
    counters = list(r.scan_iter("counter:*", count=1000))
    assert counters and sum(int(v) for v in r.mget(counters)) > 0
    vals = r.mget(list(r.scan_iter("key:*", count=1000))[:100])
    assert vals and all(v is not None and len(v) == 64 for v in vals), vals[:3]
    settle(srv, want_clients=2)  # r, and INFO's own connection
    assert_serving(srv)


# ---- 1000 concurrent connections --------------------------------------------------------


async def _one(host, port, i, opened, go):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        opened.append(i)
        await go.wait()
        key, val = "conc:%d" % i, b"v%d-" % i + b"x" * (i % 100)
        writer.write(resp.encode("SET", key, val) + resp.encode("GET", key))
        await writer.drain()
        assert await reader.readexactly(5) == b"+OK\r\n"
        want = b"$%d\r\n%s\r\n" % (len(val), val)
        assert await reader.readexactly(len(want)) == want
        return i
    finally:
        writer.close()


async def _concurrent(host, port, n, srv):
    opened, go = [], asyncio.Event()
    tasks = [asyncio.ensure_future(asyncio.wait_for(_one(host, port, i, opened, go),
                                                    OP_TIMEOUT * 4)) for i in range(n)]
    # every connection is open (and counted by the server) before any of them sends
    deadline = time.monotonic() + OP_TIMEOUT * 2
    while len(opened) < n and time.monotonic() < deadline:
        done = [t for t in tasks if t.done() and t.exception()]
        if done:
            raise done[0].exception()
        await asyncio.sleep(0.05)
    assert len(opened) == n, "only %d of %d connections opened" % (len(opened), n)
    # counted while all are open (INFO itself is one more); under loss a handshake's last
    # ACK may still be on its way (the server counts a client once it arrives)
    assert wait_for(lambda: clients(srv) >= n, timeout=OP_TIMEOUT, interval=0.1), \
        "the server counts %d clients, %d are open" % (clients(srv), n)
    go.set()
    return await asyncio.gather(*tasks)


def test_concurrent_connections(srv, r):
    mb = mbufs_free(srv)
    done = asyncio.run(_concurrent(srv.host, srv.port, CONNS, srv))
    assert sorted(done) == list(range(CONNS))
    assert r.dbsize() == CONNS
    settle(srv, want_clients=2)  # r stays connected, plus INFO's own
    assert_no_mbuf_leak(srv, mb)
    assert_serving(srv)


# ---- connect/close cycles -----------------------------------------------------------------


def _cycles(host, port, n, tid, errors):
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=OP_TIMEOUT)
            try:
                mode = (i + tid) % 4
                if mode >= 2:  # half of them say something first
                    s.sendall(b"PING\r\n")
                    got = b""
                    while not got.endswith(b"\r\n"):
                        chunk = s.recv(64)
                        if not chunk:
                            break
                        got += chunk
                    assert got == b"+PONG\r\n", got
                if mode == 3:  # a quarter end with RST instead of FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            finally:
                s.close()
        except Exception as e:  # noqa: BLE001 - collected and reported by the test
            errors.append("cycle %d/%d: %r" % (tid, i, e))
            if len(errors) > 20:
                return


def test_connect_close_cycles(srv, r):
    before = info(srv)
    mb = mbufs_free(srv)
    nthreads = 8
    errors = []
    ths = [threading.Thread(target=_cycles, args=(srv.host, srv.port, CYCLES // nthreads, t,
                                                   errors), daemon=True)
           for t in range(nthreads)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join(OP_TIMEOUT * 20)
    assert not any(t.is_alive() for t in ths), "connect/close threads stuck"
    assert not errors, errors[:20]
    dt = time.monotonic() - t0
    after = info(srv)
    n = nthreads * (CYCLES // nthreads)
    got = num(after["total_connections_received"]) - num(before["total_connections_received"])
    assert got >= n, (got, n)
    settle(srv, want_clients=2)
    assert_no_mbuf_leak(srv, mb)
    sys.stderr.write("%d connect/close cycles in %.1fs\n" % (n, dt))
    assert_serving(srv)


# ---- large values -------------------------------------------------------------------------


@pytest.mark.parametrize("size", BIG_SIZES, ids=lambda s: "%dk" % (s >> 10))
def test_large_value_digest(srv, size):
    c = srv.client(decode_responses=False, socket_timeout=max(OP_TIMEOUT, 60),
                   socket_connect_timeout=OP_TIMEOUT)
    try:
        val = os.urandom(size)
        digest = hashlib.sha256(val).hexdigest()
        t0 = time.monotonic()
        assert c.set(b"big", val) is True
        t1 = time.monotonic()
        assert c.strlen(b"big") == size
        got = c.get(b"big")
        t2 = time.monotonic()
        assert got is not None and len(got) == size
        assert hashlib.sha256(got).hexdigest() == digest
        # a window in the middle, read by a second connection
        assert c.getrange(b"big", size // 2, size // 2 + 99) == val[size // 2: size // 2 + 100]
        sys.stderr.write("%d bytes: SET %.2fs, GET %.2fs\n" % (size, t1 - t0, t2 - t1))
        assert c.delete(b"big") == 1
    finally:
        c.close()


# ---- clients killed mid-request -----------------------------------------------------------

_HALF_REQUEST = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
total = int(sys.argv[3])
s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$%d\r\n" % total)
s.sendall(b"x" * (total // 2))          # half of the value, then nothing
print("sent", flush=True)
time.sleep(600)
"""

_HALF_READ = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET bigreply\r\n")
got = 0
while got < 100000:                      # a little of the reply, the rest stays unread
    got += len(s.recv(65536))
print("read", flush=True)
time.sleep(600)
"""


def _spawn(code, *args):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_line(p, want):
    line = ""
    t = threading.Timer(OP_TIMEOUT, p.kill)
    t.start()
    try:
        line = p.stdout.readline().strip()
    finally:
        t.cancel()
    assert line == want, (line, p.stderr.read() if p.poll() is not None else "")


def test_client_killed_mid_request(srv, r):
    base = clients(srv)
    mb = mbufs_free(srv)
    p = _spawn(_HALF_REQUEST, srv.host, srv.port, 8 << 20)
    try:
        _wait_line(p, "sent")
        assert clients(srv) >= base + 1
        # others are served while the half request sits in the server
        for i in range(50):
            assert r.set("other:%d" % i, i) is True
        p.kill()
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    settle(srv, want_clients=base)
    assert_no_mbuf_leak(srv, mb)
    assert r.exists("half") == 0
    assert [int(x) for x in r.mget(["other:%d" % i for i in range(50)])] == list(range(50))
    assert_serving(srv)


def test_client_killed_mid_reply(srv, r):
    c = srv.client(decode_responses=False, socket_timeout=max(OP_TIMEOUT, 60))
    try:
        assert c.set(b"bigreply", os.urandom(16 << 20)) is True
    finally:
        c.close()
    base = clients(srv)
    mb = mbufs_free(srv)
    p = _spawn(_HALF_READ, srv.host, srv.port)
    try:
        _wait_line(p, "read")
        p.kill()  # unread data in its receive buffer: the kernel answers with RST
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    settle(srv, want_clients=base)
    assert_no_mbuf_leak(srv, mb)
    assert r.strlen("bigreply") == 16 << 20
    assert_serving(srv)
