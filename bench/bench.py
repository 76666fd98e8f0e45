#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""cachalot vs redis-server, side by side on one core each, same load generator.

Starts both servers (pinned to SERVER_CPU with taskset), pre-fills the key space, runs the
same workloads against each in turn (load generator pinned to CLIENT_CPU), and prints one
table: workload, server, ops/s, p50 ms, p99 ms, server CPU microseconds per request, plus
a cachalot/redis ratio row per workload. See bench/README.md.

Environment (all optional):
  CACHALOT        cachalot binary (default: build/control/cachalot under the repo root)
  CACHALOT_KIND   cachalot|redis: how to start the CACHALOT binary (default: guessed from
                  its name, so CACHALOT=$(which redis-server) works for a dry run)
  REDIS           redis-server binary (default: redis-server)
  BENCH_TOOL      auto|memtier|redis-benchmark (auto: memtier_benchmark if on PATH)
  BENCH_REQUESTS  requests per workload and server (default 200000)
  BENCH_CLIENTS   connections (default 50)
  BENCH_KEYS      key space size (default 100000)
  BENCH_DATA      value size in bytes (default 32)
  BENCH_PIPELINES pipeline depths, space separated (default "1 16")
  BENCH_MEMTIER_RATIOS  memtier --ratio SET:GET values, space separated (default "1:10";
                  "0:1" is GET only)
  SERVER_CPU      CPU for both servers (default 0); CLIENT_CPU for the generator (default 1)
  BENCH_PORT      first port to use (default 7400; the next one is used too)
  BENCH_SAVE      1 (default) to also write the table to bench/results/<time>.txt
  BENCH_NET       loopback (default) or veth: see below

BENCH_NET=veth: the servers run in a network namespace of their own and the load generator
in another, over a veth pair (tests/dpdk/netns.sh makes and removes them): cachalot over
DPDK (net_af_packet on the server end of the veth, its own TCP/IP stack), cachalot over the
kernel transport and redis-server, one at a time on the same veth, server on SERVER_CPU and
generator on CLIENT_CPU as above. The ratio rows compare cachalot-dpdk with the other two
and cachalot-kernel with redis. Extra knobs: BENCH_DPDK_IDLE_US (dpdk-idle-sleep-us, default
0: pure polling, as a deployment would run), BENCH_DPDK_MEM (EAL -m, default 1024),
BENCH_SERVERS (default "cachalot-dpdk cachalot-kernel redis": a subset, in that order).
Needs root and iproute2; see bench/README.md for what the figures mean on this path.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
NETNS = os.path.join(ROOT, "tests", "dpdk", "netns.sh")
HOST = "127.0.0.1"  # where the servers listen; veth mode: the server end's address


def env(name, default):
    v = os.environ.get(name)
    return default if v in (None, "") else v


def which_or_path(b):
    if os.sep in b:
        return os.path.abspath(b)
    return shutil.which(b) or b


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def taskset(cpu):
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


# ---- servers -----------------------------------------------------------------------------


class Server:
    """kind: cachalot or redis on loopback; veth mode: cachalot-dpdk, cachalot-kernel,
    redis (in the server namespace, listening on HOST)."""

    def __init__(self, label, binary, kind, port, cpu, workdir):
        self.label, self.binary, self.kind, self.port, self.cpu = label, binary, kind, port, cpu
        self.dir = os.path.join(workdir, label)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def argv(self):
        av = [self.binary, "--port", str(self.port)]
        if self.kind == "cachalot":
            av += ["--workers", "1"]
        elif self.kind == "redis":
            av += ["--save", "", "--appendonly", "no"]
        elif self.kind == "cachalot-dpdk":
            eal = ["--no-huge", "-m", env("BENCH_DPDK_MEM", "1024"), "--no-pci",
                   "--vdev", "net_af_packet0,iface=%s,qpairs=1" % os.environ["SRV_IF"],
                   "-l", str(self.cpu or 0), "--file-prefix", "cachbench%d" % os.getpid()]
            av += ["--workers", "1", "--transport", "dpdk", "--dpdk-args", shlex.join(eal),
                   "--ip", HOST + "/24", "--protected-mode", "no",
                   "--dpdk-idle-sleep-us", env("BENCH_DPDK_IDLE_US", "0")]
        elif self.kind == "cachalot-kernel":
            av += ["--workers", "1", "--bind", HOST, "--protected-mode", "no"]
        elif self.kind == "redis-veth":
            av += ["--save", "", "--appendonly", "no", "--bind", HOST, "--protected-mode", "no"]
        av = taskset(self.cpu) + av
        if os.environ.get("SRV_NS"):
            av = ["ip", "netns", "exec", os.environ["SRV_NS"]] + av
        return av

    def net_up(self):
        """veth mode: the kernel servers need the address on the server end of the veth;
        the DPDK one needs it absent (its own stack answers for it)."""
        if os.environ.get("SRV_NS") and self.kind != "cachalot-dpdk":
            subprocess.run(["ip", "-n", os.environ["SRV_NS"], "addr", "add", HOST + "/24",
                            "dev", os.environ["SRV_IF"]], check=True)

    def net_down(self):
        if os.environ.get("SRV_NS") and self.kind != "cachalot-dpdk":
            subprocess.run(["ip", "-n", os.environ["SRV_NS"], "addr", "del", HOST + "/24",
                            "dev", os.environ["SRV_IF"]], check=False)
        if self.kind == "cachalot-dpdk":  # EAL's runtime directory of this --file-prefix
            shutil.rmtree("/var/run/dpdk/cachbench%d" % os.getpid(), ignore_errors=True)

    def start(self):
        self.logf = open(os.path.join(self.dir, "server.log"), "ab")
        log("starting %s: %s" % (self.label, shlex.join(self.argv())))
        self.proc = subprocess.Popen(self.argv(), cwd=self.dir, stdout=self.logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited at start (see %s/server.log)" % (self.label, self.dir))
            try:
                if command(self.port, b"PING\r\n") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("%s did not answer PING on port %d" % (self.label, self.port))

    def cpu_seconds(self):
        """utime+stime of the whole process (all threads), in seconds."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / CLK_TCK

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            command(self.port, b"SHUTDOWN NOSAVE\r\n", expect_close=True)
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def command(port, data, expect_close=False):
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
            if not expect_close and out.endswith(b"\r\n"):
                return out


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def free_port_pair(start):
    for p in range(start, start + 200, 2):
        if port_free(p) and port_free(p + 1):
            return p
    raise SystemExit("no two free ports from %d" % start)


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def prefill_redis_benchmark_keys(port, nkeys, size):
    """SET key:%012d (the names redis-benchmark -r uses) for every key, pipelined."""
    val = b"x" * size
    with socket.create_connection((HOST, port), timeout=60) as s:
        data = b"".join(resp(b"SET", b"key:%012d" % i, val) for i in range(nkeys))
        t = threading.Thread(target=s.sendall, args=(data,), daemon=True)
        t.start()
        want = 5 * nkeys
        got = bytearray()
        while len(got) < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("prefill: connection closed")
            got += chunk
        t.join()
        if bytes(got) != b"+OK\r\n" * nkeys:
            raise SystemExit("prefill: unexpected replies %r" % bytes(got[:100]))


# ---- load generators ----------------------------------------------------------------------


def run_redis_benchmark(port, test, pipeline, cfg):
    cmd = taskset(cfg["client_cpu"]) + [
        "redis-benchmark", "-h", HOST, "-p", str(port), "-c", str(cfg["clients"]),
        "-n", str(cfg["requests"]), "-P", str(pipeline), "-d", str(cfg["data"]),
        "-r", str(cfg["keys"]), "-t", test, "--csv"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise SystemExit("redis-benchmark failed: %s\n%s" % (p.stdout, p.stderr))
    return parse_redis_benchmark(p.stdout), cfg["requests"]


def parse_redis_benchmark(out):
    """--csv output (redis-benchmark 7: test,rps,avg,min,p50,p95,p99,max); the plain-text
    summary block is understood too."""
    lines = [l for l in out.splitlines() if l.startswith('"')]
    if len(lines) >= 2:
        head = [h.strip('"') for h in lines[0].split(",")]
        vals = [v.strip('"') for v in lines[1].split(",")]
        row = dict(zip(head, vals))
        if "rps" in row:
            return {"ops": float(row["rps"]), "p50": float(row.get("p50_latency_ms", "nan")),
                    "p99": float(row.get("p99_latency_ms", "nan"))}
    m = re.search(r"throughput summary: ([\d.]+) requests per second", out)
    lat = re.search(r"avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.\s]+)", out)
    if m and lat:
        v = [float(x) for x in lat.group(1).split()]
        return {"ops": float(m.group(1)), "p50": v[2], "p99": v[4]}
    raise SystemExit("cannot parse redis-benchmark output:\n" + out)


def run_memtier(port, pipeline, cfg, prefill=False, ratio="1:10"):
    per_client = max(1, cfg["requests"] // cfg["clients"])
    base = taskset(cfg["client_cpu"]) + [
        "memtier_benchmark", "-s", HOST, "-p", str(port), "--protocol=redis",
        "-d", str(cfg["data"]), "--key-minimum=1", "--key-maximum=%d" % cfg["keys"],
        "--hide-histogram"]
    if prefill:
        cmd = base + ["-t", "1", "-c", "1", "--ratio=1:0", "--key-pattern=P:P",
                      "--requests=allkeys", "--pipeline=64"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise SystemExit("memtier prefill failed:\n%s%s" % (p.stdout, p.stderr))
        return None
    with tempfile.NamedTemporaryFile(suffix=".json") as jf:
        cmd = base + ["-t", "1", "-c", str(cfg["clients"]), "--ratio=" + ratio,
                      "--key-pattern=R:R", "--pipeline=%d" % pipeline,
                      "--requests=%d" % per_client, "--json-out-file=" + jf.name]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise SystemExit("memtier_benchmark failed:\n%s%s" % (p.stdout, p.stderr))
        with open(jf.name) as f:
            data = json.load(f)
    st = parse_memtier(data)
    return st, int(st.get("count") or per_client * cfg["clients"])


def parse_memtier(data):
    """memtier --json-out-file: ALL STATS / Totals / Ops/sec and Percentile Latencies
    (p50.00, p99.00: the default --print-percentiles)."""
    tot = data["ALL STATS"]["Totals"]
    pct = tot.get("Percentile Latencies", {})
    return {"ops": float(tot["Ops/sec"]), "p50": float(pct.get("p50.00", "nan")),
            "p99": float(pct.get("p99.00", "nan")), "count": tot.get("Count")}


# ---- the run ------------------------------------------------------------------------------


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in
                     enumerate(zip(cols, widths)))


def run_veth_outer():
    """BENCH_NET=veth, first step: make the namespaces, run this script again inside the
    client one (every connection then starts there), remove the namespaces."""
    if os.geteuid() != 0:
        raise SystemExit("BENCH_NET=veth needs root (network namespaces)")
    tag = str(os.getpid())
    p = subprocess.run([NETNS, "up", tag, "dpdk"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("netns.sh up failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    try:
        vars_ = dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)
        child_env = dict(os.environ, **vars_)
        rc = subprocess.run(["ip", "netns", "exec", vars_["CLI_NS"], sys.executable,
                             os.path.abspath(__file__)] + sys.argv[1:], env=child_env).returncode
    finally:
        subprocess.run([NETNS, "down", tag])
    sys.exit(rc)


def servers():
    """(cachalot binary, redis-server binary, how to start the first) from CACHALOT,
    REDIS and CACHALOT_KIND; exits when one is not an executable."""
    cachalot = which_or_path(env("CACHALOT", os.path.join(ROOT, "build", "control", "cachalot")))
    redis = which_or_path(env("REDIS", "redis-server"))
    for b in (cachalot, redis):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            raise SystemExit("not an executable: %s (build cachalot first, or set CACHALOT=)" % b)
    ckind = env("CACHALOT_KIND", "redis" if "redis" in os.path.basename(cachalot) else "cachalot")
    return cachalot, redis, ckind


def save_table(lines, prefix):
    """Print the table and keep it as bench/results/<prefix>-<time>.txt (BENCH_SAVE=0: don't)."""
    table = "\n".join(lines)
    print(table)
    if env("BENCH_SAVE", "1") == "1":
        rdir = os.path.join(ROOT, "bench", "results")
        os.makedirs(rdir, exist_ok=True)
        path = os.path.join(rdir, time.strftime(prefix + "-%Y%m%d-%H%M%S.txt"))
        with open(path, "w") as f:
            f.write(table + "\n")
        log("saved to %s" % path)


def main():
    global HOST
    net = env("BENCH_NET", "loopback")
    if net not in ("loopback", "veth"):
        raise SystemExit("BENCH_NET must be loopback or veth")
    if net == "veth" and not os.environ.get("SRV_NS"):
        run_veth_outer()
    cachalot, redis, ckind = servers()
    tool = env("BENCH_TOOL", "auto")
    if tool == "auto":
        tool = "memtier" if shutil.which("memtier_benchmark") else "redis-benchmark"
    if tool == "redis-benchmark" and not shutil.which("redis-benchmark"):
        raise SystemExit("redis-benchmark not found (apt-get install redis-tools)")
    ncpu = os.cpu_count() or 1
    cfg = {
        "requests": int(env("BENCH_REQUESTS", "200000")),
        "clients": int(env("BENCH_CLIENTS", "50")),
        "keys": int(env("BENCH_KEYS", "100000")),
        "data": int(env("BENCH_DATA", "32")),
        "pipelines": [int(x) for x in env("BENCH_PIPELINES", "1 16").split()],
        "server_cpu": int(env("SERVER_CPU", "0")) if ncpu > 1 else None,
        "client_cpu": int(env("CLIENT_CPU", "1")) if ncpu > 1 else None,
    }
    if ncpu < 2:
        log("warning: fewer than 2 CPUs: nothing is pinned, numbers are not meaningful")
    port = free_port_pair(int(env("BENCH_PORT", "7400")))
    work = tempfile.mkdtemp(prefix="cachalot-bench-")
    if net == "veth":
        HOST = os.environ.get("SRV_IP", "10.211.0.1")
        kinds = {"cachalot-dpdk": (cachalot, "cachalot-dpdk"),
                 "cachalot-kernel": (cachalot, "cachalot-kernel"),
                 "redis": (redis, "redis-veth")}
        labels = env("BENCH_SERVERS", "cachalot-dpdk cachalot-kernel redis").split()
        for lb in labels:
            if lb not in kinds:
                raise SystemExit("BENCH_SERVERS: unknown server %r" % lb)
        srvs = [Server(lb, kinds[lb][0], kinds[lb][1], port, cfg["server_cpu"], work)
                for lb in labels]
        # one at a time: on one veth, an idle DPDK server would still get (and copy) a
        # copy of every frame of the others
        phases = [[s] for s in srvs]
        pairs = [("cachalot-dpdk", "cachalot-kernel"), ("cachalot-dpdk", "redis"),
                 ("cachalot-kernel", "redis")]
    else:
        srvs = [Server("cachalot", cachalot, ckind, port, cfg["server_cpu"], work),
                Server("redis", redis, "redis", port + 1, cfg["server_cpu"], work)]
        phases = [srvs]  # side by side, loaded in turn
        pairs = [("cachalot", "redis")]
    if tool == "memtier":
        workloads = [("set:get %s P%d" % (r, p),
                      lambda port, p=p, r=r: run_memtier(port, p, cfg, ratio=r))
                     for r in env("BENCH_MEMTIER_RATIOS", "1:10").split()
                     for p in cfg["pipelines"]]
    else:
        workloads = [("%s P%d" % (t.upper(), p),
                      lambda port, t=t, p=p: run_redis_benchmark(port, t, p, cfg))
                     for p in cfg["pipelines"] for t in ("set", "get")]
    results = []  # (workload, label, stats, cpu_us)
    for phase in phases:
        try:
            for s in phase:
                s.net_up()
                s.start()
            for s in phase:
                log("pre-filling %d keys on %s" % (cfg["keys"], s.label))
                if tool == "memtier":
                    run_memtier(s.port, 1, cfg, prefill=True)
                else:
                    prefill_redis_benchmark_keys(s.port, cfg["keys"], cfg["data"])
            for name, fn in workloads:
                for s in phase:
                    log("running %s on %s" % (name, s.label))
                    c0 = s.cpu_seconds()
                    stats, nreq = fn(s.port)
                    cpu = s.cpu_seconds() - c0
                    results.append((name, s.label, stats, cpu * 1e6 / nreq))
        finally:
            for s in phase:
                s.stop()
                s.net_down()

    widths = [20, 16, 12, 8, 8, 12] if net == "loopback" else [20, 30, 12, 8, 8, 12]
    lines = [
        "tool: %s; %d requests per run, %d clients, %d keys, %d-byte values; servers on CPU "
        "%s, generator on CPU %s; CPU = server utime+stime (all threads) / requests" % (
            tool, cfg["requests"], cfg["clients"], cfg["keys"], cfg["data"],
            cfg["server_cpu"], cfg["client_cpu"]),
    ]
    if net == "loopback":
        lines.append("cachalot: %s (%s)   redis: %s" % (cachalot, ckind, redis))
    else:
        lines.append("veth: servers in %s on %s (%s), generator in %s; cachalot: %s (dpdk: "
                     "net_af_packet, dpdk-idle-sleep-us %s)   redis: %s" % (
                         os.environ["SRV_NS"], os.environ["SRV_IF"], HOST,
                         os.environ["CLI_NS"], cachalot, env("BENCH_DPDK_IDLE_US", "0"),
                         redis))
    lines += [
        "",
        fmt_row(["workload", "server", "ops/s", "p50 ms", "p99 ms", "CPU us/req"], widths),
        fmt_row(["-" * w for w in widths], widths),
    ]
    by = {}
    for name, label, st, cpu in results:
        by.setdefault(name, {})[label] = (st, cpu)
    for name, d in by.items():
        for label, (st, cpu) in d.items():
            lines.append(fmt_row([name, label, "%.0f" % st["ops"], "%.3f" % st["p50"],
                                  "%.3f" % st["p99"], "%.2f" % cpu], widths))
    lines.append(fmt_row(["-" * w for w in widths], widths))

    def ratio(a, b):
        return "%.2f" % (a / b) if b else "n/a"

    for name, d in by.items():
        for a, b in pairs:
            if a not in d or b not in d:
                continue
            (cs, cc), (rs, rc) = d[a], d[b]
            lines.append(fmt_row([name, "%s/%s" % (a, b), ratio(cs["ops"], rs["ops"]),
                                  ratio(cs["p50"], rs["p50"]), ratio(cs["p99"], rs["p99"]),
                                  ratio(cc, rc)], widths))
    save_table(lines, "bench-veth" if net == "veth" else "bench")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
