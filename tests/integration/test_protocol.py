# SPDX-License-Identifier: BSD-3-Clause
"""The wire protocol over raw sockets: inline commands, pipelining, split writes,
protocol errors (exact text, then close, other clients undisturbed), size limits,
RESP3 bytes, QUIT."""

import socket
import time

import pytest

import resp
from helpers import send_in_thread, spread_keys


def expect(conn, data, timeout=10.0):
    got = conn.read_raw(len(data), timeout=timeout)
    assert got == data


# ---- inline commands -------------------------------------------------------------------


def test_inline_commands(raw):
    raw.send(b"PING\r\n")
    expect(raw, b"+PONG\r\n")
    raw.send(b"SET greeting \"hello world\"\r\nGET greeting\r\n")
    expect(raw, b"+OK\r\n$11\r\nhello world\r\n")
    # LF only, extra spaces, empty lines are skipped without a reply
    raw.send(b"  SET   k2   v2 \n\r\n\nGET k2\n")
    expect(raw, b"+OK\r\n$2\r\nv2\r\n")
    # quoting: escapes in double quotes, single quotes are literal
    raw.send(b"SET q \"a\\x41\\tb\\\\\"\r\nGET q\r\n")
    expect(raw, b"+OK\r\n$5\r\naA\tb\\\r\n")
    raw.send(b"SET s 'it\\'s'\r\nGET s\r\n")
    expect(raw, b"+OK\r\n$4\r\nit's\r\n")
    raw.send(b"INCR counter\r\nINCRBY counter 41\r\n")
    expect(raw, b":1\r\n:42\r\n")
    raw.send(b"foo bar\r\n")
    assert raw.read() == resp.Err("ERR unknown command 'foo', with args beginning with: 'bar' ")
    # inline and multibulk mixed in one write
    raw.send(b"PING\r\n" + resp.encode("ECHO", "x y") + b"ECHO z\r\n")
    expect(raw, b"+PONG\r\n$3\r\nx y\r\n$1\r\nz\r\n")


def test_empty_multibulk_ignored(raw):
    raw.send(b"*0\r\n*-1\r\nPING\r\n")
    expect(raw, b"+PONG\r\n")


# ---- pipelining ------------------------------------------------------------------------


def test_pipeline_10k_one_write(raw):
    keys = spread_keys(5000, "pl")
    req = bytearray()
    for i, k in enumerate(keys):
        req += resp.encode("SET", k, "v%d" % i)
        req += resp.encode("GET", k)  # read-your-writes within the pipeline
    assert req.count(b"*3\r\n") + req.count(b"*2\r\n") == 10000
    t, errors = send_in_thread(raw, bytes(req), chunk=len(req))
    for i in range(5000):
        assert raw.read() == "OK", i
        assert raw.read() == b"v%d" % i, i
    t.join(10)
    assert not errors


def test_pipeline_ordered_counter(raw):
    n = 20000
    keys = spread_keys(8, "ctr")
    req = b"".join(resp.encode("INCR", keys[i % 8]) for i in range(n))
    t, errors = send_in_thread(raw, req)
    want = b"".join(b":%d\r\n" % (i // 8 + 1) for i in range(n))
    assert raw.read_raw(len(want), timeout=30) == want
    t.join(10)
    assert not errors


def test_pipeline_deep_100k(raw):
    n = 100000
    req = b"".join(resp.encode("SET", "d%d" % i, "%d" % i) for i in range(n))
    req += resp.encode("DBSIZE")
    req += b"".join(resp.encode("GET", "d%d" % i) for i in range(0, n, 997))
    t, errors = send_in_thread(raw, req)
    assert raw.read_raw(5 * n, timeout=60) == b"+OK\r\n" * n
    assert raw.read() == n
    for i in range(0, n, 997):
        assert raw.read() == b"%d" % i
    t.join(10)
    assert not errors


def test_split_writes_byte_by_byte(raw):
    raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = (resp.encode("SET", "split", "a\r\nb") + b"GET split\r\n"
           + resp.encode("MSET", "x", "1", "y", "2") + resp.encode("MGET", "x", "y"))
    for b in req:
        raw.sock.send(bytes([b]))
        time.sleep(0.0005)
    assert raw.read() == "OK"
    assert raw.read() == b"a\r\nb"
    assert raw.read() == "OK"
    assert raw.read() == [b"1", b"2"]


def test_split_at_every_offset(server, raw):
    """The same command cut in two at every byte offset, sent as two writes."""
    req = resp.encode("SET", "cut", "0123456789") + resp.encode("GET", "cut")
    with server.raw() as c:
        for i in range(1, len(req)):
            c.sock.sendall(req[:i])
            time.sleep(0.002)
            c.sock.sendall(req[i:])
            assert c.read() == "OK", i
            assert c.read() == b"0123456789", i


def test_big_value_roundtrip(raw):
    val = bytes(range(256)) * (40 * 1024)  # 10 MiB
    t, errors = send_in_thread(raw, resp.encode("SET", "big", val))
    assert raw.read(timeout=30) == "OK"
    t.join(10)
    raw.send_cmd("GET", "big")
    assert raw.read(timeout=30) == val
    assert raw.cmd("STRLEN", "big") == len(val)


# ---- protocol errors ----------------------------------------------------------------------

MALFORMED = [
    (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'"),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
    (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length"),
    (b"SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b"SET k \"a\"b\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b"SET k 'it''s'\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b"a" * 70000, "ERR Protocol error: too big inline request"),
    (b"*" + b"1" * 70000, "ERR Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "ERR Protocol error: too big bulk count string"),
]


@pytest.mark.parametrize("data,msg", MALFORMED, ids=[m[1][20:] + "-%d" % i
                                                      for i, m in enumerate(MALFORMED)])
def test_protocol_error_closes(server, data, msg):
    bystander = server.raw()
    # the bystander has half a command in flight while the other client misbehaves
    half = resp.encode("SET", "bystander", "still-here")
    bystander.send(half[:10])
    with server.raw() as bad:
        t, errors = send_in_thread(bad, b"PING\r\n" + data)
        assert bad.read() == "PONG"  # commands before the bad bytes are answered
        assert bad.read() == resp.Err(msg)
        assert bad.is_closed() is True
        t.join(5)
    bystander.send(half[10:])
    assert bystander.read() == "OK"
    assert bystander.cmd("GET", "bystander") == b"still-here"
    bystander.close()


def test_proto_max_bulk_len(server, raw):
    assert raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
    try:
        assert raw.cmd("CONFIG", "GET", "proto-max-bulk-len") == [b"proto-max-bulk-len",
                                                                  b"1048576"]
        with server.raw() as c:
            ok = b"x" * (1 << 20)
            assert c.cmd("SET", "atlimit", ok) == "OK"
            assert c.cmd("STRLEN", "atlimit") == 1 << 20
            assert c.cmd("APPEND", "atlimit", "y") == resp.Err(
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            assert c.cmd("SETRANGE", "atlimit", str(1 << 20), "y") == resp.Err(
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % ((1 << 20) + 1))
            assert c.read() == resp.Err("ERR Protocol error: invalid bulk length")
            assert c.is_closed() is True
        assert raw.cmd("PING") == "PONG"
    finally:
        raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_client_query_buffer_limit(server, raw):
    assert raw.cmd("CONFIG", "SET", "client-query-buffer-limit", "1mb") == "OK"
    try:
        with server.raw() as c:
            c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n")
            try:
                for _ in range(30):
                    c.send(b"x" * 100000)
            except OSError:
                pass  # closed while we were still sending: fine
            rest = c.read_until_close(timeout=10)
            assert b"+OK" not in rest
        assert raw.cmd("EXISTS", "k") == 0
        assert raw.cmd("PING") == "PONG"
        # below the limit still works
        with server.raw() as c:
            assert c.cmd("SET", "k", b"y" * 500000) == "OK"
    finally:
        raw.cmd("CONFIG", "SET", "client-query-buffer-limit", "1gb")


# ---- RESP3 -----------------------------------------------------------------------------


def test_resp3_bytes(raw):
    raw.send(b"HELLO 3\r\n")
    expect(raw, b"%7\r\n")
    v = []
    # the rest of the map: 7 key/value pairs
    for _ in range(14):
        v.append(raw.read())
    d = dict(zip(v[0::2], v[1::2]))
    assert d[b"proto"] == 3
    raw.send(b"GET nokey\r\n")
    expect(raw, b"_\r\n")
    raw.send(b"SET k v\r\nGET k\r\nINCR n\r\n")
    expect(raw, b"+OK\r\n$1\r\nv\r\n:1\r\n")
    raw.send(b"MGET k nokey\r\n")
    expect(raw, b"*2\r\n$1\r\nv\r\n_\r\n")
    raw.send(b"CONFIG GET maxmemory\r\n")
    expect(raw, b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")


def test_resp3_info_verbatim(raw):
    raw.cmd("HELLO", "3")
    raw.send(b"INFO server\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += raw.read_raw(1)
    assert line.startswith(b"=")
    n = int(line[1:-2])
    body = raw.read_raw(n + 2)
    assert body.startswith(b"txt:# Server")
    assert body.endswith(b"\r\n")
    assert raw.cmd("PING") == "PONG"


def test_resp3_errors_and_hello_back(raw):
    raw.cmd("HELLO", "3")
    raw.send(b"GET\r\n")
    expect(raw, b"-ERR wrong number of arguments for 'get' command\r\n")
    raw.cmd("HELLO", "2")
    raw.send(b"GET nokey\r\n")
    expect(raw, b"$-1\r\n")
    raw.send(b"MGET nokey\r\n")
    expect(raw, b"*1\r\n$-1\r\n")


# ---- QUIT ------------------------------------------------------------------------------


def test_quit(raw, server):
    with server.raw() as c:
        c.send(b"SET before-quit 1\r\nQUIT\r\nSET after-quit 1\r\n")
        assert c.read_until_close(timeout=5) == b"+OK\r\n+OK\r\n"
    assert raw.cmd("EXISTS", "before-quit") == 1
    assert raw.cmd("EXISTS", "after-quit") == 0
    with server.raw() as c:
        assert c.cmd("QUIT") == "OK"
        assert c.is_closed() is True
