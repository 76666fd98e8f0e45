# SPDX-License-Identifier: BSD-3-Clause
"""One test per server bug found, named after it."""

import socket
import time

import resp
from helpers import info_text, spread_keys, wait_for


def test_keyless_command_waits_for_remote_writes(raw):
    """DBSIZE pipelined after SETs that ran on other cores saw fewer keys."""
    keys = spread_keys(64)
    req = b"".join(resp.encode("SET", k, "v") for k in keys) + resp.encode("DBSIZE")
    raw.send(req)
    for _ in keys:
        assert raw.read() == "OK"
    assert raw.read() == len(keys)


def test_parked_inline_request_is_not_parsed_twice(raw):
    """A quoted inline request that waited for remote writes was parsed again
    after being unquoted in place: 'unbalanced quotes'."""
    keys = spread_keys(32)
    req = b"".join(resp.encode("SET", k, "v") for k in keys)
    req += b'ECHO "a b"\r\n' + b"DBSIZE\r\n"
    raw.send(req)
    for _ in keys:
        assert raw.read() == "OK"
    assert raw.read() == b"a b"
    assert raw.read() == len(keys)


def test_proto_max_bulk_len_applies_at_once(raw, server):
    """CONFIG SET proto-max-bulk-len did not reach the parser of running cores."""
    assert raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
    try:
        with server.raw() as c:
            c.send(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % ((1 << 20) + 1))
            assert c.read() == resp.Err("ERR Protocol error: invalid bulk length")
    finally:
        raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_sigterm_is_a_clean_shutdown(make_server, server_kind):
    """SIGTERM killed the process (exit 143, no shutdown log) because a helper
    thread was created before the signals were blocked."""
    import signal
    if server_kind != "cachalot":
        import pytest
        pytest.skip("cachalot's own shutdown log")
    s = make_server(name="sigterm")
    s.expect_exit = True
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0
    assert "ready to exit" in s.log_tail()


def test_query_buffer_limit_counted_per_pending_argument(raw, server):
    """client-query-buffer-limit applied to the whole request: an MSET of values each
    under the limit, together over it, was reset where Redis stores it (Redis turns each
    complete argument into an object, so only the argument still arriving counts)."""
    assert raw.cmd("CONFIG", "SET", "client-query-buffer-limit", "1mb") == "OK"
    try:
        values = [bytes([c]) * 700000 for c in b"abc"]
        with server.raw() as c:
            assert c.cmd("MSET", "qa", values[0], "qb", values[1], "qc", values[2]) == "OK"
            assert c.cmd("MGET", "qa", "qb", "qc") == values
            # One argument over the limit still closes the connection.
            c.send(b"*3\r\n$3\r\nSET\r\n$2\r\nqd\r\n$2000000\r\n")
            try:
                for _ in range(20):
                    c.send(b"d" * 100000)
            except OSError:
                pass
            assert b"+OK" not in c.read_until_close(timeout=10)
        assert raw.cmd("EXISTS", "qd") == 0
        assert raw.cmd("DEL", "qa", "qb", "qc") == 3
    finally:
        raw.cmd("CONFIG", "SET", "client-query-buffer-limit", "1gb")


def test_huge_multibulk_count_waits_for_its_arguments(raw, server):
    """A bare "*2147483647" or "*1073741824" header closed the connection at once (its
    lower bound of 6 bytes per argument was over client-query-buffer-limit); Redis
    waits for the arguments, and allocates nothing for the announced count."""
    mem0 = int(info_text(raw, "memory")["used_memory"])
    for count in (b"2147483647", b"1073741824"):
        with server.raw() as c:
            c.send(b"*" + count + b"\r\n")
            assert c.is_closed(timeout=0.5) is False, count
            c.send(b"$4\r\nECHO\r\n")
            assert c.is_closed(timeout=0.3) is False, count
            assert int(info_text(raw, "memory")["used_memory"]) < mem0 + (64 << 20)
            # Still inside the request: the next header is parsed as an argument's.
            c.send(b"x\r\n")
            assert c.read() == resp.Err("ERR Protocol error: expected '$', got 'x'")
            assert c.is_closed() is True
    assert raw.cmd("PING") == "PONG"


def test_lowered_proto_max_bulk_len_completes_announced_bulk(raw, server):
    """CONFIG SET proto-max-bulk-len below a bulk already announced killed the client
    sending it (the parser re-checked the header on every re-parse); Redis checks a
    bulk length once, when it reads the header, and completes the request."""
    big = 10 << 20
    try:
        with server.raw() as c:
            c.send(b"*3\r\n$3\r\nSET\r\n$2\r\npb\r\n$%d\r\n" % big + b"p" * (1 << 20))
            assert wait_for(lambda: any(
                "qbuf=" in line and int(line.split("qbuf=")[1].split(" ")[0]) >= 1 << 20
                for line in raw.cmd("CLIENT", "LIST").decode().splitlines()))
            assert raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
            c.send(b"p" * (big - (1 << 20)) + b"\r\n")
            assert c.read() == "OK"
            assert c.cmd("STRLEN", "pb") == big
            # A header read after the change is refused.
            c.send(b"*3\r\n$3\r\nSET\r\n$2\r\npc\r\n$%d\r\n" % ((1 << 20) + 1))
            assert c.read() == resp.Err("ERR Protocol error: invalid bulk length")
            assert c.is_closed() is True
        assert raw.cmd("DEL", "pb") == 1
    finally:
        raw.cmd("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def _served(server, key, size, idle):
    """GET key (size bytes) on a new connection after idle seconds: served or closed."""
    with server.raw() as c:
        if idle:
            time.sleep(idle)
        c.send_cmd("GET", key)
        try:
            return len(c.read(timeout=5)) == size
        except resp.Closed:
            return False


def test_obuf_limit_spares_the_static_reply_buffer(raw, server):
    """client-output-buffer-limit counted every reply byte: with `normal 1 2 3` even PING
    disconnected.  Redis counts only its reply list: what overflows the client's static
    reply buffer (16 KB at connect, shrunk by its cron to 1 KB while unused), in 16 KB
    nodes or one node at jemalloc's size class for a bigger payload."""
    sizes = (1000, 2000, 6000, 114000, 115684, 115686)
    for n in sizes:
        assert raw.cmd("SET", "ob%d" % n, b"o" * n) == "OK"
    try:
        assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3") == "OK"
        with server.raw() as c:
            assert c.cmd("PING") == "PONG"
            assert c.cmd("GET", "ob1000") == b"o" * 1000  # fits in 1 KB
        assert not _served(server, "ob2000", 2000, idle=1.0)
        assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit",
                       "normal 4kb 2kb 10") == "OK"
        # A client just connected still has its 16 KB (the cron may shrink it
        # before the GET arrives: once in three is enough).
        assert any(_served(server, "ob6000", 6000, idle=0) for _ in range(3))
        assert not _served(server, "ob6000", 6000, idle=1.0)
        # One payload past the 1 KB buffer takes one list node: 114688 bytes of jemalloc
        # up to 115684 bytes of value, 131072 after; 131072 is the hard limit.
        assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit",
                       "normal 128kb 0 0") == "OK"
        assert _served(server, "ob114000", 114000, idle=1.0)
        assert _served(server, "ob115684", 115684, idle=1.0)
        assert not _served(server, "ob115686", 115686, idle=1.0)
        assert raw.cmd("PING") == "PONG"
    finally:
        raw.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
        raw.cmd("DEL", *["ob%d" % n for n in sizes])


def test_info_client_recent_max_buffers_were_zero(raw, server):
    """INFO client_recent_max_input_buffer and client_recent_max_output_buffer always
    read 0; Redis reports the largest query buffer and reply list of any client over
    the last seconds, sampled by its cron."""
    assert raw.cmd("SET", "rm", b"r" * (1 << 20)) == "OK"
    big_in = server.raw()
    big_in.send(b"*3\r\n$3\r\nSET\r\n$2\r\nri\r\n$%d\r\n" % (8 << 20) + b"i" * (4 << 20))
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((server.host, server.port))
    slow.sendall(resp.encode("GET", "rm") * 20)  # 20 MB of replies, never read
    try:
        def recent():
            f = info_text(raw, "clients")
            got = (int(f["client_recent_max_input_buffer"]),
                   int(f["client_recent_max_output_buffer"]))
            return got if got[0] >= 4 << 20 and got[1] >= 1 << 20 else None
        assert wait_for(recent, timeout=5), info_text(raw, "clients")
    finally:
        slow.close()
        big_in.close()
    assert raw.cmd("DEL", "rm") == 1
