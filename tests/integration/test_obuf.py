# SPDX-License-Identifier: BSD-3-Clause
"""client-output-buffer-limit: the parameter (CONFIG GET/SET, start-up option, Redis 7.0's
exact texts) and what it does: a client that never reads its replies is disconnected at
the hard limit, or after soft-seconds above the soft limit, while the others are served;
the default (normal 0 0 0) never disconnects; CLIENT LIST shows the output memory."""

import os
import re
import socket
import time

import pytest

from helpers import err, info_text, wait_for

DEFAULT = b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
FAIL = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
# Redis logs the first when a reply goes over, the second from its cron (soft limit).
KILLED = re.compile(r"Client (id=\d+ .*) (scheduled to be closed ASAP|closed) for overcoming "
                    r"of output buffer limits\.")
VALUE = b"v" * 100000


def get_obuf(conn):
    reply = conn.cmd("CONFIG", "GET", "client-output-buffer-limit")
    assert reply[0] == b"client-output-buffer-limit"
    return reply[1]


def test_config_default_set_get(raw):
    assert get_obuf(raw) == DEFAULT
    # Only the classes named change; "replica" is an alias of "slave".
    assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 2kb 3") == "OK"
    assert get_obuf(raw) == b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2048 3"
    assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "Replica 1k 2 3 normal 4gb 5mb 6") == "OK"
    assert get_obuf(raw) == b"normal 4294967296 5242880 6 slave 1000 2 3 pubsub 1048576 2048 3"
    # Several parameters at once, all or nothing
    assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0",
                   "maxmemory-policy", "bad").msg.startswith(
                       "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')")
    assert get_obuf(raw).startswith(b"normal 4294967296 5242880 6 ")
    assert raw.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   DEFAULT.decode().replace("slave", "replica")) == "OK"
    assert get_obuf(raw) == DEFAULT


@pytest.mark.parametrize("value,why", [
    ("normal 1mb 512kb", "Wrong number of arguments"),
    ("normal  1 2 3", "Wrong number of arguments"),
    ("master 1 2 3", "Invalid client class specified"),
    ("normal 1 2 3 foo 1 2 3", "Invalid client class specified"),
    ("normal x 2 3", "Error in hard, soft or soft_seconds setting"),
    ("normal 1 -2 3", "Error in hard, soft or soft_seconds setting"),
    ("normal 1.5mb 0 0", "Error in hard, soft or soft_seconds setting"),
    ("normal 1 2 -3", "Error in hard, soft or soft_seconds setting"),
    ("normal 1 2 3s", "Error in hard, soft or soft_seconds setting"),
])
def test_config_errors(raw, value, why):
    assert err(raw, "CONFIG", "SET", "client-output-buffer-limit", value) == (
        FAIL + why + " in buffer limit configuration.")
    assert get_obuf(raw) == DEFAULT


# ---- behaviour ---------------------------------------------------------------------------


def slow_reader(s):
    """A connection with a tiny receive buffer whose replies are never read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((s.host, s.port))
    return sock


def send_quietly(sock, data):
    """Send a pipeline; the server may close the connection while it arrives."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def gets(n, key=b"big"):
    return b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key) * n


def listed(conn, sock):
    """True while CLIENT LIST shows the client behind sock (by its port)."""
    port = sock.getsockname()[1]
    text = conn.cmd("CLIENT", "LIST").decode()
    return any(re.search(r" addr=\S+:%d " % port, " " + line) for line in text.splitlines())


def client_fields(conn, sock):
    port = sock.getsockname()[1]
    for line in conn.cmd("CLIENT", "LIST").decode().splitlines():
        if re.search(r" addr=\S+:%d " % port, " " + line):
            return dict(f.split("=", 1) for f in line.split(" "))
    return None


def drain(sock, timeout=10.0):
    """Read until the server closes: returns the byte count (EOF or reset)."""
    n = 0
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(1 << 20)
            if not d:
                return n
            n += len(d)
    except (ConnectionResetError, BrokenPipeError):
        return n


def log_kills(s):
    with open(s.logpath, "rb") as f:
        return KILLED.findall(f.read().decode(errors="replace"))


def disconnections(conn):
    return int(info_text(conn, "stats").get("client_output_buffer_limit_disconnections", "-1"))


def test_hard_limit_disconnects_slow_reader(make_server, server_kind):
    s = make_server(overrides={"client-output-buffer-limit": "normal 1mb 512kb 1"})
    good = s.raw()
    assert get_obuf(good).startswith(b"normal 1048576 524288 1 slave ")
    assert good.cmd("SET", "big", VALUE) == "OK"
    # Writes sent to other workers make later replies wait in order behind them.
    for i in range(4):
        assert good.cmd("SET", "ctr%d" % i, "0") == "OK"
    slow = slow_reader(s)
    assert wait_for(lambda: listed(good, slow))
    # CLIENT NO-EVICT is about maxmemory-clients, not this (as in Redis).
    pipeline = b"*3\r\n$6\r\nCLIENT\r\n$8\r\nNO-EVICT\r\n$2\r\non\r\n"
    pipeline += b"".join(b"*2\r\n$4\r\nINCR\r\n$4\r\nctr%d\r\n" % (i % 4) + gets(1)
                        for i in range(400))
    send_quietly(slow, pipeline)  # 40 MB of replies, never read
    t0 = time.monotonic()
    while listed(good, slow) and time.monotonic() - t0 < 10:
        assert good.cmd("GET", "big") == VALUE  # the others are served meanwhile
    assert not listed(good, slow), "a client 40 MB behind is still connected"
    got = drain(slow)
    slow.close()
    assert got < 20 * len(VALUE), "it was sent %d bytes, far past the limit" % got
    assert good.cmd("GET", "big") == VALUE
    assert good.cmd("PING") == "PONG"
    kills = wait_for(lambda: log_kills(s))
    assert len(kills) == 1 and kills[0][1] == "scheduled to be closed ASAP", kills
    if server_kind == "cachalot":
        # Redis 7.0 has no counter; later versions have this one.
        assert disconnections(good) == 1
    good.close()


def test_soft_limit_after_soft_seconds(make_server, server_kind):
    s = make_server()
    good = s.raw()
    assert good.cmd("SET", "big", VALUE) == "OK"
    slow = slow_reader(s)  # connected before the limit is set
    assert good.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 512kb 1") == "OK"
    send_quietly(slow, gets(200))  # 20 MB, about 16 MB more than the sockets hold
    t0 = time.monotonic()
    time.sleep(0.5)
    assert listed(good, slow), "closed before soft-seconds"
    while listed(good, slow) and time.monotonic() - t0 < 6:
        assert good.cmd("PING") == "PONG"
        time.sleep(0.05)
    gone = time.monotonic() - t0
    assert not listed(good, slow)
    assert 1.0 <= gone <= 4.5, gone
    assert drain(slow) < 100 * len(VALUE)
    slow.close()
    assert len(wait_for(lambda: log_kills(s))) == 1
    if server_kind == "cachalot":
        assert disconnections(good) == 1
    # Output kept under the soft limit is never a reason.
    quick = s.raw()
    for _ in range(30):
        quick.send(gets(4))
        for _ in range(4):
            assert quick.read() == VALUE
    time.sleep(1.5)
    assert quick.cmd("PING") == "PONG"
    quick.close()
    good.close()


def test_default_never_disconnects_and_client_list_shows_memory(server):
    good = server.raw()
    assert get_obuf(good) == DEFAULT
    value = b"m" * (1 << 20)
    assert good.cmd("SET", "huge", value) == "OK"
    slow = slow_reader(server)
    n = 40
    send_quietly(slow, gets(n, b"huge"))
    # The replies the sockets cannot hold wait in the server, and CLIENT LIST says so.
    f = wait_for(lambda: (lambda f: f if f and int(f["omem"]) > 16 << 20 else None)(
        client_fields(good, slow)))
    assert f, client_fields(good, slow)
    assert int(f["tot-mem"]) >= int(f["omem"])
    assert int(f["obl"]) > 0 or int(f["oll"]) > 0
    time.sleep(1.5)
    assert listed(good, slow)
    # All of it arrives once the client reads.
    one = b"$%d\r\n" % len(value) + value + b"\r\n"
    want = one * n
    got = bytearray()
    slow.settimeout(10)
    while len(got) < len(want):
        d = slow.recv(1 << 20)
        assert d, "closed after %d of %d bytes" % (len(got), len(want))
        got += d
    assert bytes(got) == want
    slow.close()
    idle = client_fields(good, good.sock)
    assert idle["obl"] == "0" and idle["oll"] == "0", idle
    assert good.cmd("DEL", "huge") == 1
    good.close()


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.cachalot_only
def test_huge_reply_refused_as_it_grows(make_server):
    """GET of a 32 MB value and KEYS over 300k keys with a 1 MB limit: the client goes, and
    the server never builds the whole reply (its peak RSS barely moves)."""
    if os.environ.get("SERVER_LAUNCHER") or os.environ.get("SERVER_WRAPPER"):
        pytest.skip("measures the server process's own peak RSS")
    s = make_server(overrides={"client-output-buffer-limit": "normal 1mb 0 0"})
    good = s.raw()
    assert good.cmd("SET", "big", b"b" * (32 << 20)) == "OK"
    for i in range(0, 300000, 5000):
        args = []
        for k in range(i, i + 5000):
            args += ["a-key-name-of-32-bytes:%09d" % k, "1"]
        assert good.cmd("MSET", *args) == "OK"
    pid = s.pid()
    # Whole replies would be 32 MB and 11 MB.
    for args in (("GET", "big"), ("KEYS", "*")):
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")  # peak RSS := current RSS
        base = vm_hwm(pid)
        c = s.raw()
        c.send_cmd(*args)
        assert c.is_closed(timeout=10) is True, args
        c.close()
        grew = vm_hwm(pid) - base
        assert grew < 4 << 20, "%s: peak RSS grew by %d bytes" % (args, grew)
    kills = wait_for(lambda: len(log_kills(s)) == 2 and log_kills(s))
    assert kills, log_kills(s)
    for info, _ in kills:
        assert int(re.search(r" omem=(\d+)", info).group(1)) <= 1100000, info
    assert disconnections(good) == 2
    assert good.cmd("DBSIZE") == 300001
    good.close()
