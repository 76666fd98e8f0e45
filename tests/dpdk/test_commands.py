# SPDX-License-Identifier: BSD-3-Clause
"""Every command of the engine once, through redis-cli (one process, one connection per
command) and through redis-py, from the client namespace. The integration suite run
against the same remote server (run.sh integration) checks each command in depth; this file
is the short version that also runs under the fault wrapper."""

import time

import pytest
import redis

from e2e import OP_TIMEOUT, cli


def script(one_conn):
    """(args, expected) in order, on an empty server. expected is the reply as redis-py's
    parser gives it without response callbacks (str, int, None, list), or a predicate.
    one_conn: every command on one connection (redis-py); otherwise each on its own
    (redis-cli), so connection state such as the client name does not carry over."""
    now = int(time.time())
    name = "e2e" if one_conn else None
    return [
        (["PING"], "PONG"),
        (["ECHO", "hello"], "hello"),
        (["SET", "k", "v"], "OK"),
        (["GET", "k"], "v"),
        (["APPEND", "k", "12"], 3),
        (["STRLEN", "k"], 3),
        (["GETRANGE", "k", "0", "1"], "v1"),
        (["SUBSTR", "k", "1", "2"], "12"),
        (["SETRANGE", "k", "1", "XY"], 3),
        (["GETSET", "k", "n"], "vXY"),
        (["GETDEL", "k"], "n"),
        (["EXISTS", "k"], 0),
        (["SETNX", "k", "1"], 1),
        (["SETNX", "k", "2"], 0),
        (["INCR", "k"], 2),
        (["INCRBY", "k", "10"], 12),
        (["DECR", "k"], 11),
        (["DECRBY", "k", "5"], 6),
        (["INCRBYFLOAT", "f", "1.5"], "1.5"),
        (["SETEX", "kx", "100", "a"], "OK"),
        (["PSETEX", "kp", "100000", "b"], "OK"),
        (["TTL", "kx"], lambda v: 98 <= v <= 100),
        (["PTTL", "kp"], lambda v: 90000 < v <= 100000),
        (["MSET", "a", "1", "b", "2"], "OK"),
        (["MSETNX", "a", "3", "c", "4"], 0),
        (["MGET", "a", "b", "c"], ["1", "2", None]),
        (["GETEX", "a", "EX", "100"], "1"),
        (["EXPIRE", "b", "100"], 1),
        (["PEXPIRE", "b", "200000"], 1),
        (["EXPIREAT", "b", str(now + 1000)], 1),
        (["EXPIRETIME", "b"], now + 1000),
        (["PEXPIREAT", "b", str((now + 2000) * 1000)], 1),
        (["PEXPIRETIME", "b"], (now + 2000) * 1000),
        (["PERSIST", "b"], 1),
        (["TTL", "b"], -1),
        (["TYPE", "a"], "string"),
        (["TOUCH", "a", "b", "nokey"], 2),
        (["OBJECT", "ENCODING", "k"], "int"),
        (["OBJECT", "REFCOUNT", "a"], lambda v: isinstance(v, int)),
        (["RENAME", "a", "a2"], "OK"),
        (["RENAMENX", "a2", "b"], 0),
        (["COPY", "a2", "a3"], 1),
        (["MOVE", "a3", "1"], 1),
        (["DEL", "a2"], 1),
        (["UNLINK", "b", "nokey"], 1),
        (["KEYS", "*"], lambda v: sorted(v) == ["f", "k", "kp", "kx"]),
        (["SCAN", "0", "COUNT", "1000"], lambda v: v[0] == "0" and sorted(v[1]) ==
         ["f", "k", "kp", "kx"]),
        (["RANDOMKEY"], lambda v: v in ("f", "k", "kp", "kx")),
        (["DBSIZE"], 4),
        (["SELECT", "0"], "OK"),
        (["TIME"], lambda v: len(v) == 2 and abs(int(v[0]) - time.time()) < 60),
        (["LASTSAVE"], lambda v: isinstance(v, int)),
        (["ROLE"], lambda v: v[0] == "master"),
        (["INFO", "server"], lambda v: "tcp_port:" in v),
        (["CONFIG", "GET", "maxmemory"], ["maxmemory", "0"]),
        (["CONFIG", "SET", "maxmemory", "0"], "OK"),
        (["CONFIG", "RESETSTAT"], "OK"),
        (["COMMAND", "COUNT"], lambda v: v > 50),
        (["COMMAND", "INFO", "get"], lambda v: v[0][0] == "get"),
        (["CLIENT", "SETNAME", "e2e"], "OK"),
        (["CLIENT", "GETNAME"], name),
        (["CLIENT", "ID"], lambda v: v > 0),
        (["CLIENT", "INFO"], lambda v: ("name=%s " % (name or "")) in v),
        (["CLIENT", "LIST"], lambda v: "addr=10.211." in v or "addr=127." in v),
        (["HELLO", "2"], lambda v: "server" in v),
        (["DEBUG", "SLEEP", "0"], "OK"),
        (["AUTH", "x"], lambda v: isinstance(v, Exception) and "without any password" in str(v)),
        (["NOSUCHCOMMAND"], lambda v: isinstance(v, Exception) and "unknown command" in str(v)),
        (["RESET"], "RESET"),
        (["FLUSHDB"], "OK"),
        (["DBSIZE"], 0),
        (["FLUSHALL"], "OK"),
    ]


def as_cli(v):
    """A reply as redis-cli prints it when stdout is not a terminal."""
    if v is None:
        return [""]
    if isinstance(v, list):
        return [line for x in v for line in as_cli(x)]
    return [str(v)]


def test_every_command_redis_cli(srv):
    rc, out, err = cli(srv, "FLUSHALL")
    assert (rc, out.strip()) == (0, "OK"), err
    for args, want in script(False):
        rc, out, err = cli(srv, *args)
        text = out + err
        text = text[:-1] if text.endswith("\n") else text  # one newline ends the reply
        if callable(want):
            assert rc == 0 and text, (args, rc, text)
            if args[0] in ("AUTH", "NOSUCHCOMMAND"):
                assert "ERR" in text, (args, text)
        else:
            assert rc == 0, (args, rc, err)
            assert text.split("\n") == as_cli(want), (args, text)
    # SET then GET through separate connections: what one client wrote, the next one reads
    for i in range(20):
        assert cli(srv, "SET", "cli:%d" % i, "v%d" % i)[1].strip() == "OK"
    assert cli(srv, "MGET", *["cli:%d" % i for i in range(20)])[1].split() == \
        ["v%d" % i for i in range(20)]


def test_every_command_redis_py(srv):
    conn = redis.Connection(host=srv.host, port=srv.port, socket_timeout=OP_TIMEOUT,
                            socket_connect_timeout=OP_TIMEOUT, decode_responses=True)
    try:
        conn.send_command("FLUSHALL")
        assert conn.read_response() == "OK"
        for args, want in script(True):
            conn.send_command(*args)
            try:
                got = conn.read_response()
            except redis.ResponseError as e:
                got = e
            if callable(want):
                assert want(got), (args, got)
            else:
                assert got == want, (args, got)
    finally:
        conn.disconnect()


@pytest.mark.parametrize("n", [1000])
def test_pipeline_redis_py(srv, r, n):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set("p:%d" % i, "x" * (i % 300))
    for i in range(n):
        p.get("p:%d" % i)
    res = p.execute()
    assert res[:n] == [True] * n
    assert res[n:] == ["x" * (i % 300) for i in range(n)]
