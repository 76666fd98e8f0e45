# SPDX-License-Identifier: BSD-3-Clause
"""timeout (idle clients are closed) and maxclients."""

import socket
import time

import pytest
import redis

import resp
from helpers import info_text, wait_for

MAXCLIENTS_ERR = b"-ERR max number of clients reached\r\n"


def open_and_quiet(sock):
    """True when the socket is open with nothing to read."""
    old = sock.gettimeout()
    sock.settimeout(0)
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(old)
    return False if data == b"" else "data"


def test_timeout_closes_idle_clients(make_server):
    s = make_server(overrides={"timeout": "1"})
    assert s.client().config_get("timeout") == {"timeout": "1"}
    idle = s.raw()
    busy = s.raw()
    assert idle.cmd("PING") == "PONG"
    t0 = time.monotonic()
    time.sleep(0.5)
    assert open_and_quiet(idle.sock) is True  # not before the timeout
    closed_at = None
    while time.monotonic() - t0 < 5:
        assert busy.cmd("PING") == "PONG"  # an active client is never closed
        if closed_at is None and open_and_quiet(idle.sock) is not True:
            closed_at = time.monotonic() - t0
            break
        time.sleep(0.1)
    assert closed_at is not None, "idle client still open after 5 s with timeout 1"
    assert 0.9 <= closed_at <= 4.0
    assert idle.is_closed(timeout=1) is True  # closed without a reply
    assert busy.cmd("PING") == "PONG"
    # timeout 0 (set at runtime) keeps idle clients forever
    assert busy.cmd("CONFIG", "SET", "timeout", "0") == "OK"
    idle2 = s.raw()
    assert idle2.cmd("PING") == "PONG"
    time.sleep(2.2)
    assert open_and_quiet(idle2.sock) is True
    assert idle2.cmd("PING") == "PONG"
    for c in (idle, busy, idle2):
        c.close()


def test_maxclients(make_server):
    s = make_server(overrides={"maxclients": "5"})
    first = s.raw()
    assert first.cmd("CONFIG", "GET", "maxclients") == [b"maxclients", b"5"]
    assert wait_for(lambda: info_text(first, "clients")["connected_clients"] == "1")
    conns = [first] + [s.raw() for _ in range(4)]
    for c in conns:
        assert c.cmd("PING") == "PONG"
    with s.raw() as extra:
        assert extra.read_until_close(timeout=5) == MAXCLIENTS_ERR
    rc = s.client()
    # redis-py reports it as a ConnectionError, with the server's text or, when the
    # error arrives before its connect() returns, as "Connection has data"
    with pytest.raises(redis.ConnectionError):
        rc.ping()
    rc.close()
    for c in conns:
        assert c.cmd("PING") == "PONG"  # the ones already in are unaffected
    conns.pop().close()
    assert wait_for(lambda: info_text(first, "clients")["connected_clients"] == "4")
    again = s.raw()
    assert again.cmd("PING") == "PONG"
    conns.append(again)
    # raise the limit at runtime
    assert first.cmd("CONFIG", "SET", "maxclients", "7") == "OK"
    more = [s.raw() for _ in range(2)]
    for c in more:
        assert c.cmd("PING") == "PONG"
    with s.raw() as extra:
        assert extra.read_until_close(timeout=5) == MAXCLIENTS_ERR
    for c in conns + more:
        c.close()
