# SPDX-License-Identifier: BSD-3-Clause
"""One test per server bug found, named after it."""

import resp
from helpers import spread_keys


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
