# SPDX-License-Identifier: BSD-3-Clause
"""Connection and server commands: PING ECHO HELLO SELECT TIME DBSIZE FLUSHDB/FLUSHALL,
COMMAND, CLIENT, CONFIG, INFO, DEBUG SLEEP, RESET, SHUTDOWN, and generic error strings."""

import os
import re
import time

import pytest

import resp
from helpers import err, info_sections, info_text, spread_keys, wait_for

# Redis 7.0 (arity, first key, last key, step) for every command cachalot implements.
COMMANDS = {
    'ping': (-1, 0, 0, 0), 'echo': (2, 0, 0, 0), 'hello': (-1, 0, 0, 0),
    'auth': (-2, 0, 0, 0), 'select': (2, 0, 0, 0), 'quit': (-1, 0, 0, 0),
    'reset': (1, 0, 0, 0), 'time': (1, 0, 0, 0), 'dbsize': (1, 0, 0, 0),
    'flushdb': (-1, 0, 0, 0), 'flushall': (-1, 0, 0, 0), 'command': (-1, 0, 0, 0),
    'client': (-2, 0, 0, 0), 'config': (-2, 0, 0, 0), 'info': (-1, 0, 0, 0),
    'get': (2, 1, 1, 1), 'set': (-3, 1, 1, 1), 'setnx': (3, 1, 1, 1),
    'setex': (4, 1, 1, 1), 'psetex': (4, 1, 1, 1), 'getex': (-2, 1, 1, 1),
    'getdel': (2, 1, 1, 1), 'getset': (3, 1, 1, 1), 'mget': (-2, 1, -1, 1),
    'mset': (-3, 1, -1, 2), 'msetnx': (-3, 1, -1, 2), 'incr': (2, 1, 1, 1),
    'decr': (2, 1, 1, 1), 'incrby': (3, 1, 1, 1), 'decrby': (3, 1, 1, 1),
    'incrbyfloat': (3, 1, 1, 1), 'append': (3, 1, 1, 1), 'strlen': (2, 1, 1, 1),
    'getrange': (4, 1, 1, 1), 'setrange': (4, 1, 1, 1), 'del': (-2, 1, -1, 1),
    'unlink': (-2, 1, -1, 1), 'exists': (-2, 1, -1, 1), 'touch': (-2, 1, -1, 1),
    'type': (2, 1, 1, 1), 'expire': (-3, 1, 1, 1), 'pexpire': (-3, 1, 1, 1),
    'expireat': (-3, 1, 1, 1), 'pexpireat': (-3, 1, 1, 1), 'ttl': (2, 1, 1, 1),
    'pttl': (2, 1, 1, 1), 'expiretime': (2, 1, 1, 1), 'pexpiretime': (2, 1, 1, 1),
    'persist': (2, 1, 1, 1), 'keys': (2, 0, 0, 0), 'scan': (-2, 0, 0, 0),
    'randomkey': (1, 0, 0, 0), 'rename': (3, 1, 2, 1), 'renamenx': (3, 1, 2, 1),
    'copy': (-3, 1, 2, 1), 'move': (3, 1, 1, 1), 'object': (-2, 0, 0, 0),
    'debug': (-2, 0, 0, 0), 'shutdown': (-1, 0, 0, 0),
}
SUBCOMMANDS = {
    'command|count': 2, 'command|docs': -2, 'command|info': -2, 'command|list': -2,
    'client|getname': 2, 'client|id': 2, 'client|info': 2, 'client|kill': -3,
    'client|list': -2, 'client|no-evict': 3, 'client|reply': 3, 'client|setname': 3,
    'config|get': -3, 'config|resetstat': 2, 'config|rewrite': 2, 'config|set': -4,
    'object|encoding': 3, 'object|freq': 3, 'object|idletime': 3, 'object|refcount': 3,
}


def kv_field(value):
    """'calls=3,usec=5,...' -> {'calls': '3', 'usec': '5', ...}"""
    return dict(p.split("=", 1) for p in value.split(","))


# ---- PING / ECHO / HELLO ---------------------------------------------------------------


def test_ping_echo(r, raw):
    assert r.ping() is True
    assert raw.cmd("PING") == "PONG"
    assert raw.cmd("PING", "hello world") == b"hello world"
    assert raw.cmd("ECHO", "") == b""
    assert raw.cmd("ECHO", "a\r\nb\x00c") == b"a\r\nb\x00c"
    assert err(raw, "ECHO") == "ERR wrong number of arguments for 'echo' command"
    assert err(raw, "PING", "a", "b") == "ERR wrong number of arguments for 'ping' command"


def test_hello2(raw):
    v = raw.cmd("HELLO", "2")
    assert isinstance(v, list) and len(v) == 14
    d = dict(zip(v[0::2], v[1::2]))
    assert set(d) == {b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"}
    assert d[b"proto"] == 2
    assert d[b"role"] == b"master"
    assert d[b"mode"] == b"standalone"
    assert d[b"modules"] == []
    assert d[b"id"] == raw.cmd("CLIENT", "ID")
    assert re.fullmatch(rb"\d+\.\d+\.\d+", d[b"version"])
    # HELLO with no version reports the current protocol
    v = raw.cmd("HELLO")
    assert dict(zip(v[0::2], v[1::2]))[b"proto"] == 2


def test_hello3_map_and_back(raw):
    v = raw.cmd("HELLO", "3")
    assert isinstance(v, resp.Map)
    d = v.as_dict()
    assert d[b"proto"] == 3
    assert d[b"role"] == b"master"
    assert d[b"id"] == raw.cmd("CLIENT", "ID")
    # RESP3 types now: null is '_', CONFIG GET is a map
    assert raw.cmd("GET", "nokey") is None
    cfg = raw.cmd("CONFIG", "GET", "maxmemory")
    assert isinstance(cfg, resp.Map) and cfg.as_dict() == {b"maxmemory": b"0"}
    v = raw.cmd("HELLO", "2")
    assert isinstance(v, list) and not isinstance(v, resp.Map)
    cfg = raw.cmd("CONFIG", "GET", "maxmemory")
    assert not isinstance(cfg, resp.Map) and cfg == [b"maxmemory", b"0"]


def test_hello_setname_and_errors(raw):
    v = raw.cmd("HELLO", "3", "SETNAME", "myname")
    assert isinstance(v, resp.Map)
    assert raw.cmd("CLIENT", "GETNAME") == b"myname"
    assert err(raw, "HELLO", "4") == "NOPROTO unsupported protocol version"
    assert err(raw, "HELLO", "1") == "NOPROTO unsupported protocol version"
    assert err(raw, "HELLO", "abc") == "ERR Protocol version is not an integer or out of range"
    assert err(raw, "HELLO", "3", "FOO") == "ERR Syntax error in HELLO option 'FOO'"
    # still RESP3 after the failed HELLOs
    assert raw.cmd("GET", "nokey") is None
    assert raw.cmd("CLIENT", "GETNAME") == b"myname"


# ---- SELECT / databases -----------------------------------------------------------------


def test_select_isolation(server, r, raw):
    assert r.config_get("databases") == {"databases": "16"}
    assert raw.cmd("SET", "k", "db0") == "OK"
    assert raw.cmd("SELECT", "15") == "OK"
    assert raw.cmd("GET", "k") is None
    assert raw.cmd("SET", "k", "db15") == "OK"
    assert raw.cmd("DBSIZE") == 1
    assert raw.cmd("SELECT", "0") == "OK"
    assert raw.cmd("GET", "k") == b"db0"
    c15 = server.client(db=15)
    assert c15.get("k") == "db15"
    c15.close()
    assert err(raw, "SELECT", "16") == "ERR DB index is out of range"
    assert err(raw, "SELECT", "-1") == "ERR DB index is out of range"
    assert err(raw, "SELECT", "x") == "ERR value is not an integer or out of range"
    assert err(raw, "SELECT") == "ERR wrong number of arguments for 'select' command"


def test_time(raw):
    v = raw.cmd("TIME")
    assert isinstance(v, list) and len(v) == 2
    assert all(isinstance(x, bytes) and x.isdigit() for x in v)
    sec, usec = int(v[0]), int(v[1])
    assert 0 <= usec < 1000000
    assert abs(sec + usec / 1e6 - time.time()) < 2
    v2 = raw.cmd("TIME")
    assert (int(v2[0]), int(v2[1])) >= (sec, usec)
    assert err(raw, "TIME", "x") == "ERR wrong number of arguments for 'time' command"


def test_dbsize_flushdb_flushall(server, r, raw):
    keys = spread_keys(100, "f")
    r.mset({k: "v" for k in keys})
    c1 = server.client(db=1)
    c1.mset({k: "v" for k in keys[:10]})
    assert r.dbsize() == 100 and c1.dbsize() == 10
    assert raw.cmd("FLUSHDB") == "OK"
    assert r.dbsize() == 0 and c1.dbsize() == 10
    r.mset({k: "v" for k in keys})
    assert raw.cmd("FLUSHDB", "ASYNC") == "OK"
    assert wait_for(lambda: r.dbsize() == 0)
    assert raw.cmd("FLUSHDB", "SYNC") == "OK"
    r.mset({k: "v" for k in keys})
    assert raw.cmd("FLUSHALL") == "OK"
    assert r.dbsize() == 0 and c1.dbsize() == 0
    r.mset({k: "v" for k in keys})
    c1.set("x", "y")
    assert raw.cmd("FLUSHALL", "ASYNC") == "OK"
    assert wait_for(lambda: r.dbsize() == 0 and c1.dbsize() == 0)
    assert r.get(keys[0]) is None
    r.set("a", "b")
    assert raw.cmd("FLUSHALL", "SYNC") == "OK"
    assert r.dbsize() == 0
    assert err(raw, "FLUSHDB", "FOO") == "ERR syntax error"
    assert err(raw, "FLUSHALL", "FOO") == "ERR syntax error"
    assert err(raw, "DBSIZE", "x") == "ERR wrong number of arguments for 'dbsize' command"
    c1.close()


# ---- COMMAND -------------------------------------------------------------------------


def test_command_count_list(raw):
    n = raw.cmd("COMMAND", "COUNT")
    assert isinstance(n, int) and n >= len(COMMANDS)
    names = {x.decode() for x in raw.cmd("COMMAND", "LIST")}
    assert set(COMMANDS) <= names
    assert set(SUBCOMMANDS) <= names  # COMMAND LIST also lists "parent|sub" names
    top = {x for x in names if "|" not in x}
    assert len(top) == n
    full = raw.cmd("COMMAND")
    assert len(full) == n
    assert {e[0].decode() for e in full} == top


def test_command_info(raw):
    for name, (arity, first, last, step) in COMMANDS.items():
        v = raw.cmd("COMMAND", "INFO", name)
        assert isinstance(v, list) and len(v) == 1 and v[0] is not None, name
        e = v[0]
        assert e[0] == name.encode()
        assert (e[1], e[3], e[4], e[5]) == (arity, first, last, step), name
        assert isinstance(e[2], list)  # flags
    get = raw.cmd("COMMAND", "INFO", "get")[0]
    assert "readonly" in get[2]
    set_ = raw.cmd("COMMAND", "INFO", "SET")[0]
    assert set_[0] == b"set" and set_[1] == -3 and "write" in set_[2]
    subs = {}
    for parent in ("command", "client", "config", "object"):
        e = raw.cmd("COMMAND", "INFO", parent)[0]
        for s in e[9]:
            subs[s[0].decode()] = s[1]
    for name, arity in SUBCOMMANDS.items():
        assert subs.get(name) == arity, name
    v = raw.cmd("COMMAND", "INFO", "nosuchcmd", "get")
    assert v[0] is None and v[1][0] == b"get"


def test_command_docs(raw):
    v = raw.cmd("COMMAND", "DOCS", "get", "set")
    d = dict(zip(v[0::2], v[1::2]))
    assert set(d) == {b"get", b"set"}
    get = dict(zip(d[b"get"][0::2], d[b"get"][1::2]))
    assert get[b"summary"]
    assert get[b"group"] == b"string"
    assert b"since" in get
    all_docs = raw.cmd("COMMAND", "DOCS")
    assert len(all_docs) // 2 >= len(COMMANDS)
    assert err(raw, "COMMAND", "FOO") == "ERR unknown subcommand 'FOO'. Try COMMAND HELP."


# ---- CLIENT --------------------------------------------------------------------------


def test_client_id_name(server, raw):
    i = raw.cmd("CLIENT", "ID")
    assert isinstance(i, int) and i > 0
    with server.raw() as other:
        j = other.cmd("CLIENT", "ID")
        assert j != i and j > i
    assert raw.cmd("CLIENT", "GETNAME") is None
    assert raw.cmd("CLIENT", "SETNAME", "worker-1") == "OK"
    assert raw.cmd("CLIENT", "GETNAME") == b"worker-1"
    assert err(raw, "CLIENT", "SETNAME", "a b") == \
        "ERR Client names cannot contain spaces, newlines or special characters."
    assert raw.cmd("CLIENT", "GETNAME") == b"worker-1"
    assert raw.cmd("CLIENT", "SETNAME", "") == "OK"
    assert raw.cmd("CLIENT", "GETNAME") is None
    assert err(raw, "CLIENT", "SETNAME") == \
        "ERR wrong number of arguments for 'client|setname' command"
    assert err(raw, "CLIENT", "FOO") == "ERR unknown subcommand 'FOO'. Try CLIENT HELP."


def _client_lines(text):
    out = []
    for line in text.decode().splitlines():
        out.append(dict(f.split("=", 1) for f in line.split(" ") if "=" in f))
    return out


def test_client_list_info(server, raw):
    raw.cmd("CLIENT", "SETNAME", "lister")
    my_id = raw.cmd("CLIENT", "ID")
    others = [server.raw() for _ in range(3)]
    try:
        for o in others:
            o.cmd("PING")
        lines = _client_lines(raw.cmd("CLIENT", "LIST"))
        ids = {int(l["id"]) for l in lines}
        assert my_id in ids and len(ids) >= 4
        me = [l for l in lines if int(l["id"]) == my_id][0]
        assert me["name"] == "lister"
        assert me["addr"].startswith(server.client_host + ":")
        assert me["db"] == "0"
        assert me["cmd"] == "client|list"
        other_ids = [o.cmd("CLIENT", "ID") for o in others]
        sel = _client_lines(raw.cmd("CLIENT", "LIST", "ID", str(other_ids[0]), str(other_ids[2])))
        assert sorted(int(l["id"]) for l in sel) == sorted([other_ids[0], other_ids[2]])
        typed = _client_lines(raw.cmd("CLIENT", "LIST", "TYPE", "normal"))
        assert {int(l["id"]) for l in typed} >= {my_id, *other_ids}
        info = raw.cmd("CLIENT", "INFO")
        assert info.count(b"\n") == 1
        one = _client_lines(info)[0]
        assert int(one["id"]) == my_id and one["name"] == "lister"
        assert one["cmd"] == "client|info"
        assert err(raw, "CLIENT", "LIST", "TYPE", "foo") == "ERR Unknown client type 'foo'"
        assert err(raw, "CLIENT", "LIST", "ID", "abc") == "ERR Invalid client ID"
    finally:
        for o in others:
            o.close()


def test_client_kill(server, raw):
    victim = server.raw()
    vid = victim.cmd("CLIENT", "ID")
    assert raw.cmd("CLIENT", "KILL", "ID", str(vid)) == 1
    assert victim.is_closed() is True
    assert raw.cmd("CLIENT", "KILL", "ID", str(vid)) == 0
    # by address, old and new style
    v2 = server.raw()
    addr = _client_lines(v2.cmd("CLIENT", "INFO"))[0]["addr"]
    assert raw.cmd("CLIENT", "KILL", addr) == "OK"
    assert v2.is_closed() is True
    v3 = server.raw()
    addr = _client_lines(v3.cmd("CLIENT", "INFO"))[0]["addr"]
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr) == 1
    assert v3.is_closed() is True
    assert err(raw, "CLIENT", "KILL", "1.2.3.4:5") == "ERR No such client"
    assert err(raw, "CLIENT", "KILL", "ID", "abc") == "ERR client-id should be greater than 0"
    assert err(raw, "CLIENT", "KILL", "FOO", "bar") == "ERR syntax error"
    # SKIPME yes (default) does not kill the caller
    my_addr = _client_lines(raw.cmd("CLIENT", "INFO"))[0]["addr"]
    assert raw.cmd("CLIENT", "KILL", "ADDR", my_addr) == 0
    assert raw.cmd("PING") == "PONG"
    victim.close(), v2.close(), v3.close()


def test_client_no_evict(raw):
    assert raw.cmd("CLIENT", "NO-EVICT", "on") == "OK"
    assert raw.cmd("CLIENT", "NO-EVICT", "off") == "OK"
    assert err(raw, "CLIENT", "NO-EVICT", "x") == "ERR syntax error"
    assert err(raw, "CLIENT", "NO-EVICT") == \
        "ERR wrong number of arguments for 'client|no-evict' command"


def test_client_reply(raw):
    raw.send(resp.encode("CLIENT", "REPLY", "OFF") + resp.encode("SET", "a", "1")
             + resp.encode("GET", "a") + resp.encode("CLIENT", "REPLY", "ON")
             + resp.encode("GET", "a"))
    assert raw.read() == "OK"  # the reply to REPLY ON
    assert raw.read() == b"1"
    raw.send(resp.encode("CLIENT", "REPLY", "SKIP") + resp.encode("INCR", "n")
             + resp.encode("INCR", "n"))
    assert raw.read() == 2
    assert err(raw, "CLIENT", "REPLY", "FOO") == "ERR syntax error"
    with pytest.raises(Exception):
        raw.read(timeout=0.3)  # nothing else pending


# ---- CONFIG ----------------------------------------------------------------------------


def test_config_get_set(r, raw):
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    got = r.config_get("max*")
    assert {"maxmemory", "maxmemory-policy", "maxclients"} <= set(got)
    assert all(k.startswith("max") for k in got)
    v = raw.cmd("CONFIG", "GET", "maxmemory", "timeout")
    assert dict(zip(v[0::2], v[1::2])) == {b"maxmemory": b"0", b"timeout": b"0"}
    assert raw.cmd("CONFIG", "GET", "nosuchparam") == []
    try:
        assert raw.cmd("CONFIG", "SET", "maxmemory", "10mb", "maxmemory-policy",
                       "allkeys-lru") == "OK"
        assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert raw.cmd("CONFIG", "SET", "timeout", "300") == "OK"
        assert r.config_get("timeout") == {"timeout": "300"}
        assert err(raw, "CONFIG", "SET", "nosuchparam", "1") == \
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparam'"
        e = err(raw, "CONFIG", "SET", "maxmemory-policy", "foo")
        assert e.startswith("ERR CONFIG SET failed (possibly related to argument "
                            "'maxmemory-policy')"), e
        e = err(raw, "CONFIG", "SET", "maxmemory", "abc")
        assert e.startswith("ERR CONFIG SET failed (possibly related to argument 'maxmemory')"), e
        e = err(raw, "CONFIG", "SET", "databases", "4")
        assert e == ("ERR CONFIG SET failed (possibly related to argument 'databases') - "
                     "can't set immutable config")
        # a failed multi-parameter SET changes nothing
        e = err(raw, "CONFIG", "SET", "timeout", "5", "maxmemory-policy", "foo")
        assert r.config_get("timeout") == {"timeout": "300"}
        assert err(raw, "CONFIG", "GET") == "ERR wrong number of arguments for 'config|get' command"
        assert err(raw, "CONFIG", "FOO") == "ERR unknown subcommand 'FOO'. Try CONFIG HELP."
    finally:
        raw.cmd("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction",
                "timeout", "0")


def test_config_rewrite_without_file(raw):
    assert err(raw, "CONFIG", "REWRITE") == "ERR The server is running without a config file"


def test_config_rewrite(make_server, tmp_path):
    conf = tmp_path / "test.conf"
    conf.write_text("# test config\nmaxmemory-policy noeviction\ntimeout 0\n")
    s = make_server(conffile=str(conf))
    c = s.client()
    assert c.config_set("maxmemory-policy", "allkeys-lru")
    assert c.config_set("timeout", "123")
    assert c.config_rewrite()
    text = conf.read_text()
    assert re.search(r"^maxmemory-policy allkeys-lru$", text, re.M), text
    assert re.search(r"^timeout 123$", text, re.M), text
    assert "noeviction" not in text
    c.close()
    s.restart()
    c = s.client()
    assert c.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert c.config_get("timeout") == {"timeout": "123"}
    c.close()


def test_config_resetstat(r, raw):
    r.set("a", "1")
    r.get("a")
    r.get("nokey")
    err(raw, "GET")
    assert raw.cmd("CONFIG", "RESETSTAT") == "OK"
    st = info_text(raw, "stats")
    assert st["keyspace_hits"] == "0" and st["keyspace_misses"] == "0"
    assert int(st["total_commands_processed"]) <= 1
    assert st["total_error_replies"] == "0"
    assert "cmdstat_get" not in info_text(raw, "commandstats")
    assert info_text(raw, "errorstats") == {}


# ---- INFO ----------------------------------------------------------------------------


DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "keyspace"]


def test_info_sections(raw):
    secs = info_sections(raw)
    for s in DEFAULT_SECTIONS + ["errorstats"]:
        assert s in secs, (s, list(secs))
    assert "commandstats" not in secs
    for s in DEFAULT_SECTIONS + ["commandstats", "errorstats"]:
        only = info_sections(raw, s)
        assert list(only) == [s], (s, list(only))
    both = info_sections(raw, "server", "clients")
    assert list(both) == ["server", "clients"]
    assert "commandstats" in info_sections(raw, "all")
    assert "commandstats" in info_sections(raw, "everything")
    assert info_sections(raw, "nosuchsection") == {}


def test_info_fields(server, r, raw):
    i = info_text(raw)
    assert i["tcp_port"] == str(server.port)
    assert i["process_id"] == str(server.pid())
    assert re.fullmatch(r"\d+\.\d+\.\d+", i["redis_version"])
    assert re.fullmatch(r"[0-9a-f]{40}", i["run_id"])
    assert int(i["uptime_in_seconds"]) >= 0
    assert int(i["connected_clients"]) >= 1
    assert int(i["used_memory"]) > 0
    assert "maxmemory" in i and "maxmemory_policy" in i
    assert i["loading"] == "0"
    assert "rdb_changes_since_last_save" in i
    for f in ("keyspace_hits", "keyspace_misses", "total_commands_processed",
              "total_connections_received", "expired_keys", "evicted_keys",
              "instantaneous_ops_per_sec", "total_error_replies"):
        assert re.fullmatch(r"\d+", i[f]), f
    assert i["role"] == "master"
    assert i["connected_slaves"] == "0"
    for f in ("used_cpu_sys", "used_cpu_user"):
        assert float(i[f]) >= 0


def test_instantaneous_ops_per_sec_follows_load(raw):
    """Sampled every 100 ms over the last 16 samples, as Redis does (in cachalot by
    the control thread's timer): a steady pipelined load shows, and it fades out."""
    req = b"".join(resp.encode("PING") for _ in range(100))
    end = time.time() + 2.0
    while time.time() < end:
        raw.send(req)
        raw.read_raw(len(b"+PONG\r\n") * 100, timeout=10)
    ops = int(info_text(raw, "stats")["instantaneous_ops_per_sec"])
    assert ops > 1000, ops
    time.sleep(2.5)
    ops = int(info_text(raw, "stats")["instantaneous_ops_per_sec"])
    assert ops < 100, ops


def test_info_keyspace_hits_misses_commands(r, raw):
    r.mset({"a": "1", "b": "2"})
    before = info_text(raw, "stats")
    for _ in range(5):
        raw.cmd("GET", "a")
    for _ in range(3):
        raw.cmd("GET", "nokey")
    raw.cmd("MGET", "a", "b", "nokey")  # 2 hits, 1 miss
    after = info_text(raw, "stats")
    assert int(after["keyspace_hits"]) - int(before["keyspace_hits"]) == 7
    assert int(after["keyspace_misses"]) - int(before["keyspace_misses"]) == 4
    d = int(after["total_commands_processed"]) - int(before["total_commands_processed"])
    assert 10 <= d <= 11  # the 9 commands, plus the first INFO (counted once it finishes)


def test_info_clients_and_connections(server, raw):
    before = info_text(raw)
    conns = [server.raw() for _ in range(5)]
    for c in conns:
        c.cmd("PING")
    mid = info_text(raw)
    assert int(mid["connected_clients"]) - int(before["connected_clients"]) == 5
    assert int(mid["total_connections_received"]) - \
        int(before["total_connections_received"]) == 5
    for c in conns:
        c.close()
    assert wait_for(lambda: info_text(raw)["connected_clients"] == before["connected_clients"])


def test_info_memory_grows(r, raw):
    before = int(info_text(raw, "memory")["used_memory"])
    val = "x" * 10000
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("mem:%d" % i, val)
    p.execute()
    after = int(info_text(raw, "memory")["used_memory"])
    assert after - before >= 5_000_000, (before, after)


def test_info_persistence_changes(r, raw):
    before = int(info_text(raw, "persistence")["rdb_changes_since_last_save"])
    for i in range(10):
        r.set("p%d" % i, "v")
    after = int(info_text(raw, "persistence")["rdb_changes_since_last_save"])
    assert after - before == 10


def test_info_commandstats_errorstats(r, raw):
    assert raw.cmd("CONFIG", "RESETSTAT") == "OK"
    r.set("s", "abc")
    for _ in range(3):
        raw.cmd("GET", "s")
    err(raw, "GET")  # arity error: rejected
    err(raw, "INCR", "s")  # fails while executing
    err(raw, "NOSUCHCMD")
    cs = info_text(raw, "commandstats")
    get = kv_field(cs["cmdstat_get"])
    assert get["calls"] == "3" and get["rejected_calls"] == "1" and get["failed_calls"] == "0"
    assert {"usec", "usec_per_call"} <= set(get)
    incr = kv_field(cs["cmdstat_incr"])
    assert incr["calls"] == "1" and incr["failed_calls"] == "1"
    assert kv_field(cs["cmdstat_set"])["calls"] == "1"
    assert kv_field(cs["cmdstat_config|resetstat"])["calls"] == "1"
    es = info_text(raw, "errorstats")
    assert kv_field(es["errorstat_ERR"])["count"] == "3"
    assert info_text(raw, "stats")["total_error_replies"] == "3"


def test_info_keyspace(server, r, raw):
    assert "db0" not in info_text(raw, "keyspace")
    r.mset({"a": "1", "b": "2", "c": "3"})
    r.expire("a", 100)
    c3 = server.client(db=3)
    c3.set("x", "y")
    ks = info_text(raw, "keyspace")
    db0 = kv_field(ks["db0"])
    assert db0["keys"] == "3" and db0["expires"] == "1"
    assert int(db0["avg_ttl"]) >= 0
    assert kv_field(ks["db3"])["keys"] == "1"
    assert "db1" not in ks
    c3.close()


# ---- error strings -----------------------------------------------------------------------


def test_unknown_command(raw):
    assert err(raw, "foo", "a", "b") == \
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    assert err(raw, "FOO") == "ERR unknown command 'FOO', with args beginning with: "
    assert err(raw, "foo", "x" * 300) == \
        "ERR unknown command 'foo', with args beginning with: '%s' " % ("x" * 128)
    assert raw.cmd("PING") == "PONG"  # the connection stays usable


def test_arity_and_syntax_errors(raw):
    for cmd in ("get", "set", "incr", "mget", "del", "expire", "rename", "getrange"):
        assert err(raw, cmd) == "ERR wrong number of arguments for '%s' command" % cmd
    # the command name is reported in lower case whatever the client sent
    assert err(raw, "GeT") == "ERR wrong number of arguments for 'get' command"
    assert err(raw, "SET", "k", "v", "XX", "NX") == "ERR syntax error"
    assert err(raw, "SHUTDOWN", "FOO") == "ERR syntax error"
    assert err(raw, "INCRBY", "k", "x") == "ERR value is not an integer or out of range"


# ---- DEBUG / RESET / SHUTDOWN -------------------------------------------------------------


def test_debug_sleep(raw):
    assert raw.cmd("DEBUG", "SLEEP", "0") == "OK"
    t = time.monotonic()
    assert raw.cmd("DEBUG", "SLEEP", "0.3") == "OK"
    assert time.monotonic() - t >= 0.29


def test_reset(server, raw):
    raw.cmd("SELECT", "5")
    raw.cmd("SET", "indb5", "v")
    raw.cmd("CLIENT", "SETNAME", "before-reset")
    raw.cmd("HELLO", "3")
    assert raw.cmd("RESET") == "RESET"
    assert raw.cmd("CLIENT", "GETNAME") is None
    assert raw.cmd("GET", "indb5") is None  # back in db 0
    raw.send(resp.encode("GET", "nokey"))
    assert raw.read_raw(5) == b"$-1\r\n"  # back to RESP2
    assert err(raw, "RESET", "x") == "ERR wrong number of arguments for 'reset' command"


def test_shutdown(make_server):
    s = make_server(name="shutdown")
    c = s.raw()
    c.cmd("SET", "k", "v")
    s.expect_exit = True
    c.send_cmd("SHUTDOWN", "NOSAVE")
    rest = c.read_until_close(timeout=10)
    assert rest == b""  # no reply on success: the connection just closes
    assert s.proc.wait(10) == 0
    c.close()


def test_shutdown_default(make_server):
    s = make_server(name="shutdown2")
    s.expect_exit = True
    with s.raw() as c:
        c.send_cmd("SHUTDOWN")
        assert c.read_until_close(timeout=10) == b""
    assert s.proc.wait(10) == 0


def test_config_and_info_keep_the_pipeline_order(raw):
    """CONFIG and INFO run on cachalot's control thread: in a pipeline they still see
    the writes before them, and the requests after them see their effect."""
    keys = spread_keys(16, "ctl")
    raw.cmd("FLUSHALL")
    req = b"".join(resp.encode("SET", k, "v") for k in keys)
    req += resp.encode("INFO", "keyspace")
    req += resp.encode("CONFIG", "SET", "maxmemory", "1")
    req += resp.encode("SET", keys[0], "w")  # over the limit now: refused
    req += resp.encode("CONFIG", "SET", "maxmemory", "0")
    req += b"".join(resp.encode("SET", k, "x") for k in keys)
    req += resp.encode("CONFIG", "GET", "maxmemory")
    req += b"".join(resp.encode("GET", k) for k in keys)
    try:
        raw.send(req)
        for _ in keys:
            assert raw.read() == "OK"
        assert b"db0:keys=16," in raw.read()
        assert raw.read() == "OK"
        e = raw.read()
        assert isinstance(e, resp.Err) and e.msg.startswith("OOM "), e
        assert raw.read() == "OK"
        for _ in keys:
            assert raw.read() == "OK"
        assert raw.read() == [b"maxmemory", b"0"]
        for _ in keys:
            assert raw.read() == b"x"
    finally:
        raw.cmd("CONFIG", "SET", "maxmemory", "0")
        raw.cmd("FLUSHALL")
