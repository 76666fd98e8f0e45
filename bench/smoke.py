#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Smoke run of one benchmark script with tiny counts (meson suite bench-smoke).

  bench/smoke.py PART        PART: run, run-memtier, batching, run-veth, callgrind,
                             callgrind-net, net-cost, mem-per-key, evict, remote

A benchmark reports; this checks only that it still works: the script exits 0 and prints
every result row it is meant to print, each with a number in every numeric column. The
numbers' values are not judged (a run of a few thousand requests on a shared machine says
nothing about speed). Exit 0 (pass), 1 (fail, with the script's output) or 77 (skipped: a
prerequisite of this part is not available here, named on stderr).

Environment: CACHALOT (the binary under test), NET_COST (build/bench/net_cost), REMOTE_LOAD
(build/bench/remote_load),
SMOKE_DPDK (1 when cachalot was built with DPDK), SMOKE_PORT (first port; each part adds
its own offset, so parts may run in parallel).
"""

import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETNS = os.path.join(ROOT, "tests", "dpdk", "netns.sh")
NUM = r"(?:[\d.]+|nan|n/a)"


def skip(why):
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(77)


def need_tools(*tools):
    for t in tools:
        if not shutil.which(t):
            skip("%s not found" % t)


def need_netns():
    if os.geteuid() != 0:
        skip("needs root (network namespaces)")
    p = subprocess.run([NETNS, "check"], capture_output=True, text=True)
    if p.returncode == 77:
        skip(p.stderr.strip())
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        sys.exit(1)


def need_dpdk():
    if os.environ.get("SMOKE_DPDK") != "1":
        skip("cachalot was built without DPDK")


def rows(*labels, ncols):
    """A regex per table row: the row's leading labels, then ncols numeric columns."""
    return [r"^%s\s+%s\s*$" % (r"\s+".join(re.escape(x) for x in lb),
                               r"\s+".join([NUM] * ncols)) for lb in labels]


def bench_rows(workloads, servers, pairs):
    want = []
    for w in workloads:
        want += rows(*[(w, s) for s in servers], ncols=4)
        want += rows(*[(w, "%s/%s" % p) for p in pairs], ncols=4)
    return want


def part(name, port):
    """-> (argv, extra environment, regexes the output must match, line by line)."""
    py = [sys.executable]
    pipes = ["P1", "P16"]
    rb = [x + " " + p for p in pipes for x in ("SET", "GET")]
    small = {"BENCH_REQUESTS": "2000", "BENCH_KEYS": "500", "BENCH_PIPELINES": "1 16",
             "BENCH_PORT": str(port)}
    if name == "run":
        need_tools("redis-server", "redis-benchmark")
        return (py + [os.path.join(HERE, "bench.py")],
                dict(small, BENCH_TOOL="redis-benchmark"),
                bench_rows(rb, ["cachalot", "redis"], [("cachalot", "redis")]))
    if name == "run-memtier":
        need_tools("redis-server", "memtier_benchmark")
        return (py + [os.path.join(HERE, "bench.py")], dict(small, BENCH_TOOL="memtier"),
                bench_rows(["set:get 1:10 " + p for p in pipes], ["cachalot", "redis"],
                           [("cachalot", "redis")]))
    if name == "batching":
        need_tools("redis-server", "memtier_benchmark", "ss")
        return (py + [os.path.join(HERE, "batching.py")],
                {"BATCH_SECONDS": "3", "BATCH_PIPELINES": "1 16", "BATCH_RATIOS": "0:1",
                 "BATCH_KEYS": "500", "BENCH_PORT": str(port)},
                rows(*[("0:1", p, s) for p in pipes for s in ("cachalot", "redis")],
                     ncols=20) +
                rows(*[("0:1", p, "cachalot/redis") for p in pipes], ncols=20))
    if name == "run-veth":
        need_tools("redis-server", "redis-benchmark")
        need_netns()
        srv = ["cachalot-kernel", "redis"]
        pairs = [("cachalot-kernel", "redis")]
        if os.environ.get("SMOKE_DPDK") == "1":
            srv = ["cachalot-dpdk"] + srv
            pairs = [("cachalot-dpdk", "cachalot-kernel"), ("cachalot-dpdk", "redis")] + pairs
        return (py + [os.path.join(HERE, "bench.py")],
                dict(small, BENCH_NET="veth", BENCH_TOOL="redis-benchmark",
                     BENCH_PIPELINES="1", BENCH_SERVERS=" ".join(srv),
                     BENCH_DPDK_MEM="512"),
                bench_rows(["SET P1", "GET P1"], srv, pairs))
    if name == "callgrind":
        need_tools("valgrind", "callgrind_control", "redis-server", "redis-benchmark")
        return (["bash", os.path.join(HERE, "callgrind.sh")],
                {"CG_REQUESTS": "1000", "CG_PORT": str(port)},
                rows(("cachalot",), ("redis",), ncols=5) + rows(("ratio", "c/r"), ncols=2))
    if name == "callgrind-net":
        need_tools("valgrind", "callgrind_control", "redis-benchmark")
        need_dpdk()
        need_netns()
        return (py + [os.path.join(HERE, "callgrind_net.py")],
                {"CG_REQUESTS": "200", "CG_CLIENTS": "1", "IDLE_S": "0.5",
                 "BENCH_PORT": str(port)},
                [r"^1\s+\d+\s+%s\s+%s\s+%s\s+%s\s+%s\s+%s\s+(yes|no)\s*$" % ((NUM,) * 6),
                 r"^top of net, -c 1"])
    if name == "net-cost":
        need_tools("valgrind")
        return (py + [os.path.join(HERE, "net_cost.py")],
                {"NET_COST_N": "200", "NET_COST_TOP": "3"},
                [r"^offload\s+\d+\s+tcp \d+", r"^software\s+\d+\s+tcp \d+.*csum \d+",
                 r"^offload, Ir per exchange:", r"^software, Ir per exchange:"])
    if name == "mem-per-key":
        need_tools("redis-server")
        labels = [(g, s) for g in ("plain", "ttl")
                  for s in ("cachalot-w1", "cachalot-w2", "redis")]
        return (py + [os.path.join(HERE, "mem_per_key.py")],
                {"MEM_KEYS": "5000", "BENCH_PORT": str(port)},
                rows(*labels, ncols=6) +
                rows(*[(g, "cachalot-w%d/redis" % n) for g in ("plain", "ttl")
                       for n in (1, 2)], ncols=3))
    if name == "evict":
        need_tools("redis-server", "redis-benchmark")
        num = r"\s+[+-]?[\d.]+"
        return (py + [os.path.join(HERE, "evict_bench.py")],
                {"EVICT_MAXMEMORY": "4mb", "EVICT_REQUESTS": "5000", "EVICT_ROUNDS": "1",
                 "HIT_KEYS": "2000", "HIT_WARMUP": "2000", "HIT_OPS": "4000",
                 "HIT_SECONDS": "0", "HIT_POLICIES": "allkeys-lru allkeys-lfu",
                 "BENCH_PORT": str(port)},
                [r"^%s\s+%s(%s){8}\s*$" % (s, m, num) for s in ("cachalot", "redis")
                 for m in ("limit", r"no limit")] +
                [r"^%s\s+limit/no\s+[\d.]+" % s for s in ("cachalot", "redis")] +
                [r"^%s\s+%s(%s){10}\s*$" % (p, s, num)
                 for p in ("allkeys-lru", "allkeys-lfu") for s in ("cachalot", "redis")])
    if name == "remote":
        load = os.environ.get("REMOTE_LOAD", "")
        if not load or not os.access(load, os.X_OK):
            skip("REMOTE_LOAD (build/bench/remote_load) not built")
        num = r"\s+[+-]?[\d.]+"
        return (py + [os.path.join(HERE, "remote_bench.py")],
                {"REMOTE_REQUESTS": "20000", "REMOTE_REPEAT": "1", "REMOTE_KEYS": "500",
                 "REMOTE_CONNS": "4", "BENCH_PORT": str(port)},
                [r"^%s P%d%s%s%sx%s-[\d.]+%s%s\s*$" % (c, p, num, num, num, num, num, num)
                 for c in ("SET", "GET") for p in (1, 16)])
    raise SystemExit("unknown part %r" % name)


PARTS = ["run", "run-memtier", "batching", "run-veth", "callgrind", "callgrind-net", "net-cost",
         "mem-per-key", "evict", "remote"]


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in PARTS:
        raise SystemExit("usage: smoke.py %s" % "|".join(PARTS))
    name = sys.argv[1]
    port = int(os.environ.get("SMOKE_PORT", "7700")) + 20 * PARTS.index(name)
    argv, extra, want = part(name, port)
    envv = dict(os.environ, BENCH_SAVE="0", **extra)
    p = subprocess.run(argv, env=envv, capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    out = p.stdout.splitlines()
    missing = [w for w in want if not any(re.search(w, line) for line in out)]
    if p.returncode != 0 or missing:
        sys.stdout.write(p.stdout)
        sys.stdout.write(p.stderr)
        print("\nFAIL: %s exited %d" % (" ".join(argv), p.returncode))
        for w in missing:
            print("FAIL: no output row matches %s" % w)
        sys.exit(1)
    sys.stdout.write(p.stdout)
    print("ok: %s exited 0 and printed its %d result rows" % (name, len(want)))


if __name__ == "__main__":
    main()
