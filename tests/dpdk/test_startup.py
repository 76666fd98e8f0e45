# SPDX-License-Identifier: BSD-3-Clause
"""Start-up failures of the DPDK transport: a missing port, a wrong PCI address, no
hugepages, too few mbufs and bad network parameters each end in a clear message and exit
code 1 within seconds -- never a hang, never a server that runs without its network. The
server binary runs directly here (in the client namespace); none of these gets as far as
sending a frame."""

import os
import subprocess

import pytest

from e2e import dpdk_only

pytestmark = dpdk_only

SERVER = os.environ.get("SERVER", "")


def _start(*args, timeout=60):
    p = subprocess.run([SERVER, "--transport", "dpdk", "--port", "7399", "--workers", "1",
                        *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def _eal(extra):
    return "--no-pci -l 0 --file-prefix cach-startup-%d %s" % (os.getpid(), extra)


def _hugepages_free():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
    return 0


def test_no_port():
    rc, out = _start("--dpdk-args", "--no-huge -m 256 " + _eal(""), "--ip", "10.214.0.1/24")
    assert rc == 1, out
    assert "DPDK found no Ethernet port" in out, out


def test_wrong_pci_address():
    rc, out = _start("--dpdk-args", "--no-huge -m 256 -a 0000:99:1f.7 -l 0 "
                     "--file-prefix cach-startup-%d" % os.getpid(), "--ip", "10.214.0.1/24")
    assert rc == 1, out
    assert "no Ethernet port" in out and "-a <PCI address>" in out, out


def test_no_hugepages():
    if _hugepages_free():
        pytest.skip("hugepages are reserved on this machine")
    rc, out = _start("--dpdk-args", "-m 256 " + _eal("--vdev net_af_packet0,iface=lo"),
                     "--ip", "10.214.0.1/24")
    assert rc == 1, out
    assert "hugepages" in out and "--no-huge" in out, out


def test_too_few_mbufs():
    rc, out = _start("--dpdk-args", "--no-huge -m 256 " + _eal("--vdev net_af_packet0,iface=lo"),
                     "--ip", "10.214.0.1/24", "--dpdk-mbufs", "10")
    assert rc == 1, out
    assert "too few mbufs" in out, out


@pytest.mark.parametrize("args, want", [
    (["--ip", "10.214.0.1"], "'--ip 10.214.0.1'"),  # no prefix length
    (["--ip", "10.214.0.300/24"], "IPv4 address and prefix length"),
    (["--ip", "10.214.0.1/24", "--gateway", "10.99.0.1"],  # not on the link
     "gateway '10.99.0.1' is not another address on the network"),
    (["--ip", "10.214.0.1/24", "--mtu", "20000"], "'--mtu 20000'"),
], ids=["ip-no-prefix", "ip-bad", "gateway-off-link", "mtu"])
def test_bad_network_parameters(args, want):
    rc, out = _start("--dpdk-args", "--no-huge -m 256 " + _eal("--vdev net_af_packet0,iface=lo"),
                     *args)
    assert rc == 1, out
    assert "FATAL CONFIG ERROR" in out or "could not start" in out, out
    assert want in out, out
