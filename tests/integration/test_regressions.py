# SPDX-License-Identifier: BSD-3-Clause
"""One test per server bug found, named after it."""

import pytest
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


# ---- issue 11 item 10: differences from redis-server 7.0 a user could hit ----


def test_debug_sleep_reads_its_argument_as_strtod_does(raw):
    """DEBUG SLEEP -1, abc, nan, "" and -inf were 'ERR value is not a valid float'; Redis
    runs strtod() unchecked: junk is 0, a negative, inf or nan time sleeps not at all."""
    import time
    t = time.monotonic()
    for a in ("-1", "abc", "nan", "inf", "-inf", "", "-0.5", "1e30", "-1e30"):
        assert raw.cmd("DEBUG", "SLEEP", a) == "OK", a
    assert time.monotonic() - t < 1.0
    for a, secs in ((" 0.2", 0.2), ("0.2abc", 0.2), ("0x0.4", 0.25), ("2e-1", 0.2)):
        t = time.monotonic()
        assert raw.cmd("DEBUG", "SLEEP", a) == "OK", a
        assert time.monotonic() - t >= secs - 0.01, a
    for args in (("SLEEP",), ("SLEEP", "0", "1"), ("HELP", "x")):
        assert raw.cmd("DEBUG", *args) == resp.Err(
            "ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
            % args[0])
    assert raw.cmd("DEBUG", "nosuch") == resp.Err(
        "ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.")


def _scan_from(raw, cursor, limit=100000):
    """Keys returned by SCAN from cursor until it answers 0."""
    keys, rounds = [], 0
    while True:
        cur, batch = raw.cmd("SCAN", cursor, "COUNT", "100")
        keys += [k.decode() for k in batch]
        rounds += 1
        assert rounds < limit, "SCAN from %s does not terminate" % cursor
        if cur == b"0":
            return keys
        cursor = cur.decode()


def test_scan_cursor_beyond_the_keyspace_ends_the_iteration(raw):
    """SCAN reads its cursor with strtoul as Redis does ("-1" is 2^64-1); a cursor beyond
    the keyspace (the shard bits past the worker count) answers 0, never loops."""
    keys = set(spread_keys(300, "scanb"))
    for k in keys:
        raw.send(resp.encode("SET", k, "v"))
    for _ in keys:
        assert raw.read() == "OK"
    for cursor in ("-1", "18446744073709551615"):
        cur, batch = raw.cmd("SCAN", cursor)
        assert cur == b"0" and {k.decode() for k in batch} <= keys, cursor
    # "-18446744073709551615" wraps to 1; "" is 0; "+5" is 5, as strtoul reads them
    assert raw.cmd("SCAN", "-18446744073709551615") == raw.cmd("SCAN", "1")
    assert raw.cmd("SCAN", "") == raw.cmd("SCAN", "0")
    assert raw.cmd("SCAN", "+5") == raw.cmd("SCAN", "5")
    for bad in ("18446744073709551616", "-18446744073709551616", "abc", "1e3", " 1", "1 ",
                "0x10", "-", "1.0"):
        assert raw.cmd("SCAN", bad) == resp.Err("ERR invalid cursor"), bad
    # any cursor, high bits set or not, reaches 0 and returns only existing keys
    for bit in range(64):
        for cursor in (1 << bit, (1 << bit) - 1 or 1, (1 << 64) - (1 << bit)):
            assert set(_scan_from(raw, str(cursor))) <= keys, cursor


def test_shutdown_nosave_save_is_a_syntax_error(make_server):
    """SHUTDOWN NOSAVE SAVE shut the server down; ABORT with another flag answered 'No
    shutdown in progress.'. Redis 7.0 refuses both combinations as a syntax error."""
    s = make_server(name="shutdown-flags")
    with s.raw() as c:
        for args in (("NOSAVE", "SAVE"), ("save", "nosave"), ("NOW", "FORCE", "SAVE", "NOSAVE"),
                     ("ABORT", "NOSAVE"), ("NOW", "ABORT"), ("FORCE", "ABORT"),
                     ("ABORT", "SAVE"), ("FOO",), ("NOSAVE", "FOO"), ("FOO", "ABORT"),
                     ("ABORT", "FOO")):
            assert c.cmd("SHUTDOWN", *args) == resp.Err("ERR syntax error"), args
        for args in (("ABORT",), ("abort", "ABORT")):
            assert c.cmd("SHUTDOWN", *args) == resp.Err("ERR No shutdown in progress."), args
        assert c.cmd("PING") == "PONG"
        s.expect_exit = True
        c.send_cmd("SHUTDOWN", "NOW", "FORCE", "NOSAVE")
        assert c.read_until_close(timeout=10) == b""
    assert s.proc.wait(10) == 0


def test_maxmemory_above_llong_max_is_accepted(raw):
    """CONFIG SET maxmemory 9223372036854775808 was 'argument must be a memory value';
    Redis 7.0.15's maxmemory is an unsigned long long read by memtoull, whose digits
    saturate and whose unit multiplies modulo 2^64."""
    from helpers import info_text

    def get(name):
        v = raw.cmd("CONFIG", "GET", name)
        return v[1].decode()

    try:
        for value, shown in (("9223372036854775808", "9223372036854775808"),
                             ("8589934592gb", "9223372036854775808"),
                             ("18446744073709551616", "18446744073709551615"),
                             ("99999999999999999999999", "18446744073709551615"),
                             ("20000000000gb", "3028092406290448384"),
                             ("17179869184gb", "0"), ("", "0"), ("kb", "0"),
                             ("01", "1")):
            assert raw.cmd("CONFIG", "SET", "maxmemory", value) == "OK", value
            assert get("maxmemory") == shown, value
        assert raw.cmd("CONFIG", "SET", "maxmemory", "18446744073709551615") == "OK"
        mem = info_text(raw, "memory")
        # Redis prints INFO's maxmemory with %lld
        assert mem["maxmemory"] == "-1"
        assert mem["maxmemory_human"] == "18446744073709551615B"
        for bad in ("-1", "1.5gb", " 1", "+1", "0x10", "1 gb", "0" * 128):
            assert raw.cmd("CONFIG", "SET", "maxmemory", bad) == resp.Err(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                "argument must be a memory value"), bad
        # signed memory parameters see 2^63 and up as negative: out of bounds
        for name in ("proto-max-bulk-len", "client-query-buffer-limit"):
            for value in ("9223372036854775808", "18446744073709551616", "8589934592gb"):
                assert raw.cmd("CONFIG", "SET", name, value) == resp.Err(
                    "ERR CONFIG SET failed (possibly related to argument '%s') - argument "
                    "must be between 1048576 and 9223372036854775807 inclusive" % name)
    finally:
        raw.cmd("CONFIG", "SET", "maxmemory", "0")


@pytest.mark.cachalot_only
def test_workers_above_64_is_a_fatal_config_error(make_server):
    """workers 1000 started 64 workers without a word; more than STORE_MAX_SHARDS (64)
    is now refused at start-up naming the parameter, the value and the bounds."""
    import os
    s = make_server(overrides={"workers": "1000"}, name="workers1000", wait=False)
    s.expect_exit = True
    assert s.proc.wait(10) == 1
    log = s.log_tail()
    assert "FATAL CONFIG ERROR" in log, log
    assert ("argument must be between 0 and 64 inclusive in command-line option: "
            "'--workers 1000'") in log, log
    # more workers than CPUs is allowed
    n = str((os.cpu_count() or 1) + 1)
    s2 = make_server(overrides={"workers": n}, name="workers-over-cpus")
    with s2.raw() as c:
        assert c.cmd("CONFIG", "GET", "workers") == [b"workers", n.encode()]


def test_config_rewrite_onto_a_directory_says_is_a_directory(make_server, tmp_path):
    """CONFIG REWRITE of a config file that had become a directory answered
    'Input/output error'; Redis gives the read's own reason."""
    import os
    conf = tmp_path / "dir.conf"
    conf.write_text("timeout 0\n")
    s = make_server(conffile=str(conf), name="rewrite-dir")
    with s.raw() as c:
        conf.unlink()
        conf.mkdir()
        assert c.cmd("CONFIG", "REWRITE") == resp.Err(
            "ERR Rewriting config file: Is a directory")
        conf.rmdir()
        # a config file deleted since start is written anew
        assert c.cmd("CONFIG", "SET", "timeout", "7") == "OK"
        assert c.cmd("CONFIG", "REWRITE") == "OK"
        assert "timeout 7" in conf.read_text()
        # a read-only file is replaced (rename), as in Redis
        conf.chmod(0o444)
        assert c.cmd("CONFIG", "SET", "timeout", "8") == "OK"
        assert c.cmd("CONFIG", "REWRITE") == "OK"
        assert "timeout 8" in conf.read_text()
        if os.geteuid() != 0:  # root reads anything
            conf.chmod(0)
            assert c.cmd("CONFIG", "REWRITE") == resp.Err(
                "ERR Rewriting config file: Permission denied")
            conf.chmod(0o644)


@pytest.mark.cachalot_only
def test_config_file_that_is_a_directory_says_is_a_directory(make_server, tmp_path):
    """Start-up with a directory as config file failed with 'Input/output error'.
    (redis-server starts, reading a directory as an empty file; cachalot refuses.)"""
    s = make_server(conffile=str(tmp_path), name="conf-is-dir", wait=False)
    s.expect_exit = True
    assert s.proc.wait(10) == 1
    assert ("Error reading config file '%s': Is a directory" % tmp_path) in s.log_tail()
