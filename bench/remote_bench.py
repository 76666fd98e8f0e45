#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""What a command costs when it runs on another core (issue 12, cross-core messages).

cachalot runs with --workers 2. Every client connection is on worker 0 (bench/remote_load
connects until CLIENT INFO says worker=0); the keys are either all owned by worker 0
("local": slot < 8192, see store_owner) or all by worker 1 ("remote": every SET travels to
worker 1 as a message and its reply comes back). For SET and GET at each pipeline depth it
runs a fixed number of requests and reads the server's CPU time (utime+stime of every
thread, /proc/PID/stat) before and after: the table is nanoseconds of server CPU per
request, local and remote, and their ratio. The issue's goal: remote SET at most 1.3x local
at pipeline 16.

A GET is served where it arrives (any core reads any shard under RCU) unless the client has
a write in flight to the key's owner, so remote GET here is the RCU read of a shard that is
not the reader's own: it shows the cost of the cache lines, not of messages.

The server is pinned to SERVER_CPUS (taskset; its workers pin themselves to the CPUs of
that set in order, worker 0 on the first), the generator to CLIENT_CPU: on a two-CPU box
the generator shares worker 1's CPU, as it would share some core in production. Every
measurement is repeated REMOTE_REPEAT times, in rotation (local and remote alternate, so a
noisy neighbour hits both), and the median is printed with the spread (min-max) of the
ratio, and the remote run's CPU split between the threads on CPU 0 (worker 0: the
connections, parsing, sending, replies) and CPU 1 (worker 1: running the commands).

Environment (optional): CACHALOT (binary, as bench/run.sh), CACHALOT_ARGS (extra server
arguments, e.g. "--kernel-io epoll"), REMOTE_LOAD (the generator, default
build/bench/remote_load), REMOTE_REQUESTS (per run at pipeline 16, default 1000000; at
pipeline 1 a fifth of it), REMOTE_PIPELINES ("1 16"), REMOTE_CONNS (16), REMOTE_REPEAT (5),
REMOTE_KEYS (10000 per placement), REMOTE_DATA (value bytes, 32), SERVER_CPUS ("0,1"),
CLIENT_CPU (1), BENCH_PORT (7620), BENCH_SAVE (1: also write bench/results/remote-<time>.txt).
"""

import os
import shlex
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import bench  # noqa: E402
import mem_per_key as mem  # noqa: E402  (Server with a worker count and extra arguments)
from helpers import key_slot  # noqa: E402

env, log = bench.env, bench.log


def keys_owned_by(worker, nworkers, n, prefix):
    """n keys whose slot belongs to `worker` (store_owner: slot * nworkers / 16384)."""
    out, i = [], 0
    while len(out) < n:
        k = "%s:%d" % (prefix, i)
        if key_slot(k) * nworkers // 16384 == worker:
            out.append(k)
        i += 1
    return out


def thread_cpu(pid):
    """{cpu the thread last ran on: utime+stime seconds} of the server's threads
    but the main one: the workers are pinned, so the CPU names the worker."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        if int(tid) == pid:
            continue
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = int(rest[36])
        out[cpu] = out.get(cpu, 0) + (int(rest[11]) + int(rest[12])) / bench.CLK_TCK
    return out


def run_load(load, srv, conns, pipeline, requests, cmd, keyfile, vsize, cpu):
    """One run: -> (server CPU seconds, wall seconds, errors, {cpu: thread seconds})."""
    argv = bench.taskset(cpu) + [load, bench.HOST, str(srv.port), str(conns), str(pipeline),
                                 str(requests), "0", cmd, keyfile, str(vsize)]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = p.stdout.readline()
    if not ready.startswith("ready"):
        p.kill()
        raise SystemExit("remote_load did not connect: %r" % ready)
    before, tb = srv.cpu_seconds(), thread_cpu(srv.proc.pid)
    p.stdin.write("go\n")
    p.stdin.flush()
    done = p.stdout.readline().split()
    after, ta = srv.cpu_seconds(), thread_cpu(srv.proc.pid)
    p.wait()
    if p.returncode != 0 or len(done) != 4 or done[0] != "done":
        raise SystemExit("remote_load failed: %r" % done)
    return after - before, float(done[2]), int(done[3]), {
        c: ta[c] - tb.get(c, 0) for c in ta}


def main():
    cachalot, _, ckind = bench.servers()
    load = bench.which_or_path(env("REMOTE_LOAD", os.path.join(bench.ROOT, "build", "bench",
                                                               "remote_load")))
    if not os.access(load, os.X_OK):
        raise SystemExit("not an executable: %s (ninja -C build)" % load)
    requests = int(env("REMOTE_REQUESTS", "1000000"))
    pipelines = [int(x) for x in env("REMOTE_PIPELINES", "1 16").split()]
    conns = int(env("REMOTE_CONNS", "16"))
    repeat = int(env("REMOTE_REPEAT", "5"))
    nkeys = int(env("REMOTE_KEYS", "10000"))
    vsize = int(env("REMOTE_DATA", "32"))
    ncpu = os.cpu_count() or 1
    scpus = env("SERVER_CPUS", "0,1") if ncpu > 1 else None
    ccpu = int(env("CLIENT_CPU", "1")) if ncpu > 1 else None
    port = bench.free_port_pair(int(env("BENCH_PORT", "7620")))
    work = tempfile.mkdtemp(prefix="cachalot-remote-")
    extra = shlex.split(env("CACHALOT_ARGS", ""))
    srv = mem.Server("cachalot", cachalot, ckind, port, scpus, work, workers=2, extra=extra)
    keyfiles = {}
    for place, owner in (("local", 0), ("remote", 1)):
        path = os.path.join(work, place + ".keys")
        with open(path, "w") as f:
            f.write("\n".join(keys_owned_by(owner, 2, nkeys, "rb")) + "\n")
        keyfiles[place] = path
    res = {}  # (cmd, pipeline, place) -> [ns per request]
    threads = {}  # the same -> [(ns on CPU 0, ns on CPU 1)]
    srv.start()
    try:
        for place in ("local", "remote"):  # GETs hit
            run_load(load, srv, 4, 16, nkeys, "SET", keyfiles[place], vsize, ccpu)
        for _ in range(repeat):
            for cmd in ("SET", "GET"):
                for pl in pipelines:
                    n = requests if pl >= 16 else max(requests // 5, conns)
                    for place in ("local", "remote"):
                        cpu, wall, errors, per = run_load(load, srv, conns, pl, n, cmd,
                                                          keyfiles[place], vsize, ccpu)
                        if errors:
                            raise SystemExit("%d error replies (%s P%d %s)" % (
                                errors, cmd, pl, place))
                        res.setdefault((cmd, pl, place), []).append(cpu * 1e9 / n)
                        split = (per.get(0, 0) * 1e9 / n, per.get(1, 0) * 1e9 / n)
                        threads.setdefault((cmd, pl, place), []).append(split)
                        log("%s P%d %s: %.0f ns/req server CPU (%.0f + %.0f on CPUs 0 + 1), "
                            "%.0f req/s" % (cmd, pl, place, cpu * 1e9 / n, split[0], split[1],
                                            n / wall))
    finally:
        srv.stop()
    rows = ["remote: server CPU per request, 2 workers, %d clients on worker 0, keys on "
            "worker 0 (local) or 1 (remote), %d B values, median of %d%s" % (
                conns, vsize, repeat, (" (" + " ".join(extra) + ")") if extra else "")]
    rows.append("%-8s %12s %12s %8s %15s %12s %12s" % (
        "workload", "local ns", "remote ns", "ratio", "ratio min-max", "remote cpu0", "remote cpu1"))
    for cmd in ("SET", "GET"):
        for pl in pipelines:
            lo, re_ = res[(cmd, pl, "local")], res[(cmd, pl, "remote")]
            ratios = [r / l if l else float("nan") for l, r in zip(lo, re_)]
            ml, mr = statistics.median(lo), statistics.median(re_)
            split = threads[(cmd, pl, "remote")]
            rows.append("%-8s %12.0f %12.0f %7.2fx %7.2f-%.2f %12.0f %12.0f" % (
                "%s P%d" % (cmd, pl), ml, mr, mr / ml if ml else float("nan"),
                min(ratios), max(ratios), statistics.median(x[0] for x in split),
                statistics.median(x[1] for x in split)))
    bench.save_table(rows, "remote")


if __name__ == "__main__":
    main()
