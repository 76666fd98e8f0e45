# SPDX-License-Identifier: BSD-3-Clause
"""Two queues, two workers: net_af_packet with qpairs=2 spreads flows over both RX queues
(PACKET_FANOUT by flow hash), so both workers receive packets and serve connections; a flow
whose packets land on the other worker's queue is handed over, never dropped. Checked
through the per-queue lines of INFO's Network section."""

import socket

import pytest

from e2e import OP_TIMEOUT, dpdk_only, info, queues

pytestmark = dpdk_only


def _traffic(server, nconns):
    socks = [socket.create_connection((server.host, server.port), timeout=OP_TIMEOUT)
             for _ in range(nconns)]
    try:
        for i, s in enumerate(socks):
            s.sendall(b"SET q:%d %d\r\nGET q:%d\r\n" % (i, i, i))
        for i, s in enumerate(socks):
            want = b"+OK\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
            got = b""
            while len(got) < len(want):
                chunk = s.recv(4096)
                assert chunk, "connection %d closed" % i
                got += chunk
            assert got == want, (i, got)
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("workers", [2])
def test_two_queues_both_serve(make_server, workers):
    s = make_server(overrides={"workers": workers}, name="queues%d" % workers)
    inf = info(s)
    assert inf.get("dpdk_queues") == str(workers), inf.get("dpdk_queues")
    before = queues(inf)
    assert sorted(before) == list(range(workers)), before
    _traffic(s, 64)
    after = queues(info(s))
    rx = {q: after[q]["rx_packets"] - before[q]["rx_packets"] for q in after}
    tx = {q: after[q]["tx_packets"] - before[q]["tx_packets"] for q in after}
    # 64 connections x (SYN, ACK, request, ACKs, FIN...) ~ 6 frames each: both queues
    # get a real share, not a stray ARP
    assert all(v >= 20 for v in rx.values()), "rx per queue %s" % rx
    assert all(v >= 20 for v in tx.values()), "tx per queue %s" % tx
