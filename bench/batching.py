#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""How a server batches its replies to a pipelining client: cachalot and redis-server side
by side under memtier_benchmark, counted rather than timed.

  CACHALOT=build/control/cachalot bench/batching.py

Both servers run as in bench/run.sh (cachalot --workers 1, redis --save '', pinned to
SERVER_CPU; memtier on CLIENT_CPU) and are loaded one at a time with
`memtier_benchmark -t 1 -c 50 -d 32 --key-maximum 100000 --ratio R --pipeline P
--test-time T`. Over a window in the middle of each run (the second third), the script
reads, before and after:

  server   INFO total_commands_processed, total_reads_processed, total_writes_processed
           (cachalot: socket reads and sends (io_uring RECV completions, SENDs);
           redis: read and write calls), total_net_output_bytes, utime+stime;
  sockets  `ss -tin` of the server's port, both ends: segs_out and data_segs_out of
           every connection (data segments carry replies or requests; the rest are pure
           ACKs, which cost the peer a receive without a payload);
  memtier  /proc/PID/io syscr and syscw (its readv and writev calls: libevent reads a
           socket with one readv per wakeup), its epoll_wait calls (perf stat on the
           syscall tracepoint, when perf is installed: its event loop turns), the
           voluntary context switches of its busiest thread (how often it slept: a
           sleeping peer costs the other side a cross-CPU wake-up on its next send) and
           utime+stime; the same for the server's busiest thread (the worker).

and prints per server: ops/s and p99 of the whole run (memtier's), then per request or per
pipeline of P requests: replies per send, bytes per send, segments per send, client reads
and writes, client epoll_waits (ew) and epoll_ctls (ctl: libevent switching a socket's write
interest on and off), wake-ups caused by the client and by the server (wk: mostly of
each other), client and server sleeps (slp) per P requests, client
and server CPU microseconds per request. A server that
cuts one pipeline's replies into several sends hands the client more, smaller reads, and
the client, the bottleneck here, does more work per request.

Environment: CACHALOT, REDIS, CACHALOT_ARGS (extra cachalot options, e.g. "--kernel-io
epoll"), BATCH_PIPELINES ("1 16"), BATCH_RATIOS ("1:10 0:1"; 0:1 is GET only),
BATCH_SECONDS (9 per run), BATCH_CLIENTS (50), BATCH_KEYS (100000), BATCH_DATA (32),
SERVER_CPU (0), CLIENT_CPU (1), BENCH_PORT (7640), BENCH_SAVE=0 skips writing
bench/results/batching-<time>.txt. Needs memtier_benchmark on PATH and iproute2 (ss).
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

env, log, fmt = bench.env, bench.log, bench.fmt_row


def info_counts(port):
    out = bench.command(port, bench.resp("INFO", "stats")).decode(errors="replace")
    d = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
    return {k: int(d.get(k, "0").strip() or 0) for k in (
        "total_commands_processed", "total_reads_processed", "total_writes_processed",
        "total_net_output_bytes")}


def segs(port, side):
    """{peer: (segs_out, data_segs_out)} of every connection with side ("sport": the
    server's sockets, "dport": the client's) equal to port."""
    p = subprocess.run(["ss", "-Htin", "state", "established", "( %s = :%d )" % (side, port)],
                       capture_output=True, text=True)
    out, peer = {}, None
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and ":" in f[-1] and not line.startswith((" ", "\t")):
            peer = f[-1] + " " + f[-2]
            continue
        a = re.search(r"\bsegs_out:(\d+)", line)
        d = re.search(r"\bdata_segs_out:(\d+)", line)
        if a and peer:
            out[peer] = (int(a.group(1)), int(d.group(1)) if d else 0)
    return out


def segs_delta(a, b):
    """(segments, data segments) sent between two segs() samples."""
    n = [0, 0]
    for k, v in b.items():
        v0 = a.get(k, (0, 0))
        n[0] += v[0] - v0[0]
        n[1] += v[1] - v0[1]
    return n


def proc_io(pid):
    d = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, v = line.split(":")
            d[k] = int(v)
    return d


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / bench.CLK_TCK


def sleeps(pid):
    """{tid: (voluntary context switches, utime+stime ticks)} of every thread of pid."""
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                n = int(re.search(r"(?m)^voluntary_ctxt_switches:\s+(\d+)", f.read()).group(1))
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            out[t] = (n, int(rest[11]) + int(rest[12]))
        except (OSError, AttributeError):
            pass
    return out


def busiest_sleeps(a, b):
    """How often the thread that used the most CPU between samples a and b went to sleep:
    the server's worker (redis: its main thread), memtier's client thread."""
    best = max(b, key=lambda t: b[t][1] - a.get(t, (0, 0))[1])
    return b[best][0] - a.get(best, (0, 0))[0]


def sample(srv, mpid):
    return {"info": info_counts(srv.port), "segs": segs(srv.port, "sport"),
            "csegs": segs(srv.port, "dport"),
            "io": proc_io(mpid), "ccpu": cpu_s(mpid), "scpu": srv.cpu_seconds(),
            "cslp": sleeps(mpid), "sslp": sleeps(srv.proc.pid), "t": time.monotonic()}


PERF_EVENTS = ["syscalls:sys_enter_epoll_wait", "sched:sched_waking",
               "syscalls:sys_enter_epoll_ctl"]


def perf_start(pid):
    """perf stat on the tracepoints of PERF_EVENTS for pid (all its threads) until
    perf_stop: epoll_wait calls (event loop turns) and wake-ups the process caused (of
    the peer, on loopback: a send to a sleeping peer wakes it from the sender's CPU).
    None without perf."""
    if not shutil.which("perf"):
        return None
    return subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(PERF_EVENTS), "-p",
                             str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def perf_stop(p):
    if p is None:
        return {}
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    out = {}
    for line in err.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2] in PERF_EVENTS and f[0].isdigit():
            out[f[2]] = int(f[0])
    return out


def run_one(srv, pipeline, ratio, cfg):
    with tempfile.NamedTemporaryFile(suffix=".json") as jf:
        cmd = bench.taskset(cfg["client_cpu"]) + [
            "memtier_benchmark", "-s", bench.HOST, "-p", str(srv.port), "--protocol=redis",
            "-t", "1", "-c", str(cfg["clients"]), "-d", str(cfg["data"]),
            "--key-minimum=1", "--key-maximum=%d" % cfg["keys"], "--key-pattern=R:R",
            "--ratio=" + ratio, "--pipeline=%d" % pipeline,
            "--test-time=%d" % cfg["seconds"], "--hide-histogram",
            "--json-out-file=" + jf.name]
        log("running %s" % shlex.join(cmd))
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        third = cfg["seconds"] / 3.0
        time.sleep(third)
        a = sample(srv, p.pid)
        pc, ps = perf_start(p.pid), perf_start(srv.proc.pid)
        time.sleep(third)
        b = sample(srv, p.pid)
        pc, ps = perf_stop(pc), perf_stop(ps)
        _, err = p.communicate(timeout=cfg["seconds"] + 120)
        if p.returncode != 0:
            raise SystemExit("memtier_benchmark failed:\n%s" % err)
        with open(jf.name) as f:
            st = bench.parse_memtier(json.load(f))
    d = {k: b["info"][k] - a["info"][k] for k in a["info"]}
    sseg, sdata = segs_delta(a["segs"], b["segs"])
    cseg, cdata = segs_delta(a["csegs"], b["csegs"])
    req = max(1, d["total_commands_processed"])
    nan = float("nan")
    sends = max(1, d["total_writes_processed"])
    return {
        "ops": st["ops"], "p99": st["p99"],
        "rep/send": req / sends,
        "B/send": d["total_net_output_bytes"] / sends,
        "seg/send": sdata / sends,
        "srv ack/P": (sseg - sdata) * pipeline / req,
        "cli seg/P": cdata * pipeline / req,
        "cli ack/P": (cseg - cdata) * pipeline / req,
        "srv rd/P": d["total_reads_processed"] * pipeline / req,
        "sends/P": sends * pipeline / req,
        "cli rd/P": (b["io"]["syscr"] - a["io"]["syscr"]) * pipeline / req,
        "cli wr/P": (b["io"]["syscw"] - a["io"]["syscw"]) * pipeline / req,
        "cli ew/P": pc.get(PERF_EVENTS[0], nan) * pipeline / req,
        "cli ctl/P": pc.get(PERF_EVENTS[2], nan) * pipeline / req,
        "cli wk/P": pc.get(PERF_EVENTS[1], nan) * pipeline / req,
        "srv wk/P": ps.get(PERF_EVENTS[1], nan) * pipeline / req,
        "cli slp/P": busiest_sleeps(a["cslp"], b["cslp"]) * pipeline / req,
        "srv slp/P": busiest_sleeps(a["sslp"], b["sslp"]) * pipeline / req,
        "cli us/req": (b["ccpu"] - a["ccpu"]) * 1e6 / req,
        "srv us/req": (b["scpu"] - a["scpu"]) * 1e6 / req,
    }


COLS = ["ops", "p99", "rep/send", "B/send", "seg/send", "srv ack/P", "cli seg/P",
        "cli ack/P", "srv rd/P", "sends/P", "cli rd/P",
        "cli wr/P", "cli ew/P", "cli ctl/P", "cli wk/P", "srv wk/P", "cli slp/P", "srv slp/P", "cli us/req", "srv us/req"]
FMT = {"ops": "%.0f", "p99": "%.3f"}


def main():
    if not shutil.which("memtier_benchmark"):
        raise SystemExit("memtier_benchmark not on PATH (see bench/README.md)")
    cachalot, redis, ckind = bench.servers()
    ncpu = os.cpu_count() or 1
    cfg = {
        "pipelines": [int(x) for x in env("BATCH_PIPELINES", "1 16").split()],
        "ratios": env("BATCH_RATIOS", "1:10 0:1").split(),
        "seconds": max(3, int(env("BATCH_SECONDS", "9"))),
        "clients": int(env("BATCH_CLIENTS", "50")),
        "keys": int(env("BATCH_KEYS", "100000")),
        "data": int(env("BATCH_DATA", "32")),
        "server_cpu": int(env("SERVER_CPU", "0")) if ncpu > 1 else None,
        "client_cpu": int(env("CLIENT_CPU", "1")) if ncpu > 1 else None,
    }
    port = bench.free_port_pair(int(env("BENCH_PORT", "7640")))
    work = tempfile.mkdtemp(prefix="cachalot-batching-")
    srvs = [bench.Server("cachalot", cachalot, ckind, port, cfg["server_cpu"], work),
            bench.Server("redis", redis, "redis", port + 1, cfg["server_cpu"], work)]
    extra = shlex.split(env("CACHALOT_ARGS", ""))
    if extra:
        argv0 = srvs[0].argv
        srvs[0].argv = lambda: argv0() + extra
    res = []
    load0 = os.getloadavg()[0]
    try:
        for s in srvs:
            s.start()
        for s in srvs:
            bench.run_memtier(s.port, 1, dict(cfg, requests=0), prefill=True)
        for ratio in cfg["ratios"]:
            for pipe in cfg["pipelines"]:
                for s in srvs:
                    res.append(("%s P%d" % (ratio, pipe), s.label, run_one(s, pipe, ratio, cfg)))
    finally:
        for s in srvs:
            s.stop()
    widths = [12, 16] + [10] * len(COLS)
    lines = [
        "memtier_benchmark -t 1 -c %d -d %d --key-maximum %d --test-time %d; servers on CPU %s, "
        "memtier on CPU %s; counts over the middle third of each run; load average %.2f at "
        "start, %.2f at end" % (cfg["clients"], cfg["data"], cfg["keys"], cfg["seconds"],
                                cfg["server_cpu"], cfg["client_cpu"], load0,
                                os.getloadavg()[0]),
        "cachalot: %s %s   redis: %s" % (cachalot, " ".join(extra), redis),
        "P = one pipeline (the --pipeline requests); send = a server send (cachalot SEND, "
        "redis write); rd/wr = read/write calls",
        "",
        fmt(["workload", "server"] + COLS, widths),
        fmt(["-" * w for w in widths], widths),
    ]
    for name, label, r in res:
        lines.append(fmt([name, label] + [FMT.get(c, "%.2f") % r[c] for c in COLS], widths))
    lines.append(fmt(["-" * w for w in widths], widths))
    by = {}
    for name, label, r in res:
        by.setdefault(name, {})[label] = r
    for name, d in by.items():
        if "cachalot" in d and "redis" in d:
            lines.append(fmt([name, "cachalot/redis"] +
                             ["%.2f" % (d["cachalot"][c] / d["redis"][c]) if d["redis"][c]
                              else "n/a" for c in COLS], widths))
    bench.save_table(lines, "batching")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
