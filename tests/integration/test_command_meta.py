# SPDX-License-Identifier: BSD-3-Clause
"""COMMAND's metadata: COMMAND INFO / DOCS / LIST / COUNT / GETKEYS / GETKEYSANDFLAGS.

Under SERVER_KIND=cachalot a redis-server 7.0 is started beside the server under test
and, for every command cachalot lists, COMMAND INFO and COMMAND DOCS must answer the
same bytes in RESP2 and RESP3. Two differences are allowed, both because cachalot lists
only what it can run: a container's list of subcommands holds only the implemented
ones (compared after dropping Redis's others), and commands newer than 7.0
(CACHALOT_ONLY) are absent from redis-server. Under SERVER_KIND=redis comparing redis
with itself is pointless: the fixed expectations below run against both kinds.
"""

import os
import shutil
import socket
import subprocess
import time

import pytest

import server as srvmod

CLI = os.environ.get("REDIS_CLI", "redis-cli")
REDIS = os.environ.get("REDIS_REF", "redis-server")

# Commands cachalot has that redis-server 7.0 does not (CLIENT SETINFO is 7.2's).
CACHALOT_ONLY = {"client|setinfo"}


# ---- raw replies --------------------------------------------------------------------


def _span(buf, p):
    """End offset of the RESP reply starting at p, or None while incomplete."""
    e = buf.find(b"\r\n", p)
    if e < 0:
        return None
    t, line, q = buf[p:p + 1], buf[p + 1:e], e + 2
    if t in b"+-:,_#(":
        return q
    if t in b"$=!":
        n = int(line)
        if n < 0:
            return q
        return q + n + 2 if len(buf) >= q + n + 2 else None
    n = int(line)
    if n < 0:
        return q
    if t in b"%|":
        n *= 2
    for _ in range(n):
        q = _span(buf, q)
        if q is None:
            return None
    return q


class RawConn:
    """One connection answering raw reply bytes (for byte comparisons)."""

    def __init__(self, port, proto=2, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=20)
        self.buf = b""
        if proto == 3:
            self.cmd("HELLO", "3")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        while True:
            end = _span(self.buf, 0) if self.buf else None
            if end is not None:
                r, self.buf = self.buf[:end], self.buf[end:]
                return r
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.buf += d

    def close(self):
        self.s.close()


def parse(raw):
    """A reply as nested tagged tuples: types stay distinct (set vs array, status vs bulk)."""

    def one(p):
        e = raw.find(b"\r\n", p)
        t, line, q = raw[p:p + 1], raw[p + 1:e], e + 2
        if t in b"+-:,_#(":
            return (t, line), q
        if t == b"$":
            n = int(line)
            return ((t, None), q) if n < 0 else ((t, raw[q:q + n]), q + n + 2)
        n = int(line)
        items = []
        for _ in range(n * (2 if t == b"%" else 1)):
            v, q = one(q)
            items.append(v)
        return (t, items), q

    return one(0)[0]


def bulk(v):
    assert v[0] == b"$", v
    return v[1].decode()


# A container's subcommands come in the order of redis-server's dict, whose hash seed
# is random per process: two redis-servers differ in it. They are compared sorted.

def drop_subs_info(info, keep):
    """A COMMAND INFO entry with its subcommand list (item 10) cut to keep, sorted."""
    t, items = info
    subs = items[9]
    kept = sorted((s for s in subs[1] if bulk(s[1][0]) in keep), key=lambda s: s[1][0])
    return (t, items[:9] + [(subs[0], kept)])


def drop_subs_doc(doc, keep):
    """A COMMAND DOCS body with its "subcommands" map cut to keep, sorted."""
    t, items = doc
    out = list(items)
    for i in range(0, len(items), 2):
        if bulk(items[i]) == "subcommands":
            sub = items[i + 1][1]
            pairs = sorted((sub[j], sub[j + 1]) for j in range(0, len(sub), 2)
                           if bulk(sub[j]) in keep)
            out[i + 1] = (items[i + 1][0], [x for p in pairs for x in p])
    return (t, out)


# ---- the reference redis-server -------------------------------------------------------


@pytest.fixture(scope="module")
def ref(server):
    """A redis-server 7.0 beside a cachalot under test; None under SERVER_KIND=redis."""
    if srvmod.kind() != "cachalot":
        yield None
        return
    if shutil.which(REDIS) is None:
        pytest.skip("%s not installed" % REDIS)
    if srvmod.launcher():
        # The metadata does not depend on the transport: the kernel-transport runs
        # compare it; a reference beside a server in another namespace is not here.
        pytest.skip("compared with redis-server on the kernel transports")
    port = srvmod.free_port()
    log = open(os.path.join(srvmod.root_dir(), "ref-redis-%d.log" % port), "wb")
    p = subprocess.Popen([REDIS, "--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        ver = RawConn(port).cmd("INFO", "server").split(b"redis_version:")[1][:4]
        if ver != b"7.0.":
            pytest.skip("reference %s is %r, not 7.0" % (REDIS, ver))
        yield port
    finally:
        p.terminate()
        p.wait()
        log.close()


def listed(port, host="127.0.0.1"):
    """COMMAND LIST of the server on port: every command and subcommand."""
    v = parse(RawConn(port, 2, host).cmd("COMMAND", "LIST"))
    return [bulk(x) for x in v[1]]


# ---- against redis-server 7.0 ---------------------------------------------------------


@pytest.mark.cachalot_only
@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("what", ["INFO", "DOCS"])
def test_info_docs_equal_redis(server, ref, proto, what):
    names = listed(server.port, server.host)
    mine = set(names) - CACHALOT_ONLY
    c, r = RawConn(server.port, proto, server.host), RawConn(ref, proto)
    diffs = []
    for name in names:
        a, b = c.cmd("COMMAND", what, name), r.cmd("COMMAND", what, name)
        if name in CACHALOT_ONLY:
            # redis-server 7.0 does not know it
            assert b in (b"*1\r\n$-1\r\n", b"*1\r\n_\r\n", b"*0\r\n", b"%0\r\n"), b
            continue
        if a == b:
            continue
        # Only a container may differ: by the subcommands cachalot does not have, and
        # their order.
        pa, pb = parse(a), parse(b)
        if what == "INFO":
            pb = (pb[0], [drop_subs_info(pb[1][0], mine)])
            pa = (pa[0], [drop_subs_info(pa[1][0], mine)])
        else:
            pb = (pb[0], [pb[1][0], drop_subs_doc(pb[1][1], mine)])
            pa = (pa[0], [pa[1][0], drop_subs_doc(pa[1][1], mine)])
        if pa != pb:
            diffs.append((name, a[:400], b[:400]))
    assert not diffs, diffs[:3]


@pytest.mark.cachalot_only
def test_list_and_count_against_redis(server, ref):
    names = listed(server.port, server.host)
    theirs = set(listed(ref))
    assert set(names) - theirs == CACHALOT_ONLY
    tops = [n for n in names if "|" not in n]
    assert RawConn(server.port, 2, server.host).cmd("COMMAND", "COUNT") == b":%d\r\n" % len(tops)
    # COMMAND alone: the COMMAND INFO entry of every top-level command.
    c = RawConn(server.port, 3, server.host)
    every = parse(c.cmd("COMMAND"))[1]
    assert sorted(bulk(e[1][0]) for e in every) == sorted(tops)
    for e in every[:5]:
        assert parse(c.cmd("COMMAND", "INFO", bulk(e[1][0])))[1] == [e]


@pytest.mark.cachalot_only
@pytest.mark.parametrize("filt", [("ACLCAT", "string"), ("ACLCAT", "keyspace"),
                                  ("ACLCAT", "dangerous"), ("ACLCAT", "fast"),
                                  ("ACLCAT", "nosuchcat"), ("PATTERN", "*ex*"),
                                  ("PATTERN", "CLIENT|*"), ("MODULE", "x")])
def test_list_filterby_against_redis(server, ref, filt):
    mine = set(listed(server.port, server.host)) - CACHALOT_ONLY
    got = parse(RawConn(server.port, 2, server.host).cmd("COMMAND", "LIST", "FILTERBY", *filt))
    want = parse(RawConn(ref).cmd("COMMAND", "LIST", "FILTERBY", *filt))
    assert sorted(bulk(x) for x in got[1] if bulk(x) in mine) == sorted(
        bulk(x) for x in want[1] if bulk(x) in mine)


# ---- fixed expectations (both kinds) ---------------------------------------------------


GET_INFO = (b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
            b"~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n"
            b"~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex"
            b"\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\n"
            b"type\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n"
            b"keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n")


def test_info_get_exact(server):
    assert RawConn(server.port, 3, server.host).cmd("COMMAND", "INFO", "get") == GET_INFO
    assert RawConn(server.port, 2, server.host).cmd("COMMAND", "INFO", "nosuch") == b"*1\r\n$-1\r\n"
    assert RawConn(server.port, 3, server.host).cmd("COMMAND", "INFO", "nosuch") == b"*1\r\n_\r\n"


def test_info_flags_acl_specs(raw):
    mset = raw.cmd("COMMAND", "INFO", "mset")[0]
    assert mset[1:7] == [-3, ["write", "denyoom"], 1, -1, 2,
                         ["@write", "@string", "@slow"]]
    rename = raw.cmd("COMMAND", "INFO", "rename")[0]
    assert rename[3:6] == [1, 2, 1]
    specs = [dict(zip(s[0::2], s[1::2])) for s in rename[8]]
    assert [s[b"flags"] for s in specs] == [["RW", "access", "delete"], ["OW", "update"]]
    flushall = raw.cmd("COMMAND", "INFO", "flushall")[0]
    assert flushall[6] == ["@keyspace", "@write", "@slow", "@dangerous"]
    assert flushall[7] == [b"request_policy:all_shards", b"response_policy:all_succeeded"]
    s = raw.cmd("COMMAND", "INFO", "set")[0][8][0]
    assert s[0] == b"notes" and s[3] == ["RW", "access", "update", "variable_flags"]


def test_docs_set_and_getset(raw):
    d = raw.cmd("COMMAND", "DOCS", "set", "getset")
    docs = {d[i]: dict(zip(d[i + 1][0::2], d[i + 1][1::2])) for i in range(0, len(d), 2)}
    assert len(docs[b"set"][b"history"]) == 4
    args = [dict(zip(a[0::2], a[1::2])) for a in docs[b"set"][b"arguments"]]
    assert [a[b"name"] for a in args] == [b"key", b"value", b"condition", b"get",
                                          b"expiration"]
    assert args[0][b"key_spec_index"] == 0
    assert args[2][b"type"] == b"oneof" and args[2][b"flags"] == ["optional"]
    assert docs[b"getset"][b"doc_flags"] == ["deprecated"]
    assert docs[b"getset"][b"replaced_by"] == b"`SET` with the `!GET` argument"


GETKEYS = [
    (("get", "k"), [b"k"]),
    (("mset", "a", "1", "b", "2"), [b"a", b"b"]),
    (("del", "a", "b", "c"), [b"a", b"b", b"c"]),
    (("rename", "a", "b"), [b"a", b"b"]),
    (("copy", "a", "b", "DB", "1"), [b"a", b"b"]),
    (("object", "encoding", "k"), [b"k"]),
    (("memory", "usage", "k", "SAMPLES", "5"), [b"k"]),
]
GETKEYSANDFLAGS = [
    (("set", "k", "v"), [[b"k", ["OW", "update"]]]),
    (("set", "k", "v", "GET"), [[b"k", ["RW", "access", "update"]]]),
    (("getdel", "k"), [[b"k", ["RW", "access", "delete"]]]),
    (("rename", "a", "b"), [[b"a", ["RW", "access", "delete"]], [b"b", ["OW", "update"]]]),
    (("mget", "a", "b"), [[b"a", ["RO", "access"]], [b"b", ["RO", "access"]]]),
    (("setnx", "k", "v"), [[b"k", ["OW", "insert"]]]),
]
GETKEYS_ERRORS = [
    (("nosuch", "a"), "ERR Invalid command specified"),
    (("config", "nosuch", "x"), "ERR Invalid command specified"),
    (("config", "get", "x"), "ERR The command has no key arguments"),
    (("ping", "x"), "ERR The command has no key arguments"),
    (("get", "a", "b"), "ERR Invalid number of arguments specified for command"),
    (("mset", "a"), "ERR Invalid number of arguments specified for command"),
]


@pytest.mark.parametrize("args,keys", GETKEYS)
def test_getkeys(raw, args, keys):
    assert raw.cmd("COMMAND", "GETKEYS", *args) == keys


@pytest.mark.parametrize("args,keys", GETKEYSANDFLAGS)
def test_getkeysandflags(raw, args, keys):
    assert raw.cmd("COMMAND", "GETKEYSANDFLAGS", *args) == keys


@pytest.mark.parametrize("args,msg", GETKEYS_ERRORS)
def test_getkeys_errors(raw, args, msg):
    from resp import Err
    assert raw.cmd("COMMAND", "GETKEYS", *args) == Err(msg)
    assert raw.cmd("COMMAND", "GETKEYSANDFLAGS", *args) == Err(msg)


def test_getkeys_arity(raw):
    from resp import Err
    want = Err("ERR wrong number of arguments for 'command|getkeys' command")
    assert raw.cmd("COMMAND", "GETKEYS", "get") == want


def test_list_filterby(raw):
    strings = raw.cmd("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string")
    assert b"get" in strings and b"del" not in strings
    assert raw.cmd("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []
    conf = raw.cmd("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*")
    assert b"config|get" in conf and b"config" not in conf
    from resp import Err
    assert raw.cmd("COMMAND", "LIST", "FILTERBY", "X", "y") == Err("ERR syntax error")


@pytest.mark.skipif(shutil.which(CLI) is None, reason="%s not installed" % CLI)
def test_redis_cli_reads_docs(server):
    """redis-cli 7 reads COMMAND DOCS at start-up for its hints: the reply must parse."""
    env = dict(os.environ, REDISCLI_HISTFILE="/dev/null")
    p = subprocess.run([CLI, "-h", server.host, "-p", str(server.port), "COMMAND", "DOCS", "get"],
                       capture_output=True, timeout=30, env=env)
    out = p.stdout.decode()
    assert p.returncode == 0 and "summary" in out and "key_spec_index" in out, out
    p = subprocess.run([CLI, "-3", "-h", server.host, "-p", str(server.port), "COMMAND", "DOCS",
                        "set"],
                       capture_output=True, timeout=30, env=env)
    assert p.returncode == 0 and "expiration" in p.stdout.decode()
    # Interactive start-up (it fetches COMMAND DOCS for hints), then a command.
    p = subprocess.run([CLI, "-h", server.host, "-p", str(server.port)], input=b"PING\n",
                       capture_output=True, timeout=30, env=env)
    assert p.returncode == 0 and b"PONG" in p.stdout
