# SPDX-License-Identifier: BSD-3-Clause
"""Server placement for the end-to-end tests: cachalot in the server network namespace,
the clients (this process) in the client namespace. Used two ways:

- as the integration suite's SERVER_LAUNCHER (tests/integration/server.py, "Launchers"),
  so that the whole Redis-compatibility suite runs against the remote server;
- by tests/dpdk/conftest.py for the end-to-end tests of this directory.

Every live server gets a veth pair of its own ("slot" k: server 10.211.k.1, client
10.211.k.2, pair 0 made by netns.sh up, the others on demand): two DPDK processes on one
veth would both see every frame, so concurrent servers are kept on separate links. A slot
is given back when its server is gone and reused by the next start.

Environment (set by run.sh / netns.sh run):
  NETNS_TAG, SRV_NS, CLI_NS   the namespaces (this process must run in CLI_NS)
  E2E_NET           dpdk (default): --transport dpdk over net_af_packet on the server veth;
                    kernel: the kernel transport bound to 10.211.k.1, to check the harness;
                    tap: --transport dpdk over net_tap (run.sh tap): one namespace, the
                    server 10.213.k.1 on the DPDK side of tap interface taptagkK, the
                    kernel side of it 10.213.k.2 (tap_link() sets it up once the server
                    made it)
  CACHALOT_WORKERS  default worker count (2); a "workers" override wins. DPDK: one
                    af_packet queue pair per worker
  E2E_FAULT         dpdk-fault value for every server ("" = none), e.g.
                    "drop=1%,reorder=1%,dup=1%,seed=7"
  E2E_IDLE_US       dpdk-idle-sleep-us (default 50: idle workers sleep, so that servers do
                    not spin on a 2-core box)
  E2E_DPDK_MEM      EAL -m in MB (default 512)
  E2E_EXTRA_ARGS    more server arguments for every start (shell words)
"""

import os
import shlex
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS = os.path.join(HERE, "netns.sh")

MODE = os.environ.get("E2E_NET", "dpdk")
TRANSPORT = "kernel" if MODE == "kernel" else "dpdk"
NET = "10.213" if MODE == "tap" else "10.211"

# Integration tests that only make sense over loopback (tests/integration/server.py asks for
# this list). Keep it short: everything else runs unchanged against the remote server.
SKIP = {
    "test_protected_mode.py": "protected-mode tells loopback from remote clients; here every "
                              "client is remote and the server runs with protected-mode no",
    "test_regressions.py::test_second_instance_on_a_served_port_is_refused":
        "two servers on one port of one host is about kernel listeners; here every server "
        "gets an address of its own (and a DPDK port serves one process)",
}

_slots = {}  # k -> Server using it
# The slot whose veth keeps the kernel's default offloads on the client end
# (test_offloads.py): only a server that asks for it (_e2e_offloads = "peer") gets it.
PEER_OFFLOADS_SLOT = 250
_made = {0}  # pairs that exist (0 comes with netns.sh up)
_starts = 0


def env(name, default=""):
    v = os.environ.get(name)
    return default if v is None else v


def tag():
    t = os.environ.get("NETNS_TAG")
    if not t:
        raise RuntimeError("NETNS_TAG is not set: run through tests/dpdk/run.sh "
                           "(netns.sh run), which creates the namespaces")
    return t


def srv_ns():
    return os.environ["SRV_NS"]


def cli_ns():
    return os.environ["CLI_NS"]


def server_ip(k=0):
    return "%s.%d.1" % (NET, k)


def client_ip(k=0):
    return "%s.%d.2" % (NET, k)


def srv_if(k=0):
    return ("tap" if MODE == "tap" else "vs") + tag() + ("k%d" % k if k else "")


def ensure_pair(k, offloads="off"):
    """Make veth pair k unless it exists. offloads "peer": the client end keeps the
    kernel's default offloads (netns.sh pair ... peer); a pair keeps what it was made
    with."""
    if k in _made or MODE == "tap":  # net_tap makes its interface itself
        return
    p = subprocess.run([NETNS, "pair", tag(), str(k), MODE, offloads], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("netns.sh pair %d failed: %s%s" % (k, p.stdout, p.stderr))
    _made.add(k)


def cli_if(k=0):
    return "vc" + tag() + ("k%d" % k if k else "")


def lcores(workers):
    """EAL lcore list for n workers: lcore i on CPU i mod ncpu (more workers than CPUs is
    a test of its own: test_cachalot runs 4 workers on this 2-core box)."""
    ncpu = os.cpu_count() or 1
    if workers <= ncpu:
        return ["-l", "0-%d" % (workers - 1) if workers > 1 else "0"]
    return ["--lcores", ",".join("%d@%d" % (i, i % ncpu) for i in range(workers))]


def file_prefix(k):
    global _starts
    _starts += 1
    return "cach%ss%dn%d" % (tag(), k, _starts)


def dpdk_args(k, workers, prefix, qpairs=None, extra=""):
    if MODE == "tap":
        vdev = "net_tap0,iface=%s" % srv_if(k)
    else:
        vdev = "net_af_packet0,iface=%s,qpairs=%d" % (srv_if(k), qpairs or workers)
    a = ["--no-huge", "-m", env("E2E_DPDK_MEM", "512"), "--no-pci", "--vdev", vdev]
    a += lcores(workers)
    a += ["--file-prefix", prefix]
    return shlex.join(a) + ((" " + extra) if extra else "")


def server_args(k, workers, fault=None, qpairs=None, dpdk_extra=""):
    """Server arguments (after binary/port/workers) for slot k. Returns (args, prefix)."""
    if MODE != "kernel":
        prefix = file_prefix(k)
        args = ["--transport", "dpdk",
                "--dpdk-args", dpdk_args(k, workers, prefix, qpairs, dpdk_extra),
                "--ip", server_ip(k) + "/24",
                "--dpdk-idle-sleep-us", env("E2E_IDLE_US", "50"),
                "--protected-mode", "no"]
        fault = env("E2E_FAULT") if fault is None else fault
        if fault:
            args += ["--dpdk-fault", fault]
    else:
        prefix = None
        args = ["--bind", server_ip(k), "--protected-mode", "no"]
    args += shlex.split(env("E2E_EXTRA_ARGS"))
    return args, prefix


def ns_prefix():
    return ["ip", "netns", "exec", srv_ns()]


def remove_runtime_dir(prefix):
    # EAL's runtime files (/var/run/dpdk/<file-prefix>): one directory per start would
    # pile up over a run otherwise.
    if prefix and "/" not in prefix:
        shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)


def _workers_of(server):
    for n, v in getattr(server, "overrides", []):
        if n == "workers":
            return int(v)
    return int(env("CACHALOT_WORKERS", "2"))


# ---- the integration suite's launcher interface -------------------------------------------


def place(server):
    offloads = getattr(server, "_e2e_offloads", "off")
    k = PEER_OFFLOADS_SLOT if offloads == "peer" else getattr(server, "_e2e_slot", None)
    if offloads == "peer" and k in _slots:
        raise RuntimeError("slot %d (peer offloads) is taken" % k)
    if k is None or k in _slots:
        k = 0
        while k in _slots or k == PEER_OFFLOADS_SLOT:
            k += 1
    if k > 250:
        raise RuntimeError("more than 250 servers at once")
    ensure_pair(k, offloads)
    _slots[k] = server
    server._e2e_slot = k  # a restart gets the same address back when it is free
    args, prefix = server_args(k, _workers_of(server))
    server._e2e_prefix = prefix
    return {"host": server_ip(k), "client_host": client_ip(k), "prefix": ns_prefix(),
            "args": args}


def unplace(server):
    k = getattr(server, "_e2e_slot", None)
    if _slots.get(k) is server:
        del _slots[k]
    remove_runtime_dir(getattr(server, "_e2e_prefix", None))


# ---- net_tap (E2E_NET=tap) -----------------------------------------------------------------

# The server log when net_tap could not make its port at all (the PMD is not installed,
# no /dev/net/tun): with the vdev the only device, there is no port.
TAP_UNAVAILABLE = "DPDK found no Ethernet port"


class TapUnavailable(RuntimeError):
    """net_tap cannot run here (the PMD is not installed, no /dev/net/tun)."""


def tap_mac(k=0):
    # The PMD gives the kernel side of the tap its own MAC; the stack drops frames that
    # carry its own source address, so the kernel side gets another one.
    return "02:13:00:00:%02x:02" % k


def _ip(*args):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def tap_link(server, timeout=30.0):
    """Once the server (started with wait=False) has made and started its tap port, give
    the kernel side of it the client address (10.213.k.2/24) and a MAC of its own. This
    process runs in that namespace: the kernel's TCP reaches the server through the tap.
    Raises TapUnavailable when the server could not make the port at all."""

    k = server._e2e_slot
    ifname = srv_if(k)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(server.logpath, "rb") as f:
                log = f.read().decode(errors="replace")
        except OSError:
            log = ""
        log = log[log.rfind("==== start:"):]  # this start's part
        if "Listening on" in log:
            break
        if not server.alive():
            if TAP_UNAVAILABLE in log:
                raise TapUnavailable("net_tap cannot run here:\n" + log)
            raise RuntimeError("server exited during start:\n" + log)
        if time.monotonic() > deadline:
            raise RuntimeError("server not listening after %.0fs:\n%s" % (timeout, log))
        time.sleep(0.05)
    if not os.path.exists("/sys/class/net/%s" % ifname):
        raise RuntimeError("the server is up but interface %s does not exist here" % ifname)
    _ip("link", "set", "dev", ifname, "address", tap_mac(k))
    _ip("addr", "replace", client_ip(k) + "/24", "dev", ifname)
    _ip("link", "set", "dev", ifname, "up")
    return ifname
