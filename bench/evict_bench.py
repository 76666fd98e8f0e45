#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Eviction: throughput at the memory limit, and hit ratio against an exact LRU.

Part "throughput": cachalot --workers 1 and redis-server, each alone and pinned to
SERVER_CPU, with maxmemory EVICT_MAXMEMORY and allkeys-lru. Keys "key:%012d" are written
until the server evicts (that count is what fits), then on up to a key space 4 times that,
so the table is at the limit. Then redis-benchmark -t set -r <key space> -d 32 -c 50 -P 16
(pinned to CLIENT_CPU): most writes are new keys, each evicts. The same again on a fresh
server with maxmemory 0, pre-filled to the same key count. Reports ops/s (median of
EVICT_ROUNDS fresh runs), the ratio limit/no-limit per server (issue 4's goal: >= 0.90 for
cachalot) and the keys evicted during the benchmark.

Part "hit": per policy (allkeys-lru, allkeys-lfu), both servers run side by side, each
filled with HIT_KEYS keys with no limit; the used_memory growth per key then sets each
server's maxmemory so that HIT_FRACTION of the keys fit (so both hold about as many keys).
One client drives the same cache-aside workload into both: a Zipf(HIT_S) sequence of key
reads (fixed seed) in batches of HIT_BATCH pipelined GETs, then one SET per distinct
missed key of the batch. The sequence is paced to last at least HIT_SECONDS in the
measured part (the LRU/LFU clocks of both servers tick once a second: a run of a second
or two would tell nothing about how they rank keys in production). The same batches run
through an exact LRU (OrderedDict) of each server's capacity (its mean key count while
measured). Reports hit ratios and the difference in points. See bench/README.md.

Environment (all optional):
  CACHALOT, CACHALOT_KIND, REDIS   as bench/run.sh (CACHALOT=$(which redis-server): dry run)
  EVICT_PARTS       "throughput hit" (default) or one of them
  EVICT_MAXMEMORY   limit for the throughput part (default 32mb)
  EVICT_KEYSPACE    key space of the throughput part (default: 4 x the keys that fit)
  EVICT_REQUESTS    redis-benchmark -n (default 2000000); EVICT_CLIENTS -c (50);
                    EVICT_PIPELINE -P (16); EVICT_DATA -d (32); EVICT_ROUNDS (3)
  HIT_KEYS (200000), HIT_DATA (32), HIT_FRACTION (0.5), HIT_S (0.99), HIT_SEED (1),
  HIT_WARMUP (1000000 reads), HIT_OPS (2000000 reads measured), HIT_BATCH (100),
  HIT_SECONDS (30: the measured part lasts at least this long; 0 = as fast as possible),
  HIT_POLICIES ("allkeys-lru allkeys-lfu")
  SERVER_CPU (0), CLIENT_CPU (1), BENCH_PORT (7600), BENCH_SAVE (1: also write the table
  to bench/results/evict-<time>.txt)
"""

import bisect
import collections
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import mem_per_key as mem  # noqa: E402

env, log, fmt = bench.env, bench.log, bench.fmt_row


class NoEviction(Exception):
    pass


def parse_bytes(s):
    s = s.strip().lower()
    for unit, mul in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 10**9),
                      ("m", 10**6), ("k", 1000), ("b", 1)):
        if s.endswith(unit):
            return int(float(s[:-len(unit)]) * mul)
    return int(s)


def stats(port):
    d = mem.info(port)
    return {k: mem.int_info(d, k) for k in ("used_memory", "maxmemory", "evicted_keys",
                                            "keyspace_hits", "keyspace_misses")}


def config_set(port, name, value):
    r = bench.command(port, bench.resp(b"CONFIG", b"SET", name, value))
    if r != b"+OK\r\n":
        raise SystemExit("CONFIG SET %s %s: %r" % (name, value, r))


def settle(srv, timeout=15):
    """Until the key count holds still for 0.6 s with used_memory at most 2% above
    maxmemory (eviction after CONFIG SET or a burst of writes may run in steps)."""
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while same < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        st, keys = stats(srv.port), mem.keys_in_db0(srv.port)
        over = st["maxmemory"] and st["used_memory"] > st["maxmemory"] * 1.02
        same = same + 1 if keys == last and not over else 0
        last = keys


def fill(port, first, count, size, chunk=100000):
    for a in range(first, first + count, chunk):
        n = min(chunk, first + count - a)
        mem.pipe(port, mem.set_commands(a, n, size), n)


# ---- part 1: throughput at the limit ------------------------------------------------------


def fill_to_limit(srv, size, maxmem, keyspace):
    """Write keys until the server evicts; then on to keyspace (4x what fits when None).
    Returns (keys held once used_memory is back at the limit, keyspace); srv.fill_peak is
    used_memory right after the last write."""
    step, nxt = 20000, 0
    while keyspace is None:
        mem.pipe(srv.port, mem.set_commands(nxt, step, size), step)
        nxt += step
        st = stats(srv.port)
        if st["evicted_keys"] > 0:
            keyspace = 4 * mem.keys_in_db0(srv.port)
        elif st["used_memory"] > 2 * maxmem + (64 << 20):
            raise NoEviction("%s: used_memory %d, maxmemory %d, evicted_keys 0" % (
                srv.label, st["used_memory"], maxmem))
    if nxt < keyspace:
        fill(srv.port, nxt, keyspace - nxt, size)
    st = stats(srv.port)
    srv.fill_peak = st["used_memory"]
    if st["evicted_keys"] == 0:
        raise NoEviction("%s: no key evicted after %d writes" % (srv.label, keyspace))
    # A server that evicts behind the writes is let catch up (bounded), so the benchmark
    # starts at the limit rather than above it; the table shows where it was after the fill.
    settle(srv)
    return mem.keys_in_db0(srv.port), keyspace


def run_set_benchmark(srv, cfg, keyspace):
    cmd = bench.taskset(cfg["client_cpu"]) + [
        "redis-benchmark", "-h", bench.HOST, "-p", str(srv.port), "-c", str(cfg["clients"]),
        "-n", str(cfg["requests"]), "-P", str(cfg["pipeline"]), "-d", str(cfg["data"]),
        "-r", str(keyspace), "-t", "set", "--csv"]
    st0 = stats(srv.port)
    peak = [st0["used_memory"]]
    done = threading.Event()

    def sample():  # an INFO every 0.2 s: how far above the limit the writes push memory
        while not done.wait(0.2):
            try:
                peak[0] = max(peak[0], stats(srv.port)["used_memory"])
            except OSError:
                pass

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    finally:
        done.set()
        t.join()
    if p.returncode != 0:
        raise SystemExit("redis-benchmark failed: %s\n%s" % (p.stdout, p.stderr))
    st1 = stats(srv.port)
    r = bench.parse_redis_benchmark(p.stdout)
    r["evicted"] = st1["evicted_keys"] - st0["evicted_keys"]
    r["used_memory"] = st1["used_memory"]
    r["peak"] = max(peak[0], st1["used_memory"])
    r["fill_used"] = st0["used_memory"]
    r["keys_after"] = mem.keys_in_db0(srv.port)
    return r


def part_throughput(cfg, slots, work):
    maxmem = parse_bytes(cfg["maxmemory"])
    res = collections.defaultdict(list)  # (label, mode) -> [result]
    shape = {}  # label -> (fit, keyspace)
    failed = {}
    for rnd in range(cfg["rounds"]):
        for label, binary, kind in slots:
            if label in failed:
                continue
            for mode in ("limit", "no limit"):
                mm = cfg["maxmemory"] if mode == "limit" else "0"
                srv = mem.Server(label, binary, kind, cfg["port"], cfg["server_cpu"], work,
                                 extra=["--maxmemory", mm, "--maxmemory-policy", "allkeys-lru"])
                srv.start()
                try:
                    if mode == "limit":
                        ks = cfg["keyspace"] or (shape[label][1] if label in shape else None)
                        fit, ks = fill_to_limit(srv, cfg["data"], maxmem, ks)
                        shape.setdefault(label, (fit, ks))
                    else:
                        fit, ks = shape[label]
                        fill(srv.port, 0, fit, cfg["data"])
                        srv.fill_peak = stats(srv.port)["used_memory"]
                    held = mem.keys_in_db0(srv.port)
                    log("round %d, %s, %s: %d keys held, key space %d, redis-benchmark" % (
                        rnd + 1, label, mode, held, ks))
                    r = run_set_benchmark(srv, cfg, ks)
                    r["keys_before"] = held
                    r["fill_peak"] = srv.fill_peak
                    res[(label, mode)].append(r)
                    log("  %.0f ops/s, %d evicted" % (r["ops"], r["evicted"]))
                except NoEviction as e:
                    log("no eviction: %s" % e)
                    failed[label] = str(e)
                    break
                finally:
                    srv.stop()

    widths = [16, 9, 10, 10, 10, 8, 10, 8, 8, 8]
    lines = [
        "throughput at the limit: redis-benchmark -t set -c %d -P %d -d %d -n %d -r <key "
        "space>; allkeys-lru, maxmemory %s (limit) or 0 (no limit, pre-filled to the same "
        "key count); median of %d fresh runs" % (cfg["clients"], cfg["pipeline"], cfg["data"],
                                                 cfg["requests"], cfg["maxmemory"],
                                                 cfg["rounds"]),
        "",
        "MiB: used_memory right after the pre-fill / highest while the benchmark ran (INFO "
        "every 0.2 s) / at its end; the limit is %.1f MiB" % (maxmem / 1048576),
        "",
        fmt(["server", "mode", "key space", "keys held", "ops/s", "p50 ms", "evicted",
             "MiB fill", "MiB peak", "MiB end"], widths),
        fmt(["-" * w for w in widths], widths),
    ]
    med = {}
    for label, _, _ in slots:
        if label in failed:
            lines.append(fmt([label, "n/a", "", "", "", "", "", "", "", ""], widths) +
                         "  no eviction: " + failed[label])
            continue
        for mode in ("limit", "no limit"):
            rs = res.get((label, mode))
            if not rs:
                continue
            ops = statistics.median(r["ops"] for r in rs)
            med[(label, mode)] = ops
            last = rs[-1]
            lines.append(fmt([label, mode, shape[label][1], last["keys_before"], "%.0f" % ops,
                              "%.3f" % statistics.median(r["p50"] for r in rs),
                              last["evicted"], "%.1f" % (last["fill_peak"] / 1048576),
                              "%.1f" % (max(r["peak"] for r in rs) / 1048576),
                              "%.1f" % (last["used_memory"] / 1048576)], widths))
    lines.append(fmt(["-" * w for w in widths], widths))
    for label, _, _ in slots:
        a, b = med.get((label, "limit")), med.get((label, "no limit"))
        if a and b:
            per = [x["ops"] / y["ops"] for x, y in zip(res[(label, "limit")],
                                                     res[(label, "no limit")])]
            lines.append(fmt([label, "limit/no", "", "", "%.2f" % (a / b), "", "", "", "", ""],
                             widths) + "  rounds: %s%s" % (
                                 " ".join("%.2f" % x for x in per),
                                 "  (goal >= 0.90)" if label.startswith("cachalot") else ""))
    a, b = med.get((slots[0][0], "limit")), med.get(("redis", "limit"))
    if a and b:
        lines.append(fmt(["cachalot/redis", "limit", "", "", "%.2f" % (a / b), "", "", "", "",
                          ""], widths))
    return lines


# ---- part 2: hit ratio ----------------------------------------------------------------------


def zipf_sequence(nkeys, n, s, seed):
    """n key ids, rank r (0-based) drawn with probability ~ 1/(r+1)^s; ranks are mapped to
    key ids by a seeded permutation, so popularity has nothing to do with fill order.
    Returns (sequence, probability of each rank, generator name)."""
    w = [1.0 / (r + 1) ** s for r in range(nkeys)]
    tot = sum(w)
    probs = [x / tot for x in w]
    perm = list(range(nkeys))
    random.Random(seed).shuffle(perm)
    try:
        import numpy as np
        ranks = np.random.default_rng(seed).choice(nkeys, size=n, p=np.array(probs))
        return [perm[r] for r in ranks.tolist()], probs, "numpy"
    except ImportError:
        cum, acc = [], 0.0
        for x in probs:
            acc += x
            cum.append(acc)
        rng = random.Random(seed + 1)
        rnd, bis, last = rng.random, bisect.bisect_left, nkeys - 1
        return [perm[min(bis(cum, rnd()), last)] for _ in range(n)], probs, "python"


def exact_lru(seq, batch, cap, warm):
    """Hits after warm reads of an exact LRU of cap keys, with the client's batch
    semantics: a batch's reads see the cache as the batch found it (with the order its
    hits set), then its distinct misses are inserted in order."""
    od, hits = collections.OrderedDict(), 0
    mte = od.move_to_end
    for b in range(0, len(seq), batch):
        miss = []
        for k in seq[b:b + batch]:
            if k in od:
                mte(k)
                if b >= warm:
                    hits += 1
            else:
                miss.append(k)
        for k in dict.fromkeys(miss):
            od[k] = None
            mte(k)
            if len(od) > cap:
                od.popitem(last=False)
    return hits


class CacheClient:
    """One pipelined connection; GETs of fixed-size values, SETs answered +OK."""

    def __init__(self, srv, size):
        self.srv = srv
        self.sock = socket.create_connection((bench.HOST, srv.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.hit_head = b"$%d\r\n" % size
        self.hit_len = len(self.hit_head) + size + 2
        self.hits = self.misses = 0

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SystemExit("%s closed the connection" % self.srv.label)
            self.buf += chunk

    def read_gets(self, keys):
        """Replies of len(keys) GETs; returns the missed keys."""
        miss, pos, buf = [], 0, self.buf
        hl, head = self.hit_len, self.hit_head
        for k in keys:
            if len(buf) < pos + 5:
                del buf[:pos]
                pos = 0
                self._need(5)
                buf = self.buf
            if buf[pos:pos + 5] == b"$-1\r\n":
                miss.append(k)
                pos += 5
                continue
            if len(buf) < pos + hl:
                del buf[:pos]
                pos = 0
                self._need(hl)
                buf = self.buf
            if buf[pos:pos + len(head)] != head:
                raise SystemExit("%s: unexpected GET reply %r" % (self.srv.label,
                                                                  bytes(buf[pos:pos + 60])))
            pos += hl
        del buf[:pos]
        return miss

    def read_oks(self, n):
        self._need(5 * n)
        if self.buf[:5 * n] != b"+OK\r\n" * n:
            raise SystemExit("%s: unexpected SET reply %r" % (self.srv.label,
                                                              bytes(self.buf[:80])))
        del self.buf[:5 * n]

    def close(self):
        self.sock.close()


def run_hit(servers, seq, cfg):
    """Drive the sequence into every server in lockstep; returns per label: hits in the
    measured part, mean keys held while measured, server stats deltas."""
    size, batch, warm = cfg["hit_data"], cfg["hit_batch"], cfg["hit_warmup"]
    gets = {}
    sets = {}
    val = b"v" * size

    def get_cmd(k):
        c = gets.get(k)
        if c is None:
            c = gets[k] = b"*2\r\n$3\r\nGET\r\n$16\r\nkey:%012d\r\n" % k
        return c

    def set_cmd(k):
        c = sets.get(k)
        if c is None:
            c = sets[k] = b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n" % (
                k, size, val)
        return c

    cl = [CacheClient(s, size) for s in servers]
    out = {s.label: {"hits": 0, "held": [], "st0": None} for s in servers}
    rate = cfg["hit_ops"] / cfg["hit_seconds"] if cfg["hit_seconds"] > 0 else 0
    t0 = time.monotonic()
    next_sample = 0.0
    for b in range(0, len(seq), batch):
        keys = seq[b:b + batch]
        if b == warm:
            for s in servers:
                out[s.label]["st0"] = stats(s.port)
            t_meas = time.monotonic()
        if rate:
            ahead = t0 + b / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        req = b"".join(get_cmd(k) for k in keys)
        for c in cl:
            c.sock.sendall(req)
        misses = [c.read_gets(keys) for c in cl]
        for c, m in zip(cl, misses):
            if b >= warm:
                out[c.srv.label]["hits"] += len(keys) - len(m)
            if m:
                m = list(dict.fromkeys(m))
                c.sock.sendall(b"".join(set_cmd(k) for k in m))
        for c, m in zip(cl, misses):
            if m:
                c.read_oks(len(dict.fromkeys(m)))
        if b >= warm and time.monotonic() >= next_sample:
            next_sample = time.monotonic() + 1.0
            for s in servers:
                o = out[s.label]
                o["held"].append(mem.keys_in_db0(s.port))
                o["peak"] = max(o.get("peak", 0), stats(s.port)["used_memory"])
    elapsed = time.monotonic() - t_meas
    for c in cl:
        c.close()
    for s in servers:
        st1 = stats(s.port)
        o = out[s.label]
        o["held"].append(mem.keys_in_db0(s.port))
        o["evicted"] = st1["evicted_keys"] - o["st0"]["evicted_keys"]
        sh = st1["keyspace_hits"] - o["st0"]["keyspace_hits"]
        sm = st1["keyspace_misses"] - o["st0"]["keyspace_misses"]
        o["server_ratio"] = sh / (sh + sm) if sh + sm else float("nan")
        o["cap"] = round(statistics.mean(o["held"]))
        o["maxmemory"] = st1["maxmemory"]
        o["peak"] = max(o.get("peak", 0), st1["used_memory"])
    return out, elapsed


def part_hit(cfg, slots, work):
    K, size = cfg["hit_keys"], cfg["hit_data"]
    n = cfg["hit_warmup"] + cfg["hit_ops"]
    log("generating a Zipf(%.2f) sequence of %d reads over %d keys" % (cfg["hit_s"], n, K))
    seq, probs, gen = zipf_sequence(K, n, cfg["hit_s"], cfg["hit_seed"])
    lru_cache = {}
    rows = []
    port = cfg["port"]
    for pol in cfg["hit_policies"]:
        servers = []
        try:
            for i, (label, binary, kind) in enumerate(slots):
                srv = mem.Server(label, binary, kind, port + i, cfg["server_cpu"], work,
                                 extra=["--maxmemory", "0", "--maxmemory-policy", pol])
                srv.start()
                servers.append(srv)
            sizing = {}
            for srv in servers:
                base = stats(srv.port)["used_memory"]
                fill(srv.port, 0, K, size)
                mem.wait_idle(srv, K)
                per_key = (stats(srv.port)["used_memory"] - base) / K
                target = int(K * cfg["hit_fraction"])
                mm = int(base + per_key * target)
                config_set(srv.port, "maxmemory", mm)
                settle(srv)
                # The table's buckets do not shrink with the keys, so fewer than target
                # fit: one correction step at the measured cost per key.
                held = mem.keys_in_db0(srv.port)
                if held < target:
                    mm += int((target - held) * per_key)
                    config_set(srv.port, "maxmemory", mm)
                    fill(srv.port, 0, K, size)
                    settle(srv)
                sizing[srv.label] = (per_key, mm, mem.keys_in_db0(srv.port))
                log("%s %s: %.1f B/key, maxmemory %d, %d keys held" % (
                    pol, srv.label, per_key, mm, sizing[srv.label][2]))
            log("%s: running %d reads (%d warm-up) into %s" % (
                pol, n, cfg["hit_warmup"], ", ".join(s.label for s in servers)))
            out, elapsed = run_hit(servers, seq, cfg)
        finally:
            for srv in servers:
                srv.stop()
        for label, _, _ in slots:
            o = out[label]
            cap = o["cap"]
            if cap not in lru_cache:
                lru_cache[cap] = exact_lru(seq, cfg["hit_batch"], cap, cfg["hit_warmup"])
            lru = lru_cache[cap] / cfg["hit_ops"]
            srv_ratio = o["hits"] / cfg["hit_ops"]
            topc = sum(probs[:cap])
            rows.append((pol, label, sizing[label], o, lru, srv_ratio, topc, elapsed))
            if cap > 0.9 * K:
                log("warning: %s held %d of %d keys: did it evict?" % (label, cap, K))

    widths = [12, 12, 8, 10, 9, 8, 8, 8, 7, 8, 9, 8]
    lines = [
        "hit ratio: cache-aside over %d keys of %d bytes, Zipf(s=%.2f) reads (seed %d, %s), "
        "batches of %d GETs then the batch's missed keys SET; %d warm-up reads, %d measured "
        "in %.0f s (%.0f reads/s); maxmemory sized per server for %.0f%% of the keys" % (
            K, size, cfg["hit_s"], cfg["hit_seed"], gen, cfg["hit_batch"], cfg["hit_warmup"],
            cfg["hit_ops"], rows[0][7] if rows else 0,
            cfg["hit_ops"] / rows[0][7] if rows else 0, 100 * cfg["hit_fraction"]),
        "exact LRU: the same batches through an OrderedDict of 'keys held' (the server's mean "
        "key count while measured); top-C: the C most popular keys' probability, the best "
        "any cache of C keys can do on independent requests",
        "",
        fmt(["policy", "server", "B/key", "maxmemory", "keys held", "evicted", "hit %",
             "LRU %", "diff", "top-C %", "srv-side %", "peak/max"], widths),
        fmt(["-" * w for w in widths], widths),
    ]
    for pol, label, (pk, mm, _), o, lru, hr, topc, _ in rows:
        lines.append(fmt([pol, label, "%.1f" % pk, mm, o["cap"], o["evicted"],
                          "%.2f" % (100 * hr), "%.2f" % (100 * lru),
                          "%+.2f" % (100 * (hr - lru)), "%.2f" % (100 * topc),
                          "%.2f" % (100 * o["server_ratio"]),
                          "%.2f" % (o["peak"] / o["maxmemory"]) if o["maxmemory"] else "n/a"],
                         widths))
    lines.append("diff: server hit % minus exact LRU hit %, in points; srv-side: "
                 "keyspace_hits/(hits+misses) from INFO over the measured part (a check); "
                 "peak/max: highest used_memory seen (every second) over maxmemory")
    return lines


def main():
    cachalot, redis, ckind = bench.servers()
    if not shutil.which("redis-benchmark"):
        raise SystemExit("redis-benchmark not found (apt-get install redis-tools)")
    ncpu = os.cpu_count() or 1
    cfg = {
        "parts": env("EVICT_PARTS", "throughput hit").split(),
        "maxmemory": env("EVICT_MAXMEMORY", "32mb"),
        "keyspace": int(env("EVICT_KEYSPACE", "0")) or None,
        "requests": int(env("EVICT_REQUESTS", "2000000")),
        "clients": int(env("EVICT_CLIENTS", "50")),
        "pipeline": int(env("EVICT_PIPELINE", "16")),
        "data": int(env("EVICT_DATA", "32")),
        "rounds": int(env("EVICT_ROUNDS", "3")),
        "hit_keys": int(env("HIT_KEYS", "200000")),
        "hit_data": int(env("HIT_DATA", "32")),
        "hit_fraction": float(env("HIT_FRACTION", "0.5")),
        "hit_s": float(env("HIT_S", "0.99")),
        "hit_seed": int(env("HIT_SEED", "1")),
        "hit_warmup": int(env("HIT_WARMUP", "1000000")),
        "hit_ops": int(env("HIT_OPS", "2000000")),
        "hit_batch": int(env("HIT_BATCH", "100")),
        "hit_seconds": float(env("HIT_SECONDS", "30")),
        "hit_policies": env("HIT_POLICIES", "allkeys-lru allkeys-lfu").split(),
        "server_cpu": int(env("SERVER_CPU", "0")) if ncpu > 1 else None,
        "client_cpu": int(env("CLIENT_CPU", "1")) if ncpu > 1 else None,
    }
    cfg["hit_warmup"] -= cfg["hit_warmup"] % cfg["hit_batch"]
    cfg["hit_ops"] -= cfg["hit_ops"] % cfg["hit_batch"]
    if cfg["client_cpu"] is not None:
        os.sched_setaffinity(0, {cfg["client_cpu"]})
    cfg["port"] = bench.free_port_pair(int(env("BENCH_PORT", "7600")))
    work = tempfile.mkdtemp(prefix="cachalot-evict-")
    slots = [("cachalot", cachalot, ckind), ("redis", redis, "redis")]
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    lines = []
    if "throughput" in cfg["parts"]:
        lines += part_throughput(cfg, slots, work) + [""]
    if "hit" in cfg["parts"]:
        lines += part_hit(cfg, slots, work) + [""]
    lines.append("cachalot: %s (%s, --workers 1)   redis: %s   servers on CPU %s, clients on "
                 "CPU %s; run took %.0f s; load average %.2f at start, %.2f at end (more than ~2: "
                 "something else ran)" % (cachalot, ckind, redis, cfg["server_cpu"],
                                          cfg["client_cpu"], time.monotonic() - t0, load0,
                                          os.getloadavg()[0]))
    bench.save_table(lines, "evict")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
