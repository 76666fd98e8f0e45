# SPDX-License-Identifier: BSD-3-Clause
"""pytest fixtures: the server under test (see server.py for the environment knobs).

  server       one server per test module (started once, flushed per test by `r`)
  r            redis-py client (decode_responses=True) on `server`, after FLUSHALL
  raw          a resp.Conn on `server`
  make_server  factory: make_server(overrides={...}, conffile=..., password=...) -> started
               Server, stopped at the end of the test
On a failing test the tail of the log of every server still running is attached to the
report. The temp dir holding the logs is removed when the whole run passes, kept otherwise.
"""

import os
import resource
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server as srvmod  # noqa: E402

# 1000-client tests need more descriptors than the usual 1024, in this process and in the
# server (which inherits the limit).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 65536 if _hard == resource.RLIM_INFINITY else min(_hard, 65536)
if _soft != resource.RLIM_INFINITY and _soft < _want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))


def pytest_collection_modifyitems(config, items):
    # SERVER_LAUNCHER elsewhere than loopback: the few tests that only make sense on
    # loopback are skipped with the launcher's reason (see server.py, "Launchers").
    for prefix, reason in srvmod.skip_list().items():
        for item in items:
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason=reason))
    if srvmod.kind() == "cachalot":
        return
    skip = pytest.mark.skip(reason="cachalot-only (SERVER_KIND=%s)" % srvmod.kind())
    for item in items:
        if "cachalot_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    try:
        b = srvmod.binary()
    except RuntimeError as e:
        b = str(e)
    head = "server under test: %s (SERVER_KIND=%s), logs in %s" % (
        b, srvmod.kind(), srvmod.root_dir())
    if os.environ.get("SERVER_LAUNCHER"):
        head += "\nlauncher: %s (transport %s)" % (os.environ["SERVER_LAUNCHER"],
                                                  srvmod.transport())
    return head


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in list(srvmod.live):
            rep.sections.append(
                ("server log (port %s, %s, %s)" % (s.port, s.name, s.logpath), s.log_tail()))
            if rep.when == "call" and s.alive():
                rep.sections.append(("server state (port %s)" % s.port, s.state_dump()))


def pytest_sessionfinish(session, exitstatus):
    root = srvmod._root
    if root is None:
        return
    if exitstatus == 0 and not os.environ.get("KEEP_LOGS"):
        shutil.rmtree(root, ignore_errors=True)
    else:
        sys.stderr.write("\nserver logs kept in %s\n" % root)


@pytest.fixture(scope="module")
def server(request):
    s = srvmod.Server(name=request.module.__name__)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def r(server):
    c = server.client()
    c.flushall()
    yield c
    c.close()
    # redis-py 4's close() only returns the connection to the pool; the socket
    # would stay open until garbage collection (a failed test's traceback keeps it)
    c.connection_pool.disconnect()


@pytest.fixture
def raw(server):
    c = server.raw()
    assert c.cmd("FLUSHALL") == "OK"
    yield c
    c.close()


@pytest.fixture
def make_server(request):
    started = []

    def make(overrides=None, conffile=None, password=None, name=None, **kw):
        s = srvmod.Server(overrides=overrides, conffile=conffile, password=password,
                          name=name or request.node.name[:40], **kw)
        started.append(s)
        return s.start()

    yield make
    errors = []
    for s in started:
        try:
            s.stop()
        except srvmod.ServerError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture(scope="session")
def server_kind():
    return srvmod.kind()
