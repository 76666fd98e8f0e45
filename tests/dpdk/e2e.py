# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the end-to-end tests (conftest.py holds the fixtures)."""

import os
import re
import shutil
import socket
import subprocess
import time

import pytest

import remote
import resp

OP_TIMEOUT = float(os.environ.get("E2E_OP_TIMEOUT", "30"))
FAULT = os.environ.get("E2E_FAULT", "") if remote.TRANSPORT == "dpdk" else ""
CLI = os.environ.get("REDIS_CLI") or shutil.which("redis-cli") or "redis-cli"

dpdk_only = pytest.mark.skipif(remote.TRANSPORT != "dpdk",
                               reason="DPDK transport only (E2E_NET=%s)" % remote.MODE)
fault_only = pytest.mark.skipif(not FAULT, reason="needs the fault wrapper (E2E_FAULT)")


def info(server, *sections, conn=None):
    """All INFO fields of server as {name: str value} (sections merged), over conn (a
    resp.Conn) or a connection of its own."""
    if conn is not None:
        text = conn.cmd("INFO", *(sections or ("everything",)))
    else:
        with resp.Conn(server.port, host=server.host, timeout=OP_TIMEOUT) as c:
            text = c.cmd("INFO", *(sections or ("everything",)))
    assert isinstance(text, bytes), text
    out = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k] = v
    return out


def num(v):
    try:
        return int(v)
    except ValueError:
        return float(v)


def fields(inf, pattern):
    """{name: number} of the numeric INFO fields whose name matches the regex pattern."""
    rx = re.compile(pattern)
    out = {}
    for k, v in inf.items():
        if rx.search(k):
            try:
                out[k] = num(v)
            except ValueError:
                pass
    return out


def total(inf, pattern):
    return sum(fields(inf, pattern).values())


def cli(server, *args, stdin=None, timeout=None):
    """redis-cli against server from this (the client) namespace: (rc, stdout, stderr)."""
    p = subprocess.run([CLI, "-h", server.host, "-p", str(server.port), *args], input=stdin,
                       capture_output=True, timeout=timeout or OP_TIMEOUT * 2)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def wait_for(pred, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# INFO "# Network" fields of the DPDK transport (drivers/dpdk/dpdk_transport.c, summed over
# the workers), as regexes for fields() and total().
NET = {
    "conns": r"^tcp_conns$",          # in the connection tables, any state
    "time_wait": r"^tcp_time_wait$",  # of those, in TIME_WAIT
    "retrans": r"^tcp_(retrans_segs|fast_retrans|rto_timeouts)$",
    "syncookies_sent": r"^tcp_syncookies_sent$",
    "syn_drops": r"^tcp_syn_drops$",
    "dup_segs": r"^tcp_dup_segs$",
    "ooo_segs": r"^tcp_ooo_segs$",
}


def queues(inf):
    """The per-queue lines of the Network section ("queue0:rx_packets=1,tx_packets=2,...")
    as {queue: {name: number}}."""
    out = {}
    for k, v in inf.items():
        m = re.fullmatch(r"queue(\d+)", k)
        if m:
            out[int(m.group(1))] = {a: num(b) for a, _, b in
                                    (kv.partition("=") for kv in v.split(",")) if b}
    return out


def queue_sum(inf, name):
    return sum(q.get(name, 0) for q in queues(inf).values())


def stack_conns(server, conn=None):
    """The server's own count of its live TCP connections (every state but LISTEN and
    TIME_WAIT). DPDK: the userspace stack's INFO counters; kernel transport: the kernel's
    sockets on the server port, from ss in the server namespace. None if unknown."""
    if remote.TRANSPORT == "dpdk":
        inf = info(server, conn=conn)
        conns = fields(inf, NET["conns"])
        if not conns:
            return None
        return sum(conns.values()) - total(inf, NET["time_wait"])
    p = subprocess.run(["ip", "netns", "exec", os.environ["SRV_NS"], "ss", "-Htan",
                        "sport = :%d" % server.port], capture_output=True, text=True,
                       timeout=OP_TIMEOUT)
    if p.returncode != 0:
        return None
    states = [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    return sum(1 for st in states if st not in ("LISTEN", "TIME-WAIT"))


def set_get_conns(server, n, prefix):
    """n connections open at once, each sends SET+GET of its own key; every reply is
    checked. A reset names the keepalive and RST counters, to tell a legitimate keepalive
    timeout under loss from a stack bug."""
    socks = [socket.create_connection((server.host, server.port), timeout=OP_TIMEOUT)
             for _ in range(n)]
    try:
        for i, s in enumerate(socks):
            try:
                s.sendall(b"SET %s:%d %d\r\nGET %s:%d\r\n" % (prefix, i, i, prefix, i))
            except ConnectionResetError as e:
                inf = info(server)
                raise AssertionError("connection %d reset: %s" % (i, {
                    k: v for k, v in inf.items()
                    if k.startswith(("tcp_keepalive", "tcp_rst", "tcp_drop"))})) from e
        for i, s in enumerate(socks):
            want = b"+OK\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
            got = b""
            while len(got) < len(want):
                chunk = s.recv(4096)
                assert chunk, "connection %d closed" % i
                got += chunk
            assert got == want, (i, got)
    finally:
        for s in socks:
            s.close()


def bench_rows(stdout):
    """redis-benchmark --csv output as {"SET": rps, ...}."""
    rows = {}
    for line in stdout.splitlines():
        cols = [c.strip('"') for c in line.split(",")]
        if len(cols) > 1 and cols[0] != "test":
            rows[cols[0].split()[0]] = float(cols[1])
    return rows
