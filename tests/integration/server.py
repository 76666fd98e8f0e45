# SPDX-License-Identifier: BSD-3-Clause
"""Start and stop the server under test.

Environment:
  SERVER           path or name of the server binary (default: redis-server)
  SERVER_KIND      "cachalot" or "redis" (default: guessed from the binary's name)
  CACHALOT_WORKERS worker count passed as --workers when SERVER_KIND=cachalot (default 2,
                   so that keys are spread over more than one worker even on a 2-core box)
  SERVER_ARGS      extra arguments for every server start (split on whitespace)
  SERVER_WRAPPER   command prefix, e.g. "valgrind -q --error-exitcode=99" (split on whitespace)
  TEST_TMPDIR      where the per-run temp dir goes (default: the system temp dir)
  SERVER_LAUNCHER  path of a Python module that places every server somewhere else than
                   loopback (another network namespace, another transport); unset: every
                   server listens on 127.0.0.1. See "Launchers" below.

Command line built for every start:
  [wrapper...] SERVER [conffile] --port N [kind args] [overrides as --name value] [SERVER_ARGS]
kind args:
  cachalot: --workers $CACHALOT_WORKERS
  redis:    --save "" --appendonly no --enable-debug-command local
            (redis 7 refuses DEBUG unless enable-debug-command allows it; DEBUG SLEEP is
            in the command list under test)

The server runs with its working directory set to a fresh temp dir (so dump files and
CONFIG REWRITE land there), stdout and stderr going to server.log in that dir. A server
counts as up when PING answers +PONG (or -NOAUTH when requirepass is set).

Launchers (SERVER_LAUNCHER): the module defines
  place(server) -> dict   called before every start; keys (all optional):
                          host         address the clients connect to (default 127.0.0.1)
                          client_host  address the server sees the clients come from
                          prefix       argv prefix, before SERVER_WRAPPER (e.g. ip netns exec)
                          args         arguments appended after the kind args
  unplace(server)         called once the server process is gone
  TRANSPORT               the transport CONFIG GET transport reports (default "kernel")
  SKIP                    {test-id prefix: reason} for tests that only make sense on
                          loopback (conftest.py skips them with that reason)
tests/dpdk/remote.py is the one that runs this suite against a server in another network
namespace, over DPDK or the kernel transport.
"""

import os
import atexit
import importlib.util
import random
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import resp

_root = None
live = []  # servers started and not yet stopped (conftest prints their logs on failure)
_launcher = None


def launcher():
    """The SERVER_LAUNCHER module, or None when servers run on loopback."""
    global _launcher
    path = os.environ.get("SERVER_LAUNCHER")
    if not path:
        return None
    if _launcher is None:
        spec = importlib.util.spec_from_file_location("server_launcher", path)
        _launcher = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_launcher)
    return _launcher


def transport():
    """The transport the servers under test use, as CONFIG GET transport reports it."""
    lm = launcher()
    return getattr(lm, "TRANSPORT", "kernel") if lm else "kernel"


def skip_list():
    lm = launcher()
    return dict(getattr(lm, "SKIP", {})) if lm else {}


@atexit.register
def _kill_leftovers():
    """Last resort (an interrupted run): no server outlives the test process."""
    for s in list(live):
        try:
            s._kill()
        except Exception:
            pass


def kind():
    k = os.environ.get("SERVER_KIND")
    if k:
        return k
    return "cachalot" if "cachalot" in os.path.basename(binary()) else "redis"


def binary():
    b = os.environ.get("SERVER", "redis-server")
    if os.sep in b:
        return os.path.abspath(b)
    found = shutil.which(b)
    if not found:
        raise RuntimeError("server binary %r not found on PATH" % b)
    return found


def root_dir():
    global _root
    if _root is None:
        _root = tempfile.mkdtemp(prefix="cachalot-it-", dir=os.environ.get("TEST_TMPDIR"))
    return _root


def _port_free(port):
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port():
    """A port >= 7000 that nothing listens on right now."""
    for _ in range(200):
        p = random.randrange(7000, 30000)
        if _port_free(p):
            return p
    raise RuntimeError("no free port found")


class ServerError(Exception):
    pass


class Server:
    """One server process. Use start()/stop(), or as a context manager."""

    def __init__(self, overrides=None, conffile=None, password=None, name="srv", wait=True):
        # overrides: dict or list of (name, value); value may be "" (e.g. save "")
        if isinstance(overrides, dict):
            overrides = list(overrides.items())
        self.overrides = list(overrides or [])
        if password and not any(n == "requirepass" for n, _ in self.overrides):
            self.overrides.append(("requirepass", password))
        self.conffile = conffile
        self.password = password
        self.name = name
        self.wait = wait
        self.proc = None
        self.port = None
        self.dir = None
        self.logpath = None
        self.expect_exit = False
        self._stopped = False
        self.host = "127.0.0.1"
        self.client_host = "127.0.0.1"
        self.placement = None

    # ---- lifecycle ----------------------------------------------------------------
    def argv(self):
        pl = self.placement or {}
        av = list(pl.get("prefix", []))
        av += shlex.split(os.environ.get("SERVER_WRAPPER", "")) + [binary()]
        if self.conffile:
            av.append(self.conffile)
        av += ["--port", str(self.port)]
        k = kind()
        if k == "cachalot":
            av += ["--workers", os.environ.get("CACHALOT_WORKERS", "2")]
        elif k == "redis":
            av += ["--save", "", "--appendonly", "no", "--enable-debug-command", "local"]
        av += list(pl.get("args", []))
        for n, v in self.overrides:
            av += ["--" + n, str(v)]
        av += shlex.split(os.environ.get("SERVER_ARGS", ""))
        return av

    def start(self, port=None, timeout=20.0):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=root_dir())
        self.logpath = os.path.join(self.dir, "server.log")
        last = None
        for attempt in range(3):
            self.port = port or free_port()
            self._stopped = False
            self.expect_exit = False
            self._place()
            with open(self.logpath, "ab") as log:
                log.write(("\n==== start: %s\n" % shlex.join(self.argv())).encode())
                log.flush()
                self.proc = subprocess.Popen(
                    self.argv(), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            live.append(self)
            try:
                if self.wait:
                    self._wait_up(timeout)
                return self
            except ServerError as e:
                last = e
                self._kill()
                if port is not None or "in use" not in self.log_tail():
                    break
        raise last

    def _place(self):
        lm = launcher()
        if lm is None or self.placement is not None:
            return
        self.placement = lm.place(self) or {}
        self.host = self.placement.get("host", "127.0.0.1")
        self.client_host = self.placement.get("client_host", self.host)

    def _unplace(self):
        if self.placement is not None:
            self.placement = None
            launcher().unplace(self)

    def _wait_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("server exited with %s during start\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            try:
                with resp.Conn(self.port, host=self.host, timeout=2.0) as c:
                    r = c.cmd("PING")
                    if r == "PONG" or (isinstance(r, resp.Err) and r.msg.startswith("NOAUTH")):
                        return
            except (OSError, resp.Closed):
                pass
            time.sleep(0.05)
        raise ServerError("server did not answer PING on port %d within %.0fs\n%s"
                          % (self.port, timeout, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """Stop the server: SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL.
        With check, raise if the server had died on its own before (a crash)."""
        if self.proc is None or self._stopped:
            return
        self._stopped = True
        crashed = None
        if self.proc.poll() is not None and not self.expect_exit:
            crashed = self.proc.returncode
        if self.proc.poll() is None:
            try:
                with resp.Conn(self.port, host=self.host, timeout=2.0) as c:
                    if self.password:
                        c.cmd("AUTH", self.password)
                    c.send_cmd("SHUTDOWN", "NOSAVE")
                    c.read_until_close(timeout=5.0)
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self._kill()
        if self in live:
            live.remove(self)
        self._unplace()
        if check and crashed is not None:
            raise ServerError("server on port %d died on its own (exit %s)\n%s"
                              % (self.port, crashed, self.log_tail()))

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self in live:
            live.remove(self)
        self._unplace()

    def restart(self):
        """Stop, then start again on the same port with the same arguments."""
        self.stop()
        return self.start(port=self.port)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)

    # ---- helpers ------------------------------------------------------------------
    def log_tail(self, lines=120):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        text = data.decode(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def state_dump(self):
        """For a failed test's report: what the server says about its clients, and
        where its threads are (gdb, when there and when this is the server's own pid),
        so a hang seen once in CI can be read afterwards."""
        out = []
        try:
            c = self.raw(timeout=3.0)
            try:
                for cmd in (("CLIENT", "LIST"), ("INFO", "clients"), ("INFO", "stats")):
                    v = c.cmd(*cmd)
                    out.append("--- %s\n%s" % (" ".join(cmd),
                                              v.decode(errors="replace")
                                              if isinstance(v, bytes) else v))
            finally:
                c.close()
        except Exception as e:  # noqa: BLE001 - a report must not raise
            out.append("--- (no reply: %r)" % (e,))
        if kind() == "cachalot" and shutil.which("gdb") and self.alive():
            try:
                bt = subprocess.run(
                    ["gdb", "-p", str(self.proc.pid), "-batch", "-nx",
                     "-ex", "thread apply all bt 8"],
                    capture_output=True, text=True, timeout=60).stdout
                out.append("--- threads\n" + "\n".join(
                    ln for ln in bt.splitlines() if ln.startswith(("#", "Thread"))))
            except (OSError, subprocess.SubprocessError) as e:
                out.append("--- (gdb: %r)" % (e,))
        return "\n".join(out)

    def client(self, **kw):
        import redis

        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 30)
        if self.password and "password" not in kw:
            kw["password"] = self.password
        return redis.Redis(host=self.host, port=self.port, **kw)

    def raw(self, auth=True, timeout=10.0):
        c = resp.Conn(self.port, host=self.host, timeout=timeout)
        if auth and self.password:
            r = c.cmd("AUTH", self.password)
            assert r == "OK", r
        return c

    def pid(self):
        return self.proc.pid
