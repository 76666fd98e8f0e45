# SPDX-License-Identifier: BSD-3-Clause
"""protected-mode: with no password, clients that are not on loopback get Redis's DENIED
error. The client runs in a network namespace of this test's own, joined to the host by a
veth pair with private test addresses; no traffic leaves the machine."""

import os
import subprocess
import uuid

import pytest

HOST_IP = "10.213.0.1"
PEER_IP = "10.213.0.2"


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=20)


@pytest.fixture
def netns():
    if os.geteuid() != 0 or sh("ip", "-V").returncode != 0:
        pytest.skip("needs root and iproute2 for a network namespace")
    tag = uuid.uuid4().hex[:6]
    ns, host_if, peer_if = "cach%s" % tag, "vch%s" % tag, "vcp%s" % tag
    if sh("ip", "netns", "add", ns).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    try:
        for cmd in (["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if],
                    ["ip", "link", "set", peer_if, "netns", ns],
                    ["ip", "addr", "add", HOST_IP + "/30", "dev", host_if],
                    ["ip", "link", "set", host_if, "up"],
                    ["ip", "-n", ns, "addr", "add", PEER_IP + "/30", "dev", peer_if],
                    ["ip", "-n", ns, "link", "set", peer_if, "up"],
                    ["ip", "-n", ns, "link", "set", "lo", "up"]):
            r = sh(*cmd)
            if r.returncode != 0:
                pytest.skip("network namespace set-up failed: %s" % r.stderr.strip())
        yield ns
    finally:
        sh("ip", "link", "del", host_if)
        sh("ip", "netns", "del", ns)


def ping_from(ns, port, *extra):
    r = sh("ip", "netns", "exec", ns, "redis-cli", "-h", HOST_IP, "-p", str(port), *extra, "PING")
    return (r.stdout + r.stderr).strip()


def test_protected_mode_denies_remote_clients(make_server, netns):
    s = make_server(overrides=[("bind", "127.0.0.1 " + HOST_IP)], name="protected")
    out = ping_from(netns, s.port)
    assert "DENIED Redis is running in protected mode" in out
    with s.raw() as local:  # loopback is always allowed
        assert local.cmd("PING") == "PONG"
        assert local.cmd("CONFIG", "SET", "protected-mode", "no") == "OK"
    assert ping_from(netns, s.port) == "PONG"


def test_protected_mode_allows_remote_with_password(make_server, netns):
    s = make_server(overrides=[("bind", "127.0.0.1 " + HOST_IP), ("requirepass", "pw")],
                    password="pw", name="protected-pw")
    assert ping_from(netns, s.port, "-a", "pw", "--no-auth-warning") == "PONG"
