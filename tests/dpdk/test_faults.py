# SPDX-License-Identifier: BSD-3-Clause
"""Under the fault wrapper (E2E_FAULT, e.g. "drop=5%,reorder=1%,dup=1%,seed=7"): the
wrapper really drops, duplicates and reorders, and TCP repairs it: every reply is correct
(checked byte for byte) and the retransmission counters move. The other test files run
under the same faults in these runs: no reply wrong, no connection stuck (every client
operation has a timeout)."""

import hashlib
import os
import re
import socket
import sys
import threading

from e2e import FAULT, NET, OP_TIMEOUT, dpdk_only, fault_only, info, queue_sum, total

pytestmark = [dpdk_only, fault_only]


def _want(name):
    m = re.search(r"(^|,)%s=([\d.]+)%%" % name, FAULT)
    return float(m.group(2)) if m else 0.0


def _worker(server, idx, rounds, errors):
    try:
        s = socket.create_connection((server.host, server.port), timeout=OP_TIMEOUT)
        try:
            for i in range(rounds):
                val = hashlib.sha256(b"%d:%d" % (idx, i)).hexdigest().encode() * (1 + i % 64)
                key = b"f:%d:%d" % (idx, i)
                s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                          % (len(key), key, len(val), val) +
                          b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
                want = b"+OK\r\n$%d\r\n%s\r\n" % (len(val), val)
                got = b""
                while len(got) < len(want):
                    chunk = s.recv(65536)
                    if not chunk:
                        raise AssertionError("closed after %d bytes" % len(got))
                    got += chunk
                if got != want:
                    raise AssertionError("round %d: wrong reply %r" % (i, got[:80]))
        finally:
            s.close()
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append("client %d: %r" % (idx, e))


def test_faults_repaired(srv):
    before = info(srv)
    assert before.get("dpdk_fault_injection") == "1", before.get("dpdk_fault_injection")
    errors = []
    rounds = int(os.environ.get("E2E_FAULT_ROUNDS", "100"))
    ths = [threading.Thread(target=_worker, args=(srv, i, rounds, errors), daemon=True)
           for i in range(16)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(OP_TIMEOUT * 10)
    assert not any(t.is_alive() for t in ths), "a client is stuck"
    assert not errors, errors
    after = info(srv)

    def delta(name):
        return queue_sum(after, name) - queue_sum(before, name)

    retrans = total(after, NET["retrans"]) - total(before, NET["retrans"])
    sys.stderr.write("faults %r: dropped %d, duplicated %d, reordered %d; tcp retrans %d, "
                     "dup segs %d, ooo segs %d\n" % (
                         FAULT, delta("fault_dropped"), delta("fault_duplicated"),
                         delta("fault_reordered"), retrans,
                         total(after, NET["dup_segs"]) - total(before, NET["dup_segs"]),
                         total(after, NET["ooo_segs"]) - total(before, NET["ooo_segs"])))
    if _want("drop"):
        assert delta("fault_dropped") > 0
        assert retrans > 0, "frames were dropped but TCP retransmitted nothing"
    if _want("dup"):
        assert delta("fault_duplicated") > 0
    if _want("reorder"):
        assert delta("fault_reordered") > 0
