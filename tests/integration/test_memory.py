# SPDX-License-Identifier: BSD-3-Clause
"""Memory introspection as Redis 7.0 shows it: INFO memory (Redis's fields in Redis's order,
values that move with the data and the clients), MEMORY USAGE / STATS / DOCTOR /
MALLOC-STATS / PURGE / HELP with Redis's replies and error texts.  cachalot's own fields
(mem_store_tables, mem_transport_buffers, mem_dpdk_mempools) are checked on cachalot only."""

import socket
import threading
import time

import pytest

import server as srvmod
from helpers import err, info_text, spread_keys, wait_for
from resp import Map

# INFO memory of redis-server 7.0.15, in order.
REDIS70_MEMORY = """used_memory used_memory_human used_memory_rss used_memory_rss_human
used_memory_peak used_memory_peak_human used_memory_peak_perc used_memory_overhead
used_memory_startup used_memory_dataset used_memory_dataset_perc allocator_allocated
allocator_active allocator_resident total_system_memory total_system_memory_human
used_memory_lua used_memory_vm_eval used_memory_lua_human used_memory_scripts_eval
number_of_cached_scripts number_of_functions number_of_libraries used_memory_vm_functions
used_memory_vm_total used_memory_vm_total_human used_memory_functions used_memory_scripts
used_memory_scripts_human maxmemory maxmemory_human maxmemory_policy allocator_frag_ratio
allocator_frag_bytes allocator_rss_ratio allocator_rss_bytes rss_overhead_ratio
rss_overhead_bytes mem_fragmentation_ratio mem_fragmentation_bytes mem_not_counted_for_evict
mem_replication_backlog mem_total_replication_buffers mem_clients_slaves mem_clients_normal
mem_cluster_links mem_aof_buffer mem_allocator active_defrag_running lazyfree_pending_objects
lazyfreed_objects""".split()
CACHALOT_EXTRA = ["mem_store_tables", "mem_transport_buffers", "mem_dpdk_mempools"]

# MEMORY STATS of Redis 7.0, in order; the db.N entries come after functions.caches.
STATS_HEAD = ["peak.allocated", "total.allocated", "startup.allocated", "replication.backlog",
              "clients.slaves", "clients.normal", "cluster.links", "aof.buffer", "lua.caches",
              "functions.caches"]
STATS_TAIL = ["overhead.total", "keys.count", "keys.bytes-per-key", "dataset.bytes",
              "dataset.percentage", "peak.percentage", "allocator.allocated",
              "allocator.active", "allocator.resident", "allocator-fragmentation.ratio",
              "allocator-fragmentation.bytes", "allocator-rss.ratio", "allocator-rss.bytes",
              "rss-overhead.ratio", "rss-overhead.bytes", "fragmentation",
              "fragmentation.bytes"]
STATS_DB = ["overhead.hashtable.main", "overhead.hashtable.expires",
            "overhead.hashtable.slot-to-keys"]
STATS_FLOATS = {"dataset.percentage", "peak.percentage", "allocator-fragmentation.ratio",
                "allocator-rss.ratio", "rss-overhead.ratio", "fragmentation"}

HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]


def info_memory_lines(conn):
    text = conn.cmd("INFO", "memory").decode()
    return [line.partition(":")[0] for line in text.splitlines()
            if line and not line.startswith("#")]


def mem(conn, field):
    return int(info_text(conn, "memory")[field])


def fill(r, n, size, prefix="m"):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set("%s:%d" % (prefix, i), "v" * size)
        if i % 1000 == 999:
            p.execute()
    p.execute()


def test_info_memory_fields_in_redis_order(raw, server_kind):
    names = info_memory_lines(raw)
    assert [n for n in names if n in REDIS70_MEMORY] == REDIS70_MEMORY
    if server_kind == "cachalot":
        assert names == REDIS70_MEMORY + CACHALOT_EXTRA


def test_info_memory_consistent(raw, server_kind):
    raw.cmd("SET", "k", "v" * 1000)
    m = info_text(raw, "memory")
    used = int(m["used_memory"])
    assert used > 0
    assert int(m["used_memory_peak"]) >= used
    assert int(m["used_memory_rss"]) > 0
    assert int(m["used_memory_overhead"]) + int(m["used_memory_dataset"]) == used
    assert int(m["used_memory_startup"]) <= int(m["used_memory_overhead"])
    assert m["used_memory_peak_perc"].endswith("%")
    assert m["used_memory_dataset_perc"].endswith("%")
    assert float(m["mem_fragmentation_ratio"]) > 0
    assert int(m["mem_clients_slaves"]) == 0
    assert int(m["mem_aof_buffer"]) == 0
    assert int(m["mem_replication_backlog"]) == 0
    assert m["used_memory_human"][-1] in "BKMG"
    cfg = raw.cmd("CONFIG", "GET", "maxmemory*")
    cfg = dict(zip(cfg[::2], cfg[1::2]))
    assert int(m["maxmemory"]) == int(cfg[b"maxmemory"])
    assert m["maxmemory_policy"] == cfg[b"maxmemory-policy"].decode()
    assert int(m["mem_clients_normal"]) > 0 or server_kind == "redis"
    if server_kind == "cachalot":
        assert m["mem_allocator"].startswith("mimalloc-")
        tables = int(m["mem_store_tables"])
        assert 0 < tables < used
        # kernel: the io_uring ring and buffers, epoll's event array; DPDK: the pools
        mp = int(m["mem_dpdk_mempools"])
        if srvmod.transport() == "kernel":
            assert mp == 0 and int(m["mem_transport_buffers"]) > 0
        else:
            assert mp > 0


def test_used_memory_grows_with_keys_and_drops_after_flushall(r, raw):
    before = mem(raw, "used_memory")
    fill(r, 20000, 100)
    after = mem(raw, "used_memory")
    # at least the values, at most a generous per-key overhead
    assert 20000 * 100 <= after - before <= 20000 * 400, (before, after)
    peak = mem(raw, "used_memory_peak")
    assert peak >= after
    assert raw.cmd("FLUSHALL") == "OK"
    assert wait_for(lambda: mem(raw, "used_memory") < before + 20000 * 20), \
        (before, mem(raw, "used_memory"))
    # the peak remembers
    assert mem(raw, "used_memory_peak") >= peak


def test_memory_stats_follow_the_data(r, raw):
    fill(r, 5000, 50)
    stats = raw.cmd("MEMORY", "STATS")
    d = dict(zip([k.decode() for k in stats[::2]], stats[1::2]))
    assert d["keys.count"] == 5000
    assert d["peak.allocated"] >= d["total.allocated"] > 0
    assert d["overhead.total"] + d["dataset.bytes"] == d["total.allocated"]
    assert 50 <= d["keys.bytes-per-key"] <= 400
    assert d["clients.normal"] >= 0 and d["clients.slaves"] == 0


def test_mem_clients_grows_with_an_unsent_big_query(server, raw):
    before = mem(raw, "mem_clients_normal")
    with server.raw() as c:
        # a 10 MB bulk announced, half of it sent: the query buffer holds it
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$10000000\r\n" + b"x" * 5000000)
        # Redis refreshes client memory from its cron
        assert wait_for(lambda: mem(raw, "mem_clients_normal") >= before + 4000000,
                        timeout=10), (before, mem(raw, "mem_clients_normal"))
    assert wait_for(lambda: mem(raw, "mem_clients_normal") < before + 1000000, timeout=10), \
        (before, mem(raw, "mem_clients_normal"))


def test_idle_client_gives_its_query_buffer_back(server, raw, server_kind):
    before = mem(raw, "mem_clients_normal")
    with server.raw() as c:
        c.cmd("SET", "qb", "z" * 200000)  # grows its query buffer past 200 KB
        if server_kind == "cachalot":  # Redis 7.0 trims it after the command already
            assert mem(raw, "mem_clients_normal") >= before + 200000
        # idle for 2 s, the buffer is shrunk or freed (Redis's clientsCron does the same)
        assert wait_for(lambda: mem(raw, "mem_clients_normal") < before + 50000,
                        timeout=10), (before, mem(raw, "mem_clients_normal"))
        assert c.cmd("GET", "qb") == b"z" * 200000  # and the client still works


def test_fast_pipeliner_is_held_back_not_buffered(server, raw):
    """A client that writes far ahead of the server (commands for keys on every core)
    waits in TCP's flow control; its query buffer stays small."""
    n = 300000
    req = b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%s\r\n" % (i, b"v" * 32)
                   for i in range(n))
    s = socket.create_connection((server.host, server.port))
    got, done, peak = [0], [False], [0]

    def read():
        while got[0] < 5 * n:
            d = s.recv(1 << 20)
            if not d:
                break
            assert b"-" not in d, d[:200]
            got[0] += len(d)

    def watch():
        while not done[0]:
            peak[0] = max(peak[0], mem(raw, "mem_clients_normal"))
            time.sleep(0.02)

    t, m = threading.Thread(target=read), threading.Thread(target=watch)
    t.start()
    m.start()
    try:
        s.sendall(req)  # 24 MB
        t.join(60)
    finally:
        done[0] = True
        m.join()
        s.close()
    assert got[0] == 5 * n
    assert raw.cmd("DBSIZE") >= n
    raw.cmd("FLUSHALL")
    assert peak[0] < 12 << 20, peak[0]


def test_mem_clients_grows_with_unread_pipelined_replies(server, raw):
    raw.cmd("SET", "big", "y" * 100000)
    before = mem(raw, "mem_clients_normal")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((server.host, server.port))
    try:
        s.sendall(b"GET big\r\n" * 300)  # 30 MB of replies, never read
        assert wait_for(lambda: mem(raw, "mem_clients_normal") >= before + 5000000,
                        timeout=10), (before, mem(raw, "mem_clients_normal"))
        m = info_text(raw, "memory")
        assert int(m["used_memory"]) >= int(m["mem_clients_normal"])
        assert int(m["used_memory_peak"]) >= int(m["used_memory"])
    finally:
        s.close()
    assert wait_for(lambda: mem(raw, "mem_clients_normal") < before + 1000000, timeout=10)


def test_memory_usage(raw):
    raw.cmd("SET", "small", "bar")
    raw.cmd("SET", "mid", "a" * 5000)
    raw.cmd("SET", "large", "b" * 100000)
    raw.cmd("SET", "ttl", "bar", "EX", "100")
    small = raw.cmd("MEMORY", "USAGE", "small")
    assert 16 <= small <= 200
    assert 16 <= raw.cmd("MEMORY", "USAGE", "ttl") <= 220
    assert 5000 <= raw.cmd("MEMORY", "USAGE", "mid") <= 5000 * 1.25 + 256
    assert 100000 <= raw.cmd("MEMORY", "USAGE", "large") <= 100000 * 1.25 + 256
    assert raw.cmd("MEMORY", "USAGE", "nokey") is None
    assert raw.cmd("MEMORY", "USAGE", "small", "SAMPLES", "0") == small
    assert raw.cmd("memory", "usage", "small", "samples", "3", "SAMPLES", "9") == small
    assert raw.cmd("MEMORY", "USAGE", "nokey", "SAMPLES", "1") is None


def test_memory_usage_every_owner(raw):
    # keys over all slots, so on every worker; USAGE runs where the key lives
    keys = spread_keys(64, "mu")
    for k in keys:
        raw.cmd("SET", k, "v" * 40)
    for k in keys:
        assert 40 <= raw.cmd("MEMORY", "USAGE", k) <= 300


def test_memory_usage_errors(raw):
    raw.cmd("SET", "foo", "bar")
    syntax = "ERR syntax error"
    notint = "ERR value is not an integer or out of range"
    assert err(raw, "MEMORY", "USAGE", "foo", "SAMPLES") == syntax
    assert err(raw, "MEMORY", "USAGE", "foo", "SAMPLES", "x") == notint
    assert err(raw, "MEMORY", "USAGE", "foo", "SAMPLES", "99999999999999999999") == notint
    assert err(raw, "MEMORY", "USAGE", "foo", "SAMPLES", "-1") == syntax
    assert err(raw, "MEMORY", "USAGE", "foo", "SAMPLES", "5", "extra") == syntax
    assert err(raw, "MEMORY", "USAGE", "foo", "foo", "5") == syntax
    # options are checked before the key is looked up
    assert err(raw, "MEMORY", "USAGE", "nokey", "SAMPLES", "x") == notint
    assert err(raw, "MEMORY", "USAGE") == \
        "ERR wrong number of arguments for 'memory|usage' command"
    assert err(raw, "MEMORY") == "ERR wrong number of arguments for 'memory' command"
    assert err(raw, "MEMORY", "nosuch") == "ERR unknown subcommand 'nosuch'. Try MEMORY HELP."
    for sub in ("STATS", "DOCTOR", "PURGE", "MALLOC-STATS", "HELP"):
        assert err(raw, "MEMORY", sub, "x") == \
            "ERR wrong number of arguments for 'memory|%s' command" % sub.lower()


def test_memory_stats_fields(raw):
    raw.cmd("SET", "a", "1")
    raw.cmd("SELECT", "3")
    raw.cmd("SET", "b", "2", "EX", "100")
    raw.cmd("SELECT", "0")
    stats = raw.cmd("MEMORY", "STATS")
    names = [k.decode() for k in stats[::2]]
    assert names == STATS_HEAD + ["db.0", "db.3"] + STATS_TAIL
    d = dict(zip(names, stats[1::2]))
    for n in STATS_HEAD + STATS_TAIL:
        if n in STATS_FLOATS:
            float(d[n])  # a double, sent as a bulk string in RESP2
        else:
            assert isinstance(d[n], int), (n, d[n])
    for db in ("db.0", "db.3"):
        assert [k.decode() for k in d[db][::2]] == STATS_DB
        assert all(isinstance(v, int) for v in d[db][1::2])
    assert d["keys.count"] == 2
    raw.cmd("FLUSHALL")


def test_memory_stats_resp3(server):
    with server.raw() as c:
        c.cmd("HELLO", "3")
        c.cmd("SET", "a", "1")
        stats = c.cmd("MEMORY", "STATS")
        assert isinstance(stats, Map)
        names = [k.decode() for k, _ in stats]
        assert names == STATS_HEAD + ["db.0"] + STATS_TAIL
        d = {k.decode(): v for k, v in stats}
        assert isinstance(d["fragmentation"], float)
        assert isinstance(d["keys.count"], int)
        assert isinstance(d["db.0"], Map)
        assert [k.decode() for k, _ in d["db.0"]] == STATS_DB
        doctor = c.cmd("MEMORY", "DOCTOR")
        assert isinstance(doctor, bytes) and b"Sam" in doctor
        c.cmd("FLUSHALL")


def test_memory_doctor(raw):
    text = raw.cmd("MEMORY", "DOCTOR")
    assert isinstance(text, bytes)
    # an (almost) empty instance is too small to judge, as in Redis
    assert text.startswith(b"Hi Sam, this instance is empty"), text


def test_memory_doctor_with_data(r, raw):
    fill(r, 60000, 100)
    text = raw.cmd("MEMORY", "DOCTOR")
    assert isinstance(text, bytes) and b"Sam" in text
    assert b"empty" not in text, text
    r.flushall()


def test_memory_help_purge_malloc_stats(raw):
    assert raw.cmd("MEMORY", "HELP") == HELP
    assert raw.cmd("MEMORY", "PURGE") == "OK"
    stats = raw.cmd("MEMORY", "MALLOC-STATS")
    assert isinstance(stats, bytes) and len(stats) > 0


def test_memory_command_docs(raw):
    assert raw.cmd("COMMAND", "GETKEYS", "MEMORY", "USAGE", "foo") == [b"foo"]
    info = raw.cmd("COMMAND", "INFO", "memory")[0]
    assert info[0] == b"memory" and info[1] == -2


@pytest.mark.cachalot_only
def test_cachalot_memory_split(r, raw):
    fill(r, 20000, 32)
    r.expire("m:0", 100)
    m = info_text(raw, "memory")
    used = int(m["used_memory"])
    tables = int(m["mem_store_tables"])
    # tables (buckets, anchors, expiry heap) are overhead; objects are the dataset
    assert 0 < tables < used
    assert int(m["used_memory_overhead"]) >= tables + int(m["mem_clients_normal"])
    assert int(m["used_memory_dataset"]) >= 20000 * 32
    stats = raw.cmd("MEMORY", "STATS")
    d = dict(zip([k.decode() for k in stats[::2]], stats[1::2]))
    db0 = dict(zip([k.decode() for k in d["db.0"][::2]], d["db.0"][1::2]))
    assert db0["overhead.hashtable.main"] + db0["overhead.hashtable.expires"] == tables
    assert db0["overhead.hashtable.expires"] > 0
