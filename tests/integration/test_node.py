# SPDX-License-Identifier: BSD-3-Clause
"""Node client (ioredis from npm) against the server: runs node/script.js PORT.
Skips when node or the installed ioredis module is missing (run.sh installs it with
`npm install` when npm is available)."""

import os
import shutil
import subprocess

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
NODE = shutil.which("node")


def _skip_reason():
    if NODE is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ioredis")):
        return ("ioredis is not installed: run `npm install --no-audit --no-fund` in %s "
                "(run.sh does this when npm is available)" % HERE)
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def _run(server, *extra):
    p = subprocess.run([NODE, "script.js", str(server.port), *extra], cwd=HERE,
                       capture_output=True, timeout=90,
                       env=dict(os.environ, REDIS_HOST=server.host))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_ioredis(server, r):
    rc, out, err = _run(server)
    assert rc == 0, "node script failed (exit %d)\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
    assert out.startswith("ok: ")
    # what the script left behind, checked from Python
    assert r.get("node:n") == "41"
    assert r.get("node:par") == "200"
    assert r.get("node:p:499") == "499"


def test_ioredis_with_password(make_server):
    s = make_server(password="nodepass", name="nodeauth")
    rc, out, err = _run(s, "nodepass")
    assert rc == 0, "node script failed (exit %d)\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
