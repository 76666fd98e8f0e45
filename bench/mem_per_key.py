#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bytes per key: cachalot (--workers 1 and 2) beside redis-server, 1M small keys.

For each server, started fresh: read used_memory, used_memory_rss (INFO memory) and VmRSS
(/proc/PID/status); load MEM_KEYS keys "key:%012d" (16 bytes) with MEM_DATA-byte values by
raw pipelined SETs over one socket (the protocol is generated once, before any server
starts, so the client's memory is nowhere in the figures); close the socket, wait until
INFO keyspace shows every key and used_memory stops moving; read again. Prints, per
server, the growth of each figure divided by the keys, and cachalot/redis ratio rows.
The second row group is the same with a TTL on every key (SET ... EX 100000).
See bench/README.md.

Environment (all optional):
  CACHALOT        cachalot binary (default: build/control/cachalot under the repo root)
  CACHALOT_KIND   cachalot|redis (default: guessed from the name; CACHALOT=$(which
                  redis-server) is a dry run of the harness)
  REDIS           redis-server binary (default: redis-server)
  MEM_KEYS        keys to load (default 1000000)
  MEM_DATA        value size in bytes (default 32)
  MEM_WORKERS     cachalot worker counts, space separated (default "1 2")
  MEM_GROUPS      "plain ttl" (default) or one of them
  SERVER_CPU      CPU for the single-worker servers (default 0); CLIENT_CPU for the loader
                  (default 1). Multi-worker cachalot is not pinned.
  BENCH_PORT      first port to use (default 7600)
  BENCH_SAVE      1 (default) to also write the table to bench/results/mem-<time>.txt
"""

import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (Server, command, ports, taskset, env)

env, log = bench.env, bench.log


class Server(bench.Server):
    """bench.Server with a worker count and extra arguments (--maxmemory ...)."""

    def __init__(self, label, binary, kind, port, cpu, workdir, workers=1, extra=()):
        super().__init__(label, binary, kind, port, cpu, workdir)
        self.workers, self.extra = workers, list(extra)

    def argv(self):
        av = [self.binary, "--port", str(self.port)]
        if self.kind == "cachalot":
            av += ["--workers", str(self.workers)]
        else:
            av += ["--save", "", "--appendonly", "no"]
        return bench.taskset(self.cpu) + av + self.extra

    def vmrss(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


def info(port, section=""):
    """INFO [section] as a dict of strings."""
    raw = read_bulk(port, bench.resp(b"INFO", section) if section else bench.resp(b"INFO"))
    out = {}
    for line in raw.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def read_bulk(port, req):
    """Send one command, return its bulk-string reply's payload."""
    with socket.create_connection((bench.HOST, port), timeout=10) as s:
        s.sendall(req)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        head, rest = buf.split(b"\r\n", 1)
        if not head.startswith(b"$"):
            raise OSError("not a bulk reply: %r" % head)
        n = int(head[1:])
        while len(rest) < n + 2:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise OSError("connection closed")
            rest += chunk
        return rest[:n]


def keys_in_db0(port):
    d = info(port, "keyspace").get("db0", "")
    for part in d.split(","):
        if part.startswith("keys="):
            return int(part[5:])
    return 0


def int_info(d, name):
    try:
        return int(d.get(name, "0"))
    except ValueError:
        return 0


def set_commands(first, count, size, ttl=None):
    """count pipelined SETs of key:%012d (first..first+count-1), size-byte values."""
    val = b"x" * size
    tail = b"$2\r\nEX\r\n$%d\r\n%d\r\n" % (len(str(ttl)), ttl) if ttl else b""
    head = b"*%d\r\n$3\r\nSET\r\n$16\r\n" % (5 if ttl else 3)
    body = b"\r\n$%d\r\n%s\r\n%s" % (size, val, tail)
    return b"".join(head + (b"key:%012d" % i) + body for i in range(first, first + count))


def pipe(port, data, nreplies, reply=b"+OK\r\n"):
    """Send data over one socket while reading nreplies replies of the given bytes;
    returns the seconds it took."""
    t0 = time.monotonic()
    with socket.create_connection((bench.HOST, port), timeout=120) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        t = threading.Thread(target=s.sendall, args=(data,), daemon=True)
        t.start()
        want = len(reply) * nreplies
        got = bytearray()
        while len(got) < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("load: connection closed after %d bytes" % len(got))
            got += chunk
        t.join()
    if bytes(got) != reply * nreplies:
        i = next(i for i in range(0, len(got), len(reply)) if got[i:i + len(reply)] != reply)
        raise SystemExit("load: unexpected reply %r" % bytes(got[i:i + 80]))
    return time.monotonic() - t0


def wait_idle(srv, nkeys, timeout=60):
    """Until INFO shows nkeys keys and used_memory is the same three reads in a row."""
    deadline = time.monotonic() + timeout
    while keys_in_db0(srv.port) != nkeys:
        if time.monotonic() > deadline:
            raise SystemExit("%s: %d keys, want %d" % (srv.label, keys_in_db0(srv.port), nkeys))
        time.sleep(0.05)
    last, same = None, 0
    while same < 3 and time.monotonic() < deadline:
        um = int_info(info(srv.port, "memory"), "used_memory")
        same = same + 1 if um == last else 0
        last = um
        time.sleep(0.1)


def snapshot(srv):
    m = info(srv.port, "memory")
    return {"used_memory": int_info(m, "used_memory"),
            "used_memory_rss": int_info(m, "used_memory_rss"),
            "vmrss": srv.vmrss()}


def main():
    cachalot, redis, ckind = bench.servers()
    nkeys = int(env("MEM_KEYS", "1000000"))
    size = int(env("MEM_DATA", "32"))
    workers = [int(w) for w in env("MEM_WORKERS", "1 2").split()]
    groups = env("MEM_GROUPS", "plain ttl").split()
    ncpu = os.cpu_count() or 1
    scpu = int(env("SERVER_CPU", "0")) if ncpu > 1 else None
    ccpu = int(env("CLIENT_CPU", "1")) if ncpu > 1 else None
    if ccpu is not None:
        os.sched_setaffinity(0, {ccpu})
    port = bench.free_port_pair(int(env("BENCH_PORT", "7600")))
    work = tempfile.mkdtemp(prefix="cachalot-mem-")

    log("generating the load (%d SETs per group)" % nkeys)
    loads = {"plain": set_commands(0, nkeys, size),
             "ttl": set_commands(0, nkeys, size, ttl=100000)}
    slots = [("cachalot-w%d" % w, cachalot, ckind, w) for w in workers]
    slots.append(("redis", redis, "redis", 1))
    alloc = {}
    rows = []  # (group, label, keys, growth dict, load seconds)
    t_start = time.monotonic()
    for g in groups:
        for label, binary, kind, w in slots:
            srv = Server(label, binary, kind, port, scpu if w == 1 else None, work, workers=w)
            srv.start()
            try:
                alloc[label] = info(port, "memory").get("mem_allocator", "?")
                before = snapshot(srv)
                secs = pipe(port, loads[g], nkeys)
                wait_idle(srv, nkeys)
                after = snapshot(srv)
                keys = keys_in_db0(port)
                rows.append((g, label, keys, {k: after[k] - before[k] for k in after}, secs,
                             after))
                log("%s %s: %d keys in %.1f s, used_memory +%d, VmRSS +%d" % (
                    g, label, keys, secs, after["used_memory"] - before["used_memory"],
                    after["vmrss"] - before["vmrss"]))
            finally:
                srv.stop()

    widths = [8, 16, 9, 13, 10, 17, 10, 9]
    fmt = bench.fmt_row
    lines = [
        "%d keys \"key:%%012d\" (16 bytes), %d-byte values, raw pipelined SETs over one socket; "
        "ttl: SET ... EX 100000" % (nkeys, size),
        "cachalot: %s (%s)   redis: %s   single-worker servers on CPU %s, loader on CPU %s; "
        "run took %.0f s" % (cachalot, ckind, redis, scpu, ccpu, time.monotonic() - t_start),
        "allocators: %s" % ", ".join("%s %s" % kv for kv in alloc.items()),
        "B/key = growth of the figure from start to loaded and idle, divided by the keys",
        "",
        fmt(["group", "server", "keys", "used_memory", "VmRSS", "used_memory_rss",
             "RSS MiB", "load s"], widths),
        fmt(["" , "", "", "B/key", "B/key", "B/key", "after", ""], widths),
        fmt(["-" * w for w in widths], widths),
    ]
    per = {}
    for g, label, keys, d, secs, after in rows:
        k = max(keys, 1)
        pk = {n: d[n] / k for n in d}
        per[(g, label)] = pk
        lines.append(fmt([g, label, keys, "%.1f" % pk["used_memory"], "%.1f" % pk["vmrss"],
                          "%.1f" % pk["used_memory_rss"], "%.1f" % (after["vmrss"] / 1048576),
                          "%.2f" % secs], widths))
    lines.append(fmt(["-" * w for w in widths], widths))
    for g in groups:
        r = per.get((g, "redis"))
        for label, _, _, _ in slots[:-1]:
            c = per.get((g, label))
            if not c or not r:
                continue
            lines.append(fmt([g, label + "/redis", "",
                              *("%.2f" % (c[n] / r[n]) if r[n] else "n/a"
                                for n in ("used_memory", "vmrss", "used_memory_rss")),
                              "", ""], widths))
    lines.append("goal (issue 4): cachalot <= 85 B/key all in (RSS), i.e. >= 30% below Redis")
    bench.save_table(lines, "mem")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
