# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end fixtures: cachalot in the server namespace (DPDK over net_af_packet, or the
kernel transport with E2E_NET=kernel), this pytest process and every client in the client
namespace. run.sh creates the namespaces and starts pytest inside the client one; servers
are started through remote.py, with the integration suite's launcher (tests/integration/
server.py) doing the process handling, logs and shutdown.

  srv          one server per module (slot 0: 10.211.0.1), CACHALOT_WORKERS workers
  make_server  factory as in the integration suite: make_server(overrides=...) -> Server
  r            redis-py on srv after FLUSHALL, socket timeout on every operation
Helpers (info, cli, ...) are in e2e.py.

Every client operation here carries a timeout: a stuck connection fails its test instead of
hanging the run (meson's timeout would only tell that something, somewhere, hung).
"""

import os
import resource
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, IT)
sys.path.insert(0, HERE)
os.environ.setdefault("SERVER_LAUNCHER", os.path.join(HERE, "remote.py"))
os.environ.setdefault("SERVER_KIND", "cachalot")

import remote  # noqa: E402
import server as srvmod  # noqa: E402
from e2e import FAULT, OP_TIMEOUT  # noqa: E402

srvmod._launcher = remote  # one module instance: the slots it hands out live there

_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 65536 if _hard == resource.RLIM_INFINITY else min(_hard, 65536)
if _soft != resource.RLIM_INFINITY and _soft < _want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))


def pytest_report_header(config):
    return "e2e: E2E_NET=%s, server %s in %s, clients in %s, fault %r, logs in %s" % (
        remote.MODE, srvmod.binary(), os.environ.get("SRV_NS"), os.environ.get("CLI_NS"),
        FAULT, srvmod.root_dir())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in list(srvmod.live):
            rep.sections.append(
                ("server log (%s:%s, %s, %s)" % (s.host, s.port, s.name, s.logpath),
                 s.log_tail()))


def pytest_sessionfinish(session, exitstatus):
    root = srvmod._root
    if root is None:
        return
    if exitstatus == 0 and not os.environ.get("KEEP_LOGS"):
        shutil.rmtree(root, ignore_errors=True)
    else:
        sys.stderr.write("\nserver logs kept in %s\n" % root)


@pytest.fixture(scope="module")
def srv(request):
    s = srvmod.Server(name=request.module.__name__)
    s.start(timeout=60)
    yield s
    s.stop()


@pytest.fixture
def make_server(request):
    started = []

    def make(overrides=None, name=None, **kw):
        s = srvmod.Server(overrides=overrides, name=name or request.node.name[:40], **kw)
        started.append(s)
        return s.start(timeout=60)

    yield make
    errors = []
    for s in started:
        try:
            s.stop()
        except srvmod.ServerError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def r(srv):
    c = srv.client(socket_timeout=OP_TIMEOUT, socket_connect_timeout=OP_TIMEOUT)
    c.flushall()
    yield c
    c.close()
    # redis-py 4's close() only returns the connection to the pool; the socket
    # would stay open until garbage collection (a failed test's traceback keeps it)
    c.connection_pool.disconnect()
