# SPDX-License-Identifier: BSD-3-Clause
"""A veth whose client end keeps the kernel's default offloads (issue 11 item 11).

The README's example, as a user runs it: cachalot on net_af_packet over one end of a veth,
the other end left as `ip link add` made it. Its kernel hands over TCP segments whose
checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL, tx-checksumming on)
and, for a large value, TSO/GSO frames of several segments that af_packet cuts at its
frame size (tcp-segmentation-offload on). Before the fix ICMP echo worked and no TCP
connection ever opened, with nothing in the log. Now: redis-py and redis-cli connect, a
small and a 1 MB value go both ways intact (compared by content), the stack counts what
it accepted (net_rx_csum_partial, net_rx_gso_cut, the queues' rx_csum_partial) and
dropped nothing for its checksum, and the log names the peer's offloads and the
`ethtool -K ... tx off` that makes large transfers fast.

The pair is slot remote.PEER_OFFLOADS_SLOT, made for this test only: no other server
inherits its offloads.
"""

import hashlib
import os
import subprocess
import time

import pytest

import remote
import server as srvmod
from e2e import OP_TIMEOUT, cli, dpdk_only, info, queue_sum, wait_for

pytestmark = [dpdk_only,
              pytest.mark.skipif(remote.MODE != "dpdk", reason="net_af_packet over a veth")]

K = remote.PEER_OFFLOADS_SLOT


def client_offloads():
    """ethtool -k of the client end of the pair, as {feature: "on"/"off"}."""
    p = subprocess.run(["ethtool", "-k", remote.cli_if(K)], capture_output=True, text=True,
                       timeout=OP_TIMEOUT)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines()[1:]:
        name, _, v = line.partition(":")
        out[name.strip()] = v.split()[0] if v.split() else ""
    return out


@pytest.fixture
def peer_srv(request):
    s = srvmod.Server(name="peer-offloads")
    s._e2e_offloads = "peer"
    s.start(timeout=60)
    yield s
    s.stop()


def test_issue11_veth_peer_default_offloads(peer_srv):
    s = peer_srv
    # The premise: this namespace's end of the veth still has the kernel's defaults.
    ol = client_offloads()
    assert ol.get("tx-checksumming") == "on", ol
    assert ol.get("tcp-segmentation-offload") == "on", ol
    inf = info(s)
    assert inf["dpdk_driver"] == "net_af_packet", inf["dpdk_driver"]
    assert inf["dpdk_rx_csum_partial"] == "1"

    rc, out, err = cli(s, "PING")
    assert (rc, out.strip()) == (0, "PONG"), (rc, out, err)
    r = s.client(decode_responses=False, socket_timeout=OP_TIMEOUT,
                 socket_connect_timeout=OP_TIMEOUT)
    try:
        assert r.set("small", b"v" * 10)
        assert r.get("small") == b"v" * 10
        big = os.urandom(1 << 20)
        t0 = time.monotonic()
        assert r.set("big", big)
        took = time.monotonic() - t0
        got = r.get("big")
        assert hashlib.sha256(got).digest() == hashlib.sha256(big).digest(), len(got)
        rc, out, err = cli(s, "GET", "small")
        assert (rc, out.strip()) == (0, "v" * 10), (rc, out, err)
    finally:
        r.close()
        r.connection_pool.disconnect()

    inf = info(s)
    partial = int(inf["net_rx_csum_partial"])
    cut = int(inf["net_rx_gso_cut"])
    # Every client segment came partial: the SYNs and requests at least.
    assert partial >= 10, {k: v for k, v in inf.items() if "csum" in k or "gso" in k}
    assert queue_sum(inf, "rx_csum_partial") == partial
    assert int(inf["net_rx_bad_csum"]) == 0
    if cut:
        # The 1 MB SET went as TSO frames, cut by af_packet: the log says so (a worker
        # looks at its counters once a second), once, with what to change on the peer.
        def warned():
            with open(s.logpath, errors="replace") as f:
                return [ln for ln in f if "net_rx_gso_cut" in ln]
        lines = wait_for(warned, timeout=5)
        assert len(lines) == 1 and "ethtool -K" in lines[0] and "tx off" in lines[0], \
            s.log_tail()
    print("1 MB SET took %.2f s; partial %d, cut %d" % (took, partial, cut))
