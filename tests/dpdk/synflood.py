#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A bounded SYN flood for the end-to-end tests, from a raw socket.

  synflood.py DST_IP DST_PORT [--count 20000] [--seconds 10] [--src-net 10.211.0.0/24]

Sends --count TCP SYNs to DST_IP:DST_PORT, paced evenly over --seconds, each from a random
source address of --src-net (never the network or broadcast address, nor the destination
or .2, the client namespace's own address, so that the flood's SYN-ACKs go unanswered) and a
random source port. Prints "sent N in S s" and exits 0.

Safety: it refuses to run in any network namespace but one that tests/dpdk/netns.sh made
(cach-cli-*, cach-srv-*) and refuses any destination or source network outside 10.0.0.0/8,
so it can only ever reach a veth of a namespace the tests made. Needs root (IPPROTO_RAW).
"""

import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    # TCP: MSS option so the SYN looks like a real client's
    opts = struct.pack("!BBH", 2, 4, 1460)
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, off << 4, 0x02, 64240, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    # IPv4: the kernel fills in the total length, the id (when 0) and the checksum
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, src, dst)
    return ip + tcp


def in_test_namespace():
    """True when this process's network namespace is one that netns.sh made."""
    mine = os.stat("/proc/self/ns/net")
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return False
    for n in names:
        if n.startswith("cach-cli-") or n.startswith("cach-srv-"):
            st = os.stat(os.path.join("/run/netns", n))
            if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
                return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--src-net", default="10.211.0.0/24")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()

    private = ipaddress.ip_network("10.0.0.0/8")
    dst = ipaddress.ip_address(a.dst)
    net = ipaddress.ip_network(a.src_net, strict=False)
    if dst not in private or not net.subnet_of(private):
        sys.exit("synflood.py: destination and sources must be in 10.0.0.0/8")
    if not in_test_namespace():
        sys.exit("synflood.py: refusing to run outside a test namespace (cach-cli-*, made "
                 "by tests/dpdk/netns.sh)")
    if a.count < 1 or a.count > 1000000 or a.seconds <= 0 or a.seconds > 120:
        sys.exit("synflood.py: --count 1..1000000, --seconds up to 120")

    own = {int(dst), int(net.network_address) + 2}
    hosts = [int(h) for h in net.hosts() if int(h) not in own]
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    dstb = dst.packed
    t0 = time.monotonic()
    sent = 0
    for i in range(a.count):
        due = t0 + a.seconds * i / a.count
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        src = struct.pack("!I", rnd.choice(hosts))
        pkt = syn(src, dstb, rnd.randrange(1024, 65536), a.port, rnd.getrandbits(32))
        try:
            s.sendto(pkt, (a.dst, 0))
            sent += 1
        except OSError as e:  # ENOBUFS under pressure: count it as not sent, go on
            if e.errno not in (105,):
                raise
    print("sent %d in %.1f s" % (sent, time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    main()
