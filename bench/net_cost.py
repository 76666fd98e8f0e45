#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per small request in the userspace TCP/IP stack (dataplane/net), without a
NIC, a server or root: bench/net_cost (net_cost.c) under valgrind's callgrind.

  bench/net_cost.py                      # build/bench/net_cost
  NET_COST=/tmp/b/bench/net_cost bench/net_cost.py

net_cost runs PING/PONG exchanges through one net_stack: a 14-byte request segment in,
the application's 7-byte reply sent from its recv upcall, one data segment out carrying
the ACK. For each checksum mode (offload: RX flags say good, TX asks the NIC; software:
the stack checks and computes every checksum) it runs twice, with N and 2N exchanges, and
reports the difference divided by N: the cost of one exchange with set-up, handshake and
teardown cancelled out.

Counted ("net"): the own cost of every function defined under dataplane/net/ and in
dataplane/timer.c (the stack's timing wheel, built into the same library), inlined helpers
included, plus what those functions call outside the project (libc memcpy and the like).
Not counted: the simulated client, the fake driver's alloc/send/free and the
application's upcalls (in production those are the PMD's and conn's), though net_tcp_send,
called from the upcall, is the stack's and counts.

Environment: NET_COST (the binary, default build/bench/net_cost), NET_COST_N (10000),
NET_COST_MODES ("offload software"), NET_COST_TOP (25 rows per mode), CG_KEEP=1 keeps the
callgrind files (directory printed), BENCH_SAVE=0 skips writing bench/results/.
Needs valgrind.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind_net import ROOT, env, log, parse_callgrind  # noqa: E402

NET_DIR = os.path.join(ROOT, "dataplane", "net") + os.sep
TIMER_C = os.path.join(ROOT, "dataplane", "timer.c")

# Where a function of the stack belongs, by its file, for the summary line.
LAYERS = (
    ("tcp", ("tcp_in.c", "tcp_out.c", "tcp_conn.c", "tcp_timer.c", "tcp_cookie.c",
             "tcp_pvt.h")),
    ("ip/arp/eth", ("net.c", "ipv4.c", "arp.c", "icmp.c", "net_link.h", "net_pvt.h")),
    ("csum", ("csum.c",)),
    ("timer wheel", ("timer.c", "timer.h")),
)


def where(path):
    p = os.path.normpath(path or "")
    if p.startswith(NET_DIR) or p == TIMER_C:
        return "net"
    if p.startswith(ROOT + os.sep):
        return "project"
    return "external"


def layer(path):
    base = os.path.basename(path or "")
    for name, files in LAYERS:
        if base in files:
            return name
    return "other"


def stack_cost(path):
    """({row: Ir}, {layer: Ir}, program total Ir) of one callgrind file."""
    totals, self_cost, fn_file, fns, calls = parse_callgrind(path)
    rows, layers = {}, {}
    for i, cost in self_cost.items():
        f = fn_file.get(i)
        if where(f) == "net":
            k = fns.get(i, i)
            rows[k] = rows.get(k, 0) + cost
            layers[layer(f)] = layers.get(layer(f), 0) + cost
    for caller, callee, cost in calls:
        if where(fn_file.get(caller)) == "net" and where(fn_file.get(callee)) == "external":
            k = "%s -> %s" % (fns.get(caller, caller), fns.get(callee, callee))
            rows[k] = rows.get(k, 0) + cost
            layers["libc"] = layers.get("libc", 0) + cost
    return rows, layers, totals


def run(binary, work, mode, n):
    out = os.path.join(work, "cg.%s.%d" % (mode, n))
    argv = ["valgrind", "--tool=callgrind", "--dump-instr=no",
            "--callgrind-out-file=" + out, binary, "-n", str(n)]
    if mode == "software":
        argv.insert(-2, "-s")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0 or not os.path.exists(out):
        raise SystemExit("%s failed (%d):\n%s%s" % (" ".join(argv), p.returncode,
                                                     p.stdout, p.stderr[-3000:]))
    return stack_cost(out)


def diff(a, b, n):
    return {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}


def main():
    binary = os.path.abspath(env("NET_COST", os.path.join(ROOT, "build", "bench",
                                                           "net_cost")))
    if not os.access(binary, os.X_OK):
        raise SystemExit("not an executable: %s (build it: ninja -C build bench/net_cost)"
                         % binary)
    if not shutil.which("valgrind"):
        raise SystemExit("net_cost.py: valgrind not found")
    n = int(env("NET_COST_N", "10000"))
    top = int(env("NET_COST_TOP", "25"))
    modes = env("NET_COST_MODES", "offload software").split()
    work = tempfile.mkdtemp(prefix="cachalot-netcost-")
    results = []
    try:
        for mode in modes:
            if mode not in ("offload", "software"):
                raise SystemExit("unknown mode %r (offload, software)" % mode)
            log("%s: %d and %d exchanges under callgrind" % (mode, n, 2 * n))
            r1, l1, t1 = run(binary, work, mode, n)
            r2, l2, t2 = run(binary, work, mode, 2 * n)
            if not r1:
                raise SystemExit("no function of %s counted: was %s built from this tree, "
                                 "with debug info (-g)?" % (NET_DIR, binary))
            results.append((mode, diff(r1, r2, n), diff(l1, l2, n), (t2 - t1) / n))
    finally:
        if env("CG_KEEP", "0") == "1":
            log("callgrind files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    lines = ["net_cost: instructions (callgrind Ir) per PING/PONG exchange in dataplane/net "
             "(+ dataplane/timer.c and the libc they call); %s, N=%d" % (binary, n), "",
             "%-9s %8s   %s" % ("checksums", "net Ir", "by layer")]
    for mode, rows, layers, prog in results:
        total = sum(rows.values())
        parts = ", ".join("%s %.0f" % (k, v) for k, v in
                          sorted(layers.items(), key=lambda kv: -kv[1]) if round(v))
        lines.append("%-9s %8.0f   %s  (whole program %.0f)" % (mode, total, parts, prog))
    for mode, rows, _, _ in results:
        lines.append("")
        lines.append("%s, Ir per exchange:" % mode)
        for k, v in sorted(rows.items(), key=lambda kv: -kv[1])[:top]:
            if round(v, 1):
                lines.append("  %7.1f  %s" % (v, k))
    table = "\n".join(lines)
    print(table)
    if env("BENCH_SAVE", "1") == "1":
        rdir = os.path.join(ROOT, "bench", "results")
        os.makedirs(rdir, exist_ok=True)
        path = os.path.join(rdir, time.strftime("net-cost-%Y%m%d-%H%M%S.txt"))
        with open(path, "w") as f:
            f.write(table + "\n")
        log("saved to %s" % path)


if __name__ == "__main__":
    main()
