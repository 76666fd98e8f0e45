# SPDX-License-Identifier: BSD-3-Clause
"""A cache at its limit all day: redis-benchmark writes random keys whose total is twice
maxmemory for IT_EVICT_SECONDS (60) under allkeys-lru. Memory must stay at the limit (RSS
within 20% of maxmemory plus the fixed overheads the server reports), every write must
succeed (no OOM), eviction must keep up, no cachalot turn may spend 10 ms evicting
(INFO cachalot_max_evict_us) and no worker may stall for 50 ms between two turns of its
loop (cachalot_max_loop_gap_us)."""

import os
import subprocess
import sys
import threading
import time

import pytest

import server as srvmod

SECONDS = float(os.environ.get("IT_EVICT_SECONDS", "60"))
MAXMEMORY = 64 << 20
VALUE = 64
# ~16-byte keys with 64-byte values take about 130 bytes in Redis: twice the limit
KEYSPACE = 2 * MAXMEMORY // 130
MAX_EVICT_US = 10000
MAX_GAP_US = 50000


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def _fixed_overheads(inf):
    """Bytes the server reports outside the data that maxmemory bounds: client buffers
    and, for cachalot, transport buffers and DPDK mempools."""
    names = ("mem_clients_normal", "mem_clients_slaves", "mem_transport_buffers",
             "mem_dpdk_mempools")
    return sum(int(inf.get(n, 0)) for n in names)


def test_sustained_writes_at_twice_maxmemory(make_server, server_kind, request):
    overrides = {"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"}
    if server_kind == "cachalot":
        overrides["workers"] = "1"
    s = make_server(overrides=overrides)
    c = s.client()
    pid = s.pid()
    # Server and load generator on different CPUs, as one measures: cachalot's worker
    # pins itself to the first CPU and keeps its other threads off it (with both on one
    # CPU, a preempted turn would count as a stall); redis-server is pinned here.
    pin = len(os.sched_getaffinity(0)) >= 2
    if pin:  # this process polls INFO: off the worker's CPU too
        mask = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {1})
        request.addfinalizer(lambda: os.sched_setaffinity(0, mask))
    if pin and server_kind != "cachalot":
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], check=True,
                       stdout=subprocess.DEVNULL)
    if server_kind == "cachalot":
        c.config_resetstat()
    rss0 = _rss_kb(pid) * 1024
    bench = subprocess.Popen(
        (["taskset", "-c", "1"] if pin else []) + ["redis-benchmark", "-h", s.host, "-p", str(s.port), "-t", "set",
         "-r", str(KEYSPACE), "-d", str(VALUE), "-n", "2000000000", "-c", "16", "-P", "8",
         "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    reader = threading.Thread(target=lambda: out.append(bench.stdout.read()), daemon=True)
    reader.start()
    samples = []
    try:
        t_end = time.monotonic() + SECONDS
        while time.monotonic() < t_end:
            time.sleep(0.25)
            assert bench.poll() is None, "redis-benchmark ended early: %s" % out
            inf = c.info()
            samples.append((_rss_kb(pid) * 1024, int(inf["used_memory"]),
                            _fixed_overheads(inf), int(inf["evicted_keys"])))
    finally:
        bench.terminate()
        bench.wait(10)
        reader.join(10)
    text = "".join(out)
    assert "error" not in text.lower() and "OOM" not in text, text[-2000:]

    inf = c.info()
    assert int(inf["evicted_keys"]) > 0
    assert int(inf["maxmemory"]) == MAXMEMORY
    # the keyspace was twice what fits: about half of it is held at the end
    assert 0.2 * KEYSPACE < c.dbsize() < 0.9 * KEYSPACE, c.dbsize()
    # Eviction keeps used_memory at the limit: the writes in flight between two checks
    # are the only excess.
    worst_used = max(u for _, u, _, _ in samples)
    assert worst_used <= MAXMEMORY * 1.05, (worst_used, MAXMEMORY)
    for rss, used, fixed, _ in samples:
        # 20%: slabs half emptied by eviction stay mapped until empty; peaks of
        # 1.05-1.16x were seen across runs of one build (10% failed about 1 run
        # in 4 over epoll, before issue 11 too).  Lowering it is an issue of its
        # own (fragmentation under eviction churn).
        bound = 1.20 * MAXMEMORY + rss0 + fixed
        assert rss <= bound, "RSS %d > %d (used_memory %d, fixed %d, start %d)" % (
            rss, bound, used, fixed, rss0)
    worst_rss = max(r for r, _, _, _ in samples)
    sys.stderr.write("maxmemory %d: peak RSS %d (start %d), peak used_memory %d, "
                     "evicted %s, keys %d\n" % (MAXMEMORY, worst_rss, rss0, worst_used,
                                               inf["evicted_keys"], c.dbsize()))
    if server_kind == "cachalot":
        gap = int(inf["cachalot_max_loop_gap_us"])
        evict = int(inf["cachalot_max_evict_us"])
        sys.stderr.write("longest loop turn: %d us, longest eviction step: %d us\n"
                         % (gap, evict))
        # Eviction is the server's own work in a turn: bounded by its budget.  The
        # whole turn is wall-clock time, mostly the kernel's in send() and recv() (on
        # loopback a send() delivers to the reader), 2-8 ms at worst on this 2-CPU VM
        # even with nothing else running: only a gross stall is the server's.  Over
        # DPDK the virtual NIC is the kernel's work on the same two CPUs.
        assert evict < MAX_EVICT_US, "a turn spent %d us evicting" % evict
        if srvmod.transport() == "kernel":
            assert gap < MAX_GAP_US, "a worker went %d us between two loop turns" % gap
    c.close()
    c.connection_pool.disconnect()
