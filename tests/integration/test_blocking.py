# SPDX-License-Identifier: BSD-3-Clause
"""Blocked clients: WAIT without replicas (it blocks for its whole timeout), the client
reading nothing more while blocked, INFO blocked_clients, CLIENT LIST's flag b, CLIENT
UNBLOCK TIMEOUT|ERROR from the same or another core, and a blocked client going away."""

import time

import resp
from helpers import err, info_text, wait_for


def _blocked(conn):
    return int(info_text(conn, "clients")["blocked_clients"])


def _client_line(conn, name):
    for line in conn.cmd("CLIENT", "LIST").decode().splitlines():
        if " name=%s " % name in line:
            return dict(kv.split("=", 1) for kv in line.split(" "))
    return None


def _waiter(server, name):
    c = server.raw()
    assert c.cmd("CLIENT", "SETNAME", name) == "OK"
    return c


def test_wait_without_replicas(raw):
    assert raw.cmd("WAIT", "0", "0") == 0
    assert raw.cmd("WAIT", "-1", "0") == 0
    t0 = time.monotonic()
    assert raw.cmd("WAIT", "1", "200") == 0
    assert time.monotonic() - t0 >= 0.19
    assert err(raw, "WAIT", "x", "1") == "ERR value is not an integer or out of range"
    assert err(raw, "WAIT", "1", "x") == "ERR timeout is not an integer or out of range"
    assert err(raw, "WAIT", "1", "1.5") == "ERR timeout is not an integer or out of range"
    assert err(raw, "WAIT", "1", "-1") == "ERR timeout is negative"
    assert err(raw, "WAIT", "1") == "ERR wrong number of arguments for 'wait' command"


def test_blocked_client_reads_nothing_more(server):
    """The PING pipelined after a blocking WAIT is answered only after the WAIT."""
    with server.raw() as c:
        t0 = time.monotonic()
        c.send(resp.encode("WAIT", "1", "300") + resp.encode("PING"))
        assert c.read() == 0
        assert c.read() == "PONG"
        assert time.monotonic() - t0 >= 0.29


def test_blocked_client_listed_counted_and_unblocked(server, raw):
    assert _blocked(raw) == 0
    w = _waiter(server, "blk1")
    try:
        w.send_cmd("WAIT", "1", "0")  # no deadline
        assert wait_for(lambda: _blocked(raw) == 1)
        line = _client_line(raw, "blk1")
        assert line["flags"] == "b" and line["cmd"] == "wait", line
        assert raw.cmd("CLIENT", "UNBLOCK", line["id"]) == 1
        assert w.read(timeout=5) == 0  # TIMEOUT: WAIT's timeout reply
        assert _blocked(raw) == 0
        assert _client_line(raw, "blk1")["flags"] == "N"
        assert raw.cmd("CLIENT", "UNBLOCK", line["id"]) == 0  # not blocked any more
        assert w.cmd("PING") == "PONG"
    finally:
        w.close()


def test_client_unblock_error(server, raw):
    w = _waiter(server, "blk2")
    try:
        w.send_cmd("WAIT", "1", "0")
        assert wait_for(lambda: _blocked(raw) == 1)
        cid = _client_line(raw, "blk2")["id"]
        assert raw.cmd("CLIENT", "UNBLOCK", cid, "ERROR") == 1
        assert w.read(timeout=5) == resp.Err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        assert w.cmd("PING") == "PONG"
    finally:
        w.close()


def test_client_unblock_errors(raw):
    assert err(raw, "CLIENT", "UNBLOCK", "x") == "ERR value is not an integer or out of range"
    assert err(raw, "CLIENT", "UNBLOCK", "5", "foo") == \
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    assert err(raw, "CLIENT", "UNBLOCK", "5", "timeout", "x") == \
        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP."
    assert raw.cmd("CLIENT", "UNBLOCK", "999999") == 0
    assert raw.cmd("CLIENT", "UNBLOCK", "0") == 0


def test_unblock_from_every_core(server, raw, server_kind):
    """The unblocking client on each worker in turn (cachalot: a client lands on the
    worker its connection was accepted by; CLIENT LIST says which)."""
    w = _waiter(server, "blk3")
    others = [server.raw() for _ in range(8)]
    try:
        for o in others:
            w.send_cmd("WAIT", "1", "0")
            assert wait_for(lambda: _blocked(raw) == 1)
            cid = _client_line(raw, "blk3")["id"]
            assert o.cmd("CLIENT", "UNBLOCK", cid) == 1
            assert w.read(timeout=5) == 0
        if server_kind == "cachalot":
            mine = _client_line(raw, "blk3")["worker"]
            seen = set()
            for o in others:
                o.cmd("CLIENT", "SETNAME", "other")
                seen.add(_client_line(raw, "other")["worker"])
                o.cmd("CLIENT", "SETNAME", "done")
            assert seen - {mine}, "no unblocking client on another core: %r" % seen
    finally:
        w.close()
        for o in others:
            o.close()


def test_blocked_client_that_goes_away(server, raw):
    w = _waiter(server, "blk4")
    w.send_cmd("WAIT", "1", "0")
    assert wait_for(lambda: _blocked(raw) == 1)
    w.close()
    assert wait_for(lambda: _blocked(raw) == 0)
    assert _client_line(raw, "blk4") is None


def test_blocked_command_counted_once(server, raw):
    raw.cmd("CONFIG", "RESETSTAT")
    assert raw.cmd("WAIT", "1", "50") == 0
    stats = info_text(raw, "commandstats")["cmdstat_wait"]
    assert stats.startswith("calls=1,"), stats
