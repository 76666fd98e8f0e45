# SPDX-License-Identifier: BSD-3-Clause
"""cachalot over net_tap: the offload paths net_af_packet never takes (run.sh tap).

net_tap reports TX IPv4/TCP checksum offload (the PMD computes the sums the stack leaves
to "the NIC") and RX checksum offload (it verifies and flags every frame), and it has
several queues: the kernel's tun driver picks a queue per flow, and follows the queue a
flow's replies were sent from. RSS proper needs the PMD's rte_flow/eBPF support and a
RETA; where the port has them (dpdk_rss:1) the test checks that no TCP flow needs
steering, otherwise that the flows landing on the other worker's queue are steered and
none is lost.

One namespace (netns.sh tap mode): the server makes the tap interface, whose kernel side
gets 10.213.k.2/24 (remote.tap_link): this process, redis-cli, redis-benchmark and the
kernel's TCP stack are the clients of the userspace stack at 10.213.k.1. The kernel checks
every checksum the PMD computed for us (TcpInCsumErrors, IpInHdrErrors of this namespace
stay 0); frames with wrong checksums sent through an AF_PACKET socket must be flagged by
the port and dropped by the stack.

Runs only through run.sh tap (E2E_NET=tap). Exit 77 when net_tap cannot run here.
"""

import hashlib
import random
import re
import socket
import struct
import subprocess
import sys
import time

import pytest

import remote
import server as srvmod
from e2e import OP_TIMEOUT, bench_rows, cli, info, num, queues, set_get_conns, wait_for

pytestmark = pytest.mark.skipif(remote.MODE != "tap",
                                reason="net_tap tests run through run.sh tap")

WORKERS = 2


def start_tap_server(name, overrides=None):
    ov = {"workers": WORKERS}
    ov.update(overrides or {})
    s = srvmod.Server(overrides=ov, name=name, wait=False)
    s.start(timeout=60)
    try:
        s.tap_if = remote.tap_link(s)
    except remote.TapUnavailable as e:
        s.stop(check=False)
        pytest.exit("SKIP: %s" % e, returncode=77)
    except Exception:
        s.stop(check=False)
        raise
    s._wait_up(30)
    return s


@pytest.fixture(scope="module")
def tsrv():
    s = start_tap_server("tap")
    yield s
    s.stop()


def snmp():
    """This namespace's /proc/net/snmp as {"Tcp.InCsumErrors": n, ...}."""
    out = {}
    with open("/proc/net/snmp") as f:
        lines = f.read().splitlines()
    for head, vals in zip(lines[::2], lines[1::2]):
        proto, names = head.split(":", 1)
        for n, v in zip(names.split(), vals.split(":", 1)[1].split()):
            out["%s.%s" % (proto, n)] = int(v)
    return out


def kernel_rejects(before, after):
    return {k: after[k] - before[k] for k in ("Ip.InHdrErrors", "Tcp.InCsumErrors",
                                              "Icmp.InCsumErrors")
            if after[k] != before[k]}


def qdelta(before, after, name):
    return {q: after[q][name] - before[q][name] for q in after}


SNMP0 = None  # the namespace's counters before the first server


@pytest.fixture(scope="module", autouse=True)
def _snmp_start():
    global SNMP0
    SNMP0 = snmp()


# ---- the port ---------------------------------------------------------------------------


def test_port_reports_offloads(tsrv):
    inf = info(tsrv)
    assert inf["dpdk_driver"] == "net_tap", inf["dpdk_driver"]
    assert inf["dpdk_queues"] == str(WORKERS)
    # net_tap computes TX checksums in software and verifies RX ones: the port offers
    # them, so cachalot must be using them
    for f in ("dpdk_tx_ip_csum_offload", "dpdk_tx_tcp_csum_offload", "dpdk_rx_csum_offload"):
        assert inf[f] == "1", (f, inf[f])
    with open(tsrv.logpath, errors="replace") as f:
        m = re.search(r"DPDK port \d+: .*", f.read())
    assert m, "no port line in the server log"
    sys.stderr.write("\n%s\n" % m.group(0))
    if inf["dpdk_rss"] == "0":
        assert "RSS off (" in m.group(0) and "software steering" in m.group(0), m.group(0)


def test_redis_cli(tsrv):
    assert cli(tsrv, "PING")[1].strip() == "PONG"
    assert cli(tsrv, "SET", "tap:k", "v1")[1].strip() == "OK"
    assert cli(tsrv, "GET", "tap:k")[1].strip() == "v1"
    rc, out, err = cli(tsrv, "--pipe", stdin=b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\ntap:p%d\r\n$1\r\nx\r\n" % (len(b"tap:p%d" % i), i)
        for i in range(1000)))
    assert rc == 0 and "errors: 0, replies: 1000" in out, (out, err)


def test_icmp_echo(tsrv):
    # the IP-checksum-only offload (the stack sums ICMP itself)
    before = num(info(tsrv)["net_icmp_echo"])
    p = subprocess.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", tsrv.host],
                       capture_output=True, text=True, timeout=OP_TIMEOUT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert num(info(tsrv)["net_icmp_echo"]) - before >= 3


def test_big_values_sha256(tsrv):
    r = tsrv.client(decode_responses=False, socket_timeout=OP_TIMEOUT,
                    socket_connect_timeout=OP_TIMEOUT)
    try:
        rnd = random.Random(7)
        want = {}
        for i in range(4):
            v = rnd.randbytes(1 << 20)
            want[b"tap:big%d" % i] = hashlib.sha256(v).hexdigest()
            assert r.set(b"tap:big%d" % i, v)
        for k, h in want.items():
            got = r.get(k)
            assert got is not None and len(got) == 1 << 20, k
            assert hashlib.sha256(got).hexdigest() == h, k
    finally:
        r.connection_pool.disconnect()


def test_200_connections_both_queues(tsrv):
    inf0 = info(tsrv)
    before = queues(inf0)
    steer0 = num(inf0["net_rx_steered_out"])
    set_get_conns(tsrv, 200, b"tap:c")
    with tsrv.raw(timeout=OP_TIMEOUT) as c:
        def rings_drained():
            q = queues(info(tsrv, conn=c))
            return sum(v["steered_in"] for v in q.values()) == \
                sum(v["steered_out"] for v in q.values())

        wait_for(rings_drained, timeout=5)
        inf = info(tsrv, conn=c)
    after = queues(inf)
    rx, tx = qdelta(before, after, "rx_packets"), qdelta(before, after, "tx_packets")
    steered = num(inf["net_rx_steered_out"]) - steer0
    sys.stderr.write("\n200 connections: rx per queue %s, tx per queue %s, TCP frames "
                     "steered %d, RSS %s\n" % (rx, tx, steered, inf["dpdk_rss"]))
    # 200 connections x ~6 frames: each queue gets a real share of the flows
    total_rx = sum(rx.values())
    assert all(v >= total_rx // 10 for v in rx.values()), "rx per queue %s" % rx
    assert all(v >= sum(tx.values()) // 10 for v in tx.values()), "tx per queue %s" % tx
    assert sum(q["steer_dropped"] for q in after.values()) == 0, after
    assert num(inf["net_rx_steer_drops"]) == 0
    if inf["dpdk_rss"] == "1":
        # the port's RSS with our key and RETA puts every flow on its owner's queue
        assert steered == 0, "RSS on, yet %d TCP frames needed steering" % steered
        assert sum(qdelta(before, after, "rx_hash").values()) >= total_rx * 9 // 10
    else:
        # the kernel picks a queue for a flow's first frames: about half land on the
        # other worker's queue and are steered, the handshake included
        assert steered > 0, "no flow was steered over 200 connections: %s" % rx
    assert sum(q["steered_in"] for q in after.values()) == \
        sum(q["steered_out"] for q in after.values()), after


def test_redis_benchmark(tsrv):
    p = subprocess.run(
        ["redis-benchmark", "-h", tsrv.host, "-p", str(tsrv.port), "-c", "20", "-n", "20000",
         "-r", "10000", "-d", "64", "-t", "set,get", "--csv"],
        capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    rows = bench_rows(p.stdout)
    assert set(rows) >= {"SET", "GET"} and all(v > 0 for v in rows.values()), p.stdout
    assert not re.search(r"error|closed|refused|reset", p.stdout + p.stderr, re.I), \
        (p.stdout, p.stderr)
    sys.stderr.write("\nredis-benchmark -c 20 -n 20000 over net_tap: %s\n" % rows)


def test_offloads_did_the_work(tsrv):
    """Over everything above: the port took the checksums of (nearly) every frame sent
    and vouched for (nearly) every frame received, the kernel found every checksum the
    port computed right, and the stack met no bad checksum."""
    r = tsrv.client(socket_timeout=OP_TIMEOUT, socket_connect_timeout=OP_TIMEOUT)
    try:
        for i in range(300):  # a frame each way per command
            assert r.set("tap:o%d" % i, i)
            assert r.get("tap:o%d" % i) == str(i)
    finally:
        r.connection_pool.disconnect()
    inf = info(tsrv)
    q = queues(inf)
    tx = sum(v["tx_packets"] for v in q.values())
    rx = sum(v["rx_packets"] for v in q.values())
    off = sum(v["tx_csum_offload"] for v in q.values())
    ok = sum(v["rx_csum_ok"] for v in q.values())
    sys.stderr.write("\ntx %d frames, %d with checksum offload; rx %d frames, %d with the "
                     "L4 checksum verified by the port\n" % (tx, off, rx, ok))
    assert tx > 600 and rx > 600, (tx, rx)
    # not offloaded: ARP and nothing else
    assert off >= tx - 50, (off, tx)
    assert ok >= rx - 50, (ok, rx)
    assert all(v["tx_csum_offload"] > 0 and v["rx_csum_ok"] > 0 for v in q.values()), q
    assert sum(v["rx_csum_bad"] for v in q.values()) == 0, q
    assert num(inf["net_rx_bad_csum"]) == 0
    assert kernel_rejects(SNMP0, snmp()) == {}, "the kernel rejected frames of ours"


# ---- frames with wrong checksums ---------------------------------------------------------


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn_frame(dst_mac, src_mac, src, dst, sport, dport, bad_ip=False, bad_tcp=False):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 12345, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6,
                                                                         len(tcp))
    tc = csum(pseudo + tcp) ^ (0x5a5a if bad_tcp else 0)
    tcp = tcp[:16] + struct.pack("!H", tc) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ic = csum(ip) ^ (0x0f0f if bad_ip else 0)
    ip = ip[:10] + struct.pack("!H", ic) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


def syn_acks(sock, sports, server_port, control, seconds):
    """sports answered with a SYN-ACK from server_port: what came within seconds, or
    within half a second after the control port's answer."""
    got = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            fr = sock.recv(2048)
        except socket.timeout:
            break
        if len(fr) < 54 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
            continue
        ihl = (fr[14] & 15) * 4
        sp, dp = struct.unpack("!HH", fr[14 + ihl:18 + ihl])
        flags = fr[14 + ihl + 13]
        if sp == server_port and dp in sports and flags & 0x12 == 0x12:
            got.add(dp)
            if dp == control:
                deadline = min(deadline, time.monotonic() + 0.5)
    return got


def test_bad_checksums_flagged_and_dropped(tsrv):
    inf = info(tsrv)
    mac = bytes.fromhex(inf["dpdk_mac"].replace(":", ""))
    ours = bytes.fromhex(remote.tap_mac(tsrv._e2e_slot).replace(":", ""))
    q0 = queues(inf)
    bad0 = num(inf["net_rx_bad_csum"])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    try:
        s.bind((tsrv.tap_if, 0))
        base = random.Random(11).randrange(20000, 40000)
        bad_tcp = list(range(base, base + 8))
        bad_ip = list(range(base + 8, base + 16))
        good = [base + 16]
        for sp in bad_tcp:
            s.send(syn_frame(mac, ours, tsrv.client_host, tsrv.host, sp, tsrv.port,
                             bad_tcp=True))
        for sp in bad_ip:
            s.send(syn_frame(mac, ours, tsrv.client_host, tsrv.host, sp, tsrv.port,
                             bad_ip=True))
        # the control: the same frame with right checksums is answered (the kernel then
        # resets that connection, which it knows nothing of)
        for sp in good:
            s.send(syn_frame(mac, ours, tsrv.client_host, tsrv.host, sp, tsrv.port))
        answered = syn_acks(s, set(bad_tcp + bad_ip + good), tsrv.port, good[0], 5.0)
    finally:
        s.close()
    assert answered == set(good), "SYN-ACKs for %s (only %s has right checksums)" % (
        sorted(answered), good)
    inf = info(tsrv)
    flagged = sum(qdelta(q0, queues(inf), "rx_csum_bad").values())
    dropped = num(inf["net_rx_bad_csum"]) - bad0
    # 16 bad frames: the port flags each one, the stack drops each one
    assert flagged == 16, "the port flagged %d of 16 bad frames" % flagged
    assert dropped == 16, "the stack dropped %d of 16 bad frames as bad checksums" % dropped


# ---- corruption after the port vouched for a frame ---------------------------------------


def test_corruption_after_the_port(tsrv):
    """The fault wrapper corrupts frames the port had already flagged good; it clears the
    flags, so the stack's own checksum must catch them (on TX, the kernel's). Every value
    still arrives intact."""
    fs = start_tap_server("tapcorrupt", {"dpdk-fault": "corrupt=1%,seed=5"})
    try:
        snmp0 = snmp()
        r = fs.client(decode_responses=False, socket_timeout=OP_TIMEOUT,
                      socket_connect_timeout=OP_TIMEOUT)
        try:
            rnd = random.Random(5)
            for i in range(3):
                v = rnd.randbytes(1 << 20)
                assert r.set(b"big", v)
                got = r.get(b"big")
                assert got is not None and hashlib.sha256(got).digest() == \
                    hashlib.sha256(v).digest(), i
            for i in range(300):
                assert r.set(b"k%d" % i, b"v%d" % i)
                assert r.get(b"k%d" % i) == b"v%d" % i
        finally:
            r.connection_pool.disconnect()
        inf = info(fs)
        q = queues(inf)
        corrupted = sum(v.get("fault_corrupted", 0) for v in q.values())
        rejected = kernel_rejects(snmp0, snmp())
        sys.stderr.write("\ncorrupted %d frames: the stack rejected %s as bad checksums, "
                         "the kernel %s\n" % (corrupted, inf["net_rx_bad_csum"], rejected))
        assert corrupted > 0
        assert num(inf["net_rx_bad_csum"]) > 0, "no corrupted frame was caught on RX"
        assert sum(rejected.values()) > 0, "no corrupted frame was caught by the kernel"
    finally:
        fs.stop()
