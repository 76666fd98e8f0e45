# SPDX-License-Identifier: BSD-3-Clause
"""redis-cli (Debian redis-tools) against the server: one-shot commands, stdin, --pipe,
RESP3 (-3), INFO, --scan, -x, -n, -a. REDIS_CLI overrides the binary."""

import os
import shutil
import subprocess

import pytest

CLI = os.environ.get("REDIS_CLI", "redis-cli")

pytestmark = pytest.mark.skipif(shutil.which(CLI) is None, reason="%s not installed" % CLI)


def cli(server, *args, stdin=None, timeout=60):
    env = dict(os.environ, REDISCLI_HISTFILE="/dev/null")
    env.pop("REDISCLI_AUTH", None)
    p = subprocess.run([CLI, "-h", server.host, "-p", str(server.port), *args], input=stdin,
                       capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_set_get(server, r):
    assert cli(server, "SET", "a", "b") == (0, "OK\n", "")
    assert cli(server, "GET", "a") == (0, "b\n", "")
    assert r.get("a") == "b"
    assert cli(server, "GET", "nokey")[1] == "\n"
    assert cli(server, "SET", "sp", "with space")[1] == "OK\n"
    assert r.get("sp") == "with space"
    rc, out, _ = cli(server, "MGET", "a", "nokey", "sp")
    assert out == "b\n\nwith space\n"


def test_error_and_repeat(server, r):
    rc, out, _ = cli(server, "FOO", "bar")
    assert rc == 0
    assert out.strip() == "ERR unknown command 'FOO', with args beginning with: 'bar'"
    rc, out, _ = cli(server, "-r", "5", "INCR", "c")
    assert out.split() == ["1", "2", "3", "4", "5"]


def test_stdin_inline(server, r):
    script = b'SET x y\nGET x\nINCR c\nAPPEND x "z z"\nGET "x"\nDBSIZE\n'
    rc, out, err = cli(server, stdin=script)
    assert rc == 0, err
    assert out.split("\n")[:6] == ["OK", "y", "1", "4", "yz z", "2"]


def test_pipe_mass_insert(server, r):
    n = 10000
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                    % (len(k), k, len(v), v)
                    for k, v in ((b"mass:%d" % i, b"val:%d" % i) for i in range(n)))
    rc, out, err = cli(server, "--pipe", stdin=data)
    assert rc == 0, (out, err)
    assert "errors: 0, replies: %d" % n in out, out
    assert r.dbsize() == n
    assert r.get("mass:1234") == "val:1234"
    # the same through redis-cli's own protocol-less input: errors are counted
    bad = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$8\r\nmass:100\r\n"
    rc, out, err = cli(server, "--pipe", stdin=bad)
    assert "errors: 1, replies: 2" in out, out
    assert rc != 0


def test_resp3(server, r):
    rc, out, err = cli(server, "-3", "HELLO", "3")
    assert rc == 0, err
    lines = dict(l.split(" ", 1) for l in out.splitlines() if " " in l)
    assert lines["proto"] == "3"
    assert lines["role"] == "master"
    rc, out, err = cli(server, "-3", "CONFIG", "GET", "maxmemory")
    assert out.strip() == "maxmemory 0"
    r.set("k3", "v3")
    assert cli(server, "-3", "GET", "k3")[1] == "v3\n"


def test_info_server(server):
    rc, out, err = cli(server, "INFO", "server")
    assert rc == 0, err
    assert out.startswith("# Server")
    assert "tcp_port:%d" % server.port in out.replace("\r", "")
    assert "# Clients" not in out


def test_scan_x_n_flags(server, r):
    r.mset({"user:%d" % i: "u" for i in range(500)})
    r.mset({"other:%d" % i: "o" for i in range(100)})
    rc, out, _ = cli(server, "--scan", "--pattern", "user:*")
    assert sorted(set(out.split())) == sorted("user:%d" % i for i in range(500))
    rc, out, _ = cli(server, "-x", "SET", "fromstdin", stdin=b"hello\x00world")
    assert out == "OK\n"
    c = server.client(decode_responses=False)
    assert c.get("fromstdin") == b"hello\x00world"
    c.close()
    assert cli(server, "-n", "4", "SET", "in4", "v")[1] == "OK\n"
    assert cli(server, "-n", "4", "DBSIZE")[1] == "1\n"
    assert r.exists("in4") == 0


def test_auth_flag(make_server):
    s = make_server(password="clipass", name="cliauth")
    rc, out, err = cli(s, "GET", "a")
    assert out.strip() == "NOAUTH Authentication required."
    rc, out, err = cli(s, "-a", "clipass", "--no-auth-warning", "SET", "a", "1")
    assert out == "OK\n", err
    rc, out, err = cli(s, "-a", "wrong", "--no-auth-warning", "GET", "a")
    assert "WRONGPASS" in out + err
