#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-core holds under load, cachalot beside redis-server (issue 11, bug 3).

Two clients pipeline MGETs of 32 keys spread over both workers (k0..k31, 20 per batch),
a third alternates RENAME {x}a plainb / RENAME plainb {x}a (slots 16287 and 6454: on
different workers when there are two), and a fourth sends one PING at a time and records its latency. Every client is a
process of its own (no GIL between them). cachalot runs with 2 workers (one per CPU of this
machine), redis-server unpinned; both in turn, the same clients, the same duration.

Prints renames/s, MGETs/s and PING p50/p99 per server, and the cachalot/redis ratios. The
issue's goal: renames at least 0.5x redis's rate, PING p99 under 1 ms.

Environment (optional): CACHALOT, REDIS (binaries, as bench/run.sh), HOLDS_SECONDS
(default 4), HOLDS_WORKERS (cachalot --workers, default 2), BENCH_PORT (default 7600),
BENCH_SAVE (1: also write bench/results/holds-<time>.txt).
"""

import multiprocessing
import os
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import mem_per_key as mem  # noqa: E402  (Server with a worker count)

env, log = bench.env, bench.log


class Client:
    """A blocking RESP client that counts replies (values are not decoded)."""

    def __init__(self, port):
        self.s = socket.create_connection((bench.HOST, port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _need(self, pos):
        while len(self.buf) < pos:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise OSError("closed")
            self.buf += chunk

    def _skip(self, pos):
        """Position after one reply starting at pos."""
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                break
            self._need(len(self.buf) + 1)
        t, line = self.buf[pos:pos + 1], self.buf[pos + 1:end]
        pos = end + 2
        if t == b"$":
            n = int(line)
            if n >= 0:
                self._need(pos + n + 2)
                pos += n + 2
        elif t == b"*":
            for _ in range(max(int(line), 0)):
                pos = self._skip(pos)
        elif t == b"-":
            raise OSError("error reply: %s" % line.decode())
        return pos

    def replies(self, n):
        pos = 0
        for _ in range(n):
            pos = self._skip(pos)
        self.buf = self.buf[pos:]


def run_mget(port, seconds, out):
    keys = ["k%d" % i for i in range(32)]
    batch = bench.resp(b"MGET", *keys) * 20
    c = Client(port)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c.send(batch)
        c.replies(20)
        n += 20
    out.put(("mget", n))


def run_rename(port, seconds, out):
    a, b = bench.resp(b"RENAME", b"{x}a", b"plainb"), bench.resp(b"RENAME", b"plainb", b"{x}a")
    c = Client(port)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for req in (a, b):
            t0 = time.perf_counter()
            c.send(req)
            c.replies(1)
            lat.append(time.perf_counter() - t0)
    lat.sort()
    out.put(("rename", (len(lat), lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3)))


def run_ping(port, seconds, out):
    c = Client(port)
    lat = []
    end = time.monotonic() + seconds
    ping = b"*1\r\n$4\r\nPING\r\n"
    while time.monotonic() < end:
        t0 = time.perf_counter()
        c.send(ping)
        c.replies(1)
        lat.append(time.perf_counter() - t0)
        time.sleep(0.001)  # a lone client, not a load
    lat.sort()
    out.put(("ping", (lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3, len(lat))))


def measure(port, seconds):
    c = Client(port)
    c.send(bench.resp(b"MSET", *[x for i in range(32) for x in ("k%d" % i, "v%d" % i)]))
    c.send(bench.resp(b"SET", b"{x}a", b"v"))
    c.send(bench.resp(b"DEL", b"plainb"))
    c.replies(3)
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=f, args=(port, seconds, out))
             for f in (run_mget, run_mget, run_rename, run_ping)]
    for p in procs:
        p.start()
    res = {"mget": 0}
    for _ in procs:
        k, v = out.get(timeout=seconds + 60)
        if k == "mget":
            res["mget"] += v
        else:
            res[k] = v
    for p in procs:
        p.join()
    return res


def main():
    cachalot, redis, ckind = bench.servers()
    seconds = float(env("HOLDS_SECONDS", "4"))
    workers = int(env("HOLDS_WORKERS", "2"))
    port = bench.free_port_pair(int(env("BENCH_PORT", "7600")))
    work = tempfile.mkdtemp(prefix="cachalot-holds-")
    rows = []
    results = {}
    for label, binary, kind, p in (("cachalot", cachalot, ckind, port),
                                   ("redis", redis, "redis", port + 1)):
        srv = mem.Server(label, binary, kind, p, None, work, workers=workers)
        srv.start()
        try:
            results[label] = measure(p, seconds)
        finally:
            srv.stop()
    hdr = "%-9s %12s %10s %10s %12s %10s %10s" % (
        "server", "renames/s", "p50", "p99", "mgets/s", "ping p50", "ping p99")
    rows.append("holds: 2 MGET pipeliners + RENAME ping-pong + lone PING, %.0f s, "
                "cachalot --workers %d" % (seconds, workers))
    rows.append(hdr)
    for label in ("cachalot", "redis"):
        r = results[label]
        rows.append("%-9s %12.0f %8.3fms %8.3fms %12.0f %8.3fms %8.3fms" % (
            label, r["rename"][0] / seconds, r["rename"][1], r["rename"][2],
            r["mget"] / seconds, r["ping"][0], r["ping"][1]))
    c, r = results["cachalot"], results["redis"]

    def ratio(a, b):
        return a / b if b else float("nan")
    rows.append("%-9s %11.2fx %9.2fx %9.2fx %11.2fx %9.2fx %9.2fx" % (
        "ratio", ratio(c["rename"][0], r["rename"][0]), ratio(c["rename"][1], r["rename"][1]),
        ratio(c["rename"][2], r["rename"][2]), ratio(c["mget"], r["mget"]),
        ratio(c["ping"][0], r["ping"][0]), ratio(c["ping"][1], r["ping"][1])))
    bench.save_table(rows, "holds")


if __name__ == "__main__":
    main()
