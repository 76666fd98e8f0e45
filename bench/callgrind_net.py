#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per request spent in the userspace TCP/IP stack (dataplane/net), under
valgrind's callgrind, with cachalot on DPDK (net_af_packet on a veth, as in tests/dpdk).

  CACHALOT=build/control/cachalot bench/callgrind_net.py

The server runs in a network namespace under `valgrind --tool=callgrind --instr-atstart=no
--dump-instr=no` with one worker; redis-benchmark runs in the client namespace. For each
workload: instrumentation on, an idle period (IDLE_S seconds, no traffic), dump, the
workload, dump, off. From each dump:

  all      every instruction of the server process;
  net      instructions in functions defined under dataplane/net/ and in
           dataplane/timer.c, the stack's timing wheel (their own cost,
           inlined helpers included) plus everything they call outside the project
           (libc memcpy, DPDK mbuf functions): what the stack itself costs. Calls from the
           stack back into the project (the engine's upcalls, the driver's transmit hook)
           are not counted: they are the application's and the driver's;
  -idle    net less what the same stack spends polling while idle (timers, the empty
           RX checks it is called for), scaled from the idle period to the duration of
           the workload: an upper bound of the idle share, so a lower bound of the
           per-request cost when the server is rarely idle;
  -csum    net less the software checksums (net_csum_*): net_af_packet offers no checksum
           offload, a real NIC does, and the stack then leaves them to it.

Requests = redis-benchmark's (-t set,get: 2 x CG_REQUESTS) plus its 2 CONFIG GETs;
segments = the change of tcp_in_segs + tcp_out_segs in INFO. On this path the client
kernel and af_packet copies are outside the count (they are the veth's cost, not the
stack's): the figure is what the stack would cost on a real NIC. The issue's goal is
under 1,000 instructions per small request for the whole TCP path.

Environment: CACHALOT, CG_REQUESTS (5000 per command), CG_DATA (32), CG_CLIENTS ("1 50":
the workloads' connection counts), CG_PIPELINE (1), IDLE_S (2), CG_KEEP=1 keeps the
callgrind files (directory printed), BENCH_SAVE=0 skips writing bench/results/.
Needs root, iproute2, valgrind, redis-tools.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETNS = os.path.join(ROOT, "tests", "dpdk", "netns.sh")
NET_DIR = os.sep + os.path.join("dataplane", "net") + os.sep
TIMER_C = os.path.join(ROOT, "dataplane", "timer.c")  # the stack's wheel, in its library


def env(name, default):
    v = os.environ.get(name)
    return default if v in (None, "") else v


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---- callgrind output ----------------------------------------------------------------------


def parse_callgrind(path):
    """-> (totals, self_cost {fn_id: Ir}, fn_file {fn_id: path}, fn_name {fn_id: name},
    calls [(caller_id, callee_id, inclusive Ir)]). Handles name compression ("(12) name"
    then "(12)"), subposition compression and fi/fe inlined-file switches (costs stay with
    the function). A function's file is the fl= in force at its fn= line, unless that is
    a system header: callgrind names the file of the function's first instruction, which
    for net_csum_pseudo is an htonl inlined from <bits/byteswap.h>; then it is the first
    other file of an fi=/fe= switch inside the function."""

    def system(path):
        return path is None or path.startswith("/usr/include/")

    files, fns = {}, {}
    fn_file, self_cost, calls = {}, {}, []
    cur_fl = cur_fn = None
    cfn = None
    pending_call = False
    totals = 0

    def name(table, text):
        m = re.match(r"\((\d+)\)(?:\s(.*))?$", text)
        if not m:
            return text, text
        i = m.group(1)
        if m.group(2) is not None:
            table[i] = m.group(2)
        return i, table.get(i, i)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if pending_call and (c.isdigit() or c in "+-*"):
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                calls.append((cur_fn, cfn, cost))
                pending_call = False
                continue
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) > 1 and cur_fn is not None:
                    self_cost[cur_fn] = self_cost.get(cur_fn, 0) + int(parts[1])
                continue
            key, _, val = line.partition("=")
            if key == "fl":
                _, cur_fl = name(files, val)
            elif key in ("fi", "fe"):
                _, f = name(files, val)
                if cur_fn is not None and system(fn_file.get(cur_fn)) and not system(f):
                    fn_file[cur_fn] = f
            elif key == "fn":
                i, n = name(fns, val)
                cur_fn = i
                if system(fn_file.get(i)):
                    fn_file[i] = cur_fl
            elif key in ("cfi", "cfl"):
                name(files, val)
            elif key == "cfn":
                cfn, _ = name(fns, val)
            elif key == "calls":
                pending_call = True
            elif line.startswith("totals:") or line.startswith("summary:"):
                totals = int(line.split()[1])
    return totals, self_cost, fn_file, fns, calls


def net_cost(path):
    """(all Ir, net Ir, {function: net-attributed Ir}) for one callgrind dump."""
    totals, self_cost, fn_file, fns, calls = parse_callgrind(path)

    def where(i):
        p = os.path.normpath(fn_file.get(i) or "")
        if (NET_DIR in p or p == TIMER_C) and p.startswith(ROOT):
            return "net"
        if p.startswith(ROOT):
            return "project"
        return "external"

    by_fn = {}
    for i, cost in self_cost.items():
        if where(i) == "net":
            by_fn[fns.get(i, i)] = by_fn.get(fns.get(i, i), 0) + cost
    for caller, callee, cost in calls:
        if where(caller) == "net" and where(callee) == "external":
            k = "%s -> %s" % (fns.get(caller, caller), fns.get(callee, callee))
            by_fn[k] = by_fn.get(k, 0) + cost
    return totals, sum(by_fn.values()), by_fn


# ---- the run --------------------------------------------------------------------------------


def sh(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(list(args), **kw)


def info_net(ns, host, port):
    p = sh("ip", "netns", "exec", ns, "redis-cli", "-h", host, "-p", str(port), "INFO",
           "network", timeout=60)
    out = {}
    for line in p.stdout.replace("\r", "").splitlines():
        k, _, v = line.partition(":")
        if v.isdigit():
            out[k] = int(v)
    return out


def main():
    if os.geteuid() != 0:
        raise SystemExit("callgrind_net.py needs root (network namespaces)")
    for tool in ("valgrind", "callgrind_control", "redis-benchmark", "redis-cli", "ip"):
        if not shutil.which(tool):
            raise SystemExit("callgrind_net.py: %s not found" % tool)
    cachalot = os.path.abspath(env("CACHALOT", os.path.join(ROOT, "build", "control",
                                                              "cachalot")))
    if not os.access(cachalot, os.X_OK):
        raise SystemExit("not an executable: %s" % cachalot)
    n = int(env("CG_REQUESTS", "5000"))
    data = int(env("CG_DATA", "32"))
    pipe = int(env("CG_PIPELINE", "1"))
    idle_s = float(env("IDLE_S", "2"))
    client_counts = [int(x) for x in env("CG_CLIENTS", "1 50").split()]
    port = 7600
    tag = str(os.getpid())
    work = tempfile.mkdtemp(prefix="cachalot-cgnet-")
    p = sh(NETNS, "up", tag, "dpdk")
    if p.returncode != 0:
        raise SystemExit("netns.sh up failed (%d): %s%s" % (p.returncode, p.stdout, p.stderr))
    v = dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)
    srv_ns, cli_ns, host = v["SRV_NS"], v["CLI_NS"], v["SRV_IP"]
    rows = []
    proc = None
    try:
        eal = ["--no-huge", "-m", "512", "--no-pci", "--vdev",
               "net_af_packet0,iface=%s,qpairs=1" % v["SRV_IF"], "-l", "0",
               "--file-prefix", "cgnet%s" % tag]
        argv = ["ip", "netns", "exec", srv_ns, "valgrind", "--tool=callgrind",
                "--instr-atstart=no", "--dump-instr=no",
                "--callgrind-out-file=%s/cg.%%p" % work, cachalot, "--port", str(port),
                "--workers", "1", "--transport", "dpdk", "--dpdk-args", shlex.join(eal),
                "--ip", host + "/24", "--protected-mode", "no",
                "--dpdk-idle-sleep-us", env("CG_IDLE_US", "50")]
        log("starting: %s" % shlex.join(argv))
        logf = open(os.path.join(work, "server.log"), "wb")
        proc = subprocess.Popen(argv, cwd=work, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            r = sh("ip", "netns", "exec", cli_ns, "redis-cli", "-h", host, "-p", str(port),
                   "PING", timeout=30)
            if r.stdout.strip() == "PONG":
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start; log:\n" +
                                 open(os.path.join(work, "server.log")).read()[-3000:])
            time.sleep(0.5)
        pid = str(proc.pid)
        dumps = 0

        def dump():
            nonlocal dumps
            r = sh("callgrind_control", "-d", pid)
            if r.returncode != 0:
                raise SystemExit("callgrind_control -d failed: %s%s" % (r.stdout, r.stderr))
            dumps += 1
            path = os.path.join(work, "cg.%s.%d" % (pid, dumps))
            for _ in range(100):
                if os.path.exists(path):
                    return path
                time.sleep(0.1)
            raise SystemExit("no dump %s" % path)

        for clients in client_counts:
            bench = ["ip", "netns", "exec", cli_ns, "redis-benchmark", "-h", host, "-p",
                     str(port), "-c", str(clients), "-n", str(n), "-P", str(pipe), "-t",
                     "set,get", "-d", str(data), "-q"]
            sh(*bench[:-1], "-n", "200", "-q")  # warm: ARP, first allocations
            before = info_net(cli_ns, host, port)
            if sh("callgrind_control", "-i", "on", pid).returncode != 0:
                raise SystemExit("callgrind_control -i on failed")
            sh("callgrind_control", "-z", pid)
            t0 = time.monotonic()
            time.sleep(idle_s)
            idle_dump, idle_t = dump(), time.monotonic() - t0
            t0 = time.monotonic()
            b = sh(*bench, timeout=3600)
            work_dump, work_t = dump(), time.monotonic() - t0
            sh("callgrind_control", "-i", "off", pid)
            after = info_net(cli_ns, host, port)
            if b.returncode != 0:
                raise SystemExit("redis-benchmark failed: %s%s" % (b.stdout, b.stderr))
            reqs = 2 * n + 2
            segs = sum(after.get(k, 0) - before.get(k, 0) for k in ("tcp_in_segs",
                                                                      "tcp_out_segs"))
            _, idle_net, _ = net_cost(idle_dump)
            all_ir, net_ir, by_fn = net_cost(work_dump)
            idle_share = idle_net * work_t / idle_t if idle_t > 0 else 0
            rows.append((clients, reqs, segs, all_ir, net_ir, idle_share, by_fn))
            log("workload -c %d: %d requests, %d segments, %.1fs (idle dump %.1fs)"
                % (clients, reqs, segs, work_t, idle_t))
        sh("ip", "netns", "exec", cli_ns, "redis-cli", "-h", host, "-p", str(port),
           "SHUTDOWN", "NOSAVE", timeout=60)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        sh(NETNS, "down", tag)
        shutil.rmtree("/var/run/dpdk/cgnet%s" % tag, ignore_errors=True)

    lines = ["callgrind (Ir) per request, cachalot --transport dpdk --workers 1 on "
             "net_af_packet/veth; redis-benchmark -t set,get -n %d -P %d -d %d" % (n, pipe, data),
             "net = functions under dataplane/net/ + what they call outside the project; "
             "-idle = less the idle polling share (see the script's header)",
             "",
             "%-8s %8s %8s %12s %10s %10s %10s %10s %10s" % (
                 "clients", "requests", "segs/req", "all Ir/req", "net Ir/req",
                 "-idle", "-csum", "net/seg", "goal<1000")]
    for clients, reqs, segs, all_ir, net_ir, idle_share, by_fn in rows:
        lo = (net_ir - idle_share) / reqs
        csum = sum(c for k, c in by_fn.items() if k.startswith("net_csum"))
        lines.append("%-8d %8d %8.2f %12.0f %10.0f %10.0f %10.0f %10.0f %10s" % (
            clients, reqs, segs / reqs if reqs else 0, all_ir / reqs, net_ir / reqs, lo,
            (net_ir - csum) / reqs, net_ir / segs if segs else 0,
            "yes" if net_ir / reqs < 1000 else "no"))
    for clients, reqs, _, _, net_ir, _, by_fn in rows:
        lines.append("")
        lines.append("top of net, -c %d (Ir/req):" % clients)
        for k, c in sorted(by_fn.items(), key=lambda kv: -kv[1])[:15]:
            lines.append("  %8.1f  %s" % (c / reqs, k))
    table = "\n".join(lines)
    print(table)
    if env("BENCH_SAVE", "1") == "1":
        rdir = os.path.join(ROOT, "bench", "results")
        os.makedirs(rdir, exist_ok=True)
        path = os.path.join(rdir, time.strftime("callgrind-net-%Y%m%d-%H%M%S.txt"))
        with open(path, "w") as f:
            f.write(table + "\n")
        log("saved to %s" % path)
    if env("CG_KEEP", "0") == "1":
        log("callgrind files kept in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
