# SPDX-License-Identifier: BSD-3-Clause
"""Two queues, two workers: net_af_packet with qpairs=2 spreads flows over both RX queues
(PACKET_FANOUT by flow hash), so both workers receive packets and serve connections; a flow
whose packets land on the other worker's queue is handed over, never dropped. Checked
through the per-queue lines of INFO's Network section."""

import pytest

from e2e import dpdk_only, info, queues, set_get_conns

pytestmark = dpdk_only


@pytest.mark.parametrize("workers", [2])
def test_two_queues_both_serve(make_server, workers):
    # No keepalive: under 5% loss, 64 connections idling while the others connect would
    # each risk three lost probes in a row (a reset that Linux would send too).
    s = make_server(overrides={"workers": workers, "tcp-keepalive": 0},
                    name="queues%d" % workers)
    inf = info(s)
    assert inf.get("dpdk_queues") == str(workers), inf.get("dpdk_queues")
    before = queues(inf)
    assert sorted(before) == list(range(workers)), before
    set_get_conns(s, 64, b"q")
    after = queues(info(s))
    rx = {q: after[q]["rx_packets"] - before[q]["rx_packets"] for q in after}
    tx = {q: after[q]["tx_packets"] - before[q]["tx_packets"] for q in after}
    # 64 connections x (SYN, ACK, request, ACKs, FIN...) ~ 6 frames each: both queues
    # get a real share, not a stray ARP
    assert all(v >= 20 for v in rx.values()), "rx per queue %s" % rx
    assert all(v >= 20 for v in tx.values()), "tx per queue %s" % tx
