# SPDX-License-Identifier: BSD-3-Clause
"""Parse after receive (issue 12): the DPDK transport copies a burst's segments into the
connections first and runs their requests after the burst (net_readable), so a command
that closes its connection or takes holds on other cores never runs while TCP is inside a
segment. Each test sends a pipeline in one write, tens of segments that arrive in one
receive burst, with the command that closes or holds in the middle, and checks every
reply, what ran and what did not, and that nothing stays behind: no client, no TCP
connection, no mbuf."""

import pytest

import resp
from e2e import FAULT, OP_TIMEOUT, dpdk_only, info, total
from helpers import spread_keys
from test_load import assert_no_mbuf_leak, mbufs_free, settle

VAL = b"v" * 1000  # 20 SETs of it: some 15 segments on each side of the closing command


def sets(prefix, n=20):
    return b"".join(resp.encode("SET", "%s%d" % (prefix, i), VAL) for i in range(n))


def exists(server, prefix, n=20):
    with server.raw(timeout=OP_TIMEOUT) as c:
        return c.cmd("EXISTS", *("%s%d" % (prefix, i) for i in range(n)))


def check_closed_after(got, want):
    """The replies up to the closing command's, then the close. Under injected faults a
    segment after the close may come back retransmitted and draw the reset Linux would
    send too, which can cut replies still in flight: a prefix is all one can ask then."""
    if FAULT:
        assert want.startswith(got), got[-200:]
    else:
        assert got == want, (len(got), len(want), got[-200:])


def test_quit_in_the_middle_of_a_burst(srv):
    before = mbufs_free(srv)
    with srv.raw(timeout=OP_TIMEOUT) as c:
        c.send(sets("qb") + resp.encode("QUIT") + sets("qa"))
        got = c.read_until_close(timeout=OP_TIMEOUT)
    check_closed_after(got, b"+OK\r\n" * 21)
    if not FAULT:
        assert exists(srv, "qb") == 20
    assert exists(srv, "qa") == 0  # nothing after QUIT ran
    settle(srv, 1)
    assert_no_mbuf_leak(srv, before)


def test_client_kill_of_itself_in_the_middle_of_a_burst(srv):
    with srv.raw(timeout=OP_TIMEOUT) as c:
        me = c.cmd("CLIENT", "ID")
        kill = resp.encode("CLIENT", "KILL", "ID", str(me), "SKIPME", "no")
        c.send(sets("kb") + kill + sets("ka"))
        got = c.read_until_close(timeout=OP_TIMEOUT)
    check_closed_after(got, b"+OK\r\n" * 20 + b":1\r\n")
    assert exists(srv, "ka") == 0
    settle(srv, 1)


def test_protocol_error_in_the_middle_of_a_burst(srv):
    with srv.raw(timeout=OP_TIMEOUT) as c:
        c.send(sets("pb") + b"*1\r\n$x\r\n" + sets("pa"))
        got = c.read_until_close(timeout=OP_TIMEOUT)
    assert got.startswith(b"+OK\r\n" * (20 if not FAULT else 0)), got[:100]
    assert b"-ERR Protocol error" in got, got[-200:]
    assert exists(srv, "pa") == 0
    settle(srv, 1)


@pytest.mark.parametrize("workers", [2])
def test_holds_and_a_close_in_one_burst(make_server, workers):
    """MSET over both cores' keys takes holds; the GETs and MGET after it in the same
    burst see its writes; a QUIT after one more MSET ends it all."""
    s = make_server(overrides={"workers": workers, "tcp-keepalive": 0},
                    name="ordering%d" % workers)
    keys = spread_keys(8, prefix="ord")
    rounds = 40
    out, want = [], []
    for i in range(rounds):
        v = b"%d" % i + VAL[:200]
        out.append(resp.encode("MSET", *[x for k in keys for x in (k, v)]))
        want.append("OK")
        out.append(resp.encode("GET", keys[i % 8]))
        want.append(v)
        out.append(resp.encode("MGET", *keys))
        want.append([v] * 8)
    out.append(resp.encode("MSET", keys[0], "last", keys[7], "last"))
    out.append(resp.encode("QUIT"))
    out.append(resp.encode("MSET", keys[0], "never", keys[7], "never"))
    with s.raw(timeout=OP_TIMEOUT) as c:
        c.send(b"".join(out))
        for i, w in enumerate(want):
            assert c.read(timeout=OP_TIMEOUT) == w, "reply %d" % i
        assert c.read(timeout=OP_TIMEOUT) == "OK"
        assert c.read(timeout=OP_TIMEOUT) == "OK"  # QUIT
        assert c.is_closed(timeout=OP_TIMEOUT) is True
    with s.raw(timeout=OP_TIMEOUT) as c:
        assert c.cmd("MGET", keys[0], keys[7]) == [b"last", b"last"]
    settle(s, 1)


@dpdk_only
@pytest.mark.skipif(bool(FAULT), reason="losses add retransmissions")
def test_one_segment_per_reply(srv):
    """Requests one at a time: each reply carries the ACK of its request, so the server
    sends one segment per request, as before requests moved out of the receive path."""
    n = 300
    with srv.raw(timeout=OP_TIMEOUT) as c:
        segs0 = total(info(srv, conn=c), r"^tcp_out_segs$")
        for _ in range(n):
            assert c.cmd("PING") == "PONG"
        segs = total(info(srv, conn=c), r"^tcp_out_segs$") - segs0
    # the first INFO's reply and a stray delayed ACK or two besides
    assert n <= segs <= n + 12, "%d segments for %d requests" % (segs, n)
